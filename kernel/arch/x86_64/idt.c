/*
 * idt.c: one IDT for all CPUs. Every vector is an interrupt gate (IF cleared
 * on entry) pointing at its stub in isr.asm; NMI, #DF and #MC use IST stacks.
 */
#include "arch/x86_64/idt.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"

struct __attribute__((packed)) idt_gate {
    uint16_t off_lo;
    uint16_t sel;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t off_mid;
    uint32_t off_hi;
    uint32_t zero;
};

#define GATE_INTERRUPT 0x8e     /* present, DPL 0, 64-bit interrupt gate */
#define GATE_DPL3      0x60

extern const uint64_t isr_table[256];
static struct idt_gate idt[256] __attribute__((aligned(16)));

static void idt_set_gate(int v, uint64_t handler, uint8_t attr, uint8_t ist)
{
    idt[v] = (struct idt_gate){
        .off_lo = handler & 0xffff,
        .sel = SEL_KCODE,
        .ist = ist,
        .type_attr = attr,
        .off_mid = (handler >> 16) & 0xffff,
        .off_hi = handler >> 32,
    };
}

void idt_init(void)
{
    for (int v = 0; v < 256; v++)
        idt_set_gate(v, isr_table[v], GATE_INTERRUPT, 0);
    idt[VEC_BP].type_attr |= GATE_DPL3;     /* int3 from user mode is a trap, not a #GP */
    idt_set_ist(VEC_DF, IST_DF);
    idt_set_ist(VEC_NMI, IST_NMI);
    idt_set_ist(VEC_MC, IST_MC);
}

/*
 * kstack=fault: #PF moves to its own IST stack and its own stub (isr.asm
 * page_fault_ist), so that a fault on an unmapped stack page can be taken
 * at all. The IDT is shared: one write switches every CPU.
 */
void idt_use_pf_ist(void)
{
    extern const char page_fault_ist[];
    idt_set_gate(VEC_PF, (uint64_t)page_fault_ist, GATE_INTERRUPT, IST_PF);
}

void idt_set_ist(int vector, int ist)
{
    idt[vector].ist = (uint8_t)ist;
}

void idt_load(void)
{
    struct desc_ptr p = { .limit = sizeof(idt) - 1, .base = (uint64_t)idt };
    lidt(&p);
}
