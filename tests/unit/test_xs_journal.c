/* xenstored's journal (src/xenstore/journal.c) behind the snapshot (persist.c): a store changed
 * at random and "killed" at random points (the process dies: nothing more is written, nothing
 * closed cleanly) reloads to exactly what its last commit point had acknowledged; a torn last
 * record is dropped and what came before kept; a damaged record before the end keeps the journal
 * aside and the store is the snapshot plus the records before the damage (never a half-applied
 * record); the journal is compacted into a fresh snapshot once it outgrows it; and a guest's ring
 * recorded only in the journal resumes as it does from a snapshot. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "xs_persist_harness.h"
#include "xenstore/codec.h"
#include "xenstore/journal.h"
#include "xenstore/loop.h"
#include "xenstore/persist.h"
#include "xenstore/ring.h"

#define DOMID 5

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* ---- what a commit point acknowledged, and comparing a reloaded store with it ---- */

struct acked {
	struct xs_tree tree;
	uint64_t generation;
	unsigned int nodes_of_7;
};

static void ack(struct acked *a, struct xenstored *xsd)
{
	struct xs_domain *d = domain_get(xsd, 7, false);

	tree_free(&a->tree);
	tree_clone(&a->tree, &xsd->tree);
	a->generation = xsd->generation;
	a->nodes_of_7 = d ? d->nodes : 0;
}

struct compare {
	struct unit *u;
	const struct xs_tree *other;
	const char *when;
	unsigned int differences;
};

static int compare_node(void *arg, struct xs_node *n)
{
	struct compare *c = arg;
	char path[XS_PATH_BUF];

	tree_path(n, path, sizeof(path));
	const struct xs_node *m = tree_lookup(c->other, path);
	bool same = m && m->len == n->len && !memcmp(m->value, n->value, n->len) &&
		    m->gen == n->gen && m->n_perms == n->n_perms &&
		    m->n_children == n->n_children;
	for (unsigned int i = 0; same && i < n->n_perms; i++)
		same = m->perms[i].domid == n->perms[i].domid && m->perms[i].perms == n->perms[i].perms;
	for (size_t i = 0; same && i < n->n_children; i++)
		same = !strcmp(m->children[i]->name, n->children[i]->name);
	if (!same && c->differences++ < 3) {
		struct unit *u = c->u;
		CHECK(0, "%s: %s differs after the reload (%s)", c->when, path,
		      m ? "value, permissions, generation or children" : "missing");
	}
	return 0;
}

static void check_same(struct unit *u, const struct acked *a, struct xenstored *xsd,
		       const char *when)
{
	struct compare c = { .u = u, .other = &xsd->tree, .when = when };
	struct xs_domain *d = domain_get(xsd, 7, false);

	tree_walk(a->tree.root, compare_node, &c);
	CHECK(tree_count(a->tree.root) == tree_count(xsd->tree.root), "%s: %zu nodes, acknowledged %zu",
	      when, tree_count(xsd->tree.root), tree_count(a->tree.root));
	CHECK(xsd->generation == a->generation, "%s: generation %llu, acknowledged %llu", when,
	      (unsigned long long)xsd->generation, (unsigned long long)a->generation);
	CHECK((d ? d->nodes : 0) == a->nodes_of_7, "%s: domain 7 owns %u nodes, acknowledged %u",
	      when, d ? d->nodes : 0, a->nodes_of_7);
}

/* ---- random changes ---- */

static uint32_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 16);
}

static void random_path(uint64_t *s, char *out, size_t len)
{
	int depth = 1 + (int)(next(s) % 3);
	size_t at = (size_t)snprintf(out, len, "/t");

	for (int i = 0; i < depth; i++)
		at += (size_t)snprintf(out + at, len - at, "/%c%u", "abc"[i], next(s) % 4);
}

