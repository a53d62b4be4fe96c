/* xenith-vmm: one process, one domain.  Builds the domain, tells xl "ok <domid>" on the ready fd,
 * then serves the control socket until the domain is destroyed (docs/vmm-control.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/domain_limits.h"
#include "lib/daemon_log.h"
#include "lib/error.h"
#include "lib/rundir.h"
#include "lib/uuid.h"
#include "backends/pv_backend.h"
#include "hw/device.h"
#include "hw/hvm_config.h"
#include "hw/uart16550.h"
#include "vmm/acpi_tables.h"
#include "vmm/control.h"
#include "backends/ring_poller.h"
#include "vmm/domain.h"
#include "vmm/event_loop.h"
#include "vmm/restore.h"
#include "vmm/save.h"
#include "vmm/sched.h"

struct vmm {
	struct rundir rd;
	struct domain_params params;
	struct domain dom;
	struct console console;
	int ready_fd;
	int notify_fd;
	int signal_fd;
	int control_fd;
	struct control_server control;
	struct event_loop loop;
	struct domain_sched sched;   /* cgroup, weight, cap, affinities (vmm/sched.h) */
	struct hvm_config hvm;       /* --hvm's options (params.hvm points here for an HVM domain) */
	bool running;
	bool guest_ended;            /* the guest shut down (rather than being destroyed) */
	char dir[PATH_MAX];          /* the domain's directory under domains/ */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: xenith-vmm --name NAME [--uuid UUID] [--config PATH] --kernel PATH\n"
		"                  [--ramdisk PATH] [--cmdline STR]\n"
		"                  [--memory MIB] [--maxmem MIB] [--vcpus N] [--max-vcpus N] [--on-poweroff ACT]\n"
		"                  [--on-reboot ACT] [--on-crash ACT] [--paused] [--rundir DIR] [--ready-fd FD]\n");
	for (const struct pv_backend_type *const *t = pv_backend_types; *t; t++)
		fprintf(out, "                  [--%s %s]...\n", (*t)->option, (*t)->spec_usage);
	fprintf(out, "                  [--weight W] [--cap C] [--cpus [VCPU=]LIST]... [--cpus-soft [VCPU=]LIST]...\n");
	fprintf(out, "                  [--backend-poll-us US]\n");
	fprintf(out, "                  [--hvm [--firmware PATH] [--boot ORDER] [--acpi 0|1] [--xen-platform-pci 0|1]\n"
		     "                   [--serial pty|none] [--rtc-offset SECONDS] [--localtime]\n"
		     "                   [--ide hdX,PATH,r|w,disk|cdrom]... [--nic model=M,mac=MAC,devid=N[,bridge=B][,script=P]]...]\n");
	fprintf(out, "ACT: destroy | restart | preserve.  Normally started by `xl create`.\n");
}

static int parse_action(const char *s, enum shutdown_action *out, char *err, size_t errlen)
{
	static const struct { const char *name; enum shutdown_action action; } actions[] = {
		{ "destroy", ACTION_DESTROY }, { "restart", ACTION_RESTART }, { "preserve", ACTION_PRESERVE },
	};
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (!strcmp(s, actions[i].name)) {
			*out = actions[i].action;
			return 0;
		}
	}
	if (!strcmp(s, "rename-restart") || !strncmp(s, "coredump-", 9))
		ERR_SET(err, errlen, "action '%s' is not supported by Xenith yet", s);
	else
		ERR_SET(err, errlen, "unknown action '%s' (destroy, restart or preserve)", s);
	return -1;
}

/* The smallest RAM has room for the first MiB, the ACPI tables and the special pages (vm.h). */
_Static_assert((DOMAIN_MIN_MEMORY_MB << 20) > 0x100000 + ACPI_PVH_REGION_SIZE + SPECIAL_PAGES * 4096,
	       "DOMAIN_MIN_MEMORY_MB holds the fixed parts of the memory map");

