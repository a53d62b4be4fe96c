/* Notify only when needed (issue 14): netback's and blkback's rings on fake domains, with the test
 * playing the frontend by xen/io/ring.h's own macros.
 *
 * What ring.h asks of a backend: push responses with RING_PUSH_RESPONSES_AND_CHECK_NOTIFY and send
 * an event only when the push crossed the frontend's rsp_event; before sleeping, set req_event
 * (RING_FINAL_CHECK_FOR_REQUESTS) so the frontend's next push notifies, and leave it alone while
 * still consuming, so a busy frontend's pushes do not.  The expected counts below follow from those
 * rules for each scenario (worked out in the comments), and the backends' counters must match them:
 *   - a frontend keeping the ring full for N requests: one kick, and one event per backend round
 *     (or exactly one if the frontend never re-arms rsp_event), far fewer than N;
 *   - a frontend that sets rsp_event far ahead: no event until a push reaches it, then one;
 *   - a frontend pushing while the backend is busy is told not to notify by
 *     RING_PUSH_REQUESTS_AND_CHECK_NOTIFY; once the backend went idle, it is told to. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include "backends/blkback.h"
#include "backends/netback.h"
#include "blkif_front_rig.h"
#include "netif_front_rig.h"
#include "unit.h"

/* Data page i is granted as ref DATA_REF + i in both rigs (their layouts are the same). */
#define DATA_REF BLKIF_RIG_DATA_REF
_Static_assert(NETIF_RIG_DATA_REF == BLKIF_RIG_DATA_REF, "one DATA_REF serves both rigs");
#define DATA_PAGES 64
#define NET_RING 256u              /* __CONST_RING_SIZE(netif_tx/rx, 4096) */
#define BLK_RING 32u               /* __CONST_RING_SIZE(blkif, 4096) */
#define DISK_SECTORS 2048

/* ---- netback ---- */

/* The ring test's vif: DATA_PAGES data pages, 8 MiB socket buffers so a full ring's frames fit. */
static struct netif_rig *net_rig_new(void)
{
	return netif_rig_new(&(struct netif_rig_options){ .data_pages = DATA_PAGES, .sockbuf = 8 << 20 });
}

/* One 60-byte packet per slot, from data page (i % DATA_PAGES). */
static void tx_fill(struct netif_rig *g, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		RING_IDX at = g->tx.req_prod_pvt++;
		*RING_GET_REQUEST(&g->tx, at) = (netif_tx_request_t){
			.gref = DATA_REF + at % DATA_PAGES, .offset = 0, .flags = 0, .id = (uint16_t)(at % NET_RING),
			.size = 60,
		};
	}
}

/* Consumes every response there is, as a busy frontend: without re-arming rsp_event. */
static unsigned int tx_reap(struct netif_rig *g)
{
	unsigned int n = 0;
	while (RING_HAS_UNCONSUMED_RESPONSES(&g->tx)) {
		g->tx.rsp_cons++;
		n++;
	}
	return n;
}

static void drain_host(struct netif_rig *g)
{
	uint8_t frame[2048];
	while (recv(g->peer, frame, sizeof(frame), MSG_DONTWAIT) > 0)
		;
}

/* Budget 64 against a ring kept full.  Push 1: req_event is SHARED_RING_INIT's 1, so the frontend
 * kicks once; the backend then never sleeps (every call ends on its budget, and a serve round never
 * re-arms: only netback_ring_arm does, before the poller sleeps), req_event stays 1, so no later
 * push notifies.  `rearm`: the frontend re-arms rsp_event after each reap
 * (RING_FINAL_CHECK_FOR_RESPONSES, as netfront's tx gc does): every backend round's push crosses it,
 * one event per round.  Without: only the first push crosses rsp_event = 1. */
static void test_net_full_ring(struct unit *u, const void *arg)
{
	const bool rearm = arg != NULL;
	const unsigned int rounds = 64, budget = 64;
	struct netif_rig *g = net_rig_new();
	unsigned int handled = 0;

	tx_fill(g, NET_RING);
	CHECK(netif_rig_tx_push(g), "the first push is not told to notify");
	for (unsigned int i = 0; i < rounds; i++) {
		enum netback_work w = netback_ring_tx(g->nb, budget);
		CHECK(w == NETBACK_MORE, "round %u: %d, not MORE", i, (int)w);
		drain_host(g);
		unsigned int got = tx_reap(g);
		CHECK(got == budget, "round %u: %u responses", i, got);
		handled += got;
		if (rearm) {
			int more;
			RING_FINAL_CHECK_FOR_RESPONSES(&g->tx, more);
			CHECK(!more, "responses left after the reap");
		}
		tx_fill(g, got);
		CHECK(!netif_rig_tx_push(g), "round %u: a push while the backend is busy is told to notify", i);
	}
	CHECK_INT(g->kicks, 1);
	CHECK_INT(g->nb->st.tx_packets, handled);
	CHECK_INT(g->nb->st.tx_notifies, rearm ? rounds : 1);
	CHECK(g->nb->st.tx_notifies * 10 < handled, "%llu events for %u packets",
	      (unsigned long long)g->nb->st.tx_notifies, handled);

	/* The last full ring: consumed to the end; serving leaves req_event where it was (nothing is
	 * armed during a round), then the poller arms before it sleeps: req_event just past. */
	CHECK_INT(netback_ring_tx(g->nb, 2 * NET_RING), NETBACK_IDLE);
	drain_host(g);
	CHECK_INT(g->tx.sring->req_event, 1);
	CHECK(!netback_ring_arm(g->nb), "arm saw requests on a drained ring");
	CHECK_INT(g->tx.sring->req_event, g->tx.req_prod_pvt + 1);
	tx_reap(g);
	tx_fill(g, 1);
	CHECK(netif_rig_tx_push(g), "a push to a sleeping backend is not told to notify");
	CHECK_INT(g->kicks, 2);
	netif_rig_free(g);
}

