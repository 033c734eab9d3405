/*
 * slot_test.c: the kstack slot area under pressure (suite slot): page tables
 * for slots past the prebuilt ones made by several CPUs at once, and a full
 * slot area answered with -EAGAIN.
 */
#include "ktest.h"
#include "mm/kmalloc.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "percpu.h"
#include "sched/sched.h"
#include "sched/wait.h"
#include "stack/kstack.h"
#include "stack/strategy.h"
#include "uapi/errno.h"

#define CREATORS 4
#define PER_CREATOR 256             /* 1024 threads alive at once, in 32 page tables that do not exist yet */
#define ROUNDS 4                    /* 4096 threads in all */

static struct wait_queue release_wq = WAIT_QUEUE_INIT("slot_test_release");
static struct wait_queue creators_wq = WAIT_QUEUE_INIT("slot_test_creators");
static volatile bool released;
static volatile int sleepers_ran, creators_done, create_failures;

static void sleeper(void *arg)
{
    (void)arg;
    wait_event(&release_wq, released);
    __atomic_fetch_add(&sleepers_ran, 1, __ATOMIC_RELAXED);
}

struct creator {
    int cpu;
    struct thread *th[PER_CREATOR];
};

/* Creates its threads from its own CPU, so CPUs race to build the same page tables. */
static void creator(void *arg)
{
    struct creator *c = arg;
    sched_move_to(c->cpu % ncpus);
    for (int i = 0; i < PER_CREATOR; i++) {
        c->th[i] = thread_create("slot-sleeper", sleeper, NULL);
        if (!c->th[i])
            __atomic_fetch_add(&create_failures, 1, __ATOMIC_RELAXED);
    }
    uint64_t f = spin_lock(&sched_lock);
    creators_done++;
    wq_wake_all_locked(&creators_wq);
    spin_unlock(&sched_lock, f);
}

/* Free pages, with what the page tables and kmalloc's slabs hold counted as in use only while they grow. */
static size_t pages_accounted(void)
{
    return pmm_free_pages() + kmalloc_slab_pages() + vmm_table_pages();
}

KTEST(slot, concurrent_creation_builds_each_table_once)
{
    if (ncpus < 2)
        KSKIP(t, "needs 2 CPUs");
    struct creator *cr = kzalloc(CREATORS * sizeof(*cr));
    struct thread **ct = kzalloc(CREATORS * sizeof(*ct));
    KREQUIRE(t, cr && ct);
    static uintptr_t filler[(ROUNDS + 1) * CREATORS * PER_CREATOR + 16384];
    int nfiller = 0;
    KREQUIRE(t, kstack_slots_prebuilt() <= 16384);
    size_t before = pages_accounted();
    int slots = kstack_slots_in_use();
    uintptr_t fresh = KSTACK_AREA_BASE + kstack_slots_prebuilt() * KSTACK_SLOT_SIZE;  /* past the prebuilt tables */
    for (int round = 0; round < ROUNDS; round++) {
        /*
         * Slots go lowest first: hold every free slot below `fresh` (no pages,
         * only the bitmap), so this round's threads land where no page table
         * was ever made, and the CPUs race to build each one.
         */
        uintptr_t base;
        while ((base = kstack_slot_alloc()) != 0 && base < fresh)
            filler[nfiller++] = base;
        if (base)
            kstack_slot_free(base);
        slots = kstack_slots_in_use();
        size_t tables = vmm_table_pages();
        released = false;
        sleepers_ran = creators_done = create_failures = 0;
        for (int i = 0; i < CREATORS; i++) {
            cr[i].cpu = i;
            ct[i] = thread_create("slot-creator", creator, &cr[i]);
            KREQUIRE(t, ct[i]);
        }
        wait_event(&creators_wq, creators_done == CREATORS);
        KEXPECT_EQ(t, create_failures, 0);
        KEXPECT(t, kstack_slots_in_use() >= slots + CREATORS * PER_CREATOR);
        uint64_t f = spin_lock(&sched_lock);
        released = true;
        wq_wake_all_locked(&release_wq);
        spin_unlock(&sched_lock, f);
        for (int i = 0; i < CREATORS; i++) {
            thread_join(ct[i]);
            for (int j = 0; j < PER_CREATOR; j++)
                if (cr[i].th[j])
                    thread_join(cr[i].th[j]);
        }
        KEXPECT_EQ(t, sleepers_ran, CREATORS * PER_CREATOR - create_failures);
        KEXPECT_EQ(t, kstack_slots_in_use(), slots);
        KEXPECT(t, vmm_table_pages() >= tables + CREATORS * PER_CREATOR / 32);
        KEXPECT_EQ(t, pages_accounted(), before);
        fresh += (uintptr_t)(CREATORS * PER_CREATOR + 32) * KSTACK_SLOT_SIZE;
    }
    while (nfiller > 0)
        kstack_slot_free(filler[--nfiller]);
    kfree(cr);
    kfree(ct);
}


/* Every slot taken (memory to spare): a new user thread's stack is refused with -EAGAIN, a limit, not -ENOMEM. */
KTEST(slot, full_area_gives_eagain)
{
    static uintptr_t taken[KSTACK_MAX_SLOTS];
    int n = 0;
    size_t before = pages_accounted();
    uintptr_t base;
    while ((base = kstack_slot_alloc()) != 0)
        taken[n++] = base;
    KEXPECT_EQ(t, kstack_slots_in_use(), KSTACK_MAX_SLOTS);
    KEXPECT_EQ(t, kstack_alloc_user(&base), -EAGAIN);
    KEXPECT(t, pmm_free_pages() > 1000);
    while (n > 0)
        kstack_slot_free(taken[--n]);
    KEXPECT_EQ(t, kstack_alloc_user(&base), 0);
    kstack_slot_free(base);
    KEXPECT_EQ(t, pages_accounted(), before);
}
