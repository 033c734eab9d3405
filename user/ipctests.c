/*
 * ipctests.c: synchronous IPC (uapi/ipc.h, docs/DESIGN.md section 13.2) and
 * the name server (user/names.c), booted under each stack strategy with
 * kstack_restart=on and off (rows ipc[*] of tests/suites.conf): the same
 * results both ways. Handles and rights, calls and replies in order,
 * buffers, bad handles and bad buffers, time-outs (kept across wake-ups
 * for nothing), a server that dies holding a call, a caller that dies
 * before its reply, and a name server killed under its clients.
 */
#include "lib/string.h"
#include "names.h"
#include "stdio.h"
#include "syscall.h"
#include "thread.h"
#include "utest.h"

#define PROGRAM "ipctests"
#define LATE_MS 90              /* a deadline started again, or missed, is later than this */
#define KERNEL_ADDR 0xffff800000100000ul

static struct kstat kstat_now(void)
{
    struct kstat k;
    memset(&k, 0, sizeof(k));
    UT_CHECK(sys_kstat(&k, sizeof(k)) == sizeof(k));
    return k;
}

/* Until thread tid of ours is blocked (a wake-up for nothing would find it so), or 2 s. */
static void wait_blocked(int tid)
{
    struct ps_thread ps[64];
    for (int tries = 0; tries < 1000; tries++) {
        long n = sys_ps(ps, 64);
        for (long i = 0; i < n; i++)
            if (ps[i].tid == tid && ps[i].state == PS_BLOCKED)
                return;
        sys_sleep_ms(2);
    }
    utest_fail(__FILE__, __LINE__, "thread %d never blocked", tid);
}

/* ---------------------------------------------------------------- an echo server thread */

#define OP_STOP 0xdead          /* the server thread exits holding this call: its caller gets -EPIPE */
#define OP_HOLD 0x401d          /* the server takes the call and answers the next one instead */

static volatile long server_result;
static volatile int server_calls;

/* Reply to each call: label + 1, the words reversed, the buffer reversed. */
static void echo_server(void *arg)
{
    int ep = (int)(long)arg;
    char buf[IPC_BUF_MAX], out[IPC_BUF_MAX];
    struct ipc_ext ext = { .rbuf = buf, .rcap = sizeof(buf), .shandle = -1 };
    struct ipc_msg m = { 0 };
    for (;;) {
        long err = sys_ipc_reply_wait(ep, &m, &ext);
        if (err < 0) {
            server_result = err;
            return;
        }
        server_calls++;
        if (m.label == OP_STOP)
            sys_thread_exit(0);
        if (m.label == OP_HOLD) {
            m = (struct ipc_msg){ 0 };
            ext.slen = 0;
            err = sys_ipc_recv(ep, &m, &ext);  /* the held call ends with -EPIPE now: recv drops it */
            if (err < 0) {
                server_result = err;
                return;
            }
        }
        uint32_t n = m.len < sizeof(buf) ? m.len : sizeof(buf);
        for (uint32_t i = 0; i < n; i++)
            out[i] = buf[n - 1 - i];
        if (m.handle >= 0)
            sys_ipc_close(m.handle);
        m = (struct ipc_msg){ .label = m.label + 1, .w = { m.w[2], m.w[1], m.w[0] } };
        ext.sbuf = out;
        ext.slen = n;
    }
}

static int start_echo(int *ep)
{
    *ep = (int)sys_ipc_endpoint();
    UT_CHECK(*ep >= 0);
    int tid = thread_spawn(echo_server, (void *)(long)*ep);
    UT_CHECK(tid > 0);
    return tid;
}

static void stop_echo(int ep, int tid)
{
    struct ipc_msg m = { .label = OP_STOP };
    UT_CHECK_EQ(sys_ipc_call(ep, &m, NULL), -EPIPE);    /* it exits holding our call */
    UT_CHECK_EQ(thread_join(tid, NULL), 0);
    UT_CHECK_EQ(sys_ipc_close(ep), 0);
}

/* ---------------------------------------------------------------- handles */

