/*
 * crt0.c: a program's first instructions. The kernel starts _start with the
 * System V initial stack: [rsp] = argc, then argv[0..argc-1], NULL, the
 * environment (empty: NULL) and the auxiliary vector (AT_NULL only).
 */
#include "crt0.h"
#include "syscall.h"

int main(int argc, char **argv);

char **environ;
unsigned long *crt0_auxv;
unsigned long crt0_initial_sp;

/* Called by _start with the initial stack pointer; never returns. */
__attribute__((noreturn)) void crt0_start(unsigned long *sp)
{
    int argc = (int)sp[0];
    char **argv = (char **)(sp + 1);
    char **envp = argv + argc + 1;
    char **p = envp;

    while (*p)
        p++;
    crt0_initial_sp = (unsigned long)sp;
    environ = envp;
    crt0_auxv = (unsigned long *)(p + 1);
    sys_exit(main(argc, argv));
}

/*
 * No frame to return to (rbp = 0 ends backtraces), and the stack is
 * realigned before the call in case the kernel left it at 8 mod 16.
 */
__attribute__((naked, noreturn)) void _start(void)
{
    __asm__ volatile("xor %ebp, %ebp\n\t"
                     "mov %rsp, %rdi\n\t"
                     "and $-16, %rsp\n\t"
                     "call crt0_start\n\t"
                     "ud2");
}
