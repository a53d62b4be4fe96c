/* netback: the Dom0 half of Xen's split network driver (docs/netif.md), one instance per vif,
 * inside the domain's VMM.  netback.c is the device (config, TAP, hotplug, xenbus, control);
 * netback_ring.c the data path on the shared rings, which is pure enough to unit-test;
 * netback_csum.c completes the checksums of csum_blank frames; netback_offload.c maps GSO and
 * checksum flags between the rings and the TAP's virtio_net_hdr. */
#ifndef XENITH_NETBACK_H
#define XENITH_NETBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <linux/virtio_net.h>
#include "xen/xen_public.h"
/* ring.h leaves the barriers to us at this interface version. */
#ifndef xen_mb
#define xen_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif
#include <string.h>
#include <xen/io/netif.h>

struct domain;

#define NETBACK_MAX_VIFS 16
#define NETBACK_SPEC_MAX 512
#define NETBACK_CLOSE_TIMEOUT_MS 10000   /* how long a detach waits for the frontend, as libxl */

/* ---- One vif's configuration: the --vif / vif-attach syntax (netback.c) ---- */
struct netback_config {
	int devid;                       /* -1: not given (vif-attach picks the next one) */
	uint8_t mac[6];
	bool has_mac;
	char bridge[IFNAMSIZ];
	char script[256];                /* as given: a bare name or a path */
	char ip[128];                    /* "" when not given */
	char vifname[IFNAMSIZ];          /* "" : vif<domid>.<devid> */
	char rate[32];
	char netdev[IFNAMSIZ];           /* for vif-route: Dom0's uplink (optional) */
	char gatewayip[64];              /* for vif-route: an address for Dom0's end (optional) */
};
/* Parses "key=value,key=value"; unknown keys and bad values are errors.  Defaults are not filled
 * in (see netback_resolve_config).  0, or -1 with err. */
int netback_config_parse(const char *spec, struct netback_config *c, char *err, size_t errlen);

/* ---- The data path (netback_ring.c) ---- */
struct netback_stats {
	uint64_t tx_packets, tx_bytes, tx_drops, tx_errors;    /* tx: guest to Dom0 */
	uint64_t rx_packets, rx_bytes, rx_drops, rx_errors;    /* rx: Dom0 to guest */
	uint64_t tx_notifies, rx_notifies;   /* events sent: a push crossed the ring's rsp_event */
	uint64_t kicks;                      /* events received (one port for both rings; atomic) */
};

#define NETBACK_MAX_FRAME 65535          /* XEN_NETIF_MAX_TX_SIZE */
#define NETBACK_TX_SLOTS_MAX XEN_NETIF_NR_SLOTS_MIN   /* 18, what every backend accepts */

/* What the two ends agreed at connect (docs/netif.md, "Features"); all false is the plainest vif
 * (what a frontend that reads no feature gets). */
struct netback_features {
	bool rx_sg;                      /* frontend's feature-sg: rx frames may span slots */
	bool rx_gso_tcpv4, rx_gso_tcpv6; /* frontend's feature-gso-tcpv4/6: rx frames may be GSO */
	bool rx_csum_blank;              /* frontend takes NETRXF_csum_blank / data_validated on rx
					  * (it did not write feature-no-csum-offload) */
	bool rx_ipv6_csum;               /* and for IPv6 (its feature-ipv6-csum-offload) */
	bool vnet_hdr;                   /* tap_fd's reads and writes start with a virtio_net_hdr */
	bool tx_gso;                     /* we offered feature-gso-tcpv4/v6: tx frames may be GSO */
};

/* One queue's rings: the frontend's pages (already mapped), its event channel(s), its TAP fd. */
struct netback_ring_params {
	struct domain *dom;
	const char *name;                /* for log lines: "vif7.0" or "vif7.0-q1" */
	void *tx_page, *rx_page;
	evtchn_port_t tx_port, rx_port;  /* the same port unless feature-split-event-channels */
	int tap_fd;                      /* any fd with frame-per-read/write semantics */
	struct netback_features feat;
};

/* What a frame read from the TAP with vnet header *h becomes on the rx ring. */
struct netback_rx_meta {
	uint16_t flags;                  /* NETRXF_data_validated / csum_blank */
	uint8_t gso_type;                /* XEN_NETIF_GSO_TYPE_*: NONE, or an extra slot follows */
	uint16_t gso_size;
};

struct netback_ring {
	struct domain *dom;
	const char *name;                /* the vif's (or queue's), for log lines */
	netif_tx_back_ring_t tx;
	netif_rx_back_ring_t rx;
	evtchn_port_t tx_port, rx_port;  /* events for tx responses go to tx_port, rx ones to rx_port */
	int tap_fd;                      /* any fd with frame-per-read/write semantics */
	struct netback_features feat;
	bool broken;                     /* an impossible producer index: no longer served */
	struct netback_stats st;
	uint64_t log_window_ns;          /* rate limit for complaints about the guest */
	unsigned int log_count;
	uint64_t log_suppressed;
	size_t rx_pending;               /* a frame read from the TAP, waiting for rx slots */
	struct virtio_net_hdr rx_vhdr;   /* its vnet header (feat.vnet_hdr) */
	struct netback_rx_meta rx_meta;  /* and what it becomes on the ring */
	unsigned int tap_offloads;       /* TUN_F_* the TAP took at init (netback_tap_offloads) */
	uint8_t buf[NETBACK_MAX_FRAME + 1];
	uint8_t rx_buf[NETBACK_MAX_FRAME + 1];
};

/* What a round of work left behind. */
enum netback_work {
	NETBACK_IDLE,                    /* all done: wait for the guest (tx) or the TAP (rx) */
	NETBACK_MORE,                    /* the budget ran out: come back next loop iteration */
	NETBACK_NO_SLOTS,                /* rx: a frame waits for slots; stop polling the TAP */
	NETBACK_BROKEN,
};

/* The rings are the frontend's pages (already mapped); they keep the indices the guest left. */
void netback_ring_init(struct netback_ring *r, const struct netback_ring_params *p);
/* Guest to TAP: up to `budget` slots.  Notifies the guest as the ring asks; never re-arms
 * req_event (a busy frontend then pushes without notifying): netback_ring_arm does. */
enum netback_work netback_ring_tx(struct netback_ring *r, unsigned int budget);
/* TAP to guest: up to `budget` frames. */
enum netback_work netback_ring_rx(struct netback_ring *r, unsigned int budget);
/* The queue's thread is about to sleep (backends/ring_poller.h): re-arms tx's req_event
 * (RING_FINAL_CHECK_FOR_REQUESTS) and says whether requests came meanwhile.  A broken ring: false. */
bool netback_ring_arm(struct netback_ring *r);

/* ---- Checksum completion for NETTXF_csum_blank (netback_csum.c) ---- */
/* Completes the TCP or UDP checksum of an Ethernet frame netfront sent with NETTXF_csum_blank
 * (IPv4 with options, IPv6 with extension headers), whose checksum field holds the partial
 * pseudo-header sum as Linux leaves a CHECKSUM_PARTIAL packet.  Every length and offset is checked
 * against `len`.  0, or -1 with why (the frame untouched). */
int netback_csum_fill(uint8_t *frame, size_t len, char *why, size_t whylen);
/* RFC 1071: `sum` plus the ones' complement sum of `len` bytes (odd tail zero-padded), folded. */
uint16_t netback_csum_add(uint32_t sum, const uint8_t *p, size_t len);

/* Where an Ethernet frame's TCP or UDP header is: Ethernet II, IPv4 (options) or IPv6 (extension
 * headers), no fragments; every length checked against `len`.  0, or -1 with why. */
struct netback_l4 {
	size_t off;                      /* the L4 header, from the frame's start */
	size_t len;                      /* L4 header and payload, to the IP packet's end */
	size_t hdr_len;                  /* TCP: its data offset; UDP: 8 */
	size_t csum_at;                  /* the checksum field, from the L4 header */
	uint8_t proto;                   /* 6 TCP, 17 UDP */
	uint8_t ip;                      /* 4 or 6 */
};
int netback_l4_find(const uint8_t *frame, size_t len, struct netback_l4 *l4, char *why, size_t whylen);
/* Completes a checksum left partial at virtio's csum_start/csum_offset (the field holds the
 * pseudo-header sum; the sum runs from start to the frame's end; an odd offset is refused).  0, or
 * -1 with why. */
int netback_csum_at(uint8_t *frame, size_t len, size_t start, size_t offset, char *why, size_t whylen);

/* ---- Offloads between the rings' flags and the TAP's vnet header (netback_offload.c) ---- */
/* What a tx packet's first slot and extras asked for. */
struct netback_tx_meta {
	uint16_t flags;                  /* NETTXF_* of the first slot */
	bool gso;                        /* an XEN_NETIF_EXTRA_TYPE_GSO extra came */
	uint16_t gso_size;
	uint8_t gso_type;                /* XEN_NETIF_GSO_TYPE_* */
};
/* Makes the frame ready for the TAP: with feat->vnet_hdr fills *h (GSO, NEEDS_CSUM, DATA_VALID);
 * without, completes a blank checksum in place.  0, or -1 with why (the packet is refused). */
int netback_tx_offload(uint8_t *frame, size_t len, const struct netback_tx_meta *m,
		       const struct netback_features *feat, struct virtio_net_hdr *h, char *why, size_t whylen);
/* May complete the frame's checksum in place (a frontend that takes no blank ones).  0, or -1
 * with why: the frame is dropped. */
int netback_rx_offload(uint8_t *frame, size_t len, const struct virtio_net_hdr *h,
		       const struct netback_features *feat, struct netback_rx_meta *m, char *why, size_t whylen);
/* The TUN_F_* offloads the TAP may use towards a frontend with these features. */
unsigned int netback_tap_offloads(const struct netback_features *feat);

/* ---- The device (netback.c), main thread only ----
 * Its table row is `netback_type` (backends/pv_backend.h); the VMM reaches vifs only through that.
 * Its list and stats lines are docs/netif.md's. */

#endif
