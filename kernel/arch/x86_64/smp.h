/*
 * smp.h: starting the other CPUs (APs). After smp_boot_aps(), cpus[0..ncpus-1]
 * are online, with ids in start-up order and the BSP as cpu 0.
 */
#pragma once
#include <stdint.h>

/* Microseconds from the first INIT to the last AP online, and the slowest AP's STARTUP-to-online. */
extern uint64_t smp_bringup_us, smp_ap_start_max_us;

/* BSP: start every enabled CPU of the MADT, one at a time. */
void smp_boot_aps(void);
