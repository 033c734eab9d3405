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

#ifdef __SSE2__
/*
 * Floating point, only where the compiler may use SSE: user space and the
 * host tests. The kernel is built without SSE (and never prints a double).
 * %f %e %g and F E G with flags, width and precision; no %a, no long double.
 * Digits come from an integer of at most 17 significant digits, so they are
 * libc's to about 16 significant digits, not past that (%.20f, or %f of
 * 1e30: libc prints the binary value's exact expansion), and not at exact
 * binary ties (0.125 to %.2f), which this rounds up.
 */
struct fmt_float {
    char sig[40];       /* significant digits, before any zeros: up to 18 + 17 */
    size_t nsig;
    size_t int_len;     /* digits before the point (sig's, then zeros) */
    size_t frac_len;    /* digits after the point (sig's rest, then zeros) */
    bool lead_zero;     /* "0" before the point when int_len == 0 */
    bool dot;
    char exp[8];        /* "e+05" and the like, or "" */
    size_t nexp;
};

static const double fmt_pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15, 1e16, 1e17 };
static const unsigned long long fmt_ipow10[] = { 1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull,
                                                 1000000ull, 10000000ull, 100000000ull, 1000000000ull,
                                                 10000000000ull, 100000000000ull, 1000000000000ull,
                                                 10000000000000ull, 100000000000000ull,
                                                 1000000000000000ull, 10000000000000000ull,
                                                 100000000000000000ull };

/* v > 0 rounded to ndig (1..17) significant digits: the digits as an integer, and v's decimal exponent. */
static unsigned long long fmt_round_sig(double v, int ndig, int *exp10)
{
    int e = 0;
    while (v >= 1e16) { v /= 1e16; e += 16; }
    while (v >= 10) { v /= 10; e++; }
    while (v < 1e-16) { v *= 1e16; e -= 16; }
    while (v < 1) { v *= 10; e--; }
    unsigned long long m = (unsigned long long)(v * 1e16 + 0.5);     /* 17 digits */
    if (m >= fmt_ipow10[17]) { m /= 10; e++; }
    if (ndig < 17) {
        unsigned long long div = fmt_ipow10[17 - ndig];
        m = (m + div / 2) / div;
        if (m >= fmt_ipow10[ndig]) { m /= 10; e++; }
    }
    *exp10 = e;
    return m;
}

static size_t fmt_utoa(char *out, unsigned long long m, size_t ndig)
{
    for (size_t i = ndig; i-- > 0; m /= 10)
        out[i] = (char)('0' + m % 10);
    return ndig;
}

/* %f: prec digits after the point. */
static void fmt_fixed(struct fmt_float *f, double v, long prec)
{
    long exact = prec < 17 ? prec : 17;
    if (v < 1e17) {
        unsigned long long ip = (unsigned long long)v;
        unsigned long long fr = (unsigned long long)((v - (double)ip) * fmt_pow10[exact] + 0.5);
        if (fr >= fmt_ipow10[exact]) { fr -= fmt_ipow10[exact]; ip++; }
        size_t nint = 0;
        for (unsigned long long x = ip; x; x /= 10)
            nint++;
        f->nsig = fmt_utoa(f->sig, ip, nint);
        f->nsig += fmt_utoa(f->sig + f->nsig, fr, (size_t)exact);
        f->int_len = nint;
    } else {
        int e;
        f->nsig = fmt_utoa(f->sig, fmt_round_sig(v, 17, &e), 17);
        f->int_len = (size_t)e + 1;
    }
    f->lead_zero = f->int_len == 0;
    f->frac_len = (size_t)prec;
}

