/* netback's data path (backends/netback_ring.c) on a fake domain: the test plays netfront, with
 * real grant entries and shared rings in the fake RAM, and a SOCK_SEQPACKET pair as the TAP (one
 * frame per read and write).  Honest traffic both ways, then what a hostile frontend can do:
 * bad offsets and sizes, refused grants, too many slots, a runaway producer index.  Then checksum
 * offload: frames with NETTXF_csum_blank as Linux's netfront sends them, good and malformed, with
 * an independent RFC 1071 witness, and the host kernel itself as a second witness on a real TAP
 * in a private network namespace (root and /dev/net/tun needed, else skipped). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/if_tun.h>
#include <sys/socket.h>
#include <unistd.h>
#include "backends/netback.h"
#include "backends/tap.h"
#include "netif_front_rig.h"
#include "unit.h"

#define DATA_GFN NETIF_RIG_DATA_GFN /* data page i at DATA_GFN + i, granted as ref DATA_REF + i */
#define DATA_REF NETIF_RIG_DATA_REF

static struct netif_rig *rig_new_feat(struct netback_features feat)
{
	return netif_rig_new(&(struct netif_rig_options){ .data_pages = 64, .sockbuf = 4 << 20, .feat = feat });
}

static struct netif_rig *rig_new(bool rx_sg)
{
	return rig_new_feat((struct netback_features){ .rx_sg = rx_sg });
}

/* Serves the rings against another fd (a real TAP) from their current indices. */
static void rig_attach(struct netif_rig *g, int fd)
{
	netback_ring_init(g->nb, &(struct netback_ring_params){ .dom = g->d, .name = "vif7.0",
		.tx_page = g->tx.sring, .rx_page = g->rx.sring, .tap_fd = fd, .feat = g->nb->feat });
}

static void tx_put(struct netif_rig *g, grant_ref_t gref, uint16_t offset, uint16_t flags, uint16_t id, uint16_t size)
{
	netif_tx_request_t *q = RING_GET_REQUEST(&g->tx, g->tx.req_prod_pvt++);
	*q = (netif_tx_request_t){ .gref = gref, .offset = offset, .flags = flags, .id = id, .size = size };
}

static netif_tx_response_t tx_rsp(struct netif_rig *g)
{
	return *RING_GET_RESPONSE(&g->tx, g->tx.rsp_cons++);
}

static ssize_t host_read(struct netif_rig *g, uint8_t *buf, size_t len)
{
	return recv(g->peer, buf, len, MSG_DONTWAIT);
}

static void test_tx_one(struct unit *u, const void *arg)
{
	struct netif_rig *g = rig_new(false);
	uint8_t got[2048];
	(void)arg;

	for (int i = 0; i < 60; i++)
		netif_rig_data(g, 0)[100 + i] = (uint8_t)i;
	tx_put(g, DATA_REF, 100, 0, 7, 60);
	netif_rig_tx_push(g);
	CHECK_INT(netback_ring_tx(g->nb, 64), NETBACK_IDLE);
	CHECK_INT(host_read(g, got, sizeof(got)), 60);
	CHECK(got[0] == 0 && got[59] == 59, "frame bytes %u %u", got[0], got[59]);
	CHECK_INT(g->tx.sring->rsp_prod, 1);
	netif_tx_response_t r = tx_rsp(g);
	CHECK_INT(r.id, 7);
	CHECK_INT(r.status, NETIF_RSP_OKAY);
	CHECK_INT(g->nb->st.tx_packets, 1);
	CHECK_INT(g->nb->st.tx_bytes, 60);
	/* The grant is not held after the copy. */
	CHECK(!(netif_rig_entry(g->d, DATA_REF)->flags & (GTF_reading | GTF_writing)), "grant still in use");
	netif_rig_free(g);
}

static void test_tx_chain(struct unit *u, const void *arg)
{
	struct netif_rig *g = rig_new(false);
	uint8_t got[8192];
	(void)arg;

	memset(netif_rig_data(g, 0), 'a', 4096);
	memset(netif_rig_data(g, 1), 'b', 4096);
	memset(netif_rig_data(g, 2), 'c', 4096);
	/* 5000 bytes: 2000 in the first slot, then 2000 and 1000. */
	tx_put(g, DATA_REF, 0, NETTXF_more_data, 1, 5000);
	tx_put(g, DATA_REF + 1, 96, NETTXF_more_data, 2, 2000);
	tx_put(g, DATA_REF + 2, 0, 0, 3, 1000);
	netif_rig_tx_push(g);
	CHECK_INT(netback_ring_tx(g->nb, 64), NETBACK_IDLE);
	CHECK_INT(host_read(g, got, sizeof(got)), 5000);
	CHECK(got[1999] == 'a' && got[2000] == 'b' && got[3999] == 'b' && got[4000] == 'c', "chain copied wrong");
	for (int i = 1; i <= 3; i++) {
		netif_tx_response_t r = tx_rsp(g);
		CHECK(r.id == i && r.status == NETIF_RSP_OKAY, "response %d: id %u status %d", i, r.id, r.status);
	}
	netif_rig_free(g);
}

static void test_tx_extra_info(struct unit *u, const void *arg)
{
	struct netif_rig *g = rig_new(false);
	uint8_t got[2048];
	(void)arg;

	tx_put(g, DATA_REF, 0, NETTXF_extra_info, 4, 100);
	struct netif_extra_info *x = (struct netif_extra_info *)RING_GET_REQUEST(&g->tx, g->tx.req_prod_pvt++);
	*x = (struct netif_extra_info){ .type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD };   /* ignored */
	netif_rig_tx_push(g);
	CHECK_INT(netback_ring_tx(g->nb, 64), NETBACK_IDLE);
	CHECK_INT(host_read(g, got, sizeof(got)), 100);
	netif_tx_response_t r = tx_rsp(g);
	CHECK(r.id == 4 && r.status == NETIF_RSP_OKAY, "first: id %u status %d", r.id, r.status);
	CHECK_INT(tx_rsp(g).status, NETIF_RSP_NULL);
	netif_rig_free(g);
}

/* Each row: one bad packet (built by fn); every slot of it answered with `status`, nothing sent. */
struct bad_tx { const char *name; void (*build)(struct netif_rig *g); unsigned int slots; };

static void bad_offset(struct netif_rig *g) { tx_put(g, DATA_REF, 4000, 0, 1, 200); }
static void bad_short(struct netif_rig *g) { tx_put(g, DATA_REF, 0, 0, 1, 10); }
static void bad_gref(struct netif_rig *g) { tx_put(g, 1999, 0, 0, 1, 100); }
static void bad_ungranted(struct netif_rig *g) { netif_rig_entry(g->d, DATA_REF)->flags = 0; tx_put(g, DATA_REF, 0, 0, 1, 100); }
static void bad_foreign(struct netif_rig *g) { netif_rig_entry(g->d, DATA_REF)->domid = 3; tx_put(g, DATA_REF, 0, 0, 1, 100); }
static void bad_frag_sum(struct netif_rig *g)
{
	tx_put(g, DATA_REF, 0, NETTXF_more_data, 1, 100);
	tx_put(g, DATA_REF + 1, 0, 0, 2, 100);         /* later fragments as big as the whole */
}
static void bad_frag_overrun(struct netif_rig *g)
{
	tx_put(g, DATA_REF, 0, NETTXF_more_data, 1, 3000);
	tx_put(g, DATA_REF + 1, 4000, 0, 2, 1000);
}
static void bad_too_many(struct netif_rig *g)
{
	for (unsigned int i = 0; i < 19; i++)
		tx_put(g, DATA_REF + i, 0, NETTXF_more_data, (uint16_t)i, i == 0 ? 19 * 100 : 100);
	tx_put(g, DATA_REF + 19, 0, 0, 19, 100);
}
static void bad_truncated(struct netif_rig *g) { tx_put(g, DATA_REF, 0, NETTXF_more_data, 1, 300); }
static void bad_extra_type(struct netif_rig *g)
{
	tx_put(g, DATA_REF, 0, NETTXF_extra_info, 1, 100);
	struct netif_extra_info *x = (struct netif_extra_info *)RING_GET_REQUEST(&g->tx, g->tx.req_prod_pvt++);
	*x = (struct netif_extra_info){ .type = 200 };
}

static const struct bad_tx bad_txs[] = {
	{ "tx-offset-overruns-page", bad_offset, 1 },
	{ "tx-shorter-than-ethernet-header", bad_short, 1 },
	{ "tx-gref-out-of-table", bad_gref, 1 },
	{ "tx-gref-not-granted", bad_ungranted, 1 },
	{ "tx-gref-granted-to-another-domain", bad_foreign, 1 },
	{ "tx-fragments-exceed-total", bad_frag_sum, 2 },
	{ "tx-fragment-overruns-page", bad_frag_overrun, 2 },
	{ "tx-more-than-18-slots", bad_too_many, 18 },
	{ "tx-chain-truncated", bad_truncated, 1 },
	{ "tx-bad-extra-type", bad_extra_type, 2 },
};

