/*
 * robusttests.c: hardening tests from user space (issue 8): no lost futex
 * wake-up when a timeout races a wake, and a faulting return to user mode
 * (a bad iretq frame) that kills the process, not the kernel. Each test in a
 * process of its own (lib/utest.h); prints KTAP for suite "robust".
 * Needs testsys=1.
 */
#include <stdbool.h>
#include "stdio.h"
#include "syscall.h"
#include "thread.h"
#include "utest.h"

#define PROGRAM "robusttests"

/* ---------------------------------------------------------------- futex: timeout against wake */

/*
 * Waiters sleep on a word nobody changes, with 1 ms timeouts, so that their
 * timeouts fire while a waker keeps waking them: a waiter whose timeout fired
 * after a waker had dequeued and counted it must still return 0. Every wake
 * futex_wake counted is then exactly one waiter that returned 0.
 */
#define RACE_WAITERS 6
#define RACE_MS 2500

static int race_word;
static int race_stop;
static long race_zero;          /* waits that returned 0 */
static long race_timedout;      /* waits that returned -ETIMEDOUT */
static long race_woken;         /* the sum of what futex_wake returned */
static long race_bad;           /* any other return */

static void race_waiter(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&race_stop, __ATOMIC_ACQUIRE)) {
        long r = sys_futex_wait(&race_word, 0, 1);
        long *counter = r == 0 ? &race_zero : r == -ETIMEDOUT ? &race_timedout : &race_bad;
        __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
    }
}

static void race_waker(void *arg)
{
    unsigned n = 0;
    (void)arg;
    while (!__atomic_load_n(&race_stop, __ATOMIC_ACQUIRE)) {
        long r = sys_futex_wake(&race_word, 1 + n++ % 3);
        if (r < 0)
            __atomic_fetch_add(&race_bad, 1, __ATOMIC_RELAXED);
        else
            __atomic_fetch_add(&race_woken, r, __ATOMIC_RELAXED);
        if (n % 8 == 0)
            sys_sleep_ms(1);    /* waiters block and time out meanwhile; wakers and timeouts wake at one tick */
    }
}

static void test_futex_timeout_wake_race(void)
{
    int tids[RACE_WAITERS + 2];
    long t0 = sys_uptime_ms();

    for (int i = 0; i < RACE_WAITERS; i++)
        tids[i] = thread_spawn(race_waiter, NULL);
    tids[RACE_WAITERS] = thread_spawn(race_waker, NULL);
    tids[RACE_WAITERS + 1] = thread_spawn(race_waker, NULL);
    while (sys_uptime_ms() - t0 < RACE_MS)
        sys_sleep_ms(50);
    __atomic_store_n(&race_stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < RACE_WAITERS + 2; i++)
        UT_CHECK_EQ(thread_join(tids[i], NULL), 0);
    printf("# futex race: %ld woken by futex_wake, %ld waits returned 0, %ld timed out\n", race_woken,
           race_zero, race_timedout);
    UT_CHECK_EQ(race_bad, 0);
    UT_CHECK(race_woken > 0);
    UT_CHECK(race_timedout > 0);            /* both outcomes happened, so they raced */
    UT_CHECK_EQ(race_zero, race_woken);     /* no wake lost, none made up */
}

/* A timeout so large that timeout_ms * 1000000 overflows must not turn into a short (or no) wait. */
static int huge_word;

static void huge_waiter(void *arg)
{
    long *ret = arg;
    *ret = sys_futex_wait(&huge_word, 0, ~0ul / 1000000 + 123);
}

static void test_futex_huge_timeout(void)
{
    long ret = 1;
    int tid = thread_spawn(huge_waiter, &ret);

    sys_sleep_ms(200);
    UT_CHECK_EQ(__atomic_load_n(&ret, __ATOMIC_ACQUIRE), 1);    /* still waiting */
    UT_CHECK_EQ(sys_futex_wake(&huge_word, 1), 1);
    UT_CHECK_EQ(thread_join(tid, NULL), 0);
    UT_CHECK_EQ(ret, 0);
}

/* ---------------------------------------------------------------- a faulting return to user mode */

/*
 * The syscall corrupts its own return frame; the iretq that would return
 * through it faults in the kernel (after the swapgs back to the user's GS).
 * The process must die with #GP, as if its next instruction had faulted, and
 * the kernel go on (UTEST_LEAK_CHECK: and give back every page).
 */
static void bad_frame(int kind)
{
    sys_test_bad_frame(kind);
    utest_fail(__FILE__, __LINE__, "returned to user mode through bad frame kind %d", kind);
}

static void test_bad_iret_ss(void) { bad_frame(TEST_BAD_FRAME_SS); }
static void test_bad_iret_cs(void) { bad_frame(TEST_BAD_FRAME_CS); }
/* Hardware faults on the iretq itself; QEMU (TCG) loads the RIP and faults at the fetch, in user mode. */
static void test_bad_iret_rip(void) { bad_frame(TEST_BAD_FRAME_RIP); }

static volatile long spins;

static void spin_and_call(void *arg)
{
    (void)arg;
    for (;;) {
        for (int i = 0; i < 10000; i++)
            spins++;
        sys_getpid();
    }
}

/* With the process's other threads running (on other CPUs under SMP): all of them end. */
static void test_bad_iret_threads(void)
{
    for (int i = 0; i < 3; i++)
        thread_spawn(spin_and_call, NULL);
    while (spins < 100000)
        sys_yield();
    bad_frame(TEST_BAD_FRAME_SS);
}

/* ---------------------------------------------------------------- the list */

static const struct utest tests[] = {
    UTEST(futex_timeout_wake_race),
    UTEST(futex_huge_timeout),
    UTEST_EXPECT(bad_iret_ss, UTEST_LEAK_CHECK, EXIT_KILLED_BASE + VEC_GP),
    UTEST_EXPECT(bad_iret_cs, UTEST_LEAK_CHECK, EXIT_KILLED_BASE + VEC_GP),
    UTEST_EXPECT(bad_iret_rip, UTEST_LEAK_CHECK, EXIT_KILLED_BASE + VEC_GP),
    UTEST_EXPECT(bad_iret_threads, UTEST_LEAK_CHECK, EXIT_KILLED_BASE + VEC_GP),
};

int main(int argc, char **argv)
{
    return utest_main("robust", PROGRAM, tests, UTEST_COUNT(tests), argc, argv);
}
