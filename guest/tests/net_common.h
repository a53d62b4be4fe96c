/* What the net-* tests share: bringing eth<N> up (netfront + the stack), watching the backends (a
 * Closing one is closed and taken down) and, if asked, device/vif for hot-plugged vifs, which come
 * up as eth<devid>; a transmit that waits for a free slot; sleeping on every port at once. */
#ifndef GUEST_TESTS_NET_COMMON_H
#define GUEST_TESTS_NET_COMMON_H

#include <stdint.h>
#include "net/net.h"

/* netfront_init(vif=N, timeout=S) and net_add; needs an ip node unless need_ip is 0.  Prints
 * `net: ethN mac M ip A/P up`.  The interface, or NULL with why filled in. */
struct net_if *net_up(const char *cmdline, int need_ip, char *why);
/* Bring up every vif that appears later in device/vif (its state Initialising). */
void net_hotplug(void);
/* Processes everything received and every tx answer, on every device. */
void net_service(void);
/* Sleeps until something arrives on a device (or a store event) or deadline_ns; then services. */
void net_sleep(uint64_t deadline_ns);
/* The netfronts' notifications sent, events seen and frames (rx + tx) so far, all devices. */
void net_counts(uint64_t *notifies, uint64_t *events, uint64_t *frames);
/* `WHO: notifies N events E packets P per-packet N/P E/P` (3 decimals) since the counts given. */
void net_print_counts(const char *who, uint64_t notifies0, uint64_t events0, uint64_t frames0);
/* Devices up. */
int net_devices_up(void);

#endif
