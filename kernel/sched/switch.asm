; switch.asm: the context switch. Saves the callee-saved registers and RFLAGS
; on the old thread's kernel stack, stores its RSP, loads the new thread's RSP
; and pops its registers. Everything else (TSS.RSP0, accounting, FPU state) is
; done in C.
;
;   void switch_to(uint64_t *prev_saved_rsp, uint64_t next_saved_rsp);
;
; A switched-out stack, from its saved RSP up:
;   +0 rflags  +8 r15  +16 r14  +24 r13  +32 r12  +40 rbx  +48 rbp  +56 return address
; RFLAGS is per thread so that AC (SMAP open) cannot pass from one thread to
; the next; IF is off on both sides (sched_lock is held). A new thread's stack
; is built the same way by thread.c and process.c, with RFLAGS 0x2 and the return address pointing at thread_start().

section .text
global switch_to
switch_to:
    push    rbp
    push    rbx
    push    r12
    push    r13
    push    r14
    push    r15
    pushfq
    mov     [rdi], rsp
    mov     rsp, rsi
    popfq
    pop     r15
    pop     r14
    pop     r13
    pop     r12
    pop     rbx
    pop     rbp
    ret
