/*
 * lazy.c: the stack shrinks when the thread is switched out, not when it
 * returns to user mode. Entry maps the lower pages only if they are not
 * mapped; exit keeps them; so a thread that makes syscall after syscall
 * without being switched out pays nothing per call. At switch-out (the
 * finishing half of the switch, on the CPU the thread last ran on) the
 * pages below the one that holds its saved stack pointer go back to that
 * CPU's cache: a thread asleep in the kernel keeps only the pages it uses.
 * At switch-in it gets them back from the cache, before it runs (it may go
 * deeper again once it wakes), unless it was switched out on its way to user
 * mode: then its next entry maps them.
 *
 * Why giving back below the saved RSP is safe although a CPU may fill its
 * TLB speculatively without setting accessed bits (docs/DESIGN.md section 5):
 * the rule reads no accessed bit. Nothing runs on those pages while the
 * thread is off the CPU (they are below its stack pointer, and no object
 * another CPU touches lives on a stack: section 7), the invlpg here removes
 * this CPU's translation, and any other CPU that may hold one (however it
 * got it) invalidates the whole slot before the thread next runs there
 * (kstack_switch_in()). The accessed bits feed only the histogram.
 */
#include "stack/strategy.h"
#include "panic.h"
#include "sched/thread.h"
#include "stack/kstack.h"

#define LOWER 0x0e                      /* pages 1-3 of the slot, counted from the top */

/* The lower pages that are missing, from this CPU's cache (and the allocator at entry); an expand if any. */
static int map_lower(struct thread *t, bool may_allocate)
{
    int mapped = 0;
    int err = kstack_map_from_cache(t, 1, (int)KSTACK_PAGES, may_allocate, &mapped);
    if (!err && mapped)
        kstack_count_expand(t);
    return err;
}

/* Entry: the lower pages, unless the thread still has them (no switch-out since its last entry). */
static int kstack_lazy_on_entry(struct thread *t)
{
    if (__builtin_expect((t->kstack_mapped & LOWER) == LOWER, 1))
        return 0;                       /* no switch-out since the last entry: the whole point */
    return map_lower(t, true);
}

/* Exit: the lower 16 KiB stays; only what kstack_ensure() mapped below it goes back. */
static void kstack_lazy_on_exit(struct thread *t)
{
    if (__builtin_expect(t->kstack_mapped >> KSTACK_PAGES, 0))
        kstack_unmap_to_cache(t, (int)KSTACK_PAGES, KSTACK_ENSURE_PAGES);
}

static int kstack_lazy_on_switch_in(struct thread *t)
{
    if (t->kstack_user_bound)
        return 0;                       /* its exit path fits the top page; the next entry maps the rest */
    return map_lower(t, false);             /* from the cache only: nothing allocates inside schedule() */
}

/*
 * The pages below the one that holds the saved RSP, back to this CPU's
 * cache. One histogram sample: the pages used since they were mapped (the
 * saved RSP's page and everything above it, or the lowest page accessed).
 */
static void kstack_lazy_on_switch_out(struct thread *t)
{
    /*
     * Runnable inside the kernel (a yield, a preemption): it will run again
     * soon and would take the pages straight back, so it keeps them. The
     * threads this strategy is for are the ones asleep (blocked) and the ones
     * on their way to user mode (at rest).
     */
    if (t->state == THREAD_RUNNABLE && !t->kstack_user_bound)
        return;
    int rsp_page = (int)((kstack_slot_top(t->kstack_base) - 1 - t->saved_rsp) / PAGE_SIZE);
    KASSERT(rsp_page >= 0 && rsp_page < KSTACK_ENSURE_PAGES);
    /*
     * Only the 16 KiB: pages kstack_ensure() mapped below it stay (its
     * caller asked for them and switch-in maps back only pages 1-3).
     */
    if (rsp_page + 1 >= (int)KSTACK_PAGES || !(t->kstack_mapped & LOWER & ~((2u << rsp_page) - 1)))
        return;                         /* nothing mapped below it */
    int used = kstack_unmap_to_cache(t, rsp_page + 1, (int)KSTACK_PAGES);
    kstack_record_used(t, used > rsp_page + 1 ? used : rsp_page + 1);
    kstack_count_shrink(t);
}

const struct kstack_ops kstack_lazy_ops = {
    .name = "lazy",
    .pages_at_rest = 1,
    .uses_cache = true,
    .keeps_pages = true,
    .on_entry = kstack_lazy_on_entry,
    .on_exit = kstack_lazy_on_exit,
    .on_switch_in = kstack_lazy_on_switch_in,
    .on_switch_out = kstack_lazy_on_switch_out,
};
