/*
 * check.h: the kstack invariant checker (docs/DESIGN.md section 8.1). With
 * kstack_check=<ms> a kernel thread stops every other CPU that often and
 * checks the stacks, the per-CPU caches, the fault reserves and the counters
 * against each other; a broken invariant is a kernel bug: it panics and
 * names it. Off by default, and nothing of it runs on any hot path.
 */
#pragma once
#include <stdint.h>

struct kstack_check_result {
    int failures;               /* invariants found broken this round */
    int cpus_stopped;           /* other CPUs that took the stop IPI */
    int threads;                /* threads looked at */
    long pages;                 /* distinct stack pages looked at (caches, reserves, slots) */
    char first[224];            /* the first failure, as the panic says it */
};

extern unsigned kstack_check_interval_ms;   /* kstack_check=<ms>; 0: off */
extern uint64_t kstack_check_rounds;        /* rounds done (kstat's check_rounds) */
extern uint64_t kstack_check_failures;      /* invariants found broken, all rounds */

/* Boot, with the scheduler set up: read kstack_check=; when set, start the checker thread. */
void kstack_check_init(void);
/*
 * One round now: stop the other CPUs, check, let them go. The number of
 * failures (0: all held), with the first in r->first. IRQs on; off only
 * where no other CPU may be stopping the world (the tests, with the
 * checker thread off).
 */
int kstack_check_round(struct kstack_check_result *r);
/* The rounds' scratch (a bit per page frame) back to the allocator: for the tests' leak check. */
void kstack_check_scratch_free(void);
