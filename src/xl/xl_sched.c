/* xl vcpu-list, vcpu-pin and sched-credit: Xen's output and messages (tools/xl/xl_vcpu.c and
 * xl_sched.c), from each domain's VMM through the control requests vcpu-list, vcpu-pin and
 * sched-credit (docs/sched.md).  Domain-0 is the host here and has no vCPUs or credit of ours, so
 * it is not listed.  Every request is bounded by XL_REQUEST_MS. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/cpumap.h"
#include "lib/rundir.h"
#include "xl/xl_bounds.h"
#include "xl/xl_cmdtable.h"
#include "xl/xl_domain.h"

#define REPLY_MAX 8192

/* One vcpu-list line: "vcpu=I cpu=C state=S time=T hard=LIST soft=LIST". */
static int print_vcpu_line(const char *name, unsigned int domid, const char *line)
{
	unsigned int id;
	int cpu;
	char state;
	double time;
	char hard[512], soft[512];

	if (sscanf(line, "vcpu=%u cpu=%d state=%c time=%lf hard=%511s soft=%511s", &id, &cpu, &state, &time,
		   hard, soft) != 6)
		return -1;
	printf("%-32s %5u %5u", name, domid, id);
	if (state == 'p' || cpu < 0)
		printf("%5c %3c%cp ", '-', '-', '-');
	else
		printf("%5d %3c%c- ", cpu, state == 'r' ? 'r' : '-', state == 'b' ? 'b' : '-');
	printf("%9.1f  %s / %s\n", time, hard, soft);
	return 0;
}

