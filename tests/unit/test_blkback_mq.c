/* blkback's multi-queue rings served by their own threads (backends/blkback_ring.c on ring_poller)
 * on a fake domain with no event loop at all.  (The negotiation and the queue-<n>/ keys are
 * backends/pv_queues.c's, tested in test_pv_queues.c.)
 * Traffic: 2 and 4 queues on one disk file, each its own ring, event channel number and thread; the
 * test (as blkfront, which picks a queue per CPU) spreads requests over them and every queue serves
 * its share, with each engine.  Idle: once a queue's thread has slept, its ring's req_event was
 * re-armed just past what it took, and the frontend's next push notifies. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "blkif_front_rig.h"
#include "unit.h"

#define RING_GFN BLKIF_RIG_RING_GFN /* queue q's ring at RING_GFN + q */
#define DATA_GFN BLKIF_RIG_DATA_GFN /* queue q's data page i at DATA_GFN + q * QUEUE_PAGES + i */
#define DATA_REF BLKIF_RIG_DATA_REF
#define QUEUE_PAGES 16
#define DISK_SECTORS 2048

/* ---- traffic over several queues ---- */

struct queue {
	blkif_front_ring_t front;
	struct blkback_ring ring;
	unsigned int kicks;
};

struct rig {
	struct domain *d;
	unsigned int n;
	struct queue q[BLKBACK_MAX_QUEUES];
	char path[64];
	int fd;
};

static uint8_t *data_page(struct rig *g, unsigned int q, unsigned int i)
{
	return fake_gpa(g->d, (DATA_GFN + q * QUEUE_PAGES + i) << 12);
}

static struct rig *rig_new(unsigned int n, enum blkback_engine engine)
{
	struct rig *g = calloc(1, sizeof(*g));
	char err[256];

	g->n = n;
	g->d = blkif_rig_domain(n * QUEUE_PAGES);
	g->fd = blkif_rig_disk("blkback-mq", DISK_SECTORS, g->path, sizeof(g->path));
	struct blkback_target t = { .fd = g->fd, .sectors = DISK_SECTORS };
	for (unsigned int q = 0; q < n; q++) {
		blkif_sring_t *s = blkif_rig_ring(g->d, RING_GFN + q, 1, &g->q[q].front);
		if (blkback_ring_init(&g->q[q].ring, g->d, "vbd7.51712 (xvda)", s, 1, q, &t, -1, engine))
			abort();
		if (blkback_ring_start(&g->q[q].ring, RING_POLLER_DEFAULT_POLL_US, -1, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			abort();
		}
	}
	return g;
}

static void rig_free(struct rig *g)
{
	for (unsigned int q = 0; q < g->n; q++)
		blkback_ring_destroy(&g->q[q].ring);
	close(g->fd);
	unlink(g->path);
	fake_domain_free(g->d);
	free(g);
}

static void push(struct queue *q)
{
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->front, notify);
	if (notify) {
		q->kicks++;
		blkback_ring_kick(&q->ring);     /* what the event channel's callback does */
	}
}

/* Waits until queue q has answered everything it was given; the OKAY ones. */
static unsigned int reap(struct rig *g, unsigned int qi)
{
	struct queue *q = &g->q[qi];
	unsigned int ok = 0;

	for (unsigned int spins = 0; spins < 20000; spins++) {
		while (q->front.rsp_cons != __atomic_load_n(&q->front.sring->rsp_prod, __ATOMIC_ACQUIRE))
			ok += RING_GET_RESPONSE(&q->front, q->front.rsp_cons++)->status == BLKIF_RSP_OKAY;
		if (q->front.rsp_cons == q->front.req_prod_pvt)
			break;
		usleep(250);
	}
	return ok;
}

struct spread { unsigned int queues; enum blkback_engine engine; };

