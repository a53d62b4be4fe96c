/* The snapshot (persist.h).  Why persist the store rather than rebuild it from the VMMs after a
 * restart: most of what matters was written by guests (their frontend nodes, device state,
 * control/ answers) and by Dom0 tools, and exists nowhere but here; a VMM knows only the nodes it
 * wrote itself.
 *
 * When: xenstored works in rounds (loop.c): it serves what epoll reported, then reaches a commit
 * point where, if anything the snapshot holds changed, it writes the snapshot, and only then
 * sends the round's replies and watch events and publishes the rings' req_cons (ring.c).  So
 * whatever a client saw acknowledged is in the file, and a request whose effect is not in the
 * file is one its sender never saw answered (a ring's is read again, resume.c; a socket client's
 * connection dies with the process and the client retries on a new one).  A round serves many
 * requests, so one write covers them all under load.
 *
 * How: the whole store, encoded into one buffer and written to <path>.tmp, then renamed over
 * <path>.  No fsync: the run directory is in RAM and the point is a process's death, not the
 * host's.  Format (host byte order; it never leaves the host), all lengths checked on load:
 *
 *   header   "XNTHXS01", u64 payload length, u64 FNV-1a of the payload
 *   payload  u64 generation
 *            u32 nodes, each: str path, str value, u64 generation, u32 n_perms,
 *                             n_perms x (u32 domid, u8 r/w bits); parents before children
 *            u32 domains, each: u32 domid, u64 ring page, u64 port, i32 VMM pid, then the ring:
 *                             u32 req_cons, u32 rsp_prod, u32 next tx id, u32 n + n x u32 open
 *                             transaction ids, u8 in_body, u32 header bytes, 16-byte header,
 *                             str body so far, str output not yet written,
 *                             u32 n + n x (str path, str token, u32 strip) watches
 *   str = u32 length + bytes
 *
 * What is not kept: Dom0 socket clients' watches and transactions (their connections die with
 * the process: they reconnect and watch again), CONTROL settings (quotas come from the command
 * line), unprivileged sockets (CONTROL unpriv-socket asks again). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "xenstore/conn.h"
#include "xenstore/domain.h"
#include "xenstore/persist.h"
#include "xenstore/resume.h"
#include "xenstore/transaction.h"
#include "xenstore/watch.h"

#define MAGIC "XNTHXS01"
#define HEADER_LEN 24
#define MAX_TX_IDS 4096
#define MAX_WATCHES 65536
#define MAX_OUTPUT (16u << 20)

static uint64_t fnv1a(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

void persist_enable(struct xenstored *xsd, const char *path)
{
	snprintf(xsd->persist.path, sizeof(xsd->persist.path), "%s", path);
	xsd->persist.enabled = true;
	xsd->persist.dirty = true;
}

/* ---- encoding ---- */

struct enc {
	struct xs_persist *p;
	size_t len;
	bool oom;
};

static void put(struct enc *e, const void *data, size_t n)
{
	if (e->oom || !n)
		return;
	if (e->len + n > e->p->cap) {
		size_t cap = e->p->cap ? e->p->cap : 64 * 1024;
		while (cap < e->len + n)
			cap *= 2;
		char *grown = realloc(e->p->buf, cap);
		if (!grown) {
			e->oom = true;
			return;
		}
		e->p->buf = grown;
		e->p->cap = cap;
	}
	memcpy(e->p->buf + e->len, data, n);
	e->len += n;
}

static void put_u8(struct enc *e, uint8_t v) { put(e, &v, sizeof(v)); }
static void put_u32(struct enc *e, uint32_t v) { put(e, &v, sizeof(v)); }
static void put_u64(struct enc *e, uint64_t v) { put(e, &v, sizeof(v)); }

static void put_str(struct enc *e, const void *s, size_t len)
{
	put_u32(e, (uint32_t)len);
	put(e, s, len);
}

