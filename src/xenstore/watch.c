/* Watches (watch.h).  Events go to connections that may read the changed node (or, when it is
 * gone, its nearest existing ancestor), as Xen approximates it; special events to connections the
 * special node's permissions let read it. */
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "xenstore/conn.h"
#include "xenstore/domain.h"
#include "xenstore/perms.h"
#include "xenstore/transaction.h"
#include "xenstore/watch.h"

static bool may_see(struct xenstored *xsd, const struct xs_conn *c, const char *path)
{
	const struct xs_node *n;

	if (c->privileged)
		return true;
	if (path[0] == '@') {
		n = !strcmp(path, "@introduceDomain") ? xsd->special_intro
		  : !strcmp(path, "@releaseDomain")   ? xsd->special_release : NULL;
		if (!n)
			return false;
	} else {
		n = tree_nearest(&xsd->tree, path);
	}
	return perm_for_conn(c, n->perms, n->n_perms) & XS_PERM_READ;
}

/* The watches a change hits, gathered from the index and sorted into the order of a walk over
 * the connections (newest first) and their watches (newest first). */
struct hits {
	struct xs_watch **w;
	size_t n, cap;
	bool oom;
	struct xs_watch *inline_w[32];
};

static void hit(void *arg, struct xs_watch *w)
{
	struct hits *h = arg;

	if (h->n == h->cap) {
		size_t cap = h->cap * 2;
		struct xs_watch **grown = h->w == h->inline_w ? malloc(cap * sizeof(*grown))
							       : realloc(h->w, cap * sizeof(*grown));
		if (!grown) {
			h->oom = true;
			return;
		}
		if (h->w == h->inline_w)
			memcpy(grown, h->inline_w, sizeof(h->inline_w));
		h->w = grown;
		h->cap = cap;
	}
	h->w[h->n++] = w;
}

static int walk_order(const void *a, const void *b)
{
	const struct xs_watch *x = *(struct xs_watch *const *)a, *y = *(struct xs_watch *const *)b;

	if (x->conn->seq != y->conn->seq)
		return x->conn->seq < y->conn->seq ? 1 : -1;
	return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

void watch_fire(struct xenstored *xsd, struct xs_tx *tx, const char *path, enum watch_match m)
{
	struct hits h = { .cap = 32 };

	if (tx) {
		tx_queue_event(tx, path, m);
		return;
	}
	h.w = h.inline_w;
	size_t len = strlen(path);
	/* Subtree: watches on the path and on each ancestor ("/", "/a", "/a/b" for "/a/b/c").
	 * Special paths have no ancestors. */
	if (m == WATCH_MATCH_SUBTREE && path[0] == '/') {
		watch_index_each(&xsd->watches, "/", 1, hit, &h);
		for (size_t i = 1; i < len; i++)
			if (path[i] == '/')
				watch_index_each(&xsd->watches, path, i, hit, &h);
	}
	if (len > 1 || path[0] != '/' || m == WATCH_MATCH_EXACT)
		watch_index_each(&xsd->watches, path, len, hit, &h);
	if (h.oom)
		LOG("watch events for %s: out of memory, some dropped", path);
	if (h.n > 1)
		qsort(h.w, h.n, sizeof(h.w[0]), walk_order);
	/* Connections' permissions once each: its hits sit together after the sort. */
	for (size_t i = 0; i < h.n;) {
		struct xs_conn *c = h.w[i]->conn;
		bool send = !c->broken && may_see(xsd, c, path);
		for (; i < h.n && h.w[i]->conn == c; i++)
			if (send)
				conn_send_event(xsd, c, path + h.w[i]->strip, h.w[i]->token);
	}
	if (h.w != h.inline_w)
		free(h.w);
}

static void watch_free(struct xs_watch *w)
{
	free(w->path);
	free(w->token);
	free(w);
}

/* Puts w in the index as c's newest watch. */
static int attach(struct xenstored *xsd, struct xs_conn *c, struct xs_watch *w, uint64_t seq)
{
	w->conn = c;
	w->path_len = strlen(w->path);
	w->seq = seq;
	return watch_index_add(&xsd->watches, w);
}

int watch_attach_all(struct xenstored *xsd, struct xs_conn *c)
{
	size_t n = 0;
	int err = 0;

	for (struct xs_watch *w = c->watches; w; w = w->next)
		n++;
	uint64_t seq = xsd->watches.next_seq + n;
	xsd->watches.next_seq += n + 1;
	for (struct xs_watch *w = c->watches; w; w = w->next)
		if (attach(xsd, c, w, seq--))
			err = -ENOMEM;
	return err;
}

void watch_drop_all(struct xenstored *xsd, struct xs_conn *c)
{
	while (c->watches) {
		struct xs_watch *w = c->watches;
		c->watches = w->next;
		watch_index_del(&xsd->watches, w);
		if (c->dom && c->dom->watches)
			c->dom->watches--;
		watch_free(w);
	}
}

int do_watch(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	const char *vec[2];
	char path[XS_PATH_BUF];
	int err;

	if (xs_split(req, vec, 2) != 2)
		return EINVAL;
	err = xs_canonicalize(xsd, c, vec[0], true, path, sizeof(path));
	if (err)
		return err;
	for (struct xs_watch *w = c->watches; w; w = w->next)
		if (!strcmp(w->path, path) && !strcmp(w->token, vec[1]))
			return EEXIST;
	if (c->dom && domain_over(c, c->dom->watches, 1, xsd->quota.watches))
		return ENOSPC;

	struct xs_watch *w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(path)) || !(w->token = strdup(vec[1]))) {
		if (w)
			watch_free(w);
		return ENOMEM;
	}
	if (vec[0][0] != '/' && vec[0][0] != '@')
		w->strip = strlen(path) - strlen(vec[0]);
	if (attach(xsd, c, w, ++xsd->watches.next_seq)) {
		watch_free(w);
		return ENOMEM;
	}
	w->next = c->watches;
	c->watches = w;
	if (c->dom)
		c->dom->watches++;
	err = xs_reply_ok(xsd, c, req);
	/* Fired once straight away, with the path as the watcher gave it. */
	conn_send_event(xsd, c, vec[0], w->token);
	return err;
}

int do_unwatch(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	const char *vec[2];
	char path[XS_PATH_BUF];
	int err;

	if (xs_split(req, vec, 2) != 2)
		return EINVAL;
	err = xs_canonicalize(xsd, c, vec[0], true, path, sizeof(path));
	if (err)
		return err;
	for (struct xs_watch **p = &c->watches; *p; p = &(*p)->next) {
		struct xs_watch *w = *p;
		if (!strcmp(w->path, path) && !strcmp(w->token, vec[1])) {
			*p = w->next;
			watch_index_del(&xsd->watches, w);
			if (c->dom && c->dom->watches)
				c->dom->watches--;
			watch_free(w);
			return xs_reply_ok(xsd, c, req);
		}
	}
	return ENOENT;
}

int do_reset_watches(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	watch_drop_all(xsd, c);
	tx_drop_all(xsd, c);
	return xs_reply_ok(xsd, c, req);
}