static void test_spread(struct unit *u, const void *arg)
{
	const struct spread *sp = arg;
	struct rig *g = rig_new(sp->queues, sp->engine);
	const unsigned int per_queue = 24, total = per_queue * sp->queues;
	unsigned int ok = 0;

	/* Each request writes one page at its own 8 sectors, through the queue it is spread to. */
	for (unsigned int i = 0; i < total; i++) {
		unsigned int qi = i % sp->queues, page = (i / sp->queues) % QUEUE_PAGES;
		struct queue *q = &g->q[qi];
		uint8_t *p = data_page(g, qi, page);
		for (unsigned int b = 0; b < 4096; b++)
			p[b] = (uint8_t)(i * 7 + b);
		blkif_request_t *r = RING_GET_REQUEST(&q->front, q->front.req_prod_pvt++);
		memset(r, 0, sizeof(*r));
		r->operation = BLKIF_OP_WRITE;
		r->nr_segments = 1;
		r->id = i;
		r->sector_number = (uint64_t)i * 8;
		r->seg[0] = (struct blkif_request_segment){ .gref = DATA_REF + qi * QUEUE_PAGES + page, .first_sect = 0,
							    .last_sect = 7 };
		if (page == QUEUE_PAGES - 1 || i + sp->queues >= total) {
			push(q);             /* the pages are reused: this batch first */
			ok += reap(g, qi);
		}
	}
	CHECK_INT(ok, total);
	for (unsigned int qi = 0; qi < sp->queues; qi++) {
		struct blkback_stats s = blkback_ring_stats(&g->q[qi].ring);
		CHECK(s.writes == per_queue && !s.errors, "queue %u: %llu writes, %llu errors", qi,
		      (unsigned long long)s.writes, (unsigned long long)s.errors);
		CHECK(s.kicks == g->q[qi].kicks && s.kicks > 0, "queue %u: %llu kicks counted, %u sent", qi,
		      (unsigned long long)s.kicks, g->q[qi].kicks);
		CHECK(blkback_ring_poller_stats(&g->q[qi].ring).worked > 0, "queue %u: its thread did nothing", qi);
	}
	uint8_t got[4096];
	for (unsigned int i = 0; i < total; i++) {
		CHECK_INT(pread(g->fd, got, sizeof(got), (off_t)i * 4096), 4096);
		bool same = true;
		for (unsigned int b = 0; b < 4096; b++)
			same = same && got[b] == (uint8_t)(i * 7 + b);
		CHECK(same, "request %u's page is not in the file", i);
	}
	rig_free(g);
}

/* No event loop anywhere (dom->loop is NULL): a queue's thread takes a request, answers it, then
 * sleeps with req_event just past what it took, so the next push notifies, and the kick wakes it. */
static void test_sleeps_armed(struct unit *u, const void *arg)
{
	const struct spread *sp = arg;
	struct rig *g = rig_new(1, sp->engine);
	struct queue *q = &g->q[0];

	CHECK(g->d->loop == NULL, "the fake domain has an event loop");
	for (unsigned int round = 0; round < 3; round++) {
		blkif_request_t *r = RING_GET_REQUEST(&q->front, q->front.req_prod_pvt++);
		memset(r, 0, sizeof(*r));
		r->operation = BLKIF_OP_READ;
		r->nr_segments = 1;
		r->id = round;
		r->seg[0] = (struct blkif_request_segment){ .gref = DATA_REF, .first_sect = 0, .last_sect = 0 };
		uint64_t sleeps = blkback_ring_poller_stats(&q->ring).sleeps;
		push(q);
		CHECK_INT(reap(g, 0), 1);
		/* The thread goes back to sleep, arming the ring first. */
		for (unsigned int spins = 0; spins < 20000 && blkback_ring_poller_stats(&q->ring).sleeps <= sleeps; spins++)
			usleep(100);
		CHECK(blkback_ring_poller_stats(&q->ring).sleeps > sleeps, "round %u: the thread never slept", round);
		CHECK_INT(q->front.sring->req_event, q->front.req_prod_pvt + 1);
	}
	CHECK_INT(q->kicks, 3);         /* each push found the thread asleep: one event each */
	rig_free(g);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	static const struct spread spreads[] = {
		{ 2, BLKBACK_ENGINE_THREADS }, { 4, BLKBACK_ENGINE_THREADS },
		{ 2, BLKBACK_ENGINE_URING }, { 4, BLKBACK_ENGINE_URING },
	};
	static const char *const names[] = {
		"two-queues-each-serves-threads", "four-queues-each-serves-threads",
		"two-queues-each-serves-io_uring", "four-queues-each-serves-io_uring",
	};
	char why[128];
	int no_uring = blkback_uring_probe(why, sizeof(why));

	for (size_t i = 0; i < sizeof(spreads) / sizeof(spreads[0]); i++) {
		if (spreads[i].engine == BLKBACK_ENGINE_URING && no_uring)
			printf("skip - %s: the kernel refuses io_uring (%s)\n", names[i], why);
		else
			unit_case(&u, names[i], test_spread, &spreads[i]);
	}
	unit_case(&u, "thread-sleeps-armed-no-event-loop-threads", test_sleeps_armed, &spreads[0]);
	if (no_uring)
		printf("skip - thread-sleeps-armed-no-event-loop-io_uring: the kernel refuses io_uring (%s)\n", why);
	else
		unit_case(&u, "thread-sleeps-armed-no-event-loop-io_uring", test_sleeps_armed, &spreads[2]);
	return unit_finish(&u);
}
