/* The shared-ring transport (docs/misc/xenstore-ring.txt).  The page is guest memory: the guest
 * may change any byte at any moment, so every index is read once per use, checked (prod - cons may
 * never exceed the ring size) and data is copied out before it is parsed.  A guest that breaks the
 * rules gets the reason in the page's `error` field and is no longer served; it stays introduced
 * until RELEASE, as in Xen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "xenstore/conn.h"
#include "xenstore/domain.h"
#include "xenstore/loop.h"
#include "xenstore/ring.h"
#include "xenstore/transaction.h"
#include "xenstore/watch.h"

#define RING_PAGE 4096

static volatile struct xenstore_domain_interface *page(struct xs_conn *c)
{
	return c->ring;
}

static XENSTORE_RING_IDX load(volatile XENSTORE_RING_IDX *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store(volatile XENSTORE_RING_IDX *p, XENSTORE_RING_IDX v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void ring_fail(struct xs_conn *c, int code, const char *why, unsigned int prod,
		      unsigned int cons)
{
	LOG("%s: %s (prod %u, cons %u): no longer served", c->label, why, prod, cons);
	c->error_code = code;
}

/* Consumes into ring_cons only: req_cons is published at the commit point, after the snapshot
 * that records what these bytes did (persist.c), so a xenstored killed before it re-reads them. */
static ssize_t ring_read(struct xs_conn *c, void *buf, size_t len)
{
	volatile struct xenstore_domain_interface *r = page(c);
	XENSTORE_RING_IDX published = load(&r->req_cons);

	/* Only a guest rewriting req_cons (or a test) moves it: follow, as Xen reads it each time. */
	if (published != c->ring_published)
		c->ring_cons = c->ring_published = published;
	XENSTORE_RING_IDX cons = c->ring_cons, prod = load(&r->req_prod);
	XENSTORE_RING_IDX avail = prod - cons;

	if (avail > XENSTORE_RING_SIZE) {
		ring_fail(c, XENSTORE_ERROR_RINGIDX, "request ring indices impossible", prod, cons);
		return -1;
	}
	size_t n = avail;
	if (n > len)
		n = len;
	if (n > XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(cons))
		n = XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(cons);
	for (size_t i = 0; i < n; i++)
		((char *)buf)[i] = r->req[MASK_XENSTORE_IDX(cons) + i];
	c->ring_cons = cons + (XENSTORE_RING_IDX)n;
	if (n && c->snapshot_dirty)
		*c->snapshot_dirty = true;
	return (ssize_t)n;
}

static ssize_t ring_write(struct xs_conn *c, const void *buf, size_t len)
{
	volatile struct xenstore_domain_interface *r = page(c);
	XENSTORE_RING_IDX cons = load(&r->rsp_cons), prod = load(&r->rsp_prod);
	XENSTORE_RING_IDX used = prod - cons;

	if (used > XENSTORE_RING_SIZE) {
		ring_fail(c, XENSTORE_ERROR_RINGIDX, "response ring indices impossible", prod, cons);
		return -1;
	}
	size_t n = XENSTORE_RING_SIZE - used;
	if (n > len)
		n = len;
	if (n > XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(prod))
		n = XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(prod);
	for (size_t i = 0; i < n; i++)
		r->rsp[MASK_XENSTORE_IDX(prod) + i] = ((const char *)buf)[i];
	store(&r->rsp_prod, prod + (XENSTORE_RING_IDX)n);
	return (ssize_t)n;
}

