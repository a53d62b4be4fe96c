/* The journal (journal.h).  Why: rewriting the whole snapshot at every commit point costs the
 * size of the store per round (68 writes/s with 1000 domains' nodes, against 5,290 without
 * persistence); appending what the round changed costs what it changed.
 *
 * The change list: the tree tells us of every change as it happens (tree.h's hook, installed
 * once a snapshot holds everything before it), and each is encoded at once into the round's
 * record: a node's new state, a parent's new generation, a subtree removed.  A node changed twice
 * in a row (created, then given its value) keeps only its last state.  Domains are found at the
 * commit point: those introduced since the last record, those released (a bitmap of introduced
 * domids, compared), and those whose ring connection says its state changed (ring_changed, set
 * through the connection's snapshot_dirty); each gets its whole ring state, as the snapshot has it.
 *
 * The record goes out in one write() before the round's replies (persist.c keeps the order), so
 * whatever a client saw acknowledged is on file.  If the write fails or is short, the file is cut
 * back to its last whole record and the next commit point writes a snapshot instead, which holds
 * everything.  When the journal outgrows the snapshot (or XS_JOURNAL_MIN, whichever is larger)
 * the next commit point writes a snapshot and starts the journal again.
 *
 * Order on disk, and what a death at each point leaves:
 *   snapshot S1 + journal tied to S1 with records r1..rn     (each append: one write)
 *   compaction: S2 written to tree.tmp and renamed over tree, then the journal truncated and
 *   its header tied to S2 written.  Dead before the rename: S1 + its journal, whole.  Dead after:
 *   S2 + a journal tied to S1 (or empty, or a cut header): not S2's, so ignored (S2 has it all).
 *
 * Format (host byte order, docs/xenstored.md):
 *   header  "XNTHXJ01", the 16 bytes of the snapshot's header after its magic (payload length
 *           and checksum)
 *   record  u32 body length, u64 FNV-1a of the body, body:
 *             u64 the store's generation after this round, then operations, each a kind byte:
 *             'N' node record (persist.c's: path, value, generation, permissions)
 *             'G' str path, u64 generation     a parent whose list of children changed
 *             'R' str path                     the subtree removed
 *             'D' domain record (persist.c's)  introduced, or its ring state changed
 *             'X' u32 domid                    released
 *
 * Loading: records in order.  The last record cut short or failing its checksum is a death
 * mid-append: dropped (logged), all before kept.  A record failing its checksum with more bytes
 * after it, or a checksummed one that does not fit the store, is corruption: it and all after are
 * not applied (persist.c keeps the journal aside as .journal.bad; the store is the snapshot plus
 * the records before it, a state the store really had). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/error.h"
#include "xenstore/codec.h"
#include "xenstore/conn.h"
#include "xenstore/domain.h"
#include "xenstore/journal.h"
#include "xenstore/persist.h"
#include "xenstore/resume.h"

#define MAGIC "XNTHXJ01"
#define FILE_HEADER (8 + XS_JOURNAL_TIE)
#define RECORD_HEADER 12               /* u32 length, u64 checksum */
#define BODY_START (RECORD_HEADER + 8) /* then the generation */
#define DOMIDS 65536

struct xs_journal {
	char path[PATH_MAX + 16];
	int fd;                            /* O_APPEND; -1 until the first snapshot */
	bool broken;                       /* an append failed: a snapshot comes next */
	struct xs_enc round;               /* this round's record: header space, then operations */
	const struct xs_node *last_node;   /* the operation just encoded was its 'N' ... */
	size_t last_at;                    /* ... starting here */
	uint64_t generation;               /* the store's, as of the last record */
	unsigned long records;
	unsigned long long bytes;          /* the file's length */
	uint64_t introduced[DOMIDS / 64];  /* domids introduced as of the last record */
	uint64_t seen[DOMIDS / 64];        /* scratch for the commit point */
};

bool journal_path(char *out, size_t len, const char *snapshot)
{
	return (size_t)snprintf(out, len, "%s.journal", snapshot) < len;
}

