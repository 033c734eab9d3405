/* syscall.h (arch): SYSCALL/SYSRET set-up of each CPU (syscall_init.c, syscall.asm). */
#pragma once

/* EFER.SCE, STAR, LSTAR, SFMASK on this CPU: the BSP in kmain(), each AP in ap_main(). */
void syscall_init_cpu(void);
