/* xenstored: Xen's store daemon for Xenith.  The whole daemon's state is one `struct xenstored`;
 * every other file of src/xenstore takes it as its first argument.
 *
 *   tree.c         the node tree (names, values, permissions, generation counts)
 *   perms.c        Xen's permission model: parsing, printing, checks, hiding rules
 *   nodes.c        the node requests: READ WRITE MKDIR RM DIRECTORY(_PART) GET/SET_PERMS
 *   watch.c        WATCH UNWATCH RESET_WATCHES and firing events
 *   watch_index.c  watches by path, so a change finds its watchers without walking them all
 *   transaction.c  TRANSACTION_START/END and conflict detection
 *   domain.c       domains and their quotas; INTRODUCE RELEASE GET_DOMAIN_PATH ...
 *   lifeline.c     the introducing VMM watched by pidfd: its death releases the domain
 *   orphans.c      a dead domain's nodes, removed as its toolstack (the VMM) would have
 *   persist.c      the snapshot file: the store and the domains' rings survive a restart
 *   resume.c       domains loaded from it, awaiting their VMMs' re-introduction
 *   control.c      CONTROL commands (print, quota, unpriv-socket, help)
 *   message.c      the one table indexed by xsd_sockmsg_type; process_message
 *   conn.c         connections: the input parser, the output queue, the transport interface
 *   socket.c       Unix-socket transport and listeners (Dom0 and Xenith's unprivileged sockets)
 *   ring.c         shared-ring transport (struct xenstore_domain_interface in guest RAM)
 *   loop.c         the epoll loop
 *   main.c         command line, daemonizing, pid file
 */
#ifndef XENITH_XENSTORED_H
#define XENITH_XENSTORED_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/io/xs_wire.h>

#include "xenstore/tree.h"
#include "xenstore/watch_index.h"

struct xs_conn;
struct xs_tx;
struct xs_domain;
struct xs_journal;

/* Quotas for unprivileged domains (0 = unlimited), with cxenstored's defaults. */
struct xs_quota {
	unsigned int nodes;         /* nodes a domain may own */
	unsigned int watches;       /* watches a domain may hold */
	unsigned int transactions;  /* transactions a domain may have open */
	unsigned int node_size;     /* bytes of one node's value */
	unsigned int permissions;   /* entries in one node's permission list */
	unsigned int path_max;      /* bytes of a path below /local/domain/<domid>/ */
	unsigned int queued_bytes;  /* Xenith's: bytes queued to one connection before it is paused */
};
#define XS_QUOTA_DEFAULTS { .nodes = 1000, .watches = 128, .transactions = 10, .node_size = 2048, \
			    .permissions = 5, .path_max = XENSTORE_REL_PATH_MAX,                      \
			    .queued_bytes = 256 * 1024 }

/* The quota table: name (as in --quota-<name> and CONTROL quota), field offset, meaning. */
struct xs_quota_desc {
	const char *name;
	size_t offset;
	const char *what;
};
extern const struct xs_quota_desc xs_quota_table[];
extern const size_t xs_quota_table_len;
/* Sets quota `name` to `value`: 0, or -ENOENT for an unknown name. */
int xs_quota_set(struct xs_quota *q, const char *name, unsigned long value);
unsigned int xs_quota_get(const struct xs_quota *q, const struct xs_quota_desc *d);

/* What epoll hands back: each registered fd's owner starts with one of these. */
/* LIFELINE: an introduced domain's VMM process (its pidfd; lifeline.c). */
/* TIMER: the bound on domains awaiting re-introduction after a restart (resume.c). */
enum xs_poll_kind { XS_POLL_LISTENER, XS_POLL_CONN, XS_POLL_SIGNAL, XS_POLL_LIFELINE,
		    XS_POLL_TIMER };
struct xs_poll {
	enum xs_poll_kind kind;
	void *owner;
};

/* A listening socket: Dom0's (privileged) or a Xenith unprivileged one acting as `domid`. */
struct xs_listener {
	struct xs_listener *next;
	struct xs_poll poll;
	int fd;
	unsigned int domid;
	bool privileged;
	char path[PATH_MAX];
};

/* The snapshot (persist.c): where, whether something it holds changed since it was written, and
 * what writing it costs. */
