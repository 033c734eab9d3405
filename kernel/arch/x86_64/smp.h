/*
 * smp.h: starting the other CPUs (APs). After smp_boot_aps(), cpus[0..ncpus-1]
 * are online, with ids in start-up order and the BSP as cpu 0.
 */
#pragma once
#include <stdint.h>

/* Time from the first INIT to the last AP online, in microseconds (tests, reports). */
extern uint64_t smp_bringup_us;

/* BSP: start every enabled CPU of the MADT, one at a time. */
void smp_boot_aps(void);
