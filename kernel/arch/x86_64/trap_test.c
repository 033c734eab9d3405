/*
 * trap_test.c: exception reports (suite fault). Each test takes a real fault
 * under the exception table, with the full report printed, captures the
 * console, and checks the report names the vector, CR2 and the faulting function.
 */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/idt.h"
#include "ktest.h"
#include "mm/kmalloc.h"
#include "percpu.h"
#include "printk.h"

#define REPORT_SIZE 4096

static char *capture_begin(void)
{
    char *buf = kmalloc(REPORT_SIZE);
    if (buf) {
        console_capture_start(buf, REPORT_SIZE);
        this_cpu()->report_fixed_faults = true;
    }
    return buf;
}

static void capture_end(void)
{
    this_cpu()->report_fixed_faults = false;
    console_capture_stop();
}

static void expect_complete_report(struct ktest *t, const char *report, const char *name, const char *fn)
{
    KEXPECT(t, ktest_contains(report, name));
    KEXPECT(t, ktest_contains(report, "error code"));
    KEXPECT(t, ktest_contains(report, "CR2: "));
    KEXPECT(t, ktest_contains(report, "RAX: "));
    KEXPECT(t, ktest_contains(report, "R15: "));
    KEXPECT(t, ktest_contains(report, "Backtrace:"));
    KEXPECT(t, ktest_contains(report, fn));             /* RIP symbolized */
    KEXPECT(t, ktest_contains(report, "ktest_main"));   /* and the chain walked up */
}

KTEST(fault, null_dereference_report)
{
    char *report = capture_begin();
    KREQUIRE(t, report);
    uint8_t v;
    int vector = probe_read_u8((volatile void *)0, &v);
    capture_end();
    KEXPECT_EQ(t, vector, VEC_PF);
    expect_complete_report(t, report, "#PF Page Fault", "ktest_fault_null_dereference_report+");
    KEXPECT(t, ktest_contains(report, "CR2: 0x0000000000000000"));
    KEXPECT(t, ktest_contains(report, "not-present read kernel"));
    kfree(report);
}

KTEST(fault, invalid_opcode_report)
{
    char *report = capture_begin();
    KREQUIRE(t, report);
    int vector = probe_ud2();
    capture_end();
    KEXPECT_EQ(t, vector, VEC_UD);
    expect_complete_report(t, report, "#UD Invalid Opcode", "ktest_fault_invalid_opcode_report+");
    kfree(report);
}

KTEST(fault, general_protection_report)
{
    char *report = capture_begin();
    KREQUIRE(t, report);
    uint8_t v;
    int vector = probe_read_u8((volatile void *)0x8000000000000000ull, &v);  /* non-canonical */
    capture_end();
    KEXPECT_EQ(t, vector, VEC_GP);
    expect_complete_report(t, report, "#GP General Protection", "ktest_fault_general_protection_report+");
    kfree(report);
}

KTEST(fault, report_without_fixup_is_fatal_only_in_kernel)
{
    /* An address the exception table does not cover is not fixed up. */
    KEXPECT(t, probe_ud2() == VEC_UD);
    KEXPECT(t, !this_cpu()->report_fixed_faults);
}
