/*
 * account.c: what the stacks cost. Resident pages are counted from the page
 * tables themselves (every thread's slot), so the numbers cannot drift from
 * what is mapped; the counters come from the strategies (kstack_stats), cache.c and tlb.c.
 * The kstat syscall and the `KSTAT {json}` console line report them; with
 * kstat_every=<ms> a kernel thread prints that line every <ms> ms.
 */
#include "stack/strategy.h"
#include "cmdline.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/pmm.h"
#include "percpu.h"
#include "printk.h"
#include "proc/ipc.h"
#include "proc/process.h"
#include "sched/sched.h"
#include "sched/restart.h"
#include "stack/cache.h"
#include "stack/check.h"
#include "stack/kstack.h"


int kstack_resident_pages(const struct thread *t)
{
    int n = 0;
    for (int i = 0; i < (int)(KSTACK_ENSURE_MAX / PAGE_SIZE); i++)
        n += kstack_page_mapped(t->kstack_base, i);
    return n;
}

_Static_assert(KSTAT_CPUS_MAX >= MAX_CPUS, "kstat has a cache level for every CPU");

void kstack_fill_kstat(struct kstat *k)
{
    memset(k, 0, sizeof(*k));
    k->version = 1;
    k->strategy = kstack_strategy;
    k->cpus = (uint32_t)ncpus;
    k->tlb_unsafe = !kstack_tlb_safe;
    k->tlb_check = kstack_tlb_check;
    k->restart_on = restart_enabled;

    uint64_t f = spin_lock(&sched_lock);
    for (struct thread *t = thread_first(); t; t = t->all_next) {
        if (t->state == THREAD_DEAD || !t->kstack_base)
            continue;
        if (thread_is_user(t))
            k->user_threads++;
        else
            k->kernel_threads++;
        k->resident_stack_pages += (uint64_t)kstack_resident_pages(t);
    }
    struct thread *me = current();
    k->high_water_pages = (uint64_t)me->kstack_high_water;
    k->self_resident_pages = me->kstack_base ? (uint64_t)kstack_resident_pages(me) : 0;
    k->self_expands = me->kstack_expands;
    k->self_shrinks = me->kstack_shrinks;
    k->self_faults = me->kstack_faults;
    spin_unlock(&sched_lock, f);

    k->fixed_equivalent_pages = (uint64_t)(k->user_threads + k->kernel_threads) * KSTACK_PAGES;
    k->cache_pages = kstack_cache_pages();
    for (int i = 0; i < ncpus; i++) {
        k->cpu_cache_pages[i] = (uint32_t)kstack_caches[i].count;
        k->cache_take += kstack_caches[i].take;
        k->cache_give += kstack_caches[i].give;
        k->cache_refill += kstack_caches[i].refill;
        k->cache_drain += kstack_caches[i].drain;
        k->cache_empty += kstack_caches[i].empty;
        k->expands += kstack_stats[i].expands;
        k->shrinks += kstack_stats[i].shrinks;
        k->expand_failed += kstack_stats[i].expand_failed;
        k->faults += kstack_stats[i].faults;
        k->switch_in_waits += kstack_stats[i].switch_in_waits;
        k->switch_faults += kstack_stats[i].switch_faults;
        k->stack_invlpgs += kstack_stats[i].invlpgs;
        k->irqs_resent += kstack_stats[i].irqs_resent;
        k->restarts += kstack_stats[i].restarts;
        k->restart_refused += kstack_stats[i].restart_refused;
        k->restart_completed += kstack_stats[i].restart_completed;
        k->ipc_handoffs += kstack_stats[i].handoffs;
        k->nmis += cpus[i].nmis;
        for (int h = 0; h < KSTAT_HIST_MAX; h++)
            k->pages_used_hist[h] += kstack_stats[i].pages_used_hist[h];
    }
    k->reserve_pages = (uint32_t)kstack_fault_reserve_pages();
    k->tlb_invalidations = kstack_tlb_invalidations;
    k->tlb_stale_reads = kstack_tlb_stale_reads;
    k->migrations = sched_total_migrations();
    k->free_pages = pmm_free_pages();
    k->threads_max = (uint32_t)process_threads_max;
    k->threads_max_process = (uint32_t)process_threads_max_per_process;
    k->check_rounds = kstack_check_rounds;
    k->ipc_endpoints = (uint32_t)ipc_endpoints_live();
    k->ipc_handoff_on = ipc_handoff_enabled;
}

/*
 * A hook for debuggers, after gdb's __jit_debug_register_code: it does
 * nothing, and is called with IRQs still off right after a KSTAT line went
 * out, so a breakpoint here stops the kernel with the numbers of that line
 * unchanged on this CPU (tools/gdb/kstack.py's ks-kstat recomputes them from
 * memory; tests/harness.py's gdb-kstack unit compares the two). noipa and
 * the asm keep GCC from proving it empty and dropping the call.
 */
