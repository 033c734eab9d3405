/*
 * kstacktests.c: suite `kstack`, the stack strategy seen from user space,
 * run once per strategy (kstack=fixed|eager|fault|lazy). Each test runs in a
 * child process of its own (lib/utest.h); the numbers come from kstat. The
 * tests that only one strategy can pass are in that strategy's table.
 */
#include "stdio.h"
#include "syscall.h"
#include "thread.h"
#include "utest.h"

#define PROGRAM "kstacktests"
#define REST_THREADS 500
#define KSTACK_PAGES 4
#define PAGE 4096

enum { FIXED, EAGER, FAULT, LAZY };
static const char *const strategy_names[] = { "fixed", "eager", "fault", "lazy" };

static const char *strategy_name(const struct kstat *k)
{
    return k->strategy <= LAZY ? strategy_names[k->strategy] : "?";
}

static struct kstat kstat_now(void)
{
    struct kstat k;
    long n = sys_kstat(&k, sizeof(k));
    UT_CHECK_EQ(n, sizeof(k));
    return k;
}

/* Pages a user thread keeps while it runs in user mode. */
static unsigned long pages_at_rest(const struct kstat *k)
{
    return k->strategy == FIXED ? KSTACK_PAGES : 1;
}

/* Every page above those at rest came from a cache take and goes back by a give (fault: by way of the reserve). */
static unsigned long pages_above_rest(const struct kstat *k)
{
    return k->resident_stack_pages - k->kernel_threads * KSTACK_PAGES - k->user_threads * pages_at_rest(k);
}

static volatile int go, spinning, stop;

static void spin_in_user_mode(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
        sys_futex_wait((int *)&go, 0, 0);       /* blocked in the kernel until every thread exists */
    __atomic_fetch_add(&spinning, 1, __ATOMIC_RELAXED);    /* back in user mode at least once */
    while (!stop)
        __asm__ volatile("pause");
}

/*
 * 500 threads spinning in user mode. The only user threads in the kernel
 * are this one (in kstat) and its parent (in wait): each holds 4 pages;
 * every other holds what the strategy keeps at rest. With kstack_restart=on
 * the parent waits from its exit path, at rest like the spinners.
 */
static void test_at_rest(void)
{
    static int tids[REST_THREADS];
    go = spinning = stop = 0;
    for (int i = 0; i < REST_THREADS; i++) {
        tids[i] = thread_spawn(spin_in_user_mode, NULL);
        UT_CHECK(tids[i] > 0);
        if (tids[i] <= 0)
            return;
    }
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    sys_futex_wake((int *)&go, REST_THREADS);
    for (int i = 0; i < 6000 && spinning < REST_THREADS; i++)
        sys_sleep_ms(10);
    UT_CHECK_EQ(spinning, REST_THREADS);

    /*
     * A spinner that a timer tick has just interrupted holds 4 pages for the
     * few microseconds until its exit to user mode: read again if one was caught.
     */
    /*
     * fixed and eager: exactly 4 pages for each thread in the kernel. fault:
     * those two hold what their calls faulted in (1 to 4). lazy: they hold
     * 1 to 4 as well, and a spinner still on a CPU keeps what its last
     * entry mapped until it is switched out (it has not been, yet).
     */
    struct kstat k = kstat_now();
    unsigned long in_kernel = k.restart_on ? 1 : 2, lo = 0, hi = 0;
    for (int i = 0; i < 20; i++) {
        k = kstat_now();
        unsigned long rest = k.kernel_threads * KSTACK_PAGES + (k.user_threads - in_kernel) * pages_at_rest(&k);
        lo = hi = rest + in_kernel * KSTACK_PAGES;
        if (k.strategy == FAULT || k.strategy == LAZY)
            lo = rest + in_kernel;
        if (k.strategy == LAZY)
            hi += (k.cpus - 1) * (KSTACK_PAGES - 1);
        if (k.resident_stack_pages >= lo && k.resident_stack_pages <= hi)
            break;
        sys_sleep_ms(20);
    }
    UT_CHECK_EQ(k.user_threads, REST_THREADS + 2);     /* the spinners, this thread and its parent */
    UT_CHECK(k.resident_stack_pages >= lo);
    UT_CHECK(k.resident_stack_pages <= hi);
    UT_CHECK_EQ(k.fixed_equivalent_pages, (k.user_threads + k.kernel_threads) * KSTACK_PAGES);
    printf("    # at rest (%s): %u user + %u kernel threads: %lu resident stack pages, fixed would use %lu\n",
           strategy_name(&k), k.user_threads, k.kernel_threads,
           (unsigned long)k.resident_stack_pages, (unsigned long)k.fixed_equivalent_pages);

    stop = 1;
    for (int i = 0; i < REST_THREADS; i++)
        UT_CHECK_EQ(thread_join(tids[i], NULL), 0);
}

