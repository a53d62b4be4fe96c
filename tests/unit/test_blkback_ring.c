/* blkback's data path (backends/blkback_ring.c, blkback_io.c) on a fake domain: the test plays
 * blkfront, with real grant entries and a shared ring in the fake RAM, against a temporary file.
 * Honest I/O (direct and indirect, flush, barrier, discard), then what a hostile frontend can do:
 * bad segments and grants, ranges past the end, writes to a read-only disk, unknown operations, a
 * runaway producer index, a flood. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "backends/blkback.h"
#include "blkif_front_rig.h"
#include "unit.h"

#define DATA_GFN BLKIF_RIG_DATA_GFN /* data page i at DATA_GFN + i, granted as ref DATA_REF + i */
#define DATA_REF BLKIF_RIG_DATA_REF
#define DATA_PAGES 64
#define DISK_SECTORS 2048          /* a 1 MiB image */

struct rig_opts { bool readonly, no_discard; unsigned int pages; };

static struct blkif_rig *rig_make(struct rig_opts o)
{
	return blkif_rig_new(&(struct blkif_rig_options){ .tag = "blkback-test", .sectors = DISK_SECTORS,
							  .data_pages = DATA_PAGES, .ring_pages = o.pages,
							  .readonly = o.readonly, .discard = !o.no_discard && !o.readonly,
							  .engine = BLKBACK_ENGINE_THREADS });
}

static struct blkif_rig *rig_new(void) { return rig_make((struct rig_opts){ 0 }); }

/* Serves until the ring is idle (or broken), letting the workers finish in between, and arms it
 * as the ring's thread does before it sleeps. */
static enum blkback_work serve_all(struct blkif_rig *g)
{
	enum blkback_work w = BLKBACK_IDLE;

	for (int i = 0; i < 1000; i++) {
		w = blkback_ring_serve(g->r, 64);
		blkback_ring_drain(g->r);
		if (w == BLKBACK_IDLE && blkback_ring_arm(g->r))
			continue;          /* as the ring's thread does before it sleeps */
		if (w == BLKBACK_IDLE || w == BLKBACK_BROKEN)
			break;
	}
	return w;
}

static unsigned int responses(struct blkif_rig *g)
{
	return g->front.sring->rsp_prod - g->front.rsp_cons;
}

static blkif_response_t rsp(struct blkif_rig *g)
{
	return *RING_GET_RESPONSE(&g->front, g->front.rsp_cons++);
}

/* The one response to a lone request: its status. */
static int one_status(struct unit *u, struct blkif_rig *g, uint64_t id)
{
	CHECK_INT(responses(g), 1);
	if (responses(g) < 1)
		return 99;
	blkif_response_t s = rsp(g);
	CHECK_INT(s.id, id);
	return s.status;
}

static bool grants_idle(struct blkif_rig *g)
{
	for (unsigned int i = 0; i < DATA_PAGES; i++)
		if (blkif_rig_entry(g->d, DATA_REF + i)->flags & (GTF_reading | GTF_writing))
			return false;
	return true;
}

