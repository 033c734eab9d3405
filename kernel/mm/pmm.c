/*
 * pmm.c: bitmap page allocator (see pmm.h). Pure bookkeeping: it never
 * touches the pages it hands out, so the host unit test (tests/host/test_pmm.c)
 * runs it unchanged. Boot-time setup from the memory map is in memmap.c.
 */
#include "mm/pmm.h"
#include "mm/layout.h"

#ifdef HOST_TEST
#include <assert.h>
#define KASSERT(c) assert(c)
typedef int pmm_flags_t;
static pmm_flags_t pmm_lock_take(void) { return 0; }
static void pmm_lock_give(pmm_flags_t f) { (void)f; }
#else
#include "panic.h"
#include "spinlock.h"
typedef uint64_t pmm_flags_t;
static struct spinlock pmm_lock = SPINLOCK_INIT("pmm");
static pmm_flags_t pmm_lock_take(void) { return spin_lock(&pmm_lock); }
static void pmm_lock_give(pmm_flags_t f) { spin_unlock(&pmm_lock, f); }
#endif

static uint64_t *bitmap;
static size_t npages;
static size_t nfree, ntotal;
static size_t hint;             /* next-fit: where the last search ended */

static bool test_bit(size_t i) { return bitmap[i / 64] & (1ull << (i % 64)); }
static void set_bit(size_t i) { bitmap[i / 64] |= 1ull << (i % 64); }
static void clear_bit(size_t i) { bitmap[i / 64] &= ~(1ull << (i % 64)); }

void pmm_setup(uint64_t *bm, size_t n)
{
    bitmap = bm;
    npages = n;
    nfree = ntotal = 0;
    hint = 1;
    for (size_t i = 0; i < (n + 63) / 64; i++)
        bitmap[i] = ~0ull;
}

void pmm_add_free(uint64_t base, uint64_t len)
{
    uint64_t first = ALIGN_UP(base, PAGE_SIZE) / PAGE_SIZE;
    uint64_t last = ALIGN_DOWN(base + len, PAGE_SIZE) / PAGE_SIZE;
    for (uint64_t i = first ? first : 1; i < last && i < npages; i++) {
        if (test_bit(i)) {
            clear_bit(i);
            nfree++;
            ntotal++;
        }
    }
}

void pmm_reserve(uint64_t base, uint64_t len)
{
    uint64_t first = ALIGN_DOWN(base, PAGE_SIZE) / PAGE_SIZE;
    uint64_t last = ALIGN_UP(base + len, PAGE_SIZE) / PAGE_SIZE;
    for (uint64_t i = first; i < last && i < npages; i++) {
        if (!test_bit(i)) {
            set_bit(i);
            nfree--;
            ntotal--;
        }
    }
}

/* First free page at or after start, or npages. Skips full 64-page words. */
static size_t find_free(size_t start)
{
    for (size_t i = start; i < npages;) {
        if (i % 64 == 0 && bitmap[i / 64] == ~0ull) {
            i += 64;
            continue;
        }
        if (!test_bit(i))
            return i;
        i++;
    }
    return npages;
}

uint64_t pmm_alloc(void)
{
    pmm_flags_t f = pmm_lock_take();
    size_t i = find_free(hint);
    if (i >= npages)
        i = find_free(1);
    uint64_t pa = 0;
    if (i < npages) {
        set_bit(i);
        nfree--;
        hint = i + 1;
        pa = (uint64_t)i * PAGE_SIZE;
    }
    pmm_lock_give(f);
    return pa;
}

uint64_t pmm_alloc_contig(size_t n)
{
    if (n == 0)
        return 0;
    pmm_flags_t f = pmm_lock_take();
    uint64_t pa = 0;
    for (size_t i = find_free(1); i + n <= npages; i = find_free(i + 1)) {
        size_t run = 0;
        while (run < n && !test_bit(i + run))
            run++;
        if (run == n) {
            for (size_t k = 0; k < n; k++)
                set_bit(i + k);
            nfree -= n;
            pa = (uint64_t)i * PAGE_SIZE;
            break;
        }
        i += run;
    }
    pmm_lock_give(f);
    return pa;
}

void pmm_free(uint64_t pa)
{
    size_t i = pa / PAGE_SIZE;
    KASSERT(pa % PAGE_SIZE == 0 && i > 0 && i < npages);
    pmm_flags_t f = pmm_lock_take();
    KASSERT(test_bit(i));       /* double free, or a page that was never allocated */
    clear_bit(i);
    nfree++;
    pmm_lock_give(f);
}

void pmm_free_contig(uint64_t pa, size_t n)
{
    for (size_t k = 0; k < n; k++)
        pmm_free(pa + k * PAGE_SIZE);
}

bool pmm_is_used(uint64_t pa)
{
    size_t i = pa / PAGE_SIZE;
    return i >= npages || test_bit(i);
}

size_t pmm_free_pages(void) { return nfree; }
size_t pmm_total_pages(void) { return ntotal; }
size_t pmm_frames(void) { return npages; }