/* A decimal number within [min, max] for --option; the refusal names the option, the value and
 * the range, as xl's own check of the same limit does (lib/domain_limits.h). */
static int parse_number(const char *s, const char *option, const char *what, unsigned long long min,
			unsigned long long max, unsigned long long *out, char *err, size_t errlen)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || *out < min || *out > max) {
		ERR_SET(err, errlen, "--%s '%s': expected %s from %llu to %llu", option, s, what, min,
			max);
		return -1;
	}
	return 0;
}

/* A PV device option (--vif, --disk ...), checked now so that a typo fails before anything is
 * built; the spec is parsed again once the domid is known. */
static int add_pv_spec(struct domain_params *p, const struct pv_backend_type *type, const char *spec,
		       char *err, size_t errlen)
{
	unsigned int count = 0;
	char why[512];

	for (unsigned int i = 0; i < p->n_pv_specs; i++)
		count += p->pv_specs[i].type == type;
	if (count == type->max || p->n_pv_specs == PV_MAX_DEVICES) {
		ERR_SET(err, errlen, "--%s: a domain has at most %u %s (this is the %uth)", type->option,
			count == type->max ? type->max : count, type->plural, count + 1);
		return -1;
	}
	void *config = calloc(1, type->config_size);
	int r = config ? type->parse(spec, config, why, sizeof(why)) : -1;
	free(config);
	if (r) {
		ERR_SET(err, errlen, "--%s '%s': %s", type->option, spec, config ? why : "out of memory");
		return -1;
	}
	p->pv_specs[p->n_pv_specs++] = (struct pv_spec){ .type = type, .spec = spec };
	return 0;
}

