/* xenstored's snapshot (src/xenstore/persist.c) and the rings it resumes (resume.c): the store
 * survives an encoding whole; a guest's ring, its watches and its transactions come back after a
 * "restart" (the first xenstored destroyed at a chosen point, a second loading its file and
 * taking the re-introduction); damaged snapshots are refused with a reason and never crash. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "xs_persist_harness.h"
#include "xenstore/loop.h"
#include "xenstore/persist.h"
#include "xenstore/resume.h"
#include "xenstore/ring.h"
#include "xenstore/watch.h"

#define DOMID 5

/* ---- a store worth saving ---- */

static void fill_store(struct xenstored *xsd, struct xs_conn *dom0)
{
	struct xs_answer a;
	char payload[64];

	xs_do(xsd, dom0, XS_WRITE, 0, "/local/domain/5/name|guest", &a);
	xs_do(xsd, dom0, XS_SET_PERMS, 0, "/local/domain/5|n5|r0|w7|", &a);
	xs_do(xsd, dom0, XS_WRITE, 0, "/local/domain/5/device/vif/0/state|4", &a);
	xs_do(xsd, dom0, XS_MKDIR, 0, "/empty/dir|", &a);
	/* A value with NULs in it, and an empty one. */
	memcpy(payload, "/bin\0a\0b\0c", 10);
	xs_req(xsd, dom0, XS_WRITE, 0, payload, 10, &a);
	xs_do(xsd, dom0, XS_WRITE, 0, "/blank|", &a);
}

/* Every node of `a` is in `b` with the same value, permissions and generation, and the counts
 * agree. */
struct compare {
	struct unit *u;
	const struct xs_tree *other;
	unsigned int seen;
};

static int compare_node(void *arg, struct xs_node *n)
{
	struct compare *c = arg;
	struct unit *u = c->u;
	char path[XS_PATH_BUF];

	tree_path(n, path, sizeof(path));
	const struct xs_node *m = tree_lookup(c->other, path);
	c->seen++;
	CHECK(m != NULL, "%s missing after the round trip", path);
	if (!m)
		return 0;
	CHECK(m->len == n->len && !memcmp(m->value, n->value, n->len), "%s: value differs", path);
	bool same = m->n_perms == n->n_perms;
	for (unsigned int i = 0; same && i < n->n_perms; i++)
		same = m->perms[i].domid == n->perms[i].domid && m->perms[i].perms == n->perms[i].perms;
	CHECK(same, "%s: permissions differ", path);
	CHECK(m->gen == n->gen, "%s: generation %llu, was %llu", path, (unsigned long long)m->gen,
	      (unsigned long long)n->gen);
	CHECK(m->n_children == n->n_children, "%s: %zu children, was %zu", path, m->n_children,
	      n->n_children);
	for (size_t i = 0; i < n->n_children && i < m->n_children; i++)
		CHECK(!strcmp(m->children[i]->name, n->children[i]->name), "%s: child order differs",
		      path);
	return 0;
}

static void test_round_trip(struct unit *u, const void *arg)
{
	struct xenstored *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	char why[256] = "";

	(void)arg;
	xsd_init(a);
	xsd_init(b);
	fill_store(a, xs_mem_conn(a, 0, true));
	long len = persist_encode(a);
	CHECK(len > 0, "encode: %ld", len);
	int r = persist_decode(b, a->persist.buf, (size_t)len, why, sizeof(why));
	CHECK(r == 0, "decode: %s", why);
	struct compare c = { .u = u, .other = &b->tree };
	tree_walk(a->tree.root, compare_node, &c);
	CHECK_INT(tree_count(b->tree.root), c.seen);
	CHECK(b->generation >= a->generation, "generation went back");
	/* Node quotas are counted again from the owners. */
	struct xs_domain *da = domain_get(a, 5, false), *db = domain_get(b, 5, false);
	CHECK(da && db && da->nodes == db->nodes, "domain 5 owns %u nodes, was %u", db ? db->nodes : 0,
	      da ? da->nodes : 0);
	xsd_destroy(a);
	xsd_destroy(b);
	free(a);
	free(b);
}

