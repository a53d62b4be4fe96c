/* From a parsed xl.cfg to a domain_config, in the order and with the defaults of xl's
 * parse_config_data(): every key xl knows that we take is read by a typed getter below; the table
 * of known keys exists only so unknown ones can be warned about, as xl does. */
#include "xl/domain_config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/cpumap.h"
#include "lib/uuid.h"

#define DEFAULT_MEMORY_MB 128

static const char *const known_keys[] = {
	"name", "type", "builder", "kernel", "ramdisk", "cmdline", "root", "extra",
	"memory", "maxmem", "vcpus", "maxvcpus", "on_poweroff", "on_reboot", "on_crash", "vif",
	"disk", "weight", "cap", "cpus", "cpus_soft", "uuid",
	/* and the hvm keys: hvm_config_xl.c */
};

static const char *const action_names[] = {
	[ACTION_DESTROY] = "destroy",
	[ACTION_RESTART] = "restart",
	[ACTION_PRESERVE] = "preserve",
	[ACTION_RENAME_RESTART] = "rename-restart",
	[ACTION_COREDUMP_DESTROY] = "coredump-destroy",
	[ACTION_COREDUMP_RESTART] = "coredump-restart",
};
#define N_ACTIONS (sizeof(action_names) / sizeof(action_names[0]))

static const char *const type_names[] = {
	[DOMAIN_TYPE_PVH] = "pvh",
	[DOMAIN_TYPE_PV] = "pv",
	[DOMAIN_TYPE_HVM] = "hvm",
};
#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

const char *domain_action_name(enum domain_action action)
{
	return (unsigned)action < N_ACTIONS ? action_names[action] : "unknown";
}

const char *domain_type_name(enum domain_type type)
{
	return (unsigned)type < N_TYPES ? type_names[type] : "unknown";
}

static bool is_known_key(const char *key)
{
	for (size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
		if (!strcmp(known_keys[i], key))
			return true;
	return xl_hvm_is_key(key);
}

/* What the getters need to report errors. */
struct reader {
	const struct xl_cfg *cfg;
	FILE *warn;
	char *err;
	size_t errlen;
};

static int read_sched(const struct reader *r, struct domain_config *dc);

/* 1 when present (into *out, not copied), 0 when absent, -1 when not a string. */
static int get_string(const struct reader *r, const char *key, const char **out,
		      const struct cfg_entry **where)
{
	const struct cfg_entry *e = xl_cfg_get(r->cfg, key);
	if (where)
		*where = e;
	if (!e)
		return 0;
	if (e->value.kind != CFG_STRING)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "'%s' must be a string", key);
	*out = e->value.str;
	return 1;
}

/* 1 when present, 0 when absent, -1 when not a number within [min, max] (in unit: "" or " MiB").
 * The bounds are the VMM's (lib/domain_limits.h), so a config xl takes, the VMM takes too. */
static int get_number(const struct reader *r, const char *key, long long min, long long max,
		      const char *unit, long long *out)
{
	const struct cfg_entry *e = xl_cfg_get(r->cfg, key);
	if (!e)
		return 0;
	long long n;
	if (cfg_value_to_number(&e->value, &n) < 0)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "'%s' must be a number", key);
	if (n < min)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "%s must be at least %lld%s", key,
				    min, unit);
	if (n > max)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "%s must be at most %lld%s (a "
				    "Xenith domain's limit)", key, max, unit);
	*out = n;
	return 1;
}

static int get_action(const struct reader *r, const char *key, enum domain_action *out)
{
	const char *text = NULL;
	const struct cfg_entry *e;
	int rc = get_string(r, key, &text, &e);
	if (rc <= 0)
		return rc;
	for (size_t i = 0; i < N_ACTIONS; i++) {
		if (!strcmp(text, action_names[i])) {
			*out = (enum domain_action)i;
			return 1;
		}
	}
	return xl_cfg_error(r->err, r->errlen, r->cfg, e,
			    "invalid %s action '%s' (valid: destroy, restart, preserve, "
			    "rename-restart, coredump-destroy, coredump-restart)", key, text);
}

/* Conservative: names become xenstore values, paths under the run directory and arguments to xl
 * commands (where an all-digit name would read as a domid), so refuse what could be misread. */
