/*
 * strategy_test.c: the failure paths of the fault and lazy strategies,
 * driven directly (suite strategy, one row per strategy). A user thread's
 * slot is made by hand (kstack_alloc_user) with a struct thread around it
 * that never runs; the strategy's hooks are called on it as entry, switch-in
 * and switch-out would call them, with this CPU's cache (and for fault its
 * reserve, and the page allocator) emptied first and put back after.
 */
#include "arch/x86_64/cpu.h"
#include "ktest.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/pmm.h"
#include "percpu.h"
#include "sched/thread.h"
#include "stack/cache.h"
#include "stack/kstack.h"
#include "stack/strategy.h"
#include "arch/x86_64/cpu.h"
#include "uapi/errno.h"

/* A user thread's slot and struct, never run: what the hooks see. */
static struct thread *fake_user_thread(void)
{
    struct thread *t = kzalloc(sizeof(*t));
    if (!t)
        return NULL;
    if (kstack_alloc_user(&t->kstack_base)) {
        kfree(t);
        return NULL;
    }
    t->kstack_top = kstack_slot_top(t->kstack_base);
    t->kstack_mapped = t->kstack_at_rest = (uint8_t)((1u << kstack_ops->pages_at_rest) - 1);
    t->saved_rsp = t->kstack_top - 256;         /* switched out in its top page */
    return t;
}

static void fake_user_thread_free(struct thread *t)
{
    kstack_slot_free(t->kstack_base);
    kfree(t);
}

/* This CPU's cache, taken out (IRQs off) into `held`; returns how many. */
static int cache_empty_into(uint64_t *held, int cap)
{
    int n = 0;
    uint64_t pa;
    while (n < cap && (pa = kstack_cache_take_cached()))
        held[n++] = pa;
    return n;
}

static void cache_refill_from(const uint64_t *held, int n)
{
    for (int i = 0; i < n; i++)
        kstack_cache_give(held[i]);
}

/* Every free page of the allocator, chained through the pages themselves. */
static uint64_t allocator_empty(size_t *count)
{
    uint64_t head = 0, pa;
    *count = 0;
    while ((pa = pmm_alloc())) {
        *(uint64_t *)phys_to_virt(pa) = head;
        head = pa;
        (*count)++;
    }
    return head;
}

static void allocator_refill(uint64_t head)
{
    while (head) {
        uint64_t next = *(uint64_t *)phys_to_virt(head);
        pmm_free(head);
        head = next;
    }
}

KTEST(strategy, lazy_switch_in_takes_from_the_cache_only)
{
    if (kstack_strategy != KSTACK_LAZY)
        KSKIP(t, "kstack=lazy only");
    struct thread *th = fake_user_thread();
    KREQUIRE(t, th);
    uint64_t held[KSTACK_CACHE_CAP + 3];
    uint64_t extra[3];                      /* the cache may be empty: nothing entered from user mode yet */
    for (int i = 0; i < 3; i++)
        extra[i] = pmm_alloc();
    KREQUIRE(t, extra[0] && extra[1] && extra[2]);
    uint64_t f = irq_save();
    int cpu = cpu_id();
    uint64_t waits = kstack_stats[cpu].switch_in_waits;
    int n = cache_empty_into(held, KSTACK_CACHE_CAP);
    size_t free_before = pmm_free_pages();
    /* Switched out in the kernel, its cache empty: it may not run yet, and nothing was allocated for it. */
    bool ready = kstack_switch_in_ready(th);
    KEXPECT(t, !ready);
    KEXPECT_EQ(t, th->kstack_mapped, 1);
    KEXPECT_EQ(t, pmm_free_pages(), free_before);
    KEXPECT_EQ(t, kstack_stats[cpu].switch_in_waits, waits + 1);
    /* On its way to user mode it needs nothing. */
    th->kstack_user_bound = true;
    KEXPECT(t, kstack_switch_in_ready(th));
    th->kstack_user_bound = false;
    /* With pages in the cache: all three lower pages, then given back below the saved RSP at switch-out. */
    for (int i = 0; i < 3; i++)
        held[n++] = extra[i];
    cache_refill_from(held, n);
    KEXPECT(t, kstack_switch_in_ready(th));
    KEXPECT_EQ(t, th->kstack_mapped, 0x0f);
    KEXPECT(t, kstack_page_mapped(th->kstack_base, 3));
    th->saved_rsp = th->kstack_top - PAGE_SIZE - 64;    /* now asleep in its second page */
    th->state = THREAD_BLOCKED;                         /* (a runnable thread keeps its pages) */
    kstack_switch_out(th);
    KEXPECT_EQ(t, th->kstack_mapped, 0x03);
    KEXPECT(t, !kstack_page_mapped(th->kstack_base, 2));
    KEXPECT_EQ(t, th->kstack_shrinks, 1);
    irq_restore(f);
    kstack_thread_exit(th);                             /* its second page back to the cache */
    KEXPECT_EQ(t, th->kstack_mapped, 1);
    fake_user_thread_free(th);
}

