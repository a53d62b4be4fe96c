/* The snapshot (persist.h).  Why persist the store rather than rebuild it from the VMMs after a
 * restart: most of what matters was written by guests (their frontend nodes, device state,
 * control/ answers) and by Dom0 tools, and exists nowhere but here; a VMM knows only the nodes it
 * wrote itself.
 *
 * When: xenstored works in rounds (loop.c): it serves what epoll reported, then reaches a commit
 * point where it records what the round changed, and only then sends the round's replies and
 * watch events and publishes the rings' req_cons (ring.c).  So whatever a client saw
 * acknowledged is on file, and a request whose effect is not is one its sender never saw
 * answered (a ring's is read again, resume.c; a socket client's connection dies with the process
 * and the client retries on a new one).  A round serves many requests, so one write covers them.
 *
 * How: a snapshot of the whole store, and beside it the journal (journal.c): each commit point
 * appends one record of the round's changes to <path>.journal; the first commit point, and the
 * one after the journal outgrew the snapshot, writes a fresh snapshot instead (encoded into one
 * buffer, written to <path>.tmp, renamed over <path>) and starts the journal again.  So a round
 * costs what it changed, and loading costs the snapshot plus at most its size in records.
 * No fsync: the run directory is in RAM and the point is a process's death, not the host's.
 * Snapshot format (host byte order; it never leaves the host), all lengths checked on load:
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
#include "xenstore/codec.h"
#include "xenstore/conn.h"
#include "xenstore/domain.h"
#include "xenstore/journal.h"
#include "xenstore/persist.h"
#include "xenstore/resume.h"
#include "xenstore/transaction.h"
#include "xenstore/watch.h"

#define MAGIC "XNTHXS01"
#define HEADER_LEN 24
#define MAX_TX_IDS 4096
#define MAX_WATCHES 65536
#define MAX_OUTPUT (16u << 20)

void persist_enable(struct xenstored *xsd, const char *path)
{
	snprintf(xsd->persist.path, sizeof(xsd->persist.path), "%s", path);
	xsd->persist.enabled = true;
	xsd->persist.dirty = true;
}

/* ---- encoding ---- */

void persist_put_node(struct xs_enc *e, const struct xs_node *n)
{
	char path[XS_PATH_BUF];
	int plen = tree_path(n, path, sizeof(path));

	if (plen < 0) {
		e->oom = true;      /* cannot happen: paths are checked when made */
		return;
	}
	enc_str(e, path, (size_t)plen);
	enc_str(e, n->value, n->len);
	enc_u64(e, n->gen);
	enc_u32(e, n->n_perms);
	for (unsigned int i = 0; i < n->n_perms; i++) {
		enc_u32(e, n->perms[i].domid);
		enc_u8(e, n->perms[i].perms);
	}
}

static int put_node(void *arg, struct xs_node *n)
{
	persist_put_node(arg, n);
	return 0;
}

static void put_watches(struct xs_enc *e, const struct xs_watch *watches)
{
	uint32_t n = 0;

	for (const struct xs_watch *w = watches; w; w = w->next)
		n++;
	enc_u32(e, n);
	for (const struct xs_watch *w = watches; w; w = w->next) {
		enc_str(e, w->path, strlen(w->path));
		enc_str(e, w->token, strlen(w->token));
		enc_u32(e, (uint32_t)w->strip);
	}
}

/* A live ring: its state is the connection's. */
static void put_ring_conn(struct xs_enc *e, const struct xs_conn *c)
{
	const volatile struct xenstore_domain_interface *r = c->ring;
	uint32_t n_tx = c->n_lost_tx;

	enc_u32(e, c->ring_cons);
	enc_u32(e, __atomic_load_n(&r->rsp_prod, __ATOMIC_ACQUIRE));
	enc_u32(e, c->next_tx_id);
	for (const struct xs_tx *t = c->txs; t; t = t->next)
		n_tx++;
	enc_u32(e, n_tx);
	for (const struct xs_tx *t = c->txs; t; t = t->next)
		enc_u32(e, t->id);
	for (unsigned int i = 0; i < c->n_lost_tx; i++)
		enc_u32(e, c->lost_tx[i]);
	enc_u8(e, c->in_body);
	enc_u32(e, c->hdr_got);
	enc_put(e, &c->hdr, sizeof(c->hdr));
	enc_str(e, c->body, c->in_body ? c->body_got : 0);
	enc_str(e, c->out + c->out_off, c->out_len - c->out_off);
	put_watches(e, c->watches);
}

