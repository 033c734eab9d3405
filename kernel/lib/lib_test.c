/*
 * lib/lib_test.c: in-kernel tests (suite "lib") of lib/vsnprintf.c and
 * lib/string.c, run as compiled for the kernel. The host tests in
 * tests/host/ compare the same code against libc, with sanitizers.
 */
#include <stddef.h>
#include <stdint.h>
#include "ktest.h"
#include "lib/format.h"
#include "lib/string.h"

#define INT_MIN_ (-__INT_MAX__ - 1)
#define UINT_MAX_ (__INT_MAX__ * 2U + 1U)
#define LONG_MIN_ (-__LONG_MAX__ - 1L)
#define LONG_MAX_ __LONG_MAX__
#define ULONG_MAX_ (~0UL)

/* Format into a buffer; check the text and that the return value is its length. */
#define EXPECT_FMT(t, expect, ...)                                 \
    do {                                                           \
        char out_[96];                                             \
        int n_ = snprintf(out_, sizeof(out_), __VA_ARGS__);        \
        KEXPECT_STREQ(t, out_, expect);                            \
        KEXPECT_EQ(t, n_, strlen(expect));                         \
    } while (0)

KTEST(lib, printk_integers)
{
    EXPECT_FMT(t, "-2147483648", "%d", INT_MIN_);
    EXPECT_FMT(t, "2147483647", "%i", __INT_MAX__);
    EXPECT_FMT(t, "4294967295", "%u", UINT_MAX_);
    EXPECT_FMT(t, "0", "%d", 0);
    EXPECT_FMT(t, "-1 -1 255", "%hhd %hd %hhu", (signed char)-1, (short)-1, (unsigned char)255);
    EXPECT_FMT(t, "-9223372036854775808", "%ld", LONG_MIN_);
    EXPECT_FMT(t, "18446744073709551615", "%llu", 0xffffffffffffffffULL);
    EXPECT_FMT(t, "18446744073709551615", "%zu", (size_t)-1);
    EXPECT_FMT(t, "-5 -7", "%td %jd", (ptrdiff_t)-5, (intmax_t)-7);
}

KTEST(lib, printk_hex_octal)
{
    EXPECT_FMT(t, "deadbeef DEADBEEF", "%x %X", 0xdeadbeefU, 0xdeadbeefU);
    EXPECT_FMT(t, "ffffffff80001234", "%lx", 0xffffffff80001234UL);
    EXPECT_FMT(t, "ffffffffffffffff", "%llx", 0xffffffffffffffffULL);
    EXPECT_FMT(t, "1777777777777777777777", "%llo", 0xffffffffffffffffULL);
    EXPECT_FMT(t, "755 0755 0x1f 0", "%o %#o %#x %#x", 0755U, 0755U, 0x1fU, 0U);
}

KTEST(lib, printk_width_flags)
{
    EXPECT_FMT(t, "0000beef", "%08x", 0xbeefU);
    EXPECT_FMT(t, "42   |", "%-5d|", 42);
    EXPECT_FMT(t, "   42|", "%5d|", 42);
    EXPECT_FMT(t, "-0042", "%05d", -42);
    EXPECT_FMT(t, "+42| 42", "%+d|% d", 42, 42);
    EXPECT_FMT(t, "  007", "%5.3d", 7);
    EXPECT_FMT(t, "   42|42    |", "%*d|%*d|", 5, 42, -6, 42);
    EXPECT_FMT(t, "", "%.0d", 0);
}

KTEST(lib, printk_strings_chars)
{
    EXPECT_FMT(t, "  abc|abc  |", "%5s|%-5s|", "abc", "abc");
    EXPECT_FMT(t, "abc", "%.3s", "abcdef");
    EXPECT_FMT(t, "ab", "%.*s", 2, "abcdef");
    /* GCC assumes libc, where %s with NULL is undefined; ours prints "(null)". */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-overflow"
    EXPECT_FMT(t, "(null)", "%s", (const char *)NULL);
    EXPECT_FMT(t, "(nu", "%.3s", (const char *)NULL);
#pragma GCC diagnostic pop
    EXPECT_FMT(t, "x    x", "%c%5c", 'x', 'x');
    EXPECT_FMT(t, "100%", "%d%%", 100);
}