static void ring_signal(struct xs_conn *c)
{
	uint64_t one = 1;

	store(&page(c)->req_cons, c->ring_cons);
	c->ring_published = c->ring_cons;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (write(c->notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		LOG("%s: notify: %s", c->label, strerror(errno));
}

static void ring_destroy(struct xs_conn *c)
{
	if (c->ring)
		munmap(c->ring, RING_PAGE);
	c->ring = NULL;
	if (c->fd >= 0)
		close(c->fd);
	if (c->memfd >= 0)
		close(c->memfd);
	if (c->notify_fd >= 0)
		close(c->notify_fd);
	c->fd = c->memfd = c->notify_fd = -1;
}

static void ring_service_events(struct xenstored *xsd, struct xs_conn *c, uint32_t events)
{
	if (events & (EPOLLHUP | EPOLLERR))
		ring_kick_hangup(xsd, c);
	else
		ring_service(xsd, c);
}

static const struct xs_transport ring_transport = {
	.name = "ring", .read = ring_read, .write = ring_write, .signal = ring_signal,
	.destroy = ring_destroy, .service = ring_service_events,
};

struct xs_conn *ring_conn_new(struct xenstored *xsd, unsigned int domid, unsigned long mfn,
			      int memfd, int kick_fd, int notify_fd, bool resume, int *err)
{
	char label[48];
	struct stat st;
	struct xs_conn *c;

	snprintf(label, sizeof(label), "domain %u ring", domid);
	c = conn_new(xsd, &ring_transport, domid, false, label);
	if (!c) {
		close(memfd);
		close(kick_fd);
		close(notify_fd);
		*err = ENOMEM;
		return NULL;
	}
	c->fd = kick_fd;
	c->memfd = memfd;
	c->notify_fd = notify_fd;
	if (fstat(memfd, &st) < 0 || mfn > (unsigned long)(st.st_size / RING_PAGE) ||
	    (unsigned long long)(mfn + 1) * RING_PAGE > (unsigned long long)st.st_size) {
		LOG("domain %u: ring page %lu is outside its memory (%lld bytes)", domid, mfn,
		    (long long)st.st_size);
		*err = EINVAL;
		goto fail;
	}
	c->ring = mmap(NULL, RING_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd,
		       (off_t)mfn * RING_PAGE);
	if (c->ring == MAP_FAILED) {
		c->ring = NULL;
		LOG("domain %u: mapping ring page %lu: %s", domid, mfn, strerror(errno));
		*err = EINVAL;
		goto fail;
	}
	int r = loop_watch_fd(xsd, kick_fd, EPOLLIN, &c->poll);
	if (r) {
		LOG("domain %u: watching the kick fd: %s", domid, strerror(-r));
		*err = -r;
		goto fail;
	}
	volatile struct xenstore_domain_interface *p = page(c);
	p->server_features |= XS_RING_FEATURES;
	c->ring_cons = c->ring_published = load(&p->req_cons);
	c->snapshot_dirty = &c->ring_changed;
	c->ring_changed = true;     /* a new ring: the journal records its domain whole */
	/* A resumed ring keeps its error: a guest that broke the rules before still has to ask for a
	 * reconnection. */
	if (!resume)
		p->error = XENSTORE_ERROR_NONE;
	else if (p->error != XENSTORE_ERROR_NONE)
		c->broken = true;
	return c;
fail:
	conn_close(xsd, c);
	return NULL;
}

/* The guest asked for a reset (connection = XENSTORE_RECONNECT): a fresh ring on a packet
 * boundary, no watches, no transactions. */
static void ring_reconnect(struct xenstored *xsd, struct xs_conn *c)
{
	volatile struct xenstore_domain_interface *r = page(c);

	LOG("%s: guest asked to reconnect", c->label);
	watch_drop_all(xsd, c);
	tx_drop_all(xsd, c);
	c->hdr_got = c->body_got = 0;
	c->in_body = false;
	c->out_off = c->out_len = 0;
	c->ring_cons = c->ring_published = 0;
	c->n_lost_tx = 0;
	if (c->snapshot_dirty)
		*c->snapshot_dirty = true;
	store(&r->req_cons, 0);
	store(&r->req_prod, 0);
	store(&r->rsp_cons, 0);
	store(&r->rsp_prod, 0);
	r->error = XENSTORE_ERROR_NONE;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	r->connection = XENSTORE_CONNECTED;
	c->broken = false;
	c->dirty = true;
}

void ring_service(struct xenstored *xsd, struct xs_conn *c)
{
	char drain[64];

	if (c->closed)
		return;
	/* The kick fd is shared with the VMM, so its flags stay as they are (blocking, probably):
	 * read only what poll says is there. */
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP)))
			break;
		ssize_t n = read(c->fd, drain, sizeof(drain));
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
			/* a pipe or socket as kick fd whose writer went away */
			ring_kick_hangup(xsd, c);
			return;
		}
		if (n < 0 || n == 8)   /* an eventfd is drained by one read */
			break;
	}
	volatile struct xenstore_domain_interface *r = page(c);
	if (r->connection == XENSTORE_RECONNECT)
		ring_reconnect(xsd, c);
	/* With a snapshot to write first, replies and req_cons wait for the loop's commit point. */
	bool now = !xsd->persist.enabled;
	if (!c->broken) {
		if (now)
			conn_flush(c);
		conn_handle_input(xsd, c);
		if (now)
			conn_flush(c);
	}
	if (c->broken && r->error == XENSTORE_ERROR_NONE) {
		/* Keep the kick fd watched: a reconnect request can revive the ring. */
		r->error = (uint32_t)(c->error_code ? c->error_code : XENSTORE_ERROR_COMM);
		c->dirty = true;
	}
	if (c->dirty && now) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		ring_signal(c);
		c->dirty = false;
	}
}

void ring_kick_hangup(struct xenstored *xsd, struct xs_conn *c)
{
	LOG("%s: kick fd hung up", c->label);
	domain_conn_gone(xsd, c);
}

void ring_conn_close(struct xenstored *xsd, struct xs_conn *c)
{
	conn_close(xsd, c);
}
