/*
 * bench.c: the guest side of `make bench` (tools/bench.py boots it once per
 * strategy and accelerator). argv[1], from the kernel's initarg=, picks the
 * plan: `micro` (costs per operation, 1 CPU, under -icount shift=0 for the
 * primary table), `load` (memory under a mixed load, several CPUs), `ipc2`
 * (IPC round trips on 2 CPUs), and their `-quick` forms with small counts
 * (make test runs those). `bench ipc-server` is the IPC benches' server.
 *
 * Each result is one console line, a JSON object the host turns into a row
 * of build/bench/results.csv (docs/DESIGN.md section 10):
 *   BENCH {"bench":...,"strategy":...,"cpus":...,"threads":...,"metric":...,"value":...,"unit":...,"restart":...}
 * Times are TSC ticks per operation (unit "tsc": the host names the clock),
 * from batches of operations: the median and the minimum over the batches.
 * `BENCH-DONE` ends the run; `BENCH-ERROR <what>` reports a failure.
 */
#include "lib/string.h"
#include "stdio.h"
#include "syscall.h"
#include "thread.h"

#define PROGRAM "bench"
#define PAGE 4096ul
#define MAX_BATCHES 200

static const char *const strategy_names[] = { "fixed", "eager", "fault", "lazy" };
static struct kstat boot_k;
static bool quick;
static int errors;

static inline uint64_t tsc_start(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
    return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t tsc_end(void)
{
    uint32_t lo, hi, aux;
    __asm__ volatile("rdtscp; lfence" : "=a"(lo), "=d"(hi), "=c"(aux) :: "memory");
    return ((uint64_t)hi << 32) | lo;
}

static struct kstat kstat_now(void)
{
    struct kstat k;
    memset(&k, 0, sizeof(k));
    if (sys_kstat(&k, sizeof(k)) != sizeof(k)) {
        printf("BENCH-ERROR kstat failed\n");
        errors++;
    }
    return k;
}

/* One result line; hundredths lets KiB per thread keep two decimals. "restart" is the boot's kstack_restart. */
static void emit_x100(const char *bench, long threads, const char *metric, unsigned long x100, const char *unit)
{
    printf("BENCH {\"bench\":\"%s\",\"strategy\":\"%s\",\"cpus\":%u,\"threads\":%ld,\"metric\":\"%s\",\"value\":%lu.%02lu,"
           "\"unit\":\"%s\",\"restart\":\"%s\"}\n", bench, strategy_names[boot_k.strategy & 3], boot_k.cpus, threads,
           metric, x100 / 100, x100 % 100, unit, boot_k.restart_on ? "on" : "off");
}

static void emit(const char *bench, long threads, const char *metric, unsigned long value, const char *unit)
{
    printf("BENCH {\"bench\":\"%s\",\"strategy\":\"%s\",\"cpus\":%u,\"threads\":%ld,\"metric\":\"%s\",\"value\":%lu,"
           "\"unit\":\"%s\",\"restart\":\"%s\"}\n", bench, strategy_names[boot_k.strategy & 3], boot_k.cpus, threads,
           metric, value, unit, boot_k.restart_on ? "on" : "off");
}

static void sort(uint64_t *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
}

/* Median and minimum per operation of `batches` batches of `ops` calls of fn; returns the median. */
static uint64_t measure(const char *bench, long threads, void (*fn)(unsigned long ops), unsigned long ops,
                        int batches)
{
    static uint64_t per_op[MAX_BATCHES];
    if (quick) {
        ops = ops / 10 ? ops / 10 : 1;
        batches = batches / 10 > 5 ? batches / 10 : 5;
    }
    fn(ops);                            /* warm-up: caches, demand faults, the first expansion */
    for (int b = 0; b < batches; b++) {
        uint64_t t0 = tsc_start();
        fn(ops);
        per_op[b] = (tsc_end() - t0) / ops;
    }
    sort(per_op, batches);
    emit(bench, threads, "median", per_op[batches / 2], "tsc");
    emit(bench, threads, "min", per_op[0], "tsc");
    return per_op[batches / 2];
}

/* ---------------------------------------------------------------- the operations */

static void op_getpid(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        sys_getpid();
}

static void op_yield(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        sys_yield();
}

static size_t stack_bytes;
static void op_test_stack(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        sys_test_stack(stack_bytes);
}

static void empty_thread(void *arg)
{
    (void)arg;
}

static void op_thread_create_join(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++) {
        int tid = thread_spawn(empty_thread, NULL);
        if (tid < 0 || thread_join(tid, NULL) != 0) {
            printf("BENCH-ERROR thread_create_join: %d\n", tid);
            errors++;
            return;
        }
    }
}

