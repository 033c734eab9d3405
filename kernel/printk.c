/*
 * printk.c: the kernel's console. Formats into a buffer on the stack, then
 * writes under one lock; a CPU that faults while holding the lock (a report
 * from inside printk) writes anyway rather than deadlock.
 */
#include "printk.h"
#include "arch/x86_64/serial.h"
#include "lib/string.h"
#include "spinlock.h"

static struct spinlock console_lock = SPINLOCK_INIT("console");
static char *capture_buf;
static size_t capture_size, capture_len;

static void console_write(const char *s, size_t n)
{
    serial_write(s, n);
    if (capture_buf && capture_len + 1 < capture_size) {
        size_t room = capture_size - 1 - capture_len;
        size_t k = n < room ? n : room;
        memcpy(capture_buf + capture_len, s, k);
        capture_len += k;
        capture_buf[capture_len] = '\0';
    }
}

int vprintk(const char *fmt, va_list ap)
{
    char buf[256];
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t len = n < 0 ? 0 : ((size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);

    bool recursive = spin_held_by_me(&console_lock);
    uint64_t flags = 0;
    if (!recursive)
        flags = spin_lock(&console_lock);
    console_write(buf, len);
    if ((size_t)n >= sizeof(buf))
        console_write("[...]\n", 6);
    if (!recursive)
        spin_unlock(&console_lock, flags);
    return n;
}

int printk(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintk(fmt, ap);
    va_end(ap);
    return n;
}

void console_capture_start(char *buf, size_t size)
{
    uint64_t flags = spin_lock(&console_lock);
    capture_buf = buf;
    capture_size = size;
    capture_len = 0;
    if (size)
        buf[0] = '\0';
    spin_unlock(&console_lock, flags);
}

size_t console_capture_stop(void)
{
    uint64_t flags = spin_lock(&console_lock);
    size_t n = capture_len;
    capture_buf = NULL;
    spin_unlock(&console_lock, flags);
    return n;
}

void console_puts(const char *s)
{
    bool recursive = spin_held_by_me(&console_lock);
    uint64_t flags = 0;
    if (!recursive)
        flags = spin_lock(&console_lock);
    console_write(s, strlen(s));
    if (!recursive)
        spin_unlock(&console_lock, flags);
}
