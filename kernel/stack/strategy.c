/*
 * strategy.c: the strategy table (kstack=), what every strategy shares (a
 * new user thread's slot, the checks around entry and exit, mapping lower
 * pages from the per-CPU cache and giving them back), and the ensure API.
 * Mapping and unmapping run with IRQs off and touch only the per-CPU cache
 * and the slot's own page table, which exists already (the top page is
 * always mapped, and a slot never straddles a page table).
 */
#include "stack/strategy.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/idt.h"
#include "cmdline.h"
#include "lib/string.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"
#include "sched/sched.h"
#include "stack/cache.h"
#include "stack/kstack.h"
#include "uapi/errno.h"

_Static_assert(KSTACK_ENSURE_PAGES == KSTACK_ENSURE_MAX / PAGE_SIZE, "the ensure area in pages");
_Static_assert(KSTACK_ENSURE_PAGES <= 8, "struct thread's kstack_mapped has a bit per page");

/* One row per strategy, in kstat's numbering. */
const struct kstack_ops *const kstack_strategies[KSTACK_STRATEGIES] = {
    [KSTACK_FIXED] = &kstack_fixed_ops,
    [KSTACK_EAGER] = &kstack_eager_ops,
    [KSTACK_FAULT] = &kstack_fault_ops,
    [KSTACK_LAZY] = &kstack_lazy_ops,
};

enum kstack_strategy kstack_strategy = KSTACK_EAGER;
const struct kstack_ops *kstack_ops = &kstack_eager_ops;
struct kstack_stats kstack_stats[MAX_CPUS];

void kstack_strategy_init(void)
{
    static const char *names[KSTACK_STRATEGIES + 1];
    for (int i = 0; i < KSTACK_STRATEGIES; i++)
        names[i] = kstack_strategies[i]->name;
    kstack_strategy = (enum kstack_strategy)cmdline_choice("kstack", names, KSTACK_EAGER);
    kstack_ops = kstack_strategies[kstack_strategy];
    for (int i = 0; i < MAX_CPUS; i++)
        kstack_caches[i].count_at_exit = -1;    /* no exit to user mode yet */
    if (kstack_ops->grows_on_fault)
        idt_use_pf_ist();               /* every #PF on its own IST stack from here on (fault.c) */
    printk("kstack: strategy %s, %lu KiB slots, %lu KiB stacks\n", kstack_ops->name, KSTACK_SLOT_SIZE / 1024,
           THREAD_SIZE / 1024);
}

int kstack_alloc_user(uintptr_t *base)
{
    uintptr_t b = kstack_slot_alloc();
    if (!b)
        return -EAGAIN;                 /* every slot taken: a limit, like a thread limit, not a lack of memory */
    for (int i = 0; i < kstack_ops->pages_at_rest; i++) {
        int err = kstack_map_page(b, i);
        if (err) {
            kstack_slot_free(b);
            return err;
        }
    }
    *base = b;
    return 0;
}

int kstack_enter(struct thread *t)
{
    KASSERT(!irqs_enabled());
    struct kstack_cache *k = &kstack_caches[cpu_id()];
    /* Nothing ran on this CPU since its last return to user mode: the cache is as that return left it. */
    KASSERT(k->count_at_exit < 0 || k->count == k->count_at_exit);
    int err = kstack_ops->on_entry(t);
    /* Refused: the thread runs on its top page (exit, thread_exit, or -ENOMEM back): a switch-in needs no page for it. */
    t->kstack_user_bound = err != 0;
    return err;
}

void kstack_exit(struct thread *t)
{
    KASSERT(!irqs_enabled());
    kstack_ops->on_exit(t);
    KASSERT(kstack_ops->keeps_pages ? !(t->kstack_mapped & ~((1u << KSTACK_PAGES) - 1))
                                    : t->kstack_mapped == t->kstack_at_rest);
}

