/*
 * uaccess.h: the only way the kernel touches user memory. Each call checks
 * that the range lies below USER_TOP without wrapping, then copies with SMAP
 * opened just for the copy; a bad pointer gives -EFAULT, never an oops.
 * Pages of the process's regions that are not mapped yet are demand-faulted
 * on the way, so callers must be allowed to sleep (IRQs on, no spinlock).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Is [addr, addr + n) a user range (n may be 0)? */
bool access_ok(uintptr_t addr, size_t n);

/* 0, or -EFAULT; on -EFAULT the bytes before the bad page have been copied. */
int copy_from_user(void *dst, const void *usrc, size_t n);
int copy_to_user(void *udst, const void *src, size_t n);

/*
 * Copy a NUL-terminated user string into dst[0, n). Returns its length
 * (without the NUL), -E2BIG if it does not fit with its NUL in n bytes, or
 * -EFAULT. dst is always NUL-terminated when n > 0.
 */
long strncpy_from_user(char *dst, const char *usrc, size_t n);
