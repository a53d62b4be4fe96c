/* Watches.  A watch (path, token) on a connection fires a WATCH_EVENT for every change at or
 * below its path: writes, creations, permission changes and removals.  Special paths
 * @introduceDomain and @releaseDomain fire when domains come and go.  Setting a watch fires it
 * once at once.  Events from inside a transaction wait for its commit. */
#ifndef XENITH_XENSTORE_WATCH_H
#define XENITH_XENSTORE_WATCH_H

#include "xenstore/xenstored.h"

struct xs_watch {
	struct xs_watch *next;
	char *path;             /* absolute, or @special */
	char *token;
	size_t strip;           /* bytes of "/local/domain/N/" to strip from events: relative */
	/* In the index (watch_index.h) while on a connection: */
	struct xs_watch *hnext;
	struct xs_conn *conn;
	size_t path_len;
	uint64_t seq;           /* newer watches of a connection have higher ones */
};

enum watch_match {
	WATCH_MATCH_SUBTREE,    /* watches at or above the changed path */
	WATCH_MATCH_EXACT,      /* watches on exactly the changed path (nodes below an RM's root) */
};

/* A change at path, made by conn (NULL: by xenstored itself).  Inside conn's current
 * transaction (`tx`), the event is queued in it instead. */
void watch_fire(struct xenstored *xsd, struct xs_tx *tx, const char *path, enum watch_match m);
void watch_drop_all(struct xenstored *xsd, struct xs_conn *c);
/* Indexes the watches a connection was given whole (a resumed ring's), first in the list as the
 * newest.  0 or -ENOMEM. */
int watch_attach_all(struct xenstored *xsd, struct xs_conn *c);

int do_watch(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);
int do_unwatch(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);
int do_reset_watches(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);

#endif
