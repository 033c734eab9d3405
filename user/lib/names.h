/*
 * names.h: the name server's client side (user/names.c, uapi/ipc.h).
 */
#pragma once
#include <stdbool.h>

/*
 * A handle to the name server: the one running, or, when start is set and
 * none is, a names process started now (not waited for: it serves until
 * killed). A negative errno if there is none.
 */
int names_connect(bool start);
/* Register handle h under name (the server keeps a copy): 0, -EEXIST, -ENOSPC, or an IPC error. */
int names_register(int ns, const char *name, int h);
/* A new handle to the endpoint registered as name, or -ENOENT, or an IPC error. */
int names_lookup(int ns, const char *name);
int names_remove(int ns, const char *name);
