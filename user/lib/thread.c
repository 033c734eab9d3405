/*
 * thread.c: thread_spawn/thread_join and the mutex (see thread.h). Stacks
 * are mmap_anon()ed; a thread cannot unmap the stack it runs on, so the
 * joiner does, and a table remembers which stack belongs to which tid.
 */
#include "thread.h"
#include "syscall.h"

#define PAGE 4096ul

/* Placed at the top of the new stack: what the trampoline starts. */
struct thread_start {
    void (*fn)(void *);
    void *arg;
};

static struct {
    int tid;            /* 0: free slot; -1: claimed, thread not created yet */
    unsigned long base; /* the mapping, guard page excluded */
} stacks[THREAD_MAX];
static struct mutex stacks_lock = MUTEX_INIT;

/* Called by the trampoline: global, since the asm names it. */
__attribute__((noreturn)) void thread_main(struct thread_start *start);
void thread_main(struct thread_start *start)
{
    start->fn(start->arg);
    sys_thread_exit(0);
}

/* The kernel enters here with rdi = the struct thread_start and rsp = its address. */
__attribute__((naked, noreturn)) static void thread_trampoline(void)
{
    __asm__ volatile("xor %ebp, %ebp\n\t"   /* the end of backtraces */
                     "and $-16, %rsp\n\t"
                     "call thread_main\n\t"
                     "ud2");
}

/*
 * Every slot below free_hint is taken, and the last claimed is where a join
 * looks first: with 10,000 threads asleep, creating and joining one more
 * finds its slot at once instead of scanning past them (make bench's
 * scaling figures). No slot at or above high_water was ever claimed: a join
 * never reads there (the table is 256 KiB of .bss, faulted in as it is
 * touched). stacks_lock guards all three.
 */
static int free_hint, last_claimed, high_water;

static int slot_claim(void)
{
    int found = -1;

    mutex_lock(&stacks_lock);
    for (int i = free_hint; i < THREAD_MAX && found < 0; i++) {
        if (stacks[i].tid == 0) {
            stacks[i].tid = -1;
            found = i;
        }
    }
    if (found >= 0) {
        free_hint = last_claimed = found;
        if (found >= high_water)
            high_water = found + 1;
    }
    mutex_unlock(&stacks_lock);
    return found;
}

static void slot_release(int i)
{
    stacks[i].tid = 0;
    if (i < free_hint)
        free_hint = i;
}

/*
 * The slot of tid, searched downward from the last claimed one (a join
 * usually follows its spawn), then down from the highest ever claimed.
 */
static int slot_of(int tid)
{
    for (int n = 0, i = last_claimed; n < high_water; n++, i = i ? i - 1 : high_water - 1)
        if (stacks[i].tid == tid)
            return i;
    return -1;
}

int thread_spawn(void (*fn)(void *), void *arg)
{
    int slot = slot_claim();
    long map, tid;
    struct thread_start *start;

    if (slot < 0)
        return -EAGAIN;
    map = sys_mmap_anon(THREAD_STACK_SIZE, PROT_READ | PROT_WRITE);
    if (map < 0) {
        stacks[slot].tid = 0;
        return (int)map;
    }
    /* The lowest page goes back, so that an overflow faults instead of
     * running into whatever lies below. */
    sys_munmap((void *)map, PAGE);
    start = (struct thread_start *)(map + THREAD_STACK_SIZE) - 1;
    start->fn = fn;
    start->arg = arg;
    stacks[slot].base = (unsigned long)map + PAGE;
    tid = sys_thread_create((void (*)(void *))thread_trampoline, start, start);
    if (tid < 0) {
        sys_munmap((void *)stacks[slot].base, THREAD_STACK_SIZE - PAGE);
        stacks[slot].tid = 0;
        return (int)tid;
    }
    __atomic_store_n(&stacks[slot].tid, (int)tid, __ATOMIC_RELEASE);
    return (int)tid;
}

int thread_join(int tid, long *value)
{
    long v = 0, ret;

    /* -ENOMEM: refused before it ran (no page for the kernel stack, docs/DESIGN.md 12): try again. */
    while ((ret = sys_thread_join(tid, &v)) == -ENOMEM)
        ;

    if (ret < 0)
        return (int)ret;
    if (value)
        *value = v;
    mutex_lock(&stacks_lock);
    int i = slot_of(tid);
    if (i >= 0) {
        sys_munmap((void *)stacks[i].base, THREAD_STACK_SIZE - PAGE);
        slot_release(i);
    }
    mutex_unlock(&stacks_lock);
    return 0;
}

void mutex_lock(struct mutex *m)
{
    int c = 0;

    if (__atomic_compare_exchange_n(&m->state, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    if (c != 2)
        c = __atomic_exchange_n(&m->state, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        sys_futex_wait(&m->state, 2, 0);
        c = __atomic_exchange_n(&m->state, 2, __ATOMIC_ACQUIRE);
    }
}

void mutex_unlock(struct mutex *m)
{
    if (__atomic_exchange_n(&m->state, 0, __ATOMIC_RELEASE) == 2)
        while (sys_futex_wake(&m->state, 1) == -ENOMEM)
            ;       /* refused before it ran (no page for the kernel stack): a wake must not be lost */
}
