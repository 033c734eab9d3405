/*
 * acpi.c: RSDP -> RSDT/XSDT -> MADT, every table checksummed. The RSDP comes
 * from the multiboot2 tags (reliable under SeaBIOS and UEFI), else from a
 * scan of the EBDA and 0xe0000-0xfffff. Any failure is reported and leaves
 * the kernel on one CPU.
 */
#include "arch/x86_64/acpi.h"
#include "lib/string.h"
#include "mm/layout.h"
#include "mm/vmm.h"
#include "multiboot.h"
#include "printk.h"

struct __attribute__((packed)) acpi_rsdp {
    char signature[8];                  /* "RSD PTR " */
    uint8_t checksum;                   /* over the first 20 bytes */
    char oem_id[6];
    uint8_t revision;                   /* 0: ACPI 1.0, 2: 2.0+ */
    uint32_t rsdt;
    uint32_t length;                    /* 2.0+ from here on */
    uint64_t xsdt;
    uint8_t extended_checksum;          /* over length bytes */
    uint8_t reserved[3];
};

struct __attribute__((packed)) acpi_header {
    char signature[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision, creator_id, creator_revision;
};

struct __attribute__((packed)) acpi_madt {
    struct acpi_header h;
    uint32_t lapic_addr;
    uint32_t flags;
    uint8_t entries[];
};

#define MADT_LAPIC          0
#define MADT_IOAPIC         1
#define MADT_ISA_OVERRIDE   2
#define MADT_LAPIC_OVERRIDE 5
#define MADT_X2APIC         9
#define MADT_ENABLED        1u          /* flags bit 0 of LAPIC and x2APIC entries */

struct acpi_info acpi_info;

static uint8_t sum(const void *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += ((const uint8_t *)p)[i];
    return s;
}

/*
 * Tables sit in RAM the firmware reserved, usually inside the direct map
 * (which covers everything below the highest usable RAM, holes included);
 * one above it gets an uncached MMIO mapping, never unmapped (a few pages).
 */
/* MADT entries are packed: fields may be unaligned. */
static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}
static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static void *acpi_map(uint64_t pa, uint64_t len)
{
    uintptr_t va = (uintptr_t)phys_to_virt(pa);
    if (vmm_translate(kernel_pml4, va) == pa && vmm_translate(kernel_pml4, va + len - 1) == pa + len - 1)
        return (void *)va;
    return vmm_map_mmio(pa, len);
}

static bool rsdp_valid(const struct acpi_rsdp *r, size_t avail)
{
    if (avail < 20 || memcmp(r->signature, "RSD PTR ", 8) != 0 || sum(r, 20) != 0)
        return false;
    if (r->revision >= 2 && (avail < sizeof(*r) || r->length < sizeof(*r) || sum(r, sizeof(*r)) != 0))
        return false;
    return true;
}

static const struct acpi_rsdp *rsdp_scan(uint64_t start, uint64_t len)
{
    for (uint64_t pa = start; pa + 20 <= start + len; pa += 16) {
        const struct acpi_rsdp *r = phys_to_virt(pa);
        if (rsdp_valid(r, start + len - pa))
            return r;
    }
    return NULL;
}

static const struct acpi_rsdp *rsdp_find(const char **source)
{
    const struct acpi_rsdp *r = (const void *)boot_info.acpi_rsdp;
    if (boot_info.acpi_rsdp_len) {
        if (rsdp_valid(r, boot_info.acpi_rsdp_len)) {
            *source = boot_info.acpi_rsdp_tag == 15 ? "multiboot2 tag 15" : "multiboot2 tag 14";
            return r;
        }
        printk("acpi: the RSDP in multiboot2 tag %u fails its checksum; scanning the BIOS area\n",
               boot_info.acpi_rsdp_tag);
    }
    /* ACPI 5.2.5.1: the first KiB of the EBDA (segment at 0x40e), then the BIOS ROM area. */
    uint64_t ebda = (uint64_t)*(const uint16_t *)phys_to_virt(0x40e) << 4;
    *source = "the EBDA";
    if (ebda >= 0x80000 && ebda < 0xa0000 && (r = rsdp_scan(ebda, 1024)))
        return r;
    *source = "the BIOS area";
    return rsdp_scan(0xe0000, 0x20000);
}

/* Map a table and check its length and checksum; NULL (after saying why) if it is bad. */
static const struct acpi_header *table_map(uint64_t pa, const char *what)
{
    const struct acpi_header *h = acpi_map(pa, sizeof(*h));
    if (h->length < sizeof(*h) || h->length > (1u << 20)) {
        printk("acpi: %s at %#lx has an implausible length %u\n", what, (unsigned long)pa, h->length);
        return NULL;
    }
    h = acpi_map(pa, h->length);
    if (sum(h, h->length) != 0) {
        printk("acpi: %s at %#lx (%.4s) fails its checksum\n", what, (unsigned long)pa, h->signature);
        return NULL;
    }
    return h;
}

