/* Domain life cycle: create, destroy, pause, unpause, console. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "xl/domain_config.h"
#include "xl/xl_cfg.h"
#include "xl/xl_cmdtable.h"
#include "xl/xl_console.h"
#include "xl/xl_domain.h"
#include "xl/xl_block.h"
#include "xl/xl_json.h"
#include "xl/xl_network.h"

#define REQUEST_TIMEOUT_MS 5000
#define DESTROY_WAIT_MS    10000

static void print_config(const struct domain_config *dc)
{
	struct xl_json_nic nics[VIF_MAX];
	struct xl_json_disk disks[DISK_MAX];
	char macs[VIF_MAX][VIF_MAC_TEXT];
	struct xl_json_domain d = {
		.name = dc->name, .type = domain_type_name(dc->type),
		.max_memkb = (unsigned long long)dc->maxmem_mb * 1024,
		.target_memkb = (unsigned long long)dc->memory_mb * 1024,
		.max_vcpus = dc->max_vcpus,
		.kernel = dc->kernel, .ramdisk = dc->ramdisk, .cmdline = dc->cmdline,
		.on_poweroff = domain_action_name(dc->on_poweroff),
		.on_reboot = domain_action_name(dc->on_reboot),
		.on_crash = domain_action_name(dc->on_crash),
		.disks = disks, .n_disks = dc->n_disks,
		.nics = nics, .n_nics = dc->n_vifs,
	};
	struct json_writer w;

	for (size_t i = 0; i < dc->n_disks && i < DISK_MAX; i++) {
		const struct xl_disk *k = &dc->disks[i];

		disks[i] = (struct xl_json_disk){
			.devid = k->devid, .vdev = k->vdev, .target = k->target,
			.access = xl_disk_access_name(k), .devtype = xl_disk_devtype_name(k),
		};
	}
	for (size_t i = 0; i < dc->n_vifs && i < VIF_MAX; i++) {
		const struct xl_vif *v = &dc->vifs[i];

		xl_vif_mac_format(v->mac, macs[i]);
		nics[i] = (struct xl_json_nic){
			.devid = (unsigned int)v->devid, .mac = macs[i], .bridge = v->bridge,
			.ip = v->ip, .script = v->script, .vifname = v->vifname,
		};
	}
	json_init(&w, stdout);
	xl_json_domain_config(&w, NULL, &d);
	json_finish(&w);
}

/* A live domain already called `name`?  Directories left by dead VMMs are cleared on the way, as
 * they would otherwise keep the name taken. */
static int name_in_use(struct xl_ctx *ctx, const char *name, unsigned int *domid)
{
	struct rundir_domain *doms = NULL;
	size_t n = 0;
	int found = 0;

	if (!strcmp(name, XL_DOM0_NAME)) {
		*domid = 0;
		return 1;
	}
	if (rundir_list_domains(&ctx->rd, &doms, &n))
		return 0;      /* the VMM checks again, under the lock */
	for (size_t i = 0; i < n && !found; i++) {
		if (!strcmp(doms[i].name, name) && !xl_domain_reap_if_dead(ctx, doms[i].domid)) {
			*domid = doms[i].domid;
			found = 1;
		}
	}
	free(doms);
	return found;
}