struct xs_journal *journal_new(const char *snapshot)
{
	struct xs_journal *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->fd = -1;
	if (!journal_path(j->path, sizeof(j->path), snapshot)) {
		free(j);
		return NULL;
	}
	return j;
}

void journal_free(struct xs_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->round.buf);
	free(j);
}

void journal_stats(const struct xs_journal *j, unsigned long *records, unsigned long long *bytes)
{
	*records = j ? j->records : 0;
	*bytes = j ? j->bytes : 0;
}

bool journal_wants_snapshot(const struct xs_journal *j, unsigned long long snapshot_bytes)
{
	unsigned long long bound = snapshot_bytes > XS_JOURNAL_MIN ? snapshot_bytes : XS_JOURNAL_MIN;

	return j->fd < 0 || j->broken || j->bytes > bound;
}

static void round_reset(struct xs_journal *j)
{
	static const char zero[BODY_START];

	j->round.len = 0;
	j->round.oom = false;
	enc_put(&j->round, zero, sizeof(zero));
	j->last_node = NULL;
}

/* The tree hook: each change goes into the round's record as it happens. */
static void tree_changed(void *arg, const struct xs_node *n, enum xs_change what)
{
	struct xs_journal *j = arg;
	char path[XS_PATH_BUF];

	if (j->broken)
		return;        /* a snapshot comes next, with everything */
	if (what == XS_CHANGE_NODE && n == j->last_node)
		j->round.len = j->last_at;    /* its newest state replaces the one just recorded */
	j->last_node = NULL;
	size_t at = j->round.len;
	if (what == XS_CHANGE_NODE) {
		enc_u8(&j->round, 'N');
		persist_put_node(&j->round, n);
		j->last_node = n;
		j->last_at = at;
		return;
	}
	int len = tree_path(n, path, sizeof(path));
	if (len < 0) {
		j->round.oom = true;          /* cannot happen: paths are checked when made */
		return;
	}
	enc_u8(&j->round, what == XS_CHANGE_GEN ? 'G' : 'R');
	enc_str(&j->round, path, (size_t)len);
	if (what == XS_CHANGE_GEN)
		enc_u64(&j->round, n->gen);
}

static bool bit(const uint64_t *map, unsigned int domid)
{
	return map[domid / 64] >> (domid % 64) & 1;
}

