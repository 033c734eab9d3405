/*
 * vmm.c: page tables. vmm_init() replaces the boot page tables with the
 * kernel's own: a direct map of all RAM (NX) and the kernel image mapped
 * W^X with 4 KiB pages. No identity map survives: page 0 faults.
 */
#include "mm/vmm.h"
#include "arch/x86_64/cpu.h"
#include "uapi/errno.h"
#include "lib/string.h"
#include "mm/layout.h"
#include "mm/pmm.h"
#include "multiboot.h"
#include "panic.h"
#include "printk.h"

uint64_t *kernel_pml4;
bool cpu_has_smep, cpu_has_smap, cpu_has_x2apic, cpu_has_pge;

extern char _text_start[], _text_end[], _rodata_start[], _rodata_end[];
extern char _data_start[], _kernel_end[];

static uintptr_t mmio_next = MMIO_BASE;

static int level_index(uintptr_t va, int level) { return (va >> (12 + 9 * level)) & 511; }

static size_t table_pages;

size_t vmm_table_pages(void)
{
    return table_pages;
}

static uint64_t *alloc_table(void)
{
    uint64_t pa = pmm_alloc();
    if (!pa)
        return NULL;
    __atomic_fetch_add(&table_pages, 1, __ATOMIC_RELAXED);
    uint64_t *t = phys_to_virt(pa);
    memset(t, 0, PAGE_SIZE);
    return t;
}

void vmm_free_table(uint64_t *table)
{
    __atomic_fetch_sub(&table_pages, 1, __ATOMIC_RELAXED);
    pmm_free(virt_to_phys(table));
}

