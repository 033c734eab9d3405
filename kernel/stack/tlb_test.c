/*
 * tlb_test.c: suite `testsys`: the stale-translation detector (tlb.c) runs
 * only when kstack_tlb_check=1 asks for it, never because of testsys=1.
 */
#include "cmdline.h"
#include "ktest.h"
#include "stack/kstack.h"
#include "stack/strategy.h"

/*
 * The detector reads every mapped page of a migrating thread's slot, which
 * sets the PTE accessed bits the pages-used histogram counts: left on in
 * `make run` (testsys=1), every migration would count as "4 pages used".
 */
KTEST(testsys, tlb_check_only_with_its_option)
{
    struct kstat k;
    kstack_fill_kstat(&k);
    KEXPECT_EQ(t, k.tlb_check, cmdline_int("kstack_tlb_check", 0) != 0);
}
