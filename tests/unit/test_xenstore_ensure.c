/* The xenstore client's bounds (src/lib/xs_client.c) against real sockets, processes and locks:
 * nothing waits forever on a xenstored that is stopped.  A stand-in "stopped xenstored" is a Unix
 * listener that never accepts, its queue filled.  Each timed case takes its bound (5-6 s). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <xen/io/xs_wire.h>

#include "unit.h"
#include "lib/unix_socket.h"
#include "lib/xs_client.h"

struct fixture {
	char dir[64], sock[128], lock[128];
	int listener, queued[64];
	unsigned int n_queued;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool fixture_init(struct unit *u, struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->listener = -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/xs-ensure-XXXXXX");
	if (!mkdtemp(f->dir)) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return false;
	}
	snprintf(f->sock, sizeof(f->sock), "%s/xenstored/socket", f->dir);
	snprintf(f->lock, sizeof(f->lock), "%s/xenstored.lock", f->dir);
	char sub[96];
	snprintf(sub, sizeof(sub), "%s/xenstored", f->dir);
	CHECK(mkdir(sub, 0700) == 0, "mkdir %s: %s", sub, strerror(errno));
	return true;
}

/* A listener at f->sock that never accepts, with its queue full: what a SIGSTOPped xenstored
 * looks like to a client once enough of them tried. */
static bool stopped_listener(struct unit *u, struct fixture *f)
{
	f->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->listener < 0 || unix_socket_bind(f->listener, f->sock) || listen(f->listener, 0) < 0) {
		CHECK(0, "listening on %s: %s", f->sock, strerror(errno));
		return false;
	}
	for (f->n_queued = 0; f->n_queued < 64; f->n_queued++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0 || unix_socket_connect(fd, f->sock)) {
			if (fd >= 0)
				close(fd);
			break;
		}
		f->queued[f->n_queued] = fd;
	}
	CHECK(f->n_queued < 64, "the listen queue of %s never filled", f->sock);
	return f->n_queued < 64;
}

static void fixture_fini(struct fixture *f)
{
	char cmd[128];

	for (unsigned int i = 0; i < f->n_queued; i++)
		close(f->queued[i]);
	if (f->listener >= 0)
		close(f->listener);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", f->dir);
}

/* A shell script in the fixture's directory to hand xenstored_ensure as its binary; its path
 * goes to bin. */
