/*
 * fuzz.c: a syscall fuzzer in the manner of trinity. Child processes of
 * itself run threads that make random syscalls, valid and invalid numbers,
 * with arguments drawn from values kernels get wrong (0, -1, limits, kernel
 * and non-canonical addresses, unmapped, read-only and edge-of-mapping
 * pointers, huge lengths), and check each result against what the syscall
 * documents. The parent runs `procs` such children for the whole run and,
 * meanwhile, brief ones one after another (a third of them killed by it at
 * a random moment); it watches for hangs and unexpected kills, and checks at
 * the end that every page and every IPC endpoint came back. Not a test of
 * the results' contents: of survival, documented errors and leaks (the IPC
 * echo between the processes' servers and their callers excepted: section
 * IPC). Prints KTAP (suite "fuzz"); exit 0 only if all passed.
 *
 *   fuzz [seconds[,seed[,procs[,threads[,trace]]]]]   (or the same as separate words)
 *
 * seconds: 60; seed: from the TSC, printed (the same seed replays the same
 * per-thread call sequences, though not their interleaving); procs, threads:
 * 4 and 4; trace: 1 prints every call before it is made (slow; for finding
 * the call a panic came from). `make fuzz` passes them through initarg= as
 * one comma-separated word.
 *
 * What keeps the fuzzer alive (each is a rule below, not luck):
 *  - it never hands the kernel a pointer to its own live memory to write to:
 *    pointers for writes go to scratch arenas with PROT_NONE guards after
 *    them, to a scratch buffer on the stack with the length held to its room,
 *    or to places that must fault (read-only text, unmapped, kernel);
 *  - munmap only cuts a playground arena (guarded too) and its own junk
 *    mappings; thread_create starts threads only at a stub that exits at once
 *    with its argument (thread_exit is fuzzed there, and thread_join checks
 *    the value); exit and kill of itself only as the planned end of a child;
 *  - spawn gets names no program has, or its own with argv[1] = "nop" (that
 *    child sleeps argc ms and exits with status argc: wait and kill get real
 *    children, the descendants kill may end); console writes only zero bytes
 *    (nothing printed) or bad pointers; CONSOLE_RAW is put back at the end;
 *  - calls that block are bounded by the run's end, except in its last
 *    second, where some block for good on purpose: then the process's exit
 *    must end them; an IPC wait has a timeout of 1 to 20 ms, or fails at
 *    once, or has somebody sure to answer it (section IPC);
 *  - one brief child in five is a hog: it holds nearly all free memory
 *    until its end, so the others meet -ENOMEM, refused stack expansions and
 *    failed copies. Every fuzz process touches all the memory it will use
 *    first (data, bss, arenas, stacks), so only the hog and the nop children
 *    can be ended for want of a page (128 + #PF, docs/DESIGN.md section 12).
 */
#include <stdbool.h>
#include "ktap.h"
#include "lib/string.h"
#include "stdio.h"
#include "syscall.h"
#include "thread.h"
#include "utest.h"

#define PROGRAM "fuzz"
#define PAGE 4096ul
#define USER_BASE 0x400000ul
#define USER_TOP 0x0000800000000000ul
#define USER_STACK_TOP 0x00007ffffffff000ul                         /* kernel/mm/uvm.h */
#define USER_STACK_LOW (USER_STACK_TOP - 1024 * 1024ul)             /* the main stack's region */
#define MMAP_TOP (USER_STACK_LOW - 64 * 1024ul)                     /* the gap below it is never mapped */
#define PS_MAX 4096                                                 /* kernel/proc/ps.c */
#define EXEC_ARGV_MAX 64                                            /* kernel/proc/exec.h */
#define EXEC_ARG_LEN_MAX 256
#define READ_CHUNK 256                                              /* kernel/tty.c */

#define MAX_PROCS 16
#define MAX_THREADS 16
#define RW_PAGES 4              /* each worker's scratch arena */
#define RO_PAGES 4              /* zeros, never written: console writes read these */
#define PLAY_PAGES 32           /* munmap's playground */
#define FUTEX_WORDS 16
#define STUBS 16                /* created threads a worker remembers, to join */
#define JUNK 8                  /* mappings a worker keeps from fuzzed mmap_anon calls */
#define SCRATCH 512             /* the stack scratch buffer */
#define NERR 128                /* errnos counted one by one */
#define MAX_VIOLATIONS_SHOWN 12
#define FINAL_MS 1000           /* the last second: calls may block for good */
#define GRACE_MS 5000           /* a child's workers must be back this long after its deadline */
#define OVERDUE_MS 20000        /* the parent kills a child this long after its deadline */
#define NOPS 64                 /* the `fuzz nop` children a child remembers, by pid % NOPS */
#define NOP_KILL_BASE 200       /* a worker's kill of a nop child: status 200..219 (argc is at most 64) */
#define IPC_HELD_MAX 8          /* IPC handles one thread holds at most (the process has IPC_HANDLES) */
#define IPC_CLOSED 4            /* handle numbers a thread closed lately, tried again as stale ones */
#define IPC_CANARY 16           /* bytes after a receive buffer that no message may reach */
#define IPC_FILL 0xa5           /* what a receive buffer and its canary hold before the call */

extern char _etext[], _erodata[];   /* user/user.ld */

/* ---------------------------------------------------------------- random numbers */

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

struct rng {
    uint64_t s;     /* xorshift64*: never 0 */
};

static void rng_seed(struct rng *r, uint64_t seed)
{
    r->s = splitmix64(seed) | 1;
}

static uint64_t rnd(struct rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1dull;
}

static uint64_t below(struct rng *r, uint64_t n)
{
    return n ? rnd(r) % n : 0;
}

static bool one_in(struct rng *r, unsigned n)
{
    return below(r, n) == 0;
}

#define PICK(r, array) ((array)[below((r), sizeof(array) / sizeof((array)[0]))])

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* ---------------------------------------------------------------- the syscall table, names and errnos */

#define NROWS (SYSCALL_COUNT + 1)   /* the last row: numbers outside the table */
#define ROW_INVALID SYSCALL_COUNT

#define SYSCALL_NAME(num, name, nargs) [num] = #name,
static const char *const sys_names[NROWS] = { SYSCALL_TABLE(SYSCALL_NAME)[ROW_INVALID] = "(invalid nr)" };
#undef SYSCALL_NAME

static bool is_test_syscall(long nr)
{
    return nr >= 0 && nr < SYSCALL_COUNT && strncmp(sys_names[nr], "test_", 5) == 0;
}

static const struct {
    int e;
    const char *name;
} errnos[] = {
    { EPERM, "EPERM" },   { ENOENT, "ENOENT" }, { ESRCH, "ESRCH" },   { EINTR, "EINTR" },     { EIO, "EIO" },
    { E2BIG, "E2BIG" },   { ENOEXEC, "ENOEXEC" }, { EBADF, "EBADF" }, { ECHILD, "ECHILD" },   { EAGAIN, "EAGAIN" },
    { ENOMEM, "ENOMEM" }, { EFAULT, "EFAULT" }, { EBUSY, "EBUSY" },   { EEXIST, "EEXIST" },   { ENODEV, "ENODEV" },
    { EINVAL, "EINVAL" }, { EMFILE, "EMFILE" }, { ENOSPC, "ENOSPC" }, { EPIPE, "EPIPE" },     { ERANGE, "ERANGE" },
    { ENOSYS, "ENOSYS" }, { EMSGSIZE, "EMSGSIZE" }, { ETIMEDOUT, "ETIMEDOUT" },
};

static const char *errno_name(int e)
{
    for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
        if (errnos[i].e == e)
            return errnos[i].name;
    return NULL;
}

/*
 * A syscall with the six argument registers in and out (uapi/syscalls.h:
 * the kernel preserves them, but a received IPC message comes back in them).
 */
struct regs6 {
    uint64_t rdi, rsi, rdx, r10, r8, r9;
};

static long syscall_io(long nr, struct regs6 *x)
{
    register uint64_t rdi __asm__("rdi") = x->rdi;
    register uint64_t rsi __asm__("rsi") = x->rsi;
    register uint64_t rdx __asm__("rdx") = x->rdx;
    register uint64_t r10 __asm__("r10") = x->r10;
    register uint64_t r8 __asm__("r8") = x->r8;
    register uint64_t r9 __asm__("r9") = x->r9;
    long ret = nr;
    __asm__ volatile("syscall"
                     : "+a"(ret), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                     :
                     : "rcx", "r11", "memory");
    *x = (struct regs6){ rdi, rsi, rdx, r10, r8, r9 };
    return ret;
}

/* ---------------------------------------------------------------- statistics */

struct row_stats {
    uint32_t calls, ok, odd;        /* odd: below -4095 */
    uint32_t err[NERR];             /* by errno; [0]: errnos >= NERR */
};

struct stats {
    struct row_stats row[NROWS];
    uint32_t violations;
};

/* ---------------------------------------------------------------- a child's shared state */

enum role { ROLE_EXIT, ROLE_WORKER_EXIT, ROLE_KILL_SELF, ROLE_THREADS_EXIT, NROLES };
static const char *const role_names[NROLES] = { "exit", "worker-exit", "kill-self", "threads-exit" };

/* What an IPC handle a thread holds names (section IPC below). */
enum ipc_kind {
    IK_ENDPOINT,    /* an endpoint it made: receive and send */
    IK_COPY,        /* a send-only copy of one of its endpoints (a server passed it back) */
    IK_SERVER,      /* a send-only copy of this process's server's endpoint */
    IK_PEER,        /* some fuzz process's server (from the parent's exchange) */
    IK_EXCHANGE,    /* the bootstrap endpoint: the parent's exchange */
    IK_UNKNOWN,     /* came with a message from a sender that cannot be named */
};

struct held {
    int h;
    enum ipc_kind kind;
    uint32_t id;        /* IK_ENDPOINT, IK_COPY: which of the thread's endpoints */
};

struct worker {
    int index, tid;
    struct rng rng;
    struct stats *st;
    char *scratch;                  /* SCRATCH bytes on its own stack */
    struct {
        int tid;
        long arg;
    } stubs[STUBS];
    int nstubs;
    struct {
        uintptr_t addr;
        size_t len;
    } junk[JUNK];
    int njunk;
    long last_uptime;
    int last_nop;                   /* the pid of its latest nop child: likely still asleep, so killable */
    bool no_block;                  /* never blocks for good (the one that ends a worker-exit child) */
    volatile bool blocked_for_good; /* in a call only the process's end returns from */
    volatile long cur_nr;           /* the call it is in, -1: none */
    volatile bool done;
    struct held held[IPC_HELD_MAX]; /* its IPC handles, oldest first (C.owner[] says they are its) */
    int nheld, held_cap;
    int closed[IPC_CLOSED], nclosed, closed_next;
    uint32_t endpoints_made;
};

static struct {
    int index, nthreads, pid, main_tid, ncpus;
    enum role role;
    uint64_t seed;
    long start_ms, deadline_ms;
    bool testsys, trace, brief, hog;  /* brief: one of the parent's short-lived children, quiet unless it finds
                                         something; hog: one that holds the memory meanwhile */
    /* The arena block, made before the threads: see arenas_make(). */
    uintptr_t rw[MAX_THREADS], ro, hole, futex, play;
    uintptr_t guards[MAX_THREADS + 8];
    int nguards;
    int tids[MAX_THREADS];
    int gate, ready, done, exit_now, final_status, never;
    struct worker workers[MAX_THREADS + 2];     /* the fuzzing threads, then the server, then the main thread */
    /* IPC: the handle table as the calls said it is (OWNER_*, or a worker's index + 1), the server, the audit. */
    int owner[IPC_HANDLES];
    int published[MAX_THREADS];     /* each thread's latest endpoint, for the others to send to (-1: none) */
    int server_h;                   /* the server's endpoint, made before the workers start; -1: none */
    bool exchange;                  /* the bootstrap endpoint is the parent's exchange */
    int server_done;
    struct {
        unsigned long messages, calls_dropped, passed_back, timeouts;
    } srv;
    int audit;                      /* 0 not run; else handles the table held, + 1 */
    int audit_full;                 /* endpoints a full table took */
    struct {
        int pid, argc;      /* written by the spawner once spawn returns: a reaper may see it late */
    } nops[NOPS];
} C;

static char arg255[EXEC_ARG_LEN_MAX], arg256[EXEC_ARG_LEN_MAX + 1];     /* the longest argument, and one byte more */

static struct stats worker_stats[MAX_THREADS + 2];   /* as C.workers */

long fuzz_stub_runs;    /* threads started at stub_entry: thread_exit calls (the stub counts them itself) */

/*
 * Where every fuzzed thread_create starts: thread_exit(rdi) at once, with
 * no stack (its RSP is whatever the fuzzer chose). The kernel passed the
 * thread's argument in rdi, which is thread_exit's argument register.
 */
_Static_assert(SYS_thread_exit == 9, "stub_entry hard-codes thread_exit's number");
__attribute__((naked, noreturn)) static void stub_entry(void)
{
    __asm__ volatile("lock incq fuzz_stub_runs(%rip)\n\t"
                     "mov $9, %eax\n\t"
                     "syscall\n\t"
                     "ud2");
}

/* ---------------------------------------------------------------- the fuzzer's map of its own memory */

static bool in(uintptr_t p, uintptr_t start, size_t len)
{
    return p >= start && p - start < len;
}

static bool in_guard(uintptr_t p)
{
    for (int i = 0; i < C.nguards; i++)
        if (in(p, C.guards[i], PAGE))
            return true;
    return false;
}

/* No byte at p can be read or written: any copy starting at p fails at once. */
static bool never_mapped(uintptr_t p)
{
    return p >= USER_TOP || p < USER_BASE || in(p, MMAP_TOP, USER_STACK_LOW - MMAP_TOP) || p >= USER_STACK_TOP ||
           in_guard(p);
}

/* Readable, never writable: a copy to p fails at its first byte. */
static bool read_only(uintptr_t p)
{
    return in(p, USER_BASE, (uintptr_t)_erodata - USER_BASE) || in(p, C.ro, RO_PAGES * PAGE);
}

static bool in_rw_arena(uintptr_t p);

/* Present for good (touched at the start, never unmapped): text and rodata, the arenas, this thread's scratch. */
static bool always_readable(const struct worker *w, uintptr_t p)
{
    return read_only(p) || in_rw_arena(p) || in(p, C.futex, PAGE) || in(p, (uintptr_t)w->scratch, SCRATCH);
}

static bool in_rw_arena(uintptr_t p)
{
    for (int i = 0; i < C.nthreads; i++)
        if (in(p, C.rw[i], RW_PAGES * PAGE))
            return true;
    return false;
}

/*
 * May the kernel write up to len bytes at p? Where that could reach the
 * fuzzer's live memory, no. Writes are forward copies: one that starts where
 * nothing is writable stops at its first byte; one that starts in an arena
 * stops at the guard after it at the latest.
 */
static bool write_safe(const struct worker *w, uintptr_t p, size_t len)
{
    if (never_mapped(p) || read_only(p) || in_rw_arena(p))
        return true;
    if (in(p, C.hole, PAGE) || in(p, C.play, PLAY_PAGES * PAGE) || in(p, C.futex, PAGE))
        return true;                            /* guards on both sides */
    uintptr_t s = (uintptr_t)w->scratch;
    return in(p, s, SCRATCH) && len <= s + SCRATCH - p;
}

/* A pointer the console may be given: one that prints nothing (zeros) or faults. */
static bool quiet(uintptr_t p)
{
    return never_mapped(p) || in(p, C.ro, RO_PAGES * PAGE);
}

static const uintptr_t kernel_addrs[] = {
    0xffff800000000000ul,   /* the direct map */
    0xffff800000100000ul,   /* ... at 1 MiB */
    0xffffc00000000000ul,   /* the kstack area */
    0xffffe00000000000ul,   /* MMIO: the local APIC */
    0xffffffff80000000ul,   /* the kernel image */
    0xffffffff80100000ul,
    0xfffffffffffff000ul,
    0xffffffffffffffffull,
};
static const uintptr_t noncanonical[] = {
    0x0000800000000000ul, 0x0000800000000008ul, 0x8000000000000000ul, 0x7fff800000000000ul, 0xffff7ffffffff000ul,
};

/* An address that must fault: kernel, non-canonical, NULL, below the program, unmapped gaps, a guard. */
static uintptr_t bad_ptr(struct rng *r)
{
    switch (below(r, 8)) {
    case 0: return PICK(r, kernel_addrs) + below(r, 3) * 8;
    case 1: return PICK(r, noncanonical) + below(r, 2);
    case 2: return below(r, 4) ? 0 : below(r, 64);
    case 3: return below(r, USER_BASE);
    case 4: return MMAP_TOP + below(r, USER_STACK_LOW - MMAP_TOP);   /* below the main stack */
    case 5: return USER_STACK_TOP + below(r, PAGE);                   /* the page above it */
    case 6: return USER_TOP - 1 - below(r, 16);
    default: return C.guards[below(r, (uint64_t)C.nguards)] + below(r, PAGE);
    }
}

