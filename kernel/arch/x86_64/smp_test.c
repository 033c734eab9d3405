/*
 * smp_test.c: CPU bring-up, IPIs and TLB shootdown (suite smp). Other CPUs
 * act through a VEC_TEST handler: it records who ran it and, for the TLB
 * tests, what that CPU reads at a test address through its own TLB.
 */
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/tlb.h"
#include "arch/x86_64/tsc.h"
#include "cpumask.h"
#include "ktest.h"
#include "mm/layout.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"
#include "sched/thread.h"

#define IPI_TIMEOUT_US      1000000
#define TEST_VA             (VMM_TEST_BASE + 16 * PAGE_SIZE)
#define MARK_A              0xaaaa0000aaaa0000ull
#define MARK_B              0xbbbb0000bbbb0000ull
#define MARK_C              0xcccc0000cccc0000ull

static uint64_t ipi_hits[MAX_CPUS];
static uint32_t ipi_apic_id[MAX_CPUS];
static uint64_t read_value[MAX_CPUS];
static uintptr_t read_va;               /* 0: the handler reads nothing */

static void test_ipi(struct pt_regs *regs)
{
    (void)regs;
    int id = cpu_id();
    ipi_apic_id[id] = apic_id();
    uintptr_t va = __atomic_load_n(&read_va, __ATOMIC_ACQUIRE);
    if (va)
        read_value[id] = *(volatile uint64_t *)va;
    __atomic_fetch_add(&ipi_hits[id], 1, __ATOMIC_RELEASE);
}

static uint64_t hits(int cpu)
{
    return __atomic_load_n(&ipi_hits[cpu], __ATOMIC_ACQUIRE);
}

static bool wait_hits(int cpu, uint64_t target)
{
    uint64_t t0 = rdtsc(), timeout = tsc_from_us(IPI_TIMEOUT_US);
    while (hits(cpu) < target)
        if (rdtsc() - t0 > timeout)
            return false;
    return true;
}

/* Every online CPU (this one too, by self-IPI) runs test_ipi once; false if one did not. */
static bool run_on_every_cpu(struct ktest *t)
{
    uint64_t before[MAX_CPUS];
    for (int i = 0; i < ncpus; i++) {
        before[i] = hits(i);
        apic_send_ipi(i, VEC_TEST);
    }
    bool ok = true;
    for (int i = 0; i < ncpus; i++)
        if (!wait_hits(i, before[i] + 1)) {
            ktest_fail(t, __FILE__, __LINE__, "cpu %d did not run the test IPI within %d ms", i,
                       IPI_TIMEOUT_US / 1000);
            ok = false;
        }
    return ok;
}

KTEST(smp, every_cpu_online)
{
    KREQUIRE(t, acpi_info.madt_found);
    int expected = acpi_info.nlapics < MAX_CPUS ? acpi_info.nlapics : MAX_CPUS;
    printk("    # %d CPUs in the MADT, %d online, %s, APs started in %lu us\n", acpi_info.nlapics, ncpus,
           apic_x2apic ? "x2APIC" : "xAPIC", (unsigned long)smp_bringup_us);
    KEXPECT_EQ(t, ncpus, expected);
    for (int i = 0; i < ncpus; i++) {
        KEXPECT(t, cpus[i].online);
        KEXPECT_EQ(t, cpus[i].id, i);
        KEXPECT_EQ(t, cpus[i].self, &cpus[i]);
        bool in_madt = false;
        for (int k = 0; k < acpi_info.nlapics; k++)
            in_madt |= acpi_info.lapic_ids[k] == cpus[i].apic_id;
        KEXPECT(t, in_madt);
        for (int k = 0; k < i; k++)
            KEXPECT(t, cpus[k].apic_id != cpus[i].apic_id);
    }
    for (int i = ncpus; i < MAX_CPUS; i++)
        KEXPECT(t, !cpus[i].online);
    KEXPECT_EQ(t, cpumask_all_online().bits, (1ull << ncpus) - 1);
    KEXPECT_EQ(t, cpus[0].apic_id, acpi_info.lapic_ids[0]);    /* QEMU and most firmware list the BSP first */
}

