/*
 * user_enter(fn, arg): drop to ring 3 and run fn(arg) on the user stack, with IOPL 3 so ring 3 may
 * use `out` (the hypercall stubs do).  There is no way back: ring 3 ends the domain by hypercall.
 */
#include "x86.h"

        .section .text
        .globl user_enter
user_enter:
        mov     $USER_DS, %eax
        mov     %eax, %ds
        mov     %eax, %es
        push    $USER_DS                /* ss */
        push    $(user_stack_top - 8)   /* rsp, aligned as if fn had been called */
        push    $USER_RFLAGS
        push    $USER_CS
        push    %rdi                    /* rip = fn */
        mov     %rsi, %rdi              /* fn(arg) */
        iretq

/*
 * user_enter_stack(fn, arg, stack_top): the same on a stack of the caller's (a secondary CPU's).
 */
        .globl user_enter_stack
user_enter_stack:
        mov     $USER_DS, %eax
        mov     %eax, %ds
        mov     %eax, %es
        sub     $8, %rdx                /* aligned as if fn had been called */
        push    $USER_DS                /* ss */
        push    %rdx                    /* rsp */
        push    $USER_RFLAGS
        push    $USER_CS
        push    %rdi                    /* rip = fn */
        mov     %rsi, %rdi              /* fn(arg) */
        iretq

        .section .bss
        .balign 16
user_stack:
        .skip 65536
user_stack_top:
