/*
 * check_test.c: the invariant checker checked (suite kstack_check, a row per
 * strategy on 4 CPUs). Each test breaks one invariant on purpose, on this
 * CPU with IRQs off, runs a round, expects the checker to name what was
 * broken, and repairs it; a clean round must then pass again. Suite
 * kstack_check_panic (run only when named, with kstack_check=<ms>) leaves a
 * page on a cache twice for the checker thread to find: the boot must end in
 * its panic.
 */
#include "arch/x86_64/cpu.h"
#include "ktest.h"
#include "lib/string.h"
#include "mm/pmm.h"
#include "percpu.h"
#include "sched/sched.h"
#include "sched/thread.h"
#include "spinlock.h"
#include "stack/cache.h"
#include "stack/check.h"
#include "stack/kstack.h"
#include "stack/strategy.h"

/* A round that must pass. */
static void expect_clean(struct ktest *t)
{
    struct kstack_check_result r;
    int failures = kstack_check_round(&r);
    if (failures)
        ktest_fail(t, __FILE__, __LINE__, "a clean round found %d failure(s), the first: %s", failures, r.first);
}

/* A round that must fail, its first failure containing `what`. */
static void expect_caught(struct ktest *t, int line, const char *what)
{
    struct kstack_check_result r;
    int failures = kstack_check_round(&r);
    if (!failures)
        ktest_fail(t, __FILE__, line, "the checker did not see it (expected \"%s\")", what);
    else if (!ktest_contains(r.first, what))
        ktest_fail(t, __FILE__, line, "expected a failure about \"%s\", the first was: %s", what, r.first);
}

#define SKIP_WITH_CHECKER_THREAD(t)                                                                  \
    do {                                                                                             \
        if (kstack_check_interval_ms)                                                                \
            KSKIP(t, "the checker thread (kstack_check=) would panic at the invariants broken here"); \
    } while (0)

KTEST(kstack_check, round_stops_every_other_cpu_and_passes)
{
    SKIP_WITH_CHECKER_THREAD(t);
    struct kstack_check_result r;
    uint64_t rounds = kstack_check_rounds;
    int failures = kstack_check_round(&r);
    KEXPECT_EQ(t, failures, 0);
    if (failures)
        ktest_fail(t, __FILE__, __LINE__, "first failure: %s", r.first);
    KEXPECT_EQ(t, r.cpus_stopped, ncpus - 1);
    KEXPECT(t, r.threads >= 1);                 /* this one, at least */
    KEXPECT(t, r.pages >= 4 * r.threads);       /* a kernel thread has 16 KiB */
    KEXPECT_EQ(t, kstack_check_rounds, rounds + 1);
    /* Again with IRQs off here (the tests' way of staying on the CPU whose cache they break). */
    uint64_t f = irq_save();
    failures = kstack_check_round(&r);
    irq_restore(f);
    KEXPECT_EQ(t, failures, 0);
    kstack_check_scratch_free();
}

KTEST(kstack_check, page_given_to_the_cache_twice)
{
    SKIP_WITH_CHECKER_THREAD(t);
    uint64_t f = irq_save();
    struct kstack_cache *k = &kstack_caches[cpu_id()];
    if (k->count > KSTACK_CACHE_CAP - 2) {
        irq_restore(f);
        KSKIP(t, "this CPU's cache is full");
    }
    uint64_t pa = kstack_cache_take();          /* the allocator's if the cache is empty */
    KREQUIRE(t, pa);
    kstack_cache_give(pa);
    kstack_cache_give(pa);
    expect_caught(t, __LINE__, "is on two lists");
    KEXPECT_EQ(t, kstack_cache_take_cached(), pa);
    KEXPECT_EQ(t, kstack_cache_take_cached(), pa);
    kstack_cache_give(pa);
    expect_clean(t);
    irq_restore(f);
    kstack_check_scratch_free();
}

KTEST(kstack_check, cache_page_free_in_the_allocator)
{
    SKIP_WITH_CHECKER_THREAD(t);
    expect_clean(t);                            /* the round's bitmap allocated first: not on top of pa */
    uint64_t pa = pmm_alloc();
    KREQUIRE(t, pa);
    pmm_free(pa);                               /* free, and then given to the cache as well */
    uint64_t f = irq_save();
    if (kstack_caches[cpu_id()].count == KSTACK_CACHE_CAP) {
        irq_restore(f);
        KSKIP(t, "this CPU's cache is full");
    }
    kstack_cache_give(pa);
    expect_caught(t, __LINE__, "is free in the page allocator");
    KEXPECT_EQ(t, kstack_cache_take_cached(), pa);
    expect_clean(t);
    irq_restore(f);
    kstack_check_scratch_free();
}

/* A shrink that forgot its give: the page is on no list, and take - give no longer matches the stacks. */
KTEST(kstack_check, skipped_give_unbalances_the_counters)
{
    SKIP_WITH_CHECKER_THREAD(t);
    uint64_t f = irq_save();
    uint64_t pa = kstack_cache_take();
    KREQUIRE(t, pa);
    expect_caught(t, __LINE__, "cache take - give is");
    kstack_cache_give(pa);
    expect_clean(t);
    irq_restore(f);
    kstack_check_scratch_free();
}

