/*
 * process.c: processes and user threads (see process.h): spawn, thread
 * create/exit/join, exit and kill, wait, and the first program (init=).
 *
 * Lifetime: a process lives while it has threads. The last thread out frees
 * the address space and makes the process a zombie, which the parent's
 * wait() frees (at once if there is no parent). A thread drops its t->proc
 * and leaves the process with IRQs off right before thread_exit(), so no
 * thread that could still be scheduled points at a freed process.
 */
#include "proc/process.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/trap.h"
#include "cmdline.h"
#include "entry.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/pmm.h"
#include "mm/uaccess.h"
#include "mm/uvm.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"
#include "proc/exec.h"
#include "sched/restart.h"
#include "sched/sched.h"
#include "stack/kstack.h"
#include "stack/overflow.h"
#include "stack/strategy.h"
#include "syscall.h"
#include "uapi/errno.h"

static struct process *all_procs;       /* sched_lock */
static int next_pid = 1;                /* sched_lock */
static struct process *init_proc;       /* the program started by init= */
static int user_threads;                /* sched_lock: user threads alive or being created */
int process_threads_max, process_threads_max_per_process;

/*
 * As Linux's threads-max: kernel stacks may take an eighth of memory, at the
 * fixed 16 KiB per thread whatever the strategy (a thread asleep in the
 * kernel holds all of it), and one process may have half of that (Linux's
 * RLIMIT_NPROC default). A thread bomb gets -EAGAIN long before memory runs
 * out; slots are reserved for kernel threads and per-CPU stacks.
 */
void process_init(void)
{
    long max = (long)(pmm_total_pages() / (8 * KSTACK_PAGES));
    if (max > KSTACK_MAX_SLOTS - 4096)
        max = KSTACK_MAX_SLOTS - 4096;
    if (max < 16)
        max = 16;
    process_threads_max = (int)max;
    process_threads_max_per_process = (int)max / 2;
    kstack_slots_prebuild((unsigned)max + 1024);       /* no page table is made for a thread later */
    printk("process: at most %d user threads, %d per process\n", process_threads_max,
           process_threads_max_per_process);
}

static struct uthread *uthread_find(struct process *p, int tid)
{
    for (struct uthread *u = p->threads; u; u = u->next)
        if (u->tid == tid)
            return u;
    return NULL;
}

static void uthread_unlink(struct process *p, struct uthread *u)
{
    for (struct uthread **pp = &p->threads; *pp; pp = &(*pp)->next)
        if (*pp == u) {
            *pp = u->next;
            return;
        }
}

/* A zombie (or a process that never started) that nobody will look at again. */
static void process_free(struct process *p)
{
    KASSERT(!p->vm && p->live_threads == 0);
    while (p->threads) {
        struct uthread *u = p->threads;
        p->threads = u->next;
        kfree(u);
    }
    kfree(p);
}

/* Count one more user thread of p against the limits (sched_lock held): false when over one. */
static bool thread_limit_take(struct process *p)
{
    if (user_threads >= process_threads_max || p->live_threads >= process_threads_max_per_process)
        return false;
    user_threads++;
    p->live_threads++;
    return true;
}

static void thread_limit_give(struct process *p)
{
    user_threads--;
    p->live_threads--;
}

/*
 * A user thread of p, ready to start (not started): its first switch enters
 * user mode at entry. 0 and *out, or -EAGAIN (a thread limit, or no stack
 * slot) or -ENOMEM, with nothing left allocated and nothing counted.
 */
static int uthread_prepare(struct process *p, uintptr_t entry, uintptr_t rsp, uint64_t rdi, struct thread **out)
{
    uint64_t f = spin_lock(&sched_lock);
    bool counted = thread_limit_take(p);
    spin_unlock(&sched_lock, f);
    if (!counted)
        return -EAGAIN;
    struct uthread *u = kzalloc(sizeof(*u));
    uintptr_t slot = 0;
    int err = u ? kstack_alloc_user(&slot) : -ENOMEM;     /* the pages the strategy keeps at rest */
    /*
     * The slot may have had an owner whose pages this CPU still has in its
     * TLB: invalidate them here, and stay on this CPU (IRQs off) while the
     * first frames are written through the slot's addresses.
     */
    f = irq_save();
    for (int i = 0; !err && i < (int)(KSTACK_ENSURE_MAX / PAGE_SIZE); i++)
        invlpg(kstack_page_va(slot, i));
    struct thread *t = err ? NULL : thread_alloc(p->name, slot);
    if (!t) {
        irq_restore(f);
        if (slot)
            kstack_slot_free(slot);
        kfree(u);
        f = spin_lock(&sched_lock);
        thread_limit_give(p);
        spin_unlock(&sched_lock, f);
        return err ? err : -ENOMEM;
    }
    t->proc = p;
    t->kstack_at_rest = t->kstack_mapped;      /* what kstack_alloc_user() mapped */
    t->kstack_user_bound = true;    /* its first run goes straight to user mode, on the top page */
    t->detached = true;     /* freed when it ends; user space's thread_join uses struct uthread */

    /* The frame of the thread's first iretq, where every later entry from user mode puts its own. */
    struct pt_regs *regs = thread_user_regs(t);
    memset(regs, 0, sizeof(*regs));
    regs->rip = entry;
    regs->cs = SEL_UCODE;
    regs->rflags = RFLAGS_IF | 2;   /* bit 1 is always set */
    regs->rsp = rsp;
    regs->ss = SEL_UDATA;
    regs->rdi = rdi;
    regs->vector = PTREGS_VECTOR_SYSCALL;

    /* Below it, a frame that switch_to() "returns" through into user_thread_first_entry(). */
    uint64_t *sp = (uint64_t *)regs;
    *--sp = 0;                                  /* its return address: ends backtraces */
    *--sp = (uint64_t)user_thread_first_entry;
    for (int i = 0; i < 6; i++)                 /* rbp, rbx, r12-r15 */
        *--sp = 0;
    *--sp = 2;                                  /* RFLAGS: IF off, AC clear (switch.asm) */
    t->saved_rsp = (uint64_t)sp;
    irq_restore(f);

    f = spin_lock(&sched_lock);
    u->tid = t->tid;
    u->t = t;
    u->next = p->threads;
    p->threads = u;
    spin_unlock(&sched_lock, f);
    *out = t;
    return 0;
}

int process_thread_create(struct process *p, uintptr_t entry, uintptr_t rsp, uint64_t rdi)
{
    struct thread *t;
    int err = uthread_prepare(p, entry, rsp, rdi, &t);
    if (err)
        return err;
    int tid = t->tid;
    sched_start(t);
    return tid;
}

static int spawn(const char *program, int argc, char *const argv[], struct process *parent, bool is_init)
{
    size_t size;
    const void *image = exec_find_program(program, &size);
    if (!image)
        return -ENOENT;
    struct process *p = kzalloc(sizeof(*p));
    if (!p)
        return -ENOMEM;
    strlcpy(p->name, program, sizeof(p->name));
    wq_init(&p->child_wq, "wait");
    wq_init(&p->join_wq, "thread_join");
    p->vm = uvm_create();
    uintptr_t entry, rsp;
    int err = p->vm ? exec_load(p->vm, image, size, argc, argv, &entry, &rsp) : -ENOMEM;
    struct thread *t = NULL;
    if (!err)
        err = uthread_prepare(p, entry, rsp, 0, &t);
    if (err) {
        if (p->vm)
            uvm_destroy(p->vm);     /* never loaded on any CPU */
        p->vm = NULL;
        process_free(p);
        return err;
    }

    uint64_t f = spin_lock(&sched_lock);
    int pid = p->pid = next_pid++;
    p->parent = parent;
    if (parent) {
        p->sibling = parent->children;
        parent->children = p;
    }
    p->all_next = all_procs;
    all_procs = p;
    if (is_init)
        init_proc = p;
    spin_unlock(&sched_lock, f);
    sched_start(t);
    return pid;
}

int process_spawn(const char *program, int argc, char *const argv[], struct process *parent)
{
    return spawn(program, argc, argv, parent, false);
}

void process_kill_locked(struct process *p, int status)
{
    if (!p->dying) {
        p->dying = true;
        p->exit_status = status;
    }
    for (struct uthread *u = p->threads; u; u = u->next) {
        struct thread *t = u->t;
        if (!t || t == current())
            continue;
        if (t->state == THREAD_BLOCKED) {
            wq_remove_locked(t);
            sched_wake_locked(t);       /* it sees `dying` in its wait loop and leaves */
        } else if (t->state == THREAD_RUNNING && t->cpu != cpu_id()) {
            apic_send_ipi(t->cpu, VEC_RESCHED);     /* its exit_to_user_mode() comes soon */
        }
    }
}

void process_kill(struct process *p, int status)
{
    uint64_t f = spin_lock(&sched_lock);
    process_kill_locked(p, status);
    spin_unlock(&sched_lock, f);
}


/* The last thread is gone: free the address space, become a zombie (or go). IRQs on. */
static void process_finish(struct process *p)
{
    uint64_t f = irq_save();
    struct uvm *vm = p->vm;
    p->vm = NULL;                   /* from now on this thread runs on kernel_pml4 */
    uvm_switch_to_kernel();
    irq_restore(f);
    uvm_destroy(vm);

    if (p == init_proc) {
        init_proc = NULL;
        printk("init: program %s (pid %d) exited with status %d\n", p->name, p->pid, p->exit_status);
        kstack_print_kstat("init exited");
        printk("init: leaving QEMU (%s)\n", p->exit_status == 0 ? "pass" : "fail");
        machine_exit(p->exit_status == 0 ? QEMU_EXIT_PASS : QEMU_EXIT_FAIL);
    }
}

/* Unlink p from the list of all processes (sched_lock held). */
static void unlink_all(struct process *p)
{
    for (struct process **pp = &all_procs; *pp; pp = &(*pp)->all_next)
        if (*pp == p) {
            *pp = p->all_next;
            return;
        }
}

void process_thread_exit(long value)
{
    struct thread *t = current();
    struct process *p = t->proc;
    KASSERT(p);
    if (t->restart.nr || t->restart.armed)
        restart_cancel(t);          /* a restartable wait that will not run again */
    ipc_thread_exit(t);             /* a call it holds fails with -EPIPE; its receive ends */
    uint64_t f = spin_lock(&sched_lock);
    struct uthread *u = p->threads;
    while (u && u->t != t)
        u = u->next;
    KASSERT(u);
    u->t = NULL;
    u->exited = true;
    u->value = value;
    wq_wake_all_locked(&p->join_wq);
    user_threads--;
    bool last = p->live_threads == 1;
    if (!last) {
        p->live_threads--;
        t->proc = NULL;
        spin_unlock(&sched_lock, 0);    /* IRQs stay off: nothing runs between here and the exit */
        thread_exit(value);
    }
    spin_unlock(&sched_lock, f);

    /* The last thread: nobody else can end p while live_threads is 1. */
    sti();
    if (!p->dying)
        p->exit_status = 0;         /* the last thread left by thread_exit: as a return from main with 0 */
    ipc_process_exit(p);            /* its handles close: endpoints it receives on die */
    process_finish(p);

    struct process *orphans = NULL;
    f = spin_lock(&sched_lock);
    p->live_threads = 0;
    p->zombie = true;
    t->proc = NULL;
    for (struct process *c = p->children, *next; c; c = next) {
        next = c->sibling;
        c->parent = NULL;
        if (c->zombie) {            /* nobody will wait for it now */
            unlink_all(c);
            c->sibling = orphans;
            orphans = c;
        }
    }
    p->children = NULL;
    bool reap_self = p->parent == NULL;
    if (reap_self)
        unlink_all(p);
    else
        wq_wake_all_locked(&p->parent->child_wq);
    spin_unlock(&sched_lock, 0);
    while (orphans) {
        struct process *c = orphans;
        orphans = c->sibling;
        process_free(c);
    }
    if (reap_self)
        process_free(p);
    thread_exit(value);
}

int process_wait(int pid, int *status)
{
    struct process *me = current()->proc, *found = NULL;
    int ret;
    uint64_t f = spin_lock(&sched_lock);
    for (;;) {
        if (me->dying) {
            ret = -EINTR;
            break;
        }
        bool any = false;
        struct process **pp;
        for (pp = &me->children; *pp; pp = &(*pp)->sibling) {
            if (pid != -1 && (*pp)->pid != pid)
                continue;
            any = true;
            if ((*pp)->zombie)
                break;
        }
        if (*pp) {
            found = *pp;
            *pp = found->sibling;
            unlink_all(found);
            ret = found->pid;
            *status = found->exit_status;
            break;
        }
        if (!any) {
            ret = -ECHILD;
            break;
        }
        if (restart_enabled) {          /* the scan runs again when the call does */
            ret = (int)restart_arm_locked(&me->child_wq, 0);
            break;
        }
        sched_block_locked(&me->child_wq, 0);
    }
    spin_unlock(&sched_lock, f);
    if (found)
        process_free(found);
    return ret;
}

int process_thread_join(int tid, long *value)
{
    struct process *p = current()->proc;
    struct uthread *done = NULL;
    bool again = restart_reissued(current(), SYS_thread_join);     /* then `joining` is ours */
    int ret = 0;
    uint64_t f = spin_lock(&sched_lock);
    struct uthread *u = uthread_find(p, tid);
    if (!u)
        ret = -ESRCH;
    else if (u->t == current() || (u->joining && !again))
        ret = -EINVAL;
    if (ret == 0) {
        u->joining = true;
        while (!u->exited && !p->dying) {
            if (restart_enabled) {
                long r = restart_arm_locked(&p->join_wq, 0);    /* `joining` stays set for the second run */
                spin_unlock(&sched_lock, f);
                return (int)r;
            }
            sched_block_locked(&p->join_wq, 0);
        }
        u->joining = false;
        if (u->exited) {
            *value = u->value;
            uthread_unlink(p, u);
            done = u;
        } else {
            ret = -EINTR;
        }
    }
    spin_unlock(&sched_lock, f);
    kfree(done);
    return ret;
}

bool process_kernel_oops(struct pt_regs *regs)
{
    struct thread *t = current();
    struct process *p = t->proc;
    /*
     * Only where ending the thread is safe: a user thread in a syscall, with
     * IRQs on at the fault (no spinlock held), no mutex, not in an interrupt.
     */
    if (!p || !(regs->rflags & RFLAGS_IF) || this_cpu()->irq_depth || this_cpu()->spin_depth || t->locks_held ||
        regs->vector == VEC_DF || regs->vector == VEC_NMI || regs->vector == VEC_MC ||
        kstack_slot_of(regs->rsp) != t->kstack_base)
        return false;
    trap_report(regs, "in kernel mode (oops)");
    printk("oops: killing pid %d (%s), tid %d: %s in the kernel during a syscall; the kernel goes on\n", p->pid,
           p->name, t->tid, trap_name(regs->vector));
    process_kill(p, EXIT_KILLED_BASE + (int)regs->vector);
    sti();
    process_thread_exit(-EFAULT);
}

/* After a kernel stack overflow: a fresh frame at the top of the thread's own stack. */
static void overflow_exit(void)
{
    sti();
    process_thread_exit(-EFAULT);
}

/* stack/overflow.c, kstack_overflow=kill, on the #DF stack with IRQs off, no lock held: never returns. */
void kstack_overflow_kill_user(struct thread *t)
{
    KASSERT(this_cpu()->spin_depth == 0 && t->locks_held == 0);     /* kstack_overflow_kill_refusal() */
    printk("kernel stack overflow: killing pid %d (%s)\n", t->proc->pid, t->proc->name);
    process_kill(t->proc, EXIT_KILLED_BASE + VEC_DF);
    /* The overflowed frames are garbage: leave them and the #DF stack behind. */
    call_on_stack(t->kstack_top, overflow_exit);
}

void process_start_init(void)
{
    char name[64] = "init", arg[64];
    cmdline_get("init", name, sizeof(name));
    bool has_arg = cmdline_get("initarg", arg, sizeof(arg));     /* one word: the program's argv[1] */
    char *argv[] = { name, has_arg ? arg : NULL, NULL };
    int pid = spawn(name, has_arg ? 2 : 1, argv, NULL, true);
    if (pid < 0) {
        printk("init: cannot start program '%s': %s (%d)\n", name,
               pid == -ENOENT ? "no boot module of that name" : pid == -ENOEXEC ? "not a static ELF64 executable"
                                                                                : "out of memory",
               pid);
        machine_exit(QEMU_EXIT_FAIL);
    }
    printk("init: started %s as pid %d\n", name, pid);
}

/* ---------------------------------------------------------------- syscalls */

long sys_exit(uint64_t code)
{
    process_kill(current()->proc, (int)(code & 0xff));
    process_thread_exit(0);
}

long sys_thread_exit(uint64_t value)
{
    process_thread_exit((long)value);
}

/* In the exit path, woken (sched_lock held): the sleep is over once its first deadline has passed. */
static bool sleep_restart_complete(struct thread *t, struct pt_regs *regs, long *result)
{
    (void)regs;
    *result = 0;
    return time_ns() >= t->restart.deadline_ns;
}