KTEST(lib, printk_pointer_and_unknown)
{
    EXPECT_FMT(t, "0xffffffff80001234", "%p", (void *)0xffffffff80001234UL);
    EXPECT_FMT(t, "0x0000000000001000", "%p", (void *)0x1000);
    EXPECT_FMT(t, "0x0000000000000000", "%p", (void *)NULL);
    EXPECT_FMT(t, "0x0000000000000001  |", "%-20p|", (void *)1);
    /* Deliberately malformed formats: printed literally, no argument used. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
    EXPECT_FMT(t, "a%y b%-5w 7", "a%y b%-5w %d", 7);
    EXPECT_FMT(t, "50%", "50%");
#pragma GCC diagnostic pop
}

KTEST(lib, snprintf_truncation)
{
    char buf[8];

    KEXPECT_EQ(t, snprintf(NULL, 0, "%d", 12345), 5);

    memset(buf, 'X', sizeof(buf));
    KEXPECT_EQ(t, snprintf(buf, 1, "hello"), 5);
    KEXPECT_EQ(t, buf[0], '\0');
    KEXPECT_EQ(t, buf[1], 'X');

    memset(buf, 'X', sizeof(buf));
    KEXPECT_EQ(t, snprintf(buf, 5, "hello world"), 11);
    KEXPECT_STREQ(t, buf, "hell");
    KEXPECT_EQ(t, buf[5], 'X'); /* nothing written past size */

    KEXPECT_EQ(t, snprintf(buf, sizeof(buf), "%s", "1234567"), 7);
    KEXPECT_STREQ(t, buf, "1234567");
    KEXPECT_EQ(t, snprintf(buf, sizeof(buf), "%10d", 1), 10);
    KEXPECT_STREQ(t, buf, "       ");
}

KTEST(lib, memmove_overlap)
{
    char fwd[] = "0123456789", back[] = "0123456789";
    /* Word-aligned buffers take the word-at-a-time path. */
    uint64_t words[8], ref[8];

    memmove(fwd + 2, fwd, 6); /* dst above src: must copy backwards */
    KEXPECT_STREQ(t, fwd, "0101234589");
    memmove(back, back + 2, 6); /* dst below src: must copy forwards */
    KEXPECT_STREQ(t, back, "2345676789");

    for (int i = 0; i < 8; i++)
        words[i] = ref[i] = 0x1111111111111111ULL * (uint64_t)(i + 1);
    memmove(&words[1], &words[0], 6 * sizeof(uint64_t) + 3);
    KEXPECT(t, memcmp(&words[1], &ref[0], 6 * sizeof(uint64_t) + 3) == 0);
    KEXPECT(t, words[0] == ref[0]);
    memcpy(words, ref, sizeof(words));
    memmove(&words[0], &words[1], 7 * sizeof(uint64_t));
    KEXPECT(t, memcmp(&words[0], &ref[1], 7 * sizeof(uint64_t)) == 0);
    KEXPECT(t, words[7] == ref[7]);
}

KTEST(lib, memset_memcmp_memcpy)
{
    unsigned char buf[40];
    struct big { char bytes[300]; } a, b;

    memset(buf, 0, sizeof(buf));
    memset(buf + 3, 0xab, 21); /* unaligned start, spans words */
    KEXPECT_EQ(t, buf[2], 0);
    KEXPECT_EQ(t, buf[3], 0xab);
    KEXPECT_EQ(t, buf[23], 0xab);
    KEXPECT_EQ(t, buf[24], 0);

    KEXPECT(t, memcmp("abc", "abd", 3) < 0);
    KEXPECT(t, memcmp("abd", "abc", 3) > 0);
    KEXPECT(t, memcmp("abc", "abd", 2) == 0);
    KEXPECT(t, memcmp("a", "b", 0) == 0);
    KEXPECT(t, memcmp("\xff", "\x01", 1) > 0); /* bytes compare unsigned */

    /* A struct copy that GCC may turn into a call to memcpy. */
    memset(&a, 0x5a, sizeof(a));
    a.bytes[299] = 1;
    b = a;
    KEXPECT(t, memcmp(&a, &b, sizeof(a)) == 0);
    KEXPECT(t, memcpy(buf, "xyz", 4) == buf);
    KEXPECT_STREQ(t, (char *)buf, "xyz");
}

