/* xl.cfg's hvm keys (hvm_config_xl.h): one table row per key, each with its reader, in the spirit
 * of Xen's parse_config_data(); then an hvm domain's disks and vifs are checked as the emulated
 * PC will take them, and its VMM options written.
 *
 * What Xenith does differently from Xen, on purpose: there is no display (vnc/sdl = 1 refused, vga
 * accepted without effect), COM1 is the console (serial defaults to "pty"), an unset vif model is
 * an e1000 (Xen's is an rtl8139), and only SeaBIOS is firmware. */
#define _GNU_SOURCE
#include "xl/hvm_config_xl.h"
#include "xl/domain_config.h"
#include "lib/vdev.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct hvm_reader {
	const struct xl_cfg *cfg;
	struct xl_hvm *hvm;
	FILE *warn;
	char *err;
	size_t errlen;
};

typedef int hvm_key_fn(const struct hvm_reader *r, const struct cfg_entry *e);

static int must_be_string(const struct hvm_reader *r, const struct cfg_entry *e)
{
	return xl_cfg_error(r->err, r->errlen, r->cfg, e, "'%s' must be a string", e->key);
}

/* A boolean as xl.cfg writes them: 0 or 1 (a number, or a string that reads as one). */
static int get_bool(const struct hvm_reader *r, const struct cfg_entry *e, bool *out)
{
	long long n;

	if (cfg_value_to_number(&e->value, &n) < 0 || (n != 0 && n != 1))
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "'%s' must be 0 or 1", e->key);
	*out = n == 1;
	return 0;
}

static int read_firmware_path(const struct hvm_reader *r, const struct cfg_entry *e, const char *path)
{
	if (path[0] != '/' || strlen(path) >= HVM_PATH_MAX || strchr(path, '\n'))
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "%s '%s': expected bios, seabios or "
				    "the absolute path of a SeaBIOS image", e->key, path);
	free(r->hvm->firmware);
	r->hvm->firmware = strdup(path);
	return r->hvm->firmware ? 0 : xl_cfg_error(r->err, r->errlen, r->cfg, e, "out of memory");
}

/* firmware = bios | seabios | uefi | ovmf | rombios | PATH; bios = seabios | ovmf | rombios. */
static int read_firmware(const struct hvm_reader *r, const struct cfg_entry *e)
{
	const char *v = e->value.str;
	bool is_bios_key = !strcmp(e->key, "bios");

	if (e->value.kind != CFG_STRING)
		return must_be_string(r, e);
	if (!strcmp(v, "seabios") || (!is_bios_key && !strcmp(v, "bios"))) {
		free(r->hvm->firmware);
		r->hvm->firmware = NULL;
		return 0;
	}
	if (!strcmp(v, "ovmf") || (!is_bios_key && !strcmp(v, "uefi")))
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "%s '%s': UEFI firmware is not "
				    "supported yet (only SeaBIOS: %s = \"seabios\")", e->key, v, e->key);
	if (!strcmp(v, "rombios"))
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "%s 'rombios' is not supported (only "
				    "SeaBIOS: %s = \"seabios\")", e->key, e->key);
	if (is_bios_key)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "invalid bios '%s' (valid: seabios, "
				    "ovmf, rombios; only seabios is supported)", v);
	return read_firmware_path(r, e, v);
}

/* boot = "dc": c (disk), d (CD-ROM), n (network), each once, as the VMM takes them. */
static int read_boot(const struct hvm_reader *r, const struct cfg_entry *e)
{
	const char *v = e->value.str;
	size_t n;

	if (e->value.kind != CFG_STRING)
		return must_be_string(r, e);
	n = strlen(v);
	if (strchr(v, 'a'))
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "boot '%s': there is no floppy "
				    "drive (a); use c (disk), d (CD-ROM), n (network)", v);
	if (n == 0 || n > HVM_BOOT_MAX || strspn(v, "cdn") != n)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "boot '%s': expected 1 to %d of c "
				    "(disk), d (CD-ROM), n (network) in order, like \"dc\"", v,
				    HVM_BOOT_MAX);
	for (size_t i = 0; i < n; i++)
		if (strchr(v + i + 1, v[i]))
			return xl_cfg_error(r->err, r->errlen, r->cfg, e, "boot '%s': '%c' is given "
					    "twice", v, v[i]);
	memcpy(r->hvm->boot, v, n + 1);
	return 0;
}

