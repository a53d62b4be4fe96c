/* xenith-libvirtd's server (docs/libvirt.md): one epoll loop serving libvirt's RPC protocol on a Unix
 * socket to many clients, the procedures dispatched through virt_proc_find (procs.c).
 *
 * Each client has bounded queues: its input holds at most one frame, its output at most
 * VIRT_CLIENT_OUT_MAX bytes beyond the message being written (one message may always be queued);
 * a client that does not read what it is sent is dropped, never waited for.  Nothing here
 * blocks: a handler that must wait answers later (virt_call.deferred + virt_call_reply_later).
 * Streams (virt_stream_attach_fd) join a file descriptor to a call's stream both ways, and
 * server-pushed messages (events) go to any client through virt_client_send_message.  All state
 * hangs off struct virt_daemon. */
#ifndef XENITH_VIRT_SERVER_H
#define XENITH_VIRT_SERVER_H
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "libvirt/virt_domains.h"
#include "libvirt/virt_proc.h"
#include "libvirt/xdr.h"

#define VIRT_CLIENT_OUT_MAX     (8u << 20)   /* queued output beyond which a client is dropped */
#define VIRT_CLIENTS_MAX        1024
#define VIRT_STREAM_CHUNK       262144u      /* the most raw bytes in one stream packet */
#define VIRT_STREAM_BUFFER_MAX  (1u << 20)   /* client data waiting for the stream's fd */

struct virt_client;
struct virt_timer;

struct virt_daemon {
	struct virt_host host;
	int epfd;                    /* -1: no loop (tests and the fuzz target feed clients directly) */
	int listen_fd, signal_fd;
	char sock_path[PATH_MAX];
	uid_t uid;                   /* the only peer uid served */
	struct virt_client *clients; /* a list, newest first */
	size_t nclients;
	struct virt_timer *timers;
	int next_timer_id;
	bool stop;
};

/* Sets up an empty daemon (no socket yet); with_loop false makes one without epoll, for feeding
 * clients by hand.  0 or -1 with err. */
int virt_daemon_init(struct virt_daemon *d, bool with_loop, char *err, size_t errlen);
/* Binds and listens on path (mode 0600), replacing a stale socket there; -EADDRINUSE when a
 * live daemon answers on it.  0 or -errno with err. */
int virt_daemon_listen(struct virt_daemon *d, const char *path, char *err, size_t errlen);
/* Serves until SIGTERM/SIGINT (or d->stop); 0, or -1 with err on a loop failure. */
int virt_daemon_run(struct virt_daemon *d, char *err, size_t errlen);
/* Drops every client, closes the socket (removing it) and frees everything. */
void virt_daemon_fini(struct virt_daemon *d);

/* Timers for pollers (events): fn runs every interval_ms from the loop.  An id >= 0, or -1. */
int virt_daemon_add_timer(struct virt_daemon *d, unsigned int interval_ms,
			  void (*fn)(struct virt_daemon *d, void *ctx), void *ctx);
void virt_daemon_remove_timer(struct virt_daemon *d, int id);

/* Every live client, e.g. to send it an event. */
void virt_daemon_for_each_client(struct virt_daemon *d, void (*fn)(struct virt_client *c, void *ctx),
				 void *ctx);

/* A client on fd (-1: none; output then only queues, for virt_client_pop_output).  NULL on
 * out of memory or too many clients. */
struct virt_client *virt_client_new(struct virt_daemon *d, int fd);
/* Bytes as if read from the client's socket: framed, dispatched, answered into its output.
 * 0, or -1 when the client must be closed (bad length, protocol violation, output overflow);
 * why says what. */
int virt_client_feed(struct virt_client *c, const void *data, size_t len, char *why, size_t whylen);
/* The oldest queued output frame (malloc'd) for a client without a socket; 0, or -1 when none. */
int virt_client_pop_output(struct virt_client *c, uint8_t **data, size_t *len);
/* Closes and frees a client now (its deferred calls finish into nothing). */
void virt_client_free(struct virt_client *c);

struct virt_daemon *virt_client_daemon(struct virt_client *c);
bool virt_client_is_open(const struct virt_client *c);
void virt_client_set_open(struct virt_client *c, bool open);
/* One slot of per-client state for the event callbacks (procs_events.c): free_fn(data) runs when
 * the client goes or the slot is set again. */
void virt_client_set_data(struct virt_client *c, void *data, void (*free_fn)(void *data));
void *virt_client_data(const struct virt_client *c);

/* A server-pushed VIR_NET_MESSAGE (status OK, serial 0) of program/proc with body; 0, or -1 when
 * the client is gone or has fallen too far behind (it is then dropped). */
int virt_client_send_message(struct virt_client *c, uint32_t program, int32_t proc,
			     const struct xdr_writer *body);

/* Finishes a deferred call: rc 0 replies OK with call->ret, -1 the error in call->error.  The
 * call is freed; a client that left meanwhile just gets nothing. */
void virt_call_reply_later(struct virt_call *call, int rc);

/* Joins fd (taken over, closed at the end; non-blocking is set) to this call's stream: once the
 * call's OK reply is out, bytes read from fd go to the client as VIR_NET_STREAM packets (status
 * CONTINUE, the call's proc and serial) and the client's stream data is written to fd.  The
 * client's STREAM OK, its STREAM ERROR, or EOF/hang-up on fd ends it (STREAM OK sent to the
 * client unless it aborted).  An error reply instead closes fd.  0 or -1 (fd closed). */
int virt_stream_attach_fd(struct virt_call *call, int fd);
/* Ends every stream of the daemon whose fd is the character device `rdev`, telling each client with a
 * STREAM error (code, message): a forced console open takes the console from its old session. */
void virt_daemon_abort_streams_on(struct virt_daemon *d, dev_t rdev, int code, const char *message);
#endif
