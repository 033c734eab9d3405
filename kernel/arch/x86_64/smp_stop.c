/*
 * smp_stop.c: stopping the other CPUs (see smp_stop.h). One stop at a time,
 * system-wide, numbered by a generation: the stopper publishes the CPUs it
 * waits for, sends VEC_STOP, and waits until each has arrived in its handler;
 * a stopped CPU spins until the generation it stopped in is released.
 *
 * Why this cannot deadlock:
 *  - A CPU spinning for a spinlock has IRQs off and cannot take the IPI; the
 *    lock's holder is not stopped either (it too has IRQs off), so it gets
 *    to its unlock and the waiter to its critical section and out. The
 *    stopper holds no lock while it waits (asserted by the checker: a CPU
 *    that holds a spinlock with IRQs on is a bug of its own).
 *  - A TLB shootdown's initiator waits for its targets with IRQs off: a
 *    target that is stopped, or is the stopper, serves the request by polling
 *    (tlb_shootdown_serve()) while it spins, so the initiator finishes and
 *    then takes its IPI.
 *  - Two stoppers: the second waits for `busy` with IRQs on, and is stopped.
 * A CPU that does not answer within the time-out is reported, not waited for.
 */
#include "arch/x86_64/smp_stop.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/tlb.h"
#include "arch/x86_64/tsc.h"
#include "cpumask.h"
#include "panic.h"
#include "percpu.h"

static struct {
    int busy;                       /* a stop is in progress */
    uint64_t generation;            /* of the current (or last) stop */
    uint64_t released;              /* the last generation released */
    uint64_t waiting;               /* CPUs told to stop that have not arrived */
    uint64_t stopped;               /* CPUs spinning in the handler */
    const struct pt_regs *regs[MAX_CPUS];
} stop;

void smp_stop_irq(struct pt_regs *regs)
{
    struct cpu *c = this_cpu();
    uint64_t bit = 1ull << c->id;
    if (!(__atomic_load_n(&stop.waiting, __ATOMIC_ACQUIRE) & bit))
        return;                     /* late: the stop that sent it gave up on this CPU */
    /* Read after `waiting`: the stopper publishes the generation first, so this is the one (or a later one). */
    uint64_t gen = __atomic_load_n(&stop.generation, __ATOMIC_ACQUIRE);
    stop.regs[c->id] = regs;
    __atomic_fetch_or(&stop.stopped, bit, __ATOMIC_RELAXED);
    /* Release: everything this CPU did before the IPI is visible to the stopper once it sees the bit go. */
    __atomic_fetch_and(&stop.waiting, ~bit, __ATOMIC_RELEASE);
    while (__atomic_load_n(&stop.released, __ATOMIC_ACQUIRE) < gen) {
        tlb_shootdown_serve();
        cpu_relax();
    }
    __atomic_fetch_and(&stop.stopped, ~bit, __ATOMIC_RELEASE);
}

uint64_t smp_stop_others(unsigned timeout_ms, uint64_t *late)
{
    uint64_t flags;
    for (;;) {
        flags = irq_save();
        if (!__atomic_exchange_n(&stop.busy, 1, __ATOMIC_ACQUIRE))
            break;
        irq_restore(flags);         /* be stopped by the other stopper meanwhile */
        while (__atomic_load_n(&stop.busy, __ATOMIC_RELAXED))
            cpu_relax();
    }
    struct cpu *me = this_cpu();
    uint64_t others = cpumask_all_online().bits & ~(1ull << me->id);
    for (int i = 0; i < MAX_CPUS; i++)
        stop.regs[i] = NULL;
    __atomic_store_n(&stop.generation, stop.generation + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&stop.waiting, others, __ATOMIC_RELEASE);
    for (int i = 0; i < MAX_CPUS; i++)
        if (others & (1ull << i))
            apic_send_ipi(i, VEC_STOP);

    uint64_t t0 = rdtsc(), timeout = tsc_from_us((uint64_t)timeout_ms * 1000), left;
    while ((left = __atomic_load_n(&stop.waiting, __ATOMIC_ACQUIRE)) != 0 && rdtsc() - t0 < timeout) {
        tlb_shootdown_serve();      /* a shootdown's initiator may be waiting for this CPU before it can stop */
        cpu_relax();
    }
    *late = left;
    return flags;
}

void smp_resume_others(uint64_t flags)
{
    KASSERT(stop.busy && !irqs_enabled());
    __atomic_store_n(&stop.waiting, 0, __ATOMIC_RELEASE);   /* a late CPU now returns at once */
    for (int i = 0; i < MAX_CPUS; i++)
        stop.regs[i] = NULL;
    __atomic_store_n(&stop.released, stop.generation, __ATOMIC_RELEASE);
    while (__atomic_load_n(&stop.stopped, __ATOMIC_ACQUIRE))
        cpu_relax();
    __atomic_store_n(&stop.busy, 0, __ATOMIC_RELEASE);
    irq_restore(flags);
}

const struct pt_regs *smp_stopped_regs(int cpu)
{
    return cpu >= 0 && cpu < MAX_CPUS ? stop.regs[cpu] : NULL;
}
