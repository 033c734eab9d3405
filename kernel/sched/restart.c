/*
 * restart.c: restartable blocking (restart.h; docs/DESIGN.md section 13).
 *
 * The protocol, for a syscall that must wait:
 *   1. In the syscall, under sched_lock: queue the thread on the wait queue
 *      (and the sleepers, for a deadline) exactly as a sleep would, so that
 *      no wake-up can be lost; mark it armed; return -ERESTART_BLOCK.
 *   2. syscall_entry(): rax = orig_rax, rip (and rcx, for SYSRET) back over
 *      the 2-byte `syscall`; the record says which call runs again.
 *   3. exit_to_user_mode(), after kstack_exit() shrank the stack: if a
 *      waker or the deadline has already taken the thread off its queues,
 *      go on; else block (state BLOCKED, schedule). The stack below the exit
 *      path's frames is not needed, so it is not there: under every strategy
 *      but fixed the sleeper holds its top page. The exit path already fits
 *      in it (tools/stack_budget.py checks this one too).
 *   4. Woken, the thread returns to user mode at the `syscall`, which runs
 *      again; the syscall sees restart_reissued() and completes from what it
 *      recorded: a futex wake counted for it, the original deadline.
 * A kill wakes a blocked thread or finds it armed; either way the exit path
 * sees its process dying before it returns to user mode, and restart_cancel()
 * frees what the syscall kept.
 */
#include "sched/restart.h"
#include "arch/x86_64/cpu.h"
#include "cmdline.h"
#include "panic.h"
#include "printk.h"
#include "proc/process.h"
#include "sched/sched.h"
#include "sched/wait.h"
#include "stack/strategy.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "syscall.h"
#include "uapi/errno.h"

bool restart_enabled = true;

void restart_init(void)
{
    char v[8];
    if (!cmdline_get("kstack_restart", v, sizeof(v)))
        return;
    if (!strcmp(v, "off"))
        restart_enabled = false;
    else if (strcmp(v, "on"))
        printk("restart: kstack_restart=%s is not on or off: on\n", v);
    printk("restart: blocking syscalls %s\n", restart_enabled ? "restart from the exit path (kstack_restart=on)"
                                                              : "sleep inside the syscall (kstack_restart=off)");
}

long restart_arm_locked(struct wait_queue *wq, uint64_t deadline_ns)
{
    struct thread *t = current();
    KASSERT(thread_is_user(t) && !t->restart.armed);
    sched_wait_link_locked(t, wq, deadline_ns);
    t->timed_out = false;
    t->restart.armed = true;
    t->restart.deadline_ns = deadline_ns;
    return -ERESTART_BLOCK;
}

long restart_arm(struct wait_queue *wq, uint64_t deadline_ns)
{
    struct thread *t = current();
    KASSERT(thread_is_user(t) && !t->restart.armed && t->restart.complete);
    t->restart.armed = true;
    t->restart.queue_at_exit = true;
    t->restart.wq = wq;
    t->restart.deadline_ns = deadline_ns;
    return -ERESTART_BLOCK;
}

/* No call runs again: the record is empty (what it pointed to is freed by whoever ends the call). */
static void restart_forget(struct thread *t)
{
    t->restart.nr = 0;
    t->restart.cookie = NULL;
    t->restart.cancel = NULL;
    t->restart.complete = NULL;
}

static void rewind(struct pt_regs *regs)
{
    regs->rax = regs->orig_rax;
    regs->rip -= 2;             /* 0f 05 */
    regs->rcx = regs->rip;      /* SYSRET returns to rcx */
}

/* A record exists (nr) or is being made (-ERESTART_BLOCK): the fields are clear otherwise, since a call sets them only as it arms. */
void restart_syscall_slow(struct thread *t, struct pt_regs *regs, long err, bool ran)
{
    if (!ran && t->restart.nr) {
        /*
         * The second run was refused before dispatch (no page for the stack):
         * dropping the record would lose a futex wake already counted for it,
         * leak its waiter record, or make thread_join see its own `joining`.
         * It runs again instead, once a page is to be had.
         */
        KASSERT(t->restart.nr == regs->orig_rax + 1 && !t->restart.armed);
        rewind(regs);
        kstack_stats[cpu_id()].restart_refused++;
        return;
    }
    if (err != -ERESTART_BLOCK) {
        restart_forget(t);      /* done: whatever the call kept it has freed */
        return;
    }
    KASSERT(t->restart.armed);
    t->restart.nr = (uint32_t)regs->orig_rax + 1;
    rewind(regs);
    kstack_stats[cpu_id()].restarts++;
}

void restart_block(struct thread *t, struct pt_regs *regs)
{
    long result = 0;
    bool done = false;
    uint64_t f = spin_lock(&sched_lock);
    bool queue = t->restart.queue_at_exit;
    t->restart.armed = t->restart.queue_at_exit = false;
    if (process_dying()) {
        sched_wait_unlink_locked(t);    /* the exit path ends the thread next */
    } else {
        if (queue && !(done = t->restart.complete(t, regs, &result)))
            sched_wait_link_locked(t, t->restart.wq, t->restart.deadline_ns);  /* restart_arm(): now */
        if (!done && (t->waiting_on || t->wake_at_ns)) {
            bool bound = t->kstack_user_bound;
            t->kstack_user_bound = true;    /* its way on fits the top page: switch-in maps nothing */
            t->state = THREAD_BLOCKED;
            schedule_locked();
            t->kstack_user_bound = bound;
        }
        /* Woken. A wake that completed the call (a counted futex wake, a passed deadline) ends it here. */
        if (!done && !process_dying() && t->restart.complete && !t->waiting_on && !t->wake_at_ns)
            done = t->restart.complete(t, regs, &result);
    }
    if (t->handoff_to)
        sched_handoff_drop_locked(t);   /* it did not sleep: a thread it named to run next goes to a run queue */
    spin_unlock(&sched_lock, f);
    if (!done)
        return;                         /* it runs again, or the exit path ends a dying thread */
    void *cookie = t->restart.cookie;
    restart_forget(t);
    regs->rax = (uint64_t)result;
    regs->rip += 2;                     /* past the `syscall` again: the call is over */
    regs->rcx = regs->rip;
    kfree(cookie);
    kstack_stats[cpu_id()].restart_completed++;
}

void restart_cancel(struct thread *t)
{
    if (t->restart.armed) {
        uint64_t f = spin_lock(&sched_lock);
        sched_wait_unlink_locked(t);
        t->restart.armed = t->restart.queue_at_exit = false;
        spin_unlock(&sched_lock, f);
    }
    if (t->restart.cancel)
        t->restart.cancel(t);
    restart_forget(t);
}

/* ---------------------------------------------------------------- testsys=1 */

/*
 * A wake-up for nothing, as a signal would give (there are none here): take a
 * blocked thread of the caller's process off its queues and make it runnable.
 * Its wait must go on, with its first deadline: inside the syscall (restart
 * off) its loop sees nothing changed; from the exit path (on) the syscall runs
 * again and finds the same. restarttests measures both.
 */
long sys_test_wake(uint64_t tid)
{
    struct process *p = current()->proc;
    long ret = -ESRCH;
    uint64_t f = spin_lock(&sched_lock);
    for (struct thread *t = thread_first(); t; t = t->all_next) {
        if (t->tid != (int)tid || t->proc != p)
            continue;
        ret = -EAGAIN;
        if (t->state == THREAD_BLOCKED) {
            sched_wait_unlink_locked(t);
            sched_wake_locked(t);
            ret = 0;
        }
        break;
    }
    spin_unlock(&sched_lock, f);
    return ret;
}
