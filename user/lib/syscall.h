/*
 * syscall.h: user space's view of the syscall table (kernel/uapi/syscalls.h).
 * SYS_<name> numbers and argument counts come only from the table; the typed
 * sys_<name>() wrappers below are checked against it at compile time, and a
 * table entry without a wrapper here does not compile.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "uapi/errno.h"
#include "uapi/ipc.h"
#include "uapi/kstat.h"
#include "uapi/ps.h"
#include "uapi/syscalls.h"

#define SYSCALL_NUMBER_ENUM(num, name, nargs) SYS_##name = (num),
#define SYSCALL_NARGS_ENUM(num, name, nargs) SYS_NARGS_##name = (nargs),
enum { SYSCALL_TABLE(SYSCALL_NUMBER_ENUM) };
enum { SYSCALL_TABLE(SYSCALL_NARGS_ENUM) };
#undef SYSCALL_NUMBER_ENUM
#undef SYSCALL_NARGS_ENUM

/*
 * The raw instruction, per the ABI in uapi/syscalls.h: number in rax,
 * arguments in rdi, rsi, rdx, r10, r8, r9, result in rax; the kernel
 * clobbers rcx and r11 and preserves everything else. "memory": the kernel
 * reads and writes our buffers.
 */
static inline long syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r9 __asm__("r9") = a6;
    long ret;

    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

