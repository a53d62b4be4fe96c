/* blkback, the device: one `struct blkback` per vbd (docs/blkif.md).
 *
 * Attach: parse the spec, open the target (read-only for access=ro and cdroms), learn its size
 * (fstat for a file, BLKGETSIZE64 / BLKSSZGET / BLKPBSZGET for a block device), write the backend
 * and frontend directories with everything the frontend may want to know (xenbus_backend), then
 * hotplug-status = connected (there is no script: the file is the device) and InitWait.  When the
 * frontend is Initialised (blkfront publishes its rings there) or Connected, connect() reads
 * protocol (x86_64-abi only), multi-queue-num-queues (pv_queues.c: up to what
 * multi-queue-max-queues offered), ring-page-order, and for each queue ring-ref / ring-ref0.. and
 * event-channel (under queue-<n>/ with several), maps the ring pages, binds the event channel and
 * starts the queue's data path (blkback_ring.c) on its own thread, with persistent grants when the
 * frontend also wrote feature-persistent = 1 (we always offer it).  The main loop carries no
 * request: the event channel's callback (a vCPU thread) kicks the queue's thread, which takes the
 * requests and hands them to its engine, io_uring when the host allows one (probed at each
 * connect, refusal logged) or else its worker threads.  The main loop only hears, through an
 * eventfd, that a queue's frontend broke its ring, to write the `error` node.
 *
 * A ring of several pages must be contiguous for ring.h's macros: pages that are not neighbours in
 * our mapping of guest RAM are mapped again, side by side, from the RAM's memfd.
 *
 * Sizes: `sectors` is in `sector-size` units as blkif.h defines it (512-byte sectors for a file);
 * requests always count 512-byte sectors.
 *
 * Detach and teardown undo it in reverse, queue by queue: the event channel goes (its callback no
 * longer runs), the queue's thread stops, the ring drains (every request handed to the engine
 * answered, its grants released), the engine stops, the ring's grants go; then the file closes and
 * the directories go; each disk logs its counters as it goes. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xen/io/protocols.h>
#include "backends/blkback.h"
#include "backends/pv_backend.h"
#include "backends/pv_queues.h"
#include "backends/xenbus_backend.h"
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/event_loop.h"

_Static_assert(BLKBACK_MAX_DISKS == DOMAIN_MAX_DISKS, "one limit on disks");

#define PAGE 4096u

/* One ring of the disk's (one without multi-queue). */
struct blkback_queue {
	struct blkback *bd;
	unsigned int index;
	char name[64];                       /* the disk's, with the queue's number when several */
	unsigned int ring_pages;
	unsigned long ring_refs[BLKBACK_MAX_RING_PAGES];
	struct grant_mapping ring_maps[BLKBACK_MAX_RING_PAGES];
	void *ring_alias;                    /* our own side-by-side mapping of the pages, or NULL */
	evtchn_port_t port;
	bool ring_up, bound;
	struct blkback_ring ring;
};

struct blkback {
	struct pv_device dev;                /* first: the generic instance (pv_backend.h) */
	struct blkback_config cfg;
	char name[48];                       /* vbd<domid>.<devid> (vdev), for log lines */
	struct blkback_target target;
	bool block_device;
	unsigned int sector_size, physical_sector_size;
	uint64_t bytes;
	int broken_fd;                       /* a queue's thread writes it when its ring broke; -1 */
	bool broken_polled;
	unsigned int offered_queues;         /* multi-queue-max-queues */
	bool uring_refusal_logged;
	/* While connected: */
	bool connected;
	bool broken_reported;
	unsigned int n_queues;
	enum blkback_engine engine;
	struct blkback_queue *queues[BLKBACK_MAX_QUEUES];
	struct blkback_stats total;          /* of earlier connections */
	uint64_t total_sleeps;
};

_Static_assert(offsetof(struct blkback, dev) == 0, "xenbus callbacks get the pv_device as the blkback");

