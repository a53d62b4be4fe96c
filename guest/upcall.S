/*
 * The only interrupts this guest takes, and the gates that let ring 3 take them.  Ring 0 stays tiny
 * (a PVM host emulates every instruction here): the event-channel upcall only counts and EOIs the
 * local APIC; ring 3 does the work (events.c: evtchn_poll).  With Xen's callback vector
 * (upcall=callback) there is no APIC to EOI: like Xen's level, the vector comes again while
 * evtchn_upcall_pending stays set, so the handler clears that flag instead, as Linux's does.
 * Ring 3 runs with IF off until it asks for interrupts with user_sti(): a `ud2` at a known address,
 * which the #UD gate recognises and answers by setting IF in the frame it returns to (skipping the
 * ud2).  Neither an IOPL-3 `sti` (PVM hosts run ring 3 at IOPL 0) nor a DPL-3 `int N` gate (PVM
 * hosts turn `int N` from ring 3 into #UD) does it there.  Any other #UD is the usual fatal trap.
 */
#define APIC_EOI 0xfee000b0

        .section .text
        .globl upcall_entry, spurious_entry, ud_entry, user_sti
        .globl upcall_count, spurious_count

upcall_entry:
        push    %rax
        incq    upcall_count(%rip)
        cmpb    $0, upcall_direct(%rip)
        jne     1f
        mov     $APIC_EOI, %eax
        movl    $0, (%rax)
        pop     %rax
        iretq
1:      mov     vcpu_info(%rip), %rax   /* evtchn_upcall_pending is vcpu_info's first byte */
        movb    $0, (%rax)
        pop     %rax
        iretq

spurious_entry:                         /* the APIC's spurious vector takes no EOI */
        incq    spurious_count(%rip)
        iretq

/* void user_sti(void), from ring 3. */
user_sti:
user_sti_ud2:
        ud2
        ret

ud_entry:                               /* #UD: the frame is rip, cs, rflags, rsp, ss */
        push    %rax
        lea     user_sti_ud2(%rip), %rax
        cmp     %rax, 8(%rsp)
        pop     %rax
        jne     isr_stubs + 6 * 16      /* a real #UD: report it */
        addq    $2, (%rsp)
        orq     $0x200, 16(%rsp)
        iretq

        .section .bss
        .balign 8
upcall_count:   .quad 0
spurious_count: .quad 0
