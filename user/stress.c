/*
 * stress.c: `make stress` and suite stress: everything at once for N seconds,
 * with the kernel's invariant checker on (kstack_check=<ms>, which panics at
 * the first broken invariant): threads created and joined in batches,
 * threads migrating (yields and short sleeps; the kernel moves them), threads
 * asleep in the kernel (sleep_ms, futex_wait with time-outs), deep syscalls
 * (test_stack, 1 to 12 KiB; needs testsys=1), child processes spawned and
 * killed while they run and sleep (by this process, by themselves, by their
 * own parent in a tree), IPC (uapi/ipc.h: child processes serving endpoints,
 * threads here and in other children calling them with buffers, both sides
 * killed mid-call). Then every thread is joined and every child waited for,
 * and the checks: each kind of work happened and went right, the free pages
 * and the endpoints came back, the stack counters balance, the checker ran.
 * KTAP, one result per check, and a line of figures.
 *
 *   stress [seconds]                  the run (init=stress initarg=<seconds>; default 10)
 *   stress child <role> <ms> <seed>   a child process of the run (roles: see child_main())
 */
#include "ktap.h"
#include "lib/string.h"
#include "stdio.h"
#include "syscall.h"
#include "thread.h"
#include "utest.h"

#define PROGRAM         "stress"
#define WARMUP_MS       600             /* the same load, briefly, before the baseline is taken */
#define SETTLE_MS       3000            /* for the last children and pages to come back */
#define CHURNERS        2
#define CHURN_BATCH     4
#define MIGRATORS       2
#define SLEEPERS        3
#define DEEP_CALLERS    3
#define MINDERS         3
#define IPC_CALLERS     2
#define WORKERS         (CHURNERS + MIGRATORS + SLEEPERS + 1 + DEEP_CALLERS + MINDERS + 1 + IPC_CALLERS)
#define KSTACK_PAGES    4

/* Exit statuses the children end with, by role. */
enum {
    KILLED_BY_PARENT = 99,      /* work: killed by this process */
    KILLED_ITSELF = 77,         /* selfkill */
    KILLED_IN_RACE = 96,        /* selfkill, when this process's kill came first */
    EXITED = 5,                 /* exit: sys_exit with threads asleep in the kernel */
    KILLED_TREE = 97,           /* tree: killed with its grandchildren alive */
    KILLED_BY_TREE = 98,        /* tree's grandchildren */
};

static const char *const strategy_names[] = { "fixed", "eager", "fault", "lazy" };

static volatile int stop;
static int futex_word;

/* What the run did and what went wrong, added to by every thread. */
static struct {
    long threads, thread_errors;
    long migrations_seen, yields;
    long sleeps, futex_waits, futex_timeouts, futex_woken, futex_errors;
    long deep_calls, deep_short;
    long spawned, spawn_errors, killed, self_killed, status_wrong;
    long ipc_calls, ipc_answered, ipc_gone, ipc_timeouts, ipc_wrong, ipc_servers;
} fig;

#define COUNT(field, n) __atomic_fetch_add(&fig.field, (n), __ATOMIC_RELAXED)

/* Once per kind of failure: what it was. */
static int said_thread, said_deep, said_status, said_futex, said_ipc;
#define SAY_ONCE(flag, ...)                                          \
    do {                                                             \
        if (!__atomic_exchange_n(&(flag), 1, __ATOMIC_RELAXED))      \
            ktap_diag(__VA_ARGS__);                                  \
    } while (0)

