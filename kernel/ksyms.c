/* ksyms.c: lookups in the generated symbol table (see ksyms.h). */
#include "ksyms.h"
#include "lib/format.h"
#include "lib/string.h"

extern char _text_start[], _text_end[];

const char *ksym_lookup(uintptr_t addr, uintptr_t *off, uintptr_t *size)
{
    if (ksyms_count == 0 || addr < ksyms_table[0].addr || addr >= (uintptr_t)_text_end)
        return NULL;
    size_t lo = 0, hi = ksyms_count; /* find the last entry with .addr <= addr */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (ksyms_table[mid].addr <= addr)
            lo = mid;
        else
            hi = mid;
    }
    uintptr_t end = lo + 1 < ksyms_count ? ksyms_table[lo + 1].addr : (uintptr_t)_text_end;
    if (off)
        *off = addr - ksyms_table[lo].addr;
    if (size)
        *size = end - ksyms_table[lo].addr;
    return ksyms_table[lo].name;
}

uintptr_t ksym_address(const char *name)
{
    for (size_t i = 0; i < ksyms_count; i++)
        if (strcmp(ksyms_table[i].name, name) == 0)
            return ksyms_table[i].addr;
    return 0;
}

int ksym_format(char *buf, size_t n, uintptr_t addr)
{
    uintptr_t off, size;
    const char *name = ksym_lookup(addr, &off, &size);
    if (!name)
        return snprintf(buf, n, "%p", (void *)addr);
    return snprintf(buf, n, "%s+0x%lx/0x%lx", name, (unsigned long)off, (unsigned long)size);
}
