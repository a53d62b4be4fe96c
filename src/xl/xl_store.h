/* xl's sessions with xenstored, every reply bounded (XL_XENSTORE_MS): a stopped or hung xenstored
 * costs a command that bound and a message naming it, never a hang. */
#ifndef XENITH_XL_STORE_H
#define XENITH_XL_STORE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include "lib/rundir.h"
#include "lib/xs_client.h"

struct xl_store {
	struct xs_client *xs;
	char socket[PATH_MAX];
	int timeout_ms;
};

/* Connects to the xenstored of `rd` (it is not started: only a running one is used), with each
 * reply bounded by timeout_ms.  0, or -errno with why (-ECONNREFUSED/-ENOENT: none runs). */
int xl_store_open(const struct rundir *rd, struct xl_store *s, int timeout_ms, char *why,
		  size_t len);
void xl_store_close(struct xl_store *s);

/* Why a call through `s` failed with r, for a message: "xenstored (PATH) did not answer within
 * 5 s" when it ran out of time, else strerror.  (Outside a transaction xenstored never answers
 * EAGAIN, so -EAGAIN is the socket's timeout.)  Returns buf. */
const char *xl_store_explain(const struct xl_store *s, int r, char *buf, size_t len);

/* True if r means xenstored did not answer in time. */
bool xl_store_timed_out(int r);

#endif
