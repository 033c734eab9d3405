/* linuxbench.c: /init of the Linux peer's initramfs (issue 10, point 5): the same
 * microbenchmarks as the kstack bench, through Linux syscalls, printed as BENCH lines
 * on the console, then power off. A static host program, not part of the kernel. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
#define MAX_BATCHES 200
#define MAX_SLEEPERS 1000
#define SLEEPER_STACK (16 * 1024)

static int out_fd = 1;
static int ncpus = 1;
static int ops;          /* operations per batch: 1000 full, 100 quick */
static int batches;      /* batches per figure: 200 full, 20 quick */
static int spawn_ops;    /* fork+wait pairs per batch, see bench_spawn_wait() */
static int sleepers;     /* threads asleep in the kernel: 1000 full, 100 quick */

/* ------------------------------------------------------------------ output, exit */

static void say(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n >= (int)sizeof(line))
        n = sizeof(line) - 1;
    /* One write per line: the kernel's own console messages cannot split it. */
    if (write(out_fd, line, n) < 0)
        return;
}

static void emit(const char *bench, int threads, const char *metric, const char *value, const char *unit)
{
    say("BENCH {\"bench\":\"%s\",\"strategy\":\"linux\",\"cpus\":%d,\"threads\":%d,"
        "\"metric\":\"%s\",\"value\":%s,\"unit\":\"%s\"}\n",
        bench, ncpus, threads, metric, value, unit);
}

static __attribute__((noreturn)) void power_off(void)
{
    sync();
    reboot(RB_POWER_OFF);
    /* reboot() failed: init exiting panics the kernel, and with panic=-1 and QEMU's
     * -no-reboot that ends QEMU too (there is no isa-debug-exit device in this VM). */
    _exit(1);
}

static __attribute__((noreturn)) void fail(const char *what)
{
    say("BENCH-ERROR %s: %s\n", what, strerror(errno));
    power_off();
}

/* ------------------------------------------------------------------ clock, batches */

/* lfence on both sides keeps the loads, stores and syscalls of the timed code from
 * moving across the reads; rdtscp itself waits for earlier instructions to finish. */
static inline uint64_t tsc(void)
{
    uint32_t lo, hi, aux;
    __asm__ volatile("lfence\n\trdtscp\n\tlfence" : "=a"(lo), "=d"(hi), "=c"(aux) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

/* The syscall instruction itself, not glibc's syscall(): its argument shuffling and
 * errno check are not part of the kernel's round trip, and the kstack side's user
 * library does the same. */
static inline long sys0(long nr)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr) : "rcx", "r11", "memory");
    return ret;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* A batch function runs `n` operations and returns the ticks they took. */
typedef uint64_t (*batch_fn)(int n);

/* One warm-up batch (first-touch faults, glibc's stack cache), then `batches` timed
 * ones; prints the median and minimum cost per operation, in whole ticks and with the
 * upper median as the kstack side's bench computes them. `per_op` is how many of the
 * reported operations each of the batch's n is (2 for a ping-pong round's switches). */
static void measure(const char *bench, batch_fn fn, int n, int per_op)
{
    static uint64_t cost[MAX_BATCHES];
    char v[32];

    fn(n);
    for (int b = 0; b < batches; b++)
        cost[b] = fn(n) / ((uint64_t)n * per_op);
    qsort(cost, batches, sizeof(cost[0]), cmp_u64);
    snprintf(v, sizeof(v), "%" PRIu64, cost[batches / 2]);
    emit(bench, 1, "median", v, "tsc");
    snprintf(v, sizeof(v), "%" PRIu64, cost[0]);
    emit(bench, 1, "min", v, "tsc");
}

/* ------------------------------------------------------------------ helpers */

static long futex(int *word, int op, int val)
{
    return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static void futex_wait(int *word, int val)
{
    futex(word, FUTEX_WAIT_PRIVATE, val);
}

static void futex_wake(int *word, int n)
{
    futex(word, FUTEX_WAKE_PRIVATE, n);
}

static void pin_self(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0)
        fail("sched_setaffinity");
}

static pthread_t start_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    int err = pthread_create(&t, NULL, fn, arg);
    if (err) {
        errno = err;
        fail("pthread_create");
    }
    return t;
}

/* ------------------------------------------------------------------ the benchmarks */

static uint64_t batch_null_syscall(int n)
{
    uint64_t t0 = tsc();
    for (int i = 0; i < n; i++)
        sys0(SYS_getpid);
    return tsc() - t0;
}

static uint64_t batch_yield_alone(int n)
{
    uint64_t t0 = tsc();
    for (int i = 0; i < n; i++)
        sys0(SYS_sched_yield);
    return tsc() - t0;
}

