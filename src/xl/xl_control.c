/* Control-socket requests, many at once under one deadline (xl_control.h).
 *
 * Every socket is non-blocking and one poll() loop drives them all through connect, send and
 * receive, so a VMM that is stopped, hung or slow costs the bound once, however many domains are
 * asked.  A SEQPACKET connect to a listener whose queue is full fails with EAGAIN (Unix sockets
 * have no connect in progress), so such calls are retried on a short tick until the deadline.
 * When the deadline passes, each call still waiting says which process did not answer: the peer
 * credentials of the socket name the listener, and /proc says whether it is stopped.
 *
 * With a thousand domains (issue 16) two things matter: a socket is only read or written when poll
 * said it was ready, so a round costs one syscall per answer and not one per waiting call; and at
 * most a window of calls hold a socket at once (what RLIMIT_NOFILE leaves, less a reserve), the
 * rest starting as those finish, so `xl list` never runs out of descriptors. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "lib/unix_socket.h"
#include "xl/xl_control.h"
#include "xl/xl_vmm.h"

#define CONTROL_REPLY_MAX 65536  /* one reply message; vif-list has a line per vif */
#define CONNECT_RETRY_MS  20
#define FDS_RESERVED      64     /* descriptors left to the rest of xl while calls run */
#define WINDOW_MIN        8
#define WINDOW_MAX        4096

enum { PHASE_CONNECT, PHASE_SEND, PHASE_RECV, PHASE_DONE };

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void format_ms(int ms, char *buf, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%d s", ms / 1000);
	else
		snprintf(buf, len, "%d ms", ms);
}

static void finish(struct xl_call *c, int result)
{
	c->result = result;
	c->phase = PHASE_DONE;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int errno_from_name(const char *name)
{
	/* Names glibc gives another errno's value, which strerrorname_np never returns. */
	static const struct { const char *name; int e; } aliases[] = {
		{ "ENOTSUP", ENOTSUP }, { "EWOULDBLOCK", EWOULDBLOCK }, { "EDEADLOCK", EDEADLOCK },
	};

	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcmp(aliases[i].name, name))
			return aliases[i].e;
	for (int e = 1; e < 256; e++) {
		const char *n = strerrorname_np(e);

		if (n && !strcmp(n, name))
			return e;
	}
	return EIO;
}

/* "ok[ text]" or "error ENAME message" into (result, reply).  An ok's text may run over several
 * lines (vif-list), after "ok " or after "ok" and a newline. */
static int parse_reply(char *msg, struct xl_call *c)
{
	size_t n = strlen(msg);

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	if (!strcmp(msg, "ok")) {
		snprintf(c->reply, c->len, "%s", "");
		return 0;
	}
	if (!strncmp(msg, "ok ", 3) || !strncmp(msg, "ok\n", 3)) {
		snprintf(c->reply, c->len, "%s", msg + 3);
		return 0;
	}
	msg[strcspn(msg, "\n")] = '\0';
	if (!strncmp(msg, "error ", 6)) {
		char *name = msg + 6, *text = strchr(name, ' ');

		if (text)
			*text++ = '\0';
		snprintf(c->reply, c->len, "%s", text && *text ? text : name);
		return -errno_from_name(name);
	}
	snprintf(c->reply, c->len, "domain %u answered '%.40s' with '%.200s', which is not ok/error",
		 c->domid, c->request, msg);
	return -EPROTO;
}

/* The request's first word, as messages name it (a grant-write's text may be long). */
static int verb_len(const char *request)
{
	size_t n = strcspn(request, " ");

	return n > 40 ? 40 : (int)n;
}