static void test_bad_tx(struct unit *u, const void *arg)
{
	const struct bad_tx *t = arg;
	struct netif_rig *g = rig_new(false);
	uint8_t got[8192];

	t->build(g);
	netif_rig_tx_push(g);
	netback_ring_tx(g->nb, 64);
	CHECK_INT(host_read(g, got, sizeof(got)), -1);
	CHECK(g->nb->st.tx_errors >= 1, "no tx error counted");
	CHECK(!g->nb->broken, "a bad request must not break the vif");
	CHECK(g->tx.sring->rsp_prod >= t->slots, "%u responses for %u slots", g->tx.sring->rsp_prod, t->slots);
	netif_tx_response_t r = tx_rsp(g);
	CHECK_INT(r.status, NETIF_RSP_ERROR);
	/* After the bad packet, a good one still goes through. */
	unsigned int before = g->tx.sring->rsp_prod;
	g->tx.rsp_cons = before;
	netif_rig_entry(g->d, DATA_REF + 40)->flags = GTF_permit_access;
	tx_put(g, DATA_REF + 40, 0, 0, 99, 64);
	netif_rig_tx_push(g);
	netback_ring_tx(g->nb, 64);
	while (host_read(g, got, sizeof(got)) > 0 && got[0] == 0xee)
		;
	CHECK_INT(g->tx.sring->rsp_prod, before + 1);
	CHECK_INT(tx_rsp(g).status, NETIF_RSP_OKAY);
	netif_rig_free(g);
}

static void test_tx_runaway_producer(struct unit *u, const void *arg)
{
	struct netif_rig *g = rig_new(false);
	(void)arg;

	g->tx.sring->req_prod = 1000;      /* more than a ring (256) ahead */
	CHECK_INT(netback_ring_tx(g->nb, 64), NETBACK_BROKEN);
	CHECK(g->nb->broken, "not marked broken");
	CHECK_INT(g->tx.sring->rsp_prod, 0);
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_BROKEN);
	netif_rig_free(g);
}

static void test_tx_budget(struct unit *u, const void *arg)
{
	struct netif_rig *g = rig_new(false);
	uint8_t got[2048];
	int frames = 0;
	(void)arg;

	for (int i = 0; i < 200; i++)
		tx_put(g, DATA_REF, 0, 0, (uint16_t)i, 64);
	netif_rig_tx_push(g);
	CHECK_INT(netback_ring_tx(g->nb, 100), NETBACK_MORE);
	CHECK_INT(g->tx.sring->rsp_prod, 100);
	CHECK_INT(netback_ring_tx(g->nb, 100), NETBACK_MORE);
	CHECK_INT(netback_ring_tx(g->nb, 100), NETBACK_IDLE);
	while (host_read(g, got, sizeof(got)) == 64)
		frames++;
	CHECK_INT(frames, 200);
	/* Idle, but serving armed nothing (req_event is SHARED_RING_INIT's 1); arming does, and
	 * says nothing came meanwhile: the frontend's next request will notify. */
	CHECK_INT(g->tx.sring->req_event, 1);
	CHECK(!netback_ring_arm(g->nb), "arm saw requests on an empty ring");
	CHECK_INT(g->tx.sring->req_event, 201);
	netif_rig_free(g);
}

static void rx_post(struct netif_rig *g, uint16_t id, grant_ref_t gref)
{
	netif_rx_request_t *q = RING_GET_REQUEST(&g->rx, g->rx.req_prod_pvt++);
	*q = (netif_rx_request_t){ .id = id, .gref = gref };
	int notify;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&g->rx, notify);
	(void)notify;
}

static void test_rx_backpressure(struct unit *u, const void *arg)
{
	struct netif_rig *g = rig_new(false);
	uint8_t frame[1500];
	(void)arg;

	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7);
	CHECK_INT(send(g->peer, frame, sizeof(frame), 0), (long)sizeof(frame));
	CHECK_INT(send(g->peer, frame, 100, 0), 100);
	/* No slots: the frame waits, and the frontend is asked to notify on its next post. */
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_NO_SLOTS);
	CHECK_INT(g->nb->rx_pending, 1500);
	CHECK_INT(g->rx.sring->req_event, 1);
	rx_post(g, 5, DATA_REF + 3);
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_NO_SLOTS);    /* one delivered, the next waits */
	CHECK_INT(g->rx.sring->rsp_prod, 1);
	netif_rx_response_t *r = RING_GET_RESPONSE(&g->rx, 0);
	CHECK(r->id == 5 && r->status == 1500 && r->offset == 0 && r->flags == 0,
	      "rsp id %u status %d offset %u flags %#x", r->id, r->status, r->offset, r->flags);
	CHECK(!memcmp(netif_rig_data(g, 3), frame, sizeof(frame)), "frame not copied into the page");
	rx_post(g, 6, DATA_REF + 4);
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_IDLE);
	CHECK_INT(RING_GET_RESPONSE(&g->rx, 1)->status, 100);
	CHECK_INT(g->nb->st.rx_packets, 2);
	CHECK_INT(g->nb->st.rx_bytes, 1600);
	CHECK(!(netif_rig_entry(g->d, DATA_REF + 3)->flags & (GTF_reading | GTF_writing)), "rx grant still in use");
	netif_rig_free(g);
}

static void test_rx_big_frames(struct unit *u, const void *arg)
{
	static uint8_t frame[9000];
	(void)arg;

	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i / 13);
	/* Without feature-sg a frame over a page cannot be handed over: dropped, counted. */
	struct netif_rig *g = rig_new(false);
	rx_post(g, 1, DATA_REF);
	CHECK_INT(send(g->peer, frame, sizeof(frame), 0), (long)sizeof(frame));
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_IDLE);
	CHECK_INT(g->nb->st.rx_drops, 1);
	CHECK_INT(g->rx.sring->rsp_prod, 0);
	netif_rig_free(g);
	/* With it: three slots, the first two with more_data. */
	g = rig_new(true);
	rx_post(g, 1, DATA_REF);
	rx_post(g, 2, DATA_REF + 1);
	CHECK_INT(send(g->peer, frame, sizeof(frame), 0), (long)sizeof(frame));
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_NO_SLOTS);
	CHECK_INT(g->rx.sring->req_event, 3);
	rx_post(g, 3, DATA_REF + 2);
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_IDLE);
	CHECK_INT(g->rx.sring->rsp_prod, 3);
	for (int i = 0; i < 3; i++) {
		netif_rx_response_t *r = RING_GET_RESPONSE(&g->rx, i);
		CHECK(r->id == i + 1 && r->status == (i < 2 ? 4096 : 9000 - 8192) &&
		      !!(r->flags & NETRXF_more_data) == (i < 2), "rsp %d: id %u status %d flags %#x", i, r->id,
		      r->status, r->flags);
	}
	CHECK(!memcmp(netif_rig_data(g, 2), frame + 8192, 9000 - 8192), "last part not copied");
	netif_rig_free(g);
}

static void test_rx_readonly_grant(struct unit *u, const void *arg)
{
	struct netif_rig *g = rig_new(false);
	uint8_t frame[200] = { 1, 2, 3 };
	(void)arg;

	netif_rig_grant(g->d, DATA_REF, DATA_GFN, true);       /* we must write: refused */
	memset(netif_rig_data(g, 0), 0x55, 4096);
	rx_post(g, 9, DATA_REF);
	send(g->peer, frame, sizeof(frame), 0);
	netback_ring_rx(g->nb, 64);
	CHECK_INT(g->rx.sring->rsp_prod, 1);
	CHECK_INT(RING_GET_RESPONSE(&g->rx, 0)->status, NETIF_RSP_ERROR);
	CHECK_INT(RING_GET_RESPONSE(&g->rx, 0)->id, 9);
	CHECK(netif_rig_data(g, 0)[0] == 0x55, "read-only page written");
	CHECK_INT(g->nb->st.rx_errors, 1);
	netif_rig_free(g);
}

static void test_rx_runaway_producer(struct unit *u, const void *arg)
{
	struct netif_rig *g = rig_new(false);
	(void)arg;

	g->rx.sring->req_prod = 0x80000000u;
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_BROKEN);
	CHECK(g->nb->broken, "not marked broken");
	netif_rig_free(g);
}

/* ---- Checksum offload: frames from a fake netfront as Linux sends a CHECKSUM_PARTIAL skb ----
 * NETTXF_csum_blank with the pseudo-header sum in the checksum field.  The witness is computed
 * here, independently of netback_csum_add: the RFC 1071 sum over pseudo-header and L4 bytes of a
 * correctly checksummed segment is 0xffff. */

#define NS_TAP "xncsum0"
static const uint8_t host_mac[6] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff };   /* tap_open's */
static const uint8_t guest_mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x02 };
static const uint8_t host_ip4[4] = { 10, 99, 0, 1 }, guest_ip4[4] = { 10, 99, 0, 2 };
static const uint8_t host_ip6[16] = { 0xfd, 0x99, [15] = 1 }, guest_ip6[16] = { 0xfd, 0x99, [15] = 2 };

static uint32_t ref_sum(uint32_t acc, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		acc += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	return acc;
}

