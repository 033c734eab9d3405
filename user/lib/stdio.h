/*
 * stdio.h: formatted output for user programs, over sys_write. Each call is
 * one write, so lines from several threads or processes do not interleave.
 * Formats are kernel/lib/format.h's (snprintf and vsnprintf come from there).
 */
#pragma once
#include <stdarg.h>
#include "lib/format.h"

/* Longest output of one printf; longer output is cut here. */
#define PRINTF_MAX 4096

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
int dprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int vdprintf(int fd, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* s and a newline, in one write. */
int puts(const char *s);
