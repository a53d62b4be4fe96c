/* vbd-list stats' engine= value (blkback_engines_text, backends/blkback_ring.c): `none` with no
 * queue, one name when every queue uses the same engine (the line as before per-queue engines),
 * else each queue's engine in queue order; a short buffer is cut, never overrun. */
#include <string.h>
#include "backends/blkback.h"
#include "unit.h"

#define U BLKBACK_ENGINE_URING
#define T BLKBACK_ENGINE_THREADS

struct engines_case {
	const char *name;
	unsigned int n;
	enum blkback_engine e[BLKBACK_MAX_QUEUES];
	size_t len;
	const char *want;
};

static const struct engines_case cases[] = {
	{ "not-connected-none", 0, { U }, 32, "none" },
	{ "one-io_uring", 1, { U }, 32, "io_uring" },
	{ "one-threads", 1, { T }, 32, "threads" },
	{ "four-same-once", 4, { U, U, U, U }, 32, "io_uring" },
	{ "second-fell-back", 2, { U, T }, 32, "io_uring,threads" },
	{ "later-ones-threads", 4, { U, U, T, T }, 64, "io_uring,io_uring,threads,threads" },
	{ "first-fell-back", 3, { T, U, U }, 32, "threads,io_uring,io_uring" },
	{ "cut-short", 2, { U, T }, 12, "io_uring,th" },
};

static void test_engines(struct unit *u, const void *arg)
{
	const struct engines_case *c = arg;
	char out[80];

	memset(out, 'x', sizeof(out));
	blkback_engines_text(c->e, c->n, out, c->len);
	CHECK_STR(out, c->want);
	CHECK(out[c->len] == 'x', "wrote past %zu bytes", c->len);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		unit_case(&u, cases[i].name, test_engines, &cases[i]);
	return unit_finish(&u);
}
