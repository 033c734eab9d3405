/* serial.h: the COM1 console: output, and input for tty.c (see serial.c). */
#pragma once
#include <stddef.h>

void serial_init(void);
void serial_write(const char *s, size_t n);
/* Raise ISA IRQ 4 when a byte arrives. */
void serial_rx_irq_enable(void);
/* The next received byte, or -1 when there is none. */
int serial_getc(void);
