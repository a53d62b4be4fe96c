/* Xen's virtual-device names and numbers (xen-vbd-interface(7)). */
#ifndef XENITH_VDEV_H
#define XENITH_VDEV_H

#include <stddef.h>

/* The virtual-device number (the vbd's devid) of a name: xvda, xvdb3, hdc, sdb2, d0, d1p2, ...
 * 0, or -1 with why (what is wrong with the name). */
int vdev_to_devid(const char *vdev, unsigned int *devid, char *why, size_t whylen);

#endif
