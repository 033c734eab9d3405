/*
 * lib/string.h: the kernel's memory and string functions, with the C names
 * and C semantics. Not the C library: no locale, no errno (strtoul/strtol
 * saturate on overflow but cannot report ERANGE).
 *
 * Host builds (HOST_TEST defined) link against the host libc, which owns
 * these names. There, every function below is declared and defined as
 * KLIB_NAME(x), which is x in the kernel and k_x on the host. Kernel code
 * always calls memcpy() etc.; a host test calls k_memcpy() for ours and
 * memcpy() for libc's, side by side. (A "#define memcpy k_memcpy" would also
 * rename the libc function the test compares against, and libc headers
 * included after it.) Other kernel modules compiled for the host simply get
 * libc's versions.
 *
 * GCC emits calls to memcpy, memmove, memset and memcmp on its own (struct
 * copies, zero initialisation), so these four must keep their exact standard
 * signatures.
 */
#pragma once
#include <stddef.h>

#ifndef KLIB_NAME
#ifdef HOST_TEST
#define KLIB_NAME(name) k_##name
#else
#define KLIB_NAME(name) name
#endif
#endif

void *KLIB_NAME(memcpy)(void *restrict dst, const void *restrict src, size_t n);
void *KLIB_NAME(memmove)(void *dst, const void *src, size_t n);
void *KLIB_NAME(memset)(void *dst, int c, size_t n);
int KLIB_NAME(memcmp)(const void *a, const void *b, size_t n);

size_t KLIB_NAME(strlen)(const char *s);
size_t KLIB_NAME(strnlen)(const char *s, size_t maxlen);
int KLIB_NAME(strcmp)(const char *a, const char *b);
int KLIB_NAME(strncmp)(const char *a, const char *b, size_t n);
char *KLIB_NAME(strchr)(const char *s, int c);
char *KLIB_NAME(strrchr)(const char *s, int c);
char *KLIB_NAME(strstr)(const char *haystack, const char *needle);

/*
 * BSD strlcpy: copies at most size - 1 bytes and NUL-terminates whenever
 * size > 0. Returns strlen(src), so truncation is "return value >= size".
 */
size_t KLIB_NAME(strlcpy)(char *dst, const char *src, size_t size);

/*
 * C strtoul/strtol: leading white space, an optional sign, then digits in
 * base 2..36. Base 0 picks 16 for a "0x"/"0X" prefix, 8 for a leading "0",
 * else 10; base 16 also accepts the "0x" prefix. *end (if end is not NULL)
 * points after the last digit used, or at s when there were no digits.
 * Overflow saturates: ULONG_MAX, or LONG_MAX/LONG_MIN. An invalid base
 * returns 0 with *end = s.
 */
unsigned long KLIB_NAME(strtoul)(const char *s, char **end, int base);
long KLIB_NAME(strtol)(const char *s, char **end, int base);
