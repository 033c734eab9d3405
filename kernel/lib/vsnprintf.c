/*
 * lib/vsnprintf.c: vsnprintf and snprintf (see format.h for what they
 * accept). Pure formatting: no locks, no allocation, no output device.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/format.h"
#include "lib/string.h"

#define FMT_INT_MAX __INT_MAX__

/* The output buffer. len counts every character produced, stored or not. */
struct fmt_out {
    char *buf;
    size_t size;
    size_t len;
};

enum fmt_flag {
    FMT_LEFT = 1 << 0,  /* '-' */
    FMT_ZERO = 1 << 1,  /* '0' */
    FMT_PLUS = 1 << 2,  /* '+' */
    FMT_SPACE = 1 << 3, /* ' ' */
    FMT_ALT = 1 << 4,   /* '#' */
};

enum fmt_length { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_T, LEN_J };

/* One parsed conversion specification: %[flags][width][.precision][length]conv */
struct fmt_spec {
    unsigned flags;
    size_t width;
    long precision; /* -1: none given */
    enum fmt_length length;
    char conv;
};

/* Stores up to the last byte before the terminator; counts the rest. */
static void out_mem(struct fmt_out *o, const char *s, size_t n)
{
    size_t room = o->len + 1 < o->size ? o->size - 1 - o->len : 0;
    size_t store = n < room ? n : room;

    for (size_t i = 0; i < store; i++)
        o->buf[o->len + i] = s[i];
    o->len += n;
}

static void out_repeat(struct fmt_out *o, char c, size_t n)
{
    size_t room = o->len + 1 < o->size ? o->size - 1 - o->len : 0;
    size_t store = n < room ? n : room;

    for (size_t i = 0; i < store; i++)
        o->buf[o->len + i] = c;
    o->len += n;
}

/* Width padding around a body of body_len bytes that the caller emits. */
static size_t pad_len(const struct fmt_spec *sp, size_t body_len)
{
    return sp->width > body_len ? sp->width - body_len : 0;
}

static void format_string(struct fmt_out *o, const struct fmt_spec *sp, const char *s, size_t n)
{
    size_t pad = pad_len(sp, n);

    if (!(sp->flags & FMT_LEFT))
        out_repeat(o, ' ', pad);
    out_mem(o, s, n);
    if (sp->flags & FMT_LEFT)
        out_repeat(o, ' ', pad);
}

/*
 * Integers: [spaces][sign or 0x][zeros][digits][spaces], with C's rules:
 * a precision is a minimum digit count and disables the '0' flag; value 0
 * with precision 0 has no digits; '#' adds 0x/0X to a nonzero hex value and
 * makes octal start with 0. %p arrives here as conv 'p' with precision 16.
 */
static void format_integer(struct fmt_out *o, const struct fmt_spec *sp,
                           unsigned long long magnitude, bool negative)
{
    const char *digit_set = sp->conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    unsigned base = sp->conv == 'o' ? 8 : (sp->conv == 'x' || sp->conv == 'X' || sp->conv == 'p') ? 16 : 10;
    bool is_signed = sp->conv == 'd' || sp->conv == 'i';
    char digits[24]; /* 2^64 in octal has 22 digits */
    char *end = digits + sizeof(digits), *first = end;
    char prefix[2];
    size_t prefix_len = 0, zeros = 0, ndigits, pad;
    bool nonzero = magnitude != 0;

    if (magnitude != 0 || sp->precision != 0) {
        do {
            *--first = digit_set[magnitude % base];
            magnitude /= base;
        } while (magnitude != 0);
    }
    ndigits = (size_t)(end - first);

    if (negative)
        prefix[prefix_len++] = '-';
    else if (is_signed && (sp->flags & FMT_PLUS))
        prefix[prefix_len++] = '+';
    else if (is_signed && (sp->flags & FMT_SPACE))
        prefix[prefix_len++] = ' ';
    if (sp->conv == 'p' || ((sp->flags & FMT_ALT) && nonzero && (sp->conv == 'x' || sp->conv == 'X'))) {
        prefix[prefix_len++] = '0';
        prefix[prefix_len++] = sp->conv == 'X' ? 'X' : 'x';
    }

    if (sp->precision > 0 && (size_t)sp->precision > ndigits)
        zeros = (size_t)sp->precision - ndigits;
    if ((sp->flags & FMT_ALT) && sp->conv == 'o' && zeros == 0 && (ndigits == 0 || *first != '0'))
        zeros = 1;

    pad = pad_len(sp, prefix_len + zeros + ndigits);
    if ((sp->flags & (FMT_LEFT | FMT_ZERO)) == FMT_ZERO && sp->precision < 0) {
        zeros += pad;
        pad = 0;
    }

    if (!(sp->flags & FMT_LEFT))
        out_repeat(o, ' ', pad);
    out_mem(o, prefix, prefix_len);
    out_repeat(o, '0', zeros);
    out_mem(o, first, ndigits);
    if (sp->flags & FMT_LEFT)
        out_repeat(o, ' ', pad);
}

/* size_t's signed counterpart, for %zd, is long on x86-64 (LP64). */
_Static_assert(sizeof(size_t) == sizeof(long), "%zd reads a long");

