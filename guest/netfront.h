/*
 * netfront: the frontend half of Xen's netif protocol (xen/io/netif.h), in the manner of Mini-OS
 * netfront.c and Linux xen-netfront, run in ring 3.  Up to NF_MAX_DEVS devices, device/vif/<devid>.
 *
 * Handshake (docs/netif.md): read device/vif/N/{backend,backend-id,mac} and the backend's `ip`
 * ("a.b.c.d[/prefix]"); wait for the backend to reach InitWait (2); grant a tx and an rx ring page
 * and NF_RX_BUFS receive pages to the backend; allocate an unbound event channel for it; write
 * tx-ring-ref, rx-ring-ref, event-channel (or event-channel-tx and -rx), request-rx-copy = 1,
 * feature-rx-notify = 1, feature-sg and feature-no-csum-offload in one transaction, then state =
 * Connected (4), and wait for the backend's Connected.  Every receive buffer is posted.
 *
 * Features (struct netfront_options; each used only if the backend offers it, absent = off, as
 * Linux's netfront reads them): feature-sg (tx frames over several slots, rx frames gathered from
 * NETRXF_more_data chains: netfront_slots.c), checksum offload (we write feature-no-csum-offload =
 * 0; rx frames flagged NETRXF_csum_blank / data_validated are not checked again; tx UDP frames go
 * with a partial checksum and NETTXF_csum_blank | data_validated unless the backend wrote
 * feature-no-csum-offload = 1), split event channels (feature-split-event-channels: a port for tx
 * and one for rx), multi-queue (multi-queue-max-queues: min(its max, NF_MAX_QUEUES) queues, each a
 * tx and an rx ring with their ports under queue-N/, the rx buffers shared out between them, a
 * frame's queue chosen by a hash of its IPv4 flow; one queue: the top-level keys).  No GSO.
 *
 * Buffers are granted once and the grants reused: tx pages read-only (a slot per page), rx pages
 * read-write (request-rx-copy: the backend copies into them).  Nothing the backend writes into the
 * shared rings is trusted: ids, offsets, lengths and producer indices are checked, and what fails
 * the check is counted and dropped.
 *
 * Waiting is SCHEDOP_poll on the (masked) ports, with the ring's *_event fields set by
 * RING_FINAL_CHECK_FOR_RESPONSES so that the backend notifies us; with options.poll the rings are
 * busy-polled from ring 3 instead and rsp_event is left behind, so that a backend need not notify.
 */
#ifndef GUEST_NETFRONT_H
#define GUEST_NETFRONT_H

#include <stddef.h>
#include <stdint.h>
#include "klib.h"           /* memcpy and size_t, which ring.h's FLEX macros want */
#include "hypercall.h"

/* ring.h leaves the barriers to us at this interface version; x86 is TSO. */
#ifndef xen_mb
#define xen_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __asm__ __volatile__("" ::: "memory")
#define xen_wmb() __asm__ __volatile__("" ::: "memory")
#endif
#include <xen/io/netif.h>
#include <xen/io/xenbus.h>
#include "netfront_slots.h"

#define NF_MAX_DEVS  3          /* 3 * (64 + 64 + 2) grant refs of our 504 */
#define NF_TX_BUFS   64
#define NF_RX_BUFS   64
#define NF_MTU_FRAME 1514       /* Ethernet header + 1500 */
#define NF_RX_RING_SIZE __CONST_RING_SIZE(netif_rx, 4096)
#define NF_TX_RING_SIZE __CONST_RING_SIZE(netif_tx, 4096)
#define NF_RX_FRAME_MAX 65535   /* a gathered rx frame (more than the stack takes: counted, then dropped there) */

/* What a frontend asks for (netfront_options.features); the backend's keys decide what is used. */
#define NF_FEAT_SG    1u        /* feature-sg */
#define NF_FEAT_CSUM  2u        /* checksum offload (feature-no-csum-offload = 0) */
#define NF_FEAT_SPLIT 4u        /* feature-split-event-channels */
#define NF_FEAT_MQ    8u        /* multi-queue-num-queues */
#define NF_FEAT_ALL   (NF_FEAT_SG | NF_FEAT_CSUM | NF_FEAT_SPLIT | NF_FEAT_MQ)
#define NF_MAX_QUEUES 2

