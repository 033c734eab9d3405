/*
 * strategy.h: how user threads' kernel stacks are populated (docs/DESIGN.md
 * section 5), chosen at boot with kstack=. A strategy is a struct kstack_ops
 * in a file of its own (fixed.c, eager.c) and a row of kstack_strategies[]
 * (strategy.c); the slot allocator, the per-CPU page cache, the accounting
 * and the ensure API are shared. Kernel threads always have all 16 KiB.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "percpu.h"
#include "sched/thread.h"
#include "uapi/kstat.h"

struct thread;

/* The strategies' numbers, as kstat reports them (uapi/kstat.h). */
enum kstack_strategy { KSTACK_FIXED, KSTACK_EAGER, KSTACK_FAULT, KSTACK_LAZY, KSTACK_STRATEGIES };

struct kstack_ops {
    const char *name;
    int pages_at_rest;          /* pages a user thread has mapped while it is in user mode */
    bool uses_cache;            /* takes its pages from the per-CPU cache (if not, the cache stays empty) */
    bool keeps_pages;           /* on_exit may leave pages above those at rest mapped (lazy) */
    bool grows_on_fault;        /* #PF runs on its own IST stack and calls on_fault (fault.c) */
    /*
     * enter_from_user_mode(), IRQs off, on the top page: 0, or -ENOMEM when no
     * page was to be had (the thread then has its pages at rest only). Never
     * sleeps, never panics. Named kstack_<strategy>_on_entry: the stack budget
     * (tools/stack_budget.py) finds it by that name.
     */
    int (*on_entry)(struct thread *t);
    /*
     * exit_to_user_mode(), IRQs off, before any reschedule; also for a thread
     * that ended in the kernel, off every CPU. Gives back what on_entry and
     * kstack_ensure() mapped above the pages at rest. Named kstack_<strategy>_on_exit.
     */
    void (*on_exit)(struct thread *t);
    /*
     * Optional (NULL: nothing). schedule_locked(), sched_lock held, IRQs off,
     * on the previous thread's stack, before `current` names t: whatever t
     * needs before it may run on this CPU, from the per-CPU cache only
     * (nothing allocates inside schedule()). -ENOMEM: t cannot run here yet;
     * the scheduler puts it back on the run queue and the idle thread refills
     * the cache (docs/DESIGN.md section 5).
     */
    int (*on_switch_in)(struct thread *t);
    /*
     * Optional. sched_finish_switch(), on the CPU t last ran on, sched_lock
     * held, IRQs off, on the next thread's stack, before t is off the CPU
     * (so no other CPU can run it meanwhile).
     */
    void (*on_switch_out)(struct thread *t);
    /*
     * grows_on_fault only: a kernel-mode not-present fault at va, on the #PF
     * IST stack with IRQs off. true when va was the current thread's stack
     * growing and is mapped now.
     */
    bool (*on_fault)(uintptr_t va);
};

extern const struct kstack_ops *const kstack_strategies[KSTACK_STRATEGIES];
extern const struct kstack_ops kstack_fixed_ops, kstack_eager_ops, kstack_fault_ops, kstack_lazy_ops;
extern enum kstack_strategy kstack_strategy;    /* the one chosen at boot */
extern const struct kstack_ops *kstack_ops;     /* kstack_strategies[kstack_strategy] */

/*
 * What the strategies count, per CPU, bumped with IRQs off (never lost);
 * kstat sums them. Apart from the cache's own counters (cache.h).
 * pages_used_hist[n]: kernel entries that used n pages of the stack, read
 * from the PTE accessed bits where the strategy samples them (eager: at the
 * shrink on the way out, so one sample per expanded entry).
 */
struct kstack_stats {
    uint64_t expands, shrinks, expand_failed, faults;
    uint64_t switch_in_waits;       /* switch-ins put off because the cache was short (the thread waited) */
    uint64_t switch_faults;         /* fault: growth of the outgoing thread's stack after `current` named the next */
    uint64_t invlpgs;               /* stack-page invalidations: shrinks and switch-ins on a new CPU */
    uint64_t irqs_resent;           /* fault: interrupts lost to a growth fault during their delivery, sent again */
    uint64_t restarts;              /* blocking syscalls that slept from the exit path and ran again (sched/restart.c) */
    uint64_t restart_refused;       /* their second runs refused for want of a stack page, rewound to run again */
    uint64_t restart_completed;     /* restarts completed in the exit path from their record (no second run) */
    uint64_t handoffs;              /* direct handoffs done by schedule_locked() (proc/ipc.c) */
    uint64_t pages_used_hist[KSTAT_HIST_MAX];
};
extern struct kstack_stats kstack_stats[MAX_CPUS];

