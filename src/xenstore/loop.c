/* The epoll loop.  Connections closed while a batch of events is being handled wait in the
 * graveyard until the batch is done, so an event later in the batch never sees freed memory. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "lib/error.h"
#include "xenstore/conn.h"
#include "xenstore/lifeline.h"
#include "xenstore/loop.h"
#include "xenstore/persist.h"
#include "xenstore/resume.h"
#include "xenstore/socket.h"

int loop_init(struct xenstored *xsd, char *err, size_t errlen)
{
	sigset_t set;

	xsd->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (xsd->epfd < 0) {
		int e = errno;
		ERR_SET(err, errlen, "epoll_create1: %s", strerror(e));
		return -e;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	xsd->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (xsd->signal_fd < 0) {
		int e = errno;
		ERR_SET(err, errlen, "signalfd: %s", strerror(e));
		return -e;
	}
	xsd->signal_poll = (struct xs_poll){ .kind = XS_POLL_SIGNAL, .owner = xsd };
	int r = loop_watch_fd(xsd, xsd->signal_fd, EPOLLIN, &xsd->signal_poll);
	if (r)
		ERR_SET(err, errlen, "epoll_ctl(signalfd): %s", strerror(-r));
	return r;
}

int loop_watch_fd(struct xenstored *xsd, int fd, uint32_t events, struct xs_poll *poll)
{
	struct epoll_event ev = { .events = events, .data.ptr = poll };

	if (xsd->epfd < 0)
		return 0;
	return epoll_ctl(xsd->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

void loop_forget(struct xenstored *xsd, int fd)
{
	if (xsd->epfd >= 0 && fd >= 0)
		epoll_ctl(xsd->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static bool any_more_input(const struct xenstored *xsd)
{
	for (const struct xs_conn *c = xsd->conns; c; c = c->next)
		if (c->more_input)
			return true;
	return false;
}

int loop_watch_listeners(struct xenstored *xsd)
{
	for (struct xs_listener *l = xsd->listeners; l; l = l->next) {
		int r = loop_watch_fd(xsd, l->fd, EPOLLIN, &l->poll);
		if (r)
			return r;
	}
	return 0;
}

void loop_commit(struct xenstored *xsd)
{
	persist_commit(xsd);
	for (struct xs_conn *c = xsd->conns, *next; c; c = next) {
		next = c->next;
		if (c->closed)
			continue;
		if (c->out_len > c->out_off) {
			bool was_full = conn_output_full(xsd, c);
			conn_flush(c);
			/* Requests left unread while its queue was full get their turn now. */
			if (was_full && !conn_output_full(xsd, c))
				c->more_input = true;
		}
		if (c->broken && c->ops->close_when_broken) {
			conn_close(xsd, c);
			continue;
		}
		if (c->dirty && c->ops->signal) {
			c->ops->signal(c);
			c->dirty = false;
		}
	}
}

void loop_run(struct xenstored *xsd)
{
	struct epoll_event evs[64];

	while (!xsd->stop) {
		int n = epoll_wait(xsd->epfd, evs, 64, any_more_input(xsd) ? 0 : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			LOG("epoll_wait: %s", strerror(errno));
			break;
		}
		/* Connections a batch limit interrupted last round get their next turn. */
		for (struct xs_conn *c = xsd->conns, *next; c; c = next) {
			next = c->next;   /* closed ones move to the graveyard, skipped below */
			if (c->more_input && !c->closed)
				c->ops->service(xsd, c, 0);
		}
		for (int i = 0; i < n; i++) {
			struct xs_poll *p = evs[i].data.ptr;
			switch (p->kind) {
			case XS_POLL_LISTENER:
				socket_accept(xsd, p->owner);
				break;
			case XS_POLL_CONN: {
				struct xs_conn *c = p->owner;
				if (!c->closed)
					c->ops->service(xsd, c, evs[i].events);
				break;
			}
			case XS_POLL_LIFELINE:
				lifeline_event(xsd, p->owner);
				break;
			case XS_POLL_TIMER:
				resume_timer_event(xsd);
				break;
			case XS_POLL_SIGNAL: {
				struct signalfd_siginfo si;
				if (read(xsd->signal_fd, &si, sizeof(si)) == sizeof(si)) {
					LOG("signal %u: exiting", si.ssi_signo);
					xsd->stop = true;
				}
				break;
			}
			}
		}
		/* The snapshot first, then the round's replies and watch events (persist.c). */
		loop_commit(xsd);
		conn_reap(xsd);
	}
}