struct netfront_options {
    unsigned int features;      /* NF_FEAT_* asked for */
    unsigned int sg_slot;       /* with sg: bytes per tx slot (64..4096; 0: 4096) */
    int poll;                   /* busy-poll the rings instead of sleeping on the ports */
};

/* netfront_send_flags: the frame is IPv4/UDP with a partial checksum (only if tx_csum_offload). */
#define NF_TX_CSUM_PARTIAL 1u

struct netfront_stats {
    uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
    uint64_t rx_errors;         /* negative status, bad offset/length, more_data/extra_info chains */
    uint64_t tx_errors;         /* tx responses with status != OKAY */
    uint64_t tx_busy;           /* netfront_send found no free slot */
    uint64_t bad_responses;     /* ids out of range or not in flight, producer jumps */
    uint64_t notifies;          /* EVTCHNOP_send to the backend (hypercalls) */
    uint64_t events;            /* the backend's notifications seen (a port found pending) */
    uint64_t tx_slots;          /* tx requests (more than tx_frames with sg) */
};

/* One queue: a tx and an rx ring, their port(s), its share of the rx buffers. */
struct netfront_queue {
    evtchn_port_t port;         /* the tx port; the only one unless split */
    evtchn_port_t rx_port;      /* == port unless split event channels */
    int tx_ring_ref, rx_ring_ref;
    netif_tx_front_ring_t tx;
    netif_rx_front_ring_t rx;
    uint8_t *tx_ring_page, *rx_ring_page;
    unsigned int rx_first, rx_count;        /* its rx buffers: rx_first.. */
    uint16_t rx_slot_buf[NF_RX_RING_SIZE];  /* which buffer each rx request slot carries */
    struct nf_rx_chain rxc;                 /* the rx frame being gathered */
    uint8_t *rx_gather;                     /* its buffer, NF_RX_FRAME_MAX bytes */
    uint64_t tx_frames, rx_frames;          /* how the traffic spread */
};

struct netfront {
    unsigned int devid;
    char nodename[32];          /* device/vif/N (relative to our home) */
    char backend[96];           /* the backend's absolute path */
    domid_t backend_id;
    uint8_t mac[6];
    uint32_t ip;                /* host order; 0 if the backend has no ip node */
    unsigned int prefix;
    struct netfront_options opt;
    int sg, tx_csum_offload, split;     /* negotiated: tx over several slots, tx csum_blank, two ports */
    unsigned int nr_queues;             /* 1..NF_MAX_QUEUES */
    struct netfront_queue q[NF_MAX_QUEUES];
    int connected;
    struct netfront_stats st;
    /* Buffers and their bookkeeping. */
    uint8_t (*tx_bufs)[4096], (*rx_bufs)[4096];
    grant_ref_t tx_gref[NF_TX_BUFS], rx_gref[NF_RX_BUFS];
    uint8_t tx_inflight[NF_TX_BUFS];        /* 1: on the ring; 2: claimed by net-hostile */
    uint8_t tx_answered[NF_TX_BUFS];        /* claimed buffers: a response came, with tx_status */
    int16_t tx_status[NF_TX_BUFS];
    uint8_t tx_q[NF_TX_BUFS];               /* the queue a tx buffer's request went to */
    uint8_t rx_posted[NF_RX_BUFS];
    unsigned int tx_next;
    uint16_t rx_frame_flags;                /* NETRXF_* of the frame handed to the rx function */
    int granted;                            /* the grants above are live */
};

/* The devices, by slot (not devid); netfront_get(devid) finds a connected one, netfront_slot() a
 * free slot.  NULL if none. */
extern struct netfront netfronts[NF_MAX_DEVS];
struct netfront *netfront_get(unsigned int devid);
struct netfront *netfront_slot(void);

/* Connects device/vif/devid, waiting up to timeout_s for each handshake step.  NULL, or why not
 * (formatted into why, WHY_SIZE).  An absent `ip` node is not an error here: nf->ip stays 0. */