static void test_handles(void)
{
    struct kstat k0 = kstat_now();
    long h = sys_ipc_endpoint();
    UT_CHECK(h >= 0);
    UT_CHECK_EQ(kstat_now().ipc_endpoints, k0.ipc_endpoints + 1);
    struct ipc_msg m = { 0 };
    struct ipc_ext quick = { .timeout_ms = 1, .shandle = -1 };
    UT_CHECK_EQ(sys_ipc_recv((int)h, &m, &quick), -ETIMEDOUT);
    UT_CHECK_EQ(sys_ipc_close((int)h), 0);
    UT_CHECK_EQ(sys_ipc_close((int)h), -EBADF);
    UT_CHECK_EQ(kstat_now().ipc_endpoints, k0.ipc_endpoints);
    long bad[] = { -1, IPC_HANDLES, 99999, (long)h, 0x7fffffff };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        UT_CHECK_EQ(sys_ipc_call((int)bad[i], &m, NULL), -EBADF);
        UT_CHECK_EQ(sys_ipc_send((int)bad[i], &m, NULL), -EBADF);
        UT_CHECK_EQ(sys_ipc_recv((int)bad[i], &m, NULL), -EBADF);
        UT_CHECK_EQ(sys_ipc_reply_wait((int)bad[i], &m, NULL), -EBADF);
        UT_CHECK_EQ(sys_ipc_close((int)bad[i]), -EBADF);
    }
    /* A full table: the next endpoint fails, and nothing is kept for it. */
    int hs[IPC_HANDLES];
    for (int i = 0; i < IPC_HANDLES; i++)
        UT_CHECK_EQ(hs[i] = (int)sys_ipc_endpoint(), i);
    UT_CHECK_EQ(sys_ipc_endpoint(), -EMFILE);
    UT_CHECK_EQ(kstat_now().ipc_endpoints, k0.ipc_endpoints + IPC_HANDLES);
    for (int i = 0; i < IPC_HANDLES; i++)
        UT_CHECK_EQ(sys_ipc_close(hs[i]), 0);
    UT_CHECK_EQ(sys_ipc_bootstrap(77, 0), -EINVAL);
}

/* A passed handle is a send-only copy: it cannot receive, and it closes on its own. */
static int pass_ep, pass_other;
static volatile long pass_result = 1;

static void pass_sender(void *arg)
{
    (void)arg;
    struct ipc_msg m = { .label = 5 };
    struct ipc_ext ext = { .shandle = pass_other };
    pass_result = sys_ipc_send(pass_ep, &m, &ext);
}

static void test_passed_handle_sends_only(void)
{
    pass_ep = (int)sys_ipc_endpoint();
    pass_other = (int)sys_ipc_endpoint();
    int tid = thread_spawn(pass_sender, NULL);
    struct ipc_msg m = { 0 };
    UT_CHECK_EQ(sys_ipc_recv(pass_ep, &m, NULL), 0);
    UT_CHECK_EQ(thread_join(tid, NULL), 0);
    UT_CHECK_EQ(pass_result, 0);
    UT_CHECK_EQ(m.label, 5);
    UT_CHECK_EQ(m.pid, sys_getpid());
    int copy = m.handle;
    UT_CHECK(copy >= 0 && copy != pass_ep && copy != pass_other);
    struct ipc_ext quick = { .timeout_ms = 20, .shandle = -1 };
    UT_CHECK_EQ(sys_ipc_recv(copy, &m, NULL), -EPERM);
    UT_CHECK_EQ(sys_ipc_reply_wait(copy, &m, NULL), -EPERM);
    UT_CHECK_EQ(sys_ipc_bootstrap(IPC_BOOTSTRAP_SET, copy), -EPERM);
    UT_CHECK_EQ(sys_ipc_send(copy, &m, &quick), -ETIMEDOUT);    /* it sends to pass_other, where nobody receives */
    UT_CHECK_EQ(sys_ipc_close(copy), 0);
    UT_CHECK_EQ(sys_ipc_recv(pass_other, &m, &quick), -ETIMEDOUT);    /* the original is untouched */
    struct ipc_ext bad = { .shandle = IPC_HANDLES - 1, .timeout_ms = 20 };
    UT_CHECK_EQ(sys_ipc_send(pass_ep, &m, &bad), -EBADF);             /* a handle we do not hold cannot go */
    UT_CHECK_EQ(sys_ipc_close(pass_ep), 0);
    UT_CHECK_EQ(sys_ipc_close(pass_other), 0);
}

