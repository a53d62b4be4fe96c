/* Connections: the input parser and the output queue (conn.h explains the flow control). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/error.h"
#include "xenstore/conn.h"
#include "xenstore/domain.h"
#include "xenstore/loop.h"
#include "xenstore/message.h"
#include "xenstore/transaction.h"
#include "xenstore/watch.h"

/* Messages handled per wakeup before giving other connections a turn. */
#define XS_BATCH 64

struct xs_conn *conn_new(struct xenstored *xsd, const struct xs_transport *ops, unsigned int domid,
			 bool privileged, const char *label)
{
	struct xs_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ops = ops;
	c->poll = (struct xs_poll){ .kind = XS_POLL_CONN, .owner = c };
	c->domid = domid;
	c->privileged = privileged;
	c->fd = c->memfd = c->notify_fd = -1;
	c->next_tx_id = 1;
	c->seq = ++xsd->next_conn_seq;
	snprintf(c->label, sizeof(c->label), "%s", label);
	if (!privileged) {
		c->dom = domain_get(xsd, domid, true);
		if (!c->dom) {
			free(c);
			return NULL;
		}
	}
	c->next = xsd->conns;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &xsd->conns;
	xsd->conns = c;
	return c;
}

static void close_fds(struct xs_conn *c)
{
	for (unsigned int i = 0; i < c->n_fds; i++)
		if (c->fds[i] >= 0)
			close(c->fds[i]);
	c->n_fds = 0;
}

void conn_close(struct xenstored *xsd, struct xs_conn *c)
{
	if (c->closed)
		return;
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	watch_drop_all(xsd, c);
	tx_drop_all(xsd, c);
	close_fds(c);
	loop_forget(xsd, c->fd);
	if (c->ops->destroy)
		c->ops->destroy(c);
	c->closed = c->broken = true;
	c->next = xsd->graveyard;
	xsd->graveyard = c;
}

void conn_reap(struct xenstored *xsd)
{
	while (xsd->graveyard) {
		struct xs_conn *c = xsd->graveyard;
		xsd->graveyard = c->next;
		free(c->out);
		free(c->lost_tx);
		free(c);
	}
}

int conn_take_fd(struct xs_conn *c)
{
	if (!c->n_fds)
		return -1;
	int fd = c->fds[0];
	memmove(&c->fds[0], &c->fds[1], (c->n_fds - 1) * sizeof(c->fds[0]));
	c->n_fds--;
	return fd;
}

bool conn_output_full(const struct xenstored *xsd, const struct xs_conn *c)
{
	size_t cap = xsd->quota.queued_bytes ? xsd->quota.queued_bytes : SIZE_MAX;

	return c->out_len - c->out_off > cap;
}

/* Room for `need` more bytes at the end of the output queue.  0 or -ENOMEM. */
static int reserve(struct xs_conn *c, size_t need)
{
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + need > c->out_cap) {
		/* Compact first; grow only if that is not enough. */
		if (c->out_off) {
			memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
		if (c->out_len + need > c->out_cap) {
			size_t cap = c->out_cap ? c->out_cap : 4096;
			while (cap < c->out_len + need)
				cap *= 2;
			char *grown = realloc(c->out, cap);
			if (!grown)
				return -ENOMEM;
			c->out = grown;
			c->out_cap = cap;
		}
	}
	return 0;
}

int conn_queue_bytes(struct xs_conn *c, const void *data, size_t len)
{
	if (!len)
		return 0;
	if (reserve(c, len))
		return -ENOMEM;
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	if (c->snapshot_dirty)
		*c->snapshot_dirty = true;
	return 0;
}

int conn_queue(struct xs_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
	       const void *body, size_t len)
{
	struct xsd_sockmsg hdr = { .type = type, .req_id = req_id, .tx_id = tx_id,
				   .len = (uint32_t)len };
	size_t need = sizeof(hdr) + len;

	if (reserve(c, need))
		return -ENOMEM;
	memcpy(c->out + c->out_len, &hdr, sizeof(hdr));
	if (len)
		memcpy(c->out + c->out_len + sizeof(hdr), body, len);
	c->out_len += need;
	if (c->snapshot_dirty)
		*c->snapshot_dirty = true;
	return 0;
}

