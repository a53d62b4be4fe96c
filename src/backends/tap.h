/* TAP devices (/dev/net/tun): Dom0's end of a vif. */
#ifndef XENITH_TAP_H
#define XENITH_TAP_H

#include <stddef.h>

/* Creates TAP `name` (IFF_TAP | IFF_NO_PI, no vnet header), non-blocking, with Xen's Dom0-side
 * MAC fe:ff:ff:ff:ff:ff so a bridge never takes a guest's address.  The device lives while the
 * fd is open.  Returns the fd, or -1 with err. */
int tap_open(const char *name, char *err, size_t errlen);

#endif