/* A domain still awaiting its VMM: the state it was loaded with. */
static void put_ring_kept(struct xs_enc *e, const struct xs_ring_state *s)
{
	enc_u32(e, s->req_cons);
	enc_u32(e, s->rsp_prod);
	enc_u32(e, s->next_tx_id);
	enc_u32(e, s->n_tx_ids);
	for (unsigned int i = 0; i < s->n_tx_ids; i++)
		enc_u32(e, s->tx_ids[i]);
	enc_u8(e, s->in_body);
	enc_u32(e, s->hdr_got);
	enc_put(e, &s->hdr, sizeof(s->hdr));
	enc_str(e, s->body, s->body_got);
	enc_str(e, s->out, s->out_len);
	put_watches(e, s->watches);
}

void persist_put_domain(struct xs_enc *e, const struct xs_domain *d)
{
	enc_u32(e, d->domid);
	enc_u64(e, d->mfn);
	enc_u64(e, d->port);
	enc_u32(e, (uint32_t)d->introducer);
	if (d->ring)
		put_ring_conn(e, d->ring);
	else
		put_ring_kept(e, d->awaiting);
}

static int by_domid(const void *a, const void *b)
{
	const struct xs_domain *x = *(struct xs_domain *const *)a, *y = *(struct xs_domain *const *)b;

	return (x->domid > y->domid) - (x->domid < y->domid);
}

long persist_encode(struct xenstored *xsd)
{
	struct xs_enc e = { .buf = xsd->persist.buf, .cap = xsd->persist.cap };
	uint32_t n_domains = 0;
	uint64_t zero = 0;

	enc_put(&e, MAGIC, 8);
	enc_u64(&e, zero);
	enc_u64(&e, zero);
	enc_u64(&e, xsd->generation);
	enc_u32(&e, (uint32_t)tree_count(xsd->tree.root));
	tree_walk(xsd->tree.root, put_node, &e);
	for (struct xs_domain *d = xsd->domains; d; d = d->next)
		n_domains += domain_introduced(d);
	/* In domid order, so that the same store always encodes the same. */
	struct xs_domain **sorted = malloc((n_domains ? n_domains : 1) * sizeof(*sorted));
	if (sorted) {
		n_domains = 0;
		for (struct xs_domain *d = xsd->domains; d; d = d->next)
			if (domain_introduced(d))
				sorted[n_domains++] = d;
		qsort(sorted, n_domains, sizeof(*sorted), by_domid);
		enc_u32(&e, n_domains);
		for (uint32_t i = 0; i < n_domains; i++)
			persist_put_domain(&e, sorted[i]);
		free(sorted);
	}
	xsd->persist.buf = e.buf;     /* kept between writes, grown or not */
	xsd->persist.cap = e.cap;
	if (e.oom || !sorted)
		return -ENOMEM;
	uint64_t payload = e.len - HEADER_LEN;
	uint64_t sum = xs_fnv1a(e.buf + HEADER_LEN, payload);
	memcpy(e.buf + 8, &payload, 8);
	memcpy(e.buf + 16, &sum, 8);
	return (long)e.len;
}

/* ---- decoding: every length checked against what is left ---- */

/* Canonical absolute path, as xs_canonicalize would have let through. */
bool persist_path_ok(const char *p)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-/_@";
	size_t len = strlen(p);

	if (p[0] != '/' || p[strspn(p, ok)] || strstr(p, "//") || len > XENSTORE_ABS_PATH_MAX)
		return false;
	return len == 1 || p[len - 1] != '/';
}

static bool get_perms(struct xs_dec *d, struct xs_perm **perms, uint32_t *n)
{
	if (!dec_u32(d, n, "a permission count"))
		return false;
	if (*n < 1 || *n > XENSTORE_PAYLOAD_MAX / 2 || (size_t)*n * 5 > d->left)
		return dec_fail(d, "%s out of range", "a permission count");
	*perms = malloc(*n * sizeof(**perms));
	if (!*perms)
		return dec_fail(d, "out of memory for %s", "permissions");
	for (uint32_t i = 0; i < *n; i++) {
		uint32_t domid = 0;
		uint8_t bits = 0;
		dec_u32(d, &domid, "a permission");
		dec_u8(d, &bits, "a permission");
		if (!d->bad && (domid > 65535 || bits > (XS_PERM_READ | XS_PERM_WRITE)))
			dec_fail(d, "%s out of range", "a permission");
		(*perms)[i] = (struct xs_perm){ .domid = domid, .perms = bits };
	}
	if (d->bad) {
		free(*perms);
		*perms = NULL;
	}
	return !d->bad;
}

bool persist_get_node(struct xs_dec *d, struct xenstored *xsd, enum persist_node_mode mode,
		      uint64_t generation)
{
	const char *value;
	uint32_t vlen, n_perms;
	uint64_t gen;
	struct xs_perm *perms = NULL;
	char *path = dec_cstr(d, XENSTORE_ABS_PATH_MAX, "a node's path");

	if (!path)
		return false;
	bool root = !strcmp(path, "/");
	if (!persist_path_ok(path) || (mode != NODE_CHANGED && (mode == NODE_ROOT) != root)) {
		free(path);
		return dec_fail(d, "%s is not a canonical path (or the root is not first)", "a node");
	}
	if (!dec_str(d, &value, &vlen, XENSTORE_PAYLOAD_MAX, "a node's value") ||
	    !dec_u64(d, &gen, "a node's generation") || !get_perms(d, &perms, &n_perms)) {
		free(path);
		return false;
	}
	struct xs_node *n = root ? xsd->tree.root : tree_lookup(&xsd->tree, path);
	if (!root && (!n || mode != NODE_CHANGED)) {
		char *slash = strrchr(path, '/');
		*slash = '\0';
		struct xs_node *parent = tree_lookup(&xsd->tree, *path ? path : "/");
		*slash = '/';
		if (!parent || n) {
			free(path);
			free(perms);
			return dec_fail(d, "%s: its parent is missing or it came twice", "a node");
		}
		uint64_t parent_gen = parent->gen;
		n = tree_create(&xsd->tree, path, NULL, NULL, NULL);
		parent->gen = parent_gen;     /* as saved, not bumped by this load */
	}
	free(path);
	if (!n || tree_set_value(&xsd->tree, n, value, vlen) ||
	    tree_set_perms(&xsd->tree, n, perms, n_perms)) {
		free(perms);
		return dec_fail(d, "out of memory for %s", "a node");
	}
	free(perms);
	if (gen > generation)
		return dec_fail(d, "%s newer than the store", "a node's generation");
	n->gen = gen;
	return true;
}

static bool get_watches(struct xs_dec *d, struct xs_ring_state *s)
{
	uint32_t n;

	if (!dec_u32(d, &n, "a watch count"))
		return false;
	if (n > MAX_WATCHES || (size_t)n * 12 > d->left)
		return dec_fail(d, "%s out of range", "a watch count");
	struct xs_watch **tail = &s->watches;
	for (uint32_t i = 0; i < n; i++) {
		struct xs_watch *w = calloc(1, sizeof(*w));
		if (!w)
			return dec_fail(d, "out of memory for %s", "a watch");
		*tail = w;
		tail = &w->next;
		uint32_t strip;
		w->path = dec_cstr(d, XENSTORE_ABS_PATH_MAX, "a watch's path");
		w->token = w->path ? dec_cstr(d, XENSTORE_PAYLOAD_MAX, "a watch's token") : NULL;
		if (!w->token || !dec_u32(d, &strip, "a watch"))
			return false;
		if ((w->path[0] != '@' && !persist_path_ok(w->path)) || strip > strlen(w->path) ||
		    (strip && w->path[strip] == '\0'))
			return dec_fail(d, "%s out of range", "a watch's path");
		w->strip = strip;
	}
	return true;
}

static bool get_ring(struct xs_dec *d, struct xs_ring_state *s)
{
	const char *body, *out;
	uint32_t body_len, out_len;
	uint8_t in_body;

	if (!dec_u32(d, &s->req_cons, "a ring") || !dec_u32(d, &s->rsp_prod, "a ring") ||
	    !dec_u32(d, &s->next_tx_id, "a ring") || !dec_u32(d, &s->n_tx_ids, "a ring"))
		return false;
	if (s->n_tx_ids > MAX_TX_IDS || (size_t)s->n_tx_ids * 4 > d->left)
		return dec_fail(d, "%s out of range", "a transaction count");
	if (s->n_tx_ids) {
		s->tx_ids = malloc(s->n_tx_ids * sizeof(*s->tx_ids));
		if (!s->tx_ids)
			return dec_fail(d, "out of memory for %s", "transactions");
		for (uint32_t i = 0; i < s->n_tx_ids; i++)
			dec_u32(d, &s->tx_ids[i], "a transaction id");
	}
	if (!dec_u8(d, &in_body, "a ring") || !dec_u32(d, &s->hdr_got, "a ring") ||
	    !dec_get(d, &s->hdr, sizeof(s->hdr), "a ring") ||
	    !dec_str(d, &body, &body_len, XENSTORE_PAYLOAD_MAX, "a request half read") ||
	    !dec_str(d, &out, &out_len, MAX_OUTPUT, "a ring's output"))
		return false;
	s->in_body = in_body;
	s->body_got = body_len;
	/* As conn.c leaves it: a header being read, or a whole header and part of its body. */
	if (in_body > 1 || s->hdr_got > sizeof(s->hdr) ||
	    (in_body && (s->hdr_got != sizeof(s->hdr) || s->hdr.len > XENSTORE_PAYLOAD_MAX ||
			 body_len > s->hdr.len)) ||
	    (!in_body && body_len))
		return dec_fail(d, "%s out of range", "a request half read");
	if ((body_len && !(s->body = malloc(body_len))) || (out_len && !(s->out = malloc(out_len))))
		return dec_fail(d, "out of memory for %s", "a ring");
	if (body_len)
		memcpy(s->body, body, body_len);
	if (out_len)
		memcpy(s->out, out, out_len);
	s->out_len = out_len;
	return get_watches(d, s);
}

bool persist_get_domain(struct xs_dec *d, struct xenstored *xsd, bool replace)
{
	uint32_t domid, pid;
	uint64_t mfn, port;

	if (!dec_u32(d, &domid, "a domain") || !dec_u64(d, &mfn, "a domain") ||
	    !dec_u64(d, &port, "a domain") || !dec_u32(d, &pid, "a domain"))
		return false;
	if (domid == 0 || domid > 65535 || mfn >= (1ull << 52) || port >= (1u << 20) ||
	    (int32_t)pid < 0)
		return dec_fail(d, "%s out of range", "a domain");
	struct xs_domain *dom = domain_get(xsd, domid, true);
	if (!dom)
		return dec_fail(d, "out of memory for %s", "a domain");
	if (dom->awaiting && !replace)
		return dec_fail(d, "%s came twice", "a domain");
	resume_forget(dom);     /* the journal's newer state replaces the one loaded */
	struct xs_ring_state *s = calloc(1, sizeof(*s));
	if (!s)
		return dec_fail(d, "out of memory for %s", "a domain");
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
	struct xs_dec d = { .p = data, .left = len, .why = why, .whylen = whylen };
	uint64_t payload, sum, generation;
	uint32_t n_nodes, n_domains;
	char magic[8];

	if (!dec_get(&d, magic, 8, "the header") || memcmp(magic, MAGIC, 8))
		return dec_fail(&d, "%s: not a Xenith xenstored snapshot (or another version)", "header"),
		       EINVAL;
	if (!dec_u64(&d, &payload, "the header") || !dec_u64(&d, &sum, "the header"))
		return EINVAL;
	if (payload != d.left)
		return dec_fail(&d, "%s: its length disagrees with the file's (truncated?)", "header"),
		       EINVAL;
	if (xs_fnv1a(d.p, d.left) != sum)
		return dec_fail(&d, "%s: checksum mismatch (corrupt)", "payload"), EINVAL;
	if (!dec_u64(&d, &generation, "the generation") || !dec_u32(&d, &n_nodes, "the node count"))
		return EINVAL;
	/* Each node takes at least 25 bytes. */
	if (n_nodes == 0 || (size_t)n_nodes > d.left / 25 + 1)
		return dec_fail(&d, "%s out of range", "the node count"), EINVAL;
	/* The snapshot has the whole tree, /tool/xenstored included. */
	while (xsd->tree.root->n_children)
		tree_remove(&xsd->tree, xsd->tree.root->children[0], NULL, NULL);
	for (uint32_t i = 0; i < n_nodes; i++)
		if (!persist_get_node(&d, xsd, i ? NODE_NEW : NODE_ROOT, generation))
			return EINVAL;
	if (!dec_u32(&d, &n_domains, "the domain count"))
		return EINVAL;
	if (n_domains > 65535)
		return dec_fail(&d, "%s out of range", "the domain count"), EINVAL;
	for (uint32_t i = 0; i < n_domains; i++)
		if (!persist_get_domain(&d, xsd, false))
			return EINVAL;
	if (d.left)
		return dec_fail(&d, "%s: bytes after the last record", "payload"), EINVAL;
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

/* The whole store to <path>.tmp, renamed over <path>. */
static int write_snapshot(struct xenstored *xsd)
{
	struct xs_persist *p = &xsd->persist;
	char tmp[PATH_MAX + 8];
	long long start = now_ns();
	int r;

	long len = persist_encode(xsd);
	snprintf(tmp, sizeof(tmp), "%s.tmp", p->path);
	if (len < 0)
		return (int)len;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = write_all(fd, p->buf, (size_t)len);
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, p->path) < 0)
		r = -errno;
	if (r)
		return r;
	p->writes++;
	p->bytes = (unsigned long long)len;
	p->ns = (unsigned long long)(now_ns() - start);
	return 0;
}

