/* blkback the device (backends/blkback.c) against a real xenstored, with the test as blkfront: the
 * multi-queue handshake end to end.  A fake domain whose RAM is a memfd, linked to the xenstored
 * this build made (started by the link, as in a VMM); the disk is a temporary file attached with
 * vbd-attach.  Covered: multi-queue-max-queues offered as pv_queues_offer says; a frontend with
 * no multi-queue-num-queues (one ring, keys at the top) and one asking for every offered queue (keys
 * under queue-N/) both connect, every queue serves its own requests, kicked through its own event
 * channel with the main loop not run meanwhile, and `vbd-list stats` says queues= and engine=; a
 * frontend asking 0 or more than offered is refused with the reason in the backend's `error` node. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include "pv_xs_fixture.h"
#include "backends/blkback.h"
#include "backends/pv_queues.h"

#define TABLE_GFN 0x300ull
#define RING_GFN 0x310ull          /* queue q's ring page */
#define DATA_GFN 0x400ull          /* queue q's data page */
#define RING_REF 1                 /* + q */
#define DATA_REF 20                /* + q */
#define DEVID 51712
#define DISK_SECTORS 2048

struct fixture {
	struct pv_xs_fixture x;
	char disk[96];
	char be[96], fe[96];
};

static char *store_read(struct fixture *f, const char *dir, const char *key)
{
	return pv_xs_read(&f->x, dir, key);
}

static void fe_write(struct fixture *f, const char *key, const char *fmt, unsigned long v)
{
	pv_xs_write(&f->x, f->fe, key, fmt, v);
}

/* Runs the main loop until the backend's state is `state` or it wrote `error`. */
static bool until_state_or_error(struct fixture *f, const char *state, int ms)
{
	long long end = pv_xs_now_ms() + ms;

	while (pv_xs_now_ms() < end) {
		char *s = store_read(f, f->be, "state"), *e = store_read(f, f->be, "error");
		bool done = (s && !strcmp(s, state)) || e;
		free(s);
		free(e);
		if (done)
			return true;
		event_loop_run_once(&f->x.loop, 20);
	}
	return false;
}

/* The domain linked to xenstored, its grant table placed, and the disk attached as DEVID. */
static bool setup(struct unit *u, struct fixture *f)
{
	static const struct pv_xs_options blk_xenbus = { .tag = "blk-xenbus", .domain = "blkxenbus",
							 .poll_us = RING_POLLER_DEFAULT_POLL_US,
							 .grant_table_gfn = TABLE_GFN, .client = true };
	char reply[512], spec[200];

	memset(f, 0, sizeof(*f));
	if (!pv_xs_setup(u, &f->x, &blk_xenbus))
		return false;
	snprintf(f->disk, sizeof(f->disk), "%s/disk.img", f->x.dir);
	int fd = open(f->disk, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, DISK_SECTORS * 512) || close(fd))
		abort();
	snprintf(spec, sizeof(spec), "vdev=xvda,devid=%d,access=rw,devtype=disk,target=%s", DEVID, f->disk);
	CHECK(!pv_backend_request(f->x.d, "vbd-attach", spec, reply, sizeof(reply), NULL, NULL), "attach deferred");
	CHECK(!strncmp(reply, "ok", 2), "vbd-attach: %s", reply);
	pv_xs_be_dir(f->be, sizeof(f->be), "vbd", DEVID);
	pv_xs_fe_dir(f->fe, sizeof(f->fe), "vbd", DEVID);
	return !strncmp(reply, "ok", 2);
}

static void teardown(struct fixture *f)
{
	pv_xs_teardown(&f->x);
}

static grant_entry_v1_t *entry(struct domain *d, grant_ref_t ref)
{
	return fake_grant_entry(d, TABLE_GFN, ref);
}

