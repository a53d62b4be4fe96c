/* domain_config -> xl.cfg text, the inverse of domain_config_from_cfg (cfg_write.h).
 *
 * Two layers of syntax meet here.  The outer one is xl.cfg's: every text goes in a double-quoted
 * string with libxlu's escapes (xl_cfg.c), so quotes, backslashes and control characters are
 * safe.  The inner one is each device spec's, which has no escapes at all: a vif spec is split
 * on ',' and each item trimmed of blanks (vif_config.c), so a vif value holding ',' or blanks at
 * its ends cannot be written and is refused; a disk spec ends with `target=`, which takes the rest
 * of the spec verbatim (disk_config.c), so any target without a newline can be written. */
#define _GNU_SOURCE
#include "xl/cfg_write.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/uuid.h"

/* libxlu's escapes (xl_cfg.c's unescape), in the direction of writing. */
static const struct {
	char c, escape;
} escapes[] = {
	{ '"', '"' }, { '\\', '\\' }, { '\n', 'n' }, { '\r', 'r' }, { '\t', 't' },
	{ '\a', 'a' }, { '\b', 'b' }, { '\f', 'f' }, { '\v', 'v' },
};

void cfg_write_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		char escape = 0;

		for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]) && !escape; i++)
			if (*s == escapes[i].c)
				escape = escapes[i].escape;
		if (escape) {
			fputc('\\', f);
			fputc(escape, f);
		} else {
			fputc(*s, f);
		}
	}
	fputc('"', f);
}

