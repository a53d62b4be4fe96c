/* The test as blkfront against blkback's real ring (backends/blkback_ring.c) on a fake domain: a
 * temporary disk file, the grant table, data pages granted to Dom0, a shared ring of one or more
 * pages, and the backend's ring over it.  The guest layout every blkback ring test uses:
 *   grant table    BLKIF_RIG_TABLE_GFN
 *   ring page i    BLKIF_RIG_RING_GFN + i, granted as BLKIF_RIG_RING_REF + i
 *   data page i    BLKIF_RIG_DATA_GFN + i, granted as BLKIF_RIG_DATA_REF + i
 * The pieces (domain, disk, ring) serve multi-queue rigs too; blkif_rig_init puts one queue
 * together (its ring pages granted as a real blkfront grants them), and the request helpers below
 * build what blkfront puts on that queue's ring. */
#ifndef XENITH_BLKIF_FRONT_RIG_H
#define XENITH_BLKIF_FRONT_RIG_H
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "backends/blkback.h"
#include "fake_grants.h"

#define BLKIF_RIG_TABLE_GFN 0x300ull
#define BLKIF_RIG_RING_GFN 0x310ull
#define BLKIF_RIG_DATA_GFN 0x400ull
#define BLKIF_RIG_RING_REF 1
#define BLKIF_RIG_DATA_REF 10

/* A domain with its grant table placed and `data_pages` data pages granted read-write. */
static inline struct domain *blkif_rig_domain(unsigned int data_pages)
{
	return fake_domain_granting(BLKIF_RIG_TABLE_GFN, BLKIF_RIG_DATA_REF, BLKIF_RIG_DATA_GFN, data_pages);
}

/* Grant entry `ref`. */
static inline grant_entry_v1_t *blkif_rig_entry(struct domain *d, grant_ref_t ref)
{
	return fake_grant_entry(d, BLKIF_RIG_TABLE_GFN, ref);
}

/* (Re)grants frame `gfn` as `ref`. */
static inline void blkif_rig_grant(struct domain *d, grant_ref_t ref, uint64_t gfn, bool readonly)
{
	fake_grant(d, BLKIF_RIG_TABLE_GFN, ref, gfn, readonly);
}

/* A temporary file of `sectors` sectors, /tmp/<tag>-XXXXXX, its name into path[len]; aborts on failure. */
static inline int blkif_rig_disk(const char *tag, unsigned int sectors, char *path, size_t len)
{
	snprintf(path, len, "/tmp/%s-XXXXXX", tag);
	int fd = mkstemp(path);

	if (fd < 0 || ftruncate(fd, (off_t)sectors * 512))
		abort();
	return fd;
}

/* The shared ring of `pages` pages at `gfn`, initialised, with the front's view of it. */
static inline blkif_sring_t *blkif_rig_ring(struct domain *d, uint64_t gfn, unsigned int pages,
					     blkif_front_ring_t *front)
{
	blkif_sring_t *s = fake_gpa(d, gfn << 12);

	SHARED_RING_INIT(s);
	FRONT_RING_INIT(front, s, pages * 4096);
	return s;
}

/* One queue: blkfront's ring and blkback's over it. */
struct blkif_rig {
	struct domain *d;
	blkif_front_ring_t front;
	struct blkback_ring *r;
	char path[64];
	int fd;
	unsigned int kicks;          /* pushes blkif_rig_push was told to notify */
};

struct blkif_rig_options {
	const char *tag;             /* the disk file's name */
	unsigned int sectors, data_pages;
	unsigned int ring_pages;     /* 0: one */
	bool readonly, discard;      /* the disk's */
	bool persistent;
	unsigned int persistent_grants; /* the table's size; 0: BLKBACK_MAX_PERSISTENT_GRANTS */
	enum blkback_engine engine;
	bool start;                  /* serve it by its own thread (ring_poller), else the test serves */
};

