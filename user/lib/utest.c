/*
 * utest.c: the test-program runner (see utest.h). The parent only spawns,
 * waits and reports; everything that can go wrong happens in a child.
 */
#include <stdarg.h>
#include "utest.h"
#include "ktap.h"
#include "lib/string.h"
#include "stdio.h"

int utest_failures;
const char *utest_name = "?";
int utest_argc;
char **utest_argv;
static const char *utest_program;

/* How long the parent waits for the kernel to give back what a dead child held. */
#define RECLAIM_WAIT_MS 2000
#define SLOW_TEST_MS 1000

void utest_fail(const char *file, int line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    __atomic_add_fetch(&utest_failures, 1, __ATOMIC_RELAXED);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ktap_diag("%s: %s:%d: %s", utest_name, file, line, msg);
}

long utest_free_pages(void)
{
    struct kstat ks;
    long n = sys_kstat(&ks, sizeof(ks));

    return n < 0 ? n : (long)(ks.free_pages + ks.cache_pages + ks.reserve_pages);
}

static long user_threads(void)
{
    struct kstat ks;
    long n = sys_kstat(&ks, sizeof(ks));

    return n < 0 ? n : (long)ks.user_threads;
}

int utest_spawn_wait(const char *name)
{
    char *argv[] = { (char *)utest_program, (char *)name, NULL };
    int status = -1;
    long pid = sys_spawn(utest_program, argv), ret;

    if (pid < 0)
        return (int)pid;
    while ((ret = sys_wait((int)pid, &status)) == -ENOMEM)
        ;       /* refused before it ran (no page for the kernel stack): try again */
    if (ret < 0)
        return (int)ret;
    return ret == pid ? status : -ESRCH;
}

static const char *const vector_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "vector 9", "#TS", "#NP",
    "#SS", "#GP", "#PF", "vector 15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

static void describe_status(char *buf, size_t size, int status)
{
    int vector = status - EXIT_KILLED_BASE;

    if (vector >= 0 && vector < 32 && vector_names[vector])
        snprintf(buf, size, "%d (killed by %s)", status, vector_names[vector]);
    else if (vector >= 0 && vector < 256)
        snprintf(buf, size, "%d (killed by vector %d)", status, vector);
    else
        snprintf(buf, size, "%d (exit %d)", status, status);
}

static void describe_expected(char *buf, size_t size, const struct utest *t)
{
    size_t len = 0;

    buf[0] = '\0';
    for (int i = 0; i < t->nexpect && len < size; i++) {
        char one[48];
        describe_status(one, sizeof(one), t->expect[i]);
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i == 0 ? "" : i == t->nexpect - 1 ? " or " : ", ", one);
    }
}

/* The count once it stops moving: a dead child's pages may come back a little after wait returns. */
long utest_stable_free_pages(void)
{
    long prev = utest_free_pages(), now = prev;

    for (int waited = 0; waited < RECLAIM_WAIT_MS; waited += 20) {
        sys_sleep_ms(20);
        now = utest_free_pages();
        if (now == prev)
            break;
        prev = now;
    }
    return now;
}

/* Waits (a little) for the count to come back to want, for the same reason. */
long utest_settle_free_pages(long want)
{
    long now = utest_free_pages();

    for (int waited = 0; now != want && waited < RECLAIM_WAIT_MS; waited += 10) {
        sys_sleep_ms(10);
        now = utest_free_pages();
    }
    return now;
}

static bool status_expected(const struct utest *t, int status)
{
    for (int i = 0; i < t->nexpect; i++)
        if (status == t->expect[i])
            return true;
    return false;
}