__attribute__((noipa)) void kstat_line_printed(const struct kstat *k)
{
    __asm__ volatile("" : : "r"(k) : "memory");
}

/*
 * The numbers and the line live in the heap: this runs on a dying process's
 * last exit, which may have only the top stack page (tools/stack_budget.py).
 * IRQs stay off from the count to the hook, so on this CPU nothing changes
 * between what the line says and what a debugger stopped at the hook sees.
 */
void kstack_print_kstat(const char *why)
{
    enum { LINE = 1024 };
    struct {
        struct kstat k;
        char hist[128];
        char line[LINE];
    } *buf = kmalloc(sizeof(*buf));
    if (!buf)
        return;
    struct kstat *k = &buf->k;
    char *hist = buf->hist, *line = buf->line;
    uint64_t flags = irq_save();
    kstack_fill_kstat(k);
    int n = 0;
    for (int i = 0; i < KSTAT_HIST_MAX; i++)
        n += snprintf(hist + n, sizeof(buf->hist) - (size_t)n, "%s%lu", i ? "," : "", (unsigned long)k->pages_used_hist[i]);
    snprintf(line, LINE,
             "KSTAT {\"why\":\"%s\",\"strategy\":\"%s\",\"cpus\":%u,\"user_threads\":%u,\"kernel_threads\":%u,"
             "\"resident_stack_pages\":%lu,\"fixed_equivalent_pages\":%lu,\"cache_pages\":%lu,"
             "\"expands\":%lu,\"shrinks\":%lu,\"faults\":%lu,\"expand_failed\":%lu,\"cache_take\":%lu,\"cache_give\":%lu,"
             "\"cache_refill\":%lu,\"cache_drain\":%lu,\"cache_empty\":%lu,\"tlb_invalidations\":%lu,\"tlb_stale_reads\":%lu,"
             "\"migrations\":%lu,\"free_pages\":%lu,\"threads_max\":%u,\"threads_max_process\":%u,\"nmis\":%lu,\"reserve_pages\":%u,\"switch_in_waits\":%lu,\"switch_faults\":%lu,\"stack_invlpgs\":%lu,\"irqs_resent\":%lu,\"restarts\":%lu,\"restart_refused\":%lu,"
             "\"check_rounds\":%lu,\"pages_used_hist\":[%s]}\n",
             why, kstack_ops->name, k->cpus, k->user_threads, k->kernel_threads,
             (unsigned long)k->resident_stack_pages, (unsigned long)k->fixed_equivalent_pages,
             (unsigned long)k->cache_pages, (unsigned long)k->expands, (unsigned long)k->shrinks,
             (unsigned long)k->faults, (unsigned long)k->expand_failed, (unsigned long)k->cache_take, (unsigned long)k->cache_give,
             (unsigned long)k->cache_refill, (unsigned long)k->cache_drain, (unsigned long)k->cache_empty,
             (unsigned long)k->tlb_invalidations,
             (unsigned long)k->tlb_stale_reads, (unsigned long)k->migrations, (unsigned long)k->free_pages,
             k->threads_max, k->threads_max_process, (unsigned long)k->nmis, k->reserve_pages,
             (unsigned long)k->switch_in_waits, (unsigned long)k->switch_faults, (unsigned long)k->stack_invlpgs, (unsigned long)k->irqs_resent,
             (unsigned long)k->restarts, (unsigned long)k->restart_refused, (unsigned long)k->check_rounds, hist);
    console_puts(line);
    kstat_line_printed(k);
    irq_restore(flags);
    kfree(buf);
}

#define KSTAT_EVERY_MAX_MS (24 * 3600 * 1000l)     /* a day: sched_sleep_ms()'s nanoseconds stay far from overflow */

static uint64_t kstat_every_ms;

static void kstat_every_thread(void *arg)
{
    (void)arg;
    for (;;) {
        sched_sleep_ms(kstat_every_ms);
        kstack_print_kstat("periodic");
    }
}

void kstack_kstat_every_init(void)
{
    long ms = cmdline_int("kstat_every", 0);
    if (ms == 0)
        return;
    if (ms < 0 || ms > KSTAT_EVERY_MAX_MS) {
        printk("kstat: kstat_every=%ld is outside 1..%ld ms: no periodic KSTAT line\n", ms, KSTAT_EVERY_MAX_MS);
        return;
    }
    kstat_every_ms = (uint64_t)ms;
    if (!thread_create_detached("kstat_every", kstat_every_thread, NULL))
        printk("kstat: no memory for the kstat_every thread\n");
    else
        printk("kstat: a KSTAT line every %ld ms (kstat_every=)\n", ms);
}
