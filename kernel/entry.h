/*
 * entry.h: what happens on every entry from and exit to user mode, whatever
 * the way in (SYSCALL, interrupt, exception). Named as in Linux. Both run
 * with IRQs off; the stack strategies hook in here (stack/strategy.h).
 */
#pragma once
#include "arch/x86_64/ptregs.h"
#include "sched/thread.h"

/*
 * First thing after the entry stub for any entry from user mode. Returns 0,
 * or -ENOMEM when the stack could not be expanded: the entry then runs on the
 * top page alone (docs/DESIGN.md section 12 says what each kind of entry does).
 */
int enter_from_user_mode(struct pt_regs *regs);
/* IRQs off, with the stack as enter_from_user_mode() left it: refill or drain this CPU's stack page cache. */
void entry_balance_stack_cache(void);
/* A user thread's saved user registers: the frame at the top of its kernel stack. */
static inline struct pt_regs *thread_user_regs(const struct thread *t)
{
    return (struct pt_regs *)(t->kstack_top - sizeof(struct pt_regs));
}
/* Last thing before the return to user mode: pending work (reschedule, the process's end), in a loop. */
void exit_to_user_mode(struct pt_regs *regs);

/* A new user thread's first run: switch_to() returns here (see process_thread_create). */
__attribute__((noreturn)) void user_thread_first_entry(void);

/* isr.asm: pop regs (a frame on the thread's kernel stack) and iretq, IRQs off. */
__attribute__((noreturn)) void isr_return_to(struct pt_regs *regs);
