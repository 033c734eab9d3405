/*
 * ipc.h: synchronous IPC between user processes (uapi/ipc.h is the user's
 * view; docs/DESIGN.md section 13.2). All of its state is under sched_lock.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "uapi/ipc.h"

struct process;
struct thread;
struct ipc_endpoint;

/* One slot of a process's handle table (struct process). */
struct ipc_handle {
    struct ipc_endpoint *ep;    /* NULL: free */
    uint8_t rights;             /* IPC_RIGHT_* */
};

/* A user thread ends (process_thread_exit(), after restart_cancel()): end what it takes part in. */
void ipc_thread_exit(struct thread *t);
/* Its struct is freed (thread_free_locked(), sched_lock held). */
void ipc_thread_free(struct thread *t);
/* The process's last thread ends: close every handle. */
void ipc_process_exit(struct process *p);

/* Is t a caller waiting for its reply (ps; sched_lock held)? */
bool ipc_awaits_reply(const struct thread *t);

/* Boot: ipc_handoff=on|off (default on). */
void ipc_init(void);
extern bool ipc_handoff_enabled;
int ipc_endpoints_live(void);
