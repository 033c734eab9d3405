/*
 * sh.c: the shell on the serial console, after xv6's sh. A line is a program
 * of the ISO and its arguments, run in the foreground (^C ends it: the
 * kernel's tty kills the console's foreground process) or with a trailing
 * `&` in the background; or one of the built-ins below. The kernel edits the
 * line (backspace, ^U); ^D on an empty line or `exit` leaves, and init then
 * ends QEMU.
 *
 *   help                   built-ins and programs
 *   ps                     threads and processes, with their kernel stacks
 *   kstat                  the stack counters, readable
 *   kstat -w [ms], top     the live view: redraws every ms (1000) until q or ^C
 *   free                   memory: free pages, the stack caches, stacks in use
 *   kill <pid> [status]    end a process this shell started (status 137)
 *   exit [status], halt    leave
 */
#include <stdarg.h>
#include "lib/string.h"
#include "stdio.h"
#include "syscall.h"
#include "thread.h"

#ifndef USER_PROGRAMS
#define USER_PROGRAMS "?"
#endif

#define LINE_MAX 256
#define ARGS_MAX 16
#define PS_MAX 1024
#define KIB_PER_PAGE 4
#define KILL_STATUS 137         /* kill's default, as a shell shows SIGKILL: 128 + 9 */

static const char *const strategy_names[] = { "fixed", "eager", "fault", "lazy" };

static const char *strategy_name(uint32_t s)
{
    return s < 4 ? strategy_names[s] : "?";
}

/* ---------------------------------------------------------------- ps */

static struct ps_thread threads[PS_MAX];

static const char *state_name(int s)
{
    static const char *const names[] = { "runnable", "running", "blocked", "dead" };
    return s >= 0 && s < 4 ? names[s] : "?";
}

static int cmd_ps(void)
{
    long total = sys_ps(NULL, 0), n = sys_ps(threads, PS_MAX);
    if (n < 0) {
        printf("ps: %ld\n", n);
        return 1;
    }
    printf("%5s %5s %-8s %3s %4s %4s %8s %8s %6s  %-16s %-16s %s\n", "TID", "PID", "STATE", "CPU", "RES", "HWM",
           "EXPANDS", "SHRINKS", "FAULTS", "THREAD", "PROCESS", "WAIT");
    long resident = 0, user = 0;
    for (long i = 0; i < n; i++) {
        const struct ps_thread *t = &threads[i];
        printf("%5d %5d %-8s %3d %4u %4u %8u %8u %6u  %-16s %-16s %s%s\n", t->tid, t->pid, state_name(t->state),
               t->cpu, t->resident_pages, t->high_water_pages, t->expands, t->shrinks, t->faults, t->name,
               t->pid ? t->proc : "[kernel]", t->wait, t->at_rest ? " (at rest)" : "");
        resident += t->resident_pages;
        user += t->pid != 0;
    }
    /* One line per process: its threads and their stack pages. */
    printf("%5s %-16s %7s %9s\n", "PID", "PROCESS", "THREADS", "RES PAGES");
    for (long i = 0; i < n; i++) {
        int pid = threads[i].pid, seen = 0, count = 0, res = 0;
        for (long j = 0; j < i && !seen; j++)
            seen = threads[j].pid == pid;
        if (!pid || seen)
            continue;
        for (long j = i; j < n; j++)
            if (threads[j].pid == pid) {
                count++;
                res += threads[j].resident_pages;
            }
        printf("%5d %-16s %7d %9d\n", pid, threads[i].proc, count, res);
    }
    printf("%ld threads (%ld user, %ld kernel)%s, %ld stack pages resident (%ld KiB; fixed: %ld KiB)\n", n, user,
           n - user, total > n ? ", more not shown" : "", resident, resident * KIB_PER_PAGE, n * 4 * KIB_PER_PAGE);
    return 0;
}

/* ---------------------------------------------------------------- kstat, free */

static bool get_kstat(struct kstat *k)
{
    long n = sys_kstat(k, sizeof(*k));
    if (n < 0)
        printf("kstat: %ld\n", n);
    return n >= 0;
}

static long percent_saved(uint64_t resident, uint64_t fixed)
{
    return fixed ? (long)(100 - resident * 100 / fixed) : 0;
}

