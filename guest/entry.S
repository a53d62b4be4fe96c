/*
 * Entry.  Two ways in, both 32-bit flat protected mode with paging off (boot.h):
 *  - PVH: the VMM (or QEMU, or Xen) enters pvh_start32 with ebx = struct hvm_start_info;
 *  - Multiboot2: GRUB, in an HVM domain, enters mb2_start32 with eax = the boot loader magic and
 *    ebx = its boot information (multiboot2.c reads it later, from ring 3).
 * Each notes the protocol in ebp and the structure in esi, then one path switches to long mode.
 * Everything that switch needs (GDT, page tables) is laid out at link time, so this path is a couple
 * of dozen instructions: on a PVM host every ring-0 instruction goes through KVM's emulator.
 */
#define __ASSEMBLY__
#include <xen/elfnote.h>
#include "boot.h"
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

/* The Multiboot2 header: guest.ld puts it first in the text segment, well inside the file's first
 * 32 KiB where boot loaders look for it (8-byte aligned).  The ELF's own entry is pvh_start32, so
 * the entry address tag (which GRUB honours for ELF images too) names mb2_start32.  No address tag:
 * GRUB loads the ELF's segments where they say. */
        .section .multiboot2, "a"
        .balign 8
mb2_header:
        .long MB2_HEADER_MAGIC
        .long MB2_ARCH_I386
        .long mb2_header_end - mb2_header
        .long 0x100000000 - (MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
        .balign 8
        .short MB2_HEADER_TAG_ENTRY, 0  /* type, flags (required: a loader that ignored it would
                                           enter pvh_start32 without a start_info) */
        .long 12
        .long mb2_start32
        .balign 8
        .short MB2_HEADER_TAG_END, 0
        .long 8
mb2_header_end:

        .section .text.entry, "ax"
        .code32
        .globl pvh_start32, mb2_start32
mb2_start32:
        cli
        cmp     $MB2_BOOTLOADER_MAGIC, %eax
        jne     bad_loader
        mov     %ebx, %esi              /* the boot information, for kmain */
        mov     $BOOT_MULTIBOOT2, %ebp
        jmp     start32

pvh_start32:
        cli
        mov     %ebx, %esi              /* hvm_start_info, for kmain */
        mov     $BOOT_PVH, %ebp

start32:
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

/* Entered by something that is not a Multiboot2 loader: say so on the debug port and on COM1 (the
 * console of an HVM domain), without waiting for the UART, and stop. */
bad_loader:
        mov     $bad_loader_msg, %esi
1:      lodsb
        test    %al, %al
        jz      2f
        mov     $0xe9, %dx
        out     %al, %dx
        mov     $0x3f8, %dx
        out     %al, %dx
        jmp     1b
2:      hlt
        jmp     2b

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
        mov     %esi, %edi              /* kmain(info_paddr, protocol): the upper halves were */
        mov     %ebp, %esi              /* undefined across the mode switch; these clear them */
        call    kmain
        cli
1:      hlt
        jmp     1b

        .section .rodata
bad_loader_msg:
        .asciz "Xenith test guest: entered at mb2_start32 without the Multiboot2 magic in eax, halting\r\n"

        /* Boot stack; afterwards TSS.rsp0 points here for traps from ring 3. */
        .section .bss
        .balign 16
        .globl kernel_stack_top
kernel_stack:
        .skip 16384
kernel_stack_top:
