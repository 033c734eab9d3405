// host-test-sources: kernel/lib/string.c
/*
 * tests/host/test_string.c: the kernel's memory and string functions
 * (kernel/lib/string.c, as k_memcpy etc.) against the host libc on fixed edge cases and on
 * randomized inputs with a fixed seed. strlcpy, which glibc may lack, is
 * checked against its BSD definition instead.
 */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ktap_host.h"
#include "lib/string.h"

#define ROUNDS 20000
#define ARENA 256

static int sign(long long x)
{
    return (x > 0) - (x < 0);
}

static void fill_random(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)ktap_rand();
}

/* A random NUL-terminated string of length < max from alphabet. */
static void random_string(char *out, size_t max, const char *alphabet)
{
    size_t len = ktap_rand_below(max), k = strlen(alphabet);

    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[ktap_rand_below(k)];
    out[len] = '\0';
}

/* memcpy into a random spot (any alignment): only [dst, dst + n) changes. */
static void test_memcpy_random(void)
{
    unsigned char src[ARENA], got[ARENA], want[ARENA];

    for (int i = 0; i < ROUNDS; i++) {
        size_t n = ktap_rand_below(ARENA / 2), d = ktap_rand_below(ARENA / 2),
               s = ktap_rand_below(ARENA / 2);
        fill_random(src, sizeof(src));
        fill_random(got, sizeof(got));
        memcpy(want, got, sizeof(got));

        CHECK(k_memcpy(got + d, src + s, n) == got + d);
        memcpy(want + d, src + s, n);
        if (memcmp(got, want, sizeof(got)) != 0) {
            ktap_fail(__FILE__, __LINE__, "memcpy dst+%zu src+%zu n %zu differs", d, s, n);
            return;
        }
    }
}

/* memmove within one buffer, overlapping in either direction. */
static void test_memmove_random(void)
{
    unsigned char got[ARENA], want[ARENA];

    for (int i = 0; i < ROUNDS; i++) {
        size_t n = ktap_rand_below(ARENA / 2);
        size_t d = ktap_rand_below(ARENA - n + 1), s = ktap_rand_below(ARENA - n + 1);
        /* Every fourth round: word-aligned offsets, to exercise the word loops. */
        if (i % 4 == 0) {
            d &= ~(size_t)7;
            s &= ~(size_t)7;
        }
        fill_random(got, sizeof(got));
        memcpy(want, got, sizeof(got));

        CHECK(k_memmove(got + d, got + s, n) == got + d);
        memmove(want + d, want + s, n);
        if (memcmp(got, want, sizeof(got)) != 0) {
            ktap_fail(__FILE__, __LINE__, "memmove dst+%zu src+%zu n %zu differs", d, s, n);
            return;
        }
    }
}

static void test_memset_random(void)
{
    unsigned char got[ARENA], want[ARENA];

    for (int i = 0; i < ROUNDS; i++) {
        size_t n = ktap_rand_below(ARENA / 2), d = ktap_rand_below(ARENA / 2);
        int c = (int)ktap_rand_below(1024) - 512; /* only the low byte counts */
        fill_random(got, sizeof(got));
        memcpy(want, got, sizeof(got));

        CHECK(k_memset(got + d, c, n) == got + d);
        memset(want + d, c, n);
        if (memcmp(got, want, sizeof(got)) != 0) {
            ktap_fail(__FILE__, __LINE__, "memset +%zu c %d n %zu differs", d, c, n);
            return;
        }
    }
}

/* Equal buffers with at most one differing byte: the sign must match libc. */
static void test_memcmp_random(void)
{
    unsigned char a[ARENA], b[ARENA];

    CHECK(k_memcmp("\x80", "\x7f", 1) > 0);
    CHECK(k_memcmp("abc", "abd", 0) == 0);
    for (int i = 0; i < ROUNDS; i++) {
        size_t n = ktap_rand_below(ARENA / 2), oa = ktap_rand_below(ARENA / 2),
               ob = ktap_rand_below(ARENA / 2);
        fill_random(a, sizeof(a));
        memcpy(b + ob, a + oa, n);
        if (n && ktap_rand_below(4) != 0)
            b[ob + ktap_rand_below(n)] = (unsigned char)ktap_rand();

        int got = k_memcmp(a + oa, b + ob, n), want = memcmp(a + oa, b + ob, n);
        if (sign(got) != sign(want)) {
            ktap_fail(__FILE__, __LINE__, "memcmp n %zu: ours %d, libc %d", n, got, want);
            return;
        }
    }
}

/* Bytes above 0x7f sort after ASCII: strings compare as unsigned char. */
static const char string_alphabet[] = "ab\x7f\x80\xff";

static void test_strlen_strcmp_random(void)
{
    char a[40], b[40];

    CHECK_EQ(k_strlen(""), 0);
    CHECK_EQ(k_strnlen("abc", 0), 0);
    CHECK(k_strcmp("", "") == 0);
    CHECK(k_strcmp("a", "") > 0);
    CHECK(k_strncmp("", "a", 0) == 0);
    for (int i = 0; i < ROUNDS; i++) {
        size_t n = ktap_rand_below(12);
        random_string(a, 10, string_alphabet);
        /* Half the time b starts as a copy, so long common prefixes happen. */
        if (ktap_rand_below(2)) {
            random_string(b, 10, string_alphabet);
        } else {
            size_t len = strlen(a), k = ktap_rand_below(len + 1);
            strcpy(b, a);
            b[k] = string_alphabet[ktap_rand_below(5)];
            if (k == len)
                b[k + 1] = '\0';
        }

        CHECK_EQ(k_strlen(a), strlen(a));
        CHECK_EQ(k_strnlen(a, n), strnlen(a, n));
        CHECK_EQ(sign(k_strcmp(a, b)), sign(strcmp(a, b)));
        CHECK_EQ(sign(k_strncmp(a, b, n)), sign(strncmp(a, b, n)));
        if (ktap_state()->case_failures) {
            ktap_diag("round %d, n %zu", i, n);
            return;
        }
    }
}

static void test_strchr_strstr_random(void)
{
    char hay[40], needle[6];

    CHECK(k_strstr("", "") != NULL);
    CHECK(k_strstr("", "a") == NULL);
    CHECK(k_strchr("abc", 'a' + 256) != NULL); /* c is converted to char */
    for (int i = 0; i < ROUNDS; i++) {
        int c = (unsigned char)"ab\xff"[ktap_rand_below(4)]; /* the 4th is '\0' */
        random_string(hay, 30, "aab\xff");
        random_string(needle, 5, "ab");

        CHECK(k_strchr(hay, c) == strchr(hay, c));
        CHECK(k_strrchr(hay, c) == strrchr(hay, c));
        CHECK(k_strstr(hay, needle) == strstr(hay, needle));
        if (ktap_state()->case_failures) {
            char qh[100], qn[20];
            ktap_diag("round %d: hay %s needle %s c 0x%x", i,
                      ktap_quote(qh, sizeof(qh), hay, strlen(hay)),
                      ktap_quote(qn, sizeof(qn), needle, strlen(needle)), c);
            return;
        }
    }
}

/* BSD strlcpy: returns strlen(src), copies min(len, size - 1), always terminates. */
static void test_strlcpy(void)
{
    char src[40], dst[48];

    for (int i = 0; i < ROUNDS; i++) {
        size_t size = ktap_rand_below(40), len, n;
        random_string(src, 40, "xyz");
        len = strlen(src);
        n = size == 0 ? 0 : (len < size - 1 ? len : size - 1);
        memset(dst, '#', sizeof(dst));

        CHECK_EQ(k_strlcpy(dst, src, size), len);
        CHECK(memcmp(dst, src, n) == 0);
        if (size)
            CHECK_EQ(dst[n], '\0');
        for (size_t j = size; j < sizeof(dst); j++)
            CHECK_EQ(dst[j], '#'); /* nothing past size */
        if (ktap_state()->case_failures) {
            ktap_diag("round %d: len %zu size %zu", i, len, size);
            return;
        }
    }
}

/*
 * Compare strtoul and strtol with libc for one string and base: value and
 * end position. libc leaves *end unspecified for an invalid base (glibc does
 * not set it), so those bases are tested separately.
 */
