/*
 * tty.c: the console's input side, as xv6's console.c. The serial line's
 * receive interrupt (ISA IRQ 4, routed by ioapic.c to CPU 0) feeds a line
 * discipline that echoes and edits in the interrupt handler:
 *   - backspace (DEL or ^H) erases a character, ^U the whole line;
 *   - Enter (CR or LF) makes the line readable, with a '\n';
 *   - ^D makes what was typed readable without a '\n': on an empty line,
 *     the next read() returns 0, the end of input;
 *   - ^C ends the foreground process (console_ctl CONSOLE_FOREGROUND) with
 *     status EXIT_INTERRUPTED: the same kill as sys_kill's, so its threads
 *     leave at their next exit to user mode and every page goes back. With
 *     no foreground process it discards the line and a waiting read()
 *     returns -EINTR (the shell prints a new prompt).
 * CONSOLE_RAW hands the bytes over as typed (the live view's keys).
 *
 * All of it is protected by sched_lock, like the wait queue readers sleep
 * on: the handler takes it with IRQs off, so nothing here races with a
 * reader on another CPU. Echo is written after the lock is dropped.
 */
#include "tty.h"
#include "arch/x86_64/ioapic.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/serial.h"
#include "mm/uaccess.h"
#include "printk.h"
#include "proc/process.h"
#include "sched/sched.h"
#include "sched/wait.h"
#include "syscall.h"
#include "uapi/errno.h"

#define TTY_LINE_MAX  256       /* the line being edited */
#define TTY_READY_MAX 1024      /* bytes typed and not read yet (a ring) */
#define TTY_ECHO_MAX  (2 * TTY_LINE_MAX)
#define READ_CHUNK    256       /* bytes one read() returns at most */

#define CTRL(c) ((c) & 0x1f)

static struct {
    char line[TTY_LINE_MAX];
    int line_len;
    char ready[TTY_READY_MAX];
    unsigned head, tail;        /* ready[tail % MAX .. head % MAX) */
    int lines;                  /* '\n' (and ^D ends) in ready: a cooked read() waits for one */
    bool eof;                   /* ^D on an empty line: the next read() returns 0 */
    bool interrupted;           /* ^C with no foreground process: the next read() returns -EINTR */
    bool raw;
    int foreground;             /* ^C ends this pid; 0: none */
    bool irq;                   /* input arrives by interrupt (else nothing is ever read) */
    struct wait_queue readers;
    uint64_t bytes, kills;
} tty = { .readers = WAIT_QUEUE_INIT("tty") };

struct echo {
    char buf[TTY_ECHO_MAX + 1];
    int len;
};

static void echo(struct echo *e, const char *s)
{
    while (*s && e->len < TTY_ECHO_MAX)
        e->buf[e->len++] = *s++;
}

static unsigned ready_count(void)
{
    return tty.head - tty.tail;
}

static bool ready_put(char c)
{
    if (ready_count() == TTY_READY_MAX)
        return false;
    tty.ready[tty.head++ % TTY_READY_MAX] = c;
    return true;
}

/* The line being edited becomes readable (with '\n' when Enter ended it). */
static void line_commit(bool newline)
{
    int n = 0;
    while (n < tty.line_len && ready_put(tty.line[n]))
        n++;
    if (newline)
        ready_put('\n');
    tty.line_len = 0;
    tty.lines++;
}

/* One received byte (sched_lock held). */
static void tty_input(int c, struct echo *e)
{
    tty.bytes++;
    if (c == CTRL('C') && tty.foreground) {
        echo(e, "^C\n");
        tty.line_len = 0;
        struct process *p;
        if (process_find_locked(tty.foreground, NULL, &p) == 0) {
            process_kill_locked(p, EXIT_INTERRUPTED);
            tty.kills++;
        }
        tty.foreground = 0;
        return;
    }
    if (tty.raw) {
        ready_put((char)c);
        tty.lines++;
        return;
    }
    switch (c) {
    case CTRL('C'):
        echo(e, "^C\n");
        tty.line_len = 0;
        tty.interrupted = true;
        break;
    case CTRL('D'):
        if (tty.line_len == 0)
            tty.eof = true;
        else
            line_commit(false);
        break;
    case CTRL('U'):
        for (; tty.line_len > 0; tty.line_len--)
            echo(e, "\b \b");
        break;
    case 0x7f:
    case CTRL('H'):
        if (tty.line_len > 0) {
            tty.line_len--;
            echo(e, "\b \b");
        }
        break;
    case '\r':
    case '\n':
        echo(e, "\n");
        line_commit(true);
        break;
    default:
        if ((c >= ' ' && c < 0x7f) || c == '\t') {
            if (tty.line_len < TTY_LINE_MAX - 1) {
                tty.line[tty.line_len++] = (char)c;
                char s[2] = { (char)c, 0 };
                echo(e, s);
            } else {
                echo(e, "\a");
            }
        }
        break;
    }
}

