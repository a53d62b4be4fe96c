/* Stress of the backends' ring threads (backends/ring_poller.c under blkback_ring.c, blkback.c and
 * netback.c) against the main thread's lifecycle: connect, disconnect, reconnect, detach, stats.
 *
 * The guest is a thread of its own here (vCPU 1 of a fake domain): it keeps every queue's ring
 * full of small requests and sends an event on every round, whatever the backend's state, so
 * kicks arrive while ports are unbound, threads stopped and pages unmapped.  The main thread plays
 * the toolstack and the frontend's xenbus side.  What must hold after every disconnect:
 *   - nothing writes a ring once its disconnect returned: rsp_prod stays put while the guest goes
 *     on pushing and kicking (a poller, worker or io_uring completion left running would move it);
 *   - every request the backend took was answered before its disconnect returned (ring level,
 *     where req_cons is visible): drain saw every in-flight request and io_uring completion;
 *   - no response is doubled, invented or failed (ids are tracked per ring slot window);
 *   - the counters add up across threads and connections: the backend's reads+writes equal the
 *     responses the guest reaped, exactly, in every stats line read between cycles.
 * Every case is bounded in time (CYCLE_BUDGET_MS): a hang becomes a failure, not a stuck run.
 * Meant to run under ASan/UBSan, where a use after free at disconnect aborts the run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "unit.h"
#include "fake_domain_memfd.h"
#include "xenstored_binary.h"
#include "backends/blkback.h"
#include "backends/pv_backend.h"
#include "backends/pv_queues.h"
#include "backends/xenstore_link.h"
#include "hw/device.h"
#include "lib/xs_client.h"
#include "vmm/event_loop.h"

extern const struct device_ops xenstore_link_device;

#define TABLE_GFN 0x300ull
#define RING_GFN 0x310ull           /* queue q's ring page */
#define DATA_GFN 0x400ull           /* queue q's data page */
#define RING_REF 1                  /* + q */
#define DATA_REF 20                 /* + q */
#define GUEST_ARG 0x13000ull        /* the guest thread's hypercall argument page */
#define GUEST_VCPU 1
#define DEVID 51712
#define DISK_SECTORS 2048
#define QUEUES 2
#define CYCLES 200
#define ID_WINDOW 256               /* more than a ring's entries: a slot's id is unique in it */
#define PUSH_PER_ROUND 8
#define CYCLE_BUDGET_MS 25000       /* the whole case, so the test ends well inside 30 s */

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static grant_entry_v1_t *entry(struct domain *d, grant_ref_t ref)
{
	return (grant_entry_v1_t *)fake_gpa(d, TABLE_GFN << 12) + ref;
}

/* ---- the guest: a thread that keeps the rings full and kicks every round ---- */

enum guest_mode { GUEST_PAUSE, GUEST_RUN, GUEST_EXIT };

struct fe_queue {
	blkif_front_ring_t front;
	evtchn_port_t port;
	uint64_t next_id;
	uint64_t outstanding[ID_WINDOW];     /* id + 1 while in flight, else 0 */
	uint64_t responses;                  /* this connection's, reaped */
	uint64_t total_responses;            /* every connection's */
};

struct guest {
	struct domain *d;
	unsigned int n;
	struct fe_queue q[QUEUES];
	int mode;                            /* atomic: enum guest_mode, the main thread's wish */
	int seen;                            /* atomic: the mode the guest thread is in */
	uint64_t sends;                      /* events sent (the guest's) */
	bool failed;                         /* a bad response: `why` says which */
	char why[256];
	pthread_t thread;
};

/* The ring of queue q made afresh (the guest thread is paused or not yet started). */
static void fe_ring_init(struct guest *g, unsigned int qi)
{
	struct fe_queue *q = &g->q[qi];
	blkif_sring_t *s = fake_gpa(g->d, (RING_GFN + qi) << 12);

	SHARED_RING_INIT(s);
	FRONT_RING_INIT(&q->front, s, 4096);
	memset(q->outstanding, 0, sizeof(q->outstanding));
	q->responses = 0;
}

static void guest_fail(struct guest *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void guest_fail(struct guest *g, const char *fmt, ...)
{
	va_list ap;

	if (g->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(g->why, sizeof(g->why), fmt, ap);
	va_end(ap);
	g->failed = true;
}

static void guest_reap(struct guest *g, unsigned int qi)
{
	struct fe_queue *q = &g->q[qi];
	RING_IDX prod = __atomic_load_n(&q->front.sring->rsp_prod, __ATOMIC_ACQUIRE);

	if (prod - q->front.rsp_cons > RING_SIZE(&q->front)) {
		guest_fail(g, "queue %u: rsp_prod %u is more than a ring past rsp_cons %u", qi, prod, q->front.rsp_cons);
		q->front.rsp_cons = prod;
		return;
	}
	while (q->front.rsp_cons != prod) {
		blkif_response_t rsp = *RING_GET_RESPONSE(&q->front, q->front.rsp_cons);
		q->front.rsp_cons++;
		uint64_t *slot = &q->outstanding[rsp.id % ID_WINDOW];
		if (*slot != rsp.id + 1)
			guest_fail(g, "queue %u: response for id %llu, which is not in flight (doubled or invented)", qi,
				   (unsigned long long)rsp.id);
		else if (rsp.status != BLKIF_RSP_OKAY)
			guest_fail(g, "queue %u: id %llu answered %d", qi, (unsigned long long)rsp.id, rsp.status);
		*slot = 0;
		q->responses++;
		q->total_responses++;
	}
}

/* Reads and writes of the queue's one data page, over the first 64 pages of the disk. */
static void guest_push(struct guest *g, unsigned int qi)
{
	struct fe_queue *q = &g->q[qi];

	for (unsigned int i = 0; i < PUSH_PER_ROUND; i++) {
		if (q->front.req_prod_pvt - q->front.rsp_cons >= RING_SIZE(&q->front))
			break;
		uint64_t id = q->next_id++;
		if (q->outstanding[id % ID_WINDOW]) {
			q->next_id--;            /* the window is full of old requests: wait for them */
			break;
		}
		q->outstanding[id % ID_WINDOW] = id + 1;
		blkif_request_t *r = RING_GET_REQUEST(&q->front, q->front.req_prod_pvt++);
		memset(r, 0, sizeof(*r));
		r->operation = id & 1 ? BLKIF_OP_WRITE : BLKIF_OP_READ;
		r->nr_segments = 1;
		r->id = id;
		r->sector_number = ((id >> 1) % 64) * 8 + qi * 512;
		r->seg[0] = (struct blkif_request_segment){ .gref = DATA_REF + qi, .first_sect = 0, .last_sect = 7 };
	}
	RING_PUSH_REQUESTS(&q->front);
}

/* EVTCHNOP_send from vCPU GUEST_VCPU, through its own argument page. */
static void guest_send(struct guest *g, evtchn_port_t port)
{
	struct evtchn_send send = { .port = port };

	fake_put(g->d, GUEST_ARG, &send, sizeof(send));
	fake_hcall(g->d, GUEST_VCPU, __HYPERVISOR_event_channel_op, EVTCHNOP_send, GUEST_ARG, 0);
	g->sends++;
}

static void *guest_main(void *arg)
{
	struct guest *g = arg;

	for (;;) {
		int mode = __atomic_load_n(&g->mode, __ATOMIC_ACQUIRE);
		if (mode == GUEST_EXIT)
			break;
		if (mode == GUEST_PAUSE) {
			for (unsigned int qi = 0; qi < g->n; qi++)
				guest_reap(g, qi);
			__atomic_store_n(&g->seen, GUEST_PAUSE, __ATOMIC_RELEASE);
			usleep(50);
			continue;
		}
		__atomic_store_n(&g->seen, GUEST_RUN, __ATOMIC_RELEASE);
		for (unsigned int qi = 0; qi < g->n; qi++) {
			guest_reap(g, qi);
			guest_push(g, qi);
			guest_send(g, g->q[qi].port);         /* always: a guest that kicks constantly */
		}
		sched_yield();
	}
	__atomic_store_n(&g->seen, GUEST_EXIT, __ATOMIC_RELEASE);
	return NULL;
}

/* Sets the guest's mode and, for a pause, waits until it is paused (its last round done). */
static bool guest_set(struct guest *g, enum guest_mode mode)
{
	__atomic_store_n(&g->mode, mode, __ATOMIC_RELEASE);
	if (mode != GUEST_PAUSE)
		return true;
	long long end = now_ms() + 5000;
	while (__atomic_load_n(&g->seen, __ATOMIC_ACQUIRE) != GUEST_PAUSE && now_ms() < end)
		usleep(50);
	return __atomic_load_n(&g->seen, __ATOMIC_ACQUIRE) == GUEST_PAUSE;
}

static void guest_start(struct guest *g)
{
	g->mode = g->seen = GUEST_PAUSE;
	if (pthread_create(&g->thread, NULL, guest_main, g))
		abort();
}

static void guest_stop(struct guest *g)
{
	__atomic_store_n(&g->mode, GUEST_EXIT, __ATOMIC_RELEASE);
	pthread_join(g->thread, NULL);
}

/* The guest's memory for the queues: ring and data pages granted to Dom0, a port each. */
static void guest_grants(struct guest *g)
{
	for (unsigned int qi = 0; qi < g->n; qi++) {
		struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = 0 };
		*entry(g->d, RING_REF + qi) = (grant_entry_v1_t){ .flags = GTF_permit_access, .domid = 0,
								   .frame = (uint32_t)(RING_GFN + qi) };
		*entry(g->d, DATA_REF + qi) = (grant_entry_v1_t){ .flags = GTF_permit_access, .domid = 0,
								   .frame = (uint32_t)(DATA_GFN + qi) };
		if (fake_op(g->d, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, &a, sizeof(a)))
			abort();
		g->q[qi].port = a.port;
		fe_ring_init(g, qi);
	}
}

/* Lets the guest run `ms`, then snapshots each ring's rsp_prod. */
static void rsp_prods(struct guest *g, RING_IDX *out)
{
	for (unsigned int qi = 0; qi < g->n; qi++)
		out[qi] = __atomic_load_n(&g->q[qi].front.sring->rsp_prod, __ATOMIC_ACQUIRE);
}

/* After a disconnect returned, with the guest still kicking: no ring moves any more. */
static void check_rings_still(struct unit *u, struct guest *g, unsigned int cycle)
{
	RING_IDX before[QUEUES], after[QUEUES];

	rsp_prods(g, before);
	usleep(2000);
	rsp_prods(g, after);
	for (unsigned int qi = 0; qi < g->n; qi++)
		CHECK(before[qi] == after[qi], "cycle %u queue %u: rsp_prod moved from %u to %u after the disconnect "
		      "returned (a thread, worker or completion still writes the ring)", cycle, qi, before[qi], after[qi]);
}

/* ---- ring level: blkback_ring on a fake domain, the lifecycle as blkback.c runs it ---- */

struct ring_rig {
	struct domain *d;
	struct guest g;
	struct blkback_ring rings[QUEUES];
	char path[64];
	int fd;
	int stats_mode;                      /* atomic: 1 while the stats thread may read the rings */
	int stats_seen;
	uint64_t stats_reads;
	pthread_t stats_thread;
	bool stats_stop;
};

static void ring_kicked(void *opaque)
{
	blkback_ring_kick(opaque);
}

/* Another thread reads the rings' counters in a loop while they serve (as a stats line does). */
static void *stats_main(void *arg)
{
	struct ring_rig *rr = arg;

	while (!__atomic_load_n(&rr->stats_stop, __ATOMIC_ACQUIRE)) {
		if (!__atomic_load_n(&rr->stats_mode, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&rr->stats_seen, 0, __ATOMIC_RELEASE);
			usleep(50);
			continue;
		}
		__atomic_store_n(&rr->stats_seen, 1, __ATOMIC_RELEASE);
		for (unsigned int qi = 0; qi < QUEUES; qi++) {
			struct blkback_stats s = blkback_ring_stats(&rr->rings[qi]);
			struct ring_poller_stats p = blkback_ring_poller_stats(&rr->rings[qi]);
			if (s.reads + s.writes > p.rounds * 64 + 64 * 64)   /* only read, loosely sane */
				fprintf(stderr, "# queue %u: %llu requests in %llu rounds\n", qi,
					(unsigned long long)(s.reads + s.writes), (unsigned long long)p.rounds);
			rr->stats_reads++;
		}
	}
	return NULL;
}

static void stats_set(struct ring_rig *rr, int on)
{
	__atomic_store_n(&rr->stats_mode, on, __ATOMIC_RELEASE);
	if (on)
		return;
	while (__atomic_load_n(&rr->stats_seen, __ATOMIC_ACQUIRE))
		usleep(20);
}

static void test_ring_cycles(struct unit *u, const void *arg)
{
	const enum blkback_engine engine = *(const enum blkback_engine *)arg;
	struct ring_rig *rr = calloc(1, sizeof(*rr));
	struct xen_add_to_physmap x = { .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table, .idx = 0, .gpfn = TABLE_GFN };
	char err[256];
	uint64_t answered = 0, counted = 0;
	long long end = now_ms() + CYCLE_BUDGET_MS;
	unsigned int cycle;

	rr->d = fake_domain_new(2);
	if (fake_op(rr->d, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, &x, sizeof(x)))
		abort();
	snprintf(rr->path, sizeof(rr->path), "/tmp/blk-stress-XXXXXX");
	rr->fd = mkstemp(rr->path);
	if (rr->fd < 0 || ftruncate(rr->fd, DISK_SECTORS * 512))
		abort();
	rr->g = (struct guest){ .d = rr->d, .n = QUEUES };
	guest_grants(&rr->g);
	guest_start(&rr->g);
	if (pthread_create(&rr->stats_thread, NULL, stats_main, rr))
		abort();
	struct blkback_target t = { .fd = rr->fd, .sectors = DISK_SECTORS };
	for (cycle = 0; cycle < CYCLES && now_ms() < end && !u->case_failures; cycle++) {
		/* Connect as blkback.c does: ring and thread first, then the port. */
		for (unsigned int qi = 0; qi < QUEUES; qi++) {
			fe_ring_init(&rr->g, qi);
			void *s = fake_gpa(rr->d, (RING_GFN + qi) << 12);
			int r = blkback_ring_init(&rr->rings[qi], rr->d, qi ? "stress q1" : "stress q0", s, 1, rr->g.q[qi].port,
						  &t, -1, engine);
			CHECK(!r, "cycle %u queue %u: blkback_ring_init: %s", cycle, qi, strerror(-r));
			if (r)
				goto out;
			if (blkback_ring_start(&rr->rings[qi], RING_POLLER_DEFAULT_POLL_US, -1, err, sizeof(err))) {
				CHECK(0, "cycle %u: %s", cycle, err);
				goto out;
			}
			CHECK(evtchn_dom0_bind(rr->d, rr->g.q[qi].port, ring_kicked, &rr->rings[qi]) >= 0,
			      "cycle %u queue %u: bind", cycle, qi);
		}
		stats_set(rr, 1);
		guest_set(&rr->g, GUEST_RUN);
		/* Traffic a while (longer every few cycles), then disconnect with requests in flight. */
		usleep(cycle % 10 == 0 ? 3000 : 300);
		stats_set(rr, 0);
		for (unsigned int qi = 0; qi < QUEUES; qi++) {
			evtchn_dom0_unbind(rr->d, rr->g.q[qi].port, ring_kicked, &rr->rings[qi]);
			blkback_ring_destroy(&rr->rings[qi]);
			const blkif_back_ring_t *b = &rr->rings[qi].ring;
			CHECK(b->rsp_prod_pvt == b->req_cons, "cycle %u queue %u: %u requests taken, %u answered when "
			      "destroy returned", cycle, qi, b->req_cons, b->rsp_prod_pvt);
			CHECK(b->sring->rsp_prod == b->rsp_prod_pvt, "cycle %u queue %u: %u answered but rsp_prod %u",
			      cycle, qi, b->rsp_prod_pvt, b->sring->rsp_prod);
			struct blkback_stats s = blkback_ring_stats(&rr->rings[qi]);
			counted += s.reads + s.writes + s.errors;
		}
		check_rings_still(u, &rr->g, cycle);
		CHECK(guest_set(&rr->g, GUEST_PAUSE), "cycle %u: the guest thread does not pause", cycle);
		CHECK(!rr->g.failed, "cycle %u: %s", cycle, rr->g.why);
	}
	for (unsigned int qi = 0; qi < QUEUES; qi++)
		answered += rr->g.q[qi].total_responses;
	CHECK(cycle == CYCLES, "only %u of %u cycles within %d ms", cycle, CYCLES, CYCLE_BUDGET_MS);
	CHECK(answered == counted, "the guest reaped %llu responses, the rings counted %llu",
	      (unsigned long long)answered, (unsigned long long)counted);
	CHECK(answered > CYCLES, "only %llu responses in %u cycles", (unsigned long long)answered, cycle);
	CHECK(rr->stats_reads > 0, "the stats thread never read");
	printf("# %s: %u cycles, %llu responses, %llu events sent, %llu stats reads\n", u->case_name, cycle,
	       (unsigned long long)answered, (unsigned long long)rr->g.sends, (unsigned long long)rr->stats_reads);
out:
	__atomic_store_n(&rr->stats_stop, true, __ATOMIC_RELEASE);
	pthread_join(rr->stats_thread, NULL);
	for (unsigned int qi = 0; qi < QUEUES; qi++) {
		evtchn_dom0_unbind(rr->d, rr->g.q[qi].port, ring_kicked, &rr->rings[qi]);
		blkback_ring_destroy(&rr->rings[qi]);
	}
	guest_stop(&rr->g);
	close(rr->fd);
	unlink(rr->path);
	fake_domain_free(rr->d);
	free(rr);
}

/* ---- device level: blkback.c against a real xenstored, the test as blkfront ---- */

struct fixture {
	char dir[64], xenstored[PATH_MAX], disk[96];
	struct domain *d;
	struct event_loop loop;
	struct domain_params params;
	struct console con;
	void *link;
	struct xs_client *xs;
	pid_t xenstored_pid;
	char be[96], fe[96];
	bool detached;
	char detach_msg[256];
	int detach_rc;
};

static char *store_read(struct fixture *f, const char *dir, const char *key)
{
	char path[160], *value = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (xs_read(f->xs, 0, path, &value, &len))
		return NULL;
	return value;
}

static void fe_write(struct fixture *f, const char *key, unsigned long v)
{
	char path[160], value[32];

	snprintf(path, sizeof(path), "%s/%s", f->fe, key);
	snprintf(value, sizeof(value), "%lu", v);
	if (xs_write_str(f->xs, 0, path, value))
		abort();
}

static int be_state(struct fixture *f)
{
	char *s = store_read(f, f->be, "state");
	int v = s ? atoi(s) : -1;

	free(s);
	return v;
}

/* Runs the main loop until the backend's state is `want`; false after `ms`. */
static bool await_state(struct fixture *f, int want, int ms)
{
	long long end = now_ms() + ms;

	while (now_ms() < end) {
		if (be_state(f) == want)
			return true;
		event_loop_run_once(&f->loop, 5);
	}
	return false;
}

/* The xenstored serving our run directory, found by its command line (we stop only that one). */
static pid_t find_xenstored_pid(const char *dir)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "pgrep -f -n 'xenstored --rundir %s( |$)'", dir);
	FILE *p = popen(cmd, "r");
	long pid = 0;

	if (p) {
		if (fscanf(p, "%ld", &pid) != 1)
			pid = 0;
		pclose(p);
	}
	return (pid_t)pid;
}

