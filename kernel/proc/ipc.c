/*
 * ipc.c: synchronous IPC between user processes, L4-style (uapi/ipc.h is the
 * interface; docs/DESIGN.md section 13.2 the model).
 *
 * An endpoint holds two wait queues and nothing else: receivers waiting for
 * a message, senders waiting for a receiver. A message never waits in the
 * kernel on its own; it waits inside its blocked sender (struct thread_ipc)
 * and moves in one step, under sched_lock, from sender to receiver. Its
 * label and three words travel in registers; its buffer (at most
 * IPC_BUF_MAX bytes) is copied in from the sender's memory in the sender's
 * syscall, and out to the receiver's memory in the receiver's: two copies,
 * each in the address space it belongs to (SMAP stays on throughout).
 *
 * The handoff: a call that finds its receiver blocked, and a reply whose
 * caller waits, name that thread to run next on this CPU
 * (sched_handoff_locked()); the run queues are skipped and a round trip
 * stays on one CPU. ipc_handoff=off wakes it through the queues instead.
 *
 * Restart: a receive that must wait (recv, and the wait half of reply_wait)
 * is restartable (sched/restart.c): it waits from the exit path with its top
 * stack page only. A message with no buffer is written into the sleeper's
 * registers right there (ipc_restart_complete()); one with a buffer makes
 * the call run again, and the second run copies it out. A call's wait for
 * its reply is not restartable: the handoff makes it short, and it waits
 * inside the kernel.
 */
#include "proc/ipc.h"
#include "cmdline.h"
#include "entry.h"
#include "mm/kmalloc.h"
#include "mm/uaccess.h"
#include "panic.h"
#include "printk.h"
#include "proc/process.h"
#include "sched/restart.h"
#include "sched/sched.h"
#include "sched/wait.h"
#include "lib/string.h"
#include "syscall.h"
#include "uapi/errno.h"

#define IPC_TIMEOUT_MAX_MS (365ull * 24 * 3600 * 1000)     /* a year, as sleep_ms */

struct ipc_endpoint {
    int refs;                       /* handles, passed handles in flight, threads using it */
    bool dead;                      /* its receive handle is closed: nobody will receive again */
    struct wait_queue receivers;    /* threads in recv or reply_wait on it */
    struct wait_queue senders;      /* threads in call or send until a receiver takes their message */
};

enum ipc_state {
    IPC_IDLE,
    IPC_SENDING,        /* on ep->senders with its message */
    IPC_AWAIT_REPLY,    /* a receiver took its call (server) and owes it the reply */
    IPC_RECEIVING,      /* on ep->receivers (or woken off it, to look again) */
    IPC_DELIVERED,      /* a message for it is here, to go to its registers and buffer */
    IPC_DONE,           /* a call or send ended by another thread: result */
};

struct thread_ipc {
    enum ipc_state state;
    bool call;                      /* the message is a call: its sender waits for the reply */
    long result;                    /* IPC_DONE: 0, or why it failed */
    uint64_t label, w[3];           /* the message: ours while sending, the one received once delivered */
    int pid;                        /* received: the sender's pid */
    struct ipc_endpoint *pass;      /* a handle passed with the message (a reference) */
    uint32_t len;                   /* buffer bytes the message carries */
    uint32_t got;                   /* received: of them, the ones in data (at most rcap) */
    uint8_t *data;                  /* IPC_BUF_MAX bytes, made at the first buffer sent or expected */
    uintptr_t rbuf;                 /* the user buffer received bytes go to */
    uint32_t rcap;
    struct ipc_endpoint *ep;        /* sending or receiving on it (a reference) */
    struct thread *caller;          /* a receiver: the call it must answer */
    struct thread *server;          /* a caller: the thread that took its call */
};

bool ipc_handoff_enabled = true;
static struct ipc_endpoint *bootstrap_ep;   /* the name server's (IPC_BOOTSTRAP_SET), a reference */
static int endpoints_live;

void ipc_init(void)
{
    char v[8];
    if (!cmdline_get("ipc_handoff", v, sizeof(v)))
        return;
    if (!strcmp(v, "off"))
        ipc_handoff_enabled = false;
    else if (strcmp(v, "on"))
        printk("ipc: ipc_handoff=%s is not on or off: on\n", v);
    printk("ipc: call and reply %s\n", ipc_handoff_enabled ? "hand the CPU to the thread they wake (ipc_handoff=on)"
                                                        : "wake through the run queues (ipc_handoff=off)");
}

