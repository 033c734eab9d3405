/*
 * tty.h: console input (tty.c): the serial line read by interrupt, a line
 * discipline, and the read and console_ctl syscalls.
 */
#pragma once

/* Route the serial line's interrupt (IOAPIC) and start taking input. Boot CPU, once the APs are up. */
void tty_init(void);