static void op_spawn_wait(unsigned long n)
{
    char *argv[] = { PROGRAM, "exit", NULL };
    for (unsigned long i = 0; i < n; i++) {
        long pid = sys_spawn(PROGRAM, argv);
        if (pid < 0 || sys_wait((int)pid, NULL) != pid) {
            printf("BENCH-ERROR spawn_wait: %ld\n", pid);
            errors++;
            return;
        }
    }
}

static void op_demand_fault(unsigned long n)
{
    long map = sys_mmap_anon(n * PAGE, PROT_READ | PROT_WRITE);
    if (map < 0) {
        printf("BENCH-ERROR demand_fault: mmap %ld\n", map);
        errors++;
        return;
    }
    for (unsigned long i = 0; i < n; i++)
        ((volatile char *)map)[i * PAGE] = 1;
    sys_munmap((void *)map, n * PAGE);
}

/* Two threads on one CPU taking turns: each yield of the measuring thread is two switches. */
static volatile int pong_stop;
static void yield_partner(void *arg)
{
    (void)arg;
    while (!pong_stop)
        sys_yield();
}

/* Two threads passing a token through futexes (several CPUs): one round trip per operation. */
static volatile int token;
static void futex_partner(void *arg)
{
    (void)arg;
    for (;;) {
        while (__atomic_load_n(&token, __ATOMIC_ACQUIRE) == 0)
            sys_futex_wait((int *)&token, 0, 0);
        if (token < 0)
            return;
        __atomic_store_n(&token, 0, __ATOMIC_RELEASE);
        sys_futex_wake((int *)&token, 1);
    }
}

static void op_futex_roundtrip(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++) {
        __atomic_store_n(&token, 1, __ATOMIC_RELEASE);
        sys_futex_wake((int *)&token, 1);
        while (__atomic_load_n(&token, __ATOMIC_ACQUIRE) == 1)
            sys_futex_wait((int *)&token, 1, 0);
    }
}

/*
 * Yield ping-pong, and futex ping-pong: on one CPU that is wake-to-run (the
 * woken thread runs once its waker waits), the blocking path kstack_restart
 * changes; on several CPUs the wake crosses to another CPU.
 */
static void pingpongs(int yield_batches)
{
    pong_stop = 0;
    int partner = thread_spawn(yield_partner, NULL);
    measure("yield_pingpong", 1, op_yield, 1000, yield_batches);
    pong_stop = 1;
    thread_join(partner, NULL);
    token = 0;
    partner = thread_spawn(futex_partner, NULL);
    measure("futex_pingpong", 1, op_futex_roundtrip, 200, 100);
    __atomic_store_n(&token, -1, __ATOMIC_RELEASE);
    sys_futex_wake((int *)&token, 1);
    thread_join(partner, NULL);
}

/* ---------------------------------------------------------------- IPC round trips */

/*
 * ipc_roundtrip: one ipc_call and the server's ipc_reply_wait, messages in
 * registers only. The server is another process (`bench ipc-server`, which
 * publishes its endpoint with ipc_bootstrap: no name server runs in a bench
 * boot) or, for ipc_roundtrip_thread, a thread of ours; ipc_roundtrip_buf64
 * carries 64 bytes each way to a server process. Booted with ipc_handoff=off
 * the benches are named ..._nohandoff: the woken side goes through the run
 * queues. On two CPUs, where the server last ran and the migrations per
 * round trip say whether the round trip crossed CPUs.
 */
#define IPC_BENCH_BUF 64

static int ipc_target;                          /* the handle op_ipc_call calls */
static const struct ipc_ext *ipc_call_ext;      /* NULL: registers only */
static unsigned long ipc_calls;                 /* round trips made, for the handoffs per round trip */
static bool ipc_failed;

