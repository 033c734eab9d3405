/*
 * smp_stop.h: stop every other CPU for a moment, for a consistent look at
 * per-CPU state from one CPU (the kstack invariant checker, stack/check.c).
 * Each takes VEC_STOP and spins in its handler with IRQs off until released.
 * Not a general stop_machine: nothing runs on the stopped CPUs.
 */
#pragma once
#include <stdint.h>
#include "arch/x86_64/ptregs.h"

/*
 * Stop every other online CPU. Call with IRQs on: while another CPU stops
 * the world, this one waits its turn with IRQs as the caller had them (with
 * IRQs off it could not be stopped meanwhile: allowed only where no other
 * CPU may be stopping, the tests). Returns the flags for smp_resume_others()
 * with IRQs off here. A CPU that takes the IPI was running with IRQs on, so
 * it holds no spinlock and is between any two IRQs-off operations.
 * *late: the CPUs that did not answer within timeout_ms (IRQs off that long,
 * or stuck); 0 when all did. Resume even then.
 */
uint64_t smp_stop_others(unsigned timeout_ms, uint64_t *late);
/* Release them; returns once each has left its handler, with IRQs as before smp_stop_others(). */
void smp_resume_others(uint64_t flags);
/* While stopped: the registers cpu had when the IPI came (NULL for a CPU not stopped, or this one). */
const struct pt_regs *smp_stopped_regs(int cpu);
/* VEC_STOP (irq.c). */
void smp_stop_irq(struct pt_regs *regs);
