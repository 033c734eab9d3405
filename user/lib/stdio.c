/*
 * stdio.c: printf and friends (see stdio.h). Output is formatted into a
 * stack buffer, and only a line longer than that takes a second, bigger pass.
 */
#include "stdio.h"
#include "lib/string.h"
#include "syscall.h"

#define PRINTF_SMALL 256

static int write_all(int fd, const char *s, size_t len)
{
    size_t done = 0;

    while (done < len) {
        long n = sys_write(fd, s + done, len - done);
        if (n <= 0)
            return n < 0 ? (int)n : -EIO;
        done += (size_t)n;
    }
    return (int)len;
}

int vdprintf(int fd, const char *fmt, va_list ap)
{
    char small[PRINTF_SMALL];
    va_list again;
    int n;

    va_copy(again, ap);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    if (n < (int)sizeof(small)) {
        va_end(again);
        return write_all(fd, small, (size_t)n);
    }
    /* Rare: a long line. The stack of a thread (64 KiB) has room for this. */
    {
        size_t size = (size_t)n + 1 > PRINTF_MAX ? PRINTF_MAX : (size_t)n + 1;
        char big[size];

        vsnprintf(big, size, fmt, again);
        va_end(again);
        return write_all(fd, big, strlen(big));
    }
}

int dprintf(int fd, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vdprintf(fd, fmt, ap);
    va_end(ap);
    return n;
}

int vprintf(const char *fmt, va_list ap)
{
    return vdprintf(1, fmt, ap);
}

int printf(const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vdprintf(1, fmt, ap);
    va_end(ap);
    return n;
}

int puts(const char *s)
{
    return printf("%s\n", s);
}
