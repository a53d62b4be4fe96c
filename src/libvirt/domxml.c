/* libvirt's domain XML for <domain type='xen'> <-> xl's struct domain_config.
 *
 * Parsing is a walk over the tree libxml2 builds, one table of known children per element: a row
 * either has a reader or is accepted and ignored (descriptive elements such as <description> or
 * <clock>); an element no table names would change what the guest gets, so it is refused as
 * unsupported, with its path (/domain/devices/hostdev[1]).  The document is hostile: it is bounded
 * in size before libxml2 sees it, parsed without network, DTD loading or entity substitution,
 * and refused outright when it carries a DOCTYPE (so an entity is never expanded, not even
 * later by xmlNodeGetContent).
 *
 * Disks and interfaces are not filled in by hand: each becomes the xl spec text it stands for
 * ("vdev=xvda,access=rw,target=/img", "mac=...,bridge=...") and goes through xl's own parsers,
 * so a vdev, a MAC or a bridge name is checked exactly as xl.cfg's would be.  A value that would
 * split such a spec (a comma) is refused first.
 *
 * Formatting prints what `virsh dumpxml` of a libvirt libxl domain shows, in libvirt's element
 * order, and reads back to the same domain_config (tests/unit/test_domxml.c checks both ways). */
#define _GNU_SOURCE
#include "libvirt/domxml.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/tree.h>
#include <libxml/xmlstring.h>

#include "lib/error.h"
#include "lib/uuid.h"
#include "libvirt/xml_safe.h"

#define KIB_PER_MIB 1024ull

struct parse {
	struct domain_config *dc;
	char *err;
	size_t errlen;
	bool have_memory, have_current, have_vcpu, have_os, have_type;
	unsigned long long memory_kib, current_kib;
};

/* ---- errors ------------------------------------------------------------------------------- */

/* "PATH: message" where PATH is the node's XPath (/domain/devices/disk[2]/source). */
#define BAD(p, node, ...) xml_fail((p)->err, (p)->errlen, DOMXML_ERR_XML, (node), __VA_ARGS__)
#define UNSUPPORTED(p, node, ...) \
	xml_fail((p)->err, (p)->errlen, DOMXML_ERR_UNSUPPORTED, (node), __VA_ARGS__)

/* ---- small readers ------------------------------------------------------------------------ */

/* An attribute's value (no namespace), or NULL; caller frees with xmlFree. */
static char *attr(const xmlNode *n, const char *name)
{
	return (char *)xmlGetNoNsProp(n, (const xmlChar *)name);
}

/* The element's text (malloc'd via libxml2), "" when empty; NULL only when out of memory. */
static char *text(const xmlNode *n)
{
	xmlChar *t = xmlNodeGetContent(n);
	return t ? (char *)t : (char *)xmlStrdup((const xmlChar *)"");
}

