/*
 * restarttests.c: restartable blocking (docs/DESIGN.md section 13), booted
 * with kstack_restart=on (the default) and off, under each strategy
 * (rows restart[*] of tests/suites.conf). The same program passes both
 * ways: what user space sees must not change. What changes is the memory:
 * with restart on, a thread asleep holds its top stack page only.
 *
 * A "wake-up for nothing" (test_wake, as a signal would give) makes a
 * sleeper run its wait again: its first deadline must hold. The 3,000
 * sleepers wait in IPC recv, as the servers of a microkernel system do.
 * (ipctests checks a receive's deadline across restarts.)
 */
#include "lib/string.h"
#include "stdio.h"
#include "syscall.h"
#include "thread.h"
#include "utest.h"

#define PROGRAM "restarttests"

static struct kstat kstat_now(void)
{
    struct kstat k;
    memset(&k, 0, sizeof(k));
    UT_CHECK(sys_kstat(&k, sizeof(k)) == sizeof(k));
    return k;
}

/* ---------------------------------------------------------------- counted, and only when on */

static void test_restart_counted(void)
{
    static int word;
    struct kstat k0 = kstat_now();
    UT_CHECK_EQ(sys_futex_wait(&word, 0, 20), -ETIMEDOUT);
    UT_CHECK_EQ(sys_sleep_ms(5), 0);
    struct kstat k1 = kstat_now();
    if (k0.restart_on)
        UT_CHECK(k1.restarts >= k0.restarts + 2);
    else
        UT_CHECK_EQ(k1.restarts, k0.restarts);
    printf("    # restart_counted: kstack_restart=%s, %lu restarts for a futex time-out and a sleep\n",
           k0.restart_on ? "on" : "off", (unsigned long)(k1.restarts - k0.restarts));
}

/* ---------------------------------------------------------------- deadlines survive a wake-up for nothing */

#define NAP_MS 400
#define LATE_MS 90          /* a restart that started its timer again would be 100 ms late or more */

static int nap_word;
static volatile long nap_result, nap_elapsed;
static volatile int nap_tid;

static void sleeper(void *arg)
{
    long t0 = sys_uptime_ms();
    nap_tid = (int)sys_gettid();
    nap_result = arg ? sys_futex_wait(&nap_word, 0, NAP_MS) : sys_sleep_ms(NAP_MS);
    nap_elapsed = sys_uptime_ms() - t0;
}

/* Start a sleeper, wake it for nothing at 100 and 200 ms, and return how long its wait took. */
static long kicked_nap(bool futex)
{
    nap_tid = 0;
    int tid = thread_spawn(sleeper, futex ? (void *)1 : NULL);
    UT_CHECK(tid > 0);
    while (!__atomic_load_n(&nap_tid, __ATOMIC_ACQUIRE))
        sys_yield();
    for (int kick = 1; kick <= 2; kick++) {
        sys_sleep_ms(100);
        UT_CHECK_EQ(sys_test_wake(tid), 0);         /* it is asleep, so it can be woken */
    }
    UT_CHECK_EQ(thread_join(tid, NULL), 0);
    return nap_elapsed;
}

static void test_sleep_keeps_its_deadline(void)
{
    long elapsed = kicked_nap(false);
    UT_CHECK_EQ(nap_result, 0);
    UT_CHECK(elapsed >= NAP_MS && elapsed < NAP_MS + LATE_MS);
    printf("    # sleep_keeps_its_deadline: sleep_ms(%d) woken twice for nothing took %ld ms\n", NAP_MS, elapsed);
}

static void test_futex_timeout_keeps_its_deadline(void)
{
    long elapsed = kicked_nap(true);
    UT_CHECK_EQ(nap_result, -ETIMEDOUT);
    UT_CHECK(elapsed >= NAP_MS && elapsed < NAP_MS + LATE_MS);
    printf("    # futex_timeout_keeps_its_deadline: futex_wait(%d ms) woken twice for nothing: %ld after %ld ms\n",
           NAP_MS, nap_result, elapsed);
}

/* A real wake after one for nothing: counted once, returned as 0. */
static int wake_word;
static volatile long waiter_result = 1;

static void waiter(void *arg)
{
    (void)arg;
    nap_tid = (int)sys_gettid();
    waiter_result = sys_futex_wait(&wake_word, 0, 0);
}

static void test_futex_wake_after_nothing(void)
{
    nap_tid = 0;
    int tid = thread_spawn(waiter, NULL);
    while (!__atomic_load_n(&nap_tid, __ATOMIC_ACQUIRE))
        sys_yield();
    sys_sleep_ms(50);
    UT_CHECK_EQ(sys_test_wake(tid), 0);
    sys_sleep_ms(50);
    UT_CHECK_EQ(waiter_result, 1);                  /* still waiting */
    struct kstat k0 = kstat_now();
    UT_CHECK_EQ(sys_futex_wake(&wake_word, 1), 1);
    UT_CHECK_EQ(thread_join(tid, NULL), 0);
    UT_CHECK_EQ(waiter_result, 0);
    struct kstat k1 = kstat_now();
    if (k0.restart_on)                  /* the counted wake ended the wait in its exit path: no second run */
        UT_CHECK(k1.restart_completed > k0.restart_completed);
}

