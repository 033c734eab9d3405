/*
 * main.c: kmain(), the boot CPU's path from the boot stub to the first
 * program. Read it as the list of init steps, in order.
 */
#include <stdint.h>
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/serial.h"
#include "arch/x86_64/smap.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/syscall.h"
#include "arch/x86_64/tsc.h"
#include "cmdline.h"
#include "ktest.h"
#include "lib/string.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "multiboot.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"
#include "spinlock.h"
#include "proc/process.h"
#include "sched/restart.h"
#include "proc/ipc.h"
#include "sched/sched.h"
#include "stack/check.h"
#include "stack/kstack.h"
#include "stack/overflow.h"
#include "stack/strategy.h"
#include "tty.h"
#include "version.h"           /* build/version.h: KSTACK_VERSION, from git describe */

static void print_banner(void)
{
    uint32_t a, b, c, d;
    char vendor[13], brand[49];
    cpuid(0, 0, &a, &b, &c, &d);
    memcpy(vendor, &b, 4);
    memcpy(vendor + 4, &d, 4);
    memcpy(vendor + 8, &c, 4);
    vendor[12] = '\0';
    brand[0] = '\0';
    cpuid(0x80000000, 0, &a, &b, &c, &d);
    if (a >= 0x80000004) {
        for (uint32_t leaf = 0; leaf < 3; leaf++)
            cpuid(0x80000002 + leaf, 0, (uint32_t *)(brand + 16 * leaf), (uint32_t *)(brand + 16 * leaf + 4),
                  (uint32_t *)(brand + 16 * leaf + 8), (uint32_t *)(brand + 16 * leaf + 12));
        brand[48] = '\0';
    }
    const char *model = brand;
    while (*model == ' ')
        model++;

    uint64_t ram = 0;
    for (size_t i = 0; i < boot_info.nram; i++)
        ram += boot_info.ram[i].len;

    printk("\nkstack kernel %s: 4 KiB kernel stacks at rest, 16 KiB in the kernel\n", KSTACK_VERSION);
    printk("cpu: %s %s\n", vendor, *model ? model : "(no brand string)");
    printk("memory: %lu MiB usable in %zu regions\n", (unsigned long)(ram >> 20), boot_info.nram);
    printk("loader: %s, %zu modules\n", boot_info.loader[0] ? boot_info.loader : "?", boot_info.nmodules);
    printk("command line: %s\n", boot_info.cmdline);
}

/* The first kernel thread: the tests (ktest=) or the first program. */
static void kernel_main_thread(void *arg)
{
    (void)arg;
    char spec[64];
    testsys_enabled = cmdline_int("testsys", 0) != 0;  /* test-only syscalls */
    if (cmdline_get("ktest", spec, sizeof(spec)))
        ktest_main(spec);               /* runs the tests and leaves QEMU */
    process_start_init();               /* init= (default init); its exit leaves QEMU */
}

void kmain(uint32_t magic, uint32_t mbi_phys)
{
    struct cpu *bsp = &cpus[0];

    percpu_init(bsp, 0);                /* GS base: this_cpu() works from here */
    serial_init();                      /* the console */
    smap_patch_init();                  /* no SMAP: stac/clac become NOPs before anything runs them */
    percpu_boot_ist(bsp);               /* static IST stacks until the kstack area exists */
    gdt_init_cpu(bsp);                  /* our GDT and TSS replace the boot GDT */
    idt_init();                         /* exceptions are reported from here on */
    idt_load();
    multiboot_parse(magic, mbi_phys);   /* memory map, command line, modules */
    print_banner();
    cmdline_check();                    /* warn about options nobody knows */
    spin_init_boot();                   /* spinlocks: ticket order, or taken-when-free under a hypervisor */
    pmm_init();                         /* physical pages */
    vmm_init();                         /* our page tables: direct map, W^X image; SMEP/SMAP */
    fpu_init_cpu();                     /* CR0/CR4/XCR0 for user x87/SSE/AVX; the save format */
    syscall_init_cpu();                 /* SYSCALL/SYSRET MSRs (each AP: in ap_main()) */
    kstack_init_cpu(bsp);               /* IST and IRQ stacks in the kstack area, with guards */
    tss_set_ist(bsp);
    kstack_tlb_init();                  /* kstack_tlb=safe|unsafe, kstack_tlb_check=1 */
    kstack_overflow_init();             /* kstack_overflow=panic|kill */
    kstack_strategy_init();             /* kstack=fixed|eager|fault|lazy */
    restart_init();                     /* kstack_restart=on|off */
    ipc_init();                         /* ipc_handoff=on|off */
    process_init();                     /* the thread limits, from the size of memory */
    sched_init();                       /* this context becomes cpu 0's idle thread */
    acpi_init();                        /* the MADT: which CPUs exist */
    tsc_init();                         /* tsc_hz, measured against the PIT */
    apic_init();                        /* local APIC (x2APIC or xAPIC); the 8259 PIC masked */
    apic_timer_init();                  /* periodic tick at hz=, calibrated against the TSC */
    smp_boot_aps();                     /* INIT-SIPI-SIPI each AP; ncpus = CPUs online */
    tty_init();                         /* console input: the serial line's IRQ through the IOAPIC */
    kstack_check_init();                /* kstack_check=<ms>: the invariant checker's thread (tests only) */

    kstack_kstat_every_init();          /* kstat_every=<ms>: a thread prints the KSTAT line that often */
    /* Tests and the first program run in a thread, with interrupts and the scheduler on. */
    if (!thread_create_detached("main", kernel_main_thread, NULL))
        panic("no memory for the main thread");
    sched_init_cpu();                   /* idle loop: never returns */
}
