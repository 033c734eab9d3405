/*
 * usertests.c: the syscall interface tested from user space, after xv6's
 * usertests. Each test runs in a process of its own (lib/utest.h): bad
 * pointers, faults that must kill, many threads and processes, futexes,
 * mmap, sleeping; and the free-page count must be the same at the end.
 * Prints KTAP for suite "usertests" and exits 0 only if everything passed.
 */
#include <stdbool.h>
#include "crt0.h"
#include "lib/string.h"
#include "stdio.h"
#include "syscall.h"
#include "thread.h"
#include "utest.h"

#define PROGRAM "usertests"
#define PAGE 4096ul
#define USER_TOP 0x0000800000000000ul

/* ---------------------------------------------------------------- helpers */

/* Addresses no syscall may read or write for the caller. */
static const unsigned long bad_addrs[] = {
    0,                          /* NULL */
    0xffffffff80100000ul,       /* kernel text */
    0xffff800000000000ul,       /* the direct map of physical memory */
    0x0000800000000000ul,       /* the first non-canonical address */
    0x8000000000000000ul,       /* non-canonical */
    0x0000010000000000ul,       /* user space, never mapped */
};
#define NBAD (sizeof(bad_addrs) / sizeof(bad_addrs[0]))

/*
 * A page that is mapped (touched, filled with newlines, which are harmless
 * if a syscall writes part of them to the console) followed by a page that
 * is not: buffers that start at its end run into the hole.
 */
static char *edge_page(void)
{
    long p = sys_mmap_anon(2 * PAGE, PROT_READ | PROT_WRITE);

    if (p < 0) {
        utest_fail(__FILE__, __LINE__, "mmap_anon(2 pages) failed: %ld", p);
        return NULL;
    }
    UT_CHECK_EQ(sys_munmap((char *)p + PAGE, PAGE), 0);
    memset((char *)p, '\n', PAGE);
    return (char *)p;
}

static void expect_efault(const char *call, unsigned long addr, long ret)
{
    if (ret != -EFAULT)
        utest_fail(__FILE__, __LINE__, "%s with %#lx returned %ld, expected -EFAULT (%d)", call, addr, ret,
                   -EFAULT);
}

/*
 * For the optional pointers (spawn's argv, wait's status, thread_join's
 * value) NULL may mean "none", as in Linux: then the call succeeds (ok) and
 * stores nothing. Any other bad address must give -EFAULT.
 */
static void expect_efault_or_null_ok(const char *call, unsigned long addr, long ret, long ok)
{
    if (addr == 0 && ret == ok)
        return;
    expect_efault(call, addr, ret);
}

static long spawn_args(char *const argv[])
{
    return sys_spawn(PROGRAM, argv);
}

/* Spawns this program with argv, waits; the exit status or a negative errno. */
static int spawn_wait_args(char *const argv[])
{
    int status = -1;
    long pid = spawn_args(argv);

    if (pid < 0)
        return (int)pid;
    if (sys_wait((int)pid, &status) != pid)
        return -ESRCH;
    return status;
}

static long spawn_nop(void)
{
    char *argv[] = { PROGRAM, "nop", NULL };
    return spawn_args(argv);
}

static void nothing(void *arg)
{
    (void)arg;
}

static long kstat_or_fail(struct kstat *ks)
{
    long n = sys_kstat(ks, sizeof(*ks));
    if (n != (long)sizeof(*ks))
        utest_fail(__FILE__, __LINE__, "kstat returned %ld, expected %zu", n, sizeof(*ks));
    return n;
}

/* ---------------------------------------------------------------- bad pointers */

static void test_badptr_write(void)
{
    char *edge = edge_page();

    for (size_t i = 0; i < NBAD; i++)
        expect_efault("write(1, buf, 16)", bad_addrs[i], sys_write(1, opaque_ptr(bad_addrs[i]), 16));
    if (!edge)
        return;
    expect_efault("write(1, buf, 16) across a hole", (unsigned long)(edge + PAGE - 8),
                  sys_write(1, edge + PAGE - 8, 16));
    /* A length that wraps the address space: the range check must not overflow. */
    long r = sys_write(1, edge + PAGE - 8, ~0ul >> 1);
    if (r != -EFAULT && r != -EINVAL)
        utest_fail(__FILE__, __LINE__, "write with length LONG_MAX returned %ld", r);
}

/* A spawn that must fail with -EFAULT; a child it started anyway is waited for (with NULL argv it may start). */
static void spawn_expect_efault(const char *what, unsigned long addr, const char *program, char *const *argv,
                                bool null_ok)
{
    long pid = sys_spawn(program, argv);

    if (pid > 0) {
        int status;
        sys_wait((int)pid, &status);
        if (null_ok && addr == 0)
            return;
    }
    expect_efault(what, addr, pid);
}

