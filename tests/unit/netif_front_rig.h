/* The test as netfront against netback's real rings (backends/netback_ring.c) on a fake domain:
 * the grant table, data pages granted to Dom0, the tx and rx shared rings granted as netfront
 * grants them, and a SOCK_SEQPACKET socketpair as the TAP (one frame per read and write).  The
 * guest layout every netback ring test and bench/backend_rings.c use (blkif_front_rig.h's too):
 *   grant table    NETIF_RIG_TABLE_GFN
 *   tx ring        NETIF_RIG_TX_RING_GFN, granted as NETIF_RIG_TX_REF
 *   rx ring        NETIF_RIG_RX_RING_GFN, granted as NETIF_RIG_RX_REF
 *   data page i    NETIF_RIG_DATA_GFN + i, granted as NETIF_RIG_DATA_REF + i */
#ifndef XENITH_NETIF_FRONT_RIG_H
#define XENITH_NETIF_FRONT_RIG_H
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "backends/netback.h"
#include "fake_grants.h"

#define NETIF_RIG_TABLE_GFN 0x300ull
#define NETIF_RIG_TX_RING_GFN 0x310ull
#define NETIF_RIG_RX_RING_GFN 0x311ull
#define NETIF_RIG_DATA_GFN 0x400ull
#define NETIF_RIG_TX_REF 1
#define NETIF_RIG_RX_REF 2
#define NETIF_RIG_DATA_REF 10

/* One vif queue: netfront's rings, netback's over them, the TAP's two ends. */
struct netif_rig {
	struct domain *d;
	netif_tx_front_ring_t tx;
	netif_rx_front_ring_t rx;
	struct netback_ring *nb;
	int tap, peer;               /* netback's end, the host's end */
	evtchn_port_t tx_port, rx_port; /* 0 unless options.ports */
	unsigned int kicks;          /* pushes netif_rig_tx_push was told to notify */
};

struct netif_rig_options {
	unsigned int data_pages;
	int sockbuf;                 /* bytes asked for each end's send and receive buffers */
	struct netback_features feat;
	const char *name;            /* NULL: "vif7.0" */
	bool ports;                  /* unbound guest ports for split tx/rx event channels */
};

/* Sets the rig up; -1 with why in err[len] when the socketpair is refused (nothing left to undo). */
static inline int netif_rig_init(struct netif_rig *g, const struct netif_rig_options *o, char *err, size_t len)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv)) {
		snprintf(err, len, "socketpair: %s", strerror(errno));
		return -1;
	}
	g->tap = sv[0];
	g->peer = sv[1];
	for (unsigned int i = 0; i < 2; i++) {
		fcntl(sv[i], F_SETFL, O_NONBLOCK);
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &o->sockbuf, sizeof(o->sockbuf));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &o->sockbuf, sizeof(o->sockbuf));
	}
	g->d = fake_domain_granting(NETIF_RIG_TABLE_GFN, NETIF_RIG_DATA_REF, NETIF_RIG_DATA_GFN, o->data_pages);
	netif_tx_sring_t *txs = fake_gpa(g->d, NETIF_RIG_TX_RING_GFN << 12);
	netif_rx_sring_t *rxs = fake_gpa(g->d, NETIF_RIG_RX_RING_GFN << 12);
	SHARED_RING_INIT(txs);
	FRONT_RING_INIT(&g->tx, txs, 4096);
	SHARED_RING_INIT(rxs);
	FRONT_RING_INIT(&g->rx, rxs, 4096);
	fake_grant(g->d, NETIF_RIG_TABLE_GFN, NETIF_RIG_TX_REF, NETIF_RIG_TX_RING_GFN, false);
	fake_grant(g->d, NETIF_RIG_TABLE_GFN, NETIF_RIG_RX_REF, NETIF_RIG_RX_RING_GFN, false);
	if (o->ports) {
		g->tx_port = fake_unbound_port(g->d);
		g->rx_port = fake_unbound_port(g->d);
	}
	g->nb = calloc(1, sizeof(*g->nb));
	if (!g->nb)
		abort();
	netback_ring_init(g->nb, &(struct netback_ring_params){ .dom = g->d, .name = o->name ? o->name : "vif7.0",
		.tx_page = txs, .rx_page = rxs, .tx_port = g->tx_port, .rx_port = g->rx_port, .tap_fd = g->tap,
		.feat = o->feat });
	return 0;
}

static inline void netif_rig_fini(struct netif_rig *g)
{
	close(g->tap);
	close(g->peer);
	free(g->nb);
	fake_domain_free(g->d);
}

/* netif_rig_init on the heap, aborting when refused, and its undoing. */
static inline struct netif_rig *netif_rig_new(const struct netif_rig_options *o)
{
	struct netif_rig *g = calloc(1, sizeof(*g));
	char err[128];

	if (!g || netif_rig_init(g, o, err, sizeof(err)))
		abort();
	return g;
}

static inline void netif_rig_free(struct netif_rig *g)
{
	netif_rig_fini(g);
	free(g);
}

/* Grant entry `ref`. */
static inline grant_entry_v1_t *netif_rig_entry(struct domain *d, grant_ref_t ref)
{
	return fake_grant_entry(d, NETIF_RIG_TABLE_GFN, ref);
}

/* (Re)grants frame `gfn` as `ref`. */
static inline void netif_rig_grant(struct domain *d, grant_ref_t ref, uint64_t gfn, bool readonly)
{
	fake_grant(d, NETIF_RIG_TABLE_GFN, ref, gfn, readonly);
}

/* Data page i, as the guest sees it. */
static inline uint8_t *netif_rig_data(struct netif_rig *g, unsigned int i)
{
	return fake_gpa(g->d, (NETIF_RIG_DATA_GFN + i) << 12);
}

/* Pushes the tx requests put: RING_PUSH_REQUESTS_AND_CHECK_NOTIFY's verdict, counted in kicks. */
static inline bool netif_rig_tx_push(struct netif_rig *g)
{
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&g->tx, notify);
	g->kicks += notify != 0;
	return notify;
}

#endif