static int cmd_kstat(void)
{
    struct kstat k;
    if (!get_kstat(&k))
        return 1;
    printf("strategy %s, %u CPUs, %u user threads, %u kernel threads%s\n", strategy_name(k.strategy), k.cpus,
           k.user_threads, k.kernel_threads, k.tlb_unsafe ? ", kstack_tlb=unsafe" : "");
    printf("stacks:   %lu pages resident (%lu KiB), fixed would use %lu (%lu KiB): %ld%% saved\n",
           (unsigned long)k.resident_stack_pages, (unsigned long)k.resident_stack_pages * KIB_PER_PAGE,
           (unsigned long)k.fixed_equivalent_pages, (unsigned long)k.fixed_equivalent_pages * KIB_PER_PAGE,
           percent_saved(k.resident_stack_pages, k.fixed_equivalent_pages));
    printf("strategy: %lu expands, %lu shrinks, %lu growth faults, %lu failed expands, %lu switch-in waits, "
           "%lu faults in a switch\n", (unsigned long)k.expands, (unsigned long)k.shrinks, (unsigned long)k.faults,
           (unsigned long)k.expand_failed, (unsigned long)k.switch_in_waits, (unsigned long)k.switch_faults);
    printf("cache:    %lu pages (+%u in growth reserves); %lu takes, %lu gives, %lu refills, %lu drains, "
           "%lu found empty\n", (unsigned long)k.cache_pages, k.reserve_pages, (unsigned long)k.cache_take,
           (unsigned long)k.cache_give, (unsigned long)k.cache_refill, (unsigned long)k.cache_drain,
           (unsigned long)k.cache_empty);
    printf("tlb:      %lu slot invalidations, %lu stack invlpgs, %lu stale reads%s; %lu migrations\n",
           (unsigned long)k.tlb_invalidations, (unsigned long)k.stack_invlpgs, (unsigned long)k.tlb_stale_reads,
           k.tlb_check ? " (checked)" : "", (unsigned long)k.migrations);
    printf("pages used per kernel entry:");
    for (int i = 1; i < KSTAT_HIST_MAX; i++)
        printf(" %d:%lu", i, (unsigned long)k.pages_used_hist[i]);
    printf("\nother:    %lu NMIs, %lu interrupts resent; at most %u user threads (%u per process)\n",
           (unsigned long)k.nmis, (unsigned long)k.irqs_resent, k.threads_max, k.threads_max_process);
    return 0;
}

static int cmd_free(void)
{
    struct kstat k;
    if (!get_kstat(&k))
        return 1;
    unsigned long spare = (unsigned long)(k.free_pages + k.cache_pages + k.reserve_pages);
    printf("%-22s %10s %10s\n", "", "pages", "KiB");
    printf("%-22s %10lu %10lu\n", "free (allocator)", (unsigned long)k.free_pages,
           (unsigned long)k.free_pages * KIB_PER_PAGE);
    printf("%-22s %10lu %10lu\n", "stack caches", (unsigned long)k.cache_pages,
           (unsigned long)k.cache_pages * KIB_PER_PAGE);
    printf("%-22s %10u %10lu\n", "growth reserves", k.reserve_pages, (unsigned long)k.reserve_pages * KIB_PER_PAGE);
    printf("%-22s %10lu %10lu\n", "free in all", spare, spare * KIB_PER_PAGE);
    printf("%-22s %10lu %10lu\n", "stacks resident", (unsigned long)k.resident_stack_pages,
           (unsigned long)k.resident_stack_pages * KIB_PER_PAGE);
    printf("%-22s %10lu %10lu\n", "stacks if fixed", (unsigned long)k.fixed_equivalent_pages,
           (unsigned long)k.fixed_equivalent_pages * KIB_PER_PAGE);
    return 0;
}

/* ---------------------------------------------------------------- the live view */

/* A frame is built here and written with one syscall, so that the view itself adds one entry per frame. */
static struct {
    char buf[8192];
    size_t len;
} frame;

__attribute__((format(printf, 1, 2))) static void out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(frame.buf + frame.len, sizeof(frame.buf) - frame.len, fmt, ap);
    va_end(ap);
    if (n > 0)
        frame.len = frame.len + (size_t)n < sizeof(frame.buf) ? frame.len + (size_t)n : sizeof(frame.buf) - 1;
}

static void bar(uint64_t value, uint64_t full, int width)
{
    int n = full ? (int)(value * (uint64_t)width / full) : 0;
    if (value && !n)
        n = 1;
    if (n > width)
        n = width;
    char s[81];
    for (int i = 0; i < width && i < 80; i++)
        s[i] = i < n ? '#' : '.';
    s[width < 80 ? width : 80] = 0;
    out("%s", s);
}

