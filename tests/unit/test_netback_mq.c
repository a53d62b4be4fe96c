/* netback the device (backends/netback.c) with queues, split event channels and features, driven
 * through xenstore as Linux's netfront drives it: the test is the frontend, on a fake domain whose
 * RAM is a memfd, linked to the real xenstored; the vif is a real multi-queue TAP with vnet
 * headers in a network namespace of this test's own, served by one ring_poller thread per queue.
 * Frames go both ways through each queue's rings and the kernel's TAP queues (an AF_PACKET socket
 * on the TAP is the host's end).  Needs root (the namespace, /dev/net/tun), else skipped. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "pv_xs_fixture.h"
#include "backends/netback.h"
#include "backends/tap.h"

#define TABLE_GFN 0x300ull
#define DATA_PAGES 32
#define RX_POSTED 32

/* One queue as the frontend sees it. */
struct fq {
	netif_tx_front_ring_t tx;
	netif_rx_front_ring_t rx;
	uint64_t gfn;                /* tx ring; rx ring gfn+1; data pages from gfn+2 */
	grant_ref_t ref;             /* tx ring's; rx ring ref+1; data pages from ref+2 */
	evtchn_port_t tx_port, rx_port;
};

struct fixture {
	struct pv_xs_fixture x;
	unsigned int offered;        /* min(online CPUs, TAP_MAX_QUEUES) */
};

static void spin(struct fixture *f, int ms)
{
	pv_xs_run_for(&f->x, ms);
}

static char *be_read(struct fixture *f, int devid, const char *key)
{
	char dir[96];

	pv_xs_be_dir(dir, sizeof(dir), "vif", devid);
	return pv_xs_read(&f->x, dir, key);
}

