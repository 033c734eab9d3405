/*
 * nmitests.c: NMIs from outside (the harness's nmi= option, QEMU's monitor
 * `nmi`) while user threads spin and make syscalls: the kernel counts them
 * (kstat.nmis) and goes on. Prints KTAP for suite "nmi"; the marker below
 * tells the harness when to send them, so run it only from that row.
 */
#include <stdbool.h>
#include "stdio.h"
#include "syscall.h"
#include "thread.h"
#include "utest.h"

#define PROGRAM "nmitests"
#define NMI_MARKER "NMI-NOW"   /* tests/suites.conf: nmi=NMI-NOW */
#define NMI_WANT 5              /* the harness sends 5; each reaches every CPU */
#define NMI_WAIT_MS 20000
#define NMI_WORKERS 4

static int stop;
static volatile long work[NMI_WORKERS];

static long nmis_now(void)
{
    struct kstat ks;
    long n = sys_kstat(&ks, sizeof(ks));

    return n == (long)sizeof(ks) ? (long)ks.nmis : -1;
}

/* Half the workers spin in user mode, half live in syscalls: NMIs land in both. */
static void worker(void *arg)
{
    long i = (long)arg;

    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        if (i % 2) {
            sys_getpid();
            sys_yield();
            sys_sleep_ms(0);
        } else {
            for (int j = 0; j < 1000; j++)
                __asm__ volatile("pause");
        }
        work[i]++;
    }
}

static void test_nmis_survived(void)
{
    int tids[NMI_WORKERS];
    long before = nmis_now(), now = before, t0, seen_at;

    UT_CHECK(before >= 0);
    for (long i = 0; i < NMI_WORKERS; i++)
        tids[i] = thread_spawn(worker, (void *)i);
    t0 = sys_uptime_ms();
    printf("# %s: the harness may send NMIs now\n", NMI_MARKER);
    while (now - before < NMI_WANT && sys_uptime_ms() - t0 < NMI_WAIT_MS) {
        sys_sleep_ms(50);
        now = nmis_now();
    }
    seen_at = sys_uptime_ms();
    while (sys_uptime_ms() - seen_at < 1500)    /* and a while longer with them all running */
        sys_sleep_ms(50);
    now = nmis_now();
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < NMI_WORKERS; i++)
        UT_CHECK_EQ(thread_join(tids[i], NULL), 0);
    printf("# %ld NMIs while the workers ran (%ld ms)\n", now - before, seen_at - t0);
    UT_CHECK(now - before >= NMI_WANT);
    for (int i = 0; i < NMI_WORKERS; i++)
        UT_CHECK(work[i] > 0);
}

static const struct utest tests[] = {
    UTEST(nmis_survived),
};

int main(int argc, char **argv)
{
    return utest_main("nmi", PROGRAM, tests, UTEST_COUNT(tests), argc, argv);
}
