/*
 * ktest.c: the in-kernel test runner. Prints KTAP version 1 (one subtest per
 * suite), then leaves QEMU with QEMU_EXIT_PASS or QEMU_EXIT_FAIL.
 */
#include "ktest.h"
#include "cmdline.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "stack/cache.h"
#include "stack/strategy.h"
#include "panic.h"
#include "printk.h"
#include "sched/sched.h"

extern const struct ktest_case _ktest_start[], _ktest_end[];

#define MAX_SUITES 64

void ktest_fail(struct ktest *t, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    t->failures++;
    printk("    # %s:%d: ", file, line);
    va_start(ap, fmt);
    vprintk(fmt, ap);
    va_end(ap);
    printk("\n");
}

bool ktest_streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

bool ktest_contains(const char *haystack, const char *needle)
{
    return haystack && needle && strstr(haystack, needle) != NULL;
}

void ktest_wait_user_processes_gone(void)
{
    struct kstat k;
    size_t stable = 0, last = 0;
    for (int ms = 0; ms < 10000 && stable < 5; ms += 20) {
        sched_sleep_ms(20);
        kstack_fill_kstat(&k);
        size_t now = kmalloc_in_use();
        stable = (k.user_threads == 0 && now == last) ? stable + 1 : 0;
        last = now;
    }
}

static bool spec_has(const char *spec, const char *suite)
{
    if (strcmp(spec, "all") == 0)
        return true;
    size_t n = strlen(suite);
    for (const char *s = spec; *s;) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len == n && strncmp(s, suite, n) == 0)
            return true;
        s += len + (end ? 1 : 0);
    }
    return false;
}

/* Suites in link order, each once. */
static int list_suites(const char *suites[MAX_SUITES])
{
    int n = 0;
    for (const struct ktest_case *c = _ktest_start; c < _ktest_end; c++) {
        bool seen = false;
        for (int i = 0; i < n; i++)
            seen |= strcmp(suites[i], c->suite) == 0;
        if (!seen && n < MAX_SUITES)
            suites[n++] = c->suite;
    }
    return n;
}

/* Free pages plus the pages that caches hold on purpose: what a test must give back. */
static size_t ktest_pages_held(void)
{
    return pmm_free_pages() + kmalloc_slab_pages() + vmm_table_pages() + kstack_cache_pages() +
           (size_t)kstack_fault_reserve_pages();
}

static bool case_before(const struct ktest_case *a, const struct ktest_case *b)
{
    int f = strcmp(a->file, b->file);
    return f < 0 || (f == 0 && a->line < b->line);
}

#define MAX_CASES 128

static bool run_suite(const char *suite, int index)
{
    /* The compiler emits a file's tests in any order: sort them back into source order. */
    const struct ktest_case *cases[MAX_CASES];
    int ncases = 0, failed = 0;
    for (const struct ktest_case *c = _ktest_start; c < _ktest_end; c++) {
        if (strcmp(c->suite, suite) != 0 || ncases == MAX_CASES)
            continue;
        int i = ncases++;
        for (; i > 0 && case_before(c, cases[i - 1]); i--)
            cases[i] = cases[i - 1];
        cases[i] = c;
    }

    printk("    KTAP version 1\n    # Subtest: %s\n    1..%d\n", suite, ncases);
    for (int number = 1; number <= ncases; number++) {
        const struct ktest_case *c = cases[number - 1];
        struct ktest t = { .suite = c->suite, .name = c->name };
        size_t free_before = ktest_pages_held();
        size_t heap_before = kmalloc_in_use();
        c->fn(&t);
        /* Tests clean up after themselves: pages and heap bytes return. */
        size_t free_after = ktest_pages_held();
        if (!t.skipped && free_after != free_before)
            ktest_fail(&t, __FILE__, __LINE__, "leaked %ld pages", (long)free_before - (long)free_after);
        if (!t.skipped && kmalloc_in_use() != heap_before)
            ktest_fail(&t, __FILE__, __LINE__, "leaked %ld heap bytes",
                       (long)kmalloc_in_use() - (long)heap_before);
        if (t.skipped)
            printk("    ok %d %s # SKIP %s\n", number, c->name, t.skip_reason ? t.skip_reason : "");
        else if (t.failures)
            printk("    not ok %d %s\n", number, c->name);
        else
            printk("    ok %d %s\n", number, c->name);
        failed += t.failures && !t.skipped;
    }
    printk("%s %d %s\n", failed ? "not ok" : "ok", index, suite);
    return failed == 0;
}

void ktest_main(const char *spec)
{
    const char *suites[MAX_SUITES];
    int n = list_suites(suites), selected = 0;
    for (int i = 0; i < n; i++)
        selected += spec_has(spec, suites[i]);
    if (selected == 0) {
        printk("ktest: no suite matches '%s'; suites:", spec);
        for (int i = 0; i < n; i++)
            printk(" %s", suites[i]);
        printk("\n");
        machine_exit(QEMU_EXIT_FAIL);
    }

    bool ok = true;
    int index = 0;
    printk("KTAP version 1\n1..%d\n", selected);
    for (int i = 0; i < n; i++)
        if (spec_has(spec, suites[i]))
            ok &= run_suite(suites[i], ++index);
    kstack_print_kstat("ktest done");
    printk("ktest: %s\n", ok ? "all passed" : "FAILED");
    machine_exit(ok ? QEMU_EXIT_PASS : QEMU_EXIT_FAIL);
}

bool named_in_ktest(const char *suite)
{
    char spec[128];
    return cmdline_get("ktest", spec, sizeof(spec)) && strstr(spec, suite);
}