/* Two threads pinned to CPU 0 hand a turn back and forth; each hands it over and
 * yields until it comes back. A yield that returns without switching only loops
 * again, so the figure is what a switch costs through sched_yield, retries included. */
static volatile int pp_turn, pp_stop;

static void *yield_partner(void *arg)
{
    (void)arg;
    pin_self(0);
    while (!pp_stop) {
        while (pp_turn != 1 && !pp_stop)
            sys0(SYS_sched_yield);
        pp_turn = 0;
    }
    return NULL;
}

static uint64_t batch_yield_pingpong(int n)
{
    uint64_t t0 = tsc();
    for (int i = 0; i < n; i++) {
        pp_turn = 1;
        while (pp_turn != 0)
            sys0(SYS_sched_yield);
    }
    return tsc() - t0;
}

static void *yield_leader(void *arg)
{
    (void)arg;
    pin_self(0);
    /* per round (two switches: to the partner and back), as user/bench.c counts it */
    measure("yield_pingpong", batch_yield_pingpong, ops, 1);
    pp_stop = 1;
    return NULL;
}

static void bench_yield_pingpong(void)
{
    pp_turn = 0;
    pp_stop = 0;
    pthread_t a = start_thread(yield_leader, NULL);
    pthread_t b = start_thread(yield_partner, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
}

/* A token word passed between CPU 0 and CPU 1: each side sleeps in futex_wait until
 * the word is its own, then gives it to the other and wakes it. */
static int fx_word, fx_stop;

static void *futex_partner(void *arg)
{
    (void)arg;
    pin_self(1);
    for (;;) {
        int w = __atomic_load_n(&fx_word, __ATOMIC_ACQUIRE);
        if (w == 1) {
            __atomic_store_n(&fx_word, 0, __ATOMIC_RELEASE);
            futex_wake(&fx_word, 1);
        } else if (__atomic_load_n(&fx_stop, __ATOMIC_ACQUIRE)) {
            return NULL;
        } else {
            futex_wait(&fx_word, w);
        }
    }
}

static uint64_t batch_futex_pingpong(int n)
{
    uint64_t t0 = tsc();
    for (int i = 0; i < n; i++) {
        __atomic_store_n(&fx_word, 1, __ATOMIC_RELEASE);
        futex_wake(&fx_word, 1);
        while (__atomic_load_n(&fx_word, __ATOMIC_ACQUIRE) == 1)
            futex_wait(&fx_word, 1);
    }
    return tsc() - t0;
}

static void bench_futex_pingpong(void)
{
    fx_word = 0;
    fx_stop = 0;
    pthread_t b = start_thread(futex_partner, NULL);
    measure("futex_pingpong", batch_futex_pingpong, ops, 1);
    /* the partner sleeps on 0 (the token is ours): 2 asks it to look at fx_stop */
    __atomic_store_n(&fx_stop, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&fx_word, 2, __ATOMIC_RELEASE);
    futex_wake(&fx_word, 1);
    pthread_join(b, NULL);
}

static void *empty_thread(void *arg)
{
    return arg;
}

static uint64_t batch_thread_create_join(int n)
{
    uint64_t t0 = tsc();
    for (int i = 0; i < n; i++)
        pthread_join(start_thread(empty_thread, NULL), NULL);
    return tsc() - t0;
}

static uint64_t batch_spawn_wait(int n)
{
    uint64_t t0 = tsc();
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0)
            fail("fork");
        int status;
        if (waitpid(pid, &status, 0) != pid)
            fail("waitpid");
    }
    return tsc() - t0;
}

/* A fresh anonymous region per batch, one write per page; mmap and munmap are outside
 * the timed part. No huge pages: one fault would map 512 pages. */
static uint64_t batch_demand_fault(int n)
{
    size_t len = (size_t)n * PAGE;
    uint64_t t0 = tsc();            /* mmap, touches and munmap, as user/bench.c times them */
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        fail("mmap");
    madvise(p, len, MADV_NOHUGEPAGE);
    for (int i = 0; i < n; i++)
        ((volatile char *)p)[(size_t)i * PAGE] = 1;
    munmap(p, len);                 /* timed, as user/bench.c times its mmap and munmap with the faults */
    return tsc() - t0;
}

/* ------------------------------------------------------------------ memory with sleepers */

static int sl_gate, sl_started;

static void *sleeper(void *arg)
{
    (void)arg;
    __atomic_fetch_add(&sl_started, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&sl_gate, __ATOMIC_ACQUIRE) == 0)
        futex_wait(&sl_gate, 0);
    return NULL;
}

/* KernelStack from /proc/meminfo, in KiB: every task's kernel stack, sleeping or not. */
static long kernel_stack_kib(void)
{
    char line[128];
    long kib = -1;
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        fail("open /proc/meminfo");
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "KernelStack: %ld kB", &kib) == 1)
            break;
    fclose(f);
    if (kib < 0) {
        errno = ENOENT;
        fail("no KernelStack in /proc/meminfo");
    }
    return kib;
}