const char *domain_name_problem(const char *name)
{
	size_t len = strlen(name);
	if (len == 0)
		return "it is empty";
	if (len > DOMAIN_NAME_MAX)
		return "it is longer than 64 bytes";
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return "it is '.' or '..'";
	bool all_digits = true;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
		if (*c == '/')
			return "it contains '/'";
		if (*c == ':')
			return "it contains ':'";
		if (*c == ' ' || (*c >= '\t' && *c <= '\r'))
			return "it contains whitespace";
		if (*c < 0x20 || *c == 0x7f)
			return "it contains a control character";
		if (*c < '0' || *c > '9')
			all_digits = false;
	}
	if (all_digits)
		return "it is all digits, which xl would take for a domain id";
	return NULL;
}

/* The name as it may be shown on a terminal: bytes outside printable ASCII become \xNN. */
static void printable_name(const char *name, char *out, size_t len)
{
	size_t n = 0;
	for (const unsigned char *c = (const unsigned char *)name; *c && n + 5 < len; c++) {
		if (*c >= 0x20 && *c < 0x7f)
			out[n++] = *c;
		else
			n += snprintf(out + n, len - n, "\\x%02x", *c);
	}
	out[n] = '\0';
}

static int read_type(const struct reader *r, enum domain_type *type)
{
	const char *text = NULL, *builder = NULL;
	const struct cfg_entry *type_entry, *builder_entry;
	int has_type = get_string(r, "type", &text, &type_entry);
	if (has_type < 0)
		return -1;
	int has_builder = get_string(r, "builder", &builder, &builder_entry);
	if (has_builder < 0)
		return -1;

	*type = DOMAIN_TYPE_PV; /* xl's default, kept for old configs */
	if (has_type) {
		for (size_t i = 0; i < N_TYPES; i++) {
			if (!strcmp(text, type_names[i])) {
				*type = (enum domain_type)i;
				if (has_builder)
					xl_cfg_warn(r->warn, r->cfg, builder_entry,
						    "both 'type' and 'builder' given; only 'type' is used");
				return 0;
			}
		}
		return xl_cfg_error(r->err, r->errlen, r->cfg, type_entry,
				    "invalid type '%s' (valid: pvh, pv, hvm)", text);
	}
	if (has_builder) {
		if (!strcmp(builder, "hvm"))
			*type = DOMAIN_TYPE_HVM;
		else if (strcmp(builder, "generic"))
			return xl_cfg_error(r->err, r->errlen, r->cfg, builder_entry,
					    "invalid builder '%s' (valid: generic, hvm)", builder);
		xl_cfg_warn(r->warn, r->cfg, builder_entry,
			    "'builder' is deprecated, use 'type' instead");
	}
	return 0;
}

/* An hvm domain boots its firmware: Xen's direct kernel boot (kernel/ramdisk/cmdline handed to
 * the device model) is not ours, so kernel and ramdisk are refused and a command line is moot. */
static int read_hvm_boot_keys(const struct reader *r, struct domain_config *dc)
{
	static const char *const direct[] = { "kernel", "ramdisk" };
	static const char *const moot[] = { "cmdline", "root", "extra" };

	for (size_t i = 0; i < sizeof(direct) / sizeof(direct[0]); i++) {
		const struct cfg_entry *e = xl_cfg_get(r->cfg, direct[i]);

		if (e)
			return xl_cfg_error(r->err, r->errlen, r->cfg, e, "%s= with type hvm (direct "
					    "kernel boot) is not supported; boot from a disk or CD",
					    direct[i]);
	}
	for (size_t i = 0; i < sizeof(moot) / sizeof(moot[0]); i++) {
		const struct cfg_entry *e = xl_cfg_get(r->cfg, moot[i]);

		if (e) {
			xl_cfg_warn(r->warn, r->cfg, e, "'%s' has no effect with type hvm (it is for "
				    "direct kernel boot)", moot[i]);
			break;
		}
	}
	dc->cmdline[0] = '\0';
	return 0;
}

/* uuid = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", as libxl_uuid_from_string takes it. */
static int read_uuid(const struct reader *r, struct domain_config *dc)
{
	const char *text = NULL;
	const struct cfg_entry *e;
	int rc = get_string(r, "uuid", &text, &e);

	if (rc <= 0)
		return rc;
	if (uuid_parse(text, dc->uuid)) {
		char shown[4 * 40 + 8];
		printable_name(text, shown, sizeof(shown));
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "invalid uuid '%s' (expected 36 "
				    "characters like 01234567-89ab-cdef-0123-456789abcdef)", shown);
	}
	dc->has_uuid = true;
	return 0;
}

