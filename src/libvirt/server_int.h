/* What server.c, client.c and stream.c share inside the daemon (server.h is the outside view). */
#ifndef XENITH_VIRT_SERVER_INT_H
#define XENITH_VIRT_SERVER_INT_H
#include "libvirt/rpc.h"
#include "libvirt/server.h"

/* What an epoll event's data.ptr points at: the first member of each watched object. */
enum virt_watch_kind { VIRT_WATCH_LISTEN, VIRT_WATCH_SIGNAL, VIRT_WATCH_CLIENT, VIRT_WATCH_STREAM };
struct virt_watch {
	enum virt_watch_kind kind;
};

struct virt_outmsg {
	struct virt_outmsg *next;
	uint8_t *data;
	size_t len, off;
};

struct virt_stream {
	struct virt_watch watch;
	struct virt_stream *next;
	struct virt_client *client;
	int fd;
	uint32_t prog, vers, serial;
	int32_t proc;
	bool active;                 /* the call's OK reply went out: data flows */
	bool finishing;              /* the client sent STREAM OK: end once pending is written */
	uint32_t events;             /* registered with epoll */
	uint8_t *pending;            /* client data not yet written to fd */
	size_t pending_len;
};

struct virt_client {
	struct virt_watch watch;
	struct virt_client *next;
	struct virt_daemon *d;
	int fd;
	bool open, dead;
	int refs;                    /* the daemon's list, plus one per deferred call */
	uint8_t *in;                 /* at most one frame */
	size_t in_len, in_cap, frame_len;
	struct virt_outmsg *out_head, *out_tail;
	size_t out_bytes;
	uint32_t events;
	struct virt_stream *streams;
	void *data;
	void (*data_free)(void *data);
};

/* client.c */
void virt_client_on_event(struct virt_client *c, uint32_t events);
/* Ends the client's service now (fd, streams, queues, data); the struct stays until unref. */
void virt_client_kill(struct virt_client *c, const char *why);
void virt_client_unref(struct virt_client *c);
/* Queues a whole frame (w's buffer is taken); 0, or -1 when the client is dead or overflowed. */
int virt_client_queue(struct virt_client *c, struct xdr_writer *w);
/* epoll interest from the client's state: input unless a stream's buffer is full, output when
 * something waits. */
void virt_client_update_events(struct virt_client *c);
/* A header-only frame, the body appended by the caller before rpc_frame_end. */
void virt_frame_start(struct xdr_writer *w, uint32_t prog, uint32_t vers, int32_t proc, uint32_t type,
		      uint32_t serial, uint32_t status);

/* stream.c */
void virt_stream_on_event(struct virt_stream *s, uint32_t events);
/* A VIR_NET_STREAM packet from the client. */
void virt_stream_input(struct virt_client *c, const struct rpc_header *h, const uint8_t *data, size_t len);
/* The call with this serial was answered: start (ok) or drop its streams. */
void virt_streams_call_done(struct virt_client *c, uint32_t serial, bool ok);
void virt_stream_close(struct virt_stream *s);
/* The client's output drained: streams paused for it may read again. */
void virt_streams_resume(struct virt_client *c);
/* Some stream holds more client data than VIRT_STREAM_BUFFER_MAX: stop reading the client. */
bool virt_streams_backlogged(const struct virt_client *c);
#endif