/*
 * Every page a strategy mapped above a thread's pages at rest was taken from
 * a cache, and every page it gave back was given to one: what was taken and
 * not given back is on some stack now, or in a fault reserve. Under eager,
 * when every thread but the caller and its parent is back in user mode,
 * each expand was matched by a shrink but for those two expanded stacks
 * (the caller's alone with kstack_restart=on: the parent waits shrunk).
 */
static unsigned long expanded_now(const struct kstat *k)
{
    return k->restart_on ? 1 : 2;
}

static bool counters_settled(const struct kstat *k)
{
    return k->cache_take - k->cache_give == pages_above_rest(k) + k->reserve_pages &&
           (k->strategy != EAGER || k->expands == k->shrinks + expanded_now(k));
}

static void test_counters_balance(void)
{
    for (int i = 0; i < 50; i++)
        sys_test_stack(8192);
    /*
     * The parent may still be between its spawn and its wait (in user mode):
     * give it up to 2 s to block in wait. Lost or doubled counts never settle.
     */
    struct kstat k = kstat_now();
    for (int i = 0; i < 40 && !counters_settled(&k); i++) {
        sys_sleep_ms(50);
        k = kstat_now();
    }
    UT_CHECK_EQ(k.cache_take - k.cache_give, pages_above_rest(&k) + k.reserve_pages);
    if (k.strategy == EAGER)
        UT_CHECK_EQ(k.expands, k.shrinks + expanded_now(&k));
    if (k.strategy == FIXED)
        UT_CHECK_EQ(k.expands + k.shrinks + k.faults + k.cache_take, 0);
    if (k.strategy != FAULT)
        UT_CHECK_EQ(k.faults, 0);
    /* Every page in a cache came from a refill, a give or an empty take, and left by a take or a drain. */
    UT_CHECK_EQ(k.cache_pages, k.cache_refill + k.cache_give + k.cache_empty - k.cache_take - k.cache_drain);
    unsigned long samples = 0;
    for (int i = 0; i < KSTAT_HIST_MAX; i++)
        samples += k.pages_used_hist[i];
    /* eager samples at each shrink, lazy at each switch-out that gives pages back: one per shrink. */
    if (k.strategy == EAGER || k.strategy == LAZY)
        UT_CHECK_EQ(samples, k.shrinks);
    /* eager and fault sample every expanded entry, and the 8 KiB calls used 3 pages or more. */
    if (k.strategy == EAGER || k.strategy == FAULT)
        UT_CHECK(k.pages_used_hist[3] + k.pages_used_hist[4] >= 50);
}

static void test_test_stack_depths(void)
{
    static const long depths[] = { 1024, 4096, 8192, 12288 };
    for (int d = 0; d < 4; d++) {
        long got = sys_test_stack((size_t)depths[d]);
        UT_CHECK(got >= depths[d] && got < depths[d] + 1024);
    }
    UT_CHECK_EQ(sys_test_stack(20000), -EINVAL);
    struct kstat k = kstat_now();
    if (k.strategy == FAULT)                /* in a syscall: what the call touched */
        UT_CHECK(k.self_resident_pages >= 1 && k.self_resident_pages < KSTACK_PAGES);
    else                                    /* all four */
        UT_CHECK_EQ(k.self_resident_pages, KSTACK_PAGES);
    if (k.strategy == LAZY) {
        sys_sleep_ms(2);                    /* lazy samples the pages used when the thread is switched out */
        k = kstat_now();
    }
    UT_CHECK(k.high_water_pages >= (k.strategy == FIXED ? 0 : 4));
}

