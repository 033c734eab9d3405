/*
 * panic.c: the end of the line. Prints the reason and a backtrace, then
 * leaves QEMU through isa-debug-exit (the harness sees "panic"), or halts
 * when that device is absent, as on real hardware.
 */
#include "panic.h"
#include "arch/x86_64/cpu.h"
#include "ksyms.h"
#include "percpu.h"
#include "printk.h"

#define BACKTRACE_MAX 32

void backtrace_from(uintptr_t rip, uintptr_t rbp)
{
    char sym[96];
    ksym_format(sym, sizeof(sym), rip);
    printk("    [<%p>] %s\n", (void *)rip, sym);
    uint64_t last = 0;
    int repeats = 0, shown = 0;
    for (int depth = 0; shown < BACKTRACE_MAX && depth < 4096 && rbp; depth++) {
        uint64_t next, ret;
        /* The chain may be corrupt: only follow kernel addresses we can read. */
        if ((rbp & 7) || rbp < 0xffff800000000000ul)
            break;
        if (probe_read_u64((void *)rbp, &next) != -1 || probe_read_u64((void *)(rbp + 8), &ret) != -1)
            break;
        if (ret == 0)
            break;
        if (ret == last) {          /* recursion: say how deep instead of repeating */
            repeats++;
        } else {
            if (repeats)
                printk("    ... the frame above %d more times\n", repeats);
            repeats = 0;
            ksym_format(sym, sizeof(sym), ret);
            printk("    [<%p>] %s\n", (void *)ret, sym);
            last = ret;
            shown++;
        }
        if (next <= rbp)
            break;          /* stacks grow down: a caller's frame is higher */
        rbp = next;
    }
    if (repeats)
        printk("    ... the frame above %d more times\n", repeats);
}

void halt_forever(void)
{
    for (;;) {
        cli();
        hlt();
    }
}

void machine_exit(int code)
{
    outb(0xf4, (uint8_t)code);
    halt_forever();
}

static volatile int panicking;

void panic(const char *fmt, ...)
{
    cli();
    if (__atomic_exchange_n(&panicking, 1, __ATOMIC_SEQ_CST))
        halt_forever();     /* another CPU is already reporting */
    va_list ap;
    va_start(ap, fmt);
    printk("\nKERNEL PANIC on cpu %d: ", cpu_id());
    vprintk(fmt, ap);
    va_end(ap);
    printk("\n");
    backtrace_from((uintptr_t)panic, read_rbp());
    machine_exit(QEMU_EXIT_PANIC);
}