static void fe_write(struct fixture *f, int devid, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void fe_write(struct fixture *f, int devid, const char *key, const char *fmt, ...)
{
	char dir[96];
	va_list ap;

	pv_xs_fe_dir(dir, sizeof(dir), "vif", devid);
	va_start(ap, fmt);
	pv_xs_vwrite(&f->x, dir, key, fmt, ap);
	va_end(ap);
}

static bool setup(struct unit *u, struct fixture *f)
{
	static const struct pv_xs_options mq = { .tag = "nb-mq", .domain = "mqtest", .skip_as = "netback-mq",
						 .poll_us = 20, .grant_table_gfn = TABLE_GFN, .client = true };

	memset(f, 0, sizeof(*f));
	if (!pv_xs_setup(u, &f->x, &mq))
		return false;
	pv_xs_write_script(&f->x, "script", "#!/bin/sh\nexit 0\n");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	f->offered = cpus < 1 ? 1 : cpus > TAP_MAX_QUEUES ? TAP_MAX_QUEUES : (unsigned int)cpus;
	return true;
}

static void teardown(struct fixture *f)
{
	pv_xs_teardown(&f->x);
}

/* Sets `ifname` up; aborts when it cannot. */
static void link_up(const char *ifname)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	if (sock < 0 || ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		abort();
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		abort();
	close(sock);
}

/* vif `devid` named xtmq<devid>, its TAP up; true once attached. */
static bool attach(struct unit *u, struct fixture *f, int devid)
{
	char spec[256], reply[512], name[IFNAMSIZ];

	snprintf(spec, sizeof(spec), "devid=%d,vifname=xtmq%d,bridge=xenbr0,mac=00:16:3e:00:01:%02x,script=%s/script",
		 devid, devid, devid, f->x.dir);
	f->x.answer = (struct pv_xs_answer){ 0 };
	if (pv_backend_request(f->x.d, "vif-attach", spec, reply, sizeof(reply), pv_xs_answered, &f->x.answer)) {
		long long end = pv_xs_now_ms() + 5000;
		while (!f->x.answer.answered && pv_xs_now_ms() < end)
			event_loop_run_once(&f->x.loop, 20);
		CHECK(f->x.answer.answered && f->x.answer.rc == 0, "vif-attach %d: %d %s", devid, f->x.answer.rc,
		      f->x.answer.msg);
		if (!f->x.answer.answered || f->x.answer.rc)
			return false;
	} else {
		CHECK(!strncmp(reply, "ok", 2), "vif-attach %d: %s", devid, reply);
		if (strncmp(reply, "ok", 2))
			return false;
	}
	snprintf(name, sizeof(name), "xtmq%d", devid);
	link_up(name);
	return true;
}

/* Queue q of vif slot `slot`: rings, grants and port(s) in the fake guest, rx buffers posted. */
static void fq_init(struct fixture *f, struct fq *fq, unsigned int slot, unsigned int q, bool split)
{
	/* Within the grant table's one frame (512 entries) and below the special pages. */
	unsigned int k = slot * 2 + q;
	fq->gfn = 0x380 + k * (2 + DATA_PAGES);
	fq->ref = (grant_ref_t)(8 + k * (2 + DATA_PAGES));
	if (fq->ref + 2 + DATA_PAGES > 512 || fq->gfn + 2 + DATA_PAGES > 0x700)
		abort();
	netif_tx_sring_t *txs = fake_gpa(f->x.d, fq->gfn << 12);
	netif_rx_sring_t *rxs = fake_gpa(f->x.d, (fq->gfn + 1) << 12);
	SHARED_RING_INIT(txs);
	FRONT_RING_INIT(&fq->tx, txs, 4096);
	SHARED_RING_INIT(rxs);
	FRONT_RING_INIT(&fq->rx, rxs, 4096);
	for (unsigned int i = 0; i < 2 + DATA_PAGES; i++)
		fake_grant(f->x.d, TABLE_GFN, fq->ref + i, fq->gfn + i, false);
	fq->tx_port = fake_unbound_port(f->x.d);
	fq->rx_port = split ? fake_unbound_port(f->x.d) : fq->tx_port;
	for (unsigned int i = 0; i < RX_POSTED; i++) {
		netif_rx_request_t *r = RING_GET_REQUEST(&fq->rx, fq->rx.req_prod_pvt++);
		r->id = (uint16_t)i;
		r->gref = fq->ref + 2 + (i % DATA_PAGES);
	}
	RING_PUSH_REQUESTS(&fq->rx);
}

/* The frontend's keys for n queues (top level for one, queue-<q>/ for more), then Connected. */
static void publish(struct fixture *f, int devid, struct fq *qs, unsigned int n, bool write_count)
{
	char key[64];

	if (write_count)
		fe_write(f, devid, "multi-queue-num-queues", "%u", n);
	for (unsigned int q = 0; q < n; q++) {
		const char *pre = n > 1 ? key : "";
		snprintf(key, sizeof(key), "queue-%u/", q);
		char k[96];
#define FE(name, ...) (snprintf(k, sizeof(k), "%s%s", pre, name), fe_write(f, devid, k, __VA_ARGS__))
		FE("tx-ring-ref", "%u", qs[q].ref);
		FE("rx-ring-ref", "%u", qs[q].ref + 1);
		if (qs[q].rx_port != qs[q].tx_port) {
			FE("event-channel-tx", "%u", qs[q].tx_port);
			FE("event-channel-rx", "%u", qs[q].rx_port);
		} else {
			FE("event-channel", "%u", qs[q].tx_port);
		}
#undef FE
	}
	fe_write(f, devid, "request-rx-copy", "1");
	fe_write(f, devid, "state", "4");
}

/* Runs the loop until the backend is Connected (4) or Closing/Closed; its state. */
static int await_backend(struct fixture *f, int devid)
{
	long long end = pv_xs_now_ms() + 5000;
	int state = -1;

	while (pv_xs_now_ms() < end) {
		event_loop_run_once(&f->x.loop, 10);
		char *s = be_read(f, devid, "state");
		state = s ? atoi(s) : -1;
		free(s);
		if (state >= 4)
			break;
	}
	return state;
}

/* An Ethernet/IPv4/UDP frame from the guest's MAC to the host's, UDP source port `sport`. */
static size_t udp_frame(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint16_t sport, size_t payload)
{
	size_t ip_len = 20 + 8 + payload;

	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	buf[12] = 0x08;
	buf[13] = 0x00;
	uint8_t *ip = buf + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(ip_len >> 8);
	ip[3] = (uint8_t)ip_len;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, (uint8_t[]){ 10, 0, 0, 2 }, 4);
	memcpy(ip + 16, (uint8_t[]){ 10, 0, 0, 1 }, 4);
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	uint8_t *udp = ip + 20;
	udp[0] = (uint8_t)(sport >> 8);
	udp[1] = (uint8_t)sport;
	udp[2] = 0x30;
	udp[3] = 0x39;
	udp[4] = (uint8_t)((8 + payload) >> 8);
	udp[5] = (uint8_t)(8 + payload);
	udp[6] = udp[7] = 0;                 /* no UDP checksum: valid for IPv4 */
	memset(udp + 8, 0xa5, payload);
	return 14 + ip_len;
}