static int vcpu_list_domain(struct xl_ctx *ctx, unsigned int domid, const char *name)
{
	char reply[REPLY_MAX];
	int r = xl_domain_request(ctx, domid, "vcpu-list", XL_REQUEST_MS, reply, sizeof(reply));

	if (r == -ESRCH)
		return 0;              /* gone meanwhile: as xl, nothing to print */
	if (r) {
		fprintf(stderr, "xl: cannot list the vCPUs of domain %u (%s): %s\n", domid, name, reply);
		return 1;
	}
	for (char *save = NULL, *line = strtok_r(reply, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (print_vcpu_line(name, domid, line)) {
			fprintf(stderr, "xl: domain %u (%s) answered vcpu-list with '%s'\n", domid, name, line);
			return 1;
		}
	}
	return 0;
}

int main_vcpulist(struct xl_ctx *ctx, int argc, char **argv)
{
	char name[DOMAIN_NAME_MAX + 1];
	unsigned int domid;
	int opt, status, failed = 0;

	while ((opt = xl_getopt(argc, argv, "", NULL, "vcpu-list", 0, &status)) != -1)
		if (opt == XL_OPT_STOP)
			return status;
	if (xl_ctx_rundir(ctx))
		return EXIT_FAILURE;
	printf("%-32s %5s %5s %5s %5s %9s %s\n", "Name", "ID", "VCPU", "CPU", "State", "Time(s)",
	       "Affinity (Hard / Soft)");
	if (optind == argc) {
		struct rundir_domain *doms = NULL;
		size_t n = 0;
		if (rundir_list_domains(&ctx->rd, &doms, &n)) {
			fprintf(stderr, "xl: listing domains failed\n");
			return EXIT_FAILURE;
		}
		for (size_t i = 0; i < n; i++)
			failed |= vcpu_list_domain(ctx, doms[i].domid, doms[i].name);
		free(doms);
		return failed ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	for (int i = optind; i < argc; i++) {
		status = xl_find_domain_or_complain(ctx, argv[i], NULL, &domid, name, sizeof(name));
		if (status)
			return status;
		if (domid)
			failed |= vcpu_list_domain(ctx, domid, name);
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main_vcpupin(struct xl_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "force", 0, NULL, 'f' }, { 0 } };
	char name[DOMAIN_NAME_MAX + 1], why[512], reply[1024], request[600];
	struct cpumap map;
	unsigned int domid;
	bool force = false;
	int opt, status, r;

	while ((opt = xl_getopt(argc, argv, "f", opts, "vcpu-pin", 3, &status)) != -1) {
		if (opt == XL_OPT_STOP)
			return status;
		if (opt == 'f')
			force = true;
	}
	const char *dom = argv[optind], *vcpu = argv[optind + 1], *hard = argv[optind + 2];
	const char *soft = optind + 3 < argc ? argv[optind + 3] : NULL;
	if (optind + 4 < argc) {
		fprintf(stderr, "xl: vcpu-pin takes <Domain> <VCPU|all> <Hard affinity|-> [Soft affinity]\n");
		return EXIT_FAILURE;
	}
	char *end;
	long id = strtol(vcpu, &end, 10);
	if (end == vcpu || *end || id < 0) {
		if (strcmp(vcpu, "all")) {
			fprintf(stderr, "Error: Invalid argument %s as VCPU.\n", vcpu);
			return EXIT_FAILURE;
		}
		if (force) {
			fprintf(stderr, "Error: --force and 'all' as VCPU not allowed.\n");
			return EXIT_FAILURE;
		}
	}
	/* -f: Xen forces a pin that would leave a vCPU outside its cpupool; there are no cpupools
	 * here, so a forced pin is an ordinary one. */
	const char *lists[] = { hard, soft };
	for (int i = 0; i < 2; i++) {
		if (lists[i] && strcmp(lists[i], "-") && cpumap_parse(lists[i], &map, why, sizeof(why))) {
			fprintf(stderr, "xl: invalid cpu range: %s\n", why);
			return EXIT_FAILURE;
		}
	}
	if (ctx->dryrun) {
		printf("cpumap: %s%s%s\n", hard, soft ? " " : "", soft ? soft : "");
		return EXIT_SUCCESS;
	}
	status = xl_find_domain_or_complain(ctx, dom, "pin the vCPUs of", &domid, name, sizeof(name));
	if (status)
		return status;
	snprintf(request, sizeof(request), "vcpu-pin %s %s%s%s", vcpu, hard, soft ? " " : "", soft ? soft : "");
	r = xl_domain_request(ctx, domid, request, XL_REQUEST_MS, reply, sizeof(reply));
	if (r == -ESRCH) {
		fprintf(stderr, "xl: domain '%s' does not exist\n", dom);
		return EXIT_FAILURE;
	}
	if (r) {
		if (id >= 0 && strcmp(vcpu, "all"))
			fprintf(stderr, "Could not set affinity for vcpu `%ld': %s\n", id, reply);
		else
			fprintf(stderr, "Could not set affinity: %s\n", reply);
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

/* A sched-credit reply: "weight=W cap=C cgroup=PATH" or "weight=W cap=C unenforced=WHY". */
static int credit_row(struct xl_ctx *ctx, unsigned int domid, const char *name, const char *request)
{
	char reply[2048];
	unsigned int weight, cap;
	int used = 0;
	int r = xl_domain_request(ctx, domid, request, XL_REQUEST_MS, reply, sizeof(reply));

	if (r == -ESRCH)
		return 0;
	if (r) {
		fprintf(stderr, "xl: cannot %s the credit scheduler parameters of domain %u (%s): %s\n",
			strcmp(request, "sched-credit") ? "set" : "read", domid, name, reply);
		return 1;
	}
	if (sscanf(reply, "weight=%u cap=%u %n", &weight, &cap, &used) != 2 || !used) {
		fprintf(stderr, "xl: domain %u (%s) answered sched-credit with '%s'\n", domid, name, reply);
		return 1;
	}
	if (!strcmp(request, "sched-credit")) {
		printf("%-33s %4u %6u %4u\n", name, domid, weight, cap);
		if (!strncmp(reply + used, "unenforced=", 11))
			fprintf(stderr, "xl: domain %u (%s): weight and cap are not enforced: %s\n", domid, name,
				reply + used + 11);
	}
	return 0;
}

int main_sched_credit(struct xl_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "domain", 1, NULL, 'd' }, { "weight", 1, NULL, 'w' }, { "cap", 1, NULL, 'c' },
		{ "schedparam", 0, NULL, 's' }, { "tslice_ms", 1, NULL, 't' }, { "ratelimit_us", 1, NULL, 'r' },
		{ "migration_delay_us", 1, NULL, 'm' }, { "cpupool", 1, NULL, 'p' }, { 0 },
	};
	const char *dom = NULL, *weight = NULL, *cap = NULL;
	bool pool_opts = false;
	char name[DOMAIN_NAME_MAX + 1], request[96];
	unsigned int domid;
	int opt, status, failed = 0;

	while ((opt = xl_getopt(argc, argv, "d:w:c:p:t:r:m:s", opts, "sched-credit", 0, &status)) != -1) {
		switch (opt) {
		case XL_OPT_STOP: return status;
		case 'd': dom = optarg; break;
		case 'w': weight = optarg; break;
		case 'c': cap = optarg; break;
		default: pool_opts = true; break;   /* -s -t -r -m -p */
		}
	}
	if (pool_opts && (dom || weight || cap)) {
		fprintf(stderr, "Specifying a cpupool or schedparam is not allowed with domain options.\n");
		return EXIT_FAILURE;
	}
	if (pool_opts) {
		fprintf(stderr, "xl: cpupools and the credit scheduler's own parameters (tslice, ratelimit, "
			"migration delay) are not supported by Xenith: Linux schedules the vCPUs\n");
		return EXIT_FAILURE;
	}
	if (!dom && (weight || cap)) {
		fprintf(stderr, "Must specify a domain.\n");
		return EXIT_FAILURE;
	}
	const char *values[] = { weight, cap }, *keys[] = { "weight", "cap" };
	for (int i = 0; i < 2; i++) {
		char *end;
		long v = values[i] ? strtol(values[i], &end, 10) : 0;
		if (values[i] && (end == values[i] || *end || v < (i ? 0 : 1) || v > 65535)) {
			fprintf(stderr, "xl: %s '%s': expected %s\n", keys[i], values[i],
				i ? "0 (no cap) to 65535 (% of one CPU)" : "1 to 65535");
			return EXIT_FAILURE;
		}
	}
	if (xl_ctx_rundir(ctx))
		return EXIT_FAILURE;
	if (!dom) {
		struct rundir_domain *doms = NULL;
		size_t n = 0;
		if (rundir_list_domains(&ctx->rd, &doms, &n)) {
			fprintf(stderr, "xl: listing domains failed\n");
			return EXIT_FAILURE;
		}
		/* Xen prints its pool's tslice and ratelimit here; Linux has neither, as xl says when it
		 * cannot read them. */
		printf("Cpupool Pool-0: [sched params unavailable]\n");
		printf("%-33s %4s %6s %4s\n", "Name", "ID", "Weight", "Cap");
		for (size_t i = 0; i < n; i++)
			failed |= credit_row(ctx, doms[i].domid, doms[i].name, "sched-credit");
		free(doms);
		return failed ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	status = xl_find_domain_or_complain(ctx, dom, "set the credit of", &domid, name, sizeof(name));
	if (status)
		return status;
	if (!weight && !cap) {
		printf("%-33s %4s %6s %4s\n", "Name", "ID", "Weight", "Cap");
		return credit_row(ctx, domid, name, "sched-credit") ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	snprintf(request, sizeof(request), "sched-credit%s%s%s%s", weight ? " weight=" : "", weight ? weight : "",
		 cap ? " cap=" : "", cap ? cap : "");
	return credit_row(ctx, domid, name, request) ? EXIT_FAILURE : EXIT_SUCCESS;
}
