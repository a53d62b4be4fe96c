/*
 * PVH entry.  The VMM (or QEMU) enters pvh_start32 in 32-bit flat protected mode with paging off and
 * ebx = the guest-physical address of struct hvm_start_info.  Everything the switch to long mode needs
 * (GDT, page tables) is already laid out at link time, so this path is a couple of dozen instructions:
 * on a PVM host every ring-0 instruction goes through KVM's emulator.
 */
#define __ASSEMBLY__
#include <xen/elfnote.h>
#include "x86.h"

/* The note Xen's libelf, QEMU and our VMM look for; 8-byte descriptor like Linux's ELF64 kernels. */
        .section .note.Xen, "a", @note
        .balign 4
        .long 2f - 1f                   /* namesz */
        .long 4f - 3f                   /* descsz */
        .long XEN_ELFNOTE_PHYS32_ENTRY
1:      .asciz "Xen"
2:      .balign 4
3:      .quad pvh_start32
4:      .balign 4

        .section .text.entry, "ax"
        .code32
        .globl pvh_start32
pvh_start32:
        cli
        mov     %ebx, %esi              /* hvm_start_info, for kmain */
        lgdt    gdt_ptr

        /* PAE paging (long mode needs it) and SSE for ring-3 C code. */
        mov     $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
        mov     %eax, %cr4
        mov     $pml4, %eax
        mov     %eax, %cr3
        mov     $MSR_EFER, %ecx
        rdmsr
        or      $EFER_LME, %eax
        wrmsr
        /* Paging on activates long mode; FPU native (MP, NE), no emulation or lazy switching. */
        mov     %cr0, %eax
        and     $~(CR0_EM | CR0_TS), %eax
        or      $(CR0_PG | CR0_PE | CR0_MP | CR0_NE), %eax
        mov     %eax, %cr0
        ljmp    $KERNEL_CS, $start64

        .code64
start64:
        mov     $KERNEL_DS, %eax
        mov     %eax, %ds
        mov     %eax, %es
        mov     %eax, %ss
        xor     %eax, %eax
        mov     %eax, %fs
        mov     %eax, %gs
        mov     $kernel_stack_top, %rsp
        fninit
        mov     %esi, %edi              /* kmain(struct hvm_start_info *) */
        call    kmain
        cli
1:      hlt
        jmp     1b

        /* Boot stack; afterwards TSS.rsp0 points here for traps from ring 3. */
        .section .bss
        .balign 16
        .globl kernel_stack_top
kernel_stack:
        .skip 16384
kernel_stack_top:
