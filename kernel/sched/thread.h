/*
 * thread.h: kernel and user threads. A thread owns one kstack slot; its
 * wait-queue link lives here, never on a stack (docs/DESIGN.md section 7).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cpumask.h"

enum thread_state {
    THREAD_RUNNABLE,    /* on a run queue */
    THREAD_RUNNING,     /* current on some CPU */
    THREAD_BLOCKED,     /* on a wait queue or sleeping */
    THREAD_DEAD,        /* exited; a joinable thread's stack waits for thread_join() */
};

struct process;
struct pt_regs;
struct thread_ipc;
struct wait_queue;

struct thread {
    uint64_t saved_rsp;             /* switch_to() keeps the kernel RSP here: offset 0 */
    int tid;
    char name[24];
    enum thread_state state;
    struct process *proc;           /* NULL for kernel threads */

    uintptr_t kstack_base;          /* the slot */
    uint64_t *kstack_ptes;          /* its top page's PTE (page i: kstack_ptes[-i]); the table never moves while the slot lives */
    uintptr_t kstack_top;           /* TSS.RSP0 and the SYSCALL stack while it runs */

    int cpu;                        /* CPU it runs on, or last ran on */
    bool on_cpu;                    /* still executing (or switching out) somewhere */
    cpumask_t cpus_run;             /* every CPU it has run on (tests, accounting) */
    uint64_t migrations;
    int move_to;                    /* sched_move_to(): CPU + 1, or 0 */

    struct thread *rq_next;         /* run queue link */
    struct thread *wait_next;       /* wait queue links: doubly linked, so that a wake or a timeout */
    struct thread *wait_prev;       /* removes any waiter in O(1) (futex_wake of N waiters is O(N)) */
    struct wait_queue *waiting_on;
    struct thread *sleep_next;      /* sleep list link */
    uint64_t wake_at_ns;
    bool timed_out;

    struct thread *all_next;        /* every live thread */
    bool detached;                  /* freed as soon as it is switched out dead, never joined */

    void (*entry)(void *);
    void *arg;
    long exit_value;
    struct wait_queue *join_wq;

    uint8_t kstack_mapped;          /* bit i: page i of the slot (from the top) is mapped; IRQs off to change */
    uint8_t kstack_at_rest;         /* user threads: the pages the strategy leaves mapped in user mode; 0 for kernel threads */
    int kstack_high_water;          /* most stack pages one kernel entry used */
    bool kstack_user_bound;         /* switched out on its way back to user mode (or not yet run): needs only its top page until its next entry */
    uint32_t kstack_expands, kstack_shrinks, kstack_faults;     /* this thread's share of the strategy counters */

    int locks_held;                 /* sleeping locks (mutexes) held: the overflow report says */
    const char *lock_names[4];

    void *fpu;                      /* user x87/SSE/AVX state: arch/x86_64/fpu.c (kmalloc'd, never on a stack) */
    struct thread_restart {         /* a blocking syscall made restartable (sched/restart.c) */
        bool armed;                 /* to wait: block in exit_to_user_mode(), after the shrink */
        bool queue_at_exit;         /* not queued yet: restart_block() queues it on wq (restart_arm()) */
        struct wait_queue *wq;
        uint32_t nr;                /* the syscall that will run again, + 1; 0: none */
        uint64_t deadline_ns;       /* its absolute deadline (0: none), kept across the restart */
        void *cookie;               /* what the syscall keeps across it (futex: its waiter record) */
        void (*cancel)(struct thread *t);   /* frees cookie if the thread ends instead */
        bool (*complete)(struct thread *t, struct pt_regs *regs, long *result);  /* sched_lock held, woken: the call's result, if the record has it */
    } restart;
    struct thread_ipc *ipc;         /* its IPC state (proc/ipc.c), made at its first IPC call */
    struct thread *handoff_to;      /* run this blocked thread next, here (sched_handoff_locked()) */
    struct thread *handoff_from;    /* the thread whose handoff_to names this one: any wake of it ends that */
};

/* A new kernel thread, runnable at once; NULL when out of memory. */
struct thread *thread_create(const char *name, void (*fn)(void *), void *arg);
/* Start a thread that is freed as soon as it exits (switched away from). */
struct thread *thread_create_detached(const char *name, void (*fn)(void *), void *arg);
/* Wait for t to exit, collect its value and free it (stack, slot, struct). */
long thread_join(struct thread *t);
__attribute__((noreturn)) void thread_exit(long value);

int thread_count(void);
struct thread *thread_first(void);     /* the list of all threads (sched_lock) */

/* For the scheduler and the user-mode code. */
struct thread *thread_alloc(const char *name, uintptr_t slot);
/* Free a dead thread that is off every CPU (sched_lock held). */
void thread_free_locked(struct thread *t);
void sched_finish_switch(void);
static inline bool thread_is_user(const struct thread *t) { return t->proc != NULL; }
