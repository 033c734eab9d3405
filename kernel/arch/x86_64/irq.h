/*
 * irq.h: the interrupt vectors (one table: this list) and their dispatch.
 * Every interrupt comes from a local APIC: its timer, IPIs, or its own
 * errors. One device interrupt: the serial line's input, through the IOAPIC
 * (ioapic.c); the 8259 PIC is masked.
 */
#pragma once
#include "arch/x86_64/ptregs.h"

#define VEC_TIMER           0x20    /* LAPIC timer, periodic at hz= */
#define VEC_SERIAL          0x24    /* COM1 received data (ISA IRQ 4 through the IOAPIC): tty.c */
#define VEC_PIC_BASE        0xe0    /* the masked 8259s, remapped out of the exception range */
#define VEC_IPI_FIRST       0xf0
#define VEC_RESCHED         0xf0    /* another CPU queued work here: sched_resched_ipi() */
#define VEC_TLB_SHOOTDOWN   0xf1    /* tlb_shootdown(): invalidate and acknowledge */
#define VEC_TEST            0xf2    /* free for tests (irq_register) */
#define VEC_STOP            0xf3    /* smp_stop_others(): spin with IRQs off until released */
#define VEC_APIC_ERROR      0xfe
#define VEC_SPURIOUS        0xff    /* never acknowledged with an EOI */

typedef void (*irq_handler_t)(struct pt_regs *regs);

/* Called by trap_dispatch() for every vector >= 32, IRQs off. */
void irq_dispatch(struct pt_regs *regs);
/* Install (or with NULL remove) the handler of a vector; the fixed ones are set in irq.c. */
void irq_register(int vector, irq_handler_t handler);
