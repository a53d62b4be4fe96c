/* A small blocking xenstore client (xs_client.h).  One request at a time: send it, read messages
 * until the reply with our req_id comes, keeping watch events that arrive meanwhile.
 *
 * Nothing here may wait forever on a xenstored that is stopped or wedged: its listen queue fills,
 * and a connect to a full Unix stream listener sleeps until the queue drains.  So every socket
 * gets a send timeout before it connects (it bounds the connect, and then every send); a receive
 * timeout is the caller's (xl sets one and reads -EAGAIN as "did not answer").  Starting
 * xenstored waits for its lock, its first process and its socket with deadlines too. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xen/io/xs_wire.h>

#include "lib/error.h"
#include "lib/unix_socket.h"
#include "lib/xs_client.h"

struct xs_event {
	struct xs_event *next;
	size_t len;
	char body[];            /* path NUL token NUL */
};

struct xs_client {
	int fd;
	int reply_timeout_ms;   /* 0: wait for replies as the socket's own timeout says */
	uint32_t next_req;
	struct xs_event *events, **events_tail;
};

static const char *default_rundir(const char *rundir)
{
	if (rundir && *rundir)
		return rundir;
	rundir = getenv("XENITH_RUNDIR");
	return rundir && *rundir ? rundir : "/run/xenith";
}

/* A connect to a full listen queue, and any one send, fails with -EAGAIN after this. */
#define SEND_TIMEOUT_MS 5000
/* How long xenstored_ensure waits for a xenstored it started to answer. */
#define START_WAIT_MS 5000
/* How long it waits for xenstored.lock: its holder may be waiting START_WAIT_MS for its own. */
#define LOCK_WAIT_MS (START_WAIT_MS + 1000)

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_path(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { .tv_sec = SEND_TIMEOUT_MS / 1000,
			      .tv_usec = (SEND_TIMEOUT_MS % 1000) * 1000 };
	int r;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = unix_socket_connect(fd, path);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

struct xs_client *xs_open_path(const char *socket_path, char *err, size_t errlen)
{
	int fd = connect_path(socket_path);
	struct xs_client *xs;

	if (fd < 0) {
		ERR_SET(err, errlen, "connecting to xenstored at %s: %s", socket_path, strerror(-fd));
		return NULL;
	}
	xs = calloc(1, sizeof(*xs));
	if (!xs) {
		close(fd);
		ERR_SET(err, errlen, "out of memory");
		return NULL;
	}
	xs->fd = fd;
	xs->next_req = 1;
	xs->events_tail = &xs->events;
	return xs;
}

struct xs_client *xs_open(const char *rundir, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/xenstored/socket", default_rundir(rundir)) >=
	    sizeof(path)) {
		ERR_SET(err, errlen, "run directory name too long");
		return NULL;
	}
	return xs_open_path(path, err, errlen);
}

void xs_close(struct xs_client *xs)
{
	if (!xs)
		return;
	while (xs->events) {
		struct xs_event *e = xs->events;
		xs->events = e->next;
		free(e);
	}
	close(xs->fd);
	free(xs);
}

int xs_fileno(const struct xs_client *xs)
{
	return xs->fd;
}

/* A receive timeout the caller set ends this with -EAGAIN (xl_store.c relies on it). */
static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		got += (size_t)n;
	}
	return 0;
}

/* Reads one message; *body is malloc'd with a NUL after it. */
static int read_msg(struct xs_client *xs, struct xsd_sockmsg *hdr, char **body)
{
	int r = read_full(xs->fd, hdr, sizeof(*hdr));

	if (r)
		return r;
	if (hdr->len > XENSTORE_PAYLOAD_MAX)
		return -EPROTO;
	*body = malloc(hdr->len + 1);
	if (!*body)
		return -ENOMEM;
	r = read_full(xs->fd, *body, hdr->len);
	if (r) {
		free(*body);
		return r;
	}
	(*body)[hdr->len] = '\0';
	return 0;
}

static void keep_event(struct xs_client *xs, const char *body, size_t len)
{
	struct xs_event *e = malloc(sizeof(*e) + len + 1);

	if (!e)
		return;
	e->next = NULL;
	e->len = len;
	memcpy(e->body, body, len);
	e->body[len] = '\0';
	*xs->events_tail = e;
	xs->events_tail = &e->next;
}