static void test_badptr_spawn(void)
{
    char *argv_ok[] = { PROGRAM, "nop", NULL };
    char *edge = edge_page();

    for (size_t i = 0; i < NBAD; i++) {
        unsigned long a = bad_addrs[i];
        spawn_expect_efault("spawn(program)", a, opaque_ptr(a), argv_ok, false);
        /* argv NULL may be an empty argv: that child exits 2 at once (utest.h) */
        spawn_expect_efault("spawn(argv)", a, PROGRAM, opaque_ptr(a), true);
        if (a != 0) {   /* a NULL element just ends argv */
            char *argv_bad[] = { PROGRAM, opaque_ptr(a), NULL };
            spawn_expect_efault("spawn(argv[1])", a, PROGRAM, argv_bad, false);
        }
    }
    if (!edge)
        return;
    /* The program name runs into the hole without a terminator. */
    memcpy(edge + PAGE - 9, PROGRAM, 9);
    spawn_expect_efault("spawn(program) across a hole", (unsigned long)(edge + PAGE - 9), edge + PAGE - 9,
                        argv_ok, false);
    /* So does an argv array without its NULL... */
    char **argv_edge = (char **)(edge + PAGE - 2 * sizeof(char *));
    argv_edge[0] = PROGRAM;
    argv_edge[1] = "nop";
    spawn_expect_efault("spawn(argv) across a hole", (unsigned long)argv_edge, PROGRAM, argv_edge, false);
    /* ...and an argument string. */
    memcpy(edge + PAGE - 3, "nop", 3);
    char *argv_str[] = { PROGRAM, edge + PAGE - 3, NULL };
    spawn_expect_efault("spawn(argv[1]) across a hole", (unsigned long)(edge + PAGE - 3), PROGRAM, argv_str,
                        false);
}

static void test_badptr_wait(void)
{
    char *edge = edge_page();

    for (size_t i = 0; i <= NBAD; i++) {
        unsigned long a = i < NBAD ? bad_addrs[i] : (unsigned long)(edge + PAGE - 2);
        long pid = spawn_nop(), r;
        int status;

        if (i == NBAD && !edge)
            break;
        if (pid < 0) {
            utest_fail(__FILE__, __LINE__, "spawn failed: %ld", pid);
            return;
        }
        expect_efault_or_null_ok("wait(pid, status)", a, sys_wait((int)pid, opaque_ptr(a)), pid);
        /* Whether the failed wait reaped the child is the kernel's choice; either way it is gone now. */
        r = sys_wait((int)pid, &status);
        if (r != pid && r != -ECHILD)
            utest_fail(__FILE__, __LINE__, "second wait for %ld returned %ld", pid, r);
    }
}

static void test_badptr_thread_join(void)
{
    int tids[NBAD + 1];
    char *edge;

    /* Threads first: their stacks are mmap()ed, and one must not land in the edge page's hole. */
    for (size_t i = 0; i <= NBAD; i++) {
        tids[i] = thread_spawn(nothing, NULL);
        if (tids[i] < 0)
            utest_fail(__FILE__, __LINE__, "thread_spawn failed: %d", tids[i]);
    }
    edge = edge_page();
    for (size_t i = 0; i <= NBAD; i++) {
        unsigned long a = i < NBAD ? bad_addrs[i] : (unsigned long)(edge + PAGE - 4);
        long value;

        if (tids[i] < 0 || (i == NBAD && !edge))
            continue;
        expect_efault_or_null_ok("thread_join(tid, value)", a, sys_thread_join(tids[i], opaque_ptr(a)), 0);
        /* Whether the failed join consumed the thread is the kernel's choice; a good pointer never faults. */
        if (thread_join(tids[i], &value) == -EFAULT)
            utest_fail(__FILE__, __LINE__, "thread_join with a good pointer returned -EFAULT");
    }
}

static void test_badptr_futex(void)
{
    char *edge = edge_page();

    for (size_t i = 0; i <= NBAD; i++) {
        /* The hole case: the first word of the unmapped page (a futex word cannot straddle). */
        unsigned long a = i < NBAD ? bad_addrs[i] : (unsigned long)(edge + PAGE);

        if (i == NBAD && !edge)
            break;
        /* A timeout, so that a kernel that reads 0 there sleeps 100 ms instead of forever. */
        expect_efault("futex_wait", a, sys_futex_wait(opaque_ptr(a), 0, 100));
        expect_efault("futex_wake", a, sys_futex_wake(opaque_ptr(a), 1));
    }
}

static void test_badptr_kstat(void)
{
    char *edge = edge_page();

    for (size_t i = 0; i <= NBAD; i++) {
        unsigned long a = i < NBAD ? bad_addrs[i] : (unsigned long)(edge + PAGE - 16);

        if (i == NBAD && !edge)
            break;
        expect_efault("kstat", a, sys_kstat(opaque_ptr(a), sizeof(struct kstat)));
    }
}

static void exit_77(void *arg)
{
    (void)arg;
    sys_thread_exit(77);
}

/* User pointers into pages not yet faulted in are fine: the kernel must fault them in, not fail. */
static void test_uaccess_demand_fault(void)
{
    long map = sys_mmap_anon(4 * PAGE, PROT_READ | PROT_WRITE), pid;
    char *p = (char *)map;
    int tid;

    if (map < 0) {
        utest_fail(__FILE__, __LINE__, "mmap_anon failed: %ld", map);
        return;
    }
    UT_CHECK_EQ(sys_kstat((struct kstat *)p, sizeof(struct kstat)), sizeof(struct kstat));
    UT_CHECK_EQ(((struct kstat *)p)->version, 1);
    UT_CHECK_EQ(sys_futex_wait((int *)(p + PAGE), 1, 0), -EAGAIN);   /* reads 0 from a fresh page */
    pid = spawn_nop();
    UT_CHECK(pid > 0);
    UT_CHECK_EQ(sys_wait((int)pid, (int *)(p + 2 * PAGE)), pid);
    UT_CHECK_EQ(*(int *)(p + 2 * PAGE), 0);
    tid = thread_spawn(exit_77, NULL);
    UT_CHECK(tid > 0);
    UT_CHECK_EQ(sys_thread_join(tid, (long *)(p + 3 * PAGE)), 0);
    UT_CHECK_EQ(*(long *)(p + 3 * PAGE), 77);
    UT_CHECK_EQ(sys_munmap(p, 4 * PAGE), 0);
}

