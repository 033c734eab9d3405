/* uapi/errno.h (shared with user space): negative error codes returned by kernel functions and syscalls (Linux numbers). */
#pragma once

#define EPERM   1
#define ENOENT  2
#define ESRCH   3
#define EINTR   4
#define EBADF   9
#define EIO     5
#define E2BIG   7
#define ENOEXEC 8
#define ECHILD  10
#define EAGAIN  11
#define ENOMEM  12
#define EFAULT  14
#define EBUSY   16
#define EEXIST  17
#define ENODEV  19
#define EINVAL  22
#define EMFILE  24
#define ENOSPC  28
#define EPIPE   32
#define ERANGE  34
#define ENOSYS  38
#define EMSGSIZE 90
#define ETIMEDOUT 110