/* Text with blanks at both ends dropped, in place. */
static char *trim(char *s)
{
	char *end = s + strlen(s);

	while (*s && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int copy_string(struct parse *p, const xmlNode *n, const char *value, char **out)
{
	free(*out);
	*out = strdup(value);
	return *out ? 0 : BAD(p, n, "out of memory");
}

/* A decimal number with nothing else but blanks around it. */
static int parse_ull(const char *s, unsigned long long *out)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	return *end ? -1 : 0;
}

/* ---- the table walk ----------------------------------------------------------------------- */

struct child_rule {
	const char *name;
	int (*read)(struct parse *p, xmlNode *n);   /* NULL: accepted and ignored */
	bool repeats;                               /* may appear more than once */
};

/* Reads every element child of `parent` by `rules`; an unknown one is unsupported. */
static int walk(struct parse *p, xmlNode *parent, const struct child_rule *rules, size_t n_rules)
{
	unsigned int seen[32] = { 0 };

	for (xmlNode *c = parent->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		size_t i;
		for (i = 0; i < n_rules; i++)
			if (xml_is_element(c, rules[i].name))
				break;
		if (i == n_rules)
			return UNSUPPORTED(p, c, "element <%s%s%s> is not supported by Xenith",
					   c->ns && c->ns->prefix ? (const char *)c->ns->prefix : "",
					   c->ns && c->ns->prefix ? ":" : "", (const char *)c->name);
		if (i < 32 && seen[i]++ && !rules[i].repeats)
			return BAD(p, c, "element <%s> is given more than once", rules[i].name);
		if (rules[i].read) {
			int r = rules[i].read(p, c);
			if (r)
				return r;
		}
	}
	return 0;
}

#define WALK(p, node, rules) walk((p), (node), (rules), sizeof(rules) / sizeof((rules)[0]))

/* ---- names, numbers and memory ------------------------------------------------------------ */

static int read_name(struct parse *p, xmlNode *n)
{
	char *name = text(n);
	const char *problem;
	int r;

	if (!name)
		return BAD(p, n, "out of memory");
	problem = domain_name_problem(name);
	r = problem ? BAD(p, n, "invalid domain name: %s", problem)
		    : copy_string(p, n, name, &p->dc->name);
	xmlFree(name);
	return r;
}

static int read_uuid(struct parse *p, xmlNode *n)
{
	char *t = text(n);
	int r = 0;

	if (!t)
		return BAD(p, n, "out of memory");
	if (uuid_parse(trim(t), p->dc->uuid))
		r = BAD(p, n, "invalid uuid '%.64s' (expected 8-4-4-4-12 hex digits)", trim(t));
	else
		p->dc->has_uuid = true;
	xmlFree(t);
	return r;
}

/* A memory element in KiB, rounded up as libvirt does. */
static int read_kib(struct parse *p, xmlNode *n, unsigned long long *kib)
{
	char *unit = attr(n, "unit"), *t = text(n);
	unsigned long long value, scale;
	int r = 0;

	if (!t)
		r = BAD(p, n, "out of memory");
	else if (xml_unit_scale(unit, 1024, &scale))
		r = BAD(p, n, "invalid unit '%.32s' (valid: b, k, KiB, KB, M, MiB, MB, G, GiB, GB, "
			"T, TiB, TB, ...)", unit);
	else if (parse_ull(t, &value))
		r = BAD(p, n, "'%.32s' is not a whole number", trim(t));
	else if (value > ULLONG_MAX / scale)
		r = BAD(p, n, "%llu %s is too large", value, unit ? unit : "KiB");
	else
		*kib = (value * scale + 1023) / 1024;
	xmlFree(unit);
	xmlFree(t);
	return r;
}

static int read_memory(struct parse *p, xmlNode *n)
{
	p->have_memory = true;
	return read_kib(p, n, &p->memory_kib);
}

static int read_current_memory(struct parse *p, xmlNode *n)
{
	p->have_current = true;
	return read_kib(p, n, &p->current_kib);
}

static int check_mib(struct parse *p, xmlNode *n, unsigned long long kib, unsigned long *mb)
{
	unsigned long long m = (kib + KIB_PER_MIB - 1) / KIB_PER_MIB;

	if (m < DOMAIN_MIN_MEMORY_MB || m > DOMAIN_MAX_MEMORY_MB)
		return BAD(p, n, "%llu KiB is out of range (%llu MiB to %llu MiB)", kib,
			   DOMAIN_MIN_MEMORY_MB, DOMAIN_MAX_MEMORY_MB);
	*mb = m;
	return 0;
}

static int read_vcpu_count(struct parse *p, xmlNode *n, const char *what, const char *s,
			   unsigned int *out)
{
	unsigned long long v;

	if (parse_ull(s, &v) || v < 1 || v > DOMAIN_MAX_VCPUS)
		return BAD(p, n, "%s '%.32s' is not a number from 1 to %d", what, s,
			   DOMAIN_MAX_VCPUS);
	*out = v;
	return 0;
}

static int read_vcpu(struct parse *p, xmlNode *n)
{
	char *t = text(n), *current = attr(n, "current"), *cpuset = attr(n, "cpuset");
	char *placement = attr(n, "placement");
	int r;

	p->have_vcpu = true;
	if (!t)
		r = BAD(p, n, "out of memory");
	else if (cpuset)
		r = UNSUPPORTED(p, n, "attribute 'cpuset' is not supported (use xl's cpus=)");
	else if (placement && strcmp(placement, "static"))
		r = UNSUPPORTED(p, n, "placement '%.32s' is not supported (only static)", placement);
	else
		r = read_vcpu_count(p, n, "vcpu count", t, &p->dc->max_vcpus);
	if (!r) {
		p->dc->vcpus = p->dc->max_vcpus;
		if (current)
			r = read_vcpu_count(p, n, "attribute current", current, &p->dc->vcpus);
		if (!r && p->dc->vcpus > p->dc->max_vcpus)
			r = BAD(p, n, "current vcpus (%u) must not be more than vcpus (%u)",
				p->dc->vcpus, p->dc->max_vcpus);
	}
	xmlFree(t);
	xmlFree(current);
	xmlFree(cpuset);
	xmlFree(placement);
	return r;
}

/* ---- <os> --------------------------------------------------------------------------------- */

static const struct {
	const char *os_type;
	enum domain_type type;
} os_types[] = {
	{ "xenpvh", DOMAIN_TYPE_PVH },
	{ "linux", DOMAIN_TYPE_PV },   /* libvirt's name for Xen PV; Xenith boots it as PVH */
	{ "xen", DOMAIN_TYPE_PV },
	{ "hvm", DOMAIN_TYPE_HVM },
};

static int read_os_type(struct parse *p, xmlNode *n)
{
	char *arch = attr(n, "arch"), *t = text(n);
	int r = 0;
	size_t i;

	p->have_type = true;
	if (!t) {
		r = BAD(p, n, "out of memory");
		goto out;
	}
	if (arch && strcmp(arch, "x86_64")) {
		r = UNSUPPORTED(p, n, "arch '%.32s' is not supported (only x86_64)", arch);
		goto out;
	}
	for (i = 0; i < sizeof(os_types) / sizeof(os_types[0]); i++)
		if (!strcmp(trim(t), os_types[i].os_type))
			break;
	if (i == sizeof(os_types) / sizeof(os_types[0]))
		r = UNSUPPORTED(p, n, "os type '%.32s' is not supported (valid: xenpvh, linux, xen, "
				"hvm)", trim(t));
	else
		p->dc->type = os_types[i].type;
out:
	xmlFree(arch);
	xmlFree(t);
	return r;
}

static int read_path(struct parse *p, xmlNode *n, char **out)
{
	char *t = text(n);
	int r;

	if (!t)
		return BAD(p, n, "out of memory");
	r = *t ? copy_string(p, n, t, out) : BAD(p, n, "the path is empty");
	xmlFree(t);
	return r;
}

static int read_kernel(struct parse *p, xmlNode *n) { return read_path(p, n, &p->dc->kernel); }
static int read_initrd(struct parse *p, xmlNode *n) { return read_path(p, n, &p->dc->ramdisk); }

static int read_cmdline(struct parse *p, xmlNode *n)
{
	char *t = text(n);
	int r;

	if (!t)
		return BAD(p, n, "out of memory");
	r = copy_string(p, n, t, &p->dc->cmdline);
	xmlFree(t);
	return r;
}

static const struct child_rule os_rules[] = {
	{ "type", read_os_type, false },
	{ "kernel", read_kernel, false },
	{ "initrd", read_initrd, false },
	{ "cmdline", read_cmdline, false },
	{ "loader", NULL, false },      /* hvmloader: what an HVM guest boots, Xenith's choice */
	{ "boot", NULL, true },         /* boot device order */
	{ "bootmenu", NULL, false },
};

static int read_os(struct parse *p, xmlNode *n)
{
	int r = WALK(p, n, os_rules);

	p->have_os = true;
	if (!r && !p->have_type)
		r = BAD(p, n, "<type> is missing (like <type arch='x86_64'>xenpvh</type>)");
	return r;
}

/* ---- lifecycle actions -------------------------------------------------------------------- */

/* xl's action names (domain_action_name) are libvirt's. */
#define N_ACTIONS (ACTION_COREDUMP_RESTART + 1)

/* libvirt takes coredump-* only for on_crash. */
static int read_action(struct parse *p, xmlNode *n, enum domain_action *out, size_t n_valid)
{
	char *t = text(n);
	int r = 0;
	size_t i;

	if (!t)
		return BAD(p, n, "out of memory");
	for (i = 0; i < n_valid; i++)
		if (!strcmp(trim(t), domain_action_name((enum domain_action)i)))
			break;
	if (i == n_valid)
		r = BAD(p, n, "invalid action '%.32s' (valid: destroy, restart, preserve, "
			"rename-restart%s)", trim(t),
			n_valid == N_ACTIONS ? ", coredump-destroy, coredump-restart" : "");
	else
		*out = (enum domain_action)i;
	xmlFree(t);
	return r;
}

static int read_on_poweroff(struct parse *p, xmlNode *n)
{
	return read_action(p, n, &p->dc->on_poweroff, ACTION_COREDUMP_DESTROY);
}

static int read_on_reboot(struct parse *p, xmlNode *n)
{
	return read_action(p, n, &p->dc->on_reboot, ACTION_COREDUMP_DESTROY);
}

static int read_on_crash(struct parse *p, xmlNode *n)
{
	return read_action(p, n, &p->dc->on_crash, N_ACTIONS);
}

/* ---- devices: building xl specs ----------------------------------------------------------- */

struct spec {
	char buf[4096 + 256];
	size_t len;
	bool overflow;
};

/* Appends ",key=value" (no comma first); a comma inside the value would split the spec. */
static int spec_add(struct parse *p, xmlNode *n, struct spec *s, const char *key, const char *value)
{
	if (strchr(value, ',') && strcmp(key, "target"))
		return UNSUPPORTED(p, n, "%s '%.64s': a comma cannot be passed on", key, value);
	int w = snprintf(s->buf + s->len, sizeof(s->buf) - s->len, "%s%s=%s", s->len ? "," : "",
			 key, value);
	if (w < 0 || (size_t)w >= sizeof(s->buf) - s->len)
		return BAD(p, n, "%s is too long", key);
	s->len += w;
	return 0;
}

/* The element's "where" for xl's parsers: "/domain/devices/disk[1]: ". */
static char *where_of(const xmlNode *n)
{
	xmlChar *path = xmlGetNodePath(n);
	char *w = NULL;

	if (path && asprintf(&w, "%s: ", (const char *)path) < 0)
		w = NULL;
	xmlFree(path);
	return w;
}

/* ---- <disk> ------------------------------------------------------------------------------- */

static int read_disk(struct parse *p, xmlNode *n)
{
	char *type = attr(n, "type"), *device = attr(n, "device"), *where = NULL;
	char *bus = NULL;
	char *source = NULL, *dev = NULL;
	bool readonly = false, cdrom = false;
	struct spec s = { .len = 0 };
	struct domain_config *dc = p->dc;
	int r = 0;

	if (!type || (strcmp(type, "file") && strcmp(type, "block"))) {
		r = type ? UNSUPPORTED(p, n, "disk type '%.32s' is not supported (valid: file, "
				       "block)", type)
			 : BAD(p, n, "attribute 'type' is missing (file or block)");
		goto out;
	}
	if (device && strcmp(device, "disk") && strcmp(device, "cdrom")) {
		r = UNSUPPORTED(p, n, "disk device '%.32s' is not supported (valid: disk, cdrom)",
				device);
		goto out;
	}
	cdrom = device && !strcmp(device, "cdrom");
	for (xmlNode *c = n->children; c && !r; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (xml_is_element(c, "driver")) {
			char *name = attr(c, "name"), *format = attr(c, "type");
			if (name && strcmp(name, "qemu") && strcmp(name, "file") && strcmp(name, "phy"))
				r = UNSUPPORTED(p, c, "driver '%.32s' is not supported (valid: qemu, "
						"file, phy)", name);
			else if (format && strcmp(format, "raw"))
				r = UNSUPPORTED(p, c, "disk format '%.32s' is not supported (only "
						"raw)", format);
			xmlFree(name);
			xmlFree(format);
		} else if (xml_is_element(c, "source")) {
			const char *key = !strcmp(type, "file") ? "file" : "dev";
			if (source) {
				r = BAD(p, c, "element <source> is given more than once");
				break;
			}
			source = attr(c, key);
			if (!source || !*source)
				r = BAD(p, c, "attribute '%s' is missing or empty (a %s disk)", key,
					type);
		} else if (xml_is_element(c, "target")) {
			if (dev) {
				r = BAD(p, c, "element <target> is given more than once");
				break;
			}
			dev = attr(c, "dev");
			bus = attr(c, "bus");
			if (!dev || !*dev)
				r = BAD(p, c, "attribute 'dev' is missing or empty (like xvda)");
			else if (bus && strcmp(bus, "xen") && strcmp(bus, "ide") && strcmp(bus, "scsi"))
				r = UNSUPPORTED(p, c, "bus '%.32s' is not supported (valid: xen)", bus);
			xmlFree(bus);
			bus = NULL;
		} else if (xml_is_element(c, "readonly")) {
			readonly = true;
		} else if (!xml_is_element(c, "address") && !xml_is_element(c, "alias") &&
			   !xml_is_element(c, "boot")) {
			r = UNSUPPORTED(p, c, "element <%s> is not supported in a disk",
					(const char *)c->name);
		}
	}
	if (r)
		goto out;
	if (!source) {
		r = UNSUPPORTED(p, n, "<source> is missing: empty drives are not supported");
		goto out;
	}
	if (!dev) {
		r = BAD(p, n, "<target dev=''> is missing");
		goto out;
	}
	if (dc->n_disks >= DOMAIN_MAX_DISKS) {
		r = UNSUPPORTED(p, n, "more than %d disks", DOMAIN_MAX_DISKS);
		goto out;
	}
	if ((r = spec_add(p, n, &s, "vdev", dev)))
		goto out;
	if (cdrom)
		r = spec_add(p, n, &s, "devtype", "cdrom");
	else
		r = spec_add(p, n, &s, "access", readonly ? "ro" : "rw");
	if (r || (r = spec_add(p, n, &s, "target", source)))
		goto out;
	where = where_of(n);
	if (!where) {
		r = BAD(p, n, "out of memory");
		goto out;
	}
	struct xl_disk *disk = &dc->disks[dc->n_disks];
	if (xl_disk_parse(s.buf, where, disk, NULL, p->err, p->errlen)) {
		r = DOMXML_ERR_XML;
		goto out;
	}
	dc->n_disks++;
	for (size_t j = 0; j + 1 < dc->n_disks; j++) {
		if (dc->disks[j].devid == disk->devid) {
			r = BAD(p, n, "target dev '%s' is the same device as disk %zu's '%s'",
				disk->vdev, j + 1, dc->disks[j].vdev);
			break;
		}
	}
out:
	free(where);
	xmlFree(type);
	xmlFree(device);
	xmlFree(source);
	xmlFree(dev);
	return r;
}

/* ---- <interface> -------------------------------------------------------------------------- */

/* Appends attribute `name` of `c` as spec key `key`; a missing one is an error. */
static int spec_attr(struct parse *p, xmlNode *c, struct spec *s, const char *name, const char *key)
{
	char *v = attr(c, name);
	int r;

	if (!v || !*v)
		r = BAD(p, c, "attribute '%s' is missing or empty", name);
	else
		r = spec_add(p, c, s, key, v);
	xmlFree(v);
	return r;
}

static int read_interface_child(struct parse *p, xmlNode *c, bool bridge, struct spec *s,
				bool *have_source, bool *have_ip)
{
	if (xml_is_element(c, "mac"))
		return spec_attr(p, c, s, "address", "mac");
	if (xml_is_element(c, "source")) {
		*have_source = true;
		return bridge ? spec_attr(p, c, s, "bridge", "bridge") : 0;
	}
	if (xml_is_element(c, "script"))
		return spec_attr(p, c, s, "path", "script");
	if (xml_is_element(c, "target"))
		return spec_attr(p, c, s, "dev", "vifname");
	if (xml_is_element(c, "model")) {
		char *type = attr(c, "type");
		int r = type && strcmp(type, "netfront")
			? UNSUPPORTED(p, c, "model '%.32s' is not supported (only netfront)", type)
			: 0;
		xmlFree(type);
		return r;
	}
	if (xml_is_element(c, "ip")) {
		char *address = attr(c, "address"), *prefix = attr(c, "prefix"), *ip = NULL;
		int r = 0;
		if (*have_ip)
			r = UNSUPPORTED(p, c, "only one <ip> is supported");
		else if (!address || !*address)
			r = BAD(p, c, "attribute 'address' is missing or empty");
		else if (asprintf(&ip, "%s%s%s", address, prefix ? "/" : "", prefix ? prefix : "") < 0)
			r = BAD(p, c, "out of memory");
		else
			r = spec_add(p, c, s, "ip", ip);
		*have_ip = true;
		free(ip);
		xmlFree(address);
		xmlFree(prefix);
		return r;
	}
	if (xml_is_element(c, "bandwidth")) {
		for (xmlNode *b = c->children; b; b = b->next) {
			if (b->type != XML_ELEMENT_NODE)
				continue;
			if (!xml_is_element(b, "outbound"))
				return UNSUPPORTED(p, b, "only <outbound average=''> is supported");
			char *avg = attr(b, "average"), rate[64];
			unsigned long long v;
			int r = 0;
			if (!avg || parse_ull(avg, &v) || v == 0)
				r = BAD(p, b, "attribute 'average' is not a positive number (KiB/s)");
			else
				snprintf(rate, sizeof(rate), "%lluKB/s", v);
			xmlFree(avg);
			if (r || (r = spec_add(p, b, s, "rate", rate)))
				return r;
		}
		return 0;
	}
	if (xml_is_element(c, "alias") || xml_is_element(c, "address"))
		return 0;
	return UNSUPPORTED(p, c, "element <%s> is not supported in an interface",
			   (const char *)c->name);
}

static int read_interface(struct parse *p, xmlNode *n)
{
	char *type = attr(n, "type"), *where = NULL;
	struct spec s = { .len = 0 };
	struct domain_config *dc = p->dc;
	bool bridge, have_source = false, have_ip = false;
	int r = 0;

	if (!type || (strcmp(type, "bridge") && strcmp(type, "ethernet"))) {
		r = type ? UNSUPPORTED(p, n, "interface type '%.32s' is not supported (valid: "
				       "bridge, ethernet)", type)
			 : BAD(p, n, "attribute 'type' is missing (bridge or ethernet)");
		goto out;
	}
	bridge = !strcmp(type, "bridge");
	for (xmlNode *c = n->children; c && !r; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			r = read_interface_child(p, c, bridge, &s, &have_source, &have_ip);
	if (r)
		goto out;
	if (bridge && !have_source) {
		r = BAD(p, n, "<source bridge=''> is missing (a bridge interface)");
		goto out;
	}
	if (dc->n_vifs >= DOMAIN_MAX_VIFS) {
		r = UNSUPPORTED(p, n, "more than %d interfaces", DOMAIN_MAX_VIFS);
		goto out;
	}
	where = where_of(n);
	if (!where) {
		r = BAD(p, n, "out of memory");
		goto out;
	}
	struct xl_vif *vif = &dc->vifs[dc->n_vifs];
	if (xl_vif_parse(s.buf, where, (int)dc->n_vifs, vif, NULL, p->err, p->errlen)) {
		r = DOMXML_ERR_XML;
		goto out;
	}
	dc->n_vifs++;
	for (size_t j = 0; j + 1 < dc->n_vifs && !r; j++) {
		char mac[VIF_MAC_TEXT];
		if (vif->mac_set && dc->vifs[j].mac_set && !memcmp(vif->mac, dc->vifs[j].mac, 6)) {
			xl_vif_mac_format(vif->mac, mac);
			r = BAD(p, n, "mac %s is given twice (interface %zu has it too)", mac, j + 1);
		} else if (vif->vifname && dc->vifs[j].vifname &&
			   !strcmp(vif->vifname, dc->vifs[j].vifname)) {
			r = BAD(p, n, "target dev '%s' is given twice (interface %zu has it too)",
				vif->vifname, j + 1);
		}
	}
out:
	free(where);
	xmlFree(type);
	return r;
}

/* ---- consoles ----------------------------------------------------------------------------- */

/* The domain's one console always exists; a pty one may be named, nothing else can be had. */
static int read_console(struct parse *p, xmlNode *n)
{
	char *type = attr(n, "type");
	int r = 0;

	if (type && strcmp(type, "pty"))
		r = UNSUPPORTED(p, n, "%s type '%.32s' is not supported (only pty)",
				(const char *)n->name, type);
	xmlFree(type);
	return r;
}

static const struct child_rule device_rules[] = {
	{ "disk", read_disk, true },
	{ "interface", read_interface, true },
	{ "console", read_console, true },
	{ "serial", read_console, true },
	{ "emulator", NULL, false },    /* the device model's path: Xenith has its own */
	{ "input", NULL, true },        /* a PV guest's xen keyboard and mouse */
	{ "memballoon", NULL, false },  /* the balloon is always there */
	{ "controller", NULL, true },   /* xenbus */
};

static int read_devices(struct parse *p, xmlNode *n)
{
	struct domain_config *dc = p->dc;
	size_t disks = 0, vifs = 0;

	for (xmlNode *c = n->children; c; c = c->next) {
		disks += xml_is_element(c, "disk");
		vifs += xml_is_element(c, "interface");
	}
	if (disks > DOMAIN_MAX_DISKS)
		return UNSUPPORTED(p, n, "%zu disks given; at most %d", disks, DOMAIN_MAX_DISKS);
	if (vifs > DOMAIN_MAX_VIFS)
		return UNSUPPORTED(p, n, "%zu interfaces given; at most %d", vifs, DOMAIN_MAX_VIFS);
	if (disks && !(dc->disks = calloc(disks, sizeof(*dc->disks))))
		return BAD(p, n, "out of memory");
	if (vifs && !(dc->vifs = calloc(vifs, sizeof(*dc->vifs))))
		return BAD(p, n, "out of memory");
	return WALK(p, n, device_rules);
}

/* ---- <domain> ----------------------------------------------------------------------------- */

static const struct child_rule domain_rules[] = {
	{ "name", read_name, false },
	{ "uuid", read_uuid, false },
	{ "memory", read_memory, false },
	{ "currentMemory", read_current_memory, false },
	{ "vcpu", read_vcpu, false },
	{ "os", read_os, false },
	{ "on_poweroff", read_on_poweroff, false },
	{ "on_reboot", read_on_reboot, false },
	{ "on_crash", read_on_crash, false },
	{ "devices", read_devices, false },
	/* descriptive: nothing the guest sees */
	{ "title", NULL, false },
	{ "description", NULL, false },
	{ "metadata", NULL, false },
	{ "genid", NULL, false },
	{ "clock", NULL, false },       /* Xen's wallclock is UTC; the guest keeps its own offset */
	{ "features", NULL, false },    /* pae, acpi, apic: what a PVH guest has anyway */
	{ "cpu", NULL, false },         /* the guest sees the host's CPU model under KVM */
	{ "resource", NULL, false },
	{ "seclabel", NULL, true },
};

static int read_domain(struct parse *p, xmlNode *root)
{
	struct domain_config *dc = p->dc;
	char *type = attr(root, "type");
	int r = 0;

	if (!type)
		r = BAD(p, root, "attribute 'type' is missing (xen)");
	else if (strcmp(type, "xen"))
		r = UNSUPPORTED(p, root, "domain type '%.32s' is not supported (only xen)", type);
	xmlFree(type);
	if (r)
		return r;

	dc->type = DOMAIN_TYPE_PVH;
	dc->vcpus = dc->max_vcpus = 1;
	dc->on_poweroff = ACTION_DESTROY;
	dc->on_reboot = ACTION_RESTART;
	dc->on_crash = ACTION_DESTROY;
	if ((r = WALK(p, root, domain_rules)))
		return r;
	if (!dc->name)
		return BAD(p, root, "<name> is missing");
	if (!p->have_memory)
		return BAD(p, root, "<memory> is missing");
	if (!p->have_os)
		return BAD(p, root, "<os> is missing");
	if ((r = check_mib(p, root, p->memory_kib, &dc->maxmem_mb)))
		return r;
	/* As libvirt does: a currentMemory above memory is cut down to it. */
	if (!p->have_current || p->current_kib > p->memory_kib)
		p->current_kib = p->memory_kib;
	if ((r = check_mib(p, root, p->current_kib, &dc->memory_mb)))
		return r;
	if (!dc->kernel && dc->type != DOMAIN_TYPE_HVM)
		return BAD(p, root, "<os><kernel> is required for a %s domain",
			   domain_type_name(dc->type));
	if (!dc->cmdline && !(dc->cmdline = strdup("")))
		return BAD(p, root, "out of memory");
	return 0;
}

int domxml_parse(const char *xml, size_t len, struct domain_config *dc, char *err, size_t errlen)
{
	struct parse p = { .dc = dc, .err = err, .errlen = errlen };
	xmlDoc *doc;
	xmlNode *root;
	int r;

	memset(dc, 0, sizeof(*dc));
	r = xml_safe_read(xml, len, DOMXML_MAX_BYTES, "domain", DOMXML_ERR_XML, err, errlen, &doc,
			  &root);
	if (r)
		return r;
	r = read_domain(&p, root);
	if (r)
		domain_config_free(dc);
	xmlFreeDoc(doc);
	return r;
}

/* ---- formatting --------------------------------------------------------------------------- */

struct out {
	FILE *f;
	const char *bad;    /* the first field XML cannot carry */
};

/* XML 1.0 carries valid UTF-8 without control characters other than tab, newline and CR. */
static bool xml_can_carry(const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c < 0x20 && *c != '\t' && *c != '\n' && *c != '\r')
			return false;
	return xmlCheckUTF8((const xmlChar *)s);
}

/* Escapes for an attribute in single quotes (whitespace kept through normalisation), or text. */
static void put_escaped(struct out *o, const char *field, const char *s, bool in_attr)
{
	if (!xml_can_carry(s) && !o->bad)
		o->bad = field;
	for (const char *c = s; *c; c++) {
		switch (*c) {
		case '&': fputs("&amp;", o->f); break;
		case '<': fputs("&lt;", o->f); break;
		case '>': fputs("&gt;", o->f); break;
		case '\r': fputs("&#13;", o->f); break;
		case '\'': fputs(in_attr ? "&apos;" : "'", o->f); break;
		case '"': fputs(in_attr ? "&quot;" : "\"", o->f); break;
		case '\t': fputs(in_attr ? "&#9;" : "\t", o->f); break;
		case '\n': fputs(in_attr ? "&#10;" : "\n", o->f); break;
		default: fputc(*c, o->f);
		}
	}
}

/* `<tag>text</tag>` at an indent. */
static void put_element(struct out *o, int indent, const char *tag, const char *value)
{
	fprintf(o->f, "%*s<%s>", indent, "", tag);
	put_escaped(o, tag, value, false);
	fprintf(o->f, "</%s>\n", tag);
}

/* `<tag attr='value'/>` at an indent. */
static void put_empty(struct out *o, int indent, const char *tag, const char *name,
		      const char *value)
{
	fprintf(o->f, "%*s<%s %s='", indent, "", tag, name);
	put_escaped(o, tag, value, true);
	fputs("'/>\n", o->f);
}

static const char *const os_machine[] = {
	[DOMAIN_TYPE_PVH] = "xenpvh", [DOMAIN_TYPE_PV] = "xenpv", [DOMAIN_TYPE_HVM] = "xenfv",
};
static const char *const os_type_name[] = {
	[DOMAIN_TYPE_PVH] = "xenpvh", [DOMAIN_TYPE_PV] = "linux", [DOMAIN_TYPE_HVM] = "hvm",
};

/* A disk's libvirt type: the block device it was found to be, else a /dev path. */
static bool disk_is_block(const struct xl_disk *d)
{
	if (d->resolved)
		return S_ISBLK(d->st.st_mode);
	return !strncmp(d->target, "/dev/", 5);
}

static void put_disk(struct out *o, const struct xl_disk *d)
{
	bool block = disk_is_block(d);

	fprintf(o->f, "    <disk type='%s' device='%s'>\n", block ? "block" : "file",
		d->cdrom ? "cdrom" : "disk");
	fprintf(o->f, "      <driver name='%s' type='raw'/>\n", block ? "phy" : "file");
	put_empty(o, 6, "source", block ? "dev" : "file", d->target);
	fputs("      <target dev='", o->f);
	put_escaped(o, "target", d->vdev, true);
	fputs("' bus='xen'/>\n", o->f);
	if (d->readonly)
		fputs("      <readonly/>\n", o->f);
	fputs("    </disk>\n", o->f);
}

/* xl's rate RATE/s[@INTERVAL] as libvirt's average in KB/s (1000 bytes, as Xen counts), rounded
 * up; 0 when it cannot be read. */
static unsigned long long rate_kb(const char *rate)
{
	char *end;
	unsigned long long v;
	double bytes;

	errno = 0;
	v = strtoull(rate, &end, 10);
	if (errno || end == rate)
		return 0;
	bytes = (double)v;
	switch (*end) {
	case 'G': bytes *= 1e9; end++; break;
	case 'M': bytes *= 1e6; end++; break;
	case 'K': bytes *= 1e3; end++; break;
	}
	if (*end == 'b')
		bytes /= 8;
	else if (*end != 'B')
		return 0;
	double kb = bytes / 1000;
	if (kb < 1)
		return 1;
	if (kb > 1e18)
		return 0;
	unsigned long long k = (unsigned long long)kb;
	return (double)k < kb ? k + 1 : k;
}

static void put_interface(struct out *o, const struct xl_vif *v)
{
	char mac[VIF_MAC_TEXT];
	unsigned long long kb = v->rate ? rate_kb(v->rate) : 0;

	fprintf(o->f, "    <interface type='%s'>\n", v->bridge ? "bridge" : "ethernet");
	if (v->mac_set) {
		xl_vif_mac_format(v->mac, mac);
		fprintf(o->f, "      <mac address='%s'/>\n", mac);
	}
	if (v->bridge)
		put_empty(o, 6, "source", "bridge", v->bridge);
	if (kb)
		fprintf(o->f, "      <bandwidth>\n        <outbound average='%llu'/>\n"
			"      </bandwidth>\n", kb);
	if (v->ip) {
		const char *slash = strchr(v->ip, '/');
		fputs("      <ip address='", o->f);
		if (slash) {
			char *addr = strndup(v->ip, slash - v->ip);
			put_escaped(o, "ip", addr ? addr : "", true);
			free(addr);
			fputs("' prefix='", o->f);
			put_escaped(o, "ip", slash + 1, true);
		} else {
			put_escaped(o, "ip", v->ip, true);
		}
		fputs("'/>\n", o->f);
	}
	if (v->script)
		put_empty(o, 6, "script", "path", v->script);
	if (v->vifname)
		put_empty(o, 6, "target", "dev", v->vifname);
	fputs("      <model type='netfront'/>\n", o->f);
	fputs("    </interface>\n", o->f);
}

char *domxml_format(const struct domain_config *dc, const struct domxml_identity *ident, char *err,
		    size_t errlen)
{
	char *buf = NULL;
	size_t size = 0;
	struct out o = { .f = open_memstream(&buf, &size) };
	char uuid[UUID_TEXT_LEN];

	if (!o.f) {
		ERR_SET(err, errlen, "out of memory");
		return NULL;
	}
	if ((unsigned)dc->type > DOMAIN_TYPE_HVM || !dc->name) {
		ERR_SET(err, errlen, "the domain has no name or an unknown type");
		fclose(o.f);
		free(buf);
		return NULL;
	}
	if (ident && ident->id >= 0)
		fprintf(o.f, "<domain type='xen' id='%d'>\n", ident->id);
	else
		fputs("<domain type='xen'>\n", o.f);
	put_element(&o, 2, "name", dc->name);
	if (dc->has_uuid) {
		uuid_format(dc->uuid, uuid);
		fprintf(o.f, "  <uuid>%s</uuid>\n", uuid);
	}
	fprintf(o.f, "  <memory unit='KiB'>%llu</memory>\n",
		(unsigned long long)dc->maxmem_mb * KIB_PER_MIB);
	fprintf(o.f, "  <currentMemory unit='KiB'>%llu</currentMemory>\n",
		(unsigned long long)dc->memory_mb * KIB_PER_MIB);
	if (dc->vcpus != dc->max_vcpus)
		fprintf(o.f, "  <vcpu placement='static' current='%u'>%u</vcpu>\n", dc->vcpus,
			dc->max_vcpus);
	else
		fprintf(o.f, "  <vcpu placement='static'>%u</vcpu>\n", dc->max_vcpus);
	fputs("  <os>\n", o.f);
	fprintf(o.f, "    <type arch='x86_64' machine='%s'>%s</type>\n", os_machine[dc->type],
		os_type_name[dc->type]);
	if (dc->kernel)
		put_element(&o, 4, "kernel", dc->kernel);
	if (dc->ramdisk)
		put_element(&o, 4, "initrd", dc->ramdisk);
	if (dc->cmdline && *dc->cmdline)
		put_element(&o, 4, "cmdline", dc->cmdline);
	fputs("  </os>\n", o.f);
	fputs("  <clock offset='utc' adjustment='reset'/>\n", o.f);
	fprintf(o.f, "  <on_poweroff>%s</on_poweroff>\n", domain_action_name(dc->on_poweroff));
	fprintf(o.f, "  <on_reboot>%s</on_reboot>\n", domain_action_name(dc->on_reboot));
	fprintf(o.f, "  <on_crash>%s</on_crash>\n", domain_action_name(dc->on_crash));
	fputs("  <devices>\n", o.f);
	for (size_t i = 0; i < dc->n_disks; i++)
		put_disk(&o, &dc->disks[i]);
	for (size_t i = 0; i < dc->n_vifs; i++)
		put_interface(&o, &dc->vifs[i]);
	fputs("    <console type='pty'>\n      <target type='xen' port='0'/>\n    </console>\n", o.f);
	fputs("  </devices>\n</domain>\n", o.f);
	if (fclose(o.f)) {
		ERR_SET(err, errlen, "out of memory");
		free(buf);
		return NULL;
	}
	if (o.bad) {
		ERR_SET(err, errlen, "<%s> holds bytes XML cannot carry (invalid UTF-8 or a control "
			"character)", o.bad);
		free(buf);
		return NULL;
	}
	return buf;
}
