/*
 * syscall.h: the kernel's side of the syscall table (uapi/syscalls.h).
 * Every SYSCALL(num, name, nargs) row has a handler
 *     long sys_<name>(uint64_t a1, ..., uint64_t a<nargs>);
 * declared here from the table, so a handler with the wrong argument count
 * does not compile. Rows whose name starts with "test_" need testsys=1.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "arch/x86_64/ptregs.h"
#include "uapi/syscalls.h"

#define SYSCALL_PARAMS_0 void
#define SYSCALL_PARAMS_1 uint64_t
#define SYSCALL_PARAMS_2 uint64_t, uint64_t
#define SYSCALL_PARAMS_3 uint64_t, uint64_t, uint64_t
#define SYSCALL_PARAMS_4 uint64_t, uint64_t, uint64_t, uint64_t
#define SYSCALL_PARAMS_5 uint64_t, uint64_t, uint64_t, uint64_t, uint64_t
#define SYSCALL_PARAMS_6 uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t

#define SYSCALL_NUMBER(num, name, nargs) SYS_##name = (num),
enum { SYSCALL_TABLE(SYSCALL_NUMBER) };
#undef SYSCALL_NUMBER

#define SYSCALL_PROTOTYPE(num, name, nargs) long sys_##name(SYSCALL_PARAMS_##nargs);
SYSCALL_TABLE(SYSCALL_PROTOTYPE)
#undef SYSCALL_PROTOTYPE

/* The one C function the SYSCALL stub calls; nonzero: the frame can return with SYSRET. */
int syscall_entry(struct pt_regs *regs);
