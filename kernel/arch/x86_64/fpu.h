/*
 * fpu.h: user space's x87, SSE and AVX state, one save area per thread,
 * switched by the scheduler. The kernel itself never uses the FPU.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct thread;

/* This CPU's CR0, CR4 and XCR0 for the FPU; the BSP's call also picks the save format. */
void fpu_init_cpu(void);

/* Give t a clean save area (fninit defaults, MXCSR 0x1f80): 0, or -ENOMEM. */
int fpu_thread_init(struct thread *t);
void fpu_thread_free(struct thread *t);

/* schedule_locked(), IRQs off, before switch_to(): prev's registers out, next's in. */
void fpu_switch(struct thread *prev, struct thread *next);

extern bool fpu_xsave;          /* XSAVE (else FXSAVE) */
extern uint64_t fpu_xcr0;       /* the state components enabled (XCR0), 0 without XSAVE */
extern size_t fpu_area_size;    /* bytes of one save area */
