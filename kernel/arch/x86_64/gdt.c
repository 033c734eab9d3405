/*
 * gdt.c: per-CPU GDT and TSS. Each CPU has its own TSS (RSP0 changes on every
 * context switch) and so its own GDT, loaded once at CPU bring-up.
 */
#include "arch/x86_64/gdt.h"
#include "percpu.h"

#define SEG_L       (1ull << 53)   /* 64-bit code */
#define SEG_P       (1ull << 47)
#define SEG_S       (1ull << 44)   /* code/data, not system */
#define SEG_CODE    (1ull << 43)
#define SEG_RW      (1ull << 41)
#define SEG_DPL3    (3ull << 45)

void gdt_init_cpu(struct cpu *c)
{
    uint64_t *g = c->gdt.entry;
    g[0] = 0;
    g[1] = SEG_P | SEG_S | SEG_CODE | SEG_RW | SEG_L;
    g[2] = SEG_P | SEG_S | SEG_RW;
    g[3] = 0;
    g[4] = SEG_P | SEG_S | SEG_RW | SEG_DPL3;
    g[5] = SEG_P | SEG_S | SEG_CODE | SEG_RW | SEG_L | SEG_DPL3;

    uint64_t base = (uint64_t)&c->tss;
    uint64_t limit = sizeof(struct tss) - 1;
    g[6] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x9ull << 40) /* available 64-bit TSS */
           | SEG_P | (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    g[7] = base >> 32;

    c->tss.iomap_base = sizeof(struct tss);  /* no I/O bitmap: user port I/O faults */
    for (int i = 1; i <= IST_COUNT; i++)
        c->tss.ist[i - 1] = c->ist_top[i];

    struct desc_ptr p = { .limit = sizeof(c->gdt) - 1, .base = (uint64_t)&c->gdt };
    lgdt(&p);
    load_segments(SEL_KCODE, SEL_KDATA);
    ltr(SEL_TSS);
}

void tss_set_rsp0(struct cpu *c, uint64_t rsp0)
{
    c->tss.rsp[0] = rsp0;
}

void tss_set_ist(struct cpu *c)
{
    for (int i = 1; i <= IST_COUNT; i++)
        c->tss.ist[i - 1] = c->ist_top[i];
}