/* Misalign by a few bytes, or step to the last bytes before a boundary. */
static uintptr_t jiggle(struct rng *r, uintptr_t p, size_t room)
{
    switch (below(r, 4)) {
    case 0: return p + below(r, 8);
    case 1: return room ? p + room - 1 - below(r, 8 < room ? 8 : room) : p;
    default: return p;
    }
}

/*
 * A pointer the kernel may write up to *len bytes at (*len is lowered when
 * the room needs it). Scratch, guarded arenas, or places that must fault.
 */
static uintptr_t ptr_for_write(struct worker *w, size_t *len)
{
    struct rng *r = &w->rng;
    switch (below(r, 10)) {
    case 0: case 1: case 2: {
        uintptr_t a = C.rw[w->index];
        return one_in(r, 3) ? a + RW_PAGES * PAGE - below(r, 64) : jiggle(r, a + below(r, RW_PAGES) * PAGE, PAGE);
    }
    case 3: {
        size_t off = below(r, SCRATCH);
        if (*len > SCRATCH - off)
            *len = SCRATCH - off;
        return (uintptr_t)w->scratch + off;
    }
    case 4: return C.ro + below(r, RO_PAGES * PAGE);
    case 5: return USER_BASE + below(r, (uintptr_t)_etext - USER_BASE);            /* text */
    case 6: return C.hole + below(r, PAGE);
    case 7: return C.play + below(r, PLAY_PAGES * PAGE);
    default: return bad_ptr(r);
    }
}

/* A pointer the kernel only reads through: anything of its own goes, live memory included. */
static uintptr_t ptr_for_read(struct worker *w)
{
    struct rng *r = &w->rng;
    switch (below(r, 8)) {
    case 0: return C.futex + 4 * below(r, FUTEX_WORDS);
    case 1: return (uintptr_t)_etext + below(r, (uintptr_t)_erodata - (uintptr_t)_etext);   /* rodata */
    case 2: return w->njunk ? w->junk[below(r, (uint64_t)w->njunk)].addr + below(r, 2 * PAGE) : C.hole;
    case 3: return (uintptr_t)&w + below(r, 256) * 8;                                       /* its live stack */
    default: {
        size_t len = SIZE_MAX;
        return ptr_for_write(w, &len);
    }
    }
}

/* A buffer for console writes: zeros (nothing is printed) or an address that faults. */
static uintptr_t ptr_quiet(struct worker *w)
{
    struct rng *r = &w->rng;
    if (one_in(r, 2))
        return bad_ptr(r);
    return one_in(r, 3) ? C.ro + RO_PAGES * PAGE - below(r, 300) : C.ro + below(r, RO_PAGES * PAGE);
}

/* Read a byte of every page in [start, end): a demand fault maps each now, not when memory may be out. */
static void touch(uintptr_t start, uintptr_t end)
{
    for (uintptr_t p = start & ~(PAGE - 1); p < end; p += PAGE)
        (void)*(volatile char *)p;
}

/* The data and bss segments (user.ld: data starts on the page after rodata). */
static void prefault_image(void)
{
    extern char _end[];
    touch(((uintptr_t)_erodata + PAGE - 1) & ~(PAGE - 1), (uintptr_t)_end);
}

/* Touch the stack a thread will use: its own page faults must not look like a leak, nor meet a hog. */
__attribute__((noinline)) static void prefault_stack(void)
{
    volatile char pad[32 * 1024];
    for (size_t i = 0; i < sizeof(pad); i += 512)
        pad[i] = 0;
}

/* ---------------------------------------------------------------- argument values */

static const uint64_t interesting[] = {
    0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 100, 127, 128, 255, 256, 511, 512, 1000, 1023, 1024,
    4095, 4096, 4097, 8191, 8192, 65535, 65536, 0x7fff, 0x8000, 0xffff, 0x10000, 1 << 20,
    0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 0x7fffffffffffffffull, 0x8000000000000000ull,
    (uint64_t)-1, (uint64_t)-2, (uint64_t)-4095, (uint64_t)-4096, (uint64_t)-4097, (uint64_t)-0x80000000ll,
    USER_BASE, USER_BASE - PAGE, USER_STACK_TOP, USER_TOP - 1, USER_TOP, USER_TOP - PAGE, MMAP_TOP,
    0xffff800000000000ul, 0xffffffff80000000ul, 0xfffffffffffff000ul,
    365ull * 24 * 3600 * 1000, 365ull * 24 * 3600 * 1000 + 1, 18446744073710ull /* ms whose ns overflow */,
};

/* Any value: interesting constants, small and huge numbers, pointers of every kind, bit patterns. */
static uint64_t any_value(struct worker *w)
{
    struct rng *r = &w->rng;
    switch (below(r, 10)) {
    case 0: case 1: case 2: return PICK(r, interesting);
    case 3: return below(r, 64);
    case 4: return (uint32_t)rnd(r);
    case 5: return rnd(r);
    case 6: return (uint64_t)-(int64_t)below(r, 200);
    case 7: return 1ull << below(r, 64);
    case 8: return ptr_for_read(w);
    default: return PICK(r, interesting) + (below(r, 2) ? 1 : -1) * (int64_t)below(r, 8);
    }
}

/* A length: small, page-sized, limits, huge. */
static uint64_t any_len(struct worker *w)
{
    struct rng *r = &w->rng;
    switch (below(r, 6)) {
    case 0: return below(r, 64);
    case 1: return below(r, 4 * PAGE);
    case 2: return PAGE * (1 + below(r, 8)) + below(r, 3) - 1;
    default: return any_value(w);
    }
}

/* A timeout (ms) bounded by the run's end: at most `cap`, and never past the deadline. */
static uint64_t bounded_ms(struct worker *w, uint64_t ms, uint64_t cap, long now)
{
    long left = C.deadline_ms - now;
    if (left < 1)
        left = 1;
    if (ms == 0 || ms > cap)
        ms = 1 + below(&w->rng, cap);
    return ms < (uint64_t)left ? ms : (uint64_t)left;
}

/* In its last second a child lets a few calls block for good, to be ended by the process's exit. */
static bool may_block(struct worker *w, long now)
{
    return C.role != ROLE_THREADS_EXIT && !w->no_block && now >= C.deadline_ms - FINAL_MS && one_in(&w->rng, 8);
}

static bool is_sibling(int tid)
{
    if (tid == C.main_tid || tid == C.workers[C.nthreads].tid)   /* the main thread, the server */
        return true;
    for (int i = 0; i < C.nthreads; i++)
        if (C.tids[i] == tid)
            return true;
    return false;
}

/* ---------------------------------------------------------------- one call */

struct call {
    long nr;
    uint64_t a[6];
    long ret;
    long t0, t1;            /* uptime around the call, for the calls that wait */
    int stub;               /* thread_join of this stub slot: check the value; else -1 */
    bool blocks;            /* allowed to block for good */
    int nop_argc;           /* spawn of `fuzz nop`: its argc; else 0 */
    long nop_expect;        /* ... and what the argv makes spawn return: 0 (a pid) or an errno */
    const char *argv[EXEC_ARGV_MAX + 8];
};

static void junk_forget(struct worker *w, int i)
{
    w->junk[i] = w->junk[--w->njunk];
}

/* A pid of a nop child this process spawned, or -1. */
static int some_nop(struct rng *r)
{
    int pid = __atomic_load_n(&C.nops[below(r, NOPS)].pid, __ATOMIC_RELAXED);
    return pid > 0 ? pid : -1;
}

/*
 * spawn(PROGRAM, {PROGRAM, "nop", ...}): the extra arguments are short and
 * longest strings, one byte too long, bad pointers, and now and then more of
 * them than the kernel takes. The first bad one decides the result, in the
 * kernel's order (sys_spawn).
 */
static void spawn_nop(struct worker *w, struct call *c)
{
    static const char *const words[] = { "", "x", "nop", "fuzz", "--seed=0x1234", "an argument with spaces" };
    struct rng *r = &w->rng;
    int argc = 2 + (int)(one_in(r, 8) ? below(r, EXEC_ARGV_MAX + 4 - 2) : below(r, 6));

    c->argv[0] = PROGRAM;
    c->argv[1] = "nop";
    c->nop_expect = 0;
    for (int i = 2; i < argc; i++) {
        switch (below(r, 24)) {
        case 0: c->argv[i] = (const char *)bad_ptr(r); break;
        case 1: c->argv[i] = arg256; break;
        case 2: case 3: c->argv[i] = arg255; break;
        default: c->argv[i] = PICK(r, words); break;
        }
        if (c->argv[i] == NULL) {
            argc = i;       /* bad_ptr gave NULL: argv ends here */
            break;
        }
        if (c->nop_expect == 0 && i == EXEC_ARGV_MAX)
            c->nop_expect = -E2BIG;
        else if (c->nop_expect == 0 && never_mapped((uintptr_t)c->argv[i]))
            c->nop_expect = -EFAULT;
        else if (c->nop_expect == 0 && c->argv[i] == arg256)
            c->nop_expect = -E2BIG;
    }
    if (c->nop_expect == 0 && argc > EXEC_ARGV_MAX)
        c->nop_expect = -E2BIG;
    c->argv[argc] = NULL;
    c->nop_argc = argc;
    c->a[0] = (uintptr_t)PROGRAM;
    c->a[1] = (uintptr_t)c->argv;
}

/* Fill c's arguments for its syscall, within the rules in the file's header. */
static void shape(struct worker *w, struct call *c, long now)
{
    struct rng *r = &w->rng;
    uint64_t *a = c->a;
    for (int i = 0; i < 6; i++)
        a[i] = any_value(w);
    c->stub = -1;
    c->blocks = false;
    c->nop_argc = 0;
    bool tame = !one_in(r, 4);      /* else the raw values stay wherever they are safe */

    switch (c->nr) {
    case SYS_write:
        if (tame) {
            a[0] = one_in(r, 3) ? any_value(w) : 1 + below(r, 2);
            a[2] = any_len(w);
        }
        if (a[0] == 1 || a[0] == 2) {
            if (!quiet(a[1]) || tame)
                a[1] = ptr_quiet(w);
        }
        break;
    case SYS_sleep_ms:
        if (may_block(w, now) && one_in(r, 2)) {
            a[0] = one_in(r, 2) ? ~0ull : 365ull * 24 * 3600 * 1000;
            c->blocks = true;
        } else {
            a[0] = bounded_ms(w, a[0], 30, now);
        }
        break;
    case SYS_spawn: {
        static const char *const bogus[] = {
            "", "nosuch", "fuzz ", " fuzz", "FUZZ", "fuzz\n", "./fuzz", "/fuzz", "fuzz/", "..", "init.elf",
            "usertestsx", "sh\x01", "\xff\xfe", "a-name-of-exactly-sixty-three-bytes-which-no-module-has-xxxxxxx",
            "a-name-longer-than-the-sixty-four-bytes-spawn-reads-from-user-memory-at-most",
        };
        if (tame && one_in(r, 8)) {
            spawn_nop(w, c);
            break;
        }
        if (tame || !never_mapped(a[0]))
            a[0] = one_in(r, 3) ? (one_in(r, 2) ? bad_ptr(r) : C.ro + below(r, RO_PAGES * PAGE))
                                : (uintptr_t)PICK(r, bogus);
        if (tame && one_in(r, 3))
            a[1] = 0;
        break;
    }
    case SYS_wait: {
        size_t len = 4;
        if (tame)
            a[0] = one_in(r, 3) ? (uint64_t)-1 : one_in(r, 2) ? (uint64_t)(int64_t)some_nop(r) : any_value(w);
        if (tame || !write_safe(w, a[1], 4))
            a[1] = one_in(r, 4) ? 0 : ptr_for_write(w, &len);
        if (len < 4)
            a[1] = 0;       /* the scratch buffer's last bytes: the status would run past them */
        if (tame && one_in(r, 2))
            a[1] = (uintptr_t)w->scratch + 4 * below(r, SCRATCH / 4);  /* its own: the status is checked */
        break;
    }
    case SYS_thread_create:
        /* The entry is the stub or an address the kernel must refuse: any other would run the fuzzer's code. */
        if (tame || a[0] < USER_TOP)
            a[0] = one_in(r, 6) ? PICK(r, noncanonical) : (uintptr_t)stub_entry;
        if (tame && one_in(r, 2))
            a[2] = USER_BASE + below(r, USER_TOP - USER_BASE);
        if (w->nstubs == STUBS)
            a[0] = PICK(r, kernel_addrs);   /* no room to remember it: only the refusals */
        break;
    case SYS_thread_join: {
        size_t len = 8;
        if (w->nstubs && one_in(r, 2)) {
            int i = (int)below(r, (uint64_t)w->nstubs);
            a[0] = (uint64_t)w->stubs[i].tid;
            c->stub = i;
        } else if (tame) {
            a[0] = one_in(r, 2) ? (uint64_t)(int64_t)w->tid : any_value(w);
        }
        if (is_sibling((int)a[0]) && c->stub < 0) {
            if (may_block(w, now))
                c->blocks = true;
            else
                a[0] = (uint64_t)-1;
        }
        if (tame || !write_safe(w, a[1], 8))
            a[1] = one_in(r, 5) ? 0 : ptr_for_write(w, &len);
        if (len < 8)
            a[1] = 0;       /* the scratch buffer's last bytes: the value would run past them */
        if (c->stub >= 0 && tame && one_in(r, 2))
            a[1] = (uintptr_t)w->scratch + 8 * below(r, SCRATCH / 8);  /* its own: the value is checked */
        break;
    }
    case SYS_mmap_anon:
        if (tame) {
            a[0] = any_len(w);
            a[1] = one_in(r, 3) ? any_value(w) : below(r, 8);
        }
        if (w->njunk == JUNK) {
            sys_munmap((void *)w->junk[0].addr, w->junk[0].len);
            junk_forget(w, 0);
        }
        break;
    case SYS_munmap: {
        /* Only the playground, its own junk, below the program, or arguments the kernel refuses. */
        uint64_t start = a[0], len = a[1];
        bool refused = len == 0 || start % PAGE || start >= USER_TOP || len > USER_TOP - start;
        bool harmless = !refused && start + len <= USER_BASE;
        if (tame || !(refused || harmless)) {
            switch (below(r, 4)) {
            case 0:
                start = C.play + below(r, PLAY_PAGES) * PAGE;
                len = (below(r, PLAY_PAGES - (start - C.play) / PAGE) + 1) * PAGE - below(r, 2) * below(r, PAGE);
                break;
            case 1:
                if (w->njunk) {
                    int i = (int)below(r, (uint64_t)w->njunk);
                    start = w->junk[i].addr;
                    len = w->junk[i].len;
                    junk_forget(w, i);
                    break;
                }
                /* fall through */
            case 2:
                start = one_in(r, 2) ? bad_ptr(r) : C.play + 1 + below(r, PAGE - 1);   /* refused: bad or unaligned */
                len = one_in(r, 2) ? 0 : any_len(w);
                if (start < USER_TOP && start % PAGE == 0 && len && len <= USER_TOP - start && start + len > USER_BASE)
                    len = 0;
                break;
            default:
                start = C.play + below(r, PLAY_PAGES) * PAGE;
                len = one_in(r, 2) ? USER_TOP - start + 1 + below(r, 4) : ~0ull - below(r, 4);  /* too long */
                break;
            }
        }
        a[0] = start;
        a[1] = len;
        break;
    }
    case SYS_futex_wait:
        if (tame) {
            a[0] = one_in(r, 4) ? ptr_for_read(w) : C.futex + 4 * below(r, FUTEX_WORDS);
            if (in(a[0], C.futex, PAGE) || in_rw_arena(a[0]) || in(a[0], C.ro, RO_PAGES * PAGE))
                a[1] = one_in(r, 4) ? any_value(w) : (uint64_t)*(volatile int *)(a[0] & ~3ul);
        }
        if (may_block(w, now)) {
            a[2] = one_in(r, 2) ? 0 : ~0ull - below(r, 2);     /* none, or clamped to a year */
            c->blocks = true;
        } else {
            a[2] = bounded_ms(w, a[2], 20, now);
        }
        break;
    case SYS_futex_wake:
        if (tame) {
            a[0] = one_in(r, 4) ? ptr_for_read(w) : C.futex + 4 * below(r, FUTEX_WORDS);
            if (in(a[0], C.futex, PAGE) && a[0] % 4 == 0)
                __atomic_add_fetch((int *)a[0], 1, __ATOMIC_RELEASE);
            a[1] = one_in(r, 2) ? any_value(w) : below(r, 4);
        }
        break;
    case SYS_kstat: {
        if (tame)
            a[1] = one_in(r, 2) ? sizeof(struct kstat) : any_len(w);
        size_t n = a[1] < sizeof(struct kstat) ? a[1] : sizeof(struct kstat), room = n;
        if (tame || !write_safe(w, a[0], n)) {
            a[0] = ptr_for_write(w, &room);
            if (room < n)
                a[1] = room;
        }
        break;
    }
    case SYS_read: {
        if (tame)
            a[0] = one_in(r, 2) ? 0 : any_value(w);
        size_t len = a[2] < READ_CHUNK ? a[2] : READ_CHUNK;
        if (tame || !write_safe(w, a[1], len)) {
            a[1] = ptr_for_write(w, &len);
            if (a[2] > len)
                a[2] = len;
        }
        /* fd 0 with a buffer it accepts waits for the console: for good, in the harness. */
        if (a[0] == 0 && a[2] && a[1] < USER_TOP && a[2] <= USER_TOP - a[1]) {
            if (may_block(w, now))
                c->blocks = true;
            else
                a[1] = bad_ptr(r) | USER_TOP;
        }
        break;
    }
    case SYS_kill:
        if (tame) {
            if (one_in(r, 3)) {
                a[0] = (uint64_t)(int64_t)(one_in(r, 2) && w->last_nop ? w->last_nop : some_nop(r));
            } else {
                a[0] = one_in(r, 2) ? below(r, 64) : any_value(w);
            }
        }
        a[1] = (a[1] & ~0xfful) | (NOP_KILL_BASE + a[1] % 20);  /* the kernel keeps 8 bits: told from a nop's argc */
        if (a[0] == (uint64_t)C.pid)
            a[0] = (uint64_t)C.pid + 1 + below(r, 4);     /* a sibling, a nop child or nobody: never itself */
        break;
    case SYS_console_ctl:
        if (tame) {
            a[0] = one_in(r, 4) ? any_value(w) : 1 + below(r, 3);
            a[1] = one_in(r, 2) ? below(r, 3) : any_value(w);
        }
        if (a[0] == CONSOLE_POLL) {
            if (may_block(w, now)) {
                a[1] = one_in(r, 2) ? 3600 * 1000 : ~0ull;  /* an hour, or clamped to one: the exit ends it */
                c->blocks = true;
            } else
                a[1] = bounded_ms(w, a[1], 20, now);
        }
        if (a[0] == CONSOLE_FOREGROUND && tame && one_in(r, 4))
            a[1] = (uint64_t)(int64_t)some_nop(r);     /* a descendant: it may be the foreground */
        if (a[0] == CONSOLE_FOREGROUND && a[1] == (uint64_t)C.pid && one_in(r, 2))
            a[1] = 0;       /* ^C at the terminal would end it: keep that rare */
        break;
    case SYS_ps: {
        if (tame)
            a[1] = one_in(r, 2) ? below(r, 64) : any_len(w);
        size_t n = a[1] < PS_MAX ? a[1] : PS_MAX;
        size_t len = n * sizeof(struct ps_thread);
        if (a[0] && (tame || !write_safe(w, a[0], len))) {
            a[0] = one_in(r, 8) ? 0 : ptr_for_write(w, &len);
            if (n > len / sizeof(struct ps_thread))
                a[1] = len / sizeof(struct ps_thread);
        }
        break;
    }
    default:
        break;      /* the rest take no pointer the kernel writes through, or are test_* / invalid */
    }
}

