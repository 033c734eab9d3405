/*
 * cpu.h: every privileged instruction the C code uses, as a named static
 * inline. This is the only home of inline asm in the kernel (STYLE.md 5).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSR_EFER            0xc0000080
#define MSR_STAR            0xc0000081
#define MSR_LSTAR           0xc0000082
#define MSR_SFMASK          0xc0000084
#define MSR_FS_BASE         0xc0000100
#define MSR_GS_BASE         0xc0000101
#define MSR_KERNEL_GS_BASE  0xc0000102
#define MSR_APIC_BASE       0x1b
#define MSR_TSC_DEADLINE    0x6e0

#define EFER_SCE            (1u << 0)
#define EFER_LME            (1u << 8)
#define EFER_NXE            (1u << 11)

#define CR0_MP              (1ul << 1)
#define CR0_EM              (1ul << 2)
#define CR0_TS              (1ul << 3)
#define CR0_NE              (1ul << 5)
#define CR0_WP              (1ul << 16)
#define CR0_AM              (1ul << 18)
#define CR0_NW              (1ul << 29)
#define CR0_CD              (1ul << 30)
#define CR4_PGE             (1ul << 7)
#define CR4_OSFXSR          (1ul << 9)
#define CR4_OSXMMEXCPT      (1ul << 10)
#define CR4_OSXSAVE         (1ul << 18)
#define CR4_SMEP            (1ul << 20)
#define CR4_SMAP            (1ul << 21)

#define RFLAGS_TF           (1ul << 8)
#define RFLAGS_IF           (1ul << 9)
#define RFLAGS_DF           (1ul << 10)
#define RFLAGS_NT           (1ul << 14)
#define RFLAGS_RF           (1ul << 16)
#define RFLAGS_AC           (1ul << 18)

static inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

#define DEFINE_CR(n)                                                              \
    static inline uint64_t read_cr##n(void)                                       \
    {                                                                             \
        uint64_t v;                                                               \
        asm volatile("mov %%cr" #n ", %0" : "=r"(v));                             \
        return v;                                                                 \
    }                                                                             \
    static inline void write_cr##n(uint64_t v) { asm volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

static inline void invlpg(uintptr_t va) { asm volatile("invlpg (%0)" : : "r"(va) : "memory"); }
static inline void flush_tlb_local(void) { write_cr3(read_cr3()); }
/* Also drops global (PTE_G) entries, which a CR3 reload keeps: toggling CR4.PGE flushes everything. */
static inline void flush_tlb_global(void)
{
    uint64_t cr4 = read_cr4();
    if (cr4 & CR4_PGE) {
        write_cr4(cr4 & ~CR4_PGE);
        write_cr4(cr4);
    } else {
        flush_tlb_local();
    }
}

/* WRMSR to x2APIC registers is not serializing: fence so earlier stores are visible to an IPI's target. */
static inline void mfence(void) { asm volatile("mfence" ::: "memory"); }
static inline void lfence(void) { asm volatile("lfence" ::: "memory"); }

static inline uint64_t read_rflags(void)
{
    uint64_t f;
    asm volatile("pushfq; popq %0" : "=r"(f));
    return f;
}
/* Sets every flag it may (tests use it for AC, which SMAP reads; IF as given). */
static inline void write_rflags(uint64_t f) { asm volatile("pushq %0; popfq" : : "r"(f) : "memory", "cc"); }
static inline void cli(void) { asm volatile("cli" ::: "memory"); }
static inline void sti(void) { asm volatile("sti" ::: "memory"); }
static inline void hlt(void) { asm volatile("hlt" ::: "memory"); }
static inline void sti_hlt(void) { asm volatile("sti; hlt" ::: "memory"); }
static inline void cpu_relax(void) { asm volatile("pause" ::: "memory"); }
static inline bool irqs_enabled(void) { return read_rflags() & RFLAGS_IF; }

