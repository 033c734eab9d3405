/*
 * acpi.h: what the kernel takes from the ACPI tables: the MADT's list of
 * enabled local APICs (the CPUs to start), the IOAPIC's address and the ISA
 * interrupt overrides (which IOAPIC input an ISA IRQ arrives on). No AML,
 * no power management.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define ACPI_MAX_LAPICS 64

struct acpi_info {
    bool madt_found;                    /* false: run on the boot CPU alone */
    uint32_t lapic_ids[ACPI_MAX_LAPICS];    /* enabled CPUs, in MADT order (the BSP among them) */
    int nlapics;                        /* entries in lapic_ids */
    int nlapics_dropped;                /* enabled CPUs beyond ACPI_MAX_LAPICS */
    uint64_t lapic_phys;                /* the MADT's local APIC address (override applied) */
    uint64_t ioapic_phys;               /* the first IOAPIC, 0 if none (ioapic.c) */
    uint32_t ioapic_gsi_base;           /* its first global system interrupt */
    int nioapics;
    uint32_t isa_gsi[16];               /* ISA IRQ n arrives at this GSI (n unless overridden) */
    uint16_t isa_flags[16];             /* its MPS INTI flags: polarity bits 0-1, trigger bits 2-3; 0 = ISA default */
};

extern struct acpi_info acpi_info;

/* Find the RSDP (multiboot2 tags, else the BIOS area), the RSDT/XSDT and the MADT; never fails the boot. */
void acpi_init(void);
