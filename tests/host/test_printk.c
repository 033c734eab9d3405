// host-test-sources: kernel/lib/vsnprintf.c kernel/lib/string.c
/*
 * tests/host/test_printk.c: the kernel's k_snprintf/k_vsnprintf
 * (kernel/lib/vsnprintf.c) against the host libc's snprintf, for every
 * conversion C defines the same way, plus the kernel's own conventions
 * (%p, "(null)", unknown conversions) checked against fixed strings.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "ktap_host.h"
#include "lib/format.h"

/* This file feeds NULL strings and widths past INT_MAX to k_snprintf on
 * purpose: GCC's libc-oriented overflow warning does not apply. */
#pragma GCC diagnostic ignored "-Wformat-overflow"

/* Both implementations are called through this type, which also keeps GCC
 * from checking the (deliberately generated) format strings. */
typedef int (*snprintf_fn)(char *buf, size_t size, const char *fmt, ...);
static const snprintf_fn ours = k_snprintf, libc = snprintf;

/* The C type an argument is passed as. */
enum arg_type {
    A_INT, A_UINT, A_LONG, A_ULONG, A_LLONG, A_ULLONG,
    A_SIZE, A_PTRDIFF, A_INTMAX, A_UINTMAX, A_STR,
};

/* One format with one value argument, after 0-2 int arguments for '*'. */
struct fmt_case {
    const char *fmt;
    enum arg_type type;
    unsigned long long v; /* the value's bits, converted to type at the call */
    const char *s;        /* for A_STR */
    int nstars;
    int stars[2];
};

#define CALL_STARS(f, buf, size, c, val)                                       \
    ((c)->nstars == 0   ? f(buf, size, (c)->fmt, val)                          \
     : (c)->nstars == 1 ? f(buf, size, (c)->fmt, (c)->stars[0], val)          \
                        : f(buf, size, (c)->fmt, (c)->stars[0], (c)->stars[1], val))

static int call(snprintf_fn f, char *buf, size_t size, const struct fmt_case *c)
{
    switch (c->type) {
    case A_INT: return CALL_STARS(f, buf, size, c, (int)c->v);
    case A_UINT: return CALL_STARS(f, buf, size, c, (unsigned)c->v);
    case A_LONG: return CALL_STARS(f, buf, size, c, (long)c->v);
    case A_ULONG: return CALL_STARS(f, buf, size, c, (unsigned long)c->v);
    case A_LLONG: return CALL_STARS(f, buf, size, c, (long long)c->v);
    case A_ULLONG: return CALL_STARS(f, buf, size, c, (unsigned long long)c->v);
    case A_SIZE: return CALL_STARS(f, buf, size, c, (size_t)c->v);
    case A_PTRDIFF: return CALL_STARS(f, buf, size, c, (ptrdiff_t)c->v);
    case A_INTMAX: return CALL_STARS(f, buf, size, c, (intmax_t)c->v);
    case A_UINTMAX: return CALL_STARS(f, buf, size, c, (uintmax_t)c->v);
    case A_STR: return CALL_STARS(f, buf, size, c, c->s);
    }
    return -1;
}

#define BUF_SIZE 256
#define CANARY 0xa5

/*
 * Run c through both implementations with the given buffer size and compare
 * the return values and the whole buffers, canary bytes after size included.
 * Returns false (after reporting) on a difference.
 */
static bool compare_with_libc(const char *file, int line, const struct fmt_case *c, size_t size)
{
    char got[BUF_SIZE], want[BUF_SIZE], qfmt[80], qgot[160], qwant[160];
    int got_n, want_n;

    memset(got, CANARY, sizeof(got));
    memset(want, CANARY, sizeof(want));
    got_n = call(ours, got, size, c);
    want_n = call(libc, want, size, c);
    if (got_n == want_n && memcmp(got, want, sizeof(got)) == 0)
        return true;

    /* The stored bytes, the terminator and two bytes past it. */
    size_t shown = (want_n >= 0 && (size_t)want_n + 1 < size ? (size_t)want_n + 1 : size) + 2;
    if (shown > BUF_SIZE)
        shown = BUF_SIZE;
    ktap_fail(file, line, "format %s value 0x%llx size %zu: ours %d %s, libc %d %s",
              ktap_quote(qfmt, sizeof(qfmt), c->fmt, strlen(c->fmt)), c->v, size, got_n,
              ktap_quote(qgot, sizeof(qgot), got, shown), want_n,
              ktap_quote(qwant, sizeof(qwant), want, shown));
    return false;
}

#define I(f, x) { f, A_INT, (unsigned long long)(x), NULL, 0, { 0, 0 } }
#define U(f, x) { f, A_UINT, (unsigned long long)(x), NULL, 0, { 0, 0 } }
#define L(f, x) { f, A_LONG, (unsigned long long)(x), NULL, 0, { 0, 0 } }
#define UL(f, x) { f, A_ULONG, (unsigned long long)(x), NULL, 0, { 0, 0 } }
#define LL(f, x) { f, A_LLONG, (unsigned long long)(x), NULL, 0, { 0, 0 } }
#define ULL(f, x) { f, A_ULLONG, (unsigned long long)(x), NULL, 0, { 0, 0 } }
#define S(f, x) { f, A_STR, 0, x, 0, { 0, 0 } }

static const struct fmt_case table[] = {
    I("%d", 0), I("%d", 1), I("%d", -1), I("%d", INT_MIN), I("%d", INT_MAX), I("%i", -12345),
    U("%u", UINT_MAX), U("%u", 0), U("%x", 0xdeadbeef), U("%X", 0xdeadbeef), U("%o", 0755),
    U("%o", 0), U("%x", 0),
    I("%hhd", -1), I("%hhd", 300), U("%hhu", 255), U("%hhx", 0x1ff), I("%hd", -32768),
    U("%hu", 65535), I("%hd", 70000),
    L("%ld", LONG_MIN), L("%ld", LONG_MAX), UL("%lu", ULONG_MAX), UL("%lx", 0xffffffff80001234UL),
    LL("%lld", LLONG_MIN), ULL("%llu", ULLONG_MAX), ULL("%llx", 0xffffffffffffffffULL),
    ULL("%llX", 0xabcdef0123456789ULL), ULL("%llo", ULLONG_MAX),
    { "%zu", A_SIZE, (unsigned long long)SIZE_MAX, NULL, 0, { 0, 0 } },
    { "%zx", A_SIZE, 4096, NULL, 0, { 0, 0 } },
    { "%td", A_PTRDIFF, (unsigned long long)PTRDIFF_MIN, NULL, 0, { 0, 0 } },
    { "%jd", A_INTMAX, (unsigned long long)INTMAX_MIN, NULL, 0, { 0, 0 } },
    { "%ju", A_UINTMAX, (unsigned long long)UINTMAX_MAX, NULL, 0, { 0, 0 } },
    /* flags and width */
    U("%08x", 0xbeef), I("%-5d|", 42), I("%5d|", 42), I("%05d", -42), I("%-05d|", -42),
    I("%+d", 42), I("%+d", -42), I("% d", 42), I("% d", -42), I("%+ d", 7), I("%+05d", 7),
    U("%#x", 0x1f), U("%#X", 0x1f), U("%#x", 0), U("%#o", 0755), U("%#o", 0), U("%#08x", 0x1f),
    U("%-#8x|", 0x1f), I("%1d", 12345), I("%20d", INT_MIN), I("%-20d|", INT_MIN),
    /* precision on integers */
    I("%.3d", 7), I("%.3d", -7), I("%5.3d", 7), I("%-5.3d|", -7), I("%05.3d", 7), I("%.0d", 0),
    I("%5.0d|", 0), U("%.0x", 0), U("%#.0o", 0), U("%#.0x", 0), U("%#.5o", 8), U("%#.8x", 0xff),
    I("%+.0d", 0), I("% .0d", 0), I("%.d", 0), I("%.25d", -1),
    /* strings and chars */
    S("%s", "hello"), S("%s", ""), S("%5s|", "abc"), S("%-5s|", "abc"), S("%.3s", "abcdef"),
    S("%.0s", "abcdef"), S("%.10s", "abc"), S("%2s", "abcdef"), S("%-8.3s|", "abcdef"),
    S("a%sb", "\x01\xff\n"), I("%c", 'x'), I("%5c|", 'x'), I("%-5c|", 'x'), I("%c", 0x141),
    I("%c", 0), I("[%c]", 255),
    /* '*' width and precision */
    { "%*d|", A_INT, 42, NULL, 1, { 6, 0 } },
    { "%*d|", A_INT, 42, NULL, 1, { -6, 0 } },
    { "%-*d|", A_INT, 42, NULL, 1, { -6, 0 } },
    { "%.*s|", A_STR, 0, "abcdef", 1, { 2, 0 } },
    { "%.*s|", A_STR, 0, "abcdef", 1, { -1, 0 } },
    { "%*.*s|", A_STR, 0, "abcdef", 2, { 8, 3 } },
    { "%*.*d|", A_INT, 5, NULL, 2, { -8, 3 } },
    { "%.*d|", A_INT, 0, NULL, 1, { 0, 0 } },
    /* literal text and %% around conversions */
    I("100%% of %d%%", 42), S("%% %s %%", "x"), I("no%%conv%d", 1),
};