static void op_ipc_call(unsigned long n)
{
    for (unsigned long i = 0; i < n && !ipc_failed; i++) {
        struct ipc_msg m = { .label = i };
        long err = sys_ipc_call(ipc_target, &m, ipc_call_ext);
        if (err != 0 || m.label != i + 1) {
            printf("BENCH-ERROR ipc_call: %ld (label %lu for %lu)\n", err, (unsigned long)m.label, i);
            errors++;
            ipc_failed = true;
        }
        ipc_calls++;
    }
}

/* Answers each call with label + 1 and, with buffers, the bytes it got; 0 once the endpoint is gone. */
static long ipc_serve(int ep, bool buffers)
{
    char buf[IPC_BUF_MAX];
    struct ipc_ext ext = { .rbuf = buf, .rcap = sizeof(buf), .shandle = -1 };
    struct ipc_msg m = { 0 };
    long err;
    while ((err = sys_ipc_reply_wait(ep, &m, buffers ? &ext : NULL)) == 0) {
        ext.sbuf = buf;
        ext.slen = m.len < sizeof(buf) ? m.len : sizeof(buf);
        m.label++;
    }
    return err == -EPIPE || err == -EBADF ? 0 : err;
}

static void ipc_server_thread(void *arg)
{
    long err = ipc_serve((int)(long)arg, false);
    if (err) {
        printf("BENCH-ERROR ipc server thread: %ld\n", err);
        __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
    }
}

/* `bench ipc-server [buf64]`: the server process, until its parent kills it. */
static int ipc_server_main(bool buffers)
{
    long ep = sys_ipc_endpoint();
    long err = ep < 0 ? ep : sys_ipc_bootstrap(IPC_BOOTSTRAP_SET, (int)ep);
    if (!err)
        err = ipc_serve((int)ep, buffers);
    if (err) {
        printf("BENCH-ERROR ipc-server: %ld\n", err);
        return 1;
    }
    return 0;
}

static long ipc_server_pid;

/* Spawns the server process; a send handle to its endpoint once it has published it, or -1. */
static int ipc_server_start(bool buffers)
{
    char *argv[] = { PROGRAM, "ipc-server", buffers ? "buf64" : NULL, NULL };
    ipc_server_pid = sys_spawn(PROGRAM, argv);
    if (ipc_server_pid < 0) {
        printf("BENCH-ERROR ipc-server: spawn %ld\n", ipc_server_pid);
        errors++;
        return -1;
    }
    for (int tries = 0; tries < 2000; tries++) {
        long h = sys_ipc_bootstrap(IPC_BOOTSTRAP_GET, 0);
        if (h >= 0)
            return (int)h;
        sys_sleep_ms(1);
    }
    printf("BENCH-ERROR ipc-server (pid %ld) never published its endpoint\n", ipc_server_pid);
    errors++;
    return -1;
}

/* Kills and waits for the server process: the bootstrap slot is free again. */
static void ipc_server_stop(int h)
{
    int status = -1;
    sys_ipc_close(h);
    if (sys_kill((int)ipc_server_pid, 0) != 0 || sys_wait((int)ipc_server_pid, &status) != ipc_server_pid) {
        printf("BENCH-ERROR ipc-server (pid %ld) did not end\n", ipc_server_pid);
        errors++;
    }
}

/* The CPU thread tid (or, with tid 0, the one thread of process pid) runs or last ran on; -1 if not found. */
static int thread_cpu(long pid, long tid)
{
    static struct ps_thread ps[64];
    long n = sys_ps(ps, 64);
    for (long i = 0; i < n; i++)
        if (tid ? ps[i].tid == tid : ps[i].pid == pid)
            return ps[i].cpu;
    return -1;
}

