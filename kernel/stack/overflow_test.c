/*
 * overflow_test.c: a kernel thread that recurses past 16 KiB hits the guard
 * (suite overflow); the kill is refused where it is not safe (suites
 * overflow_panic_*, which end in a panic: run only when named in ktest=).
 */
#include "cmdline.h"
#include "ktest.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "percpu.h"
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
    ktest_wait_user_processes_gone();
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

static struct spinlock overflow_test_lock = SPINLOCK_INIT("overflow_test");

/* The rule, case by case, on a made-up fault frame of this (test) thread. */
KTEST(overflow, kill_refused_unless_safe)
{
    static struct mutex m = MUTEX_INIT("overflow_test_mutex");
    struct pt_regs regs = { .rflags = RFLAGS_IF | 2 };
    struct thread *me = current();
    KEXPECT(t, kstack_overflow_kill_refusal(&regs, me) == NULL);

    regs.rflags = 2;
    KEXPECT_STREQ(t, kstack_overflow_kill_refusal(&regs, me), "IRQs were off");
    regs.rflags = RFLAGS_IF | 2;

    uint64_t f = spin_lock(&overflow_test_lock);
    const char *why = kstack_overflow_kill_refusal(&regs, me);
    spin_unlock(&overflow_test_lock, f);
    KEXPECT_STREQ(t, why, "a spinlock was held");

    mutex_lock(&m);
    why = kstack_overflow_kill_refusal(&regs, me);
    mutex_unlock(&m);
    KEXPECT_STREQ(t, why, "a mutex was held");

    KEXPECT_STREQ(t, kstack_overflow_kill_refusal(&regs, this_cpu()->idle), "the idle thread cannot end");
    KEXPECT(t, kstack_overflow_kill_refusal(&regs, me) == NULL);
}

/*
 * kstack_overflow=kill must not end a thread that holds a spinlock or runs
 * with IRQs off: nobody would release the lock, and IRQs off means a critical
 * section was cut in half. These end the boot in a panic that says why
 * (tests/suites.conf rows overflow-panic[*], harness option panic=), so they
 * run only when their suite is named in ktest= (never under ktest=all).
 */
static void recurse_holding_spinlock(void *arg)
{
    (void)arg;
    uint64_t f = spin_lock(&overflow_test_lock);
    overflow_recurse(NULL, 0);
    spin_unlock(&overflow_test_lock, f);
}

static void recurse_irqs_off(void *arg)
{
    (void)arg;
    uint64_t f = irq_save();
    overflow_recurse(NULL, 0);
    irq_restore(f);
}

static void expect_panic(struct ktest *t, const char *name, void (*fn)(void *))
{
    char *report = kmalloc(8192);
    KREQUIRE(t, report);
    long value = overflow_test_run(name, fn, report, 8192);
    ktest_fail(t, __FILE__, __LINE__, "the kernel went on (thread exit value %ld): expected a panic", value);
    kfree(report);
}

KTEST(overflow_panic_spinlock, kill_refused)
{
    if (!named_in_ktest("overflow_panic_spinlock"))
        KSKIP(t, "ends in a panic: only with ktest=overflow_panic_spinlock");
    expect_panic(t, "spinlocker", recurse_holding_spinlock);
}

KTEST(overflow_panic_irqoff, kill_refused)
{
    if (!named_in_ktest("overflow_panic_irqoff"))
        KSKIP(t, "ends in a panic: only with ktest=overflow_panic_irqoff");
    expect_panic(t, "irqoff", recurse_irqs_off);
}
