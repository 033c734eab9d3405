/*
 * names.c: the name server, a service that lives in user space and that
 * other processes reach by IPC (uapi/ipc.h, docs/DESIGN.md section 13.2).
 * It registers itself as the kernel's one well-known endpoint
 * (IPC_BOOTSTRAP_SET); a client gets a handle to it with
 * IPC_BOOTSTRAP_GET, and from it the endpoints of other servers by name:
 *
 *   NAMES_REGISTER  buffer: the name, handle: the endpoint   -> label 0, -EEXIST, -ENOSPC, -EINVAL
 *   NAMES_LOOKUP    buffer: the name                         -> label 0 and a handle, or -ENOENT
 *   NAMES_REMOVE    buffer: the name                         -> label 0 or -ENOENT
 *
 * Any other label gets -ENOSYS. It serves until it is killed; it holds
 * nothing a client needs to end: a client whose call it held gets -EPIPE,
 * and the next names started takes the bootstrap slot over.
 */
#include "lib/string.h"
#include "stdio.h"
#include "syscall.h"

#define NAMES_MAX 30        /* our handle table has IPC_HANDLES slots: ours and one for a name being passed */

static struct {
    char name[NAMES_NAME_MAX + 1];
    int handle;             /* 0 is never one: handle 0 is our endpoint */
} names[NAMES_MAX];

static int find(const char *name)
{
    for (int i = 0; i < NAMES_MAX; i++)
        if (names[i].handle && !strcmp(names[i].name, name))
            return i;
    return -1;
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    long ep = sys_ipc_endpoint();
    long err = ep < 0 ? ep : sys_ipc_bootstrap(IPC_BOOTSTRAP_SET, (int)ep);
    if (err < 0) {
        printf("names: cannot serve: %ld (another name server is running?)\n", err);
        return 1;
    }
    printf("names: serving (pid %ld)\n", sys_getpid());

    char name[NAMES_NAME_MAX + 1];
    struct ipc_ext ext = { .rbuf = name, .rcap = NAMES_NAME_MAX, .shandle = -1 };
    struct ipc_msg m = { 0 };
    for (;;) {
        err = sys_ipc_reply_wait((int)ep, &m, &ext);
        ext.shandle = -1;
        if (err < 0) {
            printf("names: receive failed: %ld\n", err);
            m = (struct ipc_msg){ 0 };
            continue;
        }
        long op = (long)m.label, passed = m.handle;
        name[m.len < NAMES_NAME_MAX ? m.len : NAMES_NAME_MAX] = 0;
        long result;
        int i = find(name);
        if (m.len == 0 || m.len > NAMES_NAME_MAX) {
            result = -EINVAL;
        } else if (op == NAMES_REGISTER) {
            result = passed < 0 ? -EINVAL : i >= 0 ? -EEXIST : -ENOSPC;
            for (int j = 0; j < NAMES_MAX && result == -ENOSPC; j++)
                if (!names[j].handle) {
                    memcpy(names[j].name, name, sizeof(name));
                    names[j].handle = (int)passed;
                    passed = -1;        /* kept */
                    result = 0;
                }
        } else if (op == NAMES_LOOKUP) {
            result = i < 0 ? -ENOENT : 0;
            if (i >= 0)
                ext.shandle = names[i].handle;  /* the reply carries a copy */
        } else if (op == NAMES_REMOVE) {
            result = i < 0 ? -ENOENT : 0;
            if (i >= 0) {
                sys_ipc_close(names[i].handle);
                names[i].handle = 0;
            }
        } else {
            result = -ENOSYS;
        }
        if (passed >= 0)
            sys_ipc_close((int)passed);     /* a handle we were given and do not keep */
        m = (struct ipc_msg){ .label = (uint64_t)result };
    }
}