static uint16_t ref_fold(uint32_t acc)
{
	while (acc > 0xffff)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

static void wr16(uint8_t *p, unsigned int v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static unsigned int rd16(const uint8_t *p) { return (unsigned int)p[0] << 8 | p[1]; }

struct pkt {
	int ip;                    /* 4 or 6 */
	uint8_t proto;             /* 6 TCP, 17 UDP, else anything */
	size_t ip_opts;            /* IPv4 option bytes (a multiple of 4) */
	bool v6_exts;              /* hop-by-hop (8 bytes) and destination options (16) before L4 */
	size_t tcp_opts;           /* TCP option bytes (a multiple of 4) */
	size_t payload;
	size_t pad;                /* Ethernet padding after the IP packet */
	uint16_t dport;
	uint8_t tcp_flags;
	/* filled in by build_pkt */
	size_t len, l4_off, l4_len, csum_at;
};

/* The pseudo-header sum (unfolded) of the packet's L4 part. */
static uint32_t ref_pseudo(const struct pkt *s)
{
	uint8_t b[4] = { 0, 0, 0, 0 };
	uint32_t acc;

	if (s->ip == 4)
		acc = ref_sum(ref_sum(0, guest_ip4, 4), host_ip4, 4);
	else
		acc = ref_sum(ref_sum(0, guest_ip6, 16), host_ip6, 16);
	b[0] = (uint8_t)(s->l4_len >> 8);
	b[1] = (uint8_t)s->l4_len;
	acc = ref_sum(acc, b, 2);
	b[0] = 0;
	b[1] = s->proto;
	return ref_sum(acc, b, 2);
}

/* A frame as netfront hands it over with csum_blank: the checksum field holds the folded
 * pseudo-header sum, not complemented. */
static void build_pkt(uint8_t *f, struct pkt *s)
{
	size_t at = 14, ip_at = 14;

	memcpy(f, host_mac, 6);
	memcpy(f + 6, guest_mac, 6);
	wr16(f + 12, s->ip == 4 ? 0x0800 : 0x86dd);
	size_t l4_hdr = s->proto == 6 ? 20 + s->tcp_opts : s->proto == 17 ? 8 : 8;
	size_t l4_len = l4_hdr + s->payload;
	if (s->ip == 4) {
		size_t ihl = 20 + s->ip_opts;
		memset(f + at, 0, ihl);
		f[at] = (uint8_t)(0x40 | ihl / 4);
		wr16(f + at + 2, (unsigned int)(ihl + l4_len));
		wr16(f + at + 6, 0x4000);       /* DF */
		f[at + 8] = 64;
		f[at + 9] = s->proto;
		memcpy(f + at + 12, guest_ip4, 4);
		memcpy(f + at + 16, host_ip4, 4);
		memset(f + at + 20, 1, s->ip_opts);       /* NOPs */
		wr16(f + at + 10, (uint16_t)~ref_fold(ref_sum(0, f + at, ihl)));
		at += ihl;
	} else {
		size_t exts = s->v6_exts ? 24 : 0;
		memset(f + at, 0, 40 + exts);
		f[at] = 0x60;
		wr16(f + at + 4, (unsigned int)(exts + l4_len));
		f[at + 6] = s->v6_exts ? 0 : s->proto;
		f[at + 7] = 64;
		memcpy(f + at + 8, guest_ip6, 16);
		memcpy(f + at + 24, host_ip6, 16);
		at += 40;
		if (s->v6_exts) {
			f[at] = 60;                     /* hop-by-hop, then destination options */
			f[at + 1] = 0;                  /* 8 bytes: PadN fills it */
			f[at + 2] = 1;
			f[at + 3] = 4;
			f[at + 8] = s->proto;
			f[at + 9] = 1;                  /* 16 bytes: Linux refuses over 7 bytes of padding, */
			f[at + 10] = 0x1e;              /* so an experimental option, skipped if unknown, */
			f[at + 11] = 6;
			f[at + 18] = 1;                 /* then PadN */
			f[at + 19] = 4;
			at += 24;
		}
	}
	(void)ip_at;
	s->l4_off = at;
	s->l4_len = l4_len;
	uint8_t *h = f + at;
	memset(h, 0, l4_hdr);
	wr16(h, 40000);
	wr16(h + 2, s->dport);
	if (s->proto == 6) {
		wr16(h + 4, 0x1234);            /* seq */
		h[12] = (uint8_t)((20 + s->tcp_opts) / 4 << 4);
		h[13] = s->tcp_flags;
		wr16(h + 14, 64240);
		if (s->tcp_opts) {
			h[20] = 2;              /* MSS 1460 */
			h[21] = 4;
			wr16(h + 22, 1460);
			memset(h + 24, 1, s->tcp_opts - 4);
		}
		s->csum_at = at + 16;
	} else {
		wr16(h + 4, (unsigned int)l4_len);
		s->csum_at = at + 6;
	}
	for (size_t i = 0; i < s->payload; i++)
		h[l4_hdr + i] = (uint8_t)(i * 31 + 7);
	if (s->proto == 6 || s->proto == 17)
		wr16(f + s->csum_at, ref_fold(ref_pseudo(s)));
	at += l4_len;
	memset(f + at, 0, s->pad);
	s->len = at + s->pad;
}

static bool ref_verifies(const uint8_t *f, const struct pkt *s)
{
	return ref_fold(ref_sum(ref_pseudo(s), f + s->l4_off, s->l4_len)) == 0xffff;
}

/* The frame through the tx ring in slots of at most 2000 bytes; returns the status of the first. */
static int16_t send_frame(struct netif_rig *g, const uint8_t *f, size_t len, uint16_t csum_flags)
{
	size_t at = 0;
	unsigned int i = 0;
	RING_IDX first = g->tx.rsp_cons;

	while (at < len) {
		size_t chunk = len - at < 2000 ? len - at : 2000;
		memcpy(netif_rig_data(g, i), f + at, chunk);
		uint16_t flags = (at + chunk < len ? NETTXF_more_data : 0) | (i == 0 ? csum_flags : 0);
		tx_put(g, DATA_REF + i, 0, flags, (uint16_t)(100 + i), (uint16_t)(i == 0 ? len : chunk));
		at += chunk;
		i++;
	}
	netif_rig_tx_push(g);
	netback_ring_tx(g->nb, 64);
	int16_t status = RING_GET_RESPONSE(&g->tx, first)->status;
	g->tx.rsp_cons = g->tx.sring->rsp_prod;
	return status;
}

struct good_csum { const char *name; struct pkt p; };
static const struct good_csum good_csums[] = {
	{ "csum-udp-ipv4", { .ip = 4, .proto = 17, .payload = 100, .dport = 5555 } },
	{ "csum-udp-ipv4-odd-length", { .ip = 4, .proto = 17, .payload = 33, .dport = 5555 } },
	{ "csum-udp-ipv4-ethernet-padding", { .ip = 4, .proto = 17, .payload = 1, .pad = 17, .dport = 5555 } },
	{ "csum-udp-ipv4-empty-payload", { .ip = 4, .proto = 17, .payload = 0, .dport = 5555 } },
	{ "csum-udp-ipv4-three-slots", { .ip = 4, .proto = 17, .payload = 5000, .dport = 5555 } },
	{ "csum-tcp-ipv4", { .ip = 4, .proto = 6, .payload = 200, .dport = 80, .tcp_flags = 0x18 } },
	{ "csum-tcp-ipv4-ip-and-tcp-options", { .ip = 4, .proto = 6, .ip_opts = 8, .tcp_opts = 12, .payload = 77, .dport = 80, .tcp_flags = 0x18 } },
	{ "csum-tcp-ipv6", { .ip = 6, .proto = 6, .payload = 1000, .dport = 80, .tcp_flags = 0x18 } },
	{ "csum-udp-ipv6-extension-headers", { .ip = 6, .proto = 17, .v6_exts = true, .payload = 51, .dport = 5555 } },
	{ "csum-tcp-ipv6-extension-headers", { .ip = 6, .proto = 6, .v6_exts = true, .tcp_opts = 4, .payload = 9, .dport = 80, .tcp_flags = 0x02 } },
};

static void test_csum_good(struct unit *u, const void *arg)
{
	const struct good_csum *t = arg;
	struct netif_rig *g = rig_new(false);
	static uint8_t f[8192], got[8192];
	struct pkt s = t->p;

	build_pkt(f, &s);
	CHECK_INT(send_frame(g, f, s.len, NETTXF_csum_blank | NETTXF_data_validated), NETIF_RSP_OKAY);
	CHECK_INT(host_read(g, got, sizeof(got)), (long)s.len);
	CHECK(ref_verifies(got, &s), "checksum %#06x does not verify", rd16(got + s.csum_at));
	CHECK(rd16(got + s.csum_at) != 0, "a zero checksum (UDP: none)");
	/* Only the checksum field changed. */
	memcpy(f + s.csum_at, got + s.csum_at, 2);
	CHECK(!memcmp(f, got, s.len), "bytes other than the checksum changed");
	/* data_validated alone: the frame goes as it is. */
	build_pkt(f, &s);
	CHECK_INT(send_frame(g, f, s.len, NETTXF_data_validated), NETIF_RSP_OKAY);
	CHECK_INT(host_read(g, got, sizeof(got)), (long)s.len);
	CHECK(!memcmp(f, got, s.len), "a data_validated frame was changed");
	CHECK_INT(g->nb->st.tx_errors, 0);
	netif_rig_free(g);
}

/* Malformed frames with csum_blank: each mutates a good frame. */
struct bad_csum { const char *name; struct pkt p; void (*mangle)(uint8_t *f, struct pkt *s); };

static void cut_ipv4(uint8_t *f, struct pkt *s) { (void)f; s->len = 14 + 12; }
static void cut_mid_l4(uint8_t *f, struct pkt *s) { (void)f; s->len = s->l4_off + 5; }
static void cut_l4(uint8_t *f, struct pkt *s) { wr16(f + 16, 20 + 5); s->len = s->l4_off + 5; }
static void ihl_4(uint8_t *f, struct pkt *s) { (void)s; f[14] = 0x44; }
static void ihl_15(uint8_t *f, struct pkt *s) { (void)s; f[14] = 0x4f; }   /* 60 > total length */
static void ihl_past_frame(uint8_t *f, struct pkt *s) { f[14] = 0x4f; wr16(f + 16, 60); s->len = 14 + 40; }
static void total_past_frame(uint8_t *f, struct pkt *s) { (void)s; wr16(f + 16, rd16(f + 16) + 1); }
static void total_under_ihl(uint8_t *f, struct pkt *s) { (void)s; wr16(f + 16, 19); }
static void version_6_in_v4(uint8_t *f, struct pkt *s) { (void)s; f[14] = 0x65; }
static void fragment_v4(uint8_t *f, struct pkt *s) { (void)s; wr16(f + 20, 0x2000); }  /* MF */
static void fragment_offset_v4(uint8_t *f, struct pkt *s) { (void)s; wr16(f + 20, 0x0010); }
static void tcp_doff_15(uint8_t *f, struct pkt *s) { f[s->l4_off + 12] = 0xf0; }
static void tcp_doff_4(uint8_t *f, struct pkt *s) { f[s->l4_off + 12] = 0x40; }
static void udp_len_short(uint8_t *f, struct pkt *s) { wr16(f + s->l4_off + 4, (unsigned int)s->l4_len - 1); }
static void udp_len_long(uint8_t *f, struct pkt *s) { wr16(f + s->l4_off + 4, (unsigned int)s->l4_len + 1); }
static void v6_plen_past_frame(uint8_t *f, struct pkt *s) { (void)s; wr16(f + 18, rd16(f + 18) + 1); }
static void v6_plen_zero(uint8_t *f, struct pkt *s) { (void)s; wr16(f + 18, 0); }
static void v6_ext_past_payload(uint8_t *f, struct pkt *s) { (void)s; f[14 + 40 + 8 + 1] = 200; }
static void v6_ext_cut(uint8_t *f, struct pkt *s) { (void)f; wr16(f + 18, 4); s->len = 14 + 44; }
static void v6_fragment(uint8_t *f, struct pkt *s)
{
	(void)s;
	f[14 + 40] = 44;                                  /* hop-by-hop's next: a fragment header */
	f[14 + 48] = 17;
	f[14 + 49] = 0;
	wr16(f + 14 + 50, 0x0008);                        /* offset 1 */
}
static void v6_version_4(uint8_t *f, struct pkt *s) { (void)s; f[14] = 0x40; }
static void proto_icmp(uint8_t *f, struct pkt *s) { (void)s; f[14 + 9] = 1; }
static void proto_v6_none(uint8_t *f, struct pkt *s) { (void)s; f[14 + 6] = 59; }
static void ethertype_arp(uint8_t *f, struct pkt *s) { (void)s; wr16(f + 12, 0x0806); }
static void ethertype_vlan(uint8_t *f, struct pkt *s) { (void)s; wr16(f + 12, 0x8100); }

#define V4UDP { .ip = 4, .proto = 17, .payload = 40, .dport = 5555 }
#define V4TCP { .ip = 4, .proto = 6, .payload = 30, .dport = 80 }
#define V6UDP { .ip = 6, .proto = 17, .v6_exts = true, .payload = 40, .dport = 5555 }
static const struct bad_csum bad_csums[] = {
	{ "csum-bad-ipv4-header-cut-short", V4UDP, cut_ipv4 },
	{ "csum-bad-frame-ends-in-udp-header", V4UDP, cut_mid_l4 },
	{ "csum-bad-udp-header-cut-short", V4UDP, cut_l4 },
	{ "csum-bad-tcp-header-cut-short", V4TCP, cut_l4 },
	{ "csum-bad-ihl-4", V4UDP, ihl_4 },
	{ "csum-bad-ihl-15-over-total-length", V4UDP, ihl_15 },
	{ "csum-bad-ihl-past-frame", V4UDP, ihl_past_frame },
	{ "csum-bad-ipv4-total-length-past-frame", V4TCP, total_past_frame },
	{ "csum-bad-ipv4-total-length-under-ihl", V4TCP, total_under_ihl },
	{ "csum-bad-ipv4-version-6", V4UDP, version_6_in_v4 },
	{ "csum-bad-ipv4-fragment-mf", V4UDP, fragment_v4 },
	{ "csum-bad-ipv4-fragment-offset", V4UDP, fragment_offset_v4 },
	{ "csum-bad-tcp-data-offset-past-segment", V4TCP, tcp_doff_15 },
	{ "csum-bad-tcp-data-offset-under-20", V4TCP, tcp_doff_4 },
	{ "csum-bad-udp-length-short", V4UDP, udp_len_short },
	{ "csum-bad-udp-length-long", V4UDP, udp_len_long },
	{ "csum-bad-ipv6-payload-past-frame", V6UDP, v6_plen_past_frame },
	{ "csum-bad-ipv6-payload-length-zero", V6UDP, v6_plen_zero },
	{ "csum-bad-ipv6-extension-past-payload", V6UDP, v6_ext_past_payload },
	{ "csum-bad-ipv6-extension-cut-short", V6UDP, v6_ext_cut },
	{ "csum-bad-ipv6-fragment", V6UDP, v6_fragment },
	{ "csum-bad-ipv6-version-4", V6UDP, v6_version_4 },
	{ "csum-bad-ipv4-icmp", V4UDP, proto_icmp },
	{ "csum-bad-ipv6-no-next-header", V6UDP, proto_v6_none },
	{ "csum-bad-ethertype-arp", V4UDP, ethertype_arp },
	{ "csum-bad-vlan-tagged", V4UDP, ethertype_vlan },
};

static void test_csum_bad(struct unit *u, const void *arg)
{
	const struct bad_csum *t = arg;
	struct netif_rig *g = rig_new(false);
	static uint8_t f[4096], got[4096];
	struct pkt s = t->p;
	char why[256] = "";

	build_pkt(f, &s);
	t->mangle(f, &s);
	/* Direct, on a buffer of exactly the frame's length (ASan sees any read past it). */
	uint8_t *exact = malloc(s.len);
	memcpy(exact, f, s.len);
	CHECK_INT(netback_csum_fill(exact, s.len, why, sizeof(why)), -1);
	CHECK(why[0], "no reason given");
	CHECK(!memcmp(exact, f, s.len), "a refused frame was changed");
	free(exact);
	/* Through the ring: answered ERROR, counted, nothing reaches the host. */
	CHECK_INT(send_frame(g, f, s.len, NETTXF_csum_blank | NETTXF_data_validated), NETIF_RSP_ERROR);
	CHECK_INT(host_read(g, got, sizeof(got)), -1);
	CHECK_INT(g->nb->st.tx_errors, 1);
	CHECK_INT(g->nb->st.tx_packets, 0);
	/* Without csum_blank nothing is parsed: the same bytes go through as they are. */
	CHECK_INT(send_frame(g, f, s.len, 0), NETIF_RSP_OKAY);
	CHECK_INT(host_read(g, got, sizeof(got)), (long)s.len);
	netif_rig_free(g);
}

/* Every prefix of good frames is refused, read within its own length. */
static void test_csum_prefixes(struct unit *u, const void *arg)
{
	(void)arg;
	for (size_t k = 0; k < sizeof(good_csums) / sizeof(good_csums[0]); k++) {
		static uint8_t f[8192];
		struct pkt s = good_csums[k].p;
		char why[256];
		build_pkt(f, &s);
		size_t ip_end = s.l4_off + s.l4_len;
		for (size_t len = 0; len < ip_end; len++) {
			uint8_t *exact = malloc(len ? len : 1);
			memcpy(exact, f, len);
			int r = netback_csum_fill(exact, len, why, sizeof(why));
			free(exact);
			CHECK(r == -1, "%s cut to %zu bytes accepted", good_csums[k].name, len);
		}
	}
}

/* ---- The host kernel as witness: a real TAP in a private network namespace ---- */
struct netns {
	char name[32];
	int self_fd;               /* our own namespace, to come back to */
	int tap_fd;
};

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void netns_leave(struct netns *n)
{
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	if (n->self_fd >= 0) {
		if (setns(n->self_fd, CLONE_NEWNET))
			perror("setns back");
		close(n->self_fd);
	}
	run("ip netns del %s 2>/dev/null", n->name);
}

/* Creates the namespace, enters it, makes the TAP with netback's own tap_open and addresses it.
 * NULL and why when this machine cannot. */
static const char *netns_enter(struct netns *n, const struct tap_options *opt)
{
	static char why[300];
	char err[256], path[64];

	n->self_fd = n->tap_fd = -1;
	snprintf(n->name, sizeof(n->name), "xenith-csum-%d", (int)getpid());
	if (geteuid() != 0)
		return "not root (creating a network namespace and a TAP needs CAP_NET_ADMIN)";
	if (access("/dev/net/tun", R_OK | W_OK))
		return "no /dev/net/tun";
	if (run("command -v ip >/dev/null"))
		return "no ip(8) (Debian package iproute2)";
	if (run("ip netns add %s", n->name))
		return "ip netns add failed";
	snprintf(path, sizeof(path), "/run/netns/%s", n->name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	n->self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || n->self_fd < 0 || setns(fd, CLONE_NEWNET)) {
		snprintf(why, sizeof(why), "entering namespace %s: %s", n->name, strerror(errno));
		if (fd >= 0)
			close(fd);
		netns_leave(n);
		return why;
	}
	close(fd);
	if (opt ? tap_open_queues(NS_TAP, opt, &n->tap_fd, err, sizeof(err)) :
		  (n->tap_fd = tap_open(NS_TAP, err, sizeof(err))) < 0) {
		n->tap_fd = -1;
		snprintf(why, sizeof(why), "tap_open: %s", err);
		netns_leave(n);
		return why;
	}
	if (run("ip link set lo up && ip link set " NS_TAP " up && ip addr add 10.99.0.1/24 dev " NS_TAP
		" && ip neigh add 10.99.0.2 lladdr 00:16:3e:00:00:02 dev " NS_TAP
		" && ip -6 addr add fd99::1/64 dev " NS_TAP " nodad"
		" && ip -6 neigh add fd99::2 lladdr 00:16:3e:00:00:02 dev " NS_TAP)) {
		netns_leave(n);
		return "configuring the TAP with ip(8) failed";
	}
	return NULL;
}

static int bound_socket(int family, int type, uint16_t port)
{
	int s = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (family == AF_INET) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
		memcpy(&a.sin_addr, host_ip4, 4);
		if (bind(s, (struct sockaddr *)&a, sizeof(a)))
			return close(s), -1;
	} else {
		struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
		memcpy(&a.sin6_addr, host_ip6, 16);
		if (bind(s, (struct sockaddr *)&a, sizeof(a)))
			return close(s), -1;
	}
	if (type == SOCK_STREAM && listen(s, 4))
		return close(s), -1;
	return s;
}

/* A datagram on s within ms: its length, or -1. */
static ssize_t udp_wait(int s, uint8_t *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = s, .events = POLLIN };
	if (poll(&p, 1, ms) != 1)
		return -1;
	return recv(s, buf, len, 0);
}