static void live_frame(const struct kstat *k, const struct kstat *prev, long ms, long n)
{
    uint64_t dt = (uint64_t)(ms > 0 ? ms : 1);
#define PER_S(f) ((unsigned long)((k->f - prev->f) * 1000 / dt))
    frame.len = 0;
    out("\033[H\033[2J");
    out("kstat -w: strategy %s, %u CPUs, frame %ld every %ld ms; q or ^C leaves\n\n", strategy_name(k->strategy),
        k->cpus, n, ms);
    out("threads        %u user, %u kernel\n", k->user_threads, k->kernel_threads);
    out("stack KiB      %-8lu ", (unsigned long)k->resident_stack_pages * KIB_PER_PAGE);
    bar(k->resident_stack_pages, k->fixed_equivalent_pages, 40);
    out(" of %lu with fixed: %ld%% saved\n", (unsigned long)k->fixed_equivalent_pages * KIB_PER_PAGE,
        percent_saved(k->resident_stack_pages, k->fixed_equivalent_pages));
    out("per second     %lu expands, %lu shrinks, %lu growth faults, %lu migrations\n", PER_S(expands),
        PER_S(shrinks), PER_S(faults), PER_S(migrations));
    out("free pages     %lu (+%lu in the stack caches, %u in growth reserves)\n\n", (unsigned long)k->free_pages,
        (unsigned long)k->cache_pages, k->reserve_pages);
    out("cache pages per CPU (refill below 8, drain above 48, cap 64)\n");
    for (uint32_t c = 0; c < k->cpus && c < KSTAT_CPUS_MAX; c++) {
        out("  cpu%-2u %3u ", c, k->cpu_cache_pages[c]);
        bar(k->cpu_cache_pages[c], 64, 32);
        out("\n");
    }
    uint64_t hist[KSTAT_HIST_MAX], most = 0, all = 0;
    for (int i = 0; i < KSTAT_HIST_MAX; i++) {
        hist[i] = k->pages_used_hist[i] - prev->pages_used_hist[i];
        most = hist[i] > most ? hist[i] : most;
        all += hist[i];
    }
    out("\nstack pages used per kernel entry, this frame (%lu entries)\n", (unsigned long)all);
    for (int i = 1; i <= 4; i++) {
        out("  %d page%s %10lu ", i, i > 1 ? "s" : " ", (unsigned long)hist[i]);
        bar(hist[i], most, 40);
        out("\n");
    }
#undef PER_S
    sys_write(1, frame.buf, frame.len);
}

/* kstat -w [ms]: redraw until q or ^C (raw console: a key arrives without Enter). */
static int cmd_live(long ms)
{
    struct kstat k, prev;
    if (ms < 100)
        ms = 100;
    if (!get_kstat(&prev))
        return 1;
    long r = sys_console_ctl(CONSOLE_RAW, 1);
    if (r < 0) {
        printf("kstat -w: the console cannot switch to raw input: %ld\n", r);
        return 1;
    }
    long t0 = sys_uptime_ms();
    for (long frame = 1;; frame++) {
        long ready = sys_console_ctl(CONSOLE_POLL, ms);
        char c = 0;
        if (ready > 0 && sys_read(0, &c, 1) == 1 && (c == 'q' || c == 3))
            break;
        if (ready < 0)
            break;
        long t1 = sys_uptime_ms();
        if (!get_kstat(&k))
            break;
        live_frame(&k, &prev, t1 - t0, frame);
        prev = k;
        t0 = t1;
    }
    sys_console_ctl(CONSOLE_RAW, 0);
    printf("\n");
    return 0;
}

/* ---------------------------------------------------------------- programs */

static const char *status_text(int status, char *buf, size_t len)
{
    if (status == EXIT_INTERRUPTED)
        return "interrupted (^C)";
    if (status == KILL_STATUS)
        return "killed (status 137)";
    if (status > EXIT_KILLED_BASE && status < EXIT_KILLED_BASE + 32)
        snprintf(buf, len, "killed by the kernel (vector %d)", status - EXIT_KILLED_BASE);
    else
        snprintf(buf, len, "exited with status %d", status);
    return buf;
}

/* A background job's own thread waits for it, so the prompt never blocks on it. */
static void job_waiter(void *arg)
{
    int pid = (int)(long)arg, status = 0;
    char buf[48];
    if (sys_wait(pid, &status) == pid)
        printf("[%d] done: %s\n", pid, status_text(status, buf, sizeof(buf)));
}

