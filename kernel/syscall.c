/*
 * syscall.c: the syscall dispatch table, generated from SYSCALL_TABLE in
 * uapi/syscalls.h, syscall_entry(), and the handlers too small for a file of
 * their own. Processes, threads and waiting are proc/process.c; futexes are
 * proc/futex.c; the entry stub is arch/x86_64/syscall.asm.
 */
#include "syscall.h"
#include "arch/x86_64/cpu.h"
#include "entry.h"
#include "mm/uaccess.h"
#include "mm/uvm.h"
#include "percpu.h"
#include "printk.h"
#include "proc/process.h"
#include "sched/restart.h"
#include "sched/sched.h"
#include "stack/kstack.h"
#include "stack/strategy.h"
#include "uapi/errno.h"
#include "uapi/kstat.h"

/* Handler calls with the arguments in the ABI's registers (rdi, rsi, rdx, r10, r8, r9). */
#define SYSCALL_ARGS_0(r)
#define SYSCALL_ARGS_1(r) (r)->rdi
#define SYSCALL_ARGS_2(r) (r)->rdi, (r)->rsi
#define SYSCALL_ARGS_3(r) (r)->rdi, (r)->rsi, (r)->rdx
#define SYSCALL_ARGS_4(r) (r)->rdi, (r)->rsi, (r)->rdx, (r)->r10
#define SYSCALL_ARGS_5(r) (r)->rdi, (r)->rsi, (r)->rdx, (r)->r10, (r)->r8
#define SYSCALL_ARGS_6(r) (r)->rdi, (r)->rsi, (r)->rdx, (r)->r10, (r)->r8, (r)->r9

#define SYSCALL_STUB(num, name, nargs) \
    static long call_##name(struct pt_regs *r) { (void)r; return sys_##name(SYSCALL_ARGS_##nargs(r)); }
SYSCALL_TABLE(SYSCALL_STUB)
#undef SYSCALL_STUB

/* A row named test_* is test-only; the compiler folds this on the name's literal, so no string is read at run time. */
#define SYSCALL_IS_TEST(s) ((s)[0] == 't' && (s)[1] == 'e' && (s)[2] == 's' && (s)[3] == 't' && (s)[4] == '_')

static const struct {
    long (*call)(struct pt_regs *r);
    bool test;              /* needs testsys=1 */
} syscall_table[SYSCALL_COUNT] = {
#define SYSCALL_ROW(num, name, nargs) [num] = { call_##name, SYSCALL_IS_TEST(#name) },
    SYSCALL_TABLE(SYSCALL_ROW)
#undef SYSCALL_ROW
};

bool testsys_enabled;

static long dispatch(struct pt_regs *regs)
{
    uint64_t nr = regs->rax;
    if (nr >= SYSCALL_COUNT || !syscall_table[nr].call)
        return -ENOSYS;
    if (__builtin_expect(syscall_table[nr].test, 0) && !testsys_enabled)
        return -ENOSYS;
    return syscall_table[nr].call(regs);
}

/* SYSRET restores RIP from rcx and RFLAGS from r11 and cannot set RF; only a frame it restores exactly may use it. */
static bool sysret_ok(const struct pt_regs *regs)
{
    return regs->rcx == regs->rip && regs->r11 == regs->rflags && regs->rip < 0x00007ffffffff000ul &&
           regs->cs == SEL_UCODE && regs->ss == SEL_UDATA &&
           !(regs->rflags & (RFLAGS_TF | RFLAGS_RF | RFLAGS_NT));
}

/*
 * The calls that run without the lower stack pages: a process that holds all
 * of memory must still be able to end. Their path fits the top page (the
 * stack budget checks it); every other call needs the expansion.
 */
static bool runs_on_top_page(uint64_t nr)
{
    return nr < SYSCALL_COUNT && (syscall_table[nr].call == call_exit || syscall_table[nr].call == call_thread_exit);
}

int syscall_entry(struct pt_regs *regs)
{
    /* No stack to run it on: the call fails before dispatch, on the top page, and user space may retry. */
    long err = enter_from_user_mode(regs);
    bool ran = err == 0 || runs_on_top_page(regs->rax);
    entry_balance_stack_cache();
    if (ran) {
        sti();
        err = dispatch(regs);
        cli();
    }
    regs->rax = (uint64_t)err;
    restart_syscall_exit(current(), regs, err, ran);    /* -ERESTART_BLOCK: the same call runs again */
    exit_to_user_mode(regs);
    return sysret_ok(regs);
}

/* ---------------------------------------------------------------- small handlers */