static void test_table_vs_libc(void)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        compare_with_libc(__FILE__, __LINE__, &table[i], BUF_SIZE);
}

/* Every buffer size from 0 to past the full length: same bytes, same return. */
static void test_truncation_vs_libc(void)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        const struct fmt_case *c = &table[i];
        int len = call(libc, NULL, 0, c);

        for (size_t size = 0; size <= (size_t)len + 2 && size <= BUF_SIZE; size++) {
            if (!compare_with_libc(__FILE__, __LINE__, c, size))
                break;
        }
    }
}

static const char *const random_strings[] = {
    "", "a", "hello", "hello, world", "\x01\xff", "twenty-six characters long",
};

/* One random conversion spec that C defines and that both must agree on. */
static void random_case(struct fmt_case *c, char *fmt, size_t fmt_size)
{
    static const char convs[] = "diuxXocs";
    static const char *const lengths[] = { "", "hh", "h", "l", "ll", "z", "t", "j" };
    static const enum arg_type signed_types[] = {
        A_INT, A_INT, A_INT, A_LONG, A_LLONG, A_LONG, A_PTRDIFF, A_INTMAX,
    };
    static const enum arg_type unsigned_types[] = {
        A_UINT, A_UINT, A_UINT, A_ULONG, A_ULLONG, A_SIZE, A_PTRDIFF, A_UINTMAX,
    };
    char conv = convs[ktap_rand_below(sizeof(convs) - 1)];
    bool is_int = conv != 'c' && conv != 's';
    /* Flags C defines for this conversion; others are undefined behaviour. */
    const char *flags = conv == 'd' || conv == 'i' ? "-0+ " : conv == 'u' ? "-0" : is_int ? "-0#" : "-";
    size_t len_index = is_int ? ktap_rand_below(8) : 0;
    size_t n = 0;
    unsigned r;

    memset(c, 0, sizeof(*c));
    n += (size_t)snprintf(fmt + n, fmt_size - n, "<%%");
    for (const char *f = flags; *f; f++) {
        if (ktap_rand_below(4) == 0)
            fmt[n++] = *f;
    }
    r = (unsigned)ktap_rand_below(6);
    if (r == 0 || r == 1) {
        n += (size_t)snprintf(fmt + n, fmt_size - n, "%u", 1 + (unsigned)ktap_rand_below(25));
    } else if (r == 2) {
        fmt[n++] = '*';
        c->stars[c->nstars++] = (int)ktap_rand_below(51) - 25;
    }
    r = conv == 'c' ? 5 : (unsigned)ktap_rand_below(6);
    if (r == 0 || r == 1) {
        n += (size_t)snprintf(fmt + n, fmt_size - n, ".%u", (unsigned)ktap_rand_below(26));
    } else if (r == 2) {
        fmt[n++] = '.';
    } else if (r == 3) {
        n += (size_t)snprintf(fmt + n, fmt_size - n, ".*");
        c->stars[c->nstars++] = (int)ktap_rand_below(31) - 5;
    }
    snprintf(fmt + n, fmt_size - n, "%s%c>", lengths[len_index], conv);
    c->fmt = fmt;

    /* Values: mostly edges and small numbers, sometimes any 64 bits. */
    switch (ktap_rand_below(4)) {
    case 0: c->v = ktap_rand(); break;
    case 1: c->v = ktap_rand() >> ktap_rand_below(64); break;
    case 2: c->v = ktap_rand_below(20) - 10; break;
    default: {
        static const unsigned long long edges[] = {
            0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
            0xffffffff, 0x7fffffffffffffff, 0x8000000000000000, 0xffffffffffffffff,
        };
        c->v = edges[ktap_rand_below(sizeof(edges) / sizeof(edges[0]))];
    }
    }
    if (conv == 's') {
        c->type = A_STR;
        c->s = random_strings[ktap_rand_below(sizeof(random_strings) / sizeof(random_strings[0]))];
    } else if (conv == 'c') {
        c->type = A_INT;
    } else if (conv == 'd' || conv == 'i') {
        c->type = signed_types[len_index];
    } else {
        c->type = unsigned_types[len_index];
    }
}

