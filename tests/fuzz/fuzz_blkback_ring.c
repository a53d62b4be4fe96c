/* libFuzzer target: blkback's data path (backends/blkback_ring.c and its workers, blkback_io.c)
 * against a hostile blkfront.
 *
 * The rig is the unit test's (tests/unit/test_blkback_ring.c): a fake domain whose grant table,
 * blkif ring (1, 2 or 4 pages) and data pages live in guest RAM (here a small one, RAM_PAGES, so
 * that all of it can be checked after every input), and a backing file: a memfd of DISK_BYTES the
 * guest may address, then GUARD_BYTES it may not.  The input is a config byte, then a sequence of
 * operations (decoded below, at most MAX_STEPS), each followed by what the main loop does when the
 * guest kicks: blkback_ring_serve, then (to keep a run deterministic) blkback_ring_drain, again
 * while the ring says MORE or WAIT, a few times at most.
 *
 *   config   bits 0-1 ring-page-order (3 = 0); bit 2 a read-only disk; bit 3 no discard;
 *            bits 4-5 how the data pages start: rw, ro, none, alternating; bit 6 persistent
 *            grants negotiated (a table of PERSISTENT_MAX, so that it fills); bit 7 the io_uring
 *            engine (blkback_uring.c; the threads when the kernel refuses io_uring)
 *   ops      read/write/barrier requests (0 to 12 segments, sectors in and past the disk and at
 *            the edges of overflow), indirect ones and the segment lists in their pages, discards,
 *            flushes, unknown operations, raw bytes into any slot, req_prod set to anything,
 *            scribbles on the ring header, grant entries set and cleared (rw, read-only, another
 *            domain, revoked, another type, a frame outside RAM, the ring or the table itself), a
 *            re-attach (destroy and blkback_ring_init on the ring as the guest left it, as a
 *            reconnect does), other budgets.
 *
 * Invariants, each an abort (so libFuzzer keeps the input), besides ASan's and UBSan's:
 *   - guest RAM changes only in pages granted rw to Dom0 (and the ring pages): a shadow copy of RAM
 *     follows the frontend's own writes; a page is compared when it becomes granted and, at the end
 *     of the input, every page not granted then is; the grant table page has to be exactly as the
 *     frontend wrote it (no GTF_reading/GTF_writing left behind);
 *   - after the drain nothing is in flight or held, and no grant is pinned (dom->xen.pins zero)
 *     but the persistent ones the ring keeps (each once, writable: one reader and one writer, as
 *     many as its table says);
 *     after a re-attach or the input's end, none;
 *   - every request taken in a round is answered in it, exactly once: the responses' (id,
 *     operation) pairs are those of the requests taken (an indirect one answers with its
 *     indirect_op), with a status blkif knows, and pushed;
 *   - the consumer index never passes the req_prod the round saw;
 *   - the file keeps its size and its guard region: no write lands outside [0, DISK_BYTES).
 * The id and index checks are skipped for a round in which the guest granted its own ring or table
 * page writable (a read may then rewrite the requests under the backend, the guest's business).
 *
 * blkback's complaints about the guest go to /dev/null unless XENITH_FUZZ_LOG is set (libFuzzer's
 * and the sanitizers' own output is untouched).  Build and run: tests/fuzz/run [SECONDS]. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "backends/blkback.h"
#include "../unit/fake_domain.h"

#define PAGE 4096u
#define SECTOR 512u
#define RAM_PAGES 64u
#define RAM_BYTES (RAM_PAGES * PAGE)
#define TABLE_GFN 1u
#define RING_GFN 2u                /* up to MAX_RING_PAGES pages */
#define MAX_RING_PAGES 4u
#define DATA_GFN 8u                /* data page i at DATA_GFN + i, granted as ref DATA_REF + i */
#define DATA_PAGES 32u
#define RING_REF 1u                /* ring page i is RING_REF + i */
#define DATA_REF 16u
#define TABLE_REFS (PAGE / sizeof(grant_entry_v1_t))     /* one table frame */
#define DISK_BYTES (64u << 10)
#define DISK_SECTORS (DISK_BYTES / SECTOR)
#define GUARD_BYTES (8u << 10)
#define MAX_STEPS 48
#define BUDGET 64                  /* as blkback.c's main loop */
#define SERVES_PER_ROUND 8
#define MAX_SLOTS (32u * MAX_RING_PAGES)