static bool compare_strto(const char *file, int line, const char *s, int base)
{
    char *got_end, *want_end, q[80];
    unsigned long got_u = k_strtoul(s, &got_end, base), want_u = strtoul(s, &want_end, base);
    ptrdiff_t got_eu = got_end - s, want_eu = want_end - s;
    long got_l = k_strtol(s, &got_end, base), want_l = strtol(s, &want_end, base);

    if (got_u == want_u && got_l == want_l && got_eu == want_eu && got_end == want_end)
        return true;
    ktap_fail(file, line, "%s base %d: strtoul ours %lu end +%td, libc %lu end +%td; "
              "strtol ours %ld end +%td, libc %ld end +%td",
              ktap_quote(q, sizeof(q), s, strlen(s)), base, got_u, got_eu, want_u, want_eu,
              got_l, got_end - s, want_l, want_end - s);
    return false;
}

static void test_strtoul_edges_vs_libc(void)
{
    static const char *const strings[] = {
        "", " ", "+", "-", "+-1", "0", "00", "0x", "0X", "0x1f", "0X1F", "0xg", "-0x10",
        " \t\n\v\f\r+42", "077", "08", "09", "1e10", "12abc", "zz", "Zz!", "-0", "- 1",
        "ffffffffffffffff", "0xffffffffffffffff", "18446744073709551615",
        "18446744073709551616", "-18446744073709551615", "-18446744073709551616",
        "99999999999999999999999", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "-9223372036854775809", "1777777777777777777777",
        "2000000000000000000000", "3w5e11264sgsf", "3w5e11264sgsg",
        "1111111111111111111111111111111111111111111111111111111111111111",
        "11111111111111111111111111111111111111111111111111111111111111111",
    };
    static const int bases[] = { 0, 2, 8, 10, 16, 36 };

    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        for (size_t j = 0; j < sizeof(bases) / sizeof(bases[0]); j++)
            compare_strto(__FILE__, __LINE__, strings[i], bases[j]);
    }
}

static void test_strtoul_invalid_base(void)
{
    static const int bad[] = { -1, 1, 37, INT_MIN, INT_MAX };
    const char *s = "  123";
    char *end;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        end = NULL;
        CHECK_EQ(k_strtoul(s, &end, bad[i]), 0);
        CHECK(end == s);
        end = NULL;
        CHECK_EQ(k_strtol(s, &end, bad[i]), 0);
        CHECK(end == s);
    }
    CHECK_EQ(k_strtoul("123", NULL, 10), 123); /* end may be NULL */
}

/*
 * Random strings of signs, spaces, digits and letters in every base. No 'b'
 * or 'B': C23 libcs read "0b" as a binary prefix in base 0 and 2, C11 does not.
 */
static void test_strtoul_random_vs_libc(void)
{
    static const char alphabet[] = " \t+-0000111789aAcdefxXzZ";
    char s[30];
    unsigned failures = 0;

    for (int i = 0; i < ROUNDS * 5 && failures < 10; i++) {
        int base = ktap_rand_below(3) == 0 ? 0 : 2 + (int)ktap_rand_below(35);
        random_string(s, ktap_rand_below(2) ? 8 : sizeof(s), alphabet);
        failures += !compare_strto(__FILE__, __LINE__, s, base);
    }
    /* Long digit runs, near and past overflow. */
    for (int i = 0; i < ROUNDS && failures < 10; i++) {
        static const int bases[] = { 0, 2, 8, 10, 16, 36 };
        int base = bases[ktap_rand_below(6)];
        size_t len = 1 + ktap_rand_below(28);
        s[0] = "+- "[ktap_rand_below(3)];
        for (size_t j = 1; j < len; j++)
            s[j] = "0123456789acdefzACDEFZ"[ktap_rand_below(22)];
        s[len] = '\0';
        failures += !compare_strto(__FILE__, __LINE__, s, base);
    }
}

static const struct ktap_case cases[] = {
    KTAP_CASE(test_memcpy_random),
    KTAP_CASE(test_memmove_random),
    KTAP_CASE(test_memset_random),
    KTAP_CASE(test_memcmp_random),
    KTAP_CASE(test_strlen_strcmp_random),
    KTAP_CASE(test_strchr_strstr_random),
    KTAP_CASE(test_strlcpy),
    KTAP_CASE(test_strtoul_edges_vs_libc),
    KTAP_CASE(test_strtoul_invalid_base),
    KTAP_CASE(test_strtoul_random_vs_libc),
};

int main(void)
{
    return KTAP_RUN(cases);
}