static void say_failure(struct xs_persist *p, const char *what, int r)
{
	/* Serving goes on: a full /run must not stop the store, but it is said. */
	if (p->failures++ % 1000 == 0)
		LOG("writing %s for %s: %s (%lu failures so far)", what, p->path, strerror(-r),
		    p->failures);
}

int persist_commit(struct xenstored *xsd)
{
	struct xs_persist *p = &xsd->persist;

	if (!p->enabled)
		return 0;
	if (!p->journal)
		p->journal = journal_new(p->path);   /* NULL (no memory): snapshots only */
	if (p->journal && !journal_wants_snapshot(p->journal, p->bytes)) {
		long n = journal_commit(p->journal, xsd);
		if (n >= 0) {
			p->dirty = false;
			return 0;
		}
		/* The round's replies wait for this: a snapshot keeps the promise instead. */
		say_failure(p, "the journal", (int)n);
	} else if (!p->journal && !p->dirty) {
		return 0;
	}
	int r = write_snapshot(xsd);
	if (r) {
		say_failure(p, "the snapshot (a restart would lose changes since the last one)", r);
		return r;
	}
	p->dirty = false;
	if (p->journal) {
		r = journal_start(p->journal, xsd, p->buf + 8);
		if (r)
			say_failure(p, "the journal's header (the next commit writes a snapshot)", r);
	}
	return 0;
}

static void keep_aside(const char *path, const char *what, const char *why)
{
	char bad[PATH_MAX + 24];

	snprintf(bad, sizeof(bad), "%s.bad", path);
	if (rename(path, bad) < 0)
		LOG("%s %s unusable (%s), and moving it to %s failed: %s", what, path, why, bad,
		    strerror(errno));
	else
		LOG("%s %s unusable (%s): kept as %s", what, path, why, bad);
}

/* A whole regular file of at most XS_SNAPSHOT_MAX bytes into *data (NUL-padded by one).  1 read,
 * 0 absent, -1 with why set. */
static int read_file(const char *path, char **data, size_t *len, char *why, size_t whylen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*data = NULL;
	*len = 0;
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, whylen, "open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > XS_SNAPSHOT_MAX) {
		snprintf(why, whylen, "not a regular file of at most %u bytes", XS_SNAPSHOT_MAX);
		close(fd);
		return -1;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!buf || got != (size_t)st.st_size) {
		snprintf(why, whylen, "reading it: %s", buf ? "short read" : "out of memory");
		free(buf);
		return -1;
	}
	*data = buf;
	*len = got;
	return 1;
}

/* xsd empty again, its settings kept.  0 or -ENOMEM. */
static int start_again(struct xenstored *xsd)
{
	struct xs_quota quota = xsd->quota;
	struct xs_persist kept = xsd->persist;
	unsigned int reconnect_ms = xsd->reconnect_ms;
	char rundir[sizeof(xsd->rundir)];

	memcpy(rundir, xsd->rundir, sizeof(rundir));
	kept.buf = NULL;      /* xsd_destroy frees them */
	kept.cap = 0;
	kept.journal = NULL;
	xsd_destroy(xsd);
	if (xsd_init(xsd)) {
		LOG("out of memory starting again");
		return -ENOMEM;
	}
	xsd->quota = quota;
	xsd->persist = kept;
	xsd->persist.dirty = true;
	xsd->reconnect_ms = reconnect_ms;
	memcpy(xsd->rundir, rundir, sizeof(rundir));
	return 0;
}

