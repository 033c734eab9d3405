/* vmm_test.c: in-kernel tests of page tables and invlpg (suite vmm). */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/idt.h"
#include "ktest.h"
#include "mm/layout.h"
#include "mm/pmm.h"
#include "mm/vmm.h"

extern char _text_start[];

KTEST(vmm, new_mapping_is_writable)
{
    uint64_t pa = pmm_alloc();
    KREQUIRE(t, pa);
    volatile uint64_t *va = (volatile uint64_t *)VMM_TEST_BASE;
    KEXPECT_EQ(t, vmm_map(kernel_pml4, VMM_TEST_BASE, pa, PTE_KERNEL_RW), 0);
    va[0] = 0x1122334455667788ull;
    va[511] = 42;
    KEXPECT_EQ(t, *(uint64_t *)phys_to_virt(pa), 0x1122334455667788ull);
    KEXPECT_EQ(t, ((uint64_t *)phys_to_virt(pa))[511], 42);
    KEXPECT_EQ(t, vmm_translate(kernel_pml4, VMM_TEST_BASE + 8), pa + 8);
    KEXPECT_EQ(t, vmm_map(kernel_pml4, VMM_TEST_BASE, pa, PTE_KERNEL_RW), -17 /* EEXIST */);
    KEXPECT(t, vmm_unmap(kernel_pml4, VMM_TEST_BASE) & PTE_P);
    pmm_free(pa);
}

KTEST(vmm, unmapped_page_faults)
{
    uint8_t v;
    KEXPECT_EQ(t, probe_read_u8((void *)(VMM_TEST_BASE + PAGE_SIZE), &v), VEC_PF);
    KEXPECT_EQ(t, probe_write_u8((void *)(VMM_TEST_BASE + PAGE_SIZE), 1), VEC_PF);
    KEXPECT_EQ(t, probe_read_u8((void *)0, &v), VEC_PF);          /* no identity map left */
    KEXPECT_EQ(t, probe_read_u8((void *)0x100000, &v), VEC_PF);
    KEXPECT_EQ(t, vmm_translate(kernel_pml4, VMM_TEST_BASE + PAGE_SIZE), ~0ull);
}

KTEST(vmm, unmap_invalidates_the_tlb)
{
    uint64_t pa = pmm_alloc();
    KREQUIRE(t, pa);
    volatile uint8_t *va = (volatile uint8_t *)VMM_TEST_BASE;
    vmm_map(kernel_pml4, VMM_TEST_BASE, pa, PTE_KERNEL_RW);
    va[0] = 7;                  /* the translation is now in the TLB */
    vmm_unmap(kernel_pml4, VMM_TEST_BASE);
    uint8_t v;
    KEXPECT_EQ(t, probe_read_u8(va, &v), VEC_PF);
    pmm_free(pa);
}

KTEST(vmm, invlpg_takes_effect)
{
    uint64_t a = pmm_alloc(), b = pmm_alloc();
    KREQUIRE(t, a && b);
    *(volatile uint64_t *)phys_to_virt(a) = 0xaaaa;
    *(volatile uint64_t *)phys_to_virt(b) = 0xbbbb;
    volatile uint64_t *va = (volatile uint64_t *)VMM_TEST_BASE;
    vmm_map(kernel_pml4, VMM_TEST_BASE, a, PTE_KERNEL_RW);
    KEXPECT_EQ(t, *va, 0xaaaa);
    /* Retarget the PTE behind the TLB's back; only invlpg makes the change visible for sure. */
    uint64_t *pte = vmm_pte(kernel_pml4, VMM_TEST_BASE, false);
    KREQUIRE(t, pte);
    *pte = b | PTE_KERNEL_RW;
    invlpg(VMM_TEST_BASE);
    KEXPECT_EQ(t, *va, 0xbbbb);
    vmm_unmap(kernel_pml4, VMM_TEST_BASE);
    pmm_free(a);
    pmm_free(b);
}

KTEST(vmm, kernel_image_and_direct_map_translate)
{
    KEXPECT_EQ(t, vmm_translate(kernel_pml4, (uintptr_t)_text_start), virt_to_phys(_text_start));
    KEXPECT_EQ(t, vmm_translate(kernel_pml4, DIRECT_MAP_BASE + 0x200123), 0x200123);
    uint64_t *pte = vmm_pte(kernel_pml4, (uintptr_t)_text_start, false);
    KREQUIRE(t, pte);
    KEXPECT(t, !(*pte & PTE_W));
    KEXPECT(t, !(*pte & PTE_NX));
    KEXPECT(t, !(*pte & PTE_U));
}