static int refuse(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void string_entry(FILE *f, const char *key, const char *value)
{
	fprintf(f, "%s = ", key);
	cfg_write_string(f, value);
	fputc('\n', f);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* One key=value of a vif spec, or a refusal when the spec's syntax cannot carry the value. */
static int vif_item(FILE *spec, bool *first, size_t index, const char *key, const char *value,
		    char *err, size_t errlen)
{
	size_t len;

	if (!value)
		return 0;
	len = strlen(value);
	if (!len)
		return refuse(err, errlen, "vif %zu: %s is empty, which a vif spec cannot say", index,
			      key);
	if (strchr(value, ','))
		return refuse(err, errlen, "vif %zu: %s '%s' holds a ',', which a vif spec cannot "
			      "say", index, key, value);
	if (is_blank(value[0]) || is_blank(value[len - 1]))
		return refuse(err, errlen, "vif %zu: %s '%s' starts or ends with a blank, which a "
			      "vif spec drops", index, key, value);
	fprintf(spec, "%s%s=%s", *first ? "" : ",", key, value);
	*first = false;
	return 0;
}

/* The vif's spec text as xl_vif_parse reads it; malloc'd, or NULL with err. */
static char *vif_spec(const void *item, size_t index, char *err, size_t errlen)
{
	const struct xl_vif *vif = item;
	char mac[VIF_MAC_TEXT], *text = NULL;
	size_t len = 0;
	bool first = true;
	FILE *spec;
	int r = 0;

	if (vif->devid != (int)index && vif->devid != -1) {
		snprintf(err, errlen, "vif %zu: devid %d is not its index in the list, which is all "
			 "an xl.cfg can say", index, vif->devid);
		return NULL;
	}
	spec = open_memstream(&text, &len);
	if (!spec) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (vif->mac_set) {
		xl_vif_mac_format(vif->mac, mac);
		r = vif_item(spec, &first, index, "mac", mac, err, errlen);
	}
	if (!r)
		r = vif_item(spec, &first, index, "bridge", vif->bridge, err, errlen);
	if (!r)
		r = vif_item(spec, &first, index, "script", vif->script, err, errlen);
	if (!r)
		r = vif_item(spec, &first, index, "ip", vif->ip, err, errlen);
	if (!r)
		r = vif_item(spec, &first, index, "vifname", vif->vifname, err, errlen);
	if (!r)
		r = vif_item(spec, &first, index, "rate", vif->rate, err, errlen);
	if (!r && vif->model[0])
		r = vif_item(spec, &first, index, "model", vif->model, err, errlen);
	if (!r && xl_vif_nictype_name(vif->nictype))
		r = vif_item(spec, &first, index, "type", xl_vif_nictype_name(vif->nictype), err,
			     errlen);
	if (fclose(spec) || r) {
		if (!r)
			snprintf(err, errlen, "out of memory");
		free(text);
		return NULL;
	}
	return text;
}

/* The disk's spec text as xl_disk_parse reads it: keyed items, target last; malloc'd, or NULL. */
static char *disk_spec(const void *item, size_t index, char *err, size_t errlen)
{
	const struct xl_disk *disk = item;
	char *text = NULL;

	if (!disk->vdev || !*disk->vdev || strpbrk(disk->vdev, ",= \t\n")) {
		snprintf(err, errlen, "disk %zu: vdev '%s' cannot be written in a disk spec", index,
			 disk->vdev ? disk->vdev : "");
		return NULL;
	}
	if (!disk->target && disk->cdrom) {
		/* an hvm domain's empty tray */
		if (asprintf(&text, "vdev=%s, access=ro, devtype=cdrom", disk->vdev) < 0) {
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		return text;
	}
	if (!disk->target || !*disk->target) {
		snprintf(err, errlen, "disk %zu (%s): no target", index, disk->vdev);
		return NULL;
	}
	if (strchr(disk->target, '\n')) {
		snprintf(err, errlen, "disk %zu (%s): a target holding a newline cannot be written",
			 index, disk->vdev);
		return NULL;
	}
	if (asprintf(&text, "vdev=%s, access=%s, %starget=%s", disk->vdev,
		     disk->readonly ? "ro" : "rw", disk->cdrom ? "devtype=cdrom, " : "",
		     disk->target) < 0) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return text;
}

/* cpus=/cpus_soft= from domain_config's specs: one "LIST" is the string form, "V=LIST" for
 * V = 0, 1, ... is the list form. */
static int affinity_entry(FILE *f, const char *key, char *const *specs, size_t n, char *err,
			  size_t errlen)
{
	if (n == 0)
		return 0;
	if (n == 1 && !strchr(specs[0], '=')) {
		string_entry(f, key, specs[0]);
		return 0;
	}
	fprintf(f, "%s = [ ", key);
	for (size_t i = 0; i < n; i++) {
		char *end;
		const char *eq = strchr(specs[i], '=');
		unsigned long vcpu = strtoul(specs[i], &end, 10);

		if (!eq || end != eq || end == specs[i] || vcpu != i)
			return refuse(err, errlen, "%s item %zu: '%s' is not \"%zu=LIST\"", key, i,
				      specs[i], i);
		fprintf(f, "%s", i ? ", " : "");
		cfg_write_string(f, eq + 1);
	}
	fprintf(f, " ]\n");
	return 0;
}

/* An hvm domain's keys (hvm_config_xl.h): only those that differ from the defaults. */
static void hvm_entries(FILE *f, const struct xl_hvm *hvm)
{
	if (hvm->firmware)
		string_entry(f, "firmware", hvm->firmware);
	if (hvm->boot[0])
		string_entry(f, "boot", hvm->boot);
	if (hvm->no_acpi)
		fprintf(f, "acpi = 0\n");
	if (hvm->no_platform_pci)
		fprintf(f, "xen_platform_pci = 0\n");
	if (hvm->no_serial)
		string_entry(f, "serial", "none");
	/* xl.cfg's numbers have no sign: a negative one is written as a string, as Xen's users do */
	if (hvm->rtc_timeoffset > 0)
		fprintf(f, "rtc_timeoffset = %lld\n", hvm->rtc_timeoffset);
	else if (hvm->rtc_timeoffset < 0)
		fprintf(f, "rtc_timeoffset = \"%lld\"\n", hvm->rtc_timeoffset);
	if (hvm->localtime)
		fprintf(f, "localtime = 1\n");
}

/* A list entry of device specs, one per line. */
typedef char *spec_fn(const void *item, size_t index, char *err, size_t errlen);

static int spec_list(FILE *f, const char *key, size_t n, spec_fn *spec, const void *items,
		     size_t size, char *err, size_t errlen)
{
	if (n == 0)
		return 0;
	fprintf(f, "%s = [\n", key);
	for (size_t i = 0; i < n; i++) {
		char *text = spec((const char *)items + i * size, i, err, errlen);

		if (!text)
			return -1;
		fprintf(f, "    ");
		cfg_write_string(f, text);
		fprintf(f, ",\n");
		free(text);
	}
	fprintf(f, "]\n");
	return 0;
}

char *domain_config_to_cfg(const struct domain_config *dc, char *err, size_t errlen)
{
	char uuid[UUID_TEXT_LEN], *text = NULL;
	size_t len = 0;
	FILE *f;
	int r = 0;

	if (!dc->name) {
		snprintf(err, errlen, "the config has no name");
		return NULL;
	}
	f = open_memstream(&text, &len);
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	string_entry(f, "name", dc->name);
	if (dc->has_uuid) {
		uuid_format(dc->uuid, uuid);
		string_entry(f, "uuid", uuid);
	}
	string_entry(f, "type", domain_type_name(dc->type));
	if (dc->kernel)
		string_entry(f, "kernel", dc->kernel);
	if (dc->ramdisk)
		string_entry(f, "ramdisk", dc->ramdisk);
	if (dc->cmdline && *dc->cmdline)
		string_entry(f, "cmdline", dc->cmdline);
	if (dc->type == DOMAIN_TYPE_HVM)
		hvm_entries(f, &dc->hvm);
	fprintf(f, "memory = %lu\nmaxmem = %lu\n", dc->memory_mb, dc->maxmem_mb);
	fprintf(f, "vcpus = %u\nmaxvcpus = %u\n", dc->vcpus, dc->max_vcpus);
	string_entry(f, "on_poweroff", domain_action_name(dc->on_poweroff));
	string_entry(f, "on_reboot", domain_action_name(dc->on_reboot));
	string_entry(f, "on_crash", domain_action_name(dc->on_crash));
	if (dc->sched_weight)
		fprintf(f, "weight = %u\n", dc->sched_weight);
	if (dc->sched_cap_set)
		fprintf(f, "cap = %u\n", dc->sched_cap);
	r = affinity_entry(f, "cpus", dc->cpus, dc->n_cpus, err, errlen);
	if (!r)
		r = affinity_entry(f, "cpus_soft", dc->cpus_soft, dc->n_cpus_soft, err, errlen);
	if (!r)
		r = spec_list(f, "disk", dc->n_disks, disk_spec, dc->disks, sizeof(*dc->disks), err,
			      errlen);
	if (!r)
		r = spec_list(f, "vif", dc->n_vifs, vif_spec, dc->vifs, sizeof(*dc->vifs), err,
			      errlen);
	if (fclose(f) || r) {
		if (!r)
			snprintf(err, errlen, "out of memory");
		free(text);
		return NULL;
	}
	return text;
}