/* ---- a guest's ring across a restart ---- */

static struct xs_conn *ring_of(struct xenstored *xsd)
{
	struct xs_domain *d = domain_get(xsd, DOMID, false);
	return d ? d->ring : NULL;
}

static void test_ring_resumes(struct unit *u, const void *arg)
{
	struct xs_place p;
	struct xs_guest g;
	char got[2048];

	(void)arg;
	if (!xs_place_init(u, &p, "xs-persist") || !xs_guest_init(u, &g))
		return;
	struct xenstored *xsd = xs_persist_start(u, p.snap, 0);
	struct xs_conn *dom0 = xs_mem_conn(xsd, 0, true);
	struct xs_answer a;
	xs_do(xsd, dom0, XS_WRITE, 0, "/local/domain/5/name|guest", &a);
	xs_do(xsd, dom0, XS_SET_PERMS, 0, "/local/domain/5|n5|", &a);
	xs_guest_introduce(u, xsd, &g, DOMID);
	xs_guest_send(g.page, XS_WRITE, 1, 0, "data/x|1");
	xs_guest_send(g.page, XS_WATCH, 2, 0, "data|tok|");
	xs_serve(xsd, DOMID);
	xs_guest_recv(g.page, got, sizeof(got), true);
	CHECK_STR(got, "WRITE 1 OK;WATCH 2 OK;WATCH_EVENT 0 data|tok;");
	/* A request read but not yet committed when the process dies is read again. */
	xs_guest_send(g.page, XS_WRITE, 3, 0, "data/y|2");
	ring_service(xsd, ring_of(xsd));
	CHECK_INT(g.page->req_cons != g.page->req_prod, 1);
	xs_persist_die(xsd);

	xsd = xs_persist_start(u, p.snap, 1);
	struct xs_domain *d = domain_get(xsd, DOMID, false);
	CHECK(d && d->awaiting && !d->ring, "domain 5 awaits its VMM");
	dom0 = xs_mem_conn(xsd, 0, true);
	xs_do(xsd, dom0, XS_IS_DOMAIN_INTRODUCED, 0, "5|", &a);
	CHECK_STR(xs_text(&a), "T");
	xs_do(xsd, dom0, XS_READ, 0, "/local/domain/5/data/x|", &a);
	CHECK_STR(xs_text(&a), "1");
	/* While nobody serves the ring the guest queues another request. */
	xs_guest_send(g.page, XS_READ, 4, 0, "data/y|");
	xs_guest_introduce(u, xsd, &g, DOMID);
	xs_serve(xsd, DOMID);
	xs_guest_recv(g.page, got, sizeof(got), true);
	/* The watch fires once on its return; WRITE's own event comes before its reply, as always. */
	CHECK_STR(got, "WATCH_EVENT 0 data|tok;WATCH_EVENT 0 data/y|tok;WRITE 3 OK;READ 4 2;");
	CHECK_INT(g.page->req_cons, g.page->req_prod);
	/* The watch is live again: a change from Dom0 reaches the guest. */
	xs_do(xsd, dom0, XS_WRITE, 0, "/local/domain/5/data/z|3", &a);
	loop_commit(xsd);
	xs_guest_recv(g.page, got, sizeof(got), true);
	CHECK_STR(got, "WATCH_EVENT 0 data/z|tok;");
	CHECK_INT(d->watches, 1);
	xs_persist_die(xsd);
	xs_guest_free(&g);
	xs_place_free(&p);
}

