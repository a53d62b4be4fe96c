/* Watches (watch.h).  Events go to connections that may read the changed node (or, when it is
 * gone, its nearest existing ancestor), as Xen approximates it; special events to connections the
 * special node's permissions let read it. */
#include <stdlib.h>
#include <string.h>

#include "xenstore/conn.h"
#include "xenstore/domain.h"
#include "xenstore/perms.h"
#include "xenstore/transaction.h"
#include "xenstore/watch.h"

/* Is `path` at or below `wpath`? */
static bool at_or_below(const char *path, const char *wpath)
{
	size_t n = strlen(wpath);

	if (strncmp(path, wpath, n))
		return false;
	if (path[n] == '\0')
		return true;
	return path[n] == '/' || (n == 1 && wpath[0] == '/');
}

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

void watch_fire(struct xenstored *xsd, struct xs_tx *tx, const char *path, enum watch_match m)
{
	if (tx) {
		tx_queue_event(tx, path, m);
		return;
	}
	for (struct xs_conn *c = xsd->conns; c; c = c->next) {
		if (!c->watches || c->broken || !may_see(xsd, c, path))
			continue;
		for (struct xs_watch *w = c->watches; w; w = w->next) {
			bool hit = m == WATCH_MATCH_EXACT ? !strcmp(path, w->path)
							   : at_or_below(path, w->path);
			if (hit)
				conn_send_event(xsd, c, path + w->strip, w->token);
		}
	}
}

static void watch_free(struct xs_watch *w)
{
	free(w->path);
	free(w->token);
	free(w);
}

void watch_drop_all(struct xenstored *xsd, struct xs_conn *c)
{
	(void)xsd;
	while (c->watches) {
		struct xs_watch *w = c->watches;
		c->watches = w->next;
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
