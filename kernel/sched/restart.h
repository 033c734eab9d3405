/*
 * restart.h: restartable blocking (docs/DESIGN.md section 13). A user thread
 * that must wait in sleep_ms, futex_wait, wait or thread_join does not sleep
 * inside the syscall: it queues itself where a waker will find it, records
 * what it waits for in its struct thread (an absolute deadline, a cookie),
 * and returns -ERESTART_BLOCK. syscall_entry() rewinds the user registers so
 * the same syscall runs again (rax from orig_rax, rip back over `syscall`),
 * and exit_to_user_mode() blocks it after the stack strategy's shrink: asleep,
 * it holds its top stack page only. Woken, it returns to user mode, enters
 * the same syscall again, and that call completes from the record. User space
 * sees one call. kstack_restart=off blocks inside the syscall, as before.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "arch/x86_64/ptregs.h"
#include "sched/thread.h"

struct wait_queue;

/* Internal to the kernel: never returned to user space (syscall_entry() turns it into a restart). */
#define ERESTART_BLOCK 516

extern bool restart_enabled;    /* kstack_restart=on (default) | off */

/* Boot: read kstack_restart=. */
void restart_init(void);

/*
 * sched_lock held, in a syscall of a user thread: queue the caller on wq (may
 * be NULL) until deadline_ns (0: none) and arm the block at its exit. Returns
 * -ERESTART_BLOCK, which the syscall returns.
 */
long restart_arm_locked(struct wait_queue *wq, uint64_t deadline_ns);
/*
 * The same without sched_lock: restart_block() queues the caller, under the
 * lock it blocks with, and only if the call's complete hook (which must be
 * set) does not find the wait already over. For waits whose end is recorded
 * where the hook reads it (a futex waiter's `woken`, a deadline): one lock
 * pass fewer than restart_arm_locked().
 */
long restart_arm(struct wait_queue *wq, uint64_t deadline_ns);

/* Is this call of syscall nr the second run of one that armed a restart? */
static inline bool restart_reissued(struct thread *t, uint64_t nr)
{
    return t->restart.nr == nr + 1;
}

/*
 * syscall_entry(): the call returned err (ran: it was dispatched); rewind the
 * frame for a restart, or drop the record. A restarted call whose entry was
 * refused for want of a stack page (section 12) keeps its record and is
 * rewound again: it must run to complete what it waits for.
 */
void restart_syscall_slow(struct thread *t, struct pt_regs *regs, long err, bool ran);

/* On every syscall's way out: one compare and one load unless a restart is under way. */
static inline void restart_syscall_exit(struct thread *t, struct pt_regs *regs, long err, bool ran)
{
    if (__builtin_expect(err == -ERESTART_BLOCK || t->restart.nr, 0))
        restart_syscall_slow(t, regs, err, ran);
}
/*
 * exit_to_user_mode(), after the shrink, IRQs off: sleep until woken (or see
 * that a waker came first). Then, if the syscall's complete hook (named
 * <subsystem>_restart_complete) finds the result in the record, the call
 * ends here: rax = the result, rip past the `syscall` again, the cookie
 * freed; else the call runs again.
 */
void restart_block(struct thread *t, struct pt_regs *regs);
/* The thread ends with a restart recorded: free what the syscall kept (its cancel hook, named
 * <subsystem>_restart_cancel for tools/stack_budget.py). */
void restart_cancel(struct thread *t);
