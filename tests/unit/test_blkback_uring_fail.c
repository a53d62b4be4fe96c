/* blkback's io_uring engine when io_uring_submit fails hard (backends/blkback_uring.c, the
 * fallback in backends/blkback_ring.c), forced with blkback_uring_fail_submits as a kernel refusing
 * io_uring_enter would.  The test plays blkfront on a fake domain against a temporary file.
 *
 * Cases: (1) served by the test itself: a batch whose submit fails is answered at once, every
 * request BLKIF_RSP_ERROR with its grants released, and the ring's engine is then threads; the next
 * batch is written by the worker threads and is in the file.  (2) the failure in a drain: a
 * barrier's first fdatasync is in the kernel when submits start failing, so its next step cannot go
 * in; the drain returns (no hang), the barrier is answered BLKIF_RSP_ERROR.  (3) the same as (1)
 * with the ring's own thread serving (ring_poller), the failure switched on while it runs.
 * Each ends with the ring destroyed and no grant of the frontend's left mapped. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "backends/blkback.h"
#include "blkif_front_rig.h"
#include "unit.h"

#define DATA_PAGES 16
#define DISK_SECTORS 1024
#define BATCH 8

static struct blkif_rig *rig_new(bool polled)
{
	struct blkif_rig *g = calloc(1, sizeof(*g));

	blkif_rig_init(g, &(struct blkif_rig_options){ .tag = "blkback-uring-fail", .sectors = DISK_SECTORS,
						       .data_pages = DATA_PAGES, .engine = BLKBACK_ENGINE_URING,
						       .start = polled });
	return g;
}

static unsigned int pinned(struct blkif_rig *g)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < DATA_PAGES; i++)
		n += g->d->xen.pins[BLKIF_RIG_DATA_REF + i].readers + g->d->xen.pins[BLKIF_RIG_DATA_REF + i].writers +
		     !!(blkif_rig_entry(g->d, BLKIF_RIG_DATA_REF + i)->flags & (GTF_reading | GTF_writing));
	return n;
}

/* Destroys the ring (which must not hang) and checks every grant went back. */
static void rig_free(struct unit *u, struct blkif_rig *g)
{
	blkback_ring_destroy(g->r);
	CHECK_INT(pinned(g), 0);
	blkif_rig_fini(g);
	free(g);
}

/* A one-page write of `fill` to sector 8 * i through data page i. */
static void put_write(struct blkif_rig *g, unsigned int i, uint8_t fill)
{
	memset(fake_gpa(g->d, (BLKIF_RIG_DATA_GFN + i) << 12), fill, 4096);
	blkif_request_t *q = RING_GET_REQUEST(&g->front, g->front.req_prod_pvt++);
	memset(q, 0, sizeof(*q));
	q->operation = BLKIF_OP_WRITE;
	q->id = 100 + i;
	q->sector_number = (uint64_t)i * 8;
	q->nr_segments = 1;
	q->seg[0] = (struct blkif_request_segment){ .gref = BLKIF_RIG_DATA_REF + i, .first_sect = 0, .last_sect = 7 };
}

static void push(struct blkif_rig *g)
{
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&g->front, notify);
	if (notify && g->r->polled)
		blkback_ring_kick(g->r);
}

struct answers { unsigned int ok, error, other; };

/* Collects `n` responses; with the ring's thread serving, waits up to 5 s for them. */
static struct answers collect(struct blkif_rig *g, unsigned int n)
{
	struct answers a = { 0 };

	for (unsigned int got = 0, spins = 0; got < n && spins < 20000; spins++) {
		while (g->front.rsp_cons != __atomic_load_n(&g->front.sring->rsp_prod, __ATOMIC_ACQUIRE)) {
			int16_t st = RING_GET_RESPONSE(&g->front, g->front.rsp_cons++)->status;
			a.ok += st == BLKIF_RSP_OKAY;
			a.error += st == BLKIF_RSP_ERROR;
			a.other += st != BLKIF_RSP_OKAY && st != BLKIF_RSP_ERROR;
			got++;
		}
		if (got < n)
			usleep(250);
	}
	return a;
}

static bool file_holds(struct blkif_rig *g, unsigned int i, uint8_t fill)
{
	uint8_t got[4096];

	if (pread(g->fd, got, sizeof(got), (off_t)i * 4096) != (ssize_t)sizeof(got))
		return false;
	for (unsigned int b = 0; b < sizeof(got); b++)
		if (got[b] != fill)
			return false;
	return true;
}

