/* What the guest does first in an HVM domain (entered by a boot loader), before its PV drivers. */
#ifndef GUEST_HVM_H
#define GUEST_HVM_H

/* Silences the 8259 PICs the firmware left running, finds the Xen platform PCI device on bus 0
 * and unplugs the emulated IDE disks and NICs through it; prints `hvm: platform device at
 * 00:SS.F, unplugged emulated devices`.  NULL, or why not (in why, WHY_SIZE). */
const char *hvm_init(char *why);

#endif