/*
 * Threads asleep in the kernel after a shallow call (futex_wait): what each
 * one holds. fixed and eager: all 16 KiB (the objection of the LKML
 * discussion). lazy: only the pages down to its saved stack pointer. fault:
 * only what its call faulted in. With kstack_restart=on (sched/restart.c)
 * they sleep from the exit path: the top page alone under all but fixed.
 */
#define SLEEPERS 64
static volatile int sleepers_asleep, sleepers_go;

static void shallow_sleeper(void *arg)
{
    (void)arg;
    __atomic_fetch_add(&sleepers_asleep, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&sleepers_go, __ATOMIC_ACQUIRE))
        sys_futex_wait((int *)&sleepers_go, 0, 0);
}

static void test_sleepers_hold(void)
{
    int tids[SLEEPERS];
    sleepers_asleep = sleepers_go = 0;
    struct kstat before = kstat_now();
    for (int i = 0; i < SLEEPERS; i++)
        tids[i] = thread_spawn(shallow_sleeper, NULL);
    while (__atomic_load_n(&sleepers_asleep, __ATOMIC_ACQUIRE) < SLEEPERS)
        sys_sleep_ms(5);
    sys_sleep_ms(50);                       /* into futex_wait, every one */
    struct kstat k = kstat_now();
    UT_CHECK_EQ(k.user_threads, before.user_threads + SLEEPERS);
    /* The sleepers' own pages, from ps: other threads (the runner on its way into wait) move meanwhile. */
    static struct ps_thread ps[256];
    long n = sys_ps(ps, 256), held = 0;
    for (long i = 0; i < n; i++)
        for (int j = 0; j < SLEEPERS; j++)
            if (ps[i].tid == tids[j])
                held += ps[i].resident_pages;
    printf("    # %d threads asleep in futex_wait (%s): %ld stack pages, %ld.%02ld KiB each (fixed: 16.00)\n",
           SLEEPERS, strategy_name(&k), held, held * 4 / SLEEPERS, held * 400 / SLEEPERS % 100);
    if (k.strategy == FIXED || (k.strategy == EAGER && !k.restart_on))
        UT_CHECK_EQ(held, SLEEPERS * KSTACK_PAGES);
    else if (k.restart_on)
        UT_CHECK_EQ(held, SLEEPERS);
    else
        UT_CHECK(held >= SLEEPERS && held < SLEEPERS * (KSTACK_PAGES - 1));   /* fewer than 3 pages each */
    __atomic_store_n(&sleepers_go, 1, __ATOMIC_RELEASE);
    sys_futex_wake((int *)&sleepers_go, SLEEPERS);
    for (int i = 0; i < SLEEPERS; i++)
        UT_CHECK_EQ(thread_join(tids[i], NULL), 0);
}

/* ---------------------------------------------------------------- kstack=fault only */

/* The faults of one call: each kstat call's own are measured and taken off. */
static long faults_of_test_stack(size_t bytes)
{
    struct kstat a = kstat_now(), b = kstat_now();
    sys_test_stack(bytes);
    struct kstat c = kstat_now();
    return (long)(c.self_faults - b.self_faults) - (long)(b.self_faults - a.self_faults);
}

static void test_fault_maps_exactly_the_pages_touched(void)
{
    static const struct { size_t bytes; long pages; } calls[] = {
        { 1024, 0 }, { 5000, 1 }, { 9000, 2 }, { 12 * 1024, 3 }, { 2048, 0 }, { 12 * 1024, 3 },
    };
    for (unsigned i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        long got = faults_of_test_stack(calls[i].bytes);
        printf("    # test_stack(%lu): %ld growth faults\n", (unsigned long)calls[i].bytes, got);
        UT_CHECK_EQ(got, calls[i].pages);
    }
    struct kstat k = kstat_now();
    UT_CHECK(k.self_resident_pages < KSTACK_PAGES);   /* all given back at the last exit, and kstat is shallow */
    UT_CHECK(k.self_shrinks >= 3);
}

