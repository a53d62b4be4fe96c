/* Bounded sessions with xenstored (xl_store.h).  The client library blocks on its socket; a
 * receive and send timeout on that socket turns a silent xenstored into -EAGAIN from the call
 * that waited, and this file turns that into a message naming xenstored. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include "xl/xl_store.h"

int xl_store_open(const struct rundir *rd, struct xl_store *s, int timeout_ms, char *why, size_t len)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	char err[512];
	int fd;

	s->xs = NULL;
	s->timeout_ms = timeout_ms;
	if (!rundir_path(rd, s->socket, sizeof(s->socket), "xenstored/socket")) {
		snprintf(why, len, "run directory path too long");
		return -ENAMETOOLONG;
	}
	s->xs = xs_open_path(s->socket, err, sizeof(err));
	if (!s->xs) {
		int r = strstr(err, strerror(ECONNREFUSED)) ? -ECONNREFUSED :
			strstr(err, strerror(ENOENT)) ? -ENOENT : -EIO;

		snprintf(why, len, "%s", err);
		return r;
	}
	fd = xs_fileno(s->xs);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		int r = -errno;

		snprintf(why, len, "cannot bound waits on %s: %s", s->socket, strerror(-r));
		xl_store_close(s);
		return r;
	}
	return 0;
}

void xl_store_close(struct xl_store *s)
{
	if (s->xs)
		xs_close(s->xs);
	s->xs = NULL;
}

bool xl_store_timed_out(int r)
{
	return r == -EAGAIN || r == -EWOULDBLOCK;
}

const char *xl_store_explain(const struct xl_store *s, int r, char *buf, size_t len)
{
	if (xl_store_timed_out(r)) {
		if (s->timeout_ms % 1000 == 0)
			snprintf(buf, len, "xenstored (%s) did not answer within %d s", s->socket,
				 s->timeout_ms / 1000);
		else
			snprintf(buf, len, "xenstored (%s) did not answer within %d ms", s->socket,
				 s->timeout_ms);
	} else {
		snprintf(buf, len, "%s", strerror(-r));
	}
	return buf;
}
