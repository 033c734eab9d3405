/*
 * uapi/ipc.h (shared with user space): synchronous IPC, L4-style
 * (docs/DESIGN.md section 13.2; the kernel side is kernel/proc/ipc.c).
 *
 * An endpoint is a rendezvous: a sender and a receiver meet on it, and the
 * message goes straight from one to the other (nothing is queued in the
 * kernel but the blocked sender itself). A process names endpoints by small
 * integer handles, each with rights: the creator's handle may receive and
 * send; a handle passed in a message may only send. The receive right never
 * leaves the process that created the endpoint; when that handle is closed
 * (or the process ends) the endpoint is dead and every sender gets -EPIPE.
 *
 * A message is a label and three words, carried in registers, plus an
 * optional buffer of up to IPC_BUF_MAX bytes and an optional handle to pass.
 * The calls (uapi/syscalls.h, numbers 33-39):
 *
 *   ipc_call(h, label, w0, w1, w2, ext)        send on h and wait for the reply
 *   ipc_reply_wait(h, label, w0, w1, w2, ext)  reply to this thread's caller (if
 *                                              it has one), then receive on h
 *   ipc_send(h, label, w0, w1, w2, ext)        send on h, wait for a receiver only
 *   ipc_recv(h, 0, 0, 0, 0, ext)               receive on h
 *
 * ext (may be 0) points to a struct ipc_ext: the buffers, the handle to pass,
 * a timeout. The kernel only reads it. On success (rax 0) a received message
 * (recv, reply_wait) or reply (call) comes back in registers:
 *   rdi = the sender's pid, rsi = label, rdx, r10, r8 = w0, w1, w2,
 *   r9  = IPC_INFO(handle, len): the handle received (-1: none; -EMFILE:
 *         one came but our table was full) and the length of the buffer
 *         sent (at most rcap bytes of it were copied).
 * A receiver that takes a message sent by ipc_call owns the reply: its next
 * ipc_reply_wait answers it. If the receiver ends first, the caller gets
 * -EPIPE; if the caller ends (or times out) first, the reply is dropped.
 *
 * Errors: -EBADF (no such handle), -EPERM (receive on a send-only handle),
 * -EFAULT (a bad ext or buffer), -EMSGSIZE (slen > IPC_BUF_MAX), -EINVAL
 * (ext's reserved is not 0; recv given bytes or a handle to send; an
 * unknown ipc_bootstrap op), -EPIPE (the
 * endpoint or the server is gone), -ETIMEDOUT, -ENOMEM, -EINTR (the process
 * is ending), -EMFILE (the handle table is full).
 */
#pragma once
#include <stdint.h>

#define IPC_BUF_MAX     512     /* bytes of buffer one message may carry */
#define IPC_HANDLES     32      /* handles per process */

#define IPC_RIGHT_SEND  1
#define IPC_RIGHT_RECV  2

struct ipc_ext {
    const void *sbuf;           /* bytes to send with the message (0: none) */
    uint64_t slen;              /* <= IPC_BUF_MAX */
    void *rbuf;                 /* where a received buffer goes */
    uint64_t rcap;              /* its size; a longer buffer is cut (r9's length says how long it was) */
    int32_t shandle;            /* a handle of ours to pass with the message (a send-only copy); negative: none */
    uint32_t reserved;          /* 0 */
    uint64_t timeout_ms;        /* 0: wait for ever; else -ETIMEDOUT after it (an absolute deadline, kept across restarts) */
};

/* r9 on return: the received handle (int32, -1 none) and the sent buffer's length. */
#define IPC_INFO(handle, len)   (((uint64_t)(len) << 32) | (uint32_t)(handle))
#define IPC_INFO_HANDLE(info)   ((int32_t)(uint32_t)(info))
#define IPC_INFO_LEN(info)      ((uint32_t)((info) >> 32))

/* ipc_bootstrap ops: the one well-known endpoint, the name server's (user/names.c) */
#define IPC_BOOTSTRAP_SET   1   /* (h): h (a receive handle of ours) is the name server from now on; -EBUSY if one is set */
#define IPC_BOOTSTRAP_GET   2   /* -> a new send handle to it; -ENOENT if none is set, or it has ended */

/* The name server's protocol (labels of ipc_call to it; names travel in the buffer, at most NAME_MAX bytes) */
#define NAMES_REGISTER  1   /* buffer: name, shandle: the endpoint -> label 0 or -errno (-EEXIST) */
#define NAMES_LOOKUP    2   /* buffer: name -> label 0 and the handle, or -ENOENT */
#define NAMES_REMOVE    3   /* buffer: name -> label 0 or -ENOENT */
#define NAMES_NAME_MAX  32
