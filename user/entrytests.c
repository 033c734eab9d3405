/*
 * entrytests.c: the user/kernel boundary tested from user space, written from
 * scratch after the ideas of Linux's tools/testing/selftests/x86 (sysret_rip,
 * single_step_syscall, syscall_nt, sysret_ss_attrs, test_syscall_vdso).
 * Registers, RFLAGS and odd RIP/RSP values across SYSCALL and interrupts;
 * each test in a process of its own (lib/utest.h). Prints KTAP for suite
 * "entry". With no signals, "the kernel survives and kills the process with
 * EXIT_KILLED_BASE + vector" is the expected outcome of every fault.
 */
#include <stdbool.h>
#include <stdint.h>
#include "lib/string.h"
#include "stdio.h"
#include "syscall.h"
#include "thread.h"
#include "utest.h"

#define PROGRAM "entrytests"
#define PAGE 4096ul
#define USER_TOP 0x0000800000000000ul

#define X86_FLAGS_CF (1ul << 0)
#define X86_FLAGS_TF (1ul << 8)
#define X86_FLAGS_IF (1ul << 9)
#define X86_FLAGS_DF (1ul << 10)
#define X86_FLAGS_IOPL (3ul << 12)
#define X86_FLAGS_NT (1ul << 14)
#define X86_FLAGS_RF (1ul << 16)
#define X86_FLAGS_AC (1ul << 18)
/* The bits a program (not the arithmetic) controls, or must not. */
#define X86_FLAGS_CONTROL (X86_FLAGS_TF | X86_FLAGS_IF | X86_FLAGS_DF | X86_FLAGS_IOPL | X86_FLAGS_NT | X86_FLAGS_AC)

#define STR_(x) #x
#define STR(x) STR_(x)

/* ---------------------------------------------------------------- register probes */