int journal_start(struct xs_journal *j, struct xenstored *xsd, const void *tie)
{
	char header[FILE_HEADER];

	if (j->fd >= 0)
		close(j->fd);
	j->records = 0;
	j->bytes = 0;
	j->broken = true;           /* until the header is written */
	j->fd = open(j->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (j->fd < 0)
		return -errno;
	memcpy(header, MAGIC, 8);
	memcpy(header + 8, tie, XS_JOURNAL_TIE);
	ssize_t n = write(j->fd, header, sizeof(header));
	if (n != (ssize_t)sizeof(header))
		return n < 0 ? -errno : -EIO;
	j->bytes = sizeof(header);
	j->broken = false;
	/* Everything up to now is in the snapshot. */
	memset(j->introduced, 0, sizeof(j->introduced));
	for (struct xs_domain *d = xsd->domains; d; d = d->next) {
		if (!domain_introduced(d))
			continue;
		j->introduced[d->domid / 64] |= 1ull << (d->domid % 64);
		if (d->ring)
			d->ring->ring_changed = false;
	}
	round_reset(j);
	j->generation = xsd->generation;
	xsd->tree.changed = tree_changed;
	xsd->tree.changed_arg = j;
	return 0;
}

/* The domains' part of the round: introduced, changed, released. */
static void note_domains(struct xs_journal *j, struct xenstored *xsd)
{
	memset(j->seen, 0, sizeof(j->seen));
	for (struct xs_domain *d = xsd->domains; d; d = d->next) {
		if (!domain_introduced(d) || d->domid >= DOMIDS)
			continue;
		j->seen[d->domid / 64] |= 1ull << (d->domid % 64);
		bool changed = !bit(j->introduced, d->domid) || (d->ring && d->ring->ring_changed);
		if (d->ring)
			d->ring->ring_changed = false;
		if (changed) {
			enc_u8(&j->round, 'D');
			persist_put_domain(&j->round, d);
		}
	}
	for (unsigned int w = 0; w < DOMIDS / 64; w++) {
		for (uint64_t gone = j->introduced[w] & ~j->seen[w]; gone; gone &= gone - 1) {
			enc_u8(&j->round, 'X');
			enc_u32(&j->round, w * 64 + (unsigned int)__builtin_ctzll(gone));
		}
	}
	memcpy(j->introduced, j->seen, sizeof(j->introduced));
	j->last_node = NULL;
}

long journal_commit(struct xs_journal *j, struct xenstored *xsd)
{
	if (j->fd < 0 || j->broken)
		return -EBADF;
	note_domains(j, xsd);
	/* Transactions take generations from the same counter, so it can move with no node
	 * changed (an aborted one): recorded too, so the store comes back exactly as it was. */
	if (j->round.len == BODY_START && !j->round.oom && j->generation == xsd->generation)
		return 0;
	if (j->round.oom) {
		j->broken = true;
		return -ENOMEM;
	}
	uint32_t body = (uint32_t)(j->round.len - RECORD_HEADER);
	uint64_t generation = xsd->generation;
	memcpy(j->round.buf + RECORD_HEADER, &generation, 8);
	uint64_t sum = xs_fnv1a(j->round.buf + RECORD_HEADER, body);
	memcpy(j->round.buf, &body, 4);
	memcpy(j->round.buf + 4, &sum, 8);
	ssize_t n;
	do
		n = write(j->fd, j->round.buf, j->round.len);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)j->round.len) {
		int r = n < 0 ? -errno : -ENOSPC;
		/* A cut record must not sit before later ones: the file goes back to whole records. */
		if (ftruncate(j->fd, (off_t)j->bytes) < 0)
			LOG("journal %s: cutting back a failed append: %s", j->path, strerror(errno));
		j->broken = true;
		return r;
	}
	long len = (long)j->round.len;
	j->bytes += (unsigned long long)len;
	j->records++;
	j->generation = generation;
	round_reset(j);
	return len;
}

/* ---- loading ---- */

static bool op_node(struct xs_dec *d, struct xenstored *xsd, uint64_t generation)
{
	return persist_get_node(d, xsd, NODE_CHANGED, generation);
}

static struct xs_node *existing(struct xs_dec *d, struct xenstored *xsd, const char *what)
{
	char *path = dec_cstr(d, XENSTORE_ABS_PATH_MAX, what);

	if (!path)
		return NULL;
	struct xs_node *n = persist_path_ok(path) ? tree_lookup(&xsd->tree, path) : NULL;
	free(path);
	if (!n)
		dec_fail(d, "%s: no such node in the store", what);
	return n;
}

static bool op_generation(struct xs_dec *d, struct xenstored *xsd, uint64_t generation)
{
	uint64_t gen;
	struct xs_node *n = existing(d, xsd, "a generation's node");

	if (!n || !dec_u64(d, &gen, "a generation"))
		return false;
	if (gen > generation)
		return dec_fail(d, "%s newer than the store", "a node's generation");
	n->gen = gen;
	return true;
}

static bool op_remove(struct xs_dec *d, struct xenstored *xsd, uint64_t generation)
{
	struct xs_node *n = existing(d, xsd, "a removed node");

	(void)generation;
	if (!n)
		return false;
	if (!n->parent)
		return dec_fail(d, "%s: the root", "a removed node");
	uint64_t parent_gen = n->parent->gen;
	struct xs_node *parent = n->parent;
	tree_remove(&xsd->tree, n, NULL, NULL);
	parent->gen = parent_gen;     /* a 'G' record says what it became */
	return true;
}

static bool op_domain(struct xs_dec *d, struct xenstored *xsd, uint64_t generation)
{
	(void)generation;
	return persist_get_domain(d, xsd, true);
}