/* ---------------------------------------------------------------- calls */

static void test_call_reply(void)
{
    int ep, tid = start_echo(&ep);
    struct kstat k0 = kstat_now();
    for (uint64_t i = 1; i <= 1000; i++) {
        struct ipc_msg m = { .label = i * 2, .w = { i, i + 1, ~i } };
        UT_CHECK_EQ(sys_ipc_call(ep, &m, NULL), 0);
        UT_CHECK_EQ(m.label, i * 2 + 1);
        UT_CHECK_EQ(m.w[0], ~i);
        UT_CHECK_EQ(m.w[1], i + 1);
        UT_CHECK_EQ(m.w[2], i);
        UT_CHECK_EQ(m.pid, sys_getpid());
        UT_CHECK_EQ(m.handle, -1);
        UT_CHECK_EQ(m.len, 0);
    }
    struct kstat k1 = kstat_now();
    UT_CHECK_EQ(server_calls, 1000);
    /* With the handoff on, every call and reply ran its partner next, with no run queue. */
    if (k0.ipc_handoff_on)
        UT_CHECK(k1.ipc_handoffs - k0.ipc_handoffs >= 1900);
    printf("    # call_reply: 1000 round trips, %lu handoffs, kstack_restart=%s\n",
           (unsigned long)(k1.ipc_handoffs - k0.ipc_handoffs), k0.restart_on ? "on" : "off");
    stop_echo(ep, tid);
}

static void test_buffers(void)
{
    int ep, tid = start_echo(&ep);
    char out[IPC_BUF_MAX + 1], in[IPC_BUF_MAX + 8];
    for (int i = 0; i < (int)sizeof(out); i++)
        out[i] = (char)('a' + i % 26);
    for (uint64_t n = 0; n <= IPC_BUF_MAX; n = n ? n * 2 : 1) {
        memset(in, '#', sizeof(in));
        struct ipc_msg m = { .label = 10 };
        struct ipc_ext ext = { .sbuf = out, .slen = n, .rbuf = in, .rcap = sizeof(in), .shandle = -1 };
        UT_CHECK_EQ(sys_ipc_call(ep, &m, &ext), 0);
        UT_CHECK_EQ(m.len, n);
        for (uint64_t i = 0; i < n; i++)
            UT_CHECK_EQ(in[i], out[n - 1 - i]);
        UT_CHECK_EQ(in[n], '#');
    }
    /* A short receive buffer: the length says how long the reply was, and no byte past rcap is written. */
    memset(in, '#', sizeof(in));
    struct ipc_msg m = { .label = 10 };
    struct ipc_ext ext = { .sbuf = "abcdefgh", .slen = 8, .rbuf = in, .rcap = 3, .shandle = -1 };
    UT_CHECK_EQ(sys_ipc_call(ep, &m, &ext), 0);
    UT_CHECK_EQ(m.len, 8);
    UT_CHECK(!memcmp(in, "hgf#", 4));
    ext.slen = IPC_BUF_MAX + 1;
    ext.sbuf = out;
    UT_CHECK_EQ(sys_ipc_call(ep, &m, &ext), -EMSGSIZE);
    stop_echo(ep, tid);
}

