/* blkback: the Dom0 half of Xen's split block driver (docs/blkif.md), one instance per vbd, inside
 * the domain's VMM.  blkback_config.c parses the --disk / vbd-attach syntax; pv_queues.c (shared
 * with netback) the multi-queue keys; blkback.c is the device (backing file, xenbus, control);
 * blkback_ring.c the data path on one shared ring (a queue), served by its own ring_poller thread, its I/O run by the
 * worker threads of blkback_io.c or batched through io_uring (blkback_uring.c), and pure enough to
 * unit-test on a fake domain. */
#ifndef XENITH_BLKBACK_H
#define XENITH_BLKBACK_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xen/xen_public.h"
#include "xen/xen_state.h"
/* ring.h leaves the barriers to us at this interface version. */
#ifndef xen_mb
#define xen_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif
#include <string.h>
#include <xen/io/blkif.h>
#include "lib/domain_limits.h"
#include "lib/vdev.h"
#include "backends/ring_poller.h"
#include <sys/uio.h>

struct domain;

#define BLKBACK_MAX_DISKS DOMAIN_MAX_DISKS   /* xl's limit too (lib/domain_limits.h) */
#define BLKBACK_SPEC_MAX 1024
#define BLKBACK_CLOSE_TIMEOUT_MS 10000      /* how long a detach waits for the frontend, as libxl */
#define BLKBACK_MAX_RING_ORDER 4            /* 16 pages: 512 requests */
#define BLKBACK_MAX_RING_PAGES (1u << BLKBACK_MAX_RING_ORDER)
#define BLKBACK_MAX_INDIRECT_SEGS 32        /* feature-max-indirect-segments: one indirect page */
#define BLKBACK_MAX_INFLIGHT 64             /* requests handed to the workers at once, per disk */
#define BLKBACK_WORKERS 4                   /* threads per connected disk */
#define BLKBACK_MAX_PERSISTENT_GRANTS 1056  /* per ring: Linux blkback's max_persistent_grants default */
#define BLKBACK_MAX_QUEUES 4                /* multi-queue-max-queues offers min(online CPUs, this) */

/* ---- One disk's configuration: the --disk / vbd-attach syntax (blkback_config.c) ---- */
struct blkback_config {
	char vdev[VDEV_NAME_MAX + 1];       /* xvda, hdc, sdb, xvda1, d0p1 ... as xl wrote it */
	int devid;                          /* the vdev's number (lib/vdev.h) */
	bool readonly;                      /* access=ro, or devtype=cdrom */
	bool cdrom;
	char target[PATH_MAX];              /* the image or block device */
};
/* Parses "vdev=xvda,devid=51712,access=rw,devtype=disk,target=/abs/path" (target last: the rest of
 * the spec, commas and all; format=raw accepted).  The vdev is read by xl's parser (lib/vdev.h); a
 * devid, if given, must be the vdev's.  0, or -1 with err. */
int blkback_config_parse(const char *spec, struct blkback_config *c, char *err, size_t errlen);
/* A config that did not come from the parser (a saved record): the same rules.  0, or -1 with err. */
int blkback_config_check(const struct blkback_config *c, char *err, size_t errlen);

/* ---- The data path (blkback_ring.c, blkback_io.c, blkback_uring.c) ---- */
/* How a ring's requests reach the file. */
enum blkback_engine {
	BLKBACK_ENGINE_THREADS,             /* blocking calls on the ring's worker pool */
	BLKBACK_ENGINE_URING,               /* batched through the ring's io_uring */
};
const char *blkback_engine_name(enum blkback_engine e);
/* vbd-list stats' engine= value for n queues' engines: `none` for none, the name once when they
 * agree, else each queue's in queue order (io_uring,threads).  Cut at len, always terminated. */
void blkback_engines_text(const enum blkback_engine *e, unsigned int n, char *out, size_t len);
struct blkback_stats {
	uint64_t reads, writes, flushes, discards, errors;   /* requests; flushes count barriers too */
	uint64_t read_bytes, write_bytes;
	uint64_t notifies;                  /* events sent: a push crossed the ring's rsp_event */
	uint64_t kicks;                     /* events received from the guest (atomic) */
};

/* The worker pool: threads that take jobs off one queue (blkback_io.c). */
struct blkback_job {
	struct blkback_job *next;
	void (*run)(struct blkback_job *job);
};
struct blkback_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct blkback_job *head, *tail;
	bool stop;
	unsigned int n_threads;
	pthread_t threads[BLKBACK_WORKERS];
};
/* 0 or -errno (no threads left running then). */
int blkback_pool_start(struct blkback_pool *p, unsigned int n_threads);
void blkback_pool_submit(struct blkback_pool *p, struct blkback_job *job);
/* Runs what is queued, then joins every thread. */
void blkback_pool_stop(struct blkback_pool *p);

