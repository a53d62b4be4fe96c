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
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include "lib/error.h"
#include "lib/rundir.h"
#include "lib/state_file.h"
#include "lib/uuid.h"
#include "libvirt/virt_domains.h"
#include "libvirt/virt_domains_int.h"
#include "xl/xl_bounds.h"
#include "xl/cfg_write.h"
#include "xl/xl_cfg.h"
#include "xl/xl_console.h"
#include "xl/xl_mem.h"
#include "xl/xl_shutdown.h"
#include "xl/xl_store.h"

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
	if (dc->has_uuid)
		memcpy(d->uuid, dc->uuid, 16);
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
	if (info->has_uuid)
		memcpy(d->uuid, info->uuid, 16);
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
	if (uuid_is_zero(run->uuid))
		memcpy(run->uuid, def->uuid, 16);     /* a VMM that does not say its uuid */
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

/* ---- lookup ---------------------------------------------------------------------------------- */

static bool dom_matches(const struct virt_dom *d, const char *name, const uint8_t *uuid, int id)
{
	return (!name || !strcmp(d->name, name)) && (!uuid || !memcmp(d->uuid, uuid, 16)) &&
	       (id < 0 || d->id == id);
}

int virt_domain_lookup(struct virt_host *h, const char *name, const uint8_t *uuid, int id,
		       struct virt_dom *out, char *err, size_t errlen)
{
	struct virt_dom *all;
	size_t n;
	int r = virt_domains_list(h, &all, &n, err, errlen);

	if (r)
		return r;
	r = -ENOENT;
	for (size_t i = 0; i < n && r; i++)
		if (dom_matches(&all[i], name, uuid, id)) {
			*out = all[i];
			r = 0;
		}
	free(all);
	if (r) {
		char text[UUID_TEXT_LEN];

		if (name)
			ERR_SET(err, errlen, "no domain with matching name '%s'", name);
		else if (uuid) {
			uuid_format(uuid, text);
			ERR_SET(err, errlen, "no domain with matching uuid '%s'", text);
		} else
			ERR_SET(err, errlen, "no domain with matching id %d", id);
	}
	return r;
}

/* ---- checks every action shares ---------------------------------------------------------------- */

static int refuse_dom0(const struct virt_dom *dom, const char *verb, char *err, size_t errlen)
{
	if (dom->id != 0 && strcmp(dom->name, XL_DOM0_NAME))
		return 0;
	ERR_SET(err, errlen, "cannot %s Domain-0: it is the host", verb);
	return -EPERM;
}

int virt_need_running(const struct virt_dom *dom, const char *verb, char *err, size_t errlen)
{
	int r = refuse_dom0(dom, verb, err, errlen);

	if (r)
		return r;
	if (dom->id < 1) {
		ERR_SET(err, errlen, "cannot %s domain '%s': it is not running", verb, dom->name);
		return -EINVAL;
	}
	return 0;
}

static int need_persistent(const struct virt_dom *dom, const char *verb, char *err, size_t errlen)
{
	int r = refuse_dom0(dom, verb, err, errlen);

	if (r)
		return r;
	if (!dom->persistent) {
		ERR_SET(err, errlen, "cannot %s domain '%s': it is transient (it has no definition)",
			verb, dom->name);
		return -EINVAL;
	}
	return 0;
}

/* ---- definitions: reading, writing, editing ------------------------------------------------------ */

static int definition_load(const struct virt_host *h, const char *name, struct domain_config *dc,
			   char *err, size_t errlen)
{
	char path[PATH_MAX], why[512];
	int r = state_path(h, path, sizeof(path), "domains", name, err, errlen);

	if (r)
		return r;
	if (access(path, F_OK)) {
		r = -errno;
		ERR_SET(err, errlen, "the definition of domain '%s' (%s): %s", name, path, strerror(errno));
		return r;
	}
	if (definition_read(path, dc, why, sizeof(why))) {
		ERR_SET(err, errlen, "the definition of domain '%s' is broken: %s", name, why);
		return -EINVAL;
	}
	return 0;
}