void kstack_strategy_init(void);
/* A slot for a new user thread with the pages it keeps at rest: 0, -EAGAIN (no free slot) or -ENOMEM. */
int kstack_alloc_user(uintptr_t *base);

/*
 * enter_from_user_mode(), IRQs off: the cache invariant checked, then the
 * strategy's on_entry. Clears kstack_user_bound.
 */
int kstack_enter(struct thread *t);
/* exit_to_user_mode(), IRQs off: the strategy's on_exit. */
void kstack_exit(struct thread *t);
/* A dead thread's pages above those at rest (a kernel thread's: above its 16 KiB) back to the cache; off every CPU. */
void kstack_thread_exit(struct thread *t);
/* IRQs off, the very last step before the return to user mode: remembers the cache level. */
void kstack_return_to_user(void);
/* schedule_locked(): may t be switched in on this CPU now (the strategy's on_switch_in)? */
bool kstack_switch_in_ready(struct thread *t);
/* sched_finish_switch(): t, switched out alive, on the CPU it last ran on. */
void kstack_switch_out(struct thread *t);

/* Map pages below the current ones until `bytes` remain below RSP (up to 32 KiB of stack). */
int kstack_ensure(size_t bytes);

/* For the strategies (strategy.c). */
#define KSTACK_ENSURE_PAGES 8
/*
 * Map the pages of [from, to) of t's slot that are not mapped yet, from this
 * CPU's cache, all or none: 0 or -ENOMEM. With `may_allocate`, an empty
 * cache falls back to the page allocator (entry); without, it does not
 * (switch-in). IRQs off. Returns the number mapped through *mapped.
 */
int kstack_map_from_cache(struct thread *t, int from, int to, bool may_allocate, int *mapped);
/* Count a strategy event for this CPU and the thread (kstat's self_* fields). */
static inline void kstack_count_expand(struct thread *t)
{
    kstack_stats[cpu_id()].expands++;
    t->kstack_expands++;
}

static inline void kstack_count_shrink(struct thread *t)
{
    kstack_stats[cpu_id()].shrinks++;
    t->kstack_shrinks++;
}

static inline void kstack_count_fault(struct thread *t)
{
    kstack_stats[cpu_id()].faults++;
    t->kstack_faults++;
}
/* Unmap t's pages [from, to) into this CPU's cache; returns the pages used (1 + the lowest accessed). IRQs off. */
int kstack_unmap_to_cache(struct thread *t, int from, int to);
/* Count one sample of the pages-used histogram (and t's high-water mark). Inline: eager's exit runs it every time. */
static inline void kstack_record_used(struct thread *t, int used)
{
    struct kstack_stats *s = &kstack_stats[cpu_id()];
    s->pages_used_hist[used < KSTAT_HIST_MAX ? used : KSTAT_HIST_MAX - 1]++;
    if (used > t->kstack_high_water)
        t->kstack_high_water = used;
}

/* fault.c: pages in the growth reserves of all CPUs. */
int kstack_fault_reserve_pages(void);
/* fault.c: cpu's reserve as it is (*count pages), for a look while that CPU is stopped (stack/check.c). */
const uint64_t *kstack_fault_reserve_of(int cpu, int *count);
#define KSTACK_FAULT_RESERVE_CAP 8
/* fault.c: an overflow report is leaving the #PF IST stack for good: its IST pointer back to the top (else nothing). */
void kstack_fault_ist_leave(void);
/* fault.c, tests only (strategy_test.c): this CPU's reserve emptied into out[]; IRQs off. */
int kstack_fault_reserve_drain(uint64_t *out, int cap);

/* make bench: n expansions and shrinks of a scratch stack, ticks of each (strategy.c); n growth faults (fault.c). */
int kstack_bench_expand_shrink(unsigned long n, uint64_t *expand, uint64_t *shrink, uint64_t invlpgs[2]);
long kstack_fault_bench_growth(unsigned long n, bool count_invlpgs);

/* Accounting (account.c). */
void kstack_fill_kstat(struct kstat *k);
/* Stack pages mapped in t's slot now, read from the page tables. */
int kstack_resident_pages(const struct thread *t);
void kstack_print_kstat(const char *why);
/* Called by kstack_print_kstat() with IRQs off right after the line: a breakpoint for gdb (account.c). */
void kstat_line_printed(const struct kstat *k);
/* kstat_every=<ms>: a kernel thread prints the KSTAT line every <ms> ms (why "periodic"); none without it. */
void kstack_kstat_every_init(void);
