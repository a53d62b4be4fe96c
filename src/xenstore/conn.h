/* Connections.  Whatever carries the bytes (a Unix socket, a domain's shared ring, or memory in
 * unit tests and the fuzzer), a connection is the same: an input parser that collects one
 * xsd_sockmsg header and its payload at a time and hands the message to process_message, and an
 * output queue of replies and watch events that the transport drains as its peer makes room.
 *
 * Flow control: while a connection has more than quota.queued_bytes waiting to go out, no further
 * requests are read from it (they stay in its socket or ring), and watch events for it are
 * dropped and counted.  A peer that never reads therefore costs at most that much memory. */
#ifndef XENITH_XENSTORE_CONN_H
#define XENITH_XENSTORE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xenstore/xenstored.h"

#define XS_CONN_MAX_FDS 8

struct xs_transport {
	const char *name;
	bool close_when_broken;    /* sockets: a broken one goes; rings wait for RELEASE */
	bool peer_socket;          /* fd is a connected Unix socket: SO_PEERCRED names the peer */
	/* > 0 bytes read, 0 if none are available now, -1 if the peer is gone or broke the rules
	 * (the transport sets conn->error_code then). */
	ssize_t (*read)(struct xs_conn *c, void *buf, size_t len);
	/* > 0 bytes written, 0 if there is no room now, -1 as for read. */
	ssize_t (*write)(struct xs_conn *c, const void *buf, size_t len);
	/* After a round of reading and writing: tell the peer (the ring's notify eventfd). */
	void (*signal)(struct xs_conn *c);
	/* Releases the transport's resources (fds, mappings). */
	void (*destroy)(struct xs_conn *c);
	/* The loop saw `events` (EPOLL*) on the connection's fd, or came back for more_input. */
	void (*service)(struct xenstored *xsd, struct xs_conn *c, uint32_t events);
};

struct xs_watch;

struct xs_conn {
	struct xs_conn *next;
	struct xs_conn **pprev;    /* what points at it in xsd->conns: closing is O(1) */
	const struct xs_transport *ops;
	struct xs_poll poll;
	unsigned int domid;        /* 0 for Dom0's socket */
	bool privileged;
	struct xs_domain *dom;     /* accounting (NULL when privileged) */
	uint64_t seq;              /* newer connections have higher ones (watch events' order) */
	char label[48];            /* for logs: "socket 3", "domain 5 ring" */

	/* input: header first, then len bytes of payload */
	struct xsd_sockmsg hdr;
	unsigned int hdr_got, body_got;
	bool in_body;
	char body[XENSTORE_PAYLOAD_MAX + 1];
	int fds[XS_CONN_MAX_FDS];  /* received with the current message (SCM_RIGHTS) */
	unsigned int n_fds;

	/* output */
	char *out;
	size_t out_len, out_off, out_cap;
	unsigned long events_dropped;

	struct xs_watch *watches;
	struct xs_tx *txs;
	uint32_t next_tx_id;
	uint32_t *lost_tx;         /* ids of transactions a restart lost: they answer EAGAIN */
	unsigned int n_lost_tx;

	bool broken;               /* stop serving it (peer gone or misbehaved) */
	bool closed;               /* conn_close()d, waiting in the graveyard */
	bool more_input;           /* a batch limit stopped reading: come back soon */
	bool dirty;                /* transport's signal() is due */
	int error_code;            /* XENSTORE_ERROR_* for rings */

	/* transport state */
	int fd;                    /* socket, or the ring's kick fd */
	void *ring;                /* struct xenstore_domain_interface, mapped */
	uint32_t ring_cons;        /* requests consumed; published as req_cons at the commit point */
	uint32_t ring_published;   /* the req_cons we last wrote (if the page's differs, follow it) */
	bool *snapshot_dirty;      /* rings: their I/O state is in the snapshot; set on every change */
	bool ring_changed;         /* what snapshot_dirty points at for rings: the journal records
				    * the ring's state at the next commit point (journal.c) */
	int memfd, notify_fd;
	const uint8_t *mem_in;     /* memory transport (tests, fuzzing) */
	size_t mem_in_len;
};

/* A connection on `ops`; privileged connections have no quota accounting.  NULL on ENOMEM. */
struct xs_conn *conn_new(struct xenstored *xsd, const struct xs_transport *ops, unsigned int domid,
			 bool privileged, const char *label);
/* Closes a connection: its watches and transactions go now, its transport and memory once the
 * events being handled are done (conn_reap), so that no pending event sees freed memory. */
void conn_close(struct xenstored *xsd, struct xs_conn *c);
void conn_reap(struct xenstored *xsd);
/* Reads and processes whole messages until none is available, the output queue is full, or a
 * batch limit is reached (then more_input is set).  Returns -1 if the connection broke. */
int conn_handle_input(struct xenstored *xsd, struct xs_conn *c);
/* Writes queued output; -1 if the connection broke. */
int conn_flush(struct xs_conn *c);
/* Queues a message (header + payload).  Returns 0, or -ENOMEM. */
int conn_queue(struct xs_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
	       const void *body, size_t len);
/* Queues raw bytes (a resumed ring's output, persist.c).  0 or -ENOMEM. */
int conn_queue_bytes(struct xs_conn *c, const void *data, size_t len);
/* Queues a WATCH_EVENT unless the connection's queue is full (then it is dropped and counted). */
void conn_send_event(struct xenstored *xsd, struct xs_conn *c, const char *path,
		     const char *token);
bool conn_output_full(const struct xenstored *xsd, const struct xs_conn *c);
/* Takes the oldest fd received with the current message; -1 if none. */
int conn_take_fd(struct xs_conn *c);

/* The memory transport: input is a byte string, output stays in c->out for the caller. */
extern const struct xs_transport xs_mem_transport;
void conn_mem_feed(struct xs_conn *c, const void *data, size_t len);

#endif
