/* The domain's control socket (docs/vmm-control.md): one request, one reply, per connection.
 *
 * Served on the VMM's event loop without ever blocking it: each accepted connection is watched
 * non-blocking until its request arrives (or its deadline passes, or too many wait already), then
 * answered from the request table and closed.  A request whose answer comes later (vif-detach,
 * vbd-detach, a vif-attach whose hotplug script runs) keeps its connection until its done
 * callback runs. */
#ifndef XENITH_CONTROL_H
#define XENITH_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct domain;
struct event_loop;
struct control_conn;

#define CONTROL_REQUEST_MAX 512        /* one request message; longer ones are refused */
#define CONTROL_REPLY_MAX 8192         /* vif-list and vbd-list have a line per device */
#define CONTROL_DEADLINE_MS 2000       /* from connecting to a whole request */
#define CONTROL_WAITING_MAX 32         /* connections waiting for their request; more are refused */
#define CONTROL_FDS_MAX 2              /* descriptors a request may bring (SCM_RIGHTS): save's stream and progress */

/* ---- The request table ---- */
enum control_outcome { CONTROL_REPLY, CONTROL_DEFERRED };

enum control_flags {
	CONTROL_MAY_DEFER = 1 << 0,    /* the handler may answer later through control_reply_later */
};

struct control_request;

/* One request being served: its words, the reply to fill, and how to answer later. */
struct control_call {
	struct domain *dom;
	const struct control_request *request;
	const char *name;              /* the request's first word, as sent */
	char *save;                    /* strtok_r state: the request's words after its name */
	char *reply;
	size_t len;
	struct control_conn *conn;     /* for control_reply_later; NULL unless CONTROL_MAY_DEFER */
	bool destroy;                  /* the domain is to be destroyed once the reply is out */
	/* Descriptors sent with the request (SCM_RIGHTS), in order.  A handler that keeps one sets its
	 * slot to -1; the rest are closed once it returns.  Requests that take none ignore them. */
	int *fds;
	unsigned int n_fds;
};

struct control_request {
	const char *name;
	const char *usage;             /* "vif-detach DEVID", as docs/vmm-control.md lists it */
	const char *description;       /* one line */
	/* Fills call->reply ("ok[ text]" or "error ENAME why") and returns CONTROL_REPLY, or (only
	 * with CONTROL_MAY_DEFER) hands call->conn to something that calls control_reply_later, and
	 * returns CONTROL_DEFERRED: the connection is then no longer the handler's to touch. */
	enum control_outcome (*handler)(struct control_call *call);
	unsigned int flags;
};

/* The table (control_requests.c), in the order docs/vmm-control.md lists it. */
const struct control_request *control_requests(size_t *n);
/* The row serving `name` when it is a PV backend type's request (vif-attach, vbd-list, ...: see
 * pv_backend_verb), else NULL. */
const struct control_request *control_device_request(const char *name);
/* The next word of the request (strtok_r on delims), or NULL. */
char *control_next_word(struct control_call *call, const char *delims);
/* Answers a deferred request and closes it: for rc 0 "ok", followed by a space and msg when msg
 * is not empty (a deferred vif-attach's "devid=3 vifname=vif7.3"); for rc = -errno "error ENAME
 * msg", named by pv_errno_name.  The signature of the backends' done callbacks, with the
 * connection as ctx. */
void control_reply_later(void *conn, int rc, const char *msg);

/* ---- The server ---- */
struct control_server {
	struct event_loop *loop;
	struct domain *dom;
	int listen_fd;
	void (*on_destroy)(void *ctx);   /* after `destroy` was answered */
	void *ctx;
	const struct control_request *table;
	size_t n_table;
	unsigned int deadline_ms;
	unsigned int waiting_max;
	struct control_conn *conns;      /* every open connection, waiting or deferred */
	unsigned int n_waiting;
};

/* Binds a SOCK_SEQPACKET socket at path (non-blocking). Returns the fd, or -1 with err. */
int control_listen(const char *path, char *err, size_t errlen);
/* Serves listen_fd on loop with the request table, CONTROL_DEADLINE_MS and CONTROL_WAITING_MAX
 * (fields of s a test may change afterwards).  0 or -errno. */
int control_serve(struct control_server *s, struct event_loop *loop, int listen_fd, struct domain *dom,
		  void (*on_destroy)(void *ctx), void *ctx);
/* Stops serving and closes every connection (listen_fd stays the caller's).  After the backends'
 * teardown, which answers the deferred requests: a deferred connection closed here must not be
 * answered later. */
void control_server_close(struct control_server *s);

#endif