/* One request from Dom0 or domain 7, of a kind chosen at random. */
static void random_change(struct xenstored *xsd, struct xs_conn *dom0, struct xs_conn *dom7,
			  uint64_t *s)
{
	char path[64], spec[3200];
	struct xs_answer a;

	random_path(s, path, sizeof(path));
	switch (next(s) % 8) {
	case 0: case 1: case 2: {
		/* Sometimes a long value, so the journal outgrows its bound. */
		size_t vlen = next(s) % 4 == 0 ? 3000 : next(s) % 12;
		int at = snprintf(spec, sizeof(spec), "%s|", path);
		for (size_t i = 0; i < vlen; i++)
			spec[at + i] = (char)('a' + next(s) % 26);
		spec[at + vlen] = '\0';
		xs_do(xsd, dom0, XS_WRITE, 0, spec, &a);
		break;
	}
	case 3:
		snprintf(spec, sizeof(spec), "%s|", path);
		xs_do(xsd, dom0, XS_RM, 0, spec, &a);
		break;
	case 4:
		snprintf(spec, sizeof(spec), "%s|", path);
		xs_do(xsd, dom0, XS_MKDIR, 0, spec, &a);
		break;
	case 5:
		snprintf(spec, sizeof(spec), "%s|n%u|r7|", path, next(s) % 2 ? 0 : 7);
		xs_do(xsd, dom0, XS_SET_PERMS, 0, spec, &a);
		break;
	case 6: {
		/* A transaction of two writes. */
		xs_do(xsd, dom0, XS_TRANSACTION_START, 0, "|", &a);
		uint32_t tx = (uint32_t)strtoul(a.body, NULL, 10);
		snprintf(spec, sizeof(spec), "%s|tx", path);
		xs_do(xsd, dom0, XS_WRITE, tx, spec, &a);
		random_path(s, path, sizeof(path));
		snprintf(spec, sizeof(spec), "%s/in-tx|1", path);
		xs_do(xsd, dom0, XS_WRITE, tx, spec, &a);
		xs_do(xsd, dom0, XS_TRANSACTION_END, tx, next(s) % 4 ? "T|" : "F|", &a);
		break;
	}
	default:
		/* Domain 7 in its home: its node quota counts what it creates. */
		snprintf(spec, sizeof(spec), "/local/domain/7/k%u|%u", next(s) % 6, next(s));
		xs_do(xsd, dom7, next(s) % 3 ? XS_WRITE : XS_RM, 0,
		      next(s) % 3 ? spec : "/local/domain/7/k1|", &a);
		break;
	}
}

static void test_killed_at_random(struct unit *u, const void *arg)
{
	struct xs_place p;
	struct xs_answer a;
	unsigned int compactions = 0;

	(void)arg;
	for (uint64_t seed = 1; seed <= 12; seed++) {
		if (!xs_place_init(u, &p, "xs-journal"))
			return;
		uint64_t s = seed * 0x9e3779b97f4a7c15ull;
		struct acked acked = { 0 };
		struct xenstored *xsd = xs_persist_start(u, p.snap, 0);
		unsigned int kill_at = 200 + next(&s) % 1000, done = 0;
		for (unsigned int life = 0; life < 3; life++) {
			struct xs_conn *dom0 = xs_mem_conn(xsd, 0, true);
			struct xs_conn *dom7 = xs_mem_conn(xsd, 7, false);
			xs_do(xsd, dom0, XS_WRITE, 0, "/local/domain/7/name|seven", &a);
			xs_do(xsd, dom0, XS_SET_PERMS, 0, "/local/domain/7|n7|", &a);
			loop_commit(xsd);
			ack(&acked, xsd);
			while (done < kill_at) {
				random_change(xsd, dom0, dom7, &s);
				done++;
				if (next(&s) % 3 == 0) {
					loop_commit(xsd);
					ack(&acked, xsd);
				}
			}
			unsigned long writes = xsd->persist.writes;
			compactions += writes > 1;
			xs_persist_die(xsd);      /* changes since the last commit point were never answered */
			char when[64];
			snprintf(when, sizeof(when), "seed %llu, life %u, after %u changes",
				 (unsigned long long)seed, life, done);
			xsd = xs_persist_start(u, p.snap, 1);
			check_same(u, &acked, xsd, when);
			CHECK(file_size(p.bad) < 0, "%s: the journal was kept aside", when);
			kill_at += 200 + next(&s) % 600;
		}
		xs_persist_die(xsd);
		tree_free(&acked.tree);
		xs_place_free(&p);
	}
	CHECK(compactions > 0, "no run outgrew the journal's bound: compaction untested here");
}

/* ---- damaged journals ---- */

/* A store with a snapshot and a journal of three records: /r1, /r2, /r3 written one per round.
 * acked[i] is the store after i records. */
static struct xenstored *three_records(struct unit *u, struct xs_place *p, struct acked acked[4])
{
	struct xs_answer a;
	struct xenstored *xsd = xs_persist_start(u, p->snap, 0);
	struct xs_conn *dom0 = xs_mem_conn(xsd, 0, true);

