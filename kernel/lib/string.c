/*
 * lib/string.c: memory and string functions for the kernel (see string.h).
 * Plain C, word-at-a-time where both pointers are aligned; no inline asm.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/string.h"

/*
 * GCC's loop distribution recognises a copy or fill loop and replaces it
 * with a call to memcpy/memset: inside memcpy/memset that call would be
 * infinite recursion. Every function defined below this line is compiled
 * without that transformation.
 */
#pragma GCC optimize("no-tree-loop-distribute-patterns")

#define KLIB_ULONG_MAX (~0UL)
#define KLIB_LONG_MAX __LONG_MAX__

/* An unsigned long that may alias any object, for word-sized copies. */
typedef unsigned long __attribute__((may_alias)) kword_t;
#define WORD_SIZE sizeof(kword_t)

static bool both_word_aligned(const void *a, const void *b)
{
    return (((uintptr_t)a | (uintptr_t)b) & (WORD_SIZE - 1)) == 0;
}

/* Copy from low to high addresses: safe when dst does not lie inside (src, src + n). */
static void copy_forward(unsigned char *d, const unsigned char *s, size_t n)
{
    if (both_word_aligned(d, s)) {
        for (; n >= WORD_SIZE; n -= WORD_SIZE, d += WORD_SIZE, s += WORD_SIZE)
            *(kword_t *)d = *(const kword_t *)s;
    }
    while (n--)
        *d++ = *s++;
}

/* Copy from high to low addresses: safe when dst lies above src. */
static void copy_backward(unsigned char *d, const unsigned char *s, size_t n)
{
    if (both_word_aligned(d, s)) {
        for (; n % WORD_SIZE != 0; n--)
            d[n - 1] = s[n - 1];
        for (; n != 0; n -= WORD_SIZE)
            *(kword_t *)(d + n - WORD_SIZE) = *(const kword_t *)(s + n - WORD_SIZE);
    }
    for (; n != 0; n--)
        d[n - 1] = s[n - 1];
}

void *KLIB_NAME(memcpy)(void *restrict dst, const void *restrict src, size_t n)
{
    copy_forward(dst, src, n);
    return dst;
}

void *KLIB_NAME(memmove)(void *dst, const void *src, size_t n)
{
    /* Unsigned wrap-around: the difference is >= n exactly when dst is below
     * src or at least n bytes above it, where a forward copy is safe. */
    if ((uintptr_t)dst - (uintptr_t)src >= n)
        copy_forward(dst, src, n);
    else
        copy_backward(dst, src, n);
    return dst;
}

void *KLIB_NAME(memset)(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    unsigned char byte = (unsigned char)c;

    if (both_word_aligned(d, d)) {
        kword_t pattern = (KLIB_ULONG_MAX / 0xff) * byte; /* byte in every lane */
        for (; n >= WORD_SIZE; n -= WORD_SIZE, d += WORD_SIZE)
            *(kword_t *)d = pattern;
    }
    while (n--)
        *d++ = byte;
    return dst;
}

int KLIB_NAME(memcmp)(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;

    for (; n != 0; n--, x++, y++) {
        if (*x != *y)
            return *x - *y;
    }
    return 0;
}

size_t KLIB_NAME(strlen)(const char *s)
{
    const char *p = s;

    while (*p)
        p++;
    return (size_t)(p - s);
}

size_t KLIB_NAME(strnlen)(const char *s, size_t maxlen)
{
    size_t n = 0;

    while (n < maxlen && s[n])
        n++;
    return n;
}

/* C compares strings as unsigned char: "\xff" sorts after "a". */
int KLIB_NAME(strcmp)(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;

    while (*x && *x == *y) {
        x++;
        y++;
    }
    return *x - *y;
}

int KLIB_NAME(strncmp)(const char *a, const char *b, size_t n)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;

    for (; n != 0; n--, x++, y++) {
        if (*x != *y || *x == '\0')
            return *x - *y;
    }
    return 0;
}

/* The terminator is part of the string: strchr(s, '\0') finds it. */
char *KLIB_NAME(strchr)(const char *s, int c)
{
    char ch = (char)c;

    for (;; s++) {
        if (*s == ch)
            return (char *)s;
        if (*s == '\0')
            return NULL;
    }
}

char *KLIB_NAME(strrchr)(const char *s, int c)
{
    char ch = (char)c;
    const char *last = NULL;

    for (;; s++) {
        if (*s == ch)
            last = s;
        if (*s == '\0')
            return (char *)last;
    }
}

char *KLIB_NAME(strstr)(const char *haystack, const char *needle)
{
    size_t n = KLIB_NAME(strlen)(needle);

    for (; *haystack; haystack++) {
        if (KLIB_NAME(strncmp)(haystack, needle, n) == 0)
            return (char *)haystack;
    }
    return n == 0 ? (char *)haystack : NULL;
}

size_t KLIB_NAME(strlcpy)(char *dst, const char *src, size_t size)
{
    size_t len = KLIB_NAME(strlen)(src);

    if (size != 0) {
        size_t n = len < size ? len : size - 1;
        KLIB_NAME(memcpy)(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

/* Value of c as a digit in bases up to 36, or 36 when it is not a digit. */
static unsigned digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return (unsigned)(c - '0');
    if (c >= 'a' && c <= 'z')
        return (unsigned)(c - 'a') + 10;
    if (c >= 'A' && c <= 'Z')
        return (unsigned)(c - 'A') + 10;
    return 36;
}

static bool is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * The common part of strtoul and strtol: returns the magnitude (saturated at
 * ULONG_MAX, with *overflow set) and the sign separately.
 */
static unsigned long parse_magnitude(const char *s, char **end, int base,
                                     bool *negative, bool *overflow)
{
    const char *p = s, *digits;
    unsigned long v = 0;

    *negative = false;
    *overflow = false;
    if (base < 0 || base == 1 || base > 36)
        goto no_digits;

    while (is_space(*p))
        p++;
    if (*p == '+' || *p == '-')
        *negative = *p++ == '-';
    /* "0x" only counts as a prefix when a hex digit follows: "0xg" is the
     * number 0 followed by "xg", as in every C library. */
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
        digit_value(p[2]) < 16) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = p[0] == '0' ? 8 : 10;
    }

    for (digits = p; digit_value(*p) < (unsigned)base; p++) {
        unsigned d = digit_value(*p);
        if (v > (KLIB_ULONG_MAX - d) / (unsigned)base)
            *overflow = true;
        else
            v = v * (unsigned)base + d;
    }
    if (p == digits)
        goto no_digits;
    if (end)
        *end = (char *)p;
    return *overflow ? KLIB_ULONG_MAX : v;

no_digits:
    *negative = false;
    if (end)
        *end = (char *)s;
    return 0;
}

unsigned long KLIB_NAME(strtoul)(const char *s, char **end, int base)
{
    bool negative, overflow;
    unsigned long v = parse_magnitude(s, end, base, &negative, &overflow);

    if (overflow)
        return KLIB_ULONG_MAX;
    /* C defines "-1" as the negation in unsigned arithmetic: ULONG_MAX. */
    return negative ? 0UL - v : v;
}

long KLIB_NAME(strtol)(const char *s, char **end, int base)
{
    bool negative, overflow;
    unsigned long v = parse_magnitude(s, end, base, &negative, &overflow);
    unsigned long limit = negative ? (unsigned long)KLIB_LONG_MAX + 1 : (unsigned long)KLIB_LONG_MAX;

    if (overflow || v >= limit)
        return negative ? -KLIB_LONG_MAX - 1 : KLIB_LONG_MAX;
    return negative ? -(long)v : (long)v;
}
