/* The daemon's state and what every handler uses: replies, payload splitting, paths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/error.h"
#include "xenstore/conn.h"
#include "xenstore/domain.h"
#include "xenstore/journal.h"
#include "xenstore/lifeline.h"
#include "xenstore/resume.h"
#include "xenstore/socket.h"

static void special_free(struct xs_node *n);

static struct xs_node *special_new(const char *name)
{
	struct xs_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strdup(name);
	n->value = calloc(1, 1);
	n->perms = calloc(1, sizeof(*n->perms));
	n->n_perms = 1;
	if (!n->name || !n->value || !n->perms) {
		special_free(n);
		return NULL;
	}
	return n;
}

int xsd_init(struct xenstored *xsd)
{
	static const struct xs_quota defaults = XS_QUOTA_DEFAULTS;

	memset(xsd, 0, sizeof(*xsd));
	xsd->epfd = xsd->signal_fd = xsd->timer_fd = -1;
	xsd->quota = defaults;
	xsd->reconnect_ms = XS_RECONNECT_MS_DEFAULT;
	if (tree_init(&xsd->tree, &xsd->generation))
		return -ENOMEM;
	xsd->tree.owner_changed = domain_owner_changed;
	xsd->tree.owner_arg = xsd;
	domain_owner_changed(xsd, 0, 1);   /* the root */
	if (!tree_create(&xsd->tree, "/tool/xenstored", NULL, NULL, NULL))
		goto nomem;
	/* The special nodes exist for their permissions only: Dom0's, nobody else may watch. */
	xsd->special_intro = special_new("@introduceDomain");
	xsd->special_release = special_new("@releaseDomain");
	if (!xsd->special_intro || !xsd->special_release)
		goto nomem;
	return 0;
nomem:
	xsd_destroy(xsd);
	return -ENOMEM;
}

static void special_free(struct xs_node *n)
{
	if (!n)
		return;
	free(n->perms);
	free(n->name);
	free(n->value);
	free(n);
}

void xsd_destroy(struct xenstored *xsd)
{
	while (xsd->conns)
		conn_close(xsd, xsd->conns);
	conn_reap(xsd);
	watch_index_free(&xsd->watches);
	socket_close_listeners(xsd);
	while (xsd->domains) {
		struct xs_domain *d = xsd->domains;
		xsd->domains = d->next;
		xsd->domain_buckets[d->domid % XS_DOMAIN_BUCKETS] = NULL;
		lifeline_cut(xsd, d);
		resume_forget(d);
		free(d);
	}
	free(xsd->persist.buf);
	xsd->persist.buf = NULL;
	xsd->persist.cap = 0;
	journal_free(xsd->persist.journal);
	xsd->persist.journal = NULL;
	if (xsd->timer_fd >= 0)
		close(xsd->timer_fd);
	xsd->timer_fd = -1;
	tree_free(&xsd->tree);
	special_free(xsd->special_intro);
	special_free(xsd->special_release);
	xsd->special_intro = xsd->special_release = NULL;
}

const char *xs_errno_name(int err)
{
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == err)
			return xsd_errors[i].errstring;
	return "EINVAL";
}

int xs_errno_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (!strcmp(xsd_errors[i].errstring, name))
			return xsd_errors[i].errnum;
	return 0;
}

int xs_reply(struct xenstored *xsd, struct xs_conn *c, const struct xs_request *req,
	     const void *data, unsigned int len)
{
	(void)xsd;
	if (len > XENSTORE_PAYLOAD_MAX)
		return E2BIG;
	if (conn_queue(c, req->hdr.type, req->hdr.req_id, req->hdr.tx_id, data, len))
		return ENOMEM;
	c->dirty = true;
	return 0;
}

int xs_reply_ok(struct xenstored *xsd, struct xs_conn *c, const struct xs_request *req)
{
	return xs_reply(xsd, c, req, "OK", 3);
}

void xs_reply_error(struct xenstored *xsd, struct xs_conn *c, const struct xs_request *req,
		    int err)
{
	(void)xsd;
	const char *name = xs_errno_name(err);

	if (conn_queue(c, XS_ERROR, req->hdr.req_id, req->hdr.tx_id, name, strlen(name) + 1) == 0)
		c->dirty = true;
}

unsigned int xs_split(const struct xs_request *req, const char **vec, unsigned int max)
{
	unsigned int count = 0, off = 0;

	while (off < req->len) {
		const char *nul = memchr(req->body + off, '\0', req->len - off);
		if (!nul)
			break;
		if (count < max)
			vec[count] = req->body + off;
		count++;
		off = (unsigned int)(nul - req->body) + 1;
	}
	return count;
}

const char *xs_onearg(const struct xs_request *req)
{
	if (!req->len || memchr(req->body, '\0', req->len) != req->body + req->len - 1)
		return NULL;
	return req->body;
}

static bool valid_chars(const char *p)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-/_@";

	return p[strspn(p, ok)] == '\0';
}

int xs_canonicalize(struct xenstored *xsd, const struct xs_conn *c, const char *path,
		    bool allow_special, char *out, size_t outlen)
{
	char prefix[32];
	size_t plen = 0;

	if (!path || !*path || !valid_chars(path) || (path[0] == '@' && !allow_special))
		return EINVAL;
	if (path[0] == '@') {
		if (strlen(path) >= outlen)
			return EINVAL;
		strcpy(out, path);
		return 0;
	}
	if (path[0] != '/')
		plen = (size_t)snprintf(prefix, sizeof(prefix), "/local/domain/%u/", c->domid);
	size_t len = strlen(path);
	if (plen + len >= outlen || plen + len > XENSTORE_ABS_PATH_MAX)
		return EINVAL;
	memcpy(out, prefix, plen);
	memcpy(out + plen, path, len + 1);
	len += plen;
	if ((len > 1 && out[len - 1] == '/') || strstr(out, "//"))
		return EINVAL;
	/* The length below a domain's home, limited for unprivileged callers (path-max). */
	if (!c->privileged && xsd->quota.path_max) {
		unsigned int domid;
		int at = 0;
		if (sscanf(out, "/local/domain/%5u/%n", &domid, &at) != 1 || at == 0)
			at = 0;
		if (len - (size_t)at > xsd->quota.path_max)
			return EINVAL;
	}
	return 0;
}