static void fake_xenstored(struct unit *u, const struct fixture *f, char *bin, size_t len,
			   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void fake_xenstored(struct unit *u, const struct fixture *f, char *bin, size_t len,
			   const char *fmt, ...)
{
	va_list ap;

	snprintf(bin, len, "%s/fake-xenstored", f->dir);
	FILE *s = fopen(bin, "w");
	if (!s) {
		CHECK(0, "writing %s: %s", bin, strerror(errno));
		return;
	}
	fputs("#!/bin/sh\n", s);
	va_start(ap, fmt);
	vfprintf(s, fmt, ap);
	va_end(ap);
	fclose(s);
	CHECK(chmod(bin, 0755) == 0, "chmod %s: %s", bin, strerror(errno));
}

/* xs_open to a stopped xenstored fails after the 5 s send timeout instead of blocking. */
static void test_open_bounded(struct unit *u, const void *arg)
{
	struct fixture f;
	char err[512] = "";

	(void)arg;
	if (!fixture_init(u, &f))
		return;
	if (stopped_listener(u, &f)) {
		long long t0 = now_ms();
		struct xs_client *xs = xs_open_path(f.sock, err, sizeof(err));
		long long took = now_ms() - t0;
		CHECK(!xs, "xs_open_path connected to a listener whose queue is full");
		CHECK(took >= 4500 && took <= 8000, "xs_open_path gave up after %lld ms, not ~5 s", took);
		CHECK(strstr(err, f.sock) && strstr(err, strerror(EAGAIN)),
		      "the error does not name the socket and EAGAIN: %s", err);
		xs_close(xs);
	}
	fixture_fini(&f);
}

/* A reply that never comes: with the caller's SO_RCVTIMEO the call fails with -EAGAIN (xl's
 * xl_store_timed_out reads it so). */
static void test_read_timeout_is_eagain(struct unit *u, const void *arg)
{
	struct fixture f;
	char err[512] = "";

	(void)arg;
	if (!fixture_init(u, &f))
		return;
	f.listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f.listener < 0 || unix_socket_bind(f.listener, f.sock) || listen(f.listener, 4) < 0) {
		CHECK(0, "listening on %s: %s", f.sock, strerror(errno));
	} else {
		struct xs_client *xs = xs_open_path(f.sock, err, sizeof(err));
		CHECK(xs, "xs_open_path: %s", err);
		if (xs) {
			struct timeval tv = { .tv_usec = 200 * 1000 };
			char *value = NULL;
			CHECK(setsockopt(xs_fileno(xs), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0,
			      "SO_RCVTIMEO: %s", strerror(errno));
			long long t0 = now_ms();
			int r = xs_read(xs, 0, "/local", &value, NULL);
			long long took = now_ms() - t0;
			CHECK(r == -EAGAIN, "xs_read with nobody answering returned %d (%s), not -EAGAIN",
			      r, strerror(-r));
			CHECK(took >= 150 && took < 2000, "xs_read gave up after %lld ms, not ~200", took);
			free(value);
			xs_close(xs);
		}
	}
	fixture_fini(&f);
}

/* The client's own reply bound (the VMM's link): a reply that does not come fails the call with
 * -ETIMEDOUT, not the EAGAIN of a conflict; when it comes late it is skipped and the next call
 * gets its own reply. */
static void reply(int fd, uint32_t req_id, const char *value)
{
	struct xsd_sockmsg h = { .type = XS_READ, .req_id = req_id, .len = (uint32_t)strlen(value) };

	if (write(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) ||
	    write(fd, value, h.len) != (ssize_t)h.len)
		fprintf(stderr, "# writing a reply: %s\n", strerror(errno));
}

static void test_reply_timeout(struct unit *u, const void *arg)
{
	struct fixture f;
	char err[512] = "";

	(void)arg;
	if (!fixture_init(u, &f))
		return;
	f.listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f.listener < 0 || unix_socket_bind(f.listener, f.sock) || listen(f.listener, 4) < 0) {
		CHECK(0, "listening on %s: %s", f.sock, strerror(errno));
		fixture_fini(&f);
		return;
	}
	struct xs_client *xs = xs_open_path(f.sock, err, sizeof(err));
	int srv = accept4(f.listener, NULL, NULL, SOCK_CLOEXEC);
	CHECK(xs && srv >= 0, "connecting: %s / accept: %s", err, strerror(errno));
	if (xs && srv >= 0) {
		char *value = NULL, req[64];
		xs_set_reply_timeout(xs, 200);
		long long t0 = now_ms();
		int r = xs_read(xs, 0, "/a", &value, NULL);
		long long took = now_ms() - t0;
		CHECK(r == -ETIMEDOUT, "an unanswered xs_read returned %d (%s), not -ETIMEDOUT", r,
		      strerror(-r));
		CHECK(took >= 150 && took < 2000, "it gave up after %lld ms, not ~200", took);
		CHECK(read(srv, req, sizeof(req)) > 0, "the request never reached the server");
		reply(srv, 1, "stale");          /* the late answer to the first call */
		reply(srv, 2, "fresh");          /* and the second call's, ahead of it */
		r = xs_read(xs, 0, "/b", &value, NULL);
		CHECK(r == 0 && value && !strcmp(value, "fresh"),
		      "the next call got %d '%s', not its own reply 'fresh'", r, value ? value : "");
		free(value);
	}
	xs_close(xs);
	if (srv >= 0)
		close(srv);
	fixture_fini(&f);
}

/* A stopped xenstored is not replaced: ensure says so after the connect bound and starts nothing
 * (the binary given would leave a mark if it ran). */