/* A TCP SYN-ACK from the host to the guest's port 40000 on the TAP within about ms (after `skip`
 * bytes of vnet header); its sequence number in *seq if asked. */
static bool synack_wait(int tap, int ip, int ms, size_t skip, uint32_t *seq)
{
	uint8_t buf[2048], *f = buf + skip;
	for (int tries = 0; tries < ms / 50; tries++) {
		struct pollfd p = { .fd = tap, .events = POLLIN };
		if (poll(&p, 1, 50) != 1)
			continue;
		ssize_t n = read(tap, buf, sizeof(buf)) - (ssize_t)skip;
		size_t l4 = ip == 4 ? 14 + 20 : 14 + 40;
		if (n < (ssize_t)l4 + 20 || rd16(f + 12) != (ip == 4 ? 0x0800u : 0x86ddu))
			continue;
		if ((ip == 4 ? f[14 + 9] : f[14 + 6]) != 6)
			continue;
		if (rd16(f + l4 + 2) == 40000 && (f[l4 + 13] & 0x12) == 0x12) {
			if (seq)
				*seq = (uint32_t)rd16(f + l4 + 4) << 16 | rd16(f + l4 + 6);
			return true;
		}
	}
	return false;
}

/* Did the host's stack take the frame: a datagram of the right size on the UDP socket, or a
 * SYN-ACK on the TAP for a SYN? */
