// host-test-sources: kernel/elf.c
/*
 * tests/host/test_elf.c: the ELF validator (kernel/elf.c) on an image built in
 * memory the way user/user.ld lays out a program, on corrupted variants of
 * it, and on random mutations (which must parse or fail, never crash: ASan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ktap_host.h"
#include "elf.h"
#include "mm/layout.h"
#include "uapi/errno.h"

#define PT_NOTE 4
#define PT_GNU_STACK 0x6474e551u

/*
 * The reference image: text R X at 0x400000, rodata R at 0x401000, data RW
 * at 0x402000 with 0x1fc0 bytes of bss, then a GNU_STACK header, as ld
 * writes our programs (file offsets one page ahead of the addresses).
 */
#define IMG_SIZE 0x3040
#define IMG_PHNUM 4
#define ENTRY 0x400010

static unsigned char img[IMG_SIZE] __attribute__((aligned(16)));

static struct elf64_ehdr *eh(void) { return (struct elf64_ehdr *)img; }
static struct elf64_phdr *ph(int i) { return (struct elf64_phdr *)(img + sizeof(struct elf64_ehdr)) + i; }

static void set_phdr(int i, uint32_t type, uint32_t flags, uint64_t off, uint64_t vaddr,
                     uint64_t filesz, uint64_t memsz)
{
    *ph(i) = (struct elf64_phdr){ .p_type = type, .p_flags = flags, .p_offset = off, .p_vaddr = vaddr,
                                  .p_paddr = vaddr, .p_filesz = filesz, .p_memsz = memsz,
                                  .p_align = type == ELF_PT_LOAD ? 0x1000 : 0x10 };
}

static void build(void)
{
    memset(img, 0, sizeof(img));
    memcpy(eh()->e_ident, "\x7f" "ELF", 4);
    eh()->e_ident[ELF_EI_CLASS] = ELF_CLASS64;
    eh()->e_ident[ELF_EI_DATA] = ELF_DATA2LSB;
    eh()->e_ident[ELF_EI_VERSION] = ELF_EV_CURRENT;
    eh()->e_type = ELF_ET_EXEC;
    eh()->e_machine = ELF_EM_X86_64;
    eh()->e_version = ELF_EV_CURRENT;
    eh()->e_entry = ENTRY;
    eh()->e_phoff = sizeof(struct elf64_ehdr);
    eh()->e_ehsize = sizeof(struct elf64_ehdr);
    eh()->e_phentsize = sizeof(struct elf64_phdr);
    eh()->e_phnum = IMG_PHNUM;
    set_phdr(0, ELF_PT_LOAD, ELF_PF_R | ELF_PF_X, 0x1000, 0x400000, 0x100, 0x100);
    set_phdr(1, ELF_PT_LOAD, ELF_PF_R, 0x2000, 0x401000, 0x80, 0x80);
    set_phdr(2, ELF_PT_LOAD, ELF_PF_R | ELF_PF_W, 0x3000, 0x402000, 0x40, 0x2000);
    set_phdr(3, PT_GNU_STACK, ELF_PF_R | ELF_PF_W, 0, 0, 0, 0);
    memset(img + 0x1000, 0x90, 0x100);  /* "text": nops */
}

/* Parse a copy of img[0, size) in a buffer of exactly that size, so ASan sees any over-read. */
static int parse(size_t size, struct elf_info *info)
{
    unsigned char *copy = malloc(size ? size : 1);
    int ret;

    memcpy(copy, img, size);
    ret = elf_parse(copy, size, info);
    free(copy);
    return ret;
}

static int parse_full(void)
{
    struct elf_info info;
    return parse(IMG_SIZE, &info);
}

