/*
 * tlb.c: TLB shootdown. One request is in flight at a time, system-wide: the
 * initiator takes `busy`, publishes the range and the CPUs that owe an
 * acknowledgement, sends the IPIs, flushes itself, and waits for every
 * target to clear its bit.
 *
 * Why this cannot deadlock: `busy` is only ever waited for with IRQs on, so
 * a CPU queueing behind the holder still serves the holder's IPI; the holder
 * waits with IRQs off (no preemption, no migration: "this CPU" stays true),
 * which is safe because nobody else can be waiting for it to answer.
 */
#include "arch/x86_64/tlb.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/tsc.h"
#include "mm/layout.h"
#include "panic.h"
#include "percpu.h"

#define TLB_ACK_TIMEOUT_US 5000000     /* a target that takes 5 s is stuck (TCG included) */

static struct {
    int busy;
    uintptr_t start, end;
    uint64_t pending;           /* cpumask bits of targets that have not acknowledged */
} req;

void tlb_flush_range_local(uintptr_t start, uintptr_t end)
{
    if ((end - start) / PAGE_SIZE > TLB_FULL_FLUSH_PAGES) {
        flush_tlb_global();     /* kernel mappings are global: a CR3 reload would keep them */
        return;
    }
    for (uintptr_t va = start; va < end; va += PAGE_SIZE)
        invlpg(va);
}

void tlb_shootdown_serve(void)
{
    struct cpu *c = this_cpu();
    uint64_t bit = 1ull << c->id;
    /*
     * Only a request that still waits for this CPU: its IPI may come after the
     * request was served by a poll (smp_stop.c), and by then another request
     * may be in flight. Acquire: its range was published before its bits.
     */
    if (!(__atomic_load_n(&req.pending, __ATOMIC_ACQUIRE) & bit))
        return;
    /* The request is stable: the initiator changes nothing until every bit is clear. */
    tlb_flush_range_local(req.start, req.end);
    c->tlb_shootdown_ipis++;
    __atomic_fetch_and(&req.pending, ~bit, __ATOMIC_RELEASE);
}

void tlb_shootdown_irq(struct pt_regs *regs)
{
    (void)regs;
    tlb_shootdown_serve();
}

void tlb_shootdown(uintptr_t start, uintptr_t end, const cpumask_t *mask)
{
    start = ALIGN_DOWN(start, PAGE_SIZE);
    end = ALIGN_UP(end, PAGE_SIZE);
    KASSERT(start <= end);
    if (start == end || cpumask_empty(mask))
        return;
    /* With IRQs off there is no migration, so this test is exact (see tlb.h). */
    KASSERT(irqs_enabled() || !(mask->bits & cpumask_all_online().bits & ~(1ull << cpu_id())));

    uint64_t flags;
    for (;;) {
        flags = irq_save();
        if (!__atomic_exchange_n(&req.busy, 1, __ATOMIC_ACQUIRE))
            break;
        irq_restore(flags);     /* serve the holder's IPI while we queue */
        while (__atomic_load_n(&req.busy, __ATOMIC_RELAXED))
            cpu_relax();
    }

    struct cpu *c = this_cpu();
    /* This CPU counts even before it is marked online (early boot); others only once they are. */
    uint64_t others = mask->bits & cpumask_all_online().bits & ~(1ull << c->id);
    req.start = start;
    req.end = end;
    __atomic_store_n(&req.pending, others, __ATOMIC_RELEASE);
    for (int i = 0; i < MAX_CPUS; i++)
        if (others & (1ull << i))
            apic_send_ipi(i, VEC_TLB_SHOOTDOWN);
    if (cpumask_test(mask, c->id))
        tlb_flush_range_local(start, end);      /* meanwhile the targets do theirs */

    uint64_t t0 = rdtsc(), timeout = tsc_from_us(TLB_ACK_TIMEOUT_US);
    uint64_t left;
    while ((left = __atomic_load_n(&req.pending, __ATOMIC_ACQUIRE)) != 0) {
        if (rdtsc() - t0 > timeout)
            panic("tlb: shootdown of [%#lx, %#lx) from cpu %d: cpus %#lx did not acknowledge in %d ms",
                  (unsigned long)start, (unsigned long)end, c->id, (unsigned long)left, TLB_ACK_TIMEOUT_US / 1000);
        cpu_relax();
    }
    c->tlb_shootdowns++;
    __atomic_store_n(&req.busy, 0, __ATOMIC_RELEASE);
    irq_restore(flags);
}
