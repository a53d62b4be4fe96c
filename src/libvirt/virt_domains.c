/* The domain model of xenith-libvirtd (virt_domains.h): the running domains as `xl list` finds them
 * (the run directory, then every VMM's `info` at once within XL_LIST_MS), the persistent definitions
 * (<state dir>/domains/NAME.cfg, read with xl's own parser), joined by name.
 *
 * The two sides can disagree, and neither is trusted over the other blindly:
 *   - a running domain without a definition is transient (xl create made it);
 *   - a definition whose file is broken is logged and left out, never fatal for the listing;
 *   - a running domain and a definition of the same name but different UUIDs: the running one is
 *     what the client sees (it is what actions reach), and the mismatch is logged.
 * Domain-0 is the host (as in `xl list`), listed first with id 0 and an all-zero UUID, as libvirt's
 * libxl driver lists it; every action on it is refused. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <libvirt/libvirt.h>
#include "lib/error.h"
#include "lib/rundir.h"
#include "lib/uuid.h"
#include "libvirt/virt_domains.h"
#include "xl/xl_bounds.h"
#include "xl/xl_cfg.h"

#define STATE_DIR_DEFAULT "/var/lib/xenith/libvirt"

int virt_host_open(struct virt_host *h, char *err, size_t errlen)
{
	const char *env = getenv("XENITH_LIBVIRT_STATE");
	const char *dir = env && *env ? env : STATE_DIR_DEFAULT;
	int n;

	memset(h, 0, sizeof(*h));
	n = snprintf(h->state_dir, sizeof(h->state_dir), "%s", dir);
	if (n < 0 || (size_t)n >= sizeof(h->state_dir)) {
		ERR_SET(err, errlen, "the state directory %s (XENITH_LIBVIRT_STATE) is too long", dir);
		return -1;
	}
	if (xl_ctx_rundir(&h->xl)) {
		ERR_SET(err, errlen, "cannot use the run directory (XENITH_RUNDIR): see the log");
		return -1;
	}
	return 0;
}

static bool uuid_is_zero(const uint8_t uuid[16])
{
	for (size_t i = 0; i < 16; i++)
		if (uuid[i])
			return false;
	return true;
}

/* ---- states ---------------------------------------------------------------------------------- */

/* xl's six flags, strongest first: what the domain is doing decides over what it was doing. */
static const struct {
	char flag;
	int state, reason;
} state_flags[] = {
	{ 'c', VIR_DOMAIN_CRASHED, VIR_DOMAIN_CRASHED_UNKNOWN },
	{ 'd', VIR_DOMAIN_SHUTDOWN, VIR_DOMAIN_SHUTDOWN_UNKNOWN },
	{ 's', VIR_DOMAIN_SHUTDOWN, VIR_DOMAIN_SHUTDOWN_USER },
	{ 'p', VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER },
	{ 'b', VIR_DOMAIN_BLOCKED, VIR_DOMAIN_BLOCKED_UNKNOWN },
	{ 'r', VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_UNKNOWN },
};

static void state_from_flags(const struct xl_dominfo *info, int *state, int *reason)
{
	if (info->unresponsive) {
		*state = VIR_DOMAIN_NOSTATE;
		*reason = VIR_DOMAIN_NOSTATE_UNKNOWN;
		return;
	}
	for (size_t i = 0; i < sizeof(state_flags) / sizeof(state_flags[0]); i++)
		if (memchr(info->state, state_flags[i].flag, 6)) {
			*state = state_flags[i].state;
			*reason = state_flags[i].reason;
			return;
		}
	/* "------": neither on a CPU nor blocked right now; Xen's tools count that as running. */
	*state = VIR_DOMAIN_RUNNING;
	*reason = VIR_DOMAIN_RUNNING_UNKNOWN;
}

/* ---- definitions ----------------------------------------------------------------------------- */