bool ipc_awaits_reply(const struct thread *t)
{
    return t->ipc && t->ipc->state == IPC_AWAIT_REPLY;
}

int ipc_endpoints_live(void)
{
    return endpoints_live;
}

/* ---------------------------------------------------------------- endpoints and handles (sched_lock) */

static void ep_put_locked(struct ipc_endpoint *ep)
{
    KASSERT(ep->refs > 0);
    if (--ep->refs)
        return;
    KASSERT(!ep->receivers.head && !ep->senders.head);
    endpoints_live--;
    kfree(ep);
}

/* The receive handle is gone: senders fail with -EPIPE; receivers (its own process's) look again and see it dead. */
static void ep_kill_locked(struct ipc_endpoint *ep)
{
    ep->dead = true;
    if (ep == bootstrap_ep) {
        bootstrap_ep = NULL;            /* no name server until the next one sets itself */
        ep->refs--;                     /* the caller holds its handle's reference */
    }
    while (ep->senders.head) {
        struct thread *s = ep->senders.head;
        wq_remove_locked(s);
        sched_wake_locked(s);
    }
    while (ep->receivers.head) {
        struct thread *r = ep->receivers.head;
        sched_wait_unlink_locked(r);
        sched_wake_locked(r);
    }
}

static struct ipc_endpoint *handle_get_locked(struct process *p, uint64_t h, uint8_t right, long *err)
{
    if (h >= IPC_HANDLES || !p->handles[h].ep) {
        *err = -EBADF;
        return NULL;
    }
    if (!(p->handles[h].rights & right)) {
        *err = -EPERM;
        return NULL;
    }
    return p->handles[h].ep;
}

/* The lowest free handle now names ep (the caller's reference moves to it); -EMFILE when full. */
static int handle_install_locked(struct process *p, struct ipc_endpoint *ep, uint8_t rights)
{
    for (int h = 0; h < IPC_HANDLES; h++)
        if (!p->handles[h].ep) {
            p->handles[h] = (struct ipc_handle){ .ep = ep, .rights = rights };
            return h;
        }
    return -EMFILE;
}

static void handle_close_locked(struct process *p, int h)
{
    struct ipc_endpoint *ep = p->handles[h].ep;
    bool recv = p->handles[h].rights & IPC_RIGHT_RECV;
    p->handles[h] = (struct ipc_handle){ 0 };
    if (recv)
        ep_kill_locked(ep);
    ep_put_locked(ep);
}

/* ---------------------------------------------------------------- messages (sched_lock) */

static void msg_drop_locked(struct thread_ipc *st)
{
    if (st->pass)
        ep_put_locked(st->pass);
    st->pass = NULL;
    st->len = st->got = 0;
}

/* End caller c's call with err (its server ended, or dropped it unread). */
static void caller_fail_locked(struct thread *c, long err)
{
    struct thread_ipc *cs = c->ipc;
    KASSERT(cs->state == IPC_AWAIT_REPLY);
    cs->server = NULL;
    cs->state = IPC_DONE;
    cs->result = err;
    sched_wake_locked(c);
}

/* A message (or reply) from one thread's state to another's: the passed handle moves, the buffer up to rcap. */
static void msg_copy_locked(struct thread_ipc *to, struct thread_ipc *from, int from_pid)
{
    to->label = from->label;
    memcpy(to->w, from->w, sizeof(to->w));
    to->pid = from_pid;
    to->pass = from->pass;
    from->pass = NULL;
    to->len = from->len;
    to->got = from->len < to->rcap ? from->len : to->rcap;
    if (to->got)
        memcpy(to->data, from->data, to->got);
}

/* Move s's message to r; both are off every wait queue. A call now waits for r's reply. */
static void msg_move_locked(struct thread *s, struct thread *r)
{
    struct thread_ipc *ss = s->ipc, *rs = r->ipc;
    msg_copy_locked(rs, ss, s->proc ? s->proc->pid : 0);
    rs->state = IPC_DELIVERED;
    if (ss->call) {
        if (rs->caller)
            caller_fail_locked(rs->caller, -EPIPE);     /* a call it took and never answered */
        rs->caller = s;
        ss->server = r;
        ss->state = IPC_AWAIT_REPLY;
    } else {
        ss->state = IPC_DONE;
        ss->result = 0;
    }
}

/*
 * A received message (or reply) into the user registers (uapi/ipc.h), its
 * handle into the table. The buffer, if any, is already in user memory.
 */
