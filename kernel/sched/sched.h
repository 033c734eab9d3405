/*
 * sched.h: the scheduler. Per-CPU run queues (round robin with a time
 * slice), timer preemption, work stealing by idle CPUs, timed sleep, and
 * wait queues. One lock, sched_lock, covers all of it: it is held across
 * switch_to() and released by whichever thread runs next on that CPU.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "arch/x86_64/ptregs.h"
#include "percpu.h"
#include "sched/thread.h"
#include "spinlock.h"

#define SCHED_SLICE_TICKS 2

extern struct spinlock sched_lock;

static inline struct thread *current(void) { return this_cpu()->current; }

/* BSP: make the boot context this CPU's idle-thread-to-be and set up the scheduler. */
void sched_init(void);
/* Each CPU, last step of bring-up: become the idle thread, never return. */
__attribute__((noreturn)) void sched_init_cpu(void);

void schedule(void);
/* schedule() for a caller that holds sched_lock; returns with it still held. */
void schedule_locked(void);
void sched_yield(void);
/* Continue on another CPU (tests: threads that migrate on purpose). */
void sched_move_to(int cpu);
/* Make a blocked thread runnable (sched_lock held). */
void sched_wake_locked(struct thread *t);
/*
 * A direct handoff (proc/ipc.c): t, blocked and on no wait queue, runs next
 * on this CPU, without a run queue, when the caller next schedules (it is
 * about to block). A caller that turns out not to block gives t to the run
 * queues with sched_handoff_drop_locked(). sched_lock held.
 */
void sched_handoff_locked(struct thread *t);
void sched_handoff_drop_locked(struct thread *me);
/* Put a new thread on a run queue. */
void sched_start(struct thread *t);

/* Sleep at least ms milliseconds (never less). */
void sched_sleep_ms(uint64_t ms);
/* Block until *deadline_ns (0 = none) on wq; sched_lock held. Returns false on time-out. */
bool sched_block_locked(struct wait_queue *wq, uint64_t deadline_ns);
/* The two halves of a wait without the sleep (sched/restart.c): queue t on wq (may be NULL) and on
 * the sleepers until deadline_ns (0: none), or take it off both. sched_lock held. */
void sched_wait_link_locked(struct thread *t, struct wait_queue *wq, uint64_t deadline_ns);
void sched_wait_unlink_locked(struct thread *t);

/* Timer interrupt: slice accounting and sleepers. */
void sched_tick(struct pt_regs *regs);
void sched_resched_ipi(void);

/* Nanoseconds since boot, from the TSC. */
uint64_t time_ns(void);

/* Called by the context-switch path when a thread starts running on a CPU other than its last one. */
void sched_migrated(struct thread *t);

int sched_runqueue_length(int cpu);
uint64_t sched_total_migrations(void);
