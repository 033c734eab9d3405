/*
 * apic.h: each CPU's local APIC: x2APIC (MSRs) when CPUID has it, else xAPIC
 * (MMIO); its periodic timer; IPIs. The 8259 PIC is masked for good; device
 * interrupts come through the IOAPIC (ioapic.c).
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "arch/x86_64/ptregs.h"

#define APIC_HZ_DEFAULT 100
#define APIC_HZ_MIN     10
#define APIC_HZ_MAX     10000

extern bool apic_x2apic;            /* the mode every CPU uses, chosen by the BSP */
extern int apic_timer_hz;           /* ticks per second per CPU (hz=) */
extern uint64_t apic_timer_input_hz;    /* the timer's count rate after its divider */

/* BSP: mask the PIC, pick x2APIC or xAPIC (and map it), enable this CPU's APIC. */
void apic_init(void);
/* Every CPU (apic_init() on the BSP, ap_main() on the others): enable and program its APIC. */
void apic_init_cpu(void);
/* BSP: read hz=, calibrate the timer against the TSC, start this CPU's tick. */
void apic_timer_init(void);
/* APs: start this CPU's tick with the BSP's calibration. */
void apic_timer_start(void);
/* hz= as given, or APIC_HZ_DEFAULT with a console message when outside APIC_HZ_MIN..MAX. */
int apic_timer_hz_check(long hz);

uint32_t apic_id(void);
void apic_eoi(void);
/* Fixed-mode IPI to CPU number cpu (cpus[cpu], online; may be this CPU). */
void apic_send_ipi(int cpu, int vector);
/* Fixed-mode IPI to every online CPU but this one. */
void apic_send_ipi_all_but_self(int vector);
/* The highest vector in service on this CPU (its ISR bit set, no EOI yet), or -1. */
int apic_in_service_vector(void);
/* AP start-up (smp.c): INIT, and STARTUP at physical page `page` (address page << 12). */
void apic_send_init(uint32_t apic_id);
void apic_send_startup(uint32_t apic_id, uint8_t page);
/* Can this CPU's APIC mode address that APIC id? (xAPIC: 8 bits, 0xff is broadcast) */
bool apic_id_addressable(uint32_t apic_id);
/* smp.c: every APIC in the system belongs to an online CPU, so the all-but-self shorthand is exact. */
void apic_allow_shorthand(bool ok);

void apic_error_irq(struct pt_regs *regs);
