/*
 * The two ways into the guest (entry.S), usable from C and assembly:
 *  - PVH: a Xen toolstack or our VMM enters pvh_start32 (the XEN_ELFNOTE_PHYS32_ENTRY note) with
 *    ebx = struct hvm_start_info;
 *  - Multiboot2: a boot loader (GRUB's `multiboot2` command, in an HVM domain) enters mb2_start32
 *    (the header's entry address tag) with eax = MB2_BOOTLOADER_MAGIC, ebx = its boot information.
 * Both are 32-bit flat protected mode with paging off, so one path to long mode follows; kmain gets
 * the protocol and the physical address of what came in ebx.
 */
#ifndef GUEST_BOOT_H
#define GUEST_BOOT_H

#define BOOT_PVH        0
#define BOOT_MULTIBOOT2 1

/* The Multiboot2 specification's numbers. */
#define MB2_HEADER_MAGIC        0xe85250d6      /* in the image, in its first 32 KiB */
#define MB2_ARCH_I386           0               /* 32-bit protected mode */
#define MB2_HEADER_TAG_END      0
#define MB2_HEADER_TAG_ENTRY    3               /* entry address: pvh_start32 stays the ELF entry */
#define MB2_BOOTLOADER_MAGIC    0x36d76289      /* in eax at the entry */
#define MB2_SEARCH              32768

#endif
