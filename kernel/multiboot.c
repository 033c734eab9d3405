/* multiboot.c: multiboot2 information parsing (memory map, command line, modules, ACPI RSDP). */
#include "multiboot.h"
#include "lib/string.h"
#include "mm/layout.h"
#include "panic.h"

#define MB2_BOOT_MAGIC      0x36d76289
#define MB2_TAG_END         0
#define MB2_TAG_CMDLINE     1
#define MB2_TAG_LOADER      2
#define MB2_TAG_MODULE      3
#define MB2_TAG_MMAP        6
#define MB2_TAG_ACPI_OLD    14      /* a copy of the ACPI 1.0 RSDP */
#define MB2_TAG_ACPI_NEW    15      /* a copy of the ACPI 2.0+ RSDP (XSDT) */

struct mb2_tag {
    uint32_t type, size;
};
struct mb2_mmap_entry {
    uint64_t base, len;
    uint32_t type, reserved;
};

struct boot_info boot_info;

static void parse_mmap(const struct mb2_tag *tag)
{
    const uint8_t *p = (const uint8_t *)tag;
    uint32_t entry_size = *(const uint32_t *)(p + 8);
    for (uint32_t off = 16; off + entry_size <= tag->size; off += entry_size) {
        const struct mb2_mmap_entry *e = (const void *)(p + off);
        if (e->type != 1 || boot_info.nram == MB_MAX_REGIONS)
            continue;
        boot_info.ram[boot_info.nram++] = (struct mem_region){ e->base, e->len };
        if (e->base + e->len > boot_info.ram_top)
            boot_info.ram_top = e->base + e->len;
    }
}

void multiboot_parse(uint32_t magic, uint64_t mbi)
{
    if (magic != MB2_BOOT_MAGIC)
        panic("not started by a multiboot2 loader (magic %#x)", magic);
    const uint8_t *base = phys_to_virt(mbi);
    uint32_t total = *(const uint32_t *)base;
    boot_info.mbi_start = mbi;
    boot_info.mbi_end = mbi + total;

    for (uint32_t off = 8; off + 8 <= total;) {
        const struct mb2_tag *tag = (const void *)(base + off);
        if (tag->type == MB2_TAG_END)
            break;
        const char *str = (const char *)tag + 8;
        switch (tag->type) {
        case MB2_TAG_CMDLINE:
            if (*str == '/')        /* some loaders pass the kernel's path first */
                while (*str && *str != ' ')
                    str++;
            while (*str == ' ')
                str++;
            strlcpy(boot_info.cmdline, str, sizeof(boot_info.cmdline));
            break;
        case MB2_TAG_LOADER:
            strlcpy(boot_info.loader, str, sizeof(boot_info.loader));
            break;
        case MB2_TAG_MODULE:
            if (boot_info.nmodules < MB_MAX_MODULES) {
                struct boot_module *m = &boot_info.modules[boot_info.nmodules++];
                m->start = *(const uint32_t *)str;
                m->end = *(const uint32_t *)(str + 4);
                strlcpy(m->name, str + 8, sizeof(m->name));
            }
            break;
        case MB2_TAG_MMAP:
            parse_mmap(tag);
            break;
        case MB2_TAG_ACPI_OLD:
        case MB2_TAG_ACPI_NEW:
            /* The loader found it, under BIOS or UEFI alike; the new one wins when both come. */
            if (tag->type == MB2_TAG_ACPI_NEW || boot_info.acpi_rsdp_tag != MB2_TAG_ACPI_NEW) {
                uint32_t len = tag->size - 8 < sizeof(boot_info.acpi_rsdp) ? tag->size - 8
                                                                           : sizeof(boot_info.acpi_rsdp);
                memcpy(boot_info.acpi_rsdp, str, len);
                boot_info.acpi_rsdp_len = len;
                boot_info.acpi_rsdp_tag = tag->type;
            }
            break;
        }
        off += (tag->size + 7) & ~7u;
    }
}
