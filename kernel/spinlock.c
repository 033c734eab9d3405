/*
 * spinlock.c: ticket locks with IRQ save/restore (see spinlock.h), and the
 * per-CPU count of locks held (cpu->spin_depth): code that may be entered
 * anywhere (the #DF overflow policy, NMIs) asks it whether a lock is held.
 */
#include "spinlock.h"
#include "panic.h"
#include "percpu.h"
#include "sched/wait.h"

void spin_init(struct spinlock *l, const char *name)
{
    assert_not_on_stack(l, "spinlock");     /* docs/DESIGN.md section 7: other CPUs spin on it */
    l->next = 0;
    l->owner = 0;
    l->holder_cpu = -1;
    l->name = name;
}

uint64_t spin_lock(struct spinlock *l)
{
    uint64_t flags = irq_save();
    this_cpu()->spin_depth++;           /* before the ticket: an NMI in between must see it */
    KASSERT(!spin_held_by_me(l));
    uint32_t ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
        cpu_relax();
    l->holder_cpu = cpu_id();
    return flags;
}

void spin_unlock(struct spinlock *l, uint64_t flags)
{
    KASSERT(spin_held_by_me(l));
    l->holder_cpu = -1;
    __atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
    struct cpu *c = this_cpu();
    KASSERT(c->spin_depth > 0);
    c->spin_depth--;                    /* after the release, for the same reason */
    irq_restore(flags);
}

bool spin_held_by_me(const struct spinlock *l)
{
    return l->holder_cpu == cpu_id() && l->owner != l->next;
}
