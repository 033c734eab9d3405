; trampoline.asm: where an AP starts after INIT-SIPI-SIPI: real mode at
; physical TRAMPOLINE_PHYS (CS = 0x0800, IP = 0), to protected mode, to long
; mode, then a jump to ap_main(struct cpu *) in the higher half. This is a
; blob in .rodata: smp.c copies it to low memory and fills its parameters.
;
; Addresses: the code is assembled at its .rodata position but runs at
; TRAMPOLINE_PHYS, so every absolute address is written ABS(label).
; Page tables: the parameter block's cr3 is smp.c's own PML4 (below 4 GiB:
; CR3 is loaded in 32-bit mode) that identity-maps the low 2 MiB and shares
; the kernel half; ap_main() moves to kernel_pml4 at once.
;
; Parameter block (trampoline_params; smp.c's struct trampoline_params):
;   +0  cr3        physical address of the trampoline PML4
;   +8  entry      ap_main
;   +16 stack_top  the AP's boot stack (16-byte aligned)
;   +24 cpu        struct cpu *, passed in rdi
;   +32 stage      written by the AP: 1 real mode, 2 long mode (ap_main: 3)

%define TRAMPOLINE_PHYS 0x8000
%define ABS(x)          (TRAMPOLINE_PHYS + (x) - trampoline_start)
%define OFF(x)          ((x) - trampoline_start)

%define CR0_PE          (1 << 0)
%define CR0_WP          (1 << 16)
%define CR0_NW          (1 << 29)
%define CR0_CD          (1 << 30)
%define CR0_PG          (1 << 31)
%define CR4_PAE         (1 << 5)
%define MSR_EFER        0xc0000080
%define EFER_LME        (1 << 8)
%define EFER_NXE        (1 << 11)   ; the kernel's page tables use NX: without NXE it is a reserved bit

%define SEL_CODE32      0x08
%define SEL_DATA        0x10
%define SEL_CODE64      0x18

section .rodata
align 16
global trampoline_start, trampoline_end, trampoline_params

bits 16
trampoline_start:
    cli
    cld
    mov     ax, cs                      ; 0x0800: offsets below are from TRAMPOLINE_PHYS
    mov     ds, ax
    mov     dword [OFF(tp_stage)], 1
    o32 lgdt [OFF(tgdt_ptr)]
    mov     eax, cr0
    and     eax, ~(CR0_CD | CR0_NW)     ; the reset CR0 has the caches off; fpu_init_cpu() sets the rest
    or      eax, CR0_PE
    mov     cr0, eax
    jmp     dword SEL_CODE32:ABS(pm32)

bits 32
pm32:
    mov     ax, SEL_DATA
    mov     ds, ax
    mov     es, ax
    mov     ss, ax
    mov     eax, cr4
    or      eax, CR4_PAE
    mov     cr4, eax
    mov     eax, [ABS(tp_cr3)]
    mov     cr3, eax
    mov     ecx, MSR_EFER
    rdmsr
    or      eax, EFER_LME | EFER_NXE
    wrmsr
    mov     eax, cr0
    or      eax, CR0_PG | CR0_WP
    mov     cr0, eax
    jmp     SEL_CODE64:ABS(lm64)

bits 64
lm64:
    mov     ax, SEL_DATA
    mov     ds, ax
    mov     es, ax
    mov     ss, ax
    xor     eax, eax
    mov     fs, ax
    mov     gs, ax
    mov     dword [ABS(tp_stage)], 2
    mov     rsp, [ABS(tp_stack_top)]
    mov     rdi, [ABS(tp_cpu)]
    mov     rax, [ABS(tp_entry)]
    xor     ebp, ebp                    ; end of the frame-pointer chain
    push    0                           ; and a zero return address: ap_main never returns
    jmp     rax

align 16
tgdt:
    dq      0
    dq      0x00cf9a000000ffff          ; 0x08: 32-bit code, flat
    dq      0x00cf92000000ffff          ; 0x10: data, flat
    dq      0x00209a0000000000          ; 0x18: 64-bit code
tgdt_end:
tgdt_ptr:
    dw      tgdt_end - tgdt - 1
    dd      ABS(tgdt)

align 8
trampoline_params:
tp_cr3:         dq 0
tp_entry:       dq 0
tp_stack_top:   dq 0
tp_cpu:         dq 0
tp_stage:       dd 0
                dd 0
trampoline_end:
