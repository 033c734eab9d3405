/*
 * wait.h: wait queues and mutexes. A waiting thread is linked through its
 * own struct thread (thread->wait_next), never through a stack object.
 * Every wait queue is protected by sched_lock.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "sched/sched.h"

struct wait_queue {
    struct thread *head, *tail;
    const char *name;
};

#define WAIT_QUEUE_INIT(n) { .head = 0, .tail = 0, .name = (n) }

void wq_init(struct wait_queue *wq, const char *name);
/* Wake every waiter / one waiter; returns how many. sched_lock must be held. */
int wq_wake_all_locked(struct wait_queue *wq);
int wq_wake_one_locked(struct wait_queue *wq);
int wq_wake_all(struct wait_queue *wq);
/* Remove t from its wait queue if it is on one (sched_lock held). */
void wq_remove_locked(struct thread *t);

/* Sleep on wq until cond holds. cond is evaluated with sched_lock held. */
#define wait_event(wq, cond)                                                      \
    do {                                                                          \
        uint64_t _f = spin_lock(&sched_lock);                                     \
        while (!(cond))                                                           \
            sched_block_locked((wq), 0);                                          \
        spin_unlock(&sched_lock, _f);                                             \
    } while (0)

struct mutex {
    struct thread *owner;
    struct wait_queue waiters;
    const char *name;
};

#define MUTEX_INIT(n) { .owner = 0, .waiters = WAIT_QUEUE_INIT(n), .name = (n) }

void mutex_init(struct mutex *m, const char *name);
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
bool mutex_held(const struct mutex *m);

/* Debug rule of docs/DESIGN.md section 7: no shared object on a dynamic stack. */
void assert_not_on_stack(const void *obj, const char *what);