void conn_send_event(struct xenstored *xsd, struct xs_conn *c, const char *path, const char *token)
{
	size_t plen = strlen(path) + 1, tlen = strlen(token) + 1;
	char body[XENSTORE_PAYLOAD_MAX];

	if (c->broken)
		return;
	if (conn_output_full(xsd, c) || plen + tlen > sizeof(body)) {
		if (c->events_dropped++ == 0)
			LOG("%s: output queue full, dropping watch events", c->label);
		return;
	}
	memcpy(body, path, plen);
	memcpy(body + plen, token, tlen);
	if (conn_queue(c, XS_WATCH_EVENT, 0, 0, body, plen + tlen) == 0)
		c->dirty = true;
}

int conn_flush(struct xs_conn *c)
{
	while (!c->broken && c->out_off < c->out_len) {
		ssize_t n = c->ops->write(c, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0) {
			c->broken = true;
			return -1;
		}
		if (n == 0)
			break;
		c->out_off += (size_t)n;
		c->dirty = true;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	return c->broken ? -1 : 0;
}

int conn_handle_input(struct xenstored *xsd, struct xs_conn *c)
{
	unsigned int handled = 0;

	c->more_input = false;
	while (!c->broken) {
		if (conn_output_full(xsd, c))
			return 0;          /* resumed when the peer has read */
		if (handled == XS_BATCH) {
			c->more_input = true;
			return 0;
		}
		ssize_t n;
		if (!c->in_body) {
			n = c->ops->read(c, (char *)&c->hdr + c->hdr_got, sizeof(c->hdr) - c->hdr_got);
			if (n < 0)
				c->broken = true;
			if (n <= 0)
				break;
			c->hdr_got += (unsigned int)n;
			c->dirty = true;
			if (c->hdr_got < sizeof(c->hdr))
				continue;
			/* A payload beyond the protocol's limit cannot be skipped safely: Xen drops
			 * such a client, and so do we. */
			if (c->hdr.len > XENSTORE_PAYLOAD_MAX) {
				LOG("%s: message of %u bytes (type %u) exceeds %u: disconnecting",
				    c->label, c->hdr.len, c->hdr.type, XENSTORE_PAYLOAD_MAX);
				c->error_code = XENSTORE_ERROR_PROTO;
				c->broken = true;
				return -1;
			}
			c->in_body = true;
			c->body_got = 0;
		}
		if (c->body_got < c->hdr.len) {
			n = c->ops->read(c, c->body + c->body_got, c->hdr.len - c->body_got);
			if (n < 0)
				c->broken = true;
			if (n <= 0)
				break;
			c->body_got += (unsigned int)n;
			c->dirty = true;
			if (c->body_got < c->hdr.len)
				continue;
		}
		c->body[c->hdr.len] = '\0';
		c->in_body = false;
		c->hdr_got = 0;
		struct xs_request req = { .hdr = c->hdr, .body = c->body, .len = c->hdr.len };
		process_message(xsd, c, &req);
		close_fds(c);      /* fds a request did not use are not kept */
		handled++;
	}
	return c->broken ? -1 : 0;
}

/* ---- the memory transport ---- */

static ssize_t mem_read(struct xs_conn *c, void *buf, size_t len)
{
	if (len > c->mem_in_len)
		len = c->mem_in_len;
	memcpy(buf, c->mem_in, len);
	c->mem_in += len;
	c->mem_in_len -= len;
	return (ssize_t)len;
}

static ssize_t mem_write(struct xs_conn *c, const void *buf, size_t len)
{
	(void)c;
	(void)buf;
	(void)len;
	return 0;          /* output stays queued for the caller to inspect */
}

const struct xs_transport xs_mem_transport = {
	.name = "memory", .read = mem_read, .write = mem_write,
};

void conn_mem_feed(struct xs_conn *c, const void *data, size_t len)
{
	c->mem_in = data;
	c->mem_in_len = len;
}
