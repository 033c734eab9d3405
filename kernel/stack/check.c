/*
 * check.c: the kstack invariant checker (see check.h; docs/DESIGN.md
 * section 8.1). Each round stops the other CPUs (arch/x86_64/smp_stop.c) and
 * looks, from this one, at a state in which every CPU is between two
 * strategy operations: they all run with IRQs off, and a stopped CPU took an
 * interrupt. What it checks:
 *
 *  - each CPU: its cache's count within 0..KSTACK_CACHE_CAP and equal to
 *    refill + give + empty - take - drain (its own counters); its fault
 *    reserve within 0..KSTACK_FAULT_RESERVE_CAP (empty under the others);
 *    no spinlock held (it took an interrupt, so IRQs were on) and no switch
 *    half done;
 *  - every page: the union of all caches, all reserves and every page mapped
 *    in a thread's, idle thread's, IST or IRQ stack slot holds no page twice,
 *    and none of them is free in the page allocator;
 *  - every thread: kstack_mapped agrees with its slot's PTEs (and its cached
 *    PTE pointer with the page tables), each mapped PTE has the stack's
 *    flags, the guard below the ensure area is unmapped, the top page is
 *    mapped and the 16 KiB is mapped contiguously from the top, its stack is
 *    mapped from its stack pointer up (the saved one, or the one the stop
 *    IPI interrupted), on_cpu says whether some CPU runs it; kernel threads
 *    have all 16 KiB; user threads have their pages at rest, and the shape
 *    their strategy gives them at a stop point (check_strategy()); a dead
 *    user thread holds only its pages at rest;
 *  - the totals: cache take - give equals the pages mapped above the pages
 *    at rest on all stacks plus the fault reserves (every page above rest
 *    comes from a take and leaves by a give), and kstat's resident total
 *    (read from the page tables) equals the sum of the threads' masks.
 *
 * A thread whose process is dying is exempt from its strategy's shape: its
 * exit maps what it needs with kstack_ensure() wherever it stands.
 */
#include "stack/check.h"
#include <stdarg.h>
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/smp_stop.h"
#include "cmdline.h"
#include "cpumask.h"
#include "ksyms.h"
#include "lib/string.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"
#include "proc/process.h"
#include "sched/sched.h"
#include "sched/thread.h"
#include "stack/cache.h"
#include "stack/kstack.h"
#include "stack/strategy.h"
#include "uapi/errno.h"

#define STOP_TIMEOUT_MS 5000            /* as a TLB shootdown's: a CPU that takes longer is stuck */
#define GUARD_PAGES     ((int)(KSTACK_SLOT_SIZE / PAGE_SIZE) - KSTACK_ENSURE_PAGES)
#define LOW             0x0f            /* the 16 KiB: pages 0-3 of a slot's mask */
#define PTE_FLAGS       (PTE_P | PTE_W | PTE_U | PTE_PS | PTE_G | PTE_NX)

unsigned kstack_check_interval_ms;
uint64_t kstack_check_rounds;
uint64_t kstack_check_failures;

static bool print_failures;             /* the checker thread: every failure on the console before the panic */
static uint64_t *seen;                  /* a bit per page frame: looked at this round */
static size_t seen_pages;               /* of the bitmap */

/* Where a page was found: a cache, a reserve, or a stack slot. */
enum holder_kind { IN_CACHE, IN_RESERVE, IN_THREAD, IN_IDLE, IN_IST, IN_IRQ_STACK };
struct holder {
    enum holder_kind kind;
    int cpu;
    const struct thread *t;
    int index;                          /* the cache or reserve slot, or the page of the stack slot */
    int ist;
};

struct check {
    struct kstack_check_result *r;
    bool print;                         /* printk every failure, not only the first (the checker thread) */
    char who[128];                      /* the thread being checked, and where it stands */
    int self;                           /* the CPU checking */
    uint64_t above_rest;                /* pages mapped above the pages at rest, all threads */
    uint64_t reserves;                  /* pages in the fault reserves */
    uint64_t resident_masks;            /* popcount of every live thread's kstack_mapped */
    uint64_t resident_kstat;            /* the same, counted from the page tables as kstat counts it */
    uint64_t find_pa;                   /* find_first(): the page looked for ... */
    struct holder found;                /* ... and where it was first */
};