/* Killed after the snapshot but before (or while) the replies went out: they go out once. */
static void test_output_kept_once(struct unit *u, const void *arg)
{
	struct xs_place p;
	struct xs_guest g;
	char got[2048];

	(void)arg;
	if (!xs_place_init(u, &p, "xs-persist") || !xs_guest_init(u, &g))
		return;
	for (int flushed = 0; flushed <= 1; flushed++) {
		struct xenstored *xsd = xs_persist_start(u, p.snap, flushed ? 1 : 0);
		struct xs_answer a;
		struct xs_conn *dom0 = xs_mem_conn(xsd, 0, true);
		if (!flushed) {
			xs_do(xsd, dom0, XS_MKDIR, 0, "/local/domain/5|", &a);
			xs_do(xsd, dom0, XS_SET_PERMS, 0, "/local/domain/5|n5|", &a);
			xs_guest_introduce(u, xsd, &g, DOMID);
		} else {
			xs_guest_introduce(u, xsd, &g, DOMID);
			xs_serve(xsd, DOMID);
			xs_guest_recv(g.page, got, sizeof(got), true);
			CHECK_STR(got, "WRITE 10 OK;");
		}
		xs_guest_send(g.page, XS_WRITE, 10 + (uint32_t)flushed, 0, "k|v");
		ring_service(xsd, ring_of(xsd));
		persist_commit(xsd);          /* the snapshot is written ... */
		if (flushed)
			loop_commit(xsd);     /* ... and, the second time, the reply sent */
		xs_persist_die(xsd);
	}
	struct xenstored *xsd = xs_persist_start(u, p.snap, 1);
	xs_guest_introduce(u, xsd, &g, DOMID);
	xs_serve(xsd, DOMID);
	xs_guest_recv(g.page, got, sizeof(got), true);
	CHECK_STR(got, "WRITE 11 OK;");
	xs_persist_die(xsd);
	xs_guest_free(&g);
	xs_place_free(&p);
}

static void test_transactions_lost(struct unit *u, const void *arg)
{
	struct xs_place p;
	struct xs_guest g;
	char got[2048];

	(void)arg;
	if (!xs_place_init(u, &p, "xs-persist") || !xs_guest_init(u, &g))
		return;
	struct xenstored *xsd = xs_persist_start(u, p.snap, 0);
	struct xs_answer a;
	struct xs_conn *dom0 = xs_mem_conn(xsd, 0, true);
	xs_do(xsd, dom0, XS_MKDIR, 0, "/local/domain/5|", &a);
	xs_do(xsd, dom0, XS_SET_PERMS, 0, "/local/domain/5|n5|", &a);
	xs_guest_introduce(u, xsd, &g, DOMID);
	xs_guest_send(g.page, XS_TRANSACTION_START, 1, 0, "|");
	xs_guest_send(g.page, XS_TRANSACTION_START, 2, 0, "|");
	xs_serve(xsd, DOMID);
	xs_guest_recv(g.page, got, sizeof(got), true);
	CHECK_STR(got, "TRANSACTION_START 1 1;TRANSACTION_START 2 2;");
	xs_persist_die(xsd);

	xsd = xs_persist_start(u, p.snap, 1);
	xs_guest_introduce(u, xsd, &g, DOMID);
	xs_guest_send(g.page, XS_WRITE, 3, 1, "in-tx|v");
	xs_guest_send(g.page, XS_TRANSACTION_END, 4, 1, "T|");
	xs_guest_send(g.page, XS_TRANSACTION_END, 5, 2, "F|");
	xs_guest_send(g.page, XS_TRANSACTION_END, 6, 2, "F|");
	xs_guest_send(g.page, XS_TRANSACTION_START, 7, 0, "|");
	xs_serve(xsd, DOMID);
	xs_guest_recv(g.page, got, sizeof(got), true);
	CHECK_STR(got, "ERROR 3 EAGAIN;ERROR 4 EAGAIN;TRANSACTION_END 5 OK;ERROR 6 ENOENT;"
		       "TRANSACTION_START 7 3;");
	CHECK(tree_lookup(&xsd->tree, "/local/domain/5/in-tx") == NULL, "a lost transaction wrote");
	xs_persist_die(xsd);
	xs_guest_free(&g);
	xs_place_free(&p);
}

