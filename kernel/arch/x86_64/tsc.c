/*
 * tsc.c: tsc_hz, measured against the 8254 PIT (1193182 Hz, the one clock of
 * known frequency every PC has) with channel 2, whose gate and output are
 * both in port 0x61: no interrupt, no IRQ routing, nothing else disturbed.
 */
#include "arch/x86_64/tsc.h"
#include "arch/x86_64/cpu.h"
#include "printk.h"

#define PIT_HZ          1193182u
#define PIT_CH2_DATA    0x42
#define PIT_MODE        0x43
#define PIT_PORT_B      0x61    /* bit 0: channel 2 gate, bit 1: speaker, bit 5: channel 2 output */
#define PIT_CH2_ONESHOT 0xb0    /* channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count), binary */

#define MEASURE_MS      20
#define MEASURE_RUNS    3

uint64_t tsc_hz;
bool tsc_invariant;

uint64_t tsc_measure_hz(unsigned ms)
{
    if (ms < 1 || ms > 50)      /* the 16-bit count holds at most 54.9 ms */
        return 0;
    uint32_t count = PIT_HZ * ms / 1000;
    outb(PIT_PORT_B, (inb(PIT_PORT_B) & ~0x02) | 0x01);    /* gate on, speaker off */
    outb(PIT_MODE, PIT_CH2_ONESHOT);                          /* output goes low... */
    outb(PIT_CH2_DATA, count & 0xff);
    outb(PIT_CH2_DATA, count >> 8);                           /* ...and counting starts */
    uint64_t start = rdtsc(), now = start;
    /* A PIT that never counts must not hang the boot: give up after ~2^36 cycles (tens of seconds). */
    while (!(inb(PIT_PORT_B) & 0x20) && (now = rdtsc()) - start < (1ull << 36))
        ;
    now = rdtsc();
    outb(PIT_PORT_B, inb(PIT_PORT_B) & ~0x01);
    if (now - start >= (1ull << 36))
        return 0;
    return (now - start) * PIT_HZ / count;
}

static uint64_t median3(uint64_t a, uint64_t b, uint64_t c)
{
    if (a > b) { uint64_t t = a; a = b; b = t; }
    if (b > c) b = c;
    return a > b ? a : b;
}

void tsc_init(void)
{
    uint32_t a, b, c, d;
    cpuid(0x80000000, 0, &a, &b, &c, &d);
    if (a >= 0x80000007) {
        cpuid(0x80000007, 0, &a, &b, &c, &d);
        tsc_invariant = d & (1u << 8);
    }

    /* The median of three: one run stretched by a host that paused the vCPU (TCG) does not count. */
    uint64_t m[MEASURE_RUNS];
    for (int i = 0; i < MEASURE_RUNS; i++)
        m[i] = tsc_measure_hz(MEASURE_MS);
    tsc_hz = median3(m[0], m[1], m[2]);

    if (tsc_hz < 10000000) {    /* below 10 MHz: the PIT is absent or its output never rose */
        cpuid(0, 0, &a, &b, &c, &d);
        uint32_t mhz = 0;
        if (a >= 0x16) {
            cpuid(0x16, 0, &a, &b, &c, &d);
            mhz = a & 0xffff;
        }
        tsc_hz = (mhz ? mhz : 1000) * 1000000ull;
        printk("tsc: the PIT did not count (measured %lu Hz); assuming %lu MHz from %s\n",
               (unsigned long)m[0], (unsigned long)(tsc_hz / 1000000), mhz ? "CPUID leaf 0x16" : "nothing");
        return;
    }
    printk("tsc: %lu.%03lu MHz (PIT, median of %d x %d ms), invariant: %s\n", (unsigned long)(tsc_hz / 1000000),
           (unsigned long)(tsc_hz / 1000 % 1000), MEASURE_RUNS, MEASURE_MS, tsc_invariant ? "yes" : "no");
}

void tsc_delay_us(uint64_t us)
{
    uint64_t start = rdtsc(), ticks = tsc_from_us(us);
    while (rdtsc() - start < ticks)
        cpu_relax();
}
