/*
 * thread.c: thread creation, exit, join and freeing. A new thread's stack
 * is built to look like one that switch_to() left, returning into
 * thread_start(); its slot and struct are freed once it is off every CPU:
 * by thread_join(), or for a detached thread by the switch away from it.
 */
#include "sched/thread.h"
#include "proc/ipc.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/fpu.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "panic.h"
#include "sched/sched.h"
#include "sched/wait.h"
#include "stack/kstack.h"
#include "stack/strategy.h"

static struct wait_queue exit_wq = WAIT_QUEUE_INIT("thread_exit");
static struct thread *all_threads;      /* sched_lock */
static int next_tid = 1;
static int nthreads;

__attribute__((noreturn)) static void thread_start(void)
{
    /* We arrive here from switch_to() with sched_lock held, like a return from schedule_locked(). */
    sched_finish_switch();
    spin_unlock(&sched_lock, RFLAGS_IF);
    struct thread *t = current();
    t->entry(t->arg);
    thread_exit(0);
}

/* A thread struct with a fully mapped kernel stack whose first switch enters thread_start(). */
struct thread *thread_alloc(const char *name, uintptr_t slot)
{
    struct thread *t = kzalloc(sizeof(*t));
    if (!t || fpu_thread_init(t)) {
        kfree(t);
        return NULL;
    }
    assert_not_on_stack(t, "thread");
    t->kstack_base = slot;
    t->kstack_top = kstack_slot_top(slot);
    t->kstack_ptes = kstack_slot_ptes(slot);
    KASSERT(t->kstack_ptes);                /* the slot's top page is mapped: its table exists */
    for (int i = 0; i < KSTACK_ENSURE_PAGES; i++)
        if (kstack_page_mapped(slot, i))
            t->kstack_mapped |= (uint8_t)(1u << i);
    strlcpy(t->name, name, sizeof(t->name));
    t->cpu = -1;

    /*
     * top-8: a zero return address ends backtraces; then thread_start, 6
     * callee-saved and RFLAGS (switch.asm). Written through the direct map: this
     * CPU may still hold a translation of the slot's top page from a previous owner.
     */
    uint64_t *pte = kstack_page_pte(slot, 0);
    KASSERT(pte && (*pte & PTE_P));
    uint64_t *top = (uint64_t *)((char *)phys_to_virt(*pte & PTE_ADDR) + PAGE_SIZE);
    uint64_t *sp = top;
    *--sp = 0;
    *--sp = (uint64_t)thread_start;
    for (int i = 0; i < 6; i++)
        *--sp = 0;
    *--sp = 2;                  /* RFLAGS: IF off (sched_lock is held), AC clear; bit 1 is always set */
    t->saved_rsp = t->kstack_top - (uint64_t)((char *)top - (char *)sp);

    uint64_t f = spin_lock(&sched_lock);
    t->tid = next_tid++;
    t->all_next = all_threads;
    all_threads = t;
    nthreads++;
    spin_unlock(&sched_lock, f);
    return t;
}

static struct thread *create(const char *name, void (*fn)(void *), void *arg, bool detached)
{
    uintptr_t slot = kstack_alloc_full();
    if (!slot)
        return NULL;
    struct thread *t = thread_alloc(name, slot);
    if (!t) {
        kstack_slot_free(slot);
        return NULL;
    }
    t->entry = fn;
    t->arg = arg;
    t->detached = detached;
    sched_start(t);
    return t;
}

struct thread *thread_create(const char *name, void (*fn)(void *), void *arg)
{
    return create(name, fn, arg, false);
}

struct thread *thread_create_detached(const char *name, void (*fn)(void *), void *arg)
{
    return create(name, fn, arg, true);
}

void thread_exit(long value)
{
    struct thread *t = current();
    uint64_t f = spin_lock(&sched_lock);
    (void)f;
    KASSERT(t->locks_held == 0);
    t->exit_value = value;
    t->state = THREAD_DEAD;
    wq_wake_all_locked(&exit_wq);
    schedule_locked();
    panic("thread %d (%s) ran after it exited", t->tid, t->name);
}

/*
 * Unlink and free a dead thread that is off every CPU: its stack pages, its
 * slot and the struct go back at once, so a program that creates threads
 * right after others ended never finds the slots or the thread limit taken
 * by the dead. Freeing only: it may run inside the switch (no allocation).
 */
void thread_free_locked(struct thread *t)
{
    KASSERT(spin_held_by_me(&sched_lock));
    KASSERT(t->state == THREAD_DEAD && !t->on_cpu);
    for (struct thread **p = &all_threads; *p; p = &(*p)->all_next)
        if (*p == t) {
            *p = t->all_next;
            break;
        }
    nthreads--;
    kstack_thread_exit(t);
    kstack_slot_free(t->kstack_base);
    fpu_thread_free(t);
    ipc_thread_free(t);
    kfree(t);
}

long thread_join(struct thread *t)
{
    KASSERT(!t->detached);
    uint64_t f = spin_lock(&sched_lock);
    while (!(t->state == THREAD_DEAD && !t->on_cpu))
        sched_block_locked(&exit_wq, 0);
    long v = t->exit_value;
    thread_free_locked(t);
    spin_unlock(&sched_lock, f);
    return v;
}

int thread_count(void)
{
    return nthreads;
}

struct thread *thread_first(void)
{
    return all_threads;
}
