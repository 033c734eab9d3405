/* cpumask.h: a set of CPUs (MAX_CPUS <= 64), as one word. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t bits;
} cpumask_t;

static inline void cpumask_set(cpumask_t *m, int cpu) { __atomic_fetch_or(&m->bits, 1ull << cpu, __ATOMIC_RELAXED); }
static inline void cpumask_clear(cpumask_t *m, int cpu) { __atomic_fetch_and(&m->bits, ~(1ull << cpu), __ATOMIC_RELAXED); }
static inline bool cpumask_test(const cpumask_t *m, int cpu) { return (m->bits >> cpu) & 1; }
/* Not __builtin_popcountll: without -mpopcnt it calls libgcc, which the kernel does not link. */
static inline int cpumask_weight(const cpumask_t *m)
{
    int n = 0;
    for (uint64_t b = m->bits; b; b &= b - 1)
        n++;
    return n;
}
static inline bool cpumask_empty(const cpumask_t *m) { return m->bits == 0; }
static inline cpumask_t cpumask_of(int cpu) { return (cpumask_t){ 1ull << cpu }; }

/* The CPUs online right now (arch/x86_64/smp.c: it owns bring-up). */
cpumask_t cpumask_all_online(void);