static int parse_args(struct vmm *v, int argc, char **argv, char *err, size_t errlen)
{
	enum { OPT_NAME = 1, OPT_KERNEL, OPT_RAMDISK, OPT_CMDLINE, OPT_MEMORY, OPT_VCPUS, OPT_POWEROFF,
	       OPT_REBOOT, OPT_CRASH, OPT_PAUSED, OPT_RUNDIR, OPT_READY, OPT_HELP, OPT_MAX_VCPUS, OPT_PV_FIRST };
	enum { OPT_WEIGHT = 0x100, OPT_CAP, OPT_CPUS, OPT_CPUS_SOFT };   /* above the PV options' */
	enum { OPT_MAXMEM = 0x180, OPT_UUID, OPT_CONFIG, OPT_RESTORE_FD, OPT_HVM, OPT_BACKEND_POLL_US };
	enum { OPT_HVM_FIRST = 0x200 };   /* hvm_config_options[c - OPT_HVM_FIRST] */
	static const struct option fixed[] = {
		{ "name", 1, NULL, OPT_NAME }, { "kernel", 1, NULL, OPT_KERNEL },
		{ "ramdisk", 1, NULL, OPT_RAMDISK }, { "cmdline", 1, NULL, OPT_CMDLINE },
		{ "memory", 1, NULL, OPT_MEMORY }, { "vcpus", 1, NULL, OPT_VCPUS },
		{ "on-poweroff", 1, NULL, OPT_POWEROFF }, { "on-reboot", 1, NULL, OPT_REBOOT },
		{ "on-crash", 1, NULL, OPT_CRASH }, { "paused", 0, NULL, OPT_PAUSED },
		{ "rundir", 1, NULL, OPT_RUNDIR }, { "ready-fd", 1, NULL, OPT_READY },
		{ "weight", 1, NULL, OPT_WEIGHT }, { "cap", 1, NULL, OPT_CAP },
		{ "cpus", 1, NULL, OPT_CPUS }, { "cpus-soft", 1, NULL, OPT_CPUS_SOFT },
		{ "help", 0, NULL, OPT_HELP }, { "max-vcpus", 1, NULL, OPT_MAX_VCPUS },
		{ "maxmem", 1, NULL, OPT_MAXMEM }, { "uuid", 1, NULL, OPT_UUID },
		{ "config", 1, NULL, OPT_CONFIG }, { "restore-fd", 1, NULL, OPT_RESTORE_FD },
		{ "hvm", 0, NULL, OPT_HVM }, { "backend-poll-us", 1, NULL, OPT_BACKEND_POLL_US },
	};
	enum { N_FIXED = sizeof(fixed) / sizeof(fixed[0]), N_OPTS_MAX = N_FIXED + 32 };
	/* The fixed options, then one per PV backend type (pv_backend_types[c - OPT_PV_FIRST]). */
	struct option opts[N_OPTS_MAX + 1];
	unsigned int n_opts = N_FIXED;
	struct domain_params *p = &v->params;
	unsigned long long n;
	bool has_uuid = false;
	int c;

	memcpy(opts, fixed, sizeof(fixed));
	for (unsigned int i = 0; pv_backend_types[i] && n_opts < N_OPTS_MAX; i++)
		opts[n_opts++] = (struct option){ pv_backend_types[i]->option, 1, NULL, OPT_PV_FIRST + (int)i };
	unsigned int n_pv_opts = n_opts - N_FIXED;
	for (unsigned int i = 0; hvm_config_options[i] && n_opts < N_OPTS_MAX; i++)
		opts[n_opts++] = (struct option){ hvm_config_options[i],
						  strcmp(hvm_config_options[i], "localtime") ? 1 : 0, NULL,
						  OPT_HVM_FIRST + (int)i };
	opts[n_opts] = (struct option){ 0 };
	hvm_config_init(&v->hvm);
	bool hvm = false, hvm_options = false;
	*p = (struct domain_params){
		.cmdline = "", .memory_mb = 128, .vcpus = 1, .on_poweroff = ACTION_DESTROY,
		.on_reboot = ACTION_RESTART, .on_crash = ACTION_DESTROY, .restore_fd = -1,
	};
	p->sched_weight = SCHED_WEIGHT_DEFAULT;
	p->backend_poll_us = RING_POLLER_DEFAULT_POLL_US;
	for (unsigned int i = 0; i < DOMAIN_MAX_VCPUS; i++) {
		cpumap_fill(&p->cpus[i]);
		cpumap_fill(&p->cpus_soft[i]);
	}
	p->kvm_device = getenv("XENITH_KVM_DEVICE") ? getenv("XENITH_KVM_DEVICE") : "/dev/kvm";
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_NAME: p->name = optarg; break;
		case OPT_KERNEL: p->kernel = optarg; break;
		case OPT_CONFIG: p->config = optarg; break;
		case OPT_UUID:
			if (uuid_parse(optarg, p->uuid)) {
				ERR_SET(err, errlen, "--uuid '%s': expected 36 characters like "
					"01234567-89ab-cdef-0123-456789abcdef", optarg);
				return -1;
			}
			has_uuid = true;
			break;
		case OPT_RAMDISK: p->ramdisk = optarg; break;
		case OPT_CMDLINE: p->cmdline = optarg; break;
		case OPT_MEMORY:
			if (parse_number(optarg, "memory", "MiB of RAM", DOMAIN_MIN_MEMORY_MB,
					 DOMAIN_MAX_MEMORY_MB, &n, err, errlen))
				return -1;
			p->memory_mb = n;
			break;
		case OPT_MAXMEM:
			if (parse_number(optarg, "maxmem", "MiB of RAM", DOMAIN_MIN_MEMORY_MB,
					 DOMAIN_MAX_MEMORY_MB, &n, err, errlen))
				return -1;
			p->maxmem_mb = n;
			break;
		case OPT_VCPUS:
			if (parse_number(optarg, "vcpus", "a number of vCPUs", 1, DOMAIN_MAX_VCPUS, &n,
					 err, errlen))
				return -1;
			p->vcpus = (unsigned int)n;
			break;
		case OPT_MAX_VCPUS:
			if (parse_number(optarg, "max-vcpus", "a number of vCPUs", 1, DOMAIN_MAX_VCPUS, &n,
					 err, errlen))
				return -1;
			p->max_vcpus = (unsigned int)n;
			break;
		case OPT_POWEROFF: if (parse_action(optarg, &p->on_poweroff, err, errlen)) return -1; break;
		case OPT_REBOOT: if (parse_action(optarg, &p->on_reboot, err, errlen)) return -1; break;
		case OPT_CRASH: if (parse_action(optarg, &p->on_crash, err, errlen)) return -1; break;
		case OPT_PAUSED: p->start_paused = true; break;
		case OPT_RUNDIR: setenv("XENITH_RUNDIR", optarg, 1); break;
		case OPT_READY:
			if (parse_number(optarg, "ready-fd", "a descriptor", 0, 65535, &n, err, errlen))
				return -1;
			v->ready_fd = (int)n;
			break;
		case OPT_HVM: hvm = true; break;
		case OPT_RESTORE_FD:
			if (parse_number(optarg, "restore-fd", "a descriptor", 0, 65535, &n, err, errlen))
				return -1;
			p->restore_fd = (int)n;
			break;
		case OPT_HELP: usage(stdout); exit(0);
		case OPT_WEIGHT:
			if (parse_number(optarg, "weight", "a credit weight", SCHED_WEIGHT_MIN, SCHED_WEIGHT_MAX,
					 &n, err, errlen))
				return -1;
			p->sched_weight = (unsigned int)n;
			break;
		case OPT_CAP:
			if (parse_number(optarg, "cap", "a cap in % of one CPU (0: none)", 0, SCHED_CAP_MAX, &n,
					 err, errlen))
				return -1;
			p->sched_cap = (unsigned int)n;
			break;
		case OPT_BACKEND_POLL_US:
			if (parse_number(optarg, "backend-poll-us", "microseconds (0: never spin)", 0,
					 RING_POLLER_MAX_POLL_US, &n, err, errlen))
				return -1;
			p->backend_poll_us = (unsigned int)n;
			break;
		case OPT_CPUS:
		case OPT_CPUS_SOFT:
			if (sched_parse_affinity_option(c == OPT_CPUS ? "cpus" : "cpus-soft", optarg,
							c == OPT_CPUS ? p->cpus : p->cpus_soft, err, errlen))
				return -1;
			break;
		default:
			if (c >= OPT_HVM_FIRST) {
				const char *name = hvm_config_options[c - OPT_HVM_FIRST];
				if (hvm_config_option(&v->hvm, name, optarg ? optarg : "", err, errlen))
					return -1;
				hvm_options = true;
				break;
			}
			if (c >= OPT_PV_FIRST && c < OPT_PV_FIRST + (int)n_pv_opts) {
				if (add_pv_spec(p, pv_backend_types[c - OPT_PV_FIRST], optarg, err, errlen))
					return -1;
				break;
			}
			usage(stderr);
			exit(2);
		}
	}
	if (hvm_options && !hvm) {
		ERR_SET(err, errlen, "the HVM options (--boot, --ide, --nic ...) need --hvm");
		return -1;
	}
	if (hvm)
		p->hvm = &v->hvm;
	if (optind < argc || !p->name || (!p->kernel && p->restore_fd < 0 && !hvm)) {
		ERR_SET(err, errlen, "--name and --kernel (or --restore-fd, or --hvm) are required, and "
			"nothing else may follow");
		return -1;
	}
	if (hvm && p->kernel) {
		ERR_SET(err, errlen, "--kernel with --hvm: an HVM domain boots its firmware (direct kernel "
			"boot is not supported)");
		return -1;
	}
	if (p->restore_fd >= 0 && fcntl(p->restore_fd, F_GETFD) < 0) {
		ERR_SET(err, errlen, "--restore-fd %d: not an open descriptor", p->restore_fd);
		return -1;
	}
	if (p->restore_fd >= 0) {
		fcntl(p->restore_fd, F_SETFD, FD_CLOEXEC);   /* hotplug scripts must not inherit the stream */
		p->start_paused = true;                       /* xl unpauses once it is whole */
	}
	if (!has_uuid && (c = uuid_generate(p->uuid)) < 0) {
		ERR_SET(err, errlen, "cannot make a uuid for the domain: %s", strerror(-c));
		return -1;
	}
	if (p->maxmem_mb && p->maxmem_mb < p->memory_mb) {
		ERR_SET(err, errlen, "--maxmem %llu: less than --memory %llu", (unsigned long long)p->maxmem_mb,
			(unsigned long long)p->memory_mb);
		return -1;
	}
	if (p->max_vcpus && p->max_vcpus < p->vcpus) {
		ERR_SET(err, errlen, "--max-vcpus %u: less than --vcpus %u", p->max_vcpus, p->vcpus);
		return -1;
	}
	if (!*p->name || strlen(p->name) > DOMAIN_NAME_MAX || strpbrk(p->name, "/ \t\n")) {
		ERR_SET(err, errlen, "--name '%s': a name has 1 to %d bytes without '/' or whitespace",
			p->name, DOMAIN_NAME_MAX);
		return -1;
	}
	return 0;
}