/* Round trips to handle h, and per round trip the handoffs kstat counted; on several CPUs, where the server ran. */
static void ipc_measure(const char *bench, int h, const struct ipc_ext *ext, long server_pid, long server_tid)
{
    char name[48];
    snprintf(name, sizeof(name), "%s%s", bench, boot_k.ipc_handoff_on ? "" : "_nohandoff");
    ipc_target = h;
    ipc_call_ext = ext;
    ipc_calls = 0;
    struct kstat a = kstat_now();
    measure(name, 1, op_ipc_call, 200, 100);
    struct kstat z = kstat_now();
    emit_x100(name, 1, "handoffs", ipc_calls ? (z.ipc_handoffs - a.ipc_handoffs) * 100 / ipc_calls : 0, "count");
    if (boot_k.cpus > 1) {
        int mine = thread_cpu(0, sys_gettid()), theirs = thread_cpu(server_pid, server_tid);
        emit(name, 1, "server_other_cpu", mine >= 0 && theirs >= 0 && mine != theirs, "count");
        emit_x100(name, 1, "migrations", ipc_calls ? (z.migrations - a.migrations) * 100 / ipc_calls : 0, "count");
    }
}

static void ipc_roundtrips(void)
{
    int h = ipc_server_start(false);
    if (h >= 0) {
        ipc_measure("ipc_roundtrip", h, NULL, ipc_server_pid, 0);
        ipc_server_stop(h);
    }
    long ep = sys_ipc_endpoint();
    int tid = ep < 0 ? (int)ep : thread_spawn(ipc_server_thread, (void *)ep);
    if (tid < 0) {
        printf("BENCH-ERROR ipc_roundtrip_thread: endpoint or thread: %d\n", tid);
        errors++;
    } else {
        ipc_measure("ipc_roundtrip_thread", (int)ep, NULL, 0, tid);
        sys_ipc_close((int)ep);         /* the server's reply_wait fails with -EPIPE: it returns */
        thread_join(tid, NULL);
    }
    static char out[IPC_BENCH_BUF], in[IPC_BENCH_BUF];
    static const struct ipc_ext buffers = { .sbuf = out, .slen = sizeof(out), .rbuf = in, .rcap = sizeof(in),
                                            .shandle = -1 };
    h = ipc_server_start(true);
    if (h >= 0) {
        ipc_measure("ipc_roundtrip_buf64", h, &buffers, ipc_server_pid, 0);
        ipc_server_stop(h);
    }
}

/* In-kernel costs of the strategy's own operations: ticks per operation from test_kstack_bench. */
/* Ticks per operation, and the stack invlpgs one operation does (counted by the kernel around it). */
static void kstack_op(const char *bench, int op)
{
    unsigned long n = quick ? 100 : 1000;
    int batches = quick ? 5 : 50;
    uint64_t per_op[MAX_BATCHES];
    for (int b = 0; b < batches; b++) {
        long ticks = sys_test_kstack_bench(op, n);
        if (ticks < 0) {
            printf("BENCH-ERROR %s: %ld\n", bench, ticks);
            errors++;
            return;
        }
        per_op[b] = (uint64_t)ticks / n;
    }
    sort(per_op, batches);
    emit(bench, 1, "median", per_op[batches / 2], "tsc");
    emit(bench, 1, "min", per_op[0], "tsc");
    long invlpgs = sys_test_kstack_bench(op | KSTACK_BENCH_INVLPG, n);
    emit(bench, 1, "invlpg", invlpgs >= 0 ? (unsigned long)invlpgs / n : 0, "count");
}

/* ---------------------------------------------------------------- sleepers, for scaling and memory */

static volatile int sleepers_release, sleepers_asleep;

static void sleeper(void *arg)
{
    (void)arg;
    __atomic_fetch_add(&sleepers_asleep, 1, __ATOMIC_RELAXED);
    while (!__atomic_load_n(&sleepers_release, __ATOMIC_ACQUIRE))
        sys_futex_wait((int *)&sleepers_release, 0, 0);
}

static int sleeper_tids[THREAD_MAX];
static int nsleepers;

/* Grows the population of threads asleep in futex_wait to `total`. */
static bool sleepers_grow(int total)
{
    while (nsleepers < total) {
        int tid = thread_spawn(sleeper, NULL);
        if (tid < 0) {
            printf("BENCH-ERROR %d sleepers: thread_spawn %d\n", nsleepers, tid);
            errors++;
            return false;
        }
        sleeper_tids[nsleepers++] = tid;
    }
    for (int i = 0; i < 2000 && __atomic_load_n(&sleepers_asleep, __ATOMIC_RELAXED) < total; i++)
        sys_sleep_ms(5);
    sys_sleep_ms(20);                   /* the last ones into futex_wait */
    return true;
}