/* serial = "pty" | "none", or a list of one of them (xl takes both forms). */
static int read_serial(const struct hvm_reader *r, const struct cfg_entry *e)
{
	const struct cfg_value *v = &e->value;

	if (v->kind == CFG_LIST) {
		if (v->n_items == 0) {
			r->hvm->no_serial = true;
			return 0;
		}
		if (v->n_items > 1)
			return xl_cfg_error(r->err, r->errlen, r->cfg, e, "serial: %zu ports given; "
					    "there is one, COM1", v->n_items);
		v = &v->items[0];
	}
	if (v->kind != CFG_STRING)
		return must_be_string(r, e);
	if (!strcmp(v->str, "pty") || !strcmp(v->str, "none")) {
		r->hvm->no_serial = !strcmp(v->str, "none");
		return 0;
	}
	return xl_cfg_error(r->err, r->errlen, r->cfg, e, "serial '%s' is not supported (only "
			    "'pty', COM1 as the domain's console for xl console, or 'none')", v->str);
}

static int read_graphics(const struct hvm_reader *r, const struct cfg_entry *e)
{
	bool on = false;

	if (get_bool(r, e, &on))
		return -1;
	if (on)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "graphics (%s=1) is not supported: "
				    "use serial='pty' and xl console", e->key);
	return 0;
}

static int read_nographic(const struct hvm_reader *r, const struct cfg_entry *e)
{
	bool on = false;

	return get_bool(r, e, &on);
}

static void warn_no_display(const struct hvm_reader *r, const struct cfg_entry *e)
{
	xl_cfg_warn(r->warn, r->cfg, e, "no display is emulated: the console is COM1 (serial); "
		    "'%s' has no effect", e->key);
}

/* vga = stdvga | cirrus | none | qxl: accepted, as there is no display to give them to. */
static int read_vga(const struct hvm_reader *r, const struct cfg_entry *e)
{
	static const char *const kinds[] = { "stdvga", "cirrus", "none", "qxl" };
	const char *v = e->value.str;

	if (e->value.kind != CFG_STRING)
		return must_be_string(r, e);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!strcmp(v, kinds[i])) {
			if (strcmp(v, "none"))
				warn_no_display(r, e);
			return 0;
		}
	}
	return xl_cfg_error(r->err, r->errlen, r->cfg, e, "invalid vga '%s' (valid: stdvga, cirrus, "
			    "none, qxl)", v);
}

static int read_stdvga(const struct hvm_reader *r, const struct cfg_entry *e)
{
	bool on = false;

	if (get_bool(r, e, &on))
		return -1;
	if (on)
		warn_no_display(r, e);
	return 0;
}

static int read_acpi(const struct hvm_reader *r, const struct cfg_entry *e)
{
	bool on = false;

	if (get_bool(r, e, &on))
		return -1;
	r->hvm->no_acpi = !on;
	return 0;
}

static int read_platform_pci(const struct hvm_reader *r, const struct cfg_entry *e)
{
	bool on = false;

	if (get_bool(r, e, &on))
		return -1;
	r->hvm->no_platform_pci = !on;
	return 0;
}

static int read_localtime(const struct hvm_reader *r, const struct cfg_entry *e)
{
	return get_bool(r, e, &r->hvm->localtime);
}

/* apic = 1, pae = 1: what the emulated PC always has; 0 cannot be given. */
static int read_always_on(const struct hvm_reader *r, const struct cfg_entry *e)
{
	bool on = false;

	if (get_bool(r, e, &on))
		return -1;
	if (!on)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "%s=0 is not supported: the "
				    "emulated PC always has %s", e->key, !strcmp(e->key, "apic")
				    ? "local APICs and an IO-APIC" : "PAE (64-bit guests need it)");
	return 0;
}

/* usb = 1, nestedhvm = 1, viridian = 1 (or a list of its groups): refused; 0 is what we are. */
static int read_refused_feature(const struct hvm_reader *r, const struct cfg_entry *e)
{
	static const struct {
		const char *key, *what;
	} features[] = {
		{ "usb", "USB (usb=1)" },
		{ "nestedhvm", "nested virtualization (nestedhvm=1)" },
		{ "viridian", "Hyper-V enlightenments (viridian)" },
	};
	const char *what = e->key;
	bool on = false;

	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		if (!strcmp(e->key, features[i].key))
			what = features[i].what;
	if (e->value.kind == CFG_LIST) {
		if (e->value.n_items == 0)
			return 0;
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "%s is not supported", what);
	}
	if (get_bool(r, e, &on))
		return -1;
	if (on)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "%s is not supported", what);
	return 0;
}

