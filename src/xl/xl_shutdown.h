/* xl shutdown/reboot: whether a domain can be asked through control/shutdown. */
#ifndef XENITH_XL_SHUTDOWN_H
#define XENITH_XL_SHUTDOWN_H

#include <stdbool.h>
#include <stddef.h>

struct xl_ctx;
struct xl_store;
struct xl_dominfo;

/* As libxl__domain_pvcontrol_available: true for PV and PVH domains (type "pv", "pvh") whatever
 * they wrote; an HVM domain ("hvm") needs PV drivers, seen here as control/feature-<request>
 * holding `feature` == "1" (NULL: the node is absent). */
bool xl_pvcontrol_available(const char *type, const char *feature);

/* xenstored for shutdown and reboot, started on demand if none runs.  0, or -1 with xl's message. */
int xl_shutdown_store_open(struct xl_ctx *ctx, struct xl_store *store, char *err, size_t errlen);

/* Writes `request` ("poweroff", "reboot") into domain domid's control/shutdown if it can take one
 * (xl_pvcontrol_available; `what` names it: "shutdown"), with its `info` filled.  Nothing waits
 * for the guest.  0, or with xl's message (the whole line) in err: -2 when the domain has no PV
 * control (an HVM domain without PV drivers: `xl shutdown -F` then presses its ACPI power button),
 * -1 for anything else. */
int xl_pvcontrol_send(struct xl_ctx *ctx, struct xl_store *store, unsigned int domid, const char *name,
		      const char *request, const char *what, struct xl_dominfo *info, char *err,
		      size_t errlen);

#endif