/* ---------------------------------------------------------------- checking a result */

static void violation(struct worker *w, const struct call *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void violation(struct worker *w, const struct call *c, const char *fmt, ...)
{
    char why[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (w->st->violations++ < MAX_VIOLATIONS_SHOWN)
        ktap_diag("fuzz[c%d.t%d]: VIOLATION %s (nr %#lx)(%#lx, %#lx, %#lx) = %ld: %s", C.index, w->index,
                  c->nr >= 0 && c->nr < SYSCALL_COUNT ? sys_names[c->nr] : "invalid", (unsigned long)c->nr,
                  (unsigned long)c->a[0], (unsigned long)c->a[1], (unsigned long)c->a[2], c->ret, why);
}

#define EXPECT(w, c, cond, ...)                 \
    do {                                        \
        if (!(cond))                            \
            violation((w), (c), __VA_ARGS__);   \
    } while (0)

static bool access_ok(uint64_t p, uint64_t n)
{
    return p < USER_TOP && n <= USER_TOP - p;
}

/* What each syscall documents (uapi/syscalls.h and its handler), checked where the arguments settle it. */
static void check(struct worker *w, const struct call *c)
{
    long r = c->ret;
    const uint64_t *a = c->a;

    if (r < 0 && r >= -4095)
        EXPECT(w, c, errno_name((int)-r), "an errno uapi/errno.h does not define");
    if (r < -4095)
        EXPECT(w, c, false, "neither a result nor an errno");
    if (r == -ENOMEM)
        return;     /* any call may be refused before dispatch for want of a stack page, even one outside
                       the table (docs/DESIGN.md section 12) */
    if (c->nr < 0 || c->nr >= SYSCALL_COUNT || (is_test_syscall(c->nr) && !C.testsys)) {
        EXPECT(w, c, r == -ENOSYS, "expected -ENOSYS");
        return;
    }

    switch (c->nr) {
    case SYS_write:
        if (a[0] != 1 && a[0] != 2)
            EXPECT(w, c, r == -EBADF, "expected -EBADF");
        else if (a[2] && never_mapped(a[1]))
            EXPECT(w, c, r == -EFAULT, "a buffer that cannot be read: expected -EFAULT");
        else if (r >= 0)
            EXPECT(w, c, (uint64_t)r <= a[2], "wrote more than asked");
        break;
    case SYS_getpid:
        EXPECT(w, c, r == C.pid, "not our pid %d", C.pid);
        break;
    case SYS_gettid:
        EXPECT(w, c, r == w->tid, "not our tid %d", w->tid);
        break;
    case SYS_yield:
        EXPECT(w, c, r == 0, "expected 0");
        break;
    case SYS_sleep_ms:
        EXPECT(w, c, r == 0, "expected 0");
        if (c->t0 >= 0 && c->t1 >= 0)   /* uptime_ms itself may be refused with -ENOMEM (section 12) */
            EXPECT(w, c, c->t1 - c->t0 + 1 >= (long)a[0], "woke after %ld ms", c->t1 - c->t0);
        break;
    case SYS_spawn:
        if (c->nop_argc && c->nop_expect == 0)
            EXPECT(w, c, r > C.pid || r == -EAGAIN, "fuzz nop with %d good arguments: expected a pid or -EAGAIN",
                   c->nop_argc);
        else if (c->nop_argc)
            EXPECT(w, c, r == c->nop_expect, "fuzz nop with %d arguments: expected %ld", c->nop_argc, c->nop_expect);
        else
            EXPECT(w, c, r < 0, "a program with a bogus name was started");
        if (never_mapped(a[0]))
            EXPECT(w, c, r == -EFAULT, "a name that cannot be read: expected -EFAULT");
        break;
    case SYS_wait:
        if (a[1] && !access_ok(a[1], 4)) {
            EXPECT(w, c, r == -EFAULT, "expected -EFAULT");
        } else if (r > 0) {
            EXPECT(w, c, r > C.pid, "not a child of ours");
            EXPECT(w, c, !a[1] || (!never_mapped(a[1]) && !read_only(a[1])), "the status was stored where nothing is writable");
            if (in(a[1], (uintptr_t)w->scratch, SCRATCH - 3)) {
                int st = *(volatile int *)a[1], argc = C.nops[r % NOPS].pid == r ? C.nops[r % NOPS].argc : 0;
                bool killed = (st >= NOP_KILL_BASE && st < NOP_KILL_BASE + 20) || st == EXIT_KILLED_BASE + VEC_PF;
                EXPECT(w, c, killed || (argc ? st == argc : st >= 2 && st <= EXEC_ARGV_MAX),
                       "fuzz nop's status %d: expected its argc %d, a kill's 200..219 or 142 (out of memory: "
                       "it touches pages it has not yet)", st, argc);
            }
        } else {
            EXPECT(w, c, r == -ECHILD || r == -EFAULT, "expected -ECHILD, or -EFAULT for a status not stored");
        }
        break;
    case SYS_thread_create:
        if (a[0] >= USER_TOP || a[2] >= USER_TOP || a[2] < USER_BASE)
            EXPECT(w, c, r == -EINVAL, "expected -EINVAL");
        else
            EXPECT(w, c, r > 0 || r == -EAGAIN, "expected a tid or -EAGAIN");
        break;
    case SYS_thread_join:
        if (a[1] && !access_ok(a[1], 8))
            EXPECT(w, c, r == -EFAULT, "expected -EFAULT");
        else if (r == 0 && a[1])
            EXPECT(w, c, !never_mapped(a[1]) && !read_only(a[1]), "the value was stored where nothing is writable");
        if (c->stub >= 0 && r == 0 && in(a[1], (uintptr_t)w->scratch, SCRATCH - 7)) {
            long v;     /* only this thread writes its scratch: the value is the one the kernel stored */
            memcpy(&v, (const void *)a[1], sizeof(v));
            EXPECT(w, c, v == w->stubs[c->stub].arg, "joined value %#lx, the thread exited with %#lx", v,
                   w->stubs[c->stub].arg);
        }
        break;
    case SYS_mmap_anon: {
        int prot = (int)a[1];
        if (a[0] == 0 || (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) ||
            ((prot & PROT_WRITE) && (prot & PROT_EXEC)))
            EXPECT(w, c, r == -EINVAL, "expected -EINVAL");
        else if (r >= 0)
            EXPECT(w, c, r % PAGE == 0 && (uint64_t)r >= USER_BASE && (uint64_t)r < MMAP_TOP &&
                             a[0] <= MMAP_TOP - (uint64_t)r, "not a page-aligned range of the mmap area");
        break;
    }
    case SYS_munmap:
        if (a[1] == 0 || a[0] % PAGE || a[0] >= USER_TOP || a[1] > USER_TOP - a[0])
            EXPECT(w, c, r == -EINVAL, "expected -EINVAL");
        else
            EXPECT(w, c, r == 0, "expected 0");
        break;
    case SYS_futex_wait:
        if (a[0] % 4)
            EXPECT(w, c, r == -EINVAL, "expected -EINVAL");
        else if (never_mapped(a[0]))
            EXPECT(w, c, r == -EFAULT, "expected -EFAULT");
        else if (always_readable(w, a[0]))
            EXPECT(w, c, r == 0 || r == -EAGAIN || r == -ETIMEDOUT, "expected 0, -EAGAIN or -ETIMEDOUT");
        else
            EXPECT(w, c, r == 0 || r == -EAGAIN || r == -ETIMEDOUT || r == -EFAULT,
                   "expected 0, -EAGAIN, -ETIMEDOUT or -EFAULT");
        if (r == -ETIMEDOUT && c->t0 >= 0 && c->t1 >= 0)
            EXPECT(w, c, c->t1 - c->t0 + 1 >= (long)a[2], "timed out after %ld ms", c->t1 - c->t0);
        break;
    case SYS_futex_wake:
        if (a[0] % 4)
            EXPECT(w, c, r == -EINVAL, "expected -EINVAL");
        else if (never_mapped(a[0]))
            EXPECT(w, c, r == -EFAULT, "expected -EFAULT");
        else if (r != -EFAULT || always_readable(w, a[0]))
            EXPECT(w, c, r >= 0 && (uint64_t)r <= a[1], "expected 0..count woken");
        break;
    case SYS_kstat: {
        uint64_t n = a[1] < sizeof(struct kstat) ? a[1] : sizeof(struct kstat);
        if (!access_ok(a[0], n) || (n && (never_mapped(a[0]) || read_only(a[0]))))
            EXPECT(w, c, r == -EFAULT, "expected -EFAULT");
        else if (r >= 0)
            EXPECT(w, c, (uint64_t)r == n, "expected %lu bytes", (unsigned long)n);
        break;
    }
    case SYS_getcpu:
        EXPECT(w, c, r >= 0 && r < C.ncpus, "not a CPU of %d", C.ncpus);
        break;
    case SYS_uptime_ms:
        EXPECT(w, c, r >= w->last_uptime, "went back from %ld", w->last_uptime);
        w->last_uptime = r;
        break;
    case SYS_read:
        if (a[0] != 0)
            EXPECT(w, c, r == -EBADF, "expected -EBADF");
        else if (a[2] == 0)
            EXPECT(w, c, r == 0, "expected 0");
        else if (!access_ok(a[1], a[2]))
            EXPECT(w, c, r == -EFAULT, "expected -EFAULT");
        break;
    case SYS_kill:
        if ((int64_t)a[0] <= 0 || a[0] > 0x7fffffff)
            EXPECT(w, c, r == -ESRCH, "expected -ESRCH");
        else if (r == 0)
            EXPECT(w, c, (int64_t)a[0] > C.pid, "ended a process that is not a descendant");
        else
            EXPECT(w, c, r == -ESRCH || r == -EPERM, "expected 0 (a nop child), -ESRCH or -EPERM");
        break;
    case SYS_console_ctl:
        if (a[0] != CONSOLE_FOREGROUND && a[0] != CONSOLE_RAW && a[0] != CONSOLE_POLL)
            EXPECT(w, c, r == -EINVAL, "expected -EINVAL");
        else if (a[0] == CONSOLE_RAW)
            EXPECT(w, c, a[1] > 1 ? r == -EINVAL : r == 0, "CONSOLE_RAW: expected %s", a[1] > 1 ? "-EINVAL" : "0");
        else if (a[0] == CONSOLE_FOREGROUND && a[1] > 0x7fffffff)
            EXPECT(w, c, r == -ESRCH, "expected -ESRCH");
        else if (a[0] == CONSOLE_POLL)
            EXPECT(w, c, r == 0 || r == 1 || r == -ENODEV, "CONSOLE_POLL: expected 0, 1 or -ENODEV");
        break;
    case SYS_ps: {
        uint64_t n = a[1] < PS_MAX ? a[1] : PS_MAX;
        if (a[0] == 0)
            EXPECT(w, c, r > 0, "expected the thread count");
        else if (n == 0)
            EXPECT(w, c, r == 0, "expected 0");
        else if (!access_ok(a[0], n * sizeof(struct ps_thread)) || never_mapped(a[0]) || read_only(a[0]))
            EXPECT(w, c, r == -EFAULT, "expected -EFAULT");
        else if (r >= 0)
            EXPECT(w, c, r > 0 && (uint64_t)r <= n, "expected 1..%lu records", (unsigned long)n);
        break;
    }
    default:
        break;
    }
}

/* ---------------------------------------------------------------- IPC (uapi/ipc.h) */

/*
 * The seven IPC calls are shaped and checked here, not in shape() and
 * check(): what they may return depends on the process's handle table, which
 * its threads change under each other, and on who serves an endpoint. The
 * rules that keep the checks sound and every wait bounded:
 *  - C.owner[] is the table as the calls said it is: a slot is a thread's
 *    from the return of the call that gave it until that thread closes it.
 *    A thread closes only its own handles and numbers that are never
 *    handles, so a handle it holds is held: -EBADF for it, or another call
 *    handing out the same number, is a finding. A slot nobody holds may be
 *    filled by another thread's call at any moment, so -EBADF for it is
 *    checked by the audit at the end (ipc_audit()), once the others are gone
 *    or still.
 *  - Every wait is bounded: a timeout of 1 to 20 ms, or none only where the
 *    call fails at once (a bad handle, recv on a send-only one, recv with a
 *    handle to pass) or somebody answers it (the process's server, the
 *    parent's exchange). In the last second a few calls wait for good on an
 *    endpoint nobody serves, and the process's end must end them.
 *  - Each process runs a server thread (server_main()) that answers every
 *    call with its echo: label ~label, the words reversed, the buffer
 *    reversed, a passed handle passed back. Nobody else receives on a
 *    server's endpoint, and the exchange hands out servers' endpoints only,
 *    so a reply from a server is checked word for word.
 *  - recv and reply_wait use a thread's own endpoints, or slots it does not
 *    hold (then it may take another thread's messages, which nobody checks),
 *    never the server's. Each thread publishes its latest endpoint
 *    (C.published[]) and the others call and send there as to any slot they
 *    do not hold, so receives get messages, buffers and handles too.
 *  - Received bytes go where writes are safe (ptr_for_write()): mostly the
 *    thread's arena, with a canary after the receive buffer.
 */

static void count(struct worker *w, const struct call *c);

#define OWNER_FREE 0
#define OWNER_CLOSING (-1)          /* its holder is closing it: the number may come back from any call */
#define OWNER_SERVER (MAX_THREADS + 1)
#define OWNER_MAIN (MAX_THREADS + 2)

/* The parent's exchange (the bootstrap endpoint): labels a fuzzed call does not pick by chance. */
#define EXCH_DEPOSIT 0x4558434844455001ull  /* shandle: a server's endpoint, to keep and hand out */
#define EXCH_GET 0x4558434847455402ull      /* any call gets EXCH_PEER and a kept endpoint (or none); this asks */
#define EXCH_PEER 0x4558434850454503ull     /* the exchange's reply to every call */
#define EXCH_FLUSH 0x45584348464c5504ull    /* the parent, at the end: close every kept handle */

static uint8_t ipc_pattern[MAX_THREADS + 1][2 * IPC_BUF_MAX];  /* what each thread sends (the kernel only reads it) */

static bool is_ipc_nr(long nr)
{
    return nr >= SYS_ipc_endpoint && nr <= SYS_ipc_bootstrap;
}

static bool receives(long nr)
{
    return nr == SYS_ipc_recv || nr == SYS_ipc_reply_wait;
}

static int owner_tag(const struct worker *w)
{
    return w->index < C.nthreads ? w->index + 1 : w->index == C.nthreads ? OWNER_SERVER : OWNER_MAIN;
}

static const char *owner_name(int who)
{
    return who == OWNER_SERVER ? "the server" : who == OWNER_MAIN ? "the main thread" : "a fuzzing thread";
}

/* ---------------------------------------------------------------- the table as the calls said */

/* A call gave handle h to `who`: nobody may hold it already. */
static void owner_take(struct worker *w, const struct call *c, int h, int who)
{
    int old = __atomic_exchange_n(&C.owner[h], who, __ATOMIC_ACQ_REL);
    if (old != OWNER_FREE && old != OWNER_CLOSING)
        violation(w, c, "handle %d given out while %s holds it", h, owner_name(old));
}

/* Closing h: from here on another thread's call may get the number. */
static void owner_closing(int h)
{
    __atomic_store_n(&C.owner[h], OWNER_CLOSING, __ATOMIC_RELEASE);
}

/* After the close: free (unless a call gave the number out already), or `who`'s again if it did not close. */
static void owner_closed(int h, int who, bool closed)
{
    int expect = OWNER_CLOSING;
    __atomic_compare_exchange_n(&C.owner[h], &expect, closed ? OWNER_FREE : who, false, __ATOMIC_ACQ_REL,
                                __ATOMIC_ACQUIRE);
}

/*
 * ipc_close, tried again a while as long as it is refused for want of a
 * stack page (docs/DESIGN.md section 12: a hog may hold the memory); a
 * handle whose close was refused is still held, and says so.
 */
static long close_retrying(int h)
{
    long r;
    for (int tries = 0; (r = sys_ipc_close(h)) == -ENOMEM && tries < 1000; tries++)
        sys_yield();
    return r;
}

/* Close `who`'s handle h for good; the table says who holds it if the kernel kept refusing. */
static long owner_close(int h, int who)
{
    owner_closing(h);
    long r = close_retrying(h);
    owner_closed(h, who, r == 0);
    return r;
}

static int held_find(const struct worker *w, int64_t h)
{
    for (int i = 0; i < w->nheld; i++)
        if (w->held[i].h == h)
            return i;
    return -1;
}

/* Held handle i is closed: forget it, remember its number as a stale one. */
static void held_forget(struct worker *w, int i)
{
    int h = w->held[i].h, published = h;
    if (w->index < C.nthreads)
        __atomic_compare_exchange_n(&C.published[w->index], &published, -1, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    memmove(&w->held[i], &w->held[i + 1], (size_t)(w->nheld - i - 1) * sizeof(w->held[0]));
    w->nheld--;
    w->closed[w->closed_next++ % IPC_CLOSED] = h;
    if (w->nclosed < IPC_CLOSED)
        w->nclosed++;
}

/*
 * Is a copy of endpoint `id` dead? The receive right never leaves the
 * thread that made it: the endpoint lives while that thread holds it.
 */
static bool copy_dead(const struct worker *w, const struct held *copy)
{
    if (copy->kind != IK_COPY)
        return false;
    for (int i = 0; i < w->nheld; i++)
        if (w->held[i].kind == IK_ENDPOINT && w->held[i].id == copy->id)
            return false;
    return true;
}

/* Close held handle i (bookkeeping, not a fuzzed call); false if the kernel kept refusing. */
static bool held_close(struct worker *w, int i)
{
    struct call c = { .nr = SYS_ipc_close, .a = { (uint64_t)w->held[i].h }, .stub = -1 };
    c.ret = owner_close(w->held[i].h, owner_tag(w));
    if (c.ret == -ENOMEM)
        return false;
    EXPECT(w, &c, c.ret == 0, "a handle it holds would not close");
    held_forget(w, i);
    return true;
}

/* A call gave us handle h: ours now (the oldest goes when we hold our share). */
static void held_add(struct worker *w, const struct call *c, int h, enum ipc_kind kind, uint32_t id)
{
    owner_take(w, c, h, owner_tag(w));
    if (w->nheld == w->held_cap && !held_close(w, 0)) {
        owner_close(h, owner_tag(w));
        return;
    }
    w->held[w->nheld++] = (struct held){ .h = h, .kind = kind, .id = id };
}

/* ---------------------------------------------------------------- one IPC call: its plan */

enum slot_class {
    SLOT_NONE,      /* shandle -1 */
    SLOT_HELD,      /* one of this thread's handles */
    SLOT_SERVER,    /* the server's endpoint (sends only, from here) */
    SLOT_BAD,       /* never a handle: at or past IPC_HANDLES (h: negative too) */
    SLOT_NEGATIVE,  /* shandle below -1: uapi/ipc.h names -1 only */
    SLOT_OTHER,     /* a slot this thread does not hold: free, closed lately, or another thread's */
};

enum ext_class {
    EXT_NONE,       /* ext 0 */
    EXT_ZEROS,      /* read-only zeros: no buffers, shandle 0, no timeout */
    EXT_FAULT,      /* an address that faults */
    EXT_EDGE,       /* the struct runs into a guard page */
    EXT_OK,         /* a struct ipc_ext in the thread's arena */
};

struct ipc_plan {
    enum slot_class hc, sc;
    struct held h, sh;          /* SLOT_HELD: the handle's record */
    bool h_dead;                /* h is a copy of an endpoint of ours we closed: a send must get -EPIPE */
    enum ext_class xc;
    struct ipc_ext e;           /* what the kernel reads (EXT_NONE: shandle -1, the rest 0) */
    bool pattern;               /* sbuf is the thread's pattern at pattern_off: a server's echo can be checked */
    uint32_t pattern_off;
    bool sbuf_may_fault;        /* sbuf passes the range check but may not be readable */
    bool rbuf_may_fault;        /* rbuf passes the range check but may not be writable */
    size_t fill;                /* rbuf is in the arena, IPC_FILL for this many bytes (up to rcap, and the canary) */
    uint64_t label, w[3];
    int op;                     /* ipc_bootstrap's */
};

static const char *const slot_names[] = { "none", "held", "server", "bad", "negative", "other" };
static const char *const kind_names[] = { "endpoint", "copy", "server", "peer", "exchange", "unknown" };
static const char *const ext_names[] = { "none", "zeros", "fault", "edge", "ok" };

static void plan_str(const struct ipc_plan *p, char *buf, size_t n)
{
    char h[32];
    snprintf(h, sizeof(h), "%s", slot_names[p->hc]);
    if (p->hc == SLOT_HELD)
        snprintf(h, sizeof(h), "held %s%s", kind_names[p->h.kind], p->h_dead ? " (dead)" : "");
    snprintf(buf, n, "h %s; ext %s: slen %lu rcap %lu shandle %d (%s) reserved %u timeout %lu", h,
             ext_names[p->xc], (unsigned long)p->e.slen, (unsigned long)p->e.rcap, p->e.shandle, slot_names[p->sc],
             p->e.reserved, (unsigned long)p->e.timeout_ms);
}

static void ipc_violation(struct worker *w, const struct call *c, const struct ipc_plan *p, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void ipc_violation(struct worker *w, const struct call *c, const struct ipc_plan *p, const char *fmt, ...)
{
    char why[128], plan[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    plan_str(p, plan, sizeof(plan));
    violation(w, c, "%s [%s]", why, plan);
}

#define IPC_EXPECT(cond, ...)                           \
    do {                                                \
        if (!(cond))                                    \
            ipc_violation(w, c, p, __VA_ARGS__);        \
    } while (0)

/* A timeout that bounds the wait by the run's end: mostly a few ms, at most 20. */
static uint64_t ipc_timeout(struct worker *w, long now)
{
    return bounded_ms(w, one_in(&w->rng, 4) ? 1 + below(&w->rng, 20) : 1 + below(&w->rng, 4), 20, now);
}

/*
 * A handle number for h (or, with for_pass, for shandle): one of ours, the
 * server's, one that is never a handle, or a slot we do not hold. With
 * no_server the server's is left out (recv, reply_wait).
 */
static int64_t pick_slot(struct worker *w, enum slot_class *cls, struct held *held, bool for_pass, bool no_server)
{
    static const int64_t bad_h[] = { IPC_HANDLES, IPC_HANDLES + 1, 64, 99999, 0x7fffffff, 0x80000000l,
                                     0xffffffffl, 0x100000000l, -1, -2, -IPC_HANDLES, (int64_t)0x8000000000000000ull };
    static const int32_t bad_shandle[] = { IPC_HANDLES, IPC_HANDLES + 1, 64, 99999, 0x7fffffff };
    static const int32_t negative_shandle[] = { -2, -IPC_HANDLES, -0x7fffffff - 1 };
    struct rng *r = &w->rng;
    switch (below(r, 16)) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6:
        if (w->nheld) {
            *held = w->held[below(r, (uint64_t)w->nheld)];
            *cls = SLOT_HELD;
            return held->h;
        }
        /* fall through */
    case 7: case 8:
        if (C.server_h >= 0 && !no_server) {
            *cls = SLOT_SERVER;
            return C.server_h;
        }
        /* fall through */
    case 9: case 10:
        *cls = SLOT_BAD;
        return for_pass ? PICK(r, bad_shandle) : PICK(r, bad_h);
    case 11:
        if (for_pass) {
            *cls = SLOT_NEGATIVE;
            return PICK(r, negative_shandle);
        }
        /* fall through */
    default: {
        /* Another thread's endpoint (which it may close any moment), a number we closed lately, any slot. */
        int64_t h = __atomic_load_n(&C.published[below(r, (uint64_t)C.nthreads)], __ATOMIC_RELAXED);
        if (h < 0 || one_in(r, 2))
            h = w->nclosed && one_in(r, 2) ? w->closed[below(r, (uint64_t)w->nclosed)] : (int64_t)below(r, IPC_HANDLES);
        int i = held_find(w, h);
        if (i >= 0) {
            *held = w->held[i];
            *cls = SLOT_HELD;
        } else if (h == C.server_h) {
            *cls = no_server ? SLOT_BAD : SLOT_SERVER;
            return no_server ? IPC_HANDLES : h;
        } else {
            *cls = SLOT_OTHER;
        }
        return h;
    }
    }
}

static void classify_shandle(struct worker *w, struct ipc_plan *p)
{
    int32_t s = p->e.shandle;
    int i = held_find(w, s);
    p->sc = s == -1 ? SLOT_NONE : s < -1 ? SLOT_NEGATIVE : s >= IPC_HANDLES ? SLOT_BAD : i >= 0 ? SLOT_HELD
          : s == C.server_h ? SLOT_SERVER : SLOT_OTHER;
    if (i >= 0)
        p->sh = w->held[i];
}

/* Is the whole of [p, p + len) in this thread's arena or scratch, where writes cannot fault? */
static bool always_writable(const struct worker *w, uintptr_t p, size_t len)
{
    uintptr_t a = C.rw[w->index], s = (uintptr_t)w->scratch;
    return (in(p, a, RW_PAGES * PAGE) && len <= a + RW_PAGES * PAGE - p) ||
           (in(p, s, SCRATCH) && len <= s + SCRATCH - p);
}

/* A struct ipc_ext in the thread's arena, mostly sane: buffers, a handle to pass, a short timeout. */
static void shape_ext(struct worker *w, struct ipc_plan *p, long nr, long now)
{
    struct rng *r = &w->rng;
    uintptr_t arena = C.rw[w->index];
    struct ipc_ext *e = &p->e;
    static const uint64_t huge[] = { IPC_BUF_MAX + 1, PAGE, 0x10000, 0x7fffffff, 0x80000000ul, ~0ull, ~0ull >> 1 };

    switch (below(r, 20)) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: e->slen = 0; break;
    case 7: e->slen = IPC_BUF_MAX; break;
    case 8: e->slen = PICK(r, huge); break;
    case 9: e->slen = any_len(w); break;
    default: e->slen = below(r, IPC_BUF_MAX + 1); break;
    }
    if (e->slen && e->slen <= IPC_BUF_MAX && !one_in(r, 6)) {
        p->pattern = true;
        p->pattern_off = (uint32_t)below(r, IPC_BUF_MAX + 1);
        e->sbuf = &ipc_pattern[w->index][p->pattern_off];
    } else {
        e->sbuf = (const void *)(one_in(r, 2) ? bad_ptr(r) : ptr_for_read(w));
        p->sbuf_may_fault = !never_mapped((uintptr_t)e->sbuf);
    }

    switch (below(r, 10)) {
    case 0: case 1: case 2: e->rcap = 0; break;
    case 3: case 4: case 5: e->rcap = IPC_BUF_MAX; break;
    case 6: e->rcap = below(r, IPC_BUF_MAX); break;
    case 7: e->rcap = IPC_BUF_MAX + 1 + below(r, 2 * PAGE); break;     /* the kernel copies IPC_BUF_MAX at most */
    default: e->rcap = one_in(r, 2) ? PICK(r, huge) : any_len(w); break;
    }
    size_t room = e->rcap < IPC_BUF_MAX ? e->rcap : IPC_BUF_MAX;    /* what a message may write */
    if (!one_in(r, 4)) {
        p->fill = room + IPC_CANARY;
        e->rbuf = (void *)(arena + 2 * PAGE + below(r, PAGE));
    } else {
        size_t len = room;
        e->rbuf = (void *)ptr_for_write(w, &len);
        if (len < room)
            e->rcap = len;          /* the scratch buffer's room */
        room = len;
        p->rbuf_may_fault = !always_writable(w, (uintptr_t)e->rbuf, room);
    }

    e->shandle = -1;
    if (one_in(r, 3)) {
        int64_t s = pick_slot(w, &p->sc, &p->sh, true, false);
        e->shandle = (int32_t)s;
    }
    if (nr == SYS_ipc_recv && !one_in(r, 4)) {
        e->slen = 0;            /* recv sends nothing: mostly a receive that gets past its arguments */
        e->shandle = -1;
    }
    classify_shandle(w, p);
    if (one_in(r, 16))
        e->reserved = one_in(r, 2) ? 1u << below(r, 32) : (uint32_t)rnd(r);
    e->timeout_ms = ipc_timeout(w, now);
}

/*
 * Shape an IPC call: c->a[] gets the registers (h, label, w0, w1, w2, ext;
 * ipc_bootstrap: op, h; ipc_close: h), p what the checker needs. c->blocks
 * when it may wait for good.
 */
static void ipc_shape(struct worker *w, struct call *c, struct ipc_plan *p, long now)
{
    struct rng *r = &w->rng;
    uint64_t *a = c->a;
    *p = (struct ipc_plan){ .e = { .shandle = -1 } };
    for (int i = 0; i < 6; i++)
        a[i] = any_value(w);

    switch (c->nr) {
    case SYS_ipc_endpoint:
        return;     /* its arguments are ignored: any_value's junk */
    case SYS_ipc_close:
        if (w->nheld && !one_in(r, 4)) {
            p->hc = SLOT_HELD;
            p->h = w->held[below(r, (uint64_t)w->nheld)];
            a[0] = (uint64_t)p->h.h;
        } else {
            p->hc = SLOT_BAD;
            do
                a[0] = (uint64_t)pick_slot(w, &p->hc, &p->h, false, true);
            while (p->hc != SLOT_BAD);
        }
        return;
    case SYS_ipc_bootstrap: {
        static const uint64_t ops[] = { 0, 3, 4, 0x101, (uint64_t)-1, 0x100000001ull };
        int pick = (int)below(r, 10);
        p->op = pick < 5 ? IPC_BOOTSTRAP_GET : pick < 8 ? IPC_BOOTSTRAP_SET : -1;
        a[0] = p->op > 0 ? (uint64_t)p->op : PICK(r, ops);
        a[1] = (uint64_t)pick_slot(w, &p->hc, &p->h, false, false);
        /* Without the exchange a receive handle of ours would become the bootstrap endpoint: none of those. */
        if (p->op == IPC_BOOTSTRAP_SET && !C.exchange && p->hc != SLOT_BAD &&
            !(p->hc == SLOT_HELD && p->h.kind != IK_ENDPOINT)) {
            p->hc = SLOT_BAD;
            a[1] = IPC_HANDLES;
        }
        return;
    }
    default:
        break;
    }

    bool recv = c->nr == SYS_ipc_recv, rcv = receives(c->nr);
    a[0] = (uint64_t)pick_slot(w, &p->hc, &p->h, false, rcv);
    p->h_dead = p->hc == SLOT_HELD && copy_dead(w, &p->h);
    if (recv)
        a[1] = a[2] = a[3] = a[4] = 0;
    if (c->nr == SYS_ipc_call && p->hc == SLOT_HELD && p->h.kind == IK_EXCHANGE && one_in(r, 2))
        a[1] = EXCH_GET;
    p->label = a[1];
    p->w[0] = a[2];
    p->w[1] = a[3];
    p->w[2] = a[4];

    /* Waits with no timeout: where the call fails at once, where somebody answers it, or in the last second. */
    bool fails_at_once = p->hc == SLOT_BAD || (rcv && p->hc == SLOT_HELD && p->h.kind != IK_ENDPOINT);
    /* (A hog's server may be refused a stack page until the hog ends, after the calls are due back.) */
    bool answered = !rcv && !C.hog && (p->hc == SLOT_SERVER || (p->hc == SLOT_HELD && (p->h.kind == IK_SERVER ||
                                                                (p->h.kind == IK_EXCHANGE && C.exchange))));
    bool for_good = may_block(w, now);
    uintptr_t arena = C.rw[w->index];
    switch (below(r, 20)) {
    case 0: case 1:
        if (fails_at_once || answered || for_good) {
            p->xc = EXT_NONE;
            a[5] = 0;
            break;
        }
        /* fall through */
    case 2:
        if (fails_at_once || answered || for_good || recv) {   /* recv with shandle 0: -EINVAL at once */
            p->xc = EXT_ZEROS;
            p->e = (struct ipc_ext){ .shandle = 0 };
            a[5] = C.ro + 8 * below(r, (RO_PAGES * PAGE - sizeof(struct ipc_ext)) / 8);
            break;
        }
        /* fall through */
    default:
        p->xc = EXT_OK;
        shape_ext(w, p, c->nr, now);
        if (for_good && one_in(r, 2))
            p->e.timeout_ms = 0;
        a[5] = arena + (one_in(r, 8) ? 1 + below(r, 7) : 0) + 8 * below(r, (2 * PAGE - 64) / 8);
        memcpy((void *)a[5], &p->e, sizeof(p->e));
        if (p->fill)
            memset(p->e.rbuf, IPC_FILL, p->fill);
        break;
    case 3:
        p->xc = EXT_FAULT;
        a[5] = bad_ptr(r);
        if (a[5] == 0)
            a[5] = 8;       /* 0 is no ext at all */
        break;
    case 4: {
        p->xc = EXT_EDGE;
        size_t in_arena = 1 + below(r, sizeof(struct ipc_ext) - 1);
        struct ipc_ext junk = { .shandle = -1, .timeout_ms = 1 };
        a[5] = arena + RW_PAGES * PAGE - in_arena;
        memcpy((void *)a[5], &junk, in_arena);
        break;
    }
    }
    if (p->xc == EXT_ZEROS)
        classify_shandle(w, p);
    c->blocks = (p->xc == EXT_NONE || p->xc == EXT_ZEROS || (p->xc == EXT_OK && !p->e.timeout_ms)) &&
                !fails_at_once && !answered && !(recv && p->xc == EXT_ZEROS);
}

/* ---------------------------------------------------------------- one IPC call: its result */

struct eset {
    uint64_t bits[2];       /* errnos below 128 */
};

static void eset_add(struct eset *s, int e)
{
    s->bits[e / 64] |= 1ull << (e % 64);
}

static bool eset_has(const struct eset *s, long e)
{
    return e > 0 && e < 128 && (s->bits[e / 64] >> (e % 64) & 1);
}

static bool eset_empty(const struct eset *s)
{
    return !s->bits[0] && !s->bits[1];
}

static const char *eset_str(const struct eset *s, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int e = 1; e < 128 && used < n; e++)
        if (eset_has(s, e))
            used += (size_t)snprintf(buf + used, n - used, "%s-%s", used ? " or " : "",
                                     errno_name(e) ? errno_name(e) : "?");
    return buf;
}

static bool handle_can_receive(const struct held *h)
{
    return h->kind == IK_ENDPOINT;
}

/* Is the endpoint behind p's handle known to be alive (a send to it cannot get -EPIPE)? */
static bool target_alive(const struct ipc_plan *p)
{
    if (p->hc == SLOT_SERVER)
        return true;
    if (p->hc != SLOT_HELD)
        return false;
    return p->h.kind == IK_ENDPOINT || (p->h.kind == IK_COPY && !p->h_dead) || p->h.kind == IK_SERVER ||
           (p->h.kind == IK_EXCHANGE && C.exchange);
}

static bool target_is_server(const struct ipc_plan *p)
{
    return p->hc == SLOT_SERVER || (p->hc == SLOT_HELD && (p->h.kind == IK_SERVER || p->h.kind == IK_PEER));
}

/*
 * The errors p's arguments make certain (must) and possible (maybe), for
 * call, send, recv and reply_wait. uapi/ipc.h gives no order among them: a
 * call with several wrong must fail with one of them.
 */
static void ipc_expect(long nr, const struct ipc_plan *p, struct eset *must, struct eset *maybe)
{
    const struct ipc_ext *e = &p->e;
    bool rcv = receives(nr);
    if (p->xc == EXT_FAULT || p->xc == EXT_EDGE) {
        eset_add(must, EFAULT);
    } else {
        if (e->reserved)
            eset_add(must, EINVAL);
        if (e->slen > IPC_BUF_MAX)
            eset_add(must, EMSGSIZE);
        if ((e->slen && (!access_ok((uintptr_t)e->sbuf, e->slen) || never_mapped((uintptr_t)e->sbuf))) ||
            (e->rcap && !access_ok((uintptr_t)e->rbuf, e->rcap)))
            eset_add(must, EFAULT);
        if (e->slen && p->sbuf_may_fault)
            eset_add(maybe, EFAULT);
        if (nr == SYS_ipc_recv && (e->slen || e->shandle >= 0))
            eset_add(must, EINVAL);
        if (nr != SYS_ipc_recv && p->sc == SLOT_BAD)
            eset_add(must, EBADF);
        if (nr != SYS_ipc_recv && (p->sc == SLOT_OTHER || p->sc == SLOT_NEGATIVE))
            eset_add(maybe, EBADF);
        if (nr != SYS_ipc_send && e->rcap && p->rbuf_may_fault)
            eset_add(maybe, EFAULT);    /* the copy out of a message that came */
    }
    if (p->hc == SLOT_BAD)
        eset_add(must, EBADF);
    if (p->hc == SLOT_OTHER) {
        eset_add(maybe, EBADF);
        eset_add(maybe, EPERM);
        eset_add(maybe, EPIPE);
    }
    if (rcv && p->hc == SLOT_HELD && !handle_can_receive(&p->h))
        eset_add(must, EPERM);
    if (!rcv && p->hc == SLOT_HELD && p->h_dead)
        eset_add(must, EPIPE);
}

/* A message (or reply) arrived: what uapi/ipc.h says of its registers, the buffer, the handle. */
static void ipc_check_message(struct worker *w, struct call *c, const struct ipc_plan *p, const struct regs6 *x)
{
    int pid = (int)x->rdi, handle = IPC_INFO_HANDLE(x->r9);
    uint32_t len = IPC_INFO_LEN(x->r9);
    bool fields = p->xc == EXT_NONE || p->xc == EXT_ZEROS || p->xc == EXT_OK;

    IPC_EXPECT(pid > 0, "sender pid %d", pid);
    IPC_EXPECT(len <= IPC_BUF_MAX, "a buffer of %u bytes: more than IPC_BUF_MAX", len);
    IPC_EXPECT(handle == -1 || handle == -EMFILE || (handle >= 0 && handle < IPC_HANDLES),
               "received handle %d: not -1, -EMFILE or a handle", handle);
    if (p->fill) {
        const uint8_t *b = p->e.rbuf;
        size_t got = len < p->e.rcap ? len : p->e.rcap;
        for (size_t i = got; i < p->fill; i++)
            if (b[i] != IPC_FILL) {
                IPC_EXPECT(false, "byte %zu of the receive buffer written: the message had %u bytes, rcap %lu", i,
                           len, (unsigned long)p->e.rcap);
                break;
            }
    }

    /* A server's echo: every word, the buffer reversed, the handle passed back (or none, if its table was full). */
    if (c->nr == SYS_ipc_call && target_is_server(p)) {
        IPC_EXPECT(x->rsi == ~p->label && x->rdx == p->w[2] && x->r10 == p->w[1] && x->r8 == p->w[0],
                   "a server's reply is not the echo of the call: label %#lx, words %#lx %#lx %#lx",
                   (unsigned long)x->rsi, (unsigned long)x->rdx, (unsigned long)x->r10, (unsigned long)x->r8);
        if (p->hc == SLOT_SERVER || p->h.kind == IK_SERVER)
            IPC_EXPECT(pid == C.pid, "our server's reply from pid %d", pid);
        if (fields) {
            IPC_EXPECT(len == p->e.slen, "a server's echo of %lu bytes is %u long", (unsigned long)p->e.slen, len);
            if (p->sc == SLOT_NONE || p->sc == SLOT_NEGATIVE)
                IPC_EXPECT(handle == -1, "a server passed back handle %d, and none was sent", handle);
        }
        if (p->pattern && p->fill && len == p->e.slen) {
            const uint8_t *b = p->e.rbuf, *sent = &ipc_pattern[w->index][p->pattern_off];
            size_t got = len < p->e.rcap ? len : p->e.rcap;
            for (size_t i = 0; i < got; i++)
                if (b[i] != sent[len - 1 - i]) {
                    IPC_EXPECT(false, "a server's echo differs at byte %zu of %u", i, len);
                    break;
                }
        }
    }
    if (c->nr == SYS_ipc_call && p->hc == SLOT_HELD && p->h.kind == IK_EXCHANGE && C.exchange)
        IPC_EXPECT(x->rsi == EXCH_PEER, "the exchange's reply has label %#lx", (unsigned long)x->rsi);

    if (handle < 0 || handle >= IPC_HANDLES)
        return;
    enum ipc_kind kind = IK_UNKNOWN;
    uint32_t id = 0;
    if (c->nr == SYS_ipc_call && target_is_server(p) && p->sc == SLOT_HELD) {
        kind = p->sh.kind == IK_ENDPOINT ? IK_COPY : p->sh.kind;    /* what we passed, back */
        id = p->sh.id;
    } else if (c->nr == SYS_ipc_call && target_is_server(p) && p->sc == SLOT_SERVER) {
        kind = IK_SERVER;
    } else if (c->nr == SYS_ipc_call && p->hc == SLOT_HELD && p->h.kind == IK_EXCHANGE && C.exchange) {
        kind = IK_PEER;
    }
    held_add(w, c, handle, kind, id);
}

/* Check an IPC call's result against uapi/ipc.h, and keep the thread's handles as the result says. */
static void ipc_check(struct worker *w, struct call *c, const struct ipc_plan *p, const struct regs6 *x)
{
    long r = c->ret;
    char buf[96];

    switch (c->nr) {
    case SYS_ipc_endpoint:
        if (r >= 0 && r < IPC_HANDLES)
        {
            held_add(w, c, (int)r, IK_ENDPOINT, ++w->endpoints_made);
            if (held_find(w, r) >= 0)
                __atomic_store_n(&C.published[w->index], (int)r, __ATOMIC_RELAXED);
        }
        else
            IPC_EXPECT(r == -EMFILE || r == -ENOMEM, "expected a handle, -EMFILE or -ENOMEM");
        return;
    case SYS_ipc_close:
        if (p->hc == SLOT_HELD) {
            owner_closed(p->h.h, owner_tag(w), r == 0);
            if (r == 0)
                held_forget(w, held_find(w, p->h.h));
            else
                IPC_EXPECT(r == -ENOMEM, "closing a handle it holds: expected 0");
        } else {
            IPC_EXPECT(r == -EBADF || r == -ENOMEM, "not a handle: expected -EBADF");
        }
        return;
    case SYS_ipc_bootstrap:
        if (r == -ENOMEM)
            return;
        if (p->op == IPC_BOOTSTRAP_GET) {
            if (r >= 0 && r < IPC_HANDLES)
                held_add(w, c, (int)r, C.exchange ? IK_EXCHANGE : IK_UNKNOWN, 0);
            else
                IPC_EXPECT(r == -EMFILE || (r == -ENOENT && !C.exchange),
                           "IPC_BOOTSTRAP_GET: expected a handle or -EMFILE%s", C.exchange ? "" : " or -ENOENT");
        } else if (p->op == IPC_BOOTSTRAP_SET) {
            if (p->hc == SLOT_BAD)
                IPC_EXPECT(r == -EBADF, "IPC_BOOTSTRAP_SET of no handle: expected -EBADF");
            else if (p->hc == SLOT_HELD && !handle_can_receive(&p->h))
                IPC_EXPECT(r == -EPERM, "IPC_BOOTSTRAP_SET of a send-only handle: expected -EPERM");
            else if (C.exchange && p->hc != SLOT_OTHER)
                IPC_EXPECT(r == -EBUSY, "IPC_BOOTSTRAP_SET while the exchange is set: expected -EBUSY");
            else if (C.exchange)
                IPC_EXPECT(r == -EBADF || r == -EPERM || r == -EBUSY, "expected -EBADF, -EPERM or -EBUSY");
        } else {
            IPC_EXPECT(r < 0, "an ipc_bootstrap op uapi/ipc.h does not define succeeded");
        }
        return;
    default:
        break;
    }

    if (r == -ENOMEM)
        return;         /* refused before it ran, or no memory for the buffer (docs/DESIGN.md section 12) */
    struct eset must = { { 0 } }, maybe = { { 0 } };
    ipc_expect(c->nr, p, &must, &maybe);
    if (!eset_empty(&must)) {
        IPC_EXPECT(eset_has(&must, -r) || eset_has(&maybe, -r), "expected %s", eset_str(&must, buf, sizeof(buf)));
        return;
    }
    uint64_t timeout = p->xc == EXT_OK ? p->e.timeout_ms : 0;
    if (timeout && c->t0 >= 0 && c->t1 >= 0)
        IPC_EXPECT(c->t1 - c->t0 <= (long)timeout + GRACE_MS, "took %ld ms with a timeout of %lu ms", c->t1 - c->t0,
                   (unsigned long)timeout);
    if (r == -ETIMEDOUT) {
        IPC_EXPECT(timeout, "timed out with no timeout");
        if (timeout && c->t0 >= 0 && c->t1 >= 0)
            IPC_EXPECT(c->t1 - c->t0 + 1 >= (long)timeout, "timed out after %ld ms", c->t1 - c->t0);
        return;
    }
    if (r == -EPIPE) {
        IPC_EXPECT(c->nr == SYS_ipc_call || eset_has(&maybe, EPIPE) || (c->nr == SYS_ipc_send && !target_alive(p)),
                   "-EPIPE from an endpoint that is alive");
        return;
    }
    if (r != 0) {
        IPC_EXPECT(eset_has(&maybe, -r), "expected 0, -ETIMEDOUT%s%s", c->nr == SYS_ipc_send ? "" : ", -EPIPE",
                   eset_empty(&maybe) ? "" : " or the errors the arguments may give");
        return;
    }
    if (c->nr != SYS_ipc_send)
        ipc_check_message(w, c, p, x);
}

static void ipc_fuzz_one(struct worker *w, struct call *c, long now)
{
    struct ipc_plan plan, *p = &plan;
    ipc_shape(w, c, p, now);
    if (c->nr == SYS_ipc_close && p->hc == SLOT_HELD)
        owner_closing(p->h.h);
    if (c->blocks)
        w->blocked_for_good = true;
    if (C.trace) {
        char s[160];
        plan_str(p, s, sizeof(s));
        printf("fuzz[c%d.t%d] %s(%#lx, %#lx, %#lx, %#lx, %#lx, %#lx) [%s]%s\n", C.index, w->index, sys_names[c->nr],
               (unsigned long)c->a[0], (unsigned long)c->a[1], (unsigned long)c->a[2], (unsigned long)c->a[3],
               (unsigned long)c->a[4], (unsigned long)c->a[5], s, c->blocks ? " (may block for good)" : "");
    }
    w->st->row[c->nr].calls++;
    w->cur_nr = c->nr;
    struct regs6 x = { c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5] };
    c->t0 = sys_uptime_ms();
    c->ret = syscall_io(c->nr, &x);
    c->t1 = sys_uptime_ms();
    w->cur_nr = -1;
    w->blocked_for_good = false;
    count(w, c);
    if (c->ret < -4095 || (c->ret < 0 && !errno_name((int)-c->ret)))
        violation(w, c, "neither a result nor an errno uapi/errno.h defines");
    ipc_check(w, c, p, &x);
}

/* ---------------------------------------------------------------- the process's server */

/* Is every fuzzing thread back, or blocked for good on purpose? */
static bool workers_back(void)
{
    for (int i = 0; i < C.nthreads; i++)
        if (!C.workers[i].done && !C.workers[i].blocked_for_good)
            return false;
    return true;
}

/*
 * Answers every call on C.server_h with its echo (label ~label, the words
 * reversed, the buffer reversed, a passed handle passed back) until the
 * fuzzing threads are back. Now and then it takes a call and drops it with a
 * recv instead (its caller must get -EPIPE). Its own results are checked too.
 */
static void server_main(void *arg)
{
    struct worker *w = arg;
    uint8_t in[IPC_BUF_MAX], out[IPC_BUF_MAX];
    struct ipc_msg m = { 0 };
    struct ipc_ext e = { .sbuf = out, .rbuf = in, .rcap = sizeof(in), .shandle = -1 };
    bool drop = false;

    prefault_stack();
    while (!workers_back() || sys_uptime_ms() < C.deadline_ms) {
        if (sys_uptime_ms() > C.deadline_ms + GRACE_MS)
            break;      /* a thread still out is the main thread's to report */
        e.timeout_ms = 5 + below(&w->rng, 16);
        if (drop && e.shandle >= 0) {
            owner_close(e.shandle, OWNER_SERVER);   /* recv sends nothing */
            e.shandle = -1;
        }
        if (drop)
            e.slen = 0;
        long r = drop ? sys_ipc_recv(C.server_h, &m, &e) : sys_ipc_reply_wait(C.server_h, &m, &e);
        w->st->row[drop ? SYS_ipc_recv : SYS_ipc_reply_wait].calls++;
        struct call c = { .nr = drop ? SYS_ipc_recv : SYS_ipc_reply_wait, .a = { (uint64_t)C.server_h }, .ret = r,
                          .stub = -1 };
        count(w, &c);
        if (r == -ENOMEM)
            continue;       /* refused before it ran: the reply goes with the next */
        if (e.shandle >= 0) {
            long cr = owner_close(e.shandle, OWNER_SERVER);     /* passed back with the reply (or dropped) */
            EXPECT(w, &c, cr == 0 || cr == -ENOMEM, "the server could not close handle %d: %ld", e.shandle, cr);
            e.shandle = -1;
        }
        C.srv.calls_dropped += drop;
        drop = false;
        e.slen = 0;
        if (r == -ETIMEDOUT) {
            C.srv.timeouts++;
            continue;
        }
        if (r != 0) {
            violation(w, &c, "the server's receive: expected 0, -ETIMEDOUT or -ENOMEM");
            continue;
        }
        EXPECT(w, &c, m.pid > 0 && m.len <= IPC_BUF_MAX, "a message from pid %d with %u bytes", m.pid, m.len);
        EXPECT(w, &c, m.handle == -1 || m.handle == -EMFILE || (m.handle >= 0 && m.handle < IPC_HANDLES),
               "received handle %d", m.handle);
        C.srv.messages++;
        if (m.handle >= 0 && m.handle < IPC_HANDLES) {
            owner_take(w, &c, m.handle, OWNER_SERVER);
            e.shandle = m.handle;
            C.srv.passed_back++;
        }
        uint32_t n = m.len < IPC_BUF_MAX ? m.len : IPC_BUF_MAX;
        for (uint32_t i = 0; i < n; i++)
            out[i] = in[n - 1 - i];
        e.slen = n;
        m = (struct ipc_msg){ .label = ~m.label, .w = { m.w[2], m.w[1], m.w[0] } };
        drop = one_in(&w->rng, 64);
    }
    if (e.shandle >= 0)
        owner_close(e.shandle, OWNER_SERVER);
    __atomic_store_n(&C.server_done, 1, __ATOMIC_RELEASE);
    sys_futex_wake(&C.server_done, 1);
}

/*
 * Before the threads start: the pattern each sends, the server's endpoint,
 * and its deposit with the parent's exchange (through the bootstrap
 * endpoint), which other processes' threads get it from.
 */
static void ipc_setup(void)
{
    long h, x, r = -1;
    for (int i = 0; i <= C.nthreads; i++)
        for (int j = 0; j < 2 * IPC_BUF_MAX; j++)
            ipc_pattern[i][j] = (uint8_t)splitmix64(((uint64_t)i << 16) + (uint64_t)j);
    C.server_h = -1;
    for (int tries = 0; (h = sys_ipc_endpoint()) == -ENOMEM && tries < 100; tries++)
        sys_sleep_ms(10);
    if (h < 0 || h >= IPC_HANDLES) {
        ktap_diag("fuzz[c%d]: no endpoint for the server: %ld", C.index, h);
        return;
    }
    C.server_h = (int)h;
    C.owner[h] = OWNER_SERVER;
    for (int tries = 0; (x = sys_ipc_bootstrap(IPC_BOOTSTRAP_GET, 0)) == -ENOMEM && tries < 100; tries++)
        sys_sleep_ms(10);
    if (x < 0 || x >= IPC_HANDLES)
        return;         /* -ENOENT: the parent runs no exchange */
    C.exchange = true;
    C.owner[x] = OWNER_MAIN;
    struct ipc_msg m = { .label = EXCH_DEPOSIT };
    struct ipc_ext e = { .shandle = C.server_h, .timeout_ms = 2000 };
    for (int tries = 0; (r = sys_ipc_call((int)x, &m, &e)) == -ENOMEM && tries < 100; tries++)
        sys_sleep_ms(10);
    if (r == 0 && m.handle >= 0 && m.handle < IPC_HANDLES) {
        C.owner[m.handle] = OWNER_MAIN;
        owner_close(m.handle, OWNER_MAIN);     /* some server's endpoint: the threads get their own */
    }
    owner_close((int)x, OWNER_MAIN);
    if (r != 0 && !C.brief)
        ktap_diag("fuzz[c%d]: the exchange did not take the server's endpoint: %ld", C.index, r);
}

/* Is a thread out for good where nothing can bring it back to make more calls (a sleep, a futex, the console)? */
static bool out_for_good(const struct worker *w)
{
    long nr = w->cur_nr;
    return w->blocked_for_good && nr != SYS_thread_join && !is_ipc_nr(nr);
}

/*
 * At the end, with the other threads gone or blocked where no handle can
 * come: the kernel's table must be the one the calls said. Each slot is
 * closed: 0 where a thread held it, -EBADF elsewhere; then a free slot
 * fails every call with -EBADF; then the table fills at exactly
 * IPC_HANDLES endpoints (-EMFILE after), and empties again.
 */
static void ipc_audit(struct worker *w)
{
    int made[IPC_HANDLES + 1], nmade = 0, held = 0;
    long r;
    for (int i = 0; i < C.nthreads; i++)
        if (!C.workers[i].done && !out_for_good(&C.workers[i]))
            return;
    if (C.server_h >= 0 && !__atomic_load_n(&C.server_done, __ATOMIC_ACQUIRE))
        return;
    for (int h = 0; h < IPC_HANDLES; h++) {
        int who = C.owner[h];
        struct call c = { .nr = SYS_ipc_close, .a = { (uint64_t)h }, .stub = -1 };
        for (int tries = 0; (c.ret = sys_ipc_close(h)) == -ENOMEM && tries < 1000; tries++)
            sys_yield();
        if (who != OWNER_FREE)
            EXPECT(w, &c, c.ret == 0 || c.ret == -ENOMEM, "audit: %s holds handle %d, which did not close",
                   owner_name(who), h);
        else
            EXPECT(w, &c, c.ret == -EBADF || c.ret == -ENOMEM, "audit: nobody holds handle %d, which closed",
                   h);
        held += who != OWNER_FREE;
        C.owner[h] = OWNER_FREE;
    }
    static const long ops[] = { SYS_ipc_call, SYS_ipc_send, SYS_ipc_recv, SYS_ipc_reply_wait, SYS_ipc_close };
    struct ipc_ext quick = { .shandle = -1, .timeout_ms = 1 };
    for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        struct call c = { .nr = ops[i], .a = { below(&w->rng, IPC_HANDLES), 0, 0, 0, 0, (uintptr_t)&quick },
                          .stub = -1 };
        c.ret = syscall6(c.nr, (long)c.a[0], 0, 0, 0, 0, (long)c.a[5]);
        EXPECT(w, &c, c.ret == -EBADF || c.ret == -ENOMEM, "audit: a handle nobody holds: expected -EBADF");
    }
    for (;;) {
        for (int tries = 0; (r = sys_ipc_endpoint()) == -ENOMEM && tries < 100; tries++)
            sys_sleep_ms(5);
        if (r < 0 || nmade > IPC_HANDLES)
            break;
        made[nmade++] = (int)r;
    }
    struct call c = { .nr = SYS_ipc_endpoint, .ret = r, .stub = -1 };
    if (r != -ENOMEM)       /* a hog may hold the memory still */
        EXPECT(w, &c, nmade == IPC_HANDLES && r == -EMFILE, "audit: %d endpoints, then %ld: expected %d, then -EMFILE",
               nmade, r, IPC_HANDLES);
    for (int i = 0; i < nmade; i++) {
        c = (struct call){ .nr = SYS_ipc_close, .a = { (uint64_t)made[i] }, .stub = -1 };
        for (int tries = 0; (c.ret = sys_ipc_close(made[i])) == -ENOMEM && tries < 1000; tries++)
            sys_yield();
        EXPECT(w, &c, c.ret == 0 || c.ret == -ENOMEM, "audit: an endpoint just made did not close");
    }
    C.audit = held + 1;
    C.audit_full = r == -EMFILE ? nmade : -1;
}