/* ---------------------------------------------------------------- errors */

static void test_unknown_syscall(void)
{
    UT_CHECK_EQ(syscall6(SYSCALL_COUNT, 0, 0, 0, 0, 0, 0), -ENOSYS);
    UT_CHECK_EQ(syscall6(1000, 0, 0, 0, 0, 0, 0), -ENOSYS);
    UT_CHECK_EQ(syscall6(-1, 0, 0, 0, 0, 0, 0), -ENOSYS);
    UT_CHECK(sys_getpid() > 0);     /* and the process goes on */
}

static void test_bad_fd(void)
{
    UT_CHECK_EQ(sys_write(3, "x", 1), -EBADF);
    UT_CHECK_EQ(sys_write(-1, "x", 1), -EBADF);
    UT_CHECK_EQ(sys_write(1000, "x", 1), -EBADF);
    UT_CHECK_EQ(sys_write(1, "", 0), 0);
    UT_CHECK_EQ(sys_write(2, "    # bad_fd: fd 2 works\n", 25), 25);
}

static void test_spawn_errors(void)
{
    char *argv[] = { "no-such-program", NULL };
    char *argv_empty[] = { "", NULL };
    int status;

    UT_CHECK_EQ(sys_spawn("no-such-program", argv), -ENOENT);
    UT_CHECK_EQ(sys_spawn("", argv_empty), -ENOENT);
    UT_CHECK_EQ(sys_wait((int)sys_getpid(), &status), -ECHILD);    /* not our child */
    UT_CHECK_EQ(sys_wait(99999, &status), -ECHILD);
}

/* ---------------------------------------------------------------- spawn, argv, exit */

#define LONG_ARG_LEN 200

static void long_arg(char *buf)
{
    for (int i = 0; i < LONG_ARG_LEN; i++)
        buf[i] = (char)('a' + i % 26);
    buf[LONG_ARG_LEN] = '\0';
}

/* The child of spawn_argv: argv as sent, and the rest of the System V initial stack. */
static void test_argv_child(void)
{
    char **argv = utest_argv, expect_long[LONG_ARG_LEN + 1];

    long_arg(expect_long);
    UT_CHECK_EQ(utest_argc, 6);
    if (utest_argc != 6)
        return;
    UT_CHECK(strcmp(argv[0], PROGRAM) == 0);
    UT_CHECK(strcmp(argv[2], "one") == 0);
    UT_CHECK(strcmp(argv[3], "") == 0);
    UT_CHECK(strcmp(argv[4], "three 3") == 0);
    UT_CHECK(strcmp(argv[5], expect_long) == 0);
    UT_CHECK(argv[6] == NULL);
    UT_CHECK(environ == argv + 7 && environ[0] == NULL);
    /* The auxiliary vector: (type, value) pairs ending with AT_NULL (today it holds only that). */
    int pairs = 0;
    while (pairs < 64 && crt0_auxv[2 * pairs] != AT_NULL)
        pairs++;
    UT_CHECK(pairs < 64);
    UT_CHECK_EQ(crt0_initial_sp % 16, 0);
    UT_CHECK_EQ(*(unsigned long *)crt0_initial_sp, 6);
    for (int i = 0; i < 6; i++)
        UT_CHECK((unsigned long)argv[i] < USER_TOP);
    argv[2][0] = 'O';           /* the strings are the program's own, writable */
    UT_CHECK(strcmp(argv[2], "One") == 0);
}

static void test_spawn_argv(void)
{
    char long_str[LONG_ARG_LEN + 1];
    char *argv[] = { PROGRAM, "argv_child", "one", "", "three 3", long_str, NULL };

    long_arg(long_str);
    UT_CHECK_EQ(spawn_wait_args(argv), 0);
}

#define MANY_ARGS 32

static void many_arg(char *buf, size_t size, int i)
{
    int len = snprintf(buf, size, "arg%02d:", i);

    for (int k = 0; k < (i * 7) % 90 && len + 1 < (int)size; k++)
        buf[len++] = (char)('a' + i % 26);
    buf[len] = '\0';
}

static void test_argv_many_child(void)
{
    char want[128];

    UT_CHECK_EQ(utest_argc, MANY_ARGS);
    for (int i = 2; i < utest_argc && i < MANY_ARGS; i++) {
        many_arg(want, sizeof(want), i);
        if (strcmp(utest_argv[i], want) != 0)
            utest_fail(__FILE__, __LINE__, "argv[%d] is \"%s\", expected \"%s\"", i, utest_argv[i], want);
    }
}

static void test_spawn_many_args(void)
{
    static char bufs[MANY_ARGS][128];
    char *argv[MANY_ARGS + 1] = { PROGRAM, "argv_many_child" };

    for (int i = 2; i < MANY_ARGS; i++) {
        many_arg(bufs[i], sizeof(bufs[i]), i);
        argv[i] = bufs[i];
    }
    argv[MANY_ARGS] = NULL;
    UT_CHECK_EQ(spawn_wait_args(argv), 0);
}