static void test_write_read(struct unit *u, const void *arg)
{
	struct blkif_rig *g = rig_new();
	uint8_t want[16 * 512], got[sizeof(want)];
	(void)arg;

	blkif_rig_fill(blkif_rig_data(g, 0), 4096, 1);
	blkif_rig_fill(blkif_rig_data(g, 1), 4096, 2);
	blkif_rig_fill(blkif_rig_data(g, 2), 4096, 3);
	/* 8 + 4 + 1 sectors at sector 10. */
	blkif_request_t *q = blkif_rig_put(g, BLKIF_OP_WRITE, 0x1234, 10, 3);
	blkif_rig_seg(q, 0, DATA_REF, 0, 7);
	blkif_rig_seg(q, 1, DATA_REF + 1, 2, 5);
	blkif_rig_seg(q, 2, DATA_REF + 2, 7, 7);
	blkif_rig_push(g);
	CHECK_INT(serve_all(g), BLKBACK_IDLE);
	CHECK_INT(responses(g), 1);
	blkif_response_t s = rsp(g);
	CHECK(s.id == 0x1234 && s.operation == BLKIF_OP_WRITE && s.status == BLKIF_RSP_OKAY,
	      "response id %#llx op %u status %d", (unsigned long long)s.id, s.operation, s.status);
	memcpy(want, blkif_rig_data(g, 0), 4096);
	memcpy(want + 4096, blkif_rig_data(g, 1) + 2 * 512, 4 * 512);
	memcpy(want + 6144, blkif_rig_data(g, 2) + 7 * 512, 512);
	CHECK_INT(pread(g->fd, got, 13 * 512, 10 * 512), 13 * 512);
	CHECK(!memcmp(got, want, 13 * 512), "file does not hold what was written");
	CHECK(grants_idle(g), "a grant is still in use after the response");
	/* Read it back into other pages, split differently: 5 sectors, then 8. */
	memset(blkif_rig_data(g, 5), 0, 4096);
	memset(blkif_rig_data(g, 6), 0, 4096);
	q = blkif_rig_put(g, BLKIF_OP_READ, 7, 10, 2);
	blkif_rig_seg(q, 0, DATA_REF + 5, 3, 7);
	blkif_rig_seg(q, 1, DATA_REF + 6, 0, 7);
	blkif_rig_push(g);
	CHECK_INT(serve_all(g), BLKBACK_IDLE);
	s = rsp(g);
	CHECK(s.id == 7 && s.operation == BLKIF_OP_READ && s.status == BLKIF_RSP_OKAY, "read: id %llu status %d",
	      (unsigned long long)s.id, s.status);
	CHECK(!memcmp(blkif_rig_data(g, 5) + 3 * 512, want, 5 * 512), "read: first segment wrong");
	CHECK(!memcmp(blkif_rig_data(g, 6), want + 5 * 512, 8 * 512), "read: second segment wrong");
	CHECK(blkif_rig_data(g, 5)[0] == 0, "read wrote outside its segment");
	struct blkback_stats st = blkback_ring_stats(g->r);
	CHECK(st.reads == 1 && st.writes == 1 && st.read_bytes == 13 * 512 && st.write_bytes == 13 * 512 && !st.errors,
	      "stats reads %llu writes %llu rb %llu wb %llu errors %llu", (unsigned long long)st.reads,
	      (unsigned long long)st.writes, (unsigned long long)st.read_bytes, (unsigned long long)st.write_bytes,
	      (unsigned long long)st.errors);
	CHECK(grants_idle(g), "a grant is still in use after the read");
	blkif_rig_free(g);
}

static void test_indirect(struct unit *u, const void *arg)
{
	struct blkif_rig *g = rig_new();
	(void)arg;

	/* 20 full pages through one indirect page (data page 40) from data pages 0..19, then read
	 * into 20..39. */
	for (unsigned int i = 0; i < 20; i++)
		blkif_rig_fill(blkif_rig_data(g, i), 4096, (uint8_t)(i + 9));
	blkif_rig_put_indirect(g, BLKIF_OP_WRITE, 55, 100, 20, 0, 40);
	blkif_rig_push(g);
	serve_all(g);
	blkif_response_t s = rsp(g);
	CHECK(s.id == 55 && s.operation == BLKIF_OP_WRITE && s.status == BLKIF_RSP_OKAY,
	      "indirect write: id %llu op %u status %d", (unsigned long long)s.id, s.operation, s.status);
	blkif_rig_put_indirect(g, BLKIF_OP_READ, 56, 100, 20, 20, 40);
	blkif_rig_push(g);
	serve_all(g);
	s = rsp(g);
	CHECK(s.id == 56 && s.operation == BLKIF_OP_READ && s.status == BLKIF_RSP_OKAY, "indirect read: status %d", s.status);
	for (unsigned int i = 0; i < 20; i++)
		CHECK(!memcmp(blkif_rig_data(g, i), blkif_rig_data(g, 20 + i), 4096), "page %u differs after the round trip", i);
	CHECK(grants_idle(g), "a grant is still in use");
	blkif_rig_free(g);
}

