/* The multi-queue negotiation both netback and blkback use (backends/pv_queues.c).
 *
 * The table: no multi-queue-num-queues is one queue; 1..offered is taken; 0, more than offered
 * (up to ULONG_MAX), not a number or another read error is refused with the reason for the
 * backend's `error` node, naming the frontend's key.  The offer is min(online CPUs, the type's
 * cap), at least 1.  The keys: the key itself with one queue, queue-<q>/key with several, as
 * Linux's netfront and blkfront write them, and a buffer too short refused. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include "backends/pv_queues.h"
#include "unit.h"

#define FE "/local/domain/7/device/vbd/51712"

struct nego_case {
	const char *name;
	int rc;                    /* what reading multi-queue-num-queues returned */
	unsigned long asked;
	unsigned int offered, want;
	const char *err;           /* the whole refusal, or NULL when taken */
};

static const struct nego_case nego_cases[] = {
	{ "no-key-is-one-queue", -ENOENT, 0, 4, 1, NULL },
	{ "one-of-four", 0, 1, 4, 1, NULL },
	{ "two-of-four", 0, 2, 4, 2, NULL },
	{ "four-of-four", 0, 4, 4, 4, NULL },
	{ "one-of-one", 0, 1, 1, 1, NULL },
	{ "eight-of-eight", 0, 8, 8, 8, NULL },
	{ "zero-refused", 0, 0, 4, 0, FE "/multi-queue-num-queues asks for 0 queues; 1 to 4 are offered" },
	{ "five-of-four-refused", 0, 5, 4, 0,
	  FE "/multi-queue-num-queues asks for 5 queues, more than multi-queue-max-queues 4; 1 to 4 are offered" },
	{ "two-of-one-refused", 0, 2, 1, 0,
	  FE "/multi-queue-num-queues asks for 2 queues, more than multi-queue-max-queues 1; 1 to 1 are offered" },
	{ "uint32-max-refused", 0, 4294967295ul, 4, 0,
	  FE "/multi-queue-num-queues asks for 4294967295 queues, more than multi-queue-max-queues 4; 1 to 4 are offered" },
	{ "above-uint32-refused", 0, 4294967297ul, 4, 0,
	  FE "/multi-queue-num-queues asks for 4294967297 queues, more than multi-queue-max-queues 4; 1 to 4 are offered" },
	{ "not-a-number-refused", -EINVAL, 0, 4, 0, "reading " FE "/multi-queue-num-queues: not a number" },
	{ "read-error-refused", -EACCES, 0, 4, 0, "reading " FE "/multi-queue-num-queues: Permission denied" },
};

static void test_negotiate(struct unit *u, const void *arg)
{
	const struct nego_case *c = arg;
	char err[256] = "";

	CHECK_INT(pv_queues_negotiate(FE, c->rc, c->asked, c->offered, err, sizeof(err)), c->want);
	CHECK_STR(err, c->err ? c->err : "");
}

struct offer_case { const char *name; unsigned int cap; };

static const struct offer_case offer_cases[] = {
	{ "offer-cap-1", 1 }, { "offer-cap-4-blkback", 4 }, { "offer-cap-8-tap", 8 }, { "offer-cap-0-is-1", 0 },
	{ "offer-cap-huge", 4096 },
};

static void test_offer(struct unit *u, const void *arg)
{
	const struct offer_case *c = arg;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int cap = c->cap ? c->cap : 1;
	unsigned int want = cpus < 1 ? 1 : (unsigned long)cpus > cap ? cap : (unsigned int)cpus;

	CHECK_INT(pv_queues_offer(c->cap), want);
	CHECK(pv_queues_offer(c->cap) >= 1, "offer %u", pv_queues_offer(c->cap));
}

struct key_case {
	const char *name;
	size_t len;
	unsigned int n, q;
	const char *key, *want;     /* want NULL: refused, too long */
};

static const struct key_case key_cases[] = {
	{ "key-one-queue-at-top", 32, 1, 0, "ring-ref", "ring-ref" },
	{ "key-zero-queues-at-top", 32, 0, 0, "tx-ring-ref", "tx-ring-ref" },
	{ "key-two-queues", 32, 2, 1, "event-channel", "queue-1/event-channel" },
	{ "key-four-queues-ring-ref3", 32, 4, 0, "ring-ref3", "queue-0/ring-ref3" },
	{ "key-netfront-split", 32, 8, 7, "event-channel-rx", "queue-7/event-channel-rx" },
	{ "key-exact-fit", 22, 2, 1, "event-channel", "queue-1/event-channel" },
	{ "key-one-short-refused", 21, 2, 1, "event-channel", NULL },
	{ "key-top-too-long-refused", 8, 1, 0, "ring-ref", NULL },
};

static void test_key(struct unit *u, const void *arg)
{
	const struct key_case *c = arg;
	char out[64];

	memset(out, 'x', sizeof(out));
	int r = pv_queue_key(out, c->len, c->n, c->q, c->key);
	CHECK_INT(r, c->want ? 0 : -1);
	if (c->want)
		CHECK_STR(out, c->want);
	CHECK(out[c->len] == 'x', "wrote past %zu bytes", c->len);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	for (size_t i = 0; i < sizeof(nego_cases) / sizeof(nego_cases[0]); i++)
		unit_case(&u, nego_cases[i].name, test_negotiate, &nego_cases[i]);
	for (size_t i = 0; i < sizeof(offer_cases) / sizeof(offer_cases[0]); i++)
		unit_case(&u, offer_cases[i].name, test_offer, &offer_cases[i]);
	for (size_t i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++)
		unit_case(&u, key_cases[i].name, test_key, &key_cases[i]);
	return unit_finish(&u);
}