long sys_write(uint64_t fd, uint64_t ubuf, uint64_t len)
{
    if (fd != 1 && fd != 2)
        return -EBADF;
    if (!access_ok(ubuf, len))
        return -EFAULT;
    /* A chunk fits printk's line buffer; a full chunk is cut after its last newline, so lines stay whole. */
    char buf[255];
    uint64_t done = 0;
    while (done < len) {
        size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);
        if (copy_from_user(buf, (const char *)ubuf + done, n))
            return done ? (long)done : -EFAULT;
        if (n == sizeof(buf) && done + n < len) {
            size_t cut = n;
            while (cut > 0 && buf[cut - 1] != '\n')
                cut--;
            if (cut)
                n = cut;
        }
        printk("%.*s", (int)n, buf);
        done += n;
    }
    return (long)done;
}

long sys_getpid(void)
{
    return current()->proc->pid;
}

long sys_gettid(void)
{
    return current()->tid;
}

/*
 * With restartable blocking on, a yield is taken from the exit path, after the
 * shrink, as a reschedule: the thread waits on the run queue with its top
 * page only, under every strategy (docs/DESIGN.md section 13.1). Off, it
 * switches inside the syscall, with its stack.
 */
long sys_yield(void)
{
    if (restart_enabled)
        this_cpu()->need_resched = true;
    else
        sched_yield();
    return 0;
}

long sys_getcpu(void)
{
    return cpu_id();
}

long sys_uptime_ms(void)
{
    return (long)(time_ns() / 1000000);
}

long sys_mmap_anon(uint64_t len, uint64_t prot)
{
    return uvm_mmap(current()->proc->vm, len, (int)prot);
}

long sys_munmap(uint64_t addr, uint64_t len)
{
    return uvm_unmap(current()->proc->vm, addr, len);
}

long sys_kstat(uint64_t ubuf, uint64_t size)
{
    struct kstat ks;
    kstack_fill_kstat(&ks);
    size_t n = size < sizeof(ks) ? size : sizeof(ks);
    if (copy_to_user((void *)ubuf, &ks, n))
        return -EFAULT;
    return (long)n;
}

/* ---------------------------------------------------------------- testsys=1 only */

#define TEST_STACK_FRAME 240

/* One frame of a known size; the volatile array keeps it from being merged or shrunk. */
__attribute__((noinline)) static uintptr_t test_stack_recurse(uintptr_t target)
{
    volatile char frame[TEST_STACK_FRAME];
    frame[0] = 0;
    uintptr_t sp = read_rsp();
    uintptr_t deepest = sp <= target ? sp : test_stack_recurse(target);
    return deepest + (uintptr_t)frame[0];   /* read after the call: the frame stays live */
}

long sys_test_stack(uint64_t bytes)
{
    struct thread *t = current();
    if (bytes > THREAD_SIZE)
        return -EINVAL;
    uintptr_t deepest = test_stack_recurse(t->kstack_top - bytes);
    return (long)(t->kstack_top - deepest);
}

/*
 * The tests that need RSP at an exact depth, to the byte: frames of a known
 * size down to within one frame, then alloca for the rest, then the probe.
 * Under kstack=fault a sweep of `bytes` across a page boundary makes the
 * first touch of the unmapped page fall on every instruction of the probe
 * in turn:
 *  - DEPTH_COPY: a copy_from_user whose fault (a bad pointer, or a demand
 *    fault) is moved off the IST stack below RSP, onto a page that may not
 *    be mapped yet;
 *  - DEPTH_SLEEP: a switch to another thread, including switch_to()'s pushes
 *    after `current` names the next thread (kstat's switch_faults);
 *  - DEPTH_SPIN: a spin with IRQs on, where a timer interrupt's frame crosses
 *    the boundary during its delivery (kstat's irqs_resent).
 * Returns the depth reached, or the probe's negative error.
 */
enum depth_probe { DEPTH_COPY, DEPTH_SLEEP, DEPTH_SPIN };

__attribute__((noinline)) static long test_copy_at(const void *src)
{
    char buf[64];
    return copy_from_user(buf, src, sizeof(buf)) ? -EFAULT : 0;
}

__attribute__((noinline)) static long run_at_depth(uintptr_t target, enum depth_probe probe, uint64_t arg)
{
    volatile char frame[TEST_STACK_FRAME];
    frame[0] = 0;
    uintptr_t sp = read_rsp();
    if (sp > target + 2 * TEST_STACK_FRAME)
        return run_at_depth(target, probe, arg) + frame[0];
    volatile char *pad = __builtin_alloca(sp - target);
    pad[0] = 0;
    long err = 0;
    if (probe == DEPTH_COPY) {
        err = test_copy_at((const void *)arg);
    } else if (probe == DEPTH_SPIN) {
        uint64_t end = time_ns() + arg * 1000000ull;
        while (time_ns() < end)
            cpu_relax();
    } else {
        sched_sleep_ms(1);
    }
    return err ? err : (long)(current()->kstack_top - read_rsp()) + pad[0];
}

