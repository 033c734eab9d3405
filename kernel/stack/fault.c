/*
 * fault.c: the optional experiment of the LKML discussion. A user thread
 * holds only its top page; nothing is mapped on entry; a kernel access to a
 * lower page of its 16 KiB faults, and the #PF handler, on its own IST
 * stack, maps that page (and any between) and returns. Exit to user mode
 * gives back what was faulted in. docs/DESIGN.md section 5 has the races.
 *
 * The reserve. A growth fault can hit anywhere in the kernel: inside the
 * page allocator, inside the per-CPU cache, with any lock held. IRQs off
 * does not hold exceptions back, so the growth path touches neither: it
 * takes pages from a per-CPU reserve that nothing else takes from. The
 * invariant: while a user thread runs in the kernel under kstack=fault, its
 * CPU's reserve holds at least the pages its 16 KiB may still fault in.
 *  - Entry establishes it (on the top page, before anything can grow):
 *    topped up from the cache, else -ENOMEM before dispatch, as for eager.
 *  - A switch-in re-establishes it for the incoming thread, from the cache
 *    only (nothing allocates inside schedule()), plus one page for the
 *    outgoing thread's last pushes (switch_to). If the cache is short the
 *    thread is not switched in yet (kstack_switch_in_ready()).
 *  - Only that thread's growth takes from the reserve meanwhile: interrupts
 *    from kernel mode run on the IRQ stack, NMIs on theirs.
 * So the growth path never finds the reserve empty; if it ever did, that is
 * a kernel bug, and it says so and panics (no user action can get there).
 *
 * Pushes to the reserve can be interrupted by a growth fault on the same
 * CPU (the pusher's own stack growing) that pops: a push is a CAS on the
 * count, which such a pop makes fail and retry, so neither loses a page.
 */
#include "stack/strategy.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/trap.h"
#include "ksyms.h"
#include "lib/string.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"
#include "sched/sched.h"
#include "sched/thread.h"
#include "stack/cache.h"
#include "stack/kstack.h"
#include "stack/overflow.h"
#include "uapi/errno.h"

#define LOWER           0x0e            /* pages 1-3: what may be faulted in */
#define RESERVE_CAP     KSTACK_FAULT_RESERVE_CAP
#define PF_IST_NEST_GAP 4096            /* a fault inside the handler lands this far below its frame */

struct kstack_reserve {
    uint64_t page[RESERVE_CAP];
    int count;
};
static struct kstack_reserve reserves[MAX_CPUS];

