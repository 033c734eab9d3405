/*
 * exec.h: loading a program (a boot module holding a static ELF64
 * executable) into a fresh address space, with its initial user stack.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define EXEC_ARGV_MAX       64      /* arguments, argv[0] included */
#define EXEC_ARG_LEN_MAX    256     /* bytes of one argument, NUL included */

struct uvm;

/* The boot module named program: its image through the direct map, or NULL. */
const void *exec_find_program(const char *program, size_t *size);

/*
 * Map the ELF image's segments into vm (W^X, user, NX unless code), add the
 * demand-faulted stack and lay out argv on it as the System V ABI has it at
 * process entry: rsp 16-byte aligned -> argc, argv[0..argc-1], NULL, an
 * empty environment (NULL) and the auxiliary vector (AT_NULL, 0), strings
 * above. Sets *entry and *rsp. 0, or -ENOEXEC, -ENOMEM.
 */
int exec_load(struct uvm *vm, const void *image, size_t size, int argc, char *const argv[], uintptr_t *entry,
              uintptr_t *rsp);
