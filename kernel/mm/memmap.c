/*
 * memmap.c: sets the page allocator up from the boot memory map, keeping out
 * the first MiB (BIOS data, AP trampoline), the kernel image, the boot
 * modules and the multiboot information.
 */
#include "mm/layout.h"
#include "mm/pmm.h"
#include "multiboot.h"
#include "panic.h"
#include "printk.h"

extern char _boot_start[], _kernel_end[];

void pmm_init(void)
{
    struct boot_info *bi = &boot_info;
    uint64_t kernel_start = (uint64_t)_boot_start;
    uint64_t kernel_end = virt_to_phys(_kernel_end);

    /* The bitmap goes right after everything the loader put in memory. */
    uint64_t after = kernel_end;
    for (size_t i = 0; i < bi->nmodules; i++)
        if (bi->modules[i].end > after)
            after = bi->modules[i].end;
    if (bi->mbi_end > after)
        after = bi->mbi_end;
    after = ALIGN_UP(after, PAGE_SIZE);

    size_t npages = bi->ram_top / PAGE_SIZE;
    uint64_t bitmap_bytes = ALIGN_UP((npages + 63) / 64 * 8, PAGE_SIZE);
    bool fits = false;
    for (size_t i = 0; i < bi->nram; i++)
        fits |= bi->ram[i].base <= after && after + bitmap_bytes <= bi->ram[i].base + bi->ram[i].len;
    if (!fits)
        panic("pmm: no room for the page bitmap at %#lx", (unsigned long)after);

    pmm_setup(phys_to_virt(after), npages);
    for (size_t i = 0; i < bi->nram; i++)
        pmm_add_free(bi->ram[i].base, bi->ram[i].len);
    pmm_reserve(0, 0x100000);
    pmm_reserve(kernel_start, kernel_end - kernel_start);
    for (size_t i = 0; i < bi->nmodules; i++)
        pmm_reserve(bi->modules[i].start, bi->modules[i].end - bi->modules[i].start);
    pmm_reserve(bi->mbi_start, bi->mbi_end - bi->mbi_start);
    pmm_reserve(after, bitmap_bytes);

    printk("pmm: %zu MiB usable, %zu pages free, bitmap at %#lx\n",
           pmm_total_pages() * PAGE_SIZE >> 20, pmm_free_pages(), (unsigned long)after);
}
