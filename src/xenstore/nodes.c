/* The node requests: READ WRITE MKDIR RM DIRECTORY DIRECTORY_PART GET_PERMS SET_PERMS.
 * Each resolves its path, works on the live tree or its transaction's copy, checks permissions
 * with Xen's hiding rule (perms.h), enforces quotas for unprivileged callers, notes what it used
 * in the transaction, and fires watches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenstore/conn.h"
#include "xenstore/domain.h"
#include "xenstore/nodes.h"
#include "xenstore/perms.h"
#include "xenstore/transaction.h"
#include "xenstore/watch.h"

static struct xs_tree *tree_of(struct xenstored *xsd, const struct xs_request *req)
{
	return req->tx ? &req->tx->tree : &xsd->tree;
}

static void note(const struct xs_request *req, const char *path, const struct xs_node *n,
		 unsigned int how)
{
	if (req->tx)
		tx_note(req->tx, path, n ? n->gen : 0, how);
}

/* The one-path requests: resolve it or fail with EINVAL. */
static int one_path(struct xenstored *xsd, struct xs_conn *c, const struct xs_request *req,
		    bool allow_special, char *path)
{
	const char *arg = xs_onearg(req);

	if (!arg)
		return EINVAL;
	return xs_canonicalize(xsd, c, arg, allow_special, path, XS_PATH_BUF);
}

static struct xs_node *special_node(struct xenstored *xsd, const char *path)
{
	if (!strcmp(path, "@introduceDomain"))
		return xsd->special_intro;
	if (!strcmp(path, "@releaseDomain"))
		return xsd->special_release;
	return NULL;
}

int do_read(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	char path[XS_PATH_BUF];
	int err = one_path(xsd, c, req, false, path);

	if (err)
		return err;
	struct xs_node *n = tree_lookup(tree_of(xsd, req), path);
	err = perm_check(tree_of(xsd, req), c, path, n, XS_PERM_READ);
	if (err == ENOENT)
		note(req, path, NULL, TX_READ);     /* its absence was observed */
	if (err)
		return err;
	note(req, path, n, TX_READ);
	return xs_reply(xsd, c, req, n->value, (unsigned int)n->len);
}

/* Components of path that do not exist yet. */
static unsigned int missing(const struct xs_tree *t, const char *path)
{
	const struct xs_node *n = tree_nearest(t, path);
	char at[XS_PATH_BUF];
	int len = tree_path(n, at, sizeof(at));
	unsigned int count = 0;

	if (len < 0)
		return 0;
	for (const char *p = path + (len == 1 ? 0 : len); *p; p++)
		if (*p == '/')
			count++;
	return count;
}

struct created_ctx {
	const struct xs_request *req;
};

static void on_created(void *arg, struct xs_node *n)
{
	struct created_ctx *cc = arg;
	char path[XS_PATH_BUF];

	if (cc->req->tx && tree_path(n, path, sizeof(path)) >= 0)
		tx_note(cc->req->tx, path, 0, TX_MODIFIED);
}

/* Finds or creates path for WRITE and MKDIR: *created tells which.  An errno on failure. */
static int find_or_create(struct xenstored *xsd, struct xs_conn *c, const struct xs_request *req,
			  const char *path, struct xs_node **out, bool *created)
{
	struct xs_tree *t = tree_of(xsd, req);
	struct xs_node *n = tree_lookup(t, path);
	int err = perm_check(t, c, path, n, XS_PERM_WRITE);

	*created = false;
	if (!err) {
		note(req, path, n, TX_MODIFIED);
		*out = n;
		return 0;
	}
	if (err != ENOENT)
		return err;
	unsigned int add = missing(t, path);
	if (c->dom) {
		unsigned int used = c->dom->nodes;
		if (req->tx)
			used = (unsigned int)((int)used + req->tx->nodes_delta);
		if (domain_over(c, used, add, xsd->quota.nodes))
			return ENOSPC;
	}
	if (req->tx) {
		struct xs_node *parent = tree_nearest(t, path);
		char ppath[XS_PATH_BUF];
		if (tree_path(parent, ppath, sizeof(ppath)) >= 0)
			tx_note(req->tx, ppath, parent->gen, TX_EXISTS);
	}
	uint32_t owner = c->domid;
	struct created_ctx cc = { .req = req };
	n = tree_create(t, path, c->privileged ? NULL : &owner, on_created, &cc);
	if (!n)
		return ENOMEM;
	if (req->tx && !c->privileged)
		req->tx->nodes_delta += (int)add;
	*out = n;
	*created = true;
	return 0;
}

