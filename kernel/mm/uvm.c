/*
 * uvm.c: user address spaces (see uvm.h): regions, demand faults, munmap
 * with TLB shootdown, teardown, and the CR3 switch the scheduler asks for.
 *
 * A CPU has a process's PML4 loaded only while it runs one of its threads
 * (switching to a kernel thread loads kernel_pml4 again), so vm->active is
 * exactly the set of CPUs that may cache its translations; uvm_destroy()
 * waits for it to empty before freeing the tables.
 */
#include "mm/uvm.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/tlb.h"
#include "arch/x86_64/trap.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "panic.h"
#include "percpu.h"
#include "proc/process.h"
#include "uapi/errno.h"
#include "uapi/syscalls.h"

/* A leaf PTE that munmap cleared but whose page waits for the shootdown (software bit 9). */
#define PTE_FREEING (1ull << 9)

static struct uvm *loaded[MAX_CPUS];    /* the address space in each CPU's CR3 (NULL: kernel_pml4) */

static int level_index(uintptr_t va, int level) { return (va >> (12 + 9 * level)) & 511; }

static uint64_t prot_to_pte(int prot)
{
    uint64_t f = PTE_P | PTE_U;
    if (prot & PROT_WRITE)
        f |= PTE_W;
    if (!(prot & PROT_EXEC))
        f |= PTE_NX;
    return f;
}

struct uvm *uvm_create(void)
{
    struct uvm *vm = kzalloc(sizeof(*vm));
    if (!vm)
        return NULL;
    uint64_t pa = pmm_alloc();
    if (!pa) {
        kfree(vm);
        return NULL;
    }
    vm->pml4 = phys_to_virt(pa);
    memset(vm->pml4, 0, PAGE_SIZE);
    for (int i = 256; i < 512; i++)     /* pre-created at boot and never changed: a copy is exact */
        vm->pml4[i] = kernel_pml4[i];
    mutex_init(&vm->lock, "uvm");
    vm->mmap_base = USER_BASE;
    vm->mmap_top = USER_STACK_TOP - USER_STACK_SIZE - USER_STACK_GAP;
    return vm;
}

/* Free the tables and pages below table (a table of the given level, 3 = PML4's lower half). */
static void free_tables(uint64_t *table, int level)
{
    int n = level == 3 ? 256 : 512;
    for (int i = 0; i < n; i++) {
        uint64_t e = table[i];
        if (!(e & PTE_P))
            continue;
        if (level > 0) {
            free_tables(phys_to_virt(e & PTE_ADDR), level - 1);
            vmm_free_table(phys_to_virt(e & PTE_ADDR));
        } else {
            pmm_free(e & PTE_ADDR);
        }
        table[i] = 0;
    }
}

void uvm_destroy(struct uvm *vm)
{
    if (!vm)
        return;
    KASSERT(loaded[cpu_id()] != vm);
    /* A CPU may still be between a dead thread of ours and its next switch: wait for it to leave. */
    while (__atomic_load_n(&vm->active.bits, __ATOMIC_ACQUIRE))
        cpu_relax();
    free_tables(vm->pml4, 3);
    pmm_free(virt_to_phys(vm->pml4));
    while (vm->regions) {
        struct uvm_region *r = vm->regions;
        vm->regions = r->next;
        kfree(r);
    }
    kfree(vm);
}

const struct uvm_region *uvm_region_find(struct uvm *vm, uintptr_t addr)
{
    for (struct uvm_region *r = vm->regions; r && r->start <= addr; r = r->next)
        if (addr < r->end)
            return r;
    return NULL;
}

/* Link r into the sorted list; -EEXIST if it overlaps a region (vm->lock held). */
static int region_insert(struct uvm *vm, struct uvm_region *r)
{
    struct uvm_region **p = &vm->regions;
    while (*p && (*p)->end <= r->start)
        p = &(*p)->next;
    if (*p && (*p)->start < r->end)
        return -EEXIST;
    r->next = *p;
    *p = r;
    return 0;
}

static bool range_ok(uintptr_t start, uintptr_t end)
{
    return start % PAGE_SIZE == 0 && end % PAGE_SIZE == 0 && start < end && start >= USER_BASE && end <= USER_TOP;
}

int uvm_region_add(struct uvm *vm, uintptr_t start, uintptr_t end, int prot)
{
    if (!range_ok(start, end))
        return -EINVAL;
    struct uvm_region *r = kzalloc(sizeof(*r));
    if (!r)
        return -ENOMEM;
    *r = (struct uvm_region){ .start = start, .end = end, .prot = prot };
    mutex_lock(&vm->lock);
    int err = region_insert(vm, r);
    mutex_unlock(&vm->lock);
    if (err)
        kfree(r);
    return err;
}

