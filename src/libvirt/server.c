/* xenith-libvirtd's loop (server.h): the listening socket, clients, streams, timers and the stop
 * signals all in one epoll set.  Peers are checked by SO_PEERCRED: only our own uid is served, as
 * only root reaches xenstored's socket. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/unix_socket.h"
#include "libvirt/server_int.h"

struct virt_timer {
	struct virt_timer *next;
	int id;
	unsigned int interval_ms;
	uint64_t due_ms;
	void (*fn)(struct virt_daemon *d, void *ctx);
	void *ctx;
};

static const struct virt_watch listen_watch = { VIRT_WATCH_LISTEN };
static const struct virt_watch signal_watch = { VIRT_WATCH_SIGNAL };

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int virt_daemon_init(struct virt_daemon *d, bool with_loop, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	d->epfd = d->listen_fd = d->signal_fd = -1;
	d->uid = geteuid();
	if (with_loop) {
		d->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (d->epfd < 0) {
			ERR_SET(err, errlen, "epoll_create1: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Does a daemon answer on path?  Then it must not be replaced under its clients. */
static bool socket_answers(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r;

	if (fd < 0)
		return false;
	r = unix_socket_connect(fd, path);
	close(fd);
	return r == 0 || r == -EAGAIN || r == -EINPROGRESS;
}

int virt_daemon_listen(struct virt_daemon *d, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, r;

	if (strlen(path) >= sizeof(d->sock_path)) {
		ERR_SET(err, errlen, "socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			ERR_SET(err, errlen, "%s exists and is not a socket", path);
			return -EEXIST;
		}
		if (socket_answers(path)) {
			ERR_SET(err, errlen, "another xenith-libvirtd already answers on %s", path);
			return -EADDRINUSE;
		}
		unlink(path);                  /* a stale socket of a daemon that died */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		ERR_SET(err, errlen, "socket: %s", strerror(errno));
		return r;
	}
	/* Born 0600: no moment where another user could connect. */
	mode_t old = umask(0177);
	r = unix_socket_bind(fd, path);
	umask(old);
	if (r == 0 && chmod(path, 0600) < 0)
		r = -errno;
	if (r == 0 && listen(fd, 128) < 0)
		r = -errno;
	if (r < 0) {
		ERR_SET(err, errlen, "listening on %s: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	if (d->epfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = (void *)&listen_watch };
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			r = -errno;
			ERR_SET(err, errlen, "epoll_ctl: %s", strerror(errno));
			close(fd);
			unlink(path);
			return r;
		}
	}
	d->listen_fd = fd;
	strcpy(d->sock_path, path);
	return 0;
}

static void accept_clients(struct virt_daemon *d)
{
	for (;;) {
		int fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ucred cred;
		socklen_t len = sizeof(cred);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				LOG("accept: %s", strerror(errno));
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != d->uid) {
			LOG("refused a client of uid %d: only uid %d is served", (int)cred.uid, (int)d->uid);
			close(fd);
			continue;
		}
		if (!virt_client_new(d, fd)) {
			LOG("refused a client: %zu clients already, or out of memory", d->nclients);
			close(fd);
		}
	}
}

int virt_daemon_add_timer(struct virt_daemon *d, unsigned int interval_ms,
			  void (*fn)(struct virt_daemon *d, void *ctx), void *ctx)
{
	struct virt_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	t->id = d->next_timer_id++;
	t->interval_ms = interval_ms ? interval_ms : 1;
	t->due_ms = now_ms() + t->interval_ms;
	t->fn = fn;
	t->ctx = ctx;
	t->next = d->timers;
	d->timers = t;
	return t->id;
}

void virt_daemon_remove_timer(struct virt_daemon *d, int id)
{
	for (struct virt_timer **pp = &d->timers; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct virt_timer *t = *pp;
			*pp = t->next;
			free(t);
			return;
		}
	}
}