static void try_connect(const struct rundir *rd, struct xl_call *c)
{
	struct ucred cred;
	socklen_t credlen = sizeof(cred);
	char path[PATH_MAX];
	int r;

	if (!rundir_path(rd, path, sizeof(path), "domains/%u/control.sock", c->domid)) {
		snprintf(c->reply, c->len, "run directory path too long");
		finish(c, -ENAMETOOLONG);
		return;
	}
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		r = -errno;
		snprintf(c->reply, c->len, "cannot make a socket: %s", strerror(-r));
		finish(c, r);
		return;
	}
	r = unix_socket_connect(c->fd, path);
	if (r == -EAGAIN) {           /* its listen queue is full: try again on the next tick */
		close(c->fd);
		c->fd = -1;
		return;
	}
	if (r == -ECONNREFUSED)
		c->refused = true;
	if (r == -ECONNREFUSED || r == -ENOENT || r == -ENOTDIR) {
		snprintf(c->reply, c->len, "domain %u is gone", c->domid);
		finish(c, -ESRCH);
		return;
	}
	if (r) {
		snprintf(c->reply, c->len, "cannot connect to %s: %s", path, strerror(-r));
		finish(c, r);
		return;
	}
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) == 0)
		c->vmm_pid = cred.pid;
	c->phase = PHASE_SEND;
}

/* The request in one message, with its descriptors as SCM_RIGHTS when it has any. */
static ssize_t send_request(struct xl_call *c)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * XL_CALL_FDS_MAX)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = (void *)c->request, .iov_len = strlen(c->request) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (!c->nfds)
		return send(c->fd, c->request, iov.iov_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (c->nfds > XL_CALL_FDS_MAX) {
		errno = E2BIG;
		return -1;
	}
	memset(&control, 0, sizeof(control));
	msg.msg_control = control.buf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * c->nfds);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int) * c->nfds);
	memcpy(CMSG_DATA(cmsg), c->fds, sizeof(int) * c->nfds);
	return sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void try_send(struct xl_call *c)
{
	if (send_request(c) >= 0) {
		c->phase = PHASE_RECV;
		return;
	}
	if (errno == EAGAIN || errno == EINTR)
		return;
	int r = -errno;
	snprintf(c->reply, c->len, "cannot send '%.*s' to domain %u: %s", verb_len(c->request),
		 c->request, c->domid, strerror(-r));
	finish(c, r);
}

static void try_recv(struct xl_call *c, char *msg)
{
	ssize_t n = recv(c->fd, msg, CONTROL_REPLY_MAX, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		int r = -errno;
		snprintf(c->reply, c->len, "no answer from domain %u to '%.*s': %s", c->domid,
			 verb_len(c->request), c->request, strerror(-r));
		finish(c, r);
		return;
	}
	if (n == 0) {
		snprintf(c->reply, c->len, "domain %u closed its control socket without answering "
			 "'%.*s'", c->domid, verb_len(c->request), c->request);
		finish(c, -ECONNRESET);
		return;
	}
	msg[n] = '\0';
	finish(c, parse_reply(msg, c));
}

static void time_out(struct xl_call *c, int timeout_ms)
{
	char bound[32], who[256];

	format_ms(timeout_ms, bound, sizeof(bound));
	if (c->phase == PHASE_CONNECT) {
		snprintf(c->reply, c->len, "its control socket did not accept a connection within %s "
			 "(nobody takes connections from it: its VMM is stopped or hung)", bound);
	} else {
		xl_vmm_describe(c->vmm_pid, who, sizeof(who));
		snprintf(c->reply, c->len, "%s did not answer '%.*s' within %s", who,
			 verb_len(c->request), c->request, bound);
	}
	finish(c, -ETIMEDOUT);
}

/* How many calls may hold a socket at once. */
static size_t call_window(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024 - FDS_RESERVED;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= WINDOW_MAX + FDS_RESERVED)
		return WINDOW_MAX;
	return rl.rlim_cur > FDS_RESERVED + WINDOW_MIN ? rl.rlim_cur - FDS_RESERVED : WINDOW_MIN;
}