static bool kernel_took(const struct pkt *s, int sock, int tap, int ms)
{
	uint8_t got[4096];

	if (s->proto == 6)
		return synack_wait(tap, s->ip, ms, 0, NULL);
	return udp_wait(sock, got, sizeof(got), ms) == (ssize_t)s->payload;
}

static const struct { struct pkt p; int family; } kernel_pkts[] = {
	{ { .ip = 4, .proto = 17, .payload = 64, .dport = 5555 }, AF_INET },
	{ { .ip = 6, .proto = 17, .v6_exts = true, .payload = 99, .dport = 5555 }, AF_INET6 },
	{ { .ip = 4, .proto = 6, .tcp_opts = 4, .dport = 5556, .tcp_flags = 0x02 }, AF_INET },     /* SYN */
	{ { .ip = 6, .proto = 6, .tcp_opts = 4, .dport = 5556, .tcp_flags = 0x02 }, AF_INET6 },
};

static void test_csum_host_kernel(struct unit *u, const void *arg)
{
	const struct netns *n = arg;
	struct netif_rig *g = rig_new(false);
	static uint8_t f[4096];

	g->nb->tap_fd = n->tap_fd;
	for (size_t i = 0; i < sizeof(kernel_pkts) / sizeof(kernel_pkts[0]); i++) {
		struct pkt s = kernel_pkts[i].p;
		const char *what = s.proto == 6 ? "TCP" : "UDP";
		int sock = bound_socket(kernel_pkts[i].family, s.proto == 6 ? SOCK_STREAM : SOCK_DGRAM, s.dport);
		CHECK(sock >= 0, "%s/IPv%d socket in the namespace: %s", what, s.ip, strerror(errno));
		build_pkt(f, &s);
		/* The control: the partial sum left in place is dropped, or the kernel witnesses
		 * nothing. */
		CHECK_INT(send_frame(g, f, s.len, NETTXF_data_validated), NETIF_RSP_OKAY);
		CHECK(!kernel_took(&s, sock, n->tap_fd, 300), "%s/IPv%d with a partial checksum taken", what, s.ip);
		CHECK_INT(send_frame(g, f, s.len, NETTXF_csum_blank | NETTXF_data_validated), NETIF_RSP_OKAY);
		CHECK(kernel_took(&s, sock, n->tap_fd, 2000), "%s/IPv%d with csum_blank not taken", what, s.ip);
		close(sock);
	}
	g->nb->tap_fd = g->tap;
	netif_rig_free(g);
}

/* ---- Offloads: GSO and checksums against a TAP with vnet headers (docs/netif.md) ----
 * The socketpair plays the kernel: each write of ours starts with a virtio_net_hdr, and what the
 * test sends starts with one. */

#define VH sizeof(struct virtio_net_hdr)

static const struct netback_features feat_vnet = { .vnet_hdr = true };
static const struct netback_features feat_gso_tx = { .vnet_hdr = true, .tx_gso = true };
static const struct netback_features feat_full = {
	.rx_sg = true, .rx_gso_tcpv4 = true, .rx_gso_tcpv6 = true, .rx_csum_blank = true, .rx_ipv6_csum = true,
	.vnet_hdr = true, .tx_gso = true,
};

static void wr32(uint8_t *p, uint32_t v) { wr16(p, v >> 16); wr16(p + 2, v & 0xffff); }

/* The frame through the tx ring in slots of at most 2000 bytes, with a GSO extra after the first
 * slot when gso_type is not NONE; returns the first slot's status, checks the extra's is NULL. */
static int16_t send_gso_chunks(struct unit *u, struct netif_rig *g, const uint8_t *f, size_t len, uint16_t flags,
				uint8_t gso_type, uint16_t gso_size, size_t most)
{
	size_t at = 0;
	unsigned int i = 0;
	RING_IDX first = g->tx.rsp_cons;
	bool gso = gso_type != XEN_NETIF_GSO_TYPE_NONE;

	while (at < len) {
		size_t chunk = len - at < most ? len - at : most;
		memcpy(netif_rig_data(g, i), f + at, chunk);
		uint16_t fl = (at + chunk < len ? NETTXF_more_data : 0) | (i == 0 ? flags : 0) |
			      (i == 0 && gso ? NETTXF_extra_info : 0);
		tx_put(g, DATA_REF + i, 0, fl, (uint16_t)(100 + i), (uint16_t)(i == 0 ? len : chunk));
		if (i == 0 && gso) {
			struct netif_extra_info *x = (struct netif_extra_info *)RING_GET_REQUEST(&g->tx, g->tx.req_prod_pvt++);
			*x = (struct netif_extra_info){ .type = XEN_NETIF_EXTRA_TYPE_GSO,
				.u.gso = { .size = gso_size, .type = gso_type } };
		}
		at += chunk;
		i++;
	}
	netif_rig_tx_push(g);
	netback_ring_tx(g->nb, 64);
	int16_t status = RING_GET_RESPONSE(&g->tx, first)->status;
	if (gso)
		CHECK_INT(RING_GET_RESPONSE(&g->tx, first + 1)->status, NETIF_RSP_NULL);
	g->tx.rsp_cons = g->tx.sring->rsp_prod;
	return status;
}

static int16_t send_gso(struct unit *u, struct netif_rig *g, const uint8_t *f, size_t len, uint16_t flags,
			uint8_t gso_type, uint16_t gso_size)
{
	return send_gso_chunks(u, g, f, len, flags, gso_type, gso_size, 2000);
}

static struct virtio_net_hdr vh_of(const uint8_t *got)
{
	struct virtio_net_hdr h;
	memcpy(&h, got, sizeof(h));
	return h;
}

struct gso_tx { const char *name; struct pkt p; uint8_t type, vtype; uint16_t size; size_t chunk; };
static const struct gso_tx gso_txs[] = {
	{ "offload-tx-gso-tcpv4", { .ip = 4, .proto = 6, .tcp_opts = 12, .payload = 20000, .dport = 80, .tcp_flags = 0x18 },
	  XEN_NETIF_GSO_TYPE_TCPV4, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 2000 },
	/* The largest frame (XEN_NETIF_MAX_TX_SIZE, 65535 bytes) over 17 slots. */
	{ "offload-tx-gso-tcpv4-65535-bytes", { .ip = 4, .proto = 6, .tcp_opts = 12, .payload = 65535 - 66, .dport = 80, .tcp_flags = 0x18 },
	  XEN_NETIF_GSO_TYPE_TCPV4, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 4000 },
	{ "offload-tx-gso-tcpv6-extension-headers", { .ip = 6, .proto = 6, .v6_exts = true, .payload = 30000, .dport = 80, .tcp_flags = 0x18 },
	  XEN_NETIF_GSO_TYPE_TCPV6, VIRTIO_NET_HDR_GSO_TCPV6, 1400, 2000 },
};

/* Offered, with vnet headers: the frame goes unchanged behind a header asking the kernel to
 * segment it, every offset in it the parsed one. */