static int state_path(const struct virt_host *h, char *buf, size_t len, const char *sub,
		      const char *name, char *err, size_t errlen)
{
	int n = snprintf(buf, len, "%s/%s%s%s%s", h->state_dir, sub, name ? "/" : "", name ? name : "",
			 name ? ".cfg" : "");

	if (n < 0 || (size_t)n >= len) {
		ERR_SET(err, errlen, "the path of %s/%s in %s is too long", sub, name ? name : "",
			h->state_dir);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Parses one definition file; 0, or -1 with `file:line: message`. */
static int definition_read(const char *path, struct domain_config *dc, char *err, size_t errlen)
{
	struct xl_cfg cfg = { 0 };
	int r;

	memset(dc, 0, sizeof(*dc));
	if (xl_cfg_parse_file(path, &cfg, err, errlen))
		return -1;
	r = domain_config_from_cfg(&cfg, dc, stderr, err, errlen);
	xl_cfg_free(&cfg);
	return r ? -1 : 0;
}

static bool autostart_is_set(const struct virt_host *h, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (state_path(h, path, sizeof(path), "auto", name, NULL, 0))
		return false;
	return lstat(path, &st) == 0;
}

static void dom_from_config(const struct virt_host *h, const struct domain_config *dc,
			    struct virt_dom *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", dc->name);
	d->id = -1;
	d->persistent = true;
	d->autostart = autostart_is_set(h, dc->name);
	d->state = VIR_DOMAIN_SHUTOFF;
	d->reason = VIR_DOMAIN_SHUTOFF_UNKNOWN;
	d->max_mem_kb = (unsigned long long)dc->maxmem_mb * 1024;
	d->mem_kb = (unsigned long long)dc->memory_mb * 1024;
	d->vcpus = dc->vcpus;
	d->max_vcpus = dc->max_vcpus;
	d->type = dc->type;
}

/* The name a definition file stands for: "NAME.cfg" -> NAME, or false for anything else. */
static bool definition_name(const char *file, char *name, size_t len)
{
	size_t n = strlen(file);

	if (file[0] == '.' || n <= 4 || strcmp(file + n - 4, ".cfg") || n - 4 >= len)
		return false;
	memcpy(name, file, n - 4);
	name[n - 4] = '\0';
	return true;
}

/* Every readable definition; broken ones are logged and skipped.  A missing domains/ is none. */
static int definitions_list(const struct virt_host *h, struct virt_dom **out, size_t *n, char *err,
			    size_t errlen)
{
	char dir[PATH_MAX];
	struct virt_dom *doms = NULL;
	size_t count = 0, cap = 0;
	struct dirent *e;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (state_path(h, dir, sizeof(dir), "domains", NULL, err, errlen))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		int r = -errno;
		ERR_SET(err, errlen, "cannot read the definitions in %s: %s", dir, strerror(errno));
		return r;
	}
	while ((e = readdir(d))) {
		char name[DOMAIN_NAME_MAX + 1], path[PATH_MAX], why[512];
		struct domain_config dc;

		if (!definition_name(e->d_name, name, sizeof(name)))
			continue;
		if (state_path(h, path, sizeof(path), "domains", name, why, sizeof(why)))
			continue;
		if (definition_read(path, &dc, why, sizeof(why))) {
			LOG("skipping the broken definition %s: %s", path, why);
			continue;
		}
		if (strcmp(dc.name, name)) {
			LOG("skipping the definition %s: it names the domain '%s'", path, dc.name);
			domain_config_free(&dc);
			continue;
		}
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct virt_dom *grown = realloc(doms, ncap * sizeof(*grown));

			if (!grown) {
				domain_config_free(&dc);
				closedir(d);
				free(doms);
				ERR_SET(err, errlen, "out of memory listing the definitions in %s", dir);
				return -ENOMEM;
			}
			doms = grown;
			cap = ncap;
		}
		dom_from_config(h, &dc, &doms[count++]);
		domain_config_free(&dc);
	}
	closedir(d);
	*out = doms;
	*n = count;
	return 0;
}

/* ---- running domains ------------------------------------------------------------------------- */

static void dom_from_info(const struct xl_dominfo *info, struct virt_dom *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", info->name);
	d->id = (int)info->domid;
	state_from_flags(info, &d->state, &d->reason);
	d->mem_kb = info->mem_kb ? info->mem_kb : (unsigned long long)info->mem_mib * 1024;
	d->max_mem_kb = info->maxmem_kb > d->mem_kb ? info->maxmem_kb : d->mem_kb;
	d->vcpus = info->vcpus;
	d->max_vcpus = info->vcpus;
	d->cpu_time_ns = info->cputime > 0 ? (unsigned long long)(info->cputime * 1e9) : 0;
	d->type = !strcmp(info->type, "hvm") ? DOMAIN_TYPE_HVM :
		  !strcmp(info->type, "pv") ? DOMAIN_TYPE_PV : DOMAIN_TYPE_PVH;
}

/* The running domain joined with its definition (if any) of the same name. */
static void join_definition(struct virt_dom *run, const struct virt_dom *def)
{
	run->persistent = true;
	run->autostart = def->autostart;
	if (def->max_vcpus > run->max_vcpus)
		run->max_vcpus = def->max_vcpus;
}

