/*
 * smp.c: AP bring-up with INIT-SIPI-SIPI and the real-mode trampoline
 * (trampoline.asm), one AP at a time, each with a time-out; then ap_main(),
 * the AP's side of kmain().
 *
 * Page tables for the switch: the trampoline turns paging on while it runs
 * at its physical address, so it needs an identity map of its page. It gets
 * a PML4 of its own (identity-mapping the low 2 MiB, sharing kernel_pml4's
 * kernel half) rather than a temporary entry 0 in kernel_pml4: entry 0 is
 * the user half, so the BSP, and every AP already up, never see an identity
 * map (page 0 keeps faulting, user address spaces never inherit it), and
 * nothing has to be torn down while other CPUs may cache it.
 */
#include "arch/x86_64/smp.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/syscall.h"
#include "arch/x86_64/tsc.h"
#include "cpumask.h"
#include "lib/string.h"
#include "mm/layout.h"
#include "mm/vmm.h"
#include "multiboot.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"
#include "sched/sched.h"
#include "stack/kstack.h"

/*
 * Low memory (the page allocator never hands out the first MiB): the code
 * page, then the three tables of its identity map. CR3 is loaded in 32-bit
 * mode, so the PML4 must be below 4 GiB; these are.
 */
#define TRAMPOLINE_PHYS     0x8000      /* also in trampoline.asm; the SIPI vector is its page number */
#define TRAMPOLINE_PML4     0x9000
#define TRAMPOLINE_PDPT     0xa000
#define TRAMPOLINE_PD       0xb000
#define TRAMPOLINE_LOW_END  0xc000

#define INIT_DELAY_US       10000       /* Intel MP spec B.4: 10 ms after INIT */
#define SIPI_DELAY_US       200         /* and 200 us after each STARTUP */
#define AP_ONLINE_TIMEOUT_US 2000000    /* generous: a TCG vCPU thread may start slowly */

struct trampoline_params {
    uint64_t cr3, entry, stack_top;
    struct cpu *cpu;
    volatile uint32_t stage;            /* 1: real mode, 2: long mode, 3: ap_main */
    uint32_t pad;
};
_Static_assert(sizeof(struct trampoline_params) == 40, "trampoline.asm's parameter block");

extern const char trampoline_start[], trampoline_end[], trampoline_params[];

uint64_t smp_bringup_us, smp_ap_start_max_us;
static struct trampoline_params *params;

cpumask_t cpumask_all_online(void)
{
    cpumask_t m = { 0 };
    for (int i = 0; i < MAX_CPUS; i++)
        if (__atomic_load_n(&cpus[i].online, __ATOMIC_ACQUIRE))
            m.bits |= 1ull << i;
    return m;
}

/* The AP's kmain(): entered from the trampoline on its boot stack, IRQs off. */
static __attribute__((noreturn)) void ap_main(struct cpu *c)
{
    params->stage = 3;
    percpu_init(c, c->id);              /* GS base: this_cpu() works from here */
    gdt_init_cpu(c);                    /* our GDT and TSS (the trampoline's GDT is in low memory) */
    idt_load();
    write_cr3(virt_to_phys(kernel_pml4));   /* leave the trampoline's identity map */
    vmm_enable_protections();           /* WP, NX, SMEP, SMAP, PGE as on the BSP */
    fpu_init_cpu();                     /* caches on (CD/NW), x87/SSE/AVX as on the BSP */
    syscall_init_cpu();                 /* SYSCALL/SYSRET MSRs are per CPU too */
    apic_init_cpu();                    /* this CPU's APIC, in the BSP's mode */
    KASSERT(apic_id() == c->apic_id);   /* the MADT's id is the one the SIPI reached */
    apic_timer_start();                 /* the tick, with the BSP's calibration */
    __atomic_store_n(&c->online, true, __ATOMIC_RELEASE);
    sched_init_cpu();                   /* become this CPU's idle thread: never returns */
}

/* The trampoline's pages must be RAM that nobody else (loader data, modules) still needs. */
static bool low_memory_usable(void)
{
    bool ram = false;
    for (size_t i = 0; i < boot_info.nram; i++)
        ram |= boot_info.ram[i].base <= TRAMPOLINE_PHYS &&
               boot_info.ram[i].base + boot_info.ram[i].len >= TRAMPOLINE_LOW_END;
    bool overlap = boot_info.mbi_start < TRAMPOLINE_LOW_END && boot_info.mbi_end > TRAMPOLINE_PHYS;
    for (size_t i = 0; i < boot_info.nmodules; i++)
        overlap |= boot_info.modules[i].start < TRAMPOLINE_LOW_END && boot_info.modules[i].end > TRAMPOLINE_PHYS;
    return ram && !overlap;
}