static const uint8_t host_mac[6] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff };

static int packet_socket(const char *ifname)
{
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	struct sockaddr_ll a = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				 .sll_ifindex = (int)if_nametoindex(ifname) };

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		abort();
	return s;
}

/* Host to guest through TAP `ifname`: `flows` UDP frames to `mac`, source ports from `sport` in
 * steps of `step` (distinct flows for the kernel's queue steering).  How many were sent. */
static unsigned int host_send(int s, const char *ifname, const uint8_t mac[6], unsigned int sport,
			      unsigned int step, unsigned int flows, size_t payload)
{
	uint8_t frame[9000];
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(ifname), .sll_halen = 6 };
	unsigned int sent = 0;

	memcpy(to.sll_addr, mac, 6);
	for (unsigned int i = 0; i < flows; i++) {
		size_t len = udp_frame(frame, mac, host_mac, (uint16_t)(sport + i * step), payload);
		sent += sendto(s, frame, len, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)len;
	}
	return sent;
}

/* Guest to host on queue fq: one frame in one slot, then a kick on its tx port. */
static void guest_send(struct fixture *f, struct fq *fq, unsigned int page, uint16_t sport, const uint8_t mac[6])
{
	uint8_t *data = fake_gpa(f->x.d, (fq->gfn + 2 + page) << 12);
	size_t len = udp_frame(data, host_mac, mac, sport, 32);
	netif_tx_request_t *r = RING_GET_REQUEST(&fq->tx, fq->tx.req_prod_pvt++);
	*r = (netif_tx_request_t){ .gref = fq->ref + 2 + page, .offset = 0, .flags = 0, .id = (uint16_t)page,
				   .size = (uint16_t)len };
	RING_PUSH_REQUESTS(&fq->tx);
	fake_kick(f->x.d, fq->tx_port);
}

static unsigned int tx_ok_responses(struct fq *fq)
{
	unsigned int n = 0;
	RING_IDX prod = __atomic_load_n(&fq->tx.sring->rsp_prod, __ATOMIC_ACQUIRE);

	for (RING_IDX i = 0; i != prod; i++)
		n += RING_GET_RESPONSE(&fq->tx, i)->status == NETIF_RSP_OKAY;
	return n;
}

static unsigned int rx_responses(struct fq *fq)
{
	return __atomic_load_n(&fq->rx.sring->rsp_prod, __ATOMIC_ACQUIRE);
}

/* Counts frames the AF_PACKET socket sees that came from `mac` (the guest's). */
static unsigned int host_received(int s, const uint8_t mac[6])
{
	uint8_t buf[2048];
	unsigned int n = 0;
	ssize_t len;

	while ((len = recv(s, buf, sizeof(buf), 0)) > 0)
		n += len >= 14 && !memcmp(buf + 6, mac, 6);
	return n;
}

/* vif `devid`'s line of `vif-list stats`, or "(none)". */
static const char *stats_line(struct fixture *f, int devid, char *out, size_t len)
{
	char all[8192], head[32];

	snprintf(out, len, "(none)");
	if (pv_backend_request(f->x.d, "vif-list", "stats", all, sizeof(all), pv_xs_answered, &f->x.answer))
		return out;
	snprintf(head, sizeof(head), "\n%d xtmq%d ", devid, devid);
	char *line = strstr(all, head);
	if (line) {
		line++;
		snprintf(out, len, "%.*s", (int)strcspn(line, "\n"), line);
	}
	return out;
}