static void test_gso_tx(struct unit *u, const void *arg)
{
	const struct gso_tx *t = arg;
	struct netif_rig *g = rig_new_feat(feat_gso_tx);
	static uint8_t f[65536], got[65536 + VH];
	struct pkt s = t->p;

	build_pkt(f, &s);
	CHECK_INT(send_gso_chunks(u, g, f, s.len, NETTXF_csum_blank | NETTXF_data_validated, t->type, t->size, t->chunk),
		  NETIF_RSP_OKAY);
	CHECK_INT(host_read(g, got, sizeof(got)), (long)(VH + s.len));
	struct virtio_net_hdr h = vh_of(got);
	CHECK_INT(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_INT(h.gso_type, t->vtype);
	CHECK_INT(h.gso_size, t->size);
	CHECK_INT(h.hdr_len, s.l4_off + 20 + s.tcp_opts);
	CHECK_INT(h.csum_start, s.l4_off);
	CHECK_INT(h.csum_offset, 16);
	CHECK(!memcmp(got + VH, f, s.len), "a GSO frame was changed on its way");
	CHECK_INT(g->nb->st.tx_errors, 0);
	netif_rig_free(g);
}

/* Refused GSO: ERROR on the first slot, nothing written, counted. */
struct bad_gso { const char *name; struct netback_features feat; struct pkt p; uint8_t type; uint16_t size; uint16_t flags; };
#define TCP4 { .ip = 4, .proto = 6, .payload = 5000, .dport = 80, .tcp_flags = 0x18 }
#define BLANK (NETTXF_csum_blank | NETTXF_data_validated)
static const struct bad_gso bad_gsos[] = {
	{ "offload-tx-gso-not-offered-refused", { .vnet_hdr = true }, TCP4, XEN_NETIF_GSO_TYPE_TCPV4, 1448, BLANK },
	{ "offload-tx-gso-without-vnet-hdr-refused", { .tx_gso = true }, TCP4, XEN_NETIF_GSO_TYPE_TCPV4, 1448, BLANK },
	{ "offload-tx-gso-size-0-refused", { .vnet_hdr = true, .tx_gso = true }, TCP4, XEN_NETIF_GSO_TYPE_TCPV4, 0, BLANK },
	{ "offload-tx-gso-size-over-frame-refused", { .vnet_hdr = true, .tx_gso = true }, TCP4, XEN_NETIF_GSO_TYPE_TCPV4, 6000, BLANK },
	{ "offload-tx-gso-udp-refused", { .vnet_hdr = true, .tx_gso = true },
	  { .ip = 4, .proto = 17, .payload = 5000, .dport = 5555 }, XEN_NETIF_GSO_TYPE_TCPV4, 1448, BLANK },
	{ "offload-tx-gso-tcpv6-on-ipv4-refused", { .vnet_hdr = true, .tx_gso = true }, TCP4, XEN_NETIF_GSO_TYPE_TCPV6, 1448, BLANK },
	{ "offload-tx-gso-type-unknown-refused", { .vnet_hdr = true, .tx_gso = true }, TCP4, 7, 1448, BLANK },
	{ "offload-tx-gso-without-csum-blank-refused", { .vnet_hdr = true, .tx_gso = true }, TCP4, XEN_NETIF_GSO_TYPE_TCPV4, 1448, 0 },
};

static void test_bad_gso(struct unit *u, const void *arg)
{
	const struct bad_gso *t = arg;
	struct netif_rig *g = rig_new_feat(t->feat);
	static uint8_t f[65536], got[65536 + VH];
	struct pkt s = t->p;

	build_pkt(f, &s);
	CHECK_INT(send_gso(u, g, f, s.len, t->flags, t->type, t->size), NETIF_RSP_ERROR);
	CHECK_INT(host_read(g, got, sizeof(got)), -1);
	CHECK_INT(g->nb->st.tx_errors, 1);
	CHECK_INT(g->nb->st.tx_packets, 0);
	netif_rig_free(g);
}

/* csum_blank with vnet headers: handed to the kernel as NEEDS_CSUM at the parsed offsets, frame
 * untouched; still refused when its headers do not parse.  data_validated: DATA_VALID.  A plain
 * frame: a zeroed header. */
static void test_csum_blank_vnet(struct unit *u, const void *arg)
{
	struct netif_rig *g = rig_new_feat(feat_vnet);
	static uint8_t f[8192], got[8192 + VH];
	(void)arg;

	for (size_t k = 0; k < sizeof(good_csums) / sizeof(good_csums[0]); k++) {
		struct pkt s = good_csums[k].p;
		build_pkt(f, &s);
		CHECK_INT(send_frame(g, f, s.len, NETTXF_csum_blank | NETTXF_data_validated), NETIF_RSP_OKAY);
		CHECK_INT(host_read(g, got, sizeof(got)), (long)(VH + s.len));
		struct virtio_net_hdr h = vh_of(got);
		CHECK(h.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM && h.gso_type == 0 && h.csum_start == s.l4_off &&
		      h.csum_start + h.csum_offset == s.csum_at, "%s: flags %u gso %u start %u offset %u",
		      good_csums[k].name, h.flags, h.gso_type, h.csum_start, h.csum_offset);
		CHECK(!memcmp(got + VH, f, s.len), "%s: the frame was changed", good_csums[k].name);
	}
	struct pkt s = good_csums[0].p;
	build_pkt(f, &s);
	CHECK_INT(send_frame(g, f, s.len, NETTXF_data_validated), NETIF_RSP_OKAY);
	CHECK_INT(host_read(g, got, sizeof(got)), (long)(VH + s.len));
	CHECK_INT(vh_of(got).flags, VIRTIO_NET_HDR_F_DATA_VALID);
	CHECK_INT(send_frame(g, f, s.len, 0), NETIF_RSP_OKAY);
	CHECK_INT(host_read(g, got, sizeof(got)), (long)(VH + s.len));
	static const struct virtio_net_hdr zero;
	CHECK(!memcmp(got, &zero, VH), "a plain frame's vnet header is not zeroed");
	fragment_v4(f, &s);
	CHECK_INT(send_frame(g, f, s.len, NETTXF_csum_blank), NETIF_RSP_ERROR);
	CHECK_INT(host_read(g, got, sizeof(got)), -1);
	CHECK_INT(g->nb->st.tx_errors, 1);
	netif_rig_free(g);
}

/* A frame as the kernel hands it over: header, then bytes. */
static void kernel_send(struct netif_rig *g, const struct virtio_net_hdr *h, const uint8_t *f, size_t len)
{
	static uint8_t b[65536 + VH];
	memcpy(b, h, VH);
	memcpy(b + VH, f, len);
	if (send(g->peer, b, VH + len, 0) != (ssize_t)(VH + len))
		abort();
}

static struct virtio_net_hdr needs_csum(const struct pkt *s)
{
	return (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = (uint16_t)s->l4_off,
		.csum_offset = (uint16_t)(s->csum_at - s->l4_off) };
}

struct rx_csum { const char *name; struct netback_features feat; struct pkt p; bool completed; uint16_t flags; };
static const struct rx_csum rx_csums[] = {
	{ "offload-rx-needs-csum-to-csum-blank-frontend", { .vnet_hdr = true, .rx_csum_blank = true },
	  { .ip = 4, .proto = 17, .payload = 301, .dport = 5555 }, false, NETRXF_csum_blank | NETRXF_data_validated },
	{ "offload-rx-needs-csum-ipv6-to-ipv6-csum-frontend", { .vnet_hdr = true, .rx_csum_blank = true, .rx_ipv6_csum = true },
	  { .ip = 6, .proto = 6, .payload = 999, .dport = 80, .tcp_flags = 0x18 }, false, NETRXF_csum_blank | NETRXF_data_validated },
	{ "offload-rx-needs-csum-to-no-csum-offload-frontend", { .vnet_hdr = true },
	  { .ip = 4, .proto = 6, .tcp_opts = 8, .payload = 1001, .dport = 80, .tcp_flags = 0x18 }, true, 0 },
	{ "offload-rx-needs-csum-ipv6-to-ipv4-only-frontend", { .vnet_hdr = true, .rx_csum_blank = true },
	  { .ip = 6, .proto = 17, .v6_exts = true, .payload = 77, .dport = 5555 }, true, NETRXF_data_validated },
};

static void test_rx_csum(struct unit *u, const void *arg)
{
	const struct rx_csum *t = arg;
	struct netif_rig *g = rig_new_feat(t->feat);
	static uint8_t f[8192];
	struct pkt s = t->p;

	build_pkt(f, &s);
	struct virtio_net_hdr h = needs_csum(&s);
	kernel_send(g, &h, f, s.len);
	rx_post(g, 1, DATA_REF);
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_IDLE);
	CHECK_INT(g->rx.sring->rsp_prod, 1);
	netif_rx_response_t *r = RING_GET_RESPONSE(&g->rx, 0);
	CHECK(r->status == (int16_t)s.len && r->flags == t->flags, "rsp status %d flags %#x", r->status, r->flags);
	const uint8_t *got = netif_rig_data(g, 0);
	if (t->completed) {
		CHECK(ref_verifies(got, &s), "checksum %#06x does not verify", rd16(got + s.csum_at));
		memcpy(f + s.csum_at, got + s.csum_at, 2);
	}
	CHECK(!memcmp(got, f, s.len), "bytes other than the checksum changed");
	CHECK_INT(g->nb->st.rx_drops, 0);
	netif_rig_free(g);
}