/* General-purpose registers in the order of the instruction encoding. */
enum { RAX, RBX, RCX, RDX, RSI, RDI, RBP, RSP, R8, R9, R10, R11, R12, R13, R14, R15, NREGS };
static const char *const reg_names[NREGS] = {
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

/*
 * One syscall (or one busy loop) with every register set from in[], and
 * every register as it came back in out[]. in[RSP] is not used: rsp stays.
 */
struct probe {
    uint64_t in[NREGS];
    uint64_t out[NREGS];
    uint64_t rsp_before, rsp_after;
    uint64_t ret_addr;          /* the address of the instruction after the syscall */
    uint64_t flags_before, flags_after;
};
#define P_IN 0
#define P_OUT 128
#define P_RSP_BEFORE 256
#define P_RSP_AFTER 264
#define P_RET 272
#define P_FLAGS_BEFORE 280
#define P_FLAGS_AFTER 288
_Static_assert(__builtin_offsetof(struct probe, out) == P_OUT, "probe layout");
_Static_assert(__builtin_offsetof(struct probe, rsp_before) == P_RSP_BEFORE, "probe layout");
_Static_assert(__builtin_offsetof(struct probe, ret_addr) == P_RET, "probe layout");
_Static_assert(__builtin_offsetof(struct probe, flags_after) == P_FLAGS_AFTER, "probe layout");

/* probe_syscall(p): in[RAX] is the syscall number. probe_spin(p): in[RAX] iterations of a loop. */
void probe_syscall(struct probe *p);
void probe_spin(struct probe *p);

/*
 * The probe body, as an assembler macro around ACTION. The probe pointer is
 * pushed, so that after ACTION it can be found at (%rsp) with every other
 * register still holding what came back from the kernel.
 */
#define IN(r) STR(P_IN + 8 * r) "(%rdi)"
#define OUT(r) STR(P_OUT + 8 * r) "(%rdi)"
__asm__(
    ".macro PROBE name, action\n"
    "    .text\n"
    "    .globl \\name\n"
    "    .type \\name, @function\n"
    "\\name:\n"
    "    push %rbx\n"
    "    push %rbp\n"
    "    push %r12\n"
    "    push %r13\n"
    "    push %r14\n"
    "    push %r15\n"
    "    push %rdi\n"
    "    mov %rsp, " STR(P_RSP_BEFORE) "(%rdi)\n"
    "    pushfq\n"
    "    pop %rax\n"
    "    mov %rax, " STR(P_FLAGS_BEFORE) "(%rdi)\n"
    "    lea 1f(%rip), %rax\n"
    "    mov %rax, " STR(P_RET) "(%rdi)\n"
    "    mov " IN(1) ", %rbx\n"
    "    mov " IN(2) ", %rcx\n"
    "    mov " IN(3) ", %rdx\n"
    "    mov " IN(4) ", %rsi\n"
    "    mov " IN(6) ", %rbp\n"
    "    mov " IN(8) ", %r8\n"
    "    mov " IN(9) ", %r9\n"
    "    mov " IN(10) ", %r10\n"
    "    mov " IN(11) ", %r11\n"
    "    mov " IN(12) ", %r12\n"
    "    mov " IN(13) ", %r13\n"
    "    mov " IN(14) ", %r14\n"
    "    mov " IN(15) ", %r15\n"
    "    mov " IN(0) ", %rax\n"
    "    mov " IN(5) ", %rdi\n"
    "    \\action\n"
    "1:  xchg %rdi, (%rsp)\n"
    "    mov %rax, " OUT(0) "\n"
    "    mov %rbx, " OUT(1) "\n"
    "    mov %rcx, " OUT(2) "\n"
    "    mov %rdx, " OUT(3) "\n"
    "    mov %rsi, " OUT(4) "\n"
    "    mov %rbp, " OUT(6) "\n"
    "    mov %rsp, " OUT(7) "\n"
    "    mov %r8, " OUT(8) "\n"
    "    mov %r9, " OUT(9) "\n"
    "    mov %r10, " OUT(10) "\n"
    "    mov %r11, " OUT(11) "\n"
    "    mov %r12, " OUT(12) "\n"
    "    mov %r13, " OUT(13) "\n"
    "    mov %r14, " OUT(14) "\n"
    "    mov %r15, " OUT(15) "\n"
    "    mov %rsp, " STR(P_RSP_AFTER) "(%rdi)\n"
    "    pushfq\n"
    "    pop %rax\n"
    "    mov %rax, " STR(P_FLAGS_AFTER) "(%rdi)\n"
    "    pop %rax\n"
    "    mov %rax, " OUT(5) "\n"
    "    pop %r15\n"
    "    pop %r14\n"
    "    pop %r13\n"
    "    pop %r12\n"
    "    pop %rbp\n"
    "    pop %rbx\n"
    "    ret\n"
    "    .size \\name, . - \\name\n"
    ".endm\n"
    "PROBE probe_syscall, syscall\n"
    "PROBE probe_spin, \"2: dec %rax; jnz 2b\"\n");

/* A pattern per register that no kernel value would match by chance. */
static uint64_t pattern(int reg)
{
    return 0xa5e1000000000000ul + (uint64_t)reg * 0x0000010101010101ul;
}

static const char *probe_name(const struct probe *p)
{
    switch (p->in[RAX]) {
    case SYS_getpid: return "getpid";
    case SYS_yield: return "yield";
    case SYS_sleep_ms: return "sleep_ms";
    default: return "unknown syscall";
    }
}

/* The syscalls the probes make: quick, scheduling, sleeping (and so IRET-returning, maybe), failing. */
static const struct {
    long nr, arg, result;   /* result: -1 for "the pid" */
} probe_calls[] = {
    { SYS_getpid, 0, -1 },
    { SYS_yield, 0, 0 },
    { SYS_sleep_ms, 1, 0 },
    { 1000, 0, -ENOSYS },
};
#define NPROBE_CALLS (sizeof(probe_calls) / sizeof(probe_calls[0]))

static bool rflags_equal(uint64_t a, uint64_t b)
{
    return ((a ^ b) & ~X86_FLAGS_RF) == 0;
}

/* ---------------------------------------------------------------- (d) registers preserved */

static void check_preserved(const struct probe *p, const char *what, bool rcx_r11_too)
{
    for (int r = 0; r < NREGS; r++) {
        if (r == RAX || r == RSP || (!rcx_r11_too && (r == RCX || r == R11)))
            continue;
        if (p->out[r] != p->in[r])
            utest_fail(__FILE__, __LINE__, "%s: %s was %#lx, came back %#lx", what, reg_names[r],
                       (unsigned long)p->in[r], (unsigned long)p->out[r]);
    }
    if (p->rsp_after != p->rsp_before)
        utest_fail(__FILE__, __LINE__, "%s: rsp was %#lx, came back %#lx", what,
                   (unsigned long)p->rsp_before, (unsigned long)p->rsp_after);
}

/* Every register but rax, rcx and r11 survives a syscall, whatever path the kernel took. */
static void test_regs_preserved(void)
{
    for (size_t c = 0; c < NPROBE_CALLS; c++) {
        struct probe p = { 0 };

        for (int r = 0; r < NREGS; r++)
            p.in[r] = pattern(r);
        p.in[RAX] = (uint64_t)probe_calls[c].nr;
        p.in[RDI] = (uint64_t)probe_calls[c].arg;
        probe_syscall(&p);
        check_preserved(&p, probe_name(&p), false);
    }
}

#define SPIN_THREADS 6
#define SPIN_ITERATIONS 20000000ul

static int spin_failures;

static void spin_probe(void *arg)
{
    struct probe p = { 0 };

    (void)arg;
    for (int r = 0; r < NREGS; r++)
        p.in[r] = pattern(r);
    p.in[RAX] = SPIN_ITERATIONS;
    probe_spin(&p);
    check_preserved(&p, "busy loop", true);
    if (p.out[RAX] != 0 || ((p.flags_before ^ p.flags_after) & X86_FLAGS_CONTROL))
        __atomic_add_fetch(&spin_failures, 1, __ATOMIC_RELAXED);
}

/*
 * Busy loops on more threads than CPUs, so timer interrupts and preemption
 * land in the middle of them: every register, rcx and r11 included, survives.
 */
static void test_regs_across_interrupts(void)
{
    int tids[SPIN_THREADS];

    for (int i = 0; i < SPIN_THREADS; i++)
        tids[i] = thread_spawn(spin_probe, NULL);
    spin_probe(NULL);
    for (int i = 0; i < SPIN_THREADS; i++)
        UT_CHECK_EQ(thread_join(tids[i], NULL), 0);
    UT_CHECK_EQ(spin_failures, 0);
}

/* ---------------------------------------------------------------- (e) nothing of the kernel's left behind */

/*
 * All registers zero before the syscall: after it, none may hold a kernel
 * address (or anything at or above USER_TOP), rcx is the return address
 * and r11 the RFLAGS, as SYSCALL left them, on every return path.
 */
static void test_no_kernel_leak(void)
{
    long pid = sys_getpid();

    for (size_t c = 0; c < NPROBE_CALLS; c++) {
        struct probe p = { 0 };
        long want = probe_calls[c].result == -1 ? pid : probe_calls[c].result;

        p.in[RAX] = (uint64_t)probe_calls[c].nr;
        p.in[RDI] = (uint64_t)probe_calls[c].arg;
        probe_syscall(&p);
        if ((long)p.out[RAX] != want)
            utest_fail(__FILE__, __LINE__, "%s returned %ld, expected %ld", probe_name(&p), (long)p.out[RAX], want);
        for (int r = 0; r < NREGS; r++) {
            if (r != RAX && p.out[r] >= USER_TOP)
                utest_fail(__FILE__, __LINE__, "%s: %s = %#lx after the syscall", probe_name(&p), reg_names[r],
                           (unsigned long)p.out[r]);
        }
        if (p.out[RCX] != p.ret_addr)
            utest_fail(__FILE__, __LINE__, "%s: rcx = %#lx, not the return address %#lx", probe_name(&p),
                       (unsigned long)p.out[RCX], (unsigned long)p.ret_addr);
        if (!rflags_equal(p.out[R11], p.flags_before))
            utest_fail(__FILE__, __LINE__, "%s: r11 = %#lx, not the RFLAGS %#lx", probe_name(&p),
                       (unsigned long)p.out[R11], (unsigned long)p.flags_before);
        if ((p.flags_after ^ p.flags_before) & X86_FLAGS_CONTROL)
            utest_fail(__FILE__, __LINE__, "%s: RFLAGS %#lx before, %#lx after", probe_name(&p),
                       (unsigned long)p.flags_before, (unsigned long)p.flags_after);
        if (!(p.flags_after & X86_FLAGS_IF) || (p.flags_after & X86_FLAGS_IOPL))
            utest_fail(__FILE__, __LINE__, "%s: user RFLAGS %#lx: IF must be set, IOPL 0", probe_name(&p),
                       (unsigned long)p.flags_after);
    }
}

/* ---------------------------------------------------------------- (c) NT, AC, DF */

/*
 * long flags_probe(set, iterations, nr, a1, a2): sets the RFLAGS bits in
 * set, then `iterations` times makes syscall nr(a1, a2) and spins a while,
 * checking after each that the bits are still set. Returns 0, or the RFLAGS
 * value that had lost one. The caller's RFLAGS are restored at the end.
 * With AC set, no misaligned access happens in here (the stack is aligned).
 */
long flags_probe(unsigned long set, unsigned long iterations, long nr, long a1, long a2);
__asm__(
    "    .text\n"
    "    .globl flags_probe\n"
    "    .type flags_probe, @function\n"
    "flags_probe:\n"
    "    push %rbx\n"
    "    push %r12\n"
    "    push %r13\n"
    "    push %r14\n"
    "    push %r15\n"
    "    push %rbp\n"
    "    mov %rdi, %r12\n"
    "    mov %rsi, %r13\n"
    "    mov %rdx, %r14\n"
    "    mov %rcx, %r15\n"
    "    mov %r8, %rbp\n"
    "    pushfq\n"
    "    pop %rbx\n"
    "    mov %rbx, %rax\n"
    "    or %r12, %rax\n"
    "    push %rax\n"
    "    popfq\n"
    "1:  mov %r14, %rax\n"
    "    mov %r15, %rdi\n"
    "    mov %rbp, %rsi\n"
    "    syscall\n"
    "    pushfq\n"
    "    pop %rax\n"
    "    mov %rax, %rcx\n"
    "    and %r12, %rcx\n"
    "    cmp %r12, %rcx\n"
    "    jne 3f\n"
    "    mov $20000, %ecx\n"
    "2:  dec %ecx\n"
    "    jnz 2b\n"
    "    pushfq\n"
    "    pop %rax\n"
    "    mov %rax, %rcx\n"
    "    and %r12, %rcx\n"
    "    cmp %r12, %rcx\n"
    "    jne 3f\n"
    "    dec %r13\n"
    "    jnz 1b\n"
    "    xor %eax, %eax\n"
    "3:  push %rbx\n"
    "    popfq\n"
    "    pop %rbp\n"
    "    pop %r15\n"
    "    pop %r14\n"
    "    pop %r13\n"
    "    pop %r12\n"
    "    pop %rbx\n"
    "    ret\n"
    "    .size flags_probe, . - flags_probe\n");

#define FLAGS_ITERATIONS 200

static void check_flags_kept(const char *name, unsigned long flag, long nr, long a1, long a2)
{
    long lost = flags_probe(flag, FLAGS_ITERATIONS, nr, a1, a2);

    if (lost != 0)
        utest_fail(__FILE__, __LINE__, "%s set before a syscall: RFLAGS %#lx after", name, (unsigned long)lost);
}

/*
 * The kernel masks DF, AC and NT on entry (SFMASK) and gives the user's
 * RFLAGS back on return: set before a syscall, the flag is still set after,
 * and the kernel did its work with the flag clear. DF: kstat's copy to user
 * would run backwards if the kernel kept DF, so its result is checked.
 */
static void test_flags_df(void)
{
    struct kstat ks;

    memset(&ks, 0, sizeof(ks));
    check_flags_kept("DF", X86_FLAGS_DF, SYS_kstat, (long)&ks, sizeof(ks));
    UT_CHECK_EQ(ks.version, 1);
    UT_CHECK(ks.cpus >= 1);
}

static void test_flags_ac(void)
{
    check_flags_kept("AC", X86_FLAGS_AC, SYS_getpid, 0, 0);
    check_flags_kept("AC", X86_FLAGS_AC, SYS_yield, 0, 0);
}

/* NT: an IRET with NT set faults in long mode; the kernel must never run with the user's NT. */
static void test_flags_nt(void)
{
    check_flags_kept("NT", X86_FLAGS_NT, SYS_getpid, 0, 0);
    check_flags_kept("NT", X86_FLAGS_NT, SYS_yield, 0, 0);
    check_flags_kept("NT", X86_FLAGS_NT, SYS_sleep_ms, 1, 0);
}

static void test_flags_all(void)
{
    check_flags_kept("NT|AC|DF", X86_FLAGS_NT | X86_FLAGS_AC | X86_FLAGS_DF, SYS_sleep_ms, 1, 0);
}

/*
 * SMAP on every entry: a thread spins in user mode with AC set (popf), so its
 * timer interrupts arrive with AC=1 and it is switched out from inside one.
 * The main thread yields inside test_smap, which checks each time it is
 * switched back in that the kernel runs with AC clear and that a plain kernel
 * read of user memory still faults. Meaningful with SMP=1 (one CPU, shared).
 */
static volatile int ac_spinning, ac_stop;

static void ac_spinner(void *arg)
{
    (void)arg;
    __asm__ volatile("pushfq; orq %0, (%%rsp); popfq" : : "i"(X86_FLAGS_AC) : "memory", "cc");
    ac_spinning = 1;
    while (!ac_stop)
        ;
    __asm__ volatile("pushfq; andq %0, (%%rsp); popfq" : : "i"(~X86_FLAGS_AC) : "memory", "cc");
}

static void test_smap_ac_spinner(void)
{
    static volatile char user_byte = 1;
    int tid = thread_spawn(ac_spinner, NULL);

    UT_CHECK(tid > 0);
    while (tid > 0 && !ac_spinning)
        sys_yield();
    long bad = sys_test_smap((const void *)&user_byte, 100);
    ac_stop = 1;
    if (tid > 0)
        thread_join(tid, NULL);
    UT_CHECK_EQ(bad, 0);
}

/* ---------------------------------------------------------------- (b) TF */

/*
 * SYSCALL with TF set (single_step_syscall): SFMASK clears TF in the
 * kernel, the return restores it, and the single-step trap then arrives in
 * user mode right after the syscall. There are no signals, so the kernel
 * kills the process with EXIT_KILLED_BASE + 1 (#DB) and must itself survive.
 * Surviving the syscall with TF lost is the failure (exit status 1).
 */
static void test_syscall_tf(void)
{
    long ret;

    __asm__ volatile("pushfq\n\t"
                     "orq $" STR(0x100) ", (%%rsp)\n\t"
                     "popfq\n\t"
                     "syscall\n\t"      /* the first instruction stepped */
                     "nop\n\t"
                     "nop\n\t"
                     "pushfq\n\t"
                     "andq $~" STR(0x100) ", (%%rsp)\n\t"
                     "popfq"
                     : "=a"(ret)
                     : "a"((long)SYS_getpid)
                     : "rcx", "r11", "memory", "cc");
    utest_fail(__FILE__, __LINE__, "no #DB after a syscall with TF set (getpid returned %ld)", ret);
}

/* ---------------------------------------------------------------- (a) edge RIP and RSP */

/*
 * sysret_rip: a syscall whose return address is non-canonical must go back
 * through IRET (SYSRET would #GP in ring 0 on Intel). mmap_anon cannot place
 * code at the top of user space, so the same edges are reached with new
 * threads: the kernel either refuses the entry point or enters it and kills
 * the process cleanly when it faults. If the thread runs without faulting,
 * the test fails after a second.
 */
static void start_thread_at(unsigned long entry, unsigned long stack_top)
{
    long stack = 0, tid;

    if (stack_top == 0) {
        stack = sys_mmap_anon(4 * PAGE, PROT_READ | PROT_WRITE);
        UT_CHECK(stack > 0);
        stack_top = (unsigned long)stack + 4 * PAGE;
    }
    tid = sys_thread_create(opaque_ptr(entry), NULL, opaque_ptr(stack_top));
    if (tid < 0)
        return;     /* refused: exit status 0, which the test accepts */
    sys_sleep_ms(1000);
    utest_fail(__FILE__, __LINE__, "thread at rip %#lx, rsp %#lx accepted (tid %ld) and ran without a fault",
               entry, stack_top, tid);
}

static void test_rip_user_top(void)
{
    start_thread_at(USER_TOP - 2, 0);       /* canonical, unmapped: #PF on the fetch */
}

static void test_rip_noncanonical(void)
{
    start_thread_at(USER_TOP, 0);           /* the first non-canonical address */
}

static void test_rip_kernel(void)
{
    start_thread_at(0xffffffff80100000ul, 0);   /* kernel text, not user-accessible */
}

static void parked(void *arg)
{
    (void)arg;
    for (;;)
        sys_sleep_ms(1000);
}

static void test_rsp_noncanonical(void)
{
    start_thread_at((unsigned long)parked, USER_TOP);
}

static void test_rsp_kernel(void)
{
    start_thread_at((unsigned long)parked, 0xffffffff80200000ul);
}

/*
 * SYSCALL does not switch stacks: the kernel must not touch the user's rsp.
 * A syscall with rsp = NULL or a kernel address works and comes back with
 * rsp unchanged.
 */
long syscall_with_rsp(unsigned long rsp, long nr);
__asm__(
    "    .text\n"
    "    .globl syscall_with_rsp\n"
    "    .type syscall_with_rsp, @function\n"
    "syscall_with_rsp:\n"
    "    push %rbx\n"
    "    mov %rsp, %rbx\n"
    "    mov %rsi, %rax\n"
    "    mov %rdi, %rsp\n"
    "    syscall\n"
    "    mov %rbx, %rsp\n"
    "    pop %rbx\n"
    "    ret\n"
    "    .size syscall_with_rsp, . - syscall_with_rsp\n");

static void test_syscall_bad_rsp(void)
{
    long pid = sys_getpid();
    static const unsigned long rsps[] = { 0, 0x10000000000ul, 0xffffffff80100000ul, 0xffff800000000000ul };

    for (size_t i = 0; i < sizeof(rsps) / sizeof(rsps[0]); i++) {
        UT_CHECK_EQ(syscall_with_rsp(rsps[i], SYS_getpid), pid);
        UT_CHECK_EQ(syscall_with_rsp(rsps[i], SYS_yield), 0);
    }
}

/* Non-canonical rsp: returning to it is allowed to fail, but only by killing the process. */
static void test_syscall_noncanonical_rsp(void)
{
    UT_CHECK_EQ(syscall_with_rsp(0x8000000000000000ul, SYS_getpid), sys_getpid());
    UT_CHECK_EQ(syscall_with_rsp(0x8000000000000000ul, SYS_sleep_ms), 0);
}

/* ---------------------------------------------------------------- segments and privilege */

static uint16_t read_cs(void)
{
    uint16_t v;
    __asm__ volatile("mov %%cs, %0" : "=r"(v));
    return v;
}

static uint16_t read_ss(void)
{
    uint16_t v;
    __asm__ volatile("mov %%ss, %0" : "=r"(v));
    return v;
}

static int bad_selectors;

static void selectors_after_sleep(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++) {
        sys_sleep_ms(2);
        uint16_t ss = read_ss(), cs = read_cs();
        if ((ss & 3) != 3 || (cs & 3) != 3)
            __atomic_store_n(&bad_selectors, (int)ss << 16 | cs, __ATOMIC_RELAXED);
        /* sysret_ss_attrs: SS must be a usable selector, not one left stale by SYSRET. */
        __asm__ volatile("mov %%ss, %%eax\n\tmov %%eax, %%ss" : : : "rax");
    }
}