static bool op_release(struct xs_dec *d, struct xenstored *xsd, uint64_t generation)
{
	uint32_t domid;

	(void)generation;
	if (!dec_u32(d, &domid, "a released domain"))
		return false;
	struct xs_domain *dom = domain_get(xsd, domid, false);
	if (!dom || !dom->awaiting)
		return dec_fail(d, "%s was not introduced", "a released domain");
	resume_forget(dom);
	return true;
}

static const struct {
	uint8_t kind;
	bool (*apply)(struct xs_dec *d, struct xenstored *xsd, uint64_t generation);
} ops[] = {
	{ 'N', op_node },
	{ 'G', op_generation },
	{ 'R', op_remove },
	{ 'D', op_domain },
	{ 'X', op_release },
};

static bool apply_record(struct xenstored *xsd, const uint8_t *body, size_t len, char *why,
			 size_t whylen)
{
	struct xs_dec d = { .p = body, .left = len, .why = why, .whylen = whylen };
	uint64_t generation;

	if (!dec_u64(&d, &generation, "the generation"))
		return false;
	if (generation < xsd->generation)
		return dec_fail(&d, "%s older than the store before it", "the generation");
	while (d.left) {
		uint8_t kind = 0;
		size_t i;
		dec_u8(&d, &kind, "an operation");
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]) && ops[i].kind != kind; i++)
			;
		if (i == sizeof(ops) / sizeof(ops[0]))
			return dec_fail(&d, "%s of an unknown kind", "an operation");
		if (!ops[i].apply(&d, xsd, generation))
			return false;
	}
	xsd->generation = generation;
	return true;
}

enum journal_outcome journal_replay(struct xenstored *xsd, const void *data, size_t len,
				    const void *tie, unsigned long max_records,
				    struct journal_load *res)
{
	const uint8_t *p = data;
	size_t at = FILE_HEADER;

	memset(res, 0, sizeof(*res));
	if (len < FILE_HEADER || memcmp(p, MAGIC, 8)) {
		snprintf(res->why, sizeof(res->why), "no journal header (cut short, or not a journal)");
		return JOURNAL_UNTIED;
	}
	if (memcmp(p + 8, tie, XS_JOURNAL_TIE)) {
		snprintf(res->why, sizeof(res->why), "it follows another snapshot");
		return JOURNAL_UNTIED;
	}
	res->offset = at;
	while (at < len && res->records < max_records) {
		uint32_t body;
		uint64_t sum;
		size_t left = len - at;
		if (left < RECORD_HEADER) {
			snprintf(res->why, sizeof(res->why), "record %lu at byte %zu: its header is cut "
				 "short (%zu bytes)", res->records + 1, at, left);
			return JOURNAL_TORN;
		}
		memcpy(&body, p + at, 4);
		memcpy(&sum, p + at + 4, 8);
		if (body > left - RECORD_HEADER) {
			snprintf(res->why, sizeof(res->why), "record %lu at byte %zu: %u bytes long, %zu "
				 "left in the file", res->records + 1, at, body, left - RECORD_HEADER);
			return JOURNAL_TORN;
		}
		if (xs_fnv1a(p + at + RECORD_HEADER, body) != sum) {
			bool last = body == left - RECORD_HEADER;
			snprintf(res->why, sizeof(res->why), "record %lu at byte %zu: checksum mismatch%s",
				 res->records + 1, at, last ? " (the last one)" : ", records after it");
			return last ? JOURNAL_TORN : JOURNAL_CORRUPT;
		}
		char why[200] = "";
		if (!apply_record(xsd, p + at + RECORD_HEADER, body, why, sizeof(why))) {
			snprintf(res->why, sizeof(res->why), "record %lu at byte %zu: %s",
				 res->records + 1, at, why);
			return JOURNAL_CORRUPT_APPLIED;
		}
		at += RECORD_HEADER + body;
		res->records++;
		res->offset = at;
	}
	return JOURNAL_APPLIED;
}
