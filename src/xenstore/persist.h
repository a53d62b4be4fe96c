/* The snapshot: xenstored's store and its introduced domains' rings in one file, and beside it
 * the journal of what changed since (journal.c), appended at every commit point that changed
 * something, so that a xenstored killed at any moment starts again with everything it had
 * acknowledged (persist.c explains; docs/xenstored.md has the formats). */
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

/* The commit point: appends the round's changes to the journal, or, the first time and when the
 * journal has outgrown the snapshot, writes a fresh snapshot (to a temporary file, then renamed
 * over the old one, so a reader finds the old or the new one whole) and starts the journal
 * again.  0 or -errno (logged; serving goes on, and the next commit point tries a snapshot). */
int persist_commit(struct xenstored *xsd);
/* At start: loads xsd->persist.path if it exists, then its journal's records.  1 if loaded, 0 if
 * there was none, -1 if the snapshot could not be used: then it (and its journal) is kept aside
 * as <path>.bad (<path>.journal.bad), the reason logged, and xsd is empty again (quotas and
 * settings kept); -ENOMEM if xsd could not be set up again (unusable).  A torn last record of
 * the journal is dropped (logged); a damaged one before the end keeps the journal aside as
 * <path>.journal.bad and xsd holds the snapshot and the records before it (still 1). */
int persist_load(struct xenstored *xsd);
/* Removes the snapshot and its journal (a clean stop with no domain to come back for). */
void persist_remove(struct xenstored *xsd);

/* ---- the record pieces the journal shares with the snapshot ---- */
struct xs_enc;
struct xs_dec;
struct xs_domain;

/* A node: str path, str value, u64 generation, u32 n_perms + n_perms x (u32 domid, u8 bits). */
void persist_put_node(struct xs_enc *e, const struct xs_node *n);
/* A domain: u32 domid, u64 ring page, u64 port, i32 VMM pid, then its ring state. */
void persist_put_domain(struct xs_enc *e, const struct xs_domain *d);

/* How a node record meets the tree: the snapshot's root (first), a snapshot's other node (new,
 * under an existing parent), or a journal's change (an existing node takes the record's value,
 * permissions and generation; a new one needs its parent).  The parent's generation is never
 * changed by it. */
enum persist_node_mode { NODE_ROOT, NODE_NEW, NODE_CHANGED };
/* Reads a node record into xsd; generations above `generation` are refused.  false with the
 * reason in d->why. */
bool persist_get_node(struct xs_dec *d, struct xenstored *xsd, enum persist_node_mode mode,
		      uint64_t generation);
/* Reads a domain record: the domain awaits its VMM with that ring state.  With `replace` a
 * state it already had is dropped first (the journal's newer one); without, that is an error. */
bool persist_get_domain(struct xs_dec *d, struct xenstored *xsd, bool replace);
/* A canonical absolute path, as xs_canonicalize lets through. */
bool persist_path_ok(const char *p);

#endif
