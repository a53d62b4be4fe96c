/* The test as blkfront against blkback's real ring (backends/blkback_ring.c) on a fake domain: a
 * temporary disk file, the grant table, data pages granted to Dom0, a shared ring of one or more
 * pages, and the backend's ring over it.  The guest layout every blkback ring test uses:
 *   grant table    BLKIF_RIG_TABLE_GFN
 *   ring page i    BLKIF_RIG_RING_GFN + i, granted as BLKIF_RIG_RING_REF + i
 *   data page i    BLKIF_RIG_DATA_GFN + i, granted as BLKIF_RIG_DATA_REF + i
 * The pieces (domain, disk, ring) serve multi-queue rigs too; blkif_rig_init puts one queue
 * together. */
#ifndef XENITH_BLKIF_FRONT_RIG_H
#define XENITH_BLKIF_FRONT_RIG_H
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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
	struct domain *d = fake_domain_new(1);

	fake_grant_table_at(d, BLKIF_RIG_TABLE_GFN);
	for (unsigned int i = 0; i < data_pages; i++)
		fake_grant(d, BLKIF_RIG_TABLE_GFN, BLKIF_RIG_DATA_REF + i, BLKIF_RIG_DATA_GFN + i, false);
	return d;
}

/* Grant entry `ref`. */
static inline grant_entry_v1_t *blkif_rig_entry(struct domain *d, grant_ref_t ref)
{
	return fake_grant_entry(d, BLKIF_RIG_TABLE_GFN, ref);
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
};

struct blkif_rig_options {
	const char *tag;             /* the disk file's name */
	unsigned int sectors, data_pages;
	bool discard, persistent;
	enum blkback_engine engine;
	bool start;                  /* serve it by its own thread (ring_poller), else the test serves */
};

static inline void blkif_rig_init(struct blkif_rig *g, const struct blkif_rig_options *o)
{
	char err[256];

	g->d = blkif_rig_domain(o->data_pages);
	blkif_sring_t *s = blkif_rig_ring(g->d, BLKIF_RIG_RING_GFN, 1, &g->front);
	g->fd = blkif_rig_disk(o->tag, o->sectors, g->path, sizeof(g->path));
	struct blkback_target t = { .fd = g->fd, .sectors = o->sectors, .discard = o->discard };
	g->r = calloc(1, sizeof(*g->r));
	if (!g->r || blkback_ring_init(g->r, g->d, "vbd7.51712 (xvda)", s, 1, 0, &t, -1, o->engine))
		abort();
	if (o->persistent && blkback_ring_persistent(g->r, BLKBACK_MAX_PERSISTENT_GRANTS))
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

#endif
