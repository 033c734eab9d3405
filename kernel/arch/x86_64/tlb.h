/*
 * tlb.h: TLB invalidation on other CPUs (shootdown by IPI). The local-only
 * invalidation is invlpg() in cpu.h; the kstack switch-in rule is stack/tlb.c.
 */
#pragma once
#include <stdint.h>
#include "arch/x86_64/ptregs.h"
#include "cpumask.h"

/* Above this many pages one full flush (global entries included) is cheaper than invlpg each. */
#define TLB_FULL_FLUSH_PAGES 32

/*
 * Invalidate [start, end) on every online CPU in mask: locally if this CPU is
 * in it, by IPI elsewhere; returns when every target has done it. Call with
 * interrupts enabled whenever another CPU may be in mask: a caller spinning
 * with IRQs off could never serve the shootdown another CPU is waiting on
 * while it waits for that one (asserted).
 */
void tlb_shootdown(uintptr_t start, uintptr_t end, const cpumask_t *mask);
/* Invalidate [start, end) on this CPU only. */
void tlb_flush_range_local(uintptr_t start, uintptr_t end);
/* VEC_TLB_SHOOTDOWN (irq.c). */
void tlb_shootdown_irq(struct pt_regs *regs);
/*
 * Serve the shootdown in flight if it waits for this CPU (else nothing), as
 * its IPI would: for a CPU that spins with IRQs off while another may be
 * waiting for its answer (smp_stop.c: the stopped CPUs and the stopper).
 */
void tlb_shootdown_serve(void);