/* dc as xl.cfg text, and that text read back as xl reads a config (which checks the name and every
 * value as xl create would): what is stored always loads.  0 with *text (malloc'd) and, when copy
 * is not NULL, the config read back; -EINVAL with err. */
static int config_through_cfg(const struct domain_config *dc, char **text, struct domain_config *copy,
			      char *err, size_t errlen)
{
	struct domain_config back = { 0 };
	struct xl_cfg cfg = { 0 };
	char why[512];
	char *t = domain_config_to_cfg(dc, why, sizeof(why));

	if (!t) {
		ERR_SET(err, errlen, "domain '%s' cannot be written as xl.cfg: %s",
			dc->name ? dc->name : "", why);
		return -EINVAL;
	}
	if (xl_cfg_parse_string(t, dc->name ? dc->name : "definition", &cfg, why, sizeof(why)) ||
	    domain_config_from_cfg(&cfg, &back, stderr, why, sizeof(why))) {
		xl_cfg_free(&cfg);
		free(t);
		ERR_SET(err, errlen, "invalid configuration: %s", why);
		return -EINVAL;
	}
	xl_cfg_free(&cfg);
	if (copy)
		*copy = back;
	else
		domain_config_free(&back);
	if (text)
		*text = t;
	else
		free(t);
	return 0;
}

/* Writes dc as domains/NAME.cfg, whole or not at all: a temporary file (0600) synced, renamed over
 * the old one, then the directory synced. */
static int definition_store(const struct virt_host *h, const struct domain_config *dc, char *err,
			    size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX];
	char *text = NULL;
	int r;

	r = config_through_cfg(dc, &text, NULL, err, errlen);
	if (r)
		return r;
	if (!(r = state_dir_make(h->state_dir, 0700, err, errlen)) &&
	    !(r = state_path(h, dir, sizeof(dir), "domains", NULL, err, errlen)) &&
	    !(r = state_dir_make(dir, 0700, err, errlen)) &&
	    !(r = state_path(h, path, sizeof(path), "domains", dc->name, err, errlen)))
		r = state_file_write(path, text, strlen(text), err, errlen);
	free(text);
	return r;
}

int virt_definition_edit(struct virt_host *h, const struct virt_dom *dom, virt_definition_edit_fn edit,
			   const void *arg, char *err, size_t errlen)
{
	struct domain_config dc;
	int r = need_persistent(dom, "change the definition of", err, errlen);

	if (r)
		return r;
	r = definition_load(h, dom->name, &dc, err, errlen);
	if (r)
		return r;
	r = edit(&dc, arg, err, errlen);
	if (!r)
		r = definition_store(h, &dc, err, errlen);
	domain_config_free(&dc);
	return r;
}

int virt_domain_config(struct virt_host *h, const struct virt_dom *dom, struct domain_config *dc,
		       char *err, size_t errlen)
{
	int r = refuse_dom0(dom, "describe", err, errlen);

	memset(dc, 0, sizeof(*dc));
	if (r)
		return r;
	if (dom->persistent)
		return definition_load(h, dom->name, dc, err, errlen);
	if (dom->id < 1) {
		ERR_SET(err, errlen, "domain '%s' has neither a definition nor a running VMM", dom->name);
		return -ENOENT;
	}
	if (xl_domain_saved_config(&h->xl, (unsigned int)dom->id, dc, err, errlen))
		return -EIO;
	return 0;
}

/* ---- define, undefine, autostart ----------------------------------------------------------------- */

/* The UUID a new definition of dc->name takes: its existing definition's, else the running
 * domain's, else its own or a new one; one that another domain holds is refused. */
static int definition_uuid(struct virt_host *h, struct domain_config *dc, char *err, size_t errlen)
{
	struct virt_dom *all;
	size_t n;
	char a[UUID_TEXT_LEN], b[UUID_TEXT_LEN];
	int r = virt_domains_list(h, &all, &n, err, errlen);

	if (r)
		return r;
	for (size_t i = 1; i < n; i++) {              /* [0] is Domain-0 */
		const struct virt_dom *d = &all[i];
		bool same_name = !strcmp(d->name, dc->name);

		if (same_name && !uuid_is_zero(d->uuid)) {
			if (dc->has_uuid && memcmp(dc->uuid, d->uuid, 16)) {
				uuid_format(d->uuid, a);
				ERR_SET(err, errlen, "domain '%s' is already defined with uuid %s",
					d->name, a);
				r = -EEXIST;
				break;
			}
			memcpy(dc->uuid, d->uuid, 16);
			dc->has_uuid = true;
		} else if (!same_name && dc->has_uuid && !memcmp(dc->uuid, d->uuid, 16)) {
			uuid_format(d->uuid, b);
			ERR_SET(err, errlen, "domain '%s' already exists with uuid %s", d->name, b);
			r = -EEXIST;
			break;
		}
	}
	free(all);
	if (!r && !dc->has_uuid) {
		r = uuid_generate(dc->uuid);
		if (r)
			ERR_SET(err, errlen, "cannot make a uuid for domain '%s': %s", dc->name, strerror(-r));
		else
			dc->has_uuid = true;
	}
	return r;
}

int virt_domain_define(struct virt_host *h, struct domain_config *dc, struct virt_dom *out, char *err,
		       size_t errlen)
{
	int r;

	if (!dc->name || !*dc->name) {
		ERR_SET(err, errlen, "a domain needs a name");
		return -EINVAL;
	}
	if (!strcmp(dc->name, XL_DOM0_NAME)) {
		ERR_SET(err, errlen, "cannot define Domain-0: it is the host");
		return -EPERM;
	}
	/* The name as xl checks it, before it becomes a file name. */
	r = config_through_cfg(dc, NULL, NULL, err, errlen);
	if (r)
		return r;
	r = definition_uuid(h, dc, err, errlen);
	if (r)
		return r;
	r = definition_store(h, dc, err, errlen);
	if (r)
		return r;
	return virt_domain_lookup(h, dc->name, NULL, -1, out, err, errlen);
}

int virt_domain_undefine(struct virt_host *h, const struct virt_dom *dom, char *err, size_t errlen)
{
	char path[PATH_MAX], dir[PATH_MAX];
	int r = need_persistent(dom, "undefine", err, errlen);

	if (r)
		return r;
	r = virt_domain_set_autostart(h, dom, false, err, errlen);
	if (r)
		return r;
	if ((r = state_path(h, path, sizeof(path), "domains", dom->name, err, errlen)) ||
	    (r = state_path(h, dir, sizeof(dir), "domains", NULL, err, errlen)))
		return r;
	if (unlink(path) && errno != ENOENT) {
		r = -errno;
		ERR_SET(err, errlen, "cannot remove the definition %s: %s", path, strerror(errno));
		return r;
	}
	state_dir_sync(dir);
	return 0;
}

int virt_domain_set_autostart(struct virt_host *h, const struct virt_dom *dom, bool on, char *err,
			      size_t errlen)
{
	char link[PATH_MAX], dir[PATH_MAX], target[DOMAIN_NAME_MAX + 32];
	int r = need_persistent(dom, "set autostart of", err, errlen);

	if (r)
		return r;
	if ((r = state_path(h, link, sizeof(link), "auto", dom->name, err, errlen)) ||
	    (r = state_path(h, dir, sizeof(dir), "auto", NULL, err, errlen)))
		return r;
	if (!on) {
		if (unlink(link) && errno != ENOENT) {
			r = -errno;
			ERR_SET(err, errlen, "cannot remove %s: %s", link, strerror(errno));
			return r;
		}
		return 0;
	}
	if ((r = state_dir_make(h->state_dir, 0700, err, errlen)) || (r = state_dir_make(dir, 0700, err, errlen)))
		return r;
	snprintf(target, sizeof(target), "../domains/%s.cfg", dom->name);
	if (symlink(target, link) && errno != EEXIST) {
		r = -errno;
		ERR_SET(err, errlen, "cannot make %s: %s", link, strerror(errno));
		return r;
	}
	return 0;
}

/* ---- start --------------------------------------------------------------------------------------- */

int virt_domain_start(struct virt_host *h, const struct virt_dom *dom, const struct domain_config *dc,
		      bool paused, struct virt_dom *out, char *err, size_t errlen)
{
	struct domain_config run = { 0 };
	unsigned int domid;
	int r;

	if (dom) {
		if ((r = need_persistent(dom, "start", err, errlen)))
			return r;
		if (dom->id >= 1) {
			ERR_SET(err, errlen, "domain '%s' is already running (id %d)", dom->name, dom->id);
			return -EEXIST;
		}
		r = definition_load(h, dom->name, &run, err, errlen);
	} else if (!dc || !dc->name) {
		ERR_SET(err, errlen, "a domain needs a name");
		return -EINVAL;
	} else if (!strcmp(dc->name, XL_DOM0_NAME)) {
		ERR_SET(err, errlen, "cannot start Domain-0: it is the host");
		return -EPERM;
	} else {
		/* Its own copy, as resolving fills in defaults; made the way a definition is. */
		r = config_through_cfg(dc, NULL, &run, err, errlen);
	}
	if (r)
		return r;
	if (run.type == DOMAIN_TYPE_HVM) {
		ERR_SET(err, errlen, "hvm domains are not yet supported by Xenith");
		r = -ENOTSUP;
		goto out;
	}
	if (domain_config_resolve_vifs(&run, err, errlen) ||
	    domain_config_resolve_disks(&run, err, errlen)) {
		r = -EINVAL;
		goto out;
	}
	r = xl_domain_create(&h->xl, &run, paused, &domid, err, errlen);
	if (r > 0) {
		r = -EINTR;
		goto out;
	}
	if (r) {
		if (!*err)
			ERR_SET(err, errlen, "cannot use the run directory %s", h->xl.rd.path);
		r = strstr(err, "already exists") ? -EEXIST : -EIO;
		goto out;
	}
	r = virt_domain_lookup(h, NULL, NULL, (int)domid, out, err, errlen);
out:
	domain_config_free(&run);
	return r;
}

/* ---- lifecycle ----------------------------------------------------------------------------------- */

int virt_domain_destroy(struct virt_host *h, const struct virt_dom *dom, char *err, size_t errlen)
{
	int r = virt_need_running(dom, "destroy", err, errlen);

	if (r)
		return r;
	return xl_domain_destroy(&h->xl, (unsigned int)dom->id, dom->name, err, errlen) ? -EIO : 0;
}

static int pvcontrol(struct virt_host *h, const struct virt_dom *dom, const char *request,
		     const char *what, char *err, size_t errlen)
{
	struct xl_dominfo info;
	struct xl_store store;
	int r = virt_need_running(dom, what, err, errlen);

	if (r)
		return r;
	if (xl_shutdown_store_open(&h->xl, &store, err, errlen))
		return -EIO;
	r = xl_pvcontrol_send(&h->xl, &store, (unsigned int)dom->id, dom->name, request, what, &info,
			      err, errlen);
	xl_store_close(&store);
	return r ? -EIO : 0;
}

int virt_domain_shutdown(struct virt_host *h, const struct virt_dom *dom, char *err, size_t errlen)
{
	return pvcontrol(h, dom, "poweroff", "shutdown", err, errlen);
}

int virt_domain_reboot(struct virt_host *h, const struct virt_dom *dom, char *err, size_t errlen)
{
	return pvcontrol(h, dom, "reboot", "reboot", err, errlen);
}

