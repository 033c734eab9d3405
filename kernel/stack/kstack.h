/*
 * kstack.h: the kstack area (docs/DESIGN.md section 3). Every kernel stack
 * lives in a 64 KiB virtual slot at KSTACK_AREA_BASE: the stack is the top
 * 16 KiB (THREAD_SIZE), the 16 KiB below it may be mapped only by
 * kstack_ensure(), and the bottom 32 KiB is never mapped, so an overflow
 * always lands in a guard. Thread stacks, IST stacks and IRQ stacks alike.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mm/layout.h"
#include "mm/vmm.h"

#define KSTACK_SLOT_SIZE    (64 * 1024ul)
#define THREAD_SIZE         (16 * 1024ul)
#define KSTACK_PAGES        (THREAD_SIZE / PAGE_SIZE)       /* 4 */
#define KSTACK_ENSURE_MAX   (32 * 1024ul)                   /* top 16 KiB + ensure area */
#define KSTACK_MAX_SLOTS    65536                           /* 4 GiB of the area */

struct cpu;

/*
 * Stack pages are global, like all kernel mappings: a CR3 switch does not
 * flush them, so only invlpg (or a global flush) removes a translation, and
 * the TLB rule of docs/DESIGN.md section 7 is what keeps them correct.
 */
#define PTE_KSTACK (PTE_P | PTE_W | PTE_NX | PTE_G)

static inline uintptr_t kstack_slot_top(uintptr_t base) { return base + KSTACK_SLOT_SIZE; }
/* Page i of a slot counted from the top: 0 is the top page. */
static inline uintptr_t kstack_page_va(uintptr_t base, int i)
{
    return kstack_slot_top(base) - (uintptr_t)(i + 1) * PAGE_SIZE;
}
static inline bool kstack_in_area(uintptr_t va)
{
    return va >= KSTACK_AREA_BASE && va < KSTACK_AREA_BASE + (uintptr_t)KSTACK_MAX_SLOTS * KSTACK_SLOT_SIZE;
}
static inline uintptr_t kstack_slot_of(uintptr_t va)
{
    return ALIGN_DOWN(va, KSTACK_SLOT_SIZE);
}
/* Boot: make the page tables of the first nslots slots now (slot.c says why). */
void kstack_slots_prebuild(unsigned nslots);
unsigned kstack_slots_prebuilt(void);
/* A free slot, nothing mapped; 0 when the area is full. */
uintptr_t kstack_slot_alloc(void);
/* Unmap whatever is still mapped in the slot, free those pages, free the slot. */
void kstack_slot_free(uintptr_t base);
int kstack_slots_in_use(void);

/* Map page i (from the top) of a slot with a fresh page; -ENOMEM, or -EEXIST. */
int kstack_map_page(uintptr_t base, int i);
/* Map a given physical page as page i (from the top). */
int kstack_map_phys(uintptr_t base, int i, uint64_t pa);
/* Unmap page i, invlpg on this CPU; returns the physical page (0 if it was not mapped). */
uint64_t kstack_unmap_page(uintptr_t base, int i);
bool kstack_page_mapped(uintptr_t base, int i);
/*
 * The top page's PTE, or NULL when no page table covers the slot. One page
 * table covers a whole slot, so page i's PTE is ptes[-i]: the entry and exit
 * paths walk the tables once, not once per page.
 */
uint64_t *kstack_slot_ptes(uintptr_t base);
/* The PTE of page i, or NULL when no page table covers it. */
uint64_t *kstack_page_pte(uintptr_t base, int i);

/* A fully mapped 16 KiB stack in a fresh slot: returns the slot base, 0 on failure. */
uintptr_t kstack_alloc_full(void);
/* The top of a fresh fully mapped stack (AP boot stacks); 0 on failure. */
uintptr_t kstack_alloc_kernel_stack(void);
/* This CPU's IST and IRQ stacks, each in a slot of its own; before gdt_init_cpu(c). */
void kstack_init_cpu(struct cpu *c);

/* Does va lie in the guard part of a slot (below what may ever be mapped)? */
bool kstack_is_guard(uintptr_t va);

/* stack/tlb.c: the invalidation rule of docs/DESIGN.md section 7. */
struct thread;
extern bool kstack_tlb_safe;
extern bool kstack_tlb_check;
extern uint64_t kstack_tlb_invalidations;
extern uint64_t kstack_tlb_stale_reads;
void kstack_tlb_init(void);
void kstack_switch_in(struct thread *t);