/* What the ring serves from: the backing file. */
struct blkback_target {
	int fd;
	uint64_t sectors;                   /* 512-byte sectors the guest may address */
	bool readonly;
	bool discard;                       /* a regular file: fallocate can punch holes */
};

/* What a request does to the file (blkback_ring.c sets it, the engines run it). */
enum blkback_kind { BLKBACK_KIND_READ, BLKBACK_KIND_WRITE, BLKBACK_KIND_FLUSH, BLKBACK_KIND_BARRIER,
		    BLKBACK_KIND_DISCARD, BLKBACK_KIND_NONE };

struct blkback_seg {
	struct grant_mapping map;
	uint16_t offset, len;               /* bytes within the page */
	int16_t persistent;                 /* the persistent table's entry lending `map`; -1: our own */
};

/* One request between the ring and a worker. */
struct blkback_req {
	struct blkback_job job;             /* first: the pool hands this back */
	struct blkback_ring *ring;
	struct blkback_req *next_free;
	uint64_t id;
	uint8_t operation;                  /* the response's (an indirect request's indirect_op) */
	uint8_t kind;                       /* enum blkback_kind */
	bool ordered;                       /* flush/barrier: runs alone, after all before it */
	uint64_t offset, len;               /* bytes, on the target */
	unsigned int nr_segs;
	struct blkback_seg segs[BLKBACK_MAX_INDIRECT_SEGS];
	/* io_uring's progress through a request (blkback_uring.c): the step of a barrier (sync,
	 * write, sync), the transfer's iovecs and what is left of them after a short one. */
	uint8_t step;
	unsigned int iov_first, iov_n;
	uint64_t done;
	void *sqe;                          /* its submission entry while not yet submitted */
	struct iovec iov[BLKBACK_MAX_INDIRECT_SEGS];
};

struct blkback_ring {
	struct domain *dom;
	const char *name;                   /* the disk's, for log lines */
	blkif_back_ring_t ring;             /* req_cons and req_event: the serving thread only */
	unsigned int size;                  /* entries */
	evtchn_port_t port;
	struct blkback_target target;
	int kick_fd;                        /* written when held-back work may go on; -1: none (lock) */
	int broken_fd;                      /* written once when the ring breaks (poller mode); -1 */
	bool broken;                        /* atomic: an impossible producer index, no longer served */
	bool started;                       /* the engine runs */
	bool blocked;                       /* the last serve stopped on BLKBACK_WAIT (serving thread's) */
	enum blkback_engine engine;         /* the serving thread's; others read blkback_ring_engine */
	struct blkback_pool pool;           /* BLKBACK_ENGINE_THREADS */
	bool pool_started;
	bool no_fallback;                   /* io_uring failed and the pool could not start */
	struct blkback_uring *uring;        /* BLKBACK_ENGINE_URING, and after its failure until stopped */
	struct ring_poller poller;          /* after blkback_ring_start */
	bool polled;
	struct blkback_req *held;           /* an ordered request waiting for the others to finish */
	struct blkback_persistent *pgnts;   /* feature-persistent's kept grants; NULL: not negotiated */

	pthread_mutex_t lock;               /* guards what follows, and the response side of the ring */
	pthread_cond_t idle;                /* inflight fell to 1 or 0 */
	unsigned int inflight;
	bool ordered_running;               /* nothing else is handed out meanwhile */
	bool want_kick;                     /* the serving thread stopped for a request or an order */
	struct blkback_req *free_reqs;
	struct blkback_stats st;
	uint64_t log_window_ns;             /* rate limit for complaints about the guest */
	unsigned int log_count;
	uint64_t log_suppressed;
	struct blkback_req reqs[BLKBACK_MAX_INFLIGHT];
};

enum blkback_work {
	BLKBACK_IDLE,                       /* all consumed: the guest's next request notifies us */
	BLKBACK_MORE,                       /* the budget ran out: come back next loop iteration */
	BLKBACK_WAIT,                       /* held back (in flight or an order): kick_fd says when */
	BLKBACK_BROKEN,
};

/* The ring is the frontend's (already mapped, `pages` of 4 KiB, contiguous here); it keeps the
 * indices the guest left.  Starts the engine (io_uring or the workers): 0 or -errno (io_uring
 * refused by the kernel: -ENOSYS, -EPERM...; nothing then runs). */
int blkback_ring_init(struct blkback_ring *r, struct domain *dom, const char *name, void *sring,
		      unsigned int pages, evtchn_port_t port, const struct blkback_target *target, int kick_fd,
		      enum blkback_engine engine);
/* Takes up to `budget` requests off the ring: errors answered at once, the rest to the engine
 * (io_uring's completions are reaped first, its submissions made in one batch at the end).  Never
 * re-arms req_event: BLKBACK_IDLE means all is consumed and the caller, before it sleeps, calls
 * blkback_ring_arm.  The serving thread only (the poller, or a test without one). */
