/* cmdline.c: parsing of the kernel command line (see cmdline.h). */
#include "cmdline.h"
#include "lib/string.h"
#include "multiboot.h"
#include "printk.h"

static const char *const known_keys[] = {
    "kstack", "ktest", "init", "initarg", "kstack_tlb", "kstack_tlb_check", "kstack_overflow", "kstack_restart", "hz",
    "testsys", "bench", "quiet", "spinlock", "kstat_every", "kstack_check", NULL,
};

/* Find "key=" at a word start; returns the value start and its length. */
static const char *find(const char *key, size_t *len)
{
    const char *s = boot_info.cmdline;
    size_t klen = strlen(key);
    while (*s) {
        while (*s == ' ')
            s++;
        const char *word = s;
        while (*s && *s != ' ')
            s++;
        if ((size_t)(s - word) >= klen && strncmp(word, key, klen) == 0) {
            if (word[klen] == '=') {
                *len = (size_t)(s - word) - klen - 1;
                return word + klen + 1;
            }
            if (word + klen == s) {     /* a bare flag: "key" */
                *len = 0;
                return s;
            }
        }
    }
    return NULL;
}

bool cmdline_get(const char *key, char *buf, size_t n)
{
    size_t len;
    const char *v = find(key, &len);
    if (!v)
        return false;
    if (n) {
        size_t k = len < n - 1 ? len : n - 1;
        memcpy(buf, v, k);
        buf[k] = '\0';
    }
    return true;
}

long cmdline_int(const char *key, long def)
{
    char buf[32], *end;
    if (!cmdline_get(key, buf, sizeof(buf)))
        return def;
    long v = strtol(buf, &end, 0);
    if (end == buf || *end) {
        printk("cmdline: %s=%s is not a number, using %ld\n", key, buf, def);
        return def;
    }
    return v;
}

int cmdline_choice(const char *key, const char *const choices[], int def)
{
    char buf[32];
    if (!cmdline_get(key, buf, sizeof(buf)))
        return def;
    for (int i = 0; choices[i]; i++)
        if (strcmp(buf, choices[i]) == 0)
            return i;
    printk("cmdline: unknown value %s=%s (choices:", key, buf);
    for (int i = 0; choices[i]; i++)
        printk(" %s", choices[i]);
    printk("), using %s\n", choices[def]);
    return def;
}

void cmdline_check(void)
{
    const char *s = boot_info.cmdline;
    while (*s) {
        while (*s == ' ')
            s++;
        const char *word = s;
        while (*s && *s != ' ' && *s != '=')
            s++;
        size_t len = (size_t)(s - word);
        while (*s && *s != ' ')
            s++;
        if (!len)
            continue;
        bool known = false;
        for (int i = 0; known_keys[i]; i++)
            known |= strlen(known_keys[i]) == len && strncmp(known_keys[i], word, len) == 0;
        if (!known)
            printk("cmdline: unknown option '%.*s' ignored\n", (int)len, word);
    }
}
