/* percpu.c: the array of struct cpu and the GS base setup of each CPU. */
#include "percpu.h"

struct cpu cpus[MAX_CPUS];
int ncpus = 1;

void percpu_init(struct cpu *c, int id)
{
    c->self = c;
    c->id = id;
    load_null_fs_gs();
    wrmsr(MSR_GS_BASE, (uint64_t)c);
    wrmsr(MSR_KERNEL_GS_BASE, 0);
}

/* The BSP's exception stacks until the kstack area exists (no guard pages yet). */
static char boot_ist_stacks[IST_COUNT][8192] __attribute__((aligned(16)));

void percpu_boot_ist(struct cpu *c)
{
    for (int i = 1; i <= IST_COUNT; i++)
        c->ist_top[i] = (uintptr_t)boot_ist_stacks[i - 1] + sizeof(boot_ist_stacks[0]);
}
