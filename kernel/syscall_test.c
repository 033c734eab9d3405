/*
 * syscall_test.c: suite `testsys`, booted with and without testsys=1: the
 * test_* syscalls answer a user process only with testsys=1 (-ENOSYS else).
 */
#include "ktest.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "printk.h"
#include "proc/process.h"
#include "sched/sched.h"
#include "stack/strategy.h"
#include "uapi/errno.h"

#define GATE_REPORT 1024

/* The value printed after `key` in the helper's line; -1000 when absent (no errno is that). */
static long gate_value(const char *report, const char *key)
{
    for (const char *s = report; *s; s++)
        if (strncmp(s, key, strlen(key)) == 0)
            return strtol(s + strlen(key), NULL, 10);
    return -1000;
}

/*
 * kstacktests' helper `testsys_gate` makes two test_* calls and one plain
 * call from user mode (through SYSCALL and dispatch(), the way a hostile
 * program would) and prints what came back.
 */
KTEST(testsys, test_calls_need_testsys)
{
    char *report = kmalloc(GATE_REPORT);
    KREQUIRE(t, report);
    console_capture_start(report, GATE_REPORT);
    char *argv[] = { "kstacktests", "testsys_gate", NULL };
    int pid = process_spawn("kstacktests", 2, argv, NULL);
    for (int ms = 0; pid > 0 && ms < 10000 && !ktest_contains(report, "getpid = "); ms += 10)
        sched_sleep_ms(10);
    ktest_wait_user_processes_gone();
    console_capture_stop();

    KEXPECT(t, pid > 0);
    long stack = gate_value(report, "test_stack(2048) = ");
    long fault = gate_value(report, "test_fault(0) = ");
    printk("    # testsys=%d: test_stack(2048) = %ld, test_fault(0) = %ld\n", testsys_enabled, stack, fault);
    if (testsys_enabled) {
        KEXPECT(t, stack >= 2048 && stack < 2048 + 1024);
        KEXPECT_EQ(t, fault, -EINVAL);              /* kind 0 is no kind: the handler ran */
    } else {
        KEXPECT_EQ(t, stack, -ENOSYS);
        KEXPECT_EQ(t, fault, -ENOSYS);
    }
    KEXPECT_EQ(t, gate_value(report, "getpid = "), 1);  /* plain calls work either way */
    kfree(report);
}
