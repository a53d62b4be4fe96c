/*
 * blkfront: the frontend half of Xen's blkif protocol (xen/io/blkif.h; docs/blkif.md has the
 * xenstore layout), in the manner of Mini-OS blkfront.c and Linux xen-blkfront, run in ring 3.  Up to
 * BF_MAX_DEVS devices, device/vbd/<devid>.
 *
 * Handshake: read device/vbd/N/{backend,backend-id}; wait for the backend's InitWait (2) and read its
 * max-ring-page-order; allocate a ring of 2^order pages (order at most BF_MAX_RING_ORDER; one page
 * and `ring-ref` if the backend offers no order, else `ring-page-order` and ring-ref0..), grant it
 * and BF_BUFS buffer pages (read-write, granted once and reused: feature-persistent) to the backend,
 * allocate an unbound event channel, write ring-ref*, event-channel and protocol = "x86_64-abi" in
 * one transaction, state Initialised (3); wait for the backend's Connected (4), read sectors,
 * sector-size, info, feature-flush-cache, feature-barrier, feature-discard; state Connected (4).
 *
 * I/O: requests carry up to BLKIF_MAX_SEGMENTS_PER_REQUEST (11) pages of one buffer slice (BF_SLICES
 * slices of 11 contiguous pool pages, 44 KiB each), so BF_SLICES requests with data may be in flight.
 * Sector numbers are always in 512-byte units, as blkif defines them.  Every request carries a tag
 * (its id): responses are matched by id, and ids out of range or not in flight, responses beyond what
 * we asked for, and producer jumps are counted as bad and dropped.  Waiting is SCHEDOP_poll on the
 * (masked) port, the event index set by RING_FINAL_CHECK_FOR_RESPONSES; with options.poll the rings are
 * busy-polled from ring 3 instead and rsp_event left behind, so that the backend need not notify.
 *
 * Multi-queue (BF_FEAT_MQ, if the backend offers multi-queue-max-queues): min(its max, BF_MAX_QUEUES)
 * rings, each with its own port, written as multi-queue-num-queues and queue-N/{ring-ref*,
 * event-channel} (ring-page-order stays at the top level, as Linux writes it); requests go to the
 * queues in turn and share the tags and the buffer pool.  One queue: the top-level keys, as before.
 */
#ifndef GUEST_BLKFRONT_H
#define GUEST_BLKFRONT_H

#include <stddef.h>
#include <stdint.h>
#include "klib.h"           /* memcpy and size_t, which ring.h's FLEX macros want */
#include "hypercall.h"

#ifndef xen_mb
#define xen_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __asm__ __volatile__("" ::: "memory")
#define xen_wmb() __asm__ __volatile__("" ::: "memory")
#endif
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>
#include <xen/io/xenbus.h>

#define BF_MAX_DEVS       3
#define BF_MAX_RING_ORDER 2         /* 4 pages: 128 requests */
#define BF_SEGS           BLKIF_MAX_SEGMENTS_PER_REQUEST
#define BF_SLICES         8
#define BF_BUFS           (BF_SLICES * BF_SEGS)     /* 88 pages: 3 * (88 + 4) grant refs of our 504 */
#define BF_SLICE_BYTES    (BF_SEGS * 4096)
#define BF_SLICE_SECTORS  (BF_SLICE_BYTES / 512)    /* 88 */
#define BF_TAGS           ((int)__CONST_RING_SIZE(blkif, 4096 << BF_MAX_RING_ORDER))
#define BF_MAX_QUEUES     2

#define BF_FEAT_MQ        1u        /* multi-queue-num-queues */
#define BF_FEAT_ALL       BF_FEAT_MQ

struct blkfront_options {
    unsigned int features;          /* BF_FEAT_* asked for */
    int poll;                       /* busy-poll the rings instead of sleeping on the ports */
};

struct blkfront_queue {
    blkif_front_ring_t ring;
    uint8_t *ring_page;
    int ring_ref[1 << BF_MAX_RING_ORDER];
    evtchn_port_t port;
    uint64_t requests;              /* put on this ring */
};

struct blkfront_stats {
    uint64_t requests, responses, errors;   /* errors: responses with status != OKAY */
    uint64_t bad_responses;                 /* unknown ids, producer jumps */
    uint64_t lost_in_resume;                /* in flight at a suspend, answered ERROR on resume */
    uint64_t notifies;                      /* EVTCHNOP_send to the backend (hypercalls) */
    uint64_t events;                        /* the backend's notifications seen (a port found pending) */
};

struct blkfront {
    unsigned int devid;
    char name[16];              /* xvda, ... (from the devid) */
    char nodename[32];          /* device/vbd/N */
    char backend[96];
    domid_t backend_id;
    uint64_t sectors;           /* in sector_size units, as the backend says */
    uint64_t sectors512;        /* the same in 512-byte units */
    unsigned int sector_size, info;
    int ro, feat_flush, feat_barrier, feat_discard;
    unsigned int ring_order;
    struct blkfront_options opt;
    unsigned int nr_queues;                 /* 1..BF_MAX_QUEUES */
    struct blkfront_queue q[BF_MAX_QUEUES];
    unsigned int next_q;                    /* the queue the next request goes to */
    uint8_t (*bufs)[4096];
    grant_ref_t gref[BF_BUFS];
    /* Tags: 1 in flight, 2 answered (status, operation), 0 free. */
    uint8_t tag_state[BF_TAGS];
    int16_t tag_status[BF_TAGS];
    uint8_t tag_op[BF_TAGS];
    uint8_t tag_q[BF_TAGS];                 /* the queue a tag's request went to (its answer comes there) */
    int connected, granted, broken;     /* broken: the backend broke the ring protocol */
    struct blkfront_stats st;
};

