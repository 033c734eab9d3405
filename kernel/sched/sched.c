/*
 * sched.c: per-CPU run queues, round robin with a time slice, preemption
 * from the timer, work stealing by idle CPUs, timed sleep. sched_lock is
 * held across switch_to(): whoever runs next on the CPU releases it, so a
 * thread's state and its context are always consistent to other CPUs.
 */
#include "sched/sched.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/tsc.h"
#include "arch/x86_64/gdt.h"
#include "mm/kmalloc.h"
#include "mm/uvm.h"
#include "panic.h"
#include "printk.h"
#include "sched/wait.h"
#include "stack/cache.h"
#include "stack/kstack.h"
#include "stack/strategy.h"
#include "lib/string.h"

struct spinlock sched_lock = SPINLOCK_INIT("sched");
static struct thread *sleepers;         /* sorted by wake_at_ns */
static uint64_t total_migrations;

void switch_to(uint64_t *prev_saved_rsp, uint64_t next_saved_rsp);

uint64_t time_ns(void)
{
    uint64_t t = rdtsc(), hz = tsc_hz ? tsc_hz : 1000000000ull;
    return t / hz * 1000000000ull + t % hz * 1000000000ull / hz;
}

static void rq_push(struct cpu *c, struct thread *t)
{
    t->rq_next = NULL;
    if (c->rq_tail)
        c->rq_tail->rq_next = t;
    else
        c->rq_head = t;
    c->rq_tail = t;
    c->rq_len++;
    t->state = THREAD_RUNNABLE;
}

static struct thread *rq_pop(struct cpu *c)
{
    struct thread *t = c->rq_head;
    if (t) {
        c->rq_head = t->rq_next;
        if (!c->rq_head)
            c->rq_tail = NULL;
        c->rq_len--;
        t->rq_next = NULL;
    }
    return t;
}

static int cpu_load(struct cpu *c)
{
    return c->rq_len + (c->current != c->idle);
}

/* The least loaded online CPU; the thread's last CPU wins ties (warm caches). */
static struct cpu *pick_cpu(struct thread *t)
{
    struct cpu *best = (t->cpu >= 0 && cpus[t->cpu].online) ? &cpus[t->cpu] : this_cpu();
    for (int i = 0; i < ncpus; i++)
        if (cpus[i].online && cpu_load(&cpus[i]) < cpu_load(best))
            best = &cpus[i];
    return best;
}

/* An idle CPU takes the first waiting thread of the busiest other queue. */
static struct thread *steal(struct cpu *c)
{
    struct cpu *victim = NULL;
    for (int i = 0; i < ncpus; i++)
        if (&cpus[i] != c && cpus[i].rq_len > 0 && (!victim || cpus[i].rq_len > victim->rq_len))
            victim = &cpus[i];
    return victim ? rq_pop(victim) : NULL;
}

static void kick_cpu(struct cpu *target)
{
    target->need_resched = true;
    if (target != this_cpu() && target->online)
        apic_send_ipi(target->id, VEC_RESCHED);
}

void sched_start(struct thread *t)
{
    uint64_t f = spin_lock(&sched_lock);
    struct cpu *target = pick_cpu(t);
    rq_push(target, t);
    if (target->current == target->idle)
        kick_cpu(target);
    spin_unlock(&sched_lock, f);
}

static void sleepers_remove(struct thread *t)
{
    for (struct thread **p = &sleepers; *p; p = &(*p)->sleep_next)
        if (*p == t) {
            *p = t->sleep_next;
            t->sleep_next = NULL;
            return;
        }
}

/* Off the sleepers, if it waits with a deadline. */
static void sleep_cancel(struct thread *t)
{
    if (t->wake_at_ns) {
        sleepers_remove(t);
        t->wake_at_ns = 0;
    }
}

/* t runs (or ends) by another way than the handoff that names it: that handoff is over. */
static void handoff_unlink(struct thread *t)
{
    if (__builtin_expect(t->handoff_from != NULL, 0)) {
        KASSERT(t->handoff_from->handoff_to == t);
        t->handoff_from->handoff_to = NULL;
        t->handoff_from = NULL;
    }
}

void sched_wake_locked(struct thread *t)
{
    KASSERT(spin_held_by_me(&sched_lock));
    handoff_unlink(t);              /* a waker came first */
    sleep_cancel(t);                /* a wake ends a timed wait, also one armed and not asleep yet (restart.c) */
    if (t->state != THREAD_BLOCKED)
        return;
    KASSERT(!t->on_cpu);
    struct cpu *target = pick_cpu(t);
    rq_push(target, t);
    if (target->current == target->idle)
        kick_cpu(target);
}

