/*
 * bad_iret.c: a fault on the iretq that returns to user mode (isr.asm's
 * isr_iret) becomes a fault of the process, as Linux's bad_iret does: the
 * process is killed and the kernel goes on. And the test call that forces one.
 */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/trap.h"
#include "entry.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"
#include "proc/process.h"
#include "sched/sched.h"
#include "syscall.h"
#include "uapi/errno.h"

/* testsys=1: corrupt this syscall's own return frame so that it must leave through a faulting iretq. */
long sys_test_bad_frame(uint64_t kind)
{
    struct pt_regs *regs = (struct pt_regs *)(current()->kstack_top - sizeof(struct pt_regs));
    KASSERT(regs->vector == PTREGS_VECTOR_SYSCALL);
    switch (kind) {
    case TEST_BAD_FRAME_SS:
        regs->ss = SEL_UCODE;           /* a code segment cannot be a stack: #GP(selector) */
        break;
    case TEST_BAD_FRAME_CS:
        regs->cs = SEL_UDATA;           /* a data segment cannot be executed: #GP(selector) */
        break;
    case TEST_BAD_FRAME_RIP:
        regs->rip = regs->rcx = 0x0000800000000000ul;  /* the first non-canonical address: #GP(0) */
        break;
    default:
        return -EINVAL;
    }
    return 0;
}