/* The runner expects status 42: what sys_exit passes on to wait. */
static void test_exit_status(void)
{
    sys_exit(42);
}

static void exit_7(void *arg)
{
    (void)arg;
    sys_exit(7);
}

/* Any thread's exit ends the process with its code: status 7, not main's. */
static void test_exit_from_thread(void)
{
    thread_spawn(exit_7, NULL);
    sys_sleep_ms(5000);
    utest_fail(__FILE__, __LINE__, "still running 5 s after a thread called exit(7)");
}

/* ---------------------------------------------------------------- threads */

struct ids {
    long tid, pid;
};

static void record_ids(void *arg)
{
    struct ids *ids = arg;

    ids->tid = sys_gettid();
    ids->pid = sys_getpid();
    sys_thread_exit(0x1234500000l + ids->tid);
}

static void test_threads_basic(void)
{
    struct ids ids[4];
    int tids[4];
    long main_tid = sys_gettid(), pid = sys_getpid(), value;

    UT_CHECK(main_tid > 0);
    for (int i = 0; i < 4; i++) {
        tids[i] = thread_spawn(record_ids, &ids[i]);
        UT_CHECK(tids[i] > 0);
    }
    for (int i = 0; i < 4; i++) {
        if (tids[i] <= 0)
            continue;
        value = 0;
        UT_CHECK_EQ(thread_join(tids[i], &value), 0);
        UT_CHECK_EQ(value, 0x1234500000l + tids[i]);
        UT_CHECK_EQ(ids[i].tid, tids[i]);
        UT_CHECK_EQ(ids[i].pid, pid);
        UT_CHECK(ids[i].tid != main_tid);
        for (int j = 0; j < i; j++)
            UT_CHECK(tids[i] != tids[j]);
        UT_CHECK(sys_thread_join(tids[i], &value) < 0);   /* already joined */
    }
    UT_CHECK(sys_thread_join(999999, &value) < 0);
}

#define NTHREADS 100

static long thread_counter;

static void count_one(void *arg)
{
    (void)arg;
    sys_yield();
    __atomic_add_fetch(&thread_counter, 1, __ATOMIC_RELAXED);
}

static void test_threads_100(void)
{
    int tids[NTHREADS];

    for (int i = 0; i < NTHREADS; i++) {
        tids[i] = thread_spawn(count_one, NULL);
        if (tids[i] < 0)
            utest_fail(__FILE__, __LINE__, "thread %d: thread_spawn returned %d", i, tids[i]);
    }
    for (int i = 0; i < NTHREADS; i++)
        if (tids[i] >= 0 && thread_join(tids[i], NULL) != 0)
            utest_fail(__FILE__, __LINE__, "thread %d: join failed", i);
    UT_CHECK_EQ(__atomic_load_n(&thread_counter, __ATOMIC_RELAXED), NTHREADS);
}

static void test_read_errors(void)
{
    char buf[8];
    UT_CHECK_EQ(sys_read(1, buf, 1), -EBADF);
    UT_CHECK_EQ(sys_read(-1, buf, 1), -EBADF);
    UT_CHECK_EQ(sys_read(0, buf, 0), 0);
    UT_CHECK_EQ(sys_read(0, opaque_ptr(0xffff800000000000ul), 1), -EFAULT);
    UT_CHECK_EQ(sys_read(0, opaque_ptr(0x0000800000000000ul), 1), -EFAULT);
    UT_CHECK_EQ(sys_read(0, buf, ~0ul), -EFAULT);
}

static void test_console_ctl(void)
{
    UT_CHECK_EQ(sys_console_ctl(0, 0), -EINVAL);
    UT_CHECK_EQ(sys_console_ctl(99, 0), -EINVAL);
    UT_CHECK_EQ(sys_console_ctl(CONSOLE_RAW, 2), -EINVAL);
    UT_CHECK_EQ(sys_console_ctl(CONSOLE_FOREGROUND, 1), -EPERM);        /* init is not ours */
    UT_CHECK_EQ(sys_console_ctl(CONSOLE_FOREGROUND, 1000000), -ESRCH);
    UT_CHECK_EQ(sys_console_ctl(CONSOLE_FOREGROUND, -1), -ESRCH);
    UT_CHECK_EQ(sys_console_ctl(CONSOLE_FOREGROUND, sys_getpid()), 0);
    UT_CHECK_EQ(sys_console_ctl(CONSOLE_FOREGROUND, 0), 0);
    UT_CHECK_EQ(sys_console_ctl(CONSOLE_POLL, 0), 0);                   /* nobody types in a test boot */
    long t0 = sys_uptime_ms();
    UT_CHECK_EQ(sys_console_ctl(CONSOLE_POLL, 30), 0);
    UT_CHECK(sys_uptime_ms() - t0 >= 30);
}