static void test_bad_buffers(void)
{
    int ep, tid = start_echo(&ep);
    struct ipc_msg m = { .label = 10 };
    char in[16];
    UT_CHECK_EQ(sys_ipc_call(ep, &m, opaque_ptr(KERNEL_ADDR)), -EFAULT);
    UT_CHECK_EQ(sys_ipc_call(ep, &m, opaque_ptr(0x1000)), -EFAULT);
    UT_CHECK_EQ(sys_ipc_call(ep, &m, opaque_ptr(0x8000000000000000ul)), -EFAULT);
    struct ipc_ext ext = { .sbuf = opaque_ptr(KERNEL_ADDR), .slen = 8, .shandle = -1 };
    UT_CHECK_EQ(sys_ipc_call(ep, &m, &ext), -EFAULT);
    ext = (struct ipc_ext){ .sbuf = opaque_ptr(0x1000), .slen = 8, .shandle = -1 };
    UT_CHECK_EQ(sys_ipc_call(ep, &m, &ext), -EFAULT);
    ext = (struct ipc_ext){ .rbuf = opaque_ptr(KERNEL_ADDR), .rcap = 8, .shandle = -1 };
    UT_CHECK_EQ(sys_ipc_call(ep, &m, &ext), -EFAULT);
    ext = (struct ipc_ext){ .shandle = -1, .reserved = 1 };
    UT_CHECK_EQ(sys_ipc_call(ep, &m, &ext), -EINVAL);
    ext = (struct ipc_ext){ .sbuf = in, .slen = 4, .shandle = -1 };
    UT_CHECK_EQ(sys_ipc_recv(ep, &m, &ext), -EINVAL);      /* recv sends nothing */
    /* A reply buffer that passes the range check but is not mapped: the server replied, our copy failed. */
    char *gone = (char *)sys_mmap_anon(4096, PROT_READ | PROT_WRITE);
    UT_CHECK(sys_munmap(gone, 4096) == 0);
    ext = (struct ipc_ext){ .sbuf = "xy", .slen = 2, .rbuf = gone, .rcap = 16, .shandle = -1 };
    UT_CHECK_EQ(sys_ipc_call(ep, &m, &ext), -EFAULT);
    /* The server goes on: a good call right after. */
    m = (struct ipc_msg){ .label = 20 };
    UT_CHECK_EQ(sys_ipc_call(ep, &m, NULL), 0);
    UT_CHECK_EQ(m.label, 21);
    stop_echo(ep, tid);
}

/* Senders wait in order: three blocked in send are received first come, first served. */
static int order_ep;
static void order_sender(void *arg)
{
    struct ipc_msg m = { .label = (uint64_t)(long)arg };
    long err = sys_ipc_send(order_ep, &m, NULL);
    sys_thread_exit(err);
}

static void test_send_order(void)
{
    order_ep = (int)sys_ipc_endpoint();
    int tids[3];
    for (long i = 0; i < 3; i++) {
        tids[i] = thread_spawn(order_sender, (void *)(i + 1));
        wait_blocked(tids[i]);
    }
    for (uint64_t i = 1; i <= 3; i++) {
        struct ipc_msg m = { 0 };
        UT_CHECK_EQ(sys_ipc_recv(order_ep, &m, NULL), 0);
        UT_CHECK_EQ(m.label, i);
    }
    for (int i = 0; i < 3; i++) {
        long v = 1;
        UT_CHECK_EQ(thread_join(tids[i], &v), 0);
        UT_CHECK_EQ(v, 0);
    }
    UT_CHECK_EQ(sys_ipc_close(order_ep), 0);
}

/* A call the server takes and never answers: recv drops it, the caller learns at once. */
static void test_unanswered_call(void)
{
    int ep, tid = start_echo(&ep);
    struct ipc_msg m = { .label = OP_HOLD };
    long t0 = sys_uptime_ms();
    /* The server holds this call, then receives again without answering it: -EPIPE. */
    UT_CHECK_EQ(sys_ipc_call(ep, &m, NULL), -EPIPE);
    UT_CHECK(sys_uptime_ms() - t0 < 1000);
    m = (struct ipc_msg){ .label = 40 };
    UT_CHECK_EQ(sys_ipc_call(ep, &m, NULL), 0);     /* the one its recv took: answered */
    UT_CHECK_EQ(m.label, 41);
    stop_echo(ep, tid);
}

/*
 * Two threads handing the CPU to each other run on one time slice: when it
 * is used up, the run queue has its turn. Else (one CPU) a third thread
 * that is runnable never runs again.
 */
static volatile int pinging;
static int ping_ep;
static void pinger(void *arg)
{
    (void)arg;
    while (__atomic_load_n(&pinging, __ATOMIC_RELAXED)) {
        struct ipc_msg m = { .label = 1 };
        if (sys_ipc_call(ping_ep, &m, NULL) != 0)
            break;
    }
}

