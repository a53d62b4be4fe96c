/* netback's data path (backends/netback_ring.c) on a fake domain: the test plays netfront, with
 * real grant entries and shared rings in the fake RAM, and a SOCK_SEQPACKET pair as the TAP (one
 * frame per read and write).  Honest traffic both ways, then what a hostile frontend can do:
 * bad offsets and sizes, refused grants, too many slots, a runaway producer index. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include "backends/netback.h"
#include "fake_domain.h"
#include "unit.h"

#define TABLE_GFN 0x300ull
#define TX_RING_GFN 0x310ull
#define RX_RING_GFN 0x311ull
#define DATA_GFN 0x400ull          /* data page i at DATA_GFN + i, granted as ref DATA_REF + i */
#define TX_REF 1
#define RX_REF 2
#define DATA_REF 10

struct rig {
	struct domain *d;
	netif_tx_front_ring_t tx;
	netif_rx_front_ring_t rx;
	struct netback_ring *nb;
	int tap, peer;             /* netback's end, the "host" end */
};

static grant_entry_v1_t *entry(struct domain *d, grant_ref_t ref)
{
	return (grant_entry_v1_t *)fake_gpa(d, TABLE_GFN << 12) + ref;
}

static void grant(struct domain *d, grant_ref_t ref, uint64_t gfn, bool readonly)
{
	grant_entry_v1_t *e = entry(d, ref);
	e->domid = 0;
	e->frame = (uint32_t)gfn;
	e->flags = GTF_permit_access | (readonly ? GTF_readonly : 0);
}

static uint8_t *data_page(struct rig *g, unsigned int i)
{
	return fake_gpa(g->d, (DATA_GFN + i) << 12);
}

static struct rig *rig_new(bool rx_sg)
{
	struct rig *g = calloc(1, sizeof(*g));
	int sv[2];
	struct xen_add_to_physmap x = { .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table, .idx = 0, .gpfn = TABLE_GFN };

