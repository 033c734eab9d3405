/*
 * apic.c: the local APIC of each CPU, the legacy PIC's masking, the periodic
 * timer and IPIs. Registers are named by their xAPIC MMIO offset; in x2APIC
 * mode the same register is MSR 0x800 + offset / 16 (Intel SDM 11.12.1.2).
 */
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/tsc.h"
#include "cmdline.h"
#include "mm/layout.h"
#include "mm/vmm.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"

#define APIC_ID         0x020
#define APIC_VERSION    0x030
#define APIC_TPR        0x080
#define APIC_EOI        0x0b0
#define APIC_SVR        0x0f0
#define APIC_ESR        0x280
#define APIC_ICR_LO     0x300
#define APIC_ICR_HI     0x310   /* xAPIC only: x2APIC has one 64-bit ICR MSR */
#define APIC_LVT_TIMER  0x320
#define APIC_LVT_THERM  0x330
#define APIC_LVT_PERF   0x340
#define APIC_LVT_LINT0  0x350
#define APIC_LVT_LINT1  0x360
#define APIC_LVT_ERROR  0x370
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR  0x390
#define APIC_TIMER_DIV  0x3e0

#define MSR_X2APIC_BASE 0x800
#define APIC_BASE_EXTD  (1ull << 10)    /* x2APIC mode */
#define APIC_BASE_EN    (1ull << 11)
#define APIC_BASE_ADDR  0x000ffffffffff000ull

#define SVR_ENABLE      (1u << 8)
#define LVT_MASKED      (1u << 16)
#define LVT_PERIODIC    (1u << 17)
#define LVT_NMI         (4u << 8)
#define ICR_FIXED       (0u << 8)
#define ICR_INIT        (5u << 8)
#define ICR_STARTUP     (6u << 8)
#define ICR_BUSY        (1u << 12)      /* xAPIC delivery status */
#define ICR_ASSERT      (1u << 14)
#define ICR_ALL_BUT_SELF (3u << 18)
#define TIMER_DIV_16    0x3

#define CALIBRATE_MS    20

bool apic_x2apic;
int apic_timer_hz = APIC_HZ_DEFAULT;
uint64_t apic_timer_input_hz;
static uint32_t timer_period;           /* counts per tick */
static volatile uint32_t *xapic;        /* MMIO window (xAPIC mode) */
static bool shorthand_ok;

static uint32_t apic_read(uint32_t reg)
{
    if (apic_x2apic)
        return (uint32_t)rdmsr(MSR_X2APIC_BASE + reg / 16);
    return xapic[reg / 4];
}

static void apic_write(uint32_t reg, uint32_t v)
{
    if (apic_x2apic)
        wrmsr(MSR_X2APIC_BASE + reg / 16, v);
    else
        xapic[reg / 4] = v;
}

/*
 * The 8259s stay wired to LINT0 in "virtual wire" mode after the BIOS. Remap
 * them away from the exception vectors (a spurious IRQ7 would otherwise look
 * like exception 15), then mask every line. LINT0 is masked too (below).
 */
static void pic_disable(void)
{
    outb(0x20, 0x11);                   /* ICW1: init, ICW4 follows */
    outb(0xa0, 0x11);
    outb(0x21, VEC_PIC_BASE);           /* ICW2: vector bases */
    outb(0xa1, VEC_PIC_BASE + 8);
    outb(0x21, 4);                      /* ICW3: slave on IRQ2 */
    outb(0xa1, 2);
    outb(0x21, 1);                      /* ICW4: 8086 mode */
    outb(0xa1, 1);
    outb(0x21, 0xff);                   /* mask everything */
    outb(0xa1, 0xff);
}

uint32_t apic_id(void)
{
    uint32_t id = apic_read(APIC_ID);
    return apic_x2apic ? id : id >> 24;
}

void apic_eoi(void)
{
    apic_write(APIC_EOI, 0);
}

bool apic_id_addressable(uint32_t id)
{
    return apic_x2apic ? id != 0xffffffffu : id < 0xff;
}

void apic_allow_shorthand(bool ok)
{
    shorthand_ok = ok;
}

static void icr_write(uint32_t dest, uint32_t lo)
{
    uint64_t flags = irq_save();        /* the two xAPIC halves must not be split by an IPI from a handler */
    if (apic_x2apic) {
        mfence();
        lfence();
        wrmsr(MSR_X2APIC_BASE + APIC_ICR_LO / 16, (uint64_t)dest << 32 | lo);
    } else {
        while (xapic[APIC_ICR_LO / 4] & ICR_BUSY)
            cpu_relax();
        xapic[APIC_ICR_HI / 4] = dest << 24;
        xapic[APIC_ICR_LO / 4] = lo;
    }
    irq_restore(flags);
}

void apic_send_ipi(int cpu, int vector)
{
    KASSERT(cpu >= 0 && cpu < MAX_CPUS && __atomic_load_n(&cpus[cpu].online, __ATOMIC_ACQUIRE));
    KASSERT(vector >= VEC_FIRST_IRQ && vector < 256);
    icr_write(cpus[cpu].apic_id, ICR_FIXED | ICR_ASSERT | (uint32_t)vector);
}

int apic_in_service_vector(void)
{
    for (int i = 7; i >= 1; i--) {          /* ISR: 8 registers of 32 vectors; 0-31 are exceptions */
        uint32_t isr = apic_read(0x100 + (uint32_t)i * 0x10);
        if (isr)
            return i * 32 + 31 - __builtin_clz(isr);
    }
    return -1;
}

