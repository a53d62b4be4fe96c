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
#include "xl/xl_sched.h"

#define REPLY_MAX 8192

static int parse_vcpu_line(const char *line, struct xl_vcpu_info *v)
{
	return sscanf(line, "vcpu=%u cpu=%d state=%c time=%lf hard=%511s soft=%511s", &v->id, &v->cpu,
		      &v->state, &v->time, v->hard, v->soft) == 6 ? 0 : -1;
}

int xl_vcpu_list(struct xl_ctx *ctx, unsigned int domid, struct xl_vcpu_info **out, size_t *n, char *err,
		 size_t errlen)
{
	char *reply = malloc(REPLY_MAX);
	struct xl_vcpu_info *v = NULL;
	size_t count = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (!reply) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = xl_domain_request(ctx, domid, "vcpu-list", XL_REQUEST_MS, reply, REPLY_MAX);
	if (r) {
		snprintf(err, errlen, "%s", reply);
		goto out;
	}
	for (char *save = NULL, *line = strtok_r(reply, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct xl_vcpu_info *grown = realloc(v, (count + 1) * sizeof(*v));

		if (!grown) {
			snprintf(err, errlen, "out of memory");
			r = -ENOMEM;
			goto out;
		}
		v = grown;
		if (parse_vcpu_line(line, &v[count])) {
			snprintf(err, errlen, "%s", line);
			r = -EPROTO;
			goto out;
		}
		count++;
	}
	*out = v;
	*n = count;
	v = NULL;
out:
	free(v);
	free(reply);
	return r;
}

static void print_vcpu(const char *name, unsigned int domid, const struct xl_vcpu_info *v)
{
	printf("%-32s %5u %5u", name, domid, v->id);
	if (v->state == 'p' || v->cpu < 0)
		printf("%5c %3c%cp ", '-', '-', '-');
	else
		printf("%5d %3c%c- ", v->cpu, v->state == 'r' ? 'r' : '-', v->state == 'b' ? 'b' : '-');
	printf("%9.1f  %s / %s\n", v->time, v->hard, v->soft);
}

static int vcpu_list_domain(struct xl_ctx *ctx, unsigned int domid, const char *name)
{
	char err[REPLY_MAX];
	struct xl_vcpu_info *v;
	size_t n;
	int r = xl_vcpu_list(ctx, domid, &v, &n, err, sizeof(err));

	if (r == -ESRCH)
		return 0;              /* gone meanwhile: as xl, nothing to print */
	if (r == -EPROTO) {
		fprintf(stderr, "xl: domain %u (%s) answered vcpu-list with '%s'\n", domid, name, err);
		return 1;
	}
	if (r) {
		fprintf(stderr, "xl: cannot list the vCPUs of domain %u (%s): %s\n", domid, name, err);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		print_vcpu(name, domid, &v[i]);
	free(v);
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

int xl_vcpu_pin(struct xl_ctx *ctx, unsigned int domid, const char *vcpu, const char *hard, const char *soft,
		char *err, size_t errlen)
{
	char request[1200];
	int n = snprintf(request, sizeof(request), "vcpu-pin %s %s%s%s", vcpu, hard, soft ? " " : "",
			 soft ? soft : "");

	if (n < 0 || (size_t)n >= sizeof(request)) {
		snprintf(err, errlen, "the affinity lists are too long");
		return -E2BIG;
	}
	return xl_domain_request(ctx, domid, request, XL_REQUEST_MS, err, errlen);
}

int main_vcpupin(struct xl_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "force", 0, NULL, 'f' }, { 0 } };
	char name[DOMAIN_NAME_MAX + 1], why[512], reply[1024];
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
	r = xl_vcpu_pin(ctx, domid, vcpu, hard, soft, reply, sizeof(reply));
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

int xl_sched_credit(struct xl_ctx *ctx, unsigned int domid, const unsigned int *weight, const unsigned int *cap,
		    struct xl_credit *out, char *err, size_t errlen)
{
	char request[96], reply[2048];
	int used = 0;
	int r;

	snprintf(request, sizeof(request), "sched-credit");
	if (weight)
		snprintf(request + strlen(request), sizeof(request) - strlen(request), " weight=%u", *weight);
	if (cap)
		snprintf(request + strlen(request), sizeof(request) - strlen(request), " cap=%u", *cap);
	r = xl_domain_request(ctx, domid, request, XL_REQUEST_MS, reply, sizeof(reply));
	if (r) {
		snprintf(err, errlen, "%s", reply);
		return r;
	}
	memset(out, 0, sizeof(*out));
	/* "weight=W cap=C cgroup=PATH" or "weight=W cap=C unenforced=WHY" */
	if (sscanf(reply, "weight=%u cap=%u %n", &out->weight, &out->cap, &used) != 2 || !used) {
		snprintf(err, errlen, "%s", reply);
		return -EPROTO;
	}
	if (!strncmp(reply + used, "unenforced=", 11))
		snprintf(out->unenforced, sizeof(out->unenforced), "%s", reply + used + 11);
	return 0;
}

static int credit_row(struct xl_ctx *ctx, unsigned int domid, const char *name, const unsigned int *weight,
		      const unsigned int *cap)
{
	char err[2048];
	struct xl_credit c;
	bool set = weight || cap;
	int r = xl_sched_credit(ctx, domid, weight, cap, &c, err, sizeof(err));

	if (r == -ESRCH)
		return 0;
	if (r == -EPROTO) {
		fprintf(stderr, "xl: domain %u (%s) answered sched-credit with '%s'\n", domid, name, err);
		return 1;
	}
	if (r) {
		fprintf(stderr, "xl: cannot %s the credit scheduler parameters of domain %u (%s): %s\n",
			set ? "set" : "read", domid, name, err);
		return 1;
	}
	if (!set) {
		printf("%-33s %4u %6u %4u\n", name, domid, c.weight, c.cap);
		if (c.unenforced[0])
			fprintf(stderr, "xl: domain %u (%s): weight and cap are not enforced: %s\n", domid, name,
				c.unenforced);
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
	char name[DOMAIN_NAME_MAX + 1];
	unsigned int domid, numbers[2];
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
		numbers[i] = (unsigned int)v;
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
			failed |= credit_row(ctx, doms[i].domid, doms[i].name, NULL, NULL);
		free(doms);
		return failed ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	status = xl_find_domain_or_complain(ctx, dom, "set the credit of", &domid, name, sizeof(name));
	if (status)
		return status;
	if (!weight && !cap) {
		printf("%-33s %4s %6s %4s\n", "Name", "ID", "Weight", "Cap");
		return credit_row(ctx, domid, name, NULL, NULL) ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	return credit_row(ctx, domid, name, weight ? &numbers[0] : NULL, cap ? &numbers[1] : NULL) ?
	       EXIT_FAILURE : EXIT_SUCCESS;
}