/* After syscalls that sleep (the CPU may have idled in between), CS and SS are user selectors. */
static void test_segment_selectors(void)
{
    int tids[4];

    for (int i = 0; i < 4; i++)
        tids[i] = thread_spawn(selectors_after_sleep, NULL);
    selectors_after_sleep(NULL);
    for (int i = 0; i < 4; i++)
        thread_join(tids[i], NULL);
    if (bad_selectors)
        utest_fail(__FILE__, __LINE__, "ss:cs = %#x after a syscall", bad_selectors);
}

/* Software interrupts to anything but int3: the gates are DPL 0, so #GP. */
static void test_int80(void)
{
    __asm__ volatile("int $0x80" : : "a"((long)SYS_getpid) : "memory");
}

static void test_int_timer_vector(void)
{
    __asm__ volatile("int $0x20");
}

/* A fake #PF through int $14 would give the handler a frame without an error code. */
static void test_int_pf_vector(void)
{
    __asm__ volatile("int $14");
}

static void test_cli(void)
{
    __asm__ volatile("cli");
}

/* Port 0xf4 is QEMU's isa-debug-exit: user space must not be able to end the machine. */
static void test_io_port(void)
{
    __asm__ volatile("outb %%al, $0xf4" : : "a"(0x11));
}

/* ---------------------------------------------------------------- the list */