static void trampoline_setup(void)
{
    size_t size = (size_t)(trampoline_end - trampoline_start);
    KASSERT(size <= PAGE_SIZE);
    memcpy(phys_to_virt(TRAMPOLINE_PHYS), trampoline_start, size);
    params = (struct trampoline_params *)phys_to_virt(TRAMPOLINE_PHYS + (uintptr_t)(trampoline_params - trampoline_start));

    uint64_t *pml4 = phys_to_virt(TRAMPOLINE_PML4), *pdpt = phys_to_virt(TRAMPOLINE_PDPT);
    uint64_t *pd = phys_to_virt(TRAMPOLINE_PD);
    memset(pml4, 0, PAGE_SIZE);
    memset(pdpt, 0, PAGE_SIZE);
    memset(pd, 0, PAGE_SIZE);
    pml4[0] = TRAMPOLINE_PDPT | PTE_P | PTE_W;
    pdpt[0] = TRAMPOLINE_PD | PTE_P | PTE_W;
    pd[0] = 0 | PTE_P | PTE_W | PTE_PS;             /* 0-2 MiB, executable: the trampoline runs here */
    for (int i = 256; i < 512; i++)                 /* all exist already (vmm_init), so sharing is exact */
        pml4[i] = kernel_pml4[i];
    params->cr3 = TRAMPOLINE_PML4;
    params->entry = (uint64_t)ap_main;
}

static void trampoline_teardown(void)
{
    memset(phys_to_virt(TRAMPOLINE_PML4), 0, 3 * PAGE_SIZE);
    params = NULL;
}

static const char *stage_name(uint32_t stage)
{
    switch (stage) {
    case 0: return "it never ran the trampoline";
    case 1: return "it stopped between real mode and long mode";
    case 2: return "it reached long mode but not ap_main()";
    default: return "it stopped in ap_main() before going online";
    }
}

/* Start one AP as cpus[id]; true once it is online. */
static bool start_ap(int id, uint32_t apic_id)
{
    struct cpu *c = &cpus[id];
    c->id = id;
    c->apic_id = apic_id;
    if (!c->irq_stack_top)              /* a slot reused after a failed AP keeps its stacks */
        kstack_init_cpu(c);
    if (!c->boot_stack_top)
        c->boot_stack_top = kstack_alloc_kernel_stack();
    if (!c->boot_stack_top)
        panic("smp: no memory for cpu %d's boot stack", id);

    params->stack_top = c->boot_stack_top;
    params->cpu = c;
    params->stage = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    /* INIT, then two STARTUPs: the second covers a lost first one, and a running AP ignores it. */
    apic_send_init(apic_id);
    tsc_delay_us(INIT_DELAY_US);
    uint64_t t_sipi = rdtsc();
    for (int i = 0; i < 2; i++) {
        apic_send_startup(apic_id, TRAMPOLINE_PHYS >> 12);
        tsc_delay_us(SIPI_DELAY_US);
    }
    uint64_t t0 = rdtsc(), timeout = tsc_from_us(AP_ONLINE_TIMEOUT_US);
    while (!__atomic_load_n(&c->online, __ATOMIC_ACQUIRE)) {
        if (rdtsc() - t0 > timeout) {
            printk("smp: cpu %d (apic id %u) not online after %d ms: %s; going on without it\n", id, apic_id,
                   AP_ONLINE_TIMEOUT_US / 1000, stage_name(params->stage));
            apic_send_init(apic_id);    /* park it in wait-for-SIPI: it must not wake up in a reused slot */
            tsc_delay_us(INIT_DELAY_US);
            return false;
        }
        cpu_relax();
    }
    /* From the first STARTUP, so the delays we must wait anyway (INIT, second STARTUP) do not count. */
    uint64_t us = tsc_to_us(rdtsc() - t_sipi);
    if (us > smp_ap_start_max_us)
        smp_ap_start_max_us = us;
    return true;
}

void smp_boot_aps(void)
{
    struct cpu *bsp = this_cpu();
    KASSERT(bsp == &cpus[0]);
    bsp->apic_id = apic_id();
    __atomic_store_n(&bsp->online, true, __ATOMIC_RELEASE);
    ncpus = 1;

    if (!acpi_info.madt_found) {
        printk("smp: no CPU list from ACPI: 1 CPU online\n");
        return;
    }
    if (acpi_info.nlapics > 1 && !low_memory_usable()) {
        printk("smp: %#x-%#x is not free RAM for the AP trampoline: 1 CPU online\n", TRAMPOLINE_PHYS,
               TRAMPOLINE_LOW_END);
        return;
    }
    trampoline_setup();
    bool all = acpi_info.nlapics_dropped == 0;
    uint64_t t0 = rdtsc();
    for (int i = 0; i < acpi_info.nlapics; i++) {
        uint32_t id = acpi_info.lapic_ids[i];
        if (id == bsp->apic_id)
            continue;
        if (ncpus == MAX_CPUS || !apic_id_addressable(id)) {
            printk("smp: cpu with apic id %u not started (%s)\n", id,
                   ncpus == MAX_CPUS ? "MAX_CPUS reached" : "xAPIC mode cannot address it");
            all = false;
            continue;
        }
        if (start_ap(ncpus, id))
            ncpus++;
        else
            all = false;
    }
    smp_bringup_us = tsc_to_us(rdtsc() - t0);
    trampoline_teardown();
    apic_allow_shorthand(all);
    printk("smp: %d CPUs online (%s), APs started in %lu.%03lu ms (slowest %lu us from STARTUP to online)\n",
           ncpus, apic_x2apic ? "x2APIC" : "xAPIC", (unsigned long)(smp_bringup_us / 1000),
           (unsigned long)(smp_bringup_us % 1000), (unsigned long)smp_ap_start_max_us);
}