extern struct blkfront blkfronts[BF_MAX_DEVS];
struct blkfront *blkfront_slot(void);
struct blkfront *blkfront_get(unsigned int devid);

/* The devid of device/vbd's first entry (in xenstore's order), or -errno (-XEN_ENOENT: none). */
int blkfront_first_devid(void);
/* "xvda" etc. for a devid (xen-vbd-interface(7)); "vbd<devid>" for unknown schemes. */
void blkfront_devname(unsigned int devid, char *buf, size_t size);

/* Connects device/vbd/devid, waiting up to timeout_s for each step.  NULL or why not (in why). */
const char *blkfront_init(struct blkfront *bf, unsigned int devid, uint64_t timeout_s, char *why);
/* The same with options (blkfront_init asks for BF_FEAT_ALL, no polling).  Kept across a resume. */
const char *blkfront_init_opts(struct blkfront *bf, unsigned int devid, uint64_t timeout_s,
                               const struct blkfront_options *opt, char *why);
/* Our state to Closing then Closed (6), grants revoked (busy ones stay), port closed. */
void blkfront_close(struct blkfront *bf);
int blkfront_backend_state(struct blkfront *bf);
/* Before a suspend: waits until every request in flight is answered (reaped, the answers kept for
 * their tags) or deadline_ns.  The number still in flight. */
unsigned int blkfront_quiesce(struct blkfront *bf, uint64_t deadline_ns);
/* In a new domain after a suspend (Linux's blkfront_resume, then talk_to_blkback): a connected
 * device forgets its old connection (grants void, port gone: nothing revoked or closed; requests
 * still in flight are answered BLKIF_RSP_ERROR, counted in lost_in_resume) and connects again to
 * the new backend at the same path, waiting in InitWait: fresh ring (its order as the new backend
 * offers), buffers granted, a new port, published, the disk's parameters read again, Connected.
 * NULL (also for a device not connected), or why not (in why; the device is then closed). */
const char *blkfront_resume(struct blkfront *bf, uint64_t timeout_s, char *why);

/* The pool: slice s's 44 KiB (contiguous), and its pages' grant refs. */
uint8_t *blkfront_slice(struct blkfront *bf, unsigned int slice);

/* Queues a read/write of nsect (1..88) 512-byte sectors at sector (512-byte units) to/from slice, or
 * a flush/barrier (nsect 0: no data).  A tag (>= 0), -XEN_EAGAIN (ring or tags full: reap first),
 * -XEN_EINVAL, -XEN_ENODEV. */
int blkfront_start(struct blkfront *bf, uint8_t op, uint64_t sector, unsigned int nsect, unsigned int slice);
/* The same with the data in the pool's pages first_page.. (up to BF_BUFS), not a slice's. */
int blkfront_start_at(struct blkfront *bf, uint8_t op, uint64_t sector, unsigned int nsect, unsigned int first_page);
/* BLKIF_OP_DISCARD of nsect sectors: a tag or -errno. */
int blkfront_start_discard(struct blkfront *bf, uint64_t sector, uint64_t nsect);
/* Processes responses without sleeping: the number of tags answered. */
int blkfront_reap(struct blkfront *bf);
/* Waits for tag's answer until deadline_ns (0: none): 0 and its status (the tag is freed),
 * -XEN_ETIMEDOUT (the tag stays in flight), -XEN_ENODEV. */
int blkfront_wait(struct blkfront *bf, int tag, uint64_t deadline_ns, int16_t *status);
/* Sleeps until the backend notifies us or the deadline (returns at once if responses wait). */
int blkfront_sleep(struct blkfront *bf, uint64_t deadline_ns);

/* Synchronous conveniences, data in slice 0: 0, the failing status (BLKIF_RSP_ERROR -1,
 * BLKIF_RSP_EOPNOTSUPP -2), or -XEN_ETIMEDOUT / -XEN_ENODEV / -XEN_EINVAL (never -1 or -2). */
int blkfront_io(struct blkfront *bf, uint8_t op, uint64_t sector, unsigned int nsect, uint64_t timeout_ns);
/* Flush (FLUSH_DISKCACHE, else an empty WRITE_BARRIER): 0, a status, or -XEN_ENOSYS if the backend offers neither. */
int blkfront_flush(struct blkfront *bf, uint64_t timeout_ns);

/* For blk-hostile: a free tag (marked in flight), requests put on queue 0's ring as given (no checks,
 * up to what fits), the raw shared ring, a tag's answer without waiting (1 and status, freed). */
int blkfront_tag_claim(struct blkfront *bf);
void blkfront_tag_release(struct blkfront *bf, int tag);
int blkfront_push_raw(struct blkfront *bf, const void *reqs, unsigned int n);
int blkfront_tag_result(struct blkfront *bf, int tag, int16_t *status);

const char *blkif_status_name(int16_t s);

#endif
