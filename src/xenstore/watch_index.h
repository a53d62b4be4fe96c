/* The watch index: every connection's watches in one hash table keyed by the watched path, so a
 * change finds its watches by looking up the path and each of its ancestors (a handful of
 * lookups) rather than by walking every connection's list (which at a thousand domains was most
 * of the cost of a write).  Firing keeps the order the walk had: connections newest first, each
 * one's watches newest first; that is what the sequence numbers record. */
#ifndef XENITH_XENSTORE_WATCH_INDEX_H
#define XENITH_XENSTORE_WATCH_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct xs_watch;

struct xs_watch_index {
	struct xs_watch **buckets;
	size_t n_buckets;          /* a power of two, or 0 before the first watch */
	size_t count;
	uint64_t next_seq;
};

/* Adds w (its path, conn and seq set).  0 or -ENOMEM. */
int watch_index_add(struct xs_watch_index *ix, struct xs_watch *w);
/* Removes w if it is there (a watch a test planted on a connection never was). */
void watch_index_del(struct xs_watch_index *ix, struct xs_watch *w);
void watch_index_free(struct xs_watch_index *ix);
/* Calls fn for each watch whose path is exactly path[0..len). */
void watch_index_each(const struct xs_watch_index *ix, const char *path, size_t len,
		      void (*fn)(void *arg, struct xs_watch *w), void *arg);

#endif
