/* Domain life cycle: create, destroy, pause, unpause, console. */
#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "lib/uuid.h"
#include "xl/domain_config.h"
#include "xl/xl_cfg.h"
#include "xl/hvm_config_xl.h"
#include "xl/xl_cmdtable.h"
#include "xl/xl_console.h"
#include "xl/xl_domain.h"
#include "xl/xl_block.h"
#include "xl/xl_bounds.h"
#include "xl/xl_reap.h"
#include "xl/xl_vmm.h"
#include "xl/xl_json.h"
#include "xl/xl_network.h"


static void print_config(const struct domain_config *dc)
{
	char uuid[UUID_TEXT_LEN];
	uuid_format(dc->uuid, uuid);
	struct xl_json_nic nics[VIF_MAX];
	struct xl_json_disk disks[DISK_MAX];
	char macs[VIF_MAX][VIF_MAC_TEXT];
	struct xl_json_domain d = {
		.name = dc->name, .type = domain_type_name(dc->type), .uuid = dc->has_uuid ? uuid : NULL,
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

/* A live domain already called `name`?  Found through the run directory's name index, so the
 * check costs the same however many domains there are.  A dead VMM's directory would keep the name
 * taken, so it is cleared on the way. */
static int name_in_use(struct xl_ctx *ctx, const char *name, unsigned int *domid)
{
	unsigned int other;

	if (!strcmp(name, XL_DOM0_NAME)) {
		*domid = 0;
		return 1;
	}
	if (rundir_find_name(&ctx->rd, name, &other))
		return 0;      /* the VMM checks again, under the lock */
	if (xl_domain_reap_if_dead(ctx, other))
		return 0;
	*domid = other;
	return 1;
}

/* A domain has a uuid from the start, as libxl makes one when xl.cfg gives none. */
static int domain_config_new_uuid(struct domain_config *dc, char *err, size_t errlen)
{
	int r = uuid_generate(dc->uuid);

	if (r < 0) {
		snprintf(err, errlen, "cannot make a uuid for domain %s: %s", dc->name, strerror(-r));
		return -1;
	}
	dc->has_uuid = true;
	return 0;
}

int xl_domain_create_check(struct xl_ctx *ctx, struct domain_config *dc, char *err, size_t errlen)
{
	unsigned int other;

	*err = '\0';
	if (!dc->has_uuid && domain_config_new_uuid(dc, err, errlen))
		return -1;
	/* Before anything is made: a vif-bridge vif needs its bridge. */
	if (xl_vifs_check_bridges(dc->vifs, dc->n_vifs, err, errlen) || xl_check_kvm(err, errlen))
		return -1;
	if (xl_ctx_rundir(ctx))
		return -1;            /* it said why on stderr */
	if (name_in_use(ctx, dc->name, &other)) {
		snprintf(err, errlen, "a domain named '%s' already exists (domid %u)", dc->name, other);
		return -1;
	}
	/* One writer or many readers: no target already in use the wrong way by a running domain. */
	return xl_disks_check_in_use(ctx, dc->disks, dc->n_disks, err, errlen) ? -1 : 0;
}

/* What a new domain needs before anything is made, then its VMM: a fresh one, or one restoring
 * a saved domain from restore_fd (>= 0). */
static int create_or_restore(struct xl_ctx *ctx, struct domain_config *dc, bool paused,
			     int restore_fd, int ready_ms, unsigned int *domid, char *err,
			     size_t errlen)
{
	if (xl_domain_create_check(ctx, dc, err, errlen))
		return -1;
	if (restore_fd >= 0)
		return xl_domain_spawn_restore(ctx, dc, restore_fd, ready_ms, domid, err, errlen);
	return xl_domain_spawn(ctx, dc, paused, domid, err, errlen);
}

int xl_domain_create(struct xl_ctx *ctx, struct domain_config *dc, bool paused, unsigned int *domid,
		     char *err, size_t errlen)
{
	return create_or_restore(ctx, dc, paused, -1, 0, domid, err, errlen);
}

int xl_domain_create_restore(struct xl_ctx *ctx, struct domain_config *dc, int restore_fd,
			     int ready_ms, unsigned int *domid, char *err, size_t errlen)
{
	return create_or_restore(ctx, dc, true, restore_fd, ready_ms, domid, err, errlen);
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
	unsigned int domid;
	int opt, status = EXIT_FAILURE, r;

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
	/* xl's default type.  The VMM refuses a kernel without the PVH entry note, with its reason. */
	if (dc.type == DOMAIN_TYPE_PV)
		fprintf(stderr, "xl: warning: type \"pv\": classic PV is not supported by Xenith; "
			"booting the kernel as PVH\n");
	if (domain_config_resolve_vifs(&dc, err, sizeof(err)) ||
	    domain_config_resolve_disks(&dc, err, sizeof(err)) ||
	    (!dc.has_uuid && domain_config_new_uuid(&dc, err, sizeof(err)))) {
		fprintf(stderr, "xl: %s\n", err);
		goto out;
	}
	if (dryrun) {
		/* The config as libxl would print it, and what the VMM would be given for the devices. */
		if (dc.type == DOMAIN_TYPE_HVM && !quiet) {
			struct xl_hvm_args a;
			if (xl_hvm_vmm_args(&dc, &a, err, sizeof(err))) {
				fprintf(stderr, "xl: %s\n", err);
				goto out;
			}
			fprintf(stderr, "hvm:");
			for (size_t i = 0; i < a.argc; i++)
				fprintf(stderr, " %s", a.argv[i]);
			fprintf(stderr, "\n");
			xl_hvm_args_free(&a);
		}
		for (size_t i = 0; i < dc.n_disks && !quiet; i++) {
			if (dc.type == DOMAIN_TYPE_HVM && !xl_hvm_disk_is_pv(&dc.disks[i]))
				continue;            /* an empty tray: nothing for a PV disk to serve */
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
	r = xl_domain_create(ctx, &dc, paused, &domid, err, sizeof(err));
	if (r) {
		if (*err)
			fprintf(stderr, "xl: %s\n", err);
		if (r > 0)
			status = 128 + r;     /* as a shell reports a command a signal ended */
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

/* The fallback of `xl destroy` when the VMM did not do it (why says what it did not do): SIGKILL
 * to the domain's own xenith-vmm, never to another process, then its leftovers. */
static int destroy_by_kill(struct xl_ctx *ctx, unsigned int domid, const char *name, pid_t pid,
			   const char *why, char *err, size_t errlen)
{
	char kwhy[512], rwhy[512];
	int r;

	if (pid <= 0)
		pid = xl_vmm_find(ctx->rd.path, name);
	if (pid <= 0) {
		if (xl_domain_reap_if_dead(ctx, domid))
			return 0;
		snprintf(err, errlen, "cannot destroy domain %u (%s): %s, and no xenith-vmm process "
			 "serves it to kill", domid, name, why);
		return -1;
	}
	r = xl_vmm_signal(pid, ctx->rd.path, name, SIGKILL, XL_KILL_WAIT_MS, kwhy, sizeof(kwhy));
	if (r == -EPERM) {
		snprintf(err, errlen, "cannot destroy domain %u (%s): %s; %s, so it is not killed",
			 domid, name, why, kwhy);
		return -1;
	}
	if (r) {
		snprintf(err, errlen, "cannot destroy domain %u (%s): %s; killing it failed: %s", domid,
			 name, why, kwhy);
		return -1;
	}
	fprintf(stderr, "xl: domain %u (%s): %s; killed its VMM (pid %d)\n", domid, name, why,
		(int)pid);
	if (xl_reap_domain(&ctx->rd, domid, rwhy, sizeof(rwhy)))
		fprintf(stderr, "xl: warning: domain %u (%s) is destroyed, but %s\n", domid, name, rwhy);
	return 0;
}

/* Asks the VMM to destroy its domain and waits until both its directory and its process are
 * gone; a VMM that does not answer, or does not go, is killed (destroy_by_kill).  Success is
 * never reported while the process lives. */
int xl_domain_destroy(struct xl_ctx *ctx, unsigned int domid, const char *name, char *err,
		      size_t errlen)
{
	char reply[1024], why[1024], who[256];
	pid_t pid = 0;
	int r;

	r = xl_domain_call(ctx, domid, "destroy", XL_REQUEST_MS, reply, sizeof(reply), &pid);
	if (r == -ESRCH)
		return 0;                /* it went, or its dead VMM's leftovers just did */
	if (r == 0) {
		/* Gone from the list first (the VMM removes its directory), then the process. */
		if (xl_domain_wait_gone_of(ctx, domid, pid, XL_DESTROY_GONE_MS) == 0 &&
		    xl_vmm_wait_exit(pid, XL_KILL_WAIT_MS) == 0) {
			rundir_forget_name(&ctx->rd, name, domid);   /* if the VMM left it */
			return 0;
		}
		xl_vmm_describe(pid, who, sizeof(who));
		snprintf(why, sizeof(why), "%s accepted destroy but did not exit within %d s", who,
			 XL_DESTROY_GONE_MS / 1000);
	} else {
		snprintf(why, sizeof(why), "%s", reply);
	}
	return destroy_by_kill(ctx, domid, name, pid, why, err, errlen);
}

int main_destroy(struct xl_ctx *ctx, int argc, char **argv)
{
	char name[DOMAIN_NAME_MAX + 1], err[2048];
	unsigned int domid;
	int opt, status;

	while ((opt = xl_getopt(argc, argv, "", NULL, "destroy", 1, &status)) != -1)
		if (opt == XL_OPT_STOP)
			return status;
	status = xl_find_domain_or_complain(ctx, argv[optind], "destroy", &domid, name, sizeof(name));
	if (status)
		return status;
	if (xl_domain_destroy(ctx, domid, name, err, sizeof(err))) {
		fprintf(stderr, "xl: %s\n", err);
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
	r = xl_domain_request(ctx, domid, command, XL_REQUEST_MS, reply, sizeof(reply));
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

/* Xen's xl trigger: the VMM presses the button (docs/vmm-control.md, `trigger`). */
int main_trigger(struct xl_ctx *ctx, int argc, char **argv)
{
	char name[DOMAIN_NAME_MAX + 1], request[96], reply[1024];
	unsigned int domid;
	int opt, status, r;

	while ((opt = xl_getopt(argc, argv, "", NULL, "trigger", 2, &status)) != -1)
		if (opt == XL_OPT_STOP)
			return status;
	const char *what = argv[optind + 1], *vcpu = optind + 2 < argc ? argv[optind + 2] : NULL;
	if (strlen(what) > 16 || strpbrk(what, " \n") || (vcpu && (strlen(vcpu) > 8 ||
	    strspn(vcpu, "0123456789") != strlen(vcpu)))) {
		fprintf(stderr, "xl: trigger: invalid trigger '%s' or vCPU '%s'\n", what, vcpu ? vcpu : "");
		return EXIT_FAILURE;
	}
	status = xl_find_domain_or_complain(ctx, argv[optind], "trigger", &domid, name, sizeof(name));
	if (status)
		return status;
	snprintf(request, sizeof(request), "trigger %s%s%s", what, vcpu ? " " : "", vcpu ? vcpu : "");
	r = xl_domain_request(ctx, domid, request, XL_REQUEST_MS, reply, sizeof(reply));
	if (r == -ESRCH) {
		fprintf(stderr, "xl: domain '%s' does not exist\n", argv[optind]);
		return EXIT_FAILURE;
	}
	if (r) {
		fprintf(stderr, "xl: trigger %s of domain %u (%s): %s\n", what, domid, name, reply);
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
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