KTEST(smp, ipi_reaches_every_cpu)
{
    KREQUIRE(t, irqs_enabled());        /* ktest runs every test in a thread, IRQs on */
    irq_register(VEC_TEST, test_ipi);
    uint64_t received[MAX_CPUS];
    for (int i = 0; i < ncpus; i++) {
        received[i] = cpus[i].ipis_received;
        ipi_apic_id[i] = ~0u;
    }
    if (run_on_every_cpu(t))
        for (int i = 0; i < ncpus; i++) {
            KEXPECT_EQ(t, ipi_apic_id[i], cpus[i].apic_id);     /* the handler ran on the CPU we addressed */
            KEXPECT(t, cpus[i].ipis_received > received[i]);
        }

    /* All but self: every other CPU runs it, this one does not. */
    uint64_t before[MAX_CPUS];
    cli();                      /* "self" must not change under us (migration) */
    int me = cpu_id();
    for (int i = 0; i < ncpus; i++)
        before[i] = hits(i);
    apic_send_ipi_all_but_self(VEC_TEST);
    sti();
    for (int i = 0; i < ncpus; i++)
        if (i != me && !wait_hits(i, before[i] + 1))
            ktest_fail(t, __FILE__, __LINE__, "cpu %d missed the all-but-self IPI", i);
    tsc_delay_us(10000);
    KEXPECT_EQ(t, hits(me), before[me]);
    irq_register(VEC_TEST, NULL);
}

/* Retarget TEST_VA's PTE behind every TLB's back (no invlpg anywhere). */
static void retarget(uint64_t pa)
{
    uint64_t *pte = vmm_pte(kernel_pml4, TEST_VA, false);
    KASSERT(pte && (*pte & PTE_P));
    __atomic_store_n(pte, pa | PTE_KERNEL_RW, __ATOMIC_RELEASE);
}

static int count_reading(uint64_t value)
{
    int n = 0;
    for (int i = 0; i < ncpus; i++)
        n += read_value[i] == value;
    return n;
}

KTEST(smp, tlb_shootdown_reaches_every_cpu)
{
    uint64_t a = pmm_alloc(), b = pmm_alloc(), c = pmm_alloc();
    KREQUIRE(t, a && b && c);
    *(uint64_t *)phys_to_virt(a) = MARK_A;
    *(uint64_t *)phys_to_virt(b) = MARK_B;
    *(uint64_t *)phys_to_virt(c) = MARK_C;
    KREQUIRE(t, vmm_map(kernel_pml4, TEST_VA, a, PTE_KERNEL_RW) == 0);
    KREQUIRE(t, irqs_enabled());        /* ktest runs every test in a thread, IRQs on */
    irq_register(VEC_TEST, test_ipi);
    __atomic_store_n(&read_va, TEST_VA, __ATOMIC_RELEASE);
    cpumask_t all = cpumask_all_online();
    uint64_t served[MAX_CPUS];
    for (int i = 0; i < ncpus; i++)
        served[i] = cpus[i].tlb_shootdown_ipis;

    /* 1. Every CPU reads A: the translation is now in every TLB. */
    if (run_on_every_cpu(t))
        KEXPECT_EQ(t, count_reading(MARK_A), ncpus);

    /* 2. Retarget to B without invalidating: what each CPU sees now is up to its TLB. */
    retarget(b);
    if (run_on_every_cpu(t))
        printk("    # before the shootdown %d of %d CPUs still read the old page\n", count_reading(MARK_A), ncpus);

    /* 3. One page, invlpg path: everyone must see B. */
    tlb_shootdown(TEST_VA, TEST_VA + PAGE_SIZE, &all);
    if (run_on_every_cpu(t))
        for (int i = 0; i < ncpus; i++)
            KEXPECT_EQ(t, read_value[i], MARK_B);

    /* 4. To a third page (a stale A or B shows) over more than TLB_FULL_FLUSH_PAGES: the full flush path. */
    retarget(c);
    tlb_shootdown(VMM_TEST_BASE, VMM_TEST_BASE + 2 * TLB_FULL_FLUSH_PAGES * PAGE_SIZE, &all);
    if (run_on_every_cpu(t))
        for (int i = 0; i < ncpus; i++)
            KEXPECT_EQ(t, read_value[i], MARK_C);

    for (int i = 0; i < ncpus; i++)
        if (cpumask_test(&all, i) && i != cpu_id())
            KEXPECT(t, cpus[i].tlb_shootdown_ipis >= served[i] + 2);

    __atomic_store_n(&read_va, 0, __ATOMIC_RELEASE);
    irq_register(VEC_TEST, NULL);
    /* Unmapped, then flushed everywhere before the pages go back: no stale translation outlives them. */
    vmm_unmap(kernel_pml4, TEST_VA);
    tlb_shootdown(TEST_VA, TEST_VA + PAGE_SIZE, &all);
    pmm_free(a);
    pmm_free(b);
    pmm_free(c);
}

