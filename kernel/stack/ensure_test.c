/*
 * ensure_test.c: the ensure API (suite ensure). A path that needs 24 KiB of
 * stack works after kstack_ensure(), and without it hits the guard, with
 * an overflow report that names it.
 */
#include "ktest.h"
#include "mm/kmalloc.h"
#include "percpu.h"
#include "printk.h"
#include "sched/sched.h"
#include "stack/cache.h"
#include "stack/kstack.h"
#include "stack/overflow.h"
#include "stack/strategy.h"
#include "uapi/errno.h"

#define NEED (24 * 1024ul)

static uintptr_t deepest;

/* Recurse until `bytes` of stack below start are used; each frame is about 300 bytes. */
__attribute__((noinline)) static long ensure_test_deep_path(uintptr_t start, size_t bytes)
{
    volatile char frame[256];
    uintptr_t sp = read_rsp();
    frame[0] = 1;
    if (sp < deepest)
        deepest = sp;
    if (start - sp >= bytes)
        return frame[0];
    return ensure_test_deep_path(start, bytes) + frame[1];
}

static void deep_with_ensure(void *arg)
{
    int err = kstack_ensure(NEED + 1024);
    if (err)
        thread_exit(err);
    deepest = ~0ul;
    uintptr_t start = read_rsp();
    ensure_test_deep_path(start, NEED);
    thread_exit((long)(start - deepest));
    (void)arg;
}

static void deep_without_ensure(void *arg)
{
    (void)arg;
    deepest = ~0ul;
    ensure_test_deep_path(read_rsp(), NEED);
    thread_exit(0);
}

KTEST(ensure, path_needing_24k_succeeds_after_ensure)
{
    struct thread *th = thread_create("ensure-24k", deep_with_ensure, NULL);
    KREQUIRE(t, th);
    long used = thread_join(th);
    KEXPECT(t, used >= (long)NEED);
}

/* Cache take - give over every CPU: the pages above rest on all stacks, and the fault reserves. */
static int64_t taken_not_given(void)
{
    int64_t n = 0;
    for (int i = 0; i < ncpus; i++)
        n += (int64_t)(kstack_caches[i].take - kstack_caches[i].give);
    return n;
}

/*
 * A kernel thread's ensured pages come from cache takes like everyone's: they
 * go back by gives when it ends. (They went to the allocator with its slot:
 * take - give drifted by 3 for good, caught by kstack_check=.)
 */
KTEST(ensure, kernel_thread_gives_its_ensured_pages_back)
{
    int64_t before = taken_not_given();
    struct thread *th = thread_create("ensure-24k", deep_with_ensure, NULL);
    KREQUIRE(t, th);
    KEXPECT(t, thread_join(th) >= (long)NEED);
    KEXPECT_EQ(t, taken_not_given(), before);
}

KTEST(ensure, same_path_without_ensure_hits_the_guard)
{
    char *report = kmalloc(8192);
    KREQUIRE(t, report);
    long value = overflow_test_run("no-ensure-24k", deep_without_ensure, report, 8192);
    KEXPECT_EQ(t, value, -EFAULT);
    KEXPECT(t, ktest_contains(report, "kernel stack overflow"));
    KEXPECT(t, ktest_contains(report, "ensure_test_deep_path"));
    KEXPECT(t, ktest_contains(report, "(no-ensure-24k)"));
    kfree(report);
}

KTEST(ensure, limits_are_errors_not_crashes)
{
    KEXPECT_EQ(t, kstack_ensure(40 * 1024), -E2BIG);
    KEXPECT_EQ(t, kstack_ensure(512), 0);          /* already there: maps nothing */
    struct thread *me = current();
    KEXPECT(t, !kstack_page_mapped(me->kstack_base, KSTACK_PAGES));
}

KTEST(ensure, cache_take_and_give_balance)
{
    uint64_t flags = irq_save();
    struct kstack_cache *k = &kstack_caches[cpu_id()];
    int before = k->count;
    uint64_t take = k->take, give = k->give;
    uint64_t a = kstack_cache_take(), b = kstack_cache_take();
    kstack_cache_give(b);
    kstack_cache_give(a);
    KEXPECT(t, a && b && a != b);
    KEXPECT_EQ(t, k->take - take, 2);
    KEXPECT_EQ(t, k->give - give, 2);
    KEXPECT(t, before == 0 || k->count == before);
    irq_restore(flags);
    kstack_cache_balance();
    KEXPECT(t, k->count >= KSTACK_CACHE_LOW && k->count <= KSTACK_CACHE_HIGH);
}
