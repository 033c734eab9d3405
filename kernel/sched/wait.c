/* wait.c: wait queues and mutexes, all under sched_lock (see wait.h). */
#include "sched/wait.h"
#include "panic.h"
#include "stack/kstack.h"

void assert_not_on_stack(const void *obj, const char *what)
{
    if (kstack_in_area((uintptr_t)obj))
        panic("%s at %p lives on a kernel stack: another CPU may touch it while the stack "
              "is unmapped (docs/DESIGN.md section 7)", what, obj);
}

void wq_init(struct wait_queue *wq, const char *name)
{
    assert_not_on_stack(wq, "wait queue");
    wq->head = wq->tail = NULL;
    wq->name = name;
}

void wq_remove_locked(struct thread *t)
{
    struct wait_queue *wq = t->waiting_on;
    if (!wq)
        return;
    if (t->wait_prev)
        t->wait_prev->wait_next = t->wait_next;
    else
        wq->head = t->wait_next;
    if (t->wait_next)
        t->wait_next->wait_prev = t->wait_prev;
    else
        wq->tail = t->wait_prev;
    t->wait_next = t->wait_prev = NULL;
    t->waiting_on = NULL;
}

int wq_wake_one_locked(struct wait_queue *wq)
{
    KASSERT(spin_held_by_me(&sched_lock));
    struct thread *t = wq->head;
    if (!t)
        return 0;
    wq_remove_locked(t);
    sched_wake_locked(t);
    return 1;
}

int wq_wake_all_locked(struct wait_queue *wq)
{
    int n = 0;
    while (wq_wake_one_locked(wq))
        n++;
    return n;
}

int wq_wake_all(struct wait_queue *wq)
{
    uint64_t f = spin_lock(&sched_lock);
    int n = wq_wake_all_locked(wq);
    spin_unlock(&sched_lock, f);
    return n;
}

void mutex_init(struct mutex *m, const char *name)
{
    assert_not_on_stack(m, "mutex");
    m->owner = NULL;
    wq_init(&m->waiters, name);
    m->name = name;
}

void mutex_lock(struct mutex *m)
{
    struct thread *t = current();
    uint64_t f = spin_lock(&sched_lock);
    KASSERT(m->owner != t);
    while (m->owner)
        sched_block_locked(&m->waiters, 0);
    m->owner = t;
    if (t->locks_held < 4)
        t->lock_names[t->locks_held] = m->name;
    t->locks_held++;
    spin_unlock(&sched_lock, f);
}

void mutex_unlock(struct mutex *m)
{
    struct thread *t = current();
    uint64_t f = spin_lock(&sched_lock);
    KASSERT(m->owner == t);
    m->owner = NULL;
    t->locks_held--;
    wq_wake_one_locked(&m->waiters);
    spin_unlock(&sched_lock, f);
}

bool mutex_held(const struct mutex *m)
{
    return m->owner == current();
}
