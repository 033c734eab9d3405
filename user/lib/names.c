/*
 * names.c: the name server's client side (names.h).
 */
#include "names.h"
#include "lib/string.h"
#include "syscall.h"

int names_connect(bool start)
{
    long h = sys_ipc_bootstrap(IPC_BOOTSTRAP_GET, 0);
    if (h >= 0 || !start)
        return (int)h;
    char *argv[] = { "names", NULL };
    long pid = sys_spawn("names", argv);
    if (pid < 0)
        return (int)pid;
    for (int tries = 0; tries < 500; tries++) {     /* it registers as soon as it runs */
        h = sys_ipc_bootstrap(IPC_BOOTSTRAP_GET, 0);
        if (h >= 0)
            return (int)h;
        sys_sleep_ms(2);
    }
    return (int)h;
}

static int names_op(int ns, int op, const char *name, int h, int *got)
{
    struct ipc_ext ext = { .sbuf = name, .slen = strlen(name), .shandle = h };
    struct ipc_msg m = { .label = (uint64_t)op };
    long err = sys_ipc_call(ns, &m, &ext);
    if (err < 0)
        return (int)err;
    if (got)
        *got = m.handle;
    else if (m.handle >= 0)
        sys_ipc_close(m.handle);
    return (int)(long)m.label;
}

int names_register(int ns, const char *name, int h)
{
    return names_op(ns, NAMES_REGISTER, name, h, NULL);
}

int names_lookup(int ns, const char *name)
{
    int h = -1;
    int err = names_op(ns, NAMES_LOOKUP, name, -1, &h);
    return err < 0 ? err : h;
}

int names_remove(int ns, const char *name)
{
    return names_op(ns, NAMES_REMOVE, name, -1, NULL);
}
