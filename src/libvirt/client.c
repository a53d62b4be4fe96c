/* One libvirt client: framing its input (at most one frame held), dispatching calls through the
 * procedure tables, and its bounded output queue.  A client that breaks the framing or lets its
 * output pile up past VIRT_CLIENT_OUT_MAX is dropped; the others never wait for it.
 *
 * Lifetime: a dead client is out of service at once (fd closed, streams ended) but its struct
 * lives while a deferred call still points at it (refs). */
#include <errno.h>
#include <libvirt/virterror.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/error.h"
#include "libvirt/proc_api_names.h"
#include "libvirt/server_int.h"

#define KEEPALIVE_PROC_PING 1
#define KEEPALIVE_PROC_PONG 2
#define IN_KEEP_CAP 65536u      /* input buffers above this are freed after their frame */

/* A call in flight: what its handler may keep while deferred. */
struct pending_call {
	struct virt_call call;       /* first: virt_call_reply_later finds the rest from it */
	struct xdr_reader args;
	struct xdr_writer ret;
	uint8_t *frame;              /* the call's frame, which args reads */
	uint32_t vers;
};

struct virt_client *virt_client_new(struct virt_daemon *d, int fd)
{
	struct virt_client *c;

	if (d->nclients >= VIRT_CLIENTS_MAX)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->watch.kind = VIRT_WATCH_CLIENT;
	c->d = d;
	c->fd = fd;
	c->refs = 1;
	if (fd >= 0 && d->epfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &c->watch };
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			free(c);
			return NULL;
		}
		c->events = EPOLLIN;
	}
	c->next = d->clients;
	d->clients = c;
	d->nclients++;
	return c;
}

struct virt_daemon *virt_client_daemon(struct virt_client *c)
{
	return c->d;
}

bool virt_client_is_open(const struct virt_client *c)
{
	return c->open;
}

void virt_client_set_open(struct virt_client *c, bool open)
{
	c->open = open;
}

void virt_client_set_data(struct virt_client *c, void *data, void (*free_fn)(void *data))
{
	if (c->data && c->data_free)
		c->data_free(c->data);
	c->data = data;
	c->data_free = free_fn;
}

void *virt_client_data(const struct virt_client *c)
{
	return c->data;
}