/* A GSO frame to a frontend that asked for it: the extra in slot 1, the data in 0, 2, 3. */
static void test_rx_gso(struct unit *u, const void *arg)
{
	struct netif_rig *g = rig_new_feat(feat_full);
	static uint8_t f[16384];
	struct pkt s = { .ip = 4, .proto = 6, .payload = 9000 - 54, .dport = 80, .tcp_flags = 0x18 };
	(void)arg;

	build_pkt(f, &s);
	struct virtio_net_hdr h = needs_csum(&s);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 1448;
	h.hdr_len = (uint16_t)(s.l4_off + 20);
	kernel_send(g, &h, f, s.len);
	for (unsigned int i = 0; i < 3; i++)
		rx_post(g, (uint16_t)(1 + i), DATA_REF + i);
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_NO_SLOTS);    /* 3 data slots and the extra */
	CHECK_INT(g->rx.sring->req_event, 4);
	rx_post(g, 4, DATA_REF + 3);
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_IDLE);
	CHECK_INT(g->rx.sring->rsp_prod, 4);
	netif_rx_response_t *r0 = RING_GET_RESPONSE(&g->rx, 0);
	CHECK(r0->id == 1 && r0->status == 4096 && r0->flags == (NETRXF_csum_blank | NETRXF_data_validated |
	      NETRXF_extra_info | NETRXF_more_data), "first rsp id %u status %d flags %#x", r0->id, r0->status, r0->flags);
	struct netif_extra_info x;
	memcpy(&x, RING_GET_RESPONSE(&g->rx, 1), sizeof(x));
	CHECK(x.type == XEN_NETIF_EXTRA_TYPE_GSO && x.flags == 0 && x.u.gso.size == 1448 &&
	      x.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4 && x.u.gso.features == 0,
	      "extra type %u flags %u size %u gso type %u", x.type, x.flags, x.u.gso.size, x.u.gso.type);
	netif_rx_response_t *r2 = RING_GET_RESPONSE(&g->rx, 2), *r3 = RING_GET_RESPONSE(&g->rx, 3);
	CHECK(r2->id == 3 && r2->status == 4096 && r2->flags == NETRXF_more_data, "rsp 2 id %u status %d flags %#x",
	      r2->id, r2->status, r2->flags);
	CHECK(r3->id == 4 && r3->status == (int16_t)(s.len - 8192) && r3->flags == 0, "rsp 3 id %u status %d flags %#x",
	      r3->id, r3->status, r3->flags);
	CHECK(!memcmp(netif_rig_data(g, 0), f, 4096) && !memcmp(netif_rig_data(g, 2), f + 4096, 4096) &&
	      !memcmp(netif_rig_data(g, 3), f + 8192, s.len - 8192), "GSO frame's bytes misplaced");
	CHECK_INT(g->nb->st.rx_packets, 1);
	netif_rig_free(g);
}

/* What the frontend did not ask for, or the kernel got wrong: dropped, counted, nothing on the ring. */
struct rx_bad { const char *name; struct netback_features feat; uint8_t gso_type; uint16_t gso_size; uint16_t start, offset; };
static const struct rx_bad rx_bads[] = {
	{ "offload-rx-gso-to-frontend-without-gso-dropped", { .vnet_hdr = true, .rx_sg = true, .rx_csum_blank = true },
	  VIRTIO_NET_HDR_GSO_TCPV4, 1448, 34, 16 },
	{ "offload-rx-gso-tcpv6-to-tcpv4-frontend-dropped", { .vnet_hdr = true, .rx_sg = true, .rx_csum_blank = true, .rx_gso_tcpv4 = true },
	  VIRTIO_NET_HDR_GSO_TCPV6, 1448, 34, 16 },
	{ "offload-rx-gso-without-sg-dropped", { .vnet_hdr = true, .rx_csum_blank = true, .rx_gso_tcpv4 = true },
	  VIRTIO_NET_HDR_GSO_TCPV4, 1448, 34, 16 },
	{ "offload-rx-gso-udp-dropped", feat_full, VIRTIO_NET_HDR_GSO_UDP, 1448, 34, 6 },
	{ "offload-rx-gso-ecn-dropped", feat_full, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 1448, 34, 16 },
	{ "offload-rx-gso-size-0-dropped", feat_full, VIRTIO_NET_HDR_GSO_TCPV4, 0, 34, 16 },
	{ "offload-rx-csum-start-past-frame-dropped", { .vnet_hdr = true }, 0, 0, 3000, 16 },
	{ "offload-rx-csum-offset-past-frame-dropped", { .vnet_hdr = true }, 0, 0, 34, 2000 },
	{ "offload-rx-csum-field-across-end-dropped", { .vnet_hdr = true }, 0, 0, 1000, 999 },
	{ "offload-rx-csum-odd-offset-dropped", { .vnet_hdr = true }, 0, 0, 34, 15 },
};

static void test_rx_bad(struct unit *u, const void *arg)
{
	const struct rx_bad *t = arg;
	struct netif_rig *g = rig_new_feat(t->feat);
	static uint8_t f[4096];
	struct pkt s = { .ip = 4, .proto = 6, .payload = 2000 - 54, .dport = 80, .tcp_flags = 0x18 };

	build_pkt(f, &s);
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = t->gso_type,
		.gso_size = t->gso_size, .hdr_len = 54, .csum_start = t->start, .csum_offset = t->offset };
	kernel_send(g, &h, f, s.len);
	for (unsigned int i = 0; i < 4; i++)
		rx_post(g, (uint16_t)i, DATA_REF + i);
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_IDLE);
	CHECK_INT(g->rx.sring->rsp_prod, 0);
	CHECK_INT(g->nb->st.rx_drops, 1);
	netif_rig_free(g);
}

/* DATA_VALID alone: data_validated; a frame with no vnet header bytes at all: dropped. */
static void test_rx_data_valid(struct unit *u, const void *arg)
{
	struct netif_rig *g = rig_new_feat(feat_vnet);
	uint8_t f[100] = { 0 };
	(void)arg;

	kernel_send(g, &(struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_DATA_VALID }, f, sizeof(f));
	send(g->peer, f, 5, 0);
	rx_post(g, 1, DATA_REF);
	rx_post(g, 2, DATA_REF + 1);
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_IDLE);
	CHECK_INT(g->rx.sring->rsp_prod, 1);
	CHECK_INT(RING_GET_RESPONSE(&g->rx, 0)->flags, NETRXF_data_validated);
	CHECK_INT(RING_GET_RESPONSE(&g->rx, 0)->status, 100);
	CHECK_INT(g->nb->st.rx_drops, 1);
	netif_rig_free(g);
}

/* The TAP's offloads follow the frontend: TSO only with csum and sg, nothing without vnet headers. */
static void test_tap_offloads(struct unit *u, const void *arg)
{
	(void)arg;
	CHECK_INT(netback_tap_offloads(&(struct netback_features){ 0 }), 0);
	CHECK_INT(netback_tap_offloads(&(struct netback_features){ .rx_csum_blank = true, .rx_sg = true,
		.rx_gso_tcpv4 = true }), 0);
	CHECK_INT(netback_tap_offloads(&feat_vnet), 0);
	CHECK_INT(netback_tap_offloads(&(struct netback_features){ .vnet_hdr = true, .rx_csum_blank = true }), TUN_F_CSUM);
	CHECK_INT(netback_tap_offloads(&(struct netback_features){ .vnet_hdr = true, .rx_csum_blank = true,
		.rx_gso_tcpv4 = true, .rx_gso_tcpv6 = true }), TUN_F_CSUM);
	CHECK_INT(netback_tap_offloads(&(struct netback_features){ .vnet_hdr = true, .rx_sg = true,
		.rx_gso_tcpv4 = true }), 0);
	CHECK_INT(netback_tap_offloads(&(struct netback_features){ .vnet_hdr = true, .rx_csum_blank = true,
		.rx_sg = true, .rx_gso_tcpv6 = true }), TUN_F_CSUM | TUN_F_TSO6);
	CHECK_INT(netback_tap_offloads(&feat_full), TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
}

/* ---- The host kernel as witness of the offloads: a vnet-header TAP in a private namespace ---- */

/* A guest's GSO TCP segment of 14000 bytes (under any initial receive window) written through the
 * ring arrives whole and in order at a TCP socket in the namespace: the kernel took the header we
 * wrote (GSO, partial checksum) as it should. */
static void test_gso_host_tx(struct unit *u, const void *arg)
{
	const struct netns *n = arg;
	struct netif_rig *g = rig_new_feat(feat_full);
	static uint8_t f[32768], got[32768];
	uint32_t hseq = 0;
	size_t have = 0;

	rig_attach(g, n->tap_fd);
	int ls = bound_socket(AF_INET, SOCK_STREAM, 5557);
	CHECK(ls >= 0, "TCP listener in the namespace: %s", strerror(errno));
	struct pkt syn = { .ip = 4, .proto = 6, .tcp_opts = 4, .dport = 5557, .tcp_flags = 0x02 };
	build_pkt(f, &syn);
	CHECK_INT(send_frame(g, f, syn.len, BLANK), NETIF_RSP_OKAY);
	CHECK(synack_wait(n->tap_fd, 4, 2000, VH, &hseq), "no SYN-ACK from the namespace");
	struct pkt d = { .ip = 4, .proto = 6, .payload = 14000, .dport = 5557, .tcp_flags = 0x18 };
	build_pkt(f, &d);
	wr32(f + d.l4_off + 4, 0x12340001);          /* build_pkt's SYN had sequence 0x12340000 */
	wr32(f + d.l4_off + 8, hseq + 1);
	CHECK_INT(send_gso(u, g, f, d.len, BLANK, XEN_NETIF_GSO_TYPE_TCPV4, 1400), NETIF_RSP_OKAY);
	struct pollfd p = { .fd = ls, .events = POLLIN };
	int c = poll(&p, 1, 2000) == 1 ? accept(ls, NULL, NULL) : -1;
	CHECK(c >= 0, "the connection was not accepted");
	for (int tries = 0; c >= 0 && have < d.payload && tries < 40; tries++) {
		struct pollfd q = { .fd = c, .events = POLLIN };
		if (poll(&q, 1, 50) != 1)
			continue;
		ssize_t r = recv(c, got + have, sizeof(got) - have, MSG_DONTWAIT);
		if (r > 0)
			have += (size_t)r;
	}
	CHECK_INT(have, d.payload);
	CHECK(!memcmp(got, f + d.l4_off + 20, d.payload), "the stream's bytes differ from the GSO frame's");
	CHECK_INT(g->nb->st.tx_errors, 0);
	if (c >= 0)
		close(c);
	close(ls);
	rig_attach(g, g->tap);
	netif_rig_free(g);
}

/* Our own netfront's view of the rx ring: pages handed out as ring index % 64. */
#define HOST_PAGES 64
static void host_post(struct netif_rig *g, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		RING_IDX at = g->rx.req_prod_pvt;
		rx_post(g, (uint16_t)(at % HOST_PAGES), DATA_REF + at % HOST_PAGES);
	}
}

