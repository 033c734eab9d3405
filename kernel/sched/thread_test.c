/* thread_test.c: kernel threads, mutexes, join and reaping (suite thread). */
#include "ktest.h"
#include "mm/kmalloc.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "sched/sched.h"
#include "sched/wait.h"
#include "stack/kstack.h"

#define NTHREADS 200
#define ADDS 200

static struct mutex counter_lock = MUTEX_INIT("test_counter");
static long counter;

static void add_under_mutex(void *arg)
{
    (void)arg;
    for (int i = 0; i < ADDS; i++) {
        mutex_lock(&counter_lock);
        long v = counter;
        if (i % 16 == 0)
            sched_yield();      /* invite a race the mutex must prevent */
        counter = v + 1;
        mutex_unlock(&counter_lock);
    }
}

KTEST(thread, mutex_counter_200_threads)
{
    struct thread **th = kzalloc(NTHREADS * sizeof(*th));
    KREQUIRE(t, th);
    counter = 0;
    for (int i = 0; i < NTHREADS; i++) {
        th[i] = thread_create("adder", add_under_mutex, NULL);
        KREQUIRE(t, th[i]);
    }
    for (int i = 0; i < NTHREADS; i++)
        thread_join(th[i]);
    KEXPECT_EQ(t, counter, NTHREADS * ADDS);
    kfree(th);
}

static void exit_with(void *arg)
{
    thread_exit((long)arg * 7 + 1);
}

KTEST(thread, join_returns_the_exit_value)
{
    struct thread *th[16];
    for (long i = 0; i < 16; i++) {
        th[i] = thread_create("exiter", exit_with, (void *)i);
        KREQUIRE(t, th[i]);
    }
    for (long i = 15; i >= 0; i--)
        KEXPECT_EQ(t, thread_join(th[i]), i * 7 + 1);
}

static void do_nothing(void *arg)
{
    (void)arg;
}

KTEST(thread, reaping_returns_slots_and_pages)
{
    int slots = kstack_slots_in_use(), threads = thread_count();
    size_t pages = pmm_free_pages() + kmalloc_slab_pages() + vmm_table_pages();
    struct thread *th[32];
    for (int i = 0; i < 32; i++) {
        th[i] = thread_create("short", do_nothing, NULL);
        KREQUIRE(t, th[i]);
    }
    KEXPECT_EQ(t, kstack_slots_in_use(), slots + 32);
    for (int i = 0; i < 32; i++)
        thread_join(th[i]);
    KEXPECT_EQ(t, kstack_slots_in_use(), slots);
    KEXPECT_EQ(t, thread_count(), threads);
    KEXPECT_EQ(t, pmm_free_pages() + kmalloc_slab_pages() + vmm_table_pages(), pages);
}

KTEST(thread, kernel_stack_is_16k_in_its_slot)
{
    struct thread *me = current();
    uintptr_t sp = read_rsp();
    KEXPECT(t, kstack_in_area(sp));
    KEXPECT_EQ(t, kstack_slot_of(sp), me->kstack_base);
    for (int i = 0; i < (int)KSTACK_PAGES; i++)
        KEXPECT(t, kstack_page_mapped(me->kstack_base, i));
    for (int i = KSTACK_PAGES; i < 16; i++)
        KEXPECT(t, !kstack_page_mapped(me->kstack_base, i));
    KEXPECT(t, kstack_is_guard(me->kstack_base));
    KEXPECT(t, !kstack_is_guard(sp));
}

KTEST(thread, shared_objects_on_a_stack_are_detected)
{
    struct wait_queue on_stack;     /* never initialised: wq_init() would panic, by design */
    static struct wait_queue in_data;
    KEXPECT(t, kstack_in_area((uintptr_t)&on_stack));
    KEXPECT(t, !kstack_in_area((uintptr_t)&in_data));
}
