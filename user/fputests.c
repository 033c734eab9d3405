/*
 * fputests.c: the x86-64 ABI's x87, SSE and AVX state in user space, kept per
 * thread by the kernel (kernel/arch/x86_64/fpu.c): register values survive
 * preemptions and switches to other processes using the same registers, a
 * new process starts clean, and doubles compute and print. KTAP suite "fpu".
 */
#include <stdbool.h>
#include <stdint.h>
#include "lib/string.h"
#include "stdio.h"
#include "syscall.h"
#include "thread.h"
#include "utest.h"

#define PROGRAM "fputests"
#define HOLDERS 3               /* processes (or threads) besides the test's own */
#define ROUNDS 2000             /* per holder: half yields, half spins a timer tick may cut */
#define SPIN 500000             /* about 2 ms under TCG: a time slice at hz=1000 */

#define FCW_INIT 0x37f
#define MXCSR_INIT 0x1f80

static bool cpu_has_avx(void)
{
    unsigned a = 1, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    if (!(c & (1u << 28)) || !(c & (1u << 27)))     /* AVX, and OSXSAVE: the kernel enabled XSAVE */
        return false;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6) == 6;                           /* XCR0: SSE and AVX state */
}

static inline uint64_t rdtsc(void)
{
    unsigned lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* What one round loads and reads back: ymm0-15 (xmm is the low half) and the x87 stack. */
struct regs_image {
    uint64_t ymm[16][4];
    double st[8];
};

#define REG16(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)
#define LOAD_XMM(i) "movdqu " #i "*32(%[in]), %%xmm" #i "\n\t"
#define STORE_XMM(i) "movdqu %%xmm" #i ", " #i "*32(%[out])\n\t"
#define LOAD_YMM(i) "vmovdqu " #i "*32(%[in]), %%ymm" #i "\n\t"
#define STORE_YMM(i) "vmovdqu %%ymm" #i ", " #i "*32(%[out])\n\t"
#define LOAD_ST "fninit\n\t" "fldl 7*8+512(%[in])\n\t" "fldl 6*8+512(%[in])\n\t" "fldl 5*8+512(%[in])\n\t" \
    "fldl 4*8+512(%[in])\n\t" "fldl 3*8+512(%[in])\n\t" "fldl 2*8+512(%[in])\n\t" "fldl 1*8+512(%[in])\n\t"    \
    "fldl 0*8+512(%[in])\n\t"
#define STORE_ST "fstpl 0*8+512(%[out])\n\t" "fstpl 1*8+512(%[out])\n\t" "fstpl 2*8+512(%[out])\n\t"          \
    "fstpl 3*8+512(%[out])\n\t" "fstpl 4*8+512(%[out])\n\t" "fstpl 5*8+512(%[out])\n\t"                        \
    "fstpl 6*8+512(%[out])\n\t" "fstpl 7*8+512(%[out])\n\t"
/* yield = 1: sys_yield (4); else a busy loop of SPIN iterations, where the timer may preempt. */
#define SWITCH "test %[yield], %[yield]\n\t" "jz 2f\n\t" "mov $4, %%eax\n\t" "syscall\n\t" "jmp 3f\n"  \
    "2: mov %[spin], %%ecx\n" "1: dec %%ecx\n\t" "jnz 1b\n" "3:\n\t"
#define CLOBBERS "rax", "rcx", "r11", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",   \
    "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "st", "st(1)", "st(2)",    \
    "st(3)", "st(4)", "st(5)", "st(6)", "st(7)"

_Static_assert(sizeof(struct regs_image) == 512 + 64, "the offsets in the asm above");

/* Load every register from in, switch away (or spin), store every register to out: all in one asm. */
static void round_trip(const struct regs_image *in, struct regs_image *out, bool yield, bool avx)
{
    if (avx)
        __asm__ volatile(REG16(LOAD_YMM) LOAD_ST SWITCH REG16(STORE_YMM) STORE_ST "vzeroupper"
                         : : [in] "r"(in), [out] "r"(out), [yield] "r"((long)yield), [spin] "i"(SPIN)
                         : CLOBBERS);
    else
        __asm__ volatile(REG16(LOAD_XMM) LOAD_ST SWITCH REG16(STORE_XMM) STORE_ST
                         : : [in] "r"(in), [out] "r"(out), [yield] "r"((long)yield), [spin] "i"(SPIN)
                         : CLOBBERS);
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15ull;
    return x ^ (x >> 29);
}

static void pattern(struct regs_image *p, uint64_t seed, bool avx)
{
    memset(p, 0, sizeof(*p));
    for (int r = 0; r < 16; r++)
        for (int w = 0; w < (avx ? 4 : 2); w++)
            p->ymm[r][w] = mix(seed * 64 + (uint64_t)(r * 4 + w));
    for (int i = 0; i < 8; i++)
        p->st[i] = (double)(int64_t)(mix(seed * 8 + (uint64_t)i) >> 12) / 1024.0;    /* exact in a double */
}

/* Rounds in which another holder's values showed up; *preempted: spins that took > 3x the shortest. */
static long hold_registers(uint64_t seed, long *preempted)
{
    bool avx = cpu_has_avx();
    struct regs_image in, out;
    uint64_t fastest = ~0ull;
    long bad = 0;

    *preempted = 0;
    for (long r = 0; r < ROUNDS; r++) {
        bool yield = r % 2;
        pattern(&in, seed * ROUNDS + (uint64_t)r, avx);
        uint64_t t0 = rdtsc();
        round_trip(&in, &out, yield, avx);
        uint64_t dt = rdtsc() - t0;
        if (!yield) {
            if (dt < fastest)
                fastest = dt;
            else if (dt > 3 * fastest)
                (*preempted)++;
        }
        if (memcmp(&in, &out, sizeof(in)) != 0) {
            if (bad++ == 0)
                for (int i = 0; i < 16; i++)
                    if (memcmp(in.ymm[i], out.ymm[i], sizeof(in.ymm[i])) != 0)
                        utest_fail(__FILE__, __LINE__, "round %ld (%s): %s%d was %#lx.., came back %#lx..", r,
                                   yield ? "yield" : "spin", avx ? "ymm" : "xmm", i,
                                   (unsigned long)in.ymm[i][0], (unsigned long)out.ymm[i][0]);
            if (bad == 1 && memcmp(in.st, out.st, sizeof(in.st)) != 0)
                utest_fail(__FILE__, __LINE__, "round %ld (%s): the x87 stack changed (st0 %ld/1024, came back %ld/1024)",
                           r, yield ? "yield" : "spin", (long)(in.st[0] * 1024), (long)(out.st[0] * 1024));
        }
    }
    return bad;
}

static void report(const char *who, long bad, long preempted)
{
    printf("fputests: %s: %d rounds (%d yields), %ld spins cut by another thread, %ld rounds with wrong registers\n",
           who, ROUNDS, ROUNDS / 2, preempted, bad);
    UT_CHECK_EQ(bad, 0);
}

/* A helper process: holds its own values (its pid is the seed) and exits 1 if they changed. */
static void test_holder(void)
{
    long preempted, bad = hold_registers((uint64_t)sys_getpid(), &preempted);
    report("holder", bad, preempted);
}

/*
 * Processes with different values in every xmm/ymm and x87 register, all
 * switching (yields) and being preempted (spins) on the same CPUs.
 */
static void test_processes_keep_registers(void)
{
    char *argv[] = { PROGRAM, "holder", NULL };
    long pids[HOLDERS];

    for (int i = 0; i < HOLDERS; i++) {
        pids[i] = sys_spawn(PROGRAM, argv);
        UT_CHECK(pids[i] > 0);
    }
    long preempted, bad = hold_registers((uint64_t)sys_getpid(), &preempted);
    report("parent", bad, preempted);
    for (int i = 0; i < HOLDERS; i++) {
        int status = -1;
        if (pids[i] > 0) {
            UT_CHECK_EQ(sys_wait((int)pids[i], &status), pids[i]);
            UT_CHECK_EQ(status, 0);
        }
    }
}

static long thread_bad[HOLDERS];

static void holder_thread(void *arg)
{
    long i = (long)arg, preempted;
    thread_bad[i] = hold_registers(1000 + (uint64_t)i, &preempted);
}

/* The same with threads of one process: the state is per thread, not per address space. */
static void test_threads_keep_registers(void)
{
    int tids[HOLDERS];

    for (long i = 0; i < HOLDERS; i++) {
        thread_bad[i] = -1;
        tids[i] = thread_spawn(holder_thread, (void *)i);
        UT_CHECK(tids[i] > 0);
    }
    long preempted, bad = hold_registers(2000, &preempted);
    report("main thread", bad, preempted);
    for (int i = 0; i < HOLDERS; i++) {
        if (tids[i] > 0)
            thread_join(tids[i], NULL);
        UT_CHECK_EQ(thread_bad[i], 0);
    }
}

/* ---------------------------------------------------------------- a new process starts clean */

#define DIRTY_SEED 0xd1d7u
#define DIRTY_MXCSR (MXCSR_INIT | 0x6000u)     /* round toward zero */
#define DIRTY_FCW 0x27fu                        /* 53-bit precision */

/* A helper: leaves a pattern in every register, a full x87 stack and odd control words, and exits. */
static void test_dirty(void)
{
    bool avx = cpu_has_avx();
    struct regs_image in;
    unsigned mxcsr = DIRTY_MXCSR;
    unsigned short fcw = DIRTY_FCW;

    pattern(&in, DIRTY_SEED, avx);
    if (avx)
        __asm__ volatile(REG16(LOAD_YMM) LOAD_ST : : [in] "r"(&in) : CLOBBERS);
    else
        __asm__ volatile(REG16(LOAD_XMM) LOAD_ST : : [in] "r"(&in) : CLOBBERS);
    __asm__ volatile("ldmxcsr %0\n\t" "fldcw %1" : : "m"(mxcsr), "m"(fcw));
    sys_exit(0);        /* straight away: no C code after the loads */
}

struct fxsave_image {
    uint16_t fcw, fsw;
    uint8_t ftw, reserved;
    uint16_t fop;
    uint64_t fip, fdp;
    uint32_t mxcsr, mxcsr_mask;
    uint8_t st[8][16];
    uint8_t xmm[16][16];
    uint8_t rest[96];
} __attribute__((aligned(16)));

/* A helper: the registers it starts with must be the reset values, nothing of test_dirty's. */
static void test_clean(void)
{
    static struct fxsave_image fx;
    static uint8_t upper[16][16];
    bool avx = cpu_has_avx();
    struct regs_image dirty;

    __asm__ volatile("fxsave64 %0" : "=m"(fx));
    if (avx)
#define STORE_UPPER(i) "vextractf128 $1, %%ymm" #i ", " #i "*16(%0)\n\t"
        __asm__ volatile(REG16(STORE_UPPER) : : "r"(upper) : "memory");
    pattern(&dirty, DIRTY_SEED, avx);
    UT_CHECK_EQ(fx.fcw, FCW_INIT);
    UT_CHECK_EQ(fx.fsw, 0);
    UT_CHECK_EQ(fx.ftw, 0);                     /* abridged: every x87 register empty */
    UT_CHECK_EQ(fx.mxcsr, MXCSR_INIT);
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 10; j++)
            if (fx.st[i][j]) {
                utest_fail(__FILE__, __LINE__, "x87 register %d is not 0 (byte %d: %#x)", i, j, fx.st[i][j]);
                break;
            }
    for (int i = 0; i < 16; i++)
        for (int r = 0; r < 16; r++)
            if (memcmp(fx.xmm[i], dirty.ymm[r], 16) == 0)
                utest_fail(__FILE__, __LINE__, "xmm%d holds the previous process's xmm%d", i, r);
    for (int i = 0; avx && i < 16; i++)
        for (int j = 0; j < 16; j++)
            if (upper[i][j]) {
                utest_fail(__FILE__, __LINE__, "ymm%d's upper half is not 0 (byte %d: %#x)", i, j, upper[i][j]);
                break;
            }
}

