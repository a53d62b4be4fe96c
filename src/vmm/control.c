/* The control socket's server: connections on the event loop, never a blocking call.
 *
 * A connection lives in three steps.  Waiting: accepted non-blocking, watched for its request,
 * with a deadline timer; at most waiting_max of them (more are answered EBUSY and closed at once),
 * so a client that connects and says nothing costs one slot for deadline_ms, never the loop.
 * Answering: its one message read, the connection leaves the loop (it is never read again) and the
 * request table's handler runs.  Then either the reply goes out at once, or the handler deferred it
 * and the connection waits, off the loop, for control_reply_later.  A reply is one SOCK_SEQPACKET
 * message sent with MSG_DONTWAIT: a fresh connection's send buffer takes it whole, and a peer that
 * has gone just means the connection closes. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "backends/pv_backend.h"
#include "lib/error.h"
#include "lib/unix_socket.h"
#include "vmm/control.h"
#include "vmm/event_loop.h"

#define ACCEPTS_PER_WAKEUP 64      /* the listen fd is level-triggered: the rest come next pass */

struct control_conn {
	struct control_server *server;
	struct control_conn *next;
	int fd;
	bool waiting;              /* on the loop for its request (counted in n_waiting) */
	uint64_t deadline;         /* timer id while waiting */
};

