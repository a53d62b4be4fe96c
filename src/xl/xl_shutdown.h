/* xl shutdown/reboot: whether a domain can be asked through control/shutdown. */
#ifndef XENITH_XL_SHUTDOWN_H
#define XENITH_XL_SHUTDOWN_H

#include <stdbool.h>

/* As libxl__domain_pvcontrol_available: true for PV and PVH domains (type "pv", "pvh") whatever
 * they wrote; an HVM domain ("hvm") needs PV drivers, seen here as control/feature-<request>
 * holding `feature` == "1" (NULL: the node is absent). */
bool xl_pvcontrol_available(const char *type, const char *feature);

#endif
