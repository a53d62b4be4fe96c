/* blkback's io_uring engine: a ring's requests batched into one io_uring (Debian's liburing).
 *
 * Everything here runs on the ring's serving thread (its ring_poller thread, or whoever drains once
 * that has stopped): blkback_ring_serve queues a submission per request as it takes them and submits
 * the round's batch in one io_uring_enter; completions are reaped at the start of the next round, or
 * when the eventfd registered with the uring wakes the sleeping poller.  So no lock guards the uring
 * itself, and a request has at most one operation in the kernel at a time (the ring never holds more
 * than BLKBACK_MAX_INFLIGHT submissions, the size of the queue).
 *
 * Each request is a short sequence: a read or write (readv/writev, resubmitted for what a short
 * transfer left), a flush (fsync with IORING_FSYNC_DATASYNC), a barrier (datasync, its write if it
 * has one, datasync: each step submitted when the one before completed), a discard (fallocate with
 * PUNCH_HOLE | KEEP_SIZE).  Ordering points are blkback_ring.c's as for the threads: an ordered
 * request is queued only once it is alone, and nothing is taken after it until it responded; its
 * response is made only after the last datasync's completion, so the flush is on the disk.
 *
 * A hard io_uring_submit failure (anything but EINTR, EAGAIN, EBUSY) must not leave requests that
 * no completion will ever end: the entries the kernel did not take are turned into NOPs nobody
 * waits for (so a later io_uring_enter could do no harm), their requests are answered with the
 * failure (BLKIF_RSP_ERROR, grants released), it is logged with its errno, and the uring takes
 * nothing more: a request's next step is answered with the same failure.  What the kernel already
 * had still completes and is reaped (through the eventfd if io_uring_enter refuses to wait), and
 * blkback_ring.c serves the queue's later requests with worker threads. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "backends/blkback.h"
#include "lib/error.h"

struct blkback_uring {
	struct io_uring ring;
	int efd;                  /* registered: readable when a completion came */
	unsigned int n_pending;   /* submissions not yet handed to the kernel, in order: */
	struct blkback_req *pending[BLKBACK_MAX_INFLIGHT];
	unsigned int in_kernel;   /* operations handed to the kernel and not completed */
	int failed;               /* the hard submit failure's -errno: nothing more goes in */
	int fail_with;            /* tests: submits fail with this */
};

enum { STEP_SYNC_BEFORE, STEP_WRITE, STEP_SYNC_AFTER };

int blkback_uring_probe(char *why, size_t len)
{
	struct io_uring ring;
	int e = io_uring_queue_init(4, &ring, 0);

	if (e < 0) {
		ERR_SET(why, len, "io_uring_queue_init: %s", strerror(-e));
		return e;
	}
	io_uring_queue_exit(&ring);
	return 0;
}

int blkback_uring_start(struct blkback_ring *r)
{
	struct blkback_uring *u = calloc(1, sizeof(*u));
	int e;

	if (!u)
		return -ENOMEM;
	u->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (u->efd < 0) {
		e = -errno;
		free(u);
		return e;
	}
	if ((e = io_uring_queue_init(BLKBACK_MAX_INFLIGHT, &u->ring, 0)) < 0) {
		close(u->efd);
		free(u);
		return e;
	}
	if ((e = io_uring_register_eventfd(&u->ring, u->efd)) < 0) {
		io_uring_queue_exit(&u->ring);
		close(u->efd);
		free(u);
		return e;
	}
	r->uring = u;
	return 0;
}

void blkback_uring_stop(struct blkback_ring *r)
{
	struct blkback_uring *u = r->uring;

	if (!u)
		return;
	io_uring_queue_exit(&u->ring);
	close(u->efd);
	free(u);
	r->uring = NULL;
}

int blkback_uring_fd(const struct blkback_ring *r)
{
	return r->uring ? r->uring->efd : -1;
}