long uvm_mmap(struct uvm *vm, size_t len, int prot)
{
    if (len == 0 || (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)))
        return -EINVAL;
    if ((prot & PROT_WRITE) && (prot & PROT_EXEC))
        return -EINVAL;     /* W^X, as for the programs' own segments */
    if (len > vm->mmap_top - vm->mmap_base)
        return -ENOMEM;
    len = ALIGN_UP(len, PAGE_SIZE);
    struct uvm_region *r = kzalloc(sizeof(*r));
    if (!r)
        return -ENOMEM;
    mutex_lock(&vm->lock);
    /* First fit above the program. */
    uintptr_t at = vm->mmap_base;
    for (struct uvm_region *q = vm->regions; q; q = q->next) {
        if (q->end <= at)
            continue;
        if (q->start >= at + len)
            break;
        at = q->end;
    }
    long ret = -ENOMEM;
    if (at <= vm->mmap_top && len <= vm->mmap_top - at) {
        *r = (struct uvm_region){ .start = at, .end = at + len, .prot = prot };
        KASSERT(region_insert(vm, r) == 0);
        ret = (long)at;
    }
    mutex_unlock(&vm->lock);
    if (ret < 0)
        kfree(r);
    return ret;
}

/*
 * The PTE of va if its page table exists; else NULL, and *skip is the next
 * address whose tables might exist (so empty ranges are crossed quickly).
 */
static uint64_t *pte_lookup(uint64_t *pml4, uintptr_t va, uintptr_t *skip)
{
    uint64_t *table = pml4;
    for (int level = 3; level > 0; level--) {
        uint64_t e = table[level_index(va, level)];
        if (!(e & PTE_P)) {
            uintptr_t span = 1ul << (12 + 9 * level);
            *skip = ALIGN_DOWN(va, span) + span;
            return NULL;
        }
        table = phys_to_virt(e & PTE_ADDR);
    }
    return &table[level_index(va, 0)];
}

/* Cut [start, end) out of the region list; spare is used (and set NULL) if a region splits in two. */
static void regions_cut(struct uvm *vm, uintptr_t start, uintptr_t end, struct uvm_region **spare)
{
    struct uvm_region **p = &vm->regions;
    while (*p) {
        struct uvm_region *r = *p;
        if (r->end <= start || r->start >= end) {
            p = &r->next;
            continue;
        }
        if (r->start < start && r->end > end) {        /* the hole is inside: split */
            struct uvm_region *tail = *spare;
            *spare = NULL;
            *tail = (struct uvm_region){ .start = end, .end = r->end, .prot = r->prot, .next = r->next };
            r->end = start;
            r->next = tail;
            return;
        }
        if (r->start < start) {
            r->end = start;
            p = &r->next;
        } else if (r->end > end) {
            r->start = end;
            p = &r->next;
        } else {
            *p = r->next;
            kfree(r);
        }
    }
}

int uvm_unmap(struct uvm *vm, uintptr_t start, size_t len)
{
    if (len == 0 || start % PAGE_SIZE || start >= USER_TOP || len > USER_TOP - start)
        return -EINVAL;
    uintptr_t end = ALIGN_UP(start + len, PAGE_SIZE);
    struct uvm_region *spare = kzalloc(sizeof(*spare));
    if (!spare)
        return -ENOMEM;

    mutex_lock(&vm->lock);
    regions_cut(vm, start, end, &spare);

    /* Pass 1: unmap, keeping each page's address in its (not present) PTE until no TLB holds it. */
    size_t pages = 0;
    for (uintptr_t va = start, skip; va < end;) {
        uint64_t *pte = pte_lookup(vm->pml4, va, &skip);
        if (!pte) {
            va = skip;
            continue;
        }
        if (*pte & PTE_P) {
            *pte = (*pte & PTE_ADDR) | PTE_FREEING;
            pages++;
        }
        va += PAGE_SIZE;
    }
    if (pages) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);    /* PTEs cleared before we read who has us loaded */
        cpumask_t mask = vm->active;
        tlb_shootdown(start, end, &mask);
        for (uintptr_t va = start, skip; va < end;) {
            uint64_t *pte = pte_lookup(vm->pml4, va, &skip);
            if (!pte) {
                va = skip;
                continue;
            }
            if (*pte & PTE_FREEING) {
                pmm_free(*pte & PTE_ADDR);
                *pte = 0;
            }
            va += PAGE_SIZE;
        }
        vm->resident -= pages;
    }
    mutex_unlock(&vm->lock);
    kfree(spare);
    return 0;
}

