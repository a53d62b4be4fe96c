/* Multi-queue negotiation shared by netback and blkback (docs/netif.md, docs/blkif.md).
 *
 * The backend offers multi-queue-max-queues = min(online CPUs, the type's cap); the frontend
 * answers multi-queue-num-queues (absent: one queue) and, with more than one queue, writes each
 * queue's ring and event-channel keys under queue-<q>/ in its directory (Linux's netfront and
 * blkfront both do), with one queue at the top as before multi-queue. */
#ifndef XENITH_BACKENDS_PV_QUEUES_H
#define XENITH_BACKENDS_PV_QUEUES_H

#include <stddef.h>

struct xenbus_backend;

/* What multi-queue-max-queues offers: min(online CPUs, cap), at least 1. */
unsigned int pv_queues_offer(unsigned int cap);

/* The frontend's multi-queue-num-queues against `offered`: `rc` is what reading it returned (0,
 * -ENOENT when absent: one queue, -EINVAL when not a number, other -errno), `fe_path` the
 * frontend's directory for the messages.  The queue count, or 0 with err (0 queues, more than
 * offered, unreadable) for the backend's `error` node. */
unsigned int pv_queues_negotiate(const char *fe_path, int rc, unsigned long asked, unsigned int offered, char *err,
				 size_t errlen);

/* Reads multi-queue-num-queues from the frontend and negotiates it, as above. */
unsigned int pv_queues_read(struct xenbus_backend *xb, unsigned int offered, char *err, size_t errlen);

/* The frontend's key for queue q of n into out: `key` itself with one queue, else
 * "queue-<q>/key".  0, or -1 when it does not fit. */
int pv_queue_key(char *out, size_t len, unsigned int n, unsigned int q, const char *key);

#endif