/* What the backend offers, before any frontend. */
static void test_backend_offers(struct unit *u, const void *arg)
{
	struct fixture *f = (struct fixture *)arg;
	char want[16];

	if (!attach(u, f, 1))
		return;
	snprintf(want, sizeof(want), "%u", f->offered);
	static const char *const ones[] = { "feature-split-event-channels", "feature-sg", "feature-gso-tcpv4",
					    "feature-gso-tcpv6", "feature-rx-copy", "feature-ipv6-csum-offload" };
	for (size_t i = 0; i < sizeof(ones) / sizeof(ones[0]); i++) {
		char *v = be_read(f, 1, ones[i]);
		CHECK(v && !strcmp(v, "1"), "%s = %s", ones[i], v ? v : "(none)");
		free(v);
	}
	char *v = be_read(f, 1, "multi-queue-max-queues");
	CHECK(v && !strcmp(v, want), "multi-queue-max-queues = %s, want %s", v ? v : "(none)", want);
	free(v);
	v = be_read(f, 1, "feature-no-csum-offload");
	CHECK(v == NULL, "feature-no-csum-offload written: %s", v);
	free(v);
}

/* Two queues: both connect, traffic on each queue's rings both ways through the TAP's queues. */
static void test_two_queues(struct unit *u, const void *arg)
{
	struct fixture *f = (struct fixture *)arg;
	const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x01, 0x02 };
	struct fq qs[2];
	char line[1024];

	if (f->offered < 2) {
		unit_skip(u, "one online CPU, one queue offered");
		return;
	}
	if (!attach(u, f, 2))
		return;
	int s = packet_socket("xtmq2");
	for (unsigned int q = 0; q < 2; q++)
		fq_init(f, &qs[q], 1, q, false);
	publish(f, 2, qs, 2, true);
	int state = await_backend(f, 2);
	char *e = be_read(f, 2, "error");
	CHECK(state == 4, "backend state %d, error: %s", state, e ? e : "(none)");
	free(e);
	if (state != 4)
		goto out;
	/* Guest to host: 8 frames on each queue. */
	for (unsigned int i = 0; i < 8; i++)
		for (unsigned int q = 0; q < 2; q++)
			guest_send(f, &qs[q], i, (uint16_t)(1000 + i), mac);
	spin(f, 300);
	CHECK(tx_ok_responses(&qs[0]) == 8 && tx_ok_responses(&qs[1]) == 8, "tx responses OKAY: %u and %u of 8",
	      tx_ok_responses(&qs[0]), tx_ok_responses(&qs[1]));
	unsigned int seen = host_received(s, mac);
	CHECK(seen == 16, "the host saw %u of 16 frames", seen);
	/* Host to guest: 64 flows, which the kernel spreads over both attached queues. */
	CHECK(host_send(s, "xtmq2", mac, 2000, 7, 24, 40) == 24, "sendto: %s", strerror(errno));
	spin(f, 300);
	CHECK(rx_responses(&qs[0]) > 0 && rx_responses(&qs[1]) > 0, "rx frames per queue: %u and %u",
	      rx_responses(&qs[0]), rx_responses(&qs[1]));
	stats_line(f, 2, line, sizeof(line));
	CHECK(strstr(line, " queues=2") && strstr(line, " tx_packets=16 "), "stats: %s", line);
out:
	close(s);
}

/* vif `devid` with one queue (vif slot `slot`, split: a port each way) connected, and one guest
 * frame from source port `sport` sent on it; the host's packet socket on its TAP, -1 when the
 * attach failed. */
static int one_queue_sent(struct unit *u, struct fixture *f, int devid, unsigned int slot, bool split, struct fq *q,
			  uint16_t sport, const uint8_t mac[6])
{
	char name[IFNAMSIZ];

	if (!attach(u, f, devid))
		return -1;
	snprintf(name, sizeof(name), "xtmq%d", devid);
	int s = packet_socket(name);
	fq_init(f, q, slot, 0, split);
	publish(f, devid, q, 1, false);
	int state = await_backend(f, devid);
	CHECK(state == 4, "backend state %d", state);
	guest_send(f, q, 0, sport, mac);
	spin(f, 200);
	return s;
}