/* Threads of this process in state S (the sleepers once they reached futex_wait). */
static int threads_asleep(void)
{
    char path[300], buf[256];
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    if (!d)
        fail("opendir /proc/self/task");
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t len = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (len <= 0)
            continue;
        buf[len] = 0;
        char *s = strrchr(buf, ')');   /* the name may hold spaces and parentheses */
        if (s && s[1] == ' ' && s[2] == 'S')
            n++;
    }
    closedir(d);
    return n;
}

static void bench_sleepers(int n)
{
    static pthread_t t[MAX_SLEEPERS];
    pthread_attr_t attr;
    char v[32];

    sl_gate = 0;
    sl_started = 0;
    usleep(100 * 1000);   /* let the earlier benches' threads be reaped and their stacks freed */
    long before = kernel_stack_kib();
    pthread_attr_init(&attr);
    int err = pthread_attr_setstacksize(&attr, SLEEPER_STACK);
    if (err) {
        errno = err;
        fail("pthread_attr_setstacksize");
    }
    for (int i = 0; i < n; i++) {
        err = pthread_create(&t[i], &attr, sleeper, NULL);
        if (err) {
            errno = err;
            fail("pthread_create (sleepers)");
        }
    }
    pthread_attr_destroy(&attr);
    /* Counted as started is not yet asleep: wait until the kernel says they sleep. */
    for (int tries = 0; threads_asleep() < n; tries++) {
        if (tries == 1000) {
            errno = ETIMEDOUT;
            fail("sleepers never all asleep");
        }
        usleep(10 * 1000);
    }
    long after = kernel_stack_kib();
    snprintf(v, sizeof(v), "%ld", after);
    emit("sleepers_kernel_stack", n, "kib", v, "KiB");
    snprintf(v, sizeof(v), "%.2f", (double)(after - before) / n);
    emit("sleepers_kernel_stack", n, "kib_per_thread", v, "KiB");

    __atomic_store_n(&sl_gate, 1, __ATOMIC_RELEASE);
    futex_wake(&sl_gate, INT_MAX);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

/* ------------------------------------------------------------------ init */

static void setup(void)
{
    mkdir("/proc", 0555);
    mkdir("/sys", 0555);
    if (mount("proc", "/proc", "proc", 0, NULL) != 0 && errno != EBUSY)
        fail("mount /proc");
    /* get_nprocs() reads /sys/devices/system/cpu/online */
    if (mount("sysfs", "/sys", "sysfs", 0, NULL) != 0 && errno != EBUSY)
        fail("mount /sys");
}

static int quick_mode(void)
{
    char cmdline[1024];
    int fd = open("/proc/cmdline", O_RDONLY);
    if (fd < 0)
        fail("open /proc/cmdline");
    ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);
    close(fd);
    cmdline[n > 0 ? n : 0] = 0;
    for (char *w = strtok(cmdline, " \n"); w; w = strtok(NULL, " \n"))
        if (strcmp(w, "bench=quick") == 0)
            return 1;
    return 0;
}

int main(void)
{
    /* The kernel gives init /dev/console as fds 0-2 when the initramfs has the node;
     * open it again in case it did not. */
    int fd = open("/dev/console", O_WRONLY | O_NOCTTY);
    if (fd >= 0)
        out_fd = fd;
    setup();
    int quick = quick_mode();
    ops = quick ? 100 : 1000;
    batches = quick ? 20 : 200;
    /* A fork+wait pair costs a few hundred times a syscall: 20 (quick 10) per batch
     * keeps the batch well above the clock's resolution and the boot short. */
    spawn_ops = quick ? 1 : 5;
    sleepers = quick ? 100 : MAX_SLEEPERS;
    ncpus = get_nprocs();
    say("linuxbench: %s mode, %d CPUs, %d ops x %d batches\n", quick ? "quick" : "full", ncpus, ops,
        batches);

    /* Only the ping-pongs pin their threads: create+join and fork+wait go where the
     * scheduler puts them, as a program's would. */
    measure("null_syscall", batch_null_syscall, ops, 1);
    measure("yield_alone", batch_yield_alone, ops, 1);
    bench_yield_pingpong();
    if (ncpus > 1)
        bench_futex_pingpong();
    /* The same batch sizes as user/bench.c: 20 creates, 5 spawns, 256 pages. */
    measure("thread_create_join", batch_thread_create_join, quick ? 2 : 20, 1);
    measure("spawn_wait", batch_spawn_wait, spawn_ops, 1);
    measure("demand_fault", batch_demand_fault, quick ? 25 : 256, 1);
    bench_sleepers(sleepers);

    say("BENCH-DONE\n");
    power_off();
}
