/*
 * irq.c: dispatch of the interrupts the local APIC delivers: the handler
 * table, the EOI, and the per-CPU counts (struct cpu). What each vector is
 * for is listed once, in irq.h.
 */
#include "arch/x86_64/irq.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/smp_stop.h"
#include "arch/x86_64/tlb.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"
#include "sched/sched.h"

/* Plain calls into the scheduler, no default hooks: a renamed one fails the link, not preemption. */
static void irq_timer(struct pt_regs *regs)
{
    this_cpu()->timer_ticks++;
    sched_tick(regs);
}

static void irq_resched(struct pt_regs *regs)
{
    (void)regs;
    sched_resched_ipi();
}

static irq_handler_t irq_handlers[256] = {
    [VEC_TIMER] = irq_timer,
    [VEC_RESCHED] = irq_resched,
    [VEC_TLB_SHOOTDOWN] = tlb_shootdown_irq,
    [VEC_STOP] = smp_stop_irq,
    [VEC_APIC_ERROR] = apic_error_irq,
};

void irq_register(int vector, irq_handler_t handler)
{
    KASSERT(vector >= VEC_FIRST_IRQ && vector < 256 && vector != VEC_SPURIOUS);
    __atomic_store_n(&irq_handlers[vector], handler, __ATOMIC_RELEASE);
}

void irq_dispatch(struct pt_regs *regs)
{
    struct cpu *c = this_cpu();
    int vector = (int)regs->vector;
    c->irq_count++;
    if (vector == VEC_SPURIOUS) {
        c->irq_spurious++;      /* the APIC set no in-service bit, so an EOI would retire someone else's */
        return;
    }
    if (vector >= VEC_IPI_FIRST && vector < VEC_APIC_ERROR)
        c->ipis_received++;
    /*
     * EOI first: a handler may end in a context switch, and until the EOI the
     * in-service bit blocks this vector and every lower one on this CPU. IF
     * stays clear until iretq, so nothing nests meanwhile.
     */
    apic_eoi();
    irq_handler_t h = __atomic_load_n(&irq_handlers[vector], __ATOMIC_ACQUIRE);
    if (h) {
        h(regs);
        return;
    }
    c->irq_unexpected++;
    printk("irq: unexpected vector %#x on cpu %d\n", vector, c->id);
}

