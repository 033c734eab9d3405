/*
 * ps.c: the ps syscall, every thread with its stack as it is now (uapi/ps.h),
 * for the shell's `ps` and the live view. One pass over the thread list
 * under sched_lock into a kernel buffer, then one copy out.
 */
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/uaccess.h"
#include "proc/process.h"
#include "sched/sched.h"
#include "sched/thread.h"
#include "sched/wait.h"
#include "stack/strategy.h"
#include "syscall.h"
#include "uapi/errno.h"
#include "uapi/ps.h"

#define PS_MAX 4096     /* records one call returns at most (a 400 KiB buffer) */

static void fill(struct ps_thread *r, const struct thread *t)
{
    memset(r, 0, sizeof(*r));
    r->tid = t->tid;
    r->pid = t->proc ? t->proc->pid : 0;
    r->state = (uint8_t)(t->state == THREAD_RUNNING ? PS_RUNNING : t->state == THREAD_RUNNABLE ? PS_RUNNABLE
                         : t->state == THREAD_BLOCKED ? PS_BLOCKED : PS_DEAD);
    r->cpu = (int8_t)t->cpu;
    r->resident_pages = (uint8_t)(t->kstack_base ? kstack_resident_pages(t) : 0);
    r->high_water_pages = (uint8_t)t->kstack_high_water;
    r->expands = t->kstack_expands;
    r->shrinks = t->kstack_shrinks;
    r->faults = t->kstack_faults;
    strlcpy(r->name, t->name, sizeof(r->name));
    if (t->proc)
        strlcpy(r->proc, t->proc->name, sizeof(r->proc));
    if (t->state == THREAD_BLOCKED) {
        const char *on = t->waiting_on ? t->waiting_on->name : ipc_awaits_reply(t) ? "ipc-reply"
                       : t->wake_at_ns ? "sleep" : "";
        strlcpy(r->wait, on, sizeof(r->wait));
        r->at_rest = t->restart.nr != 0;
    }
}

long sys_ps(uint64_t ubuf, uint64_t n)
{
    if (!ubuf)
        return thread_count();
    if (n > PS_MAX)
        n = PS_MAX;
    if (n == 0)
        return 0;
    if (!access_ok(ubuf, n * sizeof(struct ps_thread)))
        return -EFAULT;
    struct ps_thread *buf = kmalloc(n * sizeof(*buf));
    if (!buf)
        return -ENOMEM;
    size_t count = 0;
    uint64_t f = spin_lock(&sched_lock);
    for (struct thread *t = thread_first(); t && count < n; t = t->all_next)
        fill(&buf[count++], t);
    spin_unlock(&sched_lock, f);
    long ret = copy_to_user((void *)ubuf, buf, count * sizeof(*buf)) ? -EFAULT : (long)count;
    kfree(buf);
    return ret;
}
