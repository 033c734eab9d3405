/*
 * uvm.h: user address spaces. Each has its own PML4 whose kernel half
 * (entries 256-511) is a copy of kernel_pml4's, and a sorted list of regions
 * (program segments, the stack, mmap_anon). A page of a region is mapped on
 * first touch (uvm_fault); an address outside every region is a bad one.
 * Not here: what a process is (proc/process.c) and loading programs (proc/exec.c).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cpumask.h"
#include "mm/layout.h"
#include "sched/wait.h"

#define USER_STACK_TOP      0x00007ffffffff000ul    /* the last page below it stays unmapped */
#define USER_STACK_SIZE     (1024 * 1024ul)         /* demand-faulted */
#define USER_STACK_GAP      (64 * 1024ul)           /* never in a region: the stack's guard */

/* Region protections are the user's PROT_* bits (uapi/syscalls.h). */
struct uvm_region {
    uintptr_t start, end;
    int prot;
    struct uvm_region *next;
};

struct uvm {
    uint64_t *pml4;
    struct mutex lock;              /* regions and the lower half's page tables */
    struct uvm_region *regions;     /* sorted by address, never overlapping */
    uintptr_t mmap_base, mmap_top;  /* where mmap_anon looks for room */
    cpumask_t active;               /* CPUs that have this PML4 in CR3 (TLB shootdown targets) */
    size_t resident;                /* user pages mapped */
};

/* A new, empty address space; NULL when out of memory. */
struct uvm *uvm_create(void);
/* Free every page and table of the lower half, the PML4 and vm. No thread may use vm any more. */
void uvm_destroy(struct uvm *vm);

/* Add [start, end) (page-aligned) with prot; -EINVAL, -EEXIST on overlap, -ENOMEM. */
int uvm_region_add(struct uvm *vm, uintptr_t start, uintptr_t end, int prot);
/* A fresh demand-faulted region of len bytes (rounded up to pages) in the mmap area: its address, or
 * -EINVAL (no length, unknown bits, writable and executable) or -ENOMEM. */
long uvm_mmap(struct uvm *vm, size_t len, int prot);
/* Remove [start, start + len) from the regions, unmap and free its pages on every CPU's TLB; 0 or -EINVAL. */
int uvm_unmap(struct uvm *vm, uintptr_t start, size_t len);
/* Write n bytes at va through the direct map (the loader; regions need not allow writes). 0 or -errno. */
int uvm_write(struct uvm *vm, uintptr_t va, const void *src, size_t n);

/*
 * A page fault at addr with the CPU's error code: map a zero page if addr
 * lies in a region that allows the access. 0: retry the access; -EFAULT: a
 * bad access (no region, or not allowed); -ENOMEM. May sleep (IRQs on).
 */
int uvm_fault(struct uvm *vm, uintptr_t addr, uint64_t error_code);

struct pt_regs;
/*
 * A kernel-mode #PF (trap.c, before the exception table): if it hit a
 * not-present page of the current process's regions where the kernel may
 * sleep (copy_*_user in a syscall), map it; true means retry the access.
 */
bool uvm_kernel_fault(struct pt_regs *regs);

/* The region holding addr, for reports (vm->lock held, or vm private); NULL if none. */
const struct uvm_region *uvm_region_find(struct uvm *vm, uintptr_t addr);

struct thread;
/* The scheduler, before switch_to(): load next's address space (kernel threads: kernel_pml4). */
void uvm_switch_in(struct thread *next);
/* Load kernel_pml4 on this CPU now (a process tearing down its own address space). */
void uvm_switch_to_kernel(void);
