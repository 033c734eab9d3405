/*
 * serial.c: the COM1 UART (16550) at 115200 8N1, polled. It is the kernel's
 * only console; printk() serialises callers, this file does not lock.
 */
#include "arch/x86_64/serial.h"
#include "arch/x86_64/cpu.h"

#define COM1 0x3f8

enum { UART_DATA = 0, UART_IER = 1, UART_FCR = 2, UART_LCR = 3, UART_MCR = 4, UART_LSR = 5 };
#define LSR_THR_EMPTY 0x20
#define LCR_DLAB      0x80

static bool serial_present;

void serial_init(void)
{
    outb(COM1 + UART_IER, 0x00);
    outb(COM1 + UART_LCR, LCR_DLAB);
    outb(COM1 + UART_DATA, 1); /* divisor 1: 115200 baud */
    outb(COM1 + UART_IER, 0);
    outb(COM1 + UART_LCR, 0x03); /* 8N1 */
    outb(COM1 + UART_FCR, 0xc7); /* FIFO on, cleared, 14-byte threshold */
    outb(COM1 + UART_MCR, 0x03); /* DTR, RTS */
    /* A missing UART reads as 0xff: then print nothing rather than spin. */
    serial_present = inb(COM1 + UART_LSR) != 0xff;
}

static void serial_putc(char c)
{
    if (!serial_present)
        return;
    for (int spins = 0; !(inb(COM1 + UART_LSR) & LSR_THR_EMPTY) && spins < 100000; spins++)
        cpu_relax();
    outb(COM1 + UART_DATA, (uint8_t)c);
}

void serial_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            serial_putc('\r');
        serial_putc(s[i]);
    }
}
