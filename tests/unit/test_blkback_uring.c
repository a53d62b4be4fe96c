/* Verify-after-write through blkback's real ring (backends/blkback_ring.c) with each engine: the
 * worker threads and io_uring (backends/blkback_uring.c), each with and without persistent grants.
 * The test plays blkfront on a fake domain against a temporary file, and the ring is served by its
 * own thread (ring_poller), as in the VMM, with no event loop at all.  Many random writes of pattern
 * data, in batches whose requests are in flight together (over distinct slots of the disk, since
 * blkif leaves the order of overlapping requests to the backend), flushes and barriers among them;
 * then random reads compared against a shadow of the disk, and the file compared whole.  At the
 * end the ring goes and every grant the backend mapped must have been released. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "blkif_front_rig.h"
#include "unit.h"

#define DATA_GFN BLKIF_RIG_DATA_GFN /* data page i at DATA_GFN + i, granted as ref DATA_REF + i */
#define DATA_REF BLKIF_RIG_DATA_REF
#define DATA_PAGES 64
#define DISK_SECTORS 2048          /* a 1 MiB image */
#define SLOT_SECTORS 64            /* writes in one batch land in distinct slots */
#define BATCH 5                    /* requests in flight together: 5 x 11 pages fit DATA_PAGES */

struct rig {
	struct blkif_rig b;
	uint8_t shadow[DISK_SECTORS * 512];
	uint64_t rng;
};

struct mode { enum blkback_engine engine; bool persistent; };

static uint8_t *data_page(struct rig *g, unsigned int i)
{
	return fake_gpa(g->b.d, (DATA_GFN + i) << 12);
}

static uint32_t rnd(struct rig *g, uint32_t n)
{
	g->rng = g->rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(g->rng >> 33) % n;
}

static struct rig *rig_new(struct mode m)
{
	struct rig *g = calloc(1, sizeof(*g));

	g->rng = 0x9e3779b97f4a7c15ull;
	blkif_rig_init(&g->b, &(struct blkif_rig_options){ .tag = "blkback-uring", .sectors = DISK_SECTORS,
							    .data_pages = DATA_PAGES, .discard = true,
							    .persistent = m.persistent, .engine = m.engine,
							    .start = true });
	return g;
}

static void rig_free(struct rig *g)
{
	blkif_rig_fini(&g->b);
	free(g);
}

static blkif_request_t *put(struct rig *g, uint8_t op, uint64_t id, uint64_t sector)
{
	blkif_request_t *q = RING_GET_REQUEST(&g->b.front, g->b.front.req_prod_pvt++);
	memset(q, 0, sizeof(*q));
	q->operation = op;
	q->id = id;
	q->sector_number = sector;
	return q;
}

/* Pushes, kicks the ring's thread if the ring asks, and waits for `n` responses (all OKAY). */
static unsigned int push_and_wait(struct unit *u, struct rig *g, unsigned int n)
{
	int notify;
	unsigned int ok = 0;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&g->b.front, notify);
	if (notify)
		blkback_ring_kick(g->b.r);
	for (unsigned int got = 0, spins = 0; got < n && spins < 20000; spins++) {
		while (g->b.front.rsp_cons != __atomic_load_n(&g->b.front.sring->rsp_prod, __ATOMIC_ACQUIRE)) {
			blkif_response_t s = *RING_GET_RESPONSE(&g->b.front, g->b.front.rsp_cons++);
			CHECK(s.status == BLKIF_RSP_OKAY, "request %llu (op %u): status %d", (unsigned long long)s.id,
			      s.operation, s.status);
			ok += s.status == BLKIF_RSP_OKAY;
			got++;
		}
		if (got < n)
			usleep(250);
	}
	CHECK(ok == n, "%u of %u responses OKAY", ok, n);
	return ok;
}

/* A request over `sectors` sectors from `sector`, through pages from `page` on: the segments split
 * the range at random sector counts (up to a page each).  Fills written pages with pattern data
 * and the shadow with what the disk must then hold.  The pages used. */
