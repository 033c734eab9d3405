/*
 * layout.h: the kernel's virtual address map (docs/DESIGN.md section 3) and
 * the conversions between physical and virtual addresses.
 */
#pragma once
#include <stdint.h>

#define PAGE_SIZE           4096ul
#define PAGE_SHIFT          12
#define PAGE_MASK           (~(PAGE_SIZE - 1))

#define USER_BASE           0x0000000000400000ul
#define USER_TOP            0x0000800000000000ul    /* first non-canonical address */
#define DIRECT_MAP_BASE     0xffff800000000000ul
#define KSTACK_AREA_BASE    0xffffc00000000000ul
#define KSTACK_AREA_SIZE    0x0000004000000000ul    /* 256 GiB of slots */
#define VMM_TEST_BASE       0xffffd00000000000ul    /* 2 MiB scratch window for tests */
#define MMIO_BASE           0xffffe00000000000ul    /* device registers, uncached */
#define KERNEL_VMA          0xffffffff80000000ul

#define ALIGN_UP(x, a)      (((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a)    ((x) & ~((uint64_t)(a) - 1))

static inline void *phys_to_virt(uint64_t pa) { return (void *)(pa + DIRECT_MAP_BASE); }

static inline uint64_t virt_to_phys(const void *va)
{
    uintptr_t v = (uintptr_t)va;
    return v >= KERNEL_VMA ? v - KERNEL_VMA : v - DIRECT_MAP_BASE;
}

static inline int is_kernel_address(uintptr_t v) { return v >= DIRECT_MAP_BASE; }
