/* The snapshot: xenstored's store and its introduced domains' rings in one file, rewritten at
 * every commit point that changed them, so that a xenstored killed at any moment starts again
 * with everything it had acknowledged (persist.c explains; docs/xenstored.md has the format). */
#ifndef XENITH_XENSTORE_PERSIST_H
#define XENITH_XENSTORE_PERSIST_H

#include <stddef.h>
#include <stdint.h>

#include "xenstore/xenstored.h"

/* Refuse to load more than this (a store this big is far beyond every quota). */
#define XS_SNAPSHOT_MAX (256u << 20)

/* Persistence on, at `path` (the next commit point writes it). */
void persist_enable(struct xenstored *xsd, const char *path);

/* Encodes the store into xsd->persist.buf; the length, or -ENOMEM. */
long persist_encode(struct xenstored *xsd);
/* Loads an encoding into xsd, which must be fresh from xsd_init (no connections).  0, or EINVAL
 * with why set (which record and what is wrong); xsd then holds part of it: the caller starts
 * again from xsd_init. */
int persist_decode(struct xenstored *xsd, const void *data, size_t len, char *why, size_t whylen);

/* Writes the snapshot if something changed since the last write: to a temporary file, then
 * renamed over the old one, so a reader finds the old or the new one whole.  0 or -errno
 * (logged; serving goes on). */
int persist_commit(struct xenstored *xsd);
/* At start: loads xsd->persist.path if it exists.  1 if loaded, 0 if there was none, -1 if it
 * could not be used: then it is kept aside as <path>.bad, the reason logged, and xsd is empty
 * again (quotas and settings kept); -ENOMEM if xsd could not be set up again (unusable). */
int persist_load(struct xenstored *xsd);
/* Removes the snapshot (a clean stop with no domain to come back for). */
void persist_remove(struct xenstored *xsd);

#endif