static void test_valid(void)
{
    struct elf_info info;

    build();
    CHECK_EQ(parse(IMG_SIZE, &info), 0);
    CHECK_EQ(info.entry, ENTRY);
    CHECK_EQ(info.end, 0x404000);
    CHECK_EQ(info.nsegments, 3);
    CHECK_EQ(info.segments[0].vaddr, 0x400000);
    CHECK_EQ(info.segments[0].flags, ELF_PF_R | ELF_PF_X);
    CHECK_EQ(info.segments[0].offset, 0x1000);
    CHECK_EQ(info.segments[0].filesz, 0x100);
    CHECK_EQ(info.segments[1].vaddr, 0x401000);
    CHECK_EQ(info.segments[1].flags, ELF_PF_R);
    CHECK_EQ(info.segments[2].vaddr, 0x402000);
    CHECK_EQ(info.segments[2].flags, ELF_PF_R | ELF_PF_W);
    CHECK_EQ(info.segments[2].filesz, 0x40);
    CHECK_EQ(info.segments[2].memsz, 0x2000);
}

/* The image may sit at any alignment (a module is not necessarily aligned). */
static void test_unaligned_buffer(void)
{
    struct elf_info info;
    unsigned char *buf = malloc(IMG_SIZE + 1);

    build();
    memcpy(buf + 1, img, IMG_SIZE);
    CHECK_EQ(elf_parse(buf + 1, IMG_SIZE, &info), 0);
    CHECK_EQ(info.entry, ENTRY);
    free(buf);
}

static void test_truncated(void)
{
    struct elf_info info;

    build();
    CHECK_EQ(elf_parse(NULL, 0, &info), -ENOEXEC);
    CHECK_EQ(parse(0, &info), -ENOEXEC);
    CHECK_EQ(parse(63, &info), -ENOEXEC);
    CHECK_EQ(parse(64, &info), -ENOEXEC);                         /* headers cut off */
    CHECK_EQ(parse(64 + IMG_PHNUM * 56 - 1, &info), -ENOEXEC);
    CHECK_EQ(parse(IMG_SIZE - 1, &info), -ENOEXEC);               /* data's last byte missing */
    CHECK_EQ(info.nsegments, 0);                                  /* nothing half-filled */
}

static void test_bad_ident(void)
{
    static const struct { int index; unsigned char value; } cases[] = {
        { 0, 0x7e }, { 1, 'e' }, { 2, 'l' }, { 3, 'f' },
        { ELF_EI_CLASS, 1 },            /* ELFCLASS32 */
        { ELF_EI_CLASS, 0 },
        { ELF_EI_DATA, 2 },             /* big endian */
        { ELF_EI_VERSION, 0 },
        { ELF_EI_OSABI, 9 },            /* FreeBSD */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        build();
        img[cases[i].index] = cases[i].value;
        if (parse_full() != -ENOEXEC)
            ktap_fail(__FILE__, __LINE__, "e_ident[%d] = %#x accepted", cases[i].index, cases[i].value);
    }
    build();
    eh()->e_ident[ELF_EI_OSABI] = ELF_OSABI_GNU;
    CHECK_EQ(parse_full(), 0);
}

static void test_bad_header_fields(void)
{
    build(); eh()->e_type = 3; CHECK_EQ(parse_full(), -ENOEXEC);          /* ET_DYN */
    build(); eh()->e_type = 1; CHECK_EQ(parse_full(), -ENOEXEC);          /* ET_REL */
    build(); eh()->e_machine = 3; CHECK_EQ(parse_full(), -ENOEXEC);       /* EM_386 */
    build(); eh()->e_machine = 183; CHECK_EQ(parse_full(), -ENOEXEC);     /* EM_AARCH64 */
    build(); eh()->e_version = 2; CHECK_EQ(parse_full(), -ENOEXEC);
    build(); eh()->e_ehsize = 52; CHECK_EQ(parse_full(), -ENOEXEC);
    build(); eh()->e_phentsize = 32; CHECK_EQ(parse_full(), -ENOEXEC);
    build(); eh()->e_phentsize = 64; CHECK_EQ(parse_full(), -ENOEXEC);
}