static void msg_to_regs_locked(struct thread *t, struct thread_ipc *st, struct pt_regs *regs)
{
    int h = -1;
    if (st->pass) {
        h = handle_install_locked(t->proc, st->pass, IPC_RIGHT_SEND);
        if (h < 0)
            ep_put_locked(st->pass);    /* -EMFILE: the message arrives without it */
        st->pass = NULL;
    }
    regs->rdi = (uint64_t)st->pid;
    regs->rsi = st->label;
    regs->rdx = st->w[0];
    regs->r10 = st->w[1];
    regs->r8 = st->w[2];
    regs->r9 = IPC_INFO(h, st->len);
    st->state = IPC_IDLE;
    if (st->ep) {
        ep_put_locked(st->ep);
        st->ep = NULL;
    }
}

/* ---------------------------------------------------------------- per-thread state */

static struct thread_ipc *ipc_state(struct thread *t)
{
    if (!t->ipc)
        t->ipc = kzalloc(sizeof(*t->ipc));
    return t->ipc;
}

static long data_ensure(struct thread_ipc *st)
{
    if (!st->data)
        st->data = kmalloc(IPC_BUF_MAX);
    return st->data ? 0 : -ENOMEM;
}

void ipc_thread_free(struct thread *t)
{
    if (!t->ipc)
        return;
    KASSERT(t->ipc->state == IPC_IDLE && !t->ipc->caller && !t->ipc->ep && !t->ipc->pass);
    kfree(t->ipc->data);
    kfree(t->ipc);
    t->ipc = NULL;
}

/* A receive that will not finish: off its queue, its message and endpoint dropped. */
static void receive_abandon_locked(struct thread *t, struct thread_ipc *st)
{
    if (st->state == IPC_RECEIVING)
        sched_wait_unlink_locked(t);
    if (st->state == IPC_RECEIVING || st->state == IPC_DELIVERED) {
        msg_drop_locked(st);
        st->state = IPC_IDLE;
    }
    if (st->ep) {
        ep_put_locked(st->ep);
        st->ep = NULL;
    }
}

void ipc_thread_exit(struct thread *t)
{
    struct thread_ipc *st = t->ipc;
    if (!st)
        return;
    uint64_t f = spin_lock(&sched_lock);
    receive_abandon_locked(t, st);
    if (st->caller) {
        caller_fail_locked(st->caller, -EPIPE);     /* the server ends: its caller learns it */
        st->caller = NULL;
    }
    KASSERT(st->state == IPC_IDLE && !st->server);
    spin_unlock(&sched_lock, f);
}

void ipc_process_exit(struct process *p)
{
    uint64_t f = spin_lock(&sched_lock);
    for (int h = 0; h < IPC_HANDLES; h++)
        if (p->handles[h].ep)
            handle_close_locked(p, h);
    spin_unlock(&sched_lock, f);
}

/* ---------------------------------------------------------------- the send half */

/* Read ext (0: none) and the message's buffer into t's IPC state (made here at its first call); rbuf, rcap for
 * what comes back. */
static long msg_load(struct thread *t, uint64_t label, uint64_t w0, uint64_t w1, uint64_t w2, uint64_t uext,
                     struct ipc_ext *e)
{
    struct thread_ipc *st = ipc_state(t);
    if (!st)
        return -ENOMEM;
    *e = (struct ipc_ext){ .shandle = -1 };
    if (uext && copy_from_user(e, (const void *)uext, sizeof(*e)))
        return -EFAULT;
    if (e->reserved)
        return -EINVAL;
    if (e->slen > IPC_BUF_MAX)
        return -EMSGSIZE;
    if ((e->slen && !access_ok((uintptr_t)e->sbuf, e->slen)) || (e->rcap && !access_ok((uintptr_t)e->rbuf, e->rcap)))
        return -EFAULT;
    if ((e->slen || e->rcap) && data_ensure(st))
        return -ENOMEM;
    if (e->slen && copy_from_user(st->data, e->sbuf, e->slen))
        return -EFAULT;
    st->label = label;
    st->w[0] = w0;
    st->w[1] = w1;
    st->w[2] = w2;
    st->len = (uint32_t)e->slen;
    st->rbuf = (uintptr_t)e->rbuf;
    st->rcap = e->rcap < IPC_BUF_MAX ? (uint32_t)e->rcap : IPC_BUF_MAX;
    return 0;
}