long sys_sleep_ms(uint64_t ms)
{
    struct thread *t = current();
    struct process *p = t->proc;
    if (ms > 365ull * 24 * 3600 * 1000)
        ms = 365ull * 24 * 3600 * 1000;     /* no overflow in nanoseconds */
    /* Run again after a restart, it keeps the deadline of its first run. */
    uint64_t deadline = restart_reissued(t, SYS_sleep_ms) ? t->restart.deadline_ns : time_ns() + ms * 1000000ull;
    if (restart_enabled && time_ns() < deadline && !p->dying) {
        t->restart.complete = sleep_restart_complete;
        return restart_arm(NULL, deadline);     /* restart_block() queues it on the sleepers, if it is not over */
    }
    uint64_t f = spin_lock(&sched_lock);
    while (time_ns() < deadline && !p->dying)
        sched_block_locked(NULL, deadline);
    spin_unlock(&sched_lock, f);
    return p->dying ? -EINTR : 0;
}

long sys_spawn(uint64_t uprogram, uint64_t uargv)
{
    char name[64];
    long n = strncpy_from_user(name, (const char *)uprogram, sizeof(name));
    if (n < 0)
        return n == -E2BIG ? -ENOENT : n;   /* longer than any module name */
    /* Every argument gets a slot of EXEC_ARG_LEN_MAX bytes: 16 KiB in all. */
    char *buf = kmalloc(EXEC_ARGV_MAX * EXEC_ARG_LEN_MAX);
    char **args = kmalloc(EXEC_ARGV_MAX * sizeof(char *));
    long ret = buf && args ? 0 : -ENOMEM;
    int argc = 0;
    for (; ret == 0 && uargv; argc++) {
        uint64_t uarg;
        if (copy_from_user(&uarg, (const char *)uargv + argc * sizeof(uint64_t), sizeof(uarg))) {
            ret = -EFAULT;
            break;
        }
        if (!uarg)
            break;
        if (argc == EXEC_ARGV_MAX) {
            ret = -E2BIG;
            break;
        }
        args[argc] = buf + argc * EXEC_ARG_LEN_MAX;
        n = strncpy_from_user(args[argc], (const char *)uarg, EXEC_ARG_LEN_MAX);
        if (n < 0)
            ret = n;
    }
    if (ret == 0)
        ret = process_spawn(name, argc, args, current()->proc);
    kfree(buf);
    kfree(args);
    return ret;
}

long sys_wait(uint64_t pid, uint64_t ustatus)
{
    if (ustatus && !access_ok(ustatus, sizeof(int)))
        return -EFAULT;
    int status = 0;
    int ret = process_wait((int)pid, &status);
    if (ret > 0 && ustatus && copy_to_user((void *)ustatus, &status, sizeof(status)))
        return -EFAULT;
    return ret;
}

long sys_thread_create(uint64_t entry, uint64_t arg, uint64_t stack_top)
{
    /* Both must be canonical user addresses: iretq faults in the kernel on a bad RIP. */
    if (entry >= USER_TOP || stack_top >= USER_TOP || stack_top < USER_BASE)
        return -EINVAL;
    return process_thread_create(current()->proc, entry, stack_top, arg);
}

long sys_thread_join(uint64_t tid, uint64_t uvalue)
{
    if (uvalue && !access_ok(uvalue, sizeof(long)))
        return -EFAULT;
    long value = 0;
    int ret = process_thread_join((int)tid, &value);
    if (ret == 0 && uvalue && copy_to_user((void *)uvalue, &value, sizeof(value)))
        return -EFAULT;
    return ret;
}

/* Is p the process `by` or one of its descendants? (sched_lock held) */
static bool descends_from(const struct process *p, const struct process *by)
{
    for (; p; p = p->parent)
        if (p == by)
            return true;
    return false;
}

int process_find_locked(int pid, const struct process *by, struct process **out)
{
    struct process *p = all_procs;
    while (p && p->pid != pid)
        p = p->all_next;
    if (!p || p->zombie || p->dying)
        return -ESRCH;
    if (by && !descends_from(p, by))
        return -EPERM;
    *out = p;
    return 0;
}

int process_kill_pid(int pid, int status, const struct process *by)
{
    struct process *p;
    uint64_t f = spin_lock(&sched_lock);
    int err = process_find_locked(pid, by, &p);
    if (!err)
        process_kill_locked(p, status);
    spin_unlock(&sched_lock, f);
    return err;
}

long sys_kill(uint64_t pid, uint64_t status)
{
    if ((int64_t)pid <= 0 || pid > INT32_MAX)
        return -ESRCH;
    struct process *me = current()->proc;
    long err = process_kill_pid((int)pid, (int)(status & 0xff), me);
    if (err == 0 && me->dying)
        return -EINTR;          /* it was ourselves: we leave at the exit to user mode */
    return err;
}
