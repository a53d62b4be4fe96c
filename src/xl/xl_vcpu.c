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

static int vcpu_set(struct xl_ctx *ctx, const char *qualifier, const char *count, bool check_host)
{
	char name[DOMAIN_NAME_MAX + 1], err[512], *end;
	unsigned int domid, max, online;
	int status;

	errno = 0;
	unsigned long want = strtoul(count, &end, 10);
	if (end == count || want > INT_MAX || errno) {
		fprintf(stderr, "Error: Invalid argument.\n");
		return EXIT_FAILURE;
	}
	if ((status = xl_find_domain_or_complain(ctx, qualifier, NULL, &domid, name, sizeof(name))))
		return status;
	struct xl_store store;
	if (xl_ctx_rundir(ctx))
		return EXIT_FAILURE;
	int r = xl_store_open(&ctx->rd, &store, XL_XENSTORE_MS, err, sizeof(err));
	if (r) {
		fprintf(stderr, "xl: cannot reach xenstored: %s\n", err);
		return EXIT_FAILURE;
	}
	status = EXIT_FAILURE;
	r = count_vcpus(&store, domid, &max, &online);
	if (r) {
		fprintf(stderr, "xl: reading domain %u's vCPUs (/local/domain/%u/cpu): %s\n", domid, domid,
			xl_store_explain(&store, r, err, sizeof(err)));
		goto out;
	}
	long host_cpus = sysconf(_SC_NPROCESSORS_CONF);
	if (check_host && want > online && host_cpus > 0 && want > (unsigned long)host_cpus) {
		fprintf(stderr, "You are overcommmitting! You have %ld physical CPUs and want %lu vCPUs! "
			"Aborting, use --ignore-host to continue\n", host_cpus, want);
		goto out;
	}
	if (want == 0 || want > max) {
		if (want == 0)
			fprintf(stderr, "libxl: error: Domain %u:Requested 0 VCPUs!\n", domid);
		else
			fprintf(stderr, "libxl: error: Domain %u:Requested %lu VCPUs, however maxcpus is %u!\n",
				domid, want, max);
		fprintf(stderr, "libxl_set_vcpuonline failed domid=%u max_vcpus=%lu, rc: %d\n", domid, want,
			LIBXL_ERROR_FAIL);
		goto out;
	}
	r = write_availability(&store, domid, max, (unsigned int)want);
	if (r) {
		fprintf(stderr, "xl: writing domain %u's cpu/<n>/availability: %s\n", domid,
			xl_store_explain(&store, r, err, sizeof(err)));
		goto out;
	}
	status = EXIT_SUCCESS;
out:
	xl_store_close(&store);
	return status;
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