static unsigned int build(struct rig *g, blkif_request_t *q, uint64_t sector, unsigned int sectors, unsigned int page,
			  bool write)
{
	unsigned int n = 0, done = 0;

	while (done < sectors && n < BLKIF_MAX_SEGMENTS_PER_REQUEST) {
		unsigned int first = rnd(g, 8), room = 8 - first, left = sectors - done;
		unsigned int len = 1 + rnd(g, room < left ? room : left);
		if (n == BLKIF_MAX_SEGMENTS_PER_REQUEST - 1)
			len = room < left ? room : left;     /* the last one takes what it can */
		uint8_t *p = data_page(g, page + n);
		if (write) {
			for (unsigned int b = 0; b < len * 512; b++)
				p[first * 512 + b] = (uint8_t)rnd(g, 256);
			memcpy(g->shadow + (sector + done) * 512, p + first * 512, len * 512);
		} else {
			memset(p, 0xee, 4096);
		}
		q->seg[n] = (struct blkif_request_segment){ .gref = DATA_REF + page + n, .first_sect = (uint8_t)first,
							    .last_sect = (uint8_t)(first + len - 1) };
		done += len;
		n++;
	}
	q->nr_segments = (uint8_t)n;
	return done;   /* sectors covered (at most `sectors`) */
}

static void test_verify(struct unit *u, const void *arg)
{
	const struct mode *m = arg;
	struct rig *g = rig_new(*m);
	uint64_t id = 1;
	unsigned int writes = 0, flushes = 0;

	for (unsigned int round = 0; round < 60; round++) {
		/* A batch of writes over distinct slots, maybe an ordering point among them. */
		unsigned int slots[BATCH], n = 0, page = 0;
		for (unsigned int i = 0; i < BATCH; i++) {
			unsigned int s;
			bool fresh;
			do {
				s = rnd(g, DISK_SECTORS / SLOT_SECTORS);
				fresh = true;
				for (unsigned int j = 0; j < i; j++)
					fresh = fresh && slots[j] != s;
			} while (!fresh);
			slots[i] = s;
			uint64_t sector = (uint64_t)s * SLOT_SECTORS + rnd(g, 16);
			unsigned int sectors = 1 + rnd(g, 40);
			bool barrier = rnd(g, 8) == 0;
			blkif_request_t *q = put(g, barrier ? BLKIF_OP_WRITE_BARRIER : BLKIF_OP_WRITE, id++, sector);
			build(g, q, sector, sectors, page, true);
			page += q->nr_segments;
			n++;
			writes++;
			flushes += barrier;
			if (rnd(g, 4) == 0) {
				put(g, BLKIF_OP_FLUSH_DISKCACHE, id++, 0);
				n++;
				flushes++;
			}
		}
		push_and_wait(u, g, n);
		/* Reads anywhere, checked against the shadow. */
		for (unsigned int k = 0; k < 3; k++) {
			uint64_t sector = rnd(g, DISK_SECTORS - 88);
			blkif_request_t *q = put(g, BLKIF_OP_READ, id++, sector);
			unsigned int sectors = build(g, q, sector, 1 + rnd(g, 88), 0, false);
			struct blkif_request_segment segs[BLKIF_MAX_SEGMENTS_PER_REQUEST];
			unsigned int nsegs = q->nr_segments;
			memcpy(segs, q->seg, sizeof(segs));
			push_and_wait(u, g, 1);
			unsigned int at = 0;
			for (unsigned int i = 0; i < nsegs; i++) {
				unsigned int off = segs[i].first_sect * 512u, len = (segs[i].last_sect - segs[i].first_sect + 1u) * 512u;
				CHECK(!memcmp(data_page(g, i) + off, g->shadow + sector * 512 + at, len),
				      "round %u: read of %u sectors at %llu differs in segment %u", round, sectors,
				      (unsigned long long)sector, i);
				at += len;
			}
		}
	}
	/* The file itself, whole. */
	static uint8_t file[DISK_SECTORS * 512];
	CHECK_INT(pread(g->b.fd, file, sizeof(file), 0), (long)sizeof(file));
	CHECK(!memcmp(file, g->shadow, sizeof(file)), "the file differs from what was written");
	struct blkback_stats s = blkback_ring_stats(g->b.r);
	CHECK(s.writes == writes && s.flushes == flushes && s.reads == 180 && !s.errors,
	      "writes %llu/%u flushes %llu/%u reads %llu errors %llu", (unsigned long long)s.writes, writes,
	      (unsigned long long)s.flushes, flushes, (unsigned long long)s.reads, (unsigned long long)s.errors);
	struct blkback_persistent_stats p = blkback_ring_persistent_stats(g->b.r);
	if (m->persistent)
		CHECK(p.kept > 0 && p.hits > p.maps, "persistent grants unused: kept %u maps %llu hits %llu", p.kept,
		      (unsigned long long)p.maps, (unsigned long long)p.hits);
	CHECK(blkback_ring_poller_stats(g->b.r).rounds > 0, "the ring's thread never served");
	/* Disconnect: every mapping goes back, kept ones included. */
	blkback_ring_destroy(g->b.r);
	unsigned int pinned = 0;
	for (unsigned int i = 0; i < DATA_PAGES; i++)
		pinned += g->b.d->xen.pins[DATA_REF + i].readers + g->b.d->xen.pins[DATA_REF + i].writers;
	CHECK_INT(pinned, 0);
	for (unsigned int i = 0; i < DATA_PAGES; i++)
		CHECK(!(blkif_rig_entry(g->b.d, DATA_REF + i)->flags & (GTF_reading | GTF_writing)), "grant %u still in use",
		      i);
	rig_free(g);
}