/* This CPU: a page onto the reserve (false when it is full). Safe against a growth fault in the middle. */
static bool reserve_push(uint64_t pa)
{
    struct kstack_reserve *r = &reserves[cpu_id()];
    for (;;) {
        int n = __atomic_load_n(&r->count, __ATOMIC_RELAXED);
        if (n >= RESERVE_CAP)
            return false;
        __atomic_store_n(&r->page[n], pa, __ATOMIC_RELAXED);
        /* Release: the page is in its place before the count says so (a pop may come between any two instructions). */
        if (__atomic_compare_exchange_n(&r->count, &n, n + 1, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            return true;
    }
}

/* The growth path only, IRQs off on the #PF IST stack: nothing can interrupt it here. */
static uint64_t reserve_pop(void)
{
    struct kstack_reserve *r = &reserves[cpu_id()];
    if (r->count == 0)
        return 0;
    return r->page[--r->count];
}

int kstack_fault_reserve_drain(uint64_t *out, int cap)
{
    KASSERT(!irqs_enabled());
    int n = 0;
    uint64_t pa;
    while (n < cap && (pa = reserve_pop()))
        out[n++] = pa;
    return n;
}

const uint64_t *kstack_fault_reserve_of(int cpu, int *count)
{
    *count = __atomic_load_n(&reserves[cpu].count, __ATOMIC_RELAXED);
    return reserves[cpu].page;
}

int kstack_fault_reserve_pages(void)
{
    int n = 0;
    for (int i = 0; i < ncpus; i++)
        n += __atomic_load_n(&reserves[i].count, __ATOMIC_RELAXED);
    return n;
}

static int lower_missing(const struct thread *t)
{
    int n = 0;
    for (int i = 1; i < (int)KSTACK_PAGES; i++)
        n += !(t->kstack_mapped & (1u << i));
    return n;
}

/* Top this CPU's reserve up to `need` from the cache: 0, or -ENOMEM (what came stays there). */
static int reserve_fill(int need, bool may_allocate)
{
    struct kstack_reserve *r = &reserves[cpu_id()];
    while (__atomic_load_n(&r->count, __ATOMIC_RELAXED) < need) {
        uint64_t pa = may_allocate ? kstack_cache_take() : kstack_cache_take_cached();
        if (!pa)
            return -ENOMEM;
        if (!reserve_push(pa)) {
            kstack_cache_give(pa);
            break;
        }
    }
    return 0;
}

/* Entry, on the top page: the reserve must cover all three lower pages. Nothing is mapped. */
static int kstack_fault_on_entry(struct thread *t)
{
    KASSERT(!(t->kstack_mapped & LOWER));   /* the last exit gave them back */
    if (reserve_fill(lower_missing(t), true) == 0)
        return 0;
    kstack_stats[cpu_id()].expand_failed++;
    return -ENOMEM;
}

/* Exit, on the top page: what was faulted in (and ensured) back to the cache; one histogram sample. */
static void kstack_fault_on_exit(struct thread *t)
{
    bool grew = t->kstack_mapped != t->kstack_at_rest;
    int used = kstack_unmap_to_cache(t, 1, KSTACK_ENSURE_PAGES);
    kstack_record_used(t, used);        /* every entry: a page mapped here is a page the entry touched */
    if (grew)
        kstack_count_shrink(t);
}

/*
 * The incoming thread's growth must find its pages; the outgoing one may
 * still push onto a new page in switch_to(): one more for it.
 */
static int kstack_fault_on_switch_in(struct thread *t)
{
    if (t->kstack_user_bound)
        return 0;                       /* on its way to user mode: it stays on its top page */
    return reserve_fill(lower_missing(t) + 1, false);
}

/*
 * Is va a lower page of t's 16 KiB, not mapped yet? Then map it and every
 * page between it and the mapped ones, from the reserve.
 */
static bool grow(struct thread *t, uintptr_t va)
{
    if (!t || !t->kstack_at_rest || kstack_slot_of(va) != t->kstack_base)
        return false;
    int page = (int)((kstack_slot_top(t->kstack_base) - 1 - va) / PAGE_SIZE);
    if (page < 1 || page >= (int)KSTACK_PAGES || (t->kstack_mapped & (1u << page)))
        return false;                   /* the top page, the ensure area or the guard: not growth */
    uint64_t *ptes = kstack_slot_ptes(t->kstack_base);
    for (int i = 1; i <= page; i++) {
        if (t->kstack_mapped & (1u << i))
            continue;
        uint64_t pa = reserve_pop();
        if (!pa)
            panic("kstack=fault: thread %d's stack grew to page %d and this CPU's reserve is empty "
                  "(the reserve invariant of stack/fault.c is broken: a kernel bug)", t->tid, i);
        KASSERT(!(ptes[-i] & PTE_P));
        ptes[-i] = pa | PTE_KSTACK;     /* not present before: no TLB entry to invalidate */
        t->kstack_mapped |= (uint8_t)(1u << i);
        kstack_count_fault(t);
    }
    return true;
}

/*
 * A growth fault belongs to the current thread, with one exception, the
 * race the LKML reviewers raised: schedule_locked() names the next thread
 * `current` before switch_to() has pushed the last words onto the previous
 * thread's stack. A fault there is in c->switch_prev's slot, and is growth
 * of that stack (the reserve holds one page for it).
 */
static bool kstack_fault_on_fault(uintptr_t va)
{
    struct cpu *c = this_cpu();
    if (grow(c->current, va))
        return true;
    if (!grow(c->switch_prev, va))
        return false;
    kstack_stats[c->id].switch_faults++;
    return true;
}

/*
 * make bench (test_kstack_bench): n growth faults of the caller's own stack,
 * page 1, each timed from the touch to its retry's completion; the page goes
 * back to the reserve after each (not timed). IRQs off; a shallow syscall.
 */
long kstack_fault_bench_growth(unsigned long n, bool count_invlpgs)
{
    struct thread *t = current();
    if (kstack_strategy != KSTACK_FAULT || !t->kstack_at_rest)
        return -EINVAL;
    volatile char *va = (volatile char *)kstack_page_va(t->kstack_base, 1) + 64;
    uint64_t *pte = kstack_page_pte(t->kstack_base, 1), total = 0, invlpgs = 0;
    uint64_t f = irq_save();
    if (t->kstack_mapped & 2) {
        irq_restore(f);
        return -EBUSY;                  /* this call is deeper than a page: nothing to measure */
    }
    for (unsigned long i = 0; i < n; i++) {
        uint64_t c0 = kstack_stats[cpu_id()].invlpgs, t0 = rdtsc_ordered();
        *va = 0;
        total += rdtsc_ordered() - t0;
        invlpgs += kstack_stats[cpu_id()].invlpgs - c0;
        uint64_t pa = *pte & PTE_ADDR;
        *pte = 0;
        invlpg((uintptr_t)va);
        t->kstack_mapped &= (uint8_t)~2u;
        if (!reserve_push(pa))
            kstack_cache_give(pa);
    }
    irq_restore(f);
    return (long)(count_invlpgs ? invlpgs : total);
}

const struct kstack_ops kstack_fault_ops = {
    .name = "fault",
    .pages_at_rest = 1,
    .uses_cache = true,
    .grows_on_fault = true,
    .on_entry = kstack_fault_on_entry,
    .on_exit = kstack_fault_on_exit,
    .on_switch_in = kstack_fault_on_switch_in,
    .on_fault = kstack_fault_on_fault,
};

/* ---------------------------------------------------------------- the #PF IST stack */

/*
 * A growth fault during the delivery of an interrupt: the CPU was pushing the
 * interrupt's frame onto the thread's stack, from kernel mode, when the push
 * crossed into an unmapped page. The local APIC had already accepted the
 * interrupt (its in-service bit is set), and the CPU drops it to deliver the
 * #PF: nobody will run its handler or send its EOI, and the in-service bit
 * blocks that vector and every lower one on this CPU for good (the timer
 * stopped in `make bench`'s first run of kstack=fault: every thread asleep,
 * no tick to wake them). Recognised by an in-service bit while the faulting
 * instruction is not in the entry stubs (the one place an in-service
 * interrupt legitimately pushes onto a thread stack before its EOI: the
 * handlers run on the IRQ stack, or on the top page from user mode, and send
 * their EOI first). Repaired by an EOI and the same vector sent to this CPU
 * again: it arrives once the iretq has re-enabled interrupts, with the page
 * mapped now.
 */
static void resend_lost_interrupt(const struct pt_regs *regs)
{
    extern const char isr_text_start[], isr_text_end[];
    if (regs->rip >= (uintptr_t)isr_text_start && regs->rip < (uintptr_t)isr_text_end)
        return;
    int vector = apic_in_service_vector();
    if (vector < VEC_FIRST_IRQ)
        return;
    apic_eoi();
    apic_send_ipi(cpu_id(), vector);
    kstack_stats[cpu_id()].irqs_resent++;
}

static void pf_ist_release(struct cpu *c)
{
    c->tss.ist[IST_PF - 1] += PF_IST_NEST_GAP;
    c->pf_ist_busy = false;
}

void kstack_fault_ist_leave(void)
{
    struct cpu *c = this_cpu();
    if (c->pf_ist_overflow) {
        c->pf_ist_overflow = false;
        c->tss.ist[IST_PF - 1] += PF_IST_NEST_GAP;
    }
}

/*
 * An overflow: the report runs here, on the IST stack, and ends in a panic or
 * in leaving this stack for good (kstack_overflow_handle()). A fault while it
 * reports (a probe of a corrupt frame chain) must not land on its frames: the
 * IST pointer stays moved down until kstack_fault_ist_leave(), called just
 * before the stack is left. Never returns.
 */
static void overflow(struct cpu *c, struct pt_regs *regs, uintptr_t va)
{
    c->pf_ist_busy = false;
    c->pf_ist_overflow = true;
    kstack_overflow_handle(regs, va);
    panic("kstack=fault: stack overflow at %p not handled", (void *)va);
}

/* Is va in the guard of the stack regs->rsp is on (an overflow, not an ordinary fault)? */
static bool in_guard_of_stack(const struct pt_regs *regs, uintptr_t va)
{
    return kstack_is_guard(va) && kstack_slot_of(va) == kstack_slot_of(regs->rsp - 1);
}

/*
 * isr.asm page_fault_ist calls this on the #PF IST stack, IRQs off, with the
 * frame built there. Returns 0 when the fault was handled here (growth: the
 * stub returns through the frame), else the address of a copy of the frame
 * off the IST stack, where the stub goes on as for any other fault: that
 * handling may sleep (demand paging, uaccess fixups, a killed process), and
 * the IST stack is this CPU's, for the next fault.
 *
 * Races closed here (docs/DESIGN.md section 5):
 *  - A fault inside this handler: the CPU would push its frame at the IST
 *    top again, over this one. While busy, the IST pointer in the TSS is
 *    moved PF_IST_NEST_GAP lower, so a nested fault lands below, intact, and
 *    is reported as what it is (a kernel bug), not as a corrupt frame.
 *  - An interrupt during the handler: none (an interrupt gate: IF is off).
 *  - An NMI during the handler: on its own IST stack, and it touches neither
 *    the reserve nor any stack slot.
 *  - A fault that sleeps: never on this stack; its frame is copied off first.
 */
uintptr_t pf_ist_dispatch(struct pt_regs *regs)
{
    struct cpu *c = this_cpu();
    uintptr_t cr2 = read_cr2();
    if (c->pf_ist_busy) {
        /* The first fault's frame is intact above this one (the IST shift): say what it was. */
        char outer[96];
        ksym_format(outer, sizeof(outer), c->pf_ist_regs->rip);
        trap_report(regs, "inside the #PF IST handler (a fault while handling a fault)");
        panic("kstack=fault: page fault at %p inside the #PF IST handler, which was handling a fault at %s",
              (void *)cr2, outer);
    }
    c->pf_ist_busy = true;
    c->pf_ist_regs = regs;
    c->tss.ist[IST_PF - 1] -= PF_IST_NEST_GAP;
    if (__builtin_expect(c->pf_ist_test_nested, 0)) {
        c->pf_ist_test_nested = false;
        volatile char *null_page = (volatile char *)8;
        __asm__("" : "+r"(null_page));  /* the test of the nested-fault report: a fault right here */
        (void)*null_page;
    }

    bool kernel_not_present = !user_mode(regs) && !(regs->error_code & (PF_PRESENT | PF_USER));
    if (kernel_not_present && kstack_ops->on_fault(cr2)) {
        resend_lost_interrupt(regs);
        pf_ist_release(c);
        return 0;
    }
    if (!user_mode(regs) && in_guard_of_stack(regs, cr2))
        overflow(c, regs, cr2);         /* the CPU pushed this frame here, not on the guard */

    /*
     * Anything else is an ordinary fault, handled off this stack: from user
     * mode on the thread's stack top (where every entry builds its frame),
     * from kernel mode just below the interrupted RSP. That may be a lower
     * stack page not mapped yet (copying onto it from here would fault
     * inside this handler), and the handler must not take a growth fault
     * before it has read CR2, which a growth fault overwrites: a kernel-mode
     * fault in a growing stack gets the whole 16 KiB now (the reserve holds
     * it), given back at the exit to user mode as usual. (A fault from user
     * mode reads CR2 on the top page: the stack budget bounds that path.)
     */
    uintptr_t frame;
    if (user_mode(regs)) {
        frame = c->current->kstack_top - sizeof(struct pt_regs);
    } else {
        frame = ALIGN_DOWN(regs->rsp, 16) - sizeof(struct pt_regs);
        struct thread *t = c->current;
        if (t->kstack_at_rest && kstack_slot_of(frame) == t->kstack_base)
            kstack_ops->on_fault(kstack_page_va(t->kstack_base, (int)KSTACK_PAGES - 1));
        if (in_guard_of_stack(regs, frame))
            overflow(c, regs, frame);   /* no room for the frame: an overflow, as a #DF would be */
    }
    memcpy((void *)frame, regs, sizeof(struct pt_regs));
    pf_ist_release(c);
    return frame;
}
