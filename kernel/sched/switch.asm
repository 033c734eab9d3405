; switch.asm: the context switch. Saves the callee-saved registers on the old
; thread's kernel stack, stores its RSP, loads the new thread's RSP and pops
; its registers. Everything else (TSS.RSP0, accounting) is done in C.
;
;   void switch_to(uint64_t *prev_saved_rsp, uint64_t next_saved_rsp);
;
; A switched-out stack, from its saved RSP up:
;   +0 r15  +8 r14  +16 r13  +24 r12  +32 rbx  +40 rbp  +48 return address
; A new thread's stack is built the same way by thread.c, with the return
; address pointing at thread_start().

section .text
global switch_to
switch_to:
    push    rbp
    push    rbx
    push    r12
    push    r13
    push    r14
    push    r15
    mov     [rdi], rsp
    mov     rsp, rsi
    pop     r15
    pop     r14
    pop     r13
    pop     r12
    pop     rbx
    pop     rbp
    ret
