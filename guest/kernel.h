/* What ring 0 found out while booting, handed to the ring-3 side (user.c). */
#ifndef GUEST_KERNEL_H
#define GUEST_KERNEL_H

#include <stdint.h>
#include <xen/arch-x86/hvm/start_info.h>

struct boot_info {
    uint32_t protocol;                  /* BOOT_PVH or BOOT_MULTIBOOT2 (boot.h) */
    uint32_t info_paddr;                /* hvm_start_info, or the Multiboot2 boot information */
    uint32_t xen_cpuid_base;            /* 0x40000000 + k * 0x100 */
    uint32_t xen_cpuid_version;         /* CPUID base+1 eax: major << 16 | minor */
};

/* The start_info the guest booted with (user.c keeps it for tests: its memory map), or NULL.  After
 * a Multiboot2 entry, one multiboot2.c made from the boot loader's information. */
extern const struct hvm_start_info *boot_start_info;

void kmain(uint32_t info_paddr, uint32_t protocol);
void xen_init(struct boot_info *bi);
__attribute__((noreturn)) void user_enter(void (*fn)(const struct boot_info *), const struct boot_info *bi);
__attribute__((noreturn)) void user_main(const struct boot_info *bi);

#endif