KTEST(kstack_check, cache_counters_out_of_step)
{
    SKIP_WITH_CHECKER_THREAD(t);
    uint64_t f = irq_save();
    struct kstack_cache *k = &kstack_caches[cpu_id()];
    k->take++;                                  /* a take counted that took nothing */
    expect_caught(t, __LINE__, "its counters say");
    k->take--;
    int count = k->count;
    k->count = -1;
    expect_caught(t, __LINE__, "count -1 is outside");
    k->count = count;
    expect_clean(t);
    irq_restore(f);
    kstack_check_scratch_free();
}

KTEST(kstack_check, mask_disagrees_with_the_page_tables)
{
    SKIP_WITH_CHECKER_THREAD(t);
    struct thread *me = current();
    uint64_t f = irq_save();
    uint8_t mapped = me->kstack_mapped;
    me->kstack_mapped = (uint8_t)(mapped & ~(1u << 3));
    expect_caught(t, __LINE__, "kstack_mapped is 0x7, its PTEs say 0xf");
    me->kstack_mapped = mapped;
    expect_clean(t);
    irq_restore(f);
    kstack_check_scratch_free();
}

/*
 * A user thread that never runs (a slot with the strategy's pages at rest, a
 * struct on the list of all threads, on no run queue): the checker accepts it
 * as one not started yet, then catches a page too many for its strategy
 * (fixed: a page too few).
 */
KTEST(kstack_check, strategy_shape_of_a_user_thread)
{
    SKIP_WITH_CHECKER_THREAD(t);
    uintptr_t slot;
    KREQUIRE(t, kstack_alloc_user(&slot) == 0);
    struct thread *th = thread_alloc("check-test", slot);
    if (!th) {
        kstack_slot_free(slot);
        KREQUIRE(t, th);
    }
    th->kstack_at_rest = th->kstack_mapped;
    th->kstack_user_bound = true;               /* never run: its first run goes to user mode */
    uint64_t f = irq_save();
    expect_clean(t);
    if (kstack_strategy == KSTACK_FIXED) {
        kstack_unmap_to_cache(th, 3, 4);
        expect_caught(t, __LINE__, "pages 0x7 mapped, 0xf at rest");
        KEXPECT_EQ(t, kstack_map_from_cache(th, 3, 4, true, NULL), 0);
    } else {
        KEXPECT_EQ(t, kstack_map_from_cache(th, 1, 2, true, NULL), 0);
        expect_caught(t, __LINE__, kstack_strategy == KSTACK_LAZY ? "has pages 0x3" : "pages 0x3");
        kstack_unmap_to_cache(th, 1, 2);
    }
    expect_clean(t);
    irq_restore(f);
    uint64_t g = spin_lock(&sched_lock);
    th->state = THREAD_DEAD;
    thread_free_locked(th);
    spin_unlock(&sched_lock, g);
    kstack_check_scratch_free();
}

static volatile bool ensure_loop_stop;
static volatile long ensure_loops;

/* Map below the 16 KiB and give it back, as fast as it can: most of its time is inside kstack_ensure(). */
static void ensure_loop(void *arg)
{
    (void)arg;
    while (!ensure_loop_stop) {
        kstack_ensure(THREAD_SIZE + 4096);
        uint64_t f = irq_save();
        kstack_unmap_to_cache(current(), (int)KSTACK_PAGES, KSTACK_ENSURE_PAGES);
        irq_restore(f);
        ensure_loops++;
    }
    thread_exit(0);
}

/*
 * kstack_ensure() took a page from the cache, mapped it and marked it in
 * kstack_mapped with IRQs on in between (found by the stress run: "kstack_mapped
 * is 0x1, its PTEs say 0x3" for a dying thread), so a stop could see a page
 * taken and not mapped, or mapped and not marked. Stopped over and over
 * while another CPU does nothing but ensure, every round must pass.
 */
KTEST(kstack_check, ensure_is_never_seen_half_done)
{
    SKIP_WITH_CHECKER_THREAD(t);
    if (ncpus < 2)
        KSKIP(t, "needs a second CPU to run the ensure loop");
    ensure_loop_stop = false;
    ensure_loops = 0;
    struct thread *th = thread_create("ensure-loop", ensure_loop, NULL);
    KREQUIRE(t, th);
    while (ensure_loops < 10)
        sched_yield();
    struct kstack_check_result r;
    int rounds = 0, failed = 0;
    for (; rounds < 300 && !failed; rounds++)
        failed = kstack_check_round(&r);
    ensure_loop_stop = true;
    thread_join(th);
    if (failed)
        ktest_fail(t, __FILE__, __LINE__, "round %d of %d failed: %s", rounds, 300, r.first);
    KEXPECT(t, ensure_loops > 10);
    kstack_check_scratch_free();
}

/*
 * The checker thread's own failure path, end to end: a page on this CPU's
 * cache twice, left for the thread to find; the boot ends in its panic (row
 * kstack-check-panic). Run only when named, with kstack_check=<ms>.
 */
KTEST(kstack_check_panic, checker_thread_panics_at_a_page_on_two_lists)
{
    if (!named_in_ktest("kstack_check_panic") || !kstack_check_interval_ms)
        KSKIP(t, "ends in a panic: only with ktest=kstack_check_panic kstack_check=<ms>");
    uint64_t f = irq_save();
    uint64_t pa = kstack_cache_take();
    KREQUIRE(t, pa);
    kstack_cache_give(pa);
    kstack_cache_give(pa);
    irq_restore(f);
    sched_sleep_ms(20 * kstack_check_interval_ms + 2000);
    ktest_fail(t, __FILE__, __LINE__, "the kernel went on: expected the checker's panic");
}
