/*
 * kmalloc.c: size classes 32..2048 bytes with a free list each; a 16-byte
 * header before each object records its class (or page count) and a magic
 * value, so kfree() can check what it is given. A slab page whose objects
 * are all free goes back to the page allocator, so that the free-page count
 * comes back after a burst of allocations (usertests compares it).
 */
#include "mm/kmalloc.h"
#include "lib/string.h"
#include "mm/layout.h"
#include "mm/pmm.h"
#include "multiboot.h"
#include "panic.h"
#include "spinlock.h"

#define KM_MAGIC        0x6b6d616c6c6f6321ull   /* "kmalloc!" */
#define KM_FREE_MAGIC   0x6672656564206b6dull
#define KM_MIN_SHIFT    5
#define KM_MAX_SHIFT    11
#define KM_NCLASSES     (KM_MAX_SHIFT - KM_MIN_SHIFT + 1)
#define KM_LARGE        0xffff

struct km_header {
    uint64_t magic;
    uint32_t class;         /* size class index, or KM_LARGE */
    uint32_t npages;        /* for large allocations */
};
_Static_assert(sizeof(struct km_header) == 16, "keeps objects 16-byte aligned");

struct km_free {
    struct km_free *next;
};

static struct km_free *free_list[KM_NCLASSES];
static struct spinlock km_lock = SPINLOCK_INIT("kmalloc");
static size_t in_use;
static size_t slab_pages;      /* pages carved into size classes */
static uint16_t *slab_inuse;    /* objects handed out, per slab page, by page frame number */

static uint16_t *inuse_of(const void *obj)
{
    return &slab_inuse[virt_to_phys(obj) >> PAGE_SHIFT];
}

static int class_of(size_t total)
{
    for (int c = 0; c < KM_NCLASSES; c++)
        if (total <= (1ul << (KM_MIN_SHIFT + c)))
            return c;
    return -1;
}

/* Carve a fresh page into objects of class c (lock held). */
static bool refill(int c)
{
    if (!slab_inuse) {
        size_t n = ALIGN_UP((boot_info.ram_top >> PAGE_SHIFT) * sizeof(uint16_t), PAGE_SIZE) / PAGE_SIZE;
        uint64_t table = pmm_alloc_contig(n);
        if (!table)
            return false;
        slab_inuse = phys_to_virt(table);
        memset(slab_inuse, 0, n * PAGE_SIZE);
    }
    uint64_t pa = pmm_alloc();
    if (!pa)
        return false;
    slab_pages++;
    char *page = phys_to_virt(pa);
    *inuse_of(page) = 0;
    size_t size = 1ul << (KM_MIN_SHIFT + c);
    for (size_t off = 0; off + size <= PAGE_SIZE; off += size) {
        struct km_free *f = (void *)(page + off);
        f->next = free_list[c];
        free_list[c] = f;
    }
    return true;
}

/* Every object of the slab page at va is free: take them off the list and free the page (lock held). */
static void release(int c, uintptr_t va)
{
    size_t objects = 0;
    for (struct km_free **p = &free_list[c]; *p;) {
        if ((uintptr_t)*p - va < PAGE_SIZE) {
            *p = (*p)->next;
            objects++;
        } else {
            p = &(*p)->next;
        }
    }
    KASSERT(objects == PAGE_SIZE >> (KM_MIN_SHIFT + c));
    slab_pages--;
    pmm_free(virt_to_phys((void *)va));
}

void *kmalloc(size_t size)
{
    if (size == 0)
        size = 1;
    size_t total = size + sizeof(struct km_header);
    int c = class_of(total);
    struct km_header *h;

    if (c < 0) {
        size_t n = ALIGN_UP(total, PAGE_SIZE) / PAGE_SIZE;
        uint64_t pa = pmm_alloc_contig(n);
        if (!pa)
            return NULL;
        h = phys_to_virt(pa);
        h->class = KM_LARGE;
        h->npages = (uint32_t)n;
        uint64_t flags = spin_lock(&km_lock);
        in_use += n * PAGE_SIZE;
        spin_unlock(&km_lock, flags);
    } else {
        uint64_t flags = spin_lock(&km_lock);
        if (!free_list[c] && !refill(c)) {
            spin_unlock(&km_lock, flags);
            return NULL;
        }
        h = (struct km_header *)free_list[c];
        free_list[c] = free_list[c]->next;
        (*inuse_of(h))++;
        in_use += 1ul << (KM_MIN_SHIFT + c);
        spin_unlock(&km_lock, flags);
        h->class = (uint32_t)c;
        h->npages = 0;
    }
    h->magic = KM_MAGIC;
    return h + 1;
}

void *kzalloc(size_t size)
{
    void *p = kmalloc(size);
    if (p)
        memset(p, 0, size);
    return p;
}

void kfree(void *p)
{
    if (!p)
        return;
    struct km_header *h = (struct km_header *)p - 1;
    if (h->magic != KM_MAGIC)
        panic("kfree(%p): not a live kmalloc object (magic %#lx)", p, (unsigned long)h->magic);
    h->magic = KM_FREE_MAGIC;
    uint64_t flags = spin_lock(&km_lock);
    if (h->class == KM_LARGE) {
        in_use -= (size_t)h->npages * PAGE_SIZE;
        spin_unlock(&km_lock, flags);
        pmm_free_contig(virt_to_phys(h), h->npages);
        return;
    }
    KASSERT(h->class < KM_NCLASSES);
    in_use -= 1ul << (KM_MIN_SHIFT + h->class);
    struct km_free *f = (void *)h;
    int c = (int)h->class;
    f->next = free_list[c];
    free_list[c] = f;
    if (--*inuse_of(h) == 0)
        release(c, ALIGN_DOWN((uintptr_t)h, PAGE_SIZE));
    spin_unlock(&km_lock, flags);
}

size_t kmalloc_in_use(void)
{
    return in_use;
}

size_t kmalloc_slab_pages(void)
{
    return slab_pages;
}
