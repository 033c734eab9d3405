/*
 * ktest.h: in-kernel tests. KTEST(suite, name) registers a test in the .ktest
 * linker section, next to the code it tests; `ktest=all|<suite>[,<suite>]` on
 * the command line runs them and reports KTAP version 1 on the console.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct ktest {
    const char *suite, *name;
    int failures;
    bool skipped;
    const char *skip_reason;
};

struct ktest_case {
    const char *suite;
    const char *name;
    void (*fn)(struct ktest *t);
    const char *file;       /* with line: tests run in source order */
    int line;
};

#define KTEST(suite, name)                                                              \
    static void ktest_##suite##_##name(struct ktest *t);                                \
    static const struct ktest_case ktest_case_##suite##_##name                          \
        __attribute__((used, section(".ktest"), aligned(8))) = { #suite, #name,         \
                                                                 ktest_##suite##_##name,  \
                                                                 __FILE__, __LINE__ };    \
    static void ktest_##suite##_##name(struct ktest *t)

void ktest_fail(struct ktest *t, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Record a failure and go on. */
#define KEXPECT(t, cond)                                                                \
    do {                                                                                \
        if (!(cond))                                                                    \
            ktest_fail((t), __FILE__, __LINE__, "expected %s", #cond);                  \
    } while (0)

#define KEXPECT_EQ(t, a, b)                                                             \
    do {                                                                                \
        long long _a = (long long)(a), _b = (long long)(b);                             \
        if (_a != _b)                                                                   \
            ktest_fail((t), __FILE__, __LINE__, "expected %s == %s, got %lld (%#llx) != %lld (%#llx)", \
                       #a, #b, _a, _a, _b, _b);                                         \
    } while (0)

#define KEXPECT_STREQ(t, a, b)                                                          \
    do {                                                                                \
        const char *_a = (a), *_b = (b);                                                \
        if (!ktest_streq(_a, _b))                                                       \
            ktest_fail((t), __FILE__, __LINE__, "expected %s == %s, got \"%s\" != \"%s\"", \
                       #a, #b, _a ? _a : "(null)", _b ? _b : "(null)");                 \
    } while (0)

/* Record a failure and end the test now. */
#define KREQUIRE(t, cond)                                                               \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            ktest_fail((t), __FILE__, __LINE__, "required %s", #cond);                  \
            return;                                                                     \
        }                                                                               \
    } while (0)

#define KSKIP(t, reason)                                                                \
    do {                                                                                \
        (t)->skipped = true;                                                            \
        (t)->skip_reason = (reason);                                                    \
        return;                                                                         \
    } while (0)

bool ktest_streq(const char *a, const char *b);

/* Run the suites named by spec ("all" or a comma-separated list); never returns. */
__attribute__((noreturn)) void ktest_main(const char *spec);

/* For the fault suite: does haystack contain needle? */
bool ktest_contains(const char *haystack, const char *needle);
/* Is this suite named in ktest= (not only reached through ktest=all)? For suites that end in a panic. */
bool named_in_ktest(const char *suite);

/*
 * A user process a test spawned with no parent to wait for it: wait (up to
 * 10 s) until no user thread is left and kmalloc's use has settled, so the
 * runner's leak check sees it gone.
 */
void ktest_wait_user_processes_gone(void);