KTEST(smp, tlb_shootdown_only_asks_the_mask)
{
    KREQUIRE(t, irqs_enabled());        /* ktest runs every test in a thread, IRQs on */
    uint64_t served[MAX_CPUS];
    cli();                      /* the mask is "this CPU", so stay on it */
    int me = cpu_id();
    for (int i = 0; i < ncpus; i++)
        served[i] = cpus[i].tlb_shootdown_ipis;
    uint64_t started = cpus[me].tlb_shootdowns;
    /* This CPU plus CPUs that are not online: nobody is interrupted, nothing waits for them. */
    cpumask_t mask = cpumask_of(me);
    mask.bits |= ~cpumask_all_online().bits;
    tlb_shootdown(TEST_VA, TEST_VA + PAGE_SIZE, &mask);     /* with IRQs off: allowed, it is local */
    KEXPECT_EQ(t, cpus[me].tlb_shootdowns, started + 1);
    cpumask_t none = { 0 };
    tlb_shootdown(TEST_VA, TEST_VA + PAGE_SIZE, &none);
    KEXPECT_EQ(t, cpus[me].tlb_shootdowns, started + 1);
    sti();
    tsc_delay_us(10000);
    for (int i = 0; i < ncpus; i++)
        KEXPECT_EQ(t, cpus[i].tlb_shootdown_ipis, served[i]);
}

#define STORM_ROUNDS 200

static cpumask_t storm_cpus;

static void shootdown_storm(void *arg)
{
    (void)arg;
    for (int i = 0; i < STORM_ROUNDS; i++) {
        cpumask_set(&storm_cpus, cpu_id());
        cpumask_t all = cpumask_all_online();
        tlb_shootdown(TEST_VA, TEST_VA + 4 * PAGE_SIZE, &all);
    }
}

/* Every CPU starting shootdowns at once: the case that deadlocks if the lock were taken with IRQs off. */
KTEST(smp, tlb_shootdown_from_every_cpu_at_once)
{
    if (!irqs_enabled())
        KSKIP(t, "needs the scheduler: tests run with IRQs off");
    struct thread *th[2 * MAX_CPUS];
    int n = 2 * ncpus, created = 0;
    uint64_t before = 0, after = 0;
    storm_cpus.bits = 0;
    for (int i = 0; i < ncpus; i++)
        before += cpus[i].tlb_shootdowns;
    for (int i = 0; i < n; i++)
        if ((th[created] = thread_create("tlbstorm", shootdown_storm, NULL)))
            created++;
    for (int i = 0; i < created; i++)
        thread_join(th[i]);
    for (int i = 0; i < ncpus; i++)
        after += cpus[i].tlb_shootdowns;
    printk("    # %d threads on %d CPUs did %lu shootdowns\n", created, cpumask_weight(&storm_cpus),
           (unsigned long)(after - before));
    KEXPECT_EQ(t, created, n);
    KEXPECT_EQ(t, after - before, (uint64_t)created * STORM_ROUNDS);
}