/* rsp_event set 200 ahead: pushes of 64 reach 64, 128, 192 (no event), then 256 crosses it (one). */
static void test_net_rsp_event_ahead(struct unit *u, const void *arg)
{
	struct netif_rig *g = net_rig_new();
	(void)arg;

	tx_fill(g, NET_RING);
	netif_rig_tx_push(g);
	g->tx.sring->rsp_event = g->tx.rsp_cons + 200;
	for (unsigned int i = 0; i < 3; i++) {
		CHECK_INT(netback_ring_tx(g->nb, 64), NETBACK_MORE);
		CHECK(g->nb->st.tx_notifies == 0, "an event at %u responses, before rsp_event 200",
		      g->tx.sring->rsp_prod);
	}
	CHECK_INT(netback_ring_tx(g->nb, 100), NETBACK_IDLE);
	CHECK_INT(g->tx.sring->rsp_prod, NET_RING);
	CHECK_INT(g->nb->st.tx_notifies, 1);
	CHECK_INT(g->nb->st.tx_packets, NET_RING);
	netif_rig_free(g);
}

static void rx_post(struct netif_rig *g, unsigned int n, bool *notify)
{
	int nt;
	for (unsigned int i = 0; i < n; i++) {
		RING_IDX at = g->rx.req_prod_pvt++;
		*RING_GET_REQUEST(&g->rx, at) = (netif_rx_request_t){ .id = (uint16_t)(at % NET_RING),
								      .gref = DATA_REF + at % DATA_PAGES };
	}
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&g->rx, nt);
	*notify = nt;
}

/* RX: 300 frames into 256 posted slots, 64 per call.  The first push of responses crosses
 * rsp_event = 1 (one event); the frontend does not re-arm, so the other three make none.  Frame 257
 * finds no slot: the backend asks for one (req_event = req_cons + 1), so the frontend's next post is
 * told to notify; posts made before that, while slots were plenty, were not. */
static void test_net_rx(struct unit *u, const void *arg)
{
	struct netif_rig *g = net_rig_new();
	uint8_t frame[100] = { 0 };
	bool notify;
	(void)arg;

	rx_post(g, NET_RING, &notify);
	CHECK(notify, "the first post is not told to notify");
	for (unsigned int i = 0; i < 300; i++)
		if (send(g->peer, frame, sizeof(frame), MSG_DONTWAIT) != (ssize_t)sizeof(frame))
			abort();
	for (unsigned int i = 0; i < 4; i++)
		CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_MORE);
	CHECK_INT(g->nb->st.rx_notifies, 1);
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_NO_SLOTS);
	CHECK_INT(g->rx.sring->req_event, NET_RING + 1);
	CHECK_INT(g->nb->st.rx_packets, NET_RING);
	while (RING_HAS_UNCONSUMED_RESPONSES(&g->rx))
		g->rx.rsp_cons++;
	int more;
	RING_FINAL_CHECK_FOR_RESPONSES(&g->rx, more);
	rx_post(g, 64, &notify);
	CHECK(notify, "a post to a backend waiting for slots is not told to notify");
	CHECK_INT(netback_ring_rx(g->nb, 64), NETBACK_IDLE);
	CHECK_INT(g->nb->st.rx_packets, 300);
	CHECK_INT(g->nb->st.rx_notifies, 2);
	rx_post(g, 64, &notify);
	CHECK(!notify, "a post while slots are plenty is told to notify");
	netif_rig_free(g);
}

/* ---- blkback ---- */

static struct blkif_rig *blk_rig_new(void)
{
	return blkif_rig_new(&(struct blkif_rig_options){ .tag = "ring-notify", .sectors = DISK_SECTORS,
							  .data_pages = DATA_PAGES, .engine = BLKBACK_ENGINE_THREADS });
}

/* n one-sector reads. */
static void blk_fill(struct blkif_rig *g, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		RING_IDX at = g->front.req_prod_pvt;
		blkif_rig_seg(blkif_rig_put(g, BLKIF_OP_READ, at, at % DISK_SECTORS, 1), 0, DATA_REF + at % DATA_PAGES,
			      0, 0);
	}
}

