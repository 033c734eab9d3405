/*
 * uaccess.c: copy_from_user, copy_to_user, strncpy_from_user (see
 * uaccess.h). The instructions that may fault live in arch/x86_64/cpu.h
 * with their exception-table entries; here are the range checks.
 */
#include "mm/uaccess.h"
#include "arch/x86_64/cpu.h"
#include "mm/layout.h"
#include "panic.h"
#include "uapi/errno.h"

bool access_ok(uintptr_t addr, size_t n)
{
    return addr < USER_TOP && n <= USER_TOP - addr;
}

/* Demand faults may sleep: a caller with IRQs off could deadlock in one. */
static void uaccess_might_sleep(void)
{
    KASSERT(irqs_enabled());
}

int copy_from_user(void *dst, const void *usrc, size_t n)
{
    uaccess_might_sleep();
    if (!access_ok((uintptr_t)usrc, n))
        return -EFAULT;
    return uaccess_copy_asm(dst, usrc, n) ? -EFAULT : 0;
}

int copy_to_user(void *udst, const void *src, size_t n)
{
    uaccess_might_sleep();
    if (!access_ok((uintptr_t)udst, n))
        return -EFAULT;
    return uaccess_copy_asm(udst, src, n) ? -EFAULT : 0;
}

long strncpy_from_user(char *dst, const char *usrc, size_t n)
{
    uaccess_might_sleep();
    if (n == 0)
        return -E2BIG;
    dst[0] = '\0';
    uintptr_t addr = (uintptr_t)usrc;
    if (addr >= USER_TOP)
        return -EFAULT;
    size_t room = n <= USER_TOP - addr ? n : USER_TOP - addr;  /* never read past the user half */
    bool faulted;
    size_t left = uaccess_strncpy_asm(dst, usrc, room, &faulted);
    size_t copied = room - left;
    if (faulted) {
        dst[copied < n ? copied : n - 1] = '\0';
        return -EFAULT;
    }
    if (copied > 0 && dst[copied - 1] == '\0')
        return (long)copied - 1;
    dst[n - 1] = '\0';
    return room < n ? -EFAULT : -E2BIG;    /* ran into USER_TOP, or no NUL in n bytes */
}
