/* Streams (virt_stream_attach_fd): a call's serial joined to a file descriptor, both ways.
 * fd -> client: read only while the client's output is below VIRT_STREAM_CHUNK * 4, so a slow
 * client slows its stream instead of growing its queue.  client -> fd: data the fd cannot take yet
 * waits in `pending`; past VIRT_STREAM_BUFFER_MAX the client is not read until it drains. */
#include <errno.h>
#include <fcntl.h>
#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lib/error.h"
#include "libvirt/server_int.h"

#define STREAM_OUT_PAUSE (VIRT_STREAM_CHUNK * 4)

int virt_stream_attach_fd(struct virt_call *call, int fd)
{
	struct virt_client *c = call->client;
	struct virt_stream *s;

	if (c->dead || c->d->epfd < 0 || fd < 0) {
		if (fd >= 0)
			close(fd);
		return virt_call_error(call, VIR_ERR_INTERNAL_ERROR, VIR_FROM_STREAMS,
				       "internal error: no event loop for a stream");
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return virt_call_error(call, VIR_ERR_NO_MEMORY, VIR_FROM_STREAMS, "out of memory");
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	s->watch.kind = VIRT_WATCH_STREAM;
	s->client = c;
	s->fd = fd;
	s->prog = call->program;
	s->vers = VIRT_REMOTE_VERSION;
	s->proc = call->proc;
	s->serial = call->serial;
	s->next = c->streams;
	c->streams = s;
	return 0;
}

void virt_stream_close(struct virt_stream *s)
{
	struct virt_client *c = s->client;
	struct virt_stream **pp;

	for (pp = &c->streams; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	if (s->events && c->d->epfd >= 0)
		epoll_ctl(c->d->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	free(s->pending);
	free(s);
}

static void stream_set_events(struct virt_stream *s, uint32_t ev)
{
	struct virt_client *c = s->client;
	struct epoll_event e = { .events = ev, .data.ptr = &s->watch };
	int op = s->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	if (ev == s->events)
		return;
	if (!ev) {
		epoll_ctl(c->d->epfd, EPOLL_CTL_DEL, s->fd, NULL);
		s->events = 0;
		return;
	}
	if (epoll_ctl(c->d->epfd, op, s->fd, &e) == 0)
		s->events = ev;
}

/* What the stream waits for now. */
static void stream_update(struct virt_stream *s)
{
	uint32_t ev = 0;

	if (!s->active)
		return;
	if (!s->finishing && s->client->out_bytes < STREAM_OUT_PAUSE)
		ev |= EPOLLIN;
	if (s->pending_len)
		ev |= EPOLLOUT;
	stream_set_events(s, ev);
}

/* A STREAM packet to the client: status with data (CONTINUE), nothing (OK) or an error.  False
 * when the client was dropped for it (its streams, s too, are then gone). */
static bool stream_send(struct virt_stream *s, uint32_t status, const void *data, size_t len,
			const struct virt_error *err)
{
	struct virt_client *c = s->client;
	struct xdr_writer w;

	virt_frame_start(&w, s->prog, s->vers, s->proc, RPC_STREAM, s->serial, status);
	if (err)
		rpc_error_encode(&w, err);
	else if (len)
		xdr_put_fixed(&w, data, len);   /* stream data is raw: len pads only at the frame's end */
	virt_client_queue(c, &w);
	return !c->dead;
}

static void stream_fail(struct virt_stream *s, const char *what, int errnum)
{
	struct virt_error e = { .code = VIR_ERR_RPC, .domain = VIR_FROM_STREAMS };

	snprintf(e.message, sizeof(e.message), "stream %s: %s", what, strerror(errnum));
	if (stream_send(s, RPC_ERROR, NULL, 0, &e))
		virt_stream_close(s);
}

void virt_daemon_abort_streams_on(struct virt_daemon *d, dev_t rdev, int code, const char *message)
{
	struct virt_error e = { .code = code, .domain = VIR_FROM_STREAMS };

	snprintf(e.message, sizeof(e.message), "%s", message);
	for (struct virt_client *c = d->clients; c; c = c->next) {
		struct virt_stream *s = c->streams, *next;

		for (; s; s = next) {
			struct stat st;

			next = s->next;
			if (fstat(s->fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != rdev)
				continue;
			if (!stream_send(s, RPC_ERROR, NULL, 0, &e))
				break;          /* the client was dropped, its streams with it */
			virt_stream_close(s);
		}
	}
}

/* Ends the stream normally: a STREAM OK to the client. */
static void stream_end(struct virt_stream *s)
{
	if (stream_send(s, RPC_OK, NULL, 0, NULL))
		virt_stream_close(s);
}

/* Writes what waits for fd; false when the stream ended. */
static bool stream_write(struct virt_stream *s)
{
	while (s->pending_len) {
		ssize_t n = write(s->fd, s->pending, s->pending_len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			stream_fail(s, "write", errno);
			return false;
		}
		memmove(s->pending, s->pending + n, s->pending_len - (size_t)n);
		s->pending_len -= (size_t)n;
	}
	if (!s->pending_len && s->finishing) {
		stream_end(s);
		return false;
	}
	return true;
}

static void stream_read(struct virt_stream *s)
{
	uint8_t *buf;
	ssize_t n;

	if (s->client->out_bytes >= STREAM_OUT_PAUSE)
		return;
	buf = malloc(VIRT_STREAM_CHUNK);
	if (!buf)
		return;
	n = read(s->fd, buf, VIRT_STREAM_CHUNK);
	bool alive = n <= 0 || stream_send(s, RPC_CONTINUE, buf, (size_t)n, NULL);
	free(buf);
	if (!alive)
		return;
	if (n == 0)
		stream_end(s);
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		stream_fail(s, "read", errno);
}

void virt_stream_on_event(struct virt_stream *s, uint32_t events)
{
	struct virt_client *c = s->client;

	if (c->dead)
		return;
	if ((events & EPOLLOUT) && !stream_write(s))
		goto client;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		/* Written-to before read: a hang-up with data still readable drains it first. */
		stream_read(s);
		for (struct virt_stream *t = c->streams; t; t = t->next)
			if (t == s) {
				stream_update(s);
				break;
			}
	} else {
		stream_update(s);
	}
client:
	if (!c->dead)
		virt_client_update_events(c);
}

static struct virt_stream *stream_find(struct virt_client *c, int32_t proc, uint32_t serial)
{
	for (struct virt_stream *s = c->streams; s; s = s->next)
		if (s->active && s->proc == proc && s->serial == serial)
			return s;
	return NULL;
}

void virt_stream_input(struct virt_client *c, const struct rpc_header *h, const uint8_t *data, size_t len)
{
	struct virt_stream *s = stream_find(c, h->proc, h->serial);

	if (!s)
		return;         /* a stream that ended here while the client still sent: dropped */
	switch (h->status) {
	case RPC_CONTINUE:
		if (!len)
			return;
		if (s->pending_len > VIRT_STREAM_BUFFER_MAX) {
			virt_client_kill(c, "it floods a stream");
			return;
		}
		uint8_t *p = realloc(s->pending, s->pending_len + len);
		if (!p) {
			virt_client_kill(c, "out of memory");
			return;
		}
		s->pending = p;
		memcpy(s->pending + s->pending_len, data, len);
		s->pending_len += len;
		if (!stream_write(s))
			return;
		break;
	case RPC_OK:
		s->finishing = true;
		if (!stream_write(s))
			return;
		break;
	default:                /* the client aborted: nothing more to say */
		virt_stream_close(s);
		return;
	}
	stream_update(s);
	virt_client_update_events(c);
}

void virt_streams_call_done(struct virt_client *c, uint32_t serial, bool ok)
{
	struct virt_stream *s = c->streams, *next;

	for (; s; s = next) {
		next = s->next;
		if (s->active || s->serial != serial)
			continue;
		if (!ok) {
			virt_stream_close(s);
			continue;
		}
		s->active = true;
		stream_update(s);
		if (!s->events) {
			struct virt_error e = { .code = VIR_ERR_RPC, .domain = VIR_FROM_STREAMS };
			snprintf(e.message, sizeof(e.message), "stream: this file cannot be polled");
			if (!stream_send(s, RPC_ERROR, NULL, 0, &e))
				return;
			virt_stream_close(s);
		}
		if (c->dead)
			return;
	}
}

void virt_streams_resume(struct virt_client *c)
{
	for (struct virt_stream *s = c->streams; s; s = s->next)
		stream_update(s);
}

bool virt_streams_backlogged(const struct virt_client *c)
{
	for (const struct virt_stream *s = c->streams; s; s = s->next)
		if (s->pending_len > VIRT_STREAM_BUFFER_MAX)
			return true;
	return false;
}
