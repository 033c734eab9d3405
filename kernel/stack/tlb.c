/*
 * stack/tlb.c: the first rule of docs/DESIGN.md section 7. A thread switched
 * in on a CPU other than the one it last ran on (or running for the first
 * time: its slot may have had another owner) has its slot's pages invalidated
 * on the new CPU before it runs, so no stale translation of a page that
 * since went back to the allocator can be used. kstack_tlb=unsafe turns it
 * off, only to show the hazard.
 *
 * With kstack_tlb_check=1 every such switch-in is also checked: each mapped
 * page of the slot is read through its virtual address and compared with the
 * page the PTE names, read through the direct map. A difference is a read
 * through a stale translation: the thread would have run on someone else's
 * page. It is counted and reported; under kstack_tlb=unsafe the whole slot
 * is then invalidated after all, so the machine lives to report it (the
 * thread's next write would have corrupted the page's new owner). The check is its
 * own option, off by default and not implied by testsys=1: its reads set the
 * accessed bits of every page it compares, which the pages-used histogram
 * would count as used by the next kernel entry.
 */
#include "arch/x86_64/cpu.h"
#include "cmdline.h"
#include "lib/string.h"
#include "mm/vmm.h"
#include "percpu.h"
#include "printk.h"
#include "sched/thread.h"
#include "stack/kstack.h"
#include "stack/strategy.h"

bool kstack_tlb_safe = true;
bool kstack_tlb_check;
uint64_t kstack_tlb_invalidations;
uint64_t kstack_tlb_stale_reads;

#define STALE_REPORTS 3

void kstack_tlb_init(void)
{
    static const char *const modes[] = { "safe", "unsafe", NULL };
    kstack_tlb_safe = cmdline_choice("kstack_tlb", modes, 0) == 0;
    kstack_tlb_check = cmdline_int("kstack_tlb_check", 0) != 0;
    if (kstack_tlb_check)
        printk("kstack: kstack_tlb_check=1: stale stack translations are looked for at each migration (tests only)\n");
    if (!kstack_tlb_safe)
        printk("kstack: kstack_tlb=unsafe: stack pages are NOT invalidated on migration (hazard test only)\n");
}

/*
 * A stale translation whose page happens to hold the same bytes is not seen
 * here, and under kstack_tlb=unsafe the thread would then write through it
 * (a hang or a corrupted neighbour, at random). So the detector, once it has
 * looked, invalidates the whole slot: it counts the hazard and never lets it
 * do harm. The hazard test's verdict is the count.
 */
static void check_stale(struct thread *t)
{
    for (int i = 0; i < (int)(KSTACK_ENSURE_MAX / PAGE_SIZE); i++) {
        uint64_t *pte = kstack_page_pte(t->kstack_base, i);
        if (!pte || !(*pte & PTE_P)) {
            invlpg(kstack_page_va(t->kstack_base, i));
            continue;
        }
        uintptr_t va = kstack_page_va(t->kstack_base, i);
        bool same = memcmp((void *)va, phys_to_virt(*pte & PTE_ADDR), PAGE_SIZE) == 0;
        invlpg(va);
        if (same)
            continue;
        uint64_t n = __atomic_add_fetch(&kstack_tlb_stale_reads, 1, __ATOMIC_RELAXED);
        if (n <= STALE_REPORTS)
            printk("kstack: STALE TLB entry: cpu %d sees page %d of thread %d's stack (%p) through a translation "
                   "to a page the thread no longer owns%s\n",
                   cpu_id(), i, t->tid, (void *)va, n == STALE_REPORTS ? " (further reports suppressed)" : "");
    }
}

void kstack_switch_in(struct thread *t)
{
    if (!t->kstack_base)
        return;
    if (kstack_tlb_safe) {
        for (int i = 0; i < (int)(KSTACK_ENSURE_MAX / PAGE_SIZE); i++)
            invlpg(kstack_page_va(t->kstack_base, i));
        kstack_stats[cpu_id()].invlpgs += KSTACK_ENSURE_MAX / PAGE_SIZE;
        __atomic_fetch_add(&kstack_tlb_invalidations, 1, __ATOMIC_RELAXED);
    }
    if (kstack_tlb_check)
        check_stale(t);
}