/* A fault on a user address while the stack grows: moved off the IST stack onto a page that may need growing first. */
static void test_fault_copy_from_user_while_growing(void)
{
    long map = sys_mmap_anon(64 * PAGE, PROT_READ | PROT_WRITE);
    UT_CHECK(map > 0);
    UT_CHECK_EQ(sys_munmap((void *)(map + 32 * PAGE), 32 * PAGE), 0);
    const char *bad = (const char *)(map + 32 * PAGE);
    int efault = 0, ok = 0;
    /* RSP placed to the byte (16-byte steps) across the boundaries between pages 0, 1 and 2. */
    for (size_t bytes = PAGE - 512; bytes <= 2 * PAGE + 512; bytes += 16) {
        efault += sys_test_stack_copy(bytes, bad) == -EFAULT;
        /* A good pointer into a fresh page: a demand fault at the same depth. */
        ok += sys_test_stack_copy(bytes, (const void *)(map + ((bytes / 16) % 32) * PAGE)) == 0;
    }
    UT_CHECK_EQ(efault, (int)((PAGE + 1024) / 16 + 1));
    UT_CHECK_EQ(ok, efault);
    UT_CHECK(kstat_now().faults > 0);
}

/*
 * The race the LKML reviewers raised: a fault on the outgoing thread's
 * stack after the context switch has named the next thread current. Sleeps
 * with RSP swept to the byte across a page boundary, so that at some depth
 * the first touch of the unmapped page is switch_to()'s own pushes.
 */
static void test_fault_in_the_context_switch(void)
{
    struct kstat a = kstat_now();
    long bad = 0;
    for (size_t bytes = PAGE - 1024; bytes <= PAGE + 64; bytes += 8) {
        long got = sys_test_stack_sleep(bytes);
        bad += got < (long)bytes || got > (long)bytes + 64;
    }
    struct kstat b = kstat_now();
    printf("    # %lu growth faults on the outgoing thread's stack inside the switch\n",
           (unsigned long)(b.switch_faults - a.switch_faults));
    UT_CHECK_EQ(bad, 0);
    UT_CHECK(b.switch_faults > a.switch_faults);
}

/*
 * An interrupt whose frame the CPU pushes across into an unmapped stack page:
 * the growth fault comes in the middle of the interrupt's delivery, and the
 * interrupt is lost with its in-service bit set (the timer would stop for
 * good on that CPU). Spins with RSP swept across a page boundary while timer
 * ticks arrive (hz=1000 in the suite's rows would make it quicker; 100 does).
 */
static void test_fault_interrupt_during_growth(void)
{
    struct kstat a = kstat_now();
    long bad = 0;
    for (size_t bytes = PAGE - 64; bytes <= PAGE + 16; bytes += 8) {
        long got = sys_test_stack_spin(bytes, 25);
        bad += got < (long)bytes || got > (long)bytes + 64;
    }
    struct kstat b = kstat_now();
    long t0 = sys_uptime_ms();
    sys_sleep_ms(20);                       /* ticks still come: a sleep ends */
    printf("    # %lu interrupts cut off by a growth fault and sent again\n",
           (unsigned long)(b.irqs_resent - a.irqs_resent));
    UT_CHECK_EQ(bad, 0);
    UT_CHECK(b.irqs_resent > a.irqs_resent);
    UT_CHECK(sys_uptime_ms() - t0 >= 20);
}

/* Demand paging of an mmap region by the kernel (kstat writes into fresh pages), and by user mode. */
static void test_fault_demand_paging_still_works(void)
{
    long map = sys_mmap_anon(16 * PAGE, PROT_READ | PROT_WRITE);
    UT_CHECK(map > 0);
    for (int i = 0; i < 16; i++) {
        UT_CHECK_EQ(sys_kstat((struct kstat *)(map + i * PAGE), sizeof(struct kstat)), sizeof(struct kstat));
        UT_CHECK_EQ(((struct kstat *)(map + i * PAGE))->strategy, FAULT);
    }
    for (int i = 0; i < 16; i++)
        ((volatile char *)map)[i * PAGE + 100] = (char)i;
    UT_CHECK_EQ(((volatile char *)map)[15 * PAGE + 100], 15);
}