/* The journal after the snapshot: its records applied (persist.h says what happens to damaged
 * ones).  -ENOMEM if xsd could not be set up again. */
static int load_journal(struct xenstored *xsd, const char *snap, size_t snap_len)
{
	struct xs_persist *p = &xsd->persist;
	char path[PATH_MAX + 16], why[256] = "";
	char *data;
	size_t len;
	struct journal_load res;

	if (!journal_path(path, sizeof(path), p->path))
		return 0;
	int r = read_file(path, &data, &len, why, sizeof(why));
	if (r < 0)
		keep_aside(path, "journal", why);
	if (r <= 0)
		return 0;
	switch (journal_replay(xsd, data, len, snap + 8, ULONG_MAX, &res)) {
	case JOURNAL_APPLIED:
		LOG("applied %s: %lu records", path, res.records);
		break;
	case JOURNAL_UNTIED:
		/* The snapshot was rewritten after it (or it was cut before its header): nothing in it
		 * is missing from the snapshot. */
		LOG("journal %s not applied: %s", path, res.why);
		break;
	case JOURNAL_TORN:
		LOG("journal %s: %lu records applied; the last one dropped, torn by a death "
		    "mid-append: %s", path, res.records, res.why);
		break;
	case JOURNAL_CORRUPT_APPLIED: {
		/* Part of that record is in xsd: load again up to the record before it. */
		unsigned long good = res.records;
		char first[sizeof(res.why)];
		snprintf(first, sizeof(first), "%s", res.why);
		if ((r = start_again(xsd)) || persist_decode(xsd, snap, snap_len, why, sizeof(why)) ||
		    journal_replay(xsd, data, len, snap + 8, good, &res) != JOURNAL_APPLIED) {
			free(data);
			return r ? r : -ENOMEM;   /* it loaded a moment ago: only memory fails */
		}
		snprintf(res.why, sizeof(res.why), "%s", first);
	}
		/* fall through */
	case JOURNAL_CORRUPT:
		keep_aside(path, "journal", res.why);
		LOG("starting from the snapshot and the journal's %lu records before the damage",
		    res.records);
		break;
	}
	free(data);
	return 0;
}

int persist_load(struct xenstored *xsd)
{
	struct xs_persist *p = &xsd->persist;
	char why[256] = "", jpath[PATH_MAX + 16];
	char *data;
	size_t len;
	int r = read_file(p->path, &data, &len, why, sizeof(why));

	if (r == 0)
		return 0;
	if (r > 0 && !persist_decode(xsd, data, len, why, sizeof(why))) {
		int jr = load_journal(xsd, data, len);
		free(data);
		if (jr)
			return jr;
		unsigned int domains = 0;
		for (struct xs_domain *d = xsd->domains; d; d = d->next)
			domains += d->awaiting != NULL;
		LOG("loaded %s: %zu nodes, %u domains awaiting their VMMs", p->path,
		    tree_count(xsd->tree.root), domains);
		return 1;
	}
	free(data);
	keep_aside(p->path, "snapshot", why);
	/* Its journal is of no use without it; kept beside it for a look. */
	if (journal_path(jpath, sizeof(jpath), p->path) && access(jpath, F_OK) == 0)
		keep_aside(jpath, "journal", "its snapshot is unusable");
	LOG("starting with an empty store");
	return start_again(xsd) ? -ENOMEM : -1;
}

void persist_remove(struct xenstored *xsd)
{
	char jpath[PATH_MAX + 16];

	if (!xsd->persist.enabled)
		return;
	if (unlink(xsd->persist.path) < 0 && errno != ENOENT)
		LOG("removing %s: %s", xsd->persist.path, strerror(errno));
	if (journal_path(jpath, sizeof(jpath), xsd->persist.path) && unlink(jpath) < 0 &&
	    errno != ENOENT)
		LOG("removing %s: %s", jpath, strerror(errno));
}