static uint64_t deadline_of(const struct ipc_ext *e)
{
    uint64_t ms = e->timeout_ms < IPC_TIMEOUT_MAX_MS ? e->timeout_ms : IPC_TIMEOUT_MAX_MS;
    return ms ? time_ns() + ms * 1000000ull : 0;
}

/* The handle to pass with the message (-1: none): a send-only reference in st->pass. */
static long pass_take_locked(struct process *p, struct thread_ipc *st, int32_t h)
{
    if (h < 0)
        return 0;
    long err;
    struct ipc_endpoint *ep = handle_get_locked(p, (uint64_t)h, IPC_RIGHT_SEND, &err);
    if (!ep)
        return err;
    ep->refs++;
    st->pass = ep;
    return 0;
}

/*
 * A sender's wait, inside its syscall: for a receiver (SENDING), then for the
 * reply (AWAIT_REPLY), until another thread ends it (DONE). A call that finds
 * its receiver blocked hands it the CPU.
 */
static long sender_wait_locked(struct thread *t, struct thread_ipc *st, uint64_t deadline)
{
    for (;;) {
        if (st->state == IPC_DONE)
            return st->result;
        bool dying = t->proc->dying, late = deadline && time_ns() >= deadline;
        if (st->state == IPC_SENDING) {
            struct ipc_endpoint *ep = st->ep;
            struct thread *r = ep->receivers.head;
            if (ep->dead || dying || late)
                return ep->dead ? -EPIPE : dying ? -EINTR : -ETIMEDOUT;     /* before a receiver takes it */
            if (r) {
                sched_wait_unlink_locked(r);
                msg_move_locked(t, r);
                if (st->call && ipc_handoff_enabled && r->state == THREAD_BLOCKED)
                    sched_handoff_locked(r);    /* it runs here when we block for the reply, just below */
                else
                    sched_wake_locked(r);       /* or it is on its way to block and sees the message */
                continue;
            }
            sched_block_locked(&ep->senders, deadline);
            wq_remove_locked(t);            /* woken for nothing, or to end: off the queue until it looks again */
        } else {
            KASSERT(st->state == IPC_AWAIT_REPLY);
            if (dying || late) {
                st->server->ipc->caller = NULL;     /* the reply will be dropped */
                st->server = NULL;
                return dying ? -EINTR : -ETIMEDOUT;
            }
            sched_block_locked(NULL, deadline);
        }
    }
}

/* call (is_call) and send: the message goes to a receiver on h; a call's reply comes back in the registers. */
static long send_common(uint64_t h, uint64_t label, uint64_t w0, uint64_t w1, uint64_t w2, uint64_t uext, bool is_call)
{
    struct thread *t = current();
    struct process *p = t->proc;
    struct ipc_ext e;
    long err = msg_load(t, label, w0, w1, w2, uext, &e);
    if (err)
        return err;
    struct thread_ipc *st = t->ipc;
    uint64_t deadline = deadline_of(&e);

    uint64_t f = spin_lock(&sched_lock);
    struct ipc_endpoint *ep = handle_get_locked(p, h, IPC_RIGHT_SEND, &err);
    if (ep && !(err = pass_take_locked(p, st, e.shandle))) {
        ep->refs++;
        st->ep = ep;
        st->call = is_call;
        st->state = IPC_SENDING;
        err = sender_wait_locked(t, st, deadline);
        sched_handoff_drop_locked(t);   /* it named its receiver and then did not block (its deadline, a kill) */
        ep_put_locked(st->ep);
        st->ep = NULL;
    }
    bool reply = is_call && err == 0;
    if (!reply) {
        msg_drop_locked(st);        /* a message no receiver took keeps its passed handle: dropped */
        st->state = IPC_IDLE;
    } else if (!st->got) {
        msg_to_regs_locked(t, st, thread_user_regs(t));    /* the reply is here (st), as a received message is */
        reply = false;
    }
    spin_unlock(&sched_lock, f);
    if (!reply)
        return err;

    /* A reply with a buffer: copied out with the lock dropped (the copy may fault). */
    if (copy_to_user((void *)st->rbuf, st->data, st->got))
        err = -EFAULT;
    f = spin_lock(&sched_lock);
    if (err) {
        msg_drop_locked(st);
        st->state = IPC_IDLE;
    } else {
        msg_to_regs_locked(t, st, thread_user_regs(t));
    }
    spin_unlock(&sched_lock, f);
    return err;
}

long sys_ipc_call(uint64_t h, uint64_t label, uint64_t w0, uint64_t w1, uint64_t w2, uint64_t uext)
{
    return send_common(h, label, w0, w1, w2, uext, true);
}

