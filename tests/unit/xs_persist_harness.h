/* What xenstored's persistence tests (test_xenstore_persist, test_xs_journal) share: a temp
 * directory holding the snapshot and its companions, a xenstored started on it and killed the way
 * a process dies, and a guest's ring page on a memfd (its event channels as eventfds) driven from
 * the guest's side. */
#ifndef XENITH_TESTS_XS_PERSIST_HARNESS_H
#define XENITH_TESTS_XS_PERSIST_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "unit.h"
#include "xs_harness.h"
#include "xenstore/loop.h"
#include "xenstore/persist.h"
#include "xenstore/ring.h"

#define XS_GUEST_RING_MFN 3

/* ---- where the store persists ---- */

struct xs_place {
	char dir[64], snap[96], journal[112], bad[128];
};

/* A fresh /tmp/NAME.XXXXXX with the snapshot's path "tree" in it. */
static inline bool xs_place_init(struct unit *u, struct xs_place *p, const char *name)
{
	snprintf(p->dir, sizeof(p->dir), "/tmp/%s.XXXXXX", name);
	CHECK(mkdtemp(p->dir) != NULL, "mkdtemp %s", p->dir);
	snprintf(p->snap, sizeof(p->snap), "%s/tree", p->dir);
	snprintf(p->journal, sizeof(p->journal), "%s.journal", p->snap);
	snprintf(p->bad, sizeof(p->bad), "%s.bad", p->journal);
	return p->dir[0] == '/';
}

/* Removes the snapshot, its companions (kept-aside copies, the journal, a temp file) and the
 * directory. */
static inline void xs_place_free(struct xs_place *p)
{
	static const char *const leftovers[] = { "tree", "tree.journal", "tree.journal.bad",
						 "tree.bad", "tree.tmp" };
	char path[160];

	for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", p->dir, leftovers[i]);
		unlink(path);
	}
	rmdir(p->dir);
}

/* A xenstored persisting at snap, loading what is there (persist_load's result expected). */
static inline struct xenstored *xs_persist_start(struct unit *u, const char *snap, int expect_load)
{
	struct xenstored *xsd = malloc(sizeof(*xsd));

	CHECK_INT(xsd_init(xsd), 0);
	persist_enable(xsd, snap);
	int r = persist_load(xsd);
	CHECK(r == expect_load, "persist_load gave %d, expected %d", r, expect_load);
	return xsd;
}

/* The process dies: nothing more is written or sent (the fds and mapping go as the kernel would
 * close them). */
static inline void xs_persist_die(struct xenstored *xsd)
{
	xsd->persist.enabled = false;
	xsd_destroy(xsd);
	free(xsd);
}

/* ---- a guest's ring ---- */

struct xs_guest {
	int memfd, kick, notify;
	struct xenstore_domain_interface *page;
};

static inline bool xs_guest_init(struct unit *u, struct xs_guest *g)
{
	g->memfd = memfd_create("guest", MFD_CLOEXEC);
	CHECK(g->memfd >= 0 && ftruncate(g->memfd, 16 * 4096) == 0, "memfd");
	g->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g->notify = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g->page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, g->memfd,
		       XS_GUEST_RING_MFN * 4096);
	return g->page != MAP_FAILED && g->memfd >= 0;
}

static inline void xs_guest_free(struct xs_guest *g)
{
	munmap(g->page, 4096);
	close(g->memfd);
	close(g->kick);
	close(g->notify);
}

static inline void xs_guest_introduce(struct unit *u, struct xenstored *xsd, struct xs_guest *g,
				      unsigned int domid)
{
	CHECK_INT(domain_introduce(xsd, domid, XS_GUEST_RING_MFN, 1, dup(g->memfd), dup(g->kick),
				   dup(g->notify)), 0);
}

/* Puts a request on the ring as the guest would (spec as xs_nuls takes it). */
static inline void xs_guest_send(struct xenstore_domain_interface *p, uint32_t type,
				 uint32_t req_id, uint32_t tx, const char *spec)
{
	char msg[sizeof(struct xsd_sockmsg) + 256];
	size_t len = xs_nuls(spec, msg + sizeof(struct xsd_sockmsg));
	struct xsd_sockmsg h = { .type = type, .req_id = req_id, .tx_id = tx, .len = (uint32_t)len };

	memcpy(msg, &h, sizeof(h));
	for (size_t i = 0; i < sizeof(h) + len; i++)
		p->req[MASK_XENSTORE_IDX(p->req_prod + i)] = msg[i];
	__atomic_store_n(&p->req_prod, p->req_prod + (uint32_t)(sizeof(h) + len), __ATOMIC_RELEASE);
}

/* Everything the guest has been answered since it last looked: "TYPE id;" each, or with bodies
 * "TYPE id text;" (NULs shown as '|'). */
static inline void xs_guest_recv(struct xenstore_domain_interface *p, char *out, size_t max,
				 bool bodies)
{
	size_t at = 0;

	out[0] = '\0';
	while (p->rsp_prod - p->rsp_cons >= sizeof(struct xsd_sockmsg) && at < max) {
		struct xsd_sockmsg h;
		char body[XENSTORE_PAYLOAD_MAX + 1];
		for (size_t i = 0; i < sizeof(h); i++)
			((char *)&h)[i] = p->rsp[MASK_XENSTORE_IDX(p->rsp_cons + i)];
		if (p->rsp_prod - p->rsp_cons < sizeof(h) + h.len || h.len > XENSTORE_PAYLOAD_MAX)
			break;
		for (size_t i = 0; i < h.len; i++)
			body[i] = p->rsp[MASK_XENSTORE_IDX(p->rsp_cons + sizeof(h) + i)];
		p->rsp_cons += (uint32_t)(sizeof(h) + h.len);
		size_t blen = h.len && !body[h.len - 1] ? h.len - 1 : h.len;   /* READ has no NUL */
		for (size_t i = 0; i < blen; i++)
			if (!body[i])
				body[i] = '|';
		body[blen] = '\0';
		const char *type = h.type == XS_ERROR ? "ERROR" : xs_type_name(h.type);
		if (bodies)
			at += (size_t)snprintf(out + at, max - at, "%s %u %s;", type, h.req_id, body);
		else
			at += (size_t)snprintf(out + at, max - at, "%s %u;", type, h.req_id);
	}
}

/* Served by xsd: the guest's kick, then the round's commit point. */
static inline void xs_serve(struct xenstored *xsd, unsigned int domid)
{
	struct xs_domain *d = domain_get(xsd, domid, false);

	if (d && d->ring)
		ring_service(xsd, d->ring);
	loop_commit(xsd);
}

#endif
