/* blkback's data path: the blkif ring (xen/io/blkif.h) against a backing file.
 *
 * Two sides.  The serving thread (the ring's ring_poller thread in the VMM; the test itself in
 * unit tests) consumes: it copies each request off the ring once (RING_COPY_REQUEST: the guest may
 * scribble on the slot meanwhile), checks it whole, maps its grants and hands it to the engine, or
 * answers it at once if it is bad.  The engine does the I/O straight between the file and the
 * granted pages: the worker threads of blkback_io.c with preadv/pwritev, or io_uring
 * (blkback_uring.c), whose submissions go in one batch per round and whose completions the serving
 * thread reaps itself.  Every response, whoever makes it, goes through respond(): under r->lock it
 * takes the slot at rsp_prod_pvt, pushes (RING_PUSH_RESPONSES_AND_CHECK_NOTIFY) and tells the
 * guest if the ring asks.  req_cons and req_event are the serving thread's alone; rsp_prod_pvt,
 * the response slots, the counters, kick_fd and the bookkeeping below are the lock's.
 *
 * Event indices: serve never re-arms req_event, so while the poller spins a busy frontend
 * notifies nobody; blkback_ring_arm does, just before the thread sleeps.
 *
 * Bounds.  At most BLKBACK_MAX_INFLIGHT requests are out at once (each owns a struct blkback_req
 * from r->reqs, from the moment it is copied until its response); at most `budget` are taken per
 * call.  When either stops us the caller learns BLKBACK_MORE (come back at once) or BLKBACK_WAIT
 * (a completion kicks the ring's thread, or writes kick_fd, when there is room again).  A producer index more than
 * a ring ahead of our responses cannot come from an honest frontend: the ring is marked broken and
 * never looked at again.
 *
 * Order.  Requests run concurrently and complete in any order, as blkif allows, except the two
 * ordering points: FLUSH_DISKCACHE and WRITE_BARRIER wait (held in r->held) until everything taken
 * before them completed, and nothing taken after them starts until they completed.  A flush is
 * fdatasync; a barrier is fdatasync, its write, fdatasync.  Their response is sent only after the
 * fdatasync returned, so an acknowledged flush is on the disk.
 *
 * Checks, each answered BLKIF_RSP_ERROR without a byte moved: nr_segments 0 or beyond the maximum
 * (11 direct, BLKBACK_MAX_INDIRECT_SEGS indirect), a segment with last_sect > 7 or < first_sect, a
 * range past the device's end (with overflow in mind), writes, barriers and discards on a read-only
 * disk, grants the guest did not give us (or gave read-only for a read).  Unknown operations and
 * discards the file cannot do are BLKIF_RSP_EOPNOTSUPP.  Complaints are rate-limited.
 *
 * io_uring's failure.  A hard io_uring_submit failure answers the requests it did not take with an
 * error (blkback_uring.c); this ring then starts its worker pool and serves every later request
 * with threads, still reaping what the kernel had until the uring is stopped (so
 * blkback_ring_engine, and the stats, say threads).  If the pool cannot start either, the ring
 * stays on the failed uring, which answers every request at once with the submit's error.
 *
 * Persistent grants (feature-persistent, when negotiated): data grants stay mapped across requests
 * in a bounded table per ring, released when the ring is destroyed; see their section below. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "backends/blkback.h"
#include "lib/error.h"
#include "vmm/dirty_log.h"
#include "vmm/domain.h"

#define PAGE 4096u
#define SECTOR 512u
#define SEGS_PER_INDIRECT_PAGE (PAGE / sizeof(struct blkif_request_segment))
#define LOG_BURST 10
#define LOG_WINDOW_NS 10000000000ull
#define SUBMIT 1                 /* parse(): not a status, the request goes to the workers */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* At most LOG_BURST complaints per window, then a count of what was left out.  Any thread. */
static void complain(struct blkback_ring *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void complain(struct blkback_ring *r, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	uint64_t now = now_ns(), suppressed = 0;
	bool say;

	pthread_mutex_lock(&r->lock);
	if (now - r->log_window_ns > LOG_WINDOW_NS) {
		suppressed = r->log_suppressed;
		r->log_window_ns = now;
		r->log_count = 0;
		r->log_suppressed = 0;
	}
	say = r->log_count++ < LOG_BURST;
	if (!say)
		r->log_suppressed++;
	pthread_mutex_unlock(&r->lock);
	if (suppressed)
		LOG("%s: %llu more complaints suppressed", r->name, (unsigned long long)suppressed);
	if (!say)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	LOG("%s: %s", r->name, what);
}

/* Under r->lock, so blkback_ring_stop can take the descriptor away before it closes it. */
static void kick_locked(struct blkback_ring *r)
{
	uint64_t one = 1;

	if (r->kick_fd >= 0 && write(r->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		LOG("%s: waking the ring's thread: %s", r->name, strerror(errno));
}

/* ---- persistent grants (feature-persistent) ----
 *
 * A frontend that negotiated the feature keeps granting the same pages, read-write, to Dom0, so we
 * keep each one mapped from its first use until the ring goes, instead of a map and an unmap per
 * segment.  The table holds at most `max` grants; once full, further grants are mapped per request.
 * slot_of[ref] finds a grant's entry in O(1) (refs are bounded by the grant table's size).  A kept
 * grant is checked at each use against the guest's entry (still granted to Dom0, read-write, the
 * same frame): a frontend that revoked or changed it loses the entry, and the request is mapped as
 * without the feature, which refuses what gnttab_map refuses.  Entries in use by a request
 * (`users`) are unmapped only when their last request is answered.  Writes through a kept mapping
 * never reach gnttab_unmap's dirty-log mark, so each read request marks its pages itself.
 * Lock order: the table's lock, then the domain's xen.lock (inside gnttab_map/unmap). */
#define GRANT_ENTRIES_PER_FRAME (PAGE / sizeof(grant_entry_v1_t))
#define GRANT_REFS (GNTTAB_MAX_FRAMES * GRANT_ENTRIES_PER_FRAME)

struct persistent_grant {
	struct grant_mapping map;           /* page NULL: a free entry */
	unsigned int users;                 /* segments of requests in flight using it */
	bool dropped;                       /* the frontend revoked or changed it: out of slot_of */
};

struct blkback_persistent {
	pthread_mutex_t lock;               /* the serving thread looks up, responders release */
	unsigned int max, n_free;
	struct blkback_persistent_stats st;
	uint16_t slot_of[GRANT_REFS];       /* entry + 1; 0: not kept */
	uint16_t free_list[BLKBACK_MAX_PERSISTENT_GRANTS];
	struct persistent_grant g[BLKBACK_MAX_PERSISTENT_GRANTS];
};
_Static_assert(BLKBACK_MAX_PERSISTENT_GRANTS < INT16_MAX, "entries fit blkback_seg.persistent and slot_of");

int blkback_ring_persistent(struct blkback_ring *r, unsigned int max)
{
	struct blkback_persistent *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->max = max < BLKBACK_MAX_PERSISTENT_GRANTS ? max : BLKBACK_MAX_PERSISTENT_GRANTS;
	for (unsigned int i = 0; i < p->max; i++)
		p->free_list[p->n_free++] = (uint16_t)(p->max - 1 - i);
	pthread_mutex_init(&p->lock, NULL);
	r->pgnts = p;
	return 0;
}

struct blkback_persistent_stats blkback_ring_persistent_stats(struct blkback_ring *r)
{
	struct blkback_persistent_stats s = { 0 };

	if (!r->pgnts)
		return s;
	pthread_mutex_lock(&r->pgnts->lock);
	s = r->pgnts->st;
	pthread_mutex_unlock(&r->pgnts->lock);
	return s;
}

/* Does the guest's entry still grant what m holds: Dom0, read-write, the same page? */
static bool still_granted(struct domain *dom, const struct grant_mapping *m)
{
	unsigned int frame = m->ref / GRANT_ENTRIES_PER_FRAME;
	bool ok = false;

	pthread_mutex_lock(&dom->xen.lock);
	grant_entry_v1_t *t = frame < dom->xen.grant_frames ? gnttab_frame_page_locked(dom, frame) : NULL;
	if (t) {
		grant_entry_v1_t *e = &t[m->ref % GRANT_ENTRIES_PER_FRAME];
		uint16_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
		uint64_t gfn = __atomic_load_n(&e->frame, __ATOMIC_ACQUIRE);
		ok = (flags & GTF_type_mask) == GTF_permit_access && !(flags & GTF_readonly) &&
		     __atomic_load_n(&e->domid, __ATOMIC_ACQUIRE) == 0 &&
		     vm_gpa_to_hva(&dom->vm, gfn << 12, PAGE) == m->page;
	}
	pthread_mutex_unlock(&dom->xen.lock);
	return ok;
}

static void persistent_free_locked(struct blkback_persistent *p, struct persistent_grant *e)
{
	gnttab_unmap(&e->map);
	e->dropped = false;
	e->users = 0;
	p->st.kept--;
	p->free_list[p->n_free++] = (uint16_t)(e - p->g);
}

/* s lends a kept mapping of ref (0), or the caller maps it for this request alone (-1). */
static int persistent_get(struct blkback_ring *r, grant_ref_t ref, struct blkback_seg *s)
{
	struct blkback_persistent *p = r->pgnts;
	int got = -1;

	if (ref >= GRANT_REFS)
		return -1;          /* gnttab_map refuses it */
	pthread_mutex_lock(&p->lock);
	unsigned int at = p->slot_of[ref];
	if (at) {
		struct persistent_grant *e = &p->g[at - 1];
		if (still_granted(r->dom, &e->map)) {
			e->users++;
			p->st.hits++;
			s->map = e->map;
			s->persistent = (int16_t)(at - 1);
			got = 0;
		} else {
			p->slot_of[ref] = 0;
			e->dropped = true;
			p->st.dropped++;
			if (!e->users)
				persistent_free_locked(p, e);
		}
	} else if (p->n_free) {
		struct grant_mapping m;
		/* Read-write whatever the request: the next one on this page may go the other way.
		 * A grant that is not read-write is mapped per request, as without the feature. */
		if (!gnttab_map(r->dom, ref, 0, false, &m)) {
			unsigned int i = p->free_list[--p->n_free];
			p->g[i] = (struct persistent_grant){ .map = m, .users = 1 };
			p->slot_of[ref] = (uint16_t)(i + 1);
			p->st.kept++;
			p->st.maps++;
			s->map = m;
			s->persistent = (int16_t)i;
			got = 0;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return got;
}

/* What we wrote into guest pages through a kept mapping: a live save must send them again. */
static void mark_written(struct domain *dom, const void *page)
{
	const uint8_t *b = page;

	pthread_mutex_lock(&dom->xen.lock);
	if (dom->dirty_log && b >= dom->vm.ram && b < dom->vm.ram + dom->vm.ram_size)
		dirty_log_mark(dom->dirty_log, (uint64_t)(b - dom->vm.ram) / PAGE);
	pthread_mutex_unlock(&dom->xen.lock);
}

static void persistent_put(struct blkback_ring *r, const struct blkback_seg *s, bool wrote)
{
	struct blkback_persistent *p = r->pgnts;

	if (wrote)
		mark_written(r->dom, s->map.page);
	pthread_mutex_lock(&p->lock);
	struct persistent_grant *e = &p->g[s->persistent];
	if (e->users)
		e->users--;
	if (e->dropped && !e->users)
		persistent_free_locked(p, e);
	pthread_mutex_unlock(&p->lock);
}

/* After the drain: every kept grant goes back to the guest. */
static void persistent_release_all(struct blkback_ring *r)
{
	struct blkback_persistent *p = r->pgnts;

	if (!p)
		return;
	for (unsigned int i = 0; i < p->max; i++)
		if (p->g[i].map.page)
			gnttab_unmap(&p->g[i].map);
	pthread_mutex_destroy(&p->lock);
	free(p);
	r->pgnts = NULL;
}

/* A segment's grant for one request: kept, or mapped for it alone as without the feature. */
static int map_seg(struct blkback_ring *r, grant_ref_t ref, bool to_guest, struct blkback_seg *s)
{
	s->persistent = -1;
	if (r->pgnts && !persistent_get(r, ref, s))
		return 0;
	return gnttab_map(r->dom, ref, 0, !to_guest, &s->map);
}

static void unmap_segs(struct blkback_req *q)
{
	for (unsigned int i = 0; i < q->nr_segs; i++) {
		struct blkback_seg *s = &q->segs[i];
		if (s->persistent >= 0)
			persistent_put(q->ring, s, q->kind == BLKBACK_KIND_READ);
		else
			gnttab_unmap(&s->map);
		s->persistent = -1;
	}
	q->nr_segs = 0;
}

static void count_locked(struct blkback_ring *r, const struct blkback_req *q, int16_t status)
{
	struct blkback_stats *s = &r->st;

	if (status != BLKIF_RSP_OKAY) {
		s->errors++;
		return;
	}
	switch (q->kind) {
	case BLKBACK_KIND_READ: s->reads++; s->read_bytes += q->len; break;
	case BLKBACK_KIND_WRITE: s->writes++; s->write_bytes += q->len; break;
	case BLKBACK_KIND_BARRIER:
		if (q->len) {
			s->writes++;
			s->write_bytes += q->len;
		}
		s->flushes++;
		break;
	case BLKBACK_KIND_FLUSH: s->flushes++; break;
	case BLKBACK_KIND_DISCARD: s->discards++; break;
	default: break;
	}
}

/* The one place responses are made: the request's grants go, its response is pushed, the guest is
 * told if it asked, and the request's slot is free again.  Any thread. */
static void respond(struct blkback_ring *r, struct blkback_req *q, int16_t status)
{
	int notify;

	unmap_segs(q);
	pthread_mutex_lock(&r->lock);
	blkif_response_t *rsp = RING_GET_RESPONSE(&r->ring, r->ring.rsp_prod_pvt);
	rsp->id = q->id;
	rsp->operation = q->operation;
	rsp->status = status;
	r->ring.rsp_prod_pvt++;
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&r->ring, notify);
	count_locked(r, q, status);
	r->st.notifies += notify != 0;
	if (q->ordered)
		r->ordered_running = false;    /* it ran alone, or never ran */
	q->next_free = r->free_reqs;
	r->free_reqs = q;
	r->inflight--;
	/* The serving thread stopped for want of a slot, for an order to finish, or to let a held
	 * ordered request go once it is the only one left. */
	if (r->want_kick && !r->ordered_running && (r->held ? r->inflight == 1 : true)) {
		r->want_kick = false;
		kick_locked(r);
	}
	if (r->inflight <= 1)
		pthread_cond_broadcast(&r->idle);     /* drain waits for 0, or 1 with a held request */
	pthread_mutex_unlock(&r->lock);
	if (notify)
		evtchn_dom0_send(r->dom, r->port);
}

/* ---- the workers' side ---- */

/* All of q's bytes between the file and its segments, through short transfers and EINTR. */
static int transfer(struct blkback_ring *r, struct blkback_req *q, bool write)
{
	struct iovec iov[BLKBACK_MAX_INDIRECT_SEGS];
	unsigned int n = 0, first = 0;
	uint64_t off = q->offset, left = q->len;

	for (unsigned int i = 0; i < q->nr_segs; i++)
		iov[n++] = (struct iovec){ (uint8_t *)q->segs[i].map.page + q->segs[i].offset, q->segs[i].len };
	while (left) {
		ssize_t done = write ? pwritev(r->target.fd, iov + first, (int)(n - first), (off_t)off)
				     : preadv(r->target.fd, iov + first, (int)(n - first), (off_t)off);
		if (done < 0 && errno == EINTR)
			continue;
		if (done <= 0)
			return done < 0 ? -errno : -EIO;     /* 0: the file shrank under us */
		off += (uint64_t)done;
		left -= (uint64_t)done;
		while (done > 0 && first < n) {
			if ((size_t)done >= iov[first].iov_len) {
				done -= (ssize_t)iov[first].iov_len;
				first++;
			} else {
				iov[first].iov_base = (uint8_t *)iov[first].iov_base + done;
				iov[first].iov_len -= (size_t)done;
				done = 0;
			}
		}
	}
	return 0;
}

static int sync_data(struct blkback_ring *r)
{
	int e;

	while ((e = fdatasync(r->target.fd)) < 0 && errno == EINTR)
		;
	return e < 0 ? -errno : 0;
}

static void run(struct blkback_job *job)
{
	struct blkback_req *q = (struct blkback_req *)job;
	struct blkback_ring *r = q->ring;
	int e = 0;

	switch (q->kind) {
	case BLKBACK_KIND_READ: e = transfer(r, q, false); break;
	case BLKBACK_KIND_WRITE: e = transfer(r, q, true); break;
	case BLKBACK_KIND_FLUSH: e = sync_data(r); break;
	case BLKBACK_KIND_BARRIER:
		if (!(e = sync_data(r)) && q->len && !(e = transfer(r, q, true)))
			e = sync_data(r);
		break;
	case BLKBACK_KIND_DISCARD:
		if (fallocate(r->target.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)q->offset,
			      (off_t)q->len) < 0)
			e = -errno;
		break;
	default: e = -EINVAL; break;
	}
	blkback_ring_finish(q, e);
}

/* Both engines end a request here: its status from e, a complaint if it failed, the response. */
void blkback_ring_finish(struct blkback_req *q, int e)
{
	struct blkback_ring *r = q->ring;
	int16_t status = BLKIF_RSP_OKAY;

	if (q->kind == BLKBACK_KIND_DISCARD && e == -EOPNOTSUPP) {
		status = BLKIF_RSP_EOPNOTSUPP;     /* the file system cannot punch holes */
		e = 0;
	}
	if (e) {
		complain(r, "request %llu (op %u) at byte %llu, %llu bytes: %s", (unsigned long long)q->id,
			 q->operation, (unsigned long long)q->offset, (unsigned long long)q->len, strerror(-e));
		status = BLKIF_RSP_ERROR;
	}
	respond(r, q, status);
}

/* ---- the serving thread's side ---- */

/* Checks the segments, the range and the access, then maps the grants (write to the guest's pages
 * for a read).  SUBMIT or a status. */
static int parse_segments(struct blkback_ring *r, struct blkback_req *q, const struct blkif_request_segment *segs,
			  unsigned int n, uint64_t sector)
{
	bool to_guest = q->kind == BLKBACK_KIND_READ;
	uint64_t sectors = 0;

	if (!to_guest && r->target.readonly) {
		complain(r, "request %llu: write to a read-only disk refused", (unsigned long long)q->id);
		return BLKIF_RSP_ERROR;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (segs[i].last_sect >= PAGE / SECTOR || segs[i].first_sect > segs[i].last_sect) {
			complain(r, "request %llu: segment %u sectors %u..%u are not within a page",
				 (unsigned long long)q->id, i, segs[i].first_sect, segs[i].last_sect);
			return BLKIF_RSP_ERROR;
		}
		sectors += segs[i].last_sect - segs[i].first_sect + 1u;
	}
	if (sector > r->target.sectors || sectors > r->target.sectors - sector) {
		complain(r, "request %llu: sectors %llu+%llu are beyond the disk's %llu", (unsigned long long)q->id,
			 (unsigned long long)sector, (unsigned long long)sectors, (unsigned long long)r->target.sectors);
		return BLKIF_RSP_ERROR;
	}
	q->offset = sector * SECTOR;
	q->len = sectors * SECTOR;
	for (unsigned int i = 0; i < n; i++) {
		struct blkback_seg *s = &q->segs[i];
		int e = map_seg(r, segs[i].gref, to_guest, s);
		if (e) {
			complain(r, "request %llu: segment %u gref %u refused (%d)", (unsigned long long)q->id, i,
				 segs[i].gref, e);
			return BLKIF_RSP_ERROR;       /* respond() releases those mapped so far */
		}
		s->offset = (uint16_t)(segs[i].first_sect * SECTOR);
		s->len = (uint16_t)((segs[i].last_sect - segs[i].first_sect + 1u) * SECTOR);
		q->nr_segs = i + 1;
	}
	return SUBMIT;
}

static int parse_indirect(struct blkback_ring *r, struct blkback_req *q, const blkif_request_indirect_t *ind)
{
	struct blkif_request_segment segs[BLKBACK_MAX_INDIRECT_SEGS];
	struct grant_mapping map;
	unsigned int n = ind->nr_segments;

	q->operation = ind->indirect_op;
	if (ind->indirect_op != BLKIF_OP_READ && ind->indirect_op != BLKIF_OP_WRITE) {
		complain(r, "request %llu: indirect operation %u is not read or write", (unsigned long long)q->id,
			 ind->indirect_op);
		return BLKIF_RSP_ERROR;
	}
	if (n == 0 || n > BLKBACK_MAX_INDIRECT_SEGS) {
		complain(r, "request %llu: %u indirect segments (1 to %d)", (unsigned long long)q->id, n,
			 BLKBACK_MAX_INDIRECT_SEGS);
		return BLKIF_RSP_ERROR;
	}
	_Static_assert(BLKBACK_MAX_INDIRECT_SEGS <= SEGS_PER_INDIRECT_PAGE, "one indirect page suffices");
	int e = gnttab_map(r->dom, ind->indirect_grefs[0], 0, true, &map);
	if (e) {
		complain(r, "request %llu: indirect page gref %u refused (%d)", (unsigned long long)q->id,
			 ind->indirect_grefs[0], e);
		return BLKIF_RSP_ERROR;
	}
	memcpy(segs, map.page, n * sizeof(segs[0]));     /* once: the guest may change the page */
	gnttab_unmap(&map);
	q->kind = ind->indirect_op == BLKIF_OP_READ ? BLKBACK_KIND_READ : BLKBACK_KIND_WRITE;
	return parse_segments(r, q, segs, n, ind->sector_number);
}

static int parse_discard(struct blkback_ring *r, struct blkback_req *q, const blkif_request_discard_t *d)
{
	if (!r->target.discard)
		return BLKIF_RSP_EOPNOTSUPP;
	if (r->target.readonly) {
		complain(r, "request %llu: discard on a read-only disk refused", (unsigned long long)q->id);
		return BLKIF_RSP_ERROR;
	}
	if (d->sector_number > r->target.sectors || d->nr_sectors > r->target.sectors - d->sector_number) {
		complain(r, "request %llu: discard of sectors %llu+%llu is beyond the disk's %llu",
			 (unsigned long long)q->id, (unsigned long long)d->sector_number,
			 (unsigned long long)d->nr_sectors, (unsigned long long)r->target.sectors);
		return BLKIF_RSP_ERROR;
	}
	if (!d->nr_sectors)
		return BLKIF_RSP_OKAY;
	q->kind = BLKBACK_KIND_DISCARD;
	q->offset = d->sector_number * SECTOR;
	q->len = d->nr_sectors * SECTOR;
	return SUBMIT;
}

/* What the request asks, checked whole: SUBMIT (q filled in) or the status to answer. */
static int parse(struct blkback_ring *r, struct blkback_req *q, const blkif_request_t *req)
{
	q->id = req->id;
	q->operation = req->operation;
	q->kind = BLKBACK_KIND_NONE;
	q->ordered = false;
	q->nr_segs = 0;
	q->offset = q->len = 0;
	switch (req->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		if (req->nr_segments == 0 || req->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
			complain(r, "request %llu: %u segments (1 to %d)", (unsigned long long)req->id,
				 req->nr_segments, BLKIF_MAX_SEGMENTS_PER_REQUEST);
			return BLKIF_RSP_ERROR;
		}
		q->kind = req->operation == BLKIF_OP_READ ? BLKBACK_KIND_READ : BLKBACK_KIND_WRITE;
		return parse_segments(r, q, req->seg, req->nr_segments, req->sector_number);
	case BLKIF_OP_INDIRECT:
		return parse_indirect(r, q, (const blkif_request_indirect_t *)req);
	case BLKIF_OP_FLUSH_DISKCACHE:
		q->kind = BLKBACK_KIND_FLUSH;
		q->ordered = true;
		return SUBMIT;
	case BLKIF_OP_WRITE_BARRIER:
		if (req->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
			complain(r, "request %llu: barrier with %u segments (0 to %d)", (unsigned long long)req->id,
				 req->nr_segments, BLKIF_MAX_SEGMENTS_PER_REQUEST);
			return BLKIF_RSP_ERROR;
		}
		if (r->target.readonly) {
			complain(r, "request %llu: barrier on a read-only disk refused", (unsigned long long)req->id);
			return BLKIF_RSP_ERROR;
		}
		q->kind = BLKBACK_KIND_BARRIER;
		q->ordered = true;
		if (!req->nr_segments)
			return SUBMIT;
		return parse_segments(r, q, req->seg, req->nr_segments, req->sector_number);
	case BLKIF_OP_DISCARD:
		return parse_discard(r, q, (const blkif_request_discard_t *)req);
	default:
		complain(r, "request %llu: operation %u not supported", (unsigned long long)req->id, req->operation);
		return BLKIF_RSP_EOPNOTSUPP;
	}
}

static void submit(struct blkback_ring *r, struct blkback_req *q)
{
	if (r->engine == BLKBACK_ENGINE_URING) {
		blkback_uring_queue(r, q);
		return;
	}
	q->job.run = run;
	blkback_pool_submit(&r->pool, &q->job);
}

const char *blkback_engine_name(enum blkback_engine e)
{
	return e == BLKBACK_ENGINE_URING ? "io_uring" : "threads";
}

void blkback_engines_text(const enum blkback_engine *e, unsigned int n, char *out, size_t len)
{
	bool same = true;
	size_t used = 0;

	if (!len)
		return;
	snprintf(out, len, "none");
	for (unsigned int i = 1; i < n; i++)
		same = same && e[i] == e[0];
	for (unsigned int i = 0; i < (same ? (n ? 1u : 0u) : n) && used < len; i++) {
		int w = snprintf(out + used, len - used, "%s%s", i ? "," : "", blkback_engine_name(e[i]));
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

enum blkback_engine blkback_ring_engine(const struct blkback_ring *r)
{
	return __atomic_load_n(&r->engine, __ATOMIC_ACQUIRE);
}

int blkback_ring_init(struct blkback_ring *r, struct domain *dom, const char *name, void *sring,
		      unsigned int pages, evtchn_port_t port, const struct blkback_target *target, int kick_fd,
		      enum blkback_engine engine)
{
	blkif_sring_t *s = sring;

	r->dom = dom;
	r->engine = engine;
	r->broken_fd = -1;
	r->blocked = false;
	r->polled = false;
	r->uring = NULL;
	r->pool_started = r->no_fallback = false;
	memset(&r->poller, 0, sizeof(r->poller));
	r->poller.kick_fd = -1;
	r->name = name;
	r->port = port;
	r->target = *target;
	r->kick_fd = kick_fd;
	r->broken = false;
	r->held = NULL;
	r->pgnts = NULL;
	r->inflight = 0;
	r->ordered_running = r->want_kick = false;
	r->st = (struct blkback_stats){ 0 };
	r->log_window_ns = 0;
	r->log_count = 0;
	r->log_suppressed = 0;
	/* Start where the frontend's ring is (a fresh one is at 0), as Linux's BACK_RING_ATTACH. */
	BACK_RING_INIT(&r->ring, s, (size_t)pages * PAGE);
	r->ring.rsp_prod_pvt = r->ring.req_cons = __atomic_load_n(&s->rsp_prod, __ATOMIC_ACQUIRE);
	r->size = RING_SIZE(&r->ring);
	r->free_reqs = NULL;
	for (unsigned int i = 0; i < BLKBACK_MAX_INFLIGHT; i++) {
		r->reqs[i].ring = r;
		r->reqs[i].nr_segs = 0;
		r->reqs[i].next_free = r->free_reqs;
		r->free_reqs = &r->reqs[i];
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->idle, NULL);
	int e = engine == BLKBACK_ENGINE_URING ? blkback_uring_start(r) : blkback_pool_start(&r->pool, BLKBACK_WORKERS);
	if (e) {
		pthread_cond_destroy(&r->idle);
		pthread_mutex_destroy(&r->lock);
		return e;
	}
	r->pool_started = engine == BLKBACK_ENGINE_THREADS;
	r->started = true;
	return 0;
}

static void mark_broken(struct blkback_ring *r, RING_IDX prod, RING_IDX rsp)
{
	uint64_t one = 1;

	if (r->broken)
		return;
	LOG("%s: req_prod %u is more than a ring (%u) ahead of our responses (%u): disk broken, no "
	    "longer served", r->name, prod, r->size, rsp);
	__atomic_store_n(&r->broken, true, __ATOMIC_RELEASE);
	if (r->broken_fd >= 0 && write(r->broken_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		LOG("%s: telling the main loop the ring broke: %s", r->name, strerror(errno));
}

/* After io_uring's submit failed: worker threads from now on (see the top). */
static void uring_fallback(struct blkback_ring *r)
{
	if (r->engine != BLKBACK_ENGINE_URING || !blkback_uring_failed(r) || r->no_fallback)
		return;
	int e = blkback_pool_start(&r->pool, BLKBACK_WORKERS);
	if (e) {
		LOG("%s: io_uring failed and worker threads cannot start (%s): every request is answered "
		    "with an error", r->name, strerror(-e));
		r->no_fallback = true;
		return;
	}
	r->pool_started = true;
	__atomic_store_n(&r->engine, BLKBACK_ENGINE_THREADS, __ATOMIC_RELEASE);
}

bool blkback_ring_broken(const struct blkback_ring *r)
{
	return __atomic_load_n(&r->broken, __ATOMIC_ACQUIRE);
}

/* An ordered request that waited goes once it is the only one out.  False: still waiting. */
static bool release_held(struct blkback_ring *r)
{
	pthread_mutex_lock(&r->lock);
	bool go = r->held && r->inflight == 1;
	struct blkback_req *q = r->held;
	if (go) {
		r->held = NULL;
		r->ordered_running = true;
	} else if (r->held) {
		r->want_kick = true;
	}
	pthread_mutex_unlock(&r->lock);
	if (go)
		submit(r, q);
	return go || !q;
}

static enum blkback_work take(struct blkback_ring *r, unsigned int budget)
{
	unsigned int used = 0;

	if (r->broken)
		return BLKBACK_BROKEN;
	if (!release_held(r))
		return BLKBACK_WAIT;
	for (;;) {
		RING_IDX prod = __atomic_load_n(&r->ring.sring->req_prod, __ATOMIC_ACQUIRE);
		pthread_mutex_lock(&r->lock);
		RING_IDX rsp = r->ring.rsp_prod_pvt;
		pthread_mutex_unlock(&r->lock);
		if (prod - rsp > r->size) {
			mark_broken(r, prod, rsp);
			return BLKBACK_BROKEN;
		}
		while (r->ring.req_cons != prod) {
			blkif_request_t req;
			struct blkback_req *q;

			if (used >= budget)
				return BLKBACK_MORE;
			pthread_mutex_lock(&r->lock);
			q = r->ordered_running ? NULL : r->free_reqs;
			if (q) {
				r->free_reqs = q->next_free;
				r->inflight++;
			} else {
				r->want_kick = true;
			}
			pthread_mutex_unlock(&r->lock);
			if (!q)
				return BLKBACK_WAIT;
			RING_COPY_REQUEST(&r->ring, r->ring.req_cons, &req);
			r->ring.req_cons++;
			used++;
			int s = parse(r, q, &req);
			if (s != SUBMIT) {
				respond(r, q, (int16_t)s);
				continue;
			}
			if (q->ordered) {
				/* After everything before it, alone. */
				pthread_mutex_lock(&r->lock);
				bool wait = r->inflight > 1;
				if (wait) {
					r->held = q;
					r->want_kick = true;
				} else {
					r->ordered_running = true;
				}
				pthread_mutex_unlock(&r->lock);
				if (wait)
					return BLKBACK_WAIT;
			}
			submit(r, q);
		}
		/* Everything consumed: one more look at the producer before saying so. */
		if (__atomic_load_n(&r->ring.sring->req_prod, __ATOMIC_ACQUIRE) == r->ring.req_cons)
			return BLKBACK_IDLE;
	}
}

enum blkback_work blkback_ring_serve(struct blkback_ring *r, unsigned int budget)
{
	if (r->uring) {
		blkback_uring_reap(r, false);
		uring_fallback(r);
	}
	enum blkback_work w = take(r, budget);
	if (r->engine == BLKBACK_ENGINE_URING) {
		blkback_uring_submit(r);         /* the round's requests in one call */
		uring_fallback(r);
	}
	r->blocked = w == BLKBACK_WAIT;
	return w;
}

bool blkback_ring_arm(struct blkback_ring *r)
{
	if (r->blocked || r->broken)
		return false;            /* a completion kicks us when there is room, or nothing will */
	/* Ask to be told of the next request, then look once more (RING_FINAL_CHECK_FOR_REQUESTS,
	 * without its peek at rsp_prod_pvt, which is the responders'). */
	__atomic_store_n(&r->ring.sring->req_event, r->ring.req_cons + 1, __ATOMIC_RELEASE);
	xen_mb();
	return __atomic_load_n(&r->ring.sring->req_prod, __ATOMIC_ACQUIRE) != r->ring.req_cons;
}

/* ---- the ring's own thread (ring_poller.h) ---- */

#define POLLER_BUDGET 64                 /* requests per round: then completions get their turn */

static enum ring_poller_round poller_serve(void *opaque)
{
	struct blkback_ring *r = opaque;
	RING_IDX cons = r->ring.req_cons;
	unsigned int reaped = r->uring ? blkback_uring_reap(r, false) : 0;
	enum blkback_work w = blkback_ring_serve(r, POLLER_BUDGET);

	if (w == BLKBACK_BROKEN)
		return RING_POLLER_STOPPED;
	if (w == BLKBACK_MORE || reaped || r->ring.req_cons != cons)
		return RING_POLLER_WORKED;
	return RING_POLLER_IDLE;
}

static bool poller_arm(void *opaque)
{
	return blkback_ring_arm(opaque);
}

/* io_uring's completions wake the thread like a kick. */
static unsigned int poller_wait_fds(void *opaque, struct pollfd *fds)
{
	struct blkback_ring *r = opaque;

	if (!r->uring)
		return 0;
	fds[0] = (struct pollfd){ .fd = blkback_uring_fd(r), .events = POLLIN };
	return 1;
}

static const struct ring_poller_ops poller_ops = {
	.serve = poller_serve, .arm = poller_arm, .wait_fds = poller_wait_fds,
};

int blkback_ring_start(struct blkback_ring *r, unsigned int poll_us, int broken_fd, char *err, size_t errlen)
{
	r->broken_fd = broken_fd;
	if (ring_poller_start(&r->poller, r->name, &poller_ops, r, poll_us, err, errlen))
		return -1;
	pthread_mutex_lock(&r->lock);
	r->kick_fd = ring_poller_kick_fd(&r->poller);
	pthread_mutex_unlock(&r->lock);
	r->polled = true;
	ring_poller_kick(&r->poller);        /* requests may be waiting already */
	return 0;
}

void blkback_ring_kick(struct blkback_ring *r)
{
	__atomic_fetch_add(&r->st.kicks, 1, __ATOMIC_RELAXED);
	ring_poller_kick(&r->poller);
}

void blkback_ring_stop(struct blkback_ring *r)
{
	if (!r->polled)
		return;
	pthread_mutex_lock(&r->lock);
	r->kick_fd = -1;                     /* ring_poller_stop closes it */
	pthread_mutex_unlock(&r->lock);
	ring_poller_stop(&r->poller);
	r->polled = false;
}

struct ring_poller_stats blkback_ring_poller_stats(const struct blkback_ring *r)
{
	return ring_poller_stats_read(&r->poller);
}

/* io_uring's completions are reaped by whoever drains: nobody else is left to.  After a failure,
 * only what the kernel still has: the pool's drain does the rest. */
/* Requests taken but neither in the kernel nor queued for it: none should be, but a drain must not
 * spin on them.  Waits a little for someone to answer them (the idle condition), saying so once a
 * while; they are this ring's, so teardown cannot go on without them. */
static void wait_unaccounted(struct blkback_ring *r, unsigned int *waited_ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 10 * 1000 * 1000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&r->lock);
	unsigned int out = r->inflight;
	pthread_cond_timedwait(&r->idle, &r->lock, &until);
	pthread_mutex_unlock(&r->lock);
	*waited_ms += 10;
	if (*waited_ms % 5000 == 0)
		LOG("%s: drain: %u requests taken are neither in io_uring nor queued for it after %u ms", r->name,
		    out, *waited_ms);
}

static void drain_uring(struct blkback_ring *r)
{
	unsigned int waited_ms = 0;

	for (;;) {
		if (r->engine == BLKBACK_ENGINE_URING) {
			blkback_uring_submit(r);
			uring_fallback(r);
		}
		if (r->engine != BLKBACK_ENGINE_URING) {
			while (blkback_uring_in_kernel(r))
				blkback_uring_reap(r, true);
			return;
		}
		pthread_mutex_lock(&r->lock);
		unsigned int out = r->inflight;
		bool held = r->held != NULL;
		pthread_mutex_unlock(&r->lock);
		if (out > (held ? 1u : 0u) && (blkback_uring_in_kernel(r) || blkback_uring_queued(r)))
			blkback_uring_reap(r, true);
		else if (out > (held ? 1u : 0u))
			wait_unaccounted(r, &waited_ms);
		else if (held)
			release_held(r);
		else
			return;
	}
}

void blkback_ring_drain(struct blkback_ring *r)
{
	if (!r->started)
		return;
	if (r->uring)
		drain_uring(r);
	if (r->engine == BLKBACK_ENGINE_URING)
		return;
	for (;;) {
		pthread_mutex_lock(&r->lock);
		while (r->inflight > (r->held ? 1u : 0u))
			pthread_cond_wait(&r->idle, &r->lock);
		bool held = r->held != NULL;
		pthread_mutex_unlock(&r->lock);
		if (!held)
			return;
		release_held(r);
	}
}

void blkback_ring_destroy(struct blkback_ring *r)
{
	blkback_ring_stop(r);
	if (!r->started)
		return;
	blkback_ring_drain(r);
	blkback_uring_stop(r);
	if (r->pool_started)
		blkback_pool_stop(&r->pool);
	r->pool_started = false;
	persistent_release_all(r);
	pthread_cond_destroy(&r->idle);
	pthread_mutex_destroy(&r->lock);
	r->started = false;
}

struct blkback_stats blkback_ring_stats(struct blkback_ring *r)
{
	struct blkback_stats s;

	if (!r->started)
		return r->st;
	pthread_mutex_lock(&r->lock);
	s = r->st;
	pthread_mutex_unlock(&r->lock);
	s.kicks = __atomic_load_n(&r->st.kicks, __ATOMIC_RELAXED);    /* counted outside the lock */
	return s;
}