static void test_phnum_bounds(void)
{
    build(); eh()->e_phnum = 0; CHECK_EQ(parse_full(), -ENOEXEC);
    build(); eh()->e_phnum = 0xffff; CHECK_EQ(parse_full(), -ENOEXEC);   /* PN_XNUM */
    build(); eh()->e_phnum = ELF_MAX_PHNUM + 1; CHECK_EQ(parse_full(), -ENOEXEC);
    build(); eh()->e_phnum = 20; CHECK_EQ(parse_full(), 0);              /* zeroed PT_NULLs, in file */
    build(); eh()->e_phoff = IMG_SIZE - 56; CHECK_EQ(parse_full(), -ENOEXEC);
    build(); eh()->e_phoff = UINT64_MAX - 8; CHECK_EQ(parse_full(), -ENOEXEC);   /* wraps */
    build(); eh()->e_phoff = (uint64_t)1 << 63; CHECK_EQ(parse_full(), -ENOEXEC);
}

static void test_segment_past_eof(void)
{
    build(); ph(2)->p_filesz = 0x41; CHECK_EQ(parse_full(), -ENOEXEC);
    build(); ph(0)->p_offset = 0x4000; ph(0)->p_vaddr = 0x400000; CHECK_EQ(parse_full(), -ENOEXEC);
    /* offset + filesz wraps to a small number */
    build(); ph(2)->p_offset = UINT64_MAX - 0xfff; ph(2)->p_filesz = 0x1000; ph(2)->p_memsz = 0x2000;
    CHECK_EQ(parse_full(), -ENOEXEC);
    build(); ph(2)->p_filesz = UINT64_MAX; ph(2)->p_memsz = UINT64_MAX; CHECK_EQ(parse_full(), -ENOEXEC);
}

static void test_filesz_above_memsz(void)
{
    build(); ph(1)->p_memsz = 0x7f; CHECK_EQ(parse_full(), -ENOEXEC);
    build(); ph(1)->p_memsz = 0; CHECK_EQ(parse_full(), -ENOEXEC);       /* not "empty": has file bytes */
}

static void test_address_range(void)
{
    build(); ph(0)->p_vaddr = 0xffffffff80000000; eh()->e_entry = 0xffffffff80000010;
    CHECK_EQ(parse_full(), -ENOEXEC);
    build(); ph(2)->p_vaddr = DIRECT_MAP_BASE; CHECK_EQ(parse_full(), -ENOEXEC);
    build(); ph(2)->p_vaddr = USER_TOP; CHECK_EQ(parse_full(), -ENOEXEC);              /* non-canonical */
    build(); ph(0)->p_vaddr = 0; eh()->e_entry = 0x10; CHECK_EQ(parse_full(), -ENOEXEC); /* NULL page */
    build(); ph(0)->p_vaddr = USER_BASE - 0x1000; eh()->e_entry = USER_BASE - 0x1000 + 0x10;
    CHECK_EQ(parse_full(), -ENOEXEC);
    build(); ph(2)->p_vaddr = USER_TOP - 0x1000; CHECK_EQ(parse_full(), -ENOEXEC);     /* memsz runs over */
    build(); ph(2)->p_vaddr = USER_TOP - 0x2000; CHECK_EQ(parse_full(), 0);            /* exactly fits */
}

static void test_wraparound(void)
{
    build(); ph(2)->p_memsz = UINT64_MAX - 0x401fff; CHECK_EQ(parse_full(), -ENOEXEC); /* vaddr + memsz == 0 */
    build(); ph(2)->p_memsz = UINT64_MAX; CHECK_EQ(parse_full(), -ENOEXEC);
    build(); ph(2)->p_vaddr = 0x7ffffffff000; ph(2)->p_memsz = 0x8000000000000000;
    CHECK_EQ(parse_full(), -ENOEXEC);
}

static void test_alignment(void)
{
    build(); ph(1)->p_vaddr = 0x401800; CHECK_EQ(parse_full(), -ENOEXEC);     /* offset 0x2000: not congruent */
    build(); ph(1)->p_vaddr = 0x401800; ph(1)->p_offset = 0x2800; ph(1)->p_filesz = 0x80;
    CHECK_EQ(parse_full(), 0);                                                /* congruent, unaligned: fine */
    build(); ph(1)->p_align = 0x3000; CHECK_EQ(parse_full(), -ENOEXEC);       /* not a power of two */
    build(); ph(1)->p_align = 0x200000; CHECK_EQ(parse_full(), -ENOEXEC);     /* 0x401000 vs 0x2000 mod 2 MiB */
    build(); ph(1)->p_align = 0; CHECK_EQ(parse_full(), 0);
}

