/*
 * robusttests.c: hardening tests from user space (issue 8): no lost futex
 * wake-up when a timeout races a wake, and a faulting return to user mode
 * (a bad iretq frame) that kills the process, not the kernel. Each test in a
 * process of its own (lib/utest.h); prints KTAP for suite "robust".
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
        if (n % 4 == 0)
            sys_yield();
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

/* ---------------------------------------------------------------- the list */

static const struct utest tests[] = {
    UTEST(futex_timeout_wake_race),
    UTEST(futex_huge_timeout),
};

int main(int argc, char **argv)
{
    return utest_main("robust", PROGRAM, tests, UTEST_COUNT(tests), argc, argv);
}