/* A batch through the working uring, one that fails, one on threads. */
static void batches(struct unit *u, struct blkif_rig *g, bool polled)
{
	for (unsigned int i = 0; i < BATCH; i++)
		put_write(g, i, 0x11);
	push(g);
	if (!polled)
		blkback_ring_serve(g->r, 64), blkback_ring_drain(g->r);
	struct answers a = collect(g, BATCH);
	CHECK(a.ok == BATCH, "before the failure: %u OKAY of %u", a.ok, BATCH);
	CHECK(blkback_ring_engine(g->r) == BLKBACK_ENGINE_URING, "io_uring before the failure");

	blkback_uring_fail_submits(g->r, -EOPNOTSUPP);
	for (unsigned int i = 0; i < BATCH; i++)
		put_write(g, i, 0x22);
	push(g);
	if (!polled)
		blkback_ring_serve(g->r, 64);     /* the batch is answered in this call */
	a = collect(g, BATCH);
	CHECK(a.ok + a.error + a.other == BATCH, "%u of %u answered", a.ok + a.error + a.other, BATCH);
	if (polled)
		CHECK(a.error >= 1 && !a.other, "%u errors, %u other", a.error, a.other);
	else
		CHECK(a.error == BATCH, "%u of %u BLKIF_RSP_ERROR", a.error, BATCH);
	/* The ring's thread answers the failed batch, then moves to threads: a moment later. */
	for (unsigned int spins = 0; polled && spins < 4000 && blkback_ring_engine(g->r) != BLKBACK_ENGINE_THREADS; spins++)
		usleep(250);
	CHECK(blkback_ring_engine(g->r) == BLKBACK_ENGINE_THREADS, "still io_uring after its failure");
	if (!polled)
		CHECK_INT(pinned(g), 0);                   /* the failed requests' grants went back */
	struct blkback_stats s = blkback_ring_stats(g->r);
	CHECK(s.errors >= a.error, "errors counted %llu, answered %u", (unsigned long long)s.errors, a.error);

	for (unsigned int i = 0; i < BATCH; i++)
		put_write(g, i, 0x33);
	push(g);
	if (!polled)
		blkback_ring_serve(g->r, 64), blkback_ring_drain(g->r);
	a = collect(g, BATCH);
	CHECK(a.ok == BATCH, "after the fallback: %u OKAY of %u", a.ok, BATCH);
	for (unsigned int i = 0; i < BATCH; i++)
		CHECK(file_holds(g, i, 0x33), "write %u after the fallback is not in the file", i);
}

static void test_serve_fails(struct unit *u, const void *arg)
{
	struct blkif_rig *g = rig_new(false);
	(void)arg;

	batches(u, g, false);
	rig_free(u, g);
}

static void test_polled_fails(struct unit *u, const void *arg)
{
	struct blkif_rig *g = rig_new(true);
	(void)arg;

	batches(u, g, true);
	CHECK(blkback_ring_poller_stats(g->r).rounds > 0, "the ring's thread never served");
	rig_free(u, g);
}

/* The barrier's first datasync goes in; then submits fail: its write step cannot. */
static void test_drain_fails(struct unit *u, const void *arg)
{
	struct blkif_rig *g = rig_new(false);
	(void)arg;

	put_write(g, 0, 0x44);
	RING_GET_REQUEST(&g->front, g->front.req_prod_pvt - 1)->operation = BLKIF_OP_WRITE_BARRIER;
	push(g);
	blkback_ring_serve(g->r, 64);
	CHECK_INT(blkback_uring_in_kernel(g->r), 1);
	blkback_uring_fail_submits(g->r, -ENOMEM);
	blkback_ring_drain(g->r);
	struct answers a = collect(g, 1);
	CHECK(a.error == 1 && !a.ok && !a.other, "barrier: %u OKAY %u ERROR %u other", a.ok, a.error, a.other);
	CHECK_INT(blkback_uring_in_kernel(g->r), 0);
	CHECK(blkback_ring_engine(g->r) == BLKBACK_ENGINE_THREADS, "still io_uring after its failure");
	rig_free(u, g);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	static const char *const names[] = {
		"submit-fails-batch-answered-error-then-threads",
		"submit-fails-in-drain-barrier-answered-no-hang",
		"submit-fails-under-ring-thread-then-threads",
	};
	void (*const tests[])(struct unit *, const void *) = { test_serve_fails, test_drain_fails, test_polled_fails };
	char why[128];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (blkback_uring_probe(why, sizeof(why)))
			printf("skip - %s: the kernel refuses io_uring (%s)\n", names[i], why);
		else
			unit_case(&u, names[i], tests[i], NULL);
	}
	return unit_finish(&u);
}