	xs_do(xsd, dom0, XS_WRITE, 0, "/base|0", &a);
	loop_commit(xsd);       /* the snapshot */
	ack(&acked[0], xsd);
	for (int i = 1; i <= 3; i++) {
		char spec[32];
		snprintf(spec, sizeof(spec), "/r%d/x|%d", i, i);
		xs_do(xsd, dom0, XS_WRITE, 0, spec, &a);
		loop_commit(xsd);
		ack(&acked[i], xsd);
	}
	unsigned long records;
	unsigned long long bytes;
	journal_stats(xsd->persist.journal, &records, &bytes);
	CHECK(records == 3 && xsd->persist.writes == 1, "%lu records and %lu snapshots, expected 3 "
	      "and 1", records, xsd->persist.writes);
	return xsd;
}

/* Where record i (0-based) starts in the journal file. */
static long record_at(const char *journal, int i)
{
	int fd = open(journal, O_RDONLY);
	long at = 8 + XS_JOURNAL_TIE;
	uint32_t len;

	for (; fd >= 0 && i > 0; i--) {
		if (pread(fd, &len, 4, at) != 4)
			break;
		at += 12 + len;
	}
	if (fd >= 0)
		close(fd);
	return at;
}

static void free_acked(struct acked acked[4])
{
	for (int i = 0; i < 4; i++)
		tree_free(&acked[i].tree);
}

static void test_torn_tail(struct unit *u, const void *arg)
{
	struct xs_place p;
	struct acked acked[4] = { 0 };

	(void)arg;
	if (!xs_place_init(u, &p, "xs-journal"))
		return;
	xs_persist_die(three_records(u, &p, acked));
	/* A death mid-append: the last record cut anywhere in it. */
	long last = record_at(p.journal, 2), end = file_size(p.journal);
	for (long cut = end - 1; cut > last; cut -= (cut - last) / 3 + 1) {
		CHECK_INT(truncate(p.journal, cut), 0);
		struct xenstored *xsd = xs_persist_start(u, p.snap, 1);
		check_same(u, &acked[2], xsd, "the last record torn");
		CHECK(file_size(p.bad) < 0, "a torn tail kept the journal aside");
		xs_persist_die(xsd);
	}
	/* Its header alone cut: the same. */
	CHECK_INT(truncate(p.journal, last + 5), 0);
	struct xenstored *xsd = xs_persist_start(u, p.snap, 1);
	check_same(u, &acked[2], xsd, "the last record's header torn");
	/* The next commit point writes a snapshot of that and starts the journal again. */
	loop_commit(xsd);
	CHECK_INT(xsd->persist.writes, 1);
	CHECK_INT(file_size(p.journal), 8 + XS_JOURNAL_TIE);
	xs_persist_die(xsd);
	xsd = xs_persist_start(u, p.snap, 1);
	check_same(u, &acked[2], xsd, "after the compaction of a torn journal");
	xs_persist_die(xsd);
	free_acked(acked);
	xs_place_free(&p);
}

static void flip(const char *path, long at)
{
	int fd = open(path, O_RDWR);
	char c;

	if (fd < 0)
		return;
	if (pread(fd, &c, 1, at) == 1) {
		c ^= 0x40;
		if (pwrite(fd, &c, 1, at) != 1)
			c = 0;
	}
	close(fd);
}

static void test_corrupt_middle(struct unit *u, const void *arg)
{
	struct xs_place p;
	struct acked acked[4] = { 0 };

	(void)arg;
	for (int damaged = 0; damaged < 2; damaged++) {
		if (!xs_place_init(u, &p, "xs-journal"))
			return;
		xs_persist_die(three_records(u, &p, acked));
		/* A byte of record `damaged`'s body (its path), records after it intact. */
		flip(p.journal, record_at(p.journal, damaged) + 12 + 8 + 1 + 4 + 1);
		struct xenstored *xsd = xs_persist_start(u, p.snap, 1);
		check_same(u, &acked[damaged], xsd, damaged ? "record 2 damaged" : "record 1 damaged");
		CHECK(file_size(p.bad) > 0, "the damaged journal was not kept aside as %s", p.bad);
		CHECK(file_size(p.journal) < 0, "the damaged journal is still in place");
		xs_persist_die(xsd);
		free_acked(acked);
		xs_place_free(&p);
	}
}

/* A record whose checksum is right but which does not fit the store (a bug's or an editor's):
 * nothing of it is applied, not even its operations before the one that fails. */
