/*
 * tsc.c: tsc_hz, measured against the 8254 PIT (1193182 Hz, the one clock of
 * known frequency every PC has) with channel 2, whose gate is in port 0x61:
 * no interrupt, no IRQ routing, nothing else disturbed.
 *
 * Only the two ends of the window matter: each end is a PIT count read
 * between two TSC reads, the tightest of a few tries. A vCPU paused by the
 * host in the middle of the window (TCG on a busy host) costs nothing; one
 * paused at an end shows as a wide bracket, and that run is done again.
 */
#include "arch/x86_64/tsc.h"
#include "arch/x86_64/cpu.h"
#include "printk.h"

#define PIT_HZ          1193182u
#define PIT_CH2_DATA    0x42
#define PIT_MODE        0x43
#define PIT_PORT_B      0x61    /* bit 0: channel 2 gate, bit 1: speaker, bit 5: channel 2 output */
#define PIT_CH2_ONESHOT 0xb0    /* channel 2, lobyte/hibyte, mode 0 (count down once), binary */
#define PIT_CH2_LATCH   0x80    /* channel 2, counter latch */

#define SAMPLE_TRIES    8
#define MEASURE_MS      50
#define MEASURE_RUNS    4
#define GOOD_PPM        1000    /* brackets within 0.1% of the window: stop measuring */

uint64_t tsc_hz;
bool tsc_invariant;

static uint16_t pit_ch2_read(void)
{
    outb(PIT_MODE, PIT_CH2_LATCH);
    uint8_t lo = inb(PIT_CH2_DATA);
    return (uint16_t)(lo | inb(PIT_CH2_DATA) << 8);
}

/* The (count, TSC) pair with the narrowest TSC bracket around the count's read. */
static void pit_sample(uint16_t *count, uint64_t *tsc, uint64_t *width)
{
    *width = ~0ull;
    for (int i = 0; i < SAMPLE_TRIES; i++) {
        uint64_t t0 = rdtsc();
        uint16_t c = pit_ch2_read();
        uint64_t t1 = rdtsc();
        if (t1 - t0 < *width) {
            *width = t1 - t0;
            *count = c;
            *tsc = t0 + (t1 - t0) / 2;
        }
    }
}

/* One run; *ppm is the uncertainty from the brackets. 0 if the PIT did not count or wrapped. */
static uint64_t measure(unsigned ms, uint64_t *ppm)
{
    uint32_t window = PIT_HZ * ms / 1000;
    outb(PIT_PORT_B, (inb(PIT_PORT_B) & ~0x02) | 0x01);    /* gate on, speaker off */
    outb(PIT_MODE, PIT_CH2_ONESHOT);
    outb(PIT_CH2_DATA, 0xff);
    outb(PIT_CH2_DATA, 0xff);           /* 0xffff counts: 54.9 ms before it wraps */
    pit_ch2_read();                     /* the count loads on the next PIT clock */

    uint16_t c0, c1, c;
    uint64_t t0, t1, w0, w1;
    pit_sample(&c0, &t0, &w0);
    /* A PIT that never counts must not hang the boot: give up after ~2^36 cycles (tens of seconds). */
    do
        c = pit_ch2_read();
    while ((uint16_t)(c0 - c) < window && !(inb(PIT_PORT_B) & 0x20) && rdtsc() - t0 < (1ull << 36));
    pit_sample(&c1, &t1, &w1);
    bool wrapped = inb(PIT_PORT_B) & 0x20;     /* output high: it reached 0, the count is ambiguous */
    outb(PIT_PORT_B, inb(PIT_PORT_B) & ~0x01);

    uint16_t elapsed = c0 - c1;
    if (wrapped || elapsed < window || t1 <= t0)
        return 0;
    *ppm = (w0 + w1) * 1000000 / 2 / (t1 - t0);
    return (t1 - t0) * PIT_HZ / elapsed;
}

uint64_t tsc_measure_hz(unsigned ms)
{
    uint64_t ppm;
    if (ms < 1 || ms > 50)
        return 0;
    for (int i = 0; i < MEASURE_RUNS; i++) {
        uint64_t hz = measure(ms, &ppm);
        if (hz && ppm <= GOOD_PPM)
            return hz;
    }
    return measure(ms, &ppm);
}

void tsc_init(void)
{
    uint32_t a, b, c, d;
    cpuid(0x80000000, 0, &a, &b, &c, &d);
    if (a >= 0x80000007) {
        cpuid(0x80000007, 0, &a, &b, &c, &d);
        tsc_invariant = d & (1u << 8);
    }

    uint64_t ppm = 0;
    int runs = 0;
    do
        tsc_hz = measure(MEASURE_MS, &ppm);
    while (++runs < MEASURE_RUNS && (!tsc_hz || ppm > GOOD_PPM));

    if (tsc_hz < 10000000) {    /* below 10 MHz: the PIT is absent or does not count */
        cpuid(0, 0, &a, &b, &c, &d);
        uint32_t mhz = 0;
        if (a >= 0x16) {
            cpuid(0x16, 0, &a, &b, &c, &d);
            mhz = a & 0xffff;
        }
        tsc_hz = (mhz ? mhz : 1000) * 1000000ull;
        printk("tsc: the PIT did not count; assuming %lu MHz from %s\n", (unsigned long)(tsc_hz / 1000000),
               mhz ? "CPUID leaf 0x16" : "nothing");
        return;
    }
    printk("tsc: %lu.%03lu MHz (PIT, %d ms, +-%lu ppm, run %d), invariant: %s\n", (unsigned long)(tsc_hz / 1000000),
           (unsigned long)(tsc_hz / 1000 % 1000), MEASURE_MS, (unsigned long)ppm, runs,
           tsc_invariant ? "yes" : "no");
}

void tsc_delay_us(uint64_t us)
{
    uint64_t start = rdtsc(), ticks = tsc_from_us(us);
    while (rdtsc() - start < ticks)
        cpu_relax();
}
