/*
 * lib/format.h: snprintf-style formatting into a buffer, the engine under
 * printk. Not printf: no %n, no wide characters, and floating point
 * (%f %e %g %F %E %G, to about 16 significant digits) only in builds with
 * SSE2 (user space, host tests): the kernel has none and prints them literally.
 *
 * C semantics: the output is always NUL-terminated when size > 0, and the
 * return value is the length the full output would have had (without the
 * NUL), so "ret >= size" means truncated. buf may be NULL when size is 0.
 *
 *   conversions  %d %i %u %x %X %o %c %s %p %%
 *   flags        - (left-justify) 0 (zero pad) + (sign) space # (0x / 0 prefix)
 *   width        digits or * (a negative * width means '-')
 *   precision    .digits or .* : maximum bytes for %s, minimum digits for
 *                integers; a negative * precision is ignored
 *   length       hh h l ll z t j
 *
 * Kernel conventions that differ from libc:
 *   %p           always "0x" and 16 lowercase hex digits, also for NULL
 *                (0xffffffff80001234); width and '-' apply, other flags not
 *   %s NULL      prints "(null)", cut by a precision like any string
 *   unknown      an unknown conversion (or %n, %f without SSE, a trailing %) is printed
 *                literally, from the '%' to the conversion character, and
 *                consumes no argument
 *   overflow     a length above INT_MAX is returned as INT_MAX
 *
 * Host builds (HOST_TEST): the names are k_vsnprintf/k_snprintf, for the
 * reason given in lib/string.h.
 */
#pragma once
#include <stdarg.h>
#include <stddef.h>

/* Same definition as in lib/string.h. */
#ifndef KLIB_NAME
#ifdef HOST_TEST
#define KLIB_NAME(name) k_##name
#else
#define KLIB_NAME(name) name
#endif
#endif

int KLIB_NAME(vsnprintf)(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
int KLIB_NAME(snprintf)(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
