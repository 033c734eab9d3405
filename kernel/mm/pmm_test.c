/* pmm_test.c: in-kernel tests of the physical page allocator (suite pmm). */
#include "ktest.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/layout.h"
#include "mm/pmm.h"
#include "multiboot.h"

extern char _text_start[], _kernel_end[];

KTEST(pmm, alloc_everything_then_free_everything)
{
    size_t npages = boot_info.ram_top / PAGE_SIZE;
    uint64_t *seen = kzalloc((npages + 63) / 64 * 8);
    KREQUIRE(t, seen);
    size_t free_before = pmm_free_pages();

    /* Chain every page we get through its first word, and mark it seen. */
    uint64_t head = 0, count = 0, dup = 0;
    for (uint64_t pa; (pa = pmm_alloc()) != 0; count++) {
        KEXPECT(t, pa % PAGE_SIZE == 0);
        uint64_t i = pa / PAGE_SIZE;
        if (i >= npages || (seen[i / 64] & (1ull << (i % 64))))
            dup++;
        else
            seen[i / 64] |= 1ull << (i % 64);
        *(uint64_t *)phys_to_virt(pa) = head;
        head = pa;
    }
    KEXPECT_EQ(t, dup, 0);
    KEXPECT_EQ(t, count, free_before);
    KEXPECT_EQ(t, pmm_free_pages(), 0);
    KEXPECT_EQ(t, pmm_alloc_contig(1), 0);

    while (head) {
        uint64_t next = *(uint64_t *)phys_to_virt(head);
        pmm_free(head);
        head = next;
    }
    KEXPECT_EQ(t, pmm_free_pages(), free_before);
    kfree(seen);
}

KTEST(pmm, counters_follow_alloc_and_free)
{
    size_t before = pmm_free_pages();
    uint64_t a = pmm_alloc(), b = pmm_alloc();
    KREQUIRE(t, a && b);
    KEXPECT(t, a != b);
    KEXPECT(t, pmm_is_used(a) && pmm_is_used(b));
    KEXPECT_EQ(t, pmm_free_pages(), before - 2);
    pmm_free(a);
    KEXPECT(t, !pmm_is_used(a));
    KEXPECT_EQ(t, pmm_free_pages(), before - 1);
    pmm_free(b);
    KEXPECT_EQ(t, pmm_free_pages(), before);
    KEXPECT(t, pmm_total_pages() >= before);
}

KTEST(pmm, contiguous_runs)
{
    size_t before = pmm_free_pages();
    uint64_t pa = pmm_alloc_contig(16);
    KREQUIRE(t, pa);
    for (int i = 0; i < 16; i++)
        KEXPECT(t, pmm_is_used(pa + i * PAGE_SIZE));
    KEXPECT_EQ(t, pmm_free_pages(), before - 16);
    pmm_free_contig(pa, 16);
    KEXPECT_EQ(t, pmm_free_pages(), before);
    KEXPECT_EQ(t, pmm_alloc_contig(pmm_total_pages() + 1), 0);
}

KTEST(pmm, kernel_and_boot_data_are_reserved)
{
    KEXPECT(t, pmm_is_used(0));
    for (uintptr_t va = (uintptr_t)_text_start; va < (uintptr_t)_kernel_end; va += PAGE_SIZE)
        KEXPECT(t, pmm_is_used(virt_to_phys((void *)va)));
    for (size_t i = 0; i < boot_info.nmodules; i++)
        KEXPECT(t, pmm_is_used(boot_info.modules[i].start));
    KEXPECT(t, pmm_is_used(boot_info.mbi_start));
}