/* The second half of a switch, run by the thread that was switched to. */
void sched_finish_switch(void)
{
    struct cpu *c = this_cpu();
    struct thread *prev = c->switch_prev;
    c->switch_prev = NULL;
    if (prev) {
        if (prev->state != THREAD_DEAD)
            kstack_switch_out(prev);    /* lazy: pages below its saved RSP back, on the CPU it ran on */
        __atomic_store_n(&prev->on_cpu, false, __ATOMIC_RELEASE);
        if (prev->state == THREAD_DEAD && prev->detached)
            thread_free_locked(prev);   /* nobody joins it: stack, slot and struct back now */
        else if (prev->state == THREAD_DEAD)
            kstack_thread_exit(prev);   /* its expanded pages back to the cache; the joiner frees the rest */
    }
}

/*
 * The next thread to run here: this CPU's queue, else one stolen, else idle.
 * A thread the stack strategy cannot switch in yet (its pages are not in
 * this CPU's cache, and nothing allocates inside schedule()) goes to the back
 * of this queue; when none can run, the idle thread refills the cache.
 */
static struct thread *pick_next(struct cpu *c)
{
    for (int tries = c->rq_len + 1; tries > 0; tries--) {
        struct thread *t = rq_pop(c);
        if (!t)
            t = steal(c);
        if (!t)
            break;
        if (kstack_switch_in_ready(t))
            return t;
        rq_push(c, t);
        c->kstack_starved = true;
    }
    return c->idle;
}

/*
 * A direct handoff (sched_handoff_locked()): the thread prev named runs next
 * here, ahead of the queue, on what is left of prev's time slice, as L4's
 * donation. NULL when it cannot: a waker came first, its stack cannot be
 * switched in on this CPU yet, or the slice is used up (need_resched: the
 * queue's turn; two threads handing the CPU to each other must not starve
 * it). Then it is woken as any other.
 */
static struct thread *handoff_take(struct cpu *c, struct thread *prev)
{
    struct thread *h = prev->handoff_to;
    KASSERT(h->handoff_from == prev);
    prev->handoff_to = h->handoff_from = NULL;
    /* Any wake of h ended the handoff (handoff_unlink()): h is still blocked for it, on no queue. */
    KASSERT(h->state == THREAD_BLOCKED && !h->waiting_on && !h->on_cpu);
    sleep_cancel(h);
    if (!c->need_resched && kstack_switch_in_ready(h)) {
        kstack_stats[c->id].handoffs++;
        return h;
    }
    sched_wake_locked(h);
    return NULL;
}

void sched_handoff_locked(struct thread *t)
{
    KASSERT(spin_held_by_me(&sched_lock));
    struct thread *me = current();
    KASSERT(t != me && !t->waiting_on && t->state == THREAD_BLOCKED);
    sched_handoff_drop_locked(me);
    if (t->handoff_from)
        sched_handoff_drop_locked(t->handoff_from);  /* named twice: the first namer wakes it through the queues */
    me->handoff_to = t;
    t->handoff_from = me;
}

void sched_handoff_drop_locked(struct thread *me)
{
    struct thread *h = me->handoff_to;
    if (!h)
        return;
    KASSERT(h->handoff_from == me);
    sched_wake_locked(h);       /* unlinks the pair; h is still blocked for the handoff */
    KASSERT(!me->handoff_to);
}

void schedule_locked(void)
{
    KASSERT(spin_held_by_me(&sched_lock));
    KASSERT(!irqs_enabled());
    struct cpu *c = this_cpu();
    struct thread *prev = c->current;

    if (prev->state == THREAD_RUNNING && prev != c->idle) {
        if (prev->move_to > 0 && prev->move_to - 1 != c->id) {
            struct cpu *target = &cpus[prev->move_to - 1];
            rq_push(target, prev);      /* sched_move_to(): the target CPU takes it from here */
            kick_cpu(target);
        } else {
            rq_push(c, prev);
        }
        prev->move_to = 0;
    }
    struct thread *next = __builtin_expect(prev->handoff_to != NULL, 0) ? handoff_take(c, prev) : NULL;
    if (!next) {
        next = pick_next(c);
        c->slice_ticks = 0;             /* a new slice; a handoff runs on the one it was given */
    }
    c->need_resched = false;

    next->state = THREAD_RUNNING;
    if (next == prev)
        return;

    int from = next->cpu;
    next->cpu = c->id;
    next->on_cpu = true;
    cpumask_set(&next->cpus_run, c->id);
    c->switch_prev = prev;              /* from here on, a growth fault on prev's stack is prev's (stack/fault.c) */
    c->current = next;
    c->kstack_top = next->kstack_top;
    tss_set_rsp0(c, next->kstack_top);
    c->context_switches++;
    if (from != c->id && next != c->idle) {
        if (from >= 0)
            sched_migrated(next);
        kstack_switch_in(next);         /* stale TLB entries of the slot must not survive here */
    }
    uvm_switch_in(next);                /* next's address space (kernel threads: kernel_pml4) */
    fpu_switch(prev, next);             /* user x87/SSE/AVX registers out of prev, into next */
    switch_to(&prev->saved_rsp, next->saved_rsp);
    sched_finish_switch();
}

void schedule(void)
{
    uint64_t f = spin_lock(&sched_lock);
    schedule_locked();
    spin_unlock(&sched_lock, f);
}