static void test_write_and_execute(void)
{
    build(); ph(2)->p_flags = ELF_PF_R | ELF_PF_W | ELF_PF_X; CHECK_EQ(parse_full(), -ENOEXEC);
    build(); ph(0)->p_flags = ELF_PF_R | ELF_PF_W | ELF_PF_X; CHECK_EQ(parse_full(), -ENOEXEC);
    build(); ph(0)->p_flags = ELF_PF_W | ELF_PF_X; CHECK_EQ(parse_full(), -ENOEXEC);
}

static void test_entry_outside_text(void)
{
    build(); eh()->e_entry = 0; CHECK_EQ(parse_full(), -ENOEXEC);
    build(); eh()->e_entry = 0x401000; CHECK_EQ(parse_full(), -ENOEXEC);   /* rodata: not executable */
    build(); eh()->e_entry = 0x402100; CHECK_EQ(parse_full(), -ENOEXEC);   /* bss */
    build(); eh()->e_entry = 0x400100; CHECK_EQ(parse_full(), -ENOEXEC);   /* one past text's bytes */
    build(); eh()->e_entry = 0x3fffff; CHECK_EQ(parse_full(), -ENOEXEC);
    build(); eh()->e_entry = 0x4000ff; CHECK_EQ(parse_full(), 0);          /* text's last byte */
    build(); eh()->e_entry = 0x400000; CHECK_EQ(parse_full(), 0);
}

static void test_overlap_and_order(void)
{
    build(); ph(1)->p_vaddr = 0x400800; ph(1)->p_offset = 0x1800;      /* shares text's page */
    CHECK_EQ(parse_full(), -ENOEXEC);
    build(); ph(2)->p_vaddr = 0x400000; ph(2)->p_offset = 0x3000;      /* on top of text */
    CHECK_EQ(parse_full(), -ENOEXEC);
    build();                                                            /* descending order */
    struct elf64_phdr t = *ph(0);
    *ph(0) = *ph(2);
    *ph(2) = t;
    CHECK_EQ(parse_full(), -ENOEXEC);
}

static void test_not_static(void)
{
    build(); ph(3)->p_type = ELF_PT_INTERP; CHECK_EQ(parse_full(), -ENOEXEC);
    build(); ph(3)->p_type = ELF_PT_DYNAMIC; CHECK_EQ(parse_full(), -ENOEXEC);
    build(); ph(3)->p_type = ELF_PT_TLS; CHECK_EQ(parse_full(), -ENOEXEC);
    build(); ph(3)->p_type = PT_NOTE; CHECK_EQ(parse_full(), 0);
}

static void test_no_loadable_segment(void)
{
    build();
    for (int i = 0; i < 3; i++)
        ph(i)->p_type = PT_NOTE;
    CHECK_EQ(parse_full(), -ENOEXEC);
}

static void test_empty_segment_ignored(void)
{
    struct elf_info info;

    build();
    set_phdr(3, ELF_PT_LOAD, ELF_PF_R, 0x3040, 0x404000, 0, 0);
    CHECK_EQ(parse(IMG_SIZE, &info), 0);
    CHECK_EQ(info.nsegments, 3);
}

static void test_too_many_segments(void)
{
    struct elf_info info;

    build();
    eh()->e_phnum = ELF_MAX_SEGMENTS + 1;
    /* Nine one-page segments at ascending addresses, all pointing at text's bytes. */
    for (int i = 0; i < ELF_MAX_SEGMENTS + 1; i++)
        set_phdr(i, ELF_PT_LOAD, ELF_PF_R | ELF_PF_X, 0x1000, 0x400000 + (uint64_t)i * 0x1000, 0x100, 0x100);
    CHECK_EQ(parse(IMG_SIZE, &info), -ENOEXEC);
    eh()->e_phnum = ELF_MAX_SEGMENTS;
    CHECK_EQ(parse(IMG_SIZE, &info), 0);
    CHECK_EQ(info.nsegments, ELF_MAX_SEGMENTS);
}

