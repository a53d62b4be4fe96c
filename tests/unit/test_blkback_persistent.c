/* blkback's persistent grants (feature-persistent, backends/blkback_ring.c) on a fake domain: the
 * test plays a blkfront that negotiated the feature (or did not), with real grant entries and a
 * shared ring in the fake RAM, against a temporary file.  The grant table's pins
 * (dom->xen.pins[ref]) say whether Dom0 holds a grant mapped; the table's counters say how many
 * maps it made.  Covered: reuse without a new map, data right both ways, the feature off, a full
 * table, release on destroy, and a frontend that revokes or changes a grant we keep. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "backends/blkback.h"
#include "blkif_front_rig.h"
#include "unit.h"

#define DATA_GFN BLKIF_RIG_DATA_GFN /* data page i at DATA_GFN + i, granted as ref DATA_REF + i */
#define DATA_REF BLKIF_RIG_DATA_REF
#define SPARE_GFN 0x500ull         /* a page no grant names at first */
#define DATA_PAGES 48
#define DISK_SECTORS 2048          /* a 1 MiB image */

static uint8_t *page_at(struct blkif_rig *g, uint64_t gfn) { return fake_gpa(g->d, gfn << 12); }
static unsigned int pins(struct blkif_rig *g, unsigned int i) { return g->d->xen.pins[DATA_REF + i].readers; }

/* persistent: the table's size, 0 for a ring that did not negotiate the feature. */
static struct blkif_rig *rig_new(unsigned int persistent)
{
	return blkif_rig_new(&(struct blkif_rig_options){ .tag = "blkback-pgnt", .sectors = DISK_SECTORS,
							  .data_pages = DATA_PAGES, .discard = true,
							  .persistent = persistent != 0,
							  .persistent_grants = persistent,
							  .engine = BLKBACK_ENGINE_THREADS });
}

/* Pushes what was put and serves until the ring is idle, the workers done. */
static void run(struct blkif_rig *g)
{
	blkif_rig_push(g);
	for (int i = 0; i < 1000; i++) {
		enum blkback_work w = blkback_ring_serve(g->r, 64);
		blkback_ring_drain(g->r);
		if (w == BLKBACK_IDLE || w == BLKBACK_BROKEN)
			break;
	}
}

/* The one response to a lone request: its status (99 when there is none). */
static int one_status(struct unit *u, struct blkif_rig *g, uint64_t id)
{
	CHECK_INT(g->front.sring->rsp_prod - g->front.rsp_cons, 1);
	if (g->front.sring->rsp_prod == g->front.rsp_cons)
		return 99;
	blkif_response_t s = *RING_GET_RESPONSE(&g->front, g->front.rsp_cons++);
	CHECK_INT(s.id, id);
	g->front.rsp_cons = g->front.sring->rsp_prod;
	return s.status;
}

/* A whole page written from data page i to `sector`, then read back into data page j. */
static int write_page(struct unit *u, struct blkif_rig *g, unsigned int i, uint64_t sector, uint64_t id)
{
	blkif_rig_seg(blkif_rig_put(g, BLKIF_OP_WRITE, id, sector, 1), 0, DATA_REF + i, 0, 7);
	run(g);
	return one_status(u, g, id);
}

static int read_page(struct unit *u, struct blkif_rig *g, unsigned int j, uint64_t sector, uint64_t id)
{
	blkif_rig_seg(blkif_rig_put(g, BLKIF_OP_READ, id, sector, 1), 0, DATA_REF + j, 0, 7);
	run(g);
	return one_status(u, g, id);
}

static bool file_holds(struct blkif_rig *g, uint64_t sector, const uint8_t *want, size_t len)
{
	uint8_t got[4096];
	return len <= sizeof(got) && pread(g->fd, got, len, (off_t)(sector * 512)) == (ssize_t)len &&
	       !memcmp(got, want, len);
}

