/*
 * trap.c: exceptions. Anything from user mode goes through
 * enter_from_user_mode() and exit_to_user_mode() (entry.c), exceptions to
 * user_exception(). A kernel-mode fault is a demand fault on a user page
 * (copy_*_user), fixed up through the exception table (.ex_table: uaccess
 * and test probes), a stack overflow, an oops that kills the user process
 * whose syscall faulted, or else reported in full and turned into a panic.
 */
#include "arch/x86_64/trap.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/idt.h"
#include "entry.h"
#include "ksyms.h"
#include "mm/uvm.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"
#include "proc/process.h"
#include "stack/overflow.h"

struct ex_entry {
    uint64_t insn;
    uint64_t fixup;
};
extern const struct ex_entry _ex_table_start[], _ex_table_end[];

static const char *const exception_names[32] = {
    "#DE Divide Error", "#DB Debug", "NMI", "#BP Breakpoint", "#OF Overflow",
    "#BR Bound Range", "#UD Invalid Opcode", "#NM Device Not Available",
    "#DF Double Fault", "Coprocessor Segment Overrun", "#TS Invalid TSS",
    "#NP Segment Not Present", "#SS Stack Fault", "#GP General Protection",
    "#PF Page Fault", "Reserved 15", "#MF x87 FP Error", "#AC Alignment Check",
    "#MC Machine Check", "#XM SIMD FP", "#VE Virtualization", "#CP Control Protection",
    "Reserved 22", "Reserved 23", "Reserved 24", "Reserved 25", "Reserved 26",
    "Reserved 27", "#HV Hypervisor Injection", "#VC VMM Communication",
    "#SX Security", "Reserved 31",
};

const char *trap_name(uint64_t vector)
{
    return vector < 32 ? exception_names[vector] : "interrupt";
}

static const struct ex_entry *extable_find(uint64_t rip)
{
    for (const struct ex_entry *e = _ex_table_start; e < _ex_table_end; e++)
        if (e->insn == rip)
            return e;
    return NULL;
}

void trap_report(const struct pt_regs *r, const char *why)
{
    char sym[96];
    ksym_format(sym, sizeof(sym), r->rip);
    printk("EXCEPTION %s (vector %lu) %s on cpu %d\n", trap_name(r->vector),
           (unsigned long)r->vector, why, cpu_id());
    printk("  error code 0x%lx", (unsigned long)r->error_code);
    if (r->vector == VEC_PF)
        printk(" [%s %s %s%s]", (r->error_code & PF_PRESENT) ? "protection" : "not-present",
               (r->error_code & PF_INSTR) ? "fetch" : (r->error_code & PF_WRITE) ? "write" : "read",
               (r->error_code & PF_USER) ? "user" : "kernel", (r->error_code & PF_RSVD) ? " reserved-bit" : "");
    printk("\n  CR2: %p  CR3: %p\n", (void *)read_cr2(), (void *)read_cr3());
    printk("  RIP: %04lx:%p %s\n", (unsigned long)r->cs, (void *)r->rip, sym);
    printk("  RSP: %04lx:%p RFLAGS: %08lx\n", (unsigned long)r->ss, (void *)r->rsp, (unsigned long)r->rflags);
    printk("  RAX: %016lx RBX: %016lx RCX: %016lx\n", r->rax, r->rbx, r->rcx);
    printk("  RDX: %016lx RSI: %016lx RDI: %016lx\n", r->rdx, r->rsi, r->rdi);
    printk("  RBP: %016lx R8:  %016lx R9:  %016lx\n", r->rbp, r->r8, r->r9);
    printk("  R10: %016lx R11: %016lx R12: %016lx\n", r->r10, r->r11, r->r12);
    printk("  R13: %016lx R14: %016lx R15: %016lx\n", r->r13, r->r14, r->r15);
    if (!user_mode(r)) {
        printk("  Backtrace:\n");
        backtrace_from(r->rip, r->rbp);
    }
}

static bool fixup_kernel_fault(struct pt_regs *r)
{
    struct cpu *c = this_cpu();
    const struct ex_entry *e = extable_find(r->rip);
    if (e) {
        if (c->report_fixed_faults)
            trap_report(r, "(expected, fixed up)");
        r->rax = r->vector;
        r->rip = e->fixup;
        return true;
    }
    if (r->vector == VEC_PF && c->probe_exec_armed && (r->error_code & PF_INSTR) && r->rip == read_cr2()) {
        if (c->report_fixed_faults)
            trap_report(r, "(expected, fixed up)");
        c->probe_exec_armed = false;
        r->rip = *(uint64_t *)r->rsp;   /* return to probe_exec() as if the callee ran "ret" */
        r->rsp += 8;
        r->rax = r->vector;
        return true;
    }
    return false;
}

/* NMI, #DF and #MC run on IST stacks ("paranoid"): never a way into the user-mode entry/exit work. */
static bool paranoid_vector(uint64_t v)
{
    return v == VEC_NMI || v == VEC_DF || v == VEC_MC;
}

void trap_dispatch(struct pt_regs *regs)
{
    if (regs->vector == VEC_NMI) {
        nmi_handle(regs);       /* from user or kernel mode alike: counted, not fatal */
        return;
    }
    if (user_mode(regs) && !paranoid_vector(regs->vector)) {
        bool expanded = enter_from_user_mode(regs) == 0;
        if (regs->vector >= VEC_FIRST_IRQ)
            irq_dispatch(regs);         /* IRQ handlers fit the top page: they run there when !expanded */
        else
            user_exception(regs, expanded);
        entry_balance_stack_cache();
        exit_to_user_mode(regs);
        return;
    }
    if (regs->vector >= VEC_FIRST_IRQ) {
        irq_dispatch(regs);
        return;
    }
    if (user_mode(regs)) {
        trap_report(regs, "in user mode");
        panic("%s from user mode", trap_name(regs->vector));
    }
    /* A user address of the current process not mapped yet (copy_*_user): map it and retry. */
    if (regs->vector == VEC_PF && uvm_kernel_fault(regs))
        return;
    if (fixup_kernel_fault(regs))
        return;
    if (regs->vector == VEC_DF && kstack_overflow_handle(regs, read_cr2()))
        return;
    /* A user thread's syscall faulted: end its process, not the kernel (never returns if so). */
    if (process_kernel_oops(regs))
        return;
    trap_report(regs, "in kernel mode");
    panic("fatal exception %s in kernel mode", trap_name(regs->vector));
}

int probe_exec(void *addr)
{
    this_cpu()->probe_exec_armed = true;
    long r = ((long (*)(void))addr)();
    this_cpu()->probe_exec_armed = false;
    return (int)r;
}