/* The table with this signature in the RSDT (4-byte entries) or XSDT (8-byte entries). */
static const struct acpi_header *sdt_find(const struct acpi_header *sdt, int entry_size, const char *sig)
{
    const uint8_t *e = (const uint8_t *)(sdt + 1);
    size_t n = (sdt->length - sizeof(*sdt)) / entry_size;
    for (size_t i = 0; i < n; i++) {
        uint64_t pa = entry_size == 8 ? rd64(e + 8 * i) : rd32(e + 4 * i);
        if (!pa)
            continue;
        const struct acpi_header *h = acpi_map(pa, sizeof(*h));
        if (memcmp(h->signature, sig, 4) == 0)
            return table_map(pa, sig);
    }
    return NULL;
}

static void add_lapic(uint32_t id, uint32_t flags)
{
    if (!(flags & MADT_ENABLED))
        return;             /* absent, or only "online capable" (hot-plug): not ours to start */
    for (int i = 0; i < acpi_info.nlapics; i++)
        if (acpi_info.lapic_ids[i] == id)
            return;         /* firmware may list a CPU as both LAPIC and x2APIC */
    if (acpi_info.nlapics == ACPI_MAX_LAPICS) {
        acpi_info.nlapics_dropped++;
        return;
    }
    acpi_info.lapic_ids[acpi_info.nlapics++] = id;
}

static void madt_parse(const struct acpi_madt *m)
{
    for (uint32_t irq = 0; irq < 16; irq++)
        acpi_info.isa_gsi[irq] = irq;
    acpi_info.lapic_phys = m->lapic_addr;
    const uint8_t *p = m->entries, *end = (const uint8_t *)m + m->h.length;
    while (p + 2 <= end) {
        uint8_t type = p[0], len = p[1];
        if (len < 2 || p + len > end) {
            printk("acpi: MADT entry of type %u has a bad length %u; ignoring the rest\n", type, len);
            break;
        }
        if (type == MADT_LAPIC && len >= 8)
            add_lapic(p[3], rd32(p + 4));
        else if (type == MADT_X2APIC && len >= 16)
            add_lapic(rd32(p + 4), rd32(p + 8));
        else if (type == MADT_IOAPIC && len >= 12 && acpi_info.nioapics++ == 0) {
            acpi_info.ioapic_phys = rd32(p + 4);
            acpi_info.ioapic_gsi_base = rd32(p + 8);
        } else if (type == MADT_ISA_OVERRIDE && len >= 10 && p[2] == 0 && p[3] < 16) {
            acpi_info.isa_gsi[p[3]] = rd32(p + 4);
            acpi_info.isa_flags[p[3]] = (uint16_t)(p[8] | p[9] << 8);
        }
        else if (type == MADT_LAPIC_OVERRIDE && len >= 12)
            acpi_info.lapic_phys = rd64(p + 4);
        p += len;
    }
}

void acpi_init(void)
{
    const char *source = "";
    const struct acpi_rsdp *rsdp = rsdp_find(&source);
    if (!rsdp) {
        printk("acpi: no RSDP (no multiboot2 tag 14/15, none in the EBDA or 0xe0000-0xfffff): one CPU\n");
        return;
    }
    const struct acpi_header *sdt = NULL;
    int entry_size = 8;
    if (rsdp->revision >= 2 && rsdp->xsdt)
        sdt = table_map(rsdp->xsdt, "XSDT");
    if (!sdt) {
        entry_size = 4;
        sdt = table_map(rsdp->rsdt, "RSDT");
    }
    if (!sdt) {
        printk("acpi: no valid RSDT or XSDT: one CPU\n");
        return;
    }
    const struct acpi_madt *madt = (const void *)sdt_find(sdt, entry_size, "APIC");
    if (!madt || madt->h.length < sizeof(*madt)) {
        printk("acpi: no valid MADT (\"APIC\") in the %s: one CPU\n", entry_size == 8 ? "XSDT" : "RSDT");
        return;
    }
    madt_parse(madt);
    acpi_info.madt_found = acpi_info.nlapics > 0;

    printk("acpi: RSDP rev %u from %s, %s, MADT: %d CPUs (apic ids", rsdp->revision, source,
           entry_size == 8 ? "XSDT" : "RSDT", acpi_info.nlapics);
    for (int i = 0; i < acpi_info.nlapics; i++)
        printk(" %u", acpi_info.lapic_ids[i]);
    printk("), %d IOAPIC at %#lx\n", acpi_info.nioapics, (unsigned long)acpi_info.ioapic_phys);
    if (acpi_info.nlapics_dropped)
        printk("acpi: %d more enabled CPUs ignored (ACPI_MAX_LAPICS %d)\n", acpi_info.nlapics_dropped,
               ACPI_MAX_LAPICS);
    if (!acpi_info.madt_found)
        printk("acpi: the MADT lists no enabled CPU: one CPU\n");
}