/* ---------------------------------------------------------------- the worker loop */

static long pick_nr(struct worker *w)
{
    struct rng *r = &w->rng;
    static const long invalid[] = {
        SYSCALL_COUNT, SYSCALL_COUNT + 1, 64, 255, 256, 1000, 0x7fffffff, 0x80000000l, 0xffffffffl,
        -1, -2, -SYSCALL_COUNT, (long)0x8000000000000000ull,
        0x100000000l + SYS_getpid, (long)0xffffffff00000000ull + SYS_kstat,   /* a table number in the low half */
    };
    if (one_in(r, 24))
        return one_in(r, 4) ? (long)rnd(r) : PICK(r, invalid);
    for (;;) {
        long nr = (long)below(r, SYSCALL_COUNT);
        if (nr == SYS_exit || nr == SYS_thread_exit)
            continue;       /* a child's planned end, and the stubs' own call */
        if (is_test_syscall(nr) && (C.testsys || !one_in(r, 4)))
            continue;       /* with testsys=1 they crash things on purpose; without, all ten are one -ENOSYS */
        return nr;
    }
}

static void count(struct worker *w, const struct call *c)
{
    struct row_stats *s = &w->st->row[c->nr >= 0 && c->nr < SYSCALL_COUNT ? c->nr : ROW_INVALID];
    if (c->ret >= 0)
        s->ok++;
    else if (c->ret < -4095)
        s->odd++;
    else
        s->err[-c->ret < NERR ? -c->ret : 0]++;
}