void apic_send_ipi_all_but_self(int vector)
{
    KASSERT(vector >= VEC_FIRST_IRQ && vector < 256);
    if (shorthand_ok) {
        icr_write(0, ICR_ALL_BUT_SELF | ICR_FIXED | ICR_ASSERT | (uint32_t)vector);
        return;
    }
    /* The shorthand would also reach CPUs that never came online (failed, or beyond MAX_CPUS). */
    uint64_t flags = irq_save();
    int me = cpu_id();
    for (int i = 0; i < MAX_CPUS; i++)
        if (i != me && __atomic_load_n(&cpus[i].online, __ATOMIC_ACQUIRE))
            apic_send_ipi(i, vector);
    irq_restore(flags);
}

void apic_send_init(uint32_t id)
{
    icr_write(id, ICR_INIT | ICR_ASSERT);
}

void apic_send_startup(uint32_t id, uint8_t page)
{
    icr_write(id, ICR_STARTUP | ICR_ASSERT | page);
}

void apic_error_irq(struct pt_regs *regs)
{
    (void)regs;
    apic_write(APIC_ESR, 0);            /* latch the errors into ESR, then read */
    uint32_t esr = apic_read(APIC_ESR);
    this_cpu()->apic_errors++;
    printk("apic: error interrupt on cpu %d, ESR %#x\n", cpu_id(), esr);
}

void apic_init_cpu(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE) | APIC_BASE_EN;
    wrmsr(MSR_APIC_BASE, base);         /* xAPIC first: x2APIC can only be entered from it */
    if (apic_x2apic)
        wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);

    bool bsp = this_cpu()->id == 0;
    uint32_t max_lvt = (apic_read(APIC_VERSION) >> 16) & 0xff;
    apic_write(APIC_TPR, 0);            /* accept every priority */
    apic_write(APIC_LVT_TIMER, LVT_MASKED);
    apic_write(APIC_LVT_LINT0, LVT_MASKED);     /* the PIC's ExtINT line */
    apic_write(APIC_LVT_LINT1, bsp ? LVT_NMI : LVT_MASKED);     /* the board's NMI goes to the BSP */
    if (max_lvt >= 4)                   /* a register that does not exist is a #GP in x2APIC mode */
        apic_write(APIC_LVT_PERF, LVT_MASKED);
    if (max_lvt >= 5)
        apic_write(APIC_LVT_THERM, LVT_MASKED);
    apic_write(APIC_LVT_ERROR, VEC_APIC_ERROR);
    apic_write(APIC_ESR, 0);            /* clear errors left by the firmware */
    apic_write(APIC_ESR, 0);
    apic_write(APIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
    apic_eoi();                         /* retire an interrupt the firmware may have left in service */
}

void apic_init(void)
{
    pic_disable();
    apic_x2apic = cpu_has_x2apic;
    if (!apic_x2apic) {
        uint64_t pa = rdmsr(MSR_APIC_BASE) & APIC_BASE_ADDR;
        xapic = vmm_map_mmio(pa, PAGE_SIZE);
    }
    apic_init_cpu();
    printk("apic: %s, BSP apic id %u, version %#x; 8259 PIC masked\n", apic_x2apic ? "x2APIC" : "xAPIC (MMIO)",
           apic_id(), apic_read(APIC_VERSION) & 0xff);
}

int apic_timer_hz_check(long hz)
{
    if (hz < APIC_HZ_MIN || hz > APIC_HZ_MAX) {
        printk("apic: hz=%ld is outside %d..%d; using %d\n", hz, APIC_HZ_MIN, APIC_HZ_MAX, APIC_HZ_DEFAULT);
        return APIC_HZ_DEFAULT;
    }
    return (int)hz;
}

void apic_timer_start(void)
{
    KASSERT(timer_period);
    apic_write(APIC_TIMER_DIV, TIMER_DIV_16);
    apic_write(APIC_LVT_TIMER, LVT_PERIODIC | VEC_TIMER);
    apic_write(APIC_TIMER_INIT, timer_period);
}

/*
 * Calibration: the TSC was measured against the PIT (tsc.c), and the APIC
 * timer is measured against the TSC here. The PIT is slow to read and there
 * is one for the machine; the TSC is read in one instruction on any CPU, so
 * it is the reference for everything else (AP start-up delays, tests,
 * benchmarks). Every LAPIC timer runs from the same clock, so the APs reuse
 * the BSP's count per tick.
 */
void apic_timer_init(void)
{
    KASSERT(tsc_hz);
    apic_timer_hz = apic_timer_hz_check(cmdline_int("hz", APIC_HZ_DEFAULT));

    uint64_t flags = irq_save();
    apic_write(APIC_TIMER_DIV, TIMER_DIV_16);
    apic_write(APIC_LVT_TIMER, LVT_MASKED);
    apic_write(APIC_TIMER_INIT, 0xffffffffu);
    uint32_t c0 = apic_read(APIC_TIMER_CUR);
    uint64_t t0 = rdtsc();
    while (rdtsc() - t0 < tsc_hz / 1000 * CALIBRATE_MS)
        cpu_relax();
    uint32_t c1 = apic_read(APIC_TIMER_CUR);
    uint64_t t1 = rdtsc();
    apic_write(APIC_TIMER_INIT, 0);
    irq_restore(flags);

    apic_timer_input_hz = (uint64_t)(c0 - c1) * tsc_hz / (t1 - t0);
    uint64_t period = apic_timer_input_hz / (uint64_t)apic_timer_hz;
    if (period == 0 || period > 0xffffffffu)
        panic("apic: timer counts at %lu Hz: no period fits hz=%d", (unsigned long)apic_timer_input_hz,
              apic_timer_hz);
    timer_period = (uint32_t)period;
    apic_timer_start();
    printk("apic: timer %lu kHz after divide-by-16, %d Hz tick (%u counts)\n",
           (unsigned long)(apic_timer_input_hz / 1000), apic_timer_hz, timer_period);
}