/* %e: one digit, the point, prec digits, the exponent. */
static void fmt_exp(struct fmt_float *f, double v, long prec, bool upper)
{
    int e = 0;
    long ndig = prec + 1 < 17 ? prec + 1 : 17;
    f->nsig = fmt_utoa(f->sig, v == 0 ? 0 : fmt_round_sig(v, (int)ndig, &e), (size_t)ndig);
    f->int_len = 1;
    f->frac_len = (size_t)prec;
    unsigned ae = e < 0 ? (unsigned)-e : (unsigned)e;
    f->nexp = 0;
    f->exp[f->nexp++] = upper ? 'E' : 'e';
    f->exp[f->nexp++] = e < 0 ? '-' : '+';
    size_t nd = ae >= 100 ? 3 : 2;
    f->nexp += fmt_utoa(f->exp + f->nexp, ae, nd);
}

static void format_double(struct fmt_out *o, const struct fmt_spec *sp, double v)
{
    char conv = sp->conv, lower = (char)(conv | 0x20);
    bool upper = conv != lower, alt = sp->flags & FMT_ALT;
    char sign = 0;
    if (__builtin_signbit(v)) {
        sign = '-';
        v = -v;
    } else if (sp->flags & FMT_PLUS) {
        sign = '+';
    } else if (sp->flags & FMT_SPACE) {
        sign = ' ';
    }
    if (v != v || v > __DBL_MAX__) {
        const char *word = v != v ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf");
        struct fmt_spec s = *sp;
        char text[4] = { sign, word[0], word[1], word[2] };
        s.precision = -1;
        format_string(o, &s, sign ? text : text + 1, sign ? 4 : 3);
        return;
    }
    long prec = sp->precision < 0 ? 6 : sp->precision;
    struct fmt_float f = { .nsig = 0 };
    bool strip = false;
    if (lower == 'g') {
        long p = prec ? prec : 1;
        int x = 0;
        if (v != 0)
            fmt_round_sig(v, p < 17 ? (int)p : 17, &x);
        if (p > x && x >= -4)
            fmt_fixed(&f, v, p - 1 - x);
        else
            fmt_exp(&f, v, p - 1, upper);
        strip = !alt;
    } else if (lower == 'e') {
        fmt_exp(&f, v, prec, upper);
    } else {
        fmt_fixed(&f, v, prec);
    }
    /* sig holds int_len + frac_len digits, or fewer: the rest are zeros. */
    size_t frac_sig = f.nsig > f.int_len ? f.nsig - f.int_len : 0;
    if (strip) {
        while (f.frac_len > frac_sig)
            f.frac_len--;
        while (f.frac_len > 0 && f.sig[f.int_len + f.frac_len - 1] == '0')
            f.frac_len--;
        frac_sig = f.frac_len;
    }
    f.dot = f.frac_len > 0 || alt;
    size_t int_sig = f.nsig < f.int_len ? f.nsig : f.int_len;
    if (frac_sig > f.frac_len)
        frac_sig = f.frac_len;
    size_t body = (sign != 0) + (f.lead_zero ? 1 : f.int_len) + f.dot + f.frac_len + f.nexp;
    size_t pad = pad_len(sp, body);
    if (!(sp->flags & (FMT_LEFT | FMT_ZERO)))
        out_repeat(o, ' ', pad);
    if (sign)
        out_mem(o, &sign, 1);
    if ((sp->flags & (FMT_LEFT | FMT_ZERO)) == FMT_ZERO)
        out_repeat(o, '0', pad);
    if (f.lead_zero)
        out_mem(o, "0", 1);
    out_mem(o, f.sig, int_sig);
    out_repeat(o, '0', f.int_len - int_sig);
    if (f.dot)
        out_mem(o, ".", 1);
    out_mem(o, f.sig + int_sig, frac_sig);
    out_repeat(o, '0', f.frac_len - frac_sig);
    out_mem(o, f.exp, f.nexp);
    if (sp->flags & FMT_LEFT)
        out_repeat(o, ' ', pad);
}
#endif

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
#ifdef __SSE2__
        case 'f':
        case 'F':
        case 'e':
        case 'E':
        case 'g':
        case 'G':
            format_double(&o, &sp, va_arg(ap, double));
            break;
#endif
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
