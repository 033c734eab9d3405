/*
 * dynamic.c: the fixed and eager strategies (see strategy.h), and the
 * ensure API. Expansion and shrinking run with IRQs off and touch only the
 * per-CPU cache and the slot's own page table, which exists already (the
 * top page is always mapped, and a slot never straddles a page table).
 */
#include "stack/strategy.h"
#include "arch/x86_64/cpu.h"
#include "cmdline.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"
#include "sched/sched.h"
#include "stack/cache.h"
#include "stack/kstack.h"
#include "uapi/errno.h"

enum kstack_strategy kstack_strategy = KSTACK_EAGER;
const char *const kstack_strategy_names[] = { "fixed", "eager", NULL };


#define ENSURE_PAGES ((int)(KSTACK_ENSURE_MAX / PAGE_SIZE))

void kstack_strategy_init(void)
{
    kstack_strategy = (enum kstack_strategy)cmdline_choice("kstack", kstack_strategy_names, KSTACK_EAGER);
    for (int i = 0; i < MAX_CPUS; i++)
        kstack_caches[i].count_at_exit = -1;    /* no exit to user mode yet */
    printk("kstack: strategy %s, %lu KiB slots, %lu KiB stacks\n", kstack_strategy_names[kstack_strategy],
           KSTACK_SLOT_SIZE / 1024, THREAD_SIZE / 1024);
}

int kstack_pages_at_rest(void)
{
    return kstack_strategy == KSTACK_FIXED ? (int)KSTACK_PAGES : 1;
}

int kstack_alloc_user(uintptr_t *base)
{
    uintptr_t b = kstack_slot_alloc();
    if (!b)
        return -EAGAIN;                 /* every slot taken: a limit, like a thread limit, not a lack of memory */
    for (int i = 0; i < kstack_pages_at_rest(); i++) {
        int err = kstack_map_page(b, i);
        if (err) {
            kstack_slot_free(b);
            return err;
        }
    }
    *base = b;
    return 0;
}

int kstack_expand(struct thread *t)
{
    KASSERT(!irqs_enabled());
    struct kstack_cache *k = &kstack_caches[cpu_id()];
    /* Nothing ran on this CPU since its last return to user mode: the cache is as that return left it. */
    KASSERT(k->count_at_exit < 0 || k->count == k->count_at_exit);
    if (kstack_strategy != KSTACK_EAGER || t->kstack_expanded)
        return 0;
    uint64_t *ptes = kstack_slot_ptes(t->kstack_base);
    KASSERT(ptes);
    /*
     * All three pages or none. The cache can be short although the last exit
     * here gave back three pages: a thread that slept on this CPU and woke on
     * another took its pages there. With the allocator empty too, the entry
     * goes on with the top page alone (docs/DESIGN.md section 12).
     */
    for (int i = 1; i < (int)KSTACK_PAGES; i++) {
        uint64_t pa = kstack_cache_take();
        if (!pa) {
            while (--i >= 1) {
                kstack_cache_give(ptes[-i] & PTE_ADDR);
                ptes[-i] = 0;           /* never used: no translation to invalidate */
            }
            k->expand_failed++;
            return -ENOMEM;
        }
        KASSERT(!(ptes[-i] & PTE_P));
        ptes[-i] = pa | PTE_KSTACK;             /* A and D clear: the histogram reads them */
    }
    t->kstack_expanded = true;
    k->expands++;
    return 0;
}

void kstack_shrink(struct thread *t)
{
    KASSERT(!irqs_enabled());
    int first = kstack_strategy == KSTACK_EAGER ? 1 : (int)KSTACK_PAGES;
    int used = 1;
    uint64_t *ptes = kstack_slot_ptes(t->kstack_base);
    for (int i = first; ptes && i < ENSURE_PAGES; i++) {
        uint64_t *pte = &ptes[-i];
        if (!(*pte & PTE_P))
            continue;
        if (*pte & PTE_A)
            used = i + 1;
        uint64_t pa = *pte & PTE_ADDR;
        *pte = 0;
        invlpg(kstack_page_va(t->kstack_base, i));
        kstack_cache_give(pa);
    }
    if (kstack_strategy == KSTACK_EAGER && t->kstack_expanded) {
        struct kstack_cache *k = &kstack_caches[cpu_id()];
        k->pages_used_hist[used < KSTAT_HIST_MAX ? used : KSTAT_HIST_MAX - 1]++;
        if (used > t->kstack_high_water)
            t->kstack_high_water = used;
        t->kstack_expanded = false;
        k->shrinks++;
    }
}

/*
 * A user thread that ends inside the kernel (thread_exit, a kill) never
 * reaches exit_to_user_mode(): its expansion goes back to the cache here, so
 * every take is matched by a give. Called with the thread off every CPU.
 */
void kstack_thread_exit(struct thread *t)
{
    if (!t->kstack_expanded)
        return;
    uint64_t flags = irq_save();
    kstack_shrink(t);
    irq_restore(flags);
}

void kstack_return_to_user(void)
{
    KASSERT(!irqs_enabled());
    struct kstack_cache *k = &kstack_caches[cpu_id()];
    k->count_at_exit = k->count;
}

int kstack_ensure(size_t bytes)
{
    struct thread *t = current();
    uintptr_t rsp = read_rsp();
    if (!t->kstack_base || kstack_slot_of(rsp) != t->kstack_base)
        return -EINVAL;                 /* not on a thread stack (IRQ stack, boot stack) */
    uintptr_t floor = kstack_slot_top(t->kstack_base) - KSTACK_ENSURE_MAX;
    if (rsp - floor < bytes)
        return -E2BIG;
    /* Map downward from the first unmapped page until `bytes` below RSP are backed. */
    for (int i = 0; i < ENSURE_PAGES; i++) {
        uintptr_t va = kstack_page_va(t->kstack_base, i);
        if (va + PAGE_SIZE <= rsp - bytes)
            break;
        if (kstack_page_mapped(t->kstack_base, i))
            continue;
        int err = kstack_map_page(t->kstack_base, i);
        if (err)
            return err;
    }
    return 0;
}