bool kstack_switch_in_ready(struct thread *t)
{
    if (!kstack_ops->on_switch_in || !t->kstack_at_rest || t == this_cpu()->current)
        return true;                    /* nothing to do, a kernel thread, or the thread that runs already */
    if (kstack_ops->on_switch_in(t) == 0)
        return true;
    kstack_stats[cpu_id()].switch_in_waits++;
    return false;
}

void kstack_switch_out(struct thread *t)
{
    if (kstack_ops->on_switch_out && t->kstack_at_rest)
        kstack_ops->on_switch_out(t);
}

/*
 * A user thread that ends inside the kernel (thread_exit, a kill) never
 * reaches exit_to_user_mode(): what it mapped above its pages at rest goes
 * back to the cache here, so every take is matched by a give. So does what
 * kstack_ensure() mapped below a kernel thread's 16 KiB.
 */
void kstack_thread_exit(struct thread *t)
{
    if (!t->kstack_at_rest) {
        if (t->kstack_mapped >> KSTACK_PAGES) {
            uint64_t flags = irq_save();
            kstack_unmap_to_cache(t, (int)KSTACK_PAGES, KSTACK_ENSURE_PAGES);
            irq_restore(flags);
        }
        return;
    }
    if (t->kstack_mapped == t->kstack_at_rest)
        return;                         /* nothing to give back */
    uint64_t flags = irq_save();
    kstack_ops->on_exit(t);
    if (t->kstack_mapped != t->kstack_at_rest)
        kstack_unmap_to_cache(t, kstack_ops->pages_at_rest, KSTACK_ENSURE_PAGES);  /* what lazy keeps across exits */
    irq_restore(flags);
}

void kstack_return_to_user(void)
{
    KASSERT(!irqs_enabled());
    struct kstack_cache *k = &kstack_caches[cpu_id()];
    k->count_at_exit = k->count;
}

/* The slot's PTEs: cached in the thread (the entry and exit paths walk no tables), or walked for a scratch thread. */
static inline uint64_t *slot_ptes(const struct thread *t)
{
    return t->kstack_ptes ? t->kstack_ptes : kstack_slot_ptes(t->kstack_base);
}

int kstack_map_from_cache(struct thread *t, int from, int to, bool may_allocate, int *mapped)
{
    KASSERT(from >= 1 && to <= KSTACK_ENSURE_PAGES && from < to);
    uint8_t want = (uint8_t)(((1u << to) - 1) & ~((1u << from) - 1));
    if (mapped)
        *mapped = 0;
    if ((t->kstack_mapped & want) == want)
        return 0;                       /* lazy's every entry but the first: nothing to do */
    KASSERT(!irqs_enabled());
    uint64_t *ptes = slot_ptes(t);
    KASSERT(ptes);
    /*
     * All or none. The cache can be short although the last exit here gave
     * back as many pages: a thread that slept on this CPU and woke on another
     * took its pages there. With the allocator empty too (or not to be used,
     * at a switch-in), the caller goes on without them (docs/DESIGN.md
     * sections 5 and 12). The pages are gathered before any PTE is written:
     * a PTE present even briefly may be cached by a speculative walk, and
     * undoing it would then need an invlpg.
     */
    uint64_t pa[KSTACK_ENSURE_PAGES];
    int n = 0;
    for (int i = from; i < to; i++) {
        if (t->kstack_mapped & (1u << i))
            continue;
        pa[n] = may_allocate ? kstack_cache_take() : kstack_cache_take_cached();
        if (!pa[n]) {
            while (--n >= 0)
                kstack_cache_give(pa[n]);
            if (may_allocate)
                kstack_stats[cpu_id()].expand_failed++;
            return -ENOMEM;
        }
        n++;
    }
    int used = 0;
    for (int i = from; i < to; i++) {
        if (t->kstack_mapped & (1u << i))
            continue;
        KASSERT(!(ptes[-i] & PTE_P));
        ptes[-i] = pa[used++] | PTE_KSTACK;     /* A and D clear: the histogram reads them */
        t->kstack_mapped |= (uint8_t)(1u << i);
    }
    if (mapped)
        *mapped = n;
    return 0;
}