/* The frontend's side of queue q: ring and data page granted, an unbound port for Dom0. */
static evtchn_port_t frontend_queue(struct fixture *f, unsigned int q, blkif_front_ring_t *front)
{
	*entry(f->x.d, RING_REF + q) = (grant_entry_v1_t){ .flags = GTF_permit_access, .domid = 0,
							 .frame = (uint32_t)(RING_GFN + q) };
	*entry(f->x.d, DATA_REF + q) = (grant_entry_v1_t){ .flags = GTF_permit_access, .domid = 0,
							 .frame = (uint32_t)(DATA_GFN + q) };
	blkif_sring_t *s = fake_gpa(f->x.d, (RING_GFN + q) << 12);
	SHARED_RING_INIT(s);
	FRONT_RING_INIT(front, s, 4096);
	return fake_unbound_port(f->x.d);
}

/* `asked`: 0 for no multi-queue-num-queues key at all. */
static void publish(struct fixture *f, unsigned int asked, unsigned int queues, blkif_front_ring_t *fronts,
		    evtchn_port_t *ports)
{
	char key[48];

	for (unsigned int q = 0; q < queues; q++) {
		ports[q] = frontend_queue(f, q, &fronts[q]);
		pv_queue_key(key, sizeof(key), queues, q, "ring-ref");
		fe_write(f, key, "%lu", RING_REF + q);
		pv_queue_key(key, sizeof(key), queues, q, "event-channel");
		fe_write(f, key, "%lu", ports[q]);
	}
	if (asked)
		fe_write(f, "multi-queue-num-queues", "%lu", asked);
	fe_write(f, "protocol", "x86_64-abi%.0lu", 0);
	fe_write(f, "state", "%lu", 3);
}

static void test_connect(struct unit *u, const void *arg)
{
	const bool multi = arg != NULL;
	struct fixture f;
	blkif_front_ring_t fronts[BLKBACK_MAX_QUEUES];
	evtchn_port_t ports[BLKBACK_MAX_QUEUES];
	char reply[1024];

	if (!setup(u, &f))
		goto out;
	char *offer = store_read(&f, f.be, "multi-queue-max-queues");
	CHECK(offer && (unsigned int)atoi(offer) == pv_queues_offer(BLKBACK_MAX_QUEUES), "multi-queue-max-queues %s",
	      offer ? offer : "(none)");
	free(offer);
	unsigned int n = multi ? pv_queues_offer(BLKBACK_MAX_QUEUES) : 1;
	publish(&f, multi ? n : 0, n, fronts, ports);
	CHECK(until_state_or_error(&f, "4", 5000), "the backend never connected");
	char *e = store_read(&f, f.be, "error");
	CHECK(!e, "error node: %s", e);
	free(e);
	/* Each queue: a write of its data page at its own sector, kicked through its own port; the
	 * main loop is not run until every answer is in. */
	for (unsigned int q = 0; q < n; q++) {
		memset(fake_gpa(f.x.d, (DATA_GFN + q) << 12), 'a' + (int)q, 4096);
		blkif_request_t *r = RING_GET_REQUEST(&fronts[q], fronts[q].req_prod_pvt++);
		memset(r, 0, sizeof(*r));
		r->operation = BLKIF_OP_WRITE;
		r->nr_segments = 1;
		r->id = 100 + q;
		r->sector_number = q * 8;
		r->seg[0] = (struct blkif_request_segment){ .gref = DATA_REF + q, .first_sect = 0, .last_sect = 7 };
		int notify;
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&fronts[q], notify);
		CHECK(notify, "queue %u: the first push is not told to notify", q);
		CHECK(!fake_kick(f.x.d, ports[q]), "queue %u: send", q);
	}
	for (unsigned int q = 0; q < n; q++) {
		for (int spins = 0; spins < 20000 && fronts[q].sring->rsp_prod == fronts[q].rsp_cons; spins++)
			usleep(250);
		CHECK(fronts[q].sring->rsp_prod == fronts[q].rsp_cons + 1, "queue %u: no response", q);
		blkif_response_t rsp = *RING_GET_RESPONSE(&fronts[q], fronts[q].rsp_cons);
		CHECK(rsp.id == 100 + q && rsp.status == BLKIF_RSP_OKAY, "queue %u: id %llu status %d", q,
		      (unsigned long long)rsp.id, rsp.status);
	}
	int fd = open(f.disk, O_RDONLY | O_CLOEXEC);
	for (unsigned int q = 0; q < n; q++) {
		uint8_t got[4096], want[4096];
		memset(want, 'a' + (int)q, sizeof(want));
		CHECK_INT(pread(fd, got, sizeof(got), (off_t)q * 4096), 4096);
		CHECK(!memcmp(got, want, sizeof(got)), "queue %u's write is not in the file", q);
	}
	close(fd);
	CHECK(!pv_backend_request(f.x.d, "vbd-list", "stats", reply, sizeof(reply), NULL, NULL), "list deferred");
	char want[64];
	snprintf(want, sizeof(want), "writes=%u ", n);
	CHECK(strstr(reply, want), "stats: %s", reply);
	snprintf(want, sizeof(want), " queues=%u engine=", n);
	CHECK(strstr(reply, want) && (strstr(reply, "engine=io_uring") || strstr(reply, "engine=threads")),
	      "stats: %s", reply);
	CHECK(strstr(reply, " sleeps=") && !strstr(reply, "broken"), "stats: %s", reply);
