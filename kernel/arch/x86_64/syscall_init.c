/*
 * syscall_init.c: the SYSCALL MSRs of one CPU. The entry stub is
 * syscall.asm; the dispatch table is kernel/syscall.c.
 */
#include "arch/x86_64/syscall.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"

void entry_syscall_64(void);

void syscall_init_cpu(void)
{
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
    /*
     * STAR[47:32]: SYSCALL loads CS = SEL_KCODE, SS = SEL_KCODE + 8.
     * STAR[63:48]: SYSRET (64-bit) loads CS = base + 16, SS = base + 8, both RPL 3:
     * base SEL_UCODE32 gives SEL_UCODE and SEL_UDATA (the GDT order is chosen for this).
     */
    _Static_assert(SEL_KDATA == SEL_KCODE + 8, "SYSCALL's SS is CS + 8");
    _Static_assert((SEL_UCODE & ~3) == SEL_UCODE32 + 16 && (SEL_UDATA & ~3) == SEL_UCODE32 + 8,
                   "SYSRET's CS and SS are base + 16 and base + 8");
    wrmsr(MSR_STAR, ((uint64_t)(SEL_UCODE32 | 3) << 48) | ((uint64_t)SEL_KCODE << 32));
    wrmsr(MSR_LSTAR, (uint64_t)entry_syscall_64);
    /* The kernel starts with IF off (until syscall_entry's sti), TF, DF, AC (SMAP closed) and NT clear. */
    wrmsr(MSR_SFMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC | RFLAGS_NT);
}
