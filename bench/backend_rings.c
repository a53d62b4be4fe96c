/* bench/backend_rings.c: the backends' own ceiling, with no guest to pay for (bench/rings.sh).
 *
 * netback's and blkback's real rings and ring_poller threads run on a fake domain
 * (tests/unit/fake_domain.h: guest RAM is a buffer, grants and event channels are the real code),
 * and the frontend is a thread of this process that never sleeps: it keeps the ring full, pushes
 * with RING_PUSH_REQUESTS_AND_CHECK_NOTIFY, sends an event (the real EVTCHNOP_send hypercall) only
 * when that says so, and reaps responses by polling without ever re-arming rsp_event, as a
 * DPDK-style guest does (issue 14, item 4).  What is left is what the backends cost.
 *
 *   backend_rings net-tx SIZE SECONDS POLL_US    frames of SIZE bytes, guest -> a socketpair
 *   backend_rings net-rx SIZE SECONDS POLL_US    a socketpair -> the guest's posted buffers
 *   backend_rings blk MODE DEPTH SECONDS ENGINE POLL_US [FILE]
 *                                                4 KiB randread|randwrite, DEPTH in flight, on FILE
 *                                                (else a 64 MiB file in $TMPDIR, removed after)
 *
 * One line on stdout, key=value: units/s (pps or iops), events per unit (the frontend's kicks plus
 * the backend's notifies, over the units), the whole process's CPU per unit (getrusage: the spinning
 * frontend included) and the serving thread's own (its thread CPU clock).  Exit 0; 1 on a broken
 * ring or a refused setup (the line then says skip=why), 2 on bad arguments. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "backends/blkback.h"
#include "backends/netback.h"
#include "backends/ring_poller.h"
#include "../tests/unit/blkif_front_rig.h"
#include "../tests/unit/netif_front_rig.h"

/* The guest's layouts: blkif_front_rig.h's for the disk, netif_front_rig.h's for the vif (grant
 * table, ring pages, data pages from ref BLKIF_RIG_DATA_REF / NETIF_RIG_DATA_REF on). */
#define NET_DATA_PAGES 256          /* one per ring slot: a one-page ring has 256 entries */
#define NET_TX_BUDGET 256           /* netback.c's budgets per round */
#define NET_RX_BUDGET 64
#define BLK_DISK_BYTES (64ull << 20)
#define BLK_MAX_DEPTH 64            /* BLKBACK_MAX_INFLIGHT */
#define WARMUP_NS 100000000ll

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ll + t.tv_nsec;
}

