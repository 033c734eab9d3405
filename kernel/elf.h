/*
 * elf.h: validation of ELF64 x86-64 static executables (the programs in
 * user/) and the list of segments to load. Parsing only: elf_parse() maps
 * nothing and allocates nothing; the program loader maps what it returns.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* The ELF64 file header and program header (System V gABI), our own names. */
struct elf64_ehdr {
    unsigned char e_ident[16];
    uint16_t e_type, e_machine;
    uint32_t e_version;
    uint64_t e_entry, e_phoff, e_shoff;
    uint32_t e_flags;
    uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct elf64_phdr {
    uint32_t p_type, p_flags;
    uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 file header is 64 bytes");
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header is 56 bytes");

#define ELF_MAG0 0x7f           /* e_ident[0..3] = "\x7f" "ELF" */
#define ELF_EI_CLASS 4
#define ELF_EI_DATA 5
#define ELF_EI_VERSION 6
#define ELF_EI_OSABI 7
#define ELF_CLASS64 2
#define ELF_DATA2LSB 1
#define ELF_EV_CURRENT 1
#define ELF_OSABI_SYSV 0
#define ELF_OSABI_GNU 3
#define ELF_ET_EXEC 2
#define ELF_EM_X86_64 62

#define ELF_PT_LOAD 1
#define ELF_PT_DYNAMIC 2
#define ELF_PT_INTERP 3
#define ELF_PT_TLS 7

#define ELF_PF_X 1
#define ELF_PF_W 2
#define ELF_PF_R 4

/* Limits of what we load: our linker script makes 3 PT_LOADs and a few other headers. */
#define ELF_MAX_PHNUM 64
#define ELF_MAX_SEGMENTS 8

/* One PT_LOAD: [vaddr, vaddr + memsz) in memory, the first filesz bytes from the file at offset. */
struct elf_segment {
    uint64_t vaddr, memsz;
    uint64_t offset, filesz;
    uint32_t flags;         /* ELF_PF_R | ELF_PF_W | ELF_PF_X, never W and X together */
};

struct elf_info {
    uint64_t entry;
    uint64_t end;           /* the highest vaddr + memsz: where a heap could start */
    size_t nsegments;       /* in ascending vaddr order, no two touching the same page */
    struct elf_segment segments[ELF_MAX_SEGMENTS];
};

/*
 * Check that image[0, size) is an ELF64 little-endian x86-64 ET_EXEC that the
 * kernel can load as is, and describe it in *out. Returns 0, or -ENOEXEC for
 * anything else (the reason is not reported: the file is simply not ours).
 * image needs no particular alignment. See elf.c for the rules.
 */
int elf_parse(const void *image, size_t size, struct elf_info *out);
