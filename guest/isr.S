/*
 * Exception entry stubs for vectors 0-31, each 16 bytes apart so traps.c can compute their addresses.
 * Each stub makes the frame uniform (a dummy error code where the CPU pushes none), pushes its vector
 * and joins the common path, which saves the registers and calls trap_handler(struct trap_frame *).
 * Traps are fatal in this guest, so there is no return path.
 */
        .section .text
        .balign 16
        .globl isr_stubs
isr_stubs:
        vec = 0
        .rept 32
        .balign 16
        /* Vectors with a CPU-pushed error code: #DF #TS #NP #SS #GP #PF #AC #CP #VC #SX. */
        .if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
        .else
        push    $0
        .endif
        push    $vec
        jmp     isr_common
        vec = vec + 1
        .endr

isr_common:
        push    %rax
        push    %rbx
        push    %rcx
        push    %rdx
        push    %rsi
        push    %rdi
        push    %rbp
        push    %r8
        push    %r9
        push    %r10
        push    %r11
        push    %r12
        push    %r13
        push    %r14
        push    %r15
        cld
        mov     %rsp, %rdi              /* 22 quadwords pushed: rsp stays 16-byte aligned */
        call    trap_handler
1:      cli
        hlt
        jmp     1b