/* One control request with no reply text (pause, unpause), as xl pause/unpause. */
static int simple_request(struct virt_host *h, const struct virt_dom *dom, const char *request,
			  const char *verb, char *err, size_t errlen)
{
	char reply[1024];
	int r = virt_need_running(dom, verb, err, errlen);

	if (r)
		return r;
	r = xl_domain_request(&h->xl, (unsigned int)dom->id, request, XL_REQUEST_MS, reply,
			      sizeof(reply));
	if (r == -ESRCH)
		ERR_SET(err, errlen, "cannot %s domain '%s': it is not running", verb, dom->name);
	else if (r)
		ERR_SET(err, errlen, "cannot %s domain %d (%s): %s", verb, dom->id, dom->name, reply);
	return r == -ESRCH ? -EINVAL : r;
}

int virt_domain_suspend(struct virt_host *h, const struct virt_dom *dom, char *err, size_t errlen)
{
	return simple_request(h, dom, "pause", "suspend", err, errlen);
}

int virt_domain_resume(struct virt_host *h, const struct virt_dom *dom, char *err, size_t errlen)
{
	return simple_request(h, dom, "unpause", "resume", err, errlen);
}

/* ---- resources ----------------------------------------------------------------------------------- */

int virt_live_or_config(const struct virt_dom *dom, bool live, bool config, const char *verb,
			  char *err, size_t errlen)
{
	int r = refuse_dom0(dom, verb, err, errlen);

	if (r)
		return r;
	if (!live && !config) {
		ERR_SET(err, errlen, "cannot %s: neither the running domain nor its definition chosen",
			verb);
		return -EINVAL;
	}
	if (live && (r = virt_need_running(dom, verb, err, errlen)))
		return r;
	if (config && (r = need_persistent(dom, verb, err, errlen)))
		return r;
	return 0;
}

static unsigned long kb_to_mb(unsigned long long kb)
{
	return (unsigned long)(kb / 1024 + (kb % 1024 != 0));   /* kb + 1023 would wrap near 2^64 */
}

static int edit_memory(struct domain_config *dc, const void *arg, char *err, size_t errlen)
{
	unsigned long mb = kb_to_mb(*(const unsigned long long *)arg);

	if (mb > dc->maxmem_mb) {
		ERR_SET(err, errlen, "cannot set memory higher than max memory (%lu MiB)", dc->maxmem_mb);
		return -EINVAL;
	}
	dc->memory_mb = mb;
	return 0;
}

static int edit_max_memory(struct domain_config *dc, const void *arg, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	dc->maxmem_mb = kb_to_mb(*(const unsigned long long *)arg);
	if (dc->memory_mb > dc->maxmem_mb)
		dc->memory_mb = dc->maxmem_mb;     /* as libvirt lowers the current memory with it */
	return 0;
}

static int set_mem(struct virt_host *h, const struct virt_dom *dom, unsigned long long kb, bool max,
		   bool live, bool config, char *err, size_t errlen)
{
	int r = virt_live_or_config(dom, live, config, max ? "set the maximum memory of" :
			       "set the memory of", err, errlen);

	if (r)
		return r;
	if (config && (r = virt_definition_edit(h, dom, max ? edit_max_memory : edit_memory, &kb, err, errlen)))
		return r;
	if (live && xl_domain_mem(&h->xl, (unsigned int)dom->id, dom->name, max, kb, err, errlen))
		return -EIO;
	return 0;
}

int virt_domain_set_memory(struct virt_host *h, const struct virt_dom *dom, unsigned long long kb,
			   bool live, bool config, char *err, size_t errlen)
{
	return set_mem(h, dom, kb, false, live, config, err, errlen);
}

int virt_domain_set_max_memory(struct virt_host *h, const struct virt_dom *dom, unsigned long long kb,
			       bool live, bool config, char *err, size_t errlen)
{
	return set_mem(h, dom, kb, true, live, config, err, errlen);
}

int virt_domain_console_path(struct virt_host *h, const struct virt_dom *dom, char *path, size_t len,
			     char *err, size_t errlen)
{
	int r = virt_need_running(dom, "attach to the console of", err, errlen);

	if (r)
		return r;
	return xl_console_tty_path(&h->xl, (unsigned int)dom->id, path, len, err, errlen) ? -ENOENT : 0;
}
