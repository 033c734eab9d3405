/*
 * fpu.c: user space's x87/SSE/AVX state. Each thread owns a save area in the
 * kernel heap (not on its dynamic kernel stack: 512 bytes and more); the
 * scheduler's fpu_switch() saves the user thread going out and restores the
 * one coming in. The kernel is built without FPU code and never touches it.
 */
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/cpu.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/layout.h"
#include "mm/vmm.h"
#include "panic.h"
#include "printk.h"
#include "sched/thread.h"
#include "uapi/errno.h"

#define XCR0_X87        (1ull << 0)
#define XCR0_SSE        (1ull << 1)
#define XCR0_AVX        (1ull << 2)

#define FXSAVE_SIZE     512
#define FPU_ALIGN       64          /* XSAVE needs 64; FXSAVE 16 */
#define KMALLOC_ALIGN   16          /* what kmalloc guarantees (kmalloc.c) */

/* The start of the FXSAVE image (also XSAVE's legacy region): what a clean thread needs set. */
struct fxsave_head {
    uint16_t fcw;                   /* fninit: 0x37f, every exception masked, 64-bit precision */
    uint16_t fsw;
    uint8_t ftw;                    /* abridged: 0 = every register empty */
    uint8_t reserved;
    uint16_t fop;
    uint64_t fip, fdp;
    uint32_t mxcsr;                 /* reset: 0x1f80, every SSE exception masked */
    uint32_t mxcsr_mask;
};
_Static_assert(sizeof(struct fxsave_head) == 32, "FXSAVE layout");

#define FPU_FCW_INIT    0x37f
#define FPU_MXCSR_INIT  0x1f80

bool fpu_xsave;
static bool fpu_xsaveopt;
static bool fpu_decided;            /* the BSP's fpu_init_cpu() chose the format */
uint64_t fpu_xcr0;
size_t fpu_area_size = FXSAVE_SIZE;

void fpu_init_cpu(void)
{
    uint32_t a, b, c, d;
    cpuid(1, 0, &a, &b, &c, &d);
    KASSERT((d & (1u << 24)) && (d & (1u << 25)) && (d & (1u << 26)));   /* FXSR, SSE, SSE2: all of x86-64 */
    bool has_xsave = c & (1u << 26), has_avx = c & (1u << 28);

    /*
     * EM off and MP on: x87/SSE run natively and WAIT honours TS; NE: x87
     * errors raise #MF, not the legacy IRQ 13. CD and NW off: an AP leaves
     * the trampoline with the reset CR0, caches disabled.
     */
    uint64_t cr0 = read_cr0();
    cr0 &= ~(CR0_EM | CR0_TS | CR0_CD | CR0_NW);
    cr0 |= CR0_MP | CR0_NE;
    write_cr0(cr0);
    uint64_t cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
    if (has_xsave)
        cr4 |= CR4_OSXSAVE;
    write_cr4(cr4);

    if (!fpu_decided) {
        if (has_xsave) {
            cpuid(0xd, 0, &a, &b, &c, &d);
            uint64_t supported = a | (uint64_t)d << 32;
            KASSERT((supported & (XCR0_X87 | XCR0_SSE)) == (XCR0_X87 | XCR0_SSE));
            fpu_xcr0 = XCR0_X87 | XCR0_SSE | (has_avx && (supported & XCR0_AVX) ? XCR0_AVX : 0);
            xsetbv(0, fpu_xcr0);
            cpuid(0xd, 0, &a, &b, &c, &d);
            fpu_area_size = b;      /* EBX: the area for what XCR0 enables now */
            cpuid(0xd, 1, &a, &b, &c, &d);
            fpu_xsaveopt = a & 1;
            fpu_xsave = true;
        }
        fpu_decided = true;
        printk("fpu: %s, XCR0 %#lx (x87%s%s), %zu-byte save area per thread\n",
               fpu_xsaveopt ? "XSAVEOPT" : fpu_xsave ? "XSAVE" : "FXSAVE", (unsigned long)fpu_xcr0, " SSE",
               fpu_xcr0 & XCR0_AVX ? " AVX" : "", fpu_area_size);
    } else if (fpu_xsave) {
        KASSERT(has_xsave);         /* every CPU saves in the BSP's format */
        xsetbv(0, fpu_xcr0);
    }
    KASSERT(fpu_area_size >= FXSAVE_SIZE);
    fninit();
    ldmxcsr(FPU_MXCSR_INIT);
}

static void *fpu_area(const struct thread *t)
{
    return (void *)ALIGN_UP((uintptr_t)t->fpu, FPU_ALIGN);
}

int fpu_thread_init(struct thread *t)
{
    KASSERT(fpu_decided);
    t->fpu = kmalloc(fpu_area_size + FPU_ALIGN - KMALLOC_ALIGN);
    if (!t->fpu)
        return -ENOMEM;
    KASSERT((uintptr_t)t->fpu % KMALLOC_ALIGN == 0);
    /*
     * The state fninit and a reset leave. In XSAVE's header (offset 512)
     * XSTATE_BV = 0: xrstor puts every component in its initial state, so
     * nothing of a previous owner of this memory can reach the registers.
     */
    struct fxsave_head *h = fpu_area(t);
    memset(h, 0, fpu_area_size);
    h->fcw = FPU_FCW_INIT;
    h->mxcsr = FPU_MXCSR_INIT;
    return 0;
}

void fpu_thread_free(struct thread *t)
{
    kfree(t->fpu);
    t->fpu = NULL;
}

/*
 * Only user threads' state is switched: kernel threads leave the registers
 * alone, so they hold the last user thread's state until the next user
 * thread's restore. Every switch-in restores, which is also what keeps
 * XSAVEOPT's modified-state tracking right (it trusts the last XRSTOR).
 */
void fpu_switch(struct thread *prev, struct thread *next)
{
    /*
     * The entry stubs' clac: a user thread never schedules with SMAP open (a
     * fault inside a uaccess runs its handler with AC clear too). Kernel
     * threads may (sched's switch_keeps_rflags_ac_per_thread does); without
     * SMAP, clac is patched out and AC is moot.
     */
    KASSERT(!cpu_has_smap || !thread_is_user(prev) || !(read_rflags() & RFLAGS_AC));
    if (thread_is_user(prev) && prev->state != THREAD_DEAD) {
        KASSERT(prev->fpu);
        if (fpu_xsaveopt)
            xsaveopt(fpu_area(prev), fpu_xcr0);
        else if (fpu_xsave)
            xsave(fpu_area(prev), fpu_xcr0);
        else
            fxsave(fpu_area(prev));
    }
    if (thread_is_user(next)) {
        KASSERT(next->fpu);
        if (fpu_xsave)
            xrstor(fpu_area(next), fpu_xcr0);
        else
            fxrstor(fpu_area(next));
    }
}