static void sleepers_end(void)
{
    __atomic_store_n(&sleepers_release, 1, __ATOMIC_RELEASE);
    sys_futex_wake((int *)&sleepers_release, nsleepers);
    for (int i = 0; i < nsleepers; i++)
        thread_join(sleeper_tids[i], NULL);
    nsleepers = 0;
    sleepers_asleep = sleepers_release = 0;
}

/* ---------------------------------------------------------------- plans */

static void futex_wake_n(int n)
{
    static int tids[THREAD_MAX];
    for (int i = 0; i < n; i++) {
        tids[i] = thread_spawn(sleeper, NULL);
        if (tids[i] < 0) {
            printf("BENCH-ERROR futex_wake_n %d: thread_spawn %d\n", n, tids[i]);
            errors++;
            n = i;
            break;
        }
    }
    for (int i = 0; i < 4000 && __atomic_load_n(&sleepers_asleep, __ATOMIC_RELAXED) < n; i++)
        sys_sleep_ms(5);
    sys_sleep_ms(20);
    __atomic_store_n(&sleepers_release, 1, __ATOMIC_RELEASE);
    uint64_t t0 = tsc_start();
    long woken = sys_futex_wake((int *)&sleepers_release, n);
    uint64_t ticks = tsc_end() - t0;
    for (int i = 0; i < n; i++)
        thread_join(tids[i], NULL);
    sleepers_asleep = sleepers_release = 0;
    if (woken != n) {
        printf("BENCH-ERROR futex_wake_n: woke %ld of %d\n", woken, n);
        errors++;
    }
    emit("futex_wake_n", n, "total", ticks, "tsc");
    emit("futex_wake_n", n, "per_waiter", n ? ticks / (uint64_t)n : 0, "tsc");
}

static void plan_micro(void)
{
    measure("null_syscall", 1, op_getpid, 1000, 200);
    static const struct { const char *name; size_t bytes; } depths[] = {
        { "syscall_stack_1k", 1024 }, { "syscall_stack_4k", 4096 },
        { "syscall_stack_8k", 8192 }, { "syscall_stack_12k", 12288 },
    };
    for (int i = 0; i < 4; i++) {
        stack_bytes = depths[i].bytes;
        measure(depths[i].name, 1, op_test_stack, 1000, 200);
    }
    measure("yield_alone", 1, op_yield, 1000, 200);
    pingpongs(200);
    ipc_roundtrips();
    measure("thread_create_join", 1, op_thread_create_join, 20, 50);
    measure("spawn_wait", 1, op_spawn_wait, 5, 20);
    measure("demand_fault", 1, op_demand_fault, 256, 50);
    if (boot_k.strategy != 0) {
        kstack_op("expand", KSTACK_BENCH_EXPAND);
        kstack_op("shrink", KSTACK_BENCH_SHRINK);
    }
    if (boot_k.strategy == 2)
        kstack_op("growth_fault", KSTACK_BENCH_GROWTH);

    /* The same costs with many threads asleep in the kernel: they must not grow. */
    static const int populations[] = { 100, 1000, 10000 };
    for (int p = 0; p < (quick ? 1 : 3); p++) {
        if (!sleepers_grow(populations[p]))
            break;
        measure("null_syscall", populations[p], op_getpid, 1000, 200);
        measure("yield_alone", populations[p], op_yield, 1000, 200);
        measure("thread_create_join", populations[p], op_thread_create_join, 20, 50);
    }
    sleepers_end();
    static const int wakers[] = { 10, 100, 1000, 10000 };
    for (int w = 0; w < (quick ? 2 : 4); w++)
        futex_wake_n(wakers[w]);
}

/* ---------------------------------------------------------------- memory under a mixed load */

/*
 * Three kinds of thread, a third each: spinners in user mode; callers, in
 * syscalls at mixed depths, with an ipc_call every LOAD_CALL_EVERY rounds;
 * IPC servers blocked in ipc_recv on the bench's endpoints (one endpoint per
 * LOAD_SERVERS_PER_EP servers), which answer with ipc_reply_wait and wait again.
 */
#define LOAD_SERVERS_PER_EP 100
#define LOAD_CALL_EVERY 8

