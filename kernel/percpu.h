/*
 * percpu.h: struct cpu, one per CPU, reached through the GS base. There is no
 * global "current": everything per-CPU hangs off this_cpu().
 *
 * swapgs rules (the entry stubs in arch/x86_64/isr.asm and syscall.asm):
 *  - In the kernel, GS_BASE points at this CPU's struct cpu and
 *    KERNEL_GS_BASE holds the user's GS base. In user mode it is the reverse.
 *  - An entry from user mode (CS & 3 != 0, or any SYSCALL) does swapgs first
 *    and the matching exit does swapgs last, with interrupts off.
 *  - An entry from kernel mode does not swapgs, with one exception: NMI, #MC
 *    and #DF can arrive between a swapgs and the iretq/sysret, so their
 *    "paranoid" stubs read MSR_GS_BASE and swapgs only if it is not a kernel
 *    address, and undo exactly what they did.
 *  - A #GP, #SS or #NP raised by the iretq to user mode itself (a bad return
 *    frame) arrives in kernel mode after that swapgs: isr.asm's
 *    iret_fault_check recognises it by its RIP and swaps back.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"

#define MAX_CPUS 16

struct thread;
struct pt_regs;

struct cpu {
    /* Offsets 0..23 are read by the entry stubs: keep them first. */
    struct cpu *self;           /* %gs:0  */
    uint64_t user_rsp_scratch;  /* %gs:8  SYSCALL saves the user RSP here */
    uint64_t kstack_top;        /* %gs:16 SYSCALL switches to this stack */
    uint64_t irq_stack_top;     /* %gs:24 IRQs from kernel mode run here */
    uint64_t irq_depth;         /* %gs:32 nesting depth on the IRQ stack */

    int id;                     /* 0..ncpus-1, BSP is 0 */
    uint32_t apic_id;
    bool online;

    struct thread *current;
    struct thread *idle;

    struct gdt_table gdt;
    struct tss tss;
    uintptr_t ist_top[IST_COUNT + 1];   /* index 1..IST_COUNT as in the TSS */

    /* Tests: a #PF on instruction fetch returns to the caller (probe_exec). */
    bool probe_exec_armed;
    /* Tests: print the full report even for faults fixed up by .ex_table. */
    bool report_fixed_faults;

    uint64_t timer_ticks;
    uint64_t irq_count;
    uint64_t nmis;                  /* NMIs taken (arch/x86_64/nmi.c): counted, reported, survived */
    uint64_t nmis_reported;         /* the count the last report printed */
    int spin_depth;                 /* spinlocks held, or being taken, here (spinlock.c) */
    bool pf_ist_busy;               /* kstack=fault: in the #PF IST handler (stack/fault.c) */
    struct pt_regs *pf_ist_regs;    /* the frame the #PF IST handler is working on (for a nested fault's report) */
    bool pf_ist_overflow;           /* an overflow report runs on the #PF IST stack, its pointer still moved down */
    bool pf_ist_test_nested;        /* tests: the next #PF IST handler faults itself (suite fault_nested_panic) */
    bool kstack_starved;            /* a switch-in found the stack cache short: the idle thread refills it */

    /* apic/irq/smp */
    uint64_t irq_spurious;          /* VEC_SPURIOUS: counted, never acknowledged */
    uint64_t irq_unexpected;        /* vectors with no handler */
    uint64_t ipis_received;         /* vectors VEC_IPI_FIRST..0xfd */
    uint64_t apic_errors;
    uint64_t tlb_shootdowns;        /* tlb_shootdown() calls that sent or flushed, started here */
    uint64_t tlb_shootdown_ipis;    /* shootdown requests served here */
    uintptr_t boot_stack_top;       /* an AP's first stack: its idle thread runs on it */

    /* sched: all protected by sched_lock */
    struct thread *rq_head, *rq_tail;
    int rq_len;
    bool need_resched;
    int slice_ticks;
    struct thread *switch_prev;     /* the thread switch_to() just left, for the finish step */
    uint64_t context_switches;
};

_Static_assert(offsetof(struct cpu, self) == 0, "entry stubs use %gs:0");
_Static_assert(offsetof(struct cpu, user_rsp_scratch) == 8, "entry stubs use %gs:8");
_Static_assert(offsetof(struct cpu, kstack_top) == 16, "entry stubs use %gs:16");
_Static_assert(offsetof(struct cpu, irq_stack_top) == 24, "entry stubs use %gs:24");
_Static_assert(offsetof(struct cpu, irq_depth) == 32, "entry stubs use %gs:32");

extern struct cpu cpus[MAX_CPUS];
extern int ncpus;

static inline struct cpu *this_cpu(void) { return (struct cpu *)gs_self(); }
static inline int cpu_id(void) { return this_cpu()->id; }

/* Point GS_BASE at cpu c (and zero KERNEL_GS_BASE): done once per CPU at boot. */
void percpu_init(struct cpu *c, int id);
/* Give the BSP static IST stacks for the earliest exceptions. */
void percpu_boot_ist(struct cpu *c);