/* A VMM that never comes back: its domain is released and its nodes removed. */
static void test_awaiting_expires(struct unit *u, const void *arg)
{
	struct xs_place p;
	struct xs_guest g;

	(void)arg;
	if (!xs_place_init(u, &p, "xs-persist") || !xs_guest_init(u, &g))
		return;
	struct xenstored *xsd = xs_persist_start(u, p.snap, 0);
	struct xs_answer a;
	struct xs_conn *dom0 = xs_mem_conn(xsd, 0, true);
	xs_do(xsd, dom0, XS_WRITE, 0, "/local/domain/5/name|gone", &a);
	xs_do(xsd, dom0, XS_WRITE, 0, "/local/domain/0/backend/vif/5/0/state|4", &a);
	xs_do(xsd, dom0, XS_WRITE, 0, "/local/domain/0/keep|me", &a);
	xs_guest_introduce(u, xsd, &g, DOMID);
	loop_commit(xsd);
	xs_persist_die(xsd);

	xsd = xs_persist_start(u, p.snap, 1);
	dom0 = xs_mem_conn(xsd, 0, true);
	xs_do(xsd, dom0, XS_WATCH, 0, "@releaseDomain|r|", &a);
	resume_expire(xsd);
	xs_collect(dom0, &a);
	CHECK_INT(a.n_events, 1);
	CHECK_STR(a.events[0], "@releaseDomain|r");
	xs_do(xsd, dom0, XS_IS_DOMAIN_INTRODUCED, 0, "5|", &a);
	CHECK_STR(xs_text(&a), "F");
	CHECK(tree_lookup(&xsd->tree, "/local/domain/5") == NULL, "home outlived its VMM");
	CHECK(tree_lookup(&xsd->tree, "/local/domain/0/backend") == NULL, "backend dir left");
	CHECK(tree_lookup(&xsd->tree, "/local/domain/0/keep") != NULL, "Dom0's own node went");
	/* A late re-introduction is a new introduction. */
	xs_guest_introduce(u, xsd, &g, DOMID);
	CHECK(ring_of(xsd) != NULL, "introduced anew");
	xs_persist_die(xsd);
	xs_guest_free(&g);
	xs_place_free(&p);
}

/* ---- damaged snapshots ---- */

static void refix_checksum(char *buf, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	uint64_t payload = len - 24;

	for (size_t i = 24; i < len; i++)
		h = (h ^ (uint8_t)buf[i]) * 0x100000001b3ull;
	memcpy(buf + 8, &payload, 8);
	memcpy(buf + 16, &h, 8);
}

/* An encoding of a store with a domain awaiting its VMM, for the damage tests. */
static size_t sample(char **out)
{
	struct xenstored *xsd = malloc(sizeof(*xsd));
	struct xs_answer a;
	char dir[] = "/tmp/xs-sample.XXXXXX", path[64];

	xsd_init(xsd);
	fill_store(xsd, xs_mem_conn(xsd, 0, true));
	int memfd = memfd_create("g", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, 8 * 4096) || !mkdtemp(dir))
		abort();
	int kick = eventfd(0, EFD_CLOEXEC), notify = eventfd(0, EFD_CLOEXEC);
	domain_introduce(xsd, DOMID, 2, 1, memfd, kick, notify);
	struct xs_conn *ring = ring_of(xsd);
	xs_do(xsd, xs_mem_conn(xsd, 0, true), XS_WRITE, 0, "/x|y", &a);
	/* Give the ring a watch, a transaction, a half-read request and pending output. */
	struct xs_watch *w = calloc(1, sizeof(*w));
	w->path = strdup("/local/domain/5/data");
	w->token = strdup("t");
	w->strip = 15;
	ring->watches = w;
	ring->in_body = true;
	ring->hdr = (struct xsd_sockmsg){ .type = XS_READ, .len = 10 };
	ring->hdr_got = sizeof(ring->hdr);
	ring->body_got = 3;
	memcpy(ring->body, "abc", 3);
	conn_queue(ring, XS_WRITE, 1, 0, "OK", 3);
	ring->lost_tx = malloc(sizeof(uint32_t));
	ring->lost_tx[0] = 9;
	ring->n_lost_tx = 1;
	long len = persist_encode(xsd);
	*out = malloc((size_t)len);
	memcpy(*out, xsd->persist.buf, (size_t)len);
	snprintf(path, sizeof(path), "%s", dir);
	rmdir(path);
	xsd_destroy(xsd);
	free(xsd);
	return (size_t)len;
}