static void test_handoff_does_not_starve(void)
{
    int tid = start_echo(&ping_ep);
    pinging = 1;
    int ping = thread_spawn(pinger, NULL);
    long worst = 0;
    for (int i = 0; i < 5; i++) {
        long t0 = sys_uptime_ms();
        sys_sleep_ms(20);
        long dt = sys_uptime_ms() - t0;
        worst = dt > worst ? dt : worst;
    }
    __atomic_store_n(&pinging, 0, __ATOMIC_RELAXED);
    UT_CHECK_EQ(thread_join(ping, NULL), 0);
    UT_CHECK(server_calls > 0);
    /* Starved, it never runs again (the pair never blocks both at once); a loaded host delays it 400 ms at worst. */
    UT_CHECK(worst >= 20 && worst < 1000);
    printf("    # handoff_does_not_starve: sleep_ms(20) next to %d round trips took at most %ld ms\n", server_calls,
           worst);
    stop_echo(ping_ep, tid);
}

/* ---------------------------------------------------------------- time-outs */

static void test_timeouts(void)
{
    long ep = sys_ipc_endpoint();
    struct ipc_msg m = { 0 };
    struct ipc_ext ext = { .timeout_ms = 60, .shandle = -1 };
    long t0 = sys_uptime_ms();
    UT_CHECK_EQ(sys_ipc_recv((int)ep, &m, &ext), -ETIMEDOUT);
    long dt = sys_uptime_ms() - t0;
    UT_CHECK(dt >= 60 && dt < 60 + LATE_MS);
    t0 = sys_uptime_ms();
    UT_CHECK_EQ(sys_ipc_call((int)ep, &m, &ext), -ETIMEDOUT);    /* nobody receives */
    dt = sys_uptime_ms() - t0;
    UT_CHECK(dt >= 60 && dt < 60 + LATE_MS);
    UT_CHECK_EQ(sys_ipc_send((int)ep, &m, &ext), -ETIMEDOUT);
    UT_CHECK_EQ(sys_ipc_close((int)ep), 0);
}

/* A server that takes a call and is slow: the caller's deadline covers the wait for the reply too. */
static int slow_ep;
static volatile long slow_second = 1;
static void slow_server(void *arg)
{
    (void)arg;
    struct ipc_msg m = { 0 };
    if (sys_ipc_recv(slow_ep, &m, NULL) < 0)
        return;
    sys_sleep_ms(150);
    /* Its caller gave up: the reply is dropped, and the wait goes on (here until its own deadline). */
    struct ipc_ext ext = { .timeout_ms = 40, .shandle = -1 };
    m.label = 99;
    slow_second = sys_ipc_reply_wait(slow_ep, &m, &ext);
}

static void test_call_timeout_drops_the_reply(void)
{
    slow_ep = (int)sys_ipc_endpoint();
    int tid = thread_spawn(slow_server, NULL);
    struct ipc_msg m = { .label = 1 };
    struct ipc_ext ext = { .timeout_ms = 60, .shandle = -1 };
    long t0 = sys_uptime_ms();
    UT_CHECK_EQ(sys_ipc_call(slow_ep, &m, &ext), -ETIMEDOUT);
    long dt = sys_uptime_ms() - t0;
    UT_CHECK(dt >= 60 && dt < 60 + LATE_MS);
    UT_CHECK_EQ(thread_join(tid, NULL), 0);
    UT_CHECK_EQ(slow_second, -ETIMEDOUT);
    UT_CHECK_EQ(sys_ipc_close(slow_ep), 0);
}

/* Restart is invisible: a receive woken twice for nothing keeps its first deadline, and a message after one still arrives. */
#define NAP_MS 400
static int nap_ep;
static volatile int nap_tid;
static volatile long nap_result, nap_elapsed, nap_label;

static void napper(void *arg)
{
    char buf[8] = { 0 };
    struct ipc_ext ext = { .timeout_ms = arg ? 0 : NAP_MS, .rbuf = buf, .rcap = sizeof(buf), .shandle = -1 };
    struct ipc_msg m = { 0 };
    long t0 = sys_uptime_ms();
    nap_tid = (int)sys_gettid();
    nap_result = sys_ipc_recv(nap_ep, &m, &ext);
    nap_elapsed = sys_uptime_ms() - t0;
    nap_label = (long)m.label + (buf[0] == 'k' ? 1000 : 0);
}

