/*
 * futex.c: futex_wait and futex_wake. Waiters hang in a hash of buckets by
 * (address space, user address), each waiter a kmalloc'd record and the
 * bucket's wait queue a static object: nothing another CPU touches lives on
 * a stack. All under sched_lock.
 *
 * No lost wake-ups without reading user memory under the lock: a waiter is
 * queued first and reads the value after; a waker stores the new value
 * before it wakes, so a waiter that read the old value is already queued.
 *
 * A waker counts the waiters it dequeues (its return value), so a dequeued
 * waiter returns 0, whatever else happened to it meanwhile (its timeout
 * fired, it read a new value): otherwise a wake is counted and lost.
 */
#include "arch/x86_64/cpu.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/uaccess.h"
#include "panic.h"
#include "proc/process.h"
#include "sched/restart.h"
#include "sched/sched.h"
#include "sched/wait.h"
#include "syscall.h"
#include "uapi/errno.h"

#define FUTEX_BUCKETS 64
#define FUTEX_TIMEOUT_MAX_MS (365ull * 24 * 3600 * 1000)     /* a year, as sleep_ms */

struct futex_waiter {
    struct thread *t;
    const void *vm;
    uintptr_t uaddr;
    bool woken;
    struct futex_waiter *next;
};

static struct futex_bucket {
    struct wait_queue wq;
    struct futex_waiter *waiters;
} buckets[FUTEX_BUCKETS] = { [0 ... FUTEX_BUCKETS - 1] = { .wq = WAIT_QUEUE_INIT("futex") } };

static struct futex_bucket *bucket_of(const void *vm, uintptr_t uaddr)
{
    uint64_t h = ((uintptr_t)vm >> 6) ^ (uaddr >> 2);
    h ^= h >> 17;
    h *= 0x9e3779b97f4a7c15ull;
    return &buckets[(h >> 32) % FUTEX_BUCKETS];
}

static void waiter_unlink(struct futex_bucket *b, struct futex_waiter *w)
{
    for (struct futex_waiter **p = &b->waiters; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            return;
        }
}

/* A thread ends with its waiter record kept across a restart: take it off the bucket, free it. */
static void futex_restart_cancel(struct thread *t)
{
    struct futex_waiter *w = t->restart.cookie;
    if (!w)
        return;
    uint64_t f = spin_lock(&sched_lock);
    if (!w->woken)
        waiter_unlink(bucket_of(w->vm, w->uaddr), w);
    spin_unlock(&sched_lock, f);
    kfree(w);
}

/*
 * In the exit path, woken (sched_lock held): a waker counted the waiter (0), or
 * its deadline passed (-ETIMEDOUT); then the wait ends there, with no second
 * run. restart_block() frees the record.
 */
static bool futex_restart_complete(struct thread *t, struct pt_regs *regs, long *result)
{
    (void)regs;
    struct futex_waiter *w = t->restart.cookie;
    uint64_t deadline = t->restart.deadline_ns;
    if (w->woken) {
        *result = 0;
        return true;
    }
    if (deadline && time_ns() >= deadline) {
        waiter_unlink(bucket_of(w->vm, w->uaddr), w);
        *result = -ETIMEDOUT;
        return true;
    }
    return false;
}

/*
 * The second run of a wait that restarted (sched/restart.c): its waiter record
 * is still queued, so nothing is read again. A waker that counted it: 0. Its
 * first deadline passed: -ETIMEDOUT. Else it waits on (woken for nothing).
 */
static long futex_wait_again(struct thread *t)
{
    struct futex_waiter *w = t->restart.cookie;
    struct futex_bucket *b = bucket_of(w->vm, w->uaddr);
    uint64_t deadline = t->restart.deadline_ns;
    long ret;
    uint64_t f = spin_lock(&sched_lock);
    if (w->woken) {
        ret = 0;
    } else if (t->proc->dying || (deadline && time_ns() >= deadline)) {
        ret = t->proc->dying ? -EINTR : -ETIMEDOUT;
        waiter_unlink(b, w);
    } else {
        ret = restart_arm_locked(&b->wq, deadline);
    }
    spin_unlock(&sched_lock, f);
    if (ret != -ERESTART_BLOCK)
        kfree(w);               /* syscall_entry() drops the record with it */
    return ret;
}

long sys_futex_wait(uint64_t uaddr, uint64_t expected, uint64_t timeout_ms)
{
    struct thread *t = current();
    struct process *p = t->proc;
    if (restart_reissued(t, SYS_futex_wait))
        return futex_wait_again(t);
    if (uaddr % 4)
        return -EINVAL;
    if (!access_ok(uaddr, 4))
        return -EFAULT;
    struct futex_waiter *w = kzalloc(sizeof(*w));
    if (!w)
        return -ENOMEM;
    *w = (struct futex_waiter){ .t = t, .vm = p->vm, .uaddr = uaddr };
    struct futex_bucket *b = bucket_of(w->vm, uaddr);
    if (timeout_ms > FUTEX_TIMEOUT_MAX_MS)
        timeout_ms = FUTEX_TIMEOUT_MAX_MS;  /* no overflow in nanoseconds */
    uint64_t deadline = timeout_ms ? time_ns() + timeout_ms * 1000000ull : 0;

    uint64_t f = spin_lock(&sched_lock);
    w->next = b->waiters;
    b->waiters = w;
    spin_unlock(&sched_lock, f);

    int value;
    long ret = copy_from_user(&value, (const void *)uaddr, sizeof(value));
    if (ret == 0 && value != (int)expected)
        ret = -EAGAIN;

    if (ret == 0 && restart_enabled) {
        /* A waker may dequeue w from here on: restart_block() sees `woken` (the complete hook) before it queues us. */
        t->restart.cookie = w;          /* the second run finds it here */
        t->restart.cancel = futex_restart_cancel;
        t->restart.complete = futex_restart_complete;
        return restart_arm(&b->wq, deadline);
    }
    f = spin_lock(&sched_lock);
    while (ret == 0 && !w->woken) {
        if (p->dying)
            ret = -EINTR;
        else if (!sched_block_locked(&b->wq, deadline))
            ret = -ETIMEDOUT;
    }
    if (w->woken)
        ret = 0;                /* a waker dequeued and counted us: its wake is ours */
    else
        waiter_unlink(b, w);
    KASSERT(ret != 0 || w->woken);
    spin_unlock(&sched_lock, f);
    kfree(w);
    return ret;
}

long sys_futex_wake(uint64_t uaddr, uint64_t count)
{
    struct process *p = current()->proc;
    if (uaddr % 4)
        return -EINVAL;
    if (!access_ok(uaddr, 4))
        return -EFAULT;
    int value;
    if (copy_from_user(&value, (const void *)uaddr, sizeof(value)))
        return -EFAULT;     /* a futex is a word of the process's memory, even to wake it */
    struct futex_bucket *b = bucket_of(p->vm, uaddr);
    long woken = 0;
    uint64_t f = spin_lock(&sched_lock);
    for (struct futex_waiter **pp = &b->waiters; *pp && (uint64_t)woken < count;) {
        struct futex_waiter *w = *pp;
        if (w->vm != p->vm || w->uaddr != uaddr) {
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        w->woken = true;
        wq_remove_locked(w->t);
        sched_wake_locked(w->t);    /* nothing if it has not blocked yet: it sees `woken` */
        woken++;
    }
    spin_unlock(&sched_lock, f);
    return woken;
}