static void prep_transfer(struct io_uring_sqe *sqe, struct blkback_ring *r, struct blkback_req *q, bool write)
{
	off_t off = (off_t)(q->offset + q->done);

	if (write)
		io_uring_prep_writev(sqe, r->target.fd, q->iov + q->iov_first, q->iov_n - q->iov_first, off);
	else
		io_uring_prep_readv(sqe, r->target.fd, q->iov + q->iov_first, q->iov_n - q->iov_first, off);
}

/* The request's next operation into the submission queue. */
static void prep(struct blkback_ring *r, struct blkback_req *q)
{
	struct blkback_uring *u = r->uring;
	struct io_uring_sqe *sqe;

	if (u->failed) {
		blkback_ring_finish(q, u->failed);
		return;
	}
	/* Cannot fail: the queue and `pending` hold every request in flight. */
	if (u->n_pending >= BLKBACK_MAX_INFLIGHT || !(sqe = io_uring_get_sqe(&u->ring))) {
		blkback_ring_finish(q, -EAGAIN);
		return;
	}
	switch (q->kind) {
	case BLKBACK_KIND_READ: prep_transfer(sqe, r, q, false); break;
	case BLKBACK_KIND_WRITE: prep_transfer(sqe, r, q, true); break;
	case BLKBACK_KIND_FLUSH: io_uring_prep_fsync(sqe, r->target.fd, IORING_FSYNC_DATASYNC); break;
	case BLKBACK_KIND_BARRIER:
		if (q->step == STEP_WRITE)
			prep_transfer(sqe, r, q, true);
		else
			io_uring_prep_fsync(sqe, r->target.fd, IORING_FSYNC_DATASYNC);
		break;
	case BLKBACK_KIND_DISCARD:
		io_uring_prep_fallocate(sqe, r->target.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					(off_t)q->offset, (off_t)q->len);
		break;
	default: io_uring_prep_nop(sqe); break;
	}
	io_uring_sqe_set_data(sqe, q);
	q->sqe = sqe;
	u->pending[u->n_pending++] = q;
}

void blkback_uring_queue(struct blkback_ring *r, struct blkback_req *q)
{
	q->step = STEP_SYNC_BEFORE;
	q->done = 0;
	q->iov_first = q->iov_n = 0;
	for (unsigned int i = 0; i < q->nr_segs; i++)
		q->iov[q->iov_n++] = (struct iovec){ (uint8_t *)q->segs[i].map.page + q->segs[i].offset, q->segs[i].len };
	if (q->kind == BLKBACK_KIND_NONE) {
		blkback_ring_finish(q, -EINVAL);
		return;
	}
	prep(r, q);
}

/* The kernel took the first n pending submissions. */
static void consumed(struct blkback_uring *u, unsigned int n)
{
	if (n > u->n_pending)
		n = u->n_pending;
	u->in_kernel += n;
	u->n_pending -= n;
	memmove(u->pending, u->pending + n, u->n_pending * sizeof(u->pending[0]));
}

static void fail(struct blkback_ring *r, int e)
{
	struct blkback_uring *u = r->uring;
	unsigned int n = u->n_pending;

	u->failed = e;
	for (unsigned int i = 0; i < n; i++) {
		io_uring_prep_nop(u->pending[i]->sqe);
		io_uring_sqe_set_data(u->pending[i]->sqe, NULL);
	}
	u->n_pending = 0;
	LOG("%s: io_uring_submit: %s: %u requests answered with errors, %u operations still in the kernel; "
	    "later requests run on worker threads", r->name, strerror(-e), n, u->in_kernel);
	for (unsigned int i = 0; i < n; i++)
		blkback_ring_finish(u->pending[i], e);
}

int blkback_uring_submit(struct blkback_ring *r)
{
	struct blkback_uring *u = r->uring;

	while (u->n_pending) {
		int fail_with = __atomic_load_n(&u->fail_with, __ATOMIC_RELAXED);
		int n = fail_with ? fail_with : io_uring_submit(&u->ring);
		if (n == -EINTR)
			continue;
		if (n == -EAGAIN || n == -EBUSY) {
			if (u->in_kernel)
				return 0;    /* short of room a moment: the next round, after reaping, retries */
			continue;
		}
		if (n < 0) {
			fail(r, n);
			return n;
		}
		consumed(u, (unsigned int)n);
		if (!n)
			return 0;
	}
	return 0;
}

