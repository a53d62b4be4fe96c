/* The VMM's HVM options into struct hvm_config (hvm_config.h; docs/hvm.md lists them).  xl writes
 * them, but the VMM checks them as it checks every argument: a bad one is refused naming it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hw/hvm_config.h"
#include "lib/error.h"

#define DEFAULT_FIRMWARE "/usr/share/seabios/bios-256k.bin"

const char *const hvm_config_options[] = {
	"firmware", "boot", "acpi", "xen-platform-pci", "serial", "rtc-offset", "localtime", "ide", "nic",
	NULL,
};

void hvm_config_init(struct hvm_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->firmware, sizeof(c->firmware), "%s", DEFAULT_FIRMWARE);
	snprintf(c->boot, sizeof(c->boot), "cd");
	c->acpi = true;
	c->platform_pci = true;
	c->serial = true;
}

static int parse_bool(const char *name, const char *value, bool *out, char *err, size_t errlen)
{
	if (!strcmp(value, "0") || !strcmp(value, "1")) {
		*out = value[0] == '1';
		return 0;
	}
	ERR_SET(err, errlen, "--%s '%s': expected 0 or 1", name, value);
	return -1;
}

static int parse_boot(struct hvm_config *c, const char *value, char *err, size_t errlen)
{
	size_t n = strlen(value);

	if (!n || n > HVM_BOOT_MAX || strspn(value, "cdn") != n) {
		ERR_SET(err, errlen, "--boot '%s': expected 1 to %d of c (disk), d (CD-ROM), n (network)",
			value, HVM_BOOT_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (strchr(value + i + 1, value[i])) {
			ERR_SET(err, errlen, "--boot '%s': '%c' is named twice", value, value[i]);
			return -1;
		}
	memcpy(c->boot, value, n + 1);
	return 0;
}

/* hdX,PATH,r|w,disk|cdrom: the path may hold commas, so the fields are split from both ends. */
static int parse_ide(struct hvm_config *c, const char *value, char *err, size_t errlen)
{
	const char *first = strchr(value, ','), *last = strrchr(value, ',');
	const char *mode_end = last, *mode = NULL;

	if (first && last > first)
		for (mode = last - 1; mode > first && mode[-1] != ','; mode--)
			;
	if (!first || !mode || mode <= first + 1 || first - value != 3 || strncmp(value, "hd", 2) ||
	    value[2] < 'a' || value[2] > 'd') {
		ERR_SET(err, errlen, "--ide '%s': expected hdX,PATH,r|w,disk|cdrom with X from a to d", value);
		return -1;
	}
	struct hvm_drive *d = &c->ide[value[2] - 'a'];
	size_t path_len = (size_t)(mode - 1 - (first + 1));
	size_t mode_len = (size_t)(mode_end - mode);
	const char *kind = last + 1;
	if (d->kind != HVM_DRIVE_NONE) {
		ERR_SET(err, errlen, "--ide '%s': %.3s is given twice", value, value);
		return -1;
	}
	if (mode_len != 1 || (mode[0] != 'r' && mode[0] != 'w')) {
		ERR_SET(err, errlen, "--ide '%s': the mode must be r or w", value);
		return -1;
	}
	if (strcmp(kind, "disk") && strcmp(kind, "cdrom")) {
		ERR_SET(err, errlen, "--ide '%s': the kind must be disk or cdrom", value);
		return -1;
	}
	bool cdrom = !strcmp(kind, "cdrom");
	if (path_len >= sizeof(d->path) || (!path_len && !cdrom) || (path_len && first[1] != '/')) {
		ERR_SET(err, errlen, "--ide '%s': the path must be absolute (a CD-ROM's may be empty: no disc)",
			value);
		return -1;
	}
	if (cdrom && mode[0] == 'w') {
		ERR_SET(err, errlen, "--ide '%s': a CD-ROM is read-only", value);
		return -1;
	}
	memcpy(d->path, first + 1, path_len);
	d->path[path_len] = '\0';
	d->readonly = mode[0] == 'r';
	d->kind = cdrom ? HVM_DRIVE_CDROM : HVM_DRIVE_DISK;
	return 0;
}

static int parse_mac(const char *text, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return mac[0] & 1 ? -1 : 0;           /* a multicast address is no NIC's */
}

/* model=e1000|rtl8139,mac=MAC,devid=N */
static int parse_nic(struct hvm_config *c, const char *value, char *err, size_t errlen)
{
	char buf[HVM_PATH_MAX + 128], *save = NULL;
	struct hvm_nic nic = { .model = HVM_NIC_E1000, .devid = -1 };
	bool has_mac = false;

	if (c->n_nics >= HVM_NICS_MAX) {
		ERR_SET(err, errlen, "--nic '%s': at most %d emulated NICs", value, HVM_NICS_MAX);
		return -1;
	}
	if (strlen(value) >= sizeof(buf)) {
		ERR_SET(err, errlen, "--nic: '%.40s...' is too long", value);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", value);
	for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq)
			goto bad;
		*eq++ = '\0';
		if (!strcmp(kv, "model") && !strcmp(eq, "e1000"))
			nic.model = HVM_NIC_E1000;
		else if (!strcmp(kv, "model") && !strcmp(eq, "rtl8139"))
			nic.model = HVM_NIC_RTL8139;
		else if (!strcmp(kv, "mac") && !parse_mac(eq, nic.mac))
			has_mac = true;
		else if (!strcmp(kv, "bridge") && eq[0] && strlen(eq) <= HVM_BRIDGE_MAX && !strchr(eq, '/'))
			snprintf(nic.bridge, sizeof(nic.bridge), "%s", eq);
		else if (!strcmp(kv, "script") && eq[0] == '/' && strlen(eq) < sizeof(nic.script))
			snprintf(nic.script, sizeof(nic.script), "%s", eq);
		else if (!strcmp(kv, "devid") && eq[0] >= '0' && eq[0] <= '9' && strlen(eq) <= 5) {
			char *end;
			long devid = strtol(eq, &end, 10);
			if (*end || devid > 65535)
				goto bad;
			nic.devid = (int)devid;
		} else {
			goto bad;
		}
	}
	if (!has_mac || nic.devid < 0)
		goto bad;
	for (unsigned int i = 0; i < c->n_nics; i++)
		if (c->nics[i].devid == nic.devid) {
			ERR_SET(err, errlen, "--nic '%s': devid %d is given twice", value, nic.devid);
			return -1;
		}
	c->nics[c->n_nics++] = nic;
	return 0;
bad:
	ERR_SET(err, errlen, "--nic '%s': expected model=e1000|rtl8139,mac=XX:XX:XX:XX:XX:XX (unicast),"
		"devid=N[,bridge=NAME][,script=/ABSOLUTE/PATH]", value);
	return -1;
}

int hvm_config_option(struct hvm_config *c, const char *name, const char *value, char *err, size_t errlen)
{
	if (!strcmp(name, "localtime")) {
		c->rtc_localtime = true;
		return 0;
	}
	if (!strcmp(name, "firmware")) {
		if (value[0] != '/' || strlen(value) >= sizeof(c->firmware)) {
			ERR_SET(err, errlen, "--firmware '%s': expected an absolute path", value);
			return -1;
		}
		snprintf(c->firmware, sizeof(c->firmware), "%s", value);
		return 0;
	}
	if (!strcmp(name, "boot"))
		return parse_boot(c, value, err, errlen);
	if (!strcmp(name, "acpi"))
		return parse_bool(name, value, &c->acpi, err, errlen);
	if (!strcmp(name, "xen-platform-pci"))
		return parse_bool(name, value, &c->platform_pci, err, errlen);
	if (!strcmp(name, "serial")) {
		if (strcmp(value, "pty") && strcmp(value, "none")) {
			ERR_SET(err, errlen, "--serial '%s': expected pty or none", value);
			return -1;
		}
		c->serial = !strcmp(value, "pty");
		return 0;
	}
	if (!strcmp(name, "rtc-offset")) {
		char *end;
		errno = 0;
		long long secs = strtoll(value, &end, 10);
		/* A century either way is more than any guest's clock wants. */
		if (errno || end == value || *end || secs > 3155760000LL || secs < -3155760000LL) {
			ERR_SET(err, errlen, "--rtc-offset '%s': expected seconds, within a century", value);
			return -1;
		}
		c->rtc_offset = secs;
		return 0;
	}
	if (!strcmp(name, "ide"))
		return parse_ide(c, value, err, errlen);
	if (!strcmp(name, "nic"))
		return parse_nic(c, value, err, errlen);
	return 1;
}