/* Save the interrupt flag and disable; restore only re-enables if it was on. */
static inline uint64_t irq_save(void)
{
    uint64_t f = read_rflags();
    cli();
    return f;
}
static inline void irq_restore(uint64_t flags)
{
    if (flags & RFLAGS_IF)
        sti();
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
/* rdtsc after every earlier instruction has completed (benchmarks). */
static inline uint64_t rdtsc_ordered(void)
{
    lfence();
    return rdtsc();
}

struct __attribute__((packed)) desc_ptr {
    uint16_t limit;
    uint64_t base;
};
static inline void lgdt(const struct desc_ptr *p) { asm volatile("lgdt %0" : : "m"(*p)); }
static inline void lidt(const struct desc_ptr *p) { asm volatile("lidt %0" : : "m"(*p)); }
static inline void ltr(uint16_t sel) { asm volatile("ltr %0" : : "r"(sel)); }

/* Reload CS with a far return and the data segments; used after lgdt. */
static inline void load_segments(uint16_t cs, uint16_t ds)
{
    asm volatile("pushq %q0\n\t"
                 "leaq 1f(%%rip), %%rax\n\t"
                 "pushq %%rax\n\t"
                 "lretq\n"
                 "1:\n\t"
                 "mov %w1, %%ds\n\t"
                 "mov %w1, %%es\n\t"
                 "mov %w1, %%ss\n\t"
                 :
                 : "r"((uint64_t)cs), "r"((uint64_t)ds)
                 : "rax", "memory");
}

/* Zero FS and GS selectors without touching the GS base MSR contents we set after. */
static inline void load_null_fs_gs(void) { asm volatile("mov %0, %%fs; mov %0, %%gs" : : "r"(0) : "memory"); }

static inline uintptr_t read_rbp(void)
{
    uintptr_t v;
    asm volatile("mov %%rbp, %0" : "=r"(v));
    return v;
}
static inline uintptr_t read_rsp(void)
{
    uintptr_t v;
    asm volatile("mov %%rsp, %0" : "=r"(v));
    return v;
}

/* Per-CPU data through the GS base: %gs:0 holds a pointer to the struct itself. */
static inline void *gs_self(void)
{
    void *p;
    asm volatile("movq %%gs:0, %0" : "=r"(p));
    return p;
}

/*
 * Exception-table accessors. An entry (fault address, fixup address) in
 * .ex_table lets the trap handler resume at the fixup instead of oopsing.
 * The fixup code loads the vector the handler left in %rax... see trap.c:
 * the handler stores the vector into regs->rax before jumping to the fixup.
 */
#define EX_ENTRY(from, to) ".pushsection .ex_table, \"a\"\n\t.balign 8\n\t.quad " #from ", " #to "\n\t.popsection\n\t"

/*
 * A stac or clac, recorded in .smap_sites: smap_patch_init() (smap.c) turns
 * it into a 3-byte NOP on a CPU without SMAP, where it would be #UD. Every
 * stac/clac in the kernel goes through this (or smap.inc in NASM).
 */
#define SMAP_SITE(insn) "661: " insn "\n\t.pushsection .smap_sites, \"a\"\n\t.balign 8\n\t.quad 661b\n\t.popsection\n\t"

/* Read one byte; returns -1 on success, else the exception vector. */
static inline int probe_read_u8(const volatile void *p, uint8_t *out)
{
    long ret = -1;
    uint8_t v = 0;
    asm volatile("1: movb (%2), %1\n\t"
                 "2:\n\t" EX_ENTRY(1b, 2b)
                 : "+a"(ret), "+q"(v)
                 : "r"(p)
                 : "memory");
    *out = v;
    return (int)ret;
}

/* Write one byte; returns -1 on success, else the exception vector. */
static inline int probe_write_u8(volatile void *p, uint8_t v)
{
    long ret = -1;
    asm volatile("1: movb %b1, (%2)\n\t"
                 "2:\n\t" EX_ENTRY(1b, 2b)
                 : "+a"(ret)
                 : "q"(v), "r"(p)
                 : "memory");
    return (int)ret;
}

/* Execute ud2 under the exception table: returns the vector (6). */
static inline int probe_ud2(void)
{
    long ret = -1;
    asm volatile("1: ud2\n\t"
                 "2:\n\t" EX_ENTRY(1b, 2b)
                 : "+a"(ret)
                 :
                 : "memory");
    return (int)ret;
}

/* Read 8 bytes; returns -1 on success, else the exception vector. */
static inline int probe_read_u64(const volatile void *p, uint64_t *out)
{
    long ret = -1;
    uint64_t v = 0;
    asm volatile("1: movq (%2), %1\n\t"
                 "2:\n\t" EX_ENTRY(1b, 2b)
                 : "+a"(ret), "+r"(v)
                 : "r"(p)
                 : "memory");
    *out = v;
    return (int)ret;
}

/*
 * User-memory access (mm/uaccess.c is the only caller). SMAP stays closed
 * except between the stac and clac below; a fault inside is resumed at the
 * clac through the exception table, with the vector in %rax. A not-present
 * page inside one of the process's regions is mapped by the #PF handler and
 * the instruction restarts, so a fault here means a bad pointer.
 */

/* rep movsb n bytes; returns the bytes not copied (0: all of them). */
static inline size_t uaccess_copy_asm(void *dst, const void *src, size_t n)
{
    long vector = -1;
    asm volatile(SMAP_SITE("stac")
                 "1: rep movsb\n\t"
                 "2: " SMAP_SITE("clac") EX_ENTRY(1b, 2b)
                 : "+D"(dst), "+S"(src), "+c"(n), "+a"(vector)
                 :
                 : "memory", "cc");
    return n;
}

/*
 * Copy bytes up to and including a NUL, at most n; returns the bytes of n
 * left over (the copy stopped at a NUL iff dst[n - left - 1] == 0), and
 * *faulted = true when a byte could not be read.
 */
static inline size_t uaccess_strncpy_asm(char *dst, const char *src, size_t n, bool *faulted)
{
    long vector = -1;
    asm volatile(SMAP_SITE("stac")
                 "test %%rcx, %%rcx\n\t"
                 "jz 2f\n"
                 "1: movb (%%rsi), %%dl\n\t"
                 "movb %%dl, (%%rdi)\n\t"
                 "inc %%rsi\n\t"
                 "inc %%rdi\n\t"
                 "dec %%rcx\n\t"
                 "test %%dl, %%dl\n\t"
                 "jz 2f\n\t"
                 "test %%rcx, %%rcx\n\t"
                 "jnz 1b\n"
                 "2: " SMAP_SITE("clac") EX_ENTRY(1b, 2b)
                 : "+D"(dst), "+S"(src), "+c"(n), "+a"(vector)
                 :
                 : "rdx", "memory", "cc");
    *faulted = vector != -1;
    return n;
}

/*
 * FPU state (arch/x86_64/fpu.c is the only caller). The kernel is built
 * without SSE and x87: these move user space's registers to and from a save
 * area (64-byte aligned for XSAVE, 16 for FXSAVE), never the kernel's own.
 * The 64 forms keep the full 64-bit FPU instruction and data pointers.
 */
static inline void fxsave(void *area) { asm volatile("fxsave64 (%0)" : : "r"(area) : "memory"); }
static inline void fxrstor(const void *area) { asm volatile("fxrstor64 (%0)" : : "r"(area) : "memory"); }
static inline void xsave(void *area, uint64_t mask)
{
    asm volatile("xsave64 (%0)" : : "r"(area), "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32)) : "memory");
}
static inline void xsaveopt(void *area, uint64_t mask)
{
    asm volatile("xsaveopt64 (%0)" : : "r"(area), "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32)) : "memory");
}
static inline void xrstor(const void *area, uint64_t mask)
{
    asm volatile("xrstor64 (%0)" : : "r"(area), "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32)) : "memory");
}
static inline void xsetbv(uint32_t reg, uint64_t v)
{
    asm volatile("xsetbv" : : "c"(reg), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static inline uint64_t xgetbv(uint32_t reg)
{
    uint32_t lo, hi;
    asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(reg));
    return ((uint64_t)hi << 32) | lo;
}
static inline void fninit(void) { asm volatile("fninit" ::: "memory"); }
static inline void ldmxcsr(uint32_t v) { asm volatile("ldmxcsr %0" : : "m"(v)); }

/* Leave the current stack for good: call fn on a fresh one (stack_top 16-byte aligned). */
__attribute__((noreturn)) static inline void call_on_stack(uintptr_t stack_top, void (*fn)(void))
{
    asm volatile("mov %0, %%rsp\n\t"
                 "xor %%ebp, %%ebp\n\t"
                 "call *%1\n\t"
                 "ud2"
                 :
                 : "r"(stack_top), "r"(fn)
                 : "memory");
    __builtin_unreachable();
}
