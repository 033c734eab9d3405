/*
 * eager.c: the scheme of the LKML discussion: only the top page at rest;
 * enter_from_user_mode() maps the three lower pages from the per-CPU cache,
 * exit_to_user_mode() gives them back and samples how many were used.
 *
 * Both run on every kernel entry, so each has a straight-line fast path
 * (three pages, a cache with room, the thread's cached PTE pointer) and
 * falls back to the general code in strategy.c for everything else: an
 * empty cache, a full one, what kstack_ensure() mapped below the 16 KiB.
 */
#include "stack/strategy.h"
#include "arch/x86_64/cpu.h"
#include "panic.h"
#include "sched/thread.h"
#include "stack/cache.h"
#include "stack/kstack.h"

#define LOWER 0x0e                      /* pages 1-3 of the slot, counted from the top */

static int kstack_eager_on_entry(struct thread *t)
{
    KASSERT(!(t->kstack_mapped & LOWER));   /* the last exit gave them back */
    int cpu = cpu_id();
    struct kstack_cache *k = &kstack_caches[cpu];
    uint64_t *ptes = t->kstack_ptes;
    int n = k->count;
    if (__builtin_expect(n >= 3, 1)) {      /* (every user thread has its PTE pointer: thread_alloc()) */
        /* PTEs written with A and D clear: the histogram reads them at the shrink. */
        ptes[-1] = k->page[n - 1] | PTE_KSTACK;
        ptes[-2] = k->page[n - 2] | PTE_KSTACK;
        ptes[-3] = k->page[n - 3] | PTE_KSTACK;
        k->count = n - 3;
        k->take += 3;
        t->kstack_mapped |= LOWER;
        kstack_stats[cpu].expands++;
        t->kstack_expands++;
        return 0;
    }
    int err = kstack_map_from_cache(t, 1, (int)KSTACK_PAGES, true, NULL);
    if (!err)
        kstack_count_expand(t);
    return err;
}

static void kstack_eager_on_exit(struct thread *t)
{
    int cpu = cpu_id();
    struct kstack_cache *k = &kstack_caches[cpu];
    uint64_t *ptes = t->kstack_ptes;
    int n = k->count;
    if (__builtin_expect((t->kstack_mapped & ~1u) == LOWER && n <= KSTACK_CACHE_CAP - 3, 1)) {
        uint64_t p1 = ptes[-1], p2 = ptes[-2], p3 = ptes[-3];
        int used = (p3 & PTE_A) ? 4 : (p2 & PTE_A) ? 3 : (p1 & PTE_A) ? 2 : 1;
        ptes[-1] = ptes[-2] = ptes[-3] = 0;
        uintptr_t top = t->kstack_top;
        invlpg(top - 2 * PAGE_SIZE);
        invlpg(top - 3 * PAGE_SIZE);
        invlpg(top - 4 * PAGE_SIZE);
        k->page[n] = p1 & PTE_ADDR;
        k->page[n + 1] = p2 & PTE_ADDR;
        k->page[n + 2] = p3 & PTE_ADDR;
        k->count = n + 3;
        k->give += 3;
        t->kstack_mapped &= (uint8_t)~LOWER;
        struct kstack_stats *s = &kstack_stats[cpu];
        s->invlpgs += 3;
        s->shrinks++;
        s->pages_used_hist[used]++;
        t->kstack_shrinks++;
        if (used > t->kstack_high_water)
            t->kstack_high_water = used;
        return;
    }
    bool expanded = (t->kstack_mapped & LOWER) == LOWER;  /* not only what a dying thread's kstack_ensure() mapped */
    int used = kstack_unmap_to_cache(t, 1, KSTACK_ENSURE_PAGES);
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