static int read_usbdevice(const struct hvm_reader *r, const struct cfg_entry *e)
{
	if (e->value.kind == CFG_LIST && e->value.n_items == 0)
		return 0;
	return xl_cfg_error(r->err, r->errlen, r->cfg, e, "USB devices (usbdevice) are not supported");
}

static int read_hdtype(const struct hvm_reader *r, const struct cfg_entry *e)
{
	const char *v = e->value.str;

	if (e->value.kind != CFG_STRING)
		return must_be_string(r, e);
	if (!strcmp(v, "ide"))
		return 0;
	if (!strcmp(v, "ahci"))
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "hdtype 'ahci' is not supported yet "
				    "(only ide)");
	return xl_cfg_error(r->err, r->errlen, r->cfg, e, "invalid hdtype '%s' (valid: ide, ahci)", v);
}

/* Seconds added to the guest's clock; libxl hands Xen a signed 32-bit number. */
static int read_rtc_timeoffset(const struct hvm_reader *r, const struct cfg_entry *e)
{
	long long n;

	if (cfg_value_to_number(&e->value, &n) < 0)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "'rtc_timeoffset' must be a number "
				    "(seconds)");
	if (n < INT32_MIN || n > INT32_MAX)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "rtc_timeoffset %lld is out of range "
				    "(%d to %d seconds)", n, INT32_MIN, INT32_MAX);
	r->hvm->rtc_timeoffset = n;
	return 0;
}

static int read_dm_key(const struct hvm_reader *r, const struct cfg_entry *e)
{
	xl_cfg_warn(r->warn, r->cfg, e, "'%s' is ignored: Xenith's VMM is the device model", e->key);
	return 0;
}

static int read_ignored_size(const struct hvm_reader *r, const struct cfg_entry *e)
{
	long long n;

	if (cfg_value_to_number(&e->value, &n) < 0)
		return xl_cfg_error(r->err, r->errlen, r->cfg, e, "'%s' must be a number", e->key);
	xl_cfg_warn(r->warn, r->cfg, e, "'%s' is ignored (%s)", e->key, !strcmp(e->key, "videoram")
		    ? "there is no video card" : "KVM keeps no shadow page tables of ours");
	return 0;
}

/* Every hvm key.  quiet: taken without a word by other domain types (as before they had a
 * meaning), where the rest are warned about as hvm-only. */
static const struct hvm_key {
	const char *key;
	hvm_key_fn *read;
	bool quiet;
} hvm_keys[] = {
	{ "firmware", read_firmware, false },
	{ "bios", read_firmware, false },
	{ "boot", read_boot, true },
	{ "serial", read_serial, true },
	{ "vnc", read_graphics, false },
	{ "sdl", read_graphics, false },
	{ "nographic", read_nographic, false },
	{ "vga", read_vga, false },
	{ "stdvga", read_stdvga, false },
	{ "videoram", read_ignored_size, false },
	{ "acpi", read_acpi, false },
	{ "apic", read_always_on, false },
	{ "pae", read_always_on, false },
	{ "hdtype", read_hdtype, false },
	{ "xen_platform_pci", read_platform_pci, false },
	{ "rtc_timeoffset", read_rtc_timeoffset, false },
	{ "localtime", read_localtime, false },
	{ "device_model_version", read_dm_key, true },
	{ "device_model_override", read_dm_key, false },
	{ "device_model_args", read_dm_key, false },
	{ "device_model_args_hvm", read_dm_key, false },
	{ "device_model_args_pv", read_dm_key, false },
	{ "device_model_user", read_dm_key, false },
	{ "device_model_stubdomain_override", read_dm_key, false },
	{ "usb", read_refused_feature, false },
	{ "usbdevice", read_usbdevice, false },
	{ "viridian", read_refused_feature, false },
	{ "nestedhvm", read_refused_feature, false },
	{ "shadow_memory", read_ignored_size, false },
};
#define N_HVM_KEYS (sizeof(hvm_keys) / sizeof(hvm_keys[0]))

bool xl_hvm_is_key(const char *key)
{
	for (size_t i = 0; i < N_HVM_KEYS; i++)
		if (!strcmp(hvm_keys[i].key, key))
			return true;
	return false;
}

/* An hvm domain's disks: hdX/xvdX name its four IDE drives (two names for one drive are one
 * drive twice), a partition of an hdX is none, and an empty tray must be an IDE CD-ROM. */
static int check_disks(const struct domain_config *dc, char *err, size_t errlen)
{
	const struct xl_disk *by_drive[HVM_IDE_DRIVES] = { 0 };
	size_t index_of[HVM_IDE_DRIVES] = { 0 };

	for (size_t i = 0; i < dc->n_disks; i++) {
		const struct xl_disk *disk = &dc->disks[i];
		int drive = xl_disk_ide_index(disk);

		if (drive == -2) {
			char whole[VDEV_NAME_MAX + 1] = "hda";

			vdev_name(disk->devid & ~0x3fu, whole, sizeof(whole));
			snprintf(err, errlen, "%svdev %s: an emulated IDE drive is a whole disk (like "
				 "%s), not a partition", disk->where, disk->vdev, whole);
			return -1;
		}
		if (drive < 0) {
			if (!disk->target) {
				snprintf(err, errlen, "%svdev %s: an empty CD-ROM drive must be an IDE "
					 "drive (hda-hdd or xvda-xvdd)", disk->where, disk->vdev);
				return -1;
			}
			continue;         /* a PV disk only, as in Xen */
		}
		if (by_drive[drive]) {
			snprintf(err, errlen, "%svdev %s is the IDE %s, which disk %zu (%s) is already: "
				 "an hvm domain has 4 IDE drives, hda-hdd (xvda-xvdd are the same "
				 "drives)", disk->where, disk->vdev, xl_disk_ide_slot_name(drive),
				 index_of[drive], by_drive[drive]->vdev);
			return -1;
		}
		by_drive[drive] = disk;
		index_of[drive] = i;
	}
	return 0;
}

/* An hvm domain's vifs: an e1000 each (model unset or e1000) unless type=vif (PV only). */
static int check_vifs(const struct domain_config *dc, char *err, size_t errlen)
{
	unsigned int emulated = 0;

	for (size_t i = 0; i < dc->n_vifs; i++) {
		const struct xl_vif *vif = &dc->vifs[i];

		if (vif->nictype == VIF_NICTYPE_VIF)
			continue;
		if (!strcmp(vif->model, "rtl8139")) {
			snprintf(err, errlen, "%smodel=rtl8139 is not supported yet: the emulated NIC "
				 "is an e1000 (model=e1000, the default here), or give type=vif for a "
				 "PV vif only", vif->where);
			return -1;
		}
		if (vif->model[0] && strcmp(vif->model, "e1000")) {
			snprintf(err, errlen, "%smodel '%s' is not supported (only e1000, the default "
				 "here)", vif->where, vif->model);
			return -1;
		}
		if (++emulated > HVM_NICS_MAX) {
			snprintf(err, errlen, "%smore than %d emulated NICs (type=ioemu, the default "
				 "for hvm); give type=vif to the rest", vif->where, HVM_NICS_MAX);
			return -1;
		}
	}
	return 0;
}

int xl_hvm_read(const struct xl_cfg *cfg, struct domain_config *dc, FILE *warn, char *err,
		size_t errlen)
{
	struct hvm_reader r = { .cfg = cfg, .hvm = &dc->hvm, .warn = warn, .err = err,
				.errlen = errlen };

	for (size_t i = 0; i < N_HVM_KEYS; i++) {
		const struct cfg_entry *e = xl_cfg_get(cfg, hvm_keys[i].key);

		if (!e)
			continue;
		if (dc->type != DOMAIN_TYPE_HVM) {
			if (!hvm_keys[i].quiet)
				xl_cfg_warn(warn, cfg, e, "'%s' applies to hvm domains only (ignored)",
					    e->key);
			continue;
		}
		if (hvm_keys[i].read(&r, e))
			return -1;
	}
	if (dc->type != DOMAIN_TYPE_HVM)
		return 0;
	return check_disks(dc, err, errlen) || check_vifs(dc, err, errlen) ? -1 : 0;
}

void xl_hvm_free(struct xl_hvm *hvm)
{
	free(hvm->firmware);
	memset(hvm, 0, sizeof(*hvm));
}

bool xl_hvm_disk_is_pv(const struct xl_disk *disk)
{
	return disk->target != NULL;
}

/* ---- the VMM's options ---------------------------------------------------------------------- */

static void add(struct xl_hvm_args *a, const char *option, const char *value)
{
	a->argv[a->argc++] = (char *)option;
	if (value)
		a->argv[a->argc++] = (char *)value;
}

/* Adds option with a malloc'd value the struct keeps; value NULL is out of memory. */
static int add_owned(struct xl_hvm_args *a, const char *option, char *value, char *err,
		     size_t errlen)
{
	if (!value) {
		if (!*err)
			snprintf(err, errlen, "out of memory");
		return -1;
	}
	a->owned[a->n_owned++] = value;
	add(a, option, value);
	return 0;
}

static char *nic_spec(const struct xl_vif *vif, char *err, size_t errlen)
{
	char mac[VIF_MAC_TEXT], *out = NULL;

	if (!vif->mac_set || vif->devid < 0) {
		snprintf(err, errlen, "%sno MAC or devid yet for its emulated NIC", vif->where);
		return NULL;
	}
	xl_vif_mac_format(vif->mac, mac);
	/* The PV vif's bridge and (resolved, absolute) script put the emulated NIC's TAP on the same
	 * network; the VMM's spec is comma-separated, so neither may hold a comma. */
	const char *bridge = vif->bridge, *script = vif->script && vif->script[0] == '/' ? vif->script : NULL;
	if ((bridge && strchr(bridge, ',')) || (script && strchr(script, ','))) {
		snprintf(err, errlen, "%sa bridge or script with a comma cannot be given to its emulated NIC",
			 vif->where);
		return NULL;
	}
	if (asprintf(&out, "model=e1000,mac=%s,devid=%d%s%s%s%s", mac, vif->devid, bridge ? ",bridge=" : "",
		     bridge ? bridge : "", script ? ",script=" : "", script ? script : "") < 0)
		return NULL;
	return out;
}

int xl_hvm_vmm_args(const struct domain_config *dc, struct xl_hvm_args *a, char *err, size_t errlen)
{
	const struct xl_hvm *hvm = &dc->hvm;
	unsigned int nics = 0;
	int r = 0;

	memset(a, 0, sizeof(*a));
	if (errlen)
		err[0] = '\0';
	add(a, "--hvm", NULL);
	if (hvm->firmware)
		add(a, "--firmware", hvm->firmware);
	if (hvm->boot[0])
		add(a, "--boot", hvm->boot);
	if (hvm->no_acpi)
		add(a, "--acpi", "0");
	if (hvm->no_platform_pci)
		add(a, "--xen-platform-pci", "0");
	if (hvm->no_serial)
		add(a, "--serial", "none");
	if (hvm->rtc_timeoffset) {
		char *secs = NULL;

		r = add_owned(a, "--rtc-offset", asprintf(&secs, "%lld", hvm->rtc_timeoffset) < 0 ?
			      NULL : secs, err, errlen);
	}
	if (!r && hvm->localtime)
		add(a, "--localtime", NULL);
	for (size_t i = 0; i < dc->n_disks && !r; i++) {
		int drive = xl_disk_ide_index(&dc->disks[i]);

		if (drive >= 0)
			r = add_owned(a, "--ide", xl_disk_format_ide(&dc->disks[i], drive, err, errlen),
				      err, errlen);
	}
	for (size_t i = 0; i < dc->n_vifs && !r; i++) {
		if (dc->vifs[i].nictype == VIF_NICTYPE_VIF)
			continue;
		if (++nics > HVM_NICS_MAX) {
			snprintf(err, errlen, "%smore than %d emulated NICs", dc->vifs[i].where,
				 HVM_NICS_MAX);
			r = -1;
			break;
		}
		r = add_owned(a, "--nic", nic_spec(&dc->vifs[i], err, errlen), err, errlen);
	}
	if (r)
		xl_hvm_args_free(a);
	return r;
}

void xl_hvm_args_free(struct xl_hvm_args *a)
{
	for (size_t i = 0; i < a->n_owned; i++)
		free(a->owned[i]);
	memset(a, 0, sizeof(*a));
}
