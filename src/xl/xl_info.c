/* Information commands: list, info, domid, domname.
 *
 * Domain-0 is the host, as the host's userspace is Dom0 in Xenith: its row in `xl list` shows the
 * host's memory (MemTotal) and online CPUs, and for Time(s) the CPU time the host has spent outside
 * guests: user + nice + system from /proc/stat's cpu line, less guest and guest_nice (which Linux
 * counts inside user and nice), so that domains' time is not counted twice. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "lib/uuid.h"
#include "lib/xen_version.h"
#include "lib/xs_client.h"
#include "xl/xl_block.h"
#include "xl/xl_bounds.h"
#include "xl/xl_cmdtable.h"
#include "xl/xl_domain.h"
#include "xl/xl_json.h"
#include "xl/xl_network.h"
#include "xl/xl_store.h"

/* The value of `key` in /proc/meminfo, in KiB; 0 if absent. */
static unsigned long long meminfo_kib(const char *key)
{
	char line[256];
	unsigned long long v = 0;
	size_t klen = strlen(key);
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtoull(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static unsigned int host_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned int)n : 1;
}

static double host_cputime(void)
{
	unsigned long long user = 0, nice = 0, system = 0, idle, iowait, irq, softirq, steal;
	unsigned long long guest = 0, guest_nice = 0;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "re");
	double busy;
	int got = 0;

	if (!f)
		return 0.0;
	got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice,
		     &system, &idle, &iowait, &irq, &softirq, &steal, &guest, &guest_nice);
	fclose(f);
	if (got < 3 || hz <= 0)
		return 0.0;
	busy = (double)(user - (guest <= user ? guest : 0)) +
	       (double)(nice - (guest_nice <= nice ? guest_nice : 0)) + (double)system;
	return busy / (double)hz;
}

void xl_dom0_info(struct xl_dominfo *info)
{
	memset(info, 0, sizeof(*info));
	info->domid = 0;
	snprintf(info->name, sizeof(info->name), "%s", XL_DOM0_NAME);
	snprintf(info->type, sizeof(info->type), "pv");
	info->mem_mib = (unsigned long)(meminfo_kib("MemTotal") / 1024);
	info->vcpus = host_cpus();
	memcpy(info->state, "r-----", sizeof(info->state));
	info->cputime = host_cputime();
}

/* Info for one domain by ID: the host's for 0, else its VMM's.  Returns as xl_domain_info. */
static int domain_info(struct xl_ctx *ctx, unsigned int domid, const char *name,
		       struct xl_dominfo *info, char *err, size_t errlen)
{
	if (domid == 0) {
		xl_dom0_info(info);
		return 0;
	}
	struct rundir_domain dom = { .domid = domid };
	int r;

	snprintf(dom.name, sizeof(dom.name), "%s", name);
	xl_domain_info_all(ctx, &dom, 1, info, &r, XL_LIST_MS);
	if (r)
		snprintf(err, errlen, "%s", info->problem);
	return r;
}

static void print_table(const struct xl_dominfo *infos, size_t n)
{
	printf("Name                                        ID   Mem VCPUs\tState\tTime(s)\n");
	for (size_t i = 0; i < n; i++)
		printf("%-40s %5u %5lu %5u     %s  %8.1f\n", infos[i].name, infos[i].domid,
		       infos[i].mem_mib, infos[i].vcpus, infos[i].state, infos[i].cputime);
}

/* A domain's vifs for `list -l`, in the JSON's shape: *jsonp and *nicsp to free.  A VMM without
 * network support (ENOSYS) simply has none; other failures are said on stderr. */
static size_t json_nics(struct xl_ctx *ctx, struct xs_client *xs, const struct xl_dominfo *info,
			struct xl_nic **nicsp, struct xl_json_nic **jsonp)
{
	struct xl_json_nic *json;
	char err[1024];
	size_t n = 0;
	int r;

	*nicsp = NULL;
	*jsonp = NULL;
	if (info->domid == 0 || info->unresponsive)
		return 0;
	r = xl_domain_nics(ctx, xs, info->domid, nicsp, &n, err, sizeof(err));
	if (r && r != -ENOSYS && r != -ESRCH)
		fprintf(stderr, "xl: domain %u (%s): cannot list its vifs: %s\n", info->domid,
			info->name, err);
	if (r || n == 0)
		return 0;
	json = calloc(n, sizeof(*json));
	if (!json) {
		xl_nics_free(*nicsp, n);
		*nicsp = NULL;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		const struct xl_nic *nic = &(*nicsp)[i];

		json[i] = (struct xl_json_nic){
			.devid = nic->devid, .mac = nic->mac, .bridge = nic->bridge, .ip = nic->ip,
			.script = nic->script, .vifname = nic->vifname,
		};
	}
	*jsonp = json;
	return n;
}

/* A domain's disks for `list -l`, like json_nics: *infosp and *jsonp to free. */
static size_t json_disks(struct xl_ctx *ctx, struct xs_client *xs, const struct xl_dominfo *info,
			 struct xl_vbd_info **infosp, struct xl_json_disk **jsonp)
{
	struct xl_json_disk *json;
	char err[1024];
	size_t n = 0;
	int r;

	*infosp = NULL;
	*jsonp = NULL;
	if (info->domid == 0 || info->unresponsive)
		return 0;
	r = xl_domain_disks(ctx, xs, info->domid, infosp, &n, err, sizeof(err));
	if (r && r != -ENOSYS && r != -ESRCH)
		fprintf(stderr, "xl: domain %u (%s): cannot list its disks: %s\n", info->domid,
			info->name, err);
	if (r || n == 0)
		return 0;
	json = calloc(n, sizeof(*json));
	if (!json) {
		xl_vbd_infos_free(*infosp, n);
		*infosp = NULL;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		const struct xl_vbd_info *k = &(*infosp)[i];

		json[i] = (struct xl_json_disk){
			.devid = k->devid, .vdev = k->vdev, .target = k->target,
			.access = k->readonly ? "ro" : "rw", .devtype = k->devtype[0] ? k->devtype : NULL,
		};
	}
	*jsonp = json;
	return n;
}

/* `xl list -l`: libxl's JSON array of {"domid", "config"}.  The VMM's `info`, `vbd-list` and
 * `vif-list` (with the backends' xenstore nodes) are what we know of a running domain's configuration, so config
 * holds what they tell. */
static void print_json(struct xl_ctx *ctx, const struct xl_dominfo *infos, size_t n)
{
	static const struct xl_json_nic no_nics[1];
	static const struct xl_json_disk no_disks[1];
	struct json_writer w;
	struct xl_store store = { 0 };
	struct xs_client *xs = NULL;
	char err[256];

	/* Only where xenstored already runs: a listing does not start it.  Its replies are bounded;
	 * one that does not come is said by the device listings. */
	for (size_t i = 0; i < n; i++) {
		if (infos[i].domid && !infos[i].unresponsive) {
			if (xl_store_open(&ctx->rd, &store, XL_XENSTORE_MS, err, sizeof(err)) == 0)
				xs = store.xs;
			break;
		}
	}
	json_init(&w, stdout);
	json_open(&w, NULL, '[');
	for (size_t i = 0; i < n; i++) {
		struct xl_nic *nics;
		struct xl_json_nic *json;
		size_t n_nics = json_nics(ctx, xs, &infos[i], &nics, &json);
		struct xl_vbd_info *vbds;
		struct xl_json_disk *json_d;
		size_t n_disks = json_disks(ctx, xs, &infos[i], &vbds, &json_d);
		char uuid[UUID_TEXT_LEN];
		uuid_format(infos[i].uuid, uuid);   /* all zeros for Domain-0, as libxl shows it */
		struct xl_json_domain d = {
			.name = infos[i].name, .type = infos[i].type,
			.uuid = infos[i].has_uuid || !infos[i].domid ? uuid : NULL,
			.max_memkb = (unsigned long long)infos[i].mem_mib * 1024,
			.target_memkb = (unsigned long long)infos[i].mem_mib * 1024,
			.max_vcpus = infos[i].vcpus,
			.disks = json_d ? json_d : no_disks, .n_disks = n_disks,
			.nics = json ? json : no_nics, .n_nics = n_nics,
		};

		json_open(&w, NULL, '{');
		json_number(&w, "domid", infos[i].domid);
		xl_json_domain_config(&w, "config", &d);
		/* Not libxl's: what the VMM counts of the guest's hypercalls (docs/guest-abi.md). */
		if (infos[i].domid) {
			json_open(&w, "xenith", '{');
			json_number(&w, "hypercalls", infos[i].hypercalls);
			json_number(&w, "unseen_hypercalls", infos[i].unseen_hypercalls);
			/* The balloon, target against actual (a target of 0: none was set). */
			if (infos[i].mem_kb) {
				json_number(&w, "mem_kb", infos[i].mem_kb);
				json_number(&w, "maxmem_kb", infos[i].maxmem_kb);
				json_number(&w, "target_kb", infos[i].target_kb);
			}
			if (infos[i].unresponsive) {
				json_bool(&w, "unresponsive", true);
				json_string(&w, "problem", infos[i].problem);
				if (infos[i].vmm_pid > 0)
					json_number(&w, "vmm_pid", (unsigned long long)infos[i].vmm_pid);
			}
			json_close(&w, '}');
		}
		json_close(&w, '}');
		free(json);
		xl_nics_free(nics, n_nics);
		free(json_d);
		xl_vbd_infos_free(vbds, n_disks);
	}
	json_close(&w, ']');
	json_finish(&w);
	xl_store_close(&store);
}

int main_list(struct xl_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "long", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct rundir_domain *doms = NULL;
	struct xl_dominfo *infos = NULL;
	int *results = NULL;
	size_t ndoms = 0, n = 0;
	bool details = false;
	char err[1024];
	int opt, status = EXIT_FAILURE, r;

	while ((opt = xl_getopt(argc, argv, "l", opts, "list", 0, &status)) != -1) {
		if (opt == XL_OPT_STOP)
			return status;
		if (opt == 'l')
			details = true;
	}
	status = EXIT_FAILURE;
	if (xl_ctx_rundir(ctx))
		goto out;

	if (optind < argc) {
		/* The domains asked for, in that order; any unknown one is an error. */
		infos = calloc((size_t)(argc - optind), sizeof(*infos));
		if (!infos)
			goto out_nomem;
		for (int i = optind; i < argc; i++) {
			char name[DOMAIN_NAME_MAX + 1];
			unsigned int domid;

			r = xl_find_domain(ctx, argv[i], &domid, name, sizeof(name));
			if (r && r != -ENOENT)
				snprintf(err, sizeof(err), "%s", strerror(-r));
			else if (!r)
				r = domain_info(ctx, domid, name, &infos[n], err, sizeof(err));
			if (r == -ENOENT || r == -ESRCH) {
				fprintf(stderr, "xl: domain '%s' does not exist\n", argv[i]);
				goto out;
			}
			if (r && infos[n].unresponsive) {
				n++;                 /* listed, marked; said below */
				continue;
			}
			if (r) {
				fprintf(stderr, "xl: cannot get information on domain '%s': %s\n", argv[i],
					err);
				goto out;
			}
			n++;
		}
	} else {
		r = rundir_list_domains(&ctx->rd, &doms, &ndoms);
		if (r) {
			fprintf(stderr, "xl: cannot list the domains in %s: %s\n", ctx->rd.path,
				strerror(-r));
			goto out;
		}
		infos = calloc(ndoms + 1, sizeof(*infos));
		if (!infos)
			goto out_nomem;
		results = calloc(ndoms + 1, sizeof(*results));
		if (!results)
			goto out_nomem;
		xl_dom0_info(&infos[n++]);
		/* All at once, so that one hung VMM costs the bound once. */
		xl_domain_info_all(ctx, doms, ndoms, infos + 1, results, XL_LIST_MS);
		for (size_t i = 0; i < ndoms; i++) {
			if (results[i] == -ESRCH)
				continue;        /* gone since listed, or a dead VMM's leftovers */
			if (n != i + 1)
				infos[n] = infos[i + 1];
			n++;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (infos[i].unresponsive)
			fprintf(stderr, "xl: domain %u (%s) is not answering: %s\n", infos[i].domid,
				infos[i].name, infos[i].problem);
	if (details)
		print_json(ctx, infos, n);
	else
		print_table(infos, n);
	status = EXIT_SUCCESS;
	goto out;
out_nomem:
	fprintf(stderr, "xl: out of memory\n");
out:
	free(results);
	free(infos);
	free(doms);
	return status;
}

/* `xl info [item]`: xl's "key : value" lines; with an item, only the values of the lines whose
 * key starts with it, as xl does. */
struct info_printer {
	const char *only;
};

static void __attribute__((format(printf, 3, 4)))
info_line(const struct info_printer *p, const char *key, const char *fmt, ...)
{
	char value[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if (!p->only)
		printf("%-23s: %s\n", key, value);
	else if (!strncmp(key, p->only, strlen(p->only)))
		printf("%s\n", value);
}

struct cpu_facts {
	double mhz;                 /* 0 if unknown */
	unsigned int cores_per_socket, threads_per_core;
	bool vmx, svm;
};

static bool has_word(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += len)
		if ((p == list || p[-1] == ' ' || p[-1] == '\t') &&
		    (p[len] == ' ' || p[len] == '\n' || p[len] == '\0'))
			return true;
	return false;
}

/* The first CPU's entries in /proc/cpuinfo. */
static void read_cpu_facts(struct cpu_facts *c)
{
	char line[8192];
	unsigned int siblings = 0;
	FILE *f = fopen("/proc/cpuinfo", "re");

	memset(c, 0, sizeof(*c));
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char *v = strchr(line, ':');

			if (!v)
				continue;
			v++;
			if (!strncmp(line, "cpu MHz", 7) && !c->mhz)
				c->mhz = strtod(v, NULL);
			else if (!strncmp(line, "cpu cores", 9) && !c->cores_per_socket)
				c->cores_per_socket = (unsigned int)strtoul(v, NULL, 10);
			else if (!strncmp(line, "siblings", 8) && !siblings)
				siblings = (unsigned int)strtoul(v, NULL, 10);
			else if (!strncmp(line, "flags", 5) && !c->vmx && !c->svm) {
				c->vmx = has_word(v, "vmx");
				c->svm = has_word(v, "svm");
			} else if (!strncmp(line, "processor", 9) && strtoul(v, NULL, 10) > 0) {
				break;  /* the first CPU told us all we need */
			}
		}
		fclose(f);
	}
	if (!c->cores_per_socket)
		c->cores_per_socket = 1;
	c->threads_per_core = siblings >= c->cores_per_socket ? siblings / c->cores_per_socket : 1;
}

