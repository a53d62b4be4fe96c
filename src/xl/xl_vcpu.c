/* vcpu-set: which of a domain's vCPUs are online, through xenstore as libxl_set_vcpuonline does for
 * PV and PVH guests: cpu/<n>/availability is "online" below N and "offline" from N up, written in
 * one transaction; the guest's hot-plug driver watches those nodes and brings CPUs up or down.  The
 * domain's vCPU count (maxvcpus) is the number of cpu/<n> nodes the VMM wrote at creation.  Every
 * xenstored reply is bounded (xl_store.h). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lib/domain_limits.h"
#include "lib/xs_client.h"
#include "xl/xl_bounds.h"
#include "xl/xl_cmdtable.h"
#include "xl/xl_domain.h"
#include "xl/xl_store.h"
#include "xl/xl_vcpu.h"

#define TRANSACTION_TRIES 5      /* EAGAIN: someone else wrote the domain's nodes meanwhile */
#define LIBXL_ERROR_FAIL (-3)    /* what xl prints as libxl's rc */

/* The domain's vCPUs in xenstore: how many cpu/<n> there are, and how many say online.  0 or -errno. */
static int count_vcpus(struct xl_store *store, unsigned int domid, unsigned int *max, unsigned int *online)
{
	char path[96], **names = NULL;
	unsigned int n = 0;

	*max = *online = 0;
	snprintf(path, sizeof(path), "/local/domain/%u/cpu", domid);
	int r = xs_directory(store->xs, 0, path, &names, &n);
	if (r)
		return r;
	for (unsigned int i = 0; i < n; i++) {
		char *end, *value = NULL, node[160];
		size_t len;
		unsigned long id = strtoul(names[i], &end, 10);
		if (end == names[i] || *end || id >= DOMAIN_MAX_VCPUS)
			continue;
		(*max)++;
		snprintf(node, sizeof(node), "%s/%lu/availability", path, id);
		if (!xs_read(store->xs, 0, node, &value, &len) && len == 6 && !memcmp(value, "online", 6))
			(*online)++;
		free(value);
	}
	free(names);
	return 0;
}

/* One transaction writing every vCPU's availability.  0 or -errno. */
static int write_availability(struct xl_store *store, unsigned int domid, unsigned int max, unsigned int want)
{
	int r = -EAGAIN;

	for (int tries = 0; tries < TRANSACTION_TRIES && r == -EAGAIN; tries++) {
		uint32_t tx;
		if ((r = xs_transaction_start(store->xs, &tx)))
			return r;
		for (unsigned int i = 0; i < max && !r; i++) {
			char node[96];
			snprintf(node, sizeof(node), "/local/domain/%u/cpu/%u/availability", domid, i);
			r = xs_write_str(store->xs, tx, node, i < want ? "online" : "offline");
		}
		int end = xs_transaction_end(store->xs, tx, r == 0);
		if (!r)
			r = end;
	}
	return r;
}

int xl_domain_vcpu_set(struct xl_ctx *ctx, unsigned int domid, unsigned long want, bool check_host,
		       char *err, size_t errlen)
{
	char why[512];
	unsigned int max, online;
	struct xl_store store;

	if (xl_ctx_rundir(ctx)) {
		snprintf(err, errlen, "xl: cannot use the run directory (see the log)");
		return -2;
	}
	int r = xl_store_open(&ctx->rd, &store, XL_XENSTORE_MS, why, sizeof(why));
	if (r) {
		snprintf(err, errlen, "xl: cannot reach xenstored: %s", why);
		return -2;
	}
	int status = -1;
	r = count_vcpus(&store, domid, &max, &online);
	if (r) {
		snprintf(err, errlen, "xl: reading domain %u's vCPUs (/local/domain/%u/cpu): %s", domid, domid,
			 xl_store_explain(&store, r, why, sizeof(why)));
		goto out;
	}
	long host_cpus = sysconf(_SC_NPROCESSORS_CONF);
	if (check_host && want > online && host_cpus > 0 && want > (unsigned long)host_cpus) {
		snprintf(err, errlen, "You are overcommmitting! You have %ld physical CPUs and want %lu vCPUs! "
			 "Aborting, use --ignore-host to continue", host_cpus, want);
		goto out;
	}
	if (want == 0 || want > max) {
		int n = want == 0 ? snprintf(err, errlen, "libxl: error: Domain %u:Requested 0 VCPUs!\n", domid) :
			snprintf(err, errlen, "libxl: error: Domain %u:Requested %lu VCPUs, however maxcpus is %u!\n",
				 domid, want, max);
		if (n >= 0 && (size_t)n < errlen)
			snprintf(err + n, errlen - (size_t)n, "libxl_set_vcpuonline failed domid=%u max_vcpus=%lu, "
				 "rc: %d", domid, want, LIBXL_ERROR_FAIL);
		goto out;
	}
	r = write_availability(&store, domid, max, (unsigned int)want);
	if (r) {
		snprintf(err, errlen, "xl: writing domain %u's cpu/<n>/availability: %s", domid,
			 xl_store_explain(&store, r, why, sizeof(why)));
		goto out;
	}
	status = 0;
out:
	xl_store_close(&store);
	return status;
}

static int vcpu_set(struct xl_ctx *ctx, const char *qualifier, const char *count, bool check_host)
{
	char name[DOMAIN_NAME_MAX + 1], err[1024], *end;
	unsigned int domid;
	int status;

	errno = 0;
	unsigned long want = strtoul(count, &end, 10);
	if (end == count || want > INT_MAX || errno) {
		fprintf(stderr, "Error: Invalid argument.\n");
		return EXIT_FAILURE;
	}
	if ((status = xl_find_domain_or_complain(ctx, qualifier, NULL, &domid, name, sizeof(name))))
		return status;
	if (xl_ctx_rundir(ctx))
		return EXIT_FAILURE;     /* it said why */
	if (xl_domain_vcpu_set(ctx, domid, want, check_host, err, sizeof(err)) == 0)
		return EXIT_SUCCESS;
	fprintf(stderr, "%s\n", err);
	return EXIT_FAILURE;
}

int main_vcpuset(struct xl_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "ignore-host", no_argument, NULL, 'i' }, { 0 } };
	bool check_host = true;
	int opt, status;

	while ((opt = xl_getopt(argc, argv, "i", opts, "vcpu-set", 2, &status)) != -1) {
		if (opt == XL_OPT_STOP)
			return status;
		if (opt == 'i')
			check_host = false;
	}
	return vcpu_set(ctx, argv[optind], argv[optind + 1], check_host);
}
