/* Transactions (transaction.c opens with how conflicts are detected). */
#ifndef XENITH_XENSTORE_TRANSACTION_H
#define XENITH_XENSTORE_TRANSACTION_H

#include <stdint.h>

#include "xenstore/tree.h"
#include "xenstore/watch.h"
#include "xenstore/xenstored.h"

struct tx_access;
struct tx_event;

struct xs_tx {
	struct xs_tx *next;
	uint32_t id;                  /* connection-local, never 0 */
	struct xs_conn *conn;
	struct xs_tree tree;          /* the transaction's own copy of the store */
	struct tx_access *accessed;   /* what it read or changed, with the generation seen */
	struct tx_event *events, **events_tail;  /* watch events, fired at commit */
	int nodes_delta;              /* nodes the caller's domain gains if this commits */
};

/* How a node was used, for tx_note. */
#define TX_READ     0u   /* its value, permissions or children were looked at */
#define TX_MODIFIED 1u   /* changed, created or removed in the transaction */
#define TX_EXISTS   2u   /* only its existence mattered (the parent of a created node) */

struct xs_tx *tx_lookup(struct xs_conn *c, uint32_t id);
/* Records the first use of path in tx; gen is the generation seen then (0 = absent). */
void tx_note(struct xs_tx *tx, const char *path, uint64_t gen, unsigned int how);
void tx_queue_event(struct xs_tx *tx, const char *path, enum watch_match m);
/* Ends every transaction of c without committing. */
void tx_drop_all(struct xenstored *xsd, struct xs_conn *c);
/* Commits: EAGAIN if something it used changed meanwhile, else 0.  Frees nothing. */
int tx_commit(struct xenstored *xsd, struct xs_tx *tx);

/* A request naming a transaction a restart lost (resume.c): ending it forgets it (an abort is
 * OK; a commit is EAGAIN, so the guest starts it again, as after any conflict); any other
 * request in it is EAGAIN.  ENOENT for an id that was never lost. */
int tx_lost(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);
bool tx_is_lost(const struct xs_conn *c, uint32_t id);

int do_transaction_start(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);
int do_transaction_end(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);

#endif