int do_write(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	const char *vec[1];
	char path[XS_PATH_BUF];
	struct xs_node *n;
	bool created;
	int err;

	if (xs_split(req, vec, 1) < 1)
		return EINVAL;
	size_t off = strlen(vec[0]) + 1;
	const char *value = req->body + off;
	size_t len = req->len - off;
	err = xs_canonicalize(xsd, c, vec[0], false, path, sizeof(path));
	if (err)
		return err;
	if (!c->privileged && xsd->quota.node_size && len > xsd->quota.node_size)
		return ENOSPC;
	err = find_or_create(xsd, c, req, path, &n, &created);
	if (err)
		return err;
	if (tree_set_value(tree_of(xsd, req), n, value, len))
		return ENOMEM;
	watch_fire(xsd, req->tx, path, WATCH_MATCH_SUBTREE);
	return xs_reply_ok(xsd, c, req);
}

int do_mkdir(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	char path[XS_PATH_BUF];
	struct xs_node *n;
	bool created;
	int err = one_path(xsd, c, req, false, path);

	if (err)
		return err;
	err = find_or_create(xsd, c, req, path, &n, &created);
	if (err)
		return err;
	if (created)
		watch_fire(xsd, req->tx, path, WATCH_MATCH_SUBTREE);
	return xs_reply_ok(xsd, c, req);
}

struct rm_ctx {
	struct xenstored *xsd;
	const struct xs_request *req;
	const struct xs_conn *conn;
	const struct xs_node *root;
};

/* Each node of a removed subtree, before it goes: watches (the RM's root matches watches above
 * it too, the others only watches on themselves), the transaction's note, quota. */
static void on_removing(void *arg, struct xs_node *n)
{
	struct rm_ctx *rc = arg;
	char path[XS_PATH_BUF];

	if (tree_path(n, path, sizeof(path)) < 0)
		return;
	if (rc->req->tx) {
		tx_note(rc->req->tx, path, n->gen, TX_MODIFIED);
		if (!rc->conn->privileged && n->perms[0].domid == rc->conn->domid)
			rc->req->tx->nodes_delta--;
	}
	watch_fire(rc->xsd, rc->req->tx, path,
		   n == rc->root ? WATCH_MATCH_SUBTREE : WATCH_MATCH_EXACT);
}

int do_rm(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	char path[XS_PATH_BUF];
	int err = one_path(xsd, c, req, false, path);

	if (err)
		return err;
	struct xs_tree *t = tree_of(xsd, req);
	struct xs_node *n = tree_lookup(t, path);
	err = perm_check(t, c, path, n, XS_PERM_WRITE);
	if (err == ENOENT) {
		/* Not there: fine if its parent is. */
		char *slash = strrchr(path, '/');
		if (slash == path)
			slash[1] = '\0';
		else
			*slash = '\0';
		struct xs_node *parent = tree_lookup(t, path);
		if (!parent)
			return ENOENT;
		note(req, path, parent, TX_EXISTS);
		return xs_reply_ok(xsd, c, req);
	}
	if (err)
		return err;
	if (!n->parent)
		return EINVAL;    /* not the root */
	struct rm_ctx rc = { .xsd = xsd, .req = req, .conn = c, .root = n };
	tree_remove(t, n, on_removing, &rc);
	return xs_reply_ok(xsd, c, req);
}

/* The children's names, each followed by a NUL, into buf; returns the length (may exceed len,
 * then buf holds only what fit). */
static size_t children_blob(const struct xs_node *n, char *buf, size_t len)
{
	size_t at = 0;

	for (size_t i = 0; i < n->n_children; i++) {
		size_t l = strlen(n->children[i]->name) + 1;
		if (at + l <= len)
			memcpy(buf + at, n->children[i]->name, l);
		at += l;
	}
	return at;
}

static int readable_node(struct xenstored *xsd, struct xs_conn *c, const struct xs_request *req,
			 const char *arg, char *path, struct xs_node **out)
{
	int err;

	if (!arg)
		return EINVAL;
	err = xs_canonicalize(xsd, c, arg, false, path, XS_PATH_BUF);
	if (err)
		return err;
	struct xs_tree *t = tree_of(xsd, req);
	struct xs_node *n = tree_lookup(t, path);
	err = perm_check(t, c, path, n, XS_PERM_READ);
	if (err)
		return err;
	note(req, path, n, TX_READ);
	*out = n;
	return 0;
}

int do_directory(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	char path[XS_PATH_BUF], blob[XENSTORE_PAYLOAD_MAX];
	struct xs_node *n;
	int err = readable_node(xsd, c, req, xs_onearg(req), path, &n);

	if (err)
		return err;
	size_t len = children_blob(n, blob, sizeof(blob));
	if (len > sizeof(blob))
		return E2BIG;
	return xs_reply(xsd, c, req, blob, (unsigned int)len);
}