static void test_readonly(struct unit *u, const void *arg)
{
	struct blkif_rig *g = rig_make((struct rig_opts){ .readonly = true });
	uint8_t before[4096], after[4096];
	(void)arg;

	blkif_rig_fill(before, sizeof(before), 77);
	CHECK_INT(pwrite(g->fd, before, sizeof(before), 0), 4096);
	blkif_rig_fill(blkif_rig_data(g, 0), 4096, 1);
	blkif_request_t *q = blkif_rig_put(g, BLKIF_OP_WRITE, 1, 0, 1);
	blkif_rig_seg(q, 0, DATA_REF, 0, 7);
	blkif_rig_push(g);
	serve_all(g);
	CHECK_INT(one_status(u, g, 1), BLKIF_RSP_ERROR);
	q = blkif_rig_put(g, BLKIF_OP_WRITE_BARRIER, 2, 0, 1);
	blkif_rig_seg(q, 0, DATA_REF, 0, 7);
	blkif_rig_push(g);
	serve_all(g);
	CHECK_INT(one_status(u, g, 2), BLKIF_RSP_ERROR);
	blkif_request_discard_t *d = (blkif_request_discard_t *)blkif_rig_put(g, BLKIF_OP_DISCARD, 3, 0, 0);
	d->nr_sectors = 8;
	blkif_rig_push(g);
	serve_all(g);
	CHECK(one_status(u, g, 3) < 0, "discard on a read-only disk accepted");
	CHECK_INT(pread(g->fd, after, sizeof(after), 0), 4096);
	CHECK(!memcmp(before, after, sizeof(after)), "read-only file changed");
	/* Reads still work. */
	q = blkif_rig_put(g, BLKIF_OP_READ, 4, 0, 1);
	blkif_rig_seg(q, 0, DATA_REF + 1, 0, 7);
	blkif_rig_push(g);
	serve_all(g);
	CHECK_INT(one_status(u, g, 4), BLKIF_RSP_OKAY);
	CHECK(!memcmp(blkif_rig_data(g, 1), before, 4096), "read from a read-only disk wrong");
	CHECK(grants_idle(g), "a grant is still in use");
	blkif_rig_free(g);
}

/* Each row: one bad request (built by fn), answered `status`, the file untouched. */
struct bad_req { const char *name; void (*build)(struct blkif_rig *g); int16_t status; };

/* Request 9, one segment. */
static void bad_one_seg(struct blkif_rig *g, uint8_t op, uint64_t sector, grant_ref_t gref, uint8_t first, uint8_t last)
{
	blkif_rig_seg(blkif_rig_put(g, op, 9, sector, 1), 0, gref, first, last);
}