int kstack_unmap_to_cache(struct thread *t, int from, int to)
{
    int used = 1;
    if (!((t->kstack_mapped & ((1u << to) - 1)) >> from))
        return used;                    /* nothing mapped there */
    KASSERT(!irqs_enabled());
    uint64_t *ptes = slot_ptes(t);
    for (int i = from; ptes && i < to; i++) {
        if (!(t->kstack_mapped & (1u << i)))
            continue;
        uint64_t *pte = &ptes[-i];
        KASSERT(*pte & PTE_P);
        if (*pte & PTE_A)
            used = i + 1;
        uint64_t pa = *pte & PTE_ADDR;
        *pte = 0;
        invlpg(kstack_page_va(t->kstack_base, i));
        kstack_stats[cpu_id()].invlpgs++;
        kstack_cache_give(pa);
        t->kstack_mapped &= (uint8_t)~(1u << i);
    }
    return used;
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
    for (int i = 0; i < KSTACK_ENSURE_PAGES; i++) {
        uintptr_t va = kstack_page_va(t->kstack_base, i);
        if (va + PAGE_SIZE <= rsp - bytes)
            break;
        if (t->kstack_mapped & (1u << i))
            continue;
        /*
         * Through the cache like every page above those at rest, so that takes
         * and gives balance (kstat). Taken, mapped and marked with IRQs off, as
         * the strategies map theirs: with IRQs on in between, an interrupt
         * found a page taken and on no list, or mapped and not in kstack_mapped
         * (the invariant checker caught both in the stress run).
         */
        uint64_t f = irq_save();
        uint64_t pa = kstack_cache_take();
        int err = pa ? kstack_map_phys(t->kstack_base, i, pa) : -ENOMEM;
        if (err && pa)
            kstack_cache_give(pa);
        else if (!err)      /* one locked instruction: a growth fault (kstack=fault) may write the mask meanwhile */
            __atomic_fetch_or(&t->kstack_mapped, (uint8_t)(1u << i), __ATOMIC_RELAXED);
        irq_restore(f);
        if (err == -EEXIST)
            continue;                   /* a growth fault (kstack=fault) mapped it meanwhile: its bit is set */
        if (err)
            return err;
    }
    return 0;
}

/*
 * make bench (test_kstack_bench): the cost of mapping the three lower pages
 * of a stack from this CPU's cache and of giving them back, on a slot made
 * for the purpose, n times with IRQs off. Ticks of each half through *expand
 * and *shrink, the stack invlpgs each did through invlpgs[0] and [1];
 * -ENOMEM when no slot or page is to be had.
 */
int kstack_bench_expand_shrink(unsigned long n, uint64_t *expand, uint64_t *shrink, uint64_t invlpgs[2])
{
    struct thread t = { 0 };
    if (kstack_alloc_user(&t.kstack_base))
        return -ENOMEM;
    t.kstack_mapped = t.kstack_at_rest = (uint8_t)((1u << kstack_ops->pages_at_rest) - 1);
    int from = kstack_ops->pages_at_rest, err = 0;
    *expand = *shrink = invlpgs[0] = invlpgs[1] = 0;
    for (unsigned long i = 0; i < n && !err && from < (int)KSTACK_PAGES; i++) {
        uint64_t f = irq_save();
        uint64_t *count = &kstack_stats[cpu_id()].invlpgs, c0 = *count;
        uint64_t t0 = rdtsc_ordered();
        err = kstack_map_from_cache(&t, from, (int)KSTACK_PAGES, true, NULL);
        uint64_t t1 = rdtsc_ordered(), c1 = *count;
        if (!err)
            kstack_unmap_to_cache(&t, from, KSTACK_ENSURE_PAGES);
        uint64_t t2 = rdtsc_ordered();
        invlpgs[0] += c1 - c0;
        invlpgs[1] += *count - c1;
        irq_restore(f);
        *expand += t1 - t0;
        *shrink += t2 - t1;
        if (i % 64 == 63)
            kstack_cache_balance();     /* the allocator behind the cache, as entry would */
    }
    kstack_slot_free(t.kstack_base);
    return err;
}