static void after_call(struct worker *w, const struct call *c)
{
    if (c->nr == SYS_thread_create && c->ret > 0) {
        w->stubs[w->nstubs].tid = (int)c->ret;
        w->stubs[w->nstubs].arg = (long)c->a[1];
        w->nstubs++;
    } else if (c->nr == SYS_thread_join && c->stub >= 0 && (c->ret == 0 || c->ret == -ESRCH)) {
        w->stubs[c->stub] = w->stubs[--w->nstubs];      /* joined, or another worker's join took it */
    } else if (c->nr == SYS_spawn && c->nop_argc && c->ret > 0) {
        w->last_nop = (int)c->ret;
        C.nops[c->ret % NOPS].argc = c->nop_argc;
        __atomic_store_n(&C.nops[c->ret % NOPS].pid, (int)c->ret, __ATOMIC_RELEASE);
    } else if (c->nr == SYS_mmap_anon && c->ret >= 0 && c->ret % PAGE == 0 && w->njunk < JUNK) {
        w->junk[w->njunk].addr = (uintptr_t)c->ret;
        w->junk[w->njunk].len = c->a[0];
        w->njunk++;
    }
}

static void fuzz_one(struct worker *w, long now)
{
    struct call c = { .nr = pick_nr(w) };
    if (is_ipc_nr(c.nr)) {
        ipc_fuzz_one(w, &c, now);
        return;
    }
    shape(w, &c, now);
    if (c.blocks)
        w->blocked_for_good = true;     /* before the call: it may never come back */
    if (C.trace)
        printf("fuzz[c%d.t%d] %s(%#lx, %#lx, %#lx, %#lx, %#lx, %#lx)%s\n", C.index, w->index,
               c.nr >= 0 && c.nr < SYSCALL_COUNT ? sys_names[c.nr] : "invalid", (unsigned long)c.a[0],
               (unsigned long)c.a[1], (unsigned long)c.a[2], (unsigned long)c.a[3], (unsigned long)c.a[4],
               (unsigned long)c.a[5], c.blocks ? " (may block for good)" : "");
    w->st->row[c.nr >= 0 && c.nr < SYSCALL_COUNT ? c.nr : ROW_INVALID].calls++;
    w->cur_nr = c.nr;
    bool timed = c.nr == SYS_sleep_ms || c.nr == SYS_futex_wait;
    c.t0 = timed ? sys_uptime_ms() : 0;
    struct regs6 x = { c.a[0], c.a[1], c.a[2], c.a[3], c.a[4], c.a[5] };
    c.ret = syscall_io(c.nr, &x);
    c.t1 = timed ? sys_uptime_ms() : 0;
    w->cur_nr = -1;
    w->blocked_for_good = false;
    count(w, &c);
    check(w, &c);
    if (memcmp(&x, c.a, sizeof(x)))
        violation(w, &c, "the argument registers came back changed: %#lx %#lx %#lx %#lx %#lx %#lx",
                  (unsigned long)x.rdi, (unsigned long)x.rsi, (unsigned long)x.rdx, (unsigned long)x.r10,
                  (unsigned long)x.r8, (unsigned long)x.r9);
    after_call(w, &c);
}

static void worker_main(void *arg)
{
    struct worker *w = arg;
    char scratch[SCRATCH];

    prefault_stack();
    w->scratch = scratch;
    w->tid = (int)sys_gettid();
    C.tids[w->index] = w->tid;
    __atomic_add_fetch(&C.ready, 1, __ATOMIC_RELEASE);
    sys_futex_wake(&C.ready, 1);
    while (!__atomic_load_n(&C.gate, __ATOMIC_ACQUIRE))
        sys_futex_wait(&C.gate, 0, 100);

    long now = sys_uptime_ms();
    w->last_uptime = now;
    while (now < C.deadline_ms) {
        for (int i = 0; i < 8; i++)
            fuzz_one(w, now);
        now = sys_uptime_ms();
    }
    /* Join what it created: the stubs exit at once, so this is quick (an -ENOMEM refusal is retried). */
    for (int i = 0; i < w->nstubs; i++) {
        long v, ret;
        while ((ret = sys_thread_join(w->stubs[i].tid, &v)) == -ENOMEM)
            ;
        if (ret == 0 && v != w->stubs[i].arg) {
            struct call c = { .nr = SYS_thread_join, .a = { (uint64_t)w->stubs[i].tid }, .ret = ret };
            violation(w, &c, "joined value %#lx, the thread exited with %#lx", v, w->stubs[i].arg);
        }
    }
    w->nstubs = 0;
    w->done = true;
    __atomic_add_fetch(&C.done, 1, __ATOMIC_RELEASE);
    sys_futex_wake(&C.done, 1);

    if (C.role == ROLE_WORKER_EXIT && w->no_block) {
        /* This child ends by this thread's exit, with the others blocked or gone. */
        while (!__atomic_load_n(&C.exit_now, __ATOMIC_ACQUIRE))
            sys_futex_wait(&C.exit_now, 0, 100);
        sys_exit((int)(rnd(&w->rng) << 8) | C.final_status);
    }
}

/* ---------------------------------------------------------------- a child process */

/*
 * The hog's main thread: maps and touches memory until the allocator has
 * one page left at most, then holds it to the end (the kernel may end it
 * first: its last touches race with every other allocation). Its own
 * threads fuzz meanwhile, like everybody else's.
 */
static void hog(void)
{
    struct kstat ks;
    unsigned long held = 0;
    while (sys_uptime_ms() < C.deadline_ms) {
        if (sys_kstat(&ks, sizeof(ks)) != sizeof(ks) || ks.free_pages <= 1)
            break;      /* (a refused kstat: memory is out already) */
        unsigned long n = ks.free_pages - 1 < 256 ? ks.free_pages - 1 : 256;
        long a = sys_mmap_anon(n * PAGE, PROT_READ | PROT_WRITE);
        if (a < 0)
            break;
        for (unsigned long i = 0; i < n; i++)
            ((volatile char *)a)[i * PAGE] = 1;     /* may end us: out of memory */
        held += n;
    }
    sys_kstat(&ks, sizeof(ks));
    ktap_diag("fuzz[c%d]: a hog: holds %lu pages, the allocator has %lu free, the stack caches %lu", C.index, held,
              (unsigned long)ks.free_pages, (unsigned long)ks.cache_pages);
}

/* mmap_anon, retried while the kernel refuses for want of memory (a brief spell: the setup must not fail for it). */
static long mmap_retry(size_t len, int prot)
{
    long a;
    for (int tries = 0; (a = sys_mmap_anon(len, prot)) == -ENOMEM && tries < 100; tries++)
        sys_sleep_ms(10);
    return a;
}