static void bad_no_segs(struct blkif_rig *g) { blkif_rig_put(g, BLKIF_OP_WRITE, 9, 0, 0); }
static void bad_many_segs(struct blkif_rig *g)
{
	blkif_request_t *q = blkif_rig_put(g, BLKIF_OP_WRITE, 9, 0, 11);
	for (unsigned int i = 0; i < 11; i++)
		blkif_rig_seg(q, i, DATA_REF + i, 0, 0);
	q->nr_segments = 12;          /* the 12th overlaps the next slot's memory: never read */
}
static void bad_first_after_last(struct blkif_rig *g) { bad_one_seg(g, BLKIF_OP_WRITE, 0, DATA_REF, 5, 4); }
static void bad_last_past_page(struct blkif_rig *g) { bad_one_seg(g, BLKIF_OP_WRITE, 0, DATA_REF, 0, 8); }
static void bad_past_end(struct blkif_rig *g) { bad_one_seg(g, BLKIF_OP_WRITE, DISK_SECTORS - 1, DATA_REF, 0, 1); }
static void bad_at_end(struct blkif_rig *g) { bad_one_seg(g, BLKIF_OP_WRITE, DISK_SECTORS, DATA_REF, 0, 0); }
static void bad_huge_sector(struct blkif_rig *g) { bad_one_seg(g, BLKIF_OP_WRITE, UINT64_MAX - 3, DATA_REF, 0, 7); }
static void bad_read_past_end(struct blkif_rig *g) { bad_one_seg(g, BLKIF_OP_READ, DISK_SECTORS - 4, DATA_REF, 0, 7); }
static void bad_gref(struct blkif_rig *g) { bad_one_seg(g, BLKIF_OP_WRITE, 0, 1999, 0, 7); }
static void bad_gref_huge(struct blkif_rig *g) { bad_one_seg(g, BLKIF_OP_WRITE, 0, 0xffffffffu, 0, 7); }
static void bad_ungranted(struct blkif_rig *g)
{
	blkif_rig_entry(g->d, DATA_REF + 1)->flags = 0;
	blkif_request_t *q = blkif_rig_put(g, BLKIF_OP_WRITE, 9, 0, 2);
	blkif_rig_seg(q, 0, DATA_REF, 0, 7);       /* mapped, then released when the second fails */
	blkif_rig_seg(q, 1, DATA_REF + 1, 0, 7);
}
static void bad_foreign(struct blkif_rig *g)
{
	blkif_rig_entry(g->d, DATA_REF)->domid = 3;
	bad_one_seg(g, BLKIF_OP_WRITE, 0, DATA_REF, 0, 7);
}
static void bad_read_into_ro(struct blkif_rig *g)
{
	blkif_rig_grant(g->d, DATA_REF, DATA_GFN, true);
	bad_one_seg(g, BLKIF_OP_READ, 0, DATA_REF, 0, 7);
}
static void bad_unknown_op(struct blkif_rig *g) { blkif_rig_put(g, 99, 9, 0, 0); }
static void bad_reserved_op(struct blkif_rig *g) { blkif_rig_put(g, BLKIF_OP_RESERVED_1, 9, 0, 0); }
static void bad_discard_past_end(struct blkif_rig *g)
{
	blkif_request_discard_t *d = (blkif_request_discard_t *)blkif_rig_put(g, BLKIF_OP_DISCARD, 9, DISK_SECTORS - 8, 0);
	d->nr_sectors = 9;
}
static void bad_discard_wrap(struct blkif_rig *g)
{
	blkif_request_discard_t *d = (blkif_request_discard_t *)blkif_rig_put(g, BLKIF_OP_DISCARD, 9, 8, 0);
	d->nr_sectors = UINT64_MAX - 4;
}
/* Request 9, its segments listed in data page 40. */
static blkif_request_indirect_t *indirect(struct blkif_rig *g, uint8_t op, uint16_t nsegs)
{
	return blkif_rig_put_indirect(g, op, 9, 0, nsegs, 0, 40);
}
static void bad_indirect_many(struct blkif_rig *g) { indirect(g, BLKIF_OP_WRITE, BLKBACK_MAX_INDIRECT_SEGS + 1); }
static void bad_indirect_none(struct blkif_rig *g) { indirect(g, BLKIF_OP_WRITE, 0); }
static void bad_indirect_op(struct blkif_rig *g) { indirect(g, BLKIF_OP_FLUSH_DISKCACHE, 1); }
static void bad_indirect_gref(struct blkif_rig *g) { indirect(g, BLKIF_OP_WRITE, 4)->indirect_grefs[0] = 1999; }
static void bad_indirect_seg(struct blkif_rig *g)
{
	indirect(g, BLKIF_OP_WRITE, 4);
	((struct blkif_request_segment *)blkif_rig_data(g, 40))[3].last_sect = 9;
}

