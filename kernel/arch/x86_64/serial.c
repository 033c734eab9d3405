/*
 * serial.c: the COM1 UART (16550) at 115200 8N1. Output is polled; input
 * raises ISA IRQ 4 (tty.c takes it). It is the kernel's only console;
 * printk() serialises writers, this file does not lock.
 */
#include "arch/x86_64/serial.h"
#include "arch/x86_64/cpu.h"

#define COM1 0x3f8

enum { UART_DATA = 0, UART_IER = 1, UART_FCR = 2, UART_LCR = 3, UART_MCR = 4, UART_LSR = 5 };
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20
#define IER_RX_DATA   0x01
#define MCR_OUT2      0x08     /* gates the UART's interrupt line on a PC */
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

void serial_rx_irq_enable(void)
{
    if (!serial_present)
        return;
    outb(COM1 + UART_MCR, 0x03 | MCR_OUT2);
    outb(COM1 + UART_IER, IER_RX_DATA);
}

int serial_getc(void)
{
    if (!serial_present || !(inb(COM1 + UART_LSR) & LSR_DATA_READY))
        return -1;
    return inb(COM1 + UART_DATA);
}