static void test_on_reuses(struct unit *u, const void *arg)
{
	struct blkif_rig *g = rig_new(BLKBACK_MAX_PERSISTENT_GRANTS);
	uint8_t want[4096];
	(void)arg;

	blkif_rig_fill(blkif_rig_data(g, 0), 4096, 1);
	memcpy(want, blkif_rig_data(g, 0), 4096);
	CHECK_INT(write_page(u, g, 0, 16, 1), BLKIF_RSP_OKAY);
	CHECK(file_holds(g, 16, want, 4096), "the write did not reach the file");
	struct blkback_persistent_stats s = blkback_ring_persistent_stats(g->r);
	CHECK(s.kept == 1 && s.maps == 1 && s.hits == 0, "after one request: kept %u maps %llu hits %llu", s.kept,
	      (unsigned long long)s.maps, (unsigned long long)s.hits);
	CHECK_INT(pins(g, 0), 1);
	CHECK(blkif_rig_entry(g->d, DATA_REF)->flags & GTF_reading, "a kept grant is not marked in use");
	/* The same grant, the other way: nothing new mapped, the data right. */
	memset(blkif_rig_data(g, 0), 0, 4096);
	CHECK_INT(read_page(u, g, 0, 16, 2), BLKIF_RSP_OKAY);
	CHECK(!memcmp(blkif_rig_data(g, 0), want, 4096), "the read through a kept grant is wrong");
	s = blkback_ring_persistent_stats(g->r);
	CHECK(s.kept == 1 && s.maps == 1 && s.hits == 1, "after the second: kept %u maps %llu hits %llu", s.kept,
	      (unsigned long long)s.maps, (unsigned long long)s.hits);
	CHECK_INT(pins(g, 0), 1);
	/* New data in the kept page reaches the file: the mapping is the guest's page, not a copy. */
	blkif_rig_fill(blkif_rig_data(g, 0), 4096, 99);
	CHECK_INT(write_page(u, g, 0, 24, 3), BLKIF_RSP_OKAY);
	CHECK(file_holds(g, 24, blkif_rig_data(g, 0), 4096), "the second write through a kept grant is wrong");
	/* Two segments of one request on the same kept grant, halves of the page. */
	blkif_request_t *q = blkif_rig_put(g, BLKIF_OP_READ, 4, 16, 2);
	blkif_rig_seg(q, 0, DATA_REF + 1, 0, 3);
	blkif_rig_seg(q, 1, DATA_REF + 1, 4, 7);
	run(g);
	CHECK_INT(one_status(u, g, 4), BLKIF_RSP_OKAY);
	CHECK(!memcmp(blkif_rig_data(g, 1), want, 4096), "two segments on one kept grant read wrong");
	s = blkback_ring_persistent_stats(g->r);
	CHECK(s.kept == 2 && s.maps == 2 && s.hits == 3, "kept %u maps %llu hits %llu", s.kept,
	      (unsigned long long)s.maps, (unsigned long long)s.hits);
	CHECK_INT(pins(g, 1), 1);
	blkif_rig_free(g);
}

static void test_off_maps_per_request(struct unit *u, const void *arg)
{
	struct blkif_rig *g = rig_new(0);
	(void)arg;

	blkif_rig_fill(blkif_rig_data(g, 0), 4096, 5);
	CHECK_INT(write_page(u, g, 0, 0, 1), BLKIF_RSP_OKAY);
	CHECK_INT(pins(g, 0), 0);
	CHECK(!(blkif_rig_entry(g->d, DATA_REF)->flags & (GTF_reading | GTF_writing)),
	      "grant still in use after the response");
	CHECK_INT(read_page(u, g, 2, 0, 2), BLKIF_RSP_OKAY);
	CHECK(!memcmp(blkif_rig_data(g, 2), blkif_rig_data(g, 0), 4096), "read back wrong");
	CHECK_INT(pins(g, 2), 0);
	struct blkback_persistent_stats s = blkback_ring_persistent_stats(g->r);
	CHECK(!s.kept && !s.maps && !s.hits, "a ring without the feature kept grants: %u", s.kept);
	blkif_rig_free(g);
}