static void tty_irq(struct pt_regs *regs)
{
    (void)regs;
    struct echo e = { .len = 0 };
    uint64_t f = spin_lock(&sched_lock);
    for (int c, n = 0; n < 64 && (c = serial_getc()) >= 0; n++)     /* the FIFO holds 16 */
        tty_input(c, &e);
    wq_wake_all_locked(&tty.readers);
    spin_unlock(&sched_lock, f);
    if (e.len) {
        e.buf[e.len] = 0;
        console_puts(e.buf);
    }
}

void tty_init(void)
{
    irq_register(VEC_SERIAL, tty_irq);
    if (!ioapic_init() || !ioapic_route_isa(4, VEC_SERIAL, 0)) {
        printk("tty: no serial input interrupt: the console cannot be read\n");
        return;
    }
    serial_rx_irq_enable();
    tty.irq = true;
    tty_irq(NULL);              /* bytes typed before now raised no edge of their own */
}

/* Would a read() return now? (sched_lock held) */
static bool readable(void)
{
    return (tty.lines > 0 && ready_count() > 0) || tty.eof || tty.interrupted;
}

long sys_read(uint64_t fd, uint64_t ubuf, uint64_t len)
{
    if (fd != 0)
        return -EBADF;
    if (len == 0)
        return 0;
    if (!access_ok(ubuf, len))
        return -EFAULT;
    if (!tty.irq)
        return -ENODEV;
    char buf[READ_CHUNK];
    size_t n = 0;
    long ret;
    uint64_t f = spin_lock(&sched_lock);
    while (!readable() && !process_dying())
        sched_block_locked(&tty.readers, 0);
    if (process_dying()) {
        ret = -EINTR;
    } else if (tty.interrupted) {
        tty.interrupted = false;
        ret = -EINTR;
    } else if (tty.lines == 0 || ready_count() == 0) {     /* ^D on an empty line */
        tty.eof = false;
        ret = 0;
    } else {
        while (n < len && n < sizeof(buf) && ready_count() > 0) {
            char c = tty.ready[tty.tail++ % TTY_READY_MAX];
            buf[n++] = c;
            if (!tty.raw && c == '\n')
                break;
        }
        /* Cooked: a line at a time (lines ended by ^D run into the next). Raw: every byte counts. */
        if (tty.raw || ready_count() == 0)
            tty.lines = (int)ready_count();
        else if (buf[n - 1] == '\n')
            tty.lines--;
        ret = (long)n;
    }
    spin_unlock(&sched_lock, f);
    if (ret > 0 && copy_to_user((void *)ubuf, buf, n))
        return -EFAULT;
    return ret;
}

long sys_console_ctl(uint64_t op, uint64_t arg)
{
    struct process *p;
    long ret = 0;
    uint64_t f = spin_lock(&sched_lock);
    switch (op) {
    case CONSOLE_FOREGROUND:
        if (arg == 0)
            tty.foreground = 0;
        else if (arg > INT32_MAX)
            ret = -ESRCH;
        else if ((ret = process_find_locked((int)arg, current()->proc, &p)) == 0)
            tty.foreground = (int)arg;
        break;
    case CONSOLE_RAW:
        if (arg > 1) {
            ret = -EINVAL;
            break;
        }
        tty.raw = arg;
        tty.line_len = 0;
        tty.head = tty.tail = 0;        /* what was typed in the other mode is dropped */
        tty.lines = 0;
        tty.eof = tty.interrupted = false;
        break;
    case CONSOLE_POLL: {
        if (!tty.irq) {
            ret = -ENODEV;
            break;
        }
        uint64_t ms = arg > 3600 * 1000 ? 3600 * 1000 : arg;
        uint64_t deadline = time_ns() + ms * 1000000ull;
        while (!readable() && !process_dying() && time_ns() < deadline)
            sched_block_locked(&tty.readers, deadline);
        ret = process_dying() ? -EINTR : readable();
        break;
    }
    default:
        ret = -EINVAL;
    }
    spin_unlock(&sched_lock, f);
    return ret;
}