#include "domain_stubs.h"

static FILE *report;               /* the real stderr, for our own complaints */

#define CHECK(cond, ...)                                                                      \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(report, "fuzz-blkback-ring: invariant broken: " __VA_ARGS__); \
			fputc('\n', report);                                                  \
			abort();                                                              \
		}                                                                             \
	} while (0)

static struct domain *dom;
static uint8_t *ram;
static uint8_t shadow[RAM_BYTES];          /* what RAM must hold where Dom0 may not write */
static uint8_t initial_ram[RAM_BYTES];     /* zeros, and a pattern in the data pages */
static bool allowed[RAM_PAGES];            /* Dom0 may write the page in this round */
static bool self_overlap;                  /* a ring or the table page is granted writable */
static struct blkback_ring *br;
static blkif_front_ring_t front;
static unsigned int ring_pages;
static bool persistent;
static enum blkback_engine engine;
#define PERSISTENT_MAX 4
static struct blkback_target target;
static int disk_fd = -1, kick_fd = -1;
static evtchn_port_t port;
static unsigned int budget;
static uint8_t image[DISK_BYTES + GUARD_BYTES];   /* the file as each input starts */
static uint8_t snap[MAX_RING_PAGES * PAGE];
#define GRANT_PINS (sizeof(((struct xen_state *)0)->pins) / sizeof(struct gnttab_pin))
static uint64_t log_window, log_suppressed;     /* blkback's complaint rate limit, across inputs */
static unsigned int log_count;

static blkif_sring_t *sring(void) { return (blkif_sring_t *)(ram + RING_GFN * PAGE); }

/* ---- the input ---- */
struct input { const uint8_t *p; size_t n; };

