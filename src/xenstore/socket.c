#define _GNU_SOURCE
/* Unix-socket transport and listeners.  Requests are read a header or a payload at a time, so
 * file descriptors sent with a message (SCM_RIGHTS, for INTRODUCE) arrive with that message. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/unix_socket.h"
#include "xenstore/conn.h"
#include "xenstore/loop.h"
#include "xenstore/socket.h"

static ssize_t sock_read(struct xs_conn *c, void *buf, size_t len)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * XS_CONN_MAX_FDS)];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	ssize_t n;

	do
		n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		LOG("%s: recvmsg: %s: closing it", c->label, strerror(errno));
		return -1;
	}
	if (msg.msg_flags & MSG_CTRUNC)
		LOG("%s: descriptors beyond the message's room were dropped", c->label);
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (c->n_fds < XS_CONN_MAX_FDS)
				c->fds[c->n_fds++] = fd;
			else
				close(fd);
		}
	}
	return n == 0 ? -1 : n;     /* EOF: the client is gone */
}

static ssize_t sock_write(struct xs_conn *c, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	return n;
}

static void sock_destroy(struct xs_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Edge-triggered: each wakeup reads until the socket is empty or flow control stops us; an
 * EPOLLOUT edge after the client has read resumes both directions.  With a snapshot to write,
 * replies wait for the loop's commit point (persist.c: nothing acknowledged is lost). */
static void sock_service(struct xenstored *xsd, struct xs_conn *c, uint32_t events)
{
	(void)events;
	if (!xsd->persist.enabled)
		conn_flush(c);
	conn_handle_input(xsd, c);
	if (!xsd->persist.enabled)
		conn_flush(c);
	if (c->broken)
		conn_close(xsd, c);
}

static const struct xs_transport sock_transport = {
	.name = "socket", .close_when_broken = true, .peer_socket = true, .read = sock_read, .write = sock_write, .destroy = sock_destroy,
	.service = sock_service,
};

int socket_listen(struct xenstored *xsd, const char *path, unsigned int domid, bool privileged,
		  char *err, size_t errlen)
{
	struct xs_listener *l;
	int e;

	l = calloc(1, sizeof(*l));
	if (!l) {
		ERR_SET(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(l->path, sizeof(l->path), "%s", path);
	l->domid = domid;
	l->privileged = privileged;
	l->poll = (struct xs_poll){ .kind = XS_POLL_LISTENER, .owner = l };
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0)
		goto fail;
	unlink(path);
	if ((e = unix_socket_bind(l->fd, path)) < 0) {
		errno = -e;
		goto fail;
	}
	if (chmod(path, 0600) < 0 || listen(l->fd, 64) < 0)
		goto fail;
	e = loop_watch_fd(xsd, l->fd, EPOLLIN, &l->poll);
	if (e) {
		errno = -e;
		goto fail;
	}
	l->next = xsd->listeners;
	xsd->listeners = l;
	return 0;
fail:
	e = errno;
	ERR_SET(err, errlen, "listening on %s: %s", path, strerror(e));
	if (l->fd >= 0)
		close(l->fd);
	free(l);
	return -e;
}

int socket_listen_unpriv(struct xenstored *xsd, unsigned int domid, char *path, size_t pathlen,
			 char *err, size_t errlen)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/xenstored/socket.d", xsd->rundir);
	if ((size_t)snprintf(path, pathlen, "%s/%u", dir, domid) >= pathlen) {
		ERR_SET(err, errlen, "socket path too long");
		return -ENAMETOOLONG;
	}
	for (struct xs_listener *l = xsd->listeners; l; l = l->next)
		if (!l->privileged && l->domid == domid)
			return 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int e = errno;
		ERR_SET(err, errlen, "mkdir %s: %s", dir, strerror(e));
		return -e;
	}
	return socket_listen(xsd, path, domid, false, err, errlen);
}

void socket_accept(struct xenstored *xsd, struct xs_listener *l)
{
	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				LOG("accept on %s: %s", l->path, strerror(errno));
			return;
		}
		char label[48];
		snprintf(label, sizeof(label), "%s socket %d", l->privileged ? "dom0" : "unpriv", fd);
		struct xs_conn *c = conn_new(xsd, &sock_transport, l->domid, l->privileged, label);
		if (!c) {
			LOG("%s: out of memory for a new connection: refused", label);
			close(fd);
			continue;
		}
		c->fd = fd;
		int r = loop_watch_fd(xsd, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, &c->poll);
		if (r < 0) {
			LOG("%s: epoll_ctl: %s: connection refused", label, strerror(-r));
			conn_close(xsd, c);
		}
	}
}

void socket_close_listeners(struct xenstored *xsd)
{
	while (xsd->listeners) {
		struct xs_listener *l = xsd->listeners;
		xsd->listeners = l->next;
		loop_forget(xsd, l->fd);
		close(l->fd);
		unlink(l->path);
		free(l);
	}
}
