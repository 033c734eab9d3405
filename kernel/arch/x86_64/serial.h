/* serial.h: COM1 console output (see serial.c). */
#pragma once
#include <stddef.h>

void serial_init(void);
void serial_write(const char *s, size_t n);