static bool setup(struct unit *u, struct fixture *f)
{
	char err[256], reply[512], spec[200];
	struct xen_add_to_physmap x = { .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table, .idx = 0, .gpfn = TABLE_GFN };

	memset(f, 0, sizeof(*f));
	if (!find_xenstored(f->xenstored, sizeof(f->xenstored))) {
		printf("skip - %s: no xenstored binary beside the tests\n", u->case_name);
		return false;
	}
	snprintf(f->dir, sizeof(f->dir), "/tmp/blk-stress.XXXXXX");
	if (!mkdtemp(f->dir))
		abort();
	setenv("XENITH_RUNDIR", f->dir, 1);
	setenv("XENITH_XENSTORED", f->xenstored, 1);
	f->d = fake_domain_new(2);
	fake_domain_use_memfd(f->d, "blk-stress-guest");
	if (event_loop_init(&f->loop))
		abort();
	f->d->loop = &f->loop;
	f->params = (struct domain_params){ .name = "blkstress", .memory_mb = 8, .vcpus = 2,
					    .backend_poll_us = RING_POLLER_DEFAULT_POLL_US };
	f->d->params = &f->params;
	snprintf(f->con.tty_path, sizeof(f->con.tty_path), "/dev/pts/99");
	f->d->console = &f->con;
	if (xenstore_link_device.init(f->d, &f->link, err, sizeof(err)) ||
	    xenstore_link_connect(f->d, err, sizeof(err))) {
		CHECK(0, "xenstore link: %s", err);
		return false;
	}
	f->xenstored_pid = find_xenstored_pid(f->dir);
	f->xs = xs_open(f->dir, err, sizeof(err));
	if (!f->xs) {
		CHECK(0, "xenstore client: %s", err);
		return false;
	}
	if (fake_op(f->d, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, &x, sizeof(x)))
		abort();
	snprintf(f->disk, sizeof(f->disk), "%s/disk.img", f->dir);
	int fd = open(f->disk, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, DISK_SECTORS * 512) || close(fd))
		abort();
	snprintf(spec, sizeof(spec), "vdev=xvda,devid=%d,access=rw,devtype=disk,target=%s", DEVID, f->disk);
	CHECK(!pv_backend_request(f->d, "vbd-attach", spec, reply, sizeof(reply), NULL, NULL), "attach deferred");
	CHECK(!strncmp(reply, "ok", 2), "vbd-attach: %s", reply);
	snprintf(f->be, sizeof(f->be), "/local/domain/0/backend/vbd/%d/%d", FAKE_DOMID, DEVID);
	snprintf(f->fe, sizeof(f->fe), "/local/domain/%d/device/vbd/%d", FAKE_DOMID, DEVID);
	return !strncmp(reply, "ok", 2);
}

