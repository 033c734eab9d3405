/*
 * exec.c: programs from the boot modules into address spaces (see exec.h).
 * The ELF file is validated by elf_parse() (elf.c); the pages are copies, so
 * the module stays intact for the next spawn of the same program.
 */
#include "proc/exec.h"
#include "elf.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/layout.h"
#include "mm/uvm.h"
#include "multiboot.h"
#include "uapi/errno.h"
#include "uapi/syscalls.h"

#define AT_NULL 0

const void *exec_find_program(const char *program, size_t *size)
{
    for (size_t i = 0; i < boot_info.nmodules; i++) {
        const struct boot_module *m = &boot_info.modules[i];
        if (strcmp(m->name, program) == 0) {
            *size = m->end - m->start;
            return phys_to_virt(m->start);
        }
    }
    return NULL;
}

static int segment_prot(uint32_t flags)
{
    return ((flags & ELF_PF_R) ? PROT_READ : 0) | ((flags & ELF_PF_W) ? PROT_WRITE : 0) |
           ((flags & ELF_PF_X) ? PROT_EXEC : 0);
}

/* argc, argv[], NULL, envp NULL, auxv {AT_NULL, 0}, and the strings above them. */
static int setup_stack(struct uvm *vm, int argc, char *const argv[], uintptr_t *rsp)
{
    int err = uvm_region_add(vm, USER_STACK_TOP - USER_STACK_SIZE, USER_STACK_TOP, PROT_READ | PROT_WRITE);
    if (err)
        return err;
    size_t nwords = 1 + (size_t)argc + 1 + 1 + 2;
    uint64_t *words = kmalloc(nwords * sizeof(uint64_t));
    if (!words)
        return -ENOMEM;
    uintptr_t sp = USER_STACK_TOP;
    words[0] = (uint64_t)argc;
    for (int i = argc - 1; i >= 0 && !err; i--) {
        size_t len = strlen(argv[i]) + 1;
        sp -= len;
        words[1 + i] = sp;
        err = uvm_write(vm, sp, argv[i], len);
    }
    words[1 + argc] = 0;            /* argv's NULL */
    words[2 + argc] = 0;            /* the environment: empty */
    words[3 + argc] = AT_NULL;      /* the auxiliary vector: its end only */
    words[4 + argc] = 0;
    sp = ALIGN_DOWN(sp - nwords * sizeof(uint64_t), 16);
    if (!err)
        err = uvm_write(vm, sp, words, nwords * sizeof(uint64_t));
    kfree(words);
    *rsp = sp;
    return err;
}

int exec_load(struct uvm *vm, const void *image, size_t size, int argc, char *const argv[], uintptr_t *entry,
              uintptr_t *rsp)
{
    struct elf_info *info = kmalloc(sizeof(*info));
    if (!info)
        return -ENOMEM;
    int err = elf_parse(image, size, info);
    for (size_t i = 0; i < info->nsegments && !err; i++) {
        const struct elf_segment *s = &info->segments[i];
        err = uvm_region_add(vm, ALIGN_DOWN(s->vaddr, PAGE_SIZE), ALIGN_UP(s->vaddr + s->memsz, PAGE_SIZE),
                             segment_prot(s->flags));
        /* The file's bytes now; the rest (bss) are zero pages on first touch. */
        if (!err)
            err = uvm_write(vm, s->vaddr, (const char *)image + s->offset, s->filesz);
    }
    if (!err) {
        vm->mmap_base = ALIGN_UP(info->end, PAGE_SIZE) + PAGE_SIZE;    /* a gap after the program */
        *entry = info->entry;
        err = setup_stack(vm, argc, argv, rsp);
    }
    kfree(info);
    return err;
}
