/*
 * netfront's slot arithmetic, apart from the rings so that the host's unit tests can compile it
 * (tests/unit/test_guest_netfront_slots.c): a frame over several tx slots (feature-sg) and a
 * received frame put back together from several rx responses (NETRXF_more_data), with the extra
 * info slots (NETRXF_extra_info) stepped over; and the queue a tx frame goes to (multi-queue).
 *
 * The protocol's facts (xen/io/netif.h): a tx frame's first request carries the whole frame's size
 * and every later one its own fragment's, NETTXF_more_data on all but the last; an rx response's
 * status is its own fragment's length, NETRXF_more_data on all but the last; extra info slots follow
 * the first response only, chained by XEN_NETIF_EXTRA_FLAG_MORE.  Nothing here trusts the backend:
 * a fragment outside its page, a frame beyond the buffer, a chain without sg, an extra info flag
 * past the first slot: the whole frame is dropped (once, at its end).
 */
#ifndef GUEST_NETFRONT_SLOTS_H
#define GUEST_NETFRONT_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#define NF_PAGE_SIZE   4096u
#define NF_MAX_SLOTS   18u      /* XEN_NETIF_NR_SLOTS_MIN: what every backend takes in one frame */

/* Splits a frame of len bytes into slots of at most slot_max bytes each: the fragments' lengths in
 * frag[], their number returned (0 if len is 0, slot_max is 0, or more than max_slots are needed). */
unsigned int nf_tx_split(size_t len, size_t slot_max, uint16_t *frag, unsigned int max_slots);
/* The size field of slot i's tx request: the frame's length for the first, the fragment's after. */
static inline uint16_t nf_tx_req_size(const uint16_t *frag, unsigned int i, size_t len)
{
    return i ? frag[i] : (uint16_t)len;
}

/* The queue (0..nr_queues-1) for an Ethernet frame: a hash of an IPv4 frame's addresses and
 * protocol, and of its ports for an unfragmented UDP or TCP one, so that a flow keeps its order on
 * one queue; 0 for anything else (ARP) or one queue. */
unsigned int nf_flow_queue(const uint8_t *frame, size_t len, unsigned int nr_queues);

/* One rx response as the chain sees it. */
struct nf_rx_slot {
    uint16_t flags;             /* NETRXF_* */
    int16_t status;             /* the fragment's length, or a negative NETIF_RSP_* */
    uint16_t offset;
    uint8_t extra_more;         /* read as an extra info slot: XEN_NETIF_EXTRA_FLAG_MORE set */
};

struct nf_rx_chain {
    uint8_t *buf;               /* where fragments are gathered (cap bytes) */
    size_t cap;
    int sg;                     /* feature-sg negotiated: more_data chains are allowed */
    /* The frame in progress. */
    int active, dropping, more;
    unsigned int extras;        /* extra info slots still to come */
    uint16_t flags;             /* the first slot's NETRXF_* (checksum flags) */
    size_t len;
    const uint8_t *single;      /* a one-slot frame: its data, in the page itself (no copy) */
    /* The finished frame (NF_RX_FRAME): data and length. */
    const uint8_t *frame;
    size_t frame_len;
};

enum nf_rx_verdict {
    NF_RX_MORE,                 /* the frame goes on in later slots */
    NF_RX_FRAME,                /* a whole frame: chain->frame, frame_len, flags */
    NF_RX_DROP,                 /* a whole frame, dropped: count one error */
};

void nf_rx_chain_init(struct nf_rx_chain *c, uint8_t *buf, size_t cap, int sg);
/* Feeds the next response; page is the buffer its request carried (NF_PAGE_SIZE bytes). */
enum nf_rx_verdict nf_rx_chain_add(struct nf_rx_chain *c, const struct nf_rx_slot *s, const uint8_t *page);

#endif