/* Every running domain but Domain-0, as xl list finds them. */
static int running_list(struct virt_host *h, struct virt_dom **out, size_t *n, char *err,
			size_t errlen)
{
	struct rundir_domain *rdoms = NULL;
	struct xl_dominfo *infos = NULL;
	struct virt_dom *doms = NULL;
	int *results = NULL;
	size_t nr = 0, count = 0;
	int r = rundir_list_domains(&h->xl.rd, &rdoms, &nr);

	*out = NULL;
	*n = 0;
	if (r) {
		ERR_SET(err, errlen, "cannot list the domains in %s: %s", h->xl.rd.path, strerror(-r));
		return r;
	}
	infos = calloc(nr ? nr : 1, sizeof(*infos));
	results = calloc(nr ? nr : 1, sizeof(*results));
	doms = calloc(nr ? nr : 1, sizeof(*doms));
	if (!infos || !results || !doms) {
		ERR_SET(err, errlen, "out of memory listing the domains in %s", h->xl.rd.path);
		r = -ENOMEM;
		goto out;
	}
	xl_domain_info_all(&h->xl, rdoms, nr, infos, results, XL_LIST_MS);
	for (size_t i = 0; i < nr; i++) {
		if (results[i] == -ESRCH)
			continue;        /* gone since listed, or a dead VMM's leftovers */
		if (infos[i].unresponsive)
			LOG("domain %u (%s) is not answering: %s", infos[i].domid, infos[i].name,
			    infos[i].problem);
		dom_from_info(&infos[i], &doms[count++]);
	}
	*out = doms;
	*n = count;
	doms = NULL;
out:
	free(rdoms);
	free(infos);
	free(results);
	free(doms);
	return r;
}

static void dom0(struct virt_dom *d)
{
	struct xl_dominfo info;

	xl_dom0_info(&info);
	dom_from_info(&info, d);
	d->persistent = true;
	d->state = VIR_DOMAIN_RUNNING;
	d->reason = VIR_DOMAIN_RUNNING_UNKNOWN;
}

int virt_domains_list(struct virt_host *h, struct virt_dom **out, size_t *n, char *err, size_t errlen)
{
	struct virt_dom *run = NULL, *defs = NULL, *all = NULL;
	size_t nrun = 0, ndefs = 0, count = 0;
	int r;

	*out = NULL;
	*n = 0;
	r = running_list(h, &run, &nrun, err, errlen);
	if (r)
		return r;
	r = definitions_list(h, &defs, &ndefs, err, errlen);
	if (r)
		goto out;
	all = calloc(1 + nrun + ndefs, sizeof(*all));
	if (!all) {
		ERR_SET(err, errlen, "out of memory listing the domains");
		r = -ENOMEM;
		goto out;
	}
	dom0(&all[count++]);
	for (size_t i = 0; i < nrun; i++) {
		all[count] = run[i];
		for (size_t j = 0; j < ndefs; j++) {
			if (strcmp(defs[j].name, run[i].name))
				continue;
			if (memcmp(defs[j].uuid, run[i].uuid, 16) && !uuid_is_zero(defs[j].uuid)) {
				char a[UUID_TEXT_LEN], b[UUID_TEXT_LEN];

				uuid_format(run[i].uuid, a);
				uuid_format(defs[j].uuid, b);
				LOG("domain %d (%s) runs with UUID %s, its definition says %s: "
				    "showing the running one", run[i].id, run[i].name, a, b);
			}
			join_definition(&all[count], &defs[j]);
			defs[j].id = -2;         /* joined: not listed again */
		}
		count++;
	}
	for (size_t j = 0; j < ndefs; j++)
		if (defs[j].id == -1)
			all[count++] = defs[j];
	*out = all;
	*n = count;
	all = NULL;
out:
	free(run);
	free(defs);
	free(all);
	return r;
}

/* ---- not yet ---------------------------------------------------------------------------------- */

static int not_yet(const char *what, char *err, size_t errlen)
{
	ERR_SET(err, errlen, "%s is not supported yet", what);
	return -ENOTSUP;
}

int virt_domain_lookup(struct virt_host *h, const char *name, const uint8_t *uuid, int id,
		       struct virt_dom *out, char *err, size_t errlen)
{
	(void)h; (void)name; (void)uuid; (void)id; (void)out;
	return not_yet("looking a domain up", err, errlen);
}

int virt_domain_config(struct virt_host *h, const struct virt_dom *dom, struct domain_config *dc,
		       char *err, size_t errlen)
{
	(void)h; (void)dom; (void)dc;
	return not_yet("a domain's configuration", err, errlen);
}