static long long fetch_signed(va_list *ap, enum fmt_length length)
{
    switch (length) {
    case LEN_HH: return (signed char)va_arg(*ap, int);
    case LEN_H: return (short)va_arg(*ap, int);
    case LEN_L: return va_arg(*ap, long);
    case LEN_LL: return va_arg(*ap, long long);
    case LEN_Z: return va_arg(*ap, long);
    case LEN_T: return va_arg(*ap, ptrdiff_t);
    case LEN_J: return va_arg(*ap, intmax_t);
    case LEN_NONE: break;
    }
    return va_arg(*ap, int);
}

static unsigned long long fetch_unsigned(va_list *ap, enum fmt_length length)
{
    switch (length) {
    case LEN_HH: return (unsigned char)va_arg(*ap, unsigned int);
    case LEN_H: return (unsigned short)va_arg(*ap, unsigned int);
    case LEN_L: return va_arg(*ap, unsigned long);
    case LEN_LL: return va_arg(*ap, unsigned long long);
    case LEN_Z: return va_arg(*ap, size_t);
    case LEN_T: return (unsigned long long)va_arg(*ap, ptrdiff_t);
    case LEN_J: return va_arg(*ap, uintmax_t);
    case LEN_NONE: break;
    }
    return va_arg(*ap, unsigned int);
}

/* Decimal digits of a width or precision, saturated at INT_MAX. */
static long parse_count(const char **p)
{
    long n = 0;

    for (; **p >= '0' && **p <= '9'; (*p)++) {
        n = n * 10 + (**p - '0');
        if (n > FMT_INT_MAX)
            n = FMT_INT_MAX;
    }
    return n;
}

/* Parses flags, width, precision and length after the '%'; leaves *p at the conversion. */
static void parse_spec(const char **p, va_list *ap, struct fmt_spec *sp)
{
    const char *f = *p;

    *sp = (struct fmt_spec){ .precision = -1 };
    for (;; f++) {
        if (*f == '-') sp->flags |= FMT_LEFT;
        else if (*f == '0') sp->flags |= FMT_ZERO;
        else if (*f == '+') sp->flags |= FMT_PLUS;
        else if (*f == ' ') sp->flags |= FMT_SPACE;
        else if (*f == '#') sp->flags |= FMT_ALT;
        else break;
    }

    if (*f == '*') {
        int w = va_arg(*ap, int);
        f++;
        if (w < 0)
            sp->flags |= FMT_LEFT;
        sp->width = w < 0 ? 0u - (unsigned)w : (unsigned)w;
    } else {
        sp->width = (size_t)parse_count(&f);
    }

    if (*f == '.') {
        f++;
        if (*f == '*') {
            int prec = va_arg(*ap, int);
            f++;
            sp->precision = prec < 0 ? -1 : prec;
        } else {
            sp->precision = parse_count(&f);
        }
    }

    switch (*f) {
    case 'h':
        sp->length = f[1] == 'h' ? LEN_HH : LEN_H;
        f += f[1] == 'h' ? 2 : 1;
        break;
    case 'l':
        sp->length = f[1] == 'l' ? LEN_LL : LEN_L;
        f += f[1] == 'l' ? 2 : 1;
        break;
    case 'z': sp->length = LEN_Z; f++; break;
    case 't': sp->length = LEN_T; f++; break;
    case 'j': sp->length = LEN_J; f++; break;
    default: break;
    }

    sp->conv = *f;
    *p = f;
}

int KLIB_NAME(vsnprintf)(char *buf, size_t size, const char *fmt, va_list args)
{
    struct fmt_out o = { .buf = buf, .size = size, .len = 0 };
    va_list ap;

    /* A local copy, because helpers need a va_list * and a va_list
     * parameter is already a pointer on x86-64. */
    va_copy(ap, args);
    while (*fmt) {
        const char *start = fmt, *percent;
        struct fmt_spec sp;

        while (*fmt && *fmt != '%')
            fmt++;
        out_mem(&o, start, (size_t)(fmt - start));
        if (*fmt == '\0')
            break;

        percent = fmt++;
        parse_spec(&fmt, &ap, &sp);
        switch (sp.conv) {
        case 'd':
        case 'i': {
            long long v = fetch_signed(&ap, sp.length);
            unsigned long long magnitude = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
            format_integer(&o, &sp, magnitude, v < 0);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o':
            format_integer(&o, &sp, fetch_unsigned(&ap, sp.length), false);
            break;
        case 'p':
            sp.flags &= FMT_LEFT;
            sp.precision = 16;
            format_integer(&o, &sp, (uintptr_t)va_arg(ap, void *), false);
            break;
        case 'c': {
            char c = (char)va_arg(ap, int);
            format_string(&o, &sp, &c, 1);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            format_string(&o, &sp, s, sp.precision >= 0 ? KLIB_NAME(strnlen)(s, (size_t)sp.precision)
                                                        : KLIB_NAME(strlen)(s));
            break;
        }
        case '%':
            out_mem(&o, "%", 1);
            break;
        case '\0':
            /* A '%' spec cut off by the end of the string. */
            out_mem(&o, percent, (size_t)(fmt - percent));
            continue;
        default:
            out_mem(&o, percent, (size_t)(fmt + 1 - percent));
            break;
        }
        fmt++;
    }
    va_end(ap);

    if (size != 0)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return o.len > FMT_INT_MAX ? FMT_INT_MAX : (int)o.len;
}

int KLIB_NAME(snprintf)(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = KLIB_NAME(vsnprintf)(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
