/* Transactions.
 *
 * How it works
 * ------------
 * TRANSACTION_START copies the whole store (as xenstore.txt describes it: "the whole db is
 * copied"); the transaction's requests then read and write that copy, so they see a consistent
 * snapshot plus their own changes, and nobody else sees those changes until the commit.
 *
 * Conflicts are found with generation counts, as Xen's xenstored does.  There is one global
 * counter G; every change to a node (its value, permissions, creation, or its list of children)
 * stamps the node with ++G.  The copy keeps the stamps.  The first time a transaction uses a node
 * it notes the stamp it saw (0 if the node did not exist).  At TRANSACTION_END "T" each noted
 * node is looked up in the live store: if its stamp differs (or it appeared, or vanished) the
 * answer is EAGAIN and nothing is applied.  Otherwise every node the transaction changed is
 * written to the live store, parents before children, and the queued watch events fire.
 *
 * What is noted: nodes read (READ, DIRECTORY, GET_PERMS) and nodes written, created or removed
 * (both kinds are checked: the brief of this store is that a commit fails if anything the
 * transaction read or wrote was changed by someone else).  The existing parent under which a
 * transaction creates a node is noted for existence only: a sibling created meanwhile is not a
 * conflict, the parent disappearing is.
 *
 * Examples (gen(X) is X's stamp; T1, T2 transactions; "live" is the committed store):
 *
 * 1. No conflict.  gen(A) = 3.  T1 reads A (notes 3), writes B (notes B's stamp, say 4).
 *    Nobody else touches A or B.  Commit: A still 3, B still 4: B is copied to live.  OK.
 *
 * 2. Someone writes what T1 read.  T1 reads A (notes 3).  A Dom0 client writes A: gen(A) = 9.
 *    Commit: 3 != 9: EAGAIN.  The client retries the whole transaction, as xenbus clients do.
 *
 * 3. Someone removes what T1 read.  T1 reads A (notes 3); A is removed from live.  Commit: A is
 *    absent (0) != 3: EAGAIN.  Likewise if T1 noted A as absent (it read A and got ENOENT, or
 *    created it) and someone else created A meanwhile: 0 != stamp: EAGAIN.
 *
 * 4. Two transactions writing the same node.  T1 and T2 both start with gen(A) = 3; each writes
 *    A (each notes 3).  T1 commits first: A goes live with gen(A) = 10.  T2 commits: 3 != 10:
 *    EAGAIN.  Exactly one of them wins.  (The Python client in tests/system/xenstore.sh shows
 *    this against the daemon.)
 *
 * 5. Creating siblings.  T1 creates /d/x, T2 creates /d/y; /d exists.  Each notes its new node
 *    as absent and /d for existence.  Both commit: /d exists, /d/x and /d/y were absent: both OK,
 *    and /d ends with both children (children are never copied from a transaction; they follow
 *    from the nodes created and removed).
 *
 * 6. A directory listing.  T1 lists /d (notes gen(/d) = 5).  Someone adds /d/z: gen(/d) = 11.
 *    T1's commit gets EAGAIN, because what it listed is no longer true.
 *
 * Costs: a copy of the store per transaction (bounded by the transactions quota per domain);
 * each noted node is checked once at commit.  Watch events are queued and fire only on a
 * successful commit; an aborted or failed transaction fires nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "xenstore/conn.h"
#include "xenstore/domain.h"
#include "xenstore/transaction.h"

struct tx_access {
	struct tx_access *next;
	char *path;
	uint64_t gen;           /* seen at first use; 0 = absent */
	unsigned int how;       /* TX_* bits, accumulated */
};

struct tx_event {
	struct tx_event *next;
	enum watch_match match;
	char path[];
};