static const struct bad_req bad_reqs[] = {
	{ "no-segments", bad_no_segs, BLKIF_RSP_ERROR },
	{ "twelve-segments", bad_many_segs, BLKIF_RSP_ERROR },
	{ "first-sect-after-last", bad_first_after_last, BLKIF_RSP_ERROR },
	{ "last-sect-past-page", bad_last_past_page, BLKIF_RSP_ERROR },
	{ "write-past-end", bad_past_end, BLKIF_RSP_ERROR },
	{ "write-at-end", bad_at_end, BLKIF_RSP_ERROR },
	{ "sector-wraps-around", bad_huge_sector, BLKIF_RSP_ERROR },
	{ "read-past-end", bad_read_past_end, BLKIF_RSP_ERROR },
	{ "gref-out-of-table", bad_gref, BLKIF_RSP_ERROR },
	{ "gref-huge", bad_gref_huge, BLKIF_RSP_ERROR },
	{ "gref-not-granted", bad_ungranted, BLKIF_RSP_ERROR },
	{ "gref-granted-to-another-domain", bad_foreign, BLKIF_RSP_ERROR },
	{ "read-into-readonly-grant", bad_read_into_ro, BLKIF_RSP_ERROR },
	{ "unknown-operation", bad_unknown_op, BLKIF_RSP_EOPNOTSUPP },
	{ "reserved-operation", bad_reserved_op, BLKIF_RSP_EOPNOTSUPP },
	{ "discard-past-end", bad_discard_past_end, BLKIF_RSP_ERROR },
	{ "discard-wraps-around", bad_discard_wrap, BLKIF_RSP_ERROR },
	{ "indirect-too-many-segments", bad_indirect_many, BLKIF_RSP_ERROR },
	{ "indirect-no-segments", bad_indirect_none, BLKIF_RSP_ERROR },
	{ "indirect-not-read-or-write", bad_indirect_op, BLKIF_RSP_ERROR },
	{ "indirect-page-bad-gref", bad_indirect_gref, BLKIF_RSP_ERROR },
	{ "indirect-segment-past-page", bad_indirect_seg, BLKIF_RSP_ERROR },
};

static void test_bad(struct unit *u, const void *arg)
{
	const struct bad_req *t = arg;
	struct blkif_rig *g = rig_new();
	struct stat before, after;

	for (unsigned int i = 0; i < 40; i++)
		blkif_rig_fill(blkif_rig_data(g, i), 4096, (uint8_t)i);
	fstat(g->fd, &before);
	t->build(g);
	blkif_rig_push(g);
	CHECK_INT(serve_all(g), BLKBACK_IDLE);
	CHECK_INT(one_status(u, g, 9), t->status);
	CHECK(!g->r->broken, "a bad request must not break the ring");
	CHECK(blkback_ring_stats(g->r).errors == 1, "no error counted");
	fstat(g->fd, &after);
	CHECK(after.st_size == before.st_size && after.st_blocks == before.st_blocks,
	      "the image changed: size %lld -> %lld, blocks %lld -> %lld", (long long)before.st_size,
	      (long long)after.st_size, (long long)before.st_blocks, (long long)after.st_blocks);
	CHECK(grants_idle(g), "a grant is still in use after the error");
	/* After the bad request a good one still goes through. */
	blkif_rig_grant(g->d, DATA_REF + 50, DATA_GFN + 50, false);
	blkif_rig_seg(blkif_rig_put(g, BLKIF_OP_READ, 10, 0, 1), 0, DATA_REF + 50, 0, 0);
	blkif_rig_push(g);
	serve_all(g);
	CHECK_INT(one_status(u, g, 10), BLKIF_RSP_OKAY);
	blkif_rig_free(g);
}

static void test_flush_barrier(struct unit *u, const void *arg)
{
	struct blkif_rig *g = rig_new();
	uint8_t got[4096];
	(void)arg;

	/* A write, a flush, a barrier with data and an empty one, all at once: in order, all OKAY. */
	blkif_rig_fill(blkif_rig_data(g, 0), 4096, 5);
	blkif_rig_fill(blkif_rig_data(g, 1), 4096, 6);
	blkif_rig_seg(blkif_rig_put(g, BLKIF_OP_WRITE, 1, 0, 1), 0, DATA_REF, 0, 7);
	blkif_rig_put(g, BLKIF_OP_FLUSH_DISKCACHE, 2, 0, 0);
	blkif_rig_seg(blkif_rig_put(g, BLKIF_OP_WRITE_BARRIER, 3, 8, 1), 0, DATA_REF + 1, 0, 7);
	blkif_rig_put(g, BLKIF_OP_WRITE_BARRIER, 4, 0, 0);
	blkif_rig_seg(blkif_rig_put(g, BLKIF_OP_READ, 5, 8, 1), 0, DATA_REF + 2, 0, 7);
	blkif_rig_push(g);
	CHECK_INT(serve_all(g), BLKBACK_IDLE);
	CHECK_INT(responses(g), 5);
	bool seen[6] = { false };
	for (int i = 0; i < 5; i++) {
		blkif_response_t s = rsp(g);
		CHECK(s.status == BLKIF_RSP_OKAY && s.id >= 1 && s.id <= 5, "response id %llu status %d",
		      (unsigned long long)s.id, s.status);
		if (s.id >= 1 && s.id <= 5)
			seen[s.id] = true;
	}
	for (int i = 1; i <= 5; i++)
		CHECK(seen[i], "no response for request %d", i);
	CHECK_INT(pread(g->fd, got, 4096, 8 * 512), 4096);
	CHECK(!memcmp(got, blkif_rig_data(g, 1), 4096), "barrier's data not in the file");
	CHECK(!memcmp(blkif_rig_data(g, 2), blkif_rig_data(g, 1), 4096), "the read after the barrier did not see it");
	struct blkback_stats st = blkback_ring_stats(g->r);
	CHECK(st.flushes == 3 && st.writes == 2, "flushes %llu writes %llu", (unsigned long long)st.flushes,
	      (unsigned long long)st.writes);
	blkif_rig_free(g);
}