static void test_ps(void)
{
    static struct ps_thread buf[256];
    long all = sys_ps(NULL, 0), n = sys_ps(buf, 256), tid = sys_gettid(), me = -1;
    UT_CHECK(all >= 2 && n >= 2 && n <= 256);
    for (long i = 0; i < n; i++)
        if (buf[i].tid == tid)
            me = i;
    UT_CHECK(me >= 0);
    if (me >= 0) {
        UT_CHECK_EQ(buf[me].pid, sys_getpid());
        UT_CHECK_EQ(buf[me].state, PS_RUNNING);
        UT_CHECK(buf[me].resident_pages >= 1 && buf[me].resident_pages <= 4);
        UT_CHECK(!strcmp(buf[me].proc, PROGRAM));
    }
    UT_CHECK_EQ(sys_ps(buf, 0), 0);
    UT_CHECK_EQ(sys_ps(opaque_ptr(0xffff800000000000ul), 1), -EFAULT);
    UT_CHECK_EQ(sys_ps(opaque_ptr(0x10), 1), -EFAULT);
}


/* ---------------------------------------------------------------- processes */

/* A child that stays alive for a while, so that many exist at once. */
static void test_nap(void)
{
    sys_sleep_ms(100);
}

#define NPROCS 50

static void test_processes_50(void)
{
    char *argv[] = { PROGRAM, "nap", NULL };
    long pids[NPROCS];

    for (int i = 0; i < NPROCS; i++) {
        pids[i] = spawn_args(argv);
        if (pids[i] < 0)
            utest_fail(__FILE__, __LINE__, "child %d: spawn returned %ld", i, pids[i]);
    }
    for (int i = 0; i < NPROCS; i++) {
        int status = -1;
        long r;

        if (pids[i] < 0)
            continue;
        r = sys_wait((int)pids[i], &status);
        if (r != pids[i] || status != 0)
            utest_fail(__FILE__, __LINE__, "child %d (pid %ld): wait returned %ld, status %d", i, pids[i], r,
                       status);
    }
}

/* exit_with_threads: threads busy in every way a thread can be when the process ends. */
static int started;
static int never_woken;
static volatile long spin_count;
static int sleeper_tid;

static void mark_started(void)
{
    __atomic_add_fetch(&started, 1, __ATOMIC_RELEASE);
}

static void spin_forever(void *arg)
{
    (void)arg;
    mark_started();
    for (;;)
        spin_count++;
}

static void syscall_forever(void *arg)
{
    (void)arg;
    mark_started();
    for (;;)
        sys_getpid();
}

static void sleep_forever(void *arg)
{
    (void)arg;
    mark_started();
    for (;;)
        sys_sleep_ms(5);
}

static void futex_forever(void *arg)
{
    (void)arg;
    mark_started();
    for (;;)
        sys_futex_wait(&never_woken, 0, 0);
}

static void join_forever(void *arg)
{
    long value;

    (void)arg;
    mark_started();
    sys_thread_join(sleeper_tid, &value);
}

#define NBUSY 6

static void start_busy_threads(void)
{
    thread_spawn(spin_forever, NULL);
    thread_spawn(spin_forever, NULL);
    thread_spawn(syscall_forever, NULL);
    sleeper_tid = thread_spawn(sleep_forever, NULL);
    thread_spawn(futex_forever, NULL);
    thread_spawn(join_forever, NULL);
    for (int waited = 0; __atomic_load_n(&started, __ATOMIC_ACQUIRE) < NBUSY && waited < 2000; waited++)
        sys_sleep_ms(1);
    UT_CHECK_EQ(__atomic_load_n(&started, __ATOMIC_ACQUIRE), NBUSY);
}

static void test_exit_with_threads(void)
{
    start_busy_threads();
    sys_sleep_ms(20);
    /* The runner checks the status (0) and that every page comes back. */
    sys_exit(utest_failures ? 1 : 0);
}

/* kill: the same threads, ended by another process's kill (the runner checks every page comes back). */
static void test_kill_target(void)
{
    start_busy_threads();
    for (;;)
        __asm__ volatile("pause");
}

static void test_kill(void)
{
    char *argv[] = { PROGRAM, "kill_target", NULL };
    long pid = sys_spawn(PROGRAM, argv);
    int status = -1;
    UT_CHECK(pid > 0);
    sys_sleep_ms(20);
    UT_CHECK_EQ(sys_kill((int)pid, 77), 0);
    UT_CHECK_EQ(sys_wait((int)pid, &status), pid);
    UT_CHECK_EQ(status, 77);
    UT_CHECK_EQ(sys_kill((int)pid, 1), -ESRCH);          /* reaped */
    UT_CHECK_EQ(sys_kill(1, 1), -EPERM);                 /* not a descendant */
    UT_CHECK_EQ(sys_kill(0, 1), -ESRCH);
    UT_CHECK_EQ(sys_kill(-5, 1), -ESRCH);
    UT_CHECK_EQ(sys_kill(1 << 30, 1), -ESRCH);
}

static void test_kill_self(void)
{
    sys_kill((int)sys_getpid(), 99);
    utest_fail(__FILE__, __LINE__, "still running after killing itself");
}

/* ---------------------------------------------------------------- futex */

static int futex_word;
static long futex_result;

static void wait_for_word(void *arg)
{
    (void)arg;
    futex_result = sys_futex_wait(&futex_word, 0, 5000);
}

