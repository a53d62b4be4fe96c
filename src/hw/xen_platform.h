/* The Xen platform PCI device (00:02.0, 5853:0001) and its emulated-device unplug protocol
 * (Xen's docs/misc/hvm-emulated-unplug.pandoc), as PV drivers in an HVM guest use it:
 *
 *   read  16 bits at 0x10: magic 0x49d2 (0xd249 once the drivers are blacklisted)
 *   read   8 bits at 0x12: protocol version (1)
 *   write 16 bits at 0x12: the drivers' product number (xen/hvm/pvdrivers.h)
 *   write 32 bits at 0x10: their build number: the VMM's blacklist hook may refuse them
 *   write 16 bits at 0x10: a mask of emulated devices to unplug (XEN_UNPLUG_*)
 *   write  8 bits at 0x12: a byte of a log line for the VMM's log
 *
 * Unplugging is what the emulated IDE and NIC models ask about: each asks on every access
 * whether its kind is unplugged and, if so, behaves as absent (registers read all ones, writes
 * are dropped, no interrupts, no DMA).  An unplug stays until the domain is rebuilt. */
#ifndef XENITH_XEN_PLATFORM_H
#define XENITH_XEN_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

struct domain;

/* Xen's bit values (the protocol's mask). */
#define XEN_UNPLUG_IDE_DISKS 1u        /* every emulated IDE disk (not CD-ROMs) */
#define XEN_UNPLUG_NICS 2u             /* every emulated NIC */
#define XEN_UNPLUG_AUX_IDE 4u          /* IDE disks but the primary master (bit 0 overrides) */
#define XEN_UNPLUG_NVME 8u             /* NVMe disks: we have none, kept in the mask all the same */

/* Told of each unplug request (the new bits only, after they took effect). */
typedef void (*hvm_unplug_fn)(struct domain *dom, unsigned int mask);
/* Whether drivers of `product` (pvdrivers.h name, or NULL for a number not listed there) at
 * `build` are blacklisted: Xen's /mh/driver-blacklist/<product>/<build>. */
typedef bool (*hvm_blacklist_fn)(struct domain *dom, const char *product, uint32_t build);

struct xen_platform_hooks {
	hvm_unplug_fn unplug;          /* optional */
	hvm_blacklist_fn blacklisted;  /* optional: none means nothing is blacklisted */
};

/* Whether any kind in `what` (XEN_UNPLUG_* bits) has been unplugged.  False when the domain has
 * no platform device.  An IDE model asks XEN_UNPLUG_IDE_DISKS for the primary master disk and
 * XEN_UNPLUG_IDE_DISKS | XEN_UNPLUG_AUX_IDE for the other disks; CD-ROMs never unplug.  Safe from
 * any thread. */
bool xen_platform_unplugged(struct domain *dom, unsigned int what);
/* HVM_PARAM_CALLBACK_IRQ of the PCI INTx kind: the platform device drives its INTA (level).
 * Nothing when the domain has no platform device. */
void xen_platform_set_irq(struct domain *dom, bool level);
/* Sets the hooks (copied) after the device is built: 0, or -1 when the domain has none. */
int xen_platform_set_hooks(struct domain *dom, const struct xen_platform_hooks *hooks);

#endif