/* A PROT_NONE page right after the last mapping (the first fit is sequential while nothing was unmapped). */
static void guard(uintptr_t expected)
{
    long g = mmap_retry(PAGE, 0);
    if (g < 0 || (expected && (uintptr_t)g != expected) || C.nguards >= (int)(sizeof(C.guards) / sizeof(C.guards[0]))) {
        ktap_diag("fuzz[c%d]: arena layout failed: guard at %#lx, expected %#lx", C.index, g, (unsigned long)expected);
        sys_exit(3);
    }
    C.guards[C.nguards++] = (uintptr_t)g;
}

/* An arena of pages with a guard after it. */
static uintptr_t arena(size_t pages, int prot)
{
    long a = mmap_retry(pages * PAGE, prot);
    if (a < 0) {
        ktap_diag("fuzz[c%d]: arena layout failed: mmap_anon %ld", C.index, a);
        sys_exit(3);
    }
    guard((uintptr_t)a + pages * PAGE);
    return (uintptr_t)a;
}

/*
 * The arena block, before any thread stack exists: [guard] rw arenas, the
 * zero arena, the hole, the futex page, the playground, each followed by a
 * guard. munmap never touches the block except the playground and the hole.
 */
static void arenas_make(void)
{
    guard(0);
    for (int i = 0; i < C.nthreads; i++)
        C.rw[i] = arena(RW_PAGES, PROT_READ | PROT_WRITE);
    C.ro = arena(RO_PAGES, PROT_READ);
    C.hole = arena(1, PROT_READ | PROT_WRITE);
    C.futex = arena(1, PROT_READ | PROT_WRITE);
    C.play = arena(PLAY_PAGES, PROT_READ | PROT_WRITE);
    sys_munmap((void *)C.hole, PAGE);
    for (int i = 0; i < C.nthreads; i++)
        touch(C.rw[i], C.rw[i] + RW_PAGES * PAGE);
    touch(C.ro, C.ro + RO_PAGES * PAGE);
    touch(C.futex, C.futex + PAGE);
}

static void print_row(const char *who, const char *name, const struct row_stats *s)
{
    char line[400];
    int n = snprintf(line, sizeof(line), "%s: %-17s %8u calls %8u ok", who, name, s->calls, s->ok);
    for (int e = 1; e < NERR; e++)
        if (s->err[e] && n < (int)sizeof(line))
            n += errno_name(e) ? snprintf(line + n, sizeof(line) - (size_t)n, "  %s %u", errno_name(e), s->err[e])
                               : snprintf(line + n, sizeof(line) - (size_t)n, "  E%d %u", e, s->err[e]);
    if (s->err[0] && n < (int)sizeof(line))
        n += snprintf(line + n, sizeof(line) - (size_t)n, "  errno>=%d %u", NERR, s->err[0]);
    if (s->odd && n < (int)sizeof(line))
        snprintf(line + n, sizeof(line) - (size_t)n, "  odd %u", s->odd);
    ktap_diag("%s", line);
}

/* The child's mix of results, summed over its threads: one line per syscall, then the total. */
static unsigned long report(void)
{
    static struct stats sum;
    char who[32];
    unsigned long calls = 0, ok = 0, errs = 0, in_flight = 0, violations = 0;

    snprintf(who, sizeof(who), "fuzz[c%d]", C.index);
    for (int t = 0; t < C.nthreads + 2; t++)
        violations += worker_stats[t].violations;      /* the server's and the audit's too */
    for (int t = 0; t < C.nthreads; t++) {
        for (int i = 0; i < NROWS; i++) {
            const struct row_stats *s = &worker_stats[t].row[i];
            sum.row[i].calls += s->calls;
            sum.row[i].ok += s->ok;
            sum.row[i].odd += s->odd;
            for (int e = 0; e < NERR; e++)
                sum.row[i].err[e] += s->err[e];
        }
    }
    sum.row[SYS_thread_exit].calls = (uint32_t)__atomic_load_n(&fuzz_stub_runs, __ATOMIC_RELAXED);
    for (int i = 0; i < NROWS; i++) {
        const struct row_stats *s = &sum.row[i];
        unsigned long e = s->odd;
        for (int k = 0; k < NERR; k++)
            e += s->err[k];
        if (i != SYS_thread_exit) {
            calls += s->calls;
            ok += s->ok;
            errs += e;
            in_flight += s->calls - s->ok - e;
        }
        if (s->calls && !C.brief && i == SYS_thread_exit)
            ktap_diag("%s: %-17s %8u calls, by the threads thread_create started (it does not return)", who,
                      sys_names[i], s->calls);
        else if (s->calls && !C.brief)
            print_row(who, sys_names[i], s);
    }
    if (C.brief && !violations)
        return 0;
    const struct stats *srv = &worker_stats[C.nthreads];
    if (C.server_h >= 0)
        ktap_diag("%s: the server: %u receives, %lu messages (%lu handles passed back), %lu timed out, %lu by a recv "
                  "that drops the call it holds; %s exchange", who,
                  srv->row[SYS_ipc_reply_wait].calls + srv->row[SYS_ipc_recv].calls, C.srv.messages, C.srv.passed_back,
                  C.srv.timeouts, C.srv.calls_dropped, C.exchange ? "deposited with the" : "no");
    if (C.audit)
        ktap_diag("%s: audit: the handle table as the calls said (%d handles held at the end), full at %d endpoints",
                  who, C.audit - 1, C.audit_full);
    else
        ktap_diag("%s: audit: not run (a thread was still out where it could take a handle)", who);
    long ms = sys_uptime_ms() - C.start_ms;
    ktap_diag("%s: total %lu calls (%lu/s), %lu ok, %lu errors, %lu still blocked at the end (on purpose: the "
              "process's end must end them), %lu violations", who, calls,
              ms > 0 ? calls * 1000 / (unsigned long)ms : 0, ok, errs, in_flight, violations);
    return violations;
}

static int child_main(int argc, char **argv)
{
    if (argc != 8) {
        printf("fuzz: a child needs 6 arguments, got %d\n", argc - 2);
        return 2;
    }
    C.index = (int)strtol(argv[2], NULL, 0);
    C.seed = strtoul(argv[3], NULL, 0);
    long ms = strtol(argv[4], NULL, 0);
    C.nthreads = (int)strtol(argv[5], NULL, 0);
    C.role = (enum role)strtol(argv[6], NULL, 0);
    long flags = strtol(argv[7], NULL, 0);
    C.trace = flags & 1;
    C.testsys = flags & 2;
    C.brief = flags & 4;
    C.hog = flags & 8;
    if (C.nthreads < 1 || C.nthreads > MAX_THREADS || C.role >= NROLES || ms <= 0)
        return 2;

    prefault_stack();
    memset(arg255, 'a', sizeof(arg255) - 1);
    memset(arg256, 'b', sizeof(arg256) - 1);
    struct kstat ks;
    C.ncpus = sys_kstat(&ks, sizeof(ks)) == sizeof(ks) ? (int)ks.cpus : 1;
    C.pid = (int)sys_getpid();
    C.main_tid = (int)sys_gettid();
    while ((C.start_ms = sys_uptime_ms()) < 0)
        ;       /* refused for want of a stack page while a hog holds the memory: no time yet */
    C.deadline_ms = C.start_ms + ms;
    arenas_make();
    ipc_setup();

    /* The fuzzing threads, then the server's and the main thread's records (index nthreads, nthreads + 1). */
    int held_cap = 26 / C.nthreads;
    for (int i = 0; i < C.nthreads + 2; i++) {
        struct worker *w = &C.workers[i];
        w->index = i;
        w->st = &worker_stats[i];
        w->cur_nr = -1;
        w->no_block = C.role == ROLE_WORKER_EXIT && i == 0;
        w->held_cap = held_cap < 2 ? 2 : held_cap > IPC_HELD_MAX ? IPC_HELD_MAX : held_cap;
        if (i < C.nthreads)
            C.published[i] = -1;
        rng_seed(&w->rng, C.seed ^ splitmix64((uint64_t)i + 1));
    }
    C.workers[C.nthreads + 1].tid = C.main_tid;
    if (C.server_h >= 0) {
        int tid;
        for (int tries = 0; ((tid = thread_spawn(server_main, &C.workers[C.nthreads])) == -ENOMEM || tid == -EAGAIN) &&
                            tries < 100; tries++)
            sys_sleep_ms(10);
        if (tid < 0) {
            ktap_diag("fuzz[c%d]: thread_spawn of the server failed: %d", C.index, tid);
            return 3;
        }
        C.workers[C.nthreads].tid = tid;
    }
    for (int i = 0; i < C.nthreads; i++) {
        struct worker *w = &C.workers[i];
        int tid;
        for (int tries = 0; ((tid = thread_spawn(worker_main, w)) == -ENOMEM || tid == -EAGAIN) && tries < 100; tries++)
            sys_sleep_ms(10);
        if (tid < 0) {
            ktap_diag("fuzz[c%d]: thread_spawn failed: %d", C.index, tid);
            return 3;
        }
    }
    while (__atomic_load_n(&C.ready, __ATOMIC_ACQUIRE) < C.nthreads)
        sys_futex_wait(&C.ready, __atomic_load_n(&C.ready, __ATOMIC_ACQUIRE), 100);
    __atomic_store_n(&C.gate, 1, __ATOMIC_RELEASE);
    sys_futex_wake(&C.gate, 0x7fffffff);

    if (C.hog)
        hog();
    for (long now; (now = sys_uptime_ms()) < C.deadline_ms;)
        sys_sleep_ms(now < 0 ? 10 : (unsigned long)(C.deadline_ms - now));    /* (< 0: refused, no time) */
    /* Every worker back, or blocked for good on purpose; a bounded call still out after the grace is a finding. */
    for (;;) {
        int back = 0;
        for (int i = 0; i < C.nthreads; i++)
            back += C.workers[i].done || C.workers[i].blocked_for_good;
        if (back == C.nthreads || sys_uptime_ms() > C.deadline_ms + GRACE_MS)
            break;
        sys_futex_wait(&C.done, __atomic_load_n(&C.done, __ATOMIC_ACQUIRE), 50);
    }
    for (int i = 0; i < C.nthreads; i++) {
        struct worker *w = &C.workers[i];
        if (!w->done && !w->blocked_for_good) {
            struct call c = { .nr = w->cur_nr, .ret = 0 };
            violation(w, &c, "still in this call %d ms after the deadline, which bounded it", GRACE_MS);
        }
    }
    /* The server ends once they are back; then the handle table is audited, if nothing can change it now. */
    while (C.server_h >= 0 && !__atomic_load_n(&C.server_done, __ATOMIC_ACQUIRE) &&
           sys_uptime_ms() < C.deadline_ms + 2 * GRACE_MS)
        sys_futex_wait(&C.server_done, 0, 50);
    if (C.server_h >= 0 && !__atomic_load_n(&C.server_done, __ATOMIC_ACQUIRE)) {
        struct call c = { .nr = SYS_ipc_reply_wait, .ret = 0 };
        violation(&C.workers[C.nthreads], &c, "the server still out %d ms after the deadline", 2 * GRACE_MS);
    }
    ipc_audit(&C.workers[C.nthreads + 1]);
    if (!C.brief)
        sys_sleep_ms(300 * (unsigned long)C.index);     /* the children's tables one after another, mostly */
    unsigned long violations = report();
    C.final_status = violations ? 1 : 0;

    uint64_t high = rdtsc() << 8;       /* the kernel keeps the low 8 bits only */
    switch (C.role) {
    case ROLE_EXIT:
        sys_exit((int)high | C.final_status);
    case ROLE_KILL_SELF:
        sys_kill(C.pid, (int)high | C.final_status);
        sys_exit(4);    /* not reached: the kill ends us on the way out of the kernel */
    case ROLE_WORKER_EXIT:
        __atomic_store_n(&C.exit_now, 1, __ATOMIC_RELEASE);
        sys_futex_wake(&C.exit_now, 1);
        for (;;)
            sys_futex_wait(&C.never, 0, 0);     /* ended by the worker's exit */
    case ROLE_THREADS_EXIT:
    default:
        if (C.final_status)
            sys_exit(C.final_status);
        sys_thread_exit((long)high);    /* the last thread out ends the process with status 0 */
    }
}

/* ---------------------------------------------------------------- the parent */

struct config {
    long seconds, procs, threads;
    uint64_t seed;
    bool trace;
};

/* A child: the long-lived ones (kids[0..procs-1]) and the brief one of the moment (kids[BRIEF]). */
struct kid {
    int pid, index, status, killed_with;  /* killed_with: the status of the parent's kill that took, or 0 */
    uint64_t seed;
    enum role role;
    long deadline_ms;
    bool reaped, overdue, hog;
};
static long hogs_oom;   /* hogs the kernel ended for want of a page */
#define BRIEF MAX_PROCS
static struct kid kids[MAX_PROCS + 1];
static int watchdog_stop, watchdog_started;
static struct ps_thread ps_buf[256];

static bool parse_number(const char *s, long lo, long hi, long *out)
{
    char *end;
    if (!s || !*s)
        return true;        /* empty: keep the default */
    long v = strtol(s, &end, 0);
    if (*end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* argv: {fuzz}, {fuzz, "s,seed,p,t,trace"} or {fuzz, s, seed, p, t, trace}; empty fields keep the defaults. */
static bool parse_config(int argc, char **argv, struct config *cfg)
{
    static char word[128];
    const char *field[5] = { 0 };
    int n = 0;

    if (argc > 6)
        return false;
    if (argc == 2) {
        if (strlcpy(word, argv[1], sizeof(word)) >= sizeof(word))
            return false;
        for (char *p = word; p;) {
            if (n == 5)
                return false;
            field[n++] = p;
            if ((p = strchr(p, ',')))
                *p++ = '\0';
        }
    } else {
        for (int i = 1; i < argc; i++)
            field[n++] = argv[i];
    }
    long trace = 0;
    if (!parse_number(field[0], 1, 86400, &cfg->seconds) || !parse_number(field[2], 1, MAX_PROCS, &cfg->procs) ||
        !parse_number(field[3], 1, MAX_THREADS, &cfg->threads) || !parse_number(field[4], 0, 1, &trace))
        return false;
    cfg->trace = trace;
    if (field[1] && *field[1]) {
        char *end;
        cfg->seed = strtoul(field[1], &end, 0);
        return !*end;
    }
    cfg->seed = splitmix64(rdtsc() ^ ((uint64_t)sys_uptime_ms() << 32));
    return true;
}

static const char *vector_name(int v)
{
    static const char *const names[] = { "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "9",
                                         "#TS", "#NP", "#SS", "#GP", "#PF" };
    return v >= 0 && v < (int)(sizeof(names) / sizeof(names[0])) ? names[v] : "vector";
}

/* Every thread of pid, from ps: what a hung child was doing. */
static void show_threads(int pid)
{
    static const char *const states[] = { "runnable", "running", "blocked", "dead" };
    long n = sys_ps(ps_buf, sizeof(ps_buf) / sizeof(ps_buf[0]));
    for (long i = 0; i < n; i++)
        if (ps_buf[i].pid == pid)
            ktap_diag("  tid %d %s on cpu %d, %u stack pages", ps_buf[i].tid,
                      ps_buf[i].state < 4 ? states[ps_buf[i].state] : "?", ps_buf[i].cpu, ps_buf[i].resident_pages);
}

/* Kills a child that outlives its deadline by OVERDUE_MS, after showing its threads. */
static void watchdog(void *arg)
{
    (void)arg;
    prefault_stack();
    __atomic_store_n(&watchdog_started, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&watchdog_stop, __ATOMIC_ACQUIRE)) {
        sys_futex_wait(&watchdog_stop, 0, 200);
        long now = sys_uptime_ms();
        for (int i = 0; i <= BRIEF; i++) {
            struct kid *k = &kids[i];
            int pid = __atomic_load_n(&k->pid, __ATOMIC_ACQUIRE);
            if (pid <= 0 || k->reaped || k->overdue || now < k->deadline_ms + OVERDUE_MS)
                continue;
            k->overdue = true;
            ktap_diag("fuzz: child %d (pid %d, seed %#lx) still running %d ms after its deadline: a hang; its threads:",
                      k->index, pid, (unsigned long)k->seed, OVERDUE_MS);
            show_threads(pid);
            ktap_diag("fuzz: killing pid %d: %ld", pid, sys_kill(pid, 99));
        }
    }
}

/*
 * The exchange: a thread of the parent serving the bootstrap endpoint, where
 * the children meet. A child's server deposits its endpoint (EXCH_DEPOSIT);
 * any call gets EXCH_PEER back with one of the kept endpoints passed along,
 * so the threads of one process call the servers of others, brief ones
 * included (which the parent kills mid-call). It keeps EXCH_KEEP, closing the
 * oldest; any other handle sent to it is closed at once. EXCH_FLUSH closes
 * them all (at the end, before the endpoint count is compared).
 */
#define EXCH_KEEP 16

static struct {
    int ep;                         /* the bootstrap endpoint; -1: no exchange */
    int kept[EXCH_KEEP], nkept, oldest;
    int started, stop;
    unsigned long deposits, handed, messages, errors;
    long last_error;
    struct rng rng;
} X = { .ep = -1 };

/* A handle of the exchange's: closed whatever it takes (a hog's refusals end with the hog). */
static void exchange_close(int h)
{
    while (sys_ipc_close(h) == -ENOMEM)
        sys_yield();
}

static void exchange_main(void *arg)
{
    (void)arg;
    uint8_t in[IPC_BUF_MAX];
    struct ipc_msg m = { 0 };
    struct ipc_ext e = { .rbuf = in, .rcap = sizeof(in), .shandle = -1, .timeout_ms = 1 };

    prefault_stack();
    sys_ipc_recv(X.ep, &m, &e);     /* the kernel makes its IPC state and buffer now, before the free-page count */
    __atomic_store_n(&X.started, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&X.stop, __ATOMIC_ACQUIRE)) {
        e.timeout_ms = 50;
        long r = sys_ipc_reply_wait(X.ep, &m, &e);
        if (r == -ENOMEM)
            continue;       /* refused before it ran: the reply goes with the next */
        e.shandle = -1;
        if (r == -ETIMEDOUT)
            continue;
        if (r != 0) {
            X.errors++;
            X.last_error = r;
            continue;
        }
        X.messages++;
        if (m.label == EXCH_DEPOSIT && m.handle >= 0) {
            if (X.nkept == EXCH_KEEP) {
                exchange_close(X.kept[X.oldest]);
                X.kept[X.oldest] = m.handle;
                X.oldest = (X.oldest + 1) % EXCH_KEEP;
            } else {
                X.kept[X.nkept++] = m.handle;
            }
            X.deposits++;
        } else if (m.handle >= 0) {
            exchange_close(m.handle);
        }
        if (m.label == EXCH_FLUSH) {
            for (int i = 0; i < X.nkept; i++)
                exchange_close(X.kept[i]);
            X.nkept = X.oldest = 0;
        } else if (X.nkept) {
            e.shandle = X.kept[below(&X.rng, (uint64_t)X.nkept)];
            X.handed++;
        }
        m = (struct ipc_msg){ .label = EXCH_PEER };
    }
}

