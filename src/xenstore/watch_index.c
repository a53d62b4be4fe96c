/* The watch index (watch_index.h): chained buckets, doubled when the load passes 2. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenstore/codec.h"
#include "xenstore/watch.h"
#include "xenstore/watch_index.h"

static size_t bucket_of(const struct xs_watch_index *ix, const char *path, size_t len)
{
	return (size_t)xs_fnv1a(path, len) & (ix->n_buckets - 1);
}

static int grow(struct xs_watch_index *ix)
{
	size_t n = ix->n_buckets ? ix->n_buckets * 2 : 64;
	struct xs_watch **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	struct xs_watch_index bigger = { .buckets = b, .n_buckets = n };
	for (size_t i = 0; i < ix->n_buckets; i++) {
		while (ix->buckets[i]) {
			struct xs_watch *w = ix->buckets[i];
			ix->buckets[i] = w->hnext;
			size_t at = bucket_of(&bigger, w->path, w->path_len);
			w->hnext = b[at];
			b[at] = w;
		}
	}
	free(ix->buckets);
	ix->buckets = b;
	ix->n_buckets = n;
	return 0;
}

int watch_index_add(struct xs_watch_index *ix, struct xs_watch *w)
{
	if ((ix->count + 1 > ix->n_buckets * 2) && grow(ix) && !ix->n_buckets)
		return -ENOMEM;    /* a failed growth of a non-empty table only lengthens chains */
	size_t at = bucket_of(ix, w->path, w->path_len);
	w->hnext = ix->buckets[at];
	ix->buckets[at] = w;
	ix->count++;
	return 0;
}

void watch_index_del(struct xs_watch_index *ix, struct xs_watch *w)
{
	if (!ix->n_buckets)
		return;
	for (struct xs_watch **p = &ix->buckets[bucket_of(ix, w->path, w->path_len)]; *p;
	     p = &(*p)->hnext) {
		if (*p == w) {
			*p = w->hnext;
			w->hnext = NULL;
			ix->count--;
			return;
		}
	}
}

void watch_index_free(struct xs_watch_index *ix)
{
	free(ix->buckets);
	*ix = (struct xs_watch_index){ 0 };
}

void watch_index_each(const struct xs_watch_index *ix, const char *path, size_t len,
		      void (*fn)(void *arg, struct xs_watch *w), void *arg)
{
	if (!ix->n_buckets)
		return;
	for (struct xs_watch *w = ix->buckets[bucket_of(ix, path, len)]; w; w = w->hnext)
		if (w->path_len == len && !memcmp(w->path, path, len))
			fn(arg, w);
}