static int run(char **argv, bool background)
{
    long pid = sys_spawn(argv[0], argv);
    if (pid == -ENOENT) {
        printf("sh: %s: no such program (help lists them)\n", argv[0]);
        return 127;
    }
    if (pid < 0) {
        printf("sh: %s: cannot start it: %ld\n", argv[0], pid);
        return 126;
    }
    if (background) {
        printf("[%ld] %s\n", pid, argv[0]);
        if (thread_spawn(job_waiter, (void *)pid) < 0)
            printf("sh: no thread to wait for [%ld]: it stays a zombie until sh exits\n", pid);
        return 0;
    }
    sys_console_ctl(CONSOLE_FOREGROUND, pid);
    int status = 0;
    long got = sys_wait((int)pid, &status);
    sys_console_ctl(CONSOLE_FOREGROUND, 0);
    char buf[48];
    if (got != pid)
        printf("sh: wait for %ld failed: %ld\n", pid, got);
    else if (status != 0)
        printf("sh: %s %s\n", argv[0], status_text(status, buf, sizeof(buf)));
    return got == pid ? status : 1;
}

/* ---------------------------------------------------------------- the loop */

static int cmd_help(void)
{
    printf("built-ins:\n"
           "  help                  this list\n"
           "  ps                    threads and processes: state, CPU, resident stack pages (RES), high-water (HWM)\n"
           "  kstat                 the stack counters\n"
           "  kstat -w [ms], top    live view of the stacks, redrawn every ms (1000); q or ^C leaves\n"
           "  free                  free pages, stack caches, stacks in use\n"
           "  kill <pid> [status]   end a process started from here (status 137)\n"
           "  exit [status], halt   leave the shell (and QEMU)\n"
           "programs (run in the foreground, ^C ends them; a trailing & runs one in the background):\n"
           "  %s\n"
           "line editing: backspace, ^U erases the line, ^D on an empty line leaves\n", USER_PROGRAMS);
    return 0;
}

static int split(char *line, char **argv)
{
    int argc = 0;
    for (char *p = line; *p;) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            *p++ = 0;
        if (!*p)
            break;
        if (argc == ARGS_MAX - 1) {
            printf("sh: more than %d arguments\n", ARGS_MAX - 2);
            return -1;
        }
        argv[argc++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n')
            p++;
    }
    argv[argc] = NULL;
    return argc;
}

static long number(const char *s, long fallback)
{
    char *end;
    long v = s ? strtol(s, &end, 10) : fallback;
    return s && (*end || end == s) ? fallback : v;
}

/* One command line; sets *leave with the exit status when it says so. */
static int execute(char *line, bool *leave)
{
    char *argv[ARGS_MAX];
    int argc = split(line, argv);
    if (argc <= 0)
        return argc < 0;
    bool background = strcmp(argv[argc - 1], "&") == 0;
    if (background) {
        argv[--argc] = NULL;
        if (argc == 0)
            return 0;
    }
    const char *cmd = argv[0];
    if (!strcmp(cmd, "exit") || !strcmp(cmd, "halt")) {
        *leave = true;
        return (int)number(argv[1], 0);
    }
    if (!strcmp(cmd, "help"))
        return cmd_help();
    if (!strcmp(cmd, "ps"))
        return cmd_ps();
    if (!strcmp(cmd, "free"))
        return cmd_free();
    if (!strcmp(cmd, "top"))
        return cmd_live(number(argv[1], 1000));
    if (!strcmp(cmd, "kstat") && argc > 1 && !strcmp(argv[1], "-w"))
        return cmd_live(number(argv[2], 1000));
    if (!strcmp(cmd, "kstat"))
        return cmd_kstat();
    if (!strcmp(cmd, "kill")) {
        long pid = number(argv[1], -1), r;
        if (pid <= 0) {
            printf("usage: kill <pid> [status]\n");
            return 2;
        }
        r = sys_kill((int)pid, (int)number(argc > 2 ? argv[2] : NULL, KILL_STATUS));
        if (r < 0)
            printf("kill: %ld: %s\n", pid, r == -ESRCH ? "no such process" : r == -EPERM ? "not started from here"
                                                                                          : "failed");
        return r < 0;
    }
    return run(argv, background);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char line[LINE_MAX + 1];
    bool leave = false;
    int status = 0;
    printf("sh: type help for the commands; ^D or exit leaves\n");
    while (!leave) {
        printf("$ ");
        long n = sys_read(0, line, LINE_MAX);
        if (n == -EINTR)
            continue;           /* ^C at the prompt: the line is gone */
        if (n == -ENODEV) {
            printf("sh: the console cannot be read (no serial input interrupt)\n");
            return 1;
        }
        if (n <= 0) {
            printf("exit\n");   /* ^D */
            break;
        }
        line[n] = 0;
        status = execute(line, &leave);
    }
    return leave ? status : 0;
}