/* Map a zeroed page at va with the flags (vm->lock held); its kernel address, or NULL when out of memory. */
static void *map_zero_page(struct uvm *vm, uintptr_t va, uint64_t flags)
{
    uint64_t pa = pmm_alloc();
    if (!pa)
        return NULL;
    void *page = phys_to_virt(pa);
    memset(page, 0, PAGE_SIZE);
    if (vmm_map(vm->pml4, va, pa, flags)) {
        pmm_free(pa);
        return NULL;
    }
    vm->resident++;
    return page;
}

int uvm_write(struct uvm *vm, uintptr_t va, const void *src, size_t n)
{
    if (va >= USER_TOP || n > USER_TOP - va)
        return -EFAULT;
    int err = 0;
    mutex_lock(&vm->lock);
    while (n && !err) {
        uintptr_t page_va = ALIGN_DOWN(va, PAGE_SIZE);
        size_t off = va - page_va, k = PAGE_SIZE - off < n ? PAGE_SIZE - off : n;
        const struct uvm_region *r = uvm_region_find(vm, va);
        uint64_t *pte = vmm_pte(vm->pml4, page_va, false);
        char *page;
        if (pte && (*pte & PTE_P))
            page = phys_to_virt(*pte & PTE_ADDR);
        else if (!r)
            page = NULL, err = -EFAULT;
        else if (!(page = map_zero_page(vm, page_va, prot_to_pte(r->prot))))
            err = -ENOMEM;
        if (page)
            memcpy(page + off, src, k);
        va += k;
        src = (const char *)src + k;
        n -= k;
    }
    mutex_unlock(&vm->lock);
    return err;
}

int uvm_fault(struct uvm *vm, uintptr_t addr, uint64_t error_code)
{
    KASSERT(irqs_enabled());
    if (addr >= USER_TOP)
        return -EFAULT;
    if (mutex_held(&vm->lock))
        return -EFAULT;     /* the kernel touched user memory under the lock: refuse rather than deadlock */
    uintptr_t va = ALIGN_DOWN(addr, PAGE_SIZE);
    int ret = 0;
    mutex_lock(&vm->lock);
    const struct uvm_region *r = uvm_region_find(vm, addr);
    uint64_t *pte = vmm_pte(vm->pml4, va, false);
    if (!r || !r->prot)
        ret = -EFAULT;
    else if ((error_code & PF_WRITE) && !(r->prot & PROT_WRITE))
        ret = -EFAULT;
    else if ((error_code & PF_INSTR) && !(r->prot & PROT_EXEC))
        ret = -EFAULT;
    else if (pte && (*pte & PTE_P))
        ret = (error_code & PF_PRESENT) ? -EFAULT : 0;  /* a protection fault, or another thread was first */
    else if (!map_zero_page(vm, va, prot_to_pte(r->prot)))
        ret = -ENOMEM;
    mutex_unlock(&vm->lock);
    return ret;
}

bool uvm_kernel_fault(struct pt_regs *regs)
{
    uintptr_t cr2 = read_cr2();
    struct thread *t = this_cpu()->current;
    if (cr2 >= USER_TOP || (regs->error_code & PF_PRESENT) || !t || !t->proc || !t->proc->vm)
        return false;
    if (!(regs->rflags & RFLAGS_IF) || this_cpu()->irq_depth)
        return false;   /* the interrupted code cannot sleep: let the exception table say -EFAULT */
    sti();
    int err = uvm_fault(t->proc->vm, cr2, regs->error_code);
    cli();
    return err == 0;
}

static void load(struct uvm *vm)
{
    int cpu = cpu_id();
    struct uvm *old = loaded[cpu];
    if (old == vm)
        return;
    if (vm)
        cpumask_set(&vm->active, cpu);  /* before CR3: a munmap that misses our bit sees its PTEs gone */
    write_cr3(virt_to_phys(vm ? vm->pml4 : kernel_pml4));
    loaded[cpu] = vm;
    if (old)
        cpumask_clear(&old->active, cpu);   /* the CR3 write dropped its (non-global) translations */
}

void uvm_switch_in(struct thread *next)
{
    load(next->proc ? next->proc->vm : NULL);
}

void uvm_switch_to_kernel(void)
{
    uint64_t f = irq_save();
    load(NULL);
    irq_restore(f);
}