static uint8_t u8(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t u16(struct input *in) { uint16_t v = u8(in); return (uint16_t)(v | (uint16_t)u8(in) << 8); }
static uint32_t u32(struct input *in) { uint32_t v = u16(in); return v | (uint32_t)u16(in) << 16; }
static uint64_t u64(struct input *in) { uint64_t v = u32(in); return v | (uint64_t)u32(in) << 32; }

static void bytes(struct input *in, void *dst, size_t len)
{
	size_t n = len < in->n ? len : in->n;
	memcpy(dst, in->p, n);
	memset((uint8_t *)dst + n, 0, len - n);
	in->p += n;
	in->n -= n;
}

/* Mostly the data refs, then the rest of the table, then refs at and past its edges. */
static grant_ref_t ref_of(uint8_t v)
{
	static const grant_ref_t odd[] = { 0, RING_REF, RING_REF + 3, TABLE_REFS - 1, TABLE_REFS, 2047, 2048,
					   0xffffffffu };
	if (v < 0x80)
		return DATA_REF + v % DATA_PAGES;
	if (v < 0xf0)
		return v;
	return odd[v & 7];
}

/* Mostly data frames, then any page of RAM (the table and ring too), then frames outside it. */
static uint32_t frame_of(uint8_t v)
{
	static const uint32_t far[] = { RAM_PAGES, RAM_PAGES + 1, 0xfffffu, 0x100000u, 0x7fffffffu, 0xffffffffu,
					(uint32_t)(FAKE_RAM_SIZE / PAGE), 0xfff00u };
	if (v < 0x80)
		return DATA_GFN + v % DATA_PAGES;
	if (v < 0xc0)
		return v % RAM_PAGES;
	return far[v & 7];
}

/* Sectors (and counts) in the disk, just past it, and where sector * 512 or the sum overflows. */
static uint64_t sector_of(struct input *in)
{
	static const uint64_t odd[] = { DISK_SECTORS - 1, DISK_SECTORS, DISK_SECTORS + 1, UINT64_MAX,
					UINT64_MAX - 3, 1ull << 55, (UINT64_MAX >> 9) + 1, 1ull << 63,
					INT64_MAX, UINT64_MAX - DISK_SECTORS + 1, 1ull << 32, 0xffffffffull,
					DISK_SECTORS - 8, DISK_SECTORS - 88, 0, 0 };
	uint8_t v = u8(in);
	if (v < 0xe0)
		return v % (DISK_SECTORS + 16);
	if (v < 0xf0)
		return odd[v & 15];
	return u64(in);
}

static uint64_t id_of(struct input *in)
{
	uint8_t v = u8(in);
	return v < 0xf0 ? v : u64(in);          /* small ones, so that some repeat */
}

/* A segment's sectors: mostly sane, else any nibbles (past the page, first after last). */
static void sects_of(struct input *in, uint8_t *first, uint8_t *last)
{
	uint8_t v = u8(in);
	if (v < 0x80) {
		*first = v & 7;
		unsigned int l = *first + ((v >> 3) & 7);
		*last = (uint8_t)(l > 7 ? 7 : l);
	} else {
		*first = v & 15;
		*last = (uint8_t)(u8(in) & 15);
	}
}

/* ---- the frontend's writes: RAM and the shadow alike ---- */
static void put(uint64_t gpa, const void *src, size_t len)
{
	memcpy(ram + gpa, src, len);
	memcpy(shadow + gpa, src, len);
}

static grant_entry_v1_t *entry(grant_ref_t ref)
{
	return (grant_entry_v1_t *)(ram + TABLE_GFN * PAGE) + ref;
}

static void grant_set(grant_ref_t ref, uint16_t flags, domid_t domid, uint32_t gfn)
{
	/* In-use bits are Xen's to set: a frontend that sets them only confuses itself. */
	grant_entry_v1_t e = { .flags = (uint16_t)(flags & ~(GTF_reading | GTF_writing)), .domid = domid, .frame = gfn };
	if (ref < TABLE_REFS)
		put(TABLE_GFN * PAGE + ref * sizeof(e), &e, sizeof(e));
}

static void op_grant(struct input *in)
{
	grant_ref_t ref = ref_of(u8(in));
	uint8_t kind = u8(in);

	if (ref >= TABLE_REFS)
		return;
	switch (kind % 8) {
	case 0: grant_set(ref, GTF_permit_access, 0, frame_of(u8(in))); break;
	case 1: grant_set(ref, GTF_permit_access | GTF_readonly, 0, frame_of(u8(in))); break;
	case 2: grant_set(ref, GTF_permit_access, (domid_t)(1 + u8(in)), frame_of(u8(in))); break;
	case 3: grant_set(ref, 0, entry(ref)->domid, entry(ref)->frame); break;            /* revoked */
	case 4: {
		uint16_t flags = u16(in);
		uint16_t domid = u16(in);
		grant_set(ref, flags, domid, u32(in));
		break;
	}
	case 5: grant_set(ref, (uint16_t)(GTF_accept_transfer + u8(in) % 2), 0, frame_of(u8(in))); break;
	case 6: grant_set(ref, GTF_permit_access, FAKE_DOMID, frame_of(u8(in))); break;   /* to itself */
	default: grant_set(ref, GTF_permit_access, 0, frame_of((uint8_t)(0xc0 | u8(in)))); break;
	}
}

/* ---- requests ---- */
static blkif_request_t *next_slot(void)
{
	blkif_request_t *q = RING_GET_REQUEST(&front, front.req_prod_pvt++);
	memset(q, 0, sizeof(*q));
	return q;
}

static void op_rw(struct input *in, uint8_t operation)
{
	blkif_request_t *q = next_slot();
	uint8_t n = u8(in);

	q->operation = operation;
	q->id = id_of(in);
	q->sector_number = sector_of(in);
	q->nr_segments = n < 0xf0 ? n % (BLKIF_MAX_SEGMENTS_PER_REQUEST + 1) : n;
	unsigned int segs = q->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST ? BLKIF_MAX_SEGMENTS_PER_REQUEST
									 : q->nr_segments;
	for (unsigned int i = 0; i < segs; i++) {
		q->seg[i].gref = ref_of(u8(in));
		sects_of(in, &q->seg[i].first_sect, &q->seg[i].last_sect);
	}
}

static void op_indirect(struct input *in)
{
	static const uint16_t odd[] = { 0, BLKBACK_MAX_INDIRECT_SEGS, BLKBACK_MAX_INDIRECT_SEGS + 1, 256, 511, 512,
					0x8000, 0xffff };
	blkif_request_indirect_t *q = (blkif_request_indirect_t *)next_slot();
	uint8_t op = u8(in), n = u8(in);

	q->operation = BLKIF_OP_INDIRECT;
	q->indirect_op = op < 0xc0 ? op % 2 : op;
	q->nr_segments = n < 0xf0 ? n % (BLKBACK_MAX_INDIRECT_SEGS + 1) : odd[n & 7];
	q->id = id_of(in);
	q->sector_number = sector_of(in);
	for (unsigned int i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++)
		q->indirect_grefs[i] = ref_of(i ? 0xff : u8(in));
}

/* Segment descriptors into a page, for indirect requests to point at. */
static void op_segments(struct input *in)
{
	unsigned int page = DATA_GFN + u8(in) % DATA_PAGES, at = u8(in) % 40, n = 1 + u8(in) % 8;

	for (unsigned int i = 0; i < n && at + i < PAGE / sizeof(struct blkif_request_segment); i++) {
		struct blkif_request_segment s = { .gref = ref_of(u8(in)) };
		sects_of(in, &s.first_sect, &s.last_sect);
		put((uint64_t)page * PAGE + (at + i) * sizeof(s), &s, sizeof(s));
	}
}

static void op_discard(struct input *in)
{
	blkif_request_discard_t *q = (blkif_request_discard_t *)next_slot();

	q->operation = BLKIF_OP_DISCARD;
	q->flag = u8(in) & 1;
	q->id = id_of(in);
	q->sector_number = sector_of(in);
	q->nr_sectors = sector_of(in);
}

static void op_other(struct input *in, uint8_t operation)
{
	blkif_request_t *q = next_slot();

	q->operation = operation;
	q->id = id_of(in);
	q->nr_segments = u8(in);
}

/* Raw bytes into a slot: the next one, or any (even a published one) with bit 0 of the selector. */
static void op_raw(struct input *in)
{
	uint8_t sel = u8(in);
	RING_IDX idx = sel & 1 ? (RING_IDX)u8(in) : front.req_prod_pvt++;
	bytes(in, (void *)RING_GET_REQUEST(&front, idx), sizeof(blkif_request_t));
}

/* Publishing, honestly or not. */
static void op_prod(struct input *in)
{
	uint8_t sel = u8(in);
	RING_IDX v;

	switch (sel % 4) {
	case 0: v = front.req_prod_pvt; break;                               /* RING_PUSH_REQUESTS */
	case 1: v = sring()->req_prod + (RING_IDX)(int8_t)u8(in); break;
	case 2: v = br->ring.rsp_prod_pvt + br->size + (RING_IDX)(int8_t)u8(in); break;   /* about a ring ahead */
	default: v = u32(in); break;
	}
	xen_wmb();
	sring()->req_prod = v;
	if (sel & 4)
		front.req_prod_pvt = v;
}

/* The shared header's other words: rsp_event says when to notify, rsp_prod is where a re-attach
 * starts. */
static void op_header(struct input *in)
{
	uint8_t sel = u8(in);
	RING_IDX v = sel & 4 ? u32(in) : (RING_IDX)(int8_t)u8(in);
	RING_IDX *w = (RING_IDX *)sring() + sel % 4;     /* req_prod, req_event, rsp_prod, rsp_event */
	if (!(sel & 4))
		v += *w;
	*w = v;
}

static void attach(void)
{
	if (blkback_ring_init(br, dom, "vbd7.51712 (xvda)", sring(), ring_pages, port, &target, kick_fd, engine)) {
		if (engine != BLKBACK_ENGINE_URING)
			abort();
		engine = BLKBACK_ENGINE_THREADS;     /* the kernel refuses io_uring */
		if (blkback_ring_init(br, dom, "vbd7.51712 (xvda)", sring(), ring_pages, port, &target, kick_fd, engine))
			abort();
	}
	if (persistent && blkback_ring_persistent(br, PERSISTENT_MAX))
		abort();
	/* The complaint rate limit carries on across rings: it is what keeps the log quiet. */
	br->log_window_ns = log_window;
	br->log_count = log_count;
	br->log_suppressed = log_suppressed;
}

/* Pins left after a round: only the ring's persistent grants, each pinned once and writable. */
static void check_pins(bool after_destroy)
{
	unsigned int kept = after_destroy ? 0 : blkback_ring_persistent_stats(br).kept, pinned = 0;

	for (size_t i = 0; i < GRANT_PINS; i++) {
		const struct gnttab_pin *p = &dom->xen.pins[i];
		if (!p->readers && !p->writers)
			continue;
		/* A writable mapping counts as a reader and a writer (gnttab.c). */
		CHECK(p->readers == 1 && p->writers == 1, "grant %zu pinned %u/%u after the round", i, p->readers,
		      p->writers);
		pinned++;
	}
	CHECK(pinned == kept, "%u grants pinned after the round, the ring keeps %u", pinned, kept);
}

static void detach(void)
{
	blkback_ring_destroy(br);
	check_pins(true);
	log_window = br->log_window_ns;
	log_count = br->log_count;
	log_suppressed = br->log_suppressed;
}

/* ---- a round of backend work, and what it must not do ---- */

/* Which pages Dom0 may write now; pages becoming writable must not have been written meanwhile, and
 * pages ceasing to be take what was written while they were as their new baseline. */
static void update_allowed(void)
{
	bool now[RAM_PAGES] = { false };

	for (unsigned int i = 0; i < ring_pages; i++)
		now[RING_GFN + i] = true;
	self_overlap = false;
	for (grant_ref_t ref = 0; ref < TABLE_REFS; ref++) {
		const grant_entry_v1_t *e = entry(ref);
		if ((e->flags & GTF_type_mask) != GTF_permit_access || e->domid != 0 || (e->flags & GTF_readonly) ||
		    e->frame >= RAM_PAGES)
			continue;
		now[e->frame] = true;
		if (e->frame == TABLE_GFN || (e->frame >= RING_GFN && e->frame < RING_GFN + ring_pages))
			self_overlap = true;
	}
	if (now[TABLE_GFN])                   /* data into the table can grant anything mid-round */
		for (unsigned int p = 0; p < RAM_PAGES; p++)
			now[p] = true;
	for (unsigned int p = 0; p < RAM_PAGES; p++) {
		if (now[p] && !allowed[p])
			CHECK(!memcmp(ram + p * PAGE, shadow + p * PAGE, PAGE),
			      "guest page %#x written while not granted writable to Dom0", p);
		else if (!now[p] && allowed[p])
			memcpy(shadow + p * PAGE, ram + p * PAGE, PAGE);
		allowed[p] = now[p];
	}
}

struct answer { uint64_t id; uint8_t op; };

static int answer_cmp(const void *a, const void *b)
{
	const struct answer *x = a, *y = b;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (int)x->op - (int)y->op;
}

static void check_ring(RING_IDX cons0, RING_IDX rsp0, RING_IDX prod)
{
	static struct answer asked[MAX_SLOTS], got[MAX_SLOTS];
	RING_IDX cons = br->ring.req_cons, rsp = br->ring.rsp_prod_pvt;
	unsigned int n = cons - cons0;

	CHECK(cons - cons0 <= prod - cons0, "req_cons %u passed req_prod %u (was %u)", cons, prod, cons0);
	CHECK(rsp - rsp0 == n, "%u requests taken, %u answered", n, rsp - rsp0);
	CHECK(rsp == rsp0 || sring()->rsp_prod == rsp, "responses up to %u made, %u pushed", rsp,
	      sring()->rsp_prod);        /* a guest may scribble on rsp_prod meanwhile */
	CHECK(n <= br->size, "%u requests taken from a ring of %u", n, br->size);
	for (unsigned int i = 0; i < n; i++) {
		const blkif_request_t *q = &((const blkif_sring_t *)snap)->ring[(cons0 + i) & (br->size - 1)].req;
		const blkif_response_t *r = RING_GET_RESPONSE(&front, rsp0 + i);
		asked[i] = (struct answer){ q->id, q->operation == BLKIF_OP_INDIRECT
							   ? ((const blkif_request_indirect_t *)q)->indirect_op
							   : q->operation };
		got[i] = (struct answer){ r->id, r->operation };
		CHECK(r->status == BLKIF_RSP_OKAY || r->status == BLKIF_RSP_ERROR || r->status == BLKIF_RSP_EOPNOTSUPP,
		      "response %u: status %d", rsp0 + i, r->status);
	}
	qsort(asked, n, sizeof(asked[0]), answer_cmp);
	qsort(got, n, sizeof(got[0]), answer_cmp);
	for (unsigned int i = 0; i < n; i++)
		CHECK(!answer_cmp(&asked[i], &got[i]), "answered id %llu op %u, asked id %llu op %u",
		      (unsigned long long)got[i].id, got[i].op, (unsigned long long)asked[i].id, asked[i].op);
}

static void check_file(void)
{
	static uint8_t guard[GUARD_BYTES];
	struct stat st;

	CHECK(!fstat(disk_fd, &st) && st.st_size == DISK_BYTES + GUARD_BYTES, "the file is %lld bytes, not %u",
	      (long long)st.st_size, DISK_BYTES + GUARD_BYTES);
	CHECK(pread(disk_fd, guard, GUARD_BYTES, DISK_BYTES) == GUARD_BYTES, "reading the guard: %s", strerror(errno));
	CHECK(!memcmp(guard, image + DISK_BYTES, GUARD_BYTES), "a write landed past the disk's %u bytes", DISK_BYTES);
}

static void run_round(void)
{
	uint64_t kicks;

	update_allowed();
	memcpy(snap, sring(), (size_t)ring_pages * PAGE);
	RING_IDX cons = br->ring.req_cons, rsp = br->ring.rsp_prod_pvt, prod = sring()->req_prod;
	bool was_broken = br->broken;

	for (unsigned int i = 0; i < SERVES_PER_ROUND; i++) {
		enum blkback_work w = blkback_ring_serve(br, budget);
		blkback_ring_drain(br);
		CHECK((w == BLKBACK_BROKEN) == br->broken, "serve said %d, broken %d", w, br->broken);
		if (w == BLKBACK_IDLE || w == BLKBACK_BROKEN)
			break;
	}
	(void)read(kick_fd, &kicks, sizeof(kicks));
	CHECK(br->inflight == 0 && !br->held && !br->ordered_running, "after the drain: %u in flight, held %p",
	      br->inflight, (void *)br->held);
	if (was_broken)
		CHECK(br->ring.req_cons == cons && br->ring.rsp_prod_pvt == rsp, "a broken ring was served");
	if (!self_overlap)
		check_ring(cons, rsp, prod);
	check_pins(false);
	check_file();
}

/* ---- one input ---- */

static void setup(uint8_t config)
{
	unsigned int order = config & 3, mode = (config >> 4) & 3;

	persistent = config & 0x40;
	engine = config & 0x80 ? BLKBACK_ENGINE_URING : BLKBACK_ENGINE_THREADS;
	ring_pages = order == 3 ? 1 : 1u << order;
	memcpy(ram, initial_ram, RAM_BYTES);
	memset(dom->xen.shared_info, 0, PAGE);      /* the pending bits our notifications set */
	SHARED_RING_INIT(sring());
	FRONT_RING_INIT(&front, sring(), (size_t)ring_pages * PAGE);
	memcpy(shadow, ram, RAM_BYTES);
	for (unsigned int i = 0; i < ring_pages; i++)
		grant_set(RING_REF + i, GTF_permit_access, 0, RING_GFN + i);
	for (unsigned int i = 0; i < DATA_PAGES; i++) {
		bool ro = mode == 1 || (mode == 3 && (i & 1));
		if (mode != 2)
			grant_set(DATA_REF + i, (uint16_t)(GTF_permit_access | (ro ? GTF_readonly : 0)), 0, DATA_GFN + i);
	}
	memset(allowed, 0, sizeof(allowed));
	for (unsigned int i = 0; i < ring_pages; i++)
		allowed[RING_GFN + i] = true;
	if (pwrite(disk_fd, image, sizeof(image), 0) != (ssize_t)sizeof(image))
		abort();
	target = (struct blkback_target){ .fd = disk_fd, .sectors = DISK_SECTORS, .readonly = config & 4,
					  .discard = !(config & 8) && !(config & 4) };
	attach();
	budget = BUDGET;
}

static void finish(void)
{
	detach();
	update_allowed();
	for (unsigned int p = 0; p < RAM_PAGES; p++)
		if (!allowed[p])
			CHECK(!memcmp(ram + p * PAGE, shadow + p * PAGE, PAGE),
			      "guest page %#x written while not granted writable to Dom0", p);
	check_file();
}

static void guest_kicked(void *opaque)
{
	(void)opaque;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;

	report = stderr;
	if (!getenv("XENITH_FUZZ_LOG")) {
		FILE *null = fopen("/dev/null", "w");
		if (null)
			stderr = null;          /* LOG() only; libFuzzer and the sanitizers keep fd 2 */
	}
	dom = fake_domain_new(1);
	free(dom->vm.ram);
	dom->vm.ram = ram = aligned_alloc(PAGE, RAM_BYTES);
	if (!ram)
		abort();
	memset(ram, 0, RAM_BYTES);
	for (unsigned int i = 0; i < DATA_PAGES; i++)
		for (unsigned int j = 0; j < PAGE; j++)
			initial_ram[(DATA_GFN + i) * PAGE + j] = (uint8_t)(i * 37 + j);
	dom->vm.ram_size = dom->vm.low_ram_size = RAM_BYTES;
	struct xen_add_to_physmap x = { .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table, .idx = 0, .gpfn = TABLE_GFN };
	if (fake_op(dom, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, &x, sizeof(x)))
		abort();
	int p = evtchn_dom0_bind(dom, 0, guest_kicked, NULL);
	if (p <= 0)
		abort();
	port = (evtchn_port_t)p;
	/* A memfd: a file that can punch holes and whose fdatasync costs nothing. */
	disk_fd = memfd_create("fuzz-blkback", MFD_CLOEXEC);
	if (disk_fd < 0 || ftruncate(disk_fd, DISK_BYTES + GUARD_BYTES))
		abort();
	for (size_t i = 0; i < sizeof(image); i++)
		image[i] = i < DISK_BYTES ? (uint8_t)(i * 13 + (i >> 9)) : (uint8_t)(0xa5 ^ i);
	kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (kick_fd < 0)
		abort();
	br = calloc(1, sizeof(*br));
	if (!br)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	setup(u8(&in));
	for (unsigned int step = 0; step < MAX_STEPS && in.n; step++) {
		switch (u8(&in) % 14) {
		case 0: op_rw(&in, BLKIF_OP_READ); break;
		case 1: op_rw(&in, BLKIF_OP_WRITE); break;
		case 2: op_rw(&in, BLKIF_OP_WRITE_BARRIER); break;
		case 3: op_indirect(&in); break;
		case 4: op_segments(&in); break;
		case 5: op_discard(&in); break;
		case 6: op_other(&in, (uint8_t)(u8(&in) % 3 ? BLKIF_OP_FLUSH_DISKCACHE : u8(&in))); break;
		case 7: op_raw(&in); break;
		case 8: op_prod(&in); break;
		case 9: op_header(&in); break;
		case 10: op_grant(&in); break;
		case 11: detach(); attach(); break;
		case 12: budget = 1u + u8(&in) % BUDGET; break;
		default: op_prod(&in); break;          /* publishing is what most rounds want */
		}
		run_round();
	}
	finish();
	return 0;
}
