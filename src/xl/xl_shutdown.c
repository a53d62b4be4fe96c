/* shutdown, reboot and sysrq: requests through the guest's control/ directory in xenstore, which a
 * PV guest watches.  As libxl does (libxl__domain_pvcontrol), a PV or PVH domain is simply sent the
 * request: its kernel's control driver is assumed.  Only for HVM does libxl first ask whether PV
 * drivers are there (HVM_PARAM_CALLBACK_IRQ); xl here cannot read a domain's HVM parameters, so it
 * looks for what the same drivers write, control/feature-poweroff (-reboot).  The guest
 * acknowledges a request by clearing the node; xl waits for that, and with -w for the domain to go. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "lib/xs_client.h"
#include "xl/xl_cmdtable.h"
#include "xl/xl_domain.h"
#include "xl/xl_shutdown.h"

#define ACK_TIMEOUT_DEFAULT_S 10
#define POLL_INTERVAL_US 20000

static int ack_timeout_s(void)
{
	const char *env = getenv("XENITH_SHUTDOWN_TIMEOUT");
	int v = env ? atoi(env) : 0;

	return v > 0 ? v : ACK_TIMEOUT_DEFAULT_S;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct xs_client *open_store(struct xl_ctx *ctx)
{
	char err[512];
	struct xs_client *xs;

	if (xl_ctx_rundir(ctx))
		return NULL;
	xs = xs_open(ctx->rd.path, err, sizeof(err));
	if (!xs)
		fprintf(stderr, "xl: cannot reach xenstored: %s\n", err);
	return xs;
}

/* True while `path` holds a request the guest has not taken. */
static bool request_pending(struct xs_client *xs, const char *path)
{
	char *value = NULL;
	size_t len;
	bool pending = xs_read(xs, 0, path, &value, &len) == 0 && len > 0;

	free(value);
	return pending;
}

bool xl_pvcontrol_available(const char *type, const char *feature)
{
	if (strcmp(type, "hvm"))
		return true;
	return feature && !strcmp(feature, "1");
}

/* One shutdown or reboot, as xl names it in its messages. */
struct pvcontrol_request {
	const char *request;     /* what goes into control/shutdown */
	const char *doing;       /* "Shutting down" */
	const char *what;        /* "shutdown" in "external graceful shutdown not possible" */
};

/* Sends the request to one domain and waits as asked. */
static int signal_domain(struct xl_ctx *ctx, struct xs_client *xs, unsigned int domid, const char *name,
			 const struct pvcontrol_request *req, bool wait_gone)
{
	char path[128], feature[128], err[512];
	const char *request = req->request;
	struct xl_dominfo info;
	char *value = NULL;
	size_t len;
	int timeout = ack_timeout_s();

	fprintf(stderr, "%s domain %u\n", req->doing, domid);
	int r = xl_domain_info(ctx, domid, name, &info, err, sizeof(err));
	if (r) {
		fprintf(stderr, "xl: domain %s: %s\n", name, r == -ESRCH ? "it is gone" : err);
		return EXIT_FAILURE;
	}
	snprintf(feature, sizeof(feature), "/local/domain/%u/control/feature-%s", domid, request);
	if (!strcmp(info.type, "hvm") && xs_read(xs, 0, feature, &value, &len) != 0)
		value = NULL;
	bool available = xl_pvcontrol_available(info.type, value);
	free(value);
	if (!available) {
		fprintf(stderr, "PV control interface not available: external graceful %s not possible "
			"(HVM domain %s has no PV drivers: it has not written control/feature-%s).\n",
			req->what, name, request);
		return EXIT_FAILURE;
	}
	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", domid);
	r = xs_write_str(xs, 0, path, request);
	if (r) {
		fprintf(stderr, "xl: writing %s: %s\n", path, strerror(-r));
		return EXIT_FAILURE;
	}
	double deadline = now_s() + timeout;
	while (request_pending(xs, path)) {
		if (now_s() > deadline) {
			fprintf(stderr, "xl: domain %s did not acknowledge the %s request within %d s "
				"(timed out; set XENITH_SHUTDOWN_TIMEOUT to wait longer)\n", name, request, timeout);
			return EXIT_FAILURE;
		}
		usleep(POLL_INTERVAL_US);
	}
	if (!wait_gone)
		return EXIT_SUCCESS;
	fprintf(stderr, "Waiting for 1 domains\n");
	/* A rebooting domain comes back under a new ID; either way this ID goes. */
	while (xl_domain_wait_gone(ctx, domid, 1000) == -ETIMEDOUT)
		;
	fprintf(stderr, "Domain %u has been shut down\n", domid);
	return EXIT_SUCCESS;
}

