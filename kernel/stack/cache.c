/* cache.c: the per-CPU stack page cache (see cache.h). */
#include "stack/cache.h"
#include "arch/x86_64/cpu.h"
#include "mm/pmm.h"
#include "panic.h"
#include "percpu.h"
#include "stack/strategy.h"

struct kstack_cache kstack_caches[MAX_CPUS];

uint64_t kstack_cache_take_slow(struct kstack_cache *k)
{
    KASSERT(!irqs_enabled());
    /*
     * Empty: a thread that slept here and woke on another CPU took its pages
     * with it, and the last balance() found the allocator empty too. The
     * allocator may have a page now; if not, the caller's expansion fails.
     */
    k->empty++;
    return pmm_alloc();
}

void kstack_cache_give_slow(struct kstack_cache *k, uint64_t pa)
{
    KASSERT(!irqs_enabled());
    k->drain++;
    pmm_free(pa);
}

void kstack_cache_balance(void)
{
    uint64_t flags = irq_save();
    struct kstack_cache *k = &kstack_caches[cpu_id()];
    if (!kstack_ops->uses_cache) {
        while (k->count > 0) {      /* the baseline takes nothing at entry: hold no pages for it */
            pmm_free(k->page[--k->count]);
            k->drain++;
        }
    } else if (k->count < KSTACK_CACHE_LOW) {
        while (k->count < KSTACK_CACHE_TARGET) {
            uint64_t pa = pmm_alloc();
            if (!pa)
                break;
            k->page[k->count++] = pa;
            k->refill++;
        }
    } else if (k->count > KSTACK_CACHE_HIGH) {
        while (k->count > KSTACK_CACHE_TARGET) {
            pmm_free(k->page[--k->count]);
            k->drain++;
        }
    }
    irq_restore(flags);
}

bool kstack_cache_unbalanced(void)
{
    int n = kstack_caches[cpu_id()].count;
    if (!kstack_ops->uses_cache)
        return n > 0;
    return n < KSTACK_CACHE_LOW || n > KSTACK_CACHE_HIGH;
}

uint64_t kstack_cache_pages(void)
{
    uint64_t n = 0;
    for (int i = 0; i < ncpus; i++)
        n += (uint64_t)kstack_caches[i].count;
    return n;
}
