/*
 * cache.h: the per-CPU stack page cache and per-CPU stack counters (docs/DESIGN.md section 6). Entry
 * takes pages and exit gives them back with IRQs off and no lock; refill and
 * drain against the page allocator happen only where IRQs are on.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "uapi/kstat.h"
#include "percpu.h"

#define KSTACK_CACHE_CAP    64
#define KSTACK_CACHE_LOW    8       /* refill below this ... */
#define KSTACK_CACHE_HIGH   48      /* ... drain above this ... */
#define KSTACK_CACHE_TARGET 24      /* ... to this */

struct kstack_cache {
    uint64_t page[KSTACK_CACHE_CAP];
    int count;
    int count_at_exit;              /* the invariant: entry finds what the last exit left */
    uint64_t take, give, refill, drain, empty;
};

extern struct kstack_cache kstack_caches[];

/* The slow halves of take and give: the allocator behind the cache (cache.c). */
uint64_t kstack_cache_take_slow(struct kstack_cache *k);
void kstack_cache_give_slow(struct kstack_cache *k, uint64_t pa);

/*
 * IRQs off (the callers assert it): one page from this CPU's cache, from
 * the allocator only if it is empty (counted). Inline: it is on the entry path.
 */
static inline uint64_t kstack_cache_take(void)
{
    struct kstack_cache *k = &kstack_caches[cpu_id()];
    k->take++;
    if (__builtin_expect(k->count > 0, 1))
        return k->page[--k->count];
    return kstack_cache_take_slow(k);
}

/* IRQs off: one page from this CPU's cache, never from the allocator; 0 when it is empty. */
static inline uint64_t kstack_cache_take_cached(void)
{
    struct kstack_cache *k = &kstack_caches[cpu_id()];
    if (k->count == 0)
        return 0;
    k->take++;
    return k->page[--k->count];
}

/* IRQs off: give a page back to this CPU's cache (to the allocator only if full). */
static inline void kstack_cache_give(uint64_t pa)
{
    struct kstack_cache *k = &kstack_caches[cpu_id()];
    k->give++;
    if (__builtin_expect(k->count < KSTACK_CACHE_CAP, 1))
        k->page[k->count++] = pa;
    else
        kstack_cache_give_slow(k, pa);
}
/* IRQs on: refill or drain this CPU's cache toward the target. */
void kstack_cache_balance(void);
/* Would kstack_cache_balance() do anything on this CPU? (IRQs off: a look at one counter.) */
bool kstack_cache_unbalanced(void);
/* Pages in all caches. */
uint64_t kstack_cache_pages(void);