static int put_node(void *arg, struct xs_node *n)
{
	struct enc *e = arg;
	char path[XS_PATH_BUF];
	int plen = tree_path(n, path, sizeof(path));

	if (plen < 0) {
		e->oom = true;      /* cannot happen: paths are checked when made */
		return -1;
	}
	put_str(e, path, (size_t)plen);
	put_str(e, n->value, n->len);
	put_u64(e, n->gen);
	put_u32(e, n->n_perms);
	for (unsigned int i = 0; i < n->n_perms; i++) {
		put_u32(e, n->perms[i].domid);
		put_u8(e, n->perms[i].perms);
	}
	return 0;
}

static void put_watches(struct enc *e, const struct xs_watch *watches)
{
	uint32_t n = 0;

	for (const struct xs_watch *w = watches; w; w = w->next)
		n++;
	put_u32(e, n);
	for (const struct xs_watch *w = watches; w; w = w->next) {
		put_str(e, w->path, strlen(w->path));
		put_str(e, w->token, strlen(w->token));
		put_u32(e, (uint32_t)w->strip);
	}
}

/* A live ring: its state is the connection's. */
static void put_ring_conn(struct enc *e, const struct xs_conn *c)
{
	const volatile struct xenstore_domain_interface *r = c->ring;
	uint32_t n_tx = c->n_lost_tx;

	put_u32(e, c->ring_cons);
	put_u32(e, __atomic_load_n(&r->rsp_prod, __ATOMIC_ACQUIRE));
	put_u32(e, c->next_tx_id);
	for (const struct xs_tx *t = c->txs; t; t = t->next)
		n_tx++;
	put_u32(e, n_tx);
	for (const struct xs_tx *t = c->txs; t; t = t->next)
		put_u32(e, t->id);
	for (unsigned int i = 0; i < c->n_lost_tx; i++)
		put_u32(e, c->lost_tx[i]);
	put_u8(e, c->in_body);
	put_u32(e, c->hdr_got);
	put(e, &c->hdr, sizeof(c->hdr));
	put_str(e, c->body, c->in_body ? c->body_got : 0);
	put_str(e, c->out + c->out_off, c->out_len - c->out_off);
	put_watches(e, c->watches);
}

/* A domain still awaiting its VMM: the state it was loaded with. */
static void put_ring_kept(struct enc *e, const struct xs_ring_state *s)
{
	put_u32(e, s->req_cons);
	put_u32(e, s->rsp_prod);
	put_u32(e, s->next_tx_id);
	put_u32(e, s->n_tx_ids);
	for (unsigned int i = 0; i < s->n_tx_ids; i++)
		put_u32(e, s->tx_ids[i]);
	put_u8(e, s->in_body);
	put_u32(e, s->hdr_got);
	put(e, &s->hdr, sizeof(s->hdr));
	put_str(e, s->body, s->body_got);
	put_str(e, s->out, s->out_len);
	put_watches(e, s->watches);
}

static int by_domid(const void *a, const void *b)
{
	const struct xs_domain *x = *(struct xs_domain *const *)a, *y = *(struct xs_domain *const *)b;

	return (x->domid > y->domid) - (x->domid < y->domid);
}