static void test_futex_basic(void)
{
    int x = 5, tids[3];
    long t0, n;

    UT_CHECK_EQ(sys_futex_wait(&x, 4, 0), -EAGAIN);
    t0 = sys_uptime_ms();
    UT_CHECK_EQ(sys_futex_wait(&x, 5, 50), -ETIMEDOUT);
    UT_CHECK(sys_uptime_ms() - t0 >= 50);
    UT_CHECK_EQ(sys_futex_wake(&x, 1), 0);

    /* One waiter, woken. */
    tids[0] = thread_spawn(wait_for_word, NULL);
    sys_sleep_ms(50);
    __atomic_store_n(&futex_word, 1, __ATOMIC_RELEASE);
    UT_CHECK_EQ(sys_futex_wake(&futex_word, 1), 1);
    UT_CHECK_EQ(thread_join(tids[0], NULL), 0);
    UT_CHECK_EQ(futex_result, 0);

    /* Three waiters: wake counts. */
    __atomic_store_n(&futex_word, 0, __ATOMIC_RELEASE);
    for (int i = 0; i < 3; i++)
        tids[i] = thread_spawn(wait_for_word, NULL);
    sys_sleep_ms(50);
    n = sys_futex_wake(&futex_word, 2);
    UT_CHECK_EQ(n, 2);
    UT_CHECK_EQ(sys_futex_wake(&futex_word, 10), 1);
    for (int i = 0; i < 3; i++)
        UT_CHECK_EQ(thread_join(tids[i], NULL), 0);
}

#define PINGPONG_ROUNDS 10000
#define PINGPONG_SPINS 100

static int pp_word;
static int pp_failed;

struct pp_side {
    int parity;     /* 0 waits for even values and writes odd ones; 1 the other way round */
    int rounds;     /* rounds completed */
};

static void pp_abort(void)
{
    if (__atomic_exchange_n(&pp_failed, 1, __ATOMIC_ACQ_REL) == 0) {
        __atomic_store_n(&pp_word, -1, __ATOMIC_RELEASE);
        sys_futex_wake(&pp_word, 2);
    }
}

/* Each side must find exactly the value it waits for: the other side's last write, never a later one. */
static void pp_run(void *arg)
{
    struct pp_side *s = arg;

    for (int i = 0; i < PINGPONG_ROUNDS; i++) {
        int want = 2 * i + s->parity, v, spins = 0;

        while ((v = __atomic_load_n(&pp_word, __ATOMIC_ACQUIRE)) != want) {
            if (__atomic_load_n(&pp_failed, __ATOMIC_ACQUIRE))
                return;
            if (v != want - 1) {
                utest_fail(__FILE__, __LINE__, "side %d round %d: found %d while waiting for %d", s->parity, i,
                           v, want);
                pp_abort();
                return;
            }
            if (++spins < PINGPONG_SPINS) {
                __asm__ volatile("pause");
                continue;
            }
            if (sys_futex_wait(&pp_word, v, 5000) == -ETIMEDOUT &&
                __atomic_load_n(&pp_word, __ATOMIC_ACQUIRE) == v) {
                utest_fail(__FILE__, __LINE__, "side %d round %d: nothing happened for 5 s", s->parity, i);
                pp_abort();
                return;
            }
        }
        __atomic_store_n(&pp_word, want + 1, __ATOMIC_RELEASE);
        sys_futex_wake(&pp_word, 1);
        s->rounds++;
    }
}

static void test_futex_pingpong(void)
{
    struct pp_side sides[2] = { { .parity = 0 }, { .parity = 1 } };
    int tids[2];

    for (int i = 0; i < 2; i++)
        tids[i] = thread_spawn(pp_run, &sides[i]);
    for (int i = 0; i < 2; i++)
        UT_CHECK_EQ(thread_join(tids[i], NULL), 0);
    UT_CHECK_EQ(sides[0].rounds, PINGPONG_ROUNDS);
    UT_CHECK_EQ(sides[1].rounds, PINGPONG_ROUNDS);
    UT_CHECK_EQ(pp_word, 2 * PINGPONG_ROUNDS);
}

/* ---------------------------------------------------------------- memory */

#define MAP_PAGES 256
#define PAGE_SLACK 16   /* page tables and other kernel bookkeeping a mapping may cost */

static void test_mmap_anon(void)
{
    long before = utest_free_pages(), mapped, touched, after, map;
    unsigned long *w, nonzero = 0, wrong = 0, nwords = MAP_PAGES * PAGE / sizeof(unsigned long);

    map = sys_mmap_anon(MAP_PAGES * PAGE, PROT_READ | PROT_WRITE);
    if (map < 0) {
        utest_fail(__FILE__, __LINE__, "mmap_anon(%lu pages) failed: %ld", (unsigned long)MAP_PAGES, map);
        return;
    }
    UT_CHECK_EQ(map & (PAGE - 1), 0);
    UT_CHECK(map >= 0x400000 && (unsigned long)map + MAP_PAGES * PAGE <= USER_TOP);
    mapped = utest_free_pages();
    if (before - mapped >= PAGE_SLACK)
        utest_fail(__FILE__, __LINE__, "mmap_anon took %ld pages before any access: not demand-faulted",
                   before - mapped);

    w = (unsigned long *)map;
    for (unsigned long i = 0; i < nwords; i++) {
        nonzero += w[i] != 0;
        w[i] = i * 0x9e3779b97f4a7c15ul;
    }
    UT_CHECK_EQ(nonzero, 0);
    touched = utest_free_pages();
    if (mapped - touched < MAP_PAGES)
        utest_fail(__FILE__, __LINE__, "touching %d pages took only %ld", MAP_PAGES, mapped - touched);
    for (unsigned long i = 0; i < nwords; i++)
        wrong += w[i] != i * 0x9e3779b97f4a7c15ul;
    UT_CHECK_EQ(wrong, 0);

    UT_CHECK_EQ(sys_munmap(w, MAP_PAGES * PAGE), 0);
    after = utest_free_pages();
    if (after - touched < MAP_PAGES)
        utest_fail(__FILE__, __LINE__, "munmap gave back %ld of %d pages", after - touched, MAP_PAGES);
}