/* ---- the main loop's side: only a broken ring's report ---- */

static bool any_broken(const struct blkback *bd)
{
	for (unsigned int i = 0; bd->connected && i < bd->n_queues; i++)
		if (blkback_ring_broken(&bd->queues[i]->ring))
			return true;
	return false;
}

static void broken_news(void *opaque, uint32_t events)
{
	struct blkback *bd = opaque;
	uint64_t count;

	(void)events;
	if (read(bd->broken_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	if (any_broken(bd) && !bd->broken_reported) {
		bd->broken_reported = true;
		xenbus_backend_write(&bd->dev.xb, "error", "frontend broke the ring protocol");
	}
}

/* The event channel's callback: on a vCPU thread; the queue's thread does the rest. */
static void guest_notified(void *opaque)
{
	struct blkback_queue *q = opaque;

	blkback_ring_kick(&q->ring);
}

/* ---- xenbus: connect and disconnect ---- */

static void unmap_ring(struct blkback_queue *q)
{
	if (q->ring_alias)
		munmap(q->ring_alias, (size_t)q->ring_pages * PAGE);
	q->ring_alias = NULL;
	for (unsigned int i = 0; i < q->ring_pages; i++)
		gnttab_unmap(&q->ring_maps[i]);
	q->ring_pages = 0;
}

/* The ring's pages side by side: as they are if they already are, else mapped again from the
 * guest RAM's memfd. */
static void *ring_address(struct blkback_queue *bq, char *err, size_t errlen)
{
	struct vm *vm = &bq->bd->dev.dom->vm;
	uint8_t *first = bq->ring_maps[0].page;
	bool together = true;

	for (unsigned int i = 1; i < bq->ring_pages; i++)
		together = together && (uint8_t *)bq->ring_maps[i].page == first + (size_t)i * PAGE;
	if (together)
		return first;
	if (vm->memfd < 0) {
		ERR_SET(err, errlen, "ring pages are not contiguous and guest RAM cannot be mapped again");
		return NULL;
	}
	size_t len = (size_t)bq->ring_pages * PAGE;
	uint8_t *base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		ERR_SET(err, errlen, "reserving %zu bytes for the ring: %s", len, strerror(errno));
		return NULL;
	}
	for (unsigned int i = 0; i < bq->ring_pages; i++) {
		off_t off = (off_t)((uint8_t *)bq->ring_maps[i].page - vm->ram);
		if (mmap(base + (size_t)i * PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, vm->memfd,
			 off) == MAP_FAILED) {
			ERR_SET(err, errlen, "mapping ring page %u: %s", i, strerror(errno));
			munmap(base, len);
			return NULL;
		}
	}
	bq->ring_alias = base;
	return base;
}

/* ring-page-order, once for every queue: 0..BLKBACK_MAX_RING_ORDER, or -1 with err. */
static int read_ring_order(struct xenbus_backend *xb, char *err, size_t errlen)
{
	unsigned long order = 0;
	int r = xenbus_backend_read_fe_uint(xb, "ring-page-order", 31, &order);

	if (r && r != -ENOENT) {
		ERR_SET(err, errlen, "reading %s/ring-page-order: %s", xb->fe_path, strerror(-r));
		return -1;
	}
	if (order > BLKBACK_MAX_RING_ORDER) {
		ERR_SET(err, errlen, "ring-page-order %lu is beyond max-ring-page-order %d", order, BLKBACK_MAX_RING_ORDER);
		return -1;
	}
	return (int)order;
}

/* A queue's frontend key (queue-<n>/key with several queues) as a number up to max. */
static int read_queue_uint(struct blkback_queue *q, struct xenbus_backend *xb, const char *key, unsigned long max,
			   unsigned long *out, char *err, size_t errlen)
{
	char path[48];

	if (pv_queue_key(path, sizeof(path), q->bd->n_queues, q->index, key)) {
		ERR_SET(err, errlen, "queue %u: key %s too long", q->index, key);
		return -1;
	}
	int r = xenbus_backend_read_fe_uint(xb, path, max, out);
	if (r && r != -ENOENT) {
		ERR_SET(err, errlen, "reading %s/%s: %s", xb->fe_path, path, strerror(-r));
		return -1;
	}
	if (r) {
		ERR_SET(err, errlen, "%s/%s is missing", xb->fe_path, path);
		return -ENOENT;
	}
	return 0;
}

static int read_ring_refs(struct blkback_queue *q, struct xenbus_backend *xb, unsigned int order, char *err,
			  size_t errlen)
{
	char key[24];
	unsigned int pages = 1u << order;

	q->ring_pages = 0;
	for (unsigned int i = 0; i < pages; i++) {
		snprintf(key, sizeof(key), "ring-ref%u", i);
		int r = read_queue_uint(q, xb, key, UINT32_MAX, &q->ring_refs[i], err, errlen);
		if (r == -ENOENT && order == 0)          /* a one-page ring says ring-ref */
			r = read_queue_uint(q, xb, "ring-ref", UINT32_MAX, &q->ring_refs[i], err, errlen);
		if (r)
			return -1;
	}
	return (int)pages;
}

/* feature-persistent from the frontend: any number but 0 turns it on (as Linux's blkback reads it);
 * absent or not a number, off. */
static bool frontend_persistent(struct blkback *bd, struct xenbus_backend *xb)
{
	unsigned long on = 0;
	int r = xenbus_backend_read_fe_uint(xb, "feature-persistent", UINT32_MAX, &on);

	if (r && r != -ENOENT)
		LOG("%s: %s/feature-persistent unreadable (%s): persistent grants off", bd->name, xb->fe_path,
		    strerror(-r));
	return !r && on;
}

static void add_stats(struct blkback_stats *to, const struct blkback_stats *s)
{
	to->reads += s->reads; to->writes += s->writes; to->flushes += s->flushes;
	to->discards += s->discards; to->errors += s->errors;
	to->read_bytes += s->read_bytes; to->write_bytes += s->write_bytes;
	to->notifies += s->notifies;
	to->kicks += __atomic_load_n(&s->kicks, __ATOMIC_RELAXED);    /* a vCPU thread's */
}

/* Undoes a queue's connect_queue, in the order docs/blkif.md gives: the event channel (its callback
 * no longer runs afterwards), the thread, the in-flight requests, the ring's pages. */
static void disconnect_queue(struct blkback *bd, struct blkback_queue *q)
{
	if (q->bound)
		evtchn_dom0_unbind(bd->dev.dom, q->port, guest_notified, q);
	q->bound = false;
	if (q->ring_up) {
		blkback_ring_stop(&q->ring);
		bd->total_sleeps += blkback_ring_poller_stats(&q->ring).sleeps;
		blkback_ring_destroy(&q->ring);
		add_stats(&bd->total, &q->ring.st);
		q->ring.st = (struct blkback_stats){ 0 };
	}
	q->ring_up = false;
	unmap_ring(q);
}

static int connect_queue(struct blkback *bd, struct blkback_queue *q, struct xenbus_backend *xb, unsigned int order,
			 bool persistent, char *err, size_t errlen)
{
	unsigned long port;
	int r, pages;

	if (read_queue_uint(q, xb, "event-channel", EVTCHN_PORTS - 1, &port, err, errlen))
		return -1;
	if ((pages = read_ring_refs(q, xb, order, err, errlen)) < 0)
		return -1;
	for (int i = 0; i < pages; i++) {
		if ((r = gnttab_map(bd->dev.dom, (grant_ref_t)q->ring_refs[i], 0, false, &q->ring_maps[i]))) {
			ERR_SET(err, errlen, "queue %u: mapping ring-ref %lu (page %d): refused (%d)", q->index,
				q->ring_refs[i], i, r);
			return -1;
		}
		q->ring_pages++;
	}
	void *sring = ring_address(q, err, errlen);
	if (!sring)
		return -1;
	/* The ring (and its counters) first: a kick may come the moment the port is bound. */
	q->port = (evtchn_port_t)port;
	r = blkback_ring_init(&q->ring, bd->dev.dom, q->name, sring, (unsigned int)pages, q->port, &bd->target, -1,
			      bd->engine);
	if (r && bd->engine == BLKBACK_ENGINE_URING) {
		/* The probe's small uring passed but this one did not (limits): this queue and the
		 * next run on threads (earlier ones keep theirs; the stats then say threads). */
		LOG("%s: its io_uring: %s: requests run on worker threads", q->name, strerror(-r));
		bd->engine = BLKBACK_ENGINE_THREADS;
		r = blkback_ring_init(&q->ring, bd->dev.dom, q->name, sring, (unsigned int)pages, q->port,
				      &bd->target, -1, bd->engine);
	}
	if (r) {
		ERR_SET(err, errlen, "queue %u: starting its %s engine: %s", q->index, blkback_engine_name(bd->engine),
			strerror(-r));
		return -1;
	}
	q->ring_up = true;
	if (persistent && blkback_ring_persistent(&q->ring, BLKBACK_MAX_PERSISTENT_GRANTS))
		LOG("%s: no memory for the persistent grants' table: each request maps its own", q->name);
	if (blkback_ring_start(&q->ring, pv_backend_poll_us(bd->dev.dom), bd->broken_fd, err, errlen))
		return -1;
	r = evtchn_dom0_bind(bd->dev.dom, q->port, guest_notified, q);
	if (r < 0) {
		ERR_SET(err, errlen, "queue %u: binding event channel %lu: not a port left unbound for Dom0 (%d)",
			q->index, port, r);
		return -1;
	}
	q->bound = true;
	return 0;
}

static void free_queues(struct blkback *bd)
{
	for (unsigned int i = 0; i < BLKBACK_MAX_QUEUES; i++) {
		if (bd->queues[i])
			disconnect_queue(bd, bd->queues[i]);
		free(bd->queues[i]);
		bd->queues[i] = NULL;
	}
	bd->n_queues = 0;
}

/* io_uring if this host makes one, else the worker threads; a refusal is logged once per disk. */
static enum blkback_engine choose_engine(struct blkback *bd)
{
	char why[128];

	if (!blkback_uring_probe(why, sizeof(why)))
		return BLKBACK_ENGINE_URING;
	if (!bd->uring_refusal_logged)
		LOG("%s: no io_uring (%s): requests run on worker threads", bd->name, why);
	bd->uring_refusal_logged = true;
	return BLKBACK_ENGINE_THREADS;
}

static int vbd_connect(struct xenbus_backend *xb, void *opaque, char *err, size_t errlen)
{
	struct blkback *bd = opaque;
	char protocol[32];
	int r, order;

	r = xenbus_backend_read_fe(xb, "protocol", protocol, sizeof(protocol));
	if (r == -ENOENT)
		snprintf(protocol, sizeof(protocol), "%s", XEN_IO_PROTO_ABI_X86_64);   /* the native one */
	else if (r) {
		ERR_SET(err, errlen, "reading %s/protocol: %s", xb->fe_path, strerror(-r));
		return -1;
	}
	if (!strcmp(protocol, XEN_IO_PROTO_ABI_X86_32)) {
		ERR_SET(err, errlen, "protocol %s: 32-bit frontends are not supported (x86_64-abi only)", protocol);
		return -1;
	}
	if (strcmp(protocol, XEN_IO_PROTO_ABI_X86_64)) {
		ERR_SET(err, errlen, "protocol '%s' is not x86_64-abi", protocol);
		return -1;
	}
	unsigned int n = pv_queues_read(xb, bd->offered_queues, err, errlen);
	if (!n)
		return -1;
	if ((order = read_ring_order(xb, err, errlen)) < 0)
		return -1;
	bool persistent = frontend_persistent(bd, xb);
	bd->engine = choose_engine(bd);
	bd->n_queues = n;
	for (unsigned int i = 0; i < n; i++) {
		struct blkback_queue *q = calloc(1, sizeof(*q));
		if (!q) {
			ERR_SET(err, errlen, "out of memory for queue %u", i);
			free_queues(bd);
			return -1;
		}
		q->bd = bd;
		q->index = i;
		if (n > 1)
			snprintf(q->name, sizeof(q->name), "%s q%u", bd->name, i);
		else
			snprintf(q->name, sizeof(q->name), "%s", bd->name);
		bd->queues[i] = q;
		if (connect_queue(bd, q, xb, (unsigned int)order, persistent, err, errlen)) {
			free_queues(bd);
			return -1;
		}
	}
	bd->connected = true;
	bd->broken_reported = false;
	LOG("%s: connected: %u queue(s) of %d ring page(s) (%u requests), ring-ref %lu, event-channel %u, "
	    "protocol %s, %s engine%s", bd->name, n, 1 << order, bd->queues[0]->ring.size, bd->queues[0]->ring_refs[0],
	    bd->queues[0]->port, protocol, blkback_engine_name(bd->engine), persistent ? ", persistent grants" : "");
	return 0;
}

static void vbd_disconnect(struct xenbus_backend *xb, void *opaque)
{
	struct blkback *bd = opaque;

	(void)xb;
	if (!bd->connected)
		return;
	bd->connected = false;
	free_queues(bd);
	LOG("%s: disconnected", bd->name);
}

static struct blkback_stats stats_of(struct blkback *bd)
{
	struct blkback_stats s = bd->total;

	for (unsigned int i = 0; bd->connected && i < bd->n_queues; i++) {
		struct blkback_stats now = blkback_ring_stats(&bd->queues[i]->ring);
		add_stats(&s, &now);
	}
	return s;
}

/* Times the disk's threads slept for want of work, over every connection. */
static uint64_t sleeps_of(const struct blkback *bd)
{
	uint64_t n = bd->total_sleeps;

	for (unsigned int i = 0; bd->connected && i < bd->n_queues; i++)
		n += blkback_ring_poller_stats(&bd->queues[i]->ring).sleeps;
	return n;
}

/* ---- lifecycle ---- */

static void log_counters(struct blkback *bd)
{
	struct blkback_stats s = stats_of(bd);

	LOG("%s: %llu reads (%llu bytes), %llu writes (%llu bytes), %llu flushes, %llu discards, %llu errors; "
	    "events %llu sent, %llu received%s",
	    bd->name, (unsigned long long)s.reads, (unsigned long long)s.read_bytes, (unsigned long long)s.writes,
	    (unsigned long long)s.write_bytes, (unsigned long long)s.flushes, (unsigned long long)s.discards,
	    (unsigned long long)s.errors, (unsigned long long)s.notifies, (unsigned long long)s.kicks,
	    bd->broken_reported || any_broken(bd) ? " (broken by the guest)" : "");
}

/* Everything but the xenstore directories (which the caller handles): the reverse of attach. */
static void release(struct blkback *bd)
{
	vbd_disconnect(&bd->dev.xb, bd);
	if (bd->broken_polled)
		event_loop_remove(bd->dev.dom->loop, bd->broken_fd);
	bd->broken_polled = false;
	if (bd->broken_fd >= 0)
		close(bd->broken_fd);
	if (bd->target.fd >= 0)
		close(bd->target.fd);
	bd->broken_fd = bd->target.fd = -1;
}

static void vbd_release(struct xenbus_backend *xb, void *opaque)
{
	(void)xb;
	release(opaque);
}

static const struct xenbus_backend_ops vbd_ops = {
	.connect = vbd_connect, .disconnect = vbd_disconnect, .release = vbd_release,
	.closed = pv_device_closed, .connect_on_initialised = true,
};

/* Opens the target and learns its geometry. */
static int open_target(struct blkback *bd, char *err, size_t errlen)
{
	const char *path = bd->cfg.target;
	struct stat st;
	int fd = open(path, (bd->cfg.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;
		ERR_SET(err, errlen, "disk %s: opening %s%s: %s", bd->cfg.vdev, path,
			bd->cfg.readonly ? "" : " read-write", strerror(e));
		return -e;
	}
	bd->target.fd = fd;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		ERR_SET(err, errlen, "disk %s: %s: %s", bd->cfg.vdev, path, strerror(e));
		return -e;
	}
	if (S_ISREG(st.st_mode)) {
		bd->bytes = (uint64_t)st.st_size;
		bd->sector_size = bd->physical_sector_size = 512;
		bd->target.discard = !bd->cfg.readonly;
	} else if (S_ISBLK(st.st_mode)) {
		int lss = 512;
		unsigned int pss = 512;
		if (ioctl(fd, BLKGETSIZE64, &bd->bytes) < 0) {
			int e = errno;
			ERR_SET(err, errlen, "disk %s: size of %s: %s", bd->cfg.vdev, path, strerror(e));
			return -e;
		}
		if (ioctl(fd, BLKSSZGET, &lss) < 0 || lss < 512 || (lss & (lss - 1)))
			lss = 512;
		if (ioctl(fd, BLKPBSZGET, &pss) < 0 || pss < (unsigned int)lss)
			pss = (unsigned int)lss;
		bd->sector_size = (unsigned int)lss;
		bd->physical_sector_size = pss;
		bd->block_device = true;
		bd->target.discard = false;
	} else {
		ERR_SET(err, errlen, "disk %s: %s is neither a regular file nor a block device", bd->cfg.vdev, path);
		return -EINVAL;
	}
	bd->target.sectors = bd->bytes / 512;
	bd->target.readonly = bd->cfg.readonly;
	return 0;
}

static int vbd_attach(struct domain *dom, const void *config, int devid, struct pv_device **out,
		      char *err, size_t errlen)
{
	const struct blkback_config *cfg = config;
	char sectors[24], queues[8], info[8], ssize[16], pssize[16], devid_s[16], indirect[8], order[8];
	struct blkback *bd = calloc(1, sizeof(*bd));
	int r;

	if (!bd) {
		ERR_SET(err, errlen, "out of memory for disk %s", cfg->vdev);
		return -ENOMEM;
	}
	bd->dev.dom = dom;
	bd->dev.devid = devid;
	bd->cfg = *cfg;
	bd->broken_fd = bd->target.fd = -1;
	snprintf(bd->name, sizeof(bd->name), "vbd%d.%d (%s)", dom->domid, devid, cfg->vdev);
	if ((r = open_target(bd, err, errlen)))
		goto fail;
	r = -EIO;
	bd->broken_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (bd->broken_fd < 0 || event_loop_add(dom->loop, bd->broken_fd, EPOLLIN, broken_news, bd)) {
		ERR_SET(err, errlen, "%s: no room on the main loop", bd->name);
		goto fail;
	}
	bd->broken_polled = true;
	bd->offered_queues = pv_queues_offer(BLKBACK_MAX_QUEUES);
	snprintf(queues, sizeof(queues), "%u", bd->offered_queues);
	snprintf(sectors, sizeof(sectors), "%llu", (unsigned long long)(bd->bytes / bd->sector_size));
	snprintf(info, sizeof(info), "%u", (cfg->readonly ? VDISK_READONLY : 0) |
		 (cfg->cdrom ? VDISK_CDROM | VDISK_REMOVABLE : 0));
	snprintf(ssize, sizeof(ssize), "%u", bd->sector_size);
	snprintf(pssize, sizeof(pssize), "%u", bd->physical_sector_size);
	snprintf(devid_s, sizeof(devid_s), "%d", devid);
	snprintf(indirect, sizeof(indirect), "%d", BLKBACK_MAX_INDIRECT_SEGS);
	snprintf(order, sizeof(order), "%d", BLKBACK_MAX_RING_ORDER);
	const char *devtype = cfg->cdrom ? "cdrom" : "disk";
	const struct xenbus_node be_all[] = {
		{ "params", cfg->target }, { "type", bd->block_device ? "phy" : "file" },
		{ "mode", cfg->readonly ? "r" : "w" }, { "dev", cfg->vdev }, { "device-type", devtype },
		{ "removable", cfg->cdrom ? "1" : "0" }, { "bootable", "1" },
		{ "sectors", sectors }, { "info", info }, { "sector-size", ssize },
		{ "physical-sector-size", pssize }, { "feature-flush-cache", "1" }, { "feature-barrier", "1" },
		{ "feature-max-indirect-segments", indirect }, { "max-ring-page-order", order },
		{ "feature-persistent", "1" }, { "multi-queue-max-queues", queues },
		{ "feature-discard", bd->target.discard ? "1" : "0" },
		/* Last, as the list ends at the first NULL key: only with discard. */
		{ bd->target.discard ? "discard-granularity" : NULL, "4096" },
		{ "discard-alignment", "0" },
		{ NULL, NULL },
	};
	const struct xenbus_node fe[] = { { "virtual-device", devid_s }, { "device-type", devtype }, { NULL, NULL } };
	if (xenbus_backend_create(&bd->dev.xb, dom, "vbd", devid, be_all, fe, &vbd_ops, &bd->dev, err, errlen))
		goto fail;
	xenbus_backend_write(&bd->dev.xb, "hotplug-status", "connected");
	if (xenbus_backend_start(&bd->dev.xb, err, errlen))
		goto fail;
	LOG("%s: disk of domain %d: %s (%s, %s), %llu bytes, sector size %u%s", bd->name, dom->domid, cfg->target,
	    bd->block_device ? "block device" : "file", cfg->readonly ? "read-only" : "read-write",
	    (unsigned long long)bd->bytes, bd->sector_size, cfg->cdrom ? ", cdrom" : "");
	*out = &bd->dev;
	return 0;
fail:
	release(bd);
	xenbus_backend_destroy(&bd->dev.xb);
	free(bd);
	return r;
}

static struct blkback *blkback_of(const struct pv_device *dev)
{
	return (struct blkback *)(void *)dev;       /* dev is its first member */
}

static void vbd_describe(const void *config, int devid, char *out, size_t len)
{
	snprintf(out, len, "disk %s (devid %d)", ((const struct blkback_config *)config)->vdev, devid);
}

static void vbd_list_line(const struct pv_device *dev, char *out, size_t len)
{
	const struct blkback *bd = blkback_of(dev);

	snprintf(out, len, "%d %s %d %ld %ld %s %s", dev->devid, bd->cfg.vdev, (int)dev->xb.state,
		 bd->connected ? (long)bd->queues[0]->port : -1L, bd->connected ? (long)bd->queues[0]->ring_refs[0] : -1L,
		 bd->cfg.readonly ? "ro" : "rw", bd->cfg.target);
}

/* engine=: each connected queue's engine (blkback_engines_text). */
static void engines_text(const struct blkback *bd, char *out, size_t len)
{
	enum blkback_engine e[BLKBACK_MAX_QUEUES];
	unsigned int n = bd->connected ? bd->n_queues : 0;

	for (unsigned int i = 0; i < n && i < BLKBACK_MAX_QUEUES; i++)
		e[i] = blkback_ring_engine(&bd->queues[i]->ring);
	blkback_engines_text(e, n < BLKBACK_MAX_QUEUES ? n : BLKBACK_MAX_QUEUES, out, len);
}

static void vbd_stats_line(const struct pv_device *dev, char *out, size_t len)
{
	struct blkback *bd = blkback_of(dev);
	struct blkback_stats s = stats_of(bd);
	char engines[BLKBACK_MAX_QUEUES * sizeof("io_uring,")];

	engines_text(bd, engines, sizeof(engines));
	snprintf(out, len, "%d %s reads=%llu writes=%llu flushes=%llu discards=%llu errors=%llu "
		 "read_bytes=%llu write_bytes=%llu notifies=%llu kicks=%llu queues=%u engine=%s sleeps=%llu%s",
		 dev->devid, bd->cfg.vdev,
		 (unsigned long long)s.reads, (unsigned long long)s.writes, (unsigned long long)s.flushes,
		 (unsigned long long)s.discards, (unsigned long long)s.errors,
		 (unsigned long long)s.read_bytes, (unsigned long long)s.write_bytes,
		 (unsigned long long)s.notifies, (unsigned long long)s.kicks, bd->connected ? bd->n_queues : 0,
		 engines, (unsigned long long)sleeps_of(bd),
		 any_broken(bd) ? " broken" : "");
}

static void vbd_save(const struct pv_device *dev, void *config, struct pv_runtime *rt)
{
	const struct blkback *bd = blkback_of(dev);

	*(struct blkback_config *)config = bd->cfg;
	rt->connected = bd->connected;
	if (bd->connected) {
		/* Queue 0's: the record has room for one ring (a restored frontend reconnects anyway). */
		const struct blkback_queue *q = bd->queues[0];
		rt->port = q->port;
		rt->n_refs = q->ring_pages;
		for (unsigned int i = 0; i < q->ring_pages && i < PV_MAX_RING_REFS; i++)
			rt->refs[i] = (uint32_t)q->ring_refs[i];
	}
}

static void vbd_teardown(struct pv_device *dev)
{
	struct blkback *bd = blkback_of(dev);

	log_counters(bd);
	free(bd);
}

#define VBD_FIELD(...) PV_FIELD(struct blkback_config, __VA_ARGS__)
static const struct pv_field vbd_fields[] = {
	VBD_FIELD(16, vdev, PV_FIELD_STR, 0, 0, true),
	VBD_FIELD(17, devid, PV_FIELD_INT, 0, INT32_MAX, true),
	VBD_FIELD(18, readonly, PV_FIELD_BOOL, 0, 0, true),
	VBD_FIELD(19, cdrom, PV_FIELD_BOOL, 0, 0, true),
	VBD_FIELD(20, target, PV_FIELD_STR, 0, 0, true),
	{ 0 },
};

static int vbd_parse(const char *spec, void *config, char *err, size_t errlen)
{
	return blkback_config_parse(spec, config, err, errlen);
}

static int vbd_check(const void *config, char *err, size_t errlen)
{
	return blkback_config_check(config, err, errlen);
}

_Static_assert(BLKBACK_MAX_RING_PAGES <= PV_MAX_RING_REFS, "a saved record holds every ring page");

const struct pv_backend_type blkback_type = {
	.name = "vbd", .option = "disk", .plural = "disks",
	.spec_usage = "vdev=V,devid=D,access=rw|ro,devtype=disk|cdrom,target=PATH",
	.max = BLKBACK_MAX_DISKS, .max_devid = INT32_MAX, .close_timeout_ms = BLKBACK_CLOSE_TIMEOUT_MS,
	.config_size = sizeof(struct blkback_config),
	.devid_offset = offsetof(struct blkback_config, devid),
	.fields = vbd_fields,
	.parse = vbd_parse, .check = vbd_check, .describe = vbd_describe, .attach = vbd_attach,
	.list_line = vbd_list_line, .stats_line = vbd_stats_line, .save = vbd_save,
	.teardown = vbd_teardown,
};