static void test_random_vs_libc(void)
{
    char fmt[64];
    struct fmt_case c;
    unsigned failures = 0;

    for (int i = 0; i < 50000 && failures < 10; i++) {
        size_t size = ktap_rand_below(4) == 0 ? ktap_rand_below(40) : BUF_SIZE;
        random_case(&c, fmt, sizeof(fmt));
        if (!compare_with_libc(__FILE__, __LINE__, &c, size)) {
            ktap_diag("random case %d (stars %d %d)", i, c.stars[0], c.stars[1]);
            failures++;
        }
    }
}

/* Several arguments of mixed sizes in one call: the va_list walk stays aligned. */
static void test_mixed_arguments_vs_libc(void)
{
    char got[BUF_SIZE], want[BUF_SIZE];
    const char *fmt = "%hhd|%lld|%s|%c|%zu|%-4x|%*d|%.*s|%lo|%%|%jd";
    int got_n = k_snprintf(got, sizeof(got), fmt, (signed char)-3, LLONG_MIN, "str", 'q',
                           (size_t)77, 0xabu, 5, -9, 2, "xyz", 0777ul, (intmax_t)-1);
    int want_n = snprintf(want, sizeof(want), fmt, (signed char)-3, LLONG_MIN, "str", 'q',
                          (size_t)77, 0xabu, 5, -9, 2, "xyz", 0777ul, (intmax_t)-1);

    CHECK_STREQ(got, want);
    CHECK_EQ(got_n, want_n);
}

static int via_vsnprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap, again;
    int n, n2;
    char scratch[BUF_SIZE];

    va_start(ap, fmt);
    va_copy(again, ap);
    n = k_vsnprintf(buf, size, fmt, ap);
    /* vsnprintf must work on its own copy: the caller's copy is reusable. */
    n2 = k_vsnprintf(scratch, sizeof(scratch), fmt, again);
    va_end(again);
    va_end(ap);
    CHECK_EQ(n, n2);
    return n;
}