static void test_munmap_access(void)
{
    long map = sys_mmap_anon(PAGE, PROT_READ | PROT_WRITE);
    volatile int *p = (volatile int *)map;

    UT_CHECK(map > 0);
    *p = 1;
    UT_CHECK_EQ(sys_munmap((void *)map, PAGE), 0);
    (void)*p;   /* killed here */
}

static void test_mmap_readonly(void)
{
    long map = sys_mmap_anon(PAGE, PROT_READ);
    volatile int *p = (volatile int *)map;

    UT_CHECK(map > 0);
    UT_CHECK_EQ(*p, 0);
    *p = 1;     /* killed here */
}

static void test_mmap_noexec(void)
{
    long map = sys_mmap_anon(PAGE, PROT_READ | PROT_WRITE);

    UT_CHECK(map > 0);
    *(volatile unsigned char *)map = 0xc3;      /* ret */
    ((void (*)(void))opaque(map))();            /* killed here */
}

static void test_mmap_invalid(void)
{
    long map = sys_mmap_anon(PAGE, PROT_READ | PROT_WRITE);

    UT_CHECK(sys_mmap_anon(0, PROT_READ | PROT_WRITE) < 0);
    UT_CHECK(sys_mmap_anon(USER_TOP, PROT_READ | PROT_WRITE) < 0);     /* bigger than user space */
    UT_CHECK(sys_mmap_anon(-PAGE, PROT_READ | PROT_WRITE) < 0);        /* rounds up to 0 */
    UT_CHECK(sys_munmap(opaque_ptr(0xffffffff80000000ul), PAGE) < 0);  /* the kernel stays */
    UT_CHECK(sys_munmap(opaque_ptr(0xffff800000000000ul), PAGE) < 0);
    UT_CHECK(sys_munmap(opaque_ptr(USER_TOP - PAGE), 2 * PAGE) < 0);   /* runs out of user space */
    UT_CHECK(map > 0);
    if (map > 0) {
        UT_CHECK(sys_munmap((char *)map + 1, PAGE) < 0);               /* unaligned */
        *(volatile int *)map = 1;                                      /* still mapped */
        UT_CHECK_EQ(sys_munmap((void *)map, PAGE), 0);
    }
    UT_CHECK(sys_getpid() > 0);
}

/* ---------------------------------------------------------------- faults that kill */

static void test_null_deref(void)
{
    (void)*(volatile int *)opaque_ptr(0);
}

static void test_read_kernel(void)
{
    (void)*(volatile long *)opaque_ptr(0xffffffff80100000ul);
}

static void test_read_direct_map(void)
{
    (void)*(volatile long *)opaque_ptr(0xffff800000000000ul);
}

/* A non-canonical address is a #GP, not a #PF. */
static void test_noncanonical_access(void)
{
    (void)*(volatile long *)opaque_ptr(0x8000000000000000ul);
}

static void test_write_text(void)
{
    *(volatile unsigned char *)opaque_ptr((unsigned long)&test_write_text) = 0xc3;
}

static const char rodata_string[] = "read-only";

static void test_write_rodata(void)
{
    *(volatile char *)opaque_ptr((unsigned long)rodata_string) = 'R';
}

static void test_exec_stack(void)
{
    volatile unsigned char code[16];

    code[0] = 0xc3;     /* ret */
    ((void (*)(void))opaque((unsigned long)code))();
}

static unsigned char data_code[16] = { 0xc3 };

static void test_exec_data(void)
{
    ((void (*)(void))opaque((unsigned long)data_code))();
}

static volatile unsigned long recursion_limit = ~0ul;

/* Each frame touches its 256 bytes: the stack grows until it hits the guard below it. */
__attribute__((noinline)) static unsigned long recurse(unsigned long depth)
{
    volatile char frame[256];

    frame[0] = (char)depth;
    if (depth >= recursion_limit)
        return 0;
    return recurse(depth + 1) + frame[0];
}

static void test_stack_guard(void)
{
    recurse(0);
}

static void recurse_thread(void *arg)
{
    (void)arg;
    recurse(0);
}

static void test_thread_stack_guard(void)
{
    int tid = thread_spawn(recurse_thread, NULL);

    UT_CHECK(tid > 0);
    thread_join(tid, NULL);
}

static void test_ud2(void)
{
    __asm__ volatile("ud2");
}

static void test_div_zero(void)
{
    unsigned long zero = opaque(0);

    __asm__ volatile("xor %%edx, %%edx\n\t"
                     "mov $1, %%eax\n\t"
                     "div %0" : : "r"(zero) : "rax", "rdx");
}

static void test_int3(void)
{
    __asm__ volatile("int3");
}

static void test_privileged_insn(void)
{
    __asm__ volatile("hlt");
}

