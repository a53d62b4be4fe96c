/* The VMM's part of Xen's hvmloader for HVM domains (docs/hvm.md, "hvmloader's part").
 *
 * Debian's SeaBIOS is built with CONFIG_XEN; seeing our Xen CPUID leaves it takes its Xen path,
 * which expects hvmloader to have run first: PCI routed and BARs assigned, and an info table at
 * guest-physical 0x1000 ("XenHVMSeaBIOS") naming the memory map and the BIOS tables (ACPI) it
 * copies.  hvmloader_setup does that work at build time, once the device table is built. */
#ifndef XENITH_HVMLOADER_H
#define XENITH_HVMLOADER_H

#include <stddef.h>
#include <stdint.h>
#include "vmm/vm.h"

struct domain;

#define HVMLOADER_INFO_GPA 0x1000u             /* where SeaBIOS looks for the info table */
#define HVMLOADER_INFO_SIGNATURE "XenHVMSeaBIOS"   /* 14 bytes with its NUL */
#define HVMLOADER_INFO_SIZE 32                 /* signature, length, checksum, 4 u32 */
#define HVMLOADER_E820_ENTRY_SIZE 20           /* u64 start, u64 size, u32 type, packed */
#define HVMLOADER_E820_MAX 10
#define HVMLOADER_TABLES_MAX 4
/* The info table's parts in its page: the table, the BIOS table addresses, the e820. */
#define HVMLOADER_TABLES_GPA (HVMLOADER_INFO_GPA + 0x20u)
#define HVMLOADER_E820_GPA (HVMLOADER_INFO_GPA + 0x40u)

/* PIRQ A-D to ISA IRQs, as hvmloader routes them (its PCI_ISA_IRQ_MASK: 5, 10, 11 level). */
#define HVMLOADER_PIRQ_ROUTES { 5, 10, 11, 5 }
#define HVMLOADER_PCI_MEM_START 0xf0000000ull  /* memory BARs from here up, as hvmloader */
/* Reserved at the top of 4 GiB: IO-APIC, local APIC, KVM's VMX pages, the BIOS flash. */
#define HVMLOADER_TOP_RESERVED 0xfec00000ull

/* The memory map SeaBIOS gets (and passes on to the OS), in vm.h's entry form: the first
 * HVMLOADER_E820_MAX entries at most; returns how many. */
unsigned int hvmloader_e820(const struct vm *vm, struct vm_memmap_entry map[HVMLOADER_E820_MAX]);

/* PIIX3's PIRQ routes and ELCR, every PCI function's BARs, interrupt line and command register,
 * the PIIX4 PM block at 0xb000, ACPI tables in the ACPI region and the info table at 0x1000.
 * Needs dom->pci (the bus and its devices) and dom->hvm.  0, or -1 with err (a setup error). */
int hvmloader_setup(struct domain *dom, char *err, size_t errlen);
/* The ELCR those routes need (their IRQs level-triggered), for KVM's PICs as for PIIX3's copy. */
uint16_t hvmloader_elcr(void);

#endif