static void test_vsnprintf(void)
{
    char buf[BUF_SIZE];

    CHECK_EQ(via_vsnprintf(buf, sizeof(buf), "%s=%d", "x", -5), 4);
    CHECK_STREQ(buf, "x=-5");
    CHECK_EQ(via_vsnprintf(buf, 3, "%s=%d", "x", -5), 4);
    CHECK_STREQ(buf, "x=");
}

/* %p is a kernel convention: "0x" and exactly 16 digits, NULL included. */
static void test_pointer_convention(void)
{
    char buf[BUF_SIZE];

    CHECK_EQ(k_snprintf(buf, sizeof(buf), "%p", (void *)0xffffffff80001234UL), 18);
    CHECK_STREQ(buf, "0xffffffff80001234");
    k_snprintf(buf, sizeof(buf), "%p", (void *)0x1000);
    CHECK_STREQ(buf, "0x0000000000001000");
    k_snprintf(buf, sizeof(buf), "%p", NULL);
    CHECK_STREQ(buf, "0x0000000000000000");
    k_snprintf(buf, sizeof(buf), "[%20p]", (void *)1);
    CHECK_STREQ(buf, "[  0x0000000000000001]");
    k_snprintf(buf, sizeof(buf), "[%-20p]", (void *)1);
    CHECK_STREQ(buf, "[0x0000000000000001  ]");
    /* Flags other than '-' do not apply to %p. */
    ours(buf, sizeof(buf), "[%+#020p]", (void *)0xab);
    CHECK_STREQ(buf, "[  0x00000000000000ab]");
    CHECK_EQ(k_snprintf(buf, 5, "%p", (void *)1), 18);
    CHECK_STREQ(buf, "0x00");
}

/* Behaviour C leaves undefined, which the kernel defines. */
static void test_kernel_conventions(void)
{
    char buf[BUF_SIZE];

    /* %s NULL */
    ours(buf, sizeof(buf), "[%s]", NULL);
    CHECK_STREQ(buf, "[(null)]");
    ours(buf, sizeof(buf), "[%8s]", NULL);
    CHECK_STREQ(buf, "[  (null)]");
    ours(buf, sizeof(buf), "[%.2s]", NULL);
    CHECK_STREQ(buf, "[(n]");

    /* Unknown conversions, %n and long double print literally and take no
     * argument: the %d after them still gets the first argument. (%f is
     * literal too in the kernel, which is built without SSE: see test_doubles_vs_libc.) */
    CHECK_EQ(ours(buf, sizeof(buf), "%y %-5w %n %Lf %d", 7), strlen("%y %-5w %n %Lf 7"));
    CHECK_STREQ(buf, "%y %-5w %n %Lf 7");
    ours(buf, sizeof(buf), "50%");
    CHECK_STREQ(buf, "50%");
    ours(buf, sizeof(buf), "%-08.3");
    CHECK_STREQ(buf, "%-08.3");
    ours(buf, sizeof(buf), "%ll");
    CHECK_STREQ(buf, "%ll");

    /* size 0 writes nothing, so buf may be NULL */
    CHECK_EQ(ours(NULL, 0, "%d-%s", 12345, "abc"), 9);
    memset(buf, 'X', 4);
    CHECK_EQ(ours(buf, 0, "abc"), 3);
    CHECK_EQ(buf[0], 'X');
}

/* Widths beyond the buffer cost no time, and lengths past INT_MAX saturate. */
static void test_huge_widths(void)
{
    char buf[16];

    CHECK_EQ(ours(buf, sizeof(buf), "%2147483647d", 1), INT_MAX);
    CHECK_STREQ(buf, "               ");
    CHECK_EQ(ours(buf, sizeof(buf), "%99999999999d", 1), INT_MAX);
    CHECK_EQ(ours(buf, sizeof(buf), "%*d%*d", INT_MAX, 1, INT_MAX, 2), INT_MAX);
    CHECK_EQ(ours(buf, sizeof(buf), "%*d|", INT_MIN, 1), INT_MAX);
    CHECK_STREQ(buf, "1              ");
    CHECK_EQ(ours(buf, sizeof(buf), "%.2147483647s", "abc"), 3);
    CHECK_STREQ(buf, "abc");
}

