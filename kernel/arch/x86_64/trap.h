/* trap.h: the C side of every interrupt and exception (see trap.c). */
#pragma once
#include <stdbool.h>
#include "arch/x86_64/ptregs.h"

#define PF_PRESENT  (1u << 0)
#define PF_WRITE    (1u << 1)
#define PF_USER     (1u << 2)
#define PF_RSVD     (1u << 3)
#define PF_INSTR    (1u << 4)

void trap_dispatch(struct pt_regs *regs);
/* nmi.c: count and report an NMI; the interrupted code goes on. */
void nmi_handle(struct pt_regs *regs);
/* sched/sched.c, called by isr.asm on an interrupt's return to kernel mode: the preemption point. */
void irq_exit_kernel(struct pt_regs *regs);

/* Print the full report: vector, error code, CR2, registers, backtrace. */
void trap_report(const struct pt_regs *regs, const char *why);
const char *trap_name(uint64_t vector);

/* Call addr; a #PF on fetching it returns here with its vector (tests only). */
int probe_exec(void *addr);

/* Vectors >= 32: arch/x86_64/irq.c. */
void irq_dispatch(struct pt_regs *regs);
/* An exception in user mode (entry.c): a demand fault, or the end of the process. */
void user_exception(struct pt_regs *regs, bool expanded);