static unsigned long rnd(unsigned long *s)
{
    unsigned long x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static unsigned long seed_of(long n)
{
    return 0x9e3779b97f4a7c15ul * (unsigned long)(n + 1) ^ (unsigned long)sys_uptime_ms();
}

static struct kstat kstat_now(void)
{
    struct kstat k;
    memset(&k, 0, sizeof(k));
    sys_kstat(&k, sizeof(k));
    return k;
}

/* ---------------------------------------------------------------- the kinds of work */

/* One syscall test_stack(bytes) deep, 1 to 12 KiB: the kernel says how deep it got. */
static void deep_call(unsigned long *s)
{
    size_t bytes = 1024 + rnd(s) % (11 * 1024 + 1);
    long got = sys_test_stack(bytes);
    COUNT(deep_calls, 1);
    if (got < (long)bytes) {
        COUNT(deep_short, 1);
        SAY_ONCE(said_deep, "test_stack(%zu) returned %ld", bytes, got);
    }
}

/* Asleep in the kernel: a timed futex wait (woken by the waker, or timed out), or a sleep. */
static void kernel_sleep(unsigned long *s, int *word, bool wake_counts)
{
    if (rnd(s) % 3 == 0) {
        COUNT(sleeps, 1);
        sys_sleep_ms(1 + rnd(s) % 4);
        return;
    }
    int v = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    long r = sys_futex_wait(word, v, 1 + rnd(s) % 5);
    COUNT(futex_waits, 1);
    if (r == -ETIMEDOUT)
        COUNT(futex_timeouts, 1);
    else if (r == 0 && wake_counts)
        COUNT(futex_woken, 1);
    else if (r != 0 && r != -EAGAIN && r != -EINTR) {
        COUNT(futex_errors, 1);
        SAY_ONCE(said_futex, "futex_wait returned %ld", r);
    }
}

/* A short-lived thread: one thing, then an exit value its joiner checks. */
static void short_lived(void *arg)
{
    unsigned long s = (unsigned long)arg;
    long job = (long)(s % 4);
    switch (job) {
    case 0:
        deep_call(&s);
        break;
    case 1:
        for (int i = 0; i < 3; i++)
            sys_yield();
        break;
    case 2:
        kernel_sleep(&s, &futex_word, true);
        break;
    default:
        sys_getcpu();
        break;
    }
    sys_thread_exit(job + 1);
}

static void churner(void *arg)
{
    unsigned long s = seed_of((long)arg);
    while (!stop) {
        int tids[CHURN_BATCH];
        unsigned long seeds[CHURN_BATCH];
        for (int i = 0; i < CHURN_BATCH; i++) {
            seeds[i] = rnd(&s);
            tids[i] = thread_spawn(short_lived, (void *)seeds[i]);
            if (tids[i] < 0) {
                COUNT(thread_errors, 1);
                SAY_ONCE(said_thread, "thread_spawn returned %d", tids[i]);
            } else {
                COUNT(threads, 1);
            }
        }
        for (int i = 0; i < CHURN_BATCH; i++) {
            long value = -1;
            int err = tids[i] < 0 ? 0 : thread_join(tids[i], &value);
            if (tids[i] >= 0 && (err || value != (long)(seeds[i] % 4) + 1)) {
                COUNT(thread_errors, 1);
                SAY_ONCE(said_thread, "thread_join(%d) returned %d with value %ld, expected %ld", tids[i], err,
                         value, (long)(seeds[i] % 4) + 1);
            }
        }
    }
}

/* Yields, and now and then a short sleep: the scheduler balances and steals, the thread changes CPUs. */
static void migrator(void *arg)
{
    unsigned long s = seed_of((long)arg);
    long cpu = sys_getcpu();
    for (int i = 0; !stop; i++) {
        sys_yield();
        COUNT(yields, 1);
        if (i % 8 == 7)
            sys_sleep_ms(rnd(&s) % 3);
        long now = sys_getcpu();
        if (now != cpu)
            COUNT(migrations_seen, 1);
        cpu = now;
    }
}

static void sleeper(void *arg)
{
    unsigned long s = seed_of((long)arg);
    while (!stop)
        kernel_sleep(&s, &futex_word, true);
}

static void waker(void *arg)
{
    (void)arg;
    while (!stop) {
        sys_sleep_ms(2);
        __atomic_fetch_add(&futex_word, 1, __ATOMIC_RELEASE);
        sys_futex_wake(&futex_word, 1000);
    }
}

static void deep_caller(void *arg)
{
    unsigned long s = seed_of((long)arg);
    for (int i = 0; !stop; i++) {
        deep_call(&s);
        if (i % 16 == 15)
            sys_yield();
    }
}

/* ---------------------------------------------------------------- IPC */

/*
 * The directory: a thread of this process serving the bootstrap endpoint.
 * An `ipcserve` child deposits its endpoint there; every call gets one of
 * the kept endpoints passed back, mostly the newest (the likeliest to be
 * alive; the oldest goes past DIR_KEEP). Servers
 * answer each call with its echo: label ~label, the words reversed, the
 * buffer reversed, a passed handle passed back.
 */
#define DIR_DEPOSIT     0x4449524445500001ul    /* shandle: a server's endpoint to keep */
#define DIR_REPLY       0x4449525245500002ul    /* the directory's reply to every call */
#define DIR_KEEP        8

static struct {
    int ep;                 /* -1: none */
    int kept[DIR_KEEP], nkept, oldest;
} dir = { .ep = -1 };

/* ipc_close, again while it is refused for want of a stack page: the endpoints must come back. */
static void close_handle(int h)
{
    while (sys_ipc_close(h) == -ENOMEM)
        sys_sleep_ms(1);
}

static void directory(void *arg)
{
    unsigned long s = seed_of((long)arg);
    struct ipc_msg m = { 0 };
    struct ipc_ext e = { .shandle = -1 };
    while (!stop) {
        e.timeout_ms = 20;
        long r = sys_ipc_reply_wait(dir.ep, &m, &e);
        if (r == -ENOMEM)
            continue;       /* refused before it ran: the reply goes with the next */
        e.shandle = -1;
        if (r != 0)
            continue;
        if (m.label == DIR_DEPOSIT && m.handle >= 0) {
            if (dir.nkept == DIR_KEEP) {
                close_handle(dir.kept[dir.oldest]);
                dir.kept[dir.oldest] = m.handle;
                dir.oldest = (dir.oldest + 1) % DIR_KEEP;
            } else {
                dir.kept[dir.nkept++] = m.handle;
            }
        } else if (m.handle >= 0) {
            close_handle(m.handle);
        }
        int newest = dir.nkept < DIR_KEEP ? dir.nkept - 1 : (dir.oldest + DIR_KEEP - 1) % DIR_KEEP;
        if (dir.nkept)
            e.shandle = dir.kept[rnd(&s) % 4 ? newest : (int)(rnd(&s) % (unsigned long)dir.nkept)];
        m = (struct ipc_msg){ .label = DIR_REPLY };
    }
    for (int i = 0; i < dir.nkept; i++)
        close_handle(dir.kept[i]);
    dir.nkept = dir.oldest = 0;
}

/* Our endpoint as the bootstrap one, for the directory thread: false without it. */
static bool directory_open(void)
{
    long ep = sys_ipc_endpoint();
    if (ep < 0)
        return false;
    if (sys_ipc_bootstrap(IPC_BOOTSTRAP_SET, (int)ep) != 0) {
        close_handle((int)ep);
        return false;
    }
    dir.ep = (int)ep;
    return true;
}

static void directory_close(void)
{
    if (dir.ep >= 0)
        close_handle(dir.ep);   /* the bootstrap endpoint goes with it */
    dir.ep = -1;
}

/* A server's endpoint from the directory (through the bootstrap endpoint, kept in *dir_h), or -1. */
static int server_lookup(int *dir_h)
{
    if (*dir_h < 0) {
        long h = sys_ipc_bootstrap(IPC_BOOTSTRAP_GET, 0);
        if (h < 0)
            return -1;
        *dir_h = (int)h;
    }
    struct ipc_msg m = { .label = DIR_REPLY };
    struct ipc_ext e = { .shandle = -1, .timeout_ms = 100 };
    long r = sys_ipc_call(*dir_h, &m, &e);
    if (r == -EPIPE) {
        close_handle(*dir_h);   /* the directory of a run that ended */
        *dir_h = -1;
    }
    return r == 0 && m.handle >= 0 ? m.handle : -1;
}

/*
 * Calls servers with buffers of 0 to IPC_BUF_MAX bytes, now and then with a
 * handle to pass, with no timeout or a short one, and checks every echo. A
 * server that ends or is killed mid-call gives -EPIPE, and the next one is
 * looked up. Until `stop` (in a child: until the process ends).
 */
static void ipc_caller(void *arg)
{
    unsigned long s = seed_of((long)arg);
    uint8_t out[IPC_BUF_MAX], in[IPC_BUF_MAX];
    int dir_h = -1, srv = -1;
    while (!stop) {
        if (srv < 0 && (srv = server_lookup(&dir_h)) < 0) {
            sys_sleep_ms(2);
            continue;
        }
        uint32_t n = (uint32_t)(rnd(&s) % (IPC_BUF_MAX + 1));
        for (uint32_t i = 0; i < n; i++)
            out[i] = (uint8_t)rnd(&s);
        struct ipc_msg sent = { .label = rnd(&s), .w = { rnd(&s), rnd(&s), rnd(&s) } }, m = sent;
        bool pass = rnd(&s) % 8 == 0 && dir_h >= 0;
        struct ipc_ext e = { .sbuf = out, .slen = n, .rbuf = in, .rcap = sizeof(in), .shandle = pass ? dir_h : -1,
                             .timeout_ms = rnd(&s) % 4 ? 0 : 1 + rnd(&s) % 20 };
        long r = sys_ipc_call(srv, &m, &e);
        COUNT(ipc_calls, 1);
        bool wrong = false;
        if (r == 0) {
            wrong = m.label != ~sent.label || m.w[0] != sent.w[2] || m.w[1] != sent.w[1] || m.w[2] != sent.w[0] ||
                    m.len != n || (!pass && m.handle != -1);
            for (uint32_t i = 0; i < n && !wrong; i++)
                wrong = in[i] != out[n - 1 - i];
            if (m.handle >= 0)
                close_handle(m.handle);     /* a copy of the one we passed */
            COUNT(ipc_answered, 1);
        } else if (r == -EPIPE) {
            COUNT(ipc_gone, 1);
            close_handle(srv);
            srv = -1;
        } else if (r == -ETIMEDOUT && e.timeout_ms) {
            COUNT(ipc_timeouts, 1);
        } else {
            wrong = r != -ENOMEM;
        }
        if (wrong) {
            COUNT(ipc_wrong, 1);
            SAY_ONCE(said_ipc, "ipc_call of %u bytes (timeout %lu ms) returned %ld: label %#lx, words %#lx %#lx %#lx, "
                     "%u bytes, handle %d: not the echo", n, (unsigned long)e.timeout_ms, r, (unsigned long)m.label,
                     (unsigned long)m.w[0], (unsigned long)m.w[1], (unsigned long)m.w[2], m.len, m.handle);
        }
    }
    if (srv >= 0)
        close_handle(srv);
    if (dir_h >= 0)
        close_handle(dir_h);
}

/* In an `ipcserve` child: the echo on its endpoint, with no timeout or a short one, until the process ends. */
static int serve_ep;

static void ipc_server(void *arg)
{
    unsigned long s = (unsigned long)arg;
    uint8_t in[IPC_BUF_MAX], out[IPC_BUF_MAX];
    struct ipc_msg m = { 0 };
    struct ipc_ext e = { .sbuf = out, .rbuf = in, .rcap = sizeof(in), .shandle = -1 };
    for (;;) {
        e.timeout_ms = rnd(&s) % 2 ? 0 : 1 + rnd(&s) % 50;
        long r = sys_ipc_reply_wait(serve_ep, &m, &e);
        if (r == -ENOMEM)
            continue;       /* refused before it ran: the reply goes with the next */
        if (e.shandle >= 0)
            close_handle(e.shandle);        /* passed back with the reply */
        e.shandle = -1;
        e.slen = 0;
        if (r != 0) {
            m = (struct ipc_msg){ 0 };
            continue;
        }
        uint32_t n = m.len < IPC_BUF_MAX ? m.len : IPC_BUF_MAX;
        for (uint32_t i = 0; i < n; i++)
            out[i] = in[n - 1 - i];
        e.slen = n;
        e.shandle = m.handle >= 0 ? m.handle : -1;
        m = (struct ipc_msg){ .label = ~m.label, .w = { m.w[2], m.w[1], m.w[0] } };
    }
}

/* ---------------------------------------------------------------- child processes */

static long spawn_child(const char *role, long ms, unsigned long seed)
{
    char ms_s[24], seed_s[24];
    snprintf(ms_s, sizeof(ms_s), "%ld", ms);
    snprintf(seed_s, sizeof(seed_s), "%lu", seed);
    char *argv[] = { PROGRAM, "child", (char *)role, ms_s, seed_s, NULL };
    return sys_spawn(PROGRAM, argv);
}

static int wait_for(long pid)
{
    int status = -1;
    long r;
    while ((r = sys_wait((int)pid, &status)) == -ENOMEM)
        sys_sleep_ms(1);            /* refused before it ran (no page for the kernel stack): again */
    return r == pid ? status : (int)r;
}

/* A kill that lands (0) makes `if_killed` the status to expect, else (the child was already ending) `otherwise`. */
static int kill_child(long pid, int status, int if_killed, int otherwise)
{
    long r = sys_kill((int)pid, status);
    if (r == 0) {
        COUNT(killed, 1);
        return if_killed;
    }
    return otherwise;
}

/*
 * A minder spawns children one after the other, each with a role, kills
 * some of them while they run or sleep, waits for each and checks its
 * status. Three minders: three children (and their threads) at a time.
 */
static void minder(void *arg)
{
    unsigned long s = seed_of((long)arg);
    while (!stop) {
        static const char *const roles[] = { "work", "selfkill", "exit", "tree", "ipcserve", "ipccall" };
        int role = (int)(rnd(&s) % 6), expect = 0;
        long ms = role == 0 ? 2000 : role == 3 ? 150 : role == 4 ? 200 + (long)(rnd(&s) % 800)
                : role == 5 ? 50 + (long)(rnd(&s) % 300) : 5 + (long)(rnd(&s) % 30);
        long pid = spawn_child(roles[role], ms, rnd(&s));
        if (pid < 0) {
            COUNT(spawn_errors, 1);
            SAY_ONCE(said_status, "spawn(%s) returned %ld", roles[role], pid);
            sys_sleep_ms(10);
            continue;
        }
        COUNT(spawned, 1);
        switch (role) {
        case 0:                     /* work: killed while it runs, within its lifetime */
            sys_sleep_ms(2 + rnd(&s) % 100);
            expect = kill_child(pid, KILLED_BY_PARENT, KILLED_BY_PARENT, 0);
            break;
        case 1:                     /* selfkill: sometimes raced by a kill from here */
            expect = KILLED_ITSELF;
            if (rnd(&s) % 3 == 0) {
                sys_sleep_ms(rnd(&s) % 20);
                expect = kill_child(pid, KILLED_IN_RACE, KILLED_IN_RACE, KILLED_ITSELF);
            }
            break;
        case 2:                     /* exit: ends itself with its threads asleep */
            expect = EXITED;
            break;
        case 3:                     /* tree: sometimes killed with its grandchildren alive */
            if (rnd(&s) % 2) {
                sys_sleep_ms(5 + rnd(&s) % 100);
                expect = kill_child(pid, KILLED_TREE, KILLED_TREE, 0);
            }
            break;
        default:                    /* ipcserve, ipccall: half of them killed mid-call, at any moment of their run */
            COUNT(ipc_servers, role == 4);
            if (rnd(&s) % 2) {
                sys_sleep_ms(rnd(&s) % (unsigned long)ms);
                expect = kill_child(pid, KILLED_BY_PARENT, KILLED_BY_PARENT, 0);
            }
            break;
        }
        int status = wait_for(pid);
        if (status == KILLED_ITSELF)
            COUNT(self_killed, 1);
        if (status != expect) {
            COUNT(status_wrong, 1);
            SAY_ONCE(said_status, "child %ld (%s) ended with status %d, expected %d", pid, roles[role], status,
                     expect);
        }
    }
}

/* In a child: its threads' work until it ends (it never joins them: the process's end takes them). */
static int child_word;

static void child_deep(void *arg)
{
    unsigned long s = (unsigned long)arg;
    for (;;) {
        deep_call(&s);
        sys_yield();
    }
}

static void child_sleeper(void *arg)
{
    unsigned long s = (unsigned long)arg;
    for (;;)
        kernel_sleep(&s, &child_word, false);
}

static void child_long_sleeper(void *arg)
{
    if (arg)
        sys_futex_wait(&child_word, child_word, 0);      /* no time-out: only the process's end wakes it */
    else
        sys_sleep_ms(60000);
}

/*
 * The roles:
 *   work      three threads (deep calls, kernel sleeps, a long sleep), until
 *             killed or <ms> (then exit 0)
 *   selfkill  two threads working; after <ms>, kills itself (77)
 *   exit      two threads asleep in the kernel; after <ms>, sys_exit(5)
 *   tree      for <ms>: spawns a grandchild `work` and kills it (98), or a
 *             `selfkill`, and waits for each; 0 when every status was right
 *   ipcserve  two threads answering calls on an endpoint it deposits with the
 *             directory, for <ms> (then 0)
 *   ipccall   two threads calling servers from the directory, for <ms>
 *             (then 0, or 1 if an echo was wrong)
 */
static int child_main(const char *role, long ms, unsigned long s)
{
    long start = sys_uptime_ms();
    if (strcmp(role, "work") == 0) {
        thread_spawn(child_deep, (void *)rnd(&s));
        thread_spawn(child_sleeper, (void *)rnd(&s));
        thread_spawn(child_long_sleeper, (void *)(rnd(&s) % 2));
        while (sys_uptime_ms() - start < ms)
            sys_sleep_ms(5);
        return 0;
    }
    if (strcmp(role, "selfkill") == 0) {
        thread_spawn(child_deep, (void *)rnd(&s));
        thread_spawn(child_sleeper, (void *)rnd(&s));
        sys_sleep_ms((unsigned long)ms);
        sys_kill((int)sys_getpid(), KILLED_ITSELF);
        return 1;                   /* not reached: the kill ends this thread on its way out */
    }
    if (strcmp(role, "exit") == 0) {
        thread_spawn(child_long_sleeper, (void *)0);
        thread_spawn(child_long_sleeper, (void *)1);
        sys_sleep_ms((unsigned long)ms);
        sys_exit(EXITED);
    }
    if (strcmp(role, "tree") == 0) {
        int wrong = 0;
        while (sys_uptime_ms() - start < ms) {
            bool kill = rnd(&s) % 2;
            long pid = spawn_child(kill ? "work" : "selfkill", kill ? 300 : 5 + (long)(rnd(&s) % 20), rnd(&s));
            if (pid < 0) {
                wrong++;
                break;
            }
            int expect = KILLED_ITSELF;
            if (kill) {
                sys_sleep_ms(1 + rnd(&s) % 30);
                expect = sys_kill((int)pid, KILLED_BY_TREE) == 0 ? KILLED_BY_TREE : 0;
            }
            wrong += wait_for(pid) != expect;
        }
        return wrong ? 1 : 0;
    }
    if (strcmp(role, "ipcserve") == 0) {
        long ep = sys_ipc_endpoint(), dh = sys_ipc_bootstrap(IPC_BOOTSTRAP_GET, 0);
        if (ep < 0 || dh < 0)
            return 0;       /* no memory for it, or the run's directory is closing: nothing to serve */
        serve_ep = (int)ep;
        thread_spawn(ipc_server, (void *)rnd(&s));
        thread_spawn(ipc_server, (void *)rnd(&s));
        struct ipc_msg m = { .label = DIR_DEPOSIT };
        struct ipc_ext e = { .shandle = (int)ep, .timeout_ms = 200 };
        if (sys_ipc_call((int)dh, &m, &e) == 0 && m.handle >= 0)
            close_handle(m.handle);
        close_handle((int)dh);
        sys_sleep_ms((unsigned long)ms);
        return 0;
    }
    if (strcmp(role, "ipccall") == 0) {
        thread_spawn(ipc_caller, (void *)rnd(&s));
        thread_spawn(ipc_caller, (void *)rnd(&s));
        sys_sleep_ms((unsigned long)ms);
        return __atomic_load_n(&fig.ipc_wrong, __ATOMIC_RELAXED) ? 1 : 0;
    }
    printf("stress: unknown child role '%s'\n", role);
    return 2;
}

/* ---------------------------------------------------------------- the run */

/* All the work at once for ms milliseconds, then everything joined and waited for. */
static void run_load(long ms, bool progress)
{
    static int tids[WORKERS];
    int n = 0;
    stop = 0;
    for (long i = 0; i < CHURNERS; i++)
        tids[n++] = thread_spawn(churner, (void *)i);
    for (long i = 0; i < MIGRATORS; i++)
        tids[n++] = thread_spawn(migrator, (void *)(10 + i));
    for (long i = 0; i < SLEEPERS; i++)
        tids[n++] = thread_spawn(sleeper, (void *)(20 + i));
    tids[n++] = thread_spawn(waker, NULL);
    for (long i = 0; i < DEEP_CALLERS; i++)
        tids[n++] = thread_spawn(deep_caller, (void *)(30 + i));
    for (long i = 0; i < MINDERS; i++)
        tids[n++] = thread_spawn(minder, (void *)(40 + i));
    if (directory_open())
        tids[n++] = thread_spawn(directory, (void *)50);
    else
        SAY_ONCE(said_ipc, "no directory: ipc_endpoint or IPC_BOOTSTRAP_SET failed");
    for (long i = 0; i < IPC_CALLERS; i++)
        tids[n++] = thread_spawn(ipc_caller, (void *)(60 + i));
    for (int i = 0; i < n; i++)
        if (tids[i] < 0) {
            COUNT(thread_errors, 1);
            SAY_ONCE(said_thread, "a worker's thread_spawn returned %d", tids[i]);
        }

    long start = sys_uptime_ms(), next = 5000;
    while (sys_uptime_ms() - start < ms) {
        sys_sleep_ms(50);
        if (progress && sys_uptime_ms() - start >= next) {
            struct kstat k = kstat_now();
            ktap_diag("%ld s: %ld threads, %ld processes, %ld deep calls, %lu check rounds, %u user threads now",
                      next / 1000, fig.threads, fig.spawned, fig.deep_calls, (unsigned long)k.check_rounds,
                      k.user_threads);
            next += 5000;
        }
    }
    stop = 1;
    __atomic_fetch_add(&futex_word, 1, __ATOMIC_RELEASE);
    sys_futex_wake(&futex_word, 1000);
    for (int i = 0; i < n; i++)
        if (tids[i] >= 0 && thread_join(tids[i], NULL) != 0) {
            COUNT(thread_errors, 1);
            SAY_ONCE(said_thread, "a worker's thread_join(%d) failed", tids[i]);
        }
    directory_close();
}

/* Touch the stack the run uses, so that its own demand faults do not look like a leak. */
__attribute__((noinline)) static void prefault_stack(void)
{
    volatile char pad[16 * 1024];
    for (size_t i = 0; i < sizeof(pad); i += 512)
        pad[i] = 0;
}

/* Free pages (with the stack caches and reserves) and user threads back at `want`: up to SETTLE_MS. */
static long settle(long want_pages, unsigned want_threads, unsigned *threads)
{
    long now = utest_free_pages();
    *threads = kstat_now().user_threads;
    for (int waited = 0; (now != want_pages || *threads != want_threads) && waited < SETTLE_MS; waited += 20) {
        sys_sleep_ms(20);
        now = utest_free_pages();
        *threads = kstat_now().user_threads;
    }
    return now;
}

/* Every page above a thread's pages at rest came from a cache take and leaves by a give (kstacktests). */
static bool counters_balance(const struct kstat *k)
{
    unsigned long rest = k->strategy == 0 ? KSTACK_PAGES : 1;
    unsigned long above = k->resident_stack_pages - k->kernel_threads * KSTACK_PAGES - k->user_threads * rest;
    return k->cache_take - k->cache_give == above + k->reserve_pages &&
           k->cache_pages == k->cache_refill + k->cache_give + k->cache_empty - k->cache_take - k->cache_drain;
}

static int run(long seconds)
{
    struct ktap t;
    struct kstat k0 = kstat_now();
    const char *strategy = k0.strategy < 4 ? strategy_names[k0.strategy] : "?";
    ktap_begin(&t, "stress", 9);
    ktap_diag("%ld s under kstack=%s on %u cpus; the invariant checker has run %lu rounds so far", seconds, strategy,
              k0.cpus, (unsigned long)k0.check_rounds);
    prefault_stack();
    run_load(WARMUP_MS, false);         /* grows what the kernel and this process keep (slabs, page tables) */
    unsigned base_threads = k0.user_threads, threads;
    for (int waited = 0; kstat_now().user_threads != base_threads && waited < SETTLE_MS; waited += 20)
        sys_sleep_ms(20);               /* the warm-up's last children */
    long before = utest_free_pages();
    for (long prev = -1; prev != before;) {    /* until it stops moving */
        prev = before;
        sys_sleep_ms(50);
        before = utest_free_pages();
    }
    memset(&fig, 0, sizeof(fig));
    struct kstat k1 = kstat_now();

    run_load(seconds * 1000, true);

    long after = settle(before, base_threads, &threads);
    struct kstat k2 = kstat_now();
    for (int i = 0; i < 50 && !counters_balance(&k2); i++) {
        sys_sleep_ms(20);
        k2 = kstat_now();
    }

    ktap_result(&t, fig.threads > 0 && fig.thread_errors == 0, "threads_created_and_joined");
    if (k2.cpus > 1)
        ktap_result(&t, k2.migrations > k1.migrations && fig.migrations_seen > 0, "threads_migrated");
    else
        ktap_skip(&t, "threads_migrated", "1 cpu");
    ktap_result(&t, fig.sleeps > 0 && fig.futex_waits > 0 && fig.futex_timeouts > 0 && fig.futex_errors == 0,
                "kernel_sleeps");
    ktap_result(&t, fig.deep_calls > 0 && fig.deep_short == 0, "deep_calls_reached_their_depth");
    ktap_result(&t, fig.spawned > 0 && fig.killed > 0 && fig.self_killed > 0 && fig.spawn_errors == 0 &&
                        fig.status_wrong == 0, "processes_spawned_and_killed");
    if (k2.ipc_endpoints != k1.ipc_endpoints)
        ktap_diag("IPC endpoints alive: %u before the run, %u after", k1.ipc_endpoints, k2.ipc_endpoints);
    ktap_result(&t, fig.ipc_servers > 0 && fig.ipc_answered > 0 && fig.ipc_wrong == 0 &&
                        k2.ipc_endpoints == k1.ipc_endpoints, "ipc_calls_answered");
    if (after != before || threads != base_threads)
        ktap_diag("free pages (with the stack caches and reserves) %ld before, %ld after; user threads %u, then %u",
                  before, after, base_threads, threads);
    ktap_result(&t, after == before && threads == base_threads, "free_pages_back");
    if (!counters_balance(&k2))
        ktap_diag("cache take %lu, give %lu, refill %lu, drain %lu, empty %lu, %lu cached; %lu resident pages, "
                  "%u user and %u kernel threads, %u in reserves", (unsigned long)k2.cache_take,
                  (unsigned long)k2.cache_give, (unsigned long)k2.cache_refill, (unsigned long)k2.cache_drain,
                  (unsigned long)k2.cache_empty, (unsigned long)k2.cache_pages, (unsigned long)k2.resident_stack_pages,
                  k2.user_threads, k2.kernel_threads, k2.reserve_pages);
    ktap_result(&t, counters_balance(&k2), "stack_counters_balance");
    ktap_result(&t, k2.check_rounds > k1.check_rounds, "invariant_checker_ran");
    ktap_diag("stress: kstack=%s, %u cpus, %ld s: %ld threads created, %ld processes spawned, %ld killed (%ld by "
              "themselves), %ld deep calls, %ld kernel sleeps (%ld futex waits, %ld timed out), %ld yields, %ld "
              "migrations seen, %lu in all; %ld IPC calls to %ld serving processes (%ld answered, %ld -EPIPE: the "
              "server gone, or killed mid-call; %ld timed out), %lu handoffs; %lu check rounds in the run (%lu since "
              "boot); free pages %ld before, %ld after", strategy, k2.cpus, seconds, fig.threads, fig.spawned,
              fig.killed + fig.self_killed,
              fig.self_killed, fig.deep_calls, fig.sleeps + fig.futex_waits, fig.futex_waits, fig.futex_timeouts,
              fig.yields, fig.migrations_seen, (unsigned long)(k2.migrations - k1.migrations), fig.ipc_calls,
              fig.ipc_servers, fig.ipc_answered, fig.ipc_gone, fig.ipc_timeouts,
              (unsigned long)(k2.ipc_handoffs - k1.ipc_handoffs),
              (unsigned long)(k2.check_rounds - k1.check_rounds), (unsigned long)k2.check_rounds, before, after);
    return ktap_end(&t);
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "child") == 0)
        return child_main(argv[2], strtol(argv[3], NULL, 10), strtoul(argv[4], NULL, 10));
    long seconds = argc >= 2 ? strtol(argv[1], NULL, 10) : 10;
    if (seconds < 1 || seconds > 86400) {
        printf("usage: stress [seconds 1..86400] (boot with testsys=1 kstack_check=<ms>)\n");
        return 2;
    }
    return run(seconds);
}