static volatile int load_stop, load_go;
static volatile long load_served;
static int load_eps[IPC_HANDLES];
static int load_neps;

/* Every thread of the load waits here until all exist: spinners started early would starve the creator. */
static void load_gate(void)
{
    while (!__atomic_load_n(&load_go, __ATOMIC_ACQUIRE))
        sys_futex_wait((int *)&load_go, 0, 0);
}

static void load_spinner(void *arg)
{
    (void)arg;
    load_gate();
    while (!load_stop)
        __asm__ volatile("pause");
}

/* The first round calls too, so that every caller that runs before the stop has called once. */
static void load_caller(void *arg)
{
    static const size_t depths[] = { 1024, 4096, 8192, 12288 };
    long i = (long)arg;
    size_t bytes = depths[i % 4];
    int ep = load_eps[(i / 3) % load_neps];
    load_gate();
    for (unsigned long round = 0; !load_stop; round++) {
        if (round % LOAD_CALL_EVERY == 0) {
            struct ipc_msg m = { .label = round };
            long err = sys_ipc_call(ep, &m, NULL);
            if (err || m.label != round + 1) {
                printf("BENCH-ERROR mixed_load: ipc_call %ld\n", err);
                __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
                return;
            }
        }
        sys_test_stack(bytes);
        sys_yield();
    }
}

/* Served until its endpoint is closed (-EPIPE, or -EBADF if it is closed before the first receive). */
static void load_server(void *arg)
{
    int ep = load_eps[((long)arg / 3 / LOAD_SERVERS_PER_EP) % load_neps];
    struct ipc_msg m = { 0 };
    long err = sys_ipc_recv(ep, &m, NULL);
    while (err == 0) {
        __atomic_fetch_add(&load_served, 1, __ATOMIC_RELAXED);
        m.label++;
        err = sys_ipc_reply_wait(ep, &m, NULL);
    }
    if (err != -EPIPE && err != -EBADF) {
        printf("BENCH-ERROR mixed_load: server %ld\n", err);
        __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
    }
}

enum { LOAD_SPINNER, LOAD_CALLER, LOAD_SERVER };

static void mixed_load(int total)
{
    static int tids[THREAD_MAX];
    int n = 0;
    load_stop = load_go = 0;
    load_served = 0;
    int servers = total / 3;
    load_neps = (servers + LOAD_SERVERS_PER_EP - 1) / LOAD_SERVERS_PER_EP;
    load_neps = load_neps < 1 ? 1 : load_neps > IPC_HANDLES ? IPC_HANDLES : load_neps;
    for (int e = 0; e < load_neps; e++)
        if ((load_eps[e] = (int)sys_ipc_endpoint()) < 0) {
            printf("BENCH-ERROR mixed_load %d: ipc_endpoint %d\n", total, load_eps[e]);
            errors++;
            while (e-- > 0)
                sys_ipc_close(load_eps[e]);
            return;
        }
    struct kstat a = kstat_now();
    for (int i = 0; i < total; i++) {
        void (*fn)(void *) = i % 3 == LOAD_SPINNER ? load_spinner : i % 3 == LOAD_CALLER ? load_caller : load_server;
        int tid = thread_spawn(fn, (void *)(long)i);
        if (tid < 0) {
            printf("BENCH-ERROR mixed_load %d: thread_spawn %d at %d\n", total, tid, i);
            errors++;
            break;
        }
        tids[n++] = tid;
    }
    __atomic_store_n(&load_go, 1, __ATOMIC_RELEASE);
    sys_futex_wake((int *)&load_go, total);
    sys_sleep_ms(quick ? 300 : 1000);   /* every thread has run and settled into its kind */
    /* The mean of a few samples: callers are caught at any depth. */
    enum { SAMPLES = 3 };
    unsigned long res = 0, fixed = 0, cache = 0, threads = 0;
    for (int s = 0; s < SAMPLES; s++) {
        struct kstat k = kstat_now();
        res += k.resident_stack_pages * 4;
        fixed += k.fixed_equivalent_pages * 4;
        cache += k.cache_pages;
        threads += k.user_threads + k.kernel_threads;
        sys_sleep_ms(50);
    }
    struct kstat z = kstat_now();
    load_stop = 1;
    for (int i = 0; i < n; i++)                 /* spinners and callers; then the servers, once nobody calls */
        if (i % 3 != LOAD_SERVER)
            thread_join(tids[i], NULL);
    for (int e = 0; e < load_neps; e++)
        sys_ipc_close(load_eps[e]);
    for (int i = 0; i < n; i++)
        if (i % 3 == LOAD_SERVER)
            thread_join(tids[i], NULL);
    if (n >= 3 && !load_served) {
        printf("BENCH-ERROR mixed_load %d: the IPC servers served no call\n", n);
        errors++;
    }
    emit("mixed_load", n, "ipc_served", (unsigned long)load_served, "count");
    emit("mixed_load", n, "resident_kib", res / SAMPLES, "KiB");
    emit_x100("mixed_load", n, "kib_per_thread", threads ? res * 100 / threads : 0, "KiB");
    emit("mixed_load", n, "saving_pm", fixed ? (fixed - res) * 1000 / fixed : 0, "pm");
    emit("mixed_load", n, "cache_pages", cache / SAMPLES, "pages");
    if (total == 1000 || (quick && total == 100)) {
        static const char *const p[] = { "p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8" };
        for (int h = 1; h < KSTAT_HIST_MAX; h++)
            emit("pages_used_hist", n, p[h], z.pages_used_hist[h] - a.pages_used_hist[h], "count");
    }
}

