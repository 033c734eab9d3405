; Multiboot2 header and 32-bit entry: builds the early page tables, enables
; PAE, long mode, NX and paging, then jumps to the higher-half kmain().
; Not the final page tables: kernel/mm/vmm.c replaces these with W^X ones.

%define KERNEL_VMA      0xffffffff80000000
%define MB2_MAGIC       0xe85250d6
%define MB2_BOOT_MAGIC  0x36d76289
%define EARLY_GIB       4               ; identity + direct map this much

%define PTE_P           (1 << 0)
%define PTE_W           (1 << 1)
%define PTE_PS          (1 << 7)

%define EFER_MSR        0xc0000080
%define EFER_LME        (1 << 8)
%define EFER_NXE        (1 << 11)

extern kmain

; ---------------------------------------------------------------------------
section .multiboot
align 8
mb2_header:
    dd MB2_MAGIC
    dd 0                                ; architecture: i386 protected mode
    dd mb2_header_end - mb2_header
    dd -(MB2_MAGIC + 0 + (mb2_header_end - mb2_header))
    ; end tag
    dw 0, 0
    dd 8
mb2_header_end:

; ---------------------------------------------------------------------------
section .boot.data
align 8
boot_gdt:
    dq 0
    dq 0x00209a0000000000               ; 0x08: 64-bit code, DPL 0
    dq 0x0000920000000000               ; 0x10: data, DPL 0
boot_gdt_end:
boot_gdt_ptr:
    dw boot_gdt_end - boot_gdt - 1
    dq boot_gdt

boot_fail_msg:  db "kstack: not booted by multiboot2, or no long mode", 0

; ---------------------------------------------------------------------------
section .boot.text
bits 32
global _start32
_start32:
    cli
    cld
    mov     esp, boot_stack_top - KERNEL_VMA
    mov     edi, eax                    ; multiboot2 magic  -> kmain arg 1
    mov     esi, ebx                    ; multiboot2 info   -> kmain arg 2

    cmp     eax, MB2_BOOT_MAGIC
    jne     .fail
    mov     eax, 0x80000000             ; extended CPUID leaves present?
    cpuid
    cmp     eax, 0x80000001
    jb      .fail
    mov     eax, 0x80000001
    cpuid
    test    edx, 1 << 29                ; LM
    jz      .fail

    ; PD: EARLY_GIB * 512 entries of 2 MiB, covering physical [0, EARLY_GIB GiB)
    mov     ebx, early_pd - KERNEL_VMA
    xor     ecx, ecx
.pd_loop:
    mov     eax, ecx
    shl     eax, 21
    or      eax, PTE_P | PTE_W | PTE_PS
    mov     [ebx + ecx * 8], eax
    mov     eax, ecx
    shr     eax, 11                     ; high 32 bits of (ecx << 21)
    mov     [ebx + ecx * 8 + 4], eax
    inc     ecx
    cmp     ecx, EARLY_GIB * 512
    jne     .pd_loop

    ; low PDPT: entries 0..EARLY_GIB-1 point at the PDs (identity + direct map)
    mov     ebx, early_pdpt_low - KERNEL_VMA
    xor     ecx, ecx
.pdpt_loop:
    mov     eax, ecx
    shl     eax, 12
    add     eax, (early_pd - KERNEL_VMA) + (PTE_P | PTE_W)
    mov     [ebx + ecx * 8], eax
    inc     ecx
    cmp     ecx, EARLY_GIB
    jne     .pdpt_loop

    ; high PDPT: 0xffffffff80000000 is PML4[511], PDPT[510] -> first GiB
    mov     ebx, early_pdpt_high - KERNEL_VMA
    mov     dword [ebx + 510 * 8], (early_pd - KERNEL_VMA) + (PTE_P | PTE_W)
    mov     dword [ebx + 511 * 8], (early_pd - KERNEL_VMA) + 4096 + (PTE_P | PTE_W)

    ; PML4: [0] identity, [256] direct map at 0xffff800000000000, [511] kernel
    mov     ebx, early_pml4 - KERNEL_VMA
    mov     dword [ebx + 0 * 8], (early_pdpt_low - KERNEL_VMA) + (PTE_P | PTE_W)
    mov     dword [ebx + 256 * 8], (early_pdpt_low - KERNEL_VMA) + (PTE_P | PTE_W)
    mov     dword [ebx + 511 * 8], (early_pdpt_high - KERNEL_VMA) + (PTE_P | PTE_W)

    mov     eax, cr4
    or      eax, 1 << 5                 ; PAE
    mov     cr4, eax
    mov     eax, ebx
    mov     cr3, eax
    mov     ecx, EFER_MSR
    rdmsr
    or      eax, EFER_LME | EFER_NXE
    wrmsr
    mov     eax, cr0
    or      eax, (1 << 31) | (1 << 16)  ; PG, WP
    mov     cr0, eax

    lgdt    [boot_gdt_ptr]
    jmp     0x08:.long_mode

.fail:
    ; Tell the serial console why, then stop: nothing else can be done here.
    mov     esi, boot_fail_msg
.fail_loop:
    lodsb
    test    al, al
    jz      .halt
    mov     dx, 0x3f8
    out     dx, al
    jmp     .fail_loop
.halt:
    hlt
    jmp     .halt

bits 64
.long_mode:
    mov     rax, higher_half
    jmp     rax

; ---------------------------------------------------------------------------
section .text
higher_half:
    mov     ax, 0x10
    mov     ds, ax
    mov     es, ax
    mov     ss, ax
    xor     ax, ax
    mov     fs, ax
    mov     gs, ax
    mov     rsp, boot_stack_top
    xor     ebp, ebp                    ; end of the frame-pointer chain
    ; edi = magic, esi = physical address of the multiboot2 information
    call    kmain
.hang:
    cli
    hlt
    jmp     .hang

; ---------------------------------------------------------------------------
section .bss
align 4096
global early_pml4, boot_stack_top
early_pml4:         resb 4096
early_pdpt_low:     resb 4096
early_pdpt_high:    resb 4096
early_pd:           resb 4096 * EARLY_GIB
boot_stack:         resb 16384          ; the BSP's stack until it has a thread
boot_stack_top:
