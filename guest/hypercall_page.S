/*
 * The hypercall page, in the image and executable.  It starts as int3 so that calling a stub the
 * VMM did not write traps (xen.c also checks that the VMM wrote the page at all).
 */
        .section .text.hypercall_page, "ax"
        .balign 4096
        .globl hypercall_page
hypercall_page:
        .fill 4096, 1, 0xcc