static inline void blkif_rig_init(struct blkif_rig *g, const struct blkif_rig_options *o)
{
	char err[256];

	unsigned int pages = o->ring_pages ? o->ring_pages : 1;

	g->d = blkif_rig_domain(o->data_pages);
	blkif_sring_t *s = blkif_rig_ring(g->d, BLKIF_RIG_RING_GFN, pages, &g->front);
	fake_grant_pages(g->d, BLKIF_RIG_TABLE_GFN, BLKIF_RIG_RING_REF, BLKIF_RIG_RING_GFN, pages, false);
	g->fd = blkif_rig_disk(o->tag, o->sectors, g->path, sizeof(g->path));
	struct blkback_target t = { .fd = g->fd, .sectors = o->sectors, .readonly = o->readonly,
				    .discard = o->discard };
	g->r = calloc(1, sizeof(*g->r));
	if (!g->r || blkback_ring_init(g->r, g->d, "vbd7.51712 (xvda)", s, pages, 0, &t, -1, o->engine))
		abort();
	if (o->persistent && blkback_ring_persistent(g->r, o->persistent_grants ? o->persistent_grants
									      : BLKBACK_MAX_PERSISTENT_GRANTS))
		abort();
	if (o->start && blkback_ring_start(g->r, RING_POLLER_DEFAULT_POLL_US, -1, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
}

/* The ring (when still there: a test may destroy it first), the file, the domain. */
static inline void blkif_rig_fini(struct blkif_rig *g)
{
	blkback_ring_destroy(g->r);
	free(g->r);
	close(g->fd);
	unlink(g->path);
	fake_domain_free(g->d);
}

/* blkif_rig_init on the heap, and its undoing. */
static inline struct blkif_rig *blkif_rig_new(const struct blkif_rig_options *o)
{
	struct blkif_rig *g = calloc(1, sizeof(*g));

	if (!g)
		abort();
	blkif_rig_init(g, o);
	return g;
}

static inline void blkif_rig_free(struct blkif_rig *g)
{
	blkif_rig_fini(g);
	free(g);
}

/* Data page i, as the guest sees it. */
static inline uint8_t *blkif_rig_data(struct blkif_rig *g, unsigned int i)
{
	return fake_gpa(g->d, (BLKIF_RIG_DATA_GFN + i) << 12);
}

/* The next request slot, zeroed, with its header filled in; not pushed. */
static inline blkif_request_t *blkif_rig_put(struct blkif_rig *g, uint8_t op, uint64_t id, uint64_t sector,
					     unsigned int nsegs)
{
	blkif_request_t *q = RING_GET_REQUEST(&g->front, g->front.req_prod_pvt++);

	memset(q, 0, sizeof(*q));
	q->operation = op;
	q->nr_segments = (uint8_t)nsegs;
	q->id = id;
	q->sector_number = sector;
	return q;
}

static inline void blkif_rig_seg(blkif_request_t *q, unsigned int i, grant_ref_t gref, uint8_t first, uint8_t last)
{
	q->seg[i] = (struct blkif_request_segment){ .gref = gref, .first_sect = first, .last_sect = last };
}

/* The next request slot as an indirect `op` of `nsegs` whole-page segments on data pages first,
 * first + 1, ..., listed in data page `list` (as many as that page holds); not pushed. */
static inline blkif_request_indirect_t *blkif_rig_put_indirect(struct blkif_rig *g, uint8_t op, uint64_t id,
							       uint64_t sector, uint16_t nsegs, unsigned int first,
							       unsigned int list)
{
	struct blkif_request_segment *segs = (struct blkif_request_segment *)blkif_rig_data(g, list);
	blkif_request_indirect_t *q = (blkif_request_indirect_t *)blkif_rig_put(g, BLKIF_OP_INDIRECT, 0, 0, 0);

	for (unsigned int i = 0; i < nsegs && i < 4096 / sizeof(*segs); i++)
		segs[i] = (struct blkif_request_segment){ .gref = BLKIF_RIG_DATA_REF + first + i, .first_sect = 0,
							  .last_sect = 7 };
	q->indirect_op = op;
	q->nr_segments = nsegs;
	q->id = id;                  /* the indirect layout's own fields, not blkif_request_t's */
	q->sector_number = sector;
	q->indirect_grefs[0] = BLKIF_RIG_DATA_REF + list;
	return q;
}

/* Pushes what was put: RING_PUSH_REQUESTS_AND_CHECK_NOTIFY's verdict, counted in kicks; a ring
 * served by its own thread is kicked as the event channel would. */
static inline bool blkif_rig_push(struct blkif_rig *g)
{
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&g->front, notify);
	g->kicks += notify != 0;
	if (notify && g->r->polled)
		blkback_ring_kick(g->r);
	return notify;
}

/* A byte pattern that differs per seed and per sector, so a misplaced sector shows. */
static inline void blkif_rig_fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 31 + (i >> 9));
}

#endif