/* xl's rule: cmdline wins over root/extra; otherwise "root=<root> <extra>". */
static int read_cmdline(const struct reader *r, char **out)
{
	const char *cmdline = NULL, *root = NULL, *extra = NULL;
	const struct cfg_entry *cmdline_entry, *root_entry, *extra_entry;
	int has_cmdline = get_string(r, "cmdline", &cmdline, &cmdline_entry);
	int has_root = get_string(r, "root", &root, &root_entry);
	int has_extra = get_string(r, "extra", &extra, &extra_entry);
	if (has_cmdline < 0 || has_root < 0 || has_extra < 0)
		return -1;

	const char *first = "", *second = "";
	if (has_cmdline) {
		if (has_root || has_extra)
			xl_cfg_warn(r->warn, r->cfg, has_root ? root_entry : extra_entry,
				    "ignoring 'root' and 'extra' in favour of 'cmdline'");
		first = cmdline;
	} else {
		first = has_root ? root : "";
		second = has_extra ? extra : "";
	}
	bool root_prefix = !has_cmdline && has_root;
	bool space = root_prefix && has_extra;
	size_t len = strlen("root=") + strlen(first) + 1 + strlen(second) + 1;
	*out = malloc(len);
	if (!*out)
		return xl_cfg_error(r->err, r->errlen, r->cfg, NULL, "out of memory");
	snprintf(*out, len, "%s%s%s%s", root_prefix ? "root=" : "", first, space ? " " : "",
		 second);
	return 0;
}

/* A path key: present means a non-empty string, copied into *out. */
static int read_path(const struct reader *r, const char *key, char **out)
{
	const char *text = NULL;
	const struct cfg_entry *e;
	int rc = get_string(r, key, &text, &e);
	if (rc <= 0)
		return rc;
	if (!*text)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "'%s' must not be empty", key);
	*out = strdup(text);
	if (!*out)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "out of memory");
	return 1;
}

/* vif = [ 'spec', ... ]: one vif per item, devid = its index; MACs and vifnames must differ. */
static int read_vifs(const struct reader *r, struct domain_config *dc)
{
	const struct cfg_entry *e = xl_cfg_get(r->cfg, "vif");
	char where[256], mac[VIF_MAC_TEXT];
	const char *source;

	if (!e)
		return 0;
	source = e->source ? e->source : r->cfg->source;
	if (e->value.kind != CFG_LIST)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e,
				    "'vif' must be a list, like vif = [ 'bridge=xenbr0' ]");
	if (e->value.n_items > DOMAIN_MAX_VIFS)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "%zu vifs given; at most %d (a "
				    "Xenith domain's limit)", e->value.n_items, DOMAIN_MAX_VIFS);
	if (e->value.n_items == 0)
		return 0;
	dc->vifs = calloc(e->value.n_items, sizeof(*dc->vifs));
	if (!dc->vifs)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "out of memory");
	for (size_t i = 0; i < e->value.n_items; i++) {
		const struct cfg_value *item = &e->value.items[i];
		struct xl_vif *vif = &dc->vifs[i];

		if (item->line > 0)
			snprintf(where, sizeof(where), "%s:%d: vif %zu: ", source, item->line, i);
		else
			snprintf(where, sizeof(where), "%s: vif %zu: ", source, i);
		if (item->kind != CFG_STRING) {
			snprintf(r->err, r->errlen, "%s'vif' items must be strings", where);
			return -1;
		}
		if (xl_vif_parse(item->str, where, (int)i, vif, r->warn, r->err, r->errlen))
			return -1;
		dc->n_vifs++;
		for (size_t j = 0; j < i; j++) {
			if (vif->mac_set && dc->vifs[j].mac_set && !memcmp(vif->mac, dc->vifs[j].mac, 6)) {
				xl_vif_mac_format(vif->mac, mac);
				snprintf(r->err, r->errlen, "%sduplicate mac %s (vif %zu has it too)",
					 where, mac, j);
				return -1;
			}
			if (vif->vifname && dc->vifs[j].vifname &&
			    !strcmp(vif->vifname, dc->vifs[j].vifname)) {
				snprintf(r->err, r->errlen, "%sduplicate vifname '%s' (vif %zu has it "
					 "too)", where, vif->vifname, j);
				return -1;
			}
		}
	}
	return 0;
}

