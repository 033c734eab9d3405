/* fpu_test.c: every CPU's CR0, CR4 and XCR0 as fpu_init_cpu() left them (suite smp). */
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/irq.h"
#include "ktest.h"
#include "percpu.h"
#include "sched/sched.h"

static uint64_t seen_cr0[MAX_CPUS], seen_cr4[MAX_CPUS], seen_xcr0[MAX_CPUS];
static bool seen[MAX_CPUS];

static void record_control_registers(struct pt_regs *regs)
{
    (void)regs;
    int id = cpu_id();
    seen_cr0[id] = read_cr0();
    seen_cr4[id] = read_cr4();
    seen_xcr0[id] = seen_cr4[id] & CR4_OSXSAVE ? xgetbv(0) : 0;     /* xgetbv is #UD without it */
    __atomic_store_n(&seen[id], true, __ATOMIC_RELEASE);
}

/* The APs start from the reset CR0 (CD and NW set: caches off), not from the BSP's. */
KTEST(smp, fpu_control_registers_on_every_cpu)
{
    irq_register(VEC_TEST, record_control_registers);
    for (int i = 0; i < ncpus; i++) {
        seen[i] = false;
        apic_send_ipi(i, VEC_TEST);
    }
    for (int i = 0; i < ncpus; i++) {
        uint64_t deadline = time_ns() + 1000000000ull;
        while (!__atomic_load_n(&seen[i], __ATOMIC_ACQUIRE) && time_ns() < deadline)
            cpu_relax();
        KEXPECT(t, seen[i]);
        if (!seen[i])
            continue;
        KEXPECT_EQ(t, seen_cr0[i] & (CR0_EM | CR0_TS | CR0_MP | CR0_NE | CR0_CD | CR0_NW), CR0_MP | CR0_NE);
        KEXPECT_EQ(t, seen_cr4[i] & (CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE),
                   CR4_OSFXSR | CR4_OSXMMEXCPT | (fpu_xsave ? CR4_OSXSAVE : 0));
        KEXPECT_EQ(t, seen_xcr0[i], fpu_xcr0);
    }
    irq_register(VEC_TEST, NULL);
}
