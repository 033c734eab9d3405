/*
 * gdt.h: segment selectors, the per-CPU GDT and TSS. The selector order is
 * fixed by SYSCALL/SYSRET (STAR): kernel CS, kernel SS; user SS, user CS.
 */
#pragma once
#include <stdint.h>

#define SEL_KCODE   0x08
#define SEL_KDATA   0x10
#define SEL_UCODE32 0x18        /* placeholder: SYSRET's 32-bit CS base */
#define SEL_UDATA   (0x20 | 3)
#define SEL_UCODE   (0x28 | 3)
#define SEL_TSS     0x30

/* IST slots (1-based as in the TSS). */
#define IST_DF      1
#define IST_NMI     2
#define IST_MC      3
#define IST_PF      4           /* used only by the fault-driven stack strategy */
#define IST_COUNT   4

struct __attribute__((packed)) tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};

struct gdt_table {
    uint64_t entry[8];          /* null, kcode, kdata, ucode32, udata, ucode, tss lo, tss hi */
} __attribute__((aligned(16)));

struct cpu;
void gdt_init_cpu(struct cpu *c);
void tss_set_rsp0(struct cpu *c, uint64_t rsp0);
/* Point the TSS's IST entries at c->ist_top[] (after the kstack area gave new stacks). */
void tss_set_ist(struct cpu *c);