/* No multi-queue-num-queues: one queue from the top-level keys. */
static void test_one_queue(struct unit *u, const void *arg)
{
	struct fixture *f = (struct fixture *)arg;
	const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x01, 0x03 };
	struct fq q;
	char line[1024];

	int s = one_queue_sent(u, f, 3, 2, false, &q, 1234, mac);
	if (s < 0)
		return;
	CHECK(tx_ok_responses(&q) == 1, "tx responses %u", tx_ok_responses(&q));
	CHECK(host_received(s, mac) == 1, "the host did not see the frame");
	/* The TAP's other queues are detached: every flow from the host reaches queue 0. */
	RING_IDX before = rx_responses(&q);
	CHECK(host_send(s, "xtmq3", mac, 5000, 11, 16, 40) == 16, "sendto: %s", strerror(errno));
	spin(f, 300);
	CHECK(rx_responses(&q) - before >= 16, "%u of 16 flows reached the one queue", rx_responses(&q) - before);
	stats_line(f, 3, line, sizeof(line));
	CHECK(strstr(line, "3 xtmq3 tx_packets=1 ") && strstr(line, " queues=1"), "stats: %s", line);
	close(s);
}

/* Whether the guest's port is pending (2-level ABI); `clear` clears it. */
static bool port_pending(struct fixture *f, evtchn_port_t port, bool clear)
{
	xen_ulong_t *pending = f->x.d->xen.shared_info->evtchn_pending;
	const unsigned int bits = sizeof(xen_ulong_t) * 8;
	xen_ulong_t mask = (xen_ulong_t)1 << (port % bits);
	bool set = __atomic_load_n(&pending[port / bits], __ATOMIC_ACQUIRE) & mask;

	if (clear)
		__atomic_fetch_and(&pending[port / bits], ~mask, __ATOMIC_ACQ_REL);
	return set;
}

/* Split event channels: the tx port kicks; tx responses notify the tx port, rx ones the rx port. */
static void test_split_channels(struct unit *u, const void *arg)
{
	struct fixture *f = (struct fixture *)arg;
	const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x01, 0x04 };
	struct fq q;

	int s = one_queue_sent(u, f, 4, 3, true, &q, 4321, mac);
	if (s < 0)
		return;
	CHECK(tx_ok_responses(&q) == 1 && host_received(s, mac) == 1, "split tx: %u responses", tx_ok_responses(&q));
	CHECK(port_pending(f, q.tx_port, true), "the tx response did not notify event-channel-tx");
	/* Host to guest: the rx response notifies the rx port only. */
	port_pending(f, q.rx_port, true);
	RING_IDX before = rx_responses(&q);
	q.rx.sring->rsp_event = before + 1;      /* as netfront re-arms after consuming */
	CHECK(host_send(s, "xtmq4", mac, 6000, 1, 1, 40) == 1, "sendto: %s", strerror(errno));
	spin(f, 200);
	CHECK(rx_responses(&q) > before, "no rx response");
	CHECK(port_pending(f, q.rx_port, true) && !port_pending(f, q.tx_port, true),
	      "rx responses must notify event-channel-rx, not -tx");
	close(s);
}

/* Refused: 0 queues, more than offered, a queue's keys missing, half a split pair. */
struct refusal {
	const char *name;
	void (*publish)(struct fixture *f, int devid, struct fq *qs);
	const char *error;               /* in the backend's `error` node */
};

static void pub_zero(struct fixture *f, int devid, struct fq *qs)
{
	publish(f, devid, qs, 1, false);
	fe_write(f, devid, "multi-queue-num-queues", "0");
}

static void pub_too_many(struct fixture *f, int devid, struct fq *qs)
{
	publish(f, devid, qs, 1, false);
	fe_write(f, devid, "multi-queue-num-queues", "%u", f->offered + 1);
}

static void pub_missing(struct fixture *f, int devid, struct fq *qs)
{
	fe_write(f, devid, "multi-queue-num-queues", "2");
	publish(f, devid, qs, 1, false);          /* top-level keys only */
}