KTEST(lib, strtoul_bases)
{
    const char *s;
    char *end;

    s = "123abc";
    KEXPECT_EQ(t, strtoul(s, &end, 10), 123);
    KEXPECT(t, end == s + 3);
    s = "  0x1fZ";
    KEXPECT_EQ(t, strtoul(s, &end, 0), 0x1f);
    KEXPECT(t, end == s + 6);
    KEXPECT_EQ(t, strtoul("0777", NULL, 0), 0777);
    KEXPECT_EQ(t, strtoul("99", NULL, 0), 99);
    KEXPECT_EQ(t, strtoul("1010", NULL, 2), 10);
    KEXPECT_EQ(t, strtoul("zZ", NULL, 36), 35 * 36 + 35);
    KEXPECT_EQ(t, strtoul("ffffffff80001234", NULL, 16), 0xffffffff80001234UL);
    KEXPECT_EQ(t, strtoul("-1", NULL, 10), ULONG_MAX_);
    KEXPECT_EQ(t, strtoul("10000000000000000", NULL, 16), ULONG_MAX_); /* overflow saturates */

    s = "xyz"; /* no digits: end = s */
    KEXPECT_EQ(t, strtoul(s, &end, 10), 0);
    KEXPECT(t, end == s);
    s = "0xg"; /* "0x" without a hex digit is just the number 0 */
    KEXPECT_EQ(t, strtoul(s, &end, 16), 0);
    KEXPECT(t, end == s + 1);

    KEXPECT_EQ(t, strtol("-42", NULL, 10), -42);
    KEXPECT_EQ(t, strtol("-9223372036854775808", NULL, 10), LONG_MIN_);
    KEXPECT_EQ(t, strtol("9223372036854775808", NULL, 10), LONG_MAX_);
    KEXPECT_EQ(t, strtol("-9223372036854775809", NULL, 10), LONG_MIN_);
}

KTEST(lib, string_compare_search)
{
    const char *hay = "hello world";
    char dst[6];

    KEXPECT(t, strcmp("abc", "abd") < 0);
    KEXPECT(t, strcmp("abd", "abc") > 0);
    KEXPECT(t, strcmp("ab", "abc") < 0);
    KEXPECT(t, strcmp("abc", "abc") == 0);
    KEXPECT(t, strcmp("\xff", "a") > 0); /* characters compare unsigned */
    KEXPECT(t, strncmp("abcx", "abcy", 3) == 0);
    KEXPECT(t, strncmp("abcx", "abcy", 4) < 0);

    KEXPECT_EQ(t, strlen(""), 0);
    KEXPECT_EQ(t, strlen(hay), 11);
    KEXPECT_EQ(t, strnlen(hay, 4), 4);
    KEXPECT_EQ(t, strnlen(hay, 40), 11);

    KEXPECT(t, strstr(hay, "o w") == hay + 4);
    KEXPECT(t, strstr(hay, "") == hay);
    KEXPECT(t, strstr(hay, "worlds") == NULL);
    KEXPECT(t, strstr("aaab", "aab") != NULL);
    KEXPECT(t, strchr(hay, 'o') == hay + 4);
    KEXPECT(t, strrchr(hay, 'o') == hay + 7);
    KEXPECT(t, strchr(hay, '\0') == hay + 11);
    KEXPECT(t, strchr(hay, 'z') == NULL);

    KEXPECT_EQ(t, strlcpy(dst, hay, sizeof(dst)), 11); /* truncated: returns strlen(src) */
    KEXPECT_STREQ(t, dst, "hello");
    KEXPECT_EQ(t, strlcpy(dst, "hi", sizeof(dst)), 2);
    KEXPECT_STREQ(t, dst, "hi");
}