enum blkback_work blkback_ring_serve(struct blkback_ring *r, unsigned int budget);
/* About to sleep: req_event = req_cons + 1 and a last look (RING_FINAL_CHECK_FOR_REQUESTS).  True
 * when requests came meanwhile.  After a BLKBACK_WAIT it re-arms nothing and is false: a
 * completion kicks the ring when it may go on. */
bool blkback_ring_arm(struct blkback_ring *r);
/* The ring's own thread (ring_poller.h), polling `poll_us` after work; `broken_fd` (or -1) is
 * written once if the frontend breaks the ring, for the main thread to report it.  0, or -1 with
 * err.  Afterwards only that thread serves; kick it with blkback_ring_kick. */
int blkback_ring_start(struct blkback_ring *r, unsigned int poll_us, int broken_fd, char *err, size_t errlen);
/* The event channel's callback (any thread): counts the kick and wakes the ring's thread. */
void blkback_ring_kick(struct blkback_ring *r);
/* Ends the ring's thread (after the event channel is unbound); requests in flight stay in flight
 * until blkback_ring_drain / destroy.  Main thread; idempotent. */
void blkback_ring_stop(struct blkback_ring *r);
/* Waits for every request handed out (responses sent, grants released).  The serving thread, or
 * any once the poller is stopped. */
void blkback_ring_drain(struct blkback_ring *r);
/* Stops the thread, drains, stops the engine and releases a held request; the ring memory is no
 * longer touched. */
void blkback_ring_destroy(struct blkback_ring *r);
struct blkback_stats blkback_ring_stats(struct blkback_ring *r);
/* The poller's counters (all zero if it never ran). */
struct ring_poller_stats blkback_ring_poller_stats(const struct blkback_ring *r);
bool blkback_ring_broken(const struct blkback_ring *r);
/* The engine serving new requests now (any thread): io_uring, or threads from the start or after
 * io_uring failed (blkback_uring_submit). */
enum blkback_engine blkback_ring_engine(const struct blkback_ring *r);

/* Engines, for blkback_ring.c.  A request the engine finished: e is 0 or -errno. */
void blkback_ring_finish(struct blkback_req *q, int e);
/* io_uring (blkback_uring.c): can this host make one?  0, or -errno with why. */
int blkback_uring_probe(char *why, size_t len);
int blkback_uring_start(struct blkback_ring *r);           /* 0 or -errno */
void blkback_uring_queue(struct blkback_ring *r, struct blkback_req *q);   /* on the next submit */
/* What was queued, in one call.  0, or the -errno of a hard io_uring_submit failure: then every
 * request not submitted was answered BLKIF_RSP_ERROR (grants released) and the uring takes nothing
 * more (blkback_uring_failed); blkback_ring.c moves the queue to worker threads. */
int blkback_uring_submit(struct blkback_ring *r);
int blkback_uring_failed(const struct blkback_ring *r);    /* 0, or the submit failure's -errno */
unsigned int blkback_uring_in_kernel(const struct blkback_ring *r);  /* operations not completed */
unsigned int blkback_uring_queued(const struct blkback_ring *r);     /* not yet handed to the kernel */
/* Completions finished; `wait` blocks for one if the kernel has any. */
unsigned int blkback_uring_reap(struct blkback_ring *r, bool wait);
/* Tests only: every later io_uring_submit fails with e (a -errno), as a refusing kernel would. */
void blkback_uring_fail_submits(struct blkback_ring *r, int e);
int blkback_uring_fd(const struct blkback_ring *r);        /* readable when a completion came */
void blkback_uring_stop(struct blkback_ring *r);

/* Persistent grants (blkif.h's feature-persistent), when both ends offered it: called after
 * blkback_ring_init, before the first blkback_ring_serve.  Up to `max` (at most
 * BLKBACK_MAX_PERSISTENT_GRANTS) of the frontend's data grants stay mapped from their first use
 * until blkback_ring_destroy; grants beyond them are mapped per request as without the feature.
 * 0, or -ENOMEM (the ring then works without). */
int blkback_ring_persistent(struct blkback_ring *r, unsigned int max);
struct blkback_persistent_stats {
	unsigned int kept;                  /* grants mapped now in the table */
	uint64_t maps;                      /* grants the table mapped */
	uint64_t hits;                      /* segments served by a grant already kept */
	uint64_t dropped;                   /* kept grants the frontend revoked or changed */
};
/* All zero when the feature is off. */
struct blkback_persistent_stats blkback_ring_persistent_stats(struct blkback_ring *r);

/* ---- The device (blkback.c), main thread only ----
 * Its table row is `blkback_type` (backends/pv_backend.h); the VMM reaches disks only through that.
 * Its list and stats lines are docs/blkif.md's. */

#endif
