/*
 * stackdemo.c: what the stack strategy saves, live. Phase 1 runs threads
 * that spin in user mode (the "idle machine" of the LKML cover letter);
 * phase 2 adds threads that make syscalls 1, 4, 8 and 12 KiB deep and
 * threads that sleep in the kernel (the reviewers' "busy machine"). Once a
 * second it prints one table line from kstat. Boot with kstack=fixed to see
 * the baseline; `make run` boots with the default, eager. At the end it
 * prints `stackdemo: FIGURE name=value` lines, one per figure, which the
 * test harness reads (rows stackdemo[*] of tests/suites.conf, compared in
 * tests/compare.conf): the savings and counters of each phase.
 *
 *   stackdemo [spinners [seconds_per_phase]]
 */
#include "lib/string.h"
#include "stdio.h"
#include "syscall.h"
#include "thread.h"

#define MAX_THREADS 200

static const char *const strategy_names[] = { "fixed", "eager", "fault", "lazy" };
static volatile int stop;
static volatile int started;
static volatile long deep_calls, deep_failures;

static void spinner(void *arg)
{
    (void)arg;
    __atomic_fetch_add(&started, 1, __ATOMIC_RELAXED);
    while (!stop)
        __asm__ volatile("pause");
}

static void deep_caller(void *arg)
{
    long bytes = (long)arg;
    __atomic_fetch_add(&started, 1, __ATOMIC_RELAXED);
    while (!stop) {
        long got = sys_test_stack((unsigned long)bytes);
        if (got == -ENOSYS) {
            sys_sleep_ms(100);      /* testsys=1 is off: nothing to measure here */
            continue;
        }
        __atomic_fetch_add(got >= bytes ? &deep_calls : &deep_failures, 1, __ATOMIC_RELAXED);
        sys_sleep_ms(2);
    }
}

static void sleeper(void *arg)
{
    (void)arg;
    __atomic_fetch_add(&started, 1, __ATOMIC_RELAXED);
    while (!stop)
        sys_sleep_ms(200);          /* blocked in the kernel most of the time */
}

/* Stack pages of this process's threads other than the caller (the spinners, in phase 1). */
static unsigned long spinner_pages(void)
{
    static struct ps_thread ps[MAX_THREADS + 64];
    long n = sys_ps(ps, MAX_THREADS + 64), pid = sys_getpid(), tid = sys_gettid();
    unsigned long pages = 0;
    for (long i = 0; i < n; i++)
        if (ps[i].pid == pid && ps[i].tid != tid)
            pages += ps[i].resident_pages;
    return pages;
}

static void header(void)
{
    printf("stackdemo: %6s %12s %12s %7s %9s %9s %9s %6s\n", "thr", "resident KiB", "fixed KiB", "saving", "expands",
           "shrinks", "faults", "cache");
}

/* One phase's last line, and its counters from the phase's start. */
struct phase {
    struct kstat start, last;
    unsigned long saving_pm;            /* against fixed, per mille */
};

static int line(struct phase *ph, const char *name)
{
    struct kstat k;
    if (sys_kstat(&k, sizeof(k)) < 0) {
        printf("stackdemo: kstat failed\n");
        return -1;
    }
    unsigned long res = k.resident_stack_pages * 4, fixed = k.fixed_equivalent_pages * 4;
    unsigned long saving10 = fixed > res ? (fixed - res) * 1000 / fixed : 0;  /* per mille, for one decimal */
    printf("stackdemo: %6u %12lu %12lu %5lu.%lu%% %9lu %9lu %9lu %6lu  %s\n", k.user_threads + k.kernel_threads, res,
           fixed, saving10 / 10, saving10 % 10, (unsigned long)k.expands, (unsigned long)k.shrinks,
           (unsigned long)k.faults, (unsigned long)k.cache_pages, name);
    ph->last = k;
    ph->saving_pm = saving10;
    return 0;
}

