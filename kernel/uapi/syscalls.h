/*
 * uapi/syscalls.h: the one syscall table, shared by the kernel (dispatch
 * table in kernel/syscall.c) and user space (stubs in user/lib/syscall.h),
 * as an X-macro: SYSCALL(number, name, nargs). Test-only calls need testsys=1.
 *
 * ABI (as Linux): number in rax; arguments in rdi, rsi, rdx, r10, r8, r9;
 * result in rax, a negative errno on failure. rcx and r11 are clobbered.
 */
#pragma once

#define SYSCALL_TABLE(SYSCALL)                                                                 \
    SYSCALL(0, exit, 1)           /* (int code): ends the process, all its threads */          \
    SYSCALL(1, write, 3)          /* (int fd, const void *buf, size_t len): fd 1, 2 = console */ \
    SYSCALL(2, getpid, 0)                                                                      \
    SYSCALL(3, gettid, 0)                                                                      \
    SYSCALL(4, yield, 0)                                                                       \
    SYSCALL(5, sleep_ms, 1)       /* (unsigned long ms) */                                     \
    SYSCALL(6, spawn, 2)          /* (const char *program, char *const argv[]) -> pid */       \
    SYSCALL(7, wait, 2)           /* (int pid, int *status) -> pid */                          \
    SYSCALL(8, thread_create, 3)  /* (void (*entry)(void *), void *arg, void *stack_top) -> tid */ \
    SYSCALL(9, thread_exit, 1)    /* (long value) */                                           \
    SYSCALL(10, thread_join, 2)   /* (int tid, long *value) */                                 \
    SYSCALL(11, mmap_anon, 2)     /* (size_t len, int prot) -> address; demand-faulted */      \
    SYSCALL(12, munmap, 2)        /* (void *addr, size_t len) */                               \
    SYSCALL(13, futex_wait, 3)    /* (int *uaddr, int expected, unsigned long timeout_ms, 0 = none) */ \
    SYSCALL(14, futex_wake, 2)    /* (int *uaddr, int count) -> woken */                       \
    SYSCALL(15, kstat, 2)         /* (struct kstat *buf, size_t size) -> bytes written */      \
    SYSCALL(16, getcpu, 0)        /* -> the CPU this thread runs on */                         \
    SYSCALL(17, uptime_ms, 0)                                                                  \
    SYSCALL(18, test_stack, 1)    /* testsys: (size_t bytes) -> bytes of kernel stack reached */ \
    SYSCALL(19, test_fault, 1)    /* testsys: (int kind), see TEST_FAULT_* */                  \
    SYSCALL(20, test_stack_canary, 2) /* testsys: (size_t bytes, unsigned long sleep_ms) -> bad frames */ \
    SYSCALL(21, test_bad_frame, 1) /* testsys: (int kind), see TEST_BAD_FRAME_*: return through a bad iretq frame */ \
    SYSCALL(22, test_smap, 2)     /* testsys: (const void *user_byte, unsigned long rounds) -> bad rounds */ \
    SYSCALL(23, test_top_page, 1) /* testsys: (int op, see TOP_PAGE_*) -> top-page bytes used since the last call */ \
    SYSCALL(24, test_stack_copy, 2) /* testsys: (size_t bytes, const void *src) -> copy_from_user of 64 bytes at that depth: 0 or -EFAULT */ \
    SYSCALL(25, test_stack_sleep, 1) /* testsys: (size_t bytes) -> sleep 1 ms with RSP exactly `bytes` below the stack top; the depth */ \
    SYSCALL(26, test_kstack_bench, 2) /* testsys: (int op, see KSTACK_BENCH_*, unsigned long n) -> TSC ticks for n of op */ \
    SYSCALL(27, test_stack_spin, 2) /* testsys: (size_t bytes, unsigned long ms) -> spin with IRQs on, RSP exactly `bytes` below the top */ \
    SYSCALL(28, read, 3)          /* (int fd, void *buf, size_t len): fd 0 = the console (tty.c); 0 at end of input */ \
    SYSCALL(29, kill, 2)          /* (int pid, int status): end process pid, the caller or one of its descendants */ \
    SYSCALL(30, console_ctl, 2)   /* (int op, long arg), see CONSOLE_* */                      \
    SYSCALL(31, ps, 2)            /* (struct ps_thread *buf, size_t n) -> threads listed; all threads' count if buf is NULL */ \
    SYSCALL(32, test_wake, 1)     /* testsys: (int tid) -> wake a blocked thread of this process for nothing: 0, -ESRCH, -EAGAIN (not blocked) */ \
    SYSCALL(33, ipc_endpoint, 0)  /* -> a new endpoint's handle, with receive and send rights (uapi/ipc.h) */ \
    SYSCALL(34, ipc_close, 1)     /* (int handle) */                                           \
    SYSCALL(35, ipc_call, 6)      /* (int h, label, w0, w1, w2, const struct ipc_ext *) -> 0; the reply in registers */ \
    SYSCALL(36, ipc_reply_wait, 6) /* (int h, label, w0, w1, w2, ext): reply to our caller, then receive on h */ \
    SYSCALL(37, ipc_send, 6)      /* (int h, label, w0, w1, w2, ext) -> 0 once a receiver took it */ \
    SYSCALL(38, ipc_recv, 6)      /* (int h, 0, 0, 0, 0, ext) -> 0; the message in registers */ \
    SYSCALL(39, ipc_bootstrap, 2) /* (int op, int h), see IPC_BOOTSTRAP_*: the name server's endpoint */