/* A barrier's ordering with io_uring: a write queued before it must be on the file when it
 * answers, and one after it must not have started before it (the inflight bookkeeping says so). */
static void test_flush_after_writes(struct unit *u, const void *arg)
{
	const struct mode *m = arg;
	struct rig *g = rig_new(*m);

	for (unsigned int i = 0; i < 8; i++) {
		blkif_request_t *q = put(g, BLKIF_OP_WRITE, 10 + i, i * 8);
		build(g, q, i * 8, 8, i * 8, true);      /* at most 8 segments: pages of its own */
	}
	put(g, BLKIF_OP_FLUSH_DISKCACHE, 99, 0);
	push_and_wait(u, g, 9);
	/* The flush's response is the last: it waited for all eight writes. */
	blkif_response_t last = *RING_GET_RESPONSE(&g->b.front, g->b.front.rsp_cons - 1);
	CHECK(last.id == 99 && last.operation == BLKIF_OP_FLUSH_DISKCACHE, "last response id %llu op %u",
	      (unsigned long long)last.id, last.operation);
	uint8_t got[64 * 512];
	CHECK_INT(pread(g->b.fd, got, sizeof(got), 0), (long)sizeof(got));
	CHECK(!memcmp(got, g->shadow, sizeof(got)), "writes before the flush are not in the file");
	rig_free(g);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	static const struct mode threads = { BLKBACK_ENGINE_THREADS, false }, threads_p = { BLKBACK_ENGINE_THREADS, true };
	static const struct mode uring = { BLKBACK_ENGINE_URING, false }, uring_p = { BLKBACK_ENGINE_URING, true };
	char why[128];
	int no_uring = blkback_uring_probe(why, sizeof(why));

	unit_case(&u, "verify-after-write-threads", test_verify, &threads);
	unit_case(&u, "verify-after-write-threads-persistent", test_verify, &threads_p);
	unit_case(&u, "flush-answers-after-earlier-writes-threads", test_flush_after_writes, &threads);
	if (no_uring) {
		printf("skip - verify-after-write-io_uring: the kernel refuses io_uring (%s)\n", why);
		printf("skip - verify-after-write-io_uring-persistent: the kernel refuses io_uring (%s)\n", why);
		printf("skip - flush-answers-after-earlier-writes-io_uring: the kernel refuses io_uring (%s)\n", why);
	} else {
		unit_case(&u, "verify-after-write-io_uring", test_verify, &uring);
		unit_case(&u, "verify-after-write-io_uring-persistent", test_verify, &uring_p);
		unit_case(&u, "flush-answers-after-earlier-writes-io_uring", test_flush_after_writes, &uring);
	}
	return unit_finish(&u);
}