/* The exchange's endpoint, set as the bootstrap one, and its thread; the tid, or -1 with no exchange. */
static int exchange_start(uint64_t seed)
{
    long ep, set = -1;
    rng_seed(&X.rng, seed ^ 0xe8c4a9ull);
    while ((ep = sys_ipc_endpoint()) == -ENOMEM)
        sys_sleep_ms(1);
    if (ep >= 0)
        while ((set = sys_ipc_bootstrap(IPC_BOOTSTRAP_SET, (int)ep)) == -ENOMEM)
            sys_sleep_ms(1);
    if (ep < 0 || set != 0) {
        ktap_diag("fuzz: no exchange (ipc_endpoint %ld, IPC_BOOTSTRAP_SET %ld): the children's servers serve their own "
                  "only", ep, set);
        if (ep >= 0)
            exchange_close((int)ep);
        return -1;
    }
    X.ep = (int)ep;
    int tid;
    while ((tid = thread_spawn(exchange_main, NULL)) == -ENOMEM)
        ;
    while (!__atomic_load_n(&X.started, __ATOMIC_ACQUIRE))
        sys_sleep_ms(1);
    return tid;
}

/* The parent's call on its own endpoint: the exchange closes what it keeps. */
static long exchange_flush(void)
{
    struct ipc_msg m = { .label = EXCH_FLUSH };
    struct ipc_ext e = { .shandle = -1, .timeout_ms = 5000 };
    long r;
    while ((r = sys_ipc_call(X.ep, &m, &e)) == -ENOMEM)
        sys_sleep_ms(1);
    return r;
}

static void exchange_stop(int tid)
{
    __atomic_store_n(&X.stop, 1, __ATOMIC_RELEASE);
    thread_join(tid, NULL);
    exchange_close(X.ep);   /* the bootstrap endpoint is gone with it */
}

static long user_threads(void)
{
    struct kstat ks;
    return sys_kstat(&ks, sizeof(ks)) == sizeof(ks) ? (long)ks.user_threads : -1;
}

/* Starts kid k (its fields set but pid) as fuzz child with these; the pid, or a negative errno. */
static long spawn_kid(struct kid *k, long ms, long threads, int flags)
{
    char idx[12], seed[24], msbuf[24], nthreads[8], role[4], fl[4];
    snprintf(idx, sizeof(idx), "%d", k->index);
    snprintf(seed, sizeof(seed), "%#lx", (unsigned long)k->seed);
    snprintf(msbuf, sizeof(msbuf), "%ld", ms);
    snprintf(nthreads, sizeof(nthreads), "%ld", threads);
    snprintf(role, sizeof(role), "%d", k->role);
    snprintf(fl, sizeof(fl), "%d", flags);
    char *argv[] = { PROGRAM, "child", idx, seed, msbuf, nthreads, role, fl, NULL };
    long pid;
    for (int tries = 0; ((pid = sys_spawn(PROGRAM, argv)) == -ENOMEM || pid == -EAGAIN) && tries < 100; tries++)
        sys_sleep_ms(10);
    long now;
    while ((now = sys_uptime_ms()) < 0)
        ;       /* refused for want of a stack page: no time yet */
    k->deadline_ms = now + ms;
    k->reaped = pid < 0;
    k->status = pid < 0 ? (int)pid : 0;
    __atomic_store_n(&k->pid, pid < 0 ? 0 : (int)pid, __ATOMIC_RELEASE);
    return pid;
}

/* Is kid k's status one its plan explains? 0 (clean), the parent's kill that took, a hog's out-of-memory end. */
static bool status_expected(const struct kid *k)
{
    if (k->hog && k->status == EXIT_KILLED_BASE + VEC_PF)
        return true;
    return k->killed_with ? k->status == k->killed_with : k->status == 0;
}

static void describe(const struct kid *k, const char *what)
{
    int s = k->status;
    char why[64];
    if (s >= EXIT_KILLED_BASE && s < EXIT_KILLED_BASE + 32)
        snprintf(why, sizeof(why), "killed by the kernel (%s)", vector_name(s - EXIT_KILLED_BASE));
    else
        snprintf(why, sizeof(why), "%s", s == 0 ? "clean" : s == 1 ? "found violations (above)" : s == 3 ? "could not set up"
                                         : s == k->killed_with ? "killed by the parent, as planned"
                                         : s < 0 ? "not started" : "unexpected");
    ktap_diag("fuzz: %s %d (pid %d, seed %#lx, ends by %s%s%s): status %d: %s", what, k->index, k->pid,
              (unsigned long)k->seed, role_names[k->role], k->hog ? ", a hog" : "",
              k->killed_with ? ", killed by the parent" : "", s, why);
}

struct verdict {
    bool survived, no_kills, sane;
};

static void judge(const struct kid *k, struct verdict *v)
{
    v->survived &= k->reaped && !k->overdue && k->status >= 0;
    v->no_kills &= status_expected(k) || k->status == 1 || k->status == 3;
    v->sane &= k->status != 1 && k->status != 3;
}

/*
 * While the long-lived children fuzz, brief ones come and go: a few hundred
 * ms, 1 to 3 threads, any way of ending, and one in three killed by the
 * parent at a random moment (its status must then be the kill's).
 */
static long run_brief_children(const struct config *cfg, long end_ms, int flags, struct verdict *v, long *killed,
                               long *hogs)
{
    struct rng r;
    struct kid *k = &kids[BRIEF];
    long n = 0;

    rng_seed(&r, cfg->seed ^ 0xb41efull);
    for (long now; (now = sys_uptime_ms()) < end_ms; n++) {
        __atomic_store_n(&k->pid, 0, __ATOMIC_RELEASE);
        *k = (struct kid){ .index = 100 + (int)n, .seed = splitmix64(cfg->seed ^ (0x1000 + (uint64_t)n)),
                           .role = (enum role)below(&r, NROLES), .hog = one_in(&r, 5) };
        long ms = k->hog ? 1000 + (long)below(&r, 1500) : 50 + (long)below(&r, 400);
        if (ms > end_ms - now + 100)
            ms = end_ms - now + 100;
        long pid = spawn_kid(k, ms, 1 + (long)below(&r, 3), flags | 4 | (k->hog ? 8 : 0));
        *hogs += k->hog;
        if (pid < 0) {
            describe(k, "brief child");
            judge(k, v);
            continue;
        }
        if (one_in(&r, 3)) {
            sys_sleep_ms(below(&r, (uint64_t)ms + 100));
            int status = 100 + (int)below(&r, 20);
            if (sys_kill((int)pid, status) == 0) {
                k->killed_with = status;
                (*killed)++;
            }
        }
        int status = -1;
        long ret;
        while ((ret = sys_wait((int)pid, &status)) == -ENOMEM)
            ;
        k->status = ret == pid ? status : (int)ret;
        k->reaped = true;
        hogs_oom += k->hog && k->status == EXIT_KILLED_BASE + VEC_PF;
        if (!status_expected(k))
            describe(k, "brief child");
        judge(k, v);
    }
    return n;
}

static int parent_main(const struct config *cfg)
{
    static const char *const strategies[] = { "fixed", "eager", "fault", "lazy" };
    struct ktap k;
    struct kstat ks;
    bool testsys = sys_test_fault(0x7fff) != -ENOSYS;     /* an unknown kind: -EINVAL when enabled */
    int flags = (cfg->trace ? 1 : 0) | (testsys ? 2 : 0);

    memset(&ks, 0, sizeof(ks));
    sys_kstat(&ks, sizeof(ks));
    printf("fuzz: seed %#lx, %ld s, %ld processes x %ld threads and brief ones%s; replay: make fuzz SECONDS=%ld "
           "SEED=%#lx PROCS=%ld THREADS=%ld KSTACK=%s SMP=%u\n", (unsigned long)cfg->seed, cfg->seconds, cfg->procs,
           cfg->threads, cfg->trace ? ", tracing every call" : "", cfg->seconds, (unsigned long)cfg->seed, cfg->procs,
           cfg->threads, strategies[ks.strategy & 3], ks.cpus);
    printf("fuzz: %s\n", testsys ? "testsys=1: the test_* syscalls are left out (they crash things on purpose)"
                                 : "testsys off: the test_* syscalls are fuzzed too, and must all be -ENOSYS");
    ktap_begin(&k, "fuzz", 5);

    /* The parent's own memory first, so that only the children's is measured. */
    prefault_stack();
    memset(ps_buf, 0, sizeof(ps_buf));
    int wd;
    while ((wd = thread_spawn(watchdog, NULL)) == -ENOMEM)
        ;
    while (!__atomic_load_n(&watchdog_started, __ATOMIC_ACQUIRE))
        sys_sleep_ms(1);
    int exchange = exchange_start(cfg->seed);
    struct kstat ks_ipc;
    memset(&ks_ipc, 0, sizeof(ks_ipc));
    sys_kstat(&ks_ipc, sizeof(ks_ipc));
    long before = utest_stable_free_pages(), threads_before = user_threads();
    ktap_diag("fuzz: free pages before the first child: %ld (free + stack caches + growth reserves)", before);

    long ms = cfg->seconds * 1000, start = sys_uptime_ms();
    for (int i = 0; i < cfg->procs; i++) {
        struct kid *c = &kids[i];
        *c = (struct kid){ .index = i, .seed = splitmix64(cfg->seed + (uint64_t)i + 1), .role = (enum role)(i % NROLES) };
        long pid = spawn_kid(c, ms, cfg->threads, flags);
        if (pid < 0)
            ktap_diag("fuzz: spawning child %d failed: %ld", i, pid);
        else
            ktap_diag("fuzz: child %d: pid %ld, seed %#lx, %ld threads, ends by %s", i, pid, (unsigned long)c->seed,
                      cfg->threads, role_names[c->role]);
    }

    struct verdict v = { true, true, true };
    long killed = 0, hogs = 0, brief = run_brief_children(cfg, start + ms - 500, flags, &v, &killed, &hogs);

    for (;;) {
        int status = -1;
        long pid = sys_wait(-1, &status);
        if (pid == -ENOMEM)
            continue;
        if (pid < 0)
            break;      /* -ECHILD: all reaped */
        for (int i = 0; i < cfg->procs; i++)
            if (kids[i].pid == pid) {
                kids[i].status = status;
                kids[i].reaped = true;
            }
    }

    /* The fuzzers may have left the console raw or with a foreground: put it back. */
    sys_console_ctl(CONSOLE_RAW, 0);
    sys_console_ctl(CONSOLE_FOREGROUND, 0);
    long flush = exchange >= 0 ? exchange_flush() : 0;

    for (int i = 0; i < cfg->procs; i++) {
        describe(&kids[i], "child");
        judge(&kids[i], &v);
    }
    ktap_diag("fuzz: %ld brief children came and went (%ld killed by the parent mid-run, %ld hogs holding the "
              "memory, %ld of them ended for want of a page)%s", brief, killed, hogs, hogs_oom,
              v.no_kills && v.sane ? ", all as planned" : "");
    struct kstat end;
    memset(&end, 0, sizeof(end));
    sys_kstat(&end, sizeof(end));
    ktap_diag("fuzz: kstat over the run: %lu expands, %lu shrinks, %lu growth faults, %lu expansions refused, "
              "%lu switch-in waits, %lu interrupts resent, %lu NMIs", (unsigned long)(end.expands - ks.expands),
              (unsigned long)(end.shrinks - ks.shrinks), (unsigned long)(end.faults - ks.faults),
              (unsigned long)(end.expand_failed - ks.expand_failed), (unsigned long)(end.switch_in_waits - ks.switch_in_waits),
              (unsigned long)(end.irqs_resent - ks.irqs_resent), (unsigned long)(end.nmis - ks.nmis));
    if (end.tlb_check) {
        ktap_diag("fuzz: kstack_tlb_check=1: %lu reads through a stale stack translation",
                  (unsigned long)(end.tlb_stale_reads - ks.tlb_stale_reads));
        v.sane &= end.tlb_stale_reads == ks.tlb_stale_reads;
    }
    ktap_result(&k, v.survived, "survived");
    ktap_result(&k, v.no_kills, "no_unexpected_kills");
    ktap_result(&k, v.sane, "results_sane");

    long after = utest_settle_free_pages(before), threads_after = user_threads();
    ktap_diag("fuzz: free pages %ld before, %ld after (%+ld); user threads %ld before, %ld after", before, after,
              after - before, threads_before, threads_after);
    ktap_result(&k, after == before && threads_after == threads_before, "no_leak");

    /* Endpoints: the exchange's own until it stops, then none more than before it started. */
    struct kstat flushed, stopped;
    memset(&flushed, 0, sizeof(flushed));
    memset(&stopped, 0, sizeof(stopped));
    sys_kstat(&flushed, sizeof(flushed));
    if (exchange >= 0)
        exchange_stop(exchange);
    sys_kstat(&stopped, sizeof(stopped));
    if (exchange >= 0)
        ktap_diag("fuzz: the exchange: %lu messages, %lu servers' endpoints deposited, %lu handed out, %lu failed "
                  "receives (the last %ld); flushed: %ld", X.messages, X.deposits, X.handed, X.errors, X.last_error,
                  flush);
    ktap_diag("fuzz: IPC endpoints alive: %u before the exchange, %u with it before the first child, %u after the last "
              "child (the exchange's kept ones closed), %u once it stopped", ks.ipc_endpoints, ks_ipc.ipc_endpoints,
              flushed.ipc_endpoints, stopped.ipc_endpoints);
    ktap_result(&k, flushed.ipc_endpoints == ks_ipc.ipc_endpoints && stopped.ipc_endpoints == ks.ipc_endpoints &&
                        X.errors == 0 && flush == 0, "no_endpoint_leak");

    __atomic_store_n(&watchdog_stop, 1, __ATOMIC_RELEASE);
    sys_futex_wake(&watchdog_stop, 1);
    thread_join(wd, NULL);
    return ktap_end(&k);
}

int main(int argc, char **argv)
{
    struct config cfg = { .seconds = 60, .procs = 4, .threads = 4 };

    if (argc >= 2 && strcmp(argv[1], "nop") == 0) {
        sys_sleep_ms((unsigned long)argc);  /* a fuzzing thread's own child: a moment to be killed in, */
        return argc;                        /* then a status that says what argv arrived */
    }
    prefault_image();
    if (argc >= 2 && strcmp(argv[1], "child") == 0)
        return child_main(argc, argv);
    if (argc < 1 || !argv[0] || strcmp(argv[0], PROGRAM) != 0) {
        printf("fuzz: argv[0] is not \"%s\": not starting (a spawn that lost its argv?)\n", PROGRAM);
        return 2;
    }
    if (!parse_config(argc, argv, &cfg)) {
        printf("usage: fuzz [seconds[,seed[,procs[,threads[,trace]]]]] (procs <= %d, threads <= %d, trace 0 or 1)\n",
               MAX_PROCS, MAX_THREADS);
        return 2;
    }
    return parent_main(&cfg);
}
