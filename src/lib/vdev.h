/* Xen's virtual-device names and numbers (xen-vbd-interface(7)): the one parser xl (disk specs,
 * block-detach) and the VMM (--disk, vbd-attach) both use, so they take the same names and give
 * them the same numbers. */
#ifndef XENITH_VDEV_H
#define XENITH_VDEV_H

#include <stddef.h>

/* Bytes of the longest name taken; every name of a valid number is shorter ("d1048575p255" is 12,
 * "xvdbgqcv255" 11). */
#define VDEV_NAME_MAX 15

/* The virtual-device number (the vbd's devid) of a name:
 *   xvdX[N], dD[pN]   Xen virtual disk X (a, b, ... z, aa, ...) or D (decimal), partition N:
 *                     (202 << 8) | (disk << 4) | N while disk and N are below 16, else
 *                     (1 << 28) | (disk << 8) | N; disks below 2^20, partitions below 256
 *   sdX[N]            SCSI: (8 << 8) | (disk << 4) | N; sda to sdp, N below 16
 *   hdX[N]            IDE: hda, hdb on major 3, hdc, hdd on 22: (major << 8) | (unit << 6) | N,
 *                     N below 64
 *   a bare number     decimal, 0x hex or 0 octal, taken when it is the number of one of the names
 *                     above (Xen writes any number through; reserved ones would reach the guest)
 * Partition 0 is the whole disk and is written without a number (xvda, not xvda0), as Xen does;
 * numbers have no leading zeros (but d0, d0p0).  0, or -1 with why (what is wrong with the name,
 * for a message "invalid vdev 'NAME': why"); why may be NULL. */
int vdev_to_devid(const char *name, unsigned int *devid, char *why, size_t whylen);

/* The canonical name of a virtual-device number (xvda, xvdq3, sdb2, hdc), as vdev_to_devid reads
 * it back.  0, or -1 when no name has that number (reserved, deprecated, or the extended xvd
 * format for a disk and partition the 202 format holds). */
int vdev_name(unsigned int devid, char *name, size_t len);

#endif
