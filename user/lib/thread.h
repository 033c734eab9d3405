/*
 * thread.h: user threads over sys_thread_create (stacks included) and a
 * futex-based mutex. Not pthreads: no attributes, no cancellation, no TLS.
 */
#pragma once
#include <stdbool.h>

#define THREAD_STACK_SIZE (64 * 1024)   /* of which the lowest page is a guard */
#define THREAD_MAX 16384                /* threads a process can have spawned and not joined (the kernel limits it first) */

/*
 * Starts fn(arg) on a new thread with its own stack; returns the tid or a
 * negative errno. When fn returns the thread exits with value 0; fn may also
 * call sys_thread_exit(value) itself.
 */
int thread_spawn(void (*fn)(void *), void *arg);

/* Waits for thread tid, stores its exit value in *value (if not NULL), frees its stack. */
int thread_join(int tid, long *value);

/* Drepper's three-state futex mutex ("Futexes Are Tricky", mutex 2). */
struct mutex {
    int state;      /* 0 free, 1 held, 2 held and maybe waited for */
};
#define MUTEX_INIT { 0 }

void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