/* A table of two: the third and fourth grants are mapped per request, and all four carry data. */
static void test_full_table(struct unit *u, const void *arg)
{
	struct blkif_rig *g = rig_new(2);
	(void)arg;

	for (unsigned int i = 0; i < 4; i++)
		blkif_rig_fill(blkif_rig_data(g, i), 4096, (uint8_t)(i * 7 + 1));
	blkif_request_t *q = blkif_rig_put(g, BLKIF_OP_WRITE, 1, 64, 4);
	for (unsigned int i = 0; i < 4; i++)
		blkif_rig_seg(q, i, DATA_REF + i, 0, 7);
	run(g);
	CHECK_INT(one_status(u, g, 1), BLKIF_RSP_OKAY);
	for (unsigned int i = 0; i < 4; i++)
		CHECK(file_holds(g, 64 + i * 8, blkif_rig_data(g, i), 4096), "page %u not in the file", i);
	CHECK(pins(g, 0) == 1 && pins(g, 1) == 1, "the table's two are not kept: %u %u", pins(g, 0), pins(g, 1));
	CHECK(pins(g, 2) == 0 && pins(g, 3) == 0, "grants beyond the table still mapped: %u %u", pins(g, 2), pins(g, 3));
	/* Read back into the overflow grants: per request again, right. */
	q = blkif_rig_put(g, BLKIF_OP_READ, 2, 64, 2);
	blkif_rig_seg(q, 0, DATA_REF + 2, 0, 7);
	blkif_rig_seg(q, 1, DATA_REF + 3, 0, 7);
	memcpy(blkif_rig_data(g, 10), blkif_rig_data(g, 0), 4096);
	memcpy(blkif_rig_data(g, 11), blkif_rig_data(g, 1), 4096);
	run(g);
	CHECK_INT(one_status(u, g, 2), BLKIF_RSP_OKAY);
	CHECK(!memcmp(blkif_rig_data(g, 2), blkif_rig_data(g, 10), 4096) &&
	      !memcmp(blkif_rig_data(g, 3), blkif_rig_data(g, 11), 4096),
	      "read into grants beyond the table wrong");
	struct blkback_persistent_stats s = blkback_ring_persistent_stats(g->r);
	CHECK(s.kept == 2 && s.maps == 2, "kept %u maps %llu", s.kept, (unsigned long long)s.maps);
	CHECK(pins(g, 2) == 0 && pins(g, 3) == 0, "overflow grants kept after the read");
	blkif_rig_free(g);
}

/* Many grants through direct and indirect requests, in flight together; destroy gives them all
 * back.  The indirect page itself is mapped per request. */
static void test_destroy_releases(struct unit *u, const void *arg)
{
	struct blkif_rig *g = rig_new(BLKBACK_MAX_PERSISTENT_GRANTS);
	(void)arg;

	for (unsigned int i = 0; i < 32; i++)
		blkif_rig_fill(blkif_rig_data(g, i), 4096, (uint8_t)i);
	blkif_rig_put_indirect(g, BLKIF_OP_WRITE, 1, 0, 32, 0, 40);
	run(g);
	CHECK_INT(one_status(u, g, 1), BLKIF_RSP_OKAY);
	/* A ring's worth of reads on the same eight grants, all in flight at once. */
	for (unsigned int k = 0; k < 30; k++)
		blkif_rig_seg(blkif_rig_put(g, BLKIF_OP_READ, 100 + k, (k % 32) * 8, 1), 0, DATA_REF + 32 + k % 8, 0, 7);
	run(g);
	unsigned int ok = 0;
	while (g->front.rsp_cons != g->front.sring->rsp_prod)
		ok += RING_GET_RESPONSE(&g->front, g->front.rsp_cons++)->status == BLKIF_RSP_OKAY;
	CHECK_INT(ok, 30);
	for (unsigned int i = 0; i < 32; i++)
		CHECK(file_holds(g, i * 8, blkif_rig_data(g, i), 4096), "page %u not in the file", i);
	struct blkback_persistent_stats s = blkback_ring_persistent_stats(g->r);
	CHECK(s.kept == 40 && s.maps == 40, "kept %u maps %llu (32 written, 8 read)", s.kept, (unsigned long long)s.maps);
	for (unsigned int i = 0; i < 40; i++)
		CHECK(pins(g, i) == 1, "grant %u: %u pins while kept and idle", i, pins(g, i));
	CHECK_INT(pins(g, 40), 0);
	blkback_ring_destroy(g->r);      /* blkif_rig_free's second destroy does nothing */
	for (unsigned int i = 0; i < 41; i++) {
		CHECK(pins(g, i) == 0, "grant %u still pinned after destroy", i);
		CHECK(!(blkif_rig_entry(g->d, DATA_REF + i)->flags & (GTF_reading | GTF_writing)), "grant %u still in use", i);
	}
	CHECK(!g->r->pgnts, "the table outlived its ring");
	blkif_rig_free(g);
}

/* A frontend that changes a grant we keep: each row changes it after one good request, then asks
 * again; the answer is what mapping it afresh gives, and the kept mapping is given up. */
struct change {
	const char *name;
	void (*change)(struct blkif_rig *g);
	uint8_t op;
	int16_t status;
};