KTEST(strategy, fault_entry_without_memory_is_refused)
{
    if (kstack_strategy != KSTACK_FAULT)
        KSKIP(t, "kstack=fault only");
    struct thread *th = fake_user_thread();
    KREQUIRE(t, th);
    uint64_t held[KSTACK_CACHE_CAP], reserve[16];
    size_t taken;
    uint64_t f = irq_save();
    int cpu = cpu_id();
    uint64_t failed = kstack_stats[cpu].expand_failed;
    int n = cache_empty_into(held, KSTACK_CACHE_CAP);
    int r = kstack_fault_reserve_drain(reserve, 16);
    uint64_t chain = allocator_empty(&taken);
    /* No page anywhere: the entry is refused (the syscall gets -ENOMEM before dispatch), nothing mapped. */
    KEXPECT_EQ(t, kstack_enter(th), -ENOMEM);
    KEXPECT_EQ(t, kstack_stats[cpu].expand_failed, failed + 1);
    KEXPECT_EQ(t, th->kstack_mapped, 1);
    /* It runs on its top page now (exit, or -ENOMEM back): a switch-in needs no page for it. */
    KEXPECT(t, th->kstack_user_bound);
    KEXPECT(t, kstack_switch_in_ready(th));
    /* Inside the kernel, a switch-in cannot get its reserve either: the thread waits. */
    th->kstack_user_bound = false;
    KEXPECT(t, !kstack_switch_in_ready(th));
    allocator_refill(chain);
    cache_refill_from(held, n);
    /* With pages back, the entry fills the reserve to cover all three lower pages and maps nothing. */
    KEXPECT_EQ(t, kstack_ops->on_entry(th), 0);
    KEXPECT_EQ(t, th->kstack_mapped, 1);
    int r2 = kstack_fault_reserve_drain(reserve + r, 16 - r);   /* what the entry took, and the old ones */
    irq_restore(f);
    KEXPECT(t, taken > 0);
    KEXPECT(t, r2 >= (int)KSTACK_PAGES - 1);    /* this CPU's reserve covered the three lower pages */
    for (int i = 0; i < r + r2; i++)
        pmm_free(reserve[i]);
    fake_user_thread_free(th);
}

/*
 * A fault inside the #PF IST handler: with the IST pointer moved down while
 * the handler runs, the nested fault lands below the first frame and is
 * reported as what it is (suite fault_nested_panic, which must end in that
 * panic: run only when named).
 */
KTEST(fault_nested_panic, fault_inside_the_pf_handler_is_reported)
{
    if (!named_in_ktest("fault_nested_panic") || kstack_strategy != KSTACK_FAULT)
        KSKIP(t, "ends in a panic: only with ktest=fault_nested_panic kstack=fault");
    uint8_t b;
    this_cpu()->pf_ist_test_nested = true;
    probe_read_u8((const void *)16, &b);    /* a fault the handler would move off and fix up */
    ktest_fail(t, __FILE__, __LINE__, "the kernel went on: expected the nested-fault panic");
}