int blkback_uring_failed(const struct blkback_ring *r)
{
	return r->uring ? r->uring->failed : 0;
}

unsigned int blkback_uring_in_kernel(const struct blkback_ring *r)
{
	return r->uring ? r->uring->in_kernel : 0;
}

unsigned int blkback_uring_queued(const struct blkback_ring *r)
{
	return r->uring ? r->uring->n_pending : 0;
}

void blkback_uring_fail_submits(struct blkback_ring *r, int e)
{
	if (r->uring)
		__atomic_store_n(&r->uring->fail_with, e, __ATOMIC_RELAXED);   /* the serving thread reads it */
}

/* A transfer moved `done` bytes: the iovecs past them.  True when all of it is done. */
static bool advance(struct blkback_req *q, uint64_t done)
{
	q->done += done;
	while (done && q->iov_first < q->iov_n) {
		struct iovec *v = &q->iov[q->iov_first];
		if (done >= v->iov_len) {
			done -= v->iov_len;
			q->iov_first++;
		} else {
			v->iov_base = (uint8_t *)v->iov_base + done;
			v->iov_len -= done;
			done = 0;
		}
	}
	return q->done >= q->len;
}

/* One completion: the request's next step, or its end. */
static void completed(struct blkback_ring *r, struct blkback_req *q, int res)
{
	bool transfer = q->kind == BLKBACK_KIND_READ || q->kind == BLKBACK_KIND_WRITE ||
			(q->kind == BLKBACK_KIND_BARRIER && q->step == STEP_WRITE);

	if (res == -EINTR || res == -EAGAIN) {
		prep(r, q);              /* again, as the threads' calls loop on EINTR */
		return;
	}
	if (res < 0) {
		blkback_ring_finish(q, res);
		return;
	}
	if (transfer) {
		if (!res) {
			blkback_ring_finish(q, -EIO);    /* the file shrank under us */
			return;
		}
		if (!advance(q, (uint64_t)res)) {
			prep(r, q);
			return;
		}
	}
	/* A barrier: sync, then its write and a sync after it if it has data (as the threads do). */
	if (q->kind == BLKBACK_KIND_BARRIER && q->len && q->step != STEP_SYNC_AFTER) {
		q->step = q->step == STEP_SYNC_BEFORE ? STEP_WRITE : STEP_SYNC_AFTER;
		prep(r, q);
		return;
	}
	blkback_ring_finish(q, 0);
}

unsigned int blkback_uring_reap(struct blkback_ring *r, bool wait)
{
	struct blkback_uring *u = r->uring;
	struct io_uring_cqe *cqe;
	uint64_t count;
	unsigned int n = 0;

	if (read(u->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		LOG("%s: io_uring's eventfd: %s", r->name, strerror(errno));
	for (;;) {
		/* Block only for a completion that can come: nothing in the kernel is no wait at all. */
		bool block = wait && !n && u->in_kernel;
		int e = block && !u->failed ? io_uring_wait_cqe(&u->ring, &cqe) : io_uring_peek_cqe(&u->ring, &cqe);
		if (e == -EINTR)
			continue;
		if (e < 0 || !cqe) {
			if (!block)
				break;
			/* io_uring_enter refused to wait: completions still land in the shared queue,
			 * and the registered eventfd says when. */
			struct pollfd p = { .fd = u->efd, .events = POLLIN };
			if (poll(&p, 1, 10) > 0 && read(u->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
				LOG("%s: io_uring's eventfd: %s", r->name, strerror(errno));
			continue;
		}
		struct blkback_req *q = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(&u->ring, cqe);
		if (!q)
			continue;        /* a NOP left by a failed submit */
		n++;
		u->in_kernel--;
		completed(r, q, res);
	}
	if (u->n_pending)
		blkback_uring_submit(r);     /* next steps and resubmissions */
	return n;
}
