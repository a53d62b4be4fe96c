/* The shared-ring transport: a domain's struct xenstore_domain_interface, mapped from its
 * guest-RAM memfd, a kick fd the VMM makes readable when the guest notifies us, and a notify fd we
 * write to when we have consumed requests or produced responses. */
#ifndef XENITH_XENSTORE_RING_H
#define XENITH_XENSTORE_RING_H

#include "xenstore/xenstored.h"

/* Maps the page and registers the kick fd.  Takes the fds (closed on failure, *err set).  A
 * resumed ring (after a restart) keeps the page's error field; a new one has it cleared. */
struct xs_conn *ring_conn_new(struct xenstored *xsd, unsigned int domid, unsigned long mfn,
			      int memfd, int kick_fd, int notify_fd, bool resume, int *err);
/* The kick fd fired (or the ring was just introduced): move bytes both ways. */
void ring_service(struct xenstored *xsd, struct xs_conn *c);
/* The kick fd reported hang-up or error. */
void ring_kick_hangup(struct xenstored *xsd, struct xs_conn *c);
void ring_conn_close(struct xenstored *xsd, struct xs_conn *c);

/* Features we advertise in server_features: the error field; reconnection (connection = 1 from
 * the guest resets the ring, its watches and transactions). */
#define XS_RING_FEATURES (XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR)

#endif
