/*
 * multiboot.h: what the boot loader told us, copied out of the multiboot2
 * information before the memory holding it can be reused.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define MB_MAX_REGIONS 64
#define MB_MAX_MODULES 32
#define MB_CMDLINE_MAX 512

struct mem_region {
    uint64_t base, len;
};

struct boot_module {
    uint64_t start, end;        /* physical */
    char name[64];              /* the module's command line: the program name */
};

struct boot_info {
    char cmdline[MB_CMDLINE_MAX];
    char loader[64];
    struct mem_region ram[MB_MAX_REGIONS];  /* usable RAM (type 1) */
    size_t nram;
    struct boot_module modules[MB_MAX_MODULES];
    size_t nmodules;
    uint64_t mbi_start, mbi_end;            /* physical, to keep out of the allocator */
    uint64_t ram_top;                       /* highest usable RAM address + 1 */
    uint8_t acpi_rsdp[36];                  /* a copy of the RSDP (tags 14/15), for acpi.c */
    uint32_t acpi_rsdp_len;                 /* 0: the loader gave none; 20: ACPI 1.0; 36: 2.0+ */
    uint32_t acpi_rsdp_tag;                 /* the tag it came from: 14 (old) or 15 (new) */
};

extern struct boot_info boot_info;

/* Parse the multiboot2 information at physical address mbi (via the early direct map). */
void multiboot_parse(uint32_t magic, uint64_t mbi);