static double process_cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static double thread_cpu_us(pthread_t t)
{
	clockid_t c;
	struct timespec ts;

	if (pthread_getcpuclockid(t, &c) || clock_gettime(c, &ts))
		return 0;
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static uint64_t load(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

static void bump(uint64_t *v, uint64_t n)
{
	__atomic_store_n(v, load(v) + n, __ATOMIC_RELAXED);   /* one writer */
}

static bool stopping(const bool *stop)
{
	return __atomic_load_n(stop, __ATOMIC_ACQUIRE);
}

static void relax(void)
{
	__builtin_ia32_pause();
}

/* What the frontend and the backend have counted so far. */
struct sample {
	long long ns;
	uint64_t units, errors, kicks, notifies;
	double cpu_us, serve_cpu_us;
	struct ring_poller_stats poller;
};

/* The one output line: the difference of two samples. */
static void report(const char *head, const char *unit, const struct sample *a, const struct sample *b)
{
	double secs = (b->ns - a->ns) / 1e9;
	double n = (double)(b->units - a->units);
	double ev = (double)(b->kicks - a->kicks + b->notifies - a->notifies);

	printf("%s secs=%.2f %s=%.0f %s_per_s=%.0f errors=%llu kicks=%llu notifies=%llu ev_per_%s=%.4f "
	       "cpu_us_per_%s=%.3f serve_cpu_us_per_%s=%.3f sleeps=%llu wakeups=%llu\n",
	       head, secs, unit, n, unit, secs > 0 ? n / secs : 0, (unsigned long long)(b->errors - a->errors),
	       (unsigned long long)(b->kicks - a->kicks), (unsigned long long)(b->notifies - a->notifies), unit,
	       n > 0 ? ev / n : 0, unit, n > 0 ? (b->cpu_us - a->cpu_us) / n : 0, unit,
	       n > 0 ? (b->serve_cpu_us - a->serve_cpu_us) / n : 0,
	       (unsigned long long)(b->poller.sleeps - a->poller.sleeps),
	       (unsigned long long)(b->poller.wakeups - a->poller.wakeups));
}

static void sleep_ns(long long ns)
{
	struct timespec t = { .tv_sec = ns / 1000000000ll, .tv_nsec = ns % 1000000000ll };

	while (nanosleep(&t, &t) && errno == EINTR)
		;
}

/* ---- netback: one queue, split event channels, a socketpair as the TAP ---- */

struct net_bench {
	struct netif_rig rig;        /* its tap is netback's end, its peer the host's */
	struct ring_poller poller;
	bool rx_no_slots;            /* the poller thread's */
	size_t size;
	bool stop;                   /* atomic */
	uint64_t done, errors, kicks;   /* the frontend thread's */
	uint64_t host_frames;        /* the host thread's */
};

static enum ring_poller_round net_serve(void *opaque)
{
	struct net_bench *b = opaque;
	const struct netback_stats *s = &b->rig.nb->st;
	uint64_t before = load(&s->tx_packets) + load(&s->tx_drops) + load(&s->rx_packets) + load(&s->rx_drops);
	enum netback_work tx = netback_ring_tx(b->rig.nb, NET_TX_BUDGET);
	enum netback_work rx = netback_ring_rx(b->rig.nb, NET_RX_BUDGET);

	if (tx == NETBACK_BROKEN || rx == NETBACK_BROKEN)
		return RING_POLLER_STOPPED;
	b->rx_no_slots = rx == NETBACK_NO_SLOTS;
	if (tx == NETBACK_MORE || rx == NETBACK_MORE ||
	    load(&s->tx_packets) + load(&s->tx_drops) + load(&s->rx_packets) + load(&s->rx_drops) != before)
		return RING_POLLER_WORKED;
	return RING_POLLER_IDLE;
}

static bool net_arm(void *opaque)
{
	struct net_bench *b = opaque;

	return netback_ring_arm(b->rig.nb);
}

/* As netback.c: the TAP wakes the thread only while the guest has rx slots. */
static unsigned int net_wait_fds(void *opaque, struct pollfd *fds)
{
	struct net_bench *b = opaque;

	if (b->rx_no_slots)
		return 0;
	fds[0] = (struct pollfd){ .fd = b->rig.tap, .events = POLLIN };
	return 1;
}

static const struct ring_poller_ops net_ops = { .serve = net_serve, .arm = net_arm, .wait_fds = net_wait_fds };

static void net_notified(void *opaque)
{
	struct net_bench *b = opaque;

	__atomic_fetch_add(&b->rig.nb->st.kicks, 1, __ATOMIC_RELAXED);
	ring_poller_kick(&b->poller);
}

/* A UDP/IPv4 frame of `size` bytes (UDP checksum 0: none). */
static void udp_frame(uint8_t *p, size_t size)
{
	static const uint8_t hdr[34] = {
		0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x16, 0x3e, 0x00, 0x02, 0x03, 0x08, 0x00,
		0x45, 0x00, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1,
	};
	size_t ip_len = size - 14, udp_len = size - 34;
	uint32_t sum = 0;

	memset(p, 0x5a, size);
	memcpy(p, hdr, sizeof(hdr));
	p[16] = (uint8_t)(ip_len >> 8);
	p[17] = (uint8_t)ip_len;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(p[14 + i] << 8 | p[15 + i]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	p[24] = (uint8_t)(~sum >> 8);
	p[25] = (uint8_t)~sum;
	uint8_t *udp = p + 34;
	udp[0] = 0x10, udp[1] = 0x00, udp[2] = 0x30, udp[3] = 0x39;
	udp[4] = (uint8_t)(udp_len >> 8), udp[5] = (uint8_t)udp_len, udp[6] = udp[7] = 0;
}

/* A response index the backend could not have written ends the run (the frontend trusts nothing). */
static bool rsp_prod_sane(RING_IDX prod, RING_IDX cons, unsigned int size, const char *ring)
{
	if (prod - cons <= size)
		return true;
	fprintf(stderr, "backend_rings: %s rsp_prod %u is more than a ring past %u\n", ring, prod, cons);
	return false;
}

/* The end of a frontend round: the event the push asked for, the counts; a pause when idle. */
static void net_round_end(struct net_bench *b, int notify, evtchn_port_t port, uint64_t ok, uint64_t bad)
{
	if (notify) {
		fake_kick(b->rig.d, port);
		bump(&b->kicks, 1);
	}
	if (ok)
		bump(&b->done, ok);
	if (bad)
		bump(&b->errors, bad);
	if (!ok && !bad)
		relax();
}

static void *net_tx_front(void *arg)
{
	struct net_bench *b = arg;
	unsigned int size = RING_SIZE(&b->rig.tx);

	while (!stopping(&b->stop)) {
		RING_IDX prod = __atomic_load_n(&b->rig.tx.sring->rsp_prod, __ATOMIC_ACQUIRE);
		uint64_t ok = 0, bad = 0;

		if (!rsp_prod_sane(prod, b->rig.tx.rsp_cons, size, "tx"))
			exit(1);
		for (; b->rig.tx.rsp_cons != prod; b->rig.tx.rsp_cons++) {
			const netif_tx_response_t *r = RING_GET_RESPONSE(&b->rig.tx, b->rig.tx.rsp_cons);
			if (r->status == NETIF_RSP_OKAY)
				ok++;
			else if (r->status != NETIF_RSP_NULL)
				bad++;
		}
		while (b->rig.tx.req_prod_pvt - b->rig.tx.rsp_cons < size) {
			uint16_t i = (uint16_t)(b->rig.tx.req_prod_pvt % size);
			*RING_GET_REQUEST(&b->rig.tx, b->rig.tx.req_prod_pvt++) = (netif_tx_request_t){
				.gref = NETIF_RIG_DATA_REF + i, .offset = 0, .flags = 0, .id = i, .size = (uint16_t)b->size };
		}
		int notify;
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&b->rig.tx, notify);
		net_round_end(b, notify, b->rig.tx_port, ok, bad);
	}
	return NULL;
}

static void *net_rx_front(void *arg)
{
	struct net_bench *b = arg;
	unsigned int size = RING_SIZE(&b->rig.rx);

	while (!stopping(&b->stop)) {
		RING_IDX prod = __atomic_load_n(&b->rig.rx.sring->rsp_prod, __ATOMIC_ACQUIRE);
		uint64_t ok = 0, bad = 0;

		if (!rsp_prod_sane(prod, b->rig.rx.rsp_cons, size, "rx"))
			exit(1);
		for (; b->rig.rx.rsp_cons != prod; b->rig.rx.rsp_cons++) {
			const netif_rx_response_t *r = RING_GET_RESPONSE(&b->rig.rx, b->rig.rx.rsp_cons);
			if (r->status == (int16_t)b->size && !(r->flags & (NETRXF_more_data | NETRXF_extra_info)))
				ok++;
			else
				bad++;
		}
		while (b->rig.rx.req_prod_pvt - b->rig.rx.rsp_cons < size) {
			uint16_t i = (uint16_t)(b->rig.rx.req_prod_pvt % size);
			*RING_GET_REQUEST(&b->rig.rx, b->rig.rx.req_prod_pvt++) = (netif_rx_request_t){
				.id = i, .gref = NETIF_RIG_DATA_REF + i };
		}
		int notify;
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&b->rig.rx, notify);
		net_round_end(b, notify, b->rig.rx_port, ok, bad);
	}
	return NULL;
}

/* The host's side of net-tx: reads every frame netback wrote. */
static void *net_host_drain(void *arg)
{
	struct net_bench *b = arg;
	uint8_t buf[NETBACK_MAX_FRAME + 1];

	while (!stopping(&b->stop)) {
		struct pollfd p = { .fd = b->rig.peer, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		uint64_t n = 0;
		while (recv(b->rig.peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			n++;
		bump(&b->host_frames, n);
	}
	return NULL;
}

/* The host's side of net-rx: writes frames as fast as the socket takes them. */
static void *net_host_send(void *arg)
{
	struct net_bench *b = arg;
	uint8_t frame[NETBACK_MAX_FRAME];

	udp_frame(frame, b->size);
	while (!stopping(&b->stop)) {
		struct pollfd p = { .fd = b->rig.peer, .events = POLLOUT };
		if (poll(&p, 1, 50) <= 0)
			continue;
		uint64_t n = 0;
		while (n < 256 && send(b->rig.peer, frame, b->size, MSG_DONTWAIT) == (ssize_t)b->size)
			n++;
		bump(&b->host_frames, n);
	}
	return NULL;
}

static struct sample net_sample(struct net_bench *b)
{
	return (struct sample){
		.ns = now_ns(), .units = load(&b->done), .errors = load(&b->errors), .kicks = load(&b->kicks),
		.notifies = load(&b->rig.nb->st.tx_notifies) + load(&b->rig.nb->st.rx_notifies), .cpu_us = process_cpu_us(),
		.serve_cpu_us = thread_cpu_us(b->poller.thread), .poller = ring_poller_stats_read(&b->poller),
	};
}

static int run_net(bool tx, size_t size, double secs, unsigned int poll_us)
{
	struct net_bench *b = calloc(1, sizeof(*b));
	char err[256];

	if (!b)
		abort();
	b->size = size;
	if (netif_rig_init(&b->rig, &(struct netif_rig_options){ .data_pages = NET_DATA_PAGES, .sockbuf = 4 << 20,
			   .name = "bench vif7.0", .ports = true }, err, sizeof(err))) {
		printf("mode=net-%s size=%zu poll_us=%u skip=%s\n", tx ? "tx" : "rx", size, poll_us, err);
		free(b);
		return 1;
	}
	for (unsigned int i = 0; i < NET_DATA_PAGES; i++)
		udp_frame(netif_rig_data(&b->rig, i), size);
	if (ring_poller_start(&b->poller, "bench vif7.0", &net_ops, b, poll_us, err, sizeof(err))) {
		printf("mode=net-%s size=%zu poll_us=%u skip=%s\n", tx ? "tx" : "rx", size, poll_us, err);
		return 1;
	}
	if (evtchn_dom0_bind(b->rig.d, b->rig.tx_port, net_notified, b) < 0 ||
	    evtchn_dom0_bind(b->rig.d, b->rig.rx_port, net_notified, b) < 0) {
		fprintf(stderr, "backend_rings: evtchn_dom0_bind refused the frontend's ports\n");
		abort();
	}
	pthread_t front, host;
	if (pthread_create(&host, NULL, tx ? net_host_drain : net_host_send, b) ||
	    pthread_create(&front, NULL, tx ? net_tx_front : net_rx_front, b))
		abort();
	sleep_ns(WARMUP_NS);
	struct sample s0 = net_sample(b);
	uint64_t host0 = load(&b->host_frames);
	sleep_ns((long long)(secs * 1e9));
	struct sample s1 = net_sample(b);
	uint64_t host1 = load(&b->host_frames);
	__atomic_store_n(&b->stop, true, __ATOMIC_RELEASE);
	pthread_join(front, NULL);
	pthread_join(host, NULL);
	evtchn_dom0_unbind(b->rig.d, b->rig.tx_port, net_notified, b);
	evtchn_dom0_unbind(b->rig.d, b->rig.rx_port, net_notified, b);
	ring_poller_stop(&b->poller);

	char head[160];
	snprintf(head, sizeof(head), "mode=net-%s size=%zu poll_us=%u host_frames=%llu drops=%llu", tx ? "tx" : "rx",
		 size, poll_us, (unsigned long long)(host1 - host0),
		 (unsigned long long)(load(&b->rig.nb->st.tx_drops) + load(&b->rig.nb->st.rx_drops)));
	report(head, "pkt", &s0, &s1);
	int rc = b->rig.nb->broken ? 1 : 0;
	if (rc)
		fprintf(stderr, "backend_rings: netback found the ring broken\n");
	netif_rig_fini(&b->rig);
	free(b);
	return rc;
}

/* ---- blkback: one ring on a file, DEPTH 4 KiB requests in flight ---- */

struct blk_bench {
	struct domain *d;
	blkif_front_ring_t front;
	struct blkback_ring *r;
	unsigned int depth;
	bool write;
	uint64_t blocks;             /* 4 KiB blocks of the file */
	bool stop;
	uint64_t done, errors, kicks;
};

static void blk_notified(void *opaque)
{
	blkback_ring_kick(opaque);
}

static void blk_put(struct blk_bench *b, uint16_t id, uint64_t *rng)
{
	*rng ^= *rng << 13, *rng ^= *rng >> 7, *rng ^= *rng << 17;     /* xorshift64 */
	blkif_request_t *q = RING_GET_REQUEST(&b->front, b->front.req_prod_pvt++);

	memset(q, 0, sizeof(*q));
	q->operation = b->write ? BLKIF_OP_WRITE : BLKIF_OP_READ;
	q->nr_segments = 1;
	q->id = id;
	q->sector_number = (*rng % b->blocks) * 8;
	q->seg[0] = (struct blkif_request_segment){ .gref = BLKIF_RIG_DATA_REF + id, .first_sect = 0, .last_sect = 7 };
}

static void blk_push(struct blk_bench *b, evtchn_port_t port)
{
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&b->front, notify);
	if (notify) {
		fake_kick(b->d, port);
		bump(&b->kicks, 1);
	}
}

struct blk_front_arg {
	struct blk_bench *b;
	evtchn_port_t port;
};

static void *blk_front(void *arg)
{
	struct blk_bench *b = ((struct blk_front_arg *)arg)->b;
	evtchn_port_t port = ((struct blk_front_arg *)arg)->port;
	unsigned int size = RING_SIZE(&b->front);
	uint64_t rng = 0x9e3779b97f4a7c15ull;

	for (uint16_t id = 0; id < b->depth; id++)
		blk_put(b, id, &rng);
	blk_push(b, port);
	while (!stopping(&b->stop)) {
		RING_IDX prod = __atomic_load_n(&b->front.sring->rsp_prod, __ATOMIC_ACQUIRE);
		uint64_t ok = 0, bad = 0;

		if (!rsp_prod_sane(prod, b->front.rsp_cons, size, "blk"))
			exit(1);
		for (; b->front.rsp_cons != prod; b->front.rsp_cons++) {
			blkif_response_t r = *RING_GET_RESPONSE(&b->front, b->front.rsp_cons);
			if (r.id >= b->depth) {
				fprintf(stderr, "backend_rings: blk response for id %llu, never issued\n",
					(unsigned long long)r.id);
				exit(1);
			}
			if (r.status == BLKIF_RSP_OKAY)
				ok++;
			else
				bad++;
			blk_put(b, (uint16_t)r.id, &rng);
		}
		if (ok || bad) {
			blk_push(b, port);
			bump(&b->done, ok);
			bump(&b->errors, bad);
		} else {
			relax();
		}
	}
	return NULL;
}

/* A file of BLK_DISK_BYTES in $TMPDIR, written (real extents, as bench/blk.sh's dd), unlinked at once. */
static int blk_temp_disk(char *why, size_t len)
{
	const char *dir = getenv("TMPDIR");
	char path[256];
	static uint8_t chunk[1 << 20];

	snprintf(path, sizeof(path), "%s/backend-rings-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0) {
		snprintf(why, len, "mkstemp %s: %s", path, strerror(errno));
		return -1;
	}
	unlink(path);
	memset(chunk, 0xa5, sizeof(chunk));
	for (uint64_t off = 0; off < BLK_DISK_BYTES; off += sizeof(chunk))
		if (pwrite(fd, chunk, sizeof(chunk), (off_t)off) != (ssize_t)sizeof(chunk)) {
			snprintf(why, len, "writing %s: %s", path, errno ? strerror(errno) : "short write");
			close(fd);
			return -1;
		}
	return fd;
}

static struct sample blk_sample(struct blk_bench *b)
{
	struct blkback_stats st = blkback_ring_stats(b->r);

	return (struct sample){
		.ns = now_ns(), .units = load(&b->done), .errors = load(&b->errors), .kicks = load(&b->kicks),
		.notifies = st.notifies, .cpu_us = process_cpu_us(), .serve_cpu_us = thread_cpu_us(b->r->poller.thread),
		.poller = blkback_ring_poller_stats(b->r),
	};
}

static int run_blk(bool write, unsigned int depth, double secs, enum blkback_engine engine, unsigned int poll_us,
		   const char *file)
{
	struct blk_bench *b = calloc(1, sizeof(*b));
	char head[512], why[512];
	int fd;

	if (!b || !(b->r = calloc(1, sizeof(*b->r))))
		abort();
	snprintf(head, sizeof(head), "mode=blk-%s depth=%u engine=%s poll_us=%u", write ? "randwrite" : "randread",
		 depth, blkback_engine_name(engine), poll_us);
	fd = file ? open(file, O_RDWR | O_CLOEXEC) : blk_temp_disk(why, sizeof(why));
	if (file && fd < 0)
		snprintf(why, sizeof(why), "%s: %s", file, strerror(errno));
	off_t bytes = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
	if (fd >= 0 && bytes < 4096) {
		snprintf(why, sizeof(why), "%s: %s", file ? file : "the temporary disk", "smaller than 4 KiB");
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		printf("%s skip=%s\n", head, why);
		return 1;
	}
	b->depth = depth;
	b->write = write;
	b->blocks = (uint64_t)bytes / 4096;
	b->d = blkif_rig_domain(depth);
	unsigned int pages = 1;
	while (pages * __CONST_RING_SIZE(blkif, 4096) < depth)
		pages *= 2;
	blkif_sring_t *s = blkif_rig_ring(b->d, BLKIF_RIG_RING_GFN, pages, &b->front);
	fake_grant_pages(b->d, BLKIF_RIG_TABLE_GFN, BLKIF_RIG_RING_REF, BLKIF_RIG_RING_GFN, pages, false);
	for (unsigned int i = 0; i < depth; i++)
		blkif_rig_fill(fake_gpa(b->d, (BLKIF_RIG_DATA_GFN + i) << 12), 4096, (uint8_t)i);
	evtchn_port_t port = fake_unbound_port(b->d);
	struct blkback_target t = { .fd = fd, .sectors = (uint64_t)bytes / 512 };
	int r = blkback_ring_init(b->r, b->d, "bench xvda", s, pages, port, &t, -1, engine);
	if (r) {
		printf("%s skip=blkback_ring_init: %s\n", head, strerror(-r));
		return 1;
	}
	if (blkback_ring_start(b->r, poll_us, -1, why, sizeof(why))) {
		printf("%s skip=%s\n", head, why);
		return 1;
	}
	if (evtchn_dom0_bind(b->d, port, blk_notified, b->r) < 0) {
		fprintf(stderr, "backend_rings: evtchn_dom0_bind refused the frontend's port\n");
		abort();
	}
	pthread_t front;
	struct blk_front_arg fa = { .b = b, .port = port };
	if (pthread_create(&front, NULL, blk_front, &fa))
		abort();
	sleep_ns(WARMUP_NS);
	struct sample s0 = blk_sample(b);
	sleep_ns((long long)(secs * 1e9));
	struct sample s1 = blk_sample(b);
	__atomic_store_n(&b->stop, true, __ATOMIC_RELEASE);
	pthread_join(front, NULL);
	evtchn_dom0_unbind(b->d, port, blk_notified, b->r);
	int rc = blkback_ring_broken(b->r) ? 1 : 0;
	blkback_ring_destroy(b->r);
	report(head, "req", &s0, &s1);
	if (rc)
		fprintf(stderr, "backend_rings: blkback found the ring broken\n");
	free(b->r);
	close(fd);
	fake_domain_free(b->d);
	free(b);
	return rc;
}

/* ---- arguments ---- */

static bool number(const char *s, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return !errno && end != s && !*end && *out >= lo && *out <= hi;
}

static int usage(const char *why)
{
	fprintf(stderr, "backend_rings: %s\n"
		"usage: backend_rings net-tx|net-rx SIZE SECONDS POLL_US\n"
		"       backend_rings blk randread|randwrite DEPTH SECONDS io_uring|threads POLL_US [FILE]\n"
		"SIZE: frame bytes, 60 to 4096; SECONDS: 0.1 to 600; POLL_US: 0 to %u; DEPTH: 1 to %u\n",
		why, RING_POLLER_MAX_POLL_US, BLK_MAX_DEPTH);
	return 2;
}

int main(int argc, char **argv)
{
	double size, secs, poll_us, depth;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && (!strcmp(argv[1], "net-tx") || !strcmp(argv[1], "net-rx"))) {
		if (!number(argv[2], 60, 4096, &size))
			return usage("SIZE: a frame of 60 to 4096 bytes (one slot)");
		if (!number(argv[3], 0.1, 600, &secs))
			return usage("SECONDS: 0.1 to 600");
		if (!number(argv[4], 0, RING_POLLER_MAX_POLL_US, &poll_us))
			return usage("POLL_US out of range");
		return run_net(argv[1][4] == 't', (size_t)size, secs, (unsigned int)poll_us);
	}
	if ((argc == 7 || argc == 8) && !strcmp(argv[1], "blk")) {
		bool write = !strcmp(argv[2], "randwrite");
		enum blkback_engine engine;
		if (!write && strcmp(argv[2], "randread"))
			return usage("MODE: randread or randwrite");
		if (!number(argv[3], 1, BLK_MAX_DEPTH, &depth) || depth != (unsigned int)depth)
			return usage("DEPTH out of range");
		if (!number(argv[4], 0.1, 600, &secs))
			return usage("SECONDS: 0.1 to 600");
		if (!strcmp(argv[5], "io_uring"))
			engine = BLKBACK_ENGINE_URING;
		else if (!strcmp(argv[5], "threads"))
			engine = BLKBACK_ENGINE_THREADS;
		else
			return usage("ENGINE: io_uring or threads");
		if (!number(argv[6], 0, RING_POLLER_MAX_POLL_US, &poll_us))
			return usage("POLL_US out of range");
		return run_blk(write, (unsigned int)depth, secs, engine, (unsigned int)poll_us, argc == 8 ? argv[7] : NULL);
	}
	return usage("unknown mode or wrong number of arguments");
}