/* ---------------------------------------------------------------- 3,000 sleepers, blocked in recv */

#define SLEEPER_PROCS 2
#define SLEEPERS_EACH 1500      /* a process may have half the system's threads (oomtests) */

static int sleepers_ep;

/* A server thread of a microkernel system: blocked in recv on its process's endpoint, where nobody sends. */
static void recv_forever(void *arg)
{
    (void)arg;
    struct ipc_msg m = { 0 };
    long err = sys_ipc_recv(sleepers_ep, &m, NULL);
    printf("restarttests: a sleeper's recv returned %ld\n", err);     /* only a kill ends it */
}

/* A child: its threads and itself blocked in recv until killed. */
static void test_sleepers(void)
{
    sleepers_ep = (int)sys_ipc_endpoint();
    UT_CHECK(sleepers_ep >= 0);
    for (int i = 0; i < SLEEPERS_EACH; i++)
        if (thread_spawn(recv_forever, NULL) < 0) {
            utest_fail(__FILE__, __LINE__, "thread %d: no thread", i);
            break;
        }
    recv_forever(NULL);
}

static const char *const strategy_names[] = { "fixed", "eager", "fault", "lazy" };

static void test_blocked_threads_hold_one_page(void)
{
    char *argv[] = { PROGRAM, "sleepers", NULL };
    long pids[SLEEPER_PROCS];
    struct kstat k0 = kstat_now(), k;
    for (int i = 0; i < SLEEPER_PROCS; i++)
        UT_CHECK((pids[i] = sys_spawn(PROGRAM, argv)) > 0);
    /* The sleepers, their processes' main threads, this thread and the runner that waits for it. */
    unsigned sleeping = SLEEPER_PROCS * (SLEEPERS_EACH + 1), others = k0.user_threads;
    uint64_t want;          /* resident pages once they all sleep */
    bool at_most;
    if (k0.strategy == 0) {                 /* fixed: 16 KiB each, asleep or not */
        want = 4ull * (sleeping + others + k0.kernel_threads);
        at_most = false;
    } else if (k0.restart_on) {             /* a page each, and at most 4 for every other thread */
        want = sleeping + 4ull * (others + k0.kernel_threads);
        at_most = true;
    } else if (k0.strategy == 1) {          /* eager, restart off: they sleep inside the syscall */
        want = 4ull * sleeping;
        at_most = false;
    } else {                                /* fault and lazy without restart: what they hold is reported */
        want = 0;
        at_most = false;
    }
    long waited = 0;
    for (; waited < 20000; waited += 50) {
        sys_sleep_ms(50);
        k = kstat_now();
        if (k.user_threads == sleeping + others &&
            (at_most ? k.resident_stack_pages <= want : k.resident_stack_pages >= want))
            break;
    }
    k = kstat_now();
    printf("    # %u threads blocked in recv, strategy %s, kstack_restart=%s: %lu resident stack pages for "
           "%u user and %u kernel threads (%lu.%02lu per thread; want %s %lu) after %ld ms\n",
           sleeping, k.strategy < 4 ? strategy_names[k.strategy] : "?", k.restart_on ? "on" : "off",
           (unsigned long)k.resident_stack_pages, k.user_threads, k.kernel_threads,
           (unsigned long)(k.resident_stack_pages / (k.user_threads + k.kernel_threads)),
           (unsigned long)(k.resident_stack_pages * 100 / (k.user_threads + k.kernel_threads) % 100),
           at_most ? "at most" : "at least", (unsigned long)want, waited);
    UT_CHECK_EQ(k.user_threads, sleeping + others);
    if (at_most)
        UT_CHECK(k.resident_stack_pages <= want);
    else
        UT_CHECK(k.resident_stack_pages >= want);
    for (int i = 0; i < SLEEPER_PROCS; i++) {
        int status = -1;
        UT_CHECK_EQ(sys_kill((int)pids[i], 0), 0);
        UT_CHECK_EQ(sys_wait((int)pids[i], &status), pids[i]);
        UT_CHECK_EQ(status, 0);
    }
}

static const struct utest tests[] = {
    UTEST(restart_counted),
    UTEST(sleep_keeps_its_deadline),
    UTEST(futex_timeout_keeps_its_deadline),
    UTEST(futex_wake_after_nothing),
    UTEST_EXPECT(blocked_threads_hold_one_page, UTEST_LEAK_CHECK, 0),
    UTEST_HELPER_ENTRY(sleepers),
};

int main(int argc, char **argv)
{
    return utest_main("restarttests", PROGRAM, tests, UTEST_COUNT(tests), argc, argv);
}