/* One line to xl, then the pipe closes: xl stops waiting either way. */
static void tell_xl(struct vmm *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tell_xl(struct vmm *v, const char *fmt, ...)
{
	char line[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (v->ready_fd < 0) {
		fprintf(stderr, "%s", line);
		return;
	}
	if (write(v->ready_fd, line, strlen(line)) < 0)
		LOG("telling xl: %s", strerror(errno));
	close(v->ready_fd);
	v->ready_fd = -1;
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

static void remove_domain_dir(struct vmm *v)
{
	char path[PATH_MAX + 32];

	if (!v->dir[0])
		return;
	/* The name index's entry (if it is still ours) and then the name: from then on nobody finds
	 * or lists this domain. */
	if (v->dom.domid > 0)
		rundir_forget_name(&v->rd, v->params.name, (unsigned int)v->dom.domid);
	for (const char *const *f = (const char *const[]){ "name", "control.sock", "console.tty", "cgroup",
							    "config", NULL };
	     *f; f++) {
		snprintf(path, sizeof(path), "%s/%s", v->dir, *f);
		unlink(path);
	}
	rmdir(v->dir);
	v->dir[0] = '\0';
}

/* The config xl wrote for this domain (xl.cfg text, 0600) moves into its directory, where
 * xl_domain_saved_config reads it and which takes it away with the domain.  Without it the domain
 * runs all the same; only its saved config is missing. */
static void keep_config(struct vmm *v)
{
	char path[PATH_MAX + 32];

	if (!v->params.config)
		return;
	snprintf(path, sizeof(path), "%s/config", v->dir);
	if (rename(v->params.config, path) < 0)
		LOG("keeping the config %s as %s: %s", v->params.config, path, strerror(errno));
}

static int open_console(struct vmm *v, char *err, size_t errlen)
{
	char log[PATH_MAX];

	if (!rundir_path(&v->rd, log, sizeof(log), "log/guest-%s.log", v->params.name)) {
		ERR_SET(err, errlen, "run directory path too long");
		return -1;
	}
	/* console_open keeps an ended domain's log as .log.old and refuses one a live domain holds. */
	return console_open(&v->console, log, err, errlen);
}

/* Takes a domid for the directory at v->dir (a restart gives up old_domid). */
static int claim_domid(struct vmm *v, int old_domid, char *err, size_t errlen)
{
	int domid = rundir_claim_domid(&v->rd, v->dir, v->params.name, old_domid);

	if (domid == -EEXIST) {
		ERR_SET(err, errlen, "a domain named '%s' already exists", v->params.name);
		return -1;
	}
	if (domid < 0) {
		ERR_SET(err, errlen, "choosing a domain ID: %s", strerror(-domid));
		return -1;
	}
	rundir_path(&v->rd, v->dir, sizeof(v->dir), "domains/%d", domid);
	v->dom.domid = domid;
	return 0;
}

static int watch_fds(struct vmm *v, char *err, size_t errlen);

static int setup(struct vmm *v, char *err, size_t errlen)
{
	int r = rundir_open(&v->rd);
	char sock[PATH_MAX + 32];

	if (r) {
		ERR_SET(err, errlen, "run directory: %s", strerror(-r));
		return -1;
	}
	vmm_log_bound(v->rd.path, v->params.name);   /* our stderr, when xl made it log/vmm-<name>.log */
	if (open_console(v, err, errlen))
		return -1;
	if (!rundir_path(&v->rd, v->dir, sizeof(v->dir), "domains/.new-%d", (int)getpid()) ||
	    mkdir(v->dir, 0755) < 0) {
		ERR_SET(err, errlen, "making %s: %s", v->dir, strerror(errno));
		v->dir[0] = '\0';
		return -1;
	}
	/* The whole process joins the domain's cgroup before any vCPU thread exists; its path is left
	 * in the domain's directory for xl's reaper, should this process be killed. */
	domain_sched_configure(&v->sched, v->params.sched_weight, v->params.sched_cap, v->params.cpus,
			       v->params.cpus_soft);
	const char *cgroup = domain_sched_enter(&v->sched, v->params.name);
	if (cgroup && write_file(v->dir, "cgroup", cgroup))
		LOG("writing %s/cgroup: %s", v->dir, strerror(errno));
	if (domain_build(&v->dom, &v->params, &v->console, &v->loop, v->notify_fd, err, errlen))
		return -1;
	snprintf(sock, sizeof(sock), "%s/control.sock", v->dir);
	v->control_fd = control_listen(sock, err, errlen);
	if (v->control_fd < 0)
		return -1;
	keep_config(v);
	if (write_file(v->dir, "name", v->params.name) || write_file(v->dir, "console.tty",
								   v->console.tty_path)) {
		ERR_SET(err, errlen, "writing %s: %s", v->dir, strerror(errno));
		return -1;
	}
	struct restore_result restored = { 0 };
	if (v->params.restore_fd >= 0) {
		int failed = restore_read(&v->dom, v->params.restore_fd, &restored, err, errlen);
		close(v->params.restore_fd);
		v->params.restore_fd = -1;       /* a later restart builds from the kernel again */
		if (failed)
			return -1;
		LOG("restored %llu page entries, %u vCPUs, %u PV devices from the stream",
		    (unsigned long long)restored.pages, restored.vcpus, restored.pv_records);
	}
	/* A restored domain gets the devices it had (hot-plugged ones too), from their records. */
	int fail = claim_domid(v, -1, err, errlen) || xenstore_link_connect(&v->dom, err, errlen) ||
		devices_attach(&v->dom, err, errlen) || watch_fds(v, err, errlen) ||
		(restored.pv_records ?
		 pv_backends_restore_all(&v->dom, restored.pv, restored.pv_len, err, errlen) :
		 pv_backends_attach_specs(&v->dom, v->params.pv_specs, v->params.n_pv_specs, err, errlen));
	restore_result_free(&restored);
	if (fail)
		return -1;
	return domain_start(&v->dom, err, errlen);
}

static const char *reason_name(int reason)
{
	static const char *const names[] = {
		[SHUTDOWN_poweroff] = "poweroff", [SHUTDOWN_reboot] = "reboot",
		[SHUTDOWN_suspend] = "suspend", [SHUTDOWN_crash] = "crash",
		[SHUTDOWN_watchdog] = "watchdog",
	};
	return reason >= 0 && reason <= SHUTDOWN_watchdog ? names[reason] : "unknown";
}

/* After the guest shut down: what its configuration says to do.  Returns false to exit. */
static bool apply_shutdown_action(struct vmm *v)
{
	struct domain *dom = &v->dom;
	const struct domain_params *p = &v->params;
	int reason = dom->shutdown_reason;
	enum shutdown_action action;
	char err[1024];

	switch (reason) {
	case SHUTDOWN_poweroff: action = p->on_poweroff; break;
	case SHUTDOWN_reboot: action = p->on_reboot; break;
	case SHUTDOWN_suspend:
		/* Held for the save that asked (vmm/save.c), or for `xl destroy` / `resume`. */
		if (!save_on_suspend(dom))
			LOG("domain %d suspended itself with no save under way: held for destroy or resume",
			    dom->domid);
		return true;
	default: action = p->on_crash; break;     /* crash and watchdog */
	}
	LOG("domain %d (%s) shut down: %s", dom->domid, p->name, reason_name(reason));
	if (action == ACTION_PRESERVE) {
		pthread_mutex_lock(&dom->lock);
		dom->state = DOMAIN_PRESERVED;
		pthread_mutex_unlock(&dom->lock);
		return true;
	}
	int old_domid = dom->domid;
	/* The restarted domain gets the devices it has now, hot-plugged ones included: saved as
	 * migration will save them, and restored from those records. */
	uint8_t *saved = NULL;
	size_t saved_len = 0;
	if (action == ACTION_RESTART && pv_backends_save_all(dom, &saved, &saved_len, err, sizeof(err))) {
		LOG("restarting domain %s: saving its devices: %s", p->name, err);
		action = ACTION_DESTROY;
	}
	domain_teardown(dom);
	if (action == ACTION_DESTROY)
		return false;
	if (domain_build(dom, p, &v->console, &v->loop, v->notify_fd, err, sizeof(err)) ||
	    claim_domid(v, old_domid, err, sizeof(err)) || xenstore_link_connect(dom, err, sizeof(err)) ||
	    devices_attach(dom, err, sizeof(err)) ||
	    pv_backends_restore_all(dom, saved, saved_len, err, sizeof(err)) ||
	    domain_start(dom, err, sizeof(err))) {
		LOG("restarting domain %s: %s", p->name, err);
		free(saved);
		domain_teardown(dom);
		return false;
	}
	free(saved);
	LOG("domain %s restarted as domain %d", p->name, dom->domid);
	return true;
}

/* `destroy` on the control socket, answered: the loop ends and the domain is torn down. */
static void on_control_destroy(void *opaque)
{
	struct vmm *v = opaque;

	v->running = false;
}

static void on_shutdown_notice(void *opaque, uint32_t events)
{
	struct vmm *v = opaque;
	uint64_t count;

	(void)events;
	if (read(v->notify_fd, &count, sizeof(count)) < 0)
		return;
	pthread_mutex_lock(&v->dom.lock);
	bool shut = v->dom.state == DOMAIN_SHUTDOWN;
	pthread_mutex_unlock(&v->dom.lock);
	if (shut && !apply_shutdown_action(v)) {
		v->guest_ended = true;
		v->running = false;
	}
}

static void on_signal(void *opaque, uint32_t events)
{
	struct vmm *v = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(v->signal_fd, &si, sizeof(si)) > 0)
		LOG("signal %u: destroying domain %d", si.ssi_signo, v->dom.domid);
	v->running = false;
}

static void on_console_input(void *opaque, uint32_t events)
{
	struct vmm *v = opaque;
	char buf[256];
	ssize_t n;

	(void)events;
	/* An HVM domain's console is its serial line (serial = "pty"), as xl console shows it. */
	bool serial = v->dom.hvm && v->dom.hvm->serial;
	while ((n = read(v->console.pty_master, buf, sizeof(buf))) > 0) {
		if (serial)
			uart16550_input(&v->dom, buf, (size_t)n);
		else
			console_ring_input(&v->dom, buf, (size_t)n);
	}
}

static int run(struct vmm *v)
{
	v->running = true;
	while (v->running)
		if (event_loop_run_once(&v->loop, -1) < 0)
			break;
	save_abort(&v->dom);
	/* Dom0 devices go before the domain stops being listed, so that once xl sees it gone its
	 * vifs and their routes are gone too, and its disks' files are closed. */
	pv_backends_teardown_all(&v->dom);
	remove_domain_dir(v);
	domain_teardown(&v->dom);
	domain_sched_end(&v->sched);
	console_close(&v->console, v->guest_ended);
	return 0;
}

static int watch_fds(struct vmm *v, char *err, size_t errlen)
{
	if (control_serve(&v->control, &v->loop, v->control_fd, &v->dom, on_control_destroy, v) ||
	    event_loop_add(&v->loop, v->notify_fd, EPOLLIN, on_shutdown_notice, v) ||
	    event_loop_add(&v->loop, v->signal_fd, EPOLLIN, on_signal, v) ||
	    event_loop_add(&v->loop, v->console.pty_master, EPOLLIN, on_console_input, v)) {
		ERR_SET(err, errlen, "watching the VMM's descriptors: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct vmm *v = calloc(1, sizeof(*v));
	char err[1024] = "";
	sigset_t quit;
	int status = 1;

	if (!v)
		return 1;
	log_set_program("xenith-vmm");
	v->ready_fd = v->notify_fd = v->signal_fd = v->control_fd = -1;
	pthread_mutex_init(&v->dom.lock, NULL);
	pthread_cond_init(&v->dom.unpaused, NULL);
	pthread_cond_init(&v->dom.held, NULL);
	v->console = (struct console){ .log_fd = -1, .pty_master = -1, .pty_slave = -1 };
	v->dom.vm = (struct vm){ .kvm_fd = -1, .vm_fd = -1, .memfd = -1 };
	domain_sched_init(&v->sched);
	v->dom.sched = &v->sched;
	signal(SIGPIPE, SIG_IGN);
	vcpu_install_kick_signal();
	sigemptyset(&quit);
	sigaddset(&quit, SIGTERM);
	sigaddset(&quit, SIGINT);
	sigaddset(&quit, SIGHUP);
	sigprocmask(SIG_BLOCK, &quit, NULL);
	v->signal_fd = signalfd(-1, &quit, SFD_CLOEXEC);
	v->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (event_loop_init(&v->loop)) {
		LOG("epoll: %s", strerror(errno));
		goto out;
	}

	if (parse_args(v, argc, argv, err, sizeof(err)) || setup(v, err, sizeof(err))) {
		LOG("%s", err);
		pv_backends_teardown_all(&v->dom);
		tell_xl(v, "error %s\n", err);
		remove_domain_dir(v);
		domain_teardown(&v->dom);
		domain_sched_end(&v->sched);
		if (v->console.log_fd >= 0)
			console_close(&v->console, false);
		goto out;
	}
	LOG("domain %d (%s) built: %llu MiB, %u vCPU(s), kernel %s%s", v->dom.domid, v->params.name,
	    (unsigned long long)v->params.memory_mb, v->params.vcpus,
	    v->params.kernel ? v->params.kernel : "none (restored from a stream)",
	    v->dom.xen.kvm_intercepts_hypercalls ? ", hypercalls via KVM" : ", hypercalls via port exits");
	tell_xl(v, "ok %d\n", v->dom.domid);
	status = run(v);
out:
	control_server_close(&v->control);
	if (v->control_fd >= 0)
		close(v->control_fd);
	if (v->notify_fd >= 0)
		close(v->notify_fd);
	if (v->signal_fd >= 0)
		close(v->signal_fd);
	event_loop_destroy(&v->loop);
	domain_sched_destroy(&v->sched);
	pthread_cond_destroy(&v->dom.unpaused);
	pthread_cond_destroy(&v->dom.held);
	pthread_mutex_destroy(&v->dom.lock);
	free(v);
	return status;
}