void virt_client_kill(struct virt_client *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = true;
	if (why && c->fd >= 0)
		LOG("client fd %d dropped: %s", c->fd, why);
	while (c->streams)
		virt_stream_close(c->streams);
	if (c->fd >= 0) {
		if (c->d->epfd >= 0)
			epoll_ctl(c->d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	while (c->out_head) {
		struct virt_outmsg *m = c->out_head;
		c->out_head = m->next;
		free(m->data);
		free(m);
	}
	c->out_tail = NULL;
	c->out_bytes = 0;
	virt_client_set_data(c, NULL, NULL);
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_cap = c->frame_len = 0;
}

void virt_client_unref(struct virt_client *c)
{
	if (--c->refs > 0)
		return;
	virt_client_kill(c, NULL);
	free(c);
}

void virt_client_free(struct virt_client *c)
{
	struct virt_client **pp;

	virt_client_kill(c, NULL);
	for (pp = &c->d->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			c->d->nclients--;
			break;
		}
	}
	virt_client_unref(c);
}

void virt_client_update_events(struct virt_client *c)
{
	uint32_t ev = 0;

	if (c->dead || c->fd < 0 || c->d->epfd < 0)
		return;
	if (!virt_streams_backlogged(c))
		ev |= EPOLLIN;
	if (c->out_head)
		ev |= EPOLLOUT;
	if (ev == c->events)
		return;
	struct epoll_event e = { .events = ev, .data.ptr = &c->watch };
	if (epoll_ctl(c->d->epfd, EPOLL_CTL_MOD, c->fd, &e) < 0) {
		virt_client_kill(c, "epoll_ctl failed");
		return;
	}
	c->events = ev;
}

static void client_flush(struct virt_client *c)
{
	while (!c->dead && c->fd >= 0 && c->out_head) {
		struct virt_outmsg *m = c->out_head;
		ssize_t n = send(c->fd, m->data + m->off, m->len - m->off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			virt_client_kill(c, strerror(errno));
			return;
		}
		m->off += (size_t)n;
		c->out_bytes -= (size_t)n;
		if (m->off < m->len)
			continue;
		c->out_head = m->next;
		if (!c->out_head)
			c->out_tail = NULL;
		free(m->data);
		free(m);
	}
	if (c->dead)
		return;
	virt_streams_resume(c);
	virt_client_update_events(c);
}

int virt_client_queue(struct virt_client *c, struct xdr_writer *w)
{
	struct virt_outmsg *m;

	if (c->dead || rpc_frame_end(w) < 0) {
		xdr_writer_free(w);
		return -1;
	}
	/* One message may always wait (a reply may be large); past that the client must keep up. */
	if (c->out_head && c->out_bytes + w->len > VIRT_CLIENT_OUT_MAX) {
		xdr_writer_free(w);
		virt_client_kill(c, "it does not read its replies");
		return -1;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		xdr_writer_free(w);
		virt_client_kill(c, "out of memory");
		return -1;
	}
	m->data = w->data;
	m->len = w->len;
	w->data = NULL;
	w->len = w->cap = 0;
	if (c->out_tail)
		c->out_tail->next = m;
	else
		c->out_head = m;
	c->out_tail = m;
	c->out_bytes += m->len;
	client_flush(c);
	return 0;
}

int virt_client_pop_output(struct virt_client *c, uint8_t **data, size_t *len)
{
	struct virt_outmsg *m = c->out_head;

	if (!m)
		return -1;
	c->out_head = m->next;
	if (!c->out_head)
		c->out_tail = NULL;
	c->out_bytes -= m->len - m->off;
	*data = m->data;
	*len = m->len;
	free(m);
	return 0;
}

void virt_frame_start(struct xdr_writer *w, uint32_t prog, uint32_t vers, int32_t proc, uint32_t type,
		      uint32_t serial, uint32_t status)
{
	struct rpc_header h = { prog, vers, proc, type, serial, status };

	xdr_writer_init(w, RPC_LEN_BYTES + RPC_MESSAGE_MAX);
	rpc_frame_begin(w, &h);
}

int virt_client_send_message(struct virt_client *c, uint32_t program, int32_t proc,
			     const struct xdr_writer *body)
{
	struct xdr_writer w;

	if (c->dead || (body && body->failed))
		return -1;
	virt_frame_start(&w, program, 1, proc, RPC_MESSAGE, 0, RPC_OK);
	if (body && body->len)
		xdr_put_fixed(&w, body->data, body->len);
	return virt_client_queue(c, &w);
}

static int set_error(struct virt_error *e, int code, int domain, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int set_error(struct virt_error *e, int code, int domain, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	e->domain = domain;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* Sends the reply of a finished call and frees it. */
static void finish_call(struct pending_call *pc, int rc)
{
	struct virt_call *call = &pc->call;
	struct virt_client *c = call->client;
	struct xdr_writer w;

	if (rc == 0 && call->ret->failed)
		rc = set_error(&call->error, VIR_ERR_RPC, VIR_FROM_RPC,
			       "the reply to procedure %d is too large", call->proc);
	if (rc < 0 && !call->error.code)
		set_error(&call->error, VIR_ERR_INTERNAL_ERROR, VIR_FROM_XEN,
			  "internal error: procedure %d failed", call->proc);
	if (!c->dead) {
		virt_frame_start(&w, call->program, pc->vers, call->proc, RPC_REPLY, call->serial,
				 rc == 0 ? RPC_OK : RPC_ERROR);
		if (rc == 0)
			xdr_put_fixed(&w, call->ret->data, call->ret->len);
		else
			rpc_error_encode(&w, &call->error);
		int sent = virt_client_queue(c, &w);
		if (!c->dead)
			virt_streams_call_done(c, call->serial, rc == 0 && sent == 0);
	}
	xdr_writer_free(&pc->ret);
	free(pc->frame);
	free(pc);
	virt_client_unref(c);
}

void virt_call_reply_later(struct virt_call *call, int rc)
{
	finish_call((struct pending_call *)call, rc);
}

static int serve(struct pending_call *pc, const struct rpc_header *h)
{
	struct virt_call *call = &pc->call;
	const struct virt_proc *p;
	int rc;

	if (h->prog != VIRT_REMOTE_PROGRAM || h->vers != VIRT_REMOTE_VERSION)
		return set_error(&call->error, VIR_ERR_RPC, VIR_FROM_RPC,
				 "cannot find program %u version %u", h->prog, h->vers);
	if (h->status != RPC_OK)
		return set_error(&call->error, VIR_ERR_RPC, VIR_FROM_RPC,
				 "a call with status %u", h->status);
	p = virt_proc_find(h->prog, h->proc);
	if (!p && virt_proc_api_name(h->proc))
		return set_error(&call->error, VIR_ERR_NO_SUPPORT, VIR_FROM_XEN,
				 "this function is not supported by the connection driver: %s",
				 virt_proc_api_name(h->proc));
	if (!p)
		return set_error(&call->error, VIR_ERR_NO_SUPPORT, VIR_FROM_XEN,
				 "this function is not supported by the connection driver: "
				 "remote procedure %d", h->proc);
	if (!p->before_open && !call->client->open)
		return set_error(&call->error, VIR_ERR_INTERNAL_ERROR, VIR_FROM_RPC,
				 "internal error: connection not open");
	rc = p->serve(call);
	if (rc == 0 && call->args->failed)
		rc = set_error(&call->error, VIR_ERR_RPC, VIR_FROM_RPC, "%s: bad arguments: %s",
			       p->name, call->args->why);
	return rc;
}

/* A CALL frame; *framep is taken over (the call's arguments live in it). */
static void dispatch_call(struct virt_client *c, const struct rpc_header *h, uint8_t **framep, size_t len)
{
	struct pending_call *pc = calloc(1, sizeof(*pc));
	int rc;

	if (!pc) {
		virt_client_kill(c, "out of memory");
		return;
	}
	pc->frame = *framep;
	*framep = NULL;
	pc->vers = h->vers;
	xdr_reader_init(&pc->args, pc->frame + RPC_LEN_BYTES + RPC_HEADER_BYTES,
			len - RPC_LEN_BYTES - RPC_HEADER_BYTES);
	xdr_writer_init(&pc->ret, RPC_PAYLOAD_MAX);
	pc->call = (struct virt_call){ .daemon = c->d, .client = c, .program = h->prog, .proc = h->proc,
				       .serial = h->serial, .args = &pc->args, .ret = &pc->ret };
	c->refs++;
	rc = serve(pc, h);
	if (rc == 0 && pc->call.deferred)
		return;                              /* the handler finishes it */
	finish_call(pc, rc);
}

static void keepalive(struct virt_client *c, const struct rpc_header *h)
{
	struct xdr_writer w;

	if (h->vers != VIRT_KEEPALIVE_VERSION || h->proc != KEEPALIVE_PROC_PING)
		return;                              /* a PONG, or what we do not know: nothing */
	virt_frame_start(&w, VIRT_KEEPALIVE_PROGRAM, VIRT_KEEPALIVE_VERSION, KEEPALIVE_PROC_PONG,
			 RPC_MESSAGE, 0, RPC_OK);
	virt_client_queue(c, &w);
}

/* One whole frame in *framep (len bytes, length word included, len checked already). */
static void process_frame(struct virt_client *c, uint8_t **framep, size_t len)
{
	struct xdr_reader r;
	struct rpc_header h;
	const uint8_t *body = *framep + RPC_LEN_BYTES + RPC_HEADER_BYTES;
	size_t body_len = len - RPC_LEN_BYTES - RPC_HEADER_BYTES;

	xdr_reader_init(&r, *framep + RPC_LEN_BYTES, len - RPC_LEN_BYTES);
	rpc_header_decode(&r, &h);
	switch (h.type) {
	case RPC_CALL:
		dispatch_call(c, &h, framep, len);
		break;
	case RPC_MESSAGE:
		if (h.prog == VIRT_KEEPALIVE_PROGRAM)
			keepalive(c, &h);
		break;
	case RPC_STREAM:
		virt_stream_input(c, &h, body, body_len);
		break;
	default:
		/* Passing fds is not offered, so CALL_WITH_FDS breaks the protocol as much as a
		 * type the server never receives. */
		virt_client_kill(c, "a message of a type clients do not send");
		break;
	}
}

/* How many more bytes the current frame wants (4 while its length is unknown); -1 after a bad
 * length, which kills the client. */
static long frame_want(struct virt_client *c, char *why, size_t whylen)
{
	if (c->in_len < RPC_LEN_BYTES)
		return RPC_LEN_BYTES - (long)c->in_len;
	if (!c->frame_len) {
		long n = rpc_frame_length(c->in, c->in_len, why, whylen);
		if (n < 0) {
			virt_client_kill(c, why);
			return -1;
		}
		c->frame_len = (size_t)n;
	}
	return (long)(c->frame_len - c->in_len);
}

static int ensure_in_cap(struct virt_client *c, size_t need)
{
	if (need <= c->in_cap)
		return 0;
	size_t cap = need < IN_KEEP_CAP ? IN_KEEP_CAP : need;
	if (cap < c->in_cap * 2 && c->in_cap * 2 <= c->frame_len)
		cap = c->in_cap * 2;             /* doubling: few reallocs for a large frame */
	uint8_t *p = realloc(c->in, cap);
	if (!p)
		return -1;
	c->in = p;
	c->in_cap = cap;
	return 0;
}

/* The frame in c->in is whole: serve it and start the next. */
static void frame_complete(struct virt_client *c)
{
	size_t len = c->frame_len;

	c->in_len = c->frame_len = 0;
	process_frame(c, &c->in, len);
	if (!c->in || c->in_cap > IN_KEEP_CAP) {     /* taken by a call, or large: start afresh */
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
}

int virt_client_feed(struct virt_client *c, const void *data, size_t len, char *why, size_t whylen)
{
	const uint8_t *p = data;

	ERR_SET(why, whylen, "client gone");
	while (!c->dead && len) {
		long want = frame_want(c, why, whylen);
		if (want < 0)
			break;
		size_t n = (size_t)want < len ? (size_t)want : len;
		if (ensure_in_cap(c, c->in_len + n) < 0) {
			virt_client_kill(c, "out of memory");
			break;
		}
		memcpy(c->in + c->in_len, p, n);
		c->in_len += n;
		p += n;
		len -= n;
		if (c->frame_len && c->in_len == c->frame_len)
			frame_complete(c);
		else if (!c->frame_len && c->in_len == RPC_LEN_BYTES && frame_want(c, why, whylen) < 0)
			break;
	}
	return c->dead ? -1 : 0;
}

/* Reads no further than the current frame, so a client's input is bounded by one frame and a
 * paused client stops between frames. */
static void client_read(struct virt_client *c)
{
	char why[160];
	long want = frame_want(c, why, sizeof(why));
	ssize_t n;

	if (want < 0)
		return;
	/* Memory follows the bytes that came, not the length a client claims. */
	if (want > (long)VIRT_STREAM_CHUNK)
		want = VIRT_STREAM_CHUNK;
	if (ensure_in_cap(c, c->in_len + (size_t)want) < 0) {
		virt_client_kill(c, "out of memory");
		return;
	}
	n = read(c->fd, c->in + c->in_len, (size_t)want);
	if (n == 0) {
		virt_client_kill(c, NULL);           /* the client hung up */
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			virt_client_kill(c, strerror(errno));
		return;
	}
	c->in_len += (size_t)n;
	if (c->in_len == RPC_LEN_BYTES && !c->frame_len && frame_want(c, why, sizeof(why)) < 0)
		return;
	if (c->frame_len && c->in_len == c->frame_len)
		frame_complete(c);
}

void virt_client_on_event(struct virt_client *c, uint32_t events)
{
	if (c->dead)
		return;
	if (events & EPOLLOUT)
		client_flush(c);
	if (!c->dead && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		client_read(c);
	if (!c->dead)
		virt_client_update_events(c);
}