static void test_recv_keeps_its_deadline(void)
{
    nap_ep = (int)sys_ipc_endpoint();
    nap_tid = 0;
    int tid = thread_spawn(napper, NULL);
    while (!__atomic_load_n(&nap_tid, __ATOMIC_ACQUIRE))
        sys_yield();
    for (int kick = 1; kick <= 2; kick++) {
        sys_sleep_ms(100);
        UT_CHECK_EQ(sys_test_wake(tid), 0);
    }
    UT_CHECK_EQ(thread_join(tid, NULL), 0);
    UT_CHECK_EQ(nap_result, -ETIMEDOUT);
    UT_CHECK(nap_elapsed >= NAP_MS && nap_elapsed < NAP_MS + LATE_MS);
    printf("    # recv_keeps_its_deadline: recv(%d ms) woken twice for nothing: %ld after %ld ms\n", NAP_MS,
           nap_result, nap_elapsed);

    /* Woken for nothing, then a message with a buffer: it arrives whole. */
    nap_tid = 0;
    tid = thread_spawn(napper, (void *)1);
    while (!__atomic_load_n(&nap_tid, __ATOMIC_ACQUIRE))
        sys_yield();
    wait_blocked(tid);
    UT_CHECK_EQ(sys_test_wake(tid), 0);
    wait_blocked(tid);
    struct ipc_msg m = { .label = 7 };
    struct ipc_ext ext = { .sbuf = "kick", .slen = 4, .shandle = -1 };
    UT_CHECK_EQ(sys_ipc_send(nap_ep, &m, &ext), 0);
    UT_CHECK_EQ(thread_join(tid, NULL), 0);
    UT_CHECK_EQ(nap_result, 0);
    UT_CHECK_EQ(nap_label, 1007);
    UT_CHECK_EQ(sys_ipc_close(nap_ep), 0);
}

/* ---------------------------------------------------------------- processes: the name server, deaths */

static long names_pid;

/* Our own name server, as a child (so we may kill it): a handle to it. */
static int names_start(void)
{
    char *argv[] = { "names", NULL };
    names_pid = sys_spawn("names", argv);
    UT_CHECK(names_pid > 0);
    for (int tries = 0; tries < 1000; tries++) {
        struct ipc_msg m = { .label = NAMES_LOOKUP };
        int ns = names_connect(false);
        if (ns >= 0) {
            struct ipc_ext ext = { .sbuf = "?", .slen = 1, .shandle = -1 };
            if (sys_ipc_call(ns, &m, &ext) == 0 && m.pid == names_pid)
                return ns;      /* ours answers, not one a former test left dying */
            sys_ipc_close(ns);
        }
        sys_sleep_ms(2);
    }
    utest_fail(__FILE__, __LINE__, "names (pid %ld) never served", names_pid);
    return -1;
}

/* Kill it; a caller of ours may still use ns (and get -EPIPE): the caller closes it. */
static void names_kill(void)
{
    int status = -1;
    UT_CHECK_EQ(sys_kill((int)names_pid, 0), 0);
    UT_CHECK_EQ(sys_wait((int)names_pid, &status), names_pid);
}

static void names_stop(int ns)
{
    names_kill();
    UT_CHECK_EQ(sys_ipc_close(ns), 0);
}

static void test_name_server(void)
{
    struct kstat k0 = kstat_now();
    int ns = names_start();
    int ep = (int)sys_ipc_endpoint();
    UT_CHECK_EQ(names_register(ns, "echo", ep), 0);
    UT_CHECK_EQ(names_register(ns, "echo", ep), -EEXIST);
    UT_CHECK_EQ(names_lookup(ns, "nobody"), -ENOENT);
    UT_CHECK_EQ(names_register(ns, "no-handle", -1), -EINVAL);
    int h = names_lookup(ns, "echo");
    UT_CHECK(h >= 0 && h != ep);
    UT_CHECK_EQ(sys_ipc_recv(h, NULL, NULL), -EPERM);       /* what a lookup gives sends only */
    UT_CHECK_EQ(names_remove(ns, "echo"), 0);
    UT_CHECK_EQ(names_lookup(ns, "echo"), -ENOENT);
    struct ipc_msg m = { .label = 12345 };
    UT_CHECK_EQ(sys_ipc_call(ns, &m, NULL), 0);
    UT_CHECK_EQ((long)m.label, -EINVAL);                    /* no name */
    sys_ipc_close(h);
    sys_ipc_close(ep);
    names_stop(ns);
    UT_CHECK_EQ(kstat_now().ipc_endpoints, k0.ipc_endpoints);   /* names' endpoint and the copies it held are gone */
}