static void test_new_process_starts_clean(void)
{
    for (int i = 0; i < 5; i++) {
        UT_CHECK_EQ(utest_spawn_wait("dirty"), 0);
        UT_CHECK_EQ(utest_spawn_wait("clean"), 0);
    }
}

/* ---------------------------------------------------------------- ordinary floating point */

static double newton_sqrt(double x)
{
    double r = x > 1 ? x : 1;
    for (int i = 0; i < 100; i++)
        r = 0.5 * (r + x / r);
    return r;
}

static int misaligned;

/* The SysV ABI: rsp + 8 is a multiple of 16 at every function entry, which SSE code relies on. */
__attribute__((noinline)) static void check_stack_alignment(void)
{
    char buf[16] __attribute__((aligned(16)));
    if (opaque((unsigned long)buf) & 15)
        misaligned++;
}

static void alignment_thread(void *arg)
{
    (void)arg;
    check_stack_alignment();
}

static void test_stack_aligned_for_sse(void)
{
    check_stack_alignment();
    int tid = thread_spawn(alignment_thread, NULL);
    UT_CHECK(tid > 0);
    if (tid > 0)
        thread_join(tid, NULL);
    UT_CHECK_EQ(misaligned, 0);
}

static void test_doubles_compute_and_print(void)
{
    char buf[128];
    double sum = 0;
    volatile float third = 1.0f / 3.0f;

    for (int n = 1; n <= 100000; n++)
        sum += 1.0 / ((double)n * n);
    double pi = newton_sqrt(6 * sum);
    snprintf(buf, sizeof(buf), "%.10f %.6f %g %e %.3g", pi, sum, 1e-5, 6.02214076e23, (double)third);
    printf("fputests: pi ~ %.10f (sqrt(6 * sum of 1/n^2), n <= 100000), %s\n", pi, buf);
    UT_CHECK(strcmp(buf, "3.1415831043 1.644924 1e-05 6.022141e+23 0.333") == 0);
    if (strcmp(buf, "3.1415831043 1.644924 1e-05 6.022141e+23 0.333") != 0)
        utest_fail(__FILE__, __LINE__, "got \"%s\"", buf);
}

static const struct utest tests[] = {
    UTEST(processes_keep_registers),
    UTEST(threads_keep_registers),
    UTEST(new_process_starts_clean),
    UTEST(stack_aligned_for_sse),
    UTEST(doubles_compute_and_print),
    UTEST_HELPER_ENTRY(holder),
    UTEST_HELPER_ENTRY(dirty),
    UTEST_HELPER_ENTRY(clean),
};

int main(int argc, char **argv)
{
    return utest_main("fpu", PROGRAM, tests, UTEST_COUNT(tests), argc, argv);
}
