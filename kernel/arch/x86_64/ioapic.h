/*
 * ioapic.h: the first IOAPIC, for the one device interrupt the kernel takes:
 * the serial line's receive interrupt (ISA IRQ 4, console input). Every other
 * input stays masked.
 */
#pragma once
#include <stdbool.h>

/* Map the IOAPIC (from the MADT) and mask every input; false if there is none. */
bool ioapic_init(void);
/* Deliver ISA IRQ irq (through the MADT's override, if any) as vector to CPU number cpu, unmasked. */
bool ioapic_route_isa(int irq, int vector, int cpu);