/* A bad user access in user mode: the process dies (the #PF came through the IST stack), nothing else. */
static void test_fault_bad_user_access(void)
{
    volatile int *p = (volatile int *)16;
    __asm__("" : "+r"(p));                  /* the compiler may not see it is null-page */
    *p = 1;
}

/* ---------------------------------------------------------------- kstack=lazy only */

/* A syscall loop that is never switched out: at most one expand, no shrink. */
static void test_lazy_syscall_loop_pays_nothing(void)
{
    struct kstat before = kstat_now();
    sys_sleep_ms(2);                        /* switched out: its lower pages are gone */
    struct kstat a = kstat_now();           /* this entry (or the switch-in) mapped them back */
    for (int i = 0; i < 1000; i++)
        sys_getpid();
    struct kstat b = kstat_now();
    printf("    # 1000 syscalls: %u expands, %u shrinks\n", b.self_expands - a.self_expands,
           b.self_shrinks - a.self_shrinks);
    UT_CHECK(a.self_expands > before.self_expands);
    UT_CHECK(a.self_shrinks > before.self_shrinks);
    UT_CHECK(b.self_expands - a.self_expands <= 1);
    UT_CHECK_EQ(b.self_shrinks, a.self_shrinks);
    UT_CHECK_EQ(b.self_resident_pages, KSTACK_PAGES);
    sys_sleep_ms(2);                        /* now switched out: the pages go */
    struct kstat c = kstat_now();
    UT_CHECK(c.self_shrinks > b.self_shrinks);
}


static void test_threads_come_and_go_without_leaks(void)
{
    for (int round = 0; round < 5; round++) {
        int tids[32];
        for (int i = 0; i < 32; i++)
            tids[i] = thread_spawn(spin_in_user_mode, NULL);
        __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
        stop = 1;
        sys_futex_wake((int *)&go, 32);
        for (int i = 0; i < 32; i++)
            UT_CHECK_EQ(thread_join(tids[i], NULL), 0);
        go = stop = 0;
    }
}

/*
 * The top page's real high-water mark (docs/DESIGN.md 12), against the
 * static bound tools/stack_budget.py enforces at build time. Workers call
 * test_top_page() over and over: each call reports how deep the top page
 * was used since the previous call ended (the way out after the shrink,
 * schedule() included; interrupts and preemption while the worker spins in
 * user mode; the way back in up to the expansion), then yields, sleeps or
 * asks for a reschedule at its exit, then poisons the page again. Load
 * threads sleep, yield and make 12 KiB deep syscalls meanwhile, so the
 * workers are woken, preempted and migrated.
 */
#define TOP_WORKERS 6
#define TOP_ROUNDS 60
#define PT_REGS_SIZE 176

static volatile int top_stop;
static volatile long top_max, top_windows, top_errors;

static void top_page_worker(void *arg)
{
    unsigned long seed = (unsigned long)arg * 2654435761ul + 1;
    if (sys_test_top_page(TOP_PAGE_PLAIN) < 0) {       /* the first poison; what it read is from before */
        __atomic_fetch_add(&top_errors, 1, __ATOMIC_RELAXED);
        return;
    }
    for (int round = 0; round < TOP_ROUNDS; round++) {
        seed = seed * 6364136223846793005ul + 1442695040888963407ul;
        /* User mode between two calls, where timer ticks land and preempt. */
        for (volatile unsigned long i = 0; i < (seed >> 33) % 4000; i++)
            ;
        long used = sys_test_top_page((int)((seed >> 20) % 4));
        if (used < 0) {
            __atomic_fetch_add(&top_errors, 1, __ATOMIC_RELAXED);
            return;
        }
        long seen = top_max;
        while (used > seen && !__atomic_compare_exchange_n(&top_max, &seen, used, false, __ATOMIC_RELAXED,
                                                           __ATOMIC_RELAXED))
            ;
        __atomic_fetch_add(&top_windows, 1, __ATOMIC_RELAXED);
    }
}

static void top_page_load(void *arg)
{
    for (long i = 0; !top_stop; i++) {
        if (arg)
            sys_sleep_ms(1 + (unsigned long)i % 3);
        else
            sys_test_stack(12 * 1024);
        sys_yield();
    }
}

