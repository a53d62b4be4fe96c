/* What backends get from the domain's xenstore link (xenstore_link.c): the link's client, and
 * watches whose callbacks run on the main thread.  Main thread only: a vCPU thread must never do
 * blocking xenstore I/O. */
#ifndef XENITH_XENSTORE_LINK_H
#define XENITH_XENSTORE_LINK_H

struct domain;
struct xs_client;

#define XENSTORE_LINK_MAX_WATCHES 64

/* `path` is the node that changed (the watched one, or below it). */
typedef void (*xenstore_watch_fn)(void *opaque, const char *path);

/* The link's client for reads, writes and removals (NULL before xenstore_link_connect).  Replies
 * can bring watch events with them; calling this makes the link look for them afterwards. */
struct xs_client *xenstore_link_xs(struct domain *dom);
/* Watches `path` (absolute): fn runs once soon (xenstored fires a new watch at once) and on every
 * change at or below it.  Returns a watch id (> 0) or -errno. */
int xenstore_link_watch(struct domain *dom, const char *path, xenstore_watch_fn fn, void *opaque);
/* From then on fn is not called again for this id, even for events already queued. */
void xenstore_link_unwatch(struct domain *dom, int id);

#endif
