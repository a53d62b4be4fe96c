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
 * response is made only after the last datasync's completion, so the flush is on the disk. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "backends/blkback.h"
#include "lib/error.h"

struct blkback_uring {
	struct io_uring ring;
	int efd;                  /* registered: readable when a completion came */
	unsigned int queued;      /* submissions not yet handed to the kernel */
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
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {              /* cannot happen: the queue holds every request in flight */
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
	u->queued++;
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

void blkback_uring_submit(struct blkback_ring *r)
{
	struct blkback_uring *u = r->uring;

	while (u->queued) {
		int n = io_uring_submit(&u->ring);
		if (n == -EINTR || n == -EAGAIN || n == -EBUSY)
			continue;        /* the kernel is short of room a moment: the completions make it */
		if (n < 0) {
			LOG("%s: io_uring_submit: %s", r->name, strerror(-n));
			return;
		}
		u->queued -= (unsigned int)n <= u->queued ? (unsigned int)n : u->queued;
		if (!n)
			return;
	}
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
		int e = wait && !n ? io_uring_wait_cqe(&u->ring, &cqe) : io_uring_peek_cqe(&u->ring, &cqe);
		if (e == -EINTR)
			continue;
		if (e < 0 || !cqe)
			break;
		struct blkback_req *q = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(&u->ring, cqe);
		n++;
		if (q)
			completed(r, q, res);
	}
	if (u->queued)
		blkback_uring_submit(r);     /* next steps and resubmissions */
	return n;
}