static int try_decode(const char *buf, size_t len, char *why, size_t whylen)
{
	struct xenstored *xsd = malloc(sizeof(*xsd));

	xsd_init(xsd);
	why[0] = '\0';
	int r = persist_decode(xsd, buf, len, why, whylen);
	xsd_destroy(xsd);
	free(xsd);
	return r;
}

static void test_sample_loads(struct unit *u, const void *arg)
{
	char *buf, why[256];
	size_t len = sample(&buf);
	struct xenstored *xsd = malloc(sizeof(*xsd));

	(void)arg;
	xsd_init(xsd);
	CHECK(persist_decode(xsd, buf, len, why, sizeof(why)) == 0, "decode: %s", why);
	struct xs_domain *d = domain_get(xsd, DOMID, false);
	CHECK(d && d->awaiting, "domain 5 awaits");
	if (d && d->awaiting) {
		CHECK(d->awaiting->watches && !strcmp(d->awaiting->watches->token, "t"), "watch kept");
		CHECK_INT(d->awaiting->body_got, 3);
		CHECK_INT(d->awaiting->n_tx_ids, 1);
		CHECK_INT(d->awaiting->out_len, sizeof(struct xsd_sockmsg) + 3);
		CHECK_INT(d->watches, 1);
	}
	/* Encoding what was loaded gives the same bytes (the awaiting state is written as kept). */
	long again = persist_encode(xsd);
	CHECK(again == (long)len && !memcmp(xsd->persist.buf + 24, buf + 24, len - 24),
	      "re-encoding differs (%ld bytes, was %zu)", again, len);
	xsd_destroy(xsd);
	free(xsd);
	free(buf);
}

static void test_truncated(struct unit *u, const void *arg)
{
	char *buf, why[256];
	size_t len = sample(&buf);
	unsigned int refused = 0;

	(void)arg;
	for (size_t cut = 0; cut < len; cut++) {
		if (try_decode(buf, cut, why, sizeof(why)) && why[0])
			refused++;
		/* The same cut with the header made to agree: the records themselves must notice. */
		if (cut >= 24) {
			char *copy = malloc(cut);
			memcpy(copy, buf, cut);
			refix_checksum(copy, cut);
			if (try_decode(copy, cut, why, sizeof(why)) && why[0])
				refused++;
			free(copy);
		}
	}
	CHECK_INT(refused, len + (len - 24));
	free(buf);
}

/* Every byte changed, checksum fixed: decoded or refused with a reason, never a crash (the
 * sanitizer build watches). */
static void test_every_byte(struct unit *u, const void *arg)
{
	char *buf, why[256];
	size_t len = sample(&buf);
	unsigned int refused = 0, silent = 0;

	(void)arg;
	for (size_t at = 24; at < len; at++) {
		for (int v = 0; v < 3; v++) {
			char *copy = malloc(len);
			memcpy(copy, buf, len);
			copy[at] = (char)(v == 0 ? 0xff : v == 1 ? 0 : copy[at] ^ 0x40);
			refix_checksum(copy, len);
			if (try_decode(copy, len, why, sizeof(why))) {
				refused++;
				silent += !why[0];
			}
			free(copy);
		}
	}
	CHECK(refused > 0, "no damage noticed");
	CHECK_INT(silent, 0);
	/* And without fixing the checksum, any change is noticed. */
	buf[len / 2] ^= 1;
	CHECK(try_decode(buf, len, why, sizeof(why)) && strstr(why, "checksum"), "flip: '%s'", why);
	free(buf);
}

/* A node's path replaced by another of the same length, the checksum made to agree: the
 * records themselves must be refused, with the reason. */
struct crafted {
	const char *name;
	const char *orig;          /* a path in the sample */
	const char *path;          /* what replaces it */
	const char *expect;
};