void sched_yield(void)
{
    schedule();
}

void sched_move_to(int cpu)
{
    if (cpu < 0 || cpu >= ncpus || !cpus[cpu].online)
        return;
    uint64_t f = spin_lock(&sched_lock);
    current()->move_to = cpu + 1;
    schedule_locked();
    spin_unlock(&sched_lock, f);
}

void sched_migrated(struct thread *t)
{
    t->migrations++;
    total_migrations++;
}

void sched_wait_link_locked(struct thread *t, struct wait_queue *wq, uint64_t deadline_ns)
{
    KASSERT(spin_held_by_me(&sched_lock));
    if (wq) {
        t->wait_next = NULL;
        t->wait_prev = wq->tail;
        if (wq->tail)
            wq->tail->wait_next = t;
        else
            wq->head = t;
        wq->tail = t;
        t->waiting_on = wq;
    }
    t->timed_out = false;
    if (deadline_ns) {
        t->wake_at_ns = deadline_ns;
        struct thread **p = &sleepers;
        while (*p && (*p)->wake_at_ns <= deadline_ns)
            p = &(*p)->sleep_next;
        t->sleep_next = *p;
        *p = t;
    }
}

void sched_wait_unlink_locked(struct thread *t)
{
    wq_remove_locked(t);
    sleep_cancel(t);
}

bool sched_block_locked(struct wait_queue *wq, uint64_t deadline_ns)
{
    struct thread *t = current();
    KASSERT(t != this_cpu()->idle);
    sched_wait_link_locked(t, wq, deadline_ns);
    t->state = THREAD_BLOCKED;
    schedule_locked();
    return !t->timed_out;
}

void sched_sleep_ms(uint64_t ms)
{
    uint64_t deadline = time_ns() + ms * 1000000ull;
    uint64_t f = spin_lock(&sched_lock);
    while (time_ns() < deadline)
        sched_block_locked(NULL, deadline);
    spin_unlock(&sched_lock, f);
}

static void wake_sleepers_locked(void)
{
    uint64_t now = time_ns();
    while (sleepers && sleepers->wake_at_ns <= now) {
        struct thread *t = sleepers;
        sleepers = t->sleep_next;
        t->sleep_next = NULL;
        t->wake_at_ns = 0;
        t->timed_out = true;
        wq_remove_locked(t);
        sched_wake_locked(t);
    }
}

void sched_tick(struct pt_regs *regs)
{
    (void)regs;
    struct cpu *c = this_cpu();
    if (c->current != c->idle && ++c->slice_ticks >= SCHED_SLICE_TICKS)
        c->need_resched = true;
    if (__atomic_load_n(&sleepers, __ATOMIC_RELAXED)) {
        uint64_t f = spin_lock(&sched_lock);
        wake_sleepers_locked();
        spin_unlock(&sched_lock, f);
    }
    if (c->current == c->idle && c->rq_len)
        c->need_resched = true;
}

void sched_resched_ipi(void)
{
    this_cpu()->need_resched = true;
}

/* Interrupt return to kernel mode (isr.asm): the preemption point of kernel threads. */
void irq_exit_kernel(struct pt_regs *regs)
{
    if (this_cpu()->need_resched && (regs->rflags & RFLAGS_IF))
        schedule();
}

static struct thread *make_idle(struct cpu *c)
{
    struct thread *t = kzalloc(sizeof(*t));
    if (!t)
        panic("sched: no memory for cpu %d's idle thread", c->id);
    snprintf(t->name, sizeof(t->name), "idle/%d", c->id);
    t->tid = 0;
    t->state = THREAD_RUNNING;
    t->cpu = c->id;
    t->on_cpu = true;
    uintptr_t rsp = read_rsp();
    if (kstack_in_area(rsp)) {
        t->kstack_base = kstack_slot_of(rsp);
        t->kstack_top = kstack_slot_top(t->kstack_base);
    }
    return t;
}

void sched_init(void)
{
    struct cpu *c = this_cpu();
    c->idle = c->current = make_idle(c);
}

void sched_init_cpu(void)
{
    struct cpu *c = this_cpu();
    if (!c->idle)
        c->idle = c->current = make_idle(c);
    sti();
    for (;;) {
        cli();
        bool work = c->need_resched || c->rq_len;
        for (int i = 0; i < ncpus && !work; i++)
            work = cpus[i].rq_len > 0;
        if (c->kstack_starved) {
            c->kstack_starved = false;          /* a switch-in was put off: the cache needs pages */
            sti();
            kstack_cache_balance();
            cli();
            if (kstack_cache_unbalanced()) {
                sti_hlt();                      /* none to be had: try again after the next interrupt */
                continue;
            }
        }
        if (work) {
            sti();
            schedule();
        } else {
            sti_hlt();          /* sti's one-instruction shadow: no wakeup is lost before hlt */
        }
    }
}

int sched_runqueue_length(int cpu)
{
    return cpus[cpu].rq_len;
}

uint64_t sched_total_migrations(void)
{
    return total_migrations;
}