/* Helper processes: named by the test, they find the test's endpoint (or register theirs) through names. */
static int helper_connect(void)
{
    int ns = names_connect(false);
    if (ns < 0) {
        printf("%s: no name server: %d\n", utest_name, ns);
        sys_exit(3);
    }
    return ns;
}

/* Registers "victim", takes one call, then the test kills it while it holds the call. */
static void test_serve_and_hold(void)
{
    int ns = helper_connect();
    int ep = (int)sys_ipc_endpoint();
    if (names_register(ns, "victim", ep) != 0)
        sys_exit(4);
    struct ipc_msg m = { 0 };
    sys_ipc_recv(ep, &m, NULL);
    for (;;)
        sys_sleep_ms(1000);
}

/* Registers "quitter", takes one call and exits without answering. */
static void test_serve_and_exit(void)
{
    int ns = helper_connect();
    int ep = (int)sys_ipc_endpoint();
    if (names_register(ns, "quitter", ep) != 0)
        sys_exit(4);
    struct ipc_msg m = { 0 };
    sys_ipc_recv(ep, &m, NULL);
    sys_exit(0);
}

/* Calls "caller-target" and waits for ever for the reply: the test kills it. */
static void test_call_and_wait(void)
{
    int ns = helper_connect();
    int h = names_lookup(ns, "caller-target");
    struct ipc_msg m = { .label = 77 };
    sys_ipc_call(h, &m, NULL);
    sys_exit(5);
}

static long spawn_helper(const char *name)
{
    char *argv[] = { PROGRAM, (char *)name, NULL };
    long pid = sys_spawn(PROGRAM, argv);
    UT_CHECK(pid > 0);
    return pid;
}

static int lookup_until(int ns, const char *name)
{
    for (int tries = 0; tries < 1000; tries++) {
        int h = names_lookup(ns, name);
        if (h >= 0)
            return h;
        sys_sleep_ms(2);
    }
    utest_fail(__FILE__, __LINE__, "%s was never registered", name);
    return -1;
}

static int victim_h;
static volatile long victim_result = 1;
static void victim_caller(void *arg)
{
    (void)arg;
    struct ipc_msg m = { .label = 3 };
    victim_result = sys_ipc_call(victim_h, &m, NULL);
}

static void test_dead_server(void)
{
    struct kstat k0 = kstat_now();
    int ns = names_start();
    /* A server process killed while it holds our call: the call fails, and so does every call after. */
    long pid = spawn_helper("serve_and_hold");
    victim_h = lookup_until(ns, "victim");
    int tid = thread_spawn(victim_caller, NULL);
    wait_blocked(tid);
    sys_sleep_ms(20);
    UT_CHECK_EQ(victim_result, 1);              /* taken, not answered */
    int status = -1;
    UT_CHECK_EQ(sys_kill((int)pid, 9), 0);
    UT_CHECK_EQ(sys_wait((int)pid, &status), pid);
    UT_CHECK_EQ(thread_join(tid, NULL), 0);
    UT_CHECK_EQ(victim_result, -EPIPE);
    struct ipc_msg m = { .label = 4 };
    UT_CHECK_EQ(sys_ipc_call(victim_h, &m, NULL), -EPIPE);     /* its endpoint died with it */
    UT_CHECK_EQ(sys_ipc_send(victim_h, &m, NULL), -EPIPE);
    UT_CHECK_EQ(sys_ipc_close(victim_h), 0);

    /* A server that exits on its own with our call unanswered. */
    pid = spawn_helper("serve_and_exit");
    int h = lookup_until(ns, "quitter");
    m = (struct ipc_msg){ .label = 5 };
    UT_CHECK_EQ(sys_ipc_call(h, &m, NULL), -EPIPE);
    UT_CHECK_EQ(sys_wait((int)pid, &status), pid);
    UT_CHECK_EQ(status, 0);
    sys_ipc_close(h);
    names_stop(ns);
    UT_CHECK_EQ(kstat_now().ipc_endpoints, k0.ipc_endpoints);
}