/* disk = [ 'spec', ... ]: one disk per item; two may not share a vdev (by number: xvda is d0). */
static int read_disks(const struct reader *r, struct domain_config *dc)
{
	const struct cfg_entry *e = xl_cfg_get(r->cfg, "disk");
	char where[256];
	const char *source;

	if (!e)
		return 0;
	source = e->source ? e->source : r->cfg->source;
	if (e->value.kind != CFG_LIST)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e,
				    "'disk' must be a list, like disk = [ '/srv/guest.img,raw,xvda,rw' ]");
	if (e->value.n_items > DOMAIN_MAX_DISKS)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "%zu disks given; at most %d (a "
				    "Xenith domain's limit)", e->value.n_items, DOMAIN_MAX_DISKS);
	if (e->value.n_items == 0)
		return 0;
	dc->disks = calloc(e->value.n_items, sizeof(*dc->disks));
	if (!dc->disks)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "out of memory");
	for (size_t i = 0; i < e->value.n_items; i++) {
		const struct cfg_value *item = &e->value.items[i];
		struct xl_disk *disk = &dc->disks[i];

		if (item->line > 0)
			snprintf(where, sizeof(where), "%s:%d: disk %zu: ", source, item->line, i);
		else
			snprintf(where, sizeof(where), "%s: disk %zu: ", source, i);
		if (item->kind != CFG_STRING) {
			snprintf(r->err, r->errlen, "%s'disk' items must be strings", where);
			return -1;
		}
		if ((dc->type == DOMAIN_TYPE_HVM ? xl_disk_parse_hvm : xl_disk_parse)(item->str, where,
			    disk, r->warn, r->err, r->errlen))
			return -1;
		dc->n_disks++;
		for (size_t j = 0; j < i; j++) {
			if (disk->devid != dc->disks[j].devid)
				continue;
			if (!strcmp(disk->vdev, dc->disks[j].vdev))
				snprintf(r->err, r->errlen, "%sduplicate vdev %s (disk %zu has it too)",
					 where, disk->vdev, j);
			else
				snprintf(r->err, r->errlen, "%svdev %s is the same device as disk %zu's "
					 "%s (devid %u)", where, disk->vdev, j, dc->disks[j].vdev,
					 disk->devid);
			return -1;
		}
	}
	return 0;
}

static int read_config(const struct reader *r, struct domain_config *dc)
{
	const struct xl_cfg *cfg = r->cfg;

	for (size_t i = 0; i < cfg->n_entries; i++)
		if (!is_known_key(cfg->entries[i].key))
			xl_cfg_warn(r->warn, cfg, &cfg->entries[i], "unknown key '%s' (ignored)",
				    cfg->entries[i].key);

	const char *name = NULL;
	const struct cfg_entry *name_entry;
	int rc = get_string(r, "name", &name, &name_entry);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return xl_cfg_error(r->err, r->errlen, cfg, NULL, "'name' is required");
	const char *problem = domain_name_problem(name);
	if (problem) {
		char shown[4 * DOMAIN_NAME_MAX + 8];
		printable_name(name, shown, sizeof(shown));
		return xl_cfg_error(r->err, r->errlen, cfg, name_entry,
				    "invalid domain name '%s': %s", shown, problem);
	}
	dc->name = strdup(name);
	if (!dc->name)
		return xl_cfg_error(r->err, r->errlen, cfg, name_entry, "out of memory");

	if (read_uuid(r, dc) < 0 || read_type(r, &dc->type) < 0)
		return -1;

	rc = read_path(r, "kernel", &dc->kernel);
	if (rc < 0)
		return -1;
	if (rc == 0 && dc->type != DOMAIN_TYPE_HVM)
		return xl_cfg_error(r->err, r->errlen, cfg, NULL,
				    "'kernel' is required for a %s domain", domain_type_name(dc->type));
	if (read_path(r, "ramdisk", &dc->ramdisk) < 0)
		return -1;
	if (read_cmdline(r, &dc->cmdline) < 0)
		return -1;
	if (dc->type == DOMAIN_TYPE_HVM && read_hvm_boot_keys(r, dc) < 0)
		return -1;

	long long memory = DEFAULT_MEMORY_MB, maxmem;
	if (get_number(r, "memory", DOMAIN_MIN_MEMORY_MB, DOMAIN_MAX_MEMORY_MB, " MiB", &memory) < 0)
		return -1;
	rc = get_number(r, "maxmem", DOMAIN_MIN_MEMORY_MB, DOMAIN_MAX_MEMORY_MB, " MiB", &maxmem);
	if (rc < 0)
		return -1;
	if (rc == 0)
		maxmem = memory;
	if (maxmem < memory)
		return xl_cfg_error(r->err, r->errlen, cfg, xl_cfg_get(cfg, "maxmem"),
				    "maxmem (%lld) must not be less than memory (%lld)", maxmem,
				    memory);
	dc->memory_mb = memory;
	dc->maxmem_mb = maxmem;

	long long vcpus = 1, max_vcpus;
	if (get_number(r, "vcpus", 1, DOMAIN_MAX_VCPUS, "", &vcpus) < 0)
		return -1;
	rc = get_number(r, "maxvcpus", 1, DOMAIN_MAX_VCPUS, "", &max_vcpus);
	if (rc < 0)
		return -1;
	if (rc == 0)
		max_vcpus = vcpus;
	if (max_vcpus < vcpus)
		return xl_cfg_error(r->err, r->errlen, cfg, xl_cfg_get(cfg, "maxvcpus"),
				    "maxvcpus (%lld) must not be less than vcpus (%lld)", max_vcpus,
				    vcpus);
	dc->vcpus = vcpus;
	dc->max_vcpus = max_vcpus;

	if (read_sched(r, dc) < 0)
		return -1;
	dc->on_poweroff = ACTION_DESTROY;
	dc->on_reboot = ACTION_RESTART;
	dc->on_crash = ACTION_DESTROY;
	if (get_action(r, "on_poweroff", &dc->on_poweroff) < 0 ||
	    get_action(r, "on_reboot", &dc->on_reboot) < 0 ||
	    get_action(r, "on_crash", &dc->on_crash) < 0)
		return -1;
	if (read_disks(r, dc) < 0 || read_vifs(r, dc) < 0)
		return -1;
	return xl_hvm_read(cfg, dc, r->warn, r->err, r->errlen);
}

/* One CPU list of cpus=/cpus_soft=, checked as the VMM will parse it; stored as "LIST" (vcpu < 0)
 * or "V=LIST". */
static int affinity_item(const struct reader *r, const char *key, const struct cfg_value *v, long vcpu,
			 char **out)
{
	char why[300];
	struct cpumap map;
	const char *text = v->kind == CFG_LIST ? NULL : v->str;

	if (!text)
		return xl_cfg_error(r->err, r->errlen, r->cfg, xl_cfg_get(r->cfg, key),
				    "%s: a list's items must be CPU lists like \"2\" or \"0-3,^2\"", key);
	char item[64] = "";
	if (vcpu >= 0)
		snprintf(item, sizeof(item), " item %ld (vCPU %ld)", vcpu, vcpu);
	if (cpumap_parse(text, &map, why, sizeof(why)))
		return xl_cfg_error(r->err, r->errlen, r->cfg, xl_cfg_get(r->cfg, key), "%s%s: %s", key, item,
				    why);
	size_t len = strlen(text) + 24;
	*out = malloc(len);
	if (*out)
		snprintf(*out, len, vcpu < 0 ? "%.0ld%s" : "%ld=%s", vcpu < 0 ? 0 : vcpu, text);
	else {
		return xl_cfg_error(r->err, r->errlen, r->cfg, xl_cfg_get(r->cfg, key), "out of memory");
	}
	return 0;
}

/* cpus = "LIST" (every vCPU) or ["LIST", ...] (vCPU i gets item i; the rest every CPU), as
 * xl.cfg(5) has them.  A list longer than maxvcpus is refused. */