#define KILLED(v) (EXIT_KILLED_BASE + (v))

static const struct utest tests[] = {
    UTEST(regs_preserved),
    UTEST(regs_across_interrupts),
    UTEST(no_kernel_leak),
    UTEST(flags_df),
    UTEST(flags_ac),
    UTEST(flags_nt),
    UTEST(flags_all),
    UTEST(smap_ac_spinner),
    UTEST_KILLED(syscall_tf, VEC_DB),
    /* 0: the kernel refused the thread; otherwise the fault that entering it must cause. */
    UTEST_EXPECT(rip_user_top, 0, 0, KILLED(VEC_PF)),
    UTEST_EXPECT(rip_noncanonical, 0, 0, KILLED(VEC_GP), KILLED(VEC_PF)),
    UTEST_EXPECT(rip_kernel, 0, 0, KILLED(VEC_PF)),
    UTEST_EXPECT(rsp_noncanonical, 0, 0, KILLED(VEC_SS), KILLED(VEC_GP), KILLED(VEC_PF)),
    UTEST_EXPECT(rsp_kernel, 0, 0, KILLED(VEC_PF)),
    UTEST(syscall_bad_rsp),
    UTEST_EXPECT(syscall_noncanonical_rsp, 0, 0, KILLED(VEC_SS), KILLED(VEC_GP)),
    UTEST(segment_selectors),
    UTEST_KILLED(int80, VEC_GP),
    UTEST_KILLED(int_timer_vector, VEC_GP),
    UTEST_KILLED(int_pf_vector, VEC_GP),
    UTEST_KILLED(cli, VEC_GP),
    UTEST_KILLED(io_port, VEC_GP),
};

int main(int argc, char **argv)
{
    return utest_main("entry", PROGRAM, tests, UTEST_COUNT(tests), argc, argv);
}
