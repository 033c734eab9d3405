/*
 * process.h: user processes and their threads. A process is an address
 * space, its threads, its children and an exit status. Process state (the
 * tree, thread records, dying, zombies) is protected by sched_lock, like the
 * wait queues it sleeps on. Loading programs is proc/exec.c; entry and exit
 * of user mode is entry.c.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "arch/x86_64/ptregs.h"
#include "percpu.h"
#include "proc/ipc.h"
#include "sched/wait.h"

struct uvm;

/* One user thread of a process, from thread_create until thread_join (or the process's end). */
struct uthread {
    int tid;
    struct thread *t;           /* NULL once the thread has exited */
    bool exited;
    bool joining;               /* someone waits in thread_join for it */
    long value;
    struct uthread *next;
};

struct process {
    int pid;
    char name[32];
    struct uvm *vm;             /* NULL once the last thread has gone */

    struct process *parent;     /* NULL: nobody waits; reaped at exit */
    struct process *children;   /* live and zombie children */
    struct process *sibling;
    struct process *all_next;

    struct uthread *threads;
    int live_threads;
    bool dying;                 /* exit or a kill: every thread leaves at its next exit to user mode */
    bool zombie;                /* all threads gone; waits for the parent's wait() */
    int exit_status;

    struct wait_queue child_wq; /* the parent's wait() sleeps here */
    struct wait_queue join_wq;  /* thread_join() sleeps here */
    struct ipc_handle handles[IPC_HANDLES];     /* its IPC endpoints (proc/ipc.c), under sched_lock */
};

/*
 * Start program (a boot module) in a new process with argv (argc strings,
 * kernel copies), as a child of parent (NULL: nobody waits). The pid, or
 * -ENOENT (no such program), -ENOEXEC, -ENOMEM, -E2BIG.
 */
/* The thread limits, from the size of memory (boot, after pmm_init). */
void process_init(void);
extern int process_threads_max, process_threads_max_per_process;

int process_spawn(const char *program, int argc, char *const argv[], struct process *parent);

/* A user thread of p entering at entry with rsp and rdi; the tid or -errno. */
int process_thread_create(struct process *p, uintptr_t entry, uintptr_t rsp, uint64_t rdi);

/* Wait for a child (pid, or -1 for any) to end: its pid and *status; -ECHILD, -EINTR (we are dying). */
int process_wait(int pid, int *status);
/* Wait for thread tid of the current process: 0 and *value; -ESRCH, -EINVAL, -EINTR. */
int process_thread_join(int tid, long *value);

/* End the whole process with status (the first status given wins). Returns; the caller then exits. */
void process_kill(struct process *p, int status);
/* The same with sched_lock held: mark p dying, wake or nudge each of its threads but the caller. */
void process_kill_locked(struct process *p, int status);
/*
 * End process pid with status, if `by` may: by is that process or an
 * ancestor of it (NULL: the kernel itself, e.g. the console's Ctrl-C).
 * 0, -ESRCH (no such live process), -EPERM.
 */
int process_kill_pid(int pid, int status, const struct process *by);
/* The live process pid that `by` may end (as above), in *out; sched_lock held. */
int process_find_locked(int pid, const struct process *by, struct process **out);
/* Has the current thread's process been told to end? */
static inline bool process_dying(void)
{
    struct process *p = this_cpu()->current->proc;
    return p && __atomic_load_n(&p->dying, __ATOMIC_RELAXED);
}
/* End the current user thread (the process when it is the last); IRQs any. */
__attribute__((noreturn)) void process_thread_exit(long value);

/* A kernel-mode fault in a user thread's syscall that nothing fixed up: kill its process if that is safe. */
bool process_kernel_oops(struct pt_regs *regs);

/* The init program: init= (default "init"); its exit ends QEMU with its status (machine_exit). */
void process_start_init(void);

/* testsys=1 on the command line: test-only syscalls are allowed. */
extern bool testsys_enabled;
