/*
 * fuzz.c: a syscall fuzzer in the manner of trinity. Child processes of
 * itself run threads that make random syscalls, valid and invalid numbers,
 * with arguments drawn from values kernels get wrong (0, -1, limits, kernel
 * and non-canonical addresses, unmapped, read-only and edge-of-mapping
 * pointers, huge lengths), and check each result against what the syscall
 * documents. The parent runs `procs` such children for the whole run and,
 * meanwhile, brief ones one after another (a third of them killed by it at
 * a random moment); it watches for hangs and unexpected kills, and checks at
 * the end that every page came back. Not a test of the results' contents:
 * of survival, documented errors and leaks. Prints KTAP (suite "fuzz");
 * exit 0 only if all passed.
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
 *    must end them;
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
    { EINVAL, "EINVAL" }, { ENOSPC, "ENOSPC" }, { ERANGE, "ERANGE" }, { ENOSYS, "ENOSYS" },   { ETIMEDOUT, "ETIMEDOUT" },
};

static const char *errno_name(int e)
{
    for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
        if (errnos[i].e == e)
            return errnos[i].name;
    return NULL;
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
    struct worker workers[MAX_THREADS];
    struct {
        int pid, argc;      /* written by the spawner once spawn returns: a reaper may see it late */
    } nops[NOPS];
} C;

static char arg255[EXEC_ARG_LEN_MAX], arg256[EXEC_ARG_LEN_MAX + 1];     /* the longest argument, and one byte more */

static struct stats worker_stats[MAX_THREADS];

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
    if (tid == C.main_tid)
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
    char why[160];
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
    c.ret = syscall6(c.nr, (long)c.a[0], (long)c.a[1], (long)c.a[2], (long)c.a[3], (long)c.a[4], (long)c.a[5]);
    c.t1 = timed ? sys_uptime_ms() : 0;
    w->cur_nr = -1;
    w->blocked_for_good = false;
    count(w, &c);
    check(w, &c);
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
    for (int t = 0; t < C.nthreads; t++) {
        violations += worker_stats[t].violations;
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
    C.start_ms = sys_uptime_ms();
    C.deadline_ms = C.start_ms + ms;
    arenas_make();

    for (int i = 0; i < C.nthreads; i++) {
        struct worker *w = &C.workers[i];
        w->index = i;
        w->st = &worker_stats[i];
        w->cur_nr = -1;
        w->no_block = C.role == ROLE_WORKER_EXIT && i == 0;
        rng_seed(&w->rng, C.seed ^ splitmix64((uint64_t)i + 1));
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
        sys_sleep_ms((unsigned long)(C.deadline_ms - now));
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
    k->deadline_ms = sys_uptime_ms() + ms;
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
    ktap_begin(&k, "fuzz", 4);

    /* The parent's own memory first, so that only the children's is measured. */
    prefault_stack();
    memset(ps_buf, 0, sizeof(ps_buf));
    int wd;
    while ((wd = thread_spawn(watchdog, NULL)) == -ENOMEM)
        ;
    while (!__atomic_load_n(&watchdog_started, __ATOMIC_ACQUIRE))
        sys_sleep_ms(1);
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
