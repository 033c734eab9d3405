/*
 * eager.c: the scheme of the LKML discussion: only the top page at rest;
 * enter_from_user_mode() maps the three lower pages from the per-CPU cache,
 * exit_to_user_mode() gives them back and samples how many were used.
 */
#include "stack/strategy.h"
#include "panic.h"
#include "sched/thread.h"
#include "stack/kstack.h"

#define LOWER 0x0e                      /* pages 1-3 of the slot, counted from the top */

static int kstack_eager_on_entry(struct thread *t)
{
    KASSERT(!(t->kstack_mapped & LOWER));   /* the last exit gave them back */
    int err = kstack_map_from_cache(t, 1, (int)KSTACK_PAGES, true, NULL);
    if (!err)
        kstack_count_expand(t);
    return err;
}

static void kstack_eager_on_exit(struct thread *t)
{
    bool expanded = (t->kstack_mapped & LOWER) == LOWER;  /* not only what a dying thread's kstack_ensure() mapped */
    int used = kstack_unmap_to_cache(t, 1);
    if (expanded) {
        kstack_record_used(t, used);
        kstack_count_shrink(t);
    }
}

const struct kstack_ops kstack_eager_ops = {
    .name = "eager",
    .pages_at_rest = 1,
    .uses_cache = true,
    .on_entry = kstack_eager_on_entry,
    .on_exit = kstack_eager_on_exit,
};