long sys_ipc_send(uint64_t h, uint64_t label, uint64_t w0, uint64_t w1, uint64_t w2, uint64_t uext)
{
    return send_common(h, label, w0, w1, w2, uext, false);
}

/* ---------------------------------------------------------------- the receive half */

static void ipc_restart_cancel(struct thread *t)
{
    uint64_t f = spin_lock(&sched_lock);
    receive_abandon_locked(t, t->ipc);
    spin_unlock(&sched_lock, f);
}

/*
 * In the exit path, woken (sched_lock held): a message with no buffer goes
 * straight to the registers, and so do the ends of a wait (its deadline, its
 * endpoint's death); a buffer needs the second run, to copy it out.
 */
static bool ipc_restart_complete(struct thread *t, struct pt_regs *regs, long *result)
{
    struct thread_ipc *st = t->ipc;
    if (st->state == IPC_DELIVERED && !st->got) {
        msg_to_regs_locked(t, st, regs);
        *result = 0;
        return true;
    }
    uint64_t deadline = t->restart.deadline_ns;
    if (st->state == IPC_RECEIVING && (st->ep->dead || (deadline && time_ns() >= deadline))) {
        *result = st->ep->dead ? -EPIPE : -ETIMEDOUT;
        receive_abandon_locked(t, st);
        return true;
    }
    return false;
}

/* Wait on st->ep for a message: 0 (delivered), -ERESTART_BLOCK (armed to wait from the exit path), or an error. */
static long receive_locked(struct thread *t, struct thread_ipc *st, uint64_t deadline)
{
    struct ipc_endpoint *ep = st->ep;
    for (;;) {
        if (st->state == IPC_DELIVERED)
            return 0;
        struct thread *s = ep->senders.head;
        if (s && !ep->dead) {
            wq_remove_locked(s);
            msg_move_locked(s, t);
            if (!s->ipc->call)
                sched_wake_locked(s);   /* a send is over once taken; a call waits on for the reply */
            return 0;
        }
        if (ep->dead)
            return -EPIPE;
        if (t->proc->dying)
            return -EINTR;
        if (deadline && time_ns() >= deadline)
            return -ETIMEDOUT;
        st->state = IPC_RECEIVING;
        if (restart_enabled) {
            t->restart.cancel = ipc_restart_cancel;
            t->restart.complete = ipc_restart_complete;
            return restart_arm_locked(&ep->receivers, deadline);
        }
        sched_block_locked(&ep->receivers, deadline);
        wq_remove_locked(t);
    }
}

/* With sched_lock held (flags f) and st->ep set: receive, copy out, unlock. */
static long receive(struct thread *t, struct thread_ipc *st, uint64_t deadline, uint64_t f)
{
    long err = receive_locked(t, st, deadline);
    if (err != -ERESTART_BLOCK)
        sched_handoff_drop_locked(t);   /* it did not sleep: a caller it replied to goes to a run queue */
    if (err || !st->got) {
        if (err && err != -ERESTART_BLOCK)
            receive_abandon_locked(t, st);
        else if (!err)
            msg_to_regs_locked(t, st, thread_user_regs(t));    /* no buffer: nothing to copy out */
        spin_unlock(&sched_lock, f);
        return err;
    }
    spin_unlock(&sched_lock, f);
    if (copy_to_user((void *)st->rbuf, st->data, st->got))
        err = -EFAULT;
    f = spin_lock(&sched_lock);
    if (err) {
        receive_abandon_locked(t, st);
        if (st->caller) {
            caller_fail_locked(st->caller, -EPIPE);     /* it could not take the call: the caller learns */
            st->caller = NULL;
        }
    } else {
        msg_to_regs_locked(t, st, thread_user_regs(t));
    }
    spin_unlock(&sched_lock, f);
    return err;
}

/* The second run of a receive that restarted: same endpoint, same deadline; the message may be here. */
static long receive_again(struct thread *t)
{
    uint64_t f = spin_lock(&sched_lock);
    return receive(t, t->ipc, t->restart.deadline_ns, f);
}

