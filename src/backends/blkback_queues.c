/* blkback's multi-queue keys (docs/blkif.md): what we offer in multi-queue-max-queues, what a
 * frontend may ask in multi-queue-num-queues, and where its per-queue keys are.  With more than
 * one queue, Linux's blkfront writes each queue's ring-ref (or ring-ref0..) and event-channel under
 * queue-<n>/ in its directory, and ring-page-order and protocol once at the top; with one (or
 * without the key) everything is at the top, as before multi-queue. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "backends/blkback.h"
#include "lib/error.h"

unsigned int blkback_queues_offer(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cpus < 1)
		return 1;
	return cpus < BLKBACK_MAX_QUEUES ? (unsigned int)cpus : BLKBACK_MAX_QUEUES;
}

unsigned int blkback_queues_negotiate(int rc, unsigned long asked, unsigned int offered, char *err, size_t errlen)
{
	if (rc == -ENOENT)
		return 1;
	if (rc) {
		ERR_SET(err, errlen, "multi-queue-num-queues: %s", strerror(-rc));
		return 0;
	}
	if (asked == 0) {
		ERR_SET(err, errlen, "multi-queue-num-queues is 0 (1 to %u)", offered);
		return 0;
	}
	if (asked > offered) {
		ERR_SET(err, errlen, "multi-queue-num-queues %lu is more than multi-queue-max-queues %u", asked,
			offered);
		return 0;
	}
	return (unsigned int)asked;
}

int blkback_queue_key(char *out, size_t len, unsigned int n, unsigned int q, const char *key)
{
	int w = n > 1 ? snprintf(out, len, "queue-%u/%s", q, key) : snprintf(out, len, "%s", key);

	return w < 0 || (size_t)w >= len ? -1 : 0;
}
