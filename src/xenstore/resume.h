/* Domains loaded from a snapshot (persist.c) that wait for their VMMs to introduce them again
 * after xenstored restarted (resume.c explains). */
#ifndef XENITH_XENSTORE_RESUME_H
#define XENITH_XENSTORE_RESUME_H

#include "xenstore/xenstored.h"

struct xs_domain;
struct xs_ring_state;

/* d's VMM re-introduced it and c serves its ring now: c takes the ring state d kept (where to
 * read and write, a request half read, output not yet written, the guest's watches, its lost
 * transactions), and every watch fires once. */
void resume_apply(struct xenstored *xsd, struct xs_domain *d, struct xs_conn *c);
/* Drops what d kept while awaiting (its watches leave its quota count).  A no-op otherwise. */
void resume_forget(struct xs_domain *d);
void resume_state_free(struct xs_ring_state *s);

/* After loading: if any domain awaits its VMM, arms the timer that releases those still waiting
 * after xsd->reconnect_ms.  0 or -errno (the domains then wait for RELEASE). */
int resume_arm(struct xenstored *xsd);
/* The timer fired. */
void resume_timer_event(struct xenstored *xsd);
/* Releases every domain still awaiting its VMM, as a VMM's death does (lifeline.c): the ring
 * state goes, @releaseDomain fires, the nodes its toolstack would remove go (orphans.c). */
void resume_expire(struct xenstored *xsd);

#endif
