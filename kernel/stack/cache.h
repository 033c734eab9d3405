/*
 * cache.h: the per-CPU stack page cache and per-CPU stack counters (docs/DESIGN.md section 6). Entry
 * takes pages and exit gives them back with IRQs off and no lock; refill and
 * drain against the page allocator happen only where IRQs are on.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "uapi/kstat.h"

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

/* IRQs off: one page from this CPU's cache (from the allocator only if it is empty: counted). */
uint64_t kstack_cache_take(void);
/* IRQs off: one page from this CPU's cache, never from the allocator; 0 when it is empty. */
uint64_t kstack_cache_take_cached(void);
/* IRQs off: give a page back to this CPU's cache (to the allocator only if full). */
void kstack_cache_give(uint64_t pa);
/* IRQs on: refill or drain this CPU's cache toward the target. */
void kstack_cache_balance(void);
/* Would kstack_cache_balance() do anything on this CPU? (IRQs off: a look at one counter.) */
bool kstack_cache_unbalanced(void);
/* Pages in all caches. */
uint64_t kstack_cache_pages(void);