	g->d = fake_domain_new(1);
	if (fake_op(g->d, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, &x, sizeof(x)))
		abort();
	netif_tx_sring_t *txs = fake_gpa(g->d, TX_RING_GFN << 12);
	netif_rx_sring_t *rxs = fake_gpa(g->d, RX_RING_GFN << 12);
	SHARED_RING_INIT(txs);
	FRONT_RING_INIT(&g->tx, txs, 4096);
	SHARED_RING_INIT(rxs);
	FRONT_RING_INIT(&g->rx, rxs, 4096);
	grant(g->d, TX_REF, TX_RING_GFN, false);
	grant(g->d, RX_REF, RX_RING_GFN, false);
	for (unsigned int i = 0; i < 64; i++)
		grant(g->d, DATA_REF + i, DATA_GFN + i, false);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		abort();
	g->tap = sv[0];
	g->peer = sv[1];
	fcntl(g->tap, F_SETFL, O_NONBLOCK);
	fcntl(g->peer, F_SETFL, O_NONBLOCK);
	int buf = 4 << 20;
	setsockopt(g->tap, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(g->peer, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	g->nb = calloc(1, sizeof(*g->nb));
	netback_ring_init(g->nb, g->d, "vif7.0", txs, rxs, 0, g->tap, rx_sg);
	return g;
}

static void rig_free(struct rig *g)
{
	close(g->tap);
	close(g->peer);
	free(g->nb);
	fake_domain_free(g->d);
	free(g);
}

static void tx_put(struct rig *g, grant_ref_t gref, uint16_t offset, uint16_t flags, uint16_t id, uint16_t size)
{
	netif_tx_request_t *q = RING_GET_REQUEST(&g->tx, g->tx.req_prod_pvt++);
	*q = (netif_tx_request_t){ .gref = gref, .offset = offset, .flags = flags, .id = id, .size = size };
}

static void tx_push(struct rig *g)
{
	int notify;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&g->tx, notify);
	(void)notify;
}

static netif_tx_response_t tx_rsp(struct rig *g)
{
	return *RING_GET_RESPONSE(&g->tx, g->tx.rsp_cons++);
}

static ssize_t host_read(struct rig *g, uint8_t *buf, size_t len)
{
	return recv(g->peer, buf, len, MSG_DONTWAIT);
}

static void test_tx_one(struct unit *u, const void *arg)
{
	struct rig *g = rig_new(false);
	uint8_t got[2048];
	(void)arg;

	for (int i = 0; i < 60; i++)
		data_page(g, 0)[100 + i] = (uint8_t)i;
	tx_put(g, DATA_REF, 100, 0, 7, 60);
	tx_push(g);
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
	CHECK(!(entry(g->d, DATA_REF)->flags & (GTF_reading | GTF_writing)), "grant still in use");
	rig_free(g);
}

static void test_tx_chain(struct unit *u, const void *arg)
{
	struct rig *g = rig_new(false);
	uint8_t got[8192];
	(void)arg;

	memset(data_page(g, 0), 'a', 4096);
	memset(data_page(g, 1), 'b', 4096);
	memset(data_page(g, 2), 'c', 4096);
	/* 5000 bytes: 2000 in the first slot, then 2000 and 1000. */
	tx_put(g, DATA_REF, 0, NETTXF_more_data, 1, 5000);
	tx_put(g, DATA_REF + 1, 96, NETTXF_more_data, 2, 2000);
	tx_put(g, DATA_REF + 2, 0, 0, 3, 1000);
	tx_push(g);
	CHECK_INT(netback_ring_tx(g->nb, 64), NETBACK_IDLE);
	CHECK_INT(host_read(g, got, sizeof(got)), 5000);
	CHECK(got[1999] == 'a' && got[2000] == 'b' && got[3999] == 'b' && got[4000] == 'c', "chain copied wrong");
	for (int i = 1; i <= 3; i++) {
		netif_tx_response_t r = tx_rsp(g);
		CHECK(r.id == i && r.status == NETIF_RSP_OKAY, "response %d: id %u status %d", i, r.id, r.status);
	}
	rig_free(g);
}

static void test_tx_extra_info(struct unit *u, const void *arg)
{
	struct rig *g = rig_new(false);
	uint8_t got[2048];
	(void)arg;

	tx_put(g, DATA_REF, 0, NETTXF_extra_info, 4, 100);
	struct netif_extra_info *x = (struct netif_extra_info *)RING_GET_REQUEST(&g->tx, g->tx.req_prod_pvt++);
	*x = (struct netif_extra_info){ .type = XEN_NETIF_EXTRA_TYPE_GSO };
	tx_push(g);
	CHECK_INT(netback_ring_tx(g->nb, 64), NETBACK_IDLE);
	CHECK_INT(host_read(g, got, sizeof(got)), 100);
	netif_tx_response_t r = tx_rsp(g);
	CHECK(r.id == 4 && r.status == NETIF_RSP_OKAY, "first: id %u status %d", r.id, r.status);
	CHECK_INT(tx_rsp(g).status, NETIF_RSP_NULL);
	rig_free(g);
}

/* Each row: one bad packet (built by fn); every slot of it answered with `status`, nothing sent. */
struct bad_tx { const char *name; void (*build)(struct rig *g); unsigned int slots; };

static void bad_offset(struct rig *g) { tx_put(g, DATA_REF, 4000, 0, 1, 200); }
static void bad_short(struct rig *g) { tx_put(g, DATA_REF, 0, 0, 1, 10); }
static void bad_gref(struct rig *g) { tx_put(g, 1999, 0, 0, 1, 100); }
static void bad_ungranted(struct rig *g) { entry(g->d, DATA_REF)->flags = 0; tx_put(g, DATA_REF, 0, 0, 1, 100); }
static void bad_foreign(struct rig *g) { entry(g->d, DATA_REF)->domid = 3; tx_put(g, DATA_REF, 0, 0, 1, 100); }
static void bad_frag_sum(struct rig *g)
{
	tx_put(g, DATA_REF, 0, NETTXF_more_data, 1, 100);
	tx_put(g, DATA_REF + 1, 0, 0, 2, 100);         /* later fragments as big as the whole */
}
static void bad_frag_overrun(struct rig *g)
{
	tx_put(g, DATA_REF, 0, NETTXF_more_data, 1, 3000);
	tx_put(g, DATA_REF + 1, 4000, 0, 2, 1000);
}
static void bad_too_many(struct rig *g)
{
	for (unsigned int i = 0; i < 19; i++)
		tx_put(g, DATA_REF + i, 0, NETTXF_more_data, (uint16_t)i, i == 0 ? 19 * 100 : 100);
	tx_put(g, DATA_REF + 19, 0, 0, 19, 100);
}
static void bad_truncated(struct rig *g) { tx_put(g, DATA_REF, 0, NETTXF_more_data, 1, 300); }
static void bad_extra_type(struct rig *g)
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
	struct rig *g = rig_new(false);
	uint8_t got[8192];

	t->build(g);
	tx_push(g);
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
	entry(g->d, DATA_REF + 40)->flags = GTF_permit_access;
	tx_put(g, DATA_REF + 40, 0, 0, 99, 64);
	tx_push(g);
	netback_ring_tx(g->nb, 64);
	while (host_read(g, got, sizeof(got)) > 0 && got[0] == 0xee)
		;
	CHECK_INT(g->tx.sring->rsp_prod, before + 1);
	CHECK_INT(tx_rsp(g).status, NETIF_RSP_OKAY);
	rig_free(g);
}

