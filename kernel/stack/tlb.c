/*
 * stack/tlb.c: the first rule of docs/DESIGN.md section 7. A thread switched
 * in on a CPU other than the one it last ran on (or running for the first
 * time: its slot may have had another owner) has its slot's pages invalidated
 * on the new CPU before it runs, so no stale translation of a page that
 * since went back to the allocator can be used. kstack_tlb=unsafe turns it
 * off, only to show the hazard.
 */
#include "arch/x86_64/cpu.h"
#include "cmdline.h"
#include "percpu.h"
#include "sched/thread.h"
#include "stack/kstack.h"

bool kstack_tlb_safe = true;
uint64_t kstack_tlb_invalidations;

void kstack_tlb_init(void)
{
    static const char *const modes[] = { "safe", "unsafe", NULL };
    kstack_tlb_safe = cmdline_choice("kstack_tlb", modes, 0) == 0;
}

void kstack_switch_in(struct thread *t, int from_cpu)
{
    (void)from_cpu;
    if (!kstack_tlb_safe || !t->kstack_base)
        return;
    for (int i = 0; i < (int)(KSTACK_ENSURE_MAX / PAGE_SIZE); i++)
        invlpg(kstack_page_va(t->kstack_base, i));
    __atomic_fetch_add(&kstack_tlb_invalidations, 1, __ATOMIC_RELAXED);
}

void kstack_thread_exit(struct thread *t)
{
    (void)t;
}