const char *netfront_init(struct netfront *nf, unsigned int devid, uint64_t timeout_s, char *why);
/* The same with options (netfront_init asks for NF_FEAT_ALL, no polling).  Kept across a resume. */
const char *netfront_init_opts(struct netfront *nf, unsigned int devid, uint64_t timeout_s,
                               const struct netfront_options *opt, char *why);

/* Queues one frame (len <= NF_MTU_FRAME) and notifies as the ring says: 0, -XEN_EAGAIN when every
 * tx slot is in flight (call netfront_poll or netfront_wait), -XEN_EINVAL for a bad length,
 * -XEN_ENODEV when not connected. */
int netfront_send(struct netfront *nf, const void *frame, size_t len);
/* The same with NF_TX_CSUM_PARTIAL (-XEN_EINVAL unless tx_csum_offload). */
int netfront_send_flags(struct netfront *nf, const void *frame, size_t len, unsigned int flags);

/* fn may read nf->rx_frame_flags (NETRXF_csum_blank / data_validated: the checksum is not to be checked). */
typedef void (*netfront_rx_fn)(const uint8_t *frame, size_t len, void *arg);
/* Reclaims tx responses and hands every received frame to fn, re-posting the buffers.  Returns the
 * number of frames received. */
int netfront_poll(struct netfront *nf, netfront_rx_fn fn, void *arg);

/* Sleeps until the backend notifies us or system time passes deadline_ns (0: no deadline).  Returns
 * at once if responses are already waiting.  0 on an event, -XEN_ETIMEDOUT at the deadline. */
int netfront_wait(struct netfront *nf, uint64_t deadline_ns);
/* As netfront_wait's checks, without sleeping: 1 if responses wait (the event indices are set either way). */
int netfront_ready(struct netfront *nf);

/* Its ports (one or two per queue) into ports[]: the number. */
#define NF_MAX_PORTS (2 * NF_MAX_QUEUES)
unsigned int netfront_ports(const struct netfront *nf, evtchn_port_t ports[NF_MAX_PORTS]);

/* Free tx slots (those not in flight). */
unsigned int netfront_tx_free(struct netfront *nf);

/* For net-hostile only (queue 0): a free tx buffer's index, its page and grant ref, and the raw ring.  The
 * caller fills requests itself; netfront_poll reclaims what the backend answers. */
int netfront_tx_claim(struct netfront *nf, uint8_t **page, grant_ref_t *gref);
void netfront_tx_unclaim(struct netfront *nf, int id);
/* A claimed buffer's answer: 1 and its status once the backend responded, else 0. */
int netfront_tx_result(struct netfront *nf, int id, int16_t *status);
/* Puts requests on the tx ring as they are (no checks) and notifies as the ring says. */
void netfront_tx_push_raw(struct netfront *nf, const netif_tx_request_t *reqs, unsigned int n);

/* Reclaims tx responses only (no rx processing, so safe inside an rx handler). */
void netfront_tx_reclaim(struct netfront *nf);
/* Reclaims tx responses until a slot is free or deadline_ns: 0, -XEN_ETIMEDOUT, -XEN_ENODEV. */
int netfront_tx_wait(struct netfront *nf, uint64_t deadline_ns);
/* Our state to Closed (6), grants revoked (busy ones stay), port closed.  For a backend that is
 * Closing. */
void netfront_close(struct netfront *nf);

/* Before a suspend: stops nothing (callers just send no more) but waits until every frame on the
 * tx ring is answered or deadline_ns.  The number still in flight. */
unsigned int netfront_quiesce(struct netfront *nf, uint64_t deadline_ns);
/* In a new domain after a suspend (Linux's netfront_resume, then talk_to_netback): a connected
 * device forgets its old connection (its grants are void, its port gone: nothing revoked or
 * closed; frames in flight are lost) and connects again to the new backend at the same path,
 * which waits in InitWait: fresh rings and buffers granted, a new port, the ring details
 * published, Connected.  The same struct, devid, MAC and IP.  NULL (also for a device not
 * connected), or why not (in why; the device is then closed). */
const char *netfront_resume(struct netfront *nf, uint64_t timeout_s, char *why);

/* Backend's xenbus state (read from xenstore), or -errno. */
int netfront_backend_state(struct netfront *nf);

#endif