static void test_checksummed_misfit(struct unit *u, const void *arg)
{
	struct xs_place p;
	struct acked acked[4] = { 0 };
	struct xs_enc e = { 0 };
	static const char zero[12];

	(void)arg;
	if (!xs_place_init(u, &p, "xs-journal"))
		return;
	struct xenstored *xsd = three_records(u, &p, acked);
	uint64_t generation = xsd->generation + 10;
	xs_persist_die(xsd);
	enc_put(&e, zero, sizeof(zero));
	enc_u64(&e, generation);
	enc_u8(&e, 'N');                       /* a fine new node ... */
	enc_str(&e, "/partial", 8);
	enc_str(&e, "v", 1);
	enc_u64(&e, generation);
	enc_u32(&e, 1);
	enc_u32(&e, 0);
	enc_u8(&e, 0);
	enc_u8(&e, 'R');                       /* ... then a node that is not there */
	enc_str(&e, "/absent", 7);
	uint32_t body = (uint32_t)(e.len - 12);
	uint64_t sum = xs_fnv1a(e.buf + 12, body);
	memcpy(e.buf, &body, 4);
	memcpy(e.buf + 4, &sum, 8);
	int fd = open(p.journal, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, e.buf, e.len) == (ssize_t)e.len, "appending the record");
	close(fd);
	free(e.buf);
	xsd = xs_persist_start(u, p.snap, 1);
	check_same(u, &acked[3], xsd, "a checksummed record that does not fit");
	CHECK(tree_lookup(&xsd->tree, "/partial") == NULL, "half of the bad record was applied");
	CHECK(file_size(p.bad) > 0, "the journal was not kept aside");
	xs_persist_die(xsd);
	free_acked(acked);
	xs_place_free(&p);
}

/* A journal that follows another snapshot (the snapshot was rewritten and the process died
 * before the journal started again) is not applied. */
static void test_untied(struct unit *u, const void *arg)
{
	struct xs_place p;
	struct acked acked[4] = { 0 };

	(void)arg;
	if (!xs_place_init(u, &p, "xs-journal"))
		return;
	xs_persist_die(three_records(u, &p, acked));
	char old[160];
	snprintf(old, sizeof(old), "%s.old", p.journal);
	CHECK_INT(rename(p.journal, old), 0);
	struct xenstored *xsd = xs_persist_start(u, p.snap, 1);
	loop_commit(xsd);             /* a new snapshot, with the three records in it */
	xs_persist_die(xsd);
	CHECK_INT(rename(old, p.journal), 0);     /* the old journal back beside it */
	xsd = xs_persist_start(u, p.snap, 1);
	check_same(u, &acked[3], xsd, "an old journal beside a newer snapshot");
	CHECK(file_size(p.bad) < 0, "an untied journal was kept aside");
	xs_persist_die(xsd);
	free_acked(acked);
	xs_place_free(&p);
}

/* ---- compaction ---- */

static void test_compaction(struct unit *u, const void *arg)
{
	struct xs_place p;
	struct xs_answer a;
	struct acked acked = { 0 };
	char spec[1100];

	(void)arg;
	if (!xs_place_init(u, &p, "xs-journal"))
		return;
	struct xenstored *xsd = xs_persist_start(u, p.snap, 0);
	struct xs_conn *dom0 = xs_mem_conn(xsd, 0, true);
	int at = snprintf(spec, sizeof(spec), "/big|");
	memset(spec + at, 'v', 1000);
	spec[at + 1000] = '\0';
	long longest = 0;
	unsigned int rounds = 0;
	while (xsd->persist.writes < 3 && rounds < 10000) {
		spec[at] = (char)('a' + rounds % 26);
		xs_do(xsd, dom0, XS_WRITE, 0, spec, &a);
		loop_commit(xsd);
		rounds++;
		long size = file_size(p.journal);
		if (size > longest)
			longest = size;
	}
	CHECK(xsd->persist.writes == 3, "%lu snapshots after %u rounds", xsd->persist.writes, rounds);
	/* Bounded by max(snapshot, XS_JOURNAL_MIN) plus the record that crossed it. */
	CHECK(longest <= (long)XS_JOURNAL_MIN + 2048, "the journal grew to %ld bytes", longest);
	CHECK(rounds > 2 * XS_JOURNAL_MIN / 1100, "compacted after only %u rounds", rounds);
	ack(&acked, xsd);
	xs_persist_die(xsd);
	xsd = xs_persist_start(u, p.snap, 1);
	check_same(u, &acked, xsd, "after compactions");
	xs_persist_die(xsd);
	tree_free(&acked.tree);
	xs_place_free(&p);
}

