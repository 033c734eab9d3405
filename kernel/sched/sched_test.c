/* sched_test.c: preemption, sleep and migration (suite sched). */
#include "ktest.h"
#include "mm/kmalloc.h"
#include "sched/sched.h"
#include "sched/wait.h"

static volatile bool stop_spinning;
static volatile uint64_t progress;

static void spin_forever(void *arg)
{
    (void)arg;
    while (!stop_spinning)
        cpu_relax();            /* never yields: only the timer can take the CPU away */
}

static void make_progress(void *arg)
{
    (void)arg;
    while (!stop_spinning)
        progress++;
}

KTEST(sched, spinning_threads_do_not_starve_others)
{
    enum { SPINNERS = 6 };
    struct thread *s[SPINNERS];
    stop_spinning = false;
    progress = 0;
    for (int i = 0; i < SPINNERS; i++) {
        s[i] = thread_create("spinner", spin_forever, NULL);
        KREQUIRE(t, s[i]);
    }
    struct thread *p = thread_create("progress", make_progress, NULL);
    KREQUIRE(t, p);
    /* This thread competes with spinners that never yield: it returns only if preempted ones run. */
    uint64_t start = time_ns();
    while (time_ns() - start < 300 * 1000000ull)
        cpu_relax();
    uint64_t seen = progress;
    stop_spinning = true;
    for (int i = 0; i < SPINNERS; i++)
        thread_join(s[i]);
    thread_join(p);
    KEXPECT(t, seen > 0);
}

KTEST(sched, sleep_never_ends_early)
{
    static const uint64_t ms[] = { 1, 3, 10, 25, 50 };
    for (unsigned i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
        uint64_t t0 = time_ns();
        sched_sleep_ms(ms[i]);
        uint64_t slept = time_ns() - t0;
        KEXPECT(t, slept >= ms[i] * 1000000ull);
        KEXPECT(t, slept < ms[i] * 1000000ull + 500 * 1000000ull);  /* and it does end */
    }
}

static void sleep_and_spin(void *arg)
{
    (void)arg;
    for (int i = 0; i < 40; i++) {
        uint64_t t0 = time_ns();
        while (time_ns() - t0 < 1000000)
            cpu_relax();
        sched_sleep_ms(1);
    }
}

KTEST(sched, threads_run_on_several_cpus_and_migrate)
{
    if (ncpus < 2)
        KSKIP(t, "needs SMP >= 2");
    enum { N = 8 };
    struct thread *w[N];
    uint64_t before = sched_total_migrations();
    for (int i = 0; i < N; i++) {
        w[i] = thread_create("wanderer", sleep_and_spin, NULL);
        KREQUIRE(t, w[i]);
    }
    cpumask_t all = { 0 };
    uint64_t migrations = 0;
    for (int i = 0; i < N; i++) {
        /* Read before join frees the thread: it is dead and off-CPU once join returns. */
        wait_for_dead:
        if (w[i]->state != THREAD_DEAD) {
            sched_sleep_ms(5);
            goto wait_for_dead;
        }
        all.bits |= w[i]->cpus_run.bits;
        migrations += w[i]->migrations;
        thread_join(w[i]);
    }
    KEXPECT(t, cpumask_weight(&all) > 1);
    KEXPECT(t, migrations > 0);
    KEXPECT(t, sched_total_migrations() > before);
}

/*
 * A handoff whose thread a waker takes first (the race: a reply names its
 * caller, the caller's deadline wakes it, it runs and waits on something
 * else, or ends, before the replier schedules). The wake ends the handoff:
 * the replier's next schedule and its drop leave the thread alone.
 */
static struct wait_queue handoff_wq = WAIT_QUEUE_INIT("handoff_test");
static volatile int handoff_phase;

static void handoff_target(void *arg)
{
    (void)arg;
    uint64_t f = spin_lock(&sched_lock);
    handoff_phase = 1;
    while (handoff_phase == 1)
        sched_block_locked(NULL, 0);    /* as a caller waits for its reply: on no queue */
    handoff_phase = 3;
    while (handoff_phase != 4)
        sched_block_locked(&handoff_wq, 0);
    spin_unlock(&sched_lock, f);
}

static bool target_blocked(struct thread *h, struct wait_queue *wq)
{
    uint64_t f = spin_lock(&sched_lock);
    bool on = h->state == THREAD_BLOCKED && h->waiting_on == wq && (wq || handoff_phase == 1);
    spin_unlock(&sched_lock, f);
    return on;
}

KTEST(sched, a_wake_ends_the_handoff_that_names_the_thread)
{
    handoff_phase = 0;
    struct thread *h = thread_create("handoff-target", handoff_target, NULL);
    KREQUIRE(t, h);
    for (int i = 0; i < 2000 && !target_blocked(h, NULL); i++)
        sched_sleep_ms(1);
    KREQUIRE(t, target_blocked(h, NULL));

    uint64_t f = spin_lock(&sched_lock);
    sched_handoff_locked(h);            /* a reply names it */
    KEXPECT(t, current()->handoff_to == h && h->handoff_from == current());
    handoff_phase = 2;
    sched_wake_locked(h);               /* its deadline comes first */
    KEXPECT(t, current()->handoff_to == NULL && h->handoff_from == NULL);
    spin_unlock(&sched_lock, f);

    for (int i = 0; i < 2000 && !target_blocked(h, &handoff_wq); i++)
        sched_sleep_ms(1);              /* it runs, and waits on a queue now */
    KREQUIRE(t, target_blocked(h, &handoff_wq));
    sched_yield();                      /* the replier schedules: nothing runs h */
    f = spin_lock(&sched_lock);
    sched_handoff_drop_locked(current());   /* and its drop wakes nothing */
    spin_unlock(&sched_lock, f);
    KEXPECT(t, target_blocked(h, &handoff_wq));

    handoff_phase = 4;
    wq_wake_all(&handoff_wq);
    thread_join(h);
}