struct xs_persist {
	bool enabled;
	bool dirty;                       /* the next commit point writes it */
	char path[PATH_MAX];              /* <rundir>/xenstored/tree */
	char *buf;                        /* the encoding, kept between writes */
	size_t cap;
	unsigned long writes, failures;
	unsigned long long bytes, ns;     /* of the last write, for CONTROL print and logs */
	struct xs_journal *journal;       /* the changes since the snapshot (journal.c); NULL
					   * until the first snapshot is written */
};

/* How long a domain loaded from the snapshot waits for its VMM to introduce it again. */
#define XS_RECONNECT_MS_DEFAULT 10000

struct xenstored {
	struct xs_tree tree;              /* the store */
	uint64_t generation;              /* global generation counter (transaction.c explains) */
	struct xs_node *special_intro;    /* @introduceDomain: a node for its permissions only */
	struct xs_node *special_release;  /* @releaseDomain */
	struct xs_quota quota;
	struct xs_conn *conns;            /* every connection, newest first */
	uint64_t next_conn_seq;           /* orders connections for watch events (watch_index.h) */
	struct xs_watch_index watches;    /* every connection's watches, by path */
	struct xs_conn *graveyard;        /* closed, freed once the current events are handled */
	struct xs_domain *domains;        /* accounting per domid, and introduced rings */
#define XS_DOMAIN_BUCKETS 1024
	struct xs_domain *domain_buckets[XS_DOMAIN_BUCKETS];   /* the same, by domid % buckets */
	struct xs_listener *listeners;
	int epfd;                         /* -1 when not serving (unit tests, fuzzing) */
	struct xs_poll signal_poll;
	int signal_fd;
	bool stop;
	char rundir[PATH_MAX - 128];
	unsigned long long requests;      /* served, for CONTROL quota/print and logs */
	struct xs_persist persist;
	unsigned int reconnect_ms;        /* how long a loaded domain waits for its VMM */
	int timer_fd;                     /* armed while domains await their VMMs; -1: none */
	struct xs_poll timer_poll;
};

/* A request being processed: header, payload (NUL-terminated for convenience: body[len] == 0),
 * and its transaction (NULL outside one).  Handlers answer with xs_reply() and return 0, or return
 * an errno which process_message turns into XS_ERROR. */
struct xs_request {
	struct xsd_sockmsg hdr;
	char *body;
	unsigned int len;
	struct xs_tx *tx;
};

/* Sets up an empty store (/, /tool, /tool/xenstored, the special nodes) with default quotas and no
 * sockets; xsd_serve_init adds the epoll loop and the Dom0 socket under rundir.  0 or -errno. */
int xsd_init(struct xenstored *xsd);
void xsd_destroy(struct xenstored *xsd);

/* Answers `req` on `conn` with its own type, req_id and tx_id.  Payloads above
 * XENSTORE_PAYLOAD_MAX are refused (returns E2BIG, for the handler to return). */
int xs_reply(struct xenstored *xsd, struct xs_conn *conn, const struct xs_request *req,
	     const void *data, unsigned int len);
int xs_reply_ok(struct xenstored *xsd, struct xs_conn *conn, const struct xs_request *req);
/* The XS_ERROR reply: the errno's name from xs_wire.h's table ("EINVAL" for unknown ones). */
void xs_reply_error(struct xenstored *xsd, struct xs_conn *conn, const struct xs_request *req,
		    int err);
/* errno name as xs_wire.h spells it, and back (0 if unknown). */
const char *xs_errno_name(int err);
int xs_errno_from_name(const char *name);

/* Payload helpers: number of NUL-terminated strings, with the first `max` stored in vec. */
unsigned int xs_split(const struct xs_request *req, const char **vec, unsigned int max);
/* The single-argument form: exactly one string ending at the end of the payload, or NULL. */
const char *xs_onearg(const struct xs_request *req);

/* Resolves a request path for conn: relative paths are below /local/domain/<domid>; checks Xen's
 * character set, slashes and lengths.  Writes the absolute path into out.  0 or EINVAL. */
int xs_canonicalize(struct xenstored *xsd, const struct xs_conn *conn, const char *path,
		    bool allow_special, char *out, size_t outlen);

#define XS_PATH_BUF (XENSTORE_ABS_PATH_MAX + 64)

#endif
