/*
 * slot.c: the kstack area's slot allocator, and the page mapping of slots.
 * Slots are handed out from a bitmap; a freed slot's pages are unmapped
 * before the slot can be reused, so a new owner never sees an old page.
 */
#include "stack/kstack.h"
#include "arch/x86_64/cpu.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "panic.h"
#include "percpu.h"
#include "spinlock.h"
#include "uapi/errno.h"

static uint64_t slot_bitmap[KSTACK_MAX_SLOTS / 64];
static int slots_used;
static struct spinlock slot_lock = SPINLOCK_INIT("kstack_slot");

/*
 * The page tables of the first KSTACK_PREBUILT_SLOTS slots are made at boot,
 * then (kstack_slots_prebuild(), from process_init()) those of as many slots
 * as the thread limit allows and KSTACK_PREBUILT_SLOTS more for kernel
 * threads; slots are handed out lowest first, so creating threads allocates
 * no page tables: the free-page count depends only on what is alive
 * (usertests, restarttests' 3,000 sleepers and stress compare it before and
 * after). At 512 MiB that is 160 page tables, 640 KiB.
 */
#define KSTACK_PREBUILT_SLOTS 1024

static uintptr_t slot_base(unsigned i) { return KSTACK_AREA_BASE + (uintptr_t)i * KSTACK_SLOT_SIZE; }
static unsigned slots_prebuilt;

void kstack_slots_prebuild(unsigned nslots)
{
    if (nslots > KSTACK_MAX_SLOTS)
        nslots = KSTACK_MAX_SLOTS;
    uintptr_t per_table = PAGE_SIZE / sizeof(uint64_t) * PAGE_SIZE;    /* 2 MiB of slots per page table */
    for (uintptr_t va = slot_base(slots_prebuilt); va < slot_base(nslots); va += per_table)
        if (!vmm_pte(kernel_pml4, va, true))
            panic("kstack: no memory for the slot page tables");
    if (nslots > slots_prebuilt)
        slots_prebuilt = nslots;
}

unsigned kstack_slots_prebuilt(void)
{
    return slots_prebuilt;
}

static void prebuild_tables(void)
{
    if (!slots_prebuilt)
        kstack_slots_prebuild(KSTACK_PREBUILT_SLOTS);
}

/*
 * Lowest free slot first: the area stays compact, so the page tables that
 * cover it stop growing once the busiest moment has passed. Reuse of a slot
 * is safe because every first run of a thread invalidates its slot (tlb.c).
 */
uintptr_t kstack_slot_alloc(void)
{
    prebuild_tables();
    uint64_t flags = spin_lock(&slot_lock);
    uintptr_t base = 0;
    for (unsigned w = 0; w < KSTACK_MAX_SLOTS / 64; w++) {
        if (slot_bitmap[w] == ~0ull)
            continue;
        unsigned i = w * 64 + (unsigned)__builtin_ctzll(~slot_bitmap[w]);
        slot_bitmap[w] |= 1ull << (i % 64);
        slots_used++;
        base = slot_base(i);
        break;
    }
    spin_unlock(&slot_lock, flags);
    return base;
}

void kstack_slot_free(uintptr_t base)
{
    KASSERT(kstack_in_area(base) && base % KSTACK_SLOT_SIZE == 0);
    for (int i = 0; i < (int)(KSTACK_ENSURE_MAX / PAGE_SIZE); i++) {
        uint64_t pa = kstack_unmap_page(base, i);
        if (pa)
            pmm_free(pa);
    }
    unsigned i = (unsigned)((base - KSTACK_AREA_BASE) / KSTACK_SLOT_SIZE);
    uint64_t flags = spin_lock(&slot_lock);
    KASSERT(slot_bitmap[i / 64] & (1ull << (i % 64)));
    slot_bitmap[i / 64] &= ~(1ull << (i % 64));
    slots_used--;
    spin_unlock(&slot_lock, flags);
}

int kstack_slots_in_use(void)
{
    return slots_used;
}

_Static_assert((2ul << 20) % KSTACK_SLOT_SIZE == 0, "a slot never straddles two page tables");

uint64_t *kstack_slot_ptes(uintptr_t base)
{
    return vmm_pte(kernel_pml4, kstack_page_va(base, 0), false);
}

uint64_t *kstack_page_pte(uintptr_t base, int i)
{
    return vmm_pte(kernel_pml4, kstack_page_va(base, i), false);
}

int kstack_map_phys(uintptr_t base, int i, uint64_t pa)
{
    KASSERT(i >= 0 && (uintptr_t)i < KSTACK_ENSURE_MAX / PAGE_SIZE);
    int err = vmm_map(kernel_pml4, kstack_page_va(base, i), pa, PTE_KSTACK);
    /* Slots are reused: this CPU may still hold the previous owner's translation of the page. */
    if (!err)
        invlpg(kstack_page_va(base, i));
    return err;
}

int kstack_map_page(uintptr_t base, int i)
{
    uint64_t pa = pmm_alloc();
    if (!pa)
        return -ENOMEM;
    int err = kstack_map_phys(base, i, pa);
    if (err)
        pmm_free(pa);
    return err;
}

uint64_t kstack_unmap_page(uintptr_t base, int i)
{
    uint64_t old = vmm_unmap(kernel_pml4, kstack_page_va(base, i));
    return (old & PTE_P) ? (old & PTE_ADDR) : 0;
}

bool kstack_page_mapped(uintptr_t base, int i)
{
    uint64_t *pte = kstack_page_pte(base, i);
    return pte && (*pte & PTE_P);
}

uintptr_t kstack_alloc_full(void)
{
    uintptr_t base = kstack_slot_alloc();
    if (!base)
        return 0;
    for (int i = 0; i < (int)KSTACK_PAGES; i++) {
        if (kstack_map_page(base, i)) {
            kstack_slot_free(base);
            return 0;
        }
    }
    return base;
}

uintptr_t kstack_alloc_kernel_stack(void)
{
    uintptr_t base = kstack_alloc_full();
    return base ? kstack_slot_top(base) : 0;
}

void kstack_init_cpu(struct cpu *c)
{
    for (int i = 1; i <= IST_COUNT; i++) {
        uintptr_t top = kstack_alloc_kernel_stack();
        if (!top)
            panic("kstack: no memory for cpu %d's IST stack %d", c->id, i);
        c->ist_top[i] = top;
    }
    c->irq_stack_top = kstack_alloc_kernel_stack();
    if (!c->irq_stack_top)
        panic("kstack: no memory for cpu %d's IRQ stack", c->id);
}

bool kstack_is_guard(uintptr_t va)
{
    if (!kstack_in_area(va))
        return false;
    uintptr_t base = kstack_slot_of(va);
    int i = (int)((kstack_slot_top(base) - 1 - va) / PAGE_SIZE);
    return (uintptr_t)i >= KSTACK_ENSURE_MAX / PAGE_SIZE || !kstack_page_mapped(base, i);
}
