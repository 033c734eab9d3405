/*
 * spinlock.c: ticket locks with IRQ save/restore (see spinlock.h), and the
 * per-CPU count of locks held (cpu->spin_depth): code that may be entered
 * anywhere (the #DF overflow policy, NMIs) asks it whether a lock is held.
 */
#include "spinlock.h"
#include "cmdline.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"
#include "sched/wait.h"

void spin_init(struct spinlock *l, const char *name)
{
    assert_not_on_stack(l, "spinlock");     /* docs/DESIGN.md section 7: other CPUs spin on it */
    l->next = 0;
    l->owner = 0;
    l->holder_cpu = -1;
    l->name = name;
}

/*
 * Under a hypervisor a virtual CPU can stop running at any instruction. A
 * ticket lock hands the lock to the next waiter by name; when that vCPU is
 * not running, every other waiter spins until the host runs it again, and
 * the next handoff waits the same way: a convoy. With 4 vCPUs on 2 host cores
 * under TCG, threads hammering sched_lock (yield, or syscalls failing for want
 * of memory) made the kernel crawl for minutes, silent (suite oom, smp4).
 * There the lock is taken only while it is free, by whichever vCPU runs (what
 * Linux's virt_spin_lock() does). On bare metal: tickets, FIFO and fair.
 */
static bool spin_take_when_free;

void spin_init_boot(void)
{
    static const char *const modes[] = { "auto", "ticket", "free", NULL };
    uint32_t a, b, c, d;
    cpuid(1, 0, &a, &b, &c, &d);
    bool hypervisor = c & (1u << 31);           /* CPUID.1:ECX.hypervisor */
    int mode = cmdline_choice("spinlock", modes, 0);    /* spinlock=ticket: the tests keep that path honest */
    spin_take_when_free = mode == 2 || (mode == 0 && hypervisor);
    printk("spinlock: %s%s\n", spin_take_when_free ? "taken when free (no ticket convoys)" : "ticket order",
           mode ? " (spinlock= on the command line)" : hypervisor ? ", under a hypervisor" : "");
}

uint64_t spin_lock(struct spinlock *l)
{
    uint64_t flags = irq_save();
    this_cpu()->spin_depth++;           /* before the ticket: an NMI in between must see it */
    KASSERT(!spin_held_by_me(l));
    if (spin_take_when_free) {
        /* The ticket `owner` is free exactly when next == owner: take it then, with one CAS. */
        for (;;) {
            uint32_t t = __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE);
            if (__atomic_load_n(&l->next, __ATOMIC_RELAXED) == t &&
                __atomic_compare_exchange_n(&l->next, &t, t + 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                break;
            cpu_relax();
        }
    } else {
        uint32_t ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
        while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
            cpu_relax();
    }
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
