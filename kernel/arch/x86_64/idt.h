/* idt.h: the interrupt descriptor table, shared by all CPUs. */
#pragma once
#include <stdint.h>

#define VEC_DE   0
#define VEC_DB   1
#define VEC_NMI  2
#define VEC_BP   3
#define VEC_UD   6
#define VEC_DF   8
#define VEC_GP   13
#define VEC_PF   14
#define VEC_MC   18
#define VEC_FIRST_IRQ 32

/* Build the IDT once (BSP). */
void idt_init(void);
/* Load it on this CPU. */
void idt_load(void);
/* Route a vector through an IST stack (0 = none). */
void idt_set_ist(int vector, int ist);
/* kstack=fault: every #PF on IST_PF, through isr.asm page_fault_ist. */
void idt_use_pf_ist(void);