static void test_ensure_leaves_stopped_one(struct unit *u, const void *arg)
{
	struct fixture f;
	char err[512] = "", mark[160], bin[160];

	(void)arg;
	if (!fixture_init(u, &f))
		return;
	snprintf(mark, sizeof(mark), "%s/started", f.dir);
	fake_xenstored(u, &f, bin, sizeof(bin), "touch '%s'\n", mark);
	if (stopped_listener(u, &f)) {
		long long t0 = now_ms();
		int r = xenstored_ensure(f.dir, bin, err, sizeof(err));
		long long took = now_ms() - t0;
		CHECK(r == -EAGAIN, "xenstored_ensure returned %d (%s), not -EAGAIN: %s", r,
		      strerror(-r), err);
		CHECK(took >= 4500 && took <= 8000, "xenstored_ensure gave up after %lld ms", took);
		CHECK(strstr(err, f.sock) && strstr(err, "not starting another"),
		      "the error does not name the socket and say nothing started: %s", err);
		CHECK(access(mark, F_OK) != 0, "xenstored_ensure started %s anyway", bin);
	}
	fixture_fini(&f);
}

/* Someone holds xenstored.lock and never lets go: ensure gives up after its bound, naming the
 * lock, and starts nothing. */
static void test_ensure_lock_bounded(struct unit *u, const void *arg)
{
	struct fixture f;
	char err[512] = "", mark[160], bin[160];

	(void)arg;
	if (!fixture_init(u, &f))
		return;
	snprintf(mark, sizeof(mark), "%s/started", f.dir);
	fake_xenstored(u, &f, bin, sizeof(bin), "touch '%s'\n", mark);
	/* flock belongs to the open file: our own descriptor conflicts with ensure's. */
	int held = open(f.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (held < 0 || flock(held, LOCK_EX) < 0) {
		CHECK(0, "holding %s: %s", f.lock, strerror(errno));
	} else {
		long long t0 = now_ms();
		int r = xenstored_ensure(f.dir, bin, err, sizeof(err));
		long long took = now_ms() - t0;
		CHECK(r == -ETIMEDOUT, "xenstored_ensure returned %d (%s), not -ETIMEDOUT: %s", r,
		      strerror(-r), err);
		CHECK(took >= 5500 && took <= 9000, "xenstored_ensure gave up after %lld ms, not ~6 s",
		      took);
		CHECK(strstr(err, f.lock) != NULL, "the error does not name the lock: %s", err);
		CHECK(access(mark, F_OK) != 0, "xenstored_ensure started %s without the lock", bin);
	}
	if (held >= 0)
		close(held);
	fixture_fini(&f);
}

/* A "xenstored" that exits without listening: ensure says so at once (its exit status and the
 * log to read), without waiting out the 5 s. */
static void test_ensure_failed_start(struct unit *u, const void *arg)
{
	struct fixture f;
	char err[512] = "", bin[160];

	(void)arg;
	if (!fixture_init(u, &f))
		return;
	fake_xenstored(u, &f, bin, sizeof(bin), "echo 'fake: refusing' >&2\nexit 3\n");
	long long t0 = now_ms();
	int r = xenstored_ensure(f.dir, bin, err, sizeof(err));
	long long took = now_ms() - t0;
	CHECK(r == -ETIMEDOUT, "xenstored_ensure returned %d (%s): %s", r, strerror(-r), err);
	CHECK(took < 3000, "a start that failed was waited for %lld ms", took);
	CHECK(strstr(err, "exit status 3") && strstr(err, "xenstored.log"),
	      "the error does not give the exit status and the log: %s", err);
	char logf[160], line[128] = "";
	snprintf(logf, sizeof(logf), "%s/log/xenstored.log", f.dir);
	FILE *l = fopen(logf, "r");
	if (l) {
		if (!fgets(line, sizeof(line), l))
			line[0] = '\0';
		fclose(l);
	}
	CHECK(strstr(line, "fake: refusing") != NULL, "%s has not the program's stderr: '%s'", logf,
	      line);
	fixture_fini(&f);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "read-timeout-is-eagain", test_read_timeout_is_eagain, NULL);
	unit_case(&u, "reply-timeout", test_reply_timeout, NULL);
	unit_case(&u, "ensure-failed-start", test_ensure_failed_start, NULL);
	unit_case(&u, "open-bounded", test_open_bounded, NULL);
	unit_case(&u, "ensure-leaves-stopped-one", test_ensure_leaves_stopped_one, NULL);
	unit_case(&u, "ensure-lock-bounded", test_ensure_lock_bounded, NULL);
	return unit_finish(&u);
}
