/* Multi-queue negotiation for every PV backend (pv_queues.h): one offer rule, one set of refusals
 * with one wording, one key layout, so netback and blkback cannot drift apart. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "backends/pv_queues.h"
#include "backends/xenbus_backend.h"
#include "lib/error.h"

unsigned int pv_queues_offer(unsigned int cap)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cap < 1)
		cap = 1;
	return cpus < 1 ? 1 : (unsigned long)cpus < cap ? (unsigned int)cpus : cap;
}

unsigned int pv_queues_negotiate(const char *fe_path, int rc, unsigned long asked, unsigned int offered, char *err,
				 size_t errlen)
{
	if (rc == -ENOENT)
		return 1;
	if (rc) {
		ERR_SET(err, errlen, "reading %s/multi-queue-num-queues: %s", fe_path,
			rc == -EINVAL ? "not a number" : strerror(-rc));
		return 0;
	}
	if (asked == 0) {
		ERR_SET(err, errlen, "%s/multi-queue-num-queues asks for 0 queues; 1 to %u are offered", fe_path,
			offered);
		return 0;
	}
	if (asked > offered) {
		ERR_SET(err, errlen, "%s/multi-queue-num-queues asks for %lu queues, more than multi-queue-max-queues %u; "
			"1 to %u are offered", fe_path, asked, offered, offered);
		return 0;
	}
	return (unsigned int)asked;
}

unsigned int pv_queues_read(struct xenbus_backend *xb, unsigned int offered, char *err, size_t errlen)
{
	unsigned long asked = 0;
	int rc = xenbus_backend_read_fe_uint(xb, "multi-queue-num-queues", ULONG_MAX, &asked);

	return pv_queues_negotiate(xb->fe_path, rc, asked, offered, err, errlen);
}

int pv_queue_key(char *out, size_t len, unsigned int n, unsigned int q, const char *key)
{
	int w = n > 1 ? snprintf(out, len, "queue-%u/%s", q, key) : snprintf(out, len, "%s", key);

	return w < 0 || (size_t)w >= len ? -1 : 0;
}
