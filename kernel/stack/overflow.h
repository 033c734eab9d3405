/* overflow.h: kernel stack overflow reports and the kstack_overflow= policy (see overflow.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "arch/x86_64/ptregs.h"

enum kstack_overflow_policy { KSTACK_OVERFLOW_PANIC, KSTACK_OVERFLOW_KILL };
extern enum kstack_overflow_policy kstack_overflow_policy;

void kstack_overflow_init(void);
/*
 * From the #DF handler, or the #PF IST handler (kstack=fault), with the
 * faulting address: report and apply the policy if this is a stack
 * overflow (never returns then).
 */
bool kstack_overflow_handle(struct pt_regs *regs, uintptr_t cr2);

struct thread;
/* Why ending t after the overflow in regs would not be safe (then it panics), or NULL if it is. */
const char *kstack_overflow_kill_refusal(const struct pt_regs *regs, const struct thread *t);
/* Kill the user process of t and end t (proc/process.c); never returns. */
void kstack_overflow_kill_user(struct thread *t);

/* Tests: run fn in a new kernel thread under kstack_overflow=kill, the console captured into report; its exit value. */
long overflow_test_run(const char *name, void (*fn)(void *), char *report, size_t size);
