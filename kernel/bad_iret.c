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

/*
 * From isr.asm's iret_fault_check, with the kernel GS back and IRQs off: the
 * iretq to user mode raised #NP, #SS or #GP on the frame in regs (built at
 * the stack top, as for any entry from user mode, with that frame as its
 * hardware part). Made into the fault the user would have taken at that
 * RIP, it goes the way of every user fault: the process is killed. Never
 * returns.
 */
void trap_bad_iret(struct pt_regs *regs);
void trap_bad_iret(struct pt_regs *regs)
{
    struct thread *t = current();
    KASSERT(!irqs_enabled() && user_mode(regs));
    KASSERT((uintptr_t)(regs + 1) == t->kstack_top);
    uint64_t bad_cs = regs->cs, bad_ss = regs->ss;
    regs->cs = SEL_UCODE;       /* the selectors the process runs with: the bad ones go in the message */
    regs->ss = SEL_UDATA;
    /* Runs without the expansion if no page is to be had: what follows fits the top page (stack budget). */
    (void)enter_from_user_mode(regs);

    struct process *p = t->proc;
    KASSERT(p);
    printk("user fault: pid %d (%s) tid %d: %s (error code %#lx) on the return to user mode, frame "
           "CS %#lx SS %#lx RIP %p RSP %p RFLAGS %#lx: killed\n",
           p->pid, p->name, t->tid, trap_name(regs->vector), (unsigned long)regs->error_code,
           (unsigned long)bad_cs, (unsigned long)bad_ss, (void *)regs->rip, (void *)regs->rsp,
           (unsigned long)regs->rflags);
    process_kill(p, EXIT_KILLED_BASE + (int)regs->vector);
    exit_to_user_mode(regs);    /* ends this thread: its process is dying */
    panic("bad iret: pid %d survived its own kill", p->pid);
}

/* testsys=1: corrupt this syscall's own return frame so that it must leave through a faulting iretq. */
long sys_test_bad_frame(uint64_t kind)
{
    struct pt_regs *regs = thread_user_regs(current());
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
