/* overflow_test.c: a kernel thread that recurses past 16 KiB hits the guard (suite overflow). */
#include "ktest.h"
#include "mm/kmalloc.h"
#include "printk.h"
#include "proc/process.h"
#include "sched/sched.h"
#include "stack/overflow.h"
#include "stack/strategy.h"
#include "uapi/errno.h"

__attribute__((noinline)) static long overflow_recurse(volatile char *prev, long depth)
{
    volatile char frame[256];
    if (depth > (1l << 40))
        return 0;               /* never: the guard is hit long before */
    frame[0] = (char)depth;
    frame[1] = prev ? prev[0] : 0;
    return overflow_recurse(frame, depth + 1) + frame[2];   /* not a tail call */
}

static void recurse_forever(void *arg)
{
    (void)arg;
    overflow_recurse(NULL, 0);
}

long overflow_test_run(const char *name, void (*fn)(void *), char *report, size_t size)
{
    enum kstack_overflow_policy saved = kstack_overflow_policy;
    kstack_overflow_policy = KSTACK_OVERFLOW_KILL;
    console_capture_start(report, size);
    struct thread *th = thread_create(name, fn, NULL);
    long value = th ? thread_join(th) : -ENOMEM;
    console_capture_stop();
    kstack_overflow_policy = saved;
    return value;
}

KTEST(overflow, kernel_thread_recursion_hits_the_guard)
{
    char *report = kmalloc(8192);
    KREQUIRE(t, report);
    long value = overflow_test_run("recurser", recurse_forever, report, 8192);
    KEXPECT_EQ(t, value, -EFAULT);
    KEXPECT(t, ktest_contains(report, "kernel stack overflow: thread"));
    KEXPECT(t, ktest_contains(report, "(recurser)"));
    KEXPECT(t, ktest_contains(report, "guard hit at CR2 0xffffc"));
    KEXPECT(t, ktest_contains(report, "overflow_recurse"));
    KEXPECT(t, ktest_contains(report, "locks held: none"));
    KEXPECT(t, ktest_contains(report, "more times"));
    kfree(report);
}

/*
 * A syscall path that overruns 16 KiB (test_fault(TEST_FAULT_STACK_OVERFLOW)
 * in a user process): with kstack_overflow=kill the report names the thread,
 * the slot, CR2, the backtrace and the locks, and only the process dies.
 */
KTEST(overflow, syscall_overflow_kills_only_the_process)
{
    if (!testsys_enabled)
        KSKIP(t, "needs testsys=1");
    enum kstack_overflow_policy saved = kstack_overflow_policy;
    char *report = kmalloc(8192);
    KREQUIRE(t, report);
    kstack_overflow_policy = KSTACK_OVERFLOW_KILL;
    console_capture_start(report, 8192);
    char *argv[] = { "kstacktests", "syscall_overflow", NULL };
    int pid = process_spawn("kstacktests", 2, argv, NULL);
    for (int ms = 0; pid > 0 && ms < 20000 && !ktest_contains(report, "killing pid"); ms += 10)
        sched_sleep_ms(10);
    /* No parent waits: the process and its dead thread are freed as they end (each as it is switched out). */
    struct kstat k;
    size_t stable = 0, last = 0;
    for (int ms = 0; ms < 10000 && stable < 5; ms += 20) {
        sched_sleep_ms(20);
        kstack_fill_kstat(&k);
        size_t now = kmalloc_in_use();
        stable = (k.user_threads == 0 && now == last) ? stable + 1 : 0;
        last = now;
    }
    console_capture_stop();
    kstack_overflow_policy = saved;

    KEXPECT(t, pid > 0);
    KEXPECT(t, ktest_contains(report, "kernel stack overflow: thread"));
    KEXPECT(t, ktest_contains(report, "guard hit at CR2 0xffffc"));
    KEXPECT(t, ktest_contains(report, "test_overflow_recurse"));
    KEXPECT(t, ktest_contains(report, "syscall_entry"));       /* the syscall path, from user mode */
    KEXPECT(t, ktest_contains(report, "locks held: none"));
    KEXPECT(t, ktest_contains(report, "killing pid"));
    kfree(report);
}