__attribute__((format(printf, 2, 3))) static void fail(struct check *x, const char *fmt, ...)
{
    va_list ap;
    if (x->r->failures++ == 0) {
        va_start(ap, fmt);
        vsnprintf(x->r->first, sizeof(x->r->first), fmt, ap);
        va_end(ap);
    }
    if (x->print) {
        char line[256];
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        printk("kstack_check: %s\n", line);
    }
}

static int popcount8(unsigned v)
{
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

static void holder_format(char *buf, size_t n, const struct holder *h)
{
    switch (h->kind) {
    case IN_CACHE:
        snprintf(buf, n, "cpu %d's stack cache (entry %d)", h->cpu, h->index);
        break;
    case IN_RESERVE:
        snprintf(buf, n, "cpu %d's fault reserve (entry %d)", h->cpu, h->index);
        break;
    case IN_THREAD:
        snprintf(buf, n, "page %d of thread %d (%s)", h->index, h->t->tid, h->t->name);
        break;
    case IN_IDLE:
        snprintf(buf, n, "page %d of cpu %d's idle stack", h->index, h->cpu);
        break;
    case IN_IST:
        snprintf(buf, n, "page %d of cpu %d's IST stack %d", h->index, h->cpu, h->ist);
        break;
    case IN_IRQ_STACK:
        snprintf(buf, n, "page %d of cpu %d's IRQ stack", h->index, h->cpu);
        break;
    }
}

/* Called for every page found; false stops the walk. */
typedef bool (*page_visit)(struct check *x, uint64_t pa, const struct holder *h);

static bool walk_slot(struct check *x, uintptr_t base, int pages, struct holder h, page_visit visit)
{
    uint64_t *ptes = kstack_slot_ptes(base);
    for (int i = 0; ptes && i < pages; i++) {
        if (!(ptes[-i] & PTE_P))
            continue;
        h.index = i;
        if (!visit(x, ptes[-i] & PTE_ADDR, &h))
            return false;
    }
    return true;
}

static int clamp(int n, int cap)
{
    return n < 0 ? 0 : n > cap ? cap : n;
}

/* Every page of every list, always in the same order (find_first() relies on it). */
static void walk_pages(struct check *x, page_visit visit)
{
    for (int cpu = 0; cpu < ncpus; cpu++) {
        const struct kstack_cache *k = &kstack_caches[cpu];
        for (int i = 0; i < clamp(k->count, KSTACK_CACHE_CAP); i++)
            if (!visit(x, k->page[i], &(struct holder){ IN_CACHE, cpu, NULL, i, 0 }))
                return;
        int n;
        const uint64_t *reserve = kstack_fault_reserve_of(cpu, &n);
        for (int i = 0; i < clamp(n, KSTACK_FAULT_RESERVE_CAP); i++)
            if (!visit(x, reserve[i], &(struct holder){ IN_RESERVE, cpu, NULL, i, 0 }))
                return;
    }
    for (struct thread *t = thread_first(); t; t = t->all_next)
        if (t->kstack_base && !walk_slot(x, t->kstack_base, KSTACK_ENSURE_PAGES, (struct holder){ IN_THREAD, -1, t, 0, 0 }, visit))
            return;
    for (int cpu = 0; cpu < ncpus; cpu++) {
        const struct cpu *c = &cpus[cpu];
        if (c->idle && c->idle->kstack_base &&
            !walk_slot(x, c->idle->kstack_base, (int)KSTACK_PAGES, (struct holder){ IN_IDLE, cpu, NULL, 0, 0 }, visit))
            return;
        for (int i = 1; i <= IST_COUNT; i++)
            if (kstack_in_area(c->ist_top[i] - 1) &&
                !walk_slot(x, kstack_slot_of(c->ist_top[i] - 1), (int)KSTACK_PAGES,
                           (struct holder){ IN_IST, cpu, NULL, 0, i }, visit))
                return;
        if (kstack_in_area(c->irq_stack_top - 1) &&
            !walk_slot(x, kstack_slot_of(c->irq_stack_top - 1), (int)KSTACK_PAGES,
                       (struct holder){ IN_IRQ_STACK, cpu, NULL, 0, 0 }, visit))
            return;
    }
}

static bool find_page(struct check *x, uint64_t pa, const struct holder *h)
{
    if (pa != x->find_pa)
        return true;
    x->found = *h;
    return false;
}

/* Where pa was found first (a second sighting was just made). */
static void find_first(struct check *x, uint64_t pa, char *buf, size_t n)
{
    x->find_pa = pa;
    x->found = (struct holder){ IN_CACHE, -1, NULL, -1, 0 };
    walk_pages(x, find_page);
    if (x->found.cpu < 0 && !x->found.t)
        snprintf(buf, n, "(not found again)");
    else
        holder_format(buf, n, &x->found);
}

static bool see_page(struct check *x, uint64_t pa, const struct holder *h)
{
    char who[96], first[96];
    uint64_t frame = pa / PAGE_SIZE;
    if (!pa || pa % PAGE_SIZE || frame >= pmm_frames()) {
        holder_format(who, sizeof(who), h);
        fail(x, "page %#lx in %s is not a page of RAM", (unsigned long)pa, who);
        return true;
    }
    if (!pmm_is_used(pa)) {
        holder_format(who, sizeof(who), h);
        fail(x, "page %#lx in %s is free in the page allocator", (unsigned long)pa, who);
    }
    if (seen[frame / 64] & (1ull << (frame % 64))) {
        holder_format(who, sizeof(who), h);
        find_first(x, pa, first, sizeof(first));
        fail(x, "page %#lx is on two lists: %s and %s", (unsigned long)pa, first, who);
        return true;
    }
    seen[frame / 64] |= 1ull << (frame % 64);
    x->r->pages++;
    return true;
}

/* The CPU that runs t now (it is some CPU's current), or -1. */
static int running_on(const struct thread *t)
{
    for (int cpu = 0; cpu < ncpus; cpu++)
        if (cpus[cpu].current == t)
            return cpu;
    return -1;
}

static void check_cpus(struct check *x, uint64_t *take, uint64_t *give)
{
    bool fault = kstack_strategy == KSTACK_FAULT;
    for (int cpu = 0; cpu < ncpus; cpu++) {
        const struct cpu *c = &cpus[cpu];
        if (cpu != x->self && !smp_stopped_regs(cpu))
            fail(x, "cpu %d answered the stop IPI but is not stopped", cpu);
        if (c->spin_depth != 0)
            fail(x, "cpu %d holds %d spinlock(s) at a point where it took an interrupt%s", cpu, c->spin_depth,
                 cpu == x->self ? " (the checker's own CPU)" : "");
        if (c->switch_prev)
            fail(x, "cpu %d is inside a context switch from thread %d", cpu, c->switch_prev->tid);
        const struct kstack_cache *k = &kstack_caches[cpu];
        if (k->count < 0 || k->count > KSTACK_CACHE_CAP)
            fail(x, "cpu %d's stack cache count %d is outside 0..%d", cpu, k->count, KSTACK_CACHE_CAP);
        if (k->count_at_exit < -1 || k->count_at_exit > KSTACK_CACHE_CAP)
            fail(x, "cpu %d's stack cache count_at_exit %d is outside -1..%d", cpu, k->count_at_exit,
                 KSTACK_CACHE_CAP);
        int64_t by_counters = (int64_t)(k->refill + k->give + k->empty - k->take - k->drain);
        if (by_counters != k->count)
            fail(x, "cpu %d's stack cache holds %d pages, its counters say %ld (refill %lu + give %lu + empty %lu "
                 "- take %lu - drain %lu)", cpu, k->count, (long)by_counters, (unsigned long)k->refill,
                 (unsigned long)k->give, (unsigned long)k->empty, (unsigned long)k->take, (unsigned long)k->drain);
        *take += k->take;
        *give += k->give;
        int n;
        kstack_fault_reserve_of(cpu, &n);
        if (n < 0 || n > KSTACK_FAULT_RESERVE_CAP || (n && !fault))
            fail(x, "cpu %d's fault reserve holds %d pages (kstack=%s)", cpu, n, kstack_ops->name);
        x->reserves += (uint64_t)clamp(n, KSTACK_FAULT_RESERVE_CAP);
    }
}

/* "thread 12 (name; where it stands)", into x->who, for the failures' messages. */
static void describe(struct check *x, const struct thread *t, int on)
{
    static const char *const states[] = { "runnable", "running", "blocked", "dead" };
    char where[80], sym[48];
    const struct pt_regs *regs = on >= 0 && on != x->self ? smp_stopped_regs(on) : NULL;
    if (on == x->self) {
        snprintf(where, sizeof(where), "running here");
    } else if (regs && user_mode(regs)) {
        snprintf(where, sizeof(where), "on cpu %d, stopped in user mode", on);
    } else if (regs) {
        ksym_format(sym, sizeof(sym), regs->rip);
        snprintf(where, sizeof(where), "on cpu %d, stopped at %s", on, sym);
    } else {
        snprintf(where, sizeof(where), "%s", t->state <= THREAD_DEAD ? states[t->state] : "?");
    }
    snprintf(x->who, sizeof(x->who), "thread %d (%s; %s%s%s)", t->tid, t->name, where,
             t->kstack_at_rest && t->kstack_user_bound ? "; user-bound" : "",
             t->proc && t->proc->dying ? "; dying" : "");
}

/*
 * What each strategy leaves a live user thread with at a stop point (low:
 * its pages 0-3), unless its process is dying. `on`: the CPU running it, or
 * -1; rsp_page: the page of its saved stack pointer when it is off every CPU.
 *  - fixed: all four (checked as its pages at rest).
 *  - eager: 0x1 when kstack_user_bound (at rest, switched out on its way to
 *    user mode, or refused at entry), else 0xf (entered and expanded).
 *  - fault: 0x1 when kstack_user_bound; a thread running in the kernel finds
 *    in its CPU's reserve every page its 16 KiB may still fault in.
 *  - lazy: switched out blocked or on its way to user mode, exactly the pages
 *    down to its saved stack pointer's (switch-out gave the rest back);
 *    running and not user-bound, all four (entry or switch-in mapped them).
 */
static void check_strategy(struct check *x, const struct thread *t, int on, int rsp_page)
{
    unsigned low = t->kstack_mapped & LOW;
    bool bound = t->kstack_user_bound;
    switch (kstack_strategy) {
    case KSTACK_FIXED:
        break;
    case KSTACK_EAGER:
        if (low != (bound ? 0x1u : 0xfu))
            fail(x, "kstack=eager: %s has pages %#x of its 16 KiB", x->who, low);
        break;
    case KSTACK_FAULT: {
        if (bound && low != 0x1u)
            fail(x, "kstack=fault: %s has pages %#x of its 16 KiB", x->who, low);
        int n = 0, missing = (int)KSTACK_PAGES - popcount8(low);
        if (on >= 0)
            kstack_fault_reserve_of(on, &n);
        if (on >= 0 && !bound && n < missing)
            fail(x, "kstack=fault: %s has %d stack pages missing and %d in its CPU's reserve (the reserve "
                 "invariant)", x->who, missing, n);
        break;
    }
    case KSTACK_LAZY: {
        unsigned exact = (2u << rsp_page) - 1;
        if (on < 0 && (t->state == THREAD_BLOCKED || bound) && low != (exact & LOW))
            fail(x, "kstack=lazy: %s, switched out with its stack pointer in page %d, has pages %#x", x->who,
                 rsp_page, low);
        if (on >= 0 && !bound && low != LOW)
            fail(x, "kstack=lazy: %s has pages %#x", x->who, low);
        break;
    }
    default:
        break;
    }
}

static void check_thread(struct check *x, const struct thread *t)
{
    int on = running_on(t);
    describe(x, t, on);
    bool user = t->kstack_at_rest != 0;
    uintptr_t base = t->kstack_base, top = kstack_slot_top(base);
    x->r->threads++;
    if (!base || !kstack_in_area(base) || base % KSTACK_SLOT_SIZE || t->kstack_top != top) {
        fail(x, "%s has no proper stack slot (base %p, top %p)", x->who, (void *)base,
             (void *)t->kstack_top);
        return;
    }
    uint64_t *ptes = kstack_slot_ptes(base);
    if (!ptes) {
        fail(x, "%s: no page table covers its slot %p", x->who, (void *)base);
        return;
    }
    if (t->kstack_ptes && t->kstack_ptes != ptes)
        fail(x, "%s: its cached PTE pointer %p is not its slot's (%p)", x->who,
             (void *)t->kstack_ptes, (void *)ptes);
    unsigned by_ptes = 0;
    for (int i = 0; i < KSTACK_ENSURE_PAGES; i++) {
        uint64_t pte = ptes[-i];
        if (!(pte & PTE_P))
            continue;
        by_ptes |= 1u << i;
        if ((pte & PTE_FLAGS) != PTE_KSTACK)
            fail(x, "%s: page %d's PTE %#lx does not have the stack's flags", x->who, i,
                 (unsigned long)pte);
    }
    for (int i = KSTACK_ENSURE_PAGES; i < KSTACK_ENSURE_PAGES + GUARD_PAGES; i++)
        if (ptes[-i] & PTE_P)
            fail(x, "%s: page %d of its slot, in the guard, is mapped", x->who, i);
    unsigned m = t->kstack_mapped, low = m & LOW;
    if (m != by_ptes)
        fail(x, "%s: kstack_mapped is %#x, its PTEs say %#x", x->who, m, by_ptes);
    if (!(low & 1) || ((low + 1) & low))
        fail(x, "%s: pages %#x of its 16 KiB are mapped: not the top page and those below it", x->who, low);
    if (t->on_cpu != (on >= 0) || (on >= 0 && t->cpu != on))
        fail(x, "%s: on_cpu %d, cpu %d, but %s", x->who, t->on_cpu, t->cpu,
             on >= 0 ? "it is that of another CPU" : "no CPU runs it");
    int rest = user ? popcount8(t->kstack_at_rest) : (int)KSTACK_PAGES;
    x->above_rest += (uint64_t)(popcount8(m) - rest);
    if (t->state != THREAD_DEAD) {
        x->resident_masks += (uint64_t)popcount8(m);
        x->resident_kstat += (uint64_t)kstack_resident_pages(t);
    }
    if (!user) {
        if (low != LOW)
            fail(x, "kernel %s has pages %#x of its 16 KiB", x->who, low);
        return;
    }
    unsigned want_rest = (1u << kstack_ops->pages_at_rest) - 1;
    if (t->kstack_at_rest != want_rest || (m & want_rest) != want_rest)
        fail(x, "%s: pages %#x mapped, %#x at rest, kstack=%s keeps %#x", x->who, m,
             t->kstack_at_rest, kstack_ops->name, want_rest);
    if (t->state == THREAD_DEAD) {
        /* Off every CPU, its pages above rest went back in the switch away from it. */
        if (m != t->kstack_at_rest)
            fail(x, "%s holds pages %#x, more than its pages at rest", x->who, m);
        return;
    }
    /* The stack it runs on, or will run on, is mapped from its stack pointer up. */
    uintptr_t rsp = 0;
    if (on < 0) {
        rsp = t->saved_rsp;
        if (rsp >= top || rsp < top - KSTACK_ENSURE_MAX)
            fail(x, "%s: saved stack pointer %p outside its stack", x->who, (void *)rsp);
    } else if (on == x->self) {
        rsp = read_rsp();
    } else {
        const struct pt_regs *regs = smp_stopped_regs(on);
        if (regs && !user_mode(regs))
            rsp = regs->rsp;
    }
    int rsp_page = 0;
    if (rsp && kstack_slot_of(rsp) == base && rsp >= top - KSTACK_ENSURE_MAX) {
        rsp_page = (int)((top - 1 - rsp) / PAGE_SIZE);
        unsigned need = (2u << rsp_page) - 1;
        if ((m & need) != need)
            fail(x, "%s: stack pointer %p in page %d, pages %#x mapped", x->who, (void *)rsp,
                 rsp_page, m);
    }
    /* (A live user thread without its process, one that is leaving, has IRQs off until it is dead.) */
    bool dying = t->proc && t->proc->dying;
    if (!dying)
        check_strategy(x, t, on, rsp_page);
}

static void check_all(struct check *x)
{
    uint64_t take = 0, give = 0;
    check_cpus(x, &take, &give);
    if (__atomic_load_n(&sched_lock.next, __ATOMIC_RELAXED) != __atomic_load_n(&sched_lock.owner, __ATOMIC_RELAXED)) {
        fail(x, "sched_lock is held (by cpu %d) while every CPU is stopped", sched_lock.holder_cpu);
        return;                         /* the thread list may be changing under us */
    }
    memset(seen, 0, seen_pages * PAGE_SIZE);
    walk_pages(x, see_page);
    for (struct thread *t = thread_first(); t; t = t->all_next)
        check_thread(x, t);
    if (take - give != x->above_rest + x->reserves)
        fail(x, "cache take - give is %ld, but the stacks hold %lu pages above their pages at rest and the fault "
             "reserves %lu", (long)(take - give), (unsigned long)x->above_rest, (unsigned long)x->reserves);
    if (x->resident_kstat != x->resident_masks)
        fail(x, "kstat's resident stack pages %lu (from the page tables) are not the threads' masks' %lu",
             (unsigned long)x->resident_kstat, (unsigned long)x->resident_masks);
}

static bool scratch_alloc(void)
{
    if (seen)
        return true;
    size_t pages = ALIGN_UP((pmm_frames() + 7) / 8, PAGE_SIZE) / PAGE_SIZE;
    uint64_t pa = pmm_alloc_contig(pages);
    if (!pa)
        return false;
    seen = phys_to_virt(pa);
    seen_pages = pages;
    return true;
}

void kstack_check_scratch_free(void)
{
    if (!seen || kstack_check_interval_ms)
        return;                         /* the checker thread keeps it */
    pmm_free_contig(virt_to_phys(seen), seen_pages);
    seen = NULL;
}

int kstack_check_round(struct kstack_check_result *r)
{
    memset(r, 0, sizeof(*r));
    struct check x = { .r = r, .print = print_failures };
    if (!scratch_alloc()) {
        fail(&x, "no memory for the checker's bitmap");
        return r->failures;
    }
    uint64_t late;
    uint64_t flags = smp_stop_others(STOP_TIMEOUT_MS, &late);
    x.self = cpu_id();
    if (late) {
        fail(&x, "cpus %#lx did not answer the stop IPI within %d ms (IRQs off that long: stuck)",
             (unsigned long)late, STOP_TIMEOUT_MS);
    } else {
        r->cpus_stopped = cpumask_weight(&(cpumask_t){ cpumask_all_online().bits & ~(1ull << x.self) });
        check_all(&x);
        kstack_check_rounds++;
        kstack_check_failures += (uint64_t)r->failures;
    }
    smp_resume_others(flags);
    return r->failures;
}

static void kstack_check_thread(void *arg)
{
    (void)arg;
    static struct kstack_check_result r;
    print_failures = true;
    for (;;) {
        sched_sleep_ms(kstack_check_interval_ms);
        if (kstack_check_round(&r))
            panic("kstack_check: %s (round %lu: %d invariant%s broken; %d threads, %ld pages, %d cpus stopped)",
                  r.first, (unsigned long)kstack_check_rounds, r.failures, r.failures == 1 ? "" : "s", r.threads,
                  r.pages, r.cpus_stopped);
    }
}

void kstack_check_init(void)
{
    long ms = cmdline_int("kstack_check", 0);
    if (ms <= 0)
        return;
    kstack_check_interval_ms = (unsigned)(ms < 60000 ? ms : 60000);
    if (!scratch_alloc() || !thread_create_detached("kstack_check", kstack_check_thread, NULL))
        panic("kstack_check: no memory for the checker");
    printk("kstack: kstack_check=%u: every %u ms the other CPUs stop and the stacks, caches and counters are "
           "checked (tests only)\n", kstack_check_interval_ms, kstack_check_interval_ms);
}
