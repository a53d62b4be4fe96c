/* Building an HVM domain's PC: the firmware where a PC's flash is, the PIT and the interrupt
 * router (docs/hvm.md).  The device models are the HVM device table's rows (hw/devices.c). */
#ifndef XENITH_HVM_FIRMWARE_H
#define XENITH_HVM_FIRMWARE_H

#include <stddef.h>

struct domain;

#define HVM_FIRMWARE_MAX (16u << 20)
#define HVM_BIOS_LOW_MAX (128u << 10)     /* the part of the image also at 0xe0000-0xfffff */

/* Loads the firmware image (SeaBIOS's bios.bin: 64 KiB to 16 MiB, whole 64 KiB blocks) at the top
 * of 4 GiB, read-only, and its last 128 KiB (or all of a smaller image) into RAM just below 1 MiB,
 * where the reset vector's far jump lands; makes the PIT and points the domain's interrupt router
 * at KVM's irqchip.  vCPU 0 starts at the reset vector (KVM's reset state), the others wait for
 * their start IPI.  0, or -1 with err naming the file. */
int hvm_build(struct domain *dom, const char *firmware, char *err, size_t errlen);

#endif
