/* The journal: what changed since the snapshot, one record per commit point, appended to
 * <snapshot>.journal so that a round costs what it changed rather than the whole store
 * (journal.c explains; docs/xenstored.md has the format). */
#ifndef XENITH_XENSTORE_JOURNAL_H
#define XENITH_XENSTORE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "xenstore/xenstored.h"

/* A journal shorter than this never calls for a snapshot, whatever the snapshot's size. */
#define XS_JOURNAL_MIN (256u << 10)
/* The bytes of a snapshot's header that name it (payload length and checksum): the journal's
 * header repeats them, so a journal is only ever applied to the snapshot it follows. */
#define XS_JOURNAL_TIE 16

/* <snapshot>.journal into out; false if it does not fit. */
bool journal_path(char *out, size_t len, const char *snapshot);

struct xs_journal *journal_new(const char *snapshot);
void journal_free(struct xs_journal *j);

/* Should the next commit point write a snapshot rather than a record: none was written yet, the
 * last append failed, or the journal outgrew max(the snapshot's size, XS_JOURNAL_MIN)? */
bool journal_wants_snapshot(const struct xs_journal *j, unsigned long long snapshot_bytes);
/* The snapshot `tie` names was just written with everything in xsd: the journal starts again,
 * empty, tied to it, and the tree's changes are recorded from now on.  0 or -errno (then the
 * next commit point writes a snapshot again). */
int journal_start(struct xs_journal *j, struct xenstored *xsd, const void *tie);
/* The commit point: appends one record of the round's changes (the nodes the tree reported, the
 * domains introduced or released, the rings whose state changed) in one write.  The bytes
 * appended (0: nothing changed), or -errno: the file is cut back to its last whole record and
 * the next commit point writes a snapshot. */
long journal_commit(struct xs_journal *j, struct xenstored *xsd);
/* Records and bytes in the journal now (for logs). */
void journal_stats(const struct xs_journal *j, unsigned long *records, unsigned long long *bytes);

/* What loading a journal found. */
enum journal_outcome {
	JOURNAL_APPLIED,          /* every record applied */
	JOURNAL_UNTIED,           /* no header, or one naming another snapshot: nothing applied */
	JOURNAL_TORN,             /* the last record is cut short or fails its checksum: dropped */
	JOURNAL_CORRUPT,          /* a record before the end fails its checksum: it and all after
				   * it are not applied */
	JOURNAL_CORRUPT_APPLIED,  /* a record passed its checksum but does not fit the store: xsd
				   * holds part of it (load again with max_records = records) */
};
struct journal_load {
	unsigned long records;    /* applied whole */
	size_t offset;            /* where the first record not applied starts */
	char why[256];            /* what was wrong, for the log */
};
/* Applies journal bytes to xsd, just loaded from the snapshot `tie` names, at most max_records
 * records. */
enum journal_outcome journal_replay(struct xenstored *xsd, const void *data, size_t len,
				    const void *tie, unsigned long max_records,
				    struct journal_load *res);

#endif