long persist_encode(struct xenstored *xsd)
{
	struct enc e = { .p = &xsd->persist };
	uint32_t n_domains = 0;
	uint64_t zero = 0;

	put(&e, MAGIC, 8);
	put_u64(&e, zero);
	put_u64(&e, zero);
	put_u64(&e, xsd->generation);
	put_u32(&e, (uint32_t)tree_count(xsd->tree.root));
	tree_walk(xsd->tree.root, put_node, &e);
	for (struct xs_domain *d = xsd->domains; d; d = d->next)
		n_domains += domain_introduced(d);
	/* In domid order, so that the same store always encodes the same. */
	struct xs_domain **sorted = malloc((n_domains ? n_domains : 1) * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	n_domains = 0;
	for (struct xs_domain *d = xsd->domains; d; d = d->next)
		if (domain_introduced(d))
			sorted[n_domains++] = d;
	qsort(sorted, n_domains, sizeof(*sorted), by_domid);
	put_u32(&e, n_domains);
	for (uint32_t i = 0; i < n_domains; i++) {
		struct xs_domain *d = sorted[i];
		put_u32(&e, d->domid);
		put_u64(&e, d->mfn);
		put_u64(&e, d->port);
		put_u32(&e, (uint32_t)d->introducer);
		if (d->ring)
			put_ring_conn(&e, d->ring);
		else
			put_ring_kept(&e, d->awaiting);
	}
	free(sorted);
	if (e.oom)
		return -ENOMEM;
	uint64_t payload = e.len - HEADER_LEN;
	uint64_t sum = fnv1a((const uint8_t *)e.p->buf + HEADER_LEN, payload);
	memcpy(e.p->buf + 8, &payload, 8);
	memcpy(e.p->buf + 16, &sum, 8);
	return (long)e.len;
}

/* ---- decoding: every length checked against what is left ---- */

struct dec {
	const uint8_t *p;
	size_t left;
	char *why;
	size_t whylen;
	bool bad;
};

static bool fail(struct dec *d, const char *fmt, const char *what)
{
	if (!d->bad)
		ERR_SET(d->why, d->whylen, fmt, what);
	d->bad = true;
	return false;
}

static bool get(struct dec *d, void *out, size_t n, const char *what)
{
	if (d->bad)
		return false;
	if (n > d->left)
		return fail(d, "truncated in %s", what);
	memcpy(out, d->p, n);
	d->p += n;
	d->left -= n;
	return true;
}

static bool get_u8(struct dec *d, uint8_t *v, const char *what) { return get(d, v, 1, what); }
static bool get_u32(struct dec *d, uint32_t *v, const char *what) { return get(d, v, 4, what); }
static bool get_u64(struct dec *d, uint64_t *v, const char *what) { return get(d, v, 8, what); }

/* A string of at most max bytes, pointing into the input (not NUL-terminated). */
static bool get_str(struct dec *d, const char **s, uint32_t *len, uint32_t max, const char *what)
{
	if (!get_u32(d, len, what))
		return false;
	if (*len > max)
		return fail(d, "%s too long", what);
	if (*len > d->left)
		return fail(d, "truncated in %s", what);
	*s = (const char *)d->p;
	d->p += *len;
	d->left -= *len;
	return true;
}

/* A copy as a C string; no NUL may be inside. */
static char *get_cstr(struct dec *d, uint32_t max, const char *what)
{
	const char *s;
	uint32_t len;

	if (!get_str(d, &s, &len, max, what))
		return NULL;
	if (memchr(s, '\0', len)) {
		fail(d, "a NUL inside %s", what);
		return NULL;
	}
	char *copy = strndup(s, len);
	if (!copy)
		fail(d, "out of memory for %s", what);
	return copy;
}

/* Canonical absolute path, as xs_canonicalize would have let through. */
static bool path_ok(const char *p)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-/_@";
	size_t len = strlen(p);

	if (p[0] != '/' || p[strspn(p, ok)] || strstr(p, "//") || len > XENSTORE_ABS_PATH_MAX)
		return false;
	return len == 1 || p[len - 1] != '/';
}

static bool get_perms(struct dec *d, struct xs_perm **perms, uint32_t *n)
{
	if (!get_u32(d, n, "a permission count"))
		return false;
	if (*n < 1 || *n > XENSTORE_PAYLOAD_MAX / 2 || (size_t)*n * 5 > d->left)
		return fail(d, "%s out of range", "a permission count");
	*perms = malloc(*n * sizeof(**perms));
	if (!*perms)
		return fail(d, "out of memory for %s", "permissions");
	for (uint32_t i = 0; i < *n; i++) {
		uint32_t domid;
		uint8_t bits;
		get_u32(d, &domid, "a permission");
		get_u8(d, &bits, "a permission");
		if (!d->bad && (domid > 65535 || bits > (XS_PERM_READ | XS_PERM_WRITE)))
			fail(d, "%s out of range", "a permission");
		(*perms)[i] = (struct xs_perm){ .domid = domid, .perms = bits };
	}
	if (d->bad) {
		free(*perms);
		*perms = NULL;
	}
	return !d->bad;
}

static bool get_node(struct dec *d, struct xenstored *xsd, uint32_t index, uint64_t generation)
{
	const char *value;
	uint32_t vlen, n_perms;
	uint64_t gen;
	struct xs_perm *perms = NULL;
	char *path = get_cstr(d, XENSTORE_ABS_PATH_MAX, "a node's path");

	if (!path)
		return false;
	if (!path_ok(path) || (index == 0) != !strcmp(path, "/")) {
		free(path);
		return fail(d, "%s is not a canonical path (or the root is not first)", "a node");
	}
	if (!get_str(d, &value, &vlen, XENSTORE_PAYLOAD_MAX, "a node's value") ||
	    !get_u64(d, &gen, "a node's generation") || !get_perms(d, &perms, &n_perms)) {
		free(path);
		return false;
	}
	struct xs_node *n = xsd->tree.root;
	if (index) {
		char *slash = strrchr(path, '/');
		*slash = '\0';
		struct xs_node *parent = tree_lookup(&xsd->tree, *path ? path : "/");
		*slash = '/';
		if (!parent || tree_lookup(&xsd->tree, path)) {
			free(path);
			free(perms);
			return fail(d, "%s: its parent is missing or it came twice", "a node");
		}
		uint64_t parent_gen = parent->gen;
		n = tree_create(&xsd->tree, path, NULL, NULL, NULL);
		parent->gen = parent_gen;     /* as saved, not bumped by this load */
	}
	free(path);
	if (!n || tree_set_value(&xsd->tree, n, value, vlen) ||
	    tree_set_perms(&xsd->tree, n, perms, n_perms)) {
		free(perms);
		return fail(d, "out of memory for %s", "a node");
	}
	free(perms);
	if (gen > generation)
		return fail(d, "%s newer than the store", "a node's generation");
	n->gen = gen;
	return true;
}

static bool get_watches(struct dec *d, struct xs_ring_state *s)
{
	uint32_t n;

	if (!get_u32(d, &n, "a watch count"))
		return false;
	if (n > MAX_WATCHES || (size_t)n * 12 > d->left)
		return fail(d, "%s out of range", "a watch count");
	struct xs_watch **tail = &s->watches;
	for (uint32_t i = 0; i < n; i++) {
		struct xs_watch *w = calloc(1, sizeof(*w));
		if (!w)
			return fail(d, "out of memory for %s", "a watch");
		*tail = w;
		tail = &w->next;
		uint32_t strip;
		w->path = get_cstr(d, XENSTORE_ABS_PATH_MAX, "a watch's path");
		w->token = w->path ? get_cstr(d, XENSTORE_PAYLOAD_MAX, "a watch's token") : NULL;
		if (!w->token || !get_u32(d, &strip, "a watch"))
			return false;
		if ((w->path[0] != '@' && !path_ok(w->path)) || strip > strlen(w->path) ||
		    (strip && w->path[strip] == '\0'))
			return fail(d, "%s out of range", "a watch's path");
		w->strip = strip;
	}
	return true;
}

static bool get_ring(struct dec *d, struct xs_ring_state *s)
{
	const char *body, *out;
	uint32_t body_len, out_len;
	uint8_t in_body;

	if (!get_u32(d, &s->req_cons, "a ring") || !get_u32(d, &s->rsp_prod, "a ring") ||
	    !get_u32(d, &s->next_tx_id, "a ring") || !get_u32(d, &s->n_tx_ids, "a ring"))
		return false;
	if (s->n_tx_ids > MAX_TX_IDS || (size_t)s->n_tx_ids * 4 > d->left)
		return fail(d, "%s out of range", "a transaction count");
	if (s->n_tx_ids) {
		s->tx_ids = malloc(s->n_tx_ids * sizeof(*s->tx_ids));
		if (!s->tx_ids)
			return fail(d, "out of memory for %s", "transactions");
		for (uint32_t i = 0; i < s->n_tx_ids; i++)
			get_u32(d, &s->tx_ids[i], "a transaction id");
	}
	if (!get_u8(d, &in_body, "a ring") || !get_u32(d, &s->hdr_got, "a ring") ||
	    !get(d, &s->hdr, sizeof(s->hdr), "a ring") ||
	    !get_str(d, &body, &body_len, XENSTORE_PAYLOAD_MAX, "a request half read") ||
	    !get_str(d, &out, &out_len, MAX_OUTPUT, "a ring's output"))
		return false;
	s->in_body = in_body;
	s->body_got = body_len;
	/* As conn.c leaves it: a header being read, or a whole header and part of its body. */
	if (in_body > 1 || s->hdr_got > sizeof(s->hdr) ||
	    (in_body && (s->hdr_got != sizeof(s->hdr) || s->hdr.len > XENSTORE_PAYLOAD_MAX ||
			 body_len > s->hdr.len)) ||
	    (!in_body && body_len))
		return fail(d, "%s out of range", "a request half read");
	if ((body_len && !(s->body = malloc(body_len))) || (out_len && !(s->out = malloc(out_len))))
		return fail(d, "out of memory for %s", "a ring");
	if (body_len)
		memcpy(s->body, body, body_len);
	if (out_len)
		memcpy(s->out, out, out_len);
	s->out_len = out_len;
	return get_watches(d, s);
}

