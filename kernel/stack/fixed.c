/* fixed.c: today's Linux, the baseline: all 16 KiB mapped for the thread's whole life, nothing on entry. */
#include "stack/strategy.h"
#include "mm/layout.h"
#include "sched/thread.h"
#include "stack/kstack.h"

static int kstack_fixed_on_entry(struct thread *t)
{
    (void)t;
    return 0;
}

/* Only what kstack_ensure() mapped below the 16 KiB goes back. */
static void kstack_fixed_on_exit(struct thread *t)
{
    if (__builtin_expect(t->kstack_mapped >> KSTACK_PAGES, 0))
        kstack_unmap_to_cache(t, (int)KSTACK_PAGES, KSTACK_ENSURE_PAGES);
}

const struct kstack_ops kstack_fixed_ops = {
    .name = "fixed",
    .pages_at_rest = (int)KSTACK_PAGES,
    .uses_cache = false,
    .on_entry = kstack_fixed_on_entry,
    .on_exit = kstack_fixed_on_exit,
};
