/*
 * uapi/kstat.h: what the kstat syscall returns (shared with user space), the
 * same numbers as the KSTAT {json} console line (docs/DESIGN.md section 8).
 */
#pragma once
#include <stdint.h>

#define KSTAT_HIST_MAX 9    /* pages_used_hist[0..8]: pages one kernel entry used */
#define KSTAT_CPUS_MAX 16   /* cpu_cache_pages[]: one per CPU (MAX_CPUS) */

struct kstat {
    uint32_t version;               /* 1 */
    uint32_t strategy;              /* 0 fixed, 1 eager, 2 fault, 3 lazy */
    uint32_t cpus;
    uint32_t user_threads;
    uint32_t kernel_threads;
    uint32_t tlb_unsafe;            /* kstack_tlb=unsafe: the invalidation rule is off */
    uint64_t resident_stack_pages;  /* mapped stack pages of all threads (cache apart) */
    uint64_t fixed_equivalent_pages;/* what the fixed strategy would have: 4 per thread */
    uint64_t cache_pages;           /* pages in the per-CPU caches */
    uint64_t expands, shrinks, faults;
    uint64_t cache_take, cache_give, cache_refill, cache_drain;
    uint64_t tlb_invalidations, migrations;
    uint64_t pages_used_hist[KSTAT_HIST_MAX];
    uint64_t free_pages;            /* the page allocator's free count */
    uint64_t high_water_pages;      /* the calling thread's stack high-water mark */
    uint64_t tlb_stale_reads;       /* kstack_tlb_check=1: switch-ins that saw a stale stack translation */
    uint64_t cache_empty;           /* takes that found the cache empty and went to the allocator */
    uint64_t self_resident_pages;   /* the calling thread's mapped stack pages, now (in a syscall) */
    uint64_t expand_failed;         /* entries whose stack could not be expanded (no page anywhere) */
    uint32_t threads_max;           /* user threads the system allows at once (from memory) */
    uint32_t threads_max_process;   /* user threads one process may have (threads_max / 2) */
    uint64_t nmis;                  /* NMIs taken, all CPUs (none is expected: counted and survived) */
    uint32_t tlb_check;             /* kstack_tlb_check=1: the stale-translation detector is on */
    uint32_t self_expands;          /* the calling thread's own expands, shrinks and growth faults */
    uint32_t self_shrinks;
    uint32_t self_faults;
    uint32_t reserve_pages;         /* kstack=fault: pages in the per-CPU growth reserves */
    uint64_t switch_in_waits;       /* switch-ins put off until the CPU's stack cache had the pages (lazy, fault) */
    uint64_t switch_faults;         /* fault: growth faults on the outgoing thread's stack inside the context switch */
    uint64_t stack_invlpgs;         /* invlpg of stack pages: at shrinks, and 8 per switch-in on a new CPU */
    uint64_t irqs_resent;           /* fault: interrupts a growth fault cut off during delivery, sent again */
    uint32_t cpu_cache_pages[KSTAT_CPUS_MAX];   /* each CPU's stack page cache level (cpus entries) */
    uint64_t restarts;              /* blocking syscalls armed to sleep from the exit path and run again */
    uint32_t restart_on;            /* kstack_restart=on */
    uint64_t check_rounds;          /* kstack_check=<ms>: invariant checker rounds done (a failed one panics) */
    uint64_t restart_refused;       /* second runs of restarted calls refused for want of a stack page, rewound again */
    uint64_t restart_completed;     /* restarted calls completed in the exit path from their record, with no second run */
    uint64_t ipc_handoffs;          /* IPC calls and replies that ran the woken thread next on their CPU, with no run queue */
    uint32_t ipc_endpoints;         /* IPC endpoints alive */
    uint32_t ipc_handoff_on;        /* ipc_handoff=on */
};