static bool get_domain(struct dec *d, struct xenstored *xsd)
{
	uint32_t domid, pid;
	uint64_t mfn, port;

	if (!get_u32(d, &domid, "a domain") || !get_u64(d, &mfn, "a domain") ||
	    !get_u64(d, &port, "a domain") || !get_u32(d, &pid, "a domain"))
		return false;
	if (domid == 0 || domid > 65535 || mfn >= (1ull << 52) || port >= (1u << 20) ||
	    (int32_t)pid < 0)
		return fail(d, "%s out of range", "a domain");
	struct xs_domain *dom = domain_get(xsd, domid, true);
	if (!dom)
		return fail(d, "out of memory for %s", "a domain");
	if (dom->awaiting)
		return fail(d, "%s came twice", "a domain");
	struct xs_ring_state *s = calloc(1, sizeof(*s));
	if (!s)
		return fail(d, "out of memory for %s", "a domain");
	dom->awaiting = s;     /* freed with the domain whatever happens next */
	dom->mfn = mfn;
	dom->port = port;
	dom->introducer = (pid_t)pid;
	if (!get_ring(d, s))
		return false;
	for (struct xs_watch *w = s->watches; w; w = w->next)
		dom->watches++;
	return true;
}

int persist_decode(struct xenstored *xsd, const void *data, size_t len, char *why, size_t whylen)
{
	struct dec d = { .p = data, .left = len, .why = why, .whylen = whylen };
	uint64_t payload, sum, generation;
	uint32_t n_nodes, n_domains;
	char magic[8];

	if (!get(&d, magic, 8, "the header") || memcmp(magic, MAGIC, 8))
		return fail(&d, "%s: not a Xenith xenstored snapshot (or another version)", "header"),
		       EINVAL;
	if (!get_u64(&d, &payload, "the header") || !get_u64(&d, &sum, "the header"))
		return EINVAL;
	if (payload != d.left)
		return fail(&d, "%s: its length disagrees with the file's (truncated?)", "header"),
		       EINVAL;
	if (fnv1a(d.p, d.left) != sum)
		return fail(&d, "%s: checksum mismatch (corrupt)", "payload"), EINVAL;
	if (!get_u64(&d, &generation, "the generation") || !get_u32(&d, &n_nodes, "the node count"))
		return EINVAL;
	/* Each node takes at least 25 bytes. */
	if (n_nodes == 0 || (size_t)n_nodes > d.left / 25 + 1)
		return fail(&d, "%s out of range", "the node count"), EINVAL;
	/* The snapshot has the whole tree, /tool/xenstored included. */
	while (xsd->tree.root->n_children)
		tree_remove(&xsd->tree, xsd->tree.root->children[0], NULL, NULL);
	for (uint32_t i = 0; i < n_nodes; i++)
		if (!get_node(&d, xsd, i, generation))
			return EINVAL;
	if (!get_u32(&d, &n_domains, "the domain count"))
		return EINVAL;
	if (n_domains > 65535)
		return fail(&d, "%s out of range", "the domain count"), EINVAL;
	for (uint32_t i = 0; i < n_domains; i++)
		if (!get_domain(&d, xsd))
			return EINVAL;
	if (d.left)
		return fail(&d, "%s: bytes after the last record", "payload"), EINVAL;
	/* Every node's is at most this (checked): the counter goes on from where it was. */
	xsd->generation = generation;
	return 0;
}