static void test_discard(struct unit *u, const void *arg)
{
	struct blkif_rig *g = rig_new();
	static uint8_t buf[256 * 1024];
	struct stat before, after;
	(void)arg;

	blkif_rig_fill(buf, sizeof(buf), 3);
	CHECK_INT(pwrite(g->fd, buf, sizeof(buf), 0), (long)sizeof(buf));
	fsync(g->fd);
	fstat(g->fd, &before);
	blkif_request_discard_t *d = (blkif_request_discard_t *)blkif_rig_put(g, BLKIF_OP_DISCARD, 21, 0, 0);
	d->nr_sectors = 256;      /* the first 128 KiB */
	blkif_rig_push(g);
	serve_all(g);
	int status = one_status(u, g, 21);
	if (status == BLKIF_RSP_EOPNOTSUPP) {
		printf("# discard: the temporary directory's file system cannot punch holes\n");
		blkif_rig_free(g);
		return;
	}
	CHECK_INT(status, BLKIF_RSP_OKAY);
	fstat(g->fd, &after);
	CHECK(after.st_blocks < before.st_blocks, "st_blocks %lld -> %lld: nothing punched",
	      (long long)before.st_blocks, (long long)after.st_blocks);
	CHECK_INT(after.st_size, before.st_size);
	memset(blkif_rig_data(g, 3), 0xaa, 4096);
	blkif_rig_seg(blkif_rig_put(g, BLKIF_OP_READ, 22, 16, 1), 0, DATA_REF + 3, 0, 7);
	blkif_rig_seg(blkif_rig_put(g, BLKIF_OP_READ, 23, 256, 1), 0, DATA_REF + 4, 0, 7);
	blkif_rig_push(g);
	serve_all(g);
	CHECK_INT(responses(g), 2);
	uint8_t zero[4096] = { 0 };
	CHECK(!memcmp(blkif_rig_data(g, 3), zero, 4096), "discarded range does not read as zeros");
	CHECK(!memcmp(blkif_rig_data(g, 4), buf + 256 * 512, 4096), "data after the discarded range changed");
	CHECK_INT(blkback_ring_stats(g->r).discards, 1);
	blkif_rig_free(g);

	/* A target that cannot discard says so. */
	g = rig_make((struct rig_opts){ .no_discard = true });
	d = (blkif_request_discard_t *)blkif_rig_put(g, BLKIF_OP_DISCARD, 24, 0, 0);
	d->nr_sectors = 8;
	blkif_rig_push(g);
	serve_all(g);
	CHECK_INT(one_status(u, g, 24), BLKIF_RSP_EOPNOTSUPP);
	blkif_rig_free(g);
}