struct xs_tx *tx_lookup(struct xs_conn *c, uint32_t id)
{
	for (struct xs_tx *t = c->txs; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

void tx_note(struct xs_tx *tx, const char *path, uint64_t gen, unsigned int how)
{
	struct tx_access *a;

	for (a = tx->accessed; a; a = a->next) {
		if (!strcmp(a->path, path)) {
			/* A later full use upgrades an existence-only note. */
			if ((a->how & TX_EXISTS) && !(how & TX_EXISTS))
				a->how &= ~TX_EXISTS;
			a->how |= how & TX_MODIFIED;
			return;
		}
	}
	a = calloc(1, sizeof(*a));
	if (!a || !(a->path = strdup(path))) {
		/* Cannot track it: make the commit fail rather than miss a conflict. */
		free(a);
		tx->nodes_delta = INT32_MIN;
		return;
	}
	a->gen = gen;
	a->how = how;
	a->next = tx->accessed;
	tx->accessed = a;
}

void tx_queue_event(struct xs_tx *tx, const char *path, enum watch_match m)
{
	size_t len = strlen(path) + 1;
	struct tx_event *e = malloc(sizeof(*e) + len);

	if (!e)
		return;
	e->next = NULL;
	e->match = m;
	memcpy(e->path, path, len);
	*tx->events_tail = e;
	tx->events_tail = &e->next;
}

static void tx_free(struct xenstored *xsd, struct xs_tx *tx)
{
	(void)xsd;
	while (tx->accessed) {
		struct tx_access *a = tx->accessed;
		tx->accessed = a->next;
		free(a->path);
		free(a);
	}
	while (tx->events) {
		struct tx_event *e = tx->events;
		tx->events = e->next;
		free(e);
	}
	tree_free(&tx->tree);
	free(tx);
}

/* Unlinks tx from its connection and frees it. */
static void tx_end(struct xenstored *xsd, struct xs_conn *c, struct xs_tx *tx)
{
	for (struct xs_tx **p = &c->txs; *p; p = &(*p)->next) {
		if (*p == tx) {
			*p = tx->next;
			break;
		}
	}
	if (c->dom && c->dom->transactions)
		c->dom->transactions--;
	tx_free(xsd, tx);
}

void tx_drop_all(struct xenstored *xsd, struct xs_conn *c)
{
	while (c->txs)
		tx_end(xsd, c, c->txs);
}

static int by_path(const void *a, const void *b)
{
	const struct tx_access *x = *(struct tx_access *const *)a, *y = *(struct tx_access *const *)b;

	return strcmp(x->path, y->path);
}

/* Makes the live node at a->path what the transaction's copy says. */
static int apply_one(struct xenstored *xsd, struct xs_tx *tx, const struct tx_access *a)
{
	struct xs_node *tn = tree_lookup(&tx->tree, a->path);
	struct xs_node *ln = tree_lookup(&xsd->tree, a->path);

	if (!tn) {
		if (ln && ln->parent)
			tree_remove(&xsd->tree, ln, NULL, NULL);
		return 0;
	}
	if (!ln) {
		ln = tree_create(&xsd->tree, a->path, NULL, NULL, NULL);
		if (!ln)
			return ENOMEM;
	}
	if (tree_set_value(&xsd->tree, ln, tn->value, tn->len) ||
	    tree_set_perms(&xsd->tree, ln, tn->perms, tn->n_perms))
		return ENOMEM;
	return 0;
}

int tx_commit(struct xenstored *xsd, struct xs_tx *tx)
{
	size_t n_mod = 0;

	if (tx->nodes_delta == INT32_MIN)
		return ENOMEM;
	for (struct tx_access *a = tx->accessed; a; a = a->next) {
		struct xs_node *ln = tree_lookup(&xsd->tree, a->path);
		bool conflict = (a->how & TX_EXISTS) ? !ln : (ln ? ln->gen : 0) != a->gen;
		if (conflict)
			return EAGAIN;
		if (a->how & TX_MODIFIED)
			n_mod++;
	}
	if (n_mod) {
		struct tx_access **mod = malloc(n_mod * sizeof(*mod));
		size_t i = 0;
		if (!mod)
			return ENOMEM;
		for (struct tx_access *a = tx->accessed; a; a = a->next)
			if (a->how & TX_MODIFIED)
				mod[i++] = a;
		/* A parent's path sorts before its children's: parents are made first, and a removed
		 * subtree goes before anything below it would be looked at. */
		qsort(mod, n_mod, sizeof(*mod), by_path);
		int err = 0;
		for (i = 0; i < n_mod && !err; i++)
			err = apply_one(xsd, tx, mod[i]);
		free(mod);
		if (err) {
			LOG("transaction %u: applying failed half-way: %s", tx->id, strerror(err));
			return err;
		}
	}
	for (struct tx_event *e = tx->events; e; e = e->next)
		watch_fire(xsd, NULL, e->path, e->match);
	return 0;
}

int do_transaction_start(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	char id[16];
	struct xs_tx *tx;

	if (req->tx)
		return EBUSY;     /* no nested transactions */
	if (c->dom && domain_over(c, c->dom->transactions, 1, xsd->quota.transactions))
		return ENOSPC;
	tx = calloc(1, sizeof(*tx));
	if (!tx)
		return ENOMEM;
	if (tree_clone(&tx->tree, &xsd->tree)) {
		free(tx);
		return ENOMEM;
	}
	tx->conn = c;
	tx->events_tail = &tx->events;
	do {
		tx->id = c->next_tx_id++;
	} while (tx->id == 0 || tx_lookup(c, tx->id) || tx_is_lost(c, tx->id));
	tx->next = c->txs;
	c->txs = tx;
	if (c->dom)
		c->dom->transactions++;
	int n = snprintf(id, sizeof(id), "%u", tx->id);
	return xs_reply(xsd, c, req, id, (unsigned int)n + 1);
}

bool tx_is_lost(const struct xs_conn *c, uint32_t id)
{
	for (unsigned int i = 0; i < c->n_lost_tx; i++)
		if (c->lost_tx[i] == id)
			return true;
	return false;
}

int tx_lost(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	unsigned int i;

	for (i = 0; i < c->n_lost_tx && c->lost_tx[i] != req->hdr.tx_id; i++)
		;
	if (i == c->n_lost_tx)
		return ENOENT;
	if (req->hdr.type != XS_TRANSACTION_END)
		return EAGAIN;
	const char *arg = xs_onearg(req);
	if (!arg || (strcmp(arg, "T") && strcmp(arg, "F")))
		return EINVAL;
	c->lost_tx[i] = c->lost_tx[--c->n_lost_tx];
	if (c->snapshot_dirty)
		*c->snapshot_dirty = true;
	return strcmp(arg, "F") ? EAGAIN : xs_reply_ok(xsd, c, req);
}

int do_transaction_end(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	const char *arg = xs_onearg(req);
	struct xs_tx *tx = req->tx;
	int err = 0;

	if (!arg || (strcmp(arg, "T") && strcmp(arg, "F")))
		return EINVAL;
	if (!tx)
		return ENOENT;
	if (!strcmp(arg, "T"))
		err = tx_commit(xsd, tx);
	req->tx = NULL;
	tx_end(xsd, c, tx);
	return err ? err : xs_reply_ok(xsd, c, req);
}
