/*
 * pmm.h: the physical page allocator: one bit per 4 KiB page of RAM, set when
 * the page is in use. Pages are handed out by physical address; the kernel
 * reaches them through the direct map (phys_to_virt).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Start with every page in [0, npages) used; bitmap holds npages bits. */
void pmm_setup(uint64_t *bitmap, size_t npages);
/* Mark [base, base+len) free / used (partial pages at the edges are left used / made used). */
void pmm_add_free(uint64_t base, uint64_t len);
void pmm_reserve(uint64_t base, uint64_t len);

/* One page, 0 when memory is exhausted (page 0 is never handed out). */
uint64_t pmm_alloc(void);
/* n physically contiguous pages, 0 when no run is long enough. */
uint64_t pmm_alloc_contig(size_t n);
void pmm_free(uint64_t pa);
void pmm_free_contig(uint64_t pa, size_t n);
bool pmm_is_used(uint64_t pa);

size_t pmm_free_pages(void);
size_t pmm_total_pages(void);   /* pages that were ever free: usable RAM */
/* Page frames the bitmap covers (usable or not): every page pmm_alloc() hands out is below this. */
size_t pmm_frames(void);

/* Set up from the boot memory map: everything but the kernel, modules and boot data. */
void pmm_init(void);