/* ---- a guest's ring, recorded in the journal only ---- */

static void test_ring_from_journal(struct unit *u, const void *arg)
{
	struct xs_place p;
	struct xs_guest g, other;
	struct xs_answer a;
	char got[1024];

	(void)arg;
	if (!xs_place_init(u, &p, "xs-journal") || !xs_guest_init(u, &g) || !xs_guest_init(u, &other))
		return;
	struct xenstored *xsd = xs_persist_start(u, p.snap, 0);
	struct xs_conn *dom0 = xs_mem_conn(xsd, 0, true);
	loop_commit(xsd);       /* the snapshot: no domain in it */
	xs_do(xsd, dom0, XS_WRITE, 0, "/local/domain/5/name|guest", &a);
	xs_do(xsd, dom0, XS_SET_PERMS, 0, "/local/domain/5|n5|", &a);
	xs_guest_introduce(u, xsd, &g, DOMID);
	xs_guest_introduce(u, xsd, &other, 6);
	loop_commit(xsd);
	xs_guest_send(g.page, XS_WRITE, 1, 0, "data/x|1");
	xs_guest_send(g.page, XS_WATCH, 2, 0, "data|tok|");
	xs_serve(xsd, DOMID);
	xs_guest_recv(g.page, got, sizeof(got), false);
	CHECK_STR(got, "WRITE 1;WATCH 2;WATCH_EVENT 0;");
	CHECK_INT(domain_release(xsd, 6), 0);
	loop_commit(xsd);
	/* Read but not committed when the process dies: read again by the next one. */
	xs_guest_send(g.page, XS_WRITE, 3, 0, "data/y|2");
	ring_service(xsd, domain_get(xsd, DOMID, false)->ring);
	CHECK_INT(xsd->persist.writes, 1);      /* all of it in the journal */
	xs_persist_die(xsd);

	xsd = xs_persist_start(u, p.snap, 1);
	struct xs_domain *d = domain_get(xsd, DOMID, false), *d6 = domain_get(xsd, 6, false);
	CHECK(d && d->awaiting && !d->ring, "domain 5 awaits its VMM");
	CHECK(!domain_introduced(d6), "domain 6 was released, yet it came back");
	CHECK_INT(d ? d->watches : 0, 1);
	dom0 = xs_mem_conn(xsd, 0, true);
	xs_do(xsd, dom0, XS_READ, 0, "/local/domain/5/data/x|", &a);
	CHECK_STR(xs_text(&a), "1");
	xs_guest_introduce(u, xsd, &g, DOMID);
	xs_serve(xsd, DOMID);
	xs_guest_recv(g.page, got, sizeof(got), false);
	/* The watch fires on its return, the request read again is answered once. */
	CHECK_STR(got, "WATCH_EVENT 0;WATCH_EVENT 0;WRITE 3;");
	CHECK_INT(g.page->req_cons, g.page->req_prod);
	/* Served again and killed again: the re-introduction is in the journal too. */
	xs_guest_send(g.page, XS_READ, 4, 0, "data/y|");
	xs_serve(xsd, DOMID);
	xs_guest_recv(g.page, got, sizeof(got), false);
	CHECK_STR(got, "READ 4;");
	xs_persist_die(xsd);
	xsd = xs_persist_start(u, p.snap, 1);
	d = domain_get(xsd, DOMID, false);
	CHECK(d && d->awaiting && d->awaiting->req_cons == g.page->req_cons,
	      "the resumed ring's req_cons was not kept");
	xs_persist_die(xsd);
	xs_guest_free(&g);
	xs_guest_free(&other);
	xs_place_free(&p);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "killed-at-random", test_killed_at_random, NULL);
	unit_case(&u, "torn-tail", test_torn_tail, NULL);
	unit_case(&u, "corrupt-middle", test_corrupt_middle, NULL);
	unit_case(&u, "checksummed-misfit", test_checksummed_misfit, NULL);
	unit_case(&u, "untied", test_untied, NULL);
	unit_case(&u, "compaction", test_compaction, NULL);
	unit_case(&u, "ring-from-journal", test_ring_from_journal, NULL);
	return unit_finish(&u);
}