static void teardown(struct fixture *f)
{
	char cmd[128];

	if (!f->d)
		return;
	pv_backends_teardown_all(f->d);
	if (f->xs)
		xs_close(f->xs);
	if (f->link)
		xenstore_link_device.teardown(f->d, f->link);
	if (f->xenstored_pid > 0)
		kill(f->xenstored_pid, SIGTERM);
	event_loop_destroy(&f->loop);
	fake_domain_drop_memfd(f->d);
	fake_domain_free(f->d);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", f->dir);
}

/* `key=<number>` in a stats line; -1 when absent. */
static long long stat_of(const char *line, const char *key)
{
	char pat[48];

	snprintf(pat, sizeof(pat), " %s=", key);
	const char *p = strstr(line, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* The disk's stats line (its second line: "ok\n<line>"). */
static bool vbd_stats(struct fixture *f, char *line, size_t len)
{
	char reply[1024];

	if (pv_backend_request(f->d, "vbd-list", "stats", reply, sizeof(reply), NULL, NULL))
		return false;
	const char *nl = strchr(reply, '\n');
	snprintf(line, len, "%s", nl ? nl + 1 : reply);
	return !strncmp(reply, "ok", 2);
}

static void publish_keys(struct fixture *f, struct guest *g)
{
	char key[48], path[200];

	for (unsigned int qi = 0; qi < g->n; qi++) {
		pv_queue_key(key, sizeof(key), g->n, qi, "ring-ref");
		fe_write(f, key, RING_REF + qi);
		pv_queue_key(key, sizeof(key), g->n, qi, "event-channel");
		fe_write(f, key, g->q[qi].port);
	}
	fe_write(f, "multi-queue-num-queues", g->n);
	snprintf(path, sizeof(path), "%s/protocol", f->fe);
	if (xs_write_str(f->xs, 0, path, "x86_64-abi"))
		abort();
}

/* The guest's responses so far, every queue. */
static uint64_t guest_answered(const struct guest *g)
{
	uint64_t n = 0;

	for (unsigned int qi = 0; qi < g->n; qi++)
		n += g->q[qi].total_responses;
	return n;
}

static void detach_done(void *ctx, int rc, const char *msg)
{
	struct fixture *f = ctx;

	f->detached = true;
	f->detach_rc = rc;
	snprintf(f->detach_msg, sizeof(f->detach_msg), "%s", msg ? msg : "");
}

/* CYCLES times: Initialising → Initialised (connect) with the guest pushing and kicking, a stats
 * line, then Closed with the guest still at it; finally a detach while requests are in flight. */
static void test_vbd_cycles(struct unit *u, const void *arg)
{
	struct fixture f;
	struct guest g = { 0 };
	char line[1024];
	long long end = now_ms() + CYCLE_BUDGET_MS;
	long long last_total = 0;
	unsigned int cycle = 0;
	(void)arg;

	if (!setup(u, &f))
		goto out;
	g = (struct guest){ .d = f.d, .n = QUEUES };
	guest_grants(&g);
	publish_keys(&f, &g);
	guest_start(&g);
	for (cycle = 0; cycle < CYCLES && now_ms() < end && !u->case_failures; cycle++) {
		/* Reconnect quickly: Closed → Initialising → Initialised, the rings made afresh. */
		for (unsigned int qi = 0; qi < g.n; qi++)
			fe_ring_init(&g, qi);
		if (cycle) {
			fe_write(&f, "state", 1);
			CHECK(await_state(&f, 2, 5000), "cycle %u: the backend never went back to InitWait (%d)", cycle,
			      be_state(&f));
		}
		fe_write(&f, "state", 3);
		if (!await_state(&f, 4, 5000)) {
			char *e = store_read(&f, f.be, "error");
			CHECK(0, "cycle %u: the backend never connected (state %d, error %s)", cycle, be_state(&f),
			      e ? e : "(none)");
			free(e);
			break;
		}
		guest_set(&g, GUEST_RUN);
		/* A stats line while the queues' threads serve, and the loop turning meanwhile. */
		for (int i = 0; i < (cycle % 10 == 0 ? 6 : 1); i++) {
			event_loop_run_once(&f.loop, 0);
			CHECK(vbd_stats(&f, line, sizeof(line)), "cycle %u: vbd-list stats: %s", cycle, line);
			CHECK(strstr(line, " queues=2 "), "cycle %u: connected, yet: %s", cycle, line);
			usleep(200);
		}
		/* The frontend goes away while its guest keeps kicking. */
		fe_write(&f, "state", 6);
		CHECK(await_state(&f, 6, 5000), "cycle %u: the backend never closed (%d)", cycle, be_state(&f));
		check_rings_still(u, &g, cycle);
		CHECK(guest_set(&g, GUEST_PAUSE), "cycle %u: the guest thread does not pause", cycle);
		CHECK(!g.failed, "cycle %u: %s", cycle, g.why);
		/* Counters across threads and connections: exactly the responses the guest reaped. */
		CHECK(vbd_stats(&f, line, sizeof(line)), "cycle %u: vbd-list stats: %s", cycle, line);
		long long total = stat_of(line, "reads") + stat_of(line, "writes") + stat_of(line, "errors");
		CHECK(total == (long long)guest_answered(&g), "cycle %u: stats count %lld requests, the guest reaped "
		      "%llu: %s", cycle, total, (unsigned long long)guest_answered(&g), line);
		CHECK(total >= last_total, "cycle %u: the counters went back from %lld to %lld", cycle, last_total, total);
		CHECK(strstr(line, " queues=0 ") && !strstr(line, "broken"), "cycle %u: disconnected, yet: %s", cycle, line);
		last_total = total;
	}
	CHECK(cycle == CYCLES, "only %u of %u cycles within %d ms", cycle, CYCLES, CYCLE_BUDGET_MS);
	CHECK(guest_answered(&g) > CYCLES, "only %llu responses in %u cycles", (unsigned long long)guest_answered(&g),
	      cycle);
	printf("# %s: %u cycles, %llu responses, %llu events sent\n", u->case_name, cycle,
	       (unsigned long long)guest_answered(&g), (unsigned long long)g.sends);
	if (u->case_failures)
		goto stop;
	/* Last: connected and busy, then detached; the frontend closes only when asked to. */
	for (unsigned int qi = 0; qi < g.n; qi++)
		fe_ring_init(&g, qi);
	fe_write(&f, "state", 1);
	CHECK(await_state(&f, 2, 5000), "before detach: no InitWait (%d)", be_state(&f));
	fe_write(&f, "state", 3);
	CHECK(await_state(&f, 4, 5000), "before detach: not connected (%d)", be_state(&f));
	guest_set(&g, GUEST_RUN);
	usleep(2000);
	char reply[512], devid[16];
	snprintf(devid, sizeof(devid), "%d", DEVID);
	if (!pv_backend_request(f.d, "vbd-detach", devid, reply, sizeof(reply), detach_done, &f))
		detach_done(&f, strncmp(reply, "ok", 2) ? -1 : 0, reply);
	long long detach_end = now_ms() + 5000;
	while (!f.detached && now_ms() < detach_end) {
		if (be_state(&f) == 5)
			fe_write(&f, "state", 6);        /* told to close, the frontend does */
		event_loop_run_once(&f.loop, 5);
	}
	CHECK(f.detached && f.detach_rc == 0, "vbd-detach: %s (%d)", f.detached ? f.detach_msg : "no answer",
	      f.detach_rc);
	check_rings_still(u, &g, cycle);
	CHECK(guest_set(&g, GUEST_PAUSE), "after detach: the guest thread does not pause");
	CHECK(!g.failed, "after detach: %s", g.why);
stop:
	guest_stop(&g);
out:
	teardown(&f);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	static const enum blkback_engine threads = BLKBACK_ENGINE_THREADS, uring = BLKBACK_ENGINE_URING;
	char why[128];

	signal(SIGPIPE, SIG_IGN);
	unit_case(&u, "blk-ring-200-cycles-two-queues-threads", test_ring_cycles, &threads);
	if (blkback_uring_probe(why, sizeof(why)))
		printf("skip - blk-ring-200-cycles-two-queues-io_uring: the kernel refuses io_uring (%s)\n", why);
	else
		unit_case(&u, "blk-ring-200-cycles-two-queues-io_uring", test_ring_cycles, &uring);
	if (pv_queues_offer(BLKBACK_MAX_QUEUES) < QUEUES)
		printf("skip - vbd-200-reconnects-two-queues-then-detach-busy: one online CPU, one queue offered\n");
	else
		unit_case(&u, "vbd-200-reconnects-two-queues-then-detach-busy", test_vbd_cycles, NULL);
	return unit_finish(&u);
}