static bool depth_ok(uint64_t bytes)
{
    return bytes >= 2048 && bytes <= THREAD_SIZE - 2048;
}

long sys_test_stack_copy(uint64_t bytes, uint64_t src)
{
    if (!depth_ok(bytes))
        return -EINVAL;
    long r = run_at_depth(current()->kstack_top - bytes, DEPTH_COPY, src);
    return r < 0 ? r : 0;
}

long sys_test_stack_sleep(uint64_t bytes)
{
    if (!depth_ok(bytes))
        return -EINVAL;
    return run_at_depth(current()->kstack_top - bytes, DEPTH_SLEEP, 0);
}

long sys_test_stack_spin(uint64_t bytes, uint64_t ms)
{
    if (!depth_ok(bytes) || ms == 0 || ms > 1000)
        return -EINVAL;
    return run_at_depth(current()->kstack_top - bytes, DEPTH_SPIN, ms);
}

/* make bench: the strategies' own operations (KSTACK_BENCH_*), n of them, in TSC ticks. */
long sys_test_kstack_bench(uint64_t op, uint64_t n)
{
    bool invlpgs = op & KSTACK_BENCH_INVLPG;
    op &= ~(uint64_t)KSTACK_BENCH_INVLPG;
    if (n == 0 || n > 100000)
        return -EINVAL;
    if (op == KSTACK_BENCH_GROWTH)
        return kstack_fault_bench_growth(n, invlpgs);
    if (op != KSTACK_BENCH_EXPAND && op != KSTACK_BENCH_SHRINK)
        return -EINVAL;
    uint64_t expand, shrink, inv[2];
    int err = kstack_bench_expand_shrink(n, &expand, &shrink, inv);
    if (err)
        return err;
    if (invlpgs)
        return (long)(op == KSTACK_BENCH_EXPAND ? inv[0] : inv[1]);
    return (long)(op == KSTACK_BENCH_EXPAND ? expand : shrink);
}

/*
 * The TLB hazard probe: frames full of canaries derived from (seed, depth,
 * word), a sleep at the deepest point (where the thread may be woken on
 * another CPU), and a check of every frame on the way back. A stale
 * translation of a stack page on some CPU shows up as a bad frame here, or
 * in whichever thread's page was written through it.
 */
#define CANARY_WORDS 28

__attribute__((noinline)) static long canary_recurse(uintptr_t target, uint64_t seed, uint64_t depth, uint64_t sleep_ms)
{
    volatile uint64_t frame[CANARY_WORDS];
    for (int i = 0; i < CANARY_WORDS; i++)
        frame[i] = seed ^ (depth * 0x9e3779b97f4a7c15ull) ^ (uint64_t)i;
    long bad = 0;
    if (read_rsp() <= target) {
        sched_sleep_ms(sleep_ms);               /* blocked deep in the kernel, pages mapped ... */
        sched_move_to((cpu_id() + 1) % ncpus);  /* ... and on to another CPU, as a wakeup might */
    } else
        bad = canary_recurse(target, seed, depth + 1, sleep_ms);
    for (int i = 0; i < CANARY_WORDS; i++)
        if (frame[i] != (seed ^ (depth * 0x9e3779b97f4a7c15ull) ^ (uint64_t)i)) {
            bad++;
            break;
        }
    return bad;
}

long sys_test_stack_canary(uint64_t bytes, uint64_t sleep_ms)
{
    struct thread *t = current();
    if (bytes > THREAD_SIZE - 1024 || sleep_ms > 1000)
        return -EINVAL;
    uint64_t seed = rdtsc() ^ ((uint64_t)t->tid << 40);
    return canary_recurse(t->kstack_top - bytes, seed, 0, sleep_ms);
}

/* Recursion the compiler cannot prove infinite; it ends in the guard page (the #DF report). */
__attribute__((noinline)) static long test_overflow_recurse(volatile long *depth)
{
    volatile char frame[TEST_STACK_FRAME];
    frame[0] = (char)*depth;
    (*depth)++;
    if (*depth < 0)
        return frame[0];
    return test_overflow_recurse(depth) + frame[0];
}

/* Volatile, so the compiler cannot see the NULL and replace the load with a trap. */
static volatile uintptr_t test_null;

long sys_test_fault(uint64_t kind)
{
    switch (kind) {
    case TEST_FAULT_KERNEL_NULL:
        return *(volatile long *)test_null;     /* no exception-table entry: an oops */
    case TEST_FAULT_STACK_OVERFLOW: {
        volatile long depth = 0;
        return test_overflow_recurse(&depth);
    }
    default:
        return -EINVAL;
    }
}