static int next_timeout(struct virt_daemon *d)
{
	uint64_t now = now_ms(), soonest = UINT64_MAX;

	for (struct virt_timer *t = d->timers; t; t = t->next)
		if (t->due_ms < soonest)
			soonest = t->due_ms;
	if (soonest == UINT64_MAX)
		return -1;
	return soonest <= now ? 0 : (int)(soonest - now > 60000 ? 60000 : soonest - now);
}

static void run_timers(struct virt_daemon *d)
{
	uint64_t now = now_ms();
	int due[64];
	size_t n = 0;

	/* Ids first: a timer's fn may add or remove timers. */
	for (struct virt_timer *t = d->timers; t && n < 64; t = t->next)
		if (t->due_ms <= now)
			due[n++] = t->id;
	for (size_t i = 0; i < n; i++) {
		for (struct virt_timer *t = d->timers; t; t = t->next) {
			if (t->id != due[i])
				continue;
			t->due_ms = now + t->interval_ms;
			t->fn(d, t->ctx);
			break;
		}
	}
}

void virt_daemon_for_each_client(struct virt_daemon *d, void (*fn)(struct virt_client *c, void *ctx),
				 void *ctx)
{
	for (struct virt_client *c = d->clients; c; c = c->next)
		if (!c->dead)
			fn(c, ctx);
}

/* Unlinks the clients that died this round. */
static void reap_clients(struct virt_daemon *d)
{
	struct virt_client **pp = &d->clients;

	while (*pp) {
		struct virt_client *c = *pp;
		if (!c->dead) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		d->nclients--;
		virt_client_unref(c);
	}
}

static int watch_signals(struct virt_daemon *d, char *err, size_t errlen)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);       /* a stream's fd or a client gone: EPIPE, not death */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	d->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = (void *)&signal_watch };
	if (d->signal_fd < 0 || epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->signal_fd, &ev) < 0) {
		ERR_SET(err, errlen, "signalfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int virt_daemon_run(struct virt_daemon *d, char *err, size_t errlen)
{
	struct epoll_event evs[64];

	if (d->epfd < 0) {
		ERR_SET(err, errlen, "the daemon has no event loop");
		return -1;
	}
	if (d->signal_fd < 0 && watch_signals(d, err, errlen) < 0)
		return -1;
	while (!d->stop) {
		int n = epoll_wait(d->epfd, evs, 64, next_timeout(d));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ERR_SET(err, errlen, "epoll_wait: %s", strerror(errno));
			return -1;
		}
		for (int i = 0; i < n; i++) {
			const struct virt_watch *w = evs[i].data.ptr;
			switch (w->kind) {
			case VIRT_WATCH_LISTEN:
				accept_clients(d);
				break;
			case VIRT_WATCH_SIGNAL: {
				struct signalfd_siginfo si;
				if (read(d->signal_fd, &si, sizeof(si)) == sizeof(si)) {
					LOG("signal %u: stopping", si.ssi_signo);
					d->stop = true;
				}
				break;
			}
			case VIRT_WATCH_CLIENT:
				virt_client_on_event((struct virt_client *)(void *)w, evs[i].events);
				break;
			case VIRT_WATCH_STREAM: {
				/* A stream freed earlier this round left no event behind: epoll
				 * reports a closed fd no more, but this batch may still hold it,
				 * so look it up among the live streams first. */
				struct virt_stream *s = (struct virt_stream *)(void *)w;
				bool live = false;
				for (struct virt_client *c = d->clients; c && !live; c = c->next)
					for (struct virt_stream *t = c->streams; t; t = t->next)
						if (t == s) {
							live = true;
							break;
						}
				if (live)
					virt_stream_on_event(s, evs[i].events);
				break;
			}
			}
		}
		run_timers(d);
		reap_clients(d);
	}
	return 0;
}

void virt_daemon_fini(struct virt_daemon *d)
{
	while (d->clients)
		virt_client_free(d->clients);
	while (d->timers) {
		struct virt_timer *t = d->timers;
		d->timers = t->next;
		free(t);
	}
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		unlink(d->sock_path);
	}
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	if (d->epfd >= 0)
		close(d->epfd);
	d->listen_fd = d->signal_fd = d->epfd = -1;
}