static int read_affinity(const struct reader *r, const char *key, unsigned int max_vcpus, char **specs,
			 size_t *n)
{
	const struct cfg_entry *e = xl_cfg_get(r->cfg, key);

	if (!e)
		return 0;
	if (e->value.kind != CFG_LIST) {
		(*n)++;
		return affinity_item(r, key, &e->value, -1, &specs[0]);
	}
	if (e->value.n_items > max_vcpus)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "%s has %zu items but the domain has %u vCPUs "
				    "(maxvcpus)", key, e->value.n_items, max_vcpus);
	for (size_t i = 0; i < e->value.n_items; i++) {
		(*n)++;
		if (affinity_item(r, key, &e->value.items[i], (long)i, &specs[i]))
			return -1;
	}
	return 0;
}

static int read_sched(const struct reader *r, struct domain_config *dc)
{
	long long weight, cap;
	int rc = get_number(r, "weight", 1, 65535, "", &weight);

	if (rc < 0)
		return -1;
	dc->sched_weight = rc ? (unsigned int)weight : 0;
	rc = get_number(r, "cap", 0, 65535, " (% of one CPU)", &cap);
	if (rc < 0)
		return -1;
	dc->sched_cap_set = rc > 0;
	dc->sched_cap = rc ? (unsigned int)cap : 0;
	if (read_affinity(r, "cpus", dc->max_vcpus, dc->cpus, &dc->n_cpus) ||
	    read_affinity(r, "cpus_soft", dc->max_vcpus, dc->cpus_soft, &dc->n_cpus_soft))
		return -1;
	return 0;
}

int domain_config_resolve_disks(struct domain_config *dc, char *err, size_t errlen)
{
	for (size_t i = 0; i < dc->n_disks; i++) {
		struct xl_disk *disk = &dc->disks[i];

		if (!disk->target && disk->cdrom)
			continue;        /* an hvm domain's empty tray */
		if (xl_disk_resolve_target(disk, err, errlen))
			return -1;
		for (size_t j = 0; j < i; j++) {
			if (!xl_disk_same_target(&disk->st, &dc->disks[j].st) ||
			    (disk->readonly && dc->disks[j].readonly))
				continue;
			snprintf(err, errlen, "%starget %s is disk %zu's too; a target given twice "
				 "must be read-only both times", disk->where, disk->target, j);
			return -1;
		}
	}
	return 0;
}

int domain_config_resolve_vifs(struct domain_config *dc, char *err, size_t errlen)
{
	unsigned char (*taken)[6] = calloc(dc->n_vifs + 1, sizeof(*taken));
	size_t n_taken = 0;
	int r = 0;

	if (!taken) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* The MACs given first, so that a random one cannot take a later vif's. */
	for (size_t i = 0; i < dc->n_vifs; i++)
		if (dc->vifs[i].mac_set)
			memcpy(taken[n_taken++], dc->vifs[i].mac, 6);
	for (size_t i = 0; i < dc->n_vifs && !r; i++) {
		bool was_set = dc->vifs[i].mac_set;

		r = xl_vif_resolve_defaults(&dc->vifs[i], (const unsigned char (*)[6])taken, n_taken,
					    err, errlen);
		if (!r && !was_set)
			memcpy(taken[n_taken++], dc->vifs[i].mac, 6);
	}
	free(taken);
	return r;
}

int domain_config_from_cfg(const struct xl_cfg *cfg, struct domain_config *dc, FILE *warn,
			   char *err, size_t errlen)
{
	struct reader r = { .cfg = cfg, .warn = warn, .err = err, .errlen = errlen };
	memset(dc, 0, sizeof(*dc));
	if (read_config(&r, dc) < 0) {
		domain_config_free(dc);
		return -1;
	}
	return 0;
}

void domain_config_free(struct domain_config *dc)
{
	free(dc->name);
	free(dc->kernel);
	free(dc->ramdisk);
	free(dc->cmdline);
	for (size_t i = 0; i < dc->n_vifs; i++)
		xl_vif_free(&dc->vifs[i]);
	free(dc->vifs);
	for (size_t i = 0; i < dc->n_disks; i++)
		xl_disk_free(&dc->disks[i]);
	free(dc->disks);
	xl_hvm_free(&dc->hvm);
	for (size_t i = 0; i < DOMAIN_MAX_VCPUS; i++) {
		free(dc->cpus[i]);
		free(dc->cpus_soft[i]);
	}
	memset(dc, 0, sizeof(*dc));
}