/* A call through the table: the argument count must be the table's. */
#define SYSCALL_CALL(name, nargs, a1, a2, a3)                                              \
    ({                                                                                     \
        _Static_assert(SYS_NARGS_##name == (nargs), "sys_" #name ": wrong argument count"); \
        syscall6(SYS_##name, (long)(a1), (long)(a2), (long)(a3), 0, 0, 0);                \
    })

/* Ends the process (every thread) with status code & 0xff. */
__attribute__((noreturn)) static inline void sys_exit(int code)
{
    SYSCALL_CALL(exit, 1, code, 0, 0);
    __builtin_trap();   /* the kernel came back: make it loud (killed with #UD) */
}

static inline long sys_write(int fd, const void *buf, size_t len) { return SYSCALL_CALL(write, 3, fd, buf, len); }
static inline long sys_getpid(void) { return SYSCALL_CALL(getpid, 0, 0, 0, 0); }
static inline long sys_gettid(void) { return SYSCALL_CALL(gettid, 0, 0, 0, 0); }
static inline long sys_yield(void) { return SYSCALL_CALL(yield, 0, 0, 0, 0); }
static inline long sys_sleep_ms(unsigned long ms) { return SYSCALL_CALL(sleep_ms, 1, ms, 0, 0); }

/* argv ends with NULL; argv[0] is the program name by convention. Returns the pid. */
static inline long sys_spawn(const char *program, char *const argv[])
{
    return SYSCALL_CALL(spawn, 2, program, argv, 0);
}

/* Waits for child pid to end; *status = its exit code, or EXIT_KILLED_BASE + vector. */
static inline long sys_wait(int pid, int *status) { return SYSCALL_CALL(wait, 2, pid, status, 0); }

/* The new thread starts at entry(arg) with rsp = stack_top. See thread.h for the friendly version. */
static inline long sys_thread_create(void (*entry)(void *), void *arg, void *stack_top)
{
    return SYSCALL_CALL(thread_create, 3, entry, arg, stack_top);
}

__attribute__((noreturn)) static inline void sys_thread_exit(long value)
{
    SYSCALL_CALL(thread_exit, 1, value, 0, 0);
    __builtin_trap();
}

static inline long sys_thread_join(int tid, long *value) { return SYSCALL_CALL(thread_join, 2, tid, value, 0); }

/* Returns the address (page-aligned, in the lower half) or a negative errno. */
static inline long sys_mmap_anon(size_t len, int prot) { return SYSCALL_CALL(mmap_anon, 2, len, prot, 0); }
static inline long sys_munmap(void *addr, size_t len) { return SYSCALL_CALL(munmap, 2, addr, len, 0); }

/* Sleeps while *uaddr == expected (-EAGAIN if not), until a wake or timeout_ms (0: none, else -ETIMEDOUT). */
static inline long sys_futex_wait(int *uaddr, int expected, unsigned long timeout_ms)
{
    return SYSCALL_CALL(futex_wait, 3, uaddr, expected, timeout_ms);
}

static inline long sys_futex_wake(int *uaddr, int count) { return SYSCALL_CALL(futex_wake, 2, uaddr, count, 0); }
static inline long sys_kstat(struct kstat *buf, size_t size) { return SYSCALL_CALL(kstat, 2, buf, size, 0); }
static inline long sys_getcpu(void) { return SYSCALL_CALL(getcpu, 0, 0, 0, 0); }
static inline long sys_uptime_ms(void) { return SYSCALL_CALL(uptime_ms, 0, 0, 0, 0); }
static inline long sys_test_stack(size_t bytes) { return SYSCALL_CALL(test_stack, 1, bytes, 0, 0); }
static inline long sys_test_fault(int kind) { return SYSCALL_CALL(test_fault, 1, kind, 0, 0); }
static inline long sys_test_stack_canary(size_t bytes, unsigned long sleep_ms)
{
    return SYSCALL_CALL(test_stack_canary, 2, bytes, sleep_ms, 0);
}
/* Returns to user mode through a bad iretq frame (TEST_BAD_FRAME_*): the kernel kills the process. */
static inline long sys_test_bad_frame(int kind) { return SYSCALL_CALL(test_bad_frame, 1, kind, 0, 0); }
static inline long sys_test_smap(const void *user_byte, unsigned long rounds)
{
    return SYSCALL_CALL(test_smap, 2, user_byte, rounds, 0);
}

/* op: TOP_PAGE_*; bytes of the top stack page used since the previous call (uapi/syscalls.h). */
static inline long sys_test_top_page(int op) { return SYSCALL_CALL(test_top_page, 1, op, 0, 0); }
static inline long sys_test_kstack_bench(int op, unsigned long n)
{
    return SYSCALL_CALL(test_kstack_bench, 2, op, n, 0);
}
static inline long sys_test_stack_spin(size_t bytes, unsigned long ms)
{
    return SYSCALL_CALL(test_stack_spin, 2, bytes, ms, 0);
}
static inline long sys_test_stack_sleep(size_t bytes) { return SYSCALL_CALL(test_stack_sleep, 1, bytes, 0, 0); }
static inline long sys_test_stack_copy(size_t bytes, const void *src)
{
    return SYSCALL_CALL(test_stack_copy, 2, bytes, src, 0);
}
/* fd 0: the console, a line at a time (line-edited; 0 at end of input, -EINTR on ^C at the prompt). */
static inline long sys_read(int fd, void *buf, size_t len) { return SYSCALL_CALL(read, 3, fd, buf, len); }
/* End process pid (ourselves or a descendant) with status & 0xff. */
static inline long sys_kill(int pid, int status) { return SYSCALL_CALL(kill, 2, pid, status, 0); }
/* op: CONSOLE_FOREGROUND, CONSOLE_RAW, CONSOLE_POLL (uapi/syscalls.h). */
static inline long sys_console_ctl(int op, long arg) { return SYSCALL_CALL(console_ctl, 2, op, arg, 0); }
/* Up to n threads into buf (uapi/ps.h); with buf NULL, how many there are. */
static inline long sys_ps(struct ps_thread *buf, size_t n) { return SYSCALL_CALL(ps, 2, buf, n, 0); }

/* A wake-up for nothing (as a signal would give) of thread tid of this process, blocked: 0, -ESRCH, -EAGAIN. */
static inline long sys_test_wake(int tid) { return SYSCALL_CALL(test_wake, 1, tid, 0, 0); }

/*
 * IPC (uapi/ipc.h). A message travels in registers: label and w[] out, and
 * on a successful call, recv or reply_wait the one received comes back in
 * the same struct, with the sender's pid, a handle passed with it (-1: none;
 * -EMFILE: our table was full) and the length of the buffer it carried.
 */
struct ipc_msg {
    uint64_t label, w[3];
    int pid;
    int handle;
    uint32_t len;
};

static inline long ipc_syscall(long nr, long h, struct ipc_msg *m, const struct ipc_ext *e, int receives)
{
    register uint64_t rdi __asm__("rdi") = (uint64_t)h;
    register uint64_t rsi __asm__("rsi") = m ? m->label : 0;
    register uint64_t rdx __asm__("rdx") = m ? m->w[0] : 0;
    register uint64_t r10 __asm__("r10") = m ? m->w[1] : 0;
    register uint64_t r8 __asm__("r8") = m ? m->w[2] : 0;
    register uint64_t r9 __asm__("r9") = (uint64_t)e;
    long ret = nr;
    __asm__ volatile("syscall"
                     : "+a"(ret), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                     :
                     : "rcx", "r11", "memory");
    if (ret == 0 && receives && m) {
        m->pid = (int)rdi;
        m->label = rsi;
        m->w[0] = rdx;
        m->w[1] = r10;
        m->w[2] = r8;
        m->handle = IPC_INFO_HANDLE(r9);
        m->len = IPC_INFO_LEN(r9);
    }
    return ret;
}

/* A new endpoint: its handle, with the receive right. */
static inline long sys_ipc_endpoint(void) { return SYSCALL_CALL(ipc_endpoint, 0, 0, 0, 0); }
static inline long sys_ipc_close(int h) { return SYSCALL_CALL(ipc_close, 1, h, 0, 0); }
/* Send *m on h and wait for the reply, which replaces *m. e may be NULL. */
static inline long sys_ipc_call(int h, struct ipc_msg *m, const struct ipc_ext *e)
{
    return ipc_syscall(SYS_ipc_call, h, m, e, 1);
}
/* Reply *m to our caller (if we have one), then wait on h for the next message, into *m. */
static inline long sys_ipc_reply_wait(int h, struct ipc_msg *m, const struct ipc_ext *e)
{
    return ipc_syscall(SYS_ipc_reply_wait, h, m, e, 1);
}
/* Send *m on h; returns once a receiver took it. */
static inline long sys_ipc_send(int h, const struct ipc_msg *m, const struct ipc_ext *e)
{
    struct ipc_msg copy = *m;
    return ipc_syscall(SYS_ipc_send, h, &copy, e, 0);
}
/* Wait on h for a message, into *m. */
static inline long sys_ipc_recv(int h, struct ipc_msg *m, const struct ipc_ext *e)
{
    return ipc_syscall(SYS_ipc_recv, h, m, e, 1);
}
/* op: IPC_BOOTSTRAP_SET (h: our receive handle) or IPC_BOOTSTRAP_GET (-> a handle to the name server). */
static inline long sys_ipc_bootstrap(int op, int h) { return SYSCALL_CALL(ipc_bootstrap, 2, op, h, 0); }

/* Every table entry has a wrapper above: this stops compiling when one is added without. */
#define SYSCALL_WRAPPER_EXISTS(num, name, nargs) \
    static inline void syscall_wrapper_exists_##name(void) { (void)&sys_##name; }
SYSCALL_TABLE(SYSCALL_WRAPPER_EXISTS)
#undef SYSCALL_WRAPPER_EXISTS
