/* wx_test.c: W^X of the kernel's mappings (suite wx): nothing is both writable and executable. */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/trap.h"
#include "ktest.h"
#include "lib/string.h"
#include "mm/layout.h"
#include "mm/pmm.h"

/* mov $-1, %rax; ret */
static const uint8_t return_minus_one[] = { 0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff, 0xc3 };
static uint8_t code_in_data[16] __attribute__((aligned(16))) = { 0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff, 0xc3 };

__attribute__((noinline)) static long wx_text_function(void)
{
    return -1;
}

KTEST(wx, text_is_executable)
{
    /* The positive control: probe_exec() of real code returns the code's -1. */
    KEXPECT_EQ(t, probe_exec((void *)wx_text_function), -1);
}

KTEST(wx, writing_text_faults)
{
    KEXPECT_EQ(t, probe_write_u8((void *)wx_text_function, 0xcc), VEC_PF);
    KEXPECT_EQ(t, probe_exec((void *)wx_text_function), -1);   /* and it was not changed */
}

KTEST(wx, writing_rodata_faults)
{
    KEXPECT_EQ(t, probe_write_u8((void *)return_minus_one, 0), VEC_PF);
    KEXPECT_EQ(t, return_minus_one[0], 0x48);
}

KTEST(wx, executing_data_faults)
{
    KEXPECT_EQ(t, probe_exec(code_in_data), VEC_PF);
}

KTEST(wx, executing_the_stack_faults)
{
    uint8_t code[16] __attribute__((aligned(16)));
    memcpy(code, return_minus_one, sizeof(return_minus_one));
    KEXPECT_EQ(t, probe_exec(code), VEC_PF);
}

KTEST(wx, executing_the_direct_map_faults)
{
    uint64_t pa = pmm_alloc();
    KREQUIRE(t, pa);
    memcpy(phys_to_virt(pa), return_minus_one, sizeof(return_minus_one));
    KEXPECT_EQ(t, probe_exec(phys_to_virt(pa)), VEC_PF);
    /* The kernel text seen through the direct map is not executable either. */
    extern char _text_start[];
    KEXPECT_EQ(t, probe_exec(phys_to_virt(virt_to_phys((void *)wx_text_function))), VEC_PF);
    (void)_text_start;
    pmm_free(pa);
}
