/*
 * ksyms.h: the kernel's own symbol table, for backtraces. The table is made
 * at build time from the first link (tools/gen_ksyms.sh) and linked in by a
 * second; text addresses do not move between the two links.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct ksym {
    uintptr_t addr;
    const char *name;
};

extern const struct ksym ksyms_table[];
extern const size_t ksyms_count;

/* The symbol containing addr, or NULL; *off = addr - start, *size = symbol size. */
const char *ksym_lookup(uintptr_t addr, uintptr_t *off, uintptr_t *size);
/* Address of a text symbol by name, 0 if unknown. */
uintptr_t ksym_address(const char *name);
/* Format "name+0x1c/0x80" (or the bare address) into buf. */
int ksym_format(char *buf, size_t n, uintptr_t addr);
