/*
 * init.c: the first user program. Shows that user mode works end to end:
 * threads on several CPUs, a few syscalls and their results; then it runs
 * the name server (names.c, the service that lives in user space) and the
 * shell (sh.c), and exits with the shell's status, which ends QEMU.
 */
#include "lib/string.h"
#include "names.h"
#include "stdio.h"
#include "syscall.h"
#include "thread.h"

#define NTHREADS 4

static const char *const strategy_names[] = { "fixed", "eager", "fault", "lazy" };

struct worker {
    int index;
    long pid;           /* what the worker should see as its pid */
};

/* Each worker says where it runs, makes a few syscalls, and exits with a value of its own. */
static void worker_main(void *arg)
{
    struct worker *w = arg;
    long tid = sys_gettid(), pid = sys_getpid(), cpu = sys_getcpu();
    long t0 = sys_uptime_ms();

    printf("init: thread %d: tid %ld on cpu %ld%s\n", w->index, tid, cpu,
           pid == w->pid ? "" : " (wrong pid!)");
    sys_yield();
    sys_sleep_ms(10 * (unsigned long)(w->index + 1));
    printf("init: thread %d: slept %ld ms, now on cpu %ld\n", w->index, sys_uptime_ms() - t0, sys_getcpu());
    sys_thread_exit(100 + w->index);
}

static void show_kstat(void)
{
    struct kstat ks;
    long n = sys_kstat(&ks, sizeof(ks));

    if (n < 0) {
        printf("init: kstat failed: %ld\n", n);
        return;
    }
    printf("init: kstat (%ld bytes): strategy %s, %u cpus, %u user threads, %u kernel threads\n", n,
           ks.strategy < 4 ? strategy_names[ks.strategy] : "?", ks.cpus, ks.user_threads, ks.kernel_threads);
    printf("init: kstat: %lu free pages, %lu resident stack pages (fixed would use %lu), %lu expands\n",
           (unsigned long)ks.free_pages, (unsigned long)ks.resident_stack_pages,
           (unsigned long)ks.fixed_equivalent_pages, (unsigned long)ks.expands);
}

static void run_threads(long pid)
{
    struct worker workers[NTHREADS];
    int tids[NTHREADS];

    for (int i = 0; i < NTHREADS; i++) {
        workers[i] = (struct worker){ .index = i, .pid = pid };
        tids[i] = thread_spawn(worker_main, &workers[i]);
        if (tids[i] < 0)
            printf("init: thread_spawn %d failed: %d\n", i, tids[i]);
    }
    for (int i = 0; i < NTHREADS; i++) {
        long value = 0;
        int ret;

        if (tids[i] < 0)
            continue;
        ret = thread_join(tids[i], &value);
        printf("init: joined thread %d (tid %d): %s, value %ld\n", i, tids[i], ret < 0 ? "failed" : "ok",
               ret < 0 ? (long)ret : value);
    }
}

/* The shell, until it exits: its status is init's, and init's exit ends QEMU. */
static int run_shell(void)
{
    char *argv[] = { "sh", NULL };
    int status = -1;
    int ns = names_connect(true);       /* the name server runs beside the shell until QEMU ends */
    if (ns < 0)
        printf("init: no name server: %d\n", ns);
    else
        sys_ipc_close(ns);
    long pid = sys_spawn("sh", argv);

    if (pid < 0) {
        printf("init: cannot start sh: %ld\n", pid);
        return 1;
    }
    if (sys_wait((int)pid, &status) != pid) {
        printf("init: wait for sh failed\n");
        return 1;
    }
    return status;
}

int main(int argc, char **argv)
{
    long pid = sys_getpid();
    long t0 = sys_uptime_ms();

    printf("init: hello from user space, pid %ld (tid %ld, cpu %ld, argv[0] \"%s\", %d args)\n", pid,
           sys_gettid(), sys_getcpu(), argc > 0 ? argv[0] : "", argc);
    run_threads(pid);
    printf("init: uptime %ld ms; write() returned %ld for its own message\n", sys_uptime_ms(),
           sys_write(1, "init: a raw write\n", 18));
    printf("init: a bad pointer: write(1, NULL, 1) = %ld (expect -EFAULT = %d)\n",
           sys_write(1, NULL, 1), -EFAULT);
    printf("init: an unknown syscall: %ld (expect -ENOSYS = %d)\n", syscall6(SYSCALL_COUNT, 0, 0, 0, 0, 0, 0),
           -ENOSYS);
    show_kstat();
    printf("init: greeting done in %ld ms; starting the shell\n", sys_uptime_ms() - t0);
    return run_shell();
}