/*
 * Doubles (%f %e %g, only in SSE builds: user space and here) against libc.
 * The values avoid exact binary ties (0.125 to %.2f), %f of values past 1e17
 * and digits past the 16th significant one, where libc prints the binary
 * value's exact expansion and ours does not; and a glibc quirk ("%#g" of
 * 999999.9999999 is "1.e+06" there).
 */
static void test_doubles_vs_libc(void)
{
#ifndef __SSE2__
#error "the host build has SSE2: vsnprintf.c's floating point is tested here"
#endif
    static const char *const fmts[] = {
        "%f", "%.0f", "%.1f", "%.3f", "%.9f", "%12.4f", "%-12.2f|", "%+f", "% f", "%012.3f", "%#.0f", "%F",
        "%e", "%.0e", "%.2e", "%E", "%14.6e", "%+.3e", "%#.0e", "%-13.3e|",
        "%g", "%.0g", "%.1g", "%.3g", "%.10g", "%G", "%#g", "%12g", "%-12.4g|", "%+g", "%#.3g",
    };
    static const double vals[] = {
        0.0, -0.0, 1.0, -1.0, 0.1, 3.14159265358979, -2.718281828459045, 1e-5, 0.000123456, 123456.789,
        999999.49, 99.9999996, 1e10, 1234567890123.0, 6.02214076e23, 1.5e-300, 1e300, -4.9e-324,
        1.7976931348623157e308, 0.3, 42.0, 100.0, 1e16, 5e-5,
    };
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        for (size_t j = 0; j < sizeof(vals) / sizeof(vals[0]); j++) {
            char want[512], got[512];
            bool f = strchr(fmts[i], 'f') || strchr(fmts[i], 'F');
            if (f && (vals[j] > 1e17 || vals[j] < -1e17))
                continue;
            int nw = libc(want, sizeof(want), fmts[i], vals[j]);
            int ng = ours(got, sizeof(got), fmts[i], vals[j]);
            if (nw != ng || strcmp(want, got) != 0)
                ktap_fail(__FILE__, __LINE__, "\"%s\" of %.17g: libc \"%s\" (%d), ours \"%s\" (%d)", fmts[i],
                          vals[j], want, nw, got, ng);
        }
    }
    static const double specials[] = { __builtin_inf(), -__builtin_inf(), __builtin_nan("") };
    static const char *const sfmts[] = { "%f", "%e", "%G", "%8.2f|", "%-8g|", "%+e", "%08f" };
    for (size_t i = 0; i < sizeof(sfmts) / sizeof(sfmts[0]); i++)
        for (size_t j = 0; j < 3; j++) {
            char want[64], got[64];
            libc(want, sizeof(want), sfmts[i], specials[j]);
            ours(got, sizeof(got), sfmts[i], specials[j]);
            CHECK_STREQ(got, want);
        }
    char buf[64];
    CHECK_EQ(ours(buf, sizeof(buf), "%d %.2f %s", 1, 2.5, "x"), 8);
    CHECK_STREQ(buf, "1 2.50 x");
}

static const struct ktap_case cases[] = {
    KTAP_CASE(test_table_vs_libc),
    KTAP_CASE(test_truncation_vs_libc),
    KTAP_CASE(test_random_vs_libc),
    KTAP_CASE(test_mixed_arguments_vs_libc),
    KTAP_CASE(test_vsnprintf),
    KTAP_CASE(test_pointer_convention),
    KTAP_CASE(test_kernel_conventions),
    KTAP_CASE(test_huge_widths),
    KTAP_CASE(test_doubles_vs_libc),
};

int main(void)
{
    return KTAP_RUN(cases);
}