static void pub_half_split(struct fixture *f, int devid, struct fq *qs)
{
	fe_write(f, devid, "tx-ring-ref", "%u", qs[0].ref);
	fe_write(f, devid, "rx-ring-ref", "%u", qs[0].ref + 1);
	fe_write(f, devid, "event-channel-tx", "%u", qs[0].tx_port);
	fe_write(f, devid, "request-rx-copy", "1");
	fe_write(f, devid, "state", "4");
}

static const struct refusal refusals[] = {
	{ "zero-queues", pub_zero, "multi-queue-num-queues asks for 0 queues" },
	{ "too-many-queues", pub_too_many, "are offered" },
	{ "queue-keys-missing", pub_missing, "queue-0/tx-ring-ref" },
	{ "half-a-split-pair", pub_half_split, "split event channels need both" },
};

static void test_refused(struct unit *u, const void *arg)
{
	struct fixture *f = (struct fixture *)arg;

	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		int devid = 10 + (int)i;
		struct fq q;
		if (!attach(u, f, devid))
			return;
		fq_init(f, &q, 0, 0, false);
		refusals[i].publish(f, devid, &q);
		int state = await_backend(f, devid);
		char *e = be_read(f, devid, "error");
		CHECK(state == 5 && e && strstr(e, refusals[i].error), "%s: state %d, error '%s'", refusals[i].name,
		      state, e ? e : "(none)");
		free(e);
	}
}

/* A runaway producer index on queue 1: that queue's thread stops serving it and the main loop
 * writes the reason into `error`; the stats line says `broken`. */
static void test_broken_queue(struct unit *u, const void *arg)
{
	struct fixture *f = (struct fixture *)arg;
	struct fq qs[2];
	char line[1024];
	unsigned int n = f->offered < 2 ? 1 : 2;

	if (!attach(u, f, 7))
		return;
	for (unsigned int q = 0; q < n; q++)
		fq_init(f, &qs[q], 6, q, false);
	publish(f, 7, qs, n, n > 1);
	CHECK(await_backend(f, 7) == 4, "not connected");
	struct fq *bad = &qs[n - 1];
	__atomic_store_n(&bad->tx.sring->req_prod, bad->tx.sring->rsp_prod + 1000, __ATOMIC_RELEASE);
	fake_kick(f->x.d, bad->tx_port);
	char want[64], *e = NULL;
	snprintf(want, sizeof(want), "frontend broke the ring protocol (queue %u)", n - 1);
	long long end = pv_xs_now_ms() + 2000;
	while (pv_xs_now_ms() < end && !(e && !strcmp(e, want))) {
		free(e);
		event_loop_run_once(&f->x.loop, 10);
		e = be_read(f, 7, "error");
	}
	CHECK(e && !strcmp(e, want), "error node: %s", e ? e : "(none)");
	free(e);
	stats_line(f, 7, line, sizeof(line));
	size_t len = strlen(line);
	CHECK(len > 7 && !strcmp(line + len - 7, " broken"), "stats: %s", line);
}

static void set_mtu(const char *ifname, int mtu)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { .ifr_mtu = mtu };

	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	if (sock < 0 || ioctl(sock, SIOCSIFMTU, &ifr) < 0)
		abort();
	close(sock);
}

/* The frontend's feature-sg reaches the ring: a 6000-byte frame from the host spans slots
 * (NETRXF_more_data) with it, and is dropped without it. */