/* DIRECTORY_PART <path>|<offset>|: <gencnt>| then as many whole names from byte <offset> of the
 * full list as fit; an extra NUL marks the end of the list. */
int do_directory_part(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	const char *vec[2];
	char path[XS_PATH_BUF], out[XENSTORE_PAYLOAD_MAX];
	struct xs_node *n;
	char *end;

	if (xs_split(req, vec, 2) != 2)
		return EINVAL;
	int err = readable_node(xsd, c, req, vec[0], path, &n);
	if (err)
		return err;
	errno = 0;
	unsigned long off = strtoul(vec[1], &end, 10);
	if (errno || *end || !*vec[1])
		return EINVAL;
	size_t total = children_blob(n, NULL, 0);
	char *all = malloc(total + 1);
	if (!all)
		return ENOMEM;
	children_blob(n, all, total);
	int genlen = snprintf(out, sizeof(out), "%llu", (unsigned long long)n->gen) + 1;
	size_t at = (size_t)genlen, max = sizeof(out) - 1;
	if (off < total && off > 0 && all[off - 1] != '\0')
		off = total;      /* not at a name's start: nothing */
	size_t i = off;
	while (i < total) {
		size_t l = strlen(all + i) + 1;
		if (at + l > max)
			break;
		memcpy(out + at, all + i, l);
		at += l;
		i += l;
	}
	if (i >= total)
		out[at++] = '\0';
	free(all);
	return xs_reply(xsd, c, req, out, (unsigned int)at);
}

static int perms_reply(struct xenstored *xsd, struct xs_conn *c, const struct xs_request *req,
		       const struct xs_node *n)
{
	char out[XENSTORE_PAYLOAD_MAX];
	size_t at = 0;

	for (unsigned int i = 0; i < n->n_perms; i++) {
		char one[16];
		perm_format(&n->perms[i], one, sizeof(one));
		size_t l = strlen(one) + 1;
		if (at + l > sizeof(out))
			return E2BIG;
		memcpy(out + at, one, l);
		at += l;
	}
	return xs_reply(xsd, c, req, out, (unsigned int)at);
}

int do_get_perms(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	char path[XS_PATH_BUF];
	int err = one_path(xsd, c, req, true, path);
	struct xs_node *n;

	if (err)
		return err;
	if (path[0] == '@') {
		n = special_node(xsd, path);
		if (!n)
			return ENOENT;
		if (!(perm_for_conn(c, n->perms, n->n_perms) & XS_PERM_READ))
			return EACCES;
		return perms_reply(xsd, c, req, n);
	}
	err = readable_node(xsd, c, req, xs_onearg(req), path, &n);
	if (err)
		return err;
	return perms_reply(xsd, c, req, n);
}

int do_set_perms(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	const char *vec[1];
	char path[XS_PATH_BUF];
	unsigned int count = xs_split(req, vec, 1);
	int err;

	if (count < 2)
		return EINVAL;
	unsigned int n_perms = count - 1;
	if (!c->privileged && xsd->quota.permissions && n_perms > xsd->quota.permissions)
		return ENOSPC;
	struct xs_perm *perms = calloc(n_perms, sizeof(*perms));
	if (!perms)
		return ENOMEM;
	const char *p = req->body + strlen(vec[0]) + 1;
	for (unsigned int i = 0; i < n_perms; i++, p += strlen(p) + 1) {
		if (perm_parse(p, &perms[i])) {
			free(perms);
			return EINVAL;
		}
	}
	err = xs_canonicalize(xsd, c, vec[0], true, path, sizeof(path));
	if (err)
		goto out;

	struct xs_node *n;
	struct xs_tree *t = tree_of(xsd, req);
	bool special = path[0] == '@';
	if (special) {
		n = special_node(xsd, path);
		err = !n ? ENOENT
		    : (perm_for_conn(c, n->perms, n->n_perms) & XS_PERM_OWNER) ? 0 : EACCES;
	} else {
		n = tree_lookup(t, path);
		err = perm_check(t, c, path, n, XS_PERM_WRITE | XS_PERM_OWNER);
	}
	if (err)
		goto out;
	/* Only the control domain hands a node to another owner. */
	if (!c->privileged && perms[0].domid != n->perms[0].domid) {
		err = EPERM;
		goto out;
	}
	if (special) {
		free(n->perms);
		n->perms = perms;
		n->n_perms = n_perms;
		perms = NULL;
	} else {
		note(req, path, n, TX_MODIFIED);
		if (tree_set_perms(t, n, perms, n_perms)) {
			err = ENOMEM;
			goto out;
		}
	}
	watch_fire(xsd, special ? NULL : req->tx, path, WATCH_MATCH_SUBTREE);
	err = xs_reply_ok(xsd, c, req);
out:
	free(perms);
	return err;
}
