/*
 * vmm.h: 4-level x86-64 page tables. The kernel half (PML4 entries 256-511)
 * is built once at boot and shared by every address space.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PTE_P       (1ull << 0)
#define PTE_W       (1ull << 1)
#define PTE_U       (1ull << 2)
#define PTE_PWT     (1ull << 3)
#define PTE_PCD     (1ull << 4)
#define PTE_A       (1ull << 5)
#define PTE_D       (1ull << 6)
#define PTE_PS      (1ull << 7)
#define PTE_G       (1ull << 8)
#define PTE_NX      (1ull << 63)
#define PTE_ADDR    0x000ffffffffff000ull

/* Kernel data mapping: present, writable, global, not executable. */
#define PTE_KERNEL_RW (PTE_P | PTE_W | PTE_G | PTE_NX)

extern uint64_t *kernel_pml4;

/* Build the kernel page tables (direct map, W^X image) and switch to them. */
void vmm_init(void);
/* Turn on WP, NXE, SMEP, SMAP and PGE on this CPU, as far as it has them. */
void vmm_enable_protections(void);

/* The PTE slot for va, allocating intermediate tables if create; NULL if absent. */
uint64_t *vmm_pte(uint64_t *pml4, uintptr_t va, bool create);
/* Map one 4 KiB page; -ENOMEM if a table cannot be allocated, -EEXIST if mapped. */
int vmm_map(uint64_t *pml4, uintptr_t va, uint64_t pa, uint64_t flags);
/* Unmap one page and invlpg it on this CPU; returns the old PTE (0 if none). */
uint64_t vmm_unmap(uint64_t *pml4, uintptr_t va);
/* Physical address va maps to, or ~0 if unmapped. */
uint64_t vmm_translate(uint64_t *pml4, uintptr_t va);
/* Map an MMIO range uncached at a fresh kernel virtual address. */
void *vmm_map_mmio(uint64_t pa, uint64_t len);

/* Page-table pages allocated and not freed (kernel tables are kept; user address spaces free theirs). */
size_t vmm_table_pages(void);
/* Give back a table vmm_pte() allocated (user address-space teardown). */
void vmm_free_table(uint64_t *table);

/* CPU features found at boot. */
extern bool cpu_has_smep, cpu_has_smap, cpu_has_x2apic, cpu_has_pge;