static void revoke_grant(struct blkif_rig *g) { blkif_rig_entry(g->d, DATA_REF)->flags = 0; }
static void other_domid(struct blkif_rig *g) { blkif_rig_entry(g->d, DATA_REF)->domid = 3; }
static void to_readonly(struct blkif_rig *g) { blkif_rig_entry(g->d, DATA_REF)->flags |= GTF_readonly; }
static void other_frame(struct blkif_rig *g) { blkif_rig_entry(g->d, DATA_REF)->frame = (uint32_t)SPARE_GFN; }
static void type_transfer(struct blkif_rig *g)
{
	grant_entry_v1_t *e = blkif_rig_entry(g->d, DATA_REF);
	e->flags = (uint16_t)((e->flags & ~GTF_type_mask) | GTF_accept_transfer);
}

static const struct change changes[] = {
	{ "revoked-grant-read", revoke_grant, BLKIF_OP_READ, BLKIF_RSP_ERROR },
	{ "revoked-grant-write", revoke_grant, BLKIF_OP_WRITE, BLKIF_RSP_ERROR },
	{ "grant-moved-to-another-domain", other_domid, BLKIF_OP_READ, BLKIF_RSP_ERROR },
	{ "grant-turned-transfer", type_transfer, BLKIF_OP_WRITE, BLKIF_RSP_ERROR },
	{ "grant-made-readonly-read", to_readonly, BLKIF_OP_READ, BLKIF_RSP_ERROR },
	{ "grant-made-readonly-write", to_readonly, BLKIF_OP_WRITE, BLKIF_RSP_OKAY },
	{ "grant-of-another-frame", other_frame, BLKIF_OP_READ, BLKIF_RSP_OKAY },
};

static void test_changed_grant(struct unit *u, const void *arg)
{
	const struct change *c = arg;
	struct blkif_rig *g = rig_new(BLKBACK_MAX_PERSISTENT_GRANTS);
	uint8_t disk[4096], before[4096];

	blkif_rig_fill(disk, sizeof(disk), 42);
	CHECK_INT(pwrite(g->fd, disk, sizeof(disk), 0), 4096);
	blkif_rig_fill(blkif_rig_data(g, 0), 4096, 7);
	CHECK_INT(read_page(u, g, 0, 0, 1), BLKIF_RSP_OKAY);
	CHECK_INT(blkback_ring_persistent_stats(g->r).kept, 1);
	c->change(g);
	blkif_rig_fill(blkif_rig_data(g, 0), 4096, 9);
	memset(page_at(g, SPARE_GFN), 0, 4096);
	memcpy(before, blkif_rig_data(g, 0), 4096);
	/* A read asks for sector 0 (what the disk holds), a write goes to sector 8 (zeros so far). */
	blkif_rig_seg(blkif_rig_put(g, c->op, 2, c->op == BLKIF_OP_READ ? 0 : 8, 1), 0, DATA_REF, 0, 7);
	run(g);
	CHECK_INT(one_status(u, g, 2), c->status);
	struct blkback_persistent_stats s = blkback_ring_persistent_stats(g->r);
	CHECK(s.dropped == 1 && s.kept == 0 && s.hits == 0, "dropped %llu kept %u hits %llu",
	      (unsigned long long)s.dropped, s.kept, (unsigned long long)s.hits);
	CHECK_INT(pins(g, 0), 0);
	if (c->status != BLKIF_RSP_OKAY) {
		uint8_t zero[4096] = { 0 };
		CHECK(file_holds(g, 8, zero, 4096), "a refused write reached the file");
		CHECK(!memcmp(blkif_rig_data(g, 0), before, 4096), "a refused read wrote the old page");
	} else if (c->op == BLKIF_OP_READ) {
		/* Mapped afresh, the grant names the new frame: the data goes there, the old page is left. */
		CHECK(!memcmp(page_at(g, SPARE_GFN), disk, 4096), "the read did not reach the grant's new frame");
		CHECK(!memcmp(blkif_rig_data(g, 0), before, 4096), "the read went to the page we had kept");
	} else {
		CHECK(file_holds(g, 8, before, 4096), "the write from a read-only grant is wrong");
	}
	blkif_rig_free(g);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "on-second-request-maps-nothing-new", test_on_reuses, NULL);
	unit_case(&u, "off-maps-and-unmaps-per-request", test_off_maps_per_request, NULL);
	unit_case(&u, "full-table-maps-the-rest-per-request", test_full_table, NULL);
	unit_case(&u, "destroy-releases-every-kept-grant", test_destroy_releases, NULL);
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++)
		unit_case(&u, changes[i].name, test_changed_grant, &changes[i]);
	return unit_finish(&u);
}