static const struct crafted crafted[] = {
	{ "trailing-slash", "/x", "x/", "not a canonical path" },
	{ "double-slash", "/blank", "//lank", "not a canonical path" },
	{ "bad-char", "/x", "/!", "not a canonical path" },
	{ "relative", "/bin", "bins", "not a canonical path" },
	{ "orphan", "/bin", "/q/x", "parent is missing" },
	{ "duplicate", "/blank", "/local", "came twice" },
	{ "nul-in-path", "/x", "/\0", "a NUL inside" },
};

static void test_crafted(struct unit *u, const void *arg)
{
	const struct crafted *c = arg;
	char *buf, why[256], pat[16];
	size_t len = sample(&buf), plen = strlen(c->orig);
	bool found = false;

	uint32_t l32 = (uint32_t)plen;
	memcpy(pat, &l32, 4);
	memcpy(pat + 4, c->orig, plen);
	for (size_t i = 24; i + 4 + plen <= len && !found; i++) {
		if (!memcmp(buf + i, pat, 4 + plen)) {
			memcpy(buf + i + 4, c->path, plen);   /* "/\\0" has its NUL copied too */
			found = true;
		}
	}
	CHECK(found, "no %s node in the sample", c->orig);
	refix_checksum(buf, len);
	int r = try_decode(buf, len, why, sizeof(why));
	CHECK(r != 0 && strstr(why, c->expect), "got %d '%s', expected '%s'", r, why, c->expect);
	free(buf);
}

/* The file: a good one loads; garbage is kept aside as tree.bad and the store starts empty;
 * none at all is no error. */
static void test_file(struct unit *u, const void *arg)
{
	struct xs_place p;
	struct xs_guest g;
	char bad[128];
	struct stat st;

	(void)arg;
	if (!xs_place_init(u, &p, "xs-persist") || !xs_guest_init(u, &g))
		return;
	struct xenstored *xsd = xs_persist_start(u, p.snap, 0);
	xs_mem_conn(xsd, 0, true);
	struct xs_answer a;
	xs_do(xsd, xsd->conns, XS_WRITE, 0, "/kept|yes", &a);
	loop_commit(xsd);
	CHECK(stat(p.snap, &st) == 0 && (st.st_mode & 0777) == 0600, "snapshot written, mode 0600");
	xs_persist_die(xsd);
	xsd = xs_persist_start(u, p.snap, 1);
	CHECK(tree_lookup(&xsd->tree, "/kept") != NULL, "/kept came back");
	xs_persist_die(xsd);

	int fd = open(p.snap, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "XNTHXS01garbage", 15) == 15, "garbage written");
	close(fd);
	xsd = xs_persist_start(u, p.snap, -1);
	snprintf(bad, sizeof(bad), "%s.bad", p.snap);
	CHECK(stat(bad, &st) == 0, "no %s", bad);
	CHECK(tree_lookup(&xsd->tree, "/kept") == NULL, "a corrupt snapshot was half loaded");
	CHECK(tree_lookup(&xsd->tree, "/tool/xenstored") != NULL, "the empty store lacks /tool");
	CHECK(xsd->persist.enabled, "persistence went off");
	loop_commit(xsd);
	xs_persist_die(xsd);
	xsd = xs_persist_start(u, p.snap, 1);      /* what was written after the bad one loads */
	xs_persist_die(xsd);
	xs_guest_free(&g);
	xs_place_free(&p);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "round-trip", test_round_trip, NULL);
	unit_case(&u, "ring-resumes", test_ring_resumes, NULL);
	unit_case(&u, "output-kept-once", test_output_kept_once, NULL);
	unit_case(&u, "transactions-lost", test_transactions_lost, NULL);
	unit_case(&u, "awaiting-expires", test_awaiting_expires, NULL);
	unit_case(&u, "sample-loads", test_sample_loads, NULL);
	unit_case(&u, "truncated", test_truncated, NULL);
	unit_case(&u, "every-byte", test_every_byte, NULL);
	for (size_t i = 0; i < sizeof(crafted) / sizeof(crafted[0]); i++)
		unit_case(&u, crafted[i].name, test_crafted, &crafted[i]);
	unit_case(&u, "file", test_file, NULL);
	return unit_finish(&u);
}
