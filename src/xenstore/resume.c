/* Domains after a restart.  xenstored's snapshot (persist.c) keeps, for each introduced domain,
 * its ring as xenstored left it; the guest keeps running meanwhile and may queue requests.  A
 * freshly started xenstored has no guest memory to map (the memfd and eventfds died with the old
 * process), so such a domain *awaits* its VMM: its nodes stay, IS_DOMAIN_INTRODUCED says T, and
 * when the VMM sends INTRODUCE again (same domid, fresh fds) its ring is resumed:
 *
 *  - reading resumes at the req_cons the snapshot recorded.  Requests are consumed into a private
 *    index and req_cons is published only after the snapshot that records their effect is
 *    written, so the page's req_cons is never ahead of the snapshot's: everything between them
 *    was read by a process that died before recording it, and is read again (exactly once in
 *    effect).  A request half read then continues from the bytes the snapshot kept.
 *  - the output the snapshot kept (replies and events not yet in the ring) goes out, less what
 *    the old process wrote after the snapshot: rsp_prod now minus rsp_prod then.
 *  - the guest's watches come back, each fired once, as Xen fires a watch when it is set
 *    (guests re-read on any event, so this also covers changes made while nobody served them).
 *  - its open transactions are lost (their copies of the store were not kept): a request in one
 *    answers EAGAIN, and so does committing it, so the guest starts it again as after any
 *    conflict; aborting it is OK.
 *
 * A VMM that does not come back within xsd->reconnect_ms (it died while xenstored was away) gets
 * its domain released as lifeline.c would have: @releaseDomain, and its nodes removed. */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "lib/error.h"
#include "xenstore/conn.h"
#include "xenstore/domain.h"
#include "xenstore/loop.h"
#include "xenstore/orphans.h"
#include "xenstore/resume.h"
#include "xenstore/watch.h"

static unsigned int count_watches(const struct xs_watch *w)
{
	unsigned int n = 0;

	for (; w; w = w->next)
		n++;
	return n;
}

void resume_state_free(struct xs_ring_state *s)
{
	if (!s)
		return;
	while (s->watches) {
		struct xs_watch *w = s->watches;
		s->watches = w->next;
		free(w->path);
		free(w->token);
		free(w);
	}
	free(s->tx_ids);
	free(s->body);
	free(s->out);
	free(s);
}

void resume_forget(struct xs_domain *d)
{
	if (!d->awaiting)
		return;
	unsigned int n = count_watches(d->awaiting->watches);
	d->watches = d->watches > n ? d->watches - n : 0;
	resume_state_free(d->awaiting);
	d->awaiting = NULL;
}

void resume_apply(struct xenstored *xsd, struct xs_domain *d, struct xs_conn *c)
{
	struct xs_ring_state *s = d->awaiting;
	volatile struct xenstore_domain_interface *r = c->ring;
	XENSTORE_RING_IDX published = c->ring_cons;
	XENSTORE_RING_IDX prod = __atomic_load_n(&r->req_prod, __ATOMIC_ACQUIRE);
	XENSTORE_RING_IDX written = __atomic_load_n(&r->rsp_prod, __ATOMIC_ACQUIRE) - s->rsp_prod;

	d->awaiting = NULL;
	if (prod - published <= XENSTORE_RING_SIZE && s->req_cons - published <= prod - published) {
		c->ring_cons = s->req_cons;
		c->in_body = s->in_body;
		c->hdr = s->hdr;
		c->hdr_got = s->hdr_got;
		c->body_got = s->body_got;
		if (s->body_got)
			memcpy(c->body, s->body, s->body_got);
	} else {
		/* Only a guest writing the indices itself gets here. */
		LOG("%s: ring indices moved while xenstored was away (req_cons %u, snapshot %u, "
		    "req_prod %u): reading from req_cons", c->label, published, s->req_cons, prod);
	}
	if (written < s->out_len) {
		if (conn_queue_bytes(c, s->out + written, s->out_len - written))
			LOG("%s: out of memory for %zu bytes of output kept over the restart", c->label,
			    s->out_len - written);
	} else if (written > s->out_len) {
		LOG("%s: rsp_prod moved %u bytes past the %zu kept over the restart: they are dropped",
		    c->label, written, s->out_len);
	}
	c->next_tx_id = s->next_tx_id;
	c->lost_tx = s->tx_ids;
	c->n_lost_tx = s->n_tx_ids;
	s->tx_ids = NULL;
	c->watches = s->watches;      /* already counted in d->watches since the load */
	s->watches = NULL;
	if (watch_attach_all(xsd, c))
		LOG("%s: out of memory indexing its watches: some may not fire", c->label);
	for (struct xs_watch *w = c->watches; w; w = w->next)
		conn_send_event(xsd, c, w->path + w->strip, w->token);
	LOG("%s: resumed: %u watches fired, %u transactions lost", c->label,
	    count_watches(c->watches), c->n_lost_tx);
	resume_state_free(s);
	c->dirty = true;
	xsd->persist.dirty = true;
}

int resume_arm(struct xenstored *xsd)
{
	unsigned int waiting = 0;

	for (struct xs_domain *d = xsd->domains; d; d = d->next)
		waiting += d->awaiting != NULL;
	if (!waiting || xsd->epfd < 0)
		return 0;
	if (xsd->timer_fd < 0) {
		xsd->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (xsd->timer_fd < 0)
			return -errno;
		xsd->timer_poll = (struct xs_poll){ .kind = XS_POLL_TIMER, .owner = xsd };
		int r = loop_watch_fd(xsd, xsd->timer_fd, EPOLLIN, &xsd->timer_poll);
		if (r) {
			close(xsd->timer_fd);
			xsd->timer_fd = -1;
			return r;
		}
	}
	struct itimerspec when = {
		.it_value = { .tv_sec = xsd->reconnect_ms / 1000,
			      .tv_nsec = (long)(xsd->reconnect_ms % 1000) * 1000000 + 1 },
	};
	if (timerfd_settime(xsd->timer_fd, 0, &when, NULL) < 0)
		return -errno;
	LOG("%u domains await their VMMs; those not back within %u ms are released", waiting,
	    xsd->reconnect_ms);
	return 0;
}

void resume_timer_event(struct xenstored *xsd)
{
	uint64_t expirations;

	if (read(xsd->timer_fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	resume_expire(xsd);
}

void resume_expire(struct xenstored *xsd)
{
	for (struct xs_domain *d = xsd->domains; d; d = d->next) {
		if (!d->awaiting || d->ring)
			continue;
		unsigned int domid = d->domid;
		LOG("domain %u: its VMM (pid %d) did not introduce it again: releasing it and removing "
		    "its nodes", domid, (int)d->introducer);
		domain_release(xsd, domid);
		orphans_remove(xsd, domid);
	}
}