out:
	teardown(&f);
}

struct refusal { unsigned long asked; const char *reason; };

static void test_refused(struct unit *u, const void *arg)
{
	const struct refusal *r = arg;
	struct fixture f;
	blkif_front_ring_t fronts[BLKBACK_MAX_QUEUES + 1];
	evtchn_port_t ports[BLKBACK_MAX_QUEUES + 1];

	if (!setup(u, &f))
		goto out;
	unsigned long asked = r->asked ? r->asked : 0;
	/* Keys for what it asks (at least one queue's), then the count. */
	unsigned int queues = asked ? (unsigned int)asked : 1;
	if (queues > BLKBACK_MAX_QUEUES + 1)
		queues = BLKBACK_MAX_QUEUES + 1;
	for (unsigned int q = 0; q < queues; q++) {
		char key[48];
		ports[q] = frontend_queue(&f, q, &fronts[q]);
		pv_queue_key(key, sizeof(key), queues, q, "ring-ref");
		fe_write(&f, key, "%lu", RING_REF + q);
		pv_queue_key(key, sizeof(key), queues, q, "event-channel");
		fe_write(&f, key, "%lu", ports[q]);
	}
	fe_write(&f, "multi-queue-num-queues", "%lu", asked);
	fe_write(&f, "state", "%lu", 3);
	CHECK(until_state_or_error(&f, "4", 5000), "neither connected nor refused");
	char *e = store_read(&f, f.be, "error"), *s = store_read(&f, f.be, "state");
	CHECK(e && strstr(e, r->reason), "error node '%s' lacks '%s'", e ? e : "(none)", r->reason);
	CHECK(!s || strcmp(s, "4"), "connected anyway");
	free(e);
	free(s);
out:
	teardown(&f);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	static const int yes = 1;
	static const struct refusal zero = { 0, "multi-queue-num-queues asks for 0 queues" };
	static struct refusal too_many = { 0, "more than multi-queue-max-queues" };

	too_many.asked = pv_queues_offer(BLKBACK_MAX_QUEUES) + 1;
	unit_case(&u, "no-multi-queue-key-one-ring-at-the-top", test_connect, NULL);
	if (pv_queues_offer(BLKBACK_MAX_QUEUES) < 2)
		printf("skip - every-offered-queue-connects-and-serves: one online CPU, one queue offered\n");
	else
		unit_case(&u, "every-offered-queue-connects-and-serves", test_connect, &yes);
	unit_case(&u, "zero-queues-refused-in-error-node", test_refused, &zero);
	unit_case(&u, "more-queues-than-offered-refused-in-error-node", test_refused, &too_many);
	return unit_finish(&u);
}
