/*
 * kstacksmp.c: suite `kstack-smp`, the stack strategy on several CPUs: deep
 * syscalls under load, and the TLB hazard of docs/DESIGN.md section 7
 * (threads that sleep deep in the kernel, wake on another CPU, and check
 * canaries in their stack frames). With kstack_tlb=unsafe the hazard test
 * must see corruption; with the default, never.
 */
#include "stdio.h"
#include "syscall.h"
#include "thread.h"
#include "utest.h"

#define PROGRAM "kstacksmp"
#define LOAD_THREADS 8
#define LOAD_CALLS 1250         /* x 8 threads = 10,000 */
#define HAZARD_THREADS 16
#define HAZARD_ROUNDS 150
#define HAZARD_SPINNERS 4

static volatile long failures, calls;
static volatile unsigned long cpus_seen;

static void deep_calls(void *arg)
{
    (void)arg;
    for (int i = 0; i < LOAD_CALLS; i++) {
        long got = sys_test_stack(12 * 1024);
        __atomic_fetch_add(got >= 12 * 1024 ? &calls : &failures, 1, __ATOMIC_RELAXED);
        long cpu = sys_getcpu();
        if (cpu >= 0 && cpu < 64)
            __atomic_fetch_or(&cpus_seen, 1ul << cpu, __ATOMIC_RELAXED);
    }
}

static void test_test_stack_12k_10000_times(void)
{
    int tids[LOAD_THREADS];
    failures = calls = 0;
    cpus_seen = 0;
    for (int i = 0; i < LOAD_THREADS; i++)
        tids[i] = thread_spawn(deep_calls, NULL);
    for (int i = 0; i < LOAD_THREADS; i++)
        UT_CHECK_EQ(thread_join(tids[i], NULL), 0);
    UT_CHECK_EQ(calls, LOAD_THREADS * LOAD_CALLS);
    UT_CHECK_EQ(failures, 0);
    struct kstat k;
    sys_kstat(&k, sizeof(k));
    if (k.cpus > 1)
        UT_CHECK((cpus_seen & (cpus_seen - 1)) != 0);  /* more than one bit: more than one CPU */
}

static volatile long bad_frames, hazard_calls;

static void canary_worker(void *arg)
{
    long seed = (long)arg;
    for (int i = 0; i < HAZARD_ROUNDS; i++) {
        long bad = sys_test_stack_canary(8 * 1024 + (size_t)((seed + i) % 4) * 1024, 1 + (unsigned long)(i % 2));
        if (bad < 0) {
            __atomic_fetch_add(&bad_frames, 1000000, __ATOMIC_RELAXED);
            return;
        }
        __atomic_fetch_add(&bad_frames, bad, __ATOMIC_RELAXED);
        __atomic_fetch_add(&hazard_calls, 1, __ATOMIC_RELAXED);
    }
}

static volatile int hazard_done;

static void keep_cpu_busy(void *arg)
{
    (void)arg;
    while (!hazard_done)
        __asm__ volatile("pause");
}

/*
 * The worker: exits 3 when any frame came back corrupted, 0 when none did.
 * Spinners of the same process keep every CPU busy, so no CPU goes idle and
 * loads the kernel's page tables: under TCG any CR3 write flushes the whole
 * TLB, which would hide stale entries (a real CPU keeps global ones).
 */
static void test_hazard_worker(void)
{
    int tids[HAZARD_THREADS], spinners[HAZARD_SPINNERS];
    bad_frames = hazard_calls = 0;
    hazard_done = 0;
    for (int i = 0; i < HAZARD_SPINNERS; i++)
        spinners[i] = thread_spawn(keep_cpu_busy, NULL);
    for (long i = 0; i < HAZARD_THREADS; i++)
        tids[i] = thread_spawn(canary_worker, (void *)i);
    for (int i = 0; i < HAZARD_THREADS; i++)
        thread_join(tids[i], NULL);
    hazard_done = 1;
    for (int i = 0; i < HAZARD_SPINNERS; i++)
        thread_join(spinners[i], NULL);
    struct kstat k;
    sys_kstat(&k, sizeof(k));
    printf("    # hazard: %ld deep sleeps, %ld bad frames, %lu stale stack translations caught, %lu migrations, "
           "tlb %s\n", hazard_calls, bad_frames, (unsigned long)k.tlb_stale_reads, (unsigned long)k.migrations,
           k.tlb_unsafe ? "unsafe" : "safe");
    sys_exit(bad_frames || k.tlb_stale_reads ? 3 : 0);
}

/*
 * Detection is any of: a canary frame that came back wrong, a stale stack
 * translation caught at a switch-in (kstack_tlb_check=1 checks every one), or
 * a process the kernel had to kill for an oops the corruption caused. The
 * rows of this suite turn the detector on: without it a stale read that
 * corrupts no canary would go unseen.
 */
static void test_tlb_hazard(void)
{
    struct kstat k;
    sys_kstat(&k, sizeof(k));
    UT_CHECK(k.tlb_check);
    int status = utest_spawn_wait("hazard_worker");
    /*
     * The hazard needs a thread to come back to a CPU that kept a translation
     * its stack pages lost meanwhile: frequent under eager (every exit gives
     * pages back), rarer under fault (only the pages a call faulted in, and
     * only where it migrated in between: 5 to 18 per run). Up to three runs.
     */
    for (int run = 1; run < 3 && k.tlb_unsafe && status == 0; run++)
        status = utest_spawn_wait("hazard_worker");
    if (k.tlb_unsafe)
        UT_CHECK(status != 0);      /* kstack_tlb=unsafe: the corruption must be seen */
    else
        UT_CHECK_EQ(status, 0);     /* the invalidation rule on: never */
}

static const struct utest tests[] = {
    UTEST(test_stack_12k_10000_times),
    UTEST_HELPER_ENTRY(hazard_worker),
    UTEST(tlb_hazard),
};

static const struct utest hazard_only[] = {
    UTEST_HELPER_ENTRY(hazard_worker),
    UTEST(tlb_hazard),
};

int main(int argc, char **argv)
{
    struct kstat k;
    sys_kstat(&k, sizeof(k));
    /* With the invalidation off, only the hazard test is meaningful (the others would see it too). */
    if (k.tlb_unsafe)
        return utest_main("kstack-smp", PROGRAM, hazard_only, UTEST_COUNT(hazard_only), argc, argv);
    return utest_main("kstack-smp", PROGRAM, tests, UTEST_COUNT(tests), argc, argv);
}