static unsigned int blk_reap(struct unit *u, struct blkif_rig *g)
{
	unsigned int n = 0;
	while (RING_HAS_UNCONSUMED_RESPONSES(&g->front)) {
		blkif_response_t r = *RING_GET_RESPONSE(&g->front, g->front.rsp_cons++);
		CHECK(r.status == BLKIF_RSP_OKAY, "request %llu: status %d", (unsigned long long)r.id, r.status);
		n++;
	}
	return n;
}

/* Budget 8 against a ring of 32 kept full.  As for netback: one kick (req_event = 1), the backend
 * never sleeps, so no later push notifies.  Responses come from the workers one push each, in any
 * order, yet only one push ever crosses rsp_event = 1 when the frontend does not re-arm it: exactly
 * one event.  Re-armed after each reap, rsp_event = rsp_cons + 1 is crossed by the first response
 * of the next round: one event per round. */
static void test_blk_full_ring(struct unit *u, const void *arg)
{
	const bool rearm = arg != NULL;
	const unsigned int rounds = 40, budget = 8;
	struct blkif_rig *g = blk_rig_new();
	unsigned int handled = 0;

	blk_fill(g, BLK_RING);
	CHECK(blkif_rig_push(g), "the first push is not told to notify");
	for (unsigned int i = 0; i < rounds; i++) {
		enum blkback_work w = blkback_ring_serve(g->r, budget);
		CHECK(w == BLKBACK_MORE, "round %u: %d, not MORE", i, (int)w);
		blkback_ring_drain(g->r);
		unsigned int got = blk_reap(u, g);
		CHECK(got == budget, "round %u: %u responses", i, got);
		handled += got;
		if (rearm) {
			int more;
			RING_FINAL_CHECK_FOR_RESPONSES(&g->front, more);
			CHECK(!more, "responses left after the reap");
		}
		blk_fill(g, got);
		CHECK(!blkif_rig_push(g), "round %u: a push while the backend is busy is told to notify", i);
	}
	struct blkback_stats s = blkback_ring_stats(g->r);
	CHECK_INT(g->kicks, 1);
	CHECK_INT(s.reads, handled);
	CHECK_INT(s.notifies, rearm ? rounds : 1);

	/* The rest, then the backend sleeps (its thread arms the ring) with req_event just past what
	 * it took. */
	for (int i = 0; i < 8 && blkback_ring_serve(g->r, budget) == BLKBACK_MORE; i++)
		blkback_ring_drain(g->r);
	blkback_ring_drain(g->r);
	CHECK(!blkback_ring_arm(g->r), "arming found requests on a consumed ring");
	CHECK_INT(g->front.sring->req_event, g->front.req_prod_pvt + 1);
	blk_reap(u, g);
	blk_fill(g, 1);
	CHECK(blkif_rig_push(g), "a push to a sleeping backend is not told to notify");
	CHECK_INT(g->kicks, 2);
	blkif_rig_free(g);
}

/* rsp_event 20 ahead of 32 requests: responses are pushed one at a time, and exactly one push
 * takes rsp_prod from 19 to 20.  None before it. */
static void test_blk_rsp_event_ahead(struct unit *u, const void *arg)
{
	struct blkif_rig *g = blk_rig_new();
	(void)arg;

	blk_fill(g, 16);
	blkif_rig_push(g);
	g->front.sring->rsp_event = 20;
	CHECK_INT(blkback_ring_serve(g->r, 64), BLKBACK_IDLE);
	blkback_ring_drain(g->r);
	CHECK(!blkback_ring_arm(g->r), "arming found requests on a consumed ring");
	CHECK_INT(blkback_ring_stats(g->r).notifies, 0);
	blk_fill(g, 16);
	CHECK(blkif_rig_push(g), "a push to a sleeping backend is not told to notify");
	CHECK_INT(blkback_ring_serve(g->r, 64), BLKBACK_IDLE);
	blkback_ring_drain(g->r);
	struct blkback_stats s = blkback_ring_stats(g->r);
	CHECK_INT(s.notifies, 1);
	CHECK_INT(s.reads, 32);
	blkif_rig_free(g);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	static const int yes = 1;

	unit_case(&u, "netback-full-ring-busy-frontend", test_net_full_ring, NULL);
	unit_case(&u, "netback-full-ring-rearming-frontend", test_net_full_ring, &yes);
	unit_case(&u, "netback-rsp-event-far-ahead", test_net_rsp_event_ahead, NULL);
	unit_case(&u, "netback-rx-slots-and-req-event", test_net_rx, NULL);
	unit_case(&u, "blkback-full-ring-busy-frontend", test_blk_full_ring, NULL);
	unit_case(&u, "blkback-full-ring-rearming-frontend", test_blk_full_ring, &yes);
	unit_case(&u, "blkback-rsp-event-far-ahead", test_blk_rsp_event_ahead, NULL);
	return unit_finish(&u);
}
