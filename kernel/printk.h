/*
 * printk.h: formatted output to the serial console. Whole lines from one
 * CPU are not interleaved with other CPUs' lines. Tests can capture output.
 */
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include "lib/format.h"

__attribute__((format(printf, 1, 2))) int printk(const char *fmt, ...);
int vprintk(const char *fmt, va_list ap);
/* Write a string of any length as one piece (printk() cuts lines at 256 bytes). */
void console_puts(const char *s);

/* Copy console output into buf as well, until console_capture_stop(). */
void console_capture_start(char *buf, size_t size);
size_t console_capture_stop(void);