int control_listen(const char *path, char *err, size_t errlen)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r = fd < 0 ? -errno : unix_socket_bind(fd, path);

	if (!r && listen(fd, 16) < 0)
		r = -errno;
	if (r) {
		ERR_SET(err, errlen, "control socket %s: %s", path, strerror(-r));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Off the loop and its deadline: the connection is never read again. */
static void stop_waiting(struct control_conn *c)
{
	struct control_server *s = c->server;

	if (!c->waiting)
		return;
	event_loop_remove(s->loop, c->fd);
	event_loop_timer_cancel(s->loop, c->deadline);
	c->waiting = false;
	s->n_waiting--;
}

static void conn_close(struct control_conn *c)
{
	struct control_server *s = c->server;

	stop_waiting(c);
	for (struct control_conn **p = &s->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	close(c->fd);
	free(c);
}

/* One message, never waiting; a peer that is gone or not reading loses its reply. */
static void send_reply(int fd, const char *reply)
{
	if (send(fd, reply, strlen(reply), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		LOG("control reply '%.40s': %s", reply, strerror(errno));
}

void control_reply_later(void *conn, int rc, const char *msg)
{
	struct control_conn *c = conn;
	char reply[CONTROL_REPLY_MAX];

	if (rc)
		snprintf(reply, sizeof(reply), "error %s %s", pv_errno_name(-rc), msg);
	else
		snprintf(reply, sizeof(reply), "ok%s%s", msg && *msg ? " " : "", msg ? msg : "");
	send_reply(c->fd, reply);
	conn_close(c);
}

char *control_next_word(struct control_call *call, const char *delims)
{
	return strtok_r(NULL, delims, &call->save);
}

static const struct control_request *find(const struct control_server *s, const char *name)
{
	for (size_t i = 0; i < s->n_table; i++)
		if (!strcmp(s->table[i].name, name))
			return &s->table[i];
	return NULL;
}

static void close_fds(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Serves the request in req (NUL-terminated) on c, which is off the loop. */
static void dispatch(struct control_conn *c, char *req, int *fds, unsigned int n_fds)
{
	struct control_server *s = c->server;
	char reply[CONTROL_REPLY_MAX] = "error EIO the request gave no reply";
	struct control_call call = { .dom = s->dom, .reply = reply, .len = sizeof(reply), .fds = fds,
				     .n_fds = n_fds };
	char *name = strtok_r(req, " \n", &call.save);

	call.name = name;
	call.request = name ? find(s, name) : NULL;
	if (name && !call.request)
		call.request = control_device_request(name);
	if (!name) {
		snprintf(reply, sizeof(reply), "error EINVAL empty request");
	} else if (!call.request) {
		snprintf(reply, sizeof(reply), "error ENOSYS unknown request '%.64s'", name);
	} else {
		if (call.request->flags & CONTROL_MAY_DEFER)
			call.conn = c;
		if (call.request->handler(&call) == CONTROL_DEFERRED && call.conn) {
			close_fds(fds, n_fds);
			return;                 /* c is control_reply_later's now */
		}
	}
	close_fds(fds, n_fds);          /* those the handler kept it set to -1 */
	send_reply(c->fd, reply);
	conn_close(c);
	if (call.destroy && s->on_destroy)
		s->on_destroy(s->ctx);
}

/* The descriptors that came with the request (SCM_RIGHTS), at most CONTROL_FDS_MAX; any beyond
 * that, or cut off (MSG_CTRUNC), are closed and the request refused by the caller. */
static unsigned int take_fds(struct msghdr *msg, int *fds, bool *too_many)
{
	unsigned int n = 0;

	*too_many = (msg->msg_flags & MSG_CTRUNC) != 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (n < CONTROL_FDS_MAX)
				fds[n++] = fd;
			else {
				close(fd);
				*too_many = true;
			}
		}
	}
	return n;
}

static void conn_readable(void *opaque, uint32_t events)
{
	struct control_conn *c = opaque;
	char req[CONTROL_REQUEST_MAX + 1];
	union { struct cmsghdr align; char buf[CMSG_SPACE(CONTROL_FDS_MAX * sizeof(int))]; } control;
	struct iovec iov = { .iov_base = req, .iov_len = CONTROL_REQUEST_MAX };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	int fds[CONTROL_FDS_MAX];
	bool too_many;

	(void)events;
	/* MSG_TRUNC: the message's whole length, so a longer one is refused rather than cut. */
	ssize_t n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {                    /* hung up (or failed) without a request */
		conn_close(c);
		return;
	}
	unsigned int n_fds = take_fds(&msg, fds, &too_many);
	stop_waiting(c);
	if (n > CONTROL_REQUEST_MAX || too_many) {
		char reply[96];
		if (too_many)
			snprintf(reply, sizeof(reply), "error EINVAL more than %d descriptors with the request",
				 CONTROL_FDS_MAX);
		else
			snprintf(reply, sizeof(reply), "error EINVAL request longer than %d bytes",
				 CONTROL_REQUEST_MAX);
		close_fds(fds, n_fds);
		send_reply(c->fd, reply);
		conn_close(c);
		return;
	}
	req[n] = '\0';
	dispatch(c, req, fds, n_fds);
}

static void conn_deadline(void *opaque)
{
	struct control_conn *c = opaque;

	c->deadline = 0;
	LOG("control connection sent no request within %u ms: closed", c->server->deadline_ms);
	conn_close(c);
}

/* A new connection, or -errno (it is then closed). */
static int conn_open(struct control_server *s, int fd)
{
	struct control_conn *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	*c = (struct control_conn){ .server = s, .fd = fd, .next = s->conns };
	if ((r = event_loop_add(s->loop, fd, EPOLLIN, conn_readable, c))) {
		free(c);
		return r;
	}
	if ((r = event_loop_timer_add(s->loop, s->deadline_ms, conn_deadline, c, &c->deadline))) {
		event_loop_remove(s->loop, fd);
		free(c);
		return r;
	}
	c->waiting = true;
	s->n_waiting++;
	s->conns = c;
	return 0;
}

/* Answers EBUSY at once.  A request already queued is read first: closing a socket with unread
 * data resets the peer, which would then never see the answer. */
static void refuse(int fd)
{
	char discard[1];

	for (int i = 0; i < 4 && recv(fd, discard, sizeof(discard), MSG_DONTWAIT | MSG_TRUNC) > 0; i++)
		;
	send_reply(fd, "error EBUSY too many control connections waiting; try again");
	close(fd);
}

static void listen_readable(void *opaque, uint32_t events)
{
	struct control_server *s = opaque;

	(void)events;
	for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				LOG("control socket accept: %s", strerror(errno));
			return;
		}
		if (s->n_waiting >= s->waiting_max) {
			LOG("control socket: %u connections already wait for their request: one refused",
			    s->n_waiting);
			refuse(fd);
			continue;
		}
		int r = conn_open(s, fd);
		if (r) {
			LOG("control connection: %s", strerror(-r));
			close(fd);
		}
	}
}

int control_serve(struct control_server *s, struct event_loop *loop, int listen_fd, struct domain *dom,
		  void (*on_destroy)(void *ctx), void *ctx)
{
	*s = (struct control_server){ .loop = loop, .dom = dom, .listen_fd = listen_fd, .on_destroy = on_destroy,
				      .ctx = ctx, .deadline_ms = CONTROL_DEADLINE_MS,
				      .waiting_max = CONTROL_WAITING_MAX };
	s->table = control_requests(&s->n_table);
	int r = event_loop_add(loop, listen_fd, EPOLLIN, listen_readable, s);
	if (r)
		s->loop = NULL;
	return r;
}

void control_server_close(struct control_server *s)
{
	if (!s->loop)
		return;
	event_loop_remove(s->loop, s->listen_fd);
	while (s->conns)
		conn_close(s->conns);
	s->loop = NULL;
}