/* recv and reply_wait: the receive handle and ext's rbuf; reply_wait first answers its caller with the message. */
static long receive_common(uint64_t h, uint64_t label, uint64_t w0, uint64_t w1, uint64_t w2, uint64_t uext,
                           bool reply)
{
    struct thread *t = current();
    struct process *p = t->proc;
    struct ipc_ext e;
    long err = msg_load(t, label, w0, w1, w2, uext, &e);
    if (!err && !reply && (e.slen || e.shandle >= 0))
        err = -EINVAL;                  /* recv sends nothing */
    if (err)
        return err;
    struct thread_ipc *st = t->ipc;
    uint64_t deadline = deadline_of(&e);

    uint64_t f = spin_lock(&sched_lock);
    struct ipc_endpoint *ep = handle_get_locked(p, h, IPC_RIGHT_RECV, &err);
    if (ep && reply)
        err = pass_take_locked(p, st, e.shandle);
    if (!ep || err) {
        msg_drop_locked(st);
        spin_unlock(&sched_lock, f);
        return err;
    }
    struct thread *c = st->caller;
    st->caller = NULL;
    if (c && reply) {
        /* The reply goes into the caller's state as a message does; it runs next, here, once we block. */
        struct thread_ipc *cs = c->ipc;
        KASSERT(cs->state == IPC_AWAIT_REPLY && cs->server == t);
        msg_copy_locked(cs, st, p->pid);
        cs->server = NULL;
        cs->state = IPC_DONE;
        cs->result = 0;
        if (ipc_handoff_enabled && c->state == THREAD_BLOCKED)
            sched_handoff_locked(c);
        else
            sched_wake_locked(c);
    } else if (c) {
        caller_fail_locked(c, -EPIPE);  /* recv with a call unanswered: that call ends */
    }
    msg_drop_locked(st);                /* a reply with nobody to take it */
    ep->refs++;
    st->ep = ep;
    st->state = IPC_IDLE;
    return receive(t, st, deadline, f);
}

long sys_ipc_reply_wait(uint64_t h, uint64_t label, uint64_t w0, uint64_t w1, uint64_t w2, uint64_t uext)
{
    if (restart_reissued(current(), SYS_ipc_reply_wait))
        return receive_again(current());    /* the reply went on the first run */
    return receive_common(h, label, w0, w1, w2, uext, true);
}

long sys_ipc_recv(uint64_t h, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t uext)
{
    (void)a1, (void)a2, (void)a3, (void)a4;
    if (restart_reissued(current(), SYS_ipc_recv))
        return receive_again(current());
    return receive_common(h, 0, 0, 0, 0, uext, false);
}

/* ---------------------------------------------------------------- endpoints, handles, bootstrap */

long sys_ipc_endpoint(void)
{
    struct process *p = current()->proc;
    struct ipc_endpoint *ep = kzalloc(sizeof(*ep));
    if (!ep)
        return -ENOMEM;
    ep->refs = 1;
    wq_init(&ep->receivers, "ipc-recv");
    wq_init(&ep->senders, "ipc-send");
    uint64_t f = spin_lock(&sched_lock);
    int h = handle_install_locked(p, ep, IPC_RIGHT_RECV | IPC_RIGHT_SEND);
    if (h >= 0)
        endpoints_live++;
    spin_unlock(&sched_lock, f);
    if (h < 0)
        kfree(ep);
    return h;
}

long sys_ipc_close(uint64_t h)
{
    struct process *p = current()->proc;
    long err = 0;
    uint64_t f = spin_lock(&sched_lock);
    if (handle_get_locked(p, h, IPC_RIGHT_SEND | IPC_RIGHT_RECV, &err))
        handle_close_locked(p, (int)h);
    spin_unlock(&sched_lock, f);
    return err;
}

long sys_ipc_bootstrap(uint64_t op, uint64_t h)
{
    struct process *p = current()->proc;
    long ret = -EINVAL;
    uint64_t f = spin_lock(&sched_lock);
    if (op == IPC_BOOTSTRAP_SET) {
        struct ipc_endpoint *ep = handle_get_locked(p, h, IPC_RIGHT_RECV, &ret);
        if (ep && bootstrap_ep && bootstrap_ep != ep) {
            ret = -EBUSY;
        } else if (ep) {
            ep->refs++;
            if (bootstrap_ep)
                ep_put_locked(bootstrap_ep);
            bootstrap_ep = ep;
            ret = 0;
        }
    } else if (op == IPC_BOOTSTRAP_GET) {
        ret = bootstrap_ep ? 0 : -ENOENT;
        if (!ret) {
            ret = handle_install_locked(p, bootstrap_ep, IPC_RIGHT_SEND);
            if (ret >= 0)
                bootstrap_ep->refs++;
        }
    }
    spin_unlock(&sched_lock, f);
    return ret;
}