void xl_control_calls(const struct rundir *rd, struct xl_call *calls, size_t n, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	/* poll() takes only the sockets held (it refuses more entries than RLIMIT_NOFILE); owner maps
	 * an entry back to its call, and revents carries what poll said over to the next round. */
	struct pollfd *fds = calloc(n ? n : 1, sizeof(*fds));
	size_t *owner = calloc(n ? n : 1, sizeof(*owner));
	short *revents = calloc(n ? n : 1, sizeof(*revents));
	char *msg = malloc(CONTROL_REPLY_MAX + 1);
	size_t window = call_window(), in_flight = 0, nfds = 0;

	for (size_t i = 0; i < n; i++) {
		calls[i].fd = -1;
		calls[i].phase = PHASE_CONNECT;
		calls[i].result = 0;
		calls[i].refused = false;
		calls[i].vmm_pid = 0;
		if (calls[i].len)
			calls[i].reply[0] = '\0';
	}
	if (!fds || !owner || !revents || !msg) {
		for (size_t i = 0; i < n; i++) {
			snprintf(calls[i].reply, calls[i].len, "out of memory");
			finish(&calls[i], -ENOMEM);
		}
		goto out;
	}
	for (;;) {
		bool connecting = false, deferred = false, waiting = false;
		long long left;

		for (size_t k = 0; k < nfds; k++)
			revents[owner[k]] = fds[k].revents;
		nfds = 0;
		for (size_t i = 0; i < n; i++) {
			struct xl_call *c = &calls[i];
			short ready = revents[i];
			int before = c->phase;

			revents[i] = 0;
			if (c->phase == PHASE_CONNECT && in_flight < window) {
				try_connect(rd, c);
				ready = POLLOUT;        /* a fresh connection: send at once */
			} else if (c->phase == PHASE_CONNECT) {
				deferred = true;        /* waits for a place in the window */
			}
			if (c->phase == PHASE_SEND && ready)
				try_send(c);
			else if (c->phase == PHASE_RECV && ready)
				try_recv(c, msg);
			/* A call holds a socket from connected (SEND) until DONE. */
			in_flight += (before == PHASE_CONNECT && c->phase != PHASE_CONNECT &&
				      c->phase != PHASE_DONE);
			in_flight -= (before != PHASE_CONNECT && before != PHASE_DONE &&
				      c->phase == PHASE_DONE);
			if (c->phase == PHASE_CONNECT) {
				connecting = true;
			} else if (c->phase != PHASE_DONE) {
				owner[nfds] = i;
				fds[nfds++] = (struct pollfd){
					.fd = c->fd, .events = c->phase == PHASE_SEND ? POLLOUT : POLLIN };
			}
			waiting |= c->phase != PHASE_DONE;
		}
		left = deadline - now_ms();
		if (!waiting || left <= 0)
			break;
		if (deferred && in_flight < window)
			left = 0;               /* places came free in this round: start more now */
		else if (connecting && in_flight < window && left > CONNECT_RETRY_MS)
			left = CONNECT_RETRY_MS;
		if (poll(fds, nfds, (int)left) < 0) {
			int r = -errno;

			for (size_t k = 0; k < nfds; k++)
				fds[k].revents = 0;
			if (r == -EINTR)
				continue;
			for (size_t i = 0; i < n; i++) {
				if (calls[i].phase == PHASE_DONE)
					continue;
				snprintf(calls[i].reply, calls[i].len, "poll: %s", strerror(-r));
				finish(&calls[i], r);
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (calls[i].phase != PHASE_DONE)
			time_out(&calls[i], timeout_ms);
out:
	free(fds);
	free(owner);
	free(revents);
	free(msg);
}

int xl_control_call_fds(const struct rundir *rd, unsigned int domid, const char *request,
			const int *fds, size_t nfds, int timeout_ms, char *reply, size_t len,
			pid_t *vmm_pid)
{
	struct xl_call call = { .domid = domid, .request = request, .fds = fds, .nfds = nfds,
				.reply = reply, .len = len };

	xl_control_calls(rd, &call, 1, timeout_ms);
	if (vmm_pid)
		*vmm_pid = call.vmm_pid;
	return call.result;
}
