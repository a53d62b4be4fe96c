/* Domains and quotas.  Every domid that owns nodes or connects gets an accounting record; a
 * domain is "introduced" while xenstored serves its ring.  Quota answers follow Xen's xenstored:
 * too many nodes, watches, transactions, permission entries or too big a value is ENOSPC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/error.h"
#include "xenstore/conn.h"
#include "xenstore/domain.h"
#include "xenstore/lifeline.h"
#include "xenstore/resume.h"
#include "xenstore/ring.h"
#include "xenstore/watch.h"

const struct xs_quota_desc xs_quota_table[] = {
	{ "nodes", offsetof(struct xs_quota, nodes), "nodes a domain may own" },
	{ "watches", offsetof(struct xs_quota, watches), "watches a domain may hold" },
	{ "transactions", offsetof(struct xs_quota, transactions),
	  "transactions a domain may have open" },
	{ "node-size", offsetof(struct xs_quota, node_size), "bytes in one node's value" },
	{ "permissions", offsetof(struct xs_quota, permissions),
	  "entries in one node's permission list" },
	{ "path-max", offsetof(struct xs_quota, path_max),
	  "bytes of a path below /local/domain/<domid>/" },
	{ "queued-bytes", offsetof(struct xs_quota, queued_bytes),
	  "bytes queued to a connection before it is paused (Xenith)" },
};
const size_t xs_quota_table_len = sizeof(xs_quota_table) / sizeof(xs_quota_table[0]);

unsigned int xs_quota_get(const struct xs_quota *q, const struct xs_quota_desc *d)
{
	return *(const unsigned int *)((const char *)q + d->offset);
}

int xs_quota_set(struct xs_quota *q, const char *name, unsigned long value)
{
	for (size_t i = 0; i < xs_quota_table_len; i++) {
		if (!strcmp(xs_quota_table[i].name, name)) {
			if (value > UINT_MAX)
				return -ERANGE;
			*(unsigned int *)((char *)q + xs_quota_table[i].offset) = (unsigned int)value;
			return 0;
		}
	}
	return -ENOENT;
}

struct xs_domain *domain_get(struct xenstored *xsd, unsigned int domid, bool create)
{
	struct xs_domain *d, **bucket = &xsd->domain_buckets[domid % XS_DOMAIN_BUCKETS];

	for (d = *bucket; d; d = d->hnext)
		if (d->domid == domid)
			return d;
	if (!create)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->domid = domid;
	d->pidfd = -1;
	d->next = xsd->domains;
	xsd->domains = d;
	d->hnext = *bucket;
	*bucket = d;
	return d;
}

void domain_owner_changed(void *arg, uint32_t domid, int delta)
{
	struct xs_domain *d = domain_get(arg, domid, true);

	if (!d)
		return;
	if (delta < 0 && d->nodes < (unsigned int)-delta)
		d->nodes = 0;
	else
		d->nodes += (unsigned int)delta;
}

bool domain_over(const struct xs_conn *c, unsigned int used, unsigned int add, unsigned int limit)
{
	if (c->privileged || !limit)
		return false;
	return (unsigned long long)used + add > limit;
}

int domain_parse_id(const char *s, unsigned int *domid)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 65535)
		return EINVAL;
	*domid = (unsigned int)v;
	return 0;
}

static void fire_special(struct xenstored *xsd, const char *name)
{
	watch_fire(xsd, NULL, name, WATCH_MATCH_SUBTREE);
}

int domain_introduce(struct xenstored *xsd, unsigned int domid, unsigned long mfn,
		     unsigned long port, int memfd, int kick_fd, int notify_fd)
{
	struct xs_domain *d = domain_get(xsd, domid, true);
	int err = 0;

	if (!d)
		err = ENOMEM;
	else if (d->ring)
		err = EEXIST;
	if (err) {
		close(memfd);
		close(kick_fd);
		close(notify_fd);
		return err;
	}
	bool resuming = d->awaiting != NULL;
	struct xs_conn *c = ring_conn_new(xsd, domid, mfn, memfd, kick_fd, notify_fd, resuming, &err);
	if (!c)
		return err;
	d->ring = c;
	d->mfn = mfn;
	d->port = port;
	xsd->persist.dirty = true;
	if (resuming) {
		/* Back after a restart: no @introduceDomain, the domain never went away. */
		LOG("domain %u re-introduced by its VMM (ring page %lu, port %lu): resuming its ring",
		    domid, mfn, port);
		resume_apply(xsd, d, c);
	} else {
		LOG("domain %u introduced (ring page %lu, port %lu)", domid, mfn, port);
		fire_special(xsd, "@introduceDomain");
	}
	/* The guest may have queued requests before we looked. */
	ring_service(xsd, c);
	return 0;
}