static void test_runaway_producer(struct unit *u, const void *arg)
{
	struct blkif_rig *g = rig_new();
	(void)arg;

	g->front.sring->req_prod = 1000;      /* more than a ring (32) ahead */
	CHECK_INT(blkback_ring_serve(g->r, 64), BLKBACK_BROKEN);
	CHECK(g->r->broken, "not marked broken");
	CHECK_INT(g->front.sring->rsp_prod, 0);
	CHECK_INT(blkback_ring_serve(g->r, 64), BLKBACK_BROKEN);
	blkif_rig_free(g);

	g = rig_new();
	g->front.sring->req_prod = 0x80000000u;
	CHECK_INT(blkback_ring_serve(g->r, 64), BLKBACK_BROKEN);
	blkif_rig_free(g);

	/* Exactly a ring's worth is fine. */
	g = rig_new();
	for (unsigned int i = 0; i < 32; i++)
		blkif_rig_seg(blkif_rig_put(g, BLKIF_OP_READ, i, i, 1), 0, DATA_REF + i, 0, 7);
	blkif_rig_push(g);
	CHECK_INT(serve_all(g), BLKBACK_IDLE);
	CHECK_INT(responses(g), 32);
	CHECK(!g->r->broken, "a full ring broke it");
	blkif_rig_free(g);
}

static void test_budget_and_inflight(struct unit *u, const void *arg)
{
	struct blkif_rig *g = rig_new();
	(void)arg;

	for (unsigned int i = 0; i < 32; i++)
		blkif_rig_seg(blkif_rig_put(g, BLKIF_OP_READ, i, i * 8, 1), 0, DATA_REF + i, 0, 7);
	blkif_rig_push(g);
	CHECK_INT(blkback_ring_serve(g->r, 10), BLKBACK_MORE);
	blkback_ring_drain(g->r);
	CHECK_INT(g->front.sring->rsp_prod, 10);
	CHECK_INT(serve_all(g), BLKBACK_IDLE);
	CHECK_INT(g->front.sring->rsp_prod, 32);
	/* Idle with req_event set: the frontend's next request will notify. */
	CHECK_INT(g->front.sring->req_event, 33);
	blkif_rig_free(g);

	/* A four-page ring (128 slots) full of requests: at most BLKBACK_MAX_INFLIGHT go out at once,
	 * the rest wait for room, and all are answered. */
	g = rig_make((struct rig_opts){ .pages = 4 });
	CHECK_INT(g->r->size, 128);
	for (unsigned int i = 0; i < 128; i++)
		blkif_rig_seg(blkif_rig_put(g, BLKIF_OP_WRITE, i, (i % 64) * 8, 1), 0, DATA_REF + i % DATA_PAGES, 0, 7);
	blkif_rig_push(g);
	enum blkback_work w = blkback_ring_serve(g->r, 1000);
	CHECK(w == BLKBACK_WAIT || w == BLKBACK_IDLE, "first serve: %d", w);
	CHECK(g->r->ring.req_cons >= BLKBACK_MAX_INFLIGHT, "only %u taken", g->r->ring.req_cons);
	CHECK_INT(serve_all(g), BLKBACK_IDLE);
	CHECK_INT(responses(g), 128);
	bool seen[128] = { false };
	unsigned int ok = 0;
	while (responses(g)) {
		blkif_response_t s = rsp(g);
		if (s.id < 128 && !seen[s.id] && s.status == BLKIF_RSP_OKAY) {
			seen[s.id] = true;
			ok++;
		}
	}
	CHECK_INT(ok, 128);
	CHECK(grants_idle(g), "a grant is still in use");
	blkif_rig_free(g);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "write-read-round-trip", test_write_read, NULL);
	unit_case(&u, "indirect-write-read", test_indirect, NULL);
	unit_case(&u, "readonly-disk-refuses-writes", test_readonly, NULL);
	for (size_t i = 0; i < sizeof(bad_reqs) / sizeof(bad_reqs[0]); i++)
		unit_case(&u, bad_reqs[i].name, test_bad, &bad_reqs[i]);
	unit_case(&u, "flush-and-barriers-in-order", test_flush_barrier, NULL);
	unit_case(&u, "discard-punches-holes", test_discard, NULL);
	unit_case(&u, "runaway-producer-breaks-ring", test_runaway_producer, NULL);
	unit_case(&u, "budget-and-inflight-bounds", test_budget_and_inflight, NULL);
	return unit_finish(&u);
}
