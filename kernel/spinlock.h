/*
 * spinlock.h: ticket spinlocks that save and restore the interrupt flag.
 * The holder's CPU is recorded so that an overflow report can say which
 * locks a thread held, and so that recursion is caught by an assertion.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "arch/x86_64/cpu.h"

struct spinlock {
    volatile uint32_t next;
    volatile uint32_t owner;
    int holder_cpu;          /* -1 when free */
    const char *name;
};

#define SPINLOCK_INIT(n) { .next = 0, .owner = 0, .holder_cpu = -1, .name = (n) }

void spin_init(struct spinlock *l, const char *name);
/* Boot, before the APs: ticket order on bare metal, "taken when free" under a hypervisor. */
void spin_init_boot(void);
/* Disable interrupts, take the lock; returns the flags for spin_unlock. */
uint64_t spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l, uint64_t flags);
bool spin_held_by_me(const struct spinlock *l);
