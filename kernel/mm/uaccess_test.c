/*
 * uaccess_test.c: copy_from_user, copy_to_user and strncpy_from_user
 * against a real address space (suite uaccess). The test thread borrows a
 * process of its own for the duration, so the scheduler loads its PML4 and
 * the kernel-mode #PF path demand-faults its regions as for a syscall.
 */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/idt.h"
#include "ktest.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/uaccess.h"
#include "mm/uvm.h"
#include "mm/vmm.h"
#include "proc/process.h"
#include "sched/sched.h"
#include "uapi/errno.h"
#include "uapi/syscalls.h"

#define BASE    0x10000000ul    /* [BASE, BASE + 2 pages): RW, BASE + 2 pages: none, then one RO page */
#define HOLE    (BASE + 2 * PAGE_SIZE)
#define RO      (BASE + 3 * PAGE_SIZE)

struct fixture {
    struct process *proc;
};

/* Give the current (kernel) thread an address space: RW pages, a hole, a read-only page. */
static bool setup(struct ktest *t, struct fixture *fx)
{
    fx->proc = kzalloc(sizeof(*fx->proc));
    struct uvm *vm = fx->proc ? uvm_create() : NULL;
    if (!vm) {
        kfree(fx->proc);
        ktest_fail(t, __FILE__, __LINE__, "out of memory");
        return false;
    }
    KEXPECT_EQ(t, uvm_region_add(vm, BASE, BASE + 2 * PAGE_SIZE, PROT_READ | PROT_WRITE), 0);
    KEXPECT_EQ(t, uvm_region_add(vm, RO, RO + PAGE_SIZE, PROT_READ), 0);
    KEXPECT_EQ(t, uvm_write(vm, RO, "read-only", 10), 0);
    fx->proc->vm = vm;
    uint64_t f = irq_save();
    current()->proc = fx->proc;
    uvm_switch_in(current());
    irq_restore(f);
    return true;
}

static void teardown(struct fixture *fx)
{
    uint64_t f = irq_save();
    current()->proc = NULL;
    uvm_switch_to_kernel();
    irq_restore(f);
    uvm_destroy(fx->proc->vm);
    kfree(fx->proc);
}

static bool page_mapped(struct fixture *fx, uintptr_t va)
{
    return vmm_translate(fx->proc->vm->pml4, va) != ~0ull;
}

KTEST(uaccess, bad_pointers_give_efault)
{
    struct fixture fx;
    if (!setup(t, &fx))
        return;
    static const uintptr_t bad[] = {
        0, 0x1000, HOLE, HOLE + 100, USER_TOP, USER_TOP - 1, 0x8000000000000000ul,
        0xffff800000000000ul, 0xffffffff80100000ul,
    };
    char buf[16] = "0123456789abcde";
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        KEXPECT_EQ(t, copy_from_user(buf, (const void *)bad[i], 8), -EFAULT);
        KEXPECT_EQ(t, copy_to_user((void *)bad[i], buf, 8), -EFAULT);
        KEXPECT_EQ(t, strncpy_from_user(buf, (const char *)bad[i], sizeof(buf)), -EFAULT);
    }
    /* Ranges that wrap or run past USER_TOP are refused before any access. */
    KEXPECT_EQ(t, copy_from_user(buf, (const void *)BASE, ~0ul), -EFAULT);
    KEXPECT_EQ(t, copy_to_user((void *)BASE, buf, USER_TOP), -EFAULT);
    KEXPECT(t, !access_ok(USER_TOP - 8, 16));
    KEXPECT(t, !access_ok(BASE, ~0ul - BASE + 2));
    KEXPECT(t, access_ok(USER_TOP - 8, 8));
    /* A read-only page: reading works, writing faults. */
    KEXPECT_EQ(t, copy_from_user(buf, (const void *)RO, 10), 0);
    KEXPECT_STREQ(t, buf, "read-only");
    KEXPECT_EQ(t, copy_to_user((void *)RO, "x", 1), -EFAULT);
    KEXPECT_EQ(t, copy_to_user((void *)(RO + PAGE_SIZE - 1), "x", 1), -EFAULT);
    teardown(&fx);
}

