/*
 * budget_test.c: the test_top_page syscall (testsys=1): how deep the top page
 * of a user thread's kernel stack is really used, measured from poison.
 * tools/stack_budget.py is the static bound it is compared with.
 */
#include "syscall.h"
#include "arch/x86_64/cpu.h"
#include "mm/layout.h"
#include "panic.h"
#include "percpu.h"
#include "sched/sched.h"
#include "sched/thread.h"
#include "stack/kstack.h"
#include "stack/strategy.h"
#include "uapi/errno.h"

#define TOP_PAGE_POISON 0x70bba9e5de7ec7edull

/* The region ends two words below RSP: irq_save()'s pushf writes the first. */
static inline volatile uint64_t *below_frame(void)
{
    return (volatile uint64_t *)(read_rsp() & ~7ul) - 2;
}

/*
 * Between the end of one call and the start of the next by the same thread,
 * what runs on its stack below this handler's frame is: the rest of the way
 * out (exit_to_user_mode: the shrink, then schedule() away and back when a
 * reschedule is due), every interrupt from user mode meanwhile (its way in,
 * its handler, its way out and any preemption there), and the next call's way
 * in (enter_from_user_mode: the expansion). Under `eager` all of it but the
 * interrupt handlers runs on the top page alone. Syscall bodies are not in it:
 * the poison is laid at the end of one body and read at the start of the
 * next, so each call's own work (a yield, a sleep) happens outside the
 * window. Two things can only make the figure larger: the interrupt
 * handlers, and a timer interrupt in the few instructions between this
 * handler's return and syscall_entry()'s cli (a kernel preemption, on the
 * expanded stack). Use above this handler's own frame (the floor,
 * TOP_PAGE_FLOOR) is not seen; the paths that matter go deeper.
 *
 * Returns bytes from the stack top down to the deepest word that changed, so
 * pt_regs (176 bytes) is included, like in the budget tool's figures.
 * Under `fixed` the lower pages are poisoned too: more than 4096 means the
 * way in or out went past the top page, which under `eager` is a fault.
 */
long sys_test_top_page(uint64_t op)
{
    struct thread *t = current();
    if (op > TOP_PAGE_FLOOR || !t->kstack_base)
        return -EINVAL;
    /*
     * The pages mapped at rest: the top page under `eager`, where a deeper
     * write would fault; all four under `fixed`, where it would not, so that
     * use past the top page shows (as more than 4096).
     */
    size_t at_rest = (size_t)kstack_ops->pages_at_rest * PAGE_SIZE;
    volatile uint64_t *page = (volatile uint64_t *)(t->kstack_top - at_rest);
    /* IRQs off while below RSP is read or written: an interrupt would push its frame there. */
    uint64_t flags = irq_save();
    volatile uint64_t *limit = below_frame();
    long floor = (long)(t->kstack_top - (uintptr_t)limit);
    if (op == TOP_PAGE_FLOOR) {
        irq_restore(flags);
        return floor;
    }
    /* Word loops through volatile pointers: no memset call, whose frame would land in the region. */
    long used = floor;
    for (volatile uint64_t *p = page; p < limit; p++)
        if (*p != TOP_PAGE_POISON) {
            used = (long)(t->kstack_top - (uintptr_t)p);
            break;
        }
    if (op == TOP_PAGE_RESCHED)
        this_cpu()->need_resched = true;    /* exit_to_user_mode() schedules, after the shrink */
    irq_restore(flags);

    if (op == TOP_PAGE_YIELD)
        sched_yield();
    else if (op == TOP_PAGE_SLEEP)
        sched_sleep_ms(1);

    flags = irq_save();
    KASSERT(below_frame() == limit);    /* same frame: same region */
    for (volatile uint64_t *p = page; p < limit; p++)
        *p = TOP_PAGE_POISON;
    irq_restore(flags);
    return used;
}
