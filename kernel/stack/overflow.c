/*
 * overflow.c: a kernel stack overflow. Running off the bottom of a stack
 * faults on the guard; the CPU cannot push the #PF frame there, so it
 * raises #DF, which runs on its own IST stack. The report names the thread,
 * the slot, CR2, the locks held and the backtrace of the overflowing stack
 * (still mapped above the guard). Then kstack_overflow=panic stops the
 * kernel (Linux's behaviour), and kstack_overflow=kill ends only the thread,
 * where that is safe (kstack_overflow_kill_refusal()); elsewhere it panics.
 */
#include "stack/overflow.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/trap.h"
#include "cmdline.h"
#include "ksyms.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"
#include "sched/sched.h"
#include "stack/kstack.h"
#include "stack/strategy.h"
#include "uapi/errno.h"

enum kstack_overflow_policy kstack_overflow_policy = KSTACK_OVERFLOW_PANIC;

void kstack_overflow_init(void)
{
    static const char *const modes[] = { "panic", "kill", NULL };
    kstack_overflow_policy = (enum kstack_overflow_policy)cmdline_choice("kstack_overflow", modes, 0);
}

/*
 * Ending a thread from the #DF handler skips the rest of whatever it was
 * doing. That is only safe between critical sections: IRQs on at the fault
 * (off means a critical section, or the entry and exit paths), no spinlock
 * held on this CPU (nobody else would ever release it), no mutex held, not
 * in an interrupt handler, and not the idle thread. NULL when it is safe.
 */
const char *kstack_overflow_kill_refusal(const struct pt_regs *regs, const struct thread *t)
{
    struct cpu *c = this_cpu();
    if (t == c->idle)
        return "the idle thread cannot end";
    if (c->spin_depth)
        return "a spinlock was held";
    if (t->locks_held)
        return "a mutex was held";
    if (c->irq_depth)
        return "in an interrupt handler";
    if (!(regs->rflags & RFLAGS_IF))
        return "IRQs were off";
    return NULL;
}

static void overflow_thread_exit(void)
{
    sti();
    thread_exit(-EFAULT);
}

bool kstack_overflow_handle(struct pt_regs *regs, uintptr_t cr2)
{
    if (!kstack_is_guard(cr2) || kstack_slot_of(cr2) != kstack_slot_of(regs->rsp - 1))
        return false;   /* a #DF that is not a stack overflow */

    struct thread *t = current();
    uintptr_t slot = kstack_slot_of(cr2);
    char sym[96];
    ksym_format(sym, sizeof(sym), regs->rip);
    printk("kernel stack overflow: thread %d (%s) on cpu %d\n", t->tid, t->name, cpu_id());
    printk("  slot %p-%p, guard hit at CR2 %p (%lu bytes below the slot top)\n", (void *)slot,
           (void *)kstack_slot_top(slot), (void *)cr2, (unsigned long)(kstack_slot_top(slot) - cr2));
    printk("  RIP: %p %s  RSP: %p\n", (void *)regs->rip, sym, (void *)regs->rsp);
    if (t->locks_held) {
        printk("  locks held:");
        for (int i = 0; i < t->locks_held && i < 4; i++)
            printk(" %s", t->lock_names[i]);
        printk("\n");
    } else {
        printk("  locks held: none\n");
    }
    printk("  Backtrace (overflowing stack):\n");
    backtrace_from(regs->rip, regs->rbp);

    if (kstack_overflow_policy == KSTACK_OVERFLOW_PANIC)
        panic("kernel stack overflow in thread %d (%s)", t->tid, t->name);
    const char *refusal = kstack_overflow_kill_refusal(regs, t);
    if (refusal)
        panic("kernel stack overflow in thread %d (%s): kstack_overflow=kill refused: %s", t->tid, t->name,
              refusal);
    printk("kstack_overflow=kill: ending thread %d, the kernel goes on\n", t->tid);
    kstack_fault_ist_leave();           /* kstack=fault: the report ran on the #PF IST stack, left from here on */
    if (thread_is_user(t))
        kstack_overflow_kill_user(t);
    /* The overflowed frames are garbage; the IST stack is this CPU's, for the next fault: leave both. */
    call_on_stack(t->kstack_top, overflow_thread_exit);
}
