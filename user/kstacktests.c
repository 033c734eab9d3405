/*
 * kstacktests.c: suite `kstack`, the stack strategy seen from user space,
 * run once per strategy (kstack=fixed|eager). Each test runs in a child
 * process of its own (lib/utest.h); the numbers come from kstat.
 */
#include "stdio.h"
#include "syscall.h"
#include "thread.h"
#include "utest.h"

#define PROGRAM "kstacktests"
#define REST_THREADS 500
#define KSTACK_PAGES 4

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
    return k->strategy == 0 ? KSTACK_PAGES : 1;
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
 * every other holds what the strategy keeps at rest.
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
    struct kstat k;
    unsigned long in_kernel = 2, expect = 0;
    for (int i = 0; i < 20; i++) {
        k = kstat_now();
        expect = k.kernel_threads * KSTACK_PAGES + (k.user_threads - in_kernel) * pages_at_rest(&k) +
                 in_kernel * KSTACK_PAGES;
        if (k.resident_stack_pages == expect)
            break;
        sys_sleep_ms(20);
    }
    UT_CHECK_EQ(k.user_threads, REST_THREADS + in_kernel);
    UT_CHECK_EQ(k.resident_stack_pages, expect);
    UT_CHECK_EQ(k.fixed_equivalent_pages, (k.user_threads + k.kernel_threads) * KSTACK_PAGES);
    printf("    # at rest (%s): %u user + %u kernel threads: %lu resident stack pages, fixed would use %lu\n",
           k.strategy == 0 ? "fixed" : "eager", k.user_threads, k.kernel_threads,
           (unsigned long)k.resident_stack_pages, (unsigned long)k.fixed_equivalent_pages);

    stop = 1;
    for (int i = 0; i < REST_THREADS; i++)
        UT_CHECK_EQ(thread_join(tids[i], NULL), 0);
}

/*
 * When every thread but the caller and its parent is back in user mode:
 * each expand was matched by a shrink, and every page taken from a cache
 * was given back, but for the 3 pages of each of the two expanded stacks.
 */
static void test_counters_balance(void)
{
    for (int i = 0; i < 50; i++)
        sys_test_stack(8192);
    /*
     * The parent may still be between its spawn and its wait (in user mode):
     * give it up to 2 s to block in wait. Lost or doubled counts never settle.
     */
    struct kstat k = kstat_now();
    unsigned long expanded = k.strategy == 0 ? 0 : 2;
    for (int i = 0; i < 40 && k.expands != k.shrinks + expanded; i++) {
        sys_sleep_ms(50);
        k = kstat_now();
    }
    UT_CHECK_EQ(k.expands, k.shrinks + expanded);
    UT_CHECK_EQ(k.cache_take, k.cache_give + expanded * (KSTACK_PAGES - 1));
    /* Every page in a cache came from a refill, a give or an empty take, and left by a take or a drain. */
    UT_CHECK_EQ(k.cache_pages, k.cache_refill + k.cache_give + k.cache_empty - k.cache_take - k.cache_drain);
    if (k.strategy != 0) {
        unsigned long entries = 0;
        for (int i = 0; i < KSTAT_HIST_MAX; i++)
            entries += k.pages_used_hist[i];
        UT_CHECK_EQ(entries, k.shrinks);
        UT_CHECK(k.pages_used_hist[3] + k.pages_used_hist[4] >= 50);  /* the 8 KiB calls used 3 pages or more */
    }
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
    UT_CHECK_EQ(k.self_resident_pages, KSTACK_PAGES);     /* in a syscall: all four, whatever the strategy */
    UT_CHECK(k.high_water_pages >= (k.strategy == 0 ? 0 : 4));
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
           k.strategy == 0 ? "fixed" : "eager", k.cpus, top_windows, floor, PT_REGS_SIZE);
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

static const struct utest tests[] = {
    UTEST_EXPECT(syscall_overflow, UTEST_HELPER, EXIT_KILLED_BASE + 8),
    UTEST_HELPER_ENTRY(testsys_gate),
    UTEST_EXPECT(at_rest, UTEST_LEAK_CHECK, 0),
    UTEST(counters_balance),
    UTEST(test_stack_depths),
    UTEST_EXPECT(threads_come_and_go_without_leaks, UTEST_LEAK_CHECK, 0),
    UTEST(top_page_high_water),
};

int main(int argc, char **argv)
{
    return utest_main("kstack", PROGRAM, tests, UTEST_COUNT(tests), argc, argv);
}