static int shutdown_or_reboot(struct xl_ctx *ctx, int argc, char **argv, const char *command,
			      const struct pvcontrol_request *request)
{
	static const struct option opts[] = {
		{ "wait", no_argument, NULL, 'w' }, { "all", no_argument, NULL, 'a' }, { 0 },
	};
	char name[DOMAIN_NAME_MAX + 1];
	unsigned int domid;
	bool wait_gone = false, all = false;
	int opt, status;

	while ((opt = xl_getopt(argc, argv, "awF", opts, command, 0, &status)) != -1) {
		if (opt == XL_OPT_STOP)
			return status;
		if (opt == 'w')
			wait_gone = true;
		else if (opt == 'a')
			all = true;
		else if (opt == 'F') {
			fprintf(stderr, "xl: -F (ACPI fallback) is not available: Xenith domains have no ACPI yet\n");
			return EXIT_FAILURE;
		}
	}
	if (!all && optind >= argc) {
		fprintf(stderr, "xl %s: a domain is required\n", command);
		return 2;
	}
	struct xs_client *xs = open_store(ctx);
	if (!xs)
		return EXIT_FAILURE;
	status = EXIT_SUCCESS;
	if (all) {
		struct rundir_domain *doms = NULL;
		size_t n = 0;
		rundir_list_domains(&ctx->rd, &doms, &n);
		for (size_t i = 0; i < n; i++)
			if (signal_domain(ctx, xs, doms[i].domid, doms[i].name, request, wait_gone))
				status = EXIT_FAILURE;
		free(doms);
	} else if ((status = xl_find_domain_or_complain(ctx, argv[optind], command, &domid, name, sizeof(name))) == 0) {
		status = signal_domain(ctx, xs, domid, name, request, wait_gone);
	}
	xs_close(xs);
	return status;
}

int main_shutdown(struct xl_ctx *ctx, int argc, char **argv)
{
	static const struct pvcontrol_request req = { "poweroff", "Shutting down", "shutdown" };

	return shutdown_or_reboot(ctx, argc, argv, "shutdown", &req);
}

int main_reboot(struct xl_ctx *ctx, int argc, char **argv)
{
	static const struct pvcontrol_request req = { "reboot", "Rebooting", "reboot" };

	return shutdown_or_reboot(ctx, argc, argv, "reboot", &req);
}

int main_sysrq(struct xl_ctx *ctx, int argc, char **argv)
{
	char name[DOMAIN_NAME_MAX + 1], path[128];
	unsigned int domid;
	int opt, status;

	while ((opt = xl_getopt(argc, argv, "", NULL, "sysrq", 2, &status)) != -1)
		if (opt == XL_OPT_STOP)
			return status;
	const char *key = argv[optind + 1];
	if (strlen(key) != 1) {
		fprintf(stderr, "xl: sysrq takes a single letter, not '%s'\n", key);
		return 2;
	}
	if ((status = xl_find_domain_or_complain(ctx, argv[optind], "send sysrq to", &domid, name, sizeof(name))))
		return status;
	struct xs_client *xs = open_store(ctx);
	if (!xs)
		return EXIT_FAILURE;
	snprintf(path, sizeof(path), "/local/domain/%u/control/sysrq", domid);
	int r = xs_write_str(xs, 0, path, key);
	xs_close(xs);
	if (r) {
		fprintf(stderr, "xl: writing %s: %s\n", path, strerror(-r));
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}