static void test_dead_caller(void)
{
    struct kstat k0 = kstat_now();
    int ns = names_start();
    int ep = (int)sys_ipc_endpoint();
    UT_CHECK_EQ(names_register(ns, "caller-target", ep), 0);
    long pid = spawn_helper("call_and_wait");
    struct ipc_msg m = { 0 };
    UT_CHECK_EQ(sys_ipc_recv(ep, &m, NULL), 0);
    UT_CHECK_EQ(m.label, 77);
    UT_CHECK_EQ(m.pid, pid);
    int status = -1;
    UT_CHECK_EQ(sys_kill((int)pid, 9), 0);
    UT_CHECK_EQ(sys_wait((int)pid, &status), pid);
    UT_CHECK_EQ(status, 9);
    /* Its reply has nobody to go to: dropped, and the wait goes on. */
    struct ipc_ext ext = { .timeout_ms = 30, .shandle = -1 };
    m = (struct ipc_msg){ .label = 78 };
    UT_CHECK_EQ(sys_ipc_reply_wait(ep, &m, &ext), -ETIMEDOUT);
    UT_CHECK_EQ(names_remove(ns, "caller-target"), 0);
    sys_ipc_close(ep);
    names_stop(ns);
    UT_CHECK_EQ(kstat_now().ipc_endpoints, k0.ipc_endpoints);
}

/* The name server killed under a client blocked in a call to it, and started again. */
static volatile long ns_call_result = 1;
static int ns_handle;
static void names_caller(void *arg)
{
    (void)arg;
    for (;;) {
        int h = names_lookup(ns_handle, "x");
        if (h != -ENOENT) {
            ns_call_result = h;
            return;
        }
    }
}

static void test_name_server_killed(void)
{
    ns_handle = names_start();
    int tid = thread_spawn(names_caller, NULL);
    sys_sleep_ms(30);
    names_kill();
    UT_CHECK_EQ(thread_join(tid, NULL), 0);
    UT_CHECK_EQ(ns_call_result, -EPIPE);
    UT_CHECK_EQ(sys_ipc_close(ns_handle), 0);
    UT_CHECK_EQ(names_connect(false), -ENOENT);       /* its death emptied the bootstrap slot */
    int ns = names_start();                           /* a new one takes over */
    int ep = (int)sys_ipc_endpoint();
    UT_CHECK_EQ(names_register(ns, "again", ep), 0);
    int h = names_lookup(ns, "again");
    UT_CHECK(h >= 0);
    sys_ipc_close(h);
    sys_ipc_close(ep);
    names_stop(ns);
}

static const struct utest tests[] = {
    UTEST(handles),
    UTEST(passed_handle_sends_only),
    UTEST(call_reply),
    UTEST(buffers),
    UTEST(bad_buffers),
    UTEST(send_order),
    UTEST(unanswered_call),
    UTEST(handoff_does_not_starve),
    UTEST(timeouts),
    UTEST(call_timeout_drops_the_reply),
    UTEST(recv_keeps_its_deadline),
    UTEST_EXPECT(name_server, UTEST_LEAK_CHECK, 0),
    UTEST_EXPECT(dead_server, UTEST_LEAK_CHECK, 0),
    UTEST_EXPECT(dead_caller, UTEST_LEAK_CHECK, 0),
    UTEST(name_server_killed),
    UTEST_HELPER_ENTRY(serve_and_hold),
    UTEST_HELPER_ENTRY(serve_and_exit),
    UTEST_HELPER_ENTRY(call_and_wait),
};

int main(int argc, char **argv)
{
    return utest_main("ipctests", PROGRAM, tests, UTEST_COUNT(tests), argc, argv);
}
