/*
 * elf.c: the ELF64 validator behind the program loader (see elf.h). Every
 * check is written against a hostile file, since a module is just bytes;
 * tests/host/test_elf.c runs it on corrupted and randomly mutated images.
 */
#include "elf.h"
#include "mm/layout.h"
#include "uapi/errno.h"

/* Headers are copied out, so the image may sit at any alignment. */
static void read_bytes(void *dst, const void *image, uint64_t offset, size_t n)
{
    __builtin_memcpy(dst, (const unsigned char *)image + offset, n);
}

static int ident_ok(const unsigned char *id)
{
    return id[0] == ELF_MAG0 && id[1] == 'E' && id[2] == 'L' && id[3] == 'F' &&
           id[ELF_EI_CLASS] == ELF_CLASS64 && id[ELF_EI_DATA] == ELF_DATA2LSB &&
           id[ELF_EI_VERSION] == ELF_EV_CURRENT &&
           (id[ELF_EI_OSABI] == ELF_OSABI_SYSV || id[ELF_EI_OSABI] == ELF_OSABI_GNU);
}

/* Is [off, off + len) inside a file of size bytes? Written so nothing can wrap. */
static int in_file(uint64_t off, uint64_t len, size_t size)
{
    return off <= size && len <= size - off;
}

/*
 * One PT_LOAD, appended to out if it is loadable. A segment must lie in
 * user space [USER_BASE, USER_TOP) and in the file, be mappable page by page
 * (vaddr and offset congruent modulo the page size and its own alignment),
 * never be writable and executable at once, and start on a page above the
 * previous segment's last page, so each page has one owner and one set of
 * permissions.
 */
static int add_segment(const struct elf64_phdr *ph, size_t size, struct elf_info *out)
{
    struct elf_segment *seg;

    if (ph->p_memsz == 0)
        return ph->p_filesz == 0 ? 0 : -ENOEXEC;   /* an empty segment loads nothing */
    if (ph->p_filesz > ph->p_memsz || !in_file(ph->p_offset, ph->p_filesz, size))
        return -ENOEXEC;
    if (ph->p_vaddr < USER_BASE || ph->p_vaddr >= USER_TOP || ph->p_memsz > USER_TOP - ph->p_vaddr)
        return -ENOEXEC;
    if ((ph->p_vaddr ^ ph->p_offset) & (PAGE_SIZE - 1))
        return -ENOEXEC;
    if (ph->p_align > 1 && ((ph->p_align & (ph->p_align - 1)) != 0 ||
                            ((ph->p_vaddr ^ ph->p_offset) & (ph->p_align - 1)) != 0))
        return -ENOEXEC;
    if ((ph->p_flags & ELF_PF_W) && (ph->p_flags & ELF_PF_X))
        return -ENOEXEC;
    if (out->nsegments > 0) {
        const struct elf_segment *prev = &out->segments[out->nsegments - 1];
        if (ALIGN_DOWN(ph->p_vaddr, PAGE_SIZE) < ALIGN_UP(prev->vaddr + prev->memsz, PAGE_SIZE))
            return -ENOEXEC;
    }
    if (out->nsegments == ELF_MAX_SEGMENTS)
        return -ENOEXEC;

    seg = &out->segments[out->nsegments++];
    seg->vaddr = ph->p_vaddr;
    seg->memsz = ph->p_memsz;
    seg->offset = ph->p_offset;
    seg->filesz = ph->p_filesz;
    seg->flags = ph->p_flags & (ELF_PF_R | ELF_PF_W | ELF_PF_X);
    out->end = ph->p_vaddr + ph->p_memsz;   /* ascending order: the last one is the highest */
    return 0;
}

int elf_parse(const void *image, size_t size, struct elf_info *out)
{
    struct elf64_ehdr eh;
    size_t i;

    *out = (struct elf_info){ 0 };
    if (image == NULL || size < sizeof(eh))
        return -ENOEXEC;
    read_bytes(&eh, image, 0, sizeof(eh));
    if (!ident_ok(eh.e_ident) || eh.e_type != ELF_ET_EXEC || eh.e_machine != ELF_EM_X86_64 ||
        eh.e_version != ELF_EV_CURRENT || eh.e_ehsize != sizeof(struct elf64_ehdr) ||
        eh.e_phentsize != sizeof(struct elf64_phdr))
        return -ENOEXEC;
    /* e_phnum 0xffff (PN_XNUM) would send us to section 0 for the count: too many anyway. */
    if (eh.e_phnum == 0 || eh.e_phnum > ELF_MAX_PHNUM ||
        !in_file(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(struct elf64_phdr), size))
        return -ENOEXEC;

    for (i = 0; i < eh.e_phnum; i++) {
        struct elf64_phdr ph;

        read_bytes(&ph, image, eh.e_phoff + i * sizeof(ph), sizeof(ph));
        switch (ph.p_type) {
        case ELF_PT_LOAD:
            if (add_segment(&ph, size, out) < 0)
                goto bad;
            break;
        case ELF_PT_INTERP:     /* dynamically linked: not ours */
        case ELF_PT_DYNAMIC:
        case ELF_PT_TLS:        /* nobody would set up the thread pointer */
            goto bad;
        default:                /* notes, GNU_STACK and the like change nothing here */
            break;
        }
    }
    if (out->nsegments == 0)
        goto bad;

    /* The entry point must be a file-backed byte of an executable segment. */
    for (i = 0; i < out->nsegments; i++) {
        const struct elf_segment *s = &out->segments[i];
        if ((s->flags & ELF_PF_X) && eh.e_entry >= s->vaddr && eh.e_entry - s->vaddr < s->filesz) {
            out->entry = eh.e_entry;
            return 0;
        }
    }
bad:
    *out = (struct elf_info){ 0 };
    return -ENOEXEC;
}