static void release(struct xenstored *xsd, struct xs_domain *d)
{
	struct xs_conn *c = d->ring;

	d->ring = NULL;
	LOG("domain %u released", d->domid);
	resume_forget(d);
	lifeline_cut(xsd, d);
	if (c)
		ring_conn_close(xsd, c);
	xsd->persist.dirty = true;
	fire_special(xsd, "@releaseDomain");
}

bool domain_introduced(const struct xs_domain *d)
{
	return d && (d->ring || d->awaiting);
}

int domain_release(struct xenstored *xsd, unsigned int domid)
{
	struct xs_domain *d = domain_get(xsd, domid, false);

	if (!domain_introduced(d))
		return ENOENT;
	release(xsd, d);
	return 0;
}

void domain_conn_gone(struct xenstored *xsd, struct xs_conn *c)
{
	struct xs_domain *d = domain_get(xsd, c->domid, false);

	if (d && d->ring == c)
		release(xsd, d);
}

/* INTRODUCE <domid>|<mfn>|<port>|, with the guest-RAM memfd, kick and notify eventfds attached.
 * <mfn> is the ring page's index into the memfd; Xen spells it in signed decimal.  The sender is
 * the domain's VMM: while it lives the domain stays introduced (lifeline.c). */
int do_introduce(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	const char *vec[3];
	unsigned int domid;
	char *end;
	long long mfn, port;

	if (xs_split(req, vec, 3) < 3 || domain_parse_id(vec[0], &domid) || domid == 0)
		return EINVAL;
	errno = 0;
	mfn = strtoll(vec[1], &end, 10);
	if (errno || *end || !*vec[1] || mfn < 0)
		return EINVAL;
	port = strtoll(vec[2], &end, 10);
	if (errno || *end || !*vec[2] || port < 0)
		return EINVAL;
	if (c->n_fds < 3) {
		LOG("%s: INTRODUCE of domain %u without the memfd, kick and notify fds", c->label,
		    domid);
		return EINVAL;
	}
	pid_t vmm;
	int pidfd = lifeline_open(c, &vmm);
	if (pidfd == -ESRCH) {
		LOG("%s: INTRODUCE of domain %u from a process already gone: refused", c->label, domid);
		return EINVAL;   /* the fds go with the request */
	}
	if (pidfd < 0 && c->ops->peer_socket)
		LOG("%s: domain %u: cannot watch its VMM (pid %d): %s; it goes only with RELEASE",
		    c->label, domid, (int)vmm, strerror(-pidfd));
	int memfd = conn_take_fd(c), kick = conn_take_fd(c), notify = conn_take_fd(c);
	int err = domain_introduce(xsd, domid, (unsigned long)mfn, (unsigned long)port, memfd, kick,
				   notify);
	if (err) {
		if (pidfd >= 0)
			close(pidfd);
		return err;
	}
	if (pidfd >= 0)
		lifeline_attach(xsd, domain_get(xsd, domid, false), pidfd, vmm);
	return xs_reply_ok(xsd, c, req);
}

int do_release(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	unsigned int domid;

	if (domain_parse_id(xs_onearg(req), &domid) || domid == 0)
		return EINVAL;
	int err = domain_release(xsd, domid);
	return err ? err : xs_reply_ok(xsd, c, req);
}

int do_resume(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	unsigned int domid;

	if (domain_parse_id(xs_onearg(req), &domid))
		return EINVAL;
	if (!domain_introduced(domain_get(xsd, domid, false)))
		return ENOENT;
	return xs_reply_ok(xsd, c, req);
}

int do_get_domain_path(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	unsigned int domid;
	char path[40];

	if (domain_parse_id(xs_onearg(req), &domid))
		return EINVAL;
	int n = snprintf(path, sizeof(path), "/local/domain/%u", domid);
	return xs_reply(xsd, c, req, path, (unsigned int)n + 1);
}

int do_is_domain_introduced(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	unsigned int domid;

	if (domain_parse_id(xs_onearg(req), &domid))
		return EINVAL;
	struct xs_domain *d = domain_get(xsd, domid, false);
	bool yes = domid == 0 || domain_introduced(d);
	return xs_reply(xsd, c, req, yes ? "T" : "F", 2);
}