static void plan_load(void)
{
    static const int totals[] = { 100, 1000, 3000 };
    for (int t = 0; t < (quick ? 1 : 3); t++)
        mixed_load(totals[t]);
    /* What threads asleep in the kernel hold (Linux's KernelStack in /proc/meminfo, next to it). */
    int n = quick ? 100 : 1000;
    struct kstat a = kstat_now();
    if (sleepers_grow(n)) {
        struct kstat k = kstat_now();
        long pages = (long)k.resident_stack_pages - (long)a.resident_stack_pages;
        emit("sleepers_kernel_stack", n, "kib", (unsigned long)(k.resident_stack_pages * 4), "KiB");
        emit_x100("sleepers_kernel_stack", n, "kib_per_thread", pages > 0 ? (unsigned long)pages * 400 / (unsigned long)n : 0,
                  "KiB");
    }
    sleepers_end();
    /* The SMP costs: compare with a 1-CPU boot's. */
    measure("thread_create_join", 1, op_thread_create_join, 20, 50);
    measure("null_syscall", 1, op_getpid, 1000, 200);
    pingpongs(100);
}

/* Two CPUs: the IPC round trips with the boot's ipc_handoff (on: both ends share a CPU; off: through the run queues). */
static void plan_ipc2(void)
{
    if (boot_k.cpus < 2) {
        printf("BENCH-ERROR plan ipc2 needs 2 CPUs, booted with %u\n", boot_k.cpus);
        errors++;
        return;
    }
    ipc_roundtrips();
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exit") == 0)
        return 0;                       /* spawn_wait's child */
    if (argc > 1 && strcmp(argv[1], "ipc-server") == 0)
        return ipc_server_main(argc > 2 && strcmp(argv[2], "buf64") == 0);
    const char *plan = argc > 1 ? argv[1] : "micro";
    boot_k = kstat_now();
    quick = strlen(plan) > 6 && strcmp(plan + strlen(plan) - 6, "-quick") == 0;
    printf("bench: plan %s, strategy %s, %u cpus\n", plan, strategy_names[boot_k.strategy & 3], boot_k.cpus);
    if (sys_test_stack(1024) == -ENOSYS) {
        printf("BENCH-ERROR boot with testsys=1 (the deep-syscall and in-kernel benchmarks need it)\n");
        return 2;
    }
    if (strncmp(plan, "micro", 5) == 0)
        plan_micro();
    else if (strncmp(plan, "load", 4) == 0)
        plan_load();
    else if (strncmp(plan, "ipc2", 4) == 0)
        plan_ipc2();
    else {
        printf("BENCH-ERROR unknown plan '%s' (micro, load, ipc2, and each with -quick)\n", plan);
        return 2;
    }
    printf("BENCH-DONE %d errors\n", errors);
    return errors ? 1 : 0;
}
