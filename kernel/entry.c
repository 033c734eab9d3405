/*
 * entry.c: the C side of entering and leaving user mode (see entry.h), the
 * first run of a user thread, and user-mode exceptions: a page fault may be
 * a demand fault; anything else the process did wrong kills it.
 */
#include "entry.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/trap.h"
#include "mm/layout.h"
#include "mm/uvm.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"
#include "proc/process.h"
#include "sched/restart.h"
#include "sched/sched.h"
#include "stack/cache.h"
#include "stack/kstack.h"
#include "stack/strategy.h"
#include "uapi/errno.h"
#include "uapi/syscalls.h"

int enter_from_user_mode(struct pt_regs *regs)
{
    (void)regs;
    KASSERT(!irqs_enabled());
    return kstack_enter(current());     /* the stack strategy: map the lower stack pages */
}

/*
 * Every kind of entry from user mode comes through here once, so no CPU's
 * cache stays short for long. The allocator may be called only where IRQs
 * are on (docs/DESIGN.md section 6): they are, briefly, and only when the
 * cache is outside its watermarks.
 */
void entry_balance_stack_cache(void)
{
    KASSERT(!irqs_enabled());
    if (!kstack_cache_unbalanced())
        return;
    sti();
    kstack_cache_balance();
    cli();
}

/*
 * A non-canonical user RSP: SYSRET would go on with it, and an iretq may
 * fault in the kernel after its swapgs (bad_iret.c recovers, but only as the
 * net under this check). One rule for both ways out: the process is killed
 * as if it had used that RSP (#GP).
 */
static bool rsp_canonical(const struct pt_regs *regs)
{
    return regs->rsp < USER_TOP || regs->rsp >= DIRECT_MAP_BASE;
}

void exit_to_user_mode(struct pt_regs *regs)
{
    KASSERT(!irqs_enabled());
    KASSERT(user_mode(regs));
    if (!rsp_canonical(regs) && !process_dying()) {
        struct process *p = current()->proc;
        printk("user fault: pid %d (%s) tid %d: return to non-canonical RSP %p: killed\n", p->pid, p->name,
               current()->tid, (void *)regs->rsp);
        process_kill(p, EXIT_KILLED_BASE + VEC_GP);
    }
    /*
     * Work first, with the stack as it is; then give the lower stack pages back
     * *before* a reschedule, so a thread preempted in user mode waits on the run
     * queue with its top page only (the scheduler's path fits in it). A thread
     * that finds its process dying after that maps what it needs (kstack_ensure).
     */
    for (;;) {
        if (process_dying()) {
            sti();
            /* Without memory for it, the exit runs on what is mapped: the top page holds it (stack budget). */
            kstack_ensure(THREAD_SIZE / 2);
            process_thread_exit(0);
        }
        kstack_exit(current());         /* the stack strategy: give them back */
        if (current()->restart.armed) {
            restart_block(current(), regs); /* a restartable wait sleeps here, on the top page (sched/restart.c) */
            if (process_dying() || this_cpu()->need_resched)
                continue;
            break;                      /* it mapped nothing: no second shrink */
        }
        if (this_cpu()->need_resched) {
            struct thread *t = current();
            bool bound = t->kstack_user_bound;
            t->kstack_user_bound = true;    /* the way on fits the top page: nothing to map back (lazy, fault) */
            schedule();                 /* IRQs stay off: spin_lock saved them off */
            t->kstack_user_bound = bound;   /* a dying thread's kstack_ensure() must be kept from here on */
            continue;
        }
        break;
    }
    kstack_return_to_user();            /* from here to the next entry, no kernel code runs on this CPU */
}

void user_thread_first_entry(void)
{
    /* From switch_to() with sched_lock held, like a return from schedule_locked(). */
    sched_finish_switch();
    spin_unlock(&sched_lock, 0);        /* IRQs stay off until iretq */
    struct pt_regs *regs = thread_user_regs(current());
    exit_to_user_mode(regs);
    isr_return_to(regs);
}

/*
 * A demand fault, or a page fault the process's regions cannot explain, or
 * any other exception: the process ends. `expanded` is enter_from_user_mode()'s
 * verdict: without the lower stack pages nothing deep may run here, and a
 * fault that needs memory (a demand fault needs a page too) ends the process.
 */
void user_exception(struct pt_regs *regs, bool expanded)
{
    struct thread *t = current();
    struct process *p = t->proc;
    uintptr_t cr2 = read_cr2();
    const char *why = "killed";
    KASSERT(p);
    if (regs->vector == VEC_PF && expanded) {
        sti();
        int err = p->vm ? uvm_fault(p->vm, cr2, regs->error_code) : -EFAULT;
        cli();
        if (err == 0)
            return;
        if (err == -ENOMEM)
            why = "no memory for the page: killed (out of memory)";
    } else if (!expanded) {
        why = "no memory to expand the kernel stack for it: killed (out of memory)";
    }
    printk("user fault: pid %d (%s) tid %d: %s (vector %lu) at RIP %p, CR2 %p, error code %#lx: %s\n",
           p->pid, p->name, t->tid, trap_name(regs->vector), (unsigned long)regs->vector, (void *)regs->rip,
           (void *)cr2, (unsigned long)regs->error_code, why);
    process_kill(p, EXIT_KILLED_BASE + (int)regs->vector);
    /* exit_to_user_mode() ends this thread. */
}