#define SYSCALL_COUNT 40

/* test_kstack_bench ops: the strategies' own operations, timed in the kernel with IRQs off */
#define KSTACK_BENCH_EXPAND 1       /* map 3 lower pages of a stack from the CPU's cache (eager's entry, lazy's switch-in) */
#define KSTACK_BENCH_SHRINK 2       /* unmap them back into the cache, with their invlpg (eager's exit, lazy's switch-out) */
#define KSTACK_BENCH_GROWTH 3       /* kstack=fault: one growth fault of the caller's stack, the #PF IST round trip */
#define KSTACK_BENCH_INVLPG 0x100   /* or'ed in: return the stack invlpgs the n operations did instead of ticks */

/*
 * console_ctl ops. The console is line-edited (backspace, Ctrl-U; Ctrl-D ends
 * input) until CONSOLE_RAW; Ctrl-C ends the foreground process, or, with
 * none, discards the line being edited and makes a waiting read() return -EINTR.
 */
#define CONSOLE_FOREGROUND  1   /* arg: pid whose process Ctrl-C ends (the caller or a descendant), 0: none */
#define CONSOLE_RAW         2   /* arg 1: bytes as typed, no echo, no editing (Ctrl-C is 3 with no foreground); 0: back */
#define CONSOLE_POLL        3   /* arg: ms to wait for input -> 1 when read() would not block, 0 on timeout */
/* Exit status of a process ended by Ctrl-C on the console (a shell's 128 + SIGINT). */
#define EXIT_INTERRUPTED 130

/* mmap_anon prot bits */
#define PROT_READ   1
#define PROT_WRITE  2
#define PROT_EXEC   4

/* test_fault kinds */
#define TEST_FAULT_KERNEL_NULL      1   /* kernel null dereference inside a syscall (oops) */
#define TEST_FAULT_STACK_OVERFLOW   2   /* recurse past the kernel stack: the overflow report */

/* test_bad_frame kinds: what is wrong with the frame the syscall returns through (#GP on the iretq) */
#define TEST_BAD_FRAME_SS   1   /* SS is the user code selector */
#define TEST_BAD_FRAME_CS   2   /* CS is the user data selector */
#define TEST_BAD_FRAME_RIP  3   /* RIP is non-canonical */

/*
 * test_top_page ops (kernel/stack/budget_test.c). Each call returns how deep
 * the calling thread's top stack page was used since its previous call ended,
 * then does op, then poisons the page again below its own frames.
 */
#define TOP_PAGE_PLAIN      0   /* nothing else */
#define TOP_PAGE_YIELD      1   /* sched_yield() in between */
#define TOP_PAGE_SLEEP      2   /* sleep 1 ms in between */
#define TOP_PAGE_RESCHED    3   /* ask for a reschedule: exit_to_user_mode() calls schedule() after the shrink */
#define TOP_PAGE_FLOOR      4   /* only: bytes the call's own frames take (use above that is not seen) */

/* Exit status of a process killed by a fault: 128 + vector, as a shell would show a signal. */
#define EXIT_KILLED_BASE 128
