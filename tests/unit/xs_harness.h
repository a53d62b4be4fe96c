/* Drives xenstored's core in-process for unit tests: connections on the memory transport, one
 * request at a time, replies and watch events read back from the connection's output queue. */
#ifndef XENITH_TESTS_XS_HARNESS_H
#define XENITH_TESTS_XS_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenstore/conn.h"
#include "xenstore/domain.h"
#include "xenstore/message.h"
#include "xenstore/xenstored.h"

struct xs_answer {
	uint32_t type, req_id, tx_id, len;
	char body[XENSTORE_PAYLOAD_MAX + 1];
	char events[16][256];   /* "path|token" of watch events that came with it */
	unsigned int n_events;
	char text[XENSTORE_PAYLOAD_MAX + 16];
};

/* Moves everything queued on c into a: the last reply and the events. */
static inline void xs_collect(struct xs_conn *c, struct xs_answer *a)
{
	size_t at = c->out_off;

	a->n_events = 0;
	while (at + sizeof(struct xsd_sockmsg) <= c->out_len) {
		struct xsd_sockmsg h;
		memcpy(&h, c->out + at, sizeof(h));
		const char *body = c->out + at + sizeof(h);
		if (h.type == XS_WATCH_EVENT) {
			if (a->n_events < 16) {
				size_t pl = strnlen(body, h.len);
				snprintf(a->events[a->n_events++], 256, "%.*s|%.*s", (int)pl, body,
					 (int)(h.len > pl + 1 ? h.len - pl - 2 : 0), body + pl + 1);
			}
		} else {
			a->type = h.type;
			a->req_id = h.req_id;
			a->tx_id = h.tx_id;
			a->len = h.len;
			memcpy(a->body, body, h.len);
			a->body[h.len] = '\0';
		}
		at += sizeof(h) + h.len;
	}
	c->out_off = c->out_len = 0;
}

/* Sends raw bytes on c and processes them. */
static inline void xs_feed(struct xenstored *xsd, struct xs_conn *c, const void *data, size_t len)
{
	conn_mem_feed(c, data, len);
	conn_handle_input(xsd, c);
}

/* One request: type, tx_id, payload of len bytes.  Returns the answer's type (XS_ERROR...). */
static inline uint32_t xs_req(struct xenstored *xsd, struct xs_conn *c, uint32_t type,
			      uint32_t tx, const void *payload, size_t len, struct xs_answer *a)
{
	char buf[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];
	struct xsd_sockmsg h = { .type = type, .req_id = 77, .tx_id = tx, .len = (uint32_t)len };

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), payload, len);
	memset(a, 0, sizeof(*a));
	a->type = 0xffffffff;
	xs_feed(xsd, c, buf, sizeof(h) + len);
	xs_collect(c, a);
	return a->type;
}

/* Payload from a string whose '|' stand for NULs: "path|value" → "path\0value". */
static inline size_t xs_nuls(const char *spec, char *out)
{
	size_t n = strlen(spec);
	for (size_t i = 0; i < n; i++)
		out[i] = spec[i] == '|' ? '\0' : spec[i];
	return n;
}

/* xs_do(xsd, c, XS_WRITE, 0, "/a|v", &a): the same, payload given with '|' for NUL. */
static inline uint32_t xs_do(struct xenstored *xsd, struct xs_conn *c, uint32_t type, uint32_t tx,
			     const char *spec, struct xs_answer *a)
{
	char p[XENSTORE_PAYLOAD_MAX];
	return xs_req(xsd, c, type, tx, p, xs_nuls(spec, p), a);
}

/* The answer as text, in a->text: "ERROR EACCES", or the body with NULs shown as '|' (the
 * terminating NUL of string replies dropped; READ values have none). */
static inline const char *xs_text(struct xs_answer *a)
{
	size_t at = 0, len = a->len;

	if (a->type == XS_ERROR)
		return snprintf(a->text, sizeof(a->text), "ERROR %s", a->body), a->text;
	if (a->type != XS_READ && len && a->body[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len; i++)
		a->text[at++] = a->body[i] ? a->body[i] : '|';
	a->text[at] = '\0';
	return a->text;
}

static inline struct xs_conn *xs_mem_conn(struct xenstored *xsd, unsigned int domid, bool priv)
{
	return conn_new(xsd, &xs_mem_transport, domid, priv, priv ? "test dom0" : "test domU");
}

#endif