static void test_tx_runaway_producer(struct unit *u, const void *arg)
{
	struct rig *g = rig_new(false);
	(void)arg;

	g->tx.sring->req_prod = 1000;      /* more than a ring (256) ahead */
	CHECK_INT(netback_ring_tx(g->nb, 64), NETBACK_BROKEN);
	CHECK(g->nb->broken, "not marked broken");
	CHECK_INT(g->tx.sring->rsp_prod, 0);
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_BROKEN);
	rig_free(g);
}

static void test_tx_budget(struct unit *u, const void *arg)
{
	struct rig *g = rig_new(false);
	uint8_t got[2048];
	int frames = 0;
	(void)arg;

	for (int i = 0; i < 200; i++)
		tx_put(g, DATA_REF, 0, 0, (uint16_t)i, 64);
	tx_push(g);
	CHECK_INT(netback_ring_tx(g->nb, 100), NETBACK_MORE);
	CHECK_INT(g->tx.sring->rsp_prod, 100);
	CHECK_INT(netback_ring_tx(g->nb, 100), NETBACK_MORE);
	CHECK_INT(netback_ring_tx(g->nb, 100), NETBACK_IDLE);
	while (host_read(g, got, sizeof(got)) == 64)
		frames++;
	CHECK_INT(frames, 200);
	/* Idle with req_event set: the frontend's next request will notify. */
	CHECK_INT(g->tx.sring->req_event, 201);
	rig_free(g);
}

static void rx_post(struct rig *g, uint16_t id, grant_ref_t gref)
{
	netif_rx_request_t *q = RING_GET_REQUEST(&g->rx, g->rx.req_prod_pvt++);
	*q = (netif_rx_request_t){ .id = id, .gref = gref };
	int notify;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&g->rx, notify);
	(void)notify;
}

static void test_rx_backpressure(struct unit *u, const void *arg)
{
	struct rig *g = rig_new(false);
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
	CHECK(!memcmp(data_page(g, 3), frame, sizeof(frame)), "frame not copied into the page");
	rx_post(g, 6, DATA_REF + 4);
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_IDLE);
	CHECK_INT(RING_GET_RESPONSE(&g->rx, 1)->status, 100);
	CHECK_INT(g->nb->st.rx_packets, 2);
	CHECK_INT(g->nb->st.rx_bytes, 1600);
	CHECK(!(entry(g->d, DATA_REF + 3)->flags & (GTF_reading | GTF_writing)), "rx grant still in use");
	rig_free(g);
}

static void test_rx_big_frames(struct unit *u, const void *arg)
{
	static uint8_t frame[9000];
	(void)arg;

	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i / 13);
	/* Without feature-sg a frame over a page cannot be handed over: dropped, counted. */
	struct rig *g = rig_new(false);
	rx_post(g, 1, DATA_REF);
	CHECK_INT(send(g->peer, frame, sizeof(frame), 0), (long)sizeof(frame));
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_IDLE);
	CHECK_INT(g->nb->st.rx_drops, 1);
	CHECK_INT(g->rx.sring->rsp_prod, 0);
	rig_free(g);
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
	CHECK(!memcmp(data_page(g, 2), frame + 8192, 9000 - 8192), "last part not copied");
	rig_free(g);
}

static void test_rx_readonly_grant(struct unit *u, const void *arg)
{
	struct rig *g = rig_new(false);
	uint8_t frame[200] = { 1, 2, 3 };
	(void)arg;

	grant(g->d, DATA_REF, DATA_GFN, true);       /* we must write: refused */
	memset(data_page(g, 0), 0x55, 4096);
	rx_post(g, 9, DATA_REF);
	send(g->peer, frame, sizeof(frame), 0);
	netback_ring_rx(g->nb, 64);
	CHECK_INT(g->rx.sring->rsp_prod, 1);
	CHECK_INT(RING_GET_RESPONSE(&g->rx, 0)->status, NETIF_RSP_ERROR);
	CHECK_INT(RING_GET_RESPONSE(&g->rx, 0)->id, 9);
	CHECK(data_page(g, 0)[0] == 0x55, "read-only page written");
	CHECK_INT(g->nb->st.rx_errors, 1);
	rig_free(g);
}

static void test_rx_runaway_producer(struct unit *u, const void *arg)
{
	struct rig *g = rig_new(false);
	(void)arg;

	g->rx.sring->req_prod = 0x80000000u;
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_BROKEN);
	CHECK(g->nb->broken, "not marked broken");
	rig_free(g);
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
	return unit_finish(&u);
}
