/*
 * tsc.h: the time-stamp counter as the kernel's clock: its frequency, measured
 * once at boot against the PIT, and busy-wait delays. Not a timer: see apic.h.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

/* TSC ticks per second (benchmarks, delays, time_ns()); 0 until tsc_init(). */
extern uint64_t tsc_hz;
/* CPUID says the TSC runs at a constant rate in every P-, C- and T-state. */
extern bool tsc_invariant;

/* Measure tsc_hz against PIT channel 2 (BSP, once, before anything waits). */
void tsc_init(void);
/* A fresh measurement over ms milliseconds (1..50) of PIT channel 2; 0 if the PIT does not count. */
uint64_t tsc_measure_hz(unsigned ms);

static inline uint64_t tsc_from_us(uint64_t us) { return tsc_hz / 1000000 * us + tsc_hz % 1000000 * us / 1000000; }
static inline uint64_t tsc_to_us(uint64_t ticks) { return ticks / tsc_hz * 1000000 + ticks % tsc_hz * 1000000 / tsc_hz; }

/* Spin for at least us microseconds. */
void tsc_delay_us(uint64_t us);