int main_create(struct xl_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dryrun", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct xl_cfg cfg = { 0 };
	struct domain_config dc = { 0 };
	const char *file = NULL;
	bool console = false, paused = false, dryrun = ctx->dryrun, quiet = false;
	char err[1024];
	unsigned int domid, other;
	int opt, status = EXIT_FAILURE;

	/* Like xl: the config file may come first, before the options. */
	if (argc > 1 && argv[1][0] != '-' && !strchr(argv[1], '=')) {
		file = argv[1];
		argc--;
		argv++;
	}
	while ((opt = xl_getopt(argc, argv, "cnpq", opts, "create", 0, &status)) != -1) {
		switch (opt) {
		case XL_OPT_STOP:
			return status;
		case 'c':
			console = true;
			break;
		case 'n':
			dryrun = true;
			break;
		case 'p':
			paused = true;
			break;
		case 'q':
			quiet = true;
			break;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (strchr(argv[i], '='))
			continue;
		if (file) {
			fprintf(stderr, "xl: more than one config file given ('%s' and '%s')\n\n", file,
				argv[i]);
			xl_help(stderr, "create");
			return 2;
		}
		file = argv[i];
	}
	if (!file) {
		fprintf(stderr, "xl: no config file given\n\n");
		xl_help(stderr, "create");
		return 2;
	}

	if (!quiet)
		fprintf(stderr, "Parsing config from %s\n", file);
	if (xl_cfg_parse_file(file, &cfg, err, sizeof(err))) {
		fprintf(stderr, "xl: %s\n", err);
		goto out;
	}
	for (int i = optind; i < argc; i++) {
		if (strchr(argv[i], '=') && xl_cfg_apply_override(&cfg, argv[i], err, sizeof(err))) {
			fprintf(stderr, "xl: %s\n", err);
			goto out;
		}
	}
	if (domain_config_from_cfg(&cfg, &dc, stderr, err, sizeof(err))) {
		fprintf(stderr, "xl: %s\n", err);
		goto out;
	}
	if (dc.type == DOMAIN_TYPE_HVM) {
		fprintf(stderr, "xl: hvm domains are not yet supported by Xenith\n");
		goto out;
	}
	/* xl's default type.  The VMM refuses a kernel without the PVH entry note, with its reason. */
	if (dc.type == DOMAIN_TYPE_PV)
		fprintf(stderr, "xl: warning: type \"pv\": classic PV is not supported by Xenith; "
			"booting the kernel as PVH\n");
	if (domain_config_resolve_vifs(&dc, err, sizeof(err)) ||
	    domain_config_resolve_disks(&dc, err, sizeof(err))) {
		fprintf(stderr, "xl: %s\n", err);
		goto out;
	}
	if (dryrun) {
		/* The config as libxl would print it, and what the VMM would be given for the devices. */
		for (size_t i = 0; i < dc.n_disks && !quiet; i++) {
			char *spec = xl_disk_format_spec(&dc.disks[i]);

			fprintf(stderr, "disk %zu: --disk %s\n", i, spec ? spec : "(out of memory)");
			free(spec);
		}
		for (size_t i = 0; i < dc.n_vifs && !quiet; i++) {
			char *spec = xl_vif_format_spec(&dc.vifs[i]);

			fprintf(stderr, "vif %zu: --vif %s\n", i, spec ? spec : "(out of memory)");
			free(spec);
		}
		print_config(&dc);
		status = EXIT_SUCCESS;
		goto out;
	}
	/* Before anything is made: a vif-bridge vif needs its bridge. */
	if (xl_vifs_check_bridges(dc.vifs, dc.n_vifs, err, sizeof(err))) {
		fprintf(stderr, "xl: %s\n", err);
		goto out;
	}

	if (xl_check_kvm(err, sizeof(err))) {
		fprintf(stderr, "xl: %s\n", err);
		goto out;
	}
	if (xl_ctx_rundir(ctx))
		goto out;
	if (name_in_use(ctx, dc.name, &other)) {
		fprintf(stderr, "xl: a domain named '%s' already exists (domid %u)\n", dc.name, other);
		goto out;
	}
	/* One writer or many readers: no target already in use the wrong way by a running domain. */
	if (xl_disks_check_in_use(ctx, dc.disks, dc.n_disks, err, sizeof(err))) {
		fprintf(stderr, "xl: %s\n", err);
		goto out;
	}
	if (xl_domain_spawn(ctx, &dc, paused, &domid, err, sizeof(err))) {
		fprintf(stderr, "xl: %s\n", err);
		goto out;
	}
	if (console && xl_console_attach(ctx, domid, err, sizeof(err))) {
		fprintf(stderr, "xl: %s\n", err);
		goto out;
	}
	status = EXIT_SUCCESS;
out:
	domain_config_free(&dc);
	xl_cfg_free(&cfg);
	return status;
}

int main_destroy(struct xl_ctx *ctx, int argc, char **argv)
{
	char name[DOMAIN_NAME_MAX + 1], reply[1024], log[PATH_MAX];
	unsigned int domid;
	int opt, status, r;

	while ((opt = xl_getopt(argc, argv, "", NULL, "destroy", 1, &status)) != -1)
		if (opt == XL_OPT_STOP)
			return status;
	status = xl_find_domain_or_complain(ctx, argv[optind], "destroy", &domid, name, sizeof(name));
	if (status)
		return status;
	r = xl_domain_request(ctx, domid, "destroy", REQUEST_TIMEOUT_MS, reply, sizeof(reply));
	if (r == -ESRCH)
		return EXIT_SUCCESS;     /* it went (or its dead VMM's leftovers did) */
	if (r) {
		fprintf(stderr, "xl: cannot destroy domain %u (%s): %s\n", domid, name, reply);
		return EXIT_FAILURE;
	}
	/* Wait until it is gone, so that an `xl list` right after no longer shows it. */
	if (xl_domain_wait_gone(ctx, domid, DESTROY_WAIT_MS)) {
		fprintf(stderr, "xl: domain %u (%s) accepted destroy but is still there after %d s; "
			"see %s\n", domid, name, DESTROY_WAIT_MS / 1000,
			rundir_path(&ctx->rd, log, sizeof(log), "log/vmm-%s.log", name) ?: "its log");
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

/* pause and unpause: one request, no reply text. */
static int simple_request(struct xl_ctx *ctx, int argc, char **argv, const char *command)
{
	char name[DOMAIN_NAME_MAX + 1], reply[1024];
	unsigned int domid;
	int opt, status, r;

	while ((opt = xl_getopt(argc, argv, "", NULL, command, 1, &status)) != -1)
		if (opt == XL_OPT_STOP)
			return status;
	status = xl_find_domain_or_complain(ctx, argv[optind], command, &domid, name, sizeof(name));
	if (status)
		return status;
	r = xl_domain_request(ctx, domid, command, REQUEST_TIMEOUT_MS, reply, sizeof(reply));
	if (r == -ESRCH) {
		fprintf(stderr, "xl: domain '%s' does not exist\n", argv[optind]);
		return EXIT_FAILURE;
	}
	if (r) {
		fprintf(stderr, "xl: cannot %s domain %u (%s): %s\n", command, domid, name, reply);
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

int main_pause(struct xl_ctx *ctx, int argc, char **argv)
{
	return simple_request(ctx, argc, argv, "pause");
}

int main_unpause(struct xl_ctx *ctx, int argc, char **argv)
{
	return simple_request(ctx, argc, argv, "unpause");
}

int main_console(struct xl_ctx *ctx, int argc, char **argv)
{
	char name[DOMAIN_NAME_MAX + 1], err[1024];
	unsigned int domid;
	int opt, status;

	while ((opt = xl_getopt(argc, argv, "t:n:", NULL, "console", 1, &status)) != -1) {
		switch (opt) {
		case XL_OPT_STOP:
			return status;
		case 't':
			/* A PVH domain has one console; both names reach it. */
			if (strcmp(optarg, "pv") && strcmp(optarg, "serial")) {
				fprintf(stderr, "console type supported are: pv, serial\n");
				return EXIT_FAILURE;
			}
			break;
		case 'n':
			if (strcmp(optarg, "0")) {
				fprintf(stderr, "xl: domains have one console here: number 0\n");
				return EXIT_FAILURE;
			}
			break;
		}
	}
	status = xl_find_domain_or_complain(ctx, argv[optind], "attach to the console of", &domid, name,
					    sizeof(name));
	if (status)
		return status;
	if (xl_console_attach(ctx, domid, err, sizeof(err))) {
		fprintf(stderr, "xl: %s\n", err);
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}