static void figures(const char *name, const struct phase *ph)
{
    const struct kstat *a = &ph->start, *b = &ph->last;
    printf("stackdemo: FIGURE %s_threads=%u\n", name, b->user_threads + b->kernel_threads);
    printf("stackdemo: FIGURE %s_resident_kib=%lu\n", name, (unsigned long)b->resident_stack_pages * 4);
    printf("stackdemo: FIGURE %s_fixed_kib=%lu\n", name, (unsigned long)b->fixed_equivalent_pages * 4);
    printf("stackdemo: FIGURE %s_saving_pm=%lu\n", name, ph->saving_pm);
    printf("stackdemo: FIGURE %s_expands=%lu\n", name, (unsigned long)(b->expands - a->expands));
    printf("stackdemo: FIGURE %s_shrinks=%lu\n", name, (unsigned long)(b->shrinks - a->shrinks));
    printf("stackdemo: FIGURE %s_faults=%lu\n", name, (unsigned long)(b->faults - a->faults));
    printf("stackdemo: FIGURE %s_expand_failed=%lu\n", name, (unsigned long)(b->expand_failed - a->expand_failed));
}

static int start(int *tids, int *n, void (*fn)(void *), void *arg)
{
    if (*n >= MAX_THREADS)
        return -1;
    int tid = thread_spawn(fn, arg);
    if (tid < 0) {
        printf("stackdemo: thread_spawn failed: %d\n", tid);
        return tid;
    }
    tids[(*n)++] = tid;
    return 0;
}

static void wait_started(int n)
{
    for (int i = 0; i < 500 && started < n; i++)
        sys_sleep_ms(10);
}

int main(int argc, char **argv)
{
    int spinners = argc > 1 ? (int)strtol(argv[1], NULL, 0) : 64;
    int seconds = argc > 2 ? (int)strtol(argv[2], NULL, 0) : 3;
    static int tids[MAX_THREADS];
    int n = 0;
    struct kstat k;

    if (spinners < 1 || spinners > MAX_THREADS / 2 || seconds < 1 || seconds > 600) {
        printf("usage: stackdemo [spinners 1..%d [seconds per phase 1..600]]\n", MAX_THREADS / 2);
        return 2;
    }
    sys_kstat(&k, sizeof(k));
    printf("stackdemo: strategy %s, %u cpus; phase 1: %d threads spinning in user mode\n",
           k.strategy < 4 ? strategy_names[k.strategy] : "?", k.cpus, spinners);
    for (int i = 0; i < spinners; i++)
        start(tids, &n, spinner, NULL);
    wait_started(n);
    header();
    struct phase spin = { 0 }, mixed = { 0 };
    sys_kstat(&spin.start, sizeof(spin.start));
    for (int s = 0; s < seconds; s++) {
        sys_sleep_ms(1000);
        line(&spin, "spinning");
    }
    /* The spinners alone: this process's threads but this one, as ps shows them. */
    unsigned long spin_res = spinner_pages() * 4, spin_fixed = (unsigned long)spinners * 16;
    printf("stackdemo: the %d spinning threads alone: %lu KiB resident, fixed would use %lu KiB: %lu%% saved\n",
           spinners, spin_res, spin_fixed, spin_fixed ? (spin_fixed - spin_res) * 100 / spin_fixed : 0);

    printf("stackdemo: phase 2: + syscalls 1/4/8/12 KiB deep (4 threads each) and 16 kernel sleepers\n");
    static const long depths[] = { 1024, 4096, 8192, 12288 };
    for (int d = 0; d < 4; d++)
        for (int i = 0; i < 4; i++)
            start(tids, &n, deep_caller, (void *)depths[d]);
    for (int i = 0; i < 16; i++)
        start(tids, &n, sleeper, NULL);
    wait_started(n);
    header();
    sys_kstat(&mixed.start, sizeof(mixed.start));
    for (int s = 0; s < seconds; s++) {
        sys_sleep_ms(1000);
        line(&mixed, "mixed");
    }

    stop = 1;
    for (int i = 0; i < n; i++)
        thread_join(tids[i], NULL);
    printf("stackdemo: %ld deep syscalls (%ld fell short)%s\n", deep_calls, deep_failures,
           deep_calls == 0 ? ": boot with testsys=1 to make them" : "");
    printf("stackdemo: saving against fixed: %lu.%lu%% with spinning threads, %lu.%lu%% in the mixed load\n",
           spin.saving_pm / 10, spin.saving_pm % 10, mixed.saving_pm / 10, mixed.saving_pm % 10);
    printf("stackdemo: FIGURE strategy=%u\n", k.strategy);
    figures("spinning", &spin);
    figures("mixed", &mixed);
    return deep_failures ? 1 : 0;
}