/* Report one test's result; with leak_check, also whether the free pages came back to `before`. */
static bool finish_one(struct ktap *k, const struct utest *t, int status, bool leak_check, long before, long after,
                       long start)
{
    char want[160], got[48];
    bool ok = status_expected(t, status);
    if (status < 0) {
        ktap_diag("%s: spawn or wait failed: %d", t->name, status);
    } else if (!ok) {
        describe_expected(want, sizeof(want), t);
        describe_status(got, sizeof(got), status);
        ktap_diag("%s: expected exit status %s, got %s", t->name, want, got);
    }
    if (leak_check && after != before) {
        ktap_diag("%s: %ld pages not given back (free + per-CPU cached pages: %ld before, %ld after)", t->name,
                  before - after, before, after);
        ok = false;
    }
    if (sys_uptime_ms() - start >= SLOW_TEST_MS)
        ktap_diag("%s: took %ld ms", t->name, sys_uptime_ms() - start);
    ktap_result(k, ok, t->name);
    return ok;
}

static bool run_one(struct ktap *k, const struct utest *t)
{
    long before = 0, after = 0, start = sys_uptime_ms();
    int status;

    if (t->flags & UTEST_LEAK_CHECK) {
        /*
         * A first run grows whatever the kernel keeps cached (slabs, page
         * tables); the second is measured. Both must end as expected: a
         * failure of the first is a failure too, not a warm-up.
         */
        status = utest_spawn_wait(t->name);
        if (!status_expected(t, status))
            return finish_one(k, t, status, false, 0, 0, start);
        before = utest_stable_free_pages();
    }
    status = utest_spawn_wait(t->name);
    if (t->flags & UTEST_LEAK_CHECK)
        after = utest_settle_free_pages(before);
    return finish_one(k, t, status, t->flags & UTEST_LEAK_CHECK, before, after, start);
}

/* Touch the stack the parent will use, so its own page faults do not look like a leak. */
__attribute__((noinline)) static void prefault_stack(void)
{
    volatile char pad[16 * 1024];

    for (size_t i = 0; i < sizeof(pad); i += 512)
        pad[i] = 0;
}

static int run_all(const char *suite, const struct utest *tests, int ntests)
{
    struct ktap k;
    int planned = 1;
    long before, after, threads_before, threads_after, start = sys_uptime_ms();
    bool ok;

    for (int i = 0; i < ntests; i++)
        planned += !(tests[i].flags & UTEST_HELPER);
    ktap_begin(&k, suite, planned);
    prefault_stack();
    utest_spawn_wait("nop");            /* warm up: the first process may grow kernel caches */
    before = utest_stable_free_pages();
    threads_before = user_threads();

    for (int i = 0; i < ntests; i++)
        if (!(tests[i].flags & UTEST_HELPER))
            run_one(&k, &tests[i]);

    after = utest_settle_free_pages(before);
    threads_after = user_threads();
    ok = before >= 0 && after == before && threads_after == threads_before;
    ktap_diag("free_pages_unchanged: free + per-CPU cached pages %ld before the tests, %ld after; "
              "user threads %ld, then %ld", before, after, threads_before, threads_after);
    ktap_result(&k, ok, "free_pages_unchanged");
    ktap_diag("%s: ran in %ld ms", suite, sys_uptime_ms() - start);
    return ktap_end(&k);
}

static int run_child(const struct utest *tests, int ntests, const char *name)
{
    if (strcmp(name, "nop") == 0)
        return 0;
    for (int i = 0; i < ntests; i++) {
        if (strcmp(tests[i].name, name) == 0) {
            utest_name = tests[i].name;
            tests[i].fn();
            return utest_failures ? 1 : 0;
        }
    }
    ktap_diag("%s: no test named '%s'", utest_program, name);
    return 2;
}

static const char *basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int utest_main(const char *suite, const char *program, const struct utest *tests, int ntests,
               int argc, char **argv)
{
    utest_program = program;
    utest_argc = argc;
    utest_argv = argv;
    if (argc >= 2)
        return run_child(tests, ntests, argv[1]);
    /* The whole suite runs only for exactly argv = {program}: a child whose
     * argv got lost or replaced (a bad-pointer test gone wrong) must not
     * start the suite again, recursively. */
    if (argc != 1 || strcmp(basename(argv[0]), program) != 0) {
        printf("%s: run as \"%s\" with %d arguments: not starting the tests\n", program,
               argc > 0 && argv[0] ? argv[0] : "", argc);
        return 2;
    }
    return run_all(suite, tests, ntests);
}
