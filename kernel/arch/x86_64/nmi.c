/*
 * nmi.c: NMIs. Nothing in this kernel sends one (no watchdog, no profiling),
 * so every NMI is unexpected: a hypervisor's or a BMC's "nmi" button, a
 * hardware report. It is counted per CPU (kstat's nmis), reported at a
 * limited rate, and the interrupted code goes on, in user or kernel mode.
 */
#include "arch/x86_64/trap.h"
#include "percpu.h"
#include "printk.h"

/*
 * From trap_dispatch() on the NMI's IST stack, IRQs off, with the kernel GS
 * (paranoid_common). The NMI may have interrupted anything, printk included:
 * report only when this CPU holds no spinlock (spin_depth counts a lock being
 * taken too), else leave the report to the next NMI. At most one report per
 * doubling of the count, so a storm prints a few dozen lines, not millions.
 */
void nmi_handle(struct pt_regs *regs)
{
    struct cpu *c = this_cpu();
    uint64_t n = ++c->nmis;
    if (c->spin_depth || n < 2 * c->nmis_reported)
        return;
    c->nmis_reported = n;
    printk("nmi: unexpected NMI on cpu %d (%lu so far on this cpu) in %s mode at RIP %p: ignored\n", c->id,
           (unsigned long)n, user_mode(regs) ? "user" : "kernel", (void *)regs->rip);
}
