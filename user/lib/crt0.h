/*
 * crt0.h: what crt0.c found on the initial stack, for programs (and tests)
 * that look past argc and argv.
 */
#pragma once

#define AT_NULL 0

extern char **environ;                  /* the environment: empty, so environ[0] == NULL */
extern unsigned long *crt0_auxv;        /* (type, value) pairs up to AT_NULL */
extern unsigned long crt0_initial_sp;   /* rsp at _start: points at argc */

__attribute__((noreturn)) void crt0_start(unsigned long *sp);
__attribute__((noreturn)) void _start(void);