int virt_domain_define(struct virt_host *h, struct domain_config *dc, struct virt_dom *out, char *err,
		       size_t errlen)
{
	(void)h; (void)dc; (void)out;
	return not_yet("defining a domain", err, errlen);
}

int virt_domain_undefine(struct virt_host *h, const struct virt_dom *dom, char *err, size_t errlen)
{
	(void)h; (void)dom;
	return not_yet("undefining a domain", err, errlen);
}

int virt_domain_set_autostart(struct virt_host *h, const struct virt_dom *dom, bool on, char *err,
			      size_t errlen)
{
	(void)h; (void)dom; (void)on;
	return not_yet("autostart", err, errlen);
}

int virt_domain_start(struct virt_host *h, const struct virt_dom *dom, const struct domain_config *dc,
		      bool paused, struct virt_dom *out, char *err, size_t errlen)
{
	(void)h; (void)dom; (void)dc; (void)paused; (void)out;
	return not_yet("starting a domain", err, errlen);
}

#define LIFECYCLE_STUB(fn, what) \
int fn(struct virt_host *h, const struct virt_dom *dom, char *err, size_t errlen) \
{ (void)h; (void)dom; return not_yet(what, err, errlen); }
LIFECYCLE_STUB(virt_domain_destroy, "destroy")
LIFECYCLE_STUB(virt_domain_shutdown, "shutdown")
LIFECYCLE_STUB(virt_domain_reboot, "reboot")
LIFECYCLE_STUB(virt_domain_suspend, "suspend")
LIFECYCLE_STUB(virt_domain_resume, "resume")

int virt_domain_set_memory(struct virt_host *h, const struct virt_dom *dom, unsigned long long kb,
			   bool live, bool config, char *err, size_t errlen)
{
	(void)h; (void)dom; (void)kb; (void)live; (void)config;
	return not_yet("setting memory", err, errlen);
}

int virt_domain_set_max_memory(struct virt_host *h, const struct virt_dom *dom, unsigned long long kb,
			       bool live, bool config, char *err, size_t errlen)
{
	(void)h; (void)dom; (void)kb; (void)live; (void)config;
	return not_yet("setting the maximum memory", err, errlen);
}

int virt_domain_set_vcpus(struct virt_host *h, const struct virt_dom *dom, unsigned int n, bool live,
			  bool config, char *err, size_t errlen)
{
	(void)h; (void)dom; (void)n; (void)live; (void)config;
	return not_yet("setting vCPUs", err, errlen);
}

int virt_domain_vcpus(struct virt_host *h, const struct virt_dom *dom, struct virt_vcpu **out, size_t *n,
		      char *err, size_t errlen)
{
	(void)h; (void)dom; (void)out; (void)n;
	return not_yet("vCPU information", err, errlen);
}

int virt_domain_pin_vcpu(struct virt_host *h, const struct virt_dom *dom, unsigned int vcpu,
			 const uint8_t *cpumap, size_t maplen, char *err, size_t errlen)
{
	(void)h; (void)dom; (void)vcpu; (void)cpumap; (void)maplen;
	return not_yet("pinning vCPUs", err, errlen);
}

int virt_domain_sched_get(struct virt_host *h, const struct virt_dom *dom, unsigned int *weight,
			  unsigned int *cap, char *err, size_t errlen)
{
	(void)h; (void)dom; (void)weight; (void)cap;
	return not_yet("scheduler parameters", err, errlen);
}

int virt_domain_sched_set(struct virt_host *h, const struct virt_dom *dom, const unsigned int *weight,
			  const unsigned int *cap, char *err, size_t errlen)
{
	(void)h; (void)dom; (void)weight; (void)cap;
	return not_yet("scheduler parameters", err, errlen);
}

#define DEVICE_STUB(fn, type, what) \
int fn(struct virt_host *h, const struct virt_dom *dom, const type *dev, bool live, bool config, \
       char *err, size_t errlen) \
{ (void)h; (void)dom; (void)dev; (void)live; (void)config; return not_yet(what, err, errlen); }
DEVICE_STUB(virt_domain_attach_vif, struct xl_vif, "attaching an interface")
DEVICE_STUB(virt_domain_detach_vif, struct xl_vif, "detaching an interface")
DEVICE_STUB(virt_domain_attach_disk, struct xl_disk, "attaching a disk")
DEVICE_STUB(virt_domain_detach_disk, struct xl_disk, "detaching a disk")

int virt_domain_console_path(struct virt_host *h, const struct virt_dom *dom, char *path, size_t len,
			     char *err, size_t errlen)
{
	(void)h; (void)dom; (void)path; (void)len;
	return not_yet("the console", err, errlen);
}
