/*
 * tests/host/ktap_host.h: KTAP version 1 reporting for host unit tests, so
 * tests/harness.py reads them like the kernel's own tests. Header-only, for
 * hosted C; not a framework beyond one table of cases and a few CHECKs.
 *
 *   static void test_foo(void) { CHECK(x == 1); CHECK_EQ(f(2), 4); }
 *   static const struct ktap_case cases[] = { KTAP_CASE(test_foo), ... };
 *   int main(void) { return KTAP_RUN(cases); }
 *
 * Output: "KTAP version 1", "1..N", then per case its "# " diagnostics and
 * "ok N name" or "not ok N name" (the name without its "test_" prefix), and
 * a closing "# Totals: pass:P fail:F". KTAP_RUN returns the exit status: 0
 * only if every case passed. A case that records no failure passes; one that
 * crashes leaves its result missing, which the harness counts as a failure.
 *
 * ktap_rand() is a fixed-seed PRNG for randomized cases, reseeded before
 * every case so each one sees the same sequence whatever runs before it.
 */
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct ktap_case {
    const char *name;
    void (*fn)(void);
};

#define KTAP_CASE(fn) { #fn, fn }
#define KTAP_RUN(cases) ktap_run((cases), sizeof(cases) / sizeof((cases)[0]))

/* Diagnostics printed per case; further failures are only counted. */
#define KTAP_MAX_DIAGNOSTICS 20

#define KTAP_SEED 0x9e3779b97f4a7c15ULL

struct ktap_state {
    unsigned case_failures; /* failures recorded in the running case */
    unsigned long long rng; /* xorshift64* state, never 0 */
};

static inline struct ktap_state *ktap_state(void)
{
    static struct ktap_state state;
    return &state;
}

/* xorshift64*: 64 random bits. */
static inline unsigned long long ktap_rand(void)
{
    unsigned long long x = ktap_state()->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    ktap_state()->rng = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform enough in [0, n) for tests; n > 0. */
static inline unsigned long long ktap_rand_below(unsigned long long n)
{
    return ktap_rand() % n;
}

/* Print "# " + a formatted line. The text must not contain a newline. */
__attribute__((format(printf, 1, 2))) static inline void ktap_diag(const char *fmt, ...)
{
    va_list ap;

    fputs("# ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
}

/* Record a failure of the running case, with a "# file:line: ..." diagnostic. */
__attribute__((format(printf, 3, 4))) static inline void ktap_fail(const char *file, int line,
                                                                   const char *fmt, ...)
{
    va_list ap;

    if (ktap_state()->case_failures++ >= KTAP_MAX_DIAGNOSTICS)
        return;
    printf("# %s:%d: ", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
}

/*
 * Quote n bytes as a C string literal into out (which has room for
 * out_size bytes), so that diagnostics stay on one line whatever the data.
 * Returns out.
 */
static inline const char *ktap_quote(char *out, size_t out_size, const char *s, size_t n)
{
    size_t o = 0;

    if (out_size < 8) {
        if (out_size)
            out[0] = '\0';
        return out;
    }
    out[o++] = '"';
    for (size_t i = 0; i < n && o + 6 < out_size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(out + o, out_size - o, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            o += (size_t)snprintf(out + o, out_size - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

static inline int ktap_run(const struct ktap_case *cases, size_t n)
{
    size_t failed = 0;

    printf("KTAP version 1\n1..%zu\n", n);
    fflush(stdout);
    for (size_t i = 0; i < n; i++) {
        const char *name = cases[i].name;
        unsigned f;

        if (strncmp(name, "test_", 5) == 0)
            name += 5;
        ktap_state()->case_failures = 0;
        ktap_state()->rng = KTAP_SEED;
        cases[i].fn();
        f = ktap_state()->case_failures;
        if (f > KTAP_MAX_DIAGNOSTICS)
            ktap_diag("%u more failures not shown", f - KTAP_MAX_DIAGNOSTICS);
        printf("%s %zu %s\n", f ? "not ok" : "ok", i + 1, name);
        fflush(stdout); /* a later crash must not lose this line */
        failed += f != 0;
    }
    ktap_diag("Totals: pass:%zu fail:%zu", n - failed, failed);
    return failed ? 1 : 0;
}

#define CHECK(cond)                                                      \
    do {                                                                 \
        if (!(cond))                                                     \
            ktap_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond);   \
    } while (0)

/* Integers, compared as long long; both values are printed on failure. */
#define CHECK_EQ(a, b)                                                               \
    do {                                                                             \
        long long a_ = (long long)(a), b_ = (long long)(b);                          \
        if (a_ != b_)                                                                \
            ktap_fail(__FILE__, __LINE__, "CHECK_EQ(%s, %s) failed: %lld != %lld",   \
                      #a, #b, a_, b_);                                               \
    } while (0)

#define CHECK_STREQ(a, b)                                                            \
    do {                                                                             \
        const char *a_ = (a), *b_ = (b);                                             \
        if (strcmp(a_, b_) != 0) {                                                   \
            char qa_[160], qb_[160];                                                 \
            ktap_fail(__FILE__, __LINE__, "CHECK_STREQ(%s, %s) failed: %s != %s",    \
                      #a, #b, ktap_quote(qa_, sizeof(qa_), a_, strlen(a_)),          \
                      ktap_quote(qb_, sizeof(qb_), b_, strlen(b_)));                 \
        }                                                                            \
    } while (0)