KTEST(uaccess, demand_faults_from_the_kernel)
{
    struct fixture fx;
    if (!setup(t, &fx))
        return;
    KEXPECT(t, !page_mapped(&fx, BASE));
    KEXPECT_EQ(t, copy_to_user((void *)(BASE + 100), "hello", 6), 0);
    KEXPECT(t, page_mapped(&fx, BASE));
    KEXPECT(t, !page_mapped(&fx, BASE + PAGE_SIZE));
    char buf[8] = { 0 };
    KEXPECT_EQ(t, copy_from_user(buf, (const void *)(BASE + 100), 6), 0);
    KEXPECT_STREQ(t, buf, "hello");
    /* A read of a fresh page maps a zero page. */
    KEXPECT_EQ(t, copy_from_user(buf, (const void *)(BASE + PAGE_SIZE + 8), 8), 0);
    KEXPECT(t, page_mapped(&fx, BASE + PAGE_SIZE));
    KEXPECT_EQ(t, memcmp(buf, "\0\0\0\0\0\0\0\0", 8), 0);
    KEXPECT_EQ(t, fx.proc->vm->resident, 3);   /* two RW pages and the RO one */
    teardown(&fx);
}

KTEST(uaccess, partial_copy_stops_at_the_hole)
{
    struct fixture fx;
    if (!setup(t, &fx))
        return;
    const char src[16] = "ABCDEFGHIJKLMNO";
    char buf[16];
    /* 8 bytes fit before the hole: they are written, then -EFAULT. */
    KEXPECT_EQ(t, copy_to_user((void *)(HOLE - 8), src, 16), -EFAULT);
    memset(buf, 0, sizeof(buf));
    KEXPECT_EQ(t, copy_from_user(buf, (const void *)(HOLE - 8), 8), 0);
    KEXPECT_EQ(t, memcmp(buf, "ABCDEFGH", 8), 0);
    /* And reading across it copies the 8 bytes before it. */
    memset(buf, '.', sizeof(buf));
    KEXPECT_EQ(t, copy_from_user(buf, (const void *)(HOLE - 8), 16), -EFAULT);
    KEXPECT_EQ(t, memcmp(buf, "ABCDEFGH........", 16), 0);
    teardown(&fx);
}

KTEST(uaccess, strncpy_from_user_bounds)
{
    struct fixture fx;
    if (!setup(t, &fx))
        return;
    char buf[16];
    KEXPECT_EQ(t, copy_to_user((void *)BASE, "short\0much-longer-than-16", 26), 0);
    KEXPECT_EQ(t, strncpy_from_user(buf, (const char *)BASE, sizeof(buf)), 5);
    KEXPECT_STREQ(t, buf, "short");
    KEXPECT_EQ(t, strncpy_from_user(buf, (const char *)(BASE + 6), sizeof(buf)), -E2BIG);
    KEXPECT_EQ(t, buf[sizeof(buf) - 1], '\0');
    KEXPECT_EQ(t, strncpy_from_user(buf, (const char *)(BASE + 6), 0), -E2BIG);
    /* Exactly fits with its NUL; one byte less does not. */
    KEXPECT_EQ(t, strncpy_from_user(buf, (const char *)BASE, 6), 5);
    KEXPECT_EQ(t, strncpy_from_user(buf, (const char *)BASE, 5), -E2BIG);
    /* No NUL before the hole. */
    KEXPECT_EQ(t, copy_to_user((void *)(HOLE - 4), "abcd", 4), 0);
    KEXPECT_EQ(t, strncpy_from_user(buf, (const char *)(HOLE - 4), sizeof(buf)), -EFAULT);
    /* The NUL is the last byte before it. */
    KEXPECT_EQ(t, copy_to_user((void *)(HOLE - 4), "abc", 4), 0);
    KEXPECT_EQ(t, strncpy_from_user(buf, (const char *)(HOLE - 4), sizeof(buf)), 3);
    KEXPECT_STREQ(t, buf, "abc");
    teardown(&fx);
}

KTEST(uaccess, smap_blocks_plain_kernel_access)
{
    if (!cpu_has_smap)
        KSKIP(t, "no SMAP on this CPU");
    struct fixture fx;
    if (!setup(t, &fx))
        return;
    KEXPECT_EQ(t, copy_to_user((void *)BASE, "x", 1), 0);     /* now present */
    uint8_t v = 0;
    KEXPECT_EQ(t, probe_read_u8((const void *)BASE, &v), VEC_PF);
    KEXPECT_EQ(t, probe_write_u8((void *)BASE, 1), VEC_PF);
    KEXPECT(t, (read_rflags() & RFLAGS_AC) == 0);             /* every uaccess closed SMAP again */
    teardown(&fx);
}
