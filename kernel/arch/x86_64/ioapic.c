/*
 * ioapic.c: the IOAPIC's redirection table (Intel 82093AA datasheet): two
 * registers, IOREGSEL and IOWIN, reach a version register and one 64-bit
 * entry per input. Physical destination mode, fixed delivery; the ISA
 * defaults (edge, active high) unless the MADT's override says otherwise.
 */
#include "arch/x86_64/ioapic.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/idt.h"
#include "mm/layout.h"
#include "mm/vmm.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"
#include "spinlock.h"

#define IOREGSEL        0x00
#define IOWIN           0x10
#define REG_VERSION     0x01
#define REG_REDIR(n)    (0x10 + 2 * (n))

#define REDIR_MASKED        (1u << 16)
#define REDIR_LEVEL         (1u << 15)
#define REDIR_ACTIVE_LOW    (1u << 13)

static volatile uint32_t *ioapic;
static int ioapic_inputs;
static struct spinlock ioapic_lock = SPINLOCK_INIT("ioapic");

static uint32_t ioapic_read(uint32_t reg)
{
    ioapic[IOREGSEL / 4] = reg;
    return ioapic[IOWIN / 4];
}

static void ioapic_write(uint32_t reg, uint32_t value)
{
    ioapic[IOREGSEL / 4] = reg;
    ioapic[IOWIN / 4] = value;
}

bool ioapic_init(void)
{
    if (!acpi_info.ioapic_phys) {
        printk("ioapic: none in the MADT: no device interrupts (console input is not read)\n");
        return false;
    }
    ioapic = vmm_map_mmio(acpi_info.ioapic_phys, PAGE_SIZE);
    if (!ioapic)
        return false;
    ioapic_inputs = (int)((ioapic_read(REG_VERSION) >> 16) & 0xff) + 1;
    for (int i = 0; i < ioapic_inputs; i++) {
        ioapic_write(REG_REDIR(i) + 1, 0);
        ioapic_write(REG_REDIR(i), REDIR_MASKED);
    }
    printk("ioapic: %d inputs at %#lx, GSI base %u, all masked\n", ioapic_inputs,
           (unsigned long)acpi_info.ioapic_phys, acpi_info.ioapic_gsi_base);
    return true;
}

bool ioapic_route_isa(int irq, int vector, int cpu)
{
    KASSERT(irq >= 0 && irq < 16 && vector >= VEC_FIRST_IRQ && vector < 0xf0);
    if (!ioapic)
        return false;
    int input = (int)acpi_info.isa_gsi[irq] - (int)acpi_info.ioapic_gsi_base;
    if (input < 0 || input >= ioapic_inputs || cpus[cpu].apic_id > 0xff) {
        printk("ioapic: ISA IRQ %d (GSI %u) cannot reach cpu %d\n", irq, acpi_info.isa_gsi[irq], cpu);
        return false;
    }
    uint16_t flags = acpi_info.isa_flags[irq];
    uint32_t low = (uint32_t)vector;
    if ((flags & 3) == 3)
        low |= REDIR_ACTIVE_LOW;
    if (((flags >> 2) & 3) == 3)
        low |= REDIR_LEVEL;
    uint64_t f = spin_lock(&ioapic_lock);
    ioapic_write(REG_REDIR(input) + 1, cpus[cpu].apic_id << 24);
    ioapic_write(REG_REDIR(input), low);
    spin_unlock(&ioapic_lock, f);
    printk("ioapic: ISA IRQ %d -> input %d -> vector %#x on cpu %d\n", irq, input, vector, cpu);
    return true;
}