/* ---------------------------------------------------------------- time, cpus, kstat */

static void test_sleep_ms(void)
{
    long t0 = sys_uptime_ms(), slept;

    UT_CHECK_EQ(sys_sleep_ms(50), 0);
    slept = sys_uptime_ms() - t0;
    if (slept < 50 || slept > 5000)
        utest_fail(__FILE__, __LINE__, "sleep_ms(50) slept %ld ms", slept);
    t0 = sys_uptime_ms();
    UT_CHECK_EQ(sys_sleep_ms(0), 0);
    UT_CHECK(sys_uptime_ms() - t0 < 1000);
}

static long ncpus;
static int bad_cpu_seen;

static void check_cpu(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20; i++) {
        long cpu = sys_getcpu();
        if (cpu < 0 || cpu >= ncpus)
            __atomic_store_n(&bad_cpu_seen, 1, __ATOMIC_RELAXED);
        sys_yield();
    }
}

static void test_getcpu(void)
{
    struct kstat ks;
    int tids[8];

    if (kstat_or_fail(&ks) < 0)
        return;
    ncpus = ks.cpus;
    check_cpu(NULL);
    for (int i = 0; i < 8; i++)
        tids[i] = thread_spawn(check_cpu, NULL);
    for (int i = 0; i < 8; i++)
        thread_join(tids[i], NULL);
    UT_CHECK_EQ(bad_cpu_seen, 0);
}

static void test_kstat(void)
{
    struct kstat ks;
    unsigned char buf[sizeof(struct kstat) + 64];
    size_t untouched = 0;

    if (kstat_or_fail(&ks) < 0)
        return;
    UT_CHECK_EQ(ks.version, 1);
    UT_CHECK(ks.strategy <= 3);
    UT_CHECK(ks.cpus >= 1);
    UT_CHECK(ks.user_threads >= 1);
    UT_CHECK(ks.free_pages > 0);
    /* A short buffer gets the first size bytes and nothing more; a long one the whole struct. */
    memset(buf, 0xa5, sizeof(buf));
    UT_CHECK_EQ(sys_kstat((struct kstat *)buf, 8), 8);
    for (size_t i = 8; i < sizeof(buf); i++)
        untouched += buf[i] == 0xa5;
    UT_CHECK_EQ(untouched, sizeof(buf) - 8);
    UT_CHECK_EQ(sys_kstat((struct kstat *)buf, 0), 0);
    UT_CHECK_EQ(sys_kstat((struct kstat *)buf, sizeof(buf)), sizeof(struct kstat));
}

/* ---------------------------------------------------------------- the list */

static const struct utest tests[] = {
    UTEST(badptr_write),
    UTEST(badptr_spawn),
    UTEST(badptr_wait),
    UTEST(badptr_thread_join),
    UTEST(badptr_futex),
    UTEST(badptr_kstat),
    UTEST(uaccess_demand_fault),
    UTEST(unknown_syscall),
    UTEST(bad_fd),
    UTEST(read_errors),
    UTEST(console_ctl),
    UTEST(ps),
    UTEST_EXPECT(kill, UTEST_LEAK_CHECK, 0),
    UTEST_EXPECT(kill_self, 0, 99),
    UTEST(spawn_errors),
    UTEST(spawn_argv),
    UTEST(spawn_many_args),
    UTEST_EXPECT(exit_status, 0, 42),
    UTEST_EXPECT(exit_from_thread, 0, 7),
    UTEST(threads_basic),
    UTEST(threads_100),
    UTEST(processes_50),
    UTEST_EXPECT(exit_with_threads, UTEST_LEAK_CHECK, 0),
    UTEST(futex_basic),
    UTEST(futex_pingpong),
    UTEST(mmap_anon),
    UTEST_KILLED(munmap_access, VEC_PF),
    UTEST_KILLED(mmap_readonly, VEC_PF),
    UTEST_KILLED(mmap_noexec, VEC_PF),
    UTEST(mmap_invalid),
    UTEST_KILLED(null_deref, VEC_PF),
    UTEST_KILLED(read_kernel, VEC_PF),
    UTEST_KILLED(read_direct_map, VEC_PF),
    UTEST_KILLED(noncanonical_access, VEC_GP),
    UTEST_KILLED(write_text, VEC_PF),
    UTEST_KILLED(write_rodata, VEC_PF),
    UTEST_KILLED(exec_stack, VEC_PF),
    UTEST_KILLED(exec_data, VEC_PF),
    UTEST_KILLED(stack_guard, VEC_PF),
    UTEST_KILLED(thread_stack_guard, VEC_PF),
    UTEST_KILLED(ud2, VEC_UD),
    UTEST_KILLED(div_zero, VEC_DE),
    UTEST_KILLED(int3, VEC_BP),
    UTEST_KILLED(privileged_insn, VEC_GP),
    UTEST(sleep_ms),
    UTEST(getcpu),
    UTEST(kstat),
    /* Children the tests above spawn by name. */
    UTEST_HELPER_ENTRY(argv_child),
    UTEST_HELPER_ENTRY(argv_many_child),
    UTEST_HELPER_ENTRY(nap),
    UTEST_HELPER_ENTRY(kill_target),
};

int main(int argc, char **argv)
{
    return utest_main("usertests", PROGRAM, tests, UTEST_COUNT(tests), argc, argv);
}