static int error_errno(const char *name)
{
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (!strcmp(xsd_errors[i].errstring, name))
			return -xsd_errors[i].errnum;
	return -EIO;
}

/* Waits until fd is readable or the deadline (now_ms) passes: 0, -ETIMEDOUT or -errno.  A
 * message xenstored began is read whole after this (it writes each in one go). */
static int wait_readable(int fd, long long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		int n = poll(&p, 1, left > 0 ? (int)left : 0);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

void xs_set_reply_timeout(struct xs_client *xs, int ms)
{
	xs->reply_timeout_ms = ms > 0 ? ms : 0;
}

/* Sends type with the payload parts (each copied as given) and fds; waits for the answer.
 * *reply (optional) gets the malloc'd payload, NUL-terminated. */
static int request(struct xs_client *xs, uint32_t type, uint32_t tx, const void *const *parts,
		   const size_t *lens, unsigned int n_parts, const int *fds, unsigned int n_fds,
		   char **reply, size_t *reply_len)
{
	struct xsd_sockmsg hdr = { .type = type, .req_id = xs->next_req++, .tx_id = tx };
	struct iovec iov[8];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 1 };

	if (n_parts > 7 || n_fds > 4)
		return -EINVAL;
	iov[0] = (struct iovec){ .iov_base = &hdr, .iov_len = sizeof(hdr) };
	for (unsigned int i = 0; i < n_parts; i++) {
		iov[i + 1] = (struct iovec){ .iov_base = (void *)parts[i], .iov_len = lens[i] };
		hdr.len += (uint32_t)lens[i];
	}
	if (hdr.len > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	msg.msg_iovlen = n_parts + 1;
	if (n_fds) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
	}
	size_t total = sizeof(hdr) + hdr.len, sent = 0;
	while (sent < total) {
		ssize_t n = sendmsg(xs->fd, &msg, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		sent += (size_t)n;
		msg.msg_control = NULL;     /* fds go once */
		msg.msg_controllen = 0;
		while (msg.msg_iovlen && (size_t)n >= msg.msg_iov[0].iov_len) {
			n -= (ssize_t)msg.msg_iov[0].iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen) {
			msg.msg_iov[0].iov_base = (char *)msg.msg_iov[0].iov_base + n;
			msg.msg_iov[0].iov_len -= (size_t)n;
		}
	}
	long long deadline = xs->reply_timeout_ms ? now_ms() + xs->reply_timeout_ms : 0;
	for (;;) {
		struct xsd_sockmsg rh;
		char *body;
		int r = deadline ? wait_readable(xs->fd, deadline) : 0;
		if (!r)
			r = read_msg(xs, &rh, &body);
		if (r)
			return r;
		if (rh.type == XS_WATCH_EVENT) {
			keep_event(xs, body, rh.len);
			free(body);
			continue;
		}
		if (rh.req_id != hdr.req_id) {
			free(body);
			continue;
		}
		if (rh.type == XS_ERROR) {
			r = error_errno(body);
			free(body);
			return r;
		}
		if (reply) {
			*reply = body;
			if (reply_len)
				*reply_len = rh.len;
		} else {
			free(body);
		}
		return 0;
	}
}

/* A request whose payload is one string plus optional raw bytes. */
static int simple(struct xs_client *xs, uint32_t type, uint32_t tx, const char *arg,
		  const void *extra, size_t extra_len, char **reply, size_t *reply_len)
{
	const void *parts[2] = { arg, extra };
	size_t lens[2] = { strlen(arg) + 1, extra_len };

	return request(xs, type, tx, parts, lens, extra ? 2 : 1, NULL, 0, reply, reply_len);
}

int xs_read(struct xs_client *xs, uint32_t tx, const char *path, char **value, size_t *len)
{
	size_t l;
	int r = simple(xs, XS_READ, tx, path, NULL, 0, value, &l);

	if (!r && len)
		*len = l;
	return r;
}

int xs_write(struct xs_client *xs, uint32_t tx, const char *path, const void *value, size_t len)
{
	const void *parts[2] = { path, value };
	size_t lens[2] = { strlen(path) + 1, len };

	return request(xs, XS_WRITE, tx, parts, lens, 2, NULL, 0, NULL, NULL);
}

int xs_write_str(struct xs_client *xs, uint32_t tx, const char *path, const char *value)
{
	return xs_write(xs, tx, path, value, strlen(value));
}

int xs_mkdir(struct xs_client *xs, uint32_t tx, const char *path)
{
	return simple(xs, XS_MKDIR, tx, path, NULL, 0, NULL, NULL);
}

int xs_rm(struct xs_client *xs, uint32_t tx, const char *path)
{
	return simple(xs, XS_RM, tx, path, NULL, 0, NULL, NULL);
}

/* Splits a NUL-separated list into one block: pointers first, then the strings. */
static int split_list(const char *body, size_t len, char ***names, unsigned int *count)
{
	unsigned int n = 0;

	for (size_t i = 0; i < len; i++)
		if (body[i] == '\0')
			n++;
	char **block = malloc((n + 1) * sizeof(char *) + len + 1);
	if (!block)
		return -ENOMEM;
	char *strings = (char *)(block + n + 1);
	memcpy(strings, body, len);
	strings[len] = '\0';
	for (unsigned int i = 0, at = 0; i < n; i++) {
		block[i] = strings + at;
		at += (unsigned int)strlen(strings + at) + 1;
	}
	block[n] = NULL;
	*names = block;
	*count = n;
	return 0;
}

int xs_directory(struct xs_client *xs, uint32_t tx, const char *path, char ***names,
		 unsigned int *count)
{
	char *body;
	size_t len;
	int r = simple(xs, XS_DIRECTORY, tx, path, NULL, 0, &body, &len);

	if (r)
		return r;
	r = split_list(body, len, names, count);
	free(body);
	return r;
}

int xs_get_perms(struct xs_client *xs, uint32_t tx, const char *path, char *buf, size_t len)
{
	char *body;
	size_t blen;
	int r = simple(xs, XS_GET_PERMS, tx, path, NULL, 0, &body, &blen);

	if (r)
		return r;
	for (size_t i = 0; i + 1 < blen; i++)
		if (body[i] == '\0')
			body[i] = ' ';
	snprintf(buf, len, "%s", body);
	free(body);
	return 0;
}

int xs_set_perms(struct xs_client *xs, uint32_t tx, const char *path, const char *perms)
{
	char list[XENSTORE_PAYLOAD_MAX];
	size_t at = 0;
	const char *p = perms;

	while (*p) {
		size_t l = strcspn(p, " ,");
		if (l) {
			if (at + l + 1 > sizeof(list))
				return -E2BIG;
			memcpy(list + at, p, l);
			at += l;
			list[at++] = '\0';
		}
		p += l;
		while (*p == ' ' || *p == ',')
			p++;
	}
	if (!at)
		return -EINVAL;
	return simple(xs, XS_SET_PERMS, tx, path, list, at, NULL, NULL);
}

int xs_transaction_start(struct xs_client *xs, uint32_t *tx)
{
	char *body;
	int r = simple(xs, XS_TRANSACTION_START, 0, "", NULL, 0, &body, NULL);

	if (r)
		return r;
	*tx = (uint32_t)strtoul(body, NULL, 10);
	free(body);
	return *tx ? 0 : -EPROTO;
}

int xs_transaction_end(struct xs_client *xs, uint32_t tx, bool commit)
{
	return simple(xs, XS_TRANSACTION_END, tx, commit ? "T" : "F", NULL, 0, NULL, NULL);
}

int xs_watch(struct xs_client *xs, const char *path, const char *token)
{
	const void *parts[2] = { path, token };
	size_t lens[2] = { strlen(path) + 1, strlen(token) + 1 };

	return request(xs, XS_WATCH, 0, parts, lens, 2, NULL, 0, NULL, NULL);
}

int xs_unwatch(struct xs_client *xs, const char *path, const char *token)
{
	const void *parts[2] = { path, token };
	size_t lens[2] = { strlen(path) + 1, strlen(token) + 1 };

	return request(xs, XS_UNWATCH, 0, parts, lens, 2, NULL, 0, NULL, NULL);
}

int xs_wait_event(struct xs_client *xs, int timeout_ms, char *path, size_t pathlen, char *token,
		  size_t tokenlen)
{
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;

	while (!xs->events) {
		struct pollfd p = { .fd = xs->fd, .events = POLLIN };
		int wait = deadline < 0 ? -1 : (int)(deadline - now_ms());
		/* Past the deadline (or timeout 0) the socket is still looked at once, without waiting. */
		if (deadline >= 0 && wait < 0)
			wait = 0;
		int n = poll(&p, 1, wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		struct xsd_sockmsg h;
		char *body;
		int r = read_msg(xs, &h, &body);
		if (r)
			return r;
		if (h.type == XS_WATCH_EVENT)
			keep_event(xs, body, h.len);
		free(body);
	}
	struct xs_event *e = xs->events;
	xs->events = e->next;
	if (!xs->events)
		xs->events_tail = &xs->events;
	size_t plen = strnlen(e->body, e->len);
	snprintf(path, pathlen, "%s", e->body);
	snprintf(token, tokenlen, "%s", plen < e->len ? e->body + plen + 1 : "");
	free(e);
	return 0;
}

int xs_introduce(struct xs_client *xs, unsigned int domid, unsigned long mfn, unsigned int port,
		 int guest_memfd, int kick_fd, int notify_fd)
{
	char args[64];
	int n = snprintf(args, sizeof(args), "%u%c%lu%c%u%c", domid, 0, mfn, 0, port, 0);
	const void *parts[1] = { args };
	size_t lens[1] = { (size_t)n };
	int fds[3] = { guest_memfd, kick_fd, notify_fd };

	return request(xs, XS_INTRODUCE, 0, parts, lens, 1, fds, 3, NULL, NULL);
}

int xs_release(struct xs_client *xs, unsigned int domid)
{
	char id[16];

	snprintf(id, sizeof(id), "%u", domid);
	return simple(xs, XS_RELEASE, 0, id, NULL, 0, NULL, NULL);
}

int xs_is_domain_introduced(struct xs_client *xs, unsigned int domid)
{
	char id[16], *body;

	snprintf(id, sizeof(id), "%u", domid);
	int r = simple(xs, XS_IS_DOMAIN_INTRODUCED, 0, id, NULL, 0, &body, NULL);
	if (r)
		return r;
	r = body[0] == 'T';
	free(body);
	return r;
}

int xs_control(struct xs_client *xs, const char *const *argv, unsigned int argc, char *out,
	       size_t outlen)
{
	const void *parts[7];
	size_t lens[7];
	char *body;

	if (argc == 0 || argc > 7)
		return -EINVAL;
	for (unsigned int i = 0; i < argc; i++) {
		parts[i] = argv[i];
		lens[i] = strlen(argv[i]) + 1;
	}
	int r = request(xs, XS_CONTROL, 0, parts, lens, argc, NULL, 0, &body, NULL);
	if (r)
		return r;
	if (out && outlen)
		snprintf(out, outlen, "%s", body);
	free(body);
	return 0;
}

/* ---- starting xenstored on demand ---- */

static int binary_beside_us(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		return -errno;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	if ((size_t)snprintf(buf, len, "%s/xenstored", self) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* 1: a xenstored accepted a connection; 0: none listens (no socket, refused...); -EAGAIN: one
 * listens but its queue stayed full for SEND_TIMEOUT_MS (stopped or wedged: not to be replaced). */
static int probe(const char *sock)
{
	int fd = connect_path(sock);

	if (fd == -EAGAIN)
		return -EAGAIN;
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* flock(LOCK_EX) on fd, giving up after wait_ms: 0, -ETIMEDOUT or -errno. */
static int lock_within(int fd, int wait_ms)
{
	long long deadline = now_ms() + wait_ms;

	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(20 * 1000);
	}
}

static int busy_error(const char *sock, char *err, size_t errlen)
{
	ERR_SET(err, errlen, "a xenstored listens on %s but accepted no connection within %d s "
		"(stopped or wedged?); not starting another", sock, SEND_TIMEOUT_MS / 1000);
	return -EAGAIN;
}

static pid_t start_xenstored(const char *bin, const char *rd, const char *logf)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid < 0 ? -errno : pid;
	int log = open(logf, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (log >= 0)
		dup2(log, STDERR_FILENO);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
	}
	execl(bin, "xenstored", "--rundir", rd, (char *)NULL);
	dprintf(STDERR_FILENO, "xenstored_ensure: exec %s: %s\n", bin, strerror(errno));
	_exit(127);
}

int xenstored_ensure(const char *rundir, const char *xenstored_binary, char *err, size_t errlen)
{
	char sock[PATH_MAX], lock[PATH_MAX], logf[PATH_MAX], bin[PATH_MAX];
	const char *rd = default_rundir(rundir);
	int lfd = -1, r = 0;

	if ((size_t)snprintf(sock, sizeof(sock), "%s/xenstored/socket", rd) >= sizeof(sock) ||
	    (size_t)snprintf(lock, sizeof(lock), "%s/xenstored.lock", rd) >= sizeof(lock) ||
	    (size_t)snprintf(logf, sizeof(logf), "%s/log/xenstored.log", rd) >= sizeof(logf)) {
		ERR_SET(err, errlen, "run directory name too long");
		return -ENAMETOOLONG;
	}
	if ((r = probe(sock)) != 0)
		return r > 0 ? 0 : busy_error(sock, err, errlen);
	if (xenstored_binary && *xenstored_binary)
		snprintf(bin, sizeof(bin), "%s", xenstored_binary);
	else if (getenv("XENITH_XENSTORED") && *getenv("XENITH_XENSTORED"))
		snprintf(bin, sizeof(bin), "%s", getenv("XENITH_XENSTORED"));
	else if ((r = binary_beside_us(bin, sizeof(bin)))) {
		ERR_SET(err, errlen, "finding xenstored beside this program: %s", strerror(-r));
		return r;
	}
	char logdir[PATH_MAX];
	snprintf(logdir, sizeof(logdir), "%s/log", rd);
	if ((mkdir(rd, 0755) < 0 && errno != EEXIST) || (mkdir(logdir, 0755) < 0 && errno != EEXIST)) {
		r = -errno;
		ERR_SET(err, errlen, "creating %s: %s", logdir, strerror(-r));
		return r;
	}
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lfd < 0) {
		r = -errno;
		ERR_SET(err, errlen, "opening %s: %s", lock, strerror(-r));
		return r;
	}
	if ((r = lock_within(lfd, LOCK_WAIT_MS))) {
		if (r == -ETIMEDOUT)
			ERR_SET(err, errlen, "%s stayed locked for %d s: another process is starting "
				"xenstored, or is stuck doing so", lock, LOCK_WAIT_MS / 1000);
		else
			ERR_SET(err, errlen, "locking %s: %s", lock, strerror(-r));
		goto out;
	}
	/* Someone else may have started it while we waited for the lock. */
	if ((r = probe(sock)) != 0) {
		r = r > 0 ? 0 : busy_error(sock, err, errlen);
		goto out;
	}
	pid_t pid = start_xenstored(bin, rd, logf);
	if (pid < 0) {
		r = pid;
		ERR_SET(err, errlen, "fork: %s", strerror(-r));
		goto out;
	}
	/* xenstored listens, then forks; its first process exits then.  Both within the deadline. */
	long long deadline = now_ms() + START_WAIT_MS;
	int status = 0, up = 0;
	bool reaped = false;
	for (;;) {
		if (!reaped) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			reaped = w == pid || (w < 0 && errno != EINTR);
		}
		if (up <= 0)
			up = probe(sock);
		if ((up > 0 && reaped) || up < 0 || now_ms() >= deadline)
			break;
		if (up == 0 && reaped && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
			break;          /* it failed (see its log): no use waiting */
		usleep(20 * 1000);
	}
	bool killed = false;
	if (!reaped && up == 0) {
		/* It neither listened nor exited in time: it serves nobody, so it goes. */
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		killed = true;
	}
	if (up < 0) {
		r = busy_error(sock, err, errlen);
	} else if (up == 0) {
		char how[64];
		if (killed)
			snprintf(how, sizeof(how), "it hung, killed");
		else if (WIFEXITED(status))
			snprintf(how, sizeof(how), "exit status %d", WEXITSTATUS(status));
		else
			snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(status));
		r = -ETIMEDOUT;
		ERR_SET(err, errlen, "%s did not answer on %s within %d s (%s); see %s", bin, sock,
			START_WAIT_MS / 1000, how, logf);
	}
out:
	close(lfd);
	return r;
}
