/*
 * uapi/ps.h: what the ps syscall returns, one record per thread (shared with
 * user space): the shell's `ps` and the live view read it.
 */
#pragma once
#include <stdint.h>

enum { PS_RUNNABLE, PS_RUNNING, PS_BLOCKED, PS_DEAD };

struct ps_thread {
    int32_t tid;
    int32_t pid;                    /* 0: a kernel thread */
    uint8_t state;                  /* PS_* */
    int8_t cpu;                     /* the CPU it runs on or last ran on */
    uint8_t resident_pages;         /* stack pages mapped in its slot now */
    uint8_t high_water_pages;       /* most stack pages one kernel entry used */
    uint32_t expands, shrinks, faults;  /* its share of the strategy's counters */
    char name[24];                  /* the thread's name */
    char proc[24];                  /* its process's program name; "" for a kernel thread */
    char wait[16];                  /* blocked: what on (a wait queue's name: "futex", "ipc-recv", ...;
                                       "sleep" for a deadline alone, "ipc-reply" for a call's reply) */
    uint8_t at_rest;                /* blocked from the exit path (a restartable wait: it holds its top page only) */
    uint8_t reserved[7];
};
