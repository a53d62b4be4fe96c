/* xl mem-set and mem-max: a domain's balloon target and maximum, as Xen's xl and libxl set them.
 *
 * mem-set writes memory/target (KiB) in xenstore, which the guest's balloon driver watches; it
 * refuses a target above memory/static-max in libxl's words and returns at once, as xl does: a guest
 * that ignores its target is seen in `xl list` (its Mem column is what it holds) and `xl list -l`,
 * never waited for.  mem-max refuses a maximum below the target, then has the VMM set the domain's
 * maximum reservation (control request `mem-max KIB`) and writes memory/static-max.  Every xenstored
 * reply and the request are bounded (xl_store.h, XL_REQUEST_MS). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/domain_limits.h"
#include "lib/xs_client.h"
#include "xl/xl_bounds.h"
#include "xl/xl_cmdtable.h"
#include "xl/xl_domain.h"
#include "xl/xl_mem.h"
#include "xl/xl_store.h"

int64_t xl_parse_mem_size_kb(const char *text)
{
	static const struct { char suffix; int shift; } units[] = {
		{ '\0', 10 }, { 'm', 10 }, { 'k', 0 }, { 'g', 20 }, { 't', 30 }, { 'b', -10 },
	};
	char *end;

	if (!text || !*text || isspace((unsigned char)*text) || *text == '-' || *text == '+')
		return -1;
	errno = 0;
	unsigned long long n = strtoull(text, &end, 10);
	if (errno || end == text || strlen(end) > 1)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (tolower((unsigned char)*end) != units[i].suffix)
			continue;
		if (units[i].shift < 0)
			return (int64_t)(n >> -units[i].shift);
		if (n > (unsigned long long)INT64_MAX >> units[i].shift)
			return -1;
		return (int64_t)(n << units[i].shift);
	}
	return -1;
}

/* A KiB value under the domain's memory/ in xenstore.  0 or -errno (-EINVAL: not a number). */
static int read_memory_node(struct xl_store *store, unsigned int domid, const char *node, uint64_t *kib)
{
	char path[96], *value = NULL, *end;
	size_t len;

	snprintf(path, sizeof(path), "/local/domain/%u/memory/%s", domid, node);
	int r = xs_read(store->xs, 0, path, &value, &len);
	if (r)
		return r;
	errno = 0;
	*kib = strtoull(value, &end, 10);
	r = errno || end == value || *end ? -EINVAL : 0;
	free(value);
	return r;
}

static int write_memory_node(struct xl_store *store, unsigned int domid, const char *node, uint64_t kib)
{
	char path[96], value[32];

	snprintf(path, sizeof(path), "/local/domain/%u/memory/%s", domid, node);
	snprintf(value, sizeof(value), "%" PRIu64, kib);
	return xs_write_str(store->xs, 0, path, value);
}

enum mem_verb { MEM_SET, MEM_MAX };

/* xl's own words when libxl fails, and what the verb sets. */
static const struct {
	const char *command, *what, *node, *other;
} verbs[] = {
	[MEM_SET] = { "mem-set", "dynamic max", "target", "static-max" },
	[MEM_MAX] = { "mem-max", "static max", "static-max", "target" },
};

int xl_domain_mem(struct xl_ctx *ctx, unsigned int domid, const char *name, bool max, uint64_t kib,
		  char *err, size_t errlen)
{
	enum mem_verb verb = max ? MEM_MAX : MEM_SET;
	char why[512], reply[512], request[64];
	uint64_t other;
	int r;

	if (xl_ctx_rundir(ctx)) {
		snprintf(err, errlen, "xl: cannot use the run directory (see the log)");
		return -2;
	}
	struct xl_store store;
	r = xl_store_open(&ctx->rd, &store, XL_XENSTORE_MS, why, sizeof(why));
	if (r) {
		snprintf(err, errlen, "xl: cannot reach xenstored: %s", why);
		return -2;
	}
	r = read_memory_node(&store, domid, verbs[verb].other, &other);
	if (r) {
		snprintf(err, errlen, "xl: reading /local/domain/%u/memory/%s: %s", domid, verbs[verb].other,
			 r == -EINVAL ? "not a number of KiB" : xl_store_explain(&store, r, why, sizeof(why)));
		goto fail;
	}
	if (verb == MEM_SET && kib > other) {
		snprintf(err, errlen, "libxl: error: Domain %u:memory_dynamic_max must be less than or "
			 "equal to memory_static_max", domid);
		goto fail;
	}
	if (verb == MEM_MAX && kib < other) {
		snprintf(err, errlen, "libxl: error: Domain %u:memory_static_max must be greater than or "
			 "equal to memory_dynamic_max", domid);
		goto fail;
	}
	if (verb == MEM_MAX) {
		snprintf(request, sizeof(request), "mem-max %" PRIu64, kib);
		r = xl_domain_request(ctx, domid, request, XL_REQUEST_MS, reply, sizeof(reply));
		if (r) {
			snprintf(err, errlen, "xl: domain %u (%s): %s", domid, name, r == -ESRCH ? "gone" : reply);
			goto fail;
		}
	}
	r = write_memory_node(&store, domid, verbs[verb].node, kib);
	if (r) {
		snprintf(err, errlen, "xl: writing /local/domain/%u/memory/%s: %s", domid, verbs[verb].node,
			 xl_store_explain(&store, r, why, sizeof(why)));
		goto fail;
	}
	xl_store_close(&store);
	return 0;
fail:
	xl_store_close(&store);
	return -1;
}

static int mem_command(struct xl_ctx *ctx, enum mem_verb verb, const char *qualifier, const char *size)
{
	char name[DOMAIN_NAME_MAX + 1], err[1024];
	unsigned int domid;
	int status, r;

	int64_t kib = xl_parse_mem_size_kb(size);
	if (kib < 0) {
		fprintf(stderr, "invalid memory size: %s\n", size);
		return EXIT_FAILURE;
	}
	if ((status = xl_find_domain_or_complain(ctx, qualifier, "set the memory of", &domid, name,
						 sizeof(name))))
		return status;
	if (xl_ctx_rundir(ctx))
		return EXIT_FAILURE;     /* it said why */
	r = xl_domain_mem(ctx, domid, name, verb == MEM_MAX, (uint64_t)kib, err, sizeof(err));
	if (r == 0)
		return EXIT_SUCCESS;
	fprintf(stderr, "%s\n", err);
	if (r == -1)         /* xenstored was reached: the attempt failed */
		fprintf(stderr, "cannot set domid %u %s memory to : %s\n", domid, verbs[verb].what, size);
	return EXIT_FAILURE;
}

static int mem_main(struct xl_ctx *ctx, enum mem_verb verb, int argc, char **argv)
{
	int opt, status;

	while ((opt = xl_getopt(argc, argv, "", NULL, verbs[verb].command, 2, &status)) != -1)
		if (opt == XL_OPT_STOP)
			return status;
	return mem_command(ctx, verb, argv[optind], argv[optind + 1]);
}

int main_memset(struct xl_ctx *ctx, int argc, char **argv)
{
	return mem_main(ctx, MEM_SET, argc, argv);
}

int main_memmax(struct xl_ctx *ctx, int argc, char **argv)
{
	return mem_main(ctx, MEM_MAX, argc, argv);
}
