/* switch_test.c: what switch_to() keeps per thread (suite sched). */
#include "arch/x86_64/cpu.h"
#include "ktest.h"
#include "sched/sched.h"

static volatile int ac_seen;

/* Runs on the test thread's CPU, switched in from it: it must not inherit its AC. */
static void report_ac(void *arg)
{
    sched_move_to((int)(uintptr_t)arg);
    ac_seen = (read_rflags() & RFLAGS_AC) != 0;
}

/*
 * RFLAGS.AC open in one thread (between stac and clac, or set by a user
 * thread) must neither leak to the thread switched to nor be lost by the
 * thread switched away from: switch.asm saves RFLAGS per thread.
 */
KTEST(sched, switch_keeps_rflags_ac_per_thread)
{
    ac_seen = -1;
    int cpu = cpu_id();
    write_rflags(read_rflags() | RFLAGS_AC);
    struct thread *helper = thread_create("report_ac", report_ac, (void *)(uintptr_t)cpu);
    bool mine = true;
    while (helper && ac_seen < 0) {
        sched_move_to(cpu);     /* a yield that also brings this thread back here after a preemption */
        mine &= (read_rflags() & RFLAGS_AC) != 0;
    }
    write_rflags(read_rflags() & ~RFLAGS_AC);
    KREQUIRE(t, helper);
    thread_join(helper);
    KEXPECT_EQ(t, ac_seen, 0);
    KEXPECT(t, mine);
}
