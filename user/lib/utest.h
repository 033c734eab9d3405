/*
 * utest.h: the runner behind usertests and entrytests, after xv6's usertests.
 * Run without arguments, a test program spawns itself once per test with
 * argv[1] = the test's name, waits, compares the child's exit status with
 * the statuses the test accepts, and reports KTAP (ktap.h). The free-page
 * count is compared before and after the whole run.
 *
 *   static void test_foo(void) { UT_CHECK(sys_getpid() > 0); }
 *   static void test_bar(void) { *(volatile int *)0 = 1; }
 *   static const struct utest tests[] = { UTEST(foo), UTEST_KILLED(bar, 14) };
 *   int main(int argc, char **argv) { return utest_main("suite", "program", tests, UTEST_COUNT(tests), argc, argv); }
 *
 * The suite runs only when argv is exactly {program} (a path to it is fine):
 * anything else with no test name exits 2, so that a spawn whose argv the
 * kernel mangled cannot start the whole suite again.
 *
 * In the child, a test passes if it returns with no failed UT_CHECK (exit
 * status 0). A test whose point is to be killed passes if the kernel kills
 * it with the expected status (EXIT_KILLED_BASE + vector).
 */
#pragma once
#include "syscall.h"

#define UTEST_MAX_EXPECT 4

struct utest {
    const char *name;
    void (*fn)(void);               /* runs in a child process of its own */
    int expect[UTEST_MAX_EXPECT];   /* the exit statuses that pass */
    int nexpect;
    unsigned flags;
};

#define UTEST_HELPER 1u       /* not a test: a child that tests spawn by name; not run on its own */
#define UTEST_LEAK_CHECK 2u   /* also check that the pages the child used are all back after wait */

#define UTEST_EXPECT(name, flags, ...)                                                     \
    { #name, test_##name, { __VA_ARGS__ }, sizeof((int[]){ __VA_ARGS__ }) / sizeof(int), (flags) }
#define UTEST(name) UTEST_EXPECT(name, 0, 0)
#define UTEST_KILLED(name, vector) UTEST_EXPECT(name, 0, EXIT_KILLED_BASE + (vector))
#define UTEST_HELPER_ENTRY(name) UTEST_EXPECT(name, UTEST_HELPER, 0)
#define UTEST_COUNT(tests) ((int)(sizeof(tests) / sizeof((tests)[0])))

/* Vectors named in expectations. */
enum { VEC_DE = 0, VEC_DB = 1, VEC_BP = 3, VEC_UD = 6, VEC_SS = 12, VEC_GP = 13, VEC_PF = 14 };

int utest_main(const char *suite, const char *program, const struct utest *tests, int ntests,
               int argc, char **argv);

/* Spawns program with argv {program, name, NULL}, waits: the exit status, or a negative errno. */
int utest_spawn_wait(const char *name);

/* The pages neither free nor in a per-CPU cache are in use: compare this before and after. */
long utest_free_pages(void);
/* utest_free_pages() once it stops moving (a dead child's pages may come back a little after wait returns). */
long utest_stable_free_pages(void);
/* utest_free_pages() once it is back to want (the caches balance in the background), or after ~2 s. */
long utest_settle_free_pages(long want);

/* In the child: record a failure of the running test, with a diagnostic. */
void utest_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
extern int utest_failures;
extern const char *utest_name;
extern int utest_argc;          /* the child's own argc and argv, for tests that spawn with more */
extern char **utest_argv;

#define UT_CHECK(cond)                                                          \
    do {                                                                        \
        if (!(cond))                                                            \
            utest_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond);          \
    } while (0)

/* Integers as long long; on failure both values are printed, in decimal and hex. */
#define UT_CHECK_EQ(a, b)                                                                   \
    do {                                                                                    \
        long long a_ = (long long)(a), b_ = (long long)(b);                                 \
        if (a_ != b_)                                                                       \
            utest_fail(__FILE__, __LINE__, "CHECK_EQ(%s, %s) failed: %lld (%#llx) != %lld (%#llx)", \
                       #a, #b, a_, a_, b_, b_);                                             \
    } while (0)

/* A value the compiler cannot see through: keeps deliberate bad pointers from being "optimised". */
static inline unsigned long opaque(unsigned long v)
{
    __asm__ volatile("" : "+r"(v));
    return v;
}
static inline void *opaque_ptr(unsigned long v) { return (void *)opaque(v); }