struct rx_frame {
	size_t len, slots;
	uint16_t flags;
	bool gso;
	struct netif_extra_info extra;
	uint8_t bytes[65536];
};

/* The next whole frame on the rx ring, its slots posted again; false if none. */
static bool host_frame(struct netif_rig *g, struct rx_frame *fr)
{
	RING_IDX i = g->rx.rsp_cons, prod = g->rx.sring->rsp_prod;

	if (i == prod)
		return false;
	netif_rx_response_t r = *RING_GET_RESPONSE(&g->rx, i);
	*fr = (struct rx_frame){ .flags = r.flags, .gso = false };
	i++;
	if (r.flags & NETRXF_extra_info) {
		memcpy(&fr->extra, RING_GET_RESPONSE(&g->rx, i), sizeof(fr->extra));
		fr->gso = fr->extra.type == XEN_NETIF_EXTRA_TYPE_GSO;
		i++;
	}
	for (RING_IDX at = g->rx.rsp_cons;;) {
		if (r.status > 0 && fr->len + (size_t)r.status <= sizeof(fr->bytes))
			memcpy(fr->bytes + fr->len, netif_rig_data(g, at % HOST_PAGES) + r.offset, (size_t)r.status);
		fr->len += r.status > 0 ? (size_t)r.status : 0;
		fr->slots++;
		if (!(r.flags & NETRXF_more_data) || i == prod)
			break;
		at = i;
		r = *RING_GET_RESPONSE(&g->rx, i++);
	}
	unsigned int used = i - g->rx.rsp_cons;
	g->rx.rsp_cons = i;
	host_post(g, used);
	return true;
}

/* A TCP stream from the namespace to the guest, TSO on: its first burst reaches the frontend as one
 * GSO frame over several slots, gso size the MSS the guest announced (1460: no timestamps). */
static void test_gso_host_rx(struct unit *u, const void *arg)
{
	const struct netns *n = arg;
	struct netif_rig *g = rig_new_feat(feat_full);
	static struct rx_frame fr;
	static uint8_t f[4096], data[60000];
	uint16_t hport = 0;
	uint32_t hisn = 0;
	bool gso_seen = false;

	rig_attach(g, n->tap_fd);
	CHECK_INT(g->nb->tap_offloads, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	host_post(g, HOST_PAGES);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(40000) };
	memcpy(&to.sin_addr, guest_ip4, 4);
	CHECK(connect(c, (struct sockaddr *)&to, sizeof(to)) == -1 && errno == EINPROGRESS, "connect: %s", strerror(errno));
	for (int tries = 0; !hport && tries < 200; tries++) {
		netback_ring_rx(g->nb, 64);
		while (!hport && host_frame(g, &fr)) {
			const uint8_t *t = fr.bytes + 34;
			if (fr.len >= 54 && rd16(fr.bytes + 12) == 0x0800 && fr.bytes[23] == 6 && rd16(t + 2) == 40000 &&
			    t[13] == 0x02) {
				hport = (uint16_t)rd16(t);
				hisn = (uint32_t)rd16(t + 4) << 16 | rd16(t + 6);
			}
		}
		if (!hport)
			usleep(10000);
	}
	CHECK(hport != 0, "no SYN from the namespace reached the frontend");
	struct pkt sa = { .ip = 4, .proto = 6, .tcp_opts = 4, .dport = hport, .tcp_flags = 0x12 };
	build_pkt(f, &sa);
	wr32(f + sa.l4_off + 8, hisn + 1);
	CHECK_INT(send_frame(g, f, sa.len, BLANK), NETIF_RSP_OKAY);
	struct pollfd p = { .fd = c, .events = POLLOUT };
	CHECK(poll(&p, 1, 2000) == 1, "the connection did not complete");
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 11 + 3);
	ssize_t sent = send(c, data, sizeof(data), MSG_DONTWAIT);
	CHECK(sent > 4 * 1460, "sent %zd bytes", sent);
	for (int tries = 0; !gso_seen && tries < 200; tries++) {
		netback_ring_rx(g->nb, 64);
		while (!gso_seen && host_frame(g, &fr)) {
			if (!fr.gso)
				continue;
			gso_seen = true;
			CHECK(fr.extra.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4 && fr.extra.u.gso.size == 1460,
			      "GSO extra type %u size %u", fr.extra.u.gso.type, fr.extra.u.gso.size);
			CHECK(fr.flags & NETRXF_csum_blank, "a GSO frame without csum_blank (flags %#x)", fr.flags);
			CHECK(fr.slots >= 2 && fr.len > 2 * 1460 + 54, "GSO frame of %zu bytes in %zu slots", fr.len, fr.slots);
			CHECK(fr.len > 54 && !memcmp(fr.bytes + 54, data, fr.len - 54), "the GSO frame's payload differs");
		}
		if (!gso_seen)
			usleep(10000);
	}
	CHECK(gso_seen, "no GSO frame reached the frontend (%llu frames)", (unsigned long long)g->nb->st.rx_packets);
	CHECK_INT(g->nb->st.rx_drops, 0);
	close(c);
	rig_attach(g, g->tap);
	netif_rig_free(g);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "tx-one-frame", test_tx_one, NULL);
	unit_case(&u, "tx-three-slot-chain", test_tx_chain, NULL);
	unit_case(&u, "tx-extra-info-slot", test_tx_extra_info, NULL);
	for (size_t i = 0; i < sizeof(bad_txs) / sizeof(bad_txs[0]); i++)
		unit_case(&u, bad_txs[i].name, test_bad_tx, &bad_txs[i]);
	unit_case(&u, "tx-runaway-producer-breaks-vif", test_tx_runaway_producer, NULL);
	unit_case(&u, "tx-budget-bounds-work", test_tx_budget, NULL);
	unit_case(&u, "rx-backpressure-keeps-frame", test_rx_backpressure, NULL);
	unit_case(&u, "rx-big-frames-sg-or-drop", test_rx_big_frames, NULL);
	unit_case(&u, "rx-readonly-grant-refused", test_rx_readonly_grant, NULL);
	unit_case(&u, "rx-runaway-producer-breaks-vif", test_rx_runaway_producer, NULL);
	for (size_t i = 0; i < sizeof(good_csums) / sizeof(good_csums[0]); i++)
		unit_case(&u, good_csums[i].name, test_csum_good, &good_csums[i]);
	for (size_t i = 0; i < sizeof(bad_csums) / sizeof(bad_csums[0]); i++)
		unit_case(&u, bad_csums[i].name, test_csum_bad, &bad_csums[i]);
	unit_case(&u, "csum-every-prefix-refused", test_csum_prefixes, NULL);
	struct netns ns;
	const char *why = netns_enter(&ns, NULL);
	if (why) {
		printf("skip - csum-host-kernel-accepts-completed-checksums: %s\n", why);
	} else {
		unit_case(&u, "csum-host-kernel-accepts-completed-checksums", test_csum_host_kernel, &ns);
		netns_leave(&ns);
	}
	for (size_t i = 0; i < sizeof(gso_txs) / sizeof(gso_txs[0]); i++)
		unit_case(&u, gso_txs[i].name, test_gso_tx, &gso_txs[i]);
	for (size_t i = 0; i < sizeof(bad_gsos) / sizeof(bad_gsos[0]); i++)
		unit_case(&u, bad_gsos[i].name, test_bad_gso, &bad_gsos[i]);
	unit_case(&u, "offload-tx-csum-blank-vnet-hdr", test_csum_blank_vnet, NULL);
	for (size_t i = 0; i < sizeof(rx_csums) / sizeof(rx_csums[0]); i++)
		unit_case(&u, rx_csums[i].name, test_rx_csum, &rx_csums[i]);
	unit_case(&u, "offload-rx-gso-extra-slot", test_rx_gso, NULL);
	for (size_t i = 0; i < sizeof(rx_bads) / sizeof(rx_bads[0]); i++)
		unit_case(&u, rx_bads[i].name, test_rx_bad, &rx_bads[i]);
	unit_case(&u, "offload-rx-data-valid", test_rx_data_valid, NULL);
	unit_case(&u, "offload-tap-offloads-follow-frontend", test_tap_offloads, NULL);
	why = netns_enter(&ns, &(struct tap_options){ .queues = 1, .vnet_hdr = true });
	if (why) {
		printf("skip - offload-host-kernel-takes-guest-gso: %s\n", why);
		printf("skip - offload-host-kernel-tso-to-frontend: %s\n", why);
	} else {
		unit_case(&u, "offload-host-kernel-takes-guest-gso", test_gso_host_tx, &ns);
		unit_case(&u, "offload-host-kernel-tso-to-frontend", test_gso_host_rx, &ns);
		netns_leave(&ns);
	}
	return unit_finish(&u);
}
