/* panic.h: panic(), KASSERT, and the QEMU exit codes the test harness reads. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

/* Values written to isa-debug-exit (port 0xf4); QEMU exits with (v << 1) | 1. */
#define QEMU_EXIT_PASS  0x10
#define QEMU_EXIT_FAIL  0x11
#define QEMU_EXIT_PANIC 0x12

__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

/* Leave QEMU with the code if isa-debug-exit is there; otherwise halt forever. */
__attribute__((noreturn)) void machine_exit(int code);

/* Halt this CPU for good, interrupts off. */
__attribute__((noreturn)) void halt_forever(void);

/* Print "  [<addr>] name+0x../0x.." lines walking the frame-pointer chain. */
void backtrace_from(uintptr_t rip, uintptr_t rbp);

#define KASSERT(cond)                                                             \
    do {                                                                          \
        if (__builtin_expect(!(cond), 0))                                         \
            panic("assertion failed: %s (%s:%d)", #cond, __FILE__, __LINE__);     \
    } while (0)

#define BUG() panic("BUG at %s:%d", __FILE__, __LINE__)