uint64_t *vmm_pte(uint64_t *pml4, uintptr_t va, bool create)
{
    uint64_t *table = pml4;
    for (int level = 3; level > 0; level--) {
        uint64_t *e = &table[level_index(va, level)];
        if (!(*e & PTE_P)) {
            if (!create)
                return NULL;
            uint64_t *t = alloc_table();
            if (!t)
                return NULL;
            /*
             * Permissions are decided at the leaf; upper levels allow everything.
             * Install with a compare-and-swap: two CPUs may build the same missing
             * table at once (threads created across a 32-slot boundary of the
             * kstack area), and the loser must use the winner's table and free its
             * own, or a page mapped through it vanishes and the table leaks.
             */
            uint64_t expected = 0, entry = virt_to_phys(t) | PTE_P | PTE_W | (va < USER_TOP ? PTE_U : 0);
            if (!__atomic_compare_exchange_n(e, &expected, entry, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                vmm_free_table(t);
        }
        if (*e & PTE_PS)
            return NULL;    /* inside a large page: not ours to split */
        table = phys_to_virt(*e & PTE_ADDR);
    }
    return &table[level_index(va, 0)];
}

int vmm_map(uint64_t *pml4, uintptr_t va, uint64_t pa, uint64_t flags)
{
    KASSERT(va % PAGE_SIZE == 0 && pa % PAGE_SIZE == 0);
    uint64_t *pte = vmm_pte(pml4, va, true);
    if (!pte)
        return -ENOMEM;
    if (*pte & PTE_P)
        return -EEXIST;
    *pte = pa | flags | PTE_P;
    return 0;
}

uint64_t vmm_unmap(uint64_t *pml4, uintptr_t va)
{
    uint64_t *pte = vmm_pte(pml4, va, false);
    if (!pte || !(*pte & PTE_P))
        return 0;
    uint64_t old = *pte;
    *pte = 0;
    invlpg(va);
    return old;
}

uint64_t vmm_translate(uint64_t *pml4, uintptr_t va)
{
    uint64_t *table = pml4;
    for (int level = 3; level >= 0; level--) {
        uint64_t e = table[level_index(va, level)];
        if (!(e & PTE_P))
            return ~0ull;
        if (level == 0 || (e & PTE_PS)) {
            uint64_t page = level == 0 ? PAGE_SIZE : 1ull << (12 + 9 * level);
            return (e & PTE_ADDR & ~(page - 1)) | (va & (page - 1));
        }
        table = phys_to_virt(e & PTE_ADDR);
    }
    return ~0ull;
}

void *vmm_map_mmio(uint64_t pa, uint64_t len)
{
    uint64_t off = pa & (PAGE_SIZE - 1);
    uintptr_t va = mmio_next;
    for (uint64_t p = 0; p < off + len; p += PAGE_SIZE)
        if (vmm_map(kernel_pml4, va + p, ALIGN_DOWN(pa, PAGE_SIZE) + p, PTE_W | PTE_PCD | PTE_PWT | PTE_NX | PTE_G))
            panic("vmm: cannot map MMIO %#lx", (unsigned long)pa);
    mmio_next += ALIGN_UP(off + len, PAGE_SIZE) + PAGE_SIZE; /* a guard page between devices */
    return (void *)(va + off);
}

/* Direct map with 2 MiB pages (the tables come from the page allocator). */
static void map_direct(uint64_t top)
{
    for (uint64_t pa = 0; pa < top; pa += 1ul << 21) {
        uintptr_t va = DIRECT_MAP_BASE + pa;
        uint64_t *table = kernel_pml4;
        for (int level = 3; level > 1; level--) {
            uint64_t *e = &table[level_index(va, level)];
            if (!(*e & PTE_P)) {
                uint64_t *t = alloc_table();
                if (!t)
                    panic("vmm: out of memory for the direct map");
                *e = virt_to_phys(t) | PTE_P | PTE_W;
            }
            table = phys_to_virt(*e & PTE_ADDR);
        }
        table[level_index(va, 1)] = pa | PTE_P | PTE_W | PTE_PS | PTE_G | PTE_NX;
    }
}

static void map_image(const char *start, const char *end, uint64_t flags)
{
    for (uintptr_t va = ALIGN_DOWN((uintptr_t)start, PAGE_SIZE); va < (uintptr_t)end; va += PAGE_SIZE)
        if (vmm_map(kernel_pml4, va, virt_to_phys((void *)va), flags | PTE_G))
            panic("vmm: cannot map the kernel image at %p", (void *)va);
}

static void detect_features(void)
{
    uint32_t a, b, c, d;
    cpuid(7, 0, &a, &b, &c, &d);
    cpu_has_smep = b & (1u << 7);
    cpu_has_smap = b & (1u << 20);
    cpuid(1, 0, &a, &b, &c, &d);
    cpu_has_x2apic = c & (1u << 21);
    cpu_has_pge = d & (1u << 13);
}

void vmm_enable_protections(void)
{
    write_cr0(read_cr0() | CR0_WP);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
    uint64_t cr4 = read_cr4();
    if (cpu_has_pge)
        cr4 |= CR4_PGE;
    if (cpu_has_smep)
        cr4 |= CR4_SMEP;
    if (cpu_has_smap)
        cr4 |= CR4_SMAP;
    write_cr4(cr4);
}

void vmm_init(void)
{
    detect_features();
    kernel_pml4 = alloc_table();
    if (!kernel_pml4)
        panic("vmm: no page for the kernel PML4");

    map_direct(ALIGN_UP(boot_info.ram_top, 1ul << 21));
    map_image(_text_start, _text_end, 0);                       /* R X */
    map_image(_rodata_start, _rodata_end, PTE_NX);              /* R   */
    map_image(_data_start, _kernel_end, PTE_W | PTE_NX);        /* RW  */

    /* Every kernel-half PML4 entry exists from now on, so address spaces can share them. */
    for (int i = 256; i < 512; i++)
        if (!(kernel_pml4[i] & PTE_P))
            kernel_pml4[i] = virt_to_phys(alloc_table()) | PTE_P | PTE_W;

    /* The test window's page table exists up front, so tests allocate no tables. */
    if (!vmm_pte(kernel_pml4, VMM_TEST_BASE, true))
        panic("vmm: no page for the test window's table");

    write_cr3(virt_to_phys(kernel_pml4));
    vmm_enable_protections();
    printk("vmm: direct map %lu MiB, smep=%d smap=%d pge=%d\n",
           (unsigned long)(boot_info.ram_top >> 20), cpu_has_smep, cpu_has_smap, cpu_has_pge);
}