static void test_top_page_high_water(void)
{
    int workers[TOP_WORKERS], load[2];
    top_stop = 0;
    top_max = top_windows = top_errors = 0;
    long floor = sys_test_top_page(TOP_PAGE_FLOOR);
    UT_CHECK(floor > PT_REGS_SIZE && floor < 4096);
    for (long i = 0; i < TOP_WORKERS; i++)
        workers[i] = thread_spawn(top_page_worker, (void *)i);
    for (long i = 0; i < 2; i++)
        load[i] = thread_spawn(top_page_load, (void *)i);
    for (int i = 0; i < TOP_WORKERS; i++)
        UT_CHECK_EQ(thread_join(workers[i], NULL), 0);
    top_stop = 1;
    for (int i = 0; i < 2; i++)
        UT_CHECK_EQ(thread_join(load[i], NULL), 0);

    struct kstat k = kstat_now();
    printf("top page high-water: %ld bytes of 4096\n", top_max);
    printf("    # (%s, %u cpus: %ld windows; the measuring call's own frames reach %ld bytes, pt_regs %d)\n",
           strategy_name(&k), k.cpus, top_windows, floor, PT_REGS_SIZE);
    UT_CHECK_EQ(top_errors, 0);
    UT_CHECK_EQ(top_windows, TOP_WORKERS * TOP_ROUNDS);
    UT_CHECK(top_max > PT_REGS_SIZE);
    UT_CHECK(top_max > floor);          /* the ways in and out reach below the measuring call's frame */
    UT_CHECK(top_max < 4096);
}

/*
 * Not a test of its own: suite `testsys` (kernel/syscall_test.c) spawns it,
 * with and without testsys=1, and reads what the test_* calls returned.
 */
static void test_testsys_gate(void)
{
    long stack = sys_test_stack(2048), fault = sys_test_fault(0);
    printf("testsys_gate: test_stack(2048) = %ld, test_fault(0) = %ld, getpid = %ld\n", stack, fault,
           sys_getpid() > 0 ? 1l : 0l);
}

/* Not a test of its own: the overflow suite spawns it with kstack_overflow=kill and reads the report. */
static void test_syscall_overflow(void)
{
    sys_test_fault(TEST_FAULT_STACK_OVERFLOW);
}

#define COMMON_TESTS                                                        \
    UTEST_EXPECT(syscall_overflow, UTEST_HELPER, EXIT_KILLED_BASE + 8),     \
    UTEST_HELPER_ENTRY(testsys_gate),                                       \
    UTEST_EXPECT(at_rest, UTEST_LEAK_CHECK, 0),                             \
    UTEST(counters_balance),                                                \
    UTEST(test_stack_depths),                                               \
    UTEST_EXPECT(sleepers_hold, UTEST_LEAK_CHECK, 0),                       \
    UTEST_EXPECT(threads_come_and_go_without_leaks, UTEST_LEAK_CHECK, 0),   \
    UTEST(top_page_high_water)

static const struct utest tests[] = { COMMON_TESTS };

static const struct utest fault_tests[] = {
    COMMON_TESTS,
    UTEST(fault_maps_exactly_the_pages_touched),
    UTEST_EXPECT(fault_copy_from_user_while_growing, UTEST_LEAK_CHECK, 0),
    UTEST(fault_demand_paging_still_works),
    UTEST(fault_in_the_context_switch),
    UTEST(fault_interrupt_during_growth),
    UTEST_KILLED(fault_bad_user_access, 14),
};

static const struct utest lazy_tests[] = {
    COMMON_TESTS,
    UTEST(lazy_syscall_loop_pays_nothing),
};

int main(int argc, char **argv)
{
    struct kstat k;
    sys_kstat(&k, sizeof(k));
    if (k.strategy == FAULT)
        return utest_main("kstack", PROGRAM, fault_tests, UTEST_COUNT(fault_tests), argc, argv);
    if (k.strategy == LAZY)
        return utest_main("kstack", PROGRAM, lazy_tests, UTEST_COUNT(lazy_tests), argc, argv);
    return utest_main("kstack", PROGRAM, tests, UTEST_COUNT(tests), argc, argv);
}
