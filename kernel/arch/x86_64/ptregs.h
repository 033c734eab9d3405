/*
 * ptregs.h: the register frame every entry stub builds (isr.asm, syscall.asm),
 * in the order of Linux's struct pt_regs. The layout is drawn in isr.asm.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct pt_regs {
    uint64_t r15, r14, r13, r12, rbp, rbx;
    uint64_t r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi;
    uint64_t vector;        /* pushed by the stub; SYSCALL entry stores ~0 */
    union {                 /* Linux's orig_ax slot: */
        uint64_t error_code;    /* an exception's, pushed by the CPU, or 0 by the stub */
        uint64_t orig_rax;      /* a syscall's number as it entered (rax is the result by the exit) */
    };
    uint64_t rip, cs, rflags, rsp, ss;  /* the hardware frame */
};

_Static_assert(sizeof(struct pt_regs) == 22 * 8, "isr.asm assumes 22 quadwords");

#define PTREGS_VECTOR_SYSCALL (~0ull)

static inline bool user_mode(const struct pt_regs *r) { return (r->cs & 3) != 0; }
