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
#include "uapi/kstat.h"

struct thread;

/* The strategies' numbers, as kstat reports them (uapi/kstat.h). */
enum kstack_strategy { KSTACK_FIXED, KSTACK_EAGER, KSTACK_STRATEGIES };

struct kstack_ops {
    const char *name;
    int pages_at_rest;          /* pages a user thread has mapped while it is in user mode */
    bool uses_cache;            /* takes its pages from the per-CPU cache (if not, the cache stays empty) */
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
};

extern const struct kstack_ops *const kstack_strategies[KSTACK_STRATEGIES];
extern const struct kstack_ops kstack_fixed_ops, kstack_eager_ops;
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
    uint64_t pages_used_hist[KSTAT_HIST_MAX];
};
extern struct kstack_stats kstack_stats[MAX_CPUS];

void kstack_strategy_init(void);
/* A slot for a new user thread with the pages it keeps at rest: 0, -EAGAIN (no free slot) or -ENOMEM. */
int kstack_alloc_user(uintptr_t *base);

/* enter_from_user_mode(), IRQs off: the cache invariant checked, then the strategy's on_entry. */
int kstack_enter(struct thread *t);
/* exit_to_user_mode(), IRQs off: the strategy's on_exit. */
void kstack_exit(struct thread *t);
/* A dead thread's pages above those at rest back to the cache (it never reached exit_to_user_mode); off every CPU. */
void kstack_thread_exit(struct thread *t);
/* IRQs off, the very last step before the return to user mode: remembers the cache level. */
void kstack_return_to_user(void);

/* Map pages below the current ones until `bytes` remain below RSP (up to 32 KiB of stack). */
int kstack_ensure(size_t bytes);

/* For the strategies (strategy.c). */
#define KSTACK_ENSURE_PAGES 8
/* Map pages [from, to) of t's slot from this CPU's cache, all or none: 0 or -ENOMEM (counted). IRQs off. */
int kstack_map_from_cache(struct thread *t, int from, int to);
/* Unmap t's pages from `from` down to the ensure area's end into this CPU's cache; returns the pages used (1 + the lowest accessed). IRQs off. */
int kstack_unmap_to_cache(struct thread *t, int from);
/* Count one sample of the pages-used histogram (and t's high-water mark). */
void kstack_record_used(struct thread *t, int used);

/* Accounting (account.c). */
void kstack_fill_kstat(struct kstat *k);
void kstack_print_kstat(const char *why);