/* ---- the file ---- */

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int persist_commit(struct xenstored *xsd)
{
	struct xs_persist *p = &xsd->persist;
	char tmp[PATH_MAX + 8];
	long long start = now_ns();
	int r;

	if (!p->enabled || !p->dirty)
		return 0;
	long len = persist_encode(xsd);
	snprintf(tmp, sizeof(tmp), "%s.tmp", p->path);
	if (len < 0) {
		r = (int)len;
	} else {
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0) {
			r = -errno;
		} else {
			r = write_all(fd, p->buf, (size_t)len);
			if (close(fd) < 0 && !r)
				r = -errno;
			if (!r && rename(tmp, p->path) < 0)
				r = -errno;
		}
	}
	if (r) {
		/* Serving goes on: a full /run must not stop the store, but it is said. */
		if (p->failures++ % 1000 == 0)
			LOG("writing the snapshot %s: %s (%lu failures so far); a restart would lose "
			    "changes since the last one", p->path, strerror(-r), p->failures);
		return r;
	}
	p->dirty = false;
	p->writes++;
	p->bytes = (unsigned long long)len;
	p->ns = (unsigned long long)(now_ns() - start);
	return 0;
}

static void keep_aside(const char *path, const char *why)
{
	char bad[PATH_MAX + 8];

	snprintf(bad, sizeof(bad), "%s.bad", path);
	if (rename(path, bad) < 0)
		LOG("snapshot %s unusable (%s), and moving it to %s failed: %s", path, why, bad,
		    strerror(errno));
	else
		LOG("snapshot %s unusable (%s): kept as %s; starting with an empty store", path, why,
		    bad);
}

int persist_load(struct xenstored *xsd)
{
	struct xs_persist *p = &xsd->persist;
	char why[256] = "";
	struct stat st;
	char *data = NULL;
	int r = -1;

	int fd = open(p->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, sizeof(why), "open: %s", strerror(errno));
		goto bad;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > XS_SNAPSHOT_MAX) {
		snprintf(why, sizeof(why), "not a regular file of at most %u bytes", XS_SNAPSHOT_MAX);
		goto bad;
	}
	data = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (data && got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (!data || got != (size_t)st.st_size) {
		snprintf(why, sizeof(why), "reading it: %s", data ? "short read" : "out of memory");
		goto bad;
	}
	if (persist_decode(xsd, data, got, why, sizeof(why)))
		goto bad;
	unsigned int domains = 0;
	for (struct xs_domain *d = xsd->domains; d; d = d->next)
		domains += d->awaiting != NULL;
	LOG("loaded %s: %zu nodes, %u domains awaiting their VMMs", p->path,
	    tree_count(xsd->tree.root), domains);
	r = 1;
	goto out;
bad:
	keep_aside(p->path, why);
	/* Start again from nothing, keeping the settings. */
	{
		struct xs_quota quota = xsd->quota;
		struct xs_persist kept = *p;
		unsigned int reconnect_ms = xsd->reconnect_ms;
		char rundir[sizeof(xsd->rundir)];
		memcpy(rundir, xsd->rundir, sizeof(rundir));
		kept.buf = NULL;      /* xsd_destroy frees it */
		kept.cap = 0;
		xsd_destroy(xsd);
		if (xsd_init(xsd)) {
			LOG("out of memory starting again");
			r = -ENOMEM;
			goto out;
		}
		xsd->quota = quota;
		xsd->persist = kept;
		xsd->persist.dirty = true;
		xsd->reconnect_ms = reconnect_ms;
		memcpy(xsd->rundir, rundir, sizeof(rundir));
	}
out:
	if (fd >= 0)
		close(fd);
	free(data);
	return r;
}

void persist_remove(struct xenstored *xsd)
{
	if (xsd->persist.enabled && unlink(xsd->persist.path) < 0 && errno != ENOENT)
		LOG("removing %s: %s", xsd->persist.path, strerror(errno));
}