static bool path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* What serves /dev/kvm: vmx (Intel VT-x), svm (AMD-V), pvm (kvm_pvm: KVM without hardware
 * virtualisation), or none (no KVM device). */
static const char *host_kind(const struct cpu_facts *c)
{
	if (!path_exists(xl_kvm_device()))
		return "none";
	if (path_exists("/sys/module/kvm_pvm"))
		return "pvm";
	if (path_exists("/sys/module/kvm_intel") || c->vmx)
		return "vmx";
	if (path_exists("/sys/module/kvm_amd") || c->svm)
		return "svm";
	return "pvm";
}

static unsigned int count_nodes(void)
{
	DIR *d = opendir("/sys/devices/system/node");
	struct dirent *de;
	unsigned int n = 0;

	if (!d)
		return 1;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "node", 4) && de->d_name[4] >= '0' && de->d_name[4] <= '9')
			n++;
	closedir(d);
	return n ? n : 1;
}

static void read_cmdline(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cmdline", "re");

	buf[0] = '\0';
	if (f) {
		if (!fgets(buf, (int)len, f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
}

#ifdef __clang__
#define CC_COMPILER "clang " __clang_version__
#else
#define CC_COMPILER "gcc " __VERSION__
#endif

int main_info(struct xl_ctx *ctx, int argc, char **argv)
{
	struct info_printer p = { NULL };
	struct cpu_facts cpu;
	struct utsname uts;
	char cmdline[4096];
	const char *kind;
	unsigned long long khz;
	int opt, status;

	(void)ctx;
	while ((opt = xl_getopt(argc, argv, "", NULL, "info", 0, &status)) != -1)
		if (opt == XL_OPT_STOP)
			return status;
	if (optind < argc)
		p.only = argv[optind];

	read_cpu_facts(&cpu);
	kind = host_kind(&cpu);
	if (uname(&uts) == 0) {
		info_line(&p, "host", "%s", uts.nodename);
		info_line(&p, "release", "%s", uts.release);
		info_line(&p, "version", "%s", uts.version);
		info_line(&p, "machine", "%s", uts.machine);
	}
	info_line(&p, "nr_cpus", "%u", host_cpus());
	info_line(&p, "max_cpu_id", "%ld", sysconf(_SC_NPROCESSORS_CONF) - 1);
	info_line(&p, "nr_nodes", "%u", count_nodes());
	info_line(&p, "cores_per_socket", "%u", cpu.cores_per_socket);
	info_line(&p, "threads_per_core", "%u", cpu.threads_per_core);
	if (cpu.mhz > 0) {
		khz = (unsigned long long)(cpu.mhz * 1000.0 + 0.5);
		info_line(&p, "cpu_mhz", "%llu.%03llu", khz / 1000, khz % 1000);
	}
	/* PVH guests are what Xen calls hvm-capable; PVM's paging is shadow paging. */
	info_line(&p, "virt_caps", "%s", !strcmp(kind, "none") ? "" :
		  !strcmp(kind, "pvm") ? "hvm shadow gnttab-v1" : "hvm hap gnttab-v1");
	info_line(&p, "total_memory", "%llu", meminfo_kib("MemTotal") / 1024);
	info_line(&p, "free_memory", "%llu",
		  (meminfo_kib("MemAvailable") ?: meminfo_kib("MemFree")) / 1024);
	info_line(&p, "sharing_freed_memory", "0");
	info_line(&p, "sharing_used_memory", "0");
	info_line(&p, "outstanding_claims", "0");
	info_line(&p, "free_cpus", "0");
	info_line(&p, "xen_major", "%d", XENITH_XEN_MAJOR);
	info_line(&p, "xen_minor", "%d", XENITH_XEN_MINOR);
	info_line(&p, "xen_extra", "%s", XENITH_XEN_EXTRA);
	info_line(&p, "xen_version", "%d.%d%s", XENITH_XEN_MAJOR, XENITH_XEN_MINOR, XENITH_XEN_EXTRA);
	info_line(&p, "xen_caps", "%s", XENITH_XEN_CAPS);
	info_line(&p, "xen_pagesize", "%ld", sysconf(_SC_PAGESIZE));
	read_cmdline(cmdline, sizeof(cmdline));
	info_line(&p, "xen_commandline", "%s", cmdline);
	info_line(&p, "cc_compiler", "%s", CC_COMPILER);
	info_line(&p, "xend_config_format", "4");
	info_line(&p, "xenith_host_kind", "%s", kind);
	return EXIT_SUCCESS;
}

int main_domid(struct xl_ctx *ctx, int argc, char **argv)
{
	char name[DOMAIN_NAME_MAX + 1];
	unsigned int domid;
	int opt, status;

	while ((opt = xl_getopt(argc, argv, "", NULL, "domid", 1, &status)) != -1)
		if (opt == XL_OPT_STOP)
			return status;
	if (xl_ctx_rundir(ctx))
		return EXIT_FAILURE;
	if (xl_find_domain(ctx, argv[optind], &domid, name, sizeof(name)) ||
	    (domid && xl_domain_reap_if_dead(ctx, domid))) {
		fprintf(stderr, "Can't get domid of domain name '%s', maybe this domain does not "
			"exist.\n", argv[optind]);
		return EXIT_FAILURE;
	}
	printf("%u\n", domid);
	return EXIT_SUCCESS;
}

int main_domname(struct xl_ctx *ctx, int argc, char **argv)
{
	char name[DOMAIN_NAME_MAX + 1], *end;
	unsigned long id;
	unsigned int domid;
	int opt, status;

	while ((opt = xl_getopt(argc, argv, "", NULL, "domname", 1, &status)) != -1)
		if (opt == XL_OPT_STOP)
			return status;
	errno = 0;
	id = strtoul(argv[optind], &end, 10);
	if (end == argv[optind] || *end || errno || argv[optind][0] == '-') {
		fprintf(stderr, "Invalid domain id.\n\n");
		return EXIT_FAILURE;
	}
	if (xl_ctx_rundir(ctx))
		return EXIT_FAILURE;
	if (id > DOMID_LAST || xl_find_domain(ctx, argv[optind], &domid, name, sizeof(name)) ||
	    (domid && xl_domain_reap_if_dead(ctx, domid))) {
		fprintf(stderr, "Can't get domain name of domain id '%lu', maybe this domain does not "
			"exist.\n", id);
		return EXIT_FAILURE;
	}
	printf("%s\n", name);
	return EXIT_SUCCESS;
}
