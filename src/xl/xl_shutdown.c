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
#include "xl/xl_bounds.h"
#include "xl/xl_cmdtable.h"
#include "xl/xl_domain.h"
#include "xl/xl_shutdown.h"
#include "xl/xl_store.h"
#include "xl/xl_vmm.h"

#define POLL_INTERVAL_US 20000

static int ack_timeout_s(void)
{
	const char *env = getenv("XENITH_SHUTDOWN_TIMEOUT");
	int v = env ? atoi(env) : 0;

	return v > 0 ? v : XL_SHUTDOWN_ACK_S;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int xl_shutdown_store_open(struct xl_ctx *ctx, struct xl_store *store, char *err, size_t errlen)
{
	char why[512];

	if (xl_ctx_rundir(ctx)) {
		snprintf(err, errlen, "xl: cannot use the run directory (see the log)");
		return -1;
	}
	int r = xl_store_open(&ctx->rd, store, XL_XENSTORE_MS, why, sizeof(why));
	/* None runs (it died): start one, as xl does on demand; its snapshot brings the domains'
	 * nodes back (docs/xenstored.md).  One that runs but does not answer is not replaced. */
	if ((r == -ECONNREFUSED || r == -ENOENT) && xenstored_ensure(ctx->rd.path, NULL, why, sizeof(why)) >= 0)
		r = xl_store_open(&ctx->rd, store, XL_XENSTORE_MS, why, sizeof(why));
	if (r) {
		snprintf(err, errlen, "xl: cannot reach xenstored: %s", why);
		return -1;
	}
	return 0;
}

/* Every reply bounded (XL_XENSTORE_MS). */
static int open_store(struct xl_ctx *ctx, struct xl_store *store)
{
	char err[1024];

	if (xl_ctx_rundir(ctx))
		return -1;           /* it said why */
	if (xl_shutdown_store_open(ctx, store, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

/* 1 while `path` holds a request the guest has not taken, 0 once it has, or -errno. */
static int request_pending(struct xl_store *store, const char *path)
{
	char *value = NULL;
	size_t len;
	int r = xs_read(store->xs, 0, path, &value, &len);

	free(value);
	if (r == -ENOENT)
		return 0;
	return r ? r : len > 0;
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
	const char *trigger;     /* -F without PV drivers: the VMM's trigger ("power", "reset") */
	const char *doing;       /* "Shutting down" */
	const char *what;        /* "shutdown" in "external graceful shutdown not possible" */
};

int xl_pvcontrol_send(struct xl_ctx *ctx, struct xl_store *store, unsigned int domid, const char *name,
		      const char *request, const char *what, struct xl_dominfo *info, char *err,
		      size_t errlen)
{
	struct xs_client *xs = store->xs;
	char path[128], feature[128], why[512];
	char *value = NULL;
	size_t len;

	int r = xl_domain_info(ctx, domid, name, info, why, sizeof(why));
	if (r) {
		snprintf(err, errlen, "xl: domain %s: %s", name, r == -ESRCH ? "it is gone" : why);
		return -1;
	}
	snprintf(feature, sizeof(feature), "/local/domain/%u/control/feature-%s", domid, request);
	if (!strcmp(info->type, "hvm") && xs_read(xs, 0, feature, &value, &len) != 0)
		value = NULL;
	bool available = xl_pvcontrol_available(info->type, value);
	free(value);
	if (!available) {
		snprintf(err, errlen, "PV control interface not available: external graceful %s not "
			 "possible (HVM domain %s has no PV drivers: it has not written control/feature-%s).",
			 what, name, request);
		return -2;
	}
	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", domid);
	r = xs_write_str(xs, 0, path, request);
	if (r) {
		snprintf(err, errlen, "xl: writing %s: %s", path, xl_store_explain(store, r, why, sizeof(why)));
		return -1;
	}
	return 0;
}

/* Sends the request to one domain and waits as asked. */
static int signal_domain(struct xl_ctx *ctx, struct xl_store *store, unsigned int domid,
			 const char *name, const struct pvcontrol_request *req, bool wait_gone, bool acpi_fallback)
{
	char path[128], err[1024], who[256];
	const char *request = req->request;
	struct xl_dominfo info;
	int timeout = ack_timeout_s();
	int r;

	fprintf(stderr, "%s domain %u\n", req->doing, domid);
	r = xl_pvcontrol_send(ctx, store, domid, name, request, req->what, &info, err, sizeof(err));
	if (r == -2 && acpi_fallback) {
		/* As Xen's -F: the ACPI power button for a shutdown, the reset line for a reboot. */
		char trigger[32], reply[512];
		fprintf(stderr, "%s: no PV drivers in the guest; using the ACPI %s instead\n", name,
			!strcmp(req->trigger, "power") ? "power button" : "reset");
		snprintf(trigger, sizeof(trigger), "trigger %s", req->trigger);
		if (xl_domain_request(ctx, domid, trigger, XL_REQUEST_MS, reply, sizeof(reply))) {
			fprintf(stderr, "xl: %s of domain %u (%s): %s\n", trigger, domid, name, reply);
			return EXIT_FAILURE;
		}
	} else if (r) {
		fprintf(stderr, "%s%s\n", err, r == -2 ? " Use \"-F\" to fall back to the ACPI power "
			"event." : "");
		return EXIT_FAILURE;
	}
	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", domid);
	double deadline = now_s() + timeout;
	bool pv = r == 0;      /* else the button was pressed: no request waits in the store */
	while (pv && (r = request_pending(store, path)) != 0) {
		if (r < 0) {
			fprintf(stderr, "xl: reading %s: %s\n", path,
				xl_store_explain(store, r, err, sizeof(err)));
			return EXIT_FAILURE;
		}
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
	if (xl_domain_wait_gone(ctx, domid, XL_SHUTDOWN_GONE_MS) == -ETIMEDOUT) {
		xl_vmm_describe(info.vmm_pid, who, sizeof(who));
		fprintf(stderr, "xl: domain %u (%s) took the %s request but is still there after %d s; "
			"%s\n", domid, name, request, XL_SHUTDOWN_GONE_MS / 1000, who);
		return EXIT_FAILURE;
	}
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
	bool wait_gone = false, all = false, acpi_fallback = false;
	int opt, status;

	while ((opt = xl_getopt(argc, argv, "awF", opts, command, 0, &status)) != -1) {
		if (opt == XL_OPT_STOP)
			return status;
		if (opt == 'w')
			wait_gone = true;
		else if (opt == 'a')
			all = true;
		else if (opt == 'F')
			acpi_fallback = true;
	}
	if (!all && optind >= argc) {
		fprintf(stderr, "xl %s: a domain is required\n", command);
		return 2;
	}
	struct xl_store store;
	if (open_store(ctx, &store))
		return EXIT_FAILURE;
	status = EXIT_SUCCESS;
	if (all) {
		struct rundir_domain *doms = NULL;
		size_t n = 0;
		rundir_list_domains(&ctx->rd, &doms, &n);
		for (size_t i = 0; i < n; i++)
			if (signal_domain(ctx, &store, doms[i].domid, doms[i].name, request, wait_gone,
					  acpi_fallback))
				status = EXIT_FAILURE;
		free(doms);
	} else if ((status = xl_find_domain_or_complain(ctx, argv[optind], command, &domid, name, sizeof(name))) == 0) {
		status = signal_domain(ctx, &store, domid, name, request, wait_gone, acpi_fallback);
	}
	xl_store_close(&store);
	return status;
}

int main_shutdown(struct xl_ctx *ctx, int argc, char **argv)
{
	static const struct pvcontrol_request req = { "poweroff", "power", "Shutting down", "shutdown" };

	return shutdown_or_reboot(ctx, argc, argv, "shutdown", &req);
}

int main_reboot(struct xl_ctx *ctx, int argc, char **argv)
{
	static const struct pvcontrol_request req = { "reboot", "reset", "Rebooting", "reboot" };

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
	struct xl_store store;
	char err[512];
	if (open_store(ctx, &store))
		return EXIT_FAILURE;
	snprintf(path, sizeof(path), "/local/domain/%u/control/sysrq", domid);
	int r = xs_write_str(store.xs, 0, path, key);
	if (r)
		fprintf(stderr, "xl: writing %s: %s\n", path, xl_store_explain(&store, r, err, sizeof(err)));
	xl_store_close(&store);
	if (r)
		return EXIT_FAILURE;
	return EXIT_SUCCESS;
}