static void test_rx_sg_feature(struct unit *u, const void *arg)
{
	struct fixture *f = (struct fixture *)arg;
	const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x01, 0x05 };
	char line[1024];

	for (int sg = 1; sg >= 0; sg--) {
		int devid = 5 + !sg;
		char name[IFNAMSIZ];
		struct fq q;
		snprintf(name, sizeof(name), "xtmq%d", devid);
		if (!attach(u, f, devid))
			return;
		set_mtu(name, 9000);
		int s = packet_socket(name);
		fq_init(f, &q, 4 + (unsigned int)!sg, 0, false);
		if (sg)
			fe_write(f, devid, "feature-sg", "1");
		publish(f, devid, &q, 1, false);
		CHECK(await_backend(f, devid) == 4, "sg %d: not connected", sg);
		spin(f, 100);
		RING_IDX before = rx_responses(&q);
		const size_t len = 6000;
		CHECK(host_send(s, name, mac, 7777, 1, 1, len - 14 - 28) == 1, "sendto: %s", strerror(errno));
		spin(f, 200);
		/* Find our frame among the kernel's own (IPv6 router solicitations and such). */
		size_t total = 0;
		unsigned int slots = 0;
		for (RING_IDX i = before; i != rx_responses(&q); i++) {
			netif_rx_response_t *r = RING_GET_RESPONSE(&q.rx, i);
			if (r->status > 0 && (slots || r->status >= 4096)) {
				total += (size_t)r->status;
				slots++;
				if (!(r->flags & NETRXF_more_data))
					break;
			}
		}
		stats_line(f, devid, line, sizeof(line));
		if (sg)
			CHECK(slots >= 2 && total == len, "sg: %zu bytes in %u slots, want %zu in 2 or more", total,
			      slots, len);
		else
			CHECK(slots == 0 && strstr(line, " rx_drops=1 "), "no sg: %u slots; %s", slots, line);
		close(s);
	}
}

/* tap_open_queues with 2 queues and tap_queue_set_attached: a detached queue gets no frames, and
 * the kernel refuses to detach it twice; attached again, flows spread over both. */
static void test_tap_detach_queue(struct unit *u, const void *arg)
{
	char err[256];
	int fds[2];
	uint8_t buf[256];
	const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x01, 0x06 };

	(void)arg;
	CHECK(tap_open_queues("xtmqtap", &(struct tap_options){ .queues = 2 }, fds, err, sizeof(err)) == 0, "%s", err);
	link_up("xtmqtap");
	int s = packet_socket("xtmqtap");
	for (int round = 0; round < 2; round++) {
		bool detached = round == 0;
		if (detached)
			CHECK(tap_queue_set_attached(fds[1], "xtmqtap", false, err, sizeof(err)) == 0, "detach: %s", err);
		else
			CHECK(tap_queue_set_attached(fds[1], "xtmqtap", true, err, sizeof(err)) == 0, "attach: %s", err);
		unsigned int got[2] = { 0, 0 };
		CHECK(host_send(s, "xtmqtap", mac, 3000, 13, 32, 20) == 32, "sendto: %s", strerror(errno));
		usleep(50000);
		for (int q = 0; q < 2; q++)
			while (read(fds[q], buf, sizeof(buf)) > 0)
				got[q]++;
		if (detached) {
			CHECK(got[0] >= 32 && got[1] == 0, "detached queue 1: %u and %u frames", got[0], got[1]);
			CHECK(tap_queue_set_attached(fds[1], "xtmqtap", false, err, sizeof(err)) == -1 &&
			      strstr(err, "xtmqtap: detaching a queue"), "a second detach: '%s'", err);
		} else {
			CHECK(got[0] > 0 && got[1] > 0 && got[0] + got[1] >= 32, "attached again: %u and %u frames",
			      got[0], got[1]);
		}
	}
	close(s);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	struct unit units = UNIT_INIT, *u = &units;
	struct fixture f;

	signal(SIGPIPE, SIG_IGN);
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0 || access("/dev/net/tun", R_OK | W_OK)) {
		printf("skip - netback-mq: needs root, a network namespace and /dev/net/tun\n");
		return unit_finish(u);
	}
	if (setup(u, &f)) {
		unit_case(u, "backend-offers-queues-split-channels-sg-gso", test_backend_offers, &f);
		unit_case(u, "two-queues-carry-traffic-on-each", test_two_queues, &f);
		unit_case(u, "one-queue-without-multi-queue-keys", test_one_queue, &f);
		unit_case(u, "split-event-channels", test_split_channels, &f);
		unit_case(u, "refused-with-the-reason-in-error", test_refused, &f);
		unit_case(u, "frontend-feature-sg-reaches-the-ring", test_rx_sg_feature, &f);
		unit_case(u, "broken-queue-reported-by-the-main-loop", test_broken_queue, &f);
		unit_case(u, "tap-queue-detached-gets-no-frames", test_tap_detach_queue, &f);
	}
	teardown(&f);
	return unit_finish(u);
}
