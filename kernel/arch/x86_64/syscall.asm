; syscall.asm: the SYSCALL entry. The CPU has loaded CS/SS from STAR, put
; the user RIP in rcx and RFLAGS in r11, and masked IF, TF, DF, AC and NT
; (SFMASK); it did not switch stacks. The stub swaps GS, parks the user RSP
; in %gs:8, moves to the thread's kernel stack top (%gs:16), builds struct
; pt_regs exactly as isr.asm does and calls syscall_entry() once.
;
; Stack at the call into C (rdi = rsp = struct pt_regs *), growing down from
; this_cpu()->kstack_top:
;
;   +168  ss          SEL_UDATA       \
;   +160  rsp         user rsp (%gs:8) |  what an interrupt from user mode
;   +152  rflags      r11              |  would have pushed
;   +144  cs          SEL_UCODE        |
;   +136  rip         rcx             /
;   +128  orig_rax    rax: the syscall number, kept for a restart (sched/restart.c)
;   +120  vector      PTREGS_VECTOR_SYSCALL (~0)
;   +112  rdi  +104 rsi  +96 rdx  +88 rcx  +80 rax (the syscall number)
;   +72   r8   +64  r9   +56 r10  +48 r11
;   +40   rbx  +32  rbp  +24 r12  +16 r13  +8 r14  +0 r15
;
; 22 quadwords below a 16-byte aligned top: rsp is aligned at the call.
; syscall_entry() returns nonzero when SYSRET can restore the frame exactly
; (it checked rcx == rip, r11 == rflags, a canonical rip, no TF/RF/NT);
; otherwise the frame leaves through isr_return_to's iretq.

%define SEL_UDATA   (0x20 | 3)
%define SEL_UCODE   (0x28 | 3)
%define R_RIP       136

%include "ptregs.inc"

extern syscall_entry
extern isr_return_to

section .text
global entry_syscall_64
entry_syscall_64:
    swapgs
    mov     [gs:8], rsp                 ; the user stack pointer
    mov     rsp, [gs:16]                ; the thread's kernel stack top
    push    SEL_UDATA                   ; ss
    push    qword [gs:8]                ; rsp
    push    r11                         ; rflags
    push    SEL_UCODE                   ; cs
    push    rcx                         ; rip
    push    rax                         ; orig_rax (the error code's slot)
    push    -1                          ; vector: PTREGS_VECTOR_SYSCALL
    PUSH_REGS
    xor     ebp, ebp                    ; end of the kernel's frame-pointer chain
    mov     rdi, rsp
    call    syscall_entry               ; IRQs off again when it returns
    test    eax, eax
    jz      .iret
    POP_REGS                            ; r11 == rflags, rcx == rip (sysret_ok() checked)
    mov     rsp, [rsp + 16 + 24]        ; past vector, orig_rax to the frame's rsp
    swapgs
    o64 sysret
.iret:
    mov     rdi, rsp
    jmp     isr_return_to