/* What a successful parse promises the loader, checked on every fuzzed image that passes. */
static int info_sane(const struct elf_info *info, size_t size)
{
    int entry_ok = 0;

    if (info->nsegments < 1 || info->nsegments > ELF_MAX_SEGMENTS)
        return 0;
    for (size_t i = 0; i < info->nsegments; i++) {
        const struct elf_segment *s = &info->segments[i];
        if (s->vaddr < USER_BASE || s->memsz == 0 || s->memsz > USER_TOP - s->vaddr)
            return 0;
        if (s->filesz > s->memsz || s->offset > size || s->filesz > size - s->offset)
            return 0;
        if ((s->flags & ELF_PF_W) && (s->flags & ELF_PF_X))
            return 0;
        if (i > 0 && s->vaddr < info->segments[i - 1].vaddr + info->segments[i - 1].memsz)
            return 0;
        if ((s->flags & ELF_PF_X) && info->entry >= s->vaddr && info->entry < s->vaddr + s->filesz)
            entry_ok = 1;
    }
    return entry_ok;
}

#define FUZZ_ROUNDS 20000

static void test_fuzz_mutations(void)
{
    size_t accepted = 0;

    for (int round = 0; round < FUZZ_ROUNDS; round++) {
        struct elf_info info;
        size_t size = IMG_SIZE;
        int nmut = 1 + (int)ktap_rand_below(8), ret;

        build();
        for (int m = 0; m < nmut; m++) {
            /* Mostly the headers, where the decisions are; sometimes whole words. */
            size_t at = ktap_rand_below(4) ? ktap_rand_below(64 + IMG_PHNUM * 56) : ktap_rand_below(IMG_SIZE);
            if (ktap_rand_below(3) == 0 && at + 8 <= IMG_SIZE) {
                uint64_t v = ktap_rand();
                if (ktap_rand_below(2))
                    v >>= ktap_rand_below(64);  /* small values and boundaries, too */
                memcpy(img + at, &v, 8);
            } else {
                img[at] ^= (unsigned char)(1u << ktap_rand_below(8));
            }
        }
        if (ktap_rand_below(8) == 0)
            size = ktap_rand_below(IMG_SIZE + 1);
        ret = parse(size, &info);
        if (ret == 0) {
            accepted++;
            if (!info_sane(&info, size))
                ktap_fail(__FILE__, __LINE__, "round %d: accepted an image the loader could not trust", round);
        } else if (ret != -ENOEXEC) {
            ktap_fail(__FILE__, __LINE__, "round %d: returned %d", round, ret);
        }
    }
    ktap_diag("fuzz: %zu of %d mutated images still valid", accepted, FUZZ_ROUNDS);
    CHECK(accepted > 0 && accepted < FUZZ_ROUNDS);
}

static const struct ktap_case cases[] = {
    KTAP_CASE(test_valid),
    KTAP_CASE(test_unaligned_buffer),
    KTAP_CASE(test_truncated),
    KTAP_CASE(test_bad_ident),
    KTAP_CASE(test_bad_header_fields),
    KTAP_CASE(test_phnum_bounds),
    KTAP_CASE(test_segment_past_eof),
    KTAP_CASE(test_filesz_above_memsz),
    KTAP_CASE(test_address_range),
    KTAP_CASE(test_wraparound),
    KTAP_CASE(test_alignment),
    KTAP_CASE(test_write_and_execute),
    KTAP_CASE(test_entry_outside_text),
    KTAP_CASE(test_overlap_and_order),
    KTAP_CASE(test_not_static),
    KTAP_CASE(test_no_loadable_segment),
    KTAP_CASE(test_empty_segment_ignored),
    KTAP_CASE(test_too_many_segments),
    KTAP_CASE(test_fuzz_mutations),
};

int main(void)
{
    return KTAP_RUN(cases);
}
