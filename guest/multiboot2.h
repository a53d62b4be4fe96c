/* The boot information a Multiboot2 loader (GRUB) hands over, read into a start_info of our own. */
#ifndef GUEST_MULTIBOOT2_H
#define GUEST_MULTIBOOT2_H

#include <stdint.h>
#include <xen/arch-x86/hvm/start_info.h>

#define MB2_MEMMAP_MAX 128              /* entries kept; a PC's e820 has a dozen */
#define MB2_CMDLINE_MAX 1024            /* bytes kept, NUL included */

struct mb2_boot {
    struct hvm_start_info start_info;   /* version 1: command line and memory map, as PVH gives */
    struct hvm_memmap_table_entry memmap[MB2_MEMMAP_MAX];
    char cmdline[MB2_CMDLINE_MAX];
    uint32_t memmap_dropped;            /* entries beyond MB2_MEMMAP_MAX */
    uint32_t cmdline_dropped;           /* bytes beyond MB2_CMDLINE_MAX - 1 */
};

/* Copies what the guest needs (command line, memory map) out of the boot information at
 * info_paddr into *boot, so that nothing refers to the loader's memory afterwards (tests may
 * reuse it).  0, or -1 with why (WHY_SIZE) when the information is malformed. */
int multiboot2_read(uint32_t info_paddr, struct mb2_boot *boot, char *why);

#endif
