/* xl.cfg's hvm keys (xl/hvm_config_xl.c): every key's accepted forms and refusals with their
 * file:line, an hvm domain's disks (IDE drives, CD-ROMs, empty trays) and vifs (emulated NICs),
 * the VMM options they become, the argv the real xl_domain_spawn hands a stand-in VMM, the
 * cfg_write round trip, and PVH configs as they were. */
#define _GNU_SOURCE
#include "xl/cfg_write.h"
#include "xl/domain_config.h"
#include "xl/hvm_config_xl.h"
#include "xl/xl_domain.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Parses and converts text; the warnings go into *warnings (malloc'd).  domain_config_from_cfg's
 * result, or -2 when the text itself does not parse. */
static int convert(const char *text, struct domain_config *dc, char *err, size_t errlen,
		   char **warnings)
{
	struct xl_cfg cfg;
	size_t len = 0;
	FILE *warn;
	int rc;

	*warnings = NULL;
	memset(dc, 0, sizeof(*dc));
	if (xl_cfg_parse_string(text, "t.cfg", &cfg, err, errlen) < 0)
		return -2;
	warn = open_memstream(warnings, &len);
	rc = domain_config_from_cfg(&cfg, dc, warn, err, errlen);
	fclose(warn);
	xl_cfg_free(&cfg);
	return rc;
}

#define HVM "name = 'h'\ntype = 'hvm'\n"

/* ---- accepted forms ------------------------------------------------------------------------- */

struct accept_case {
	const char *name, *cfg;
	const char *firmware, *boot;            /* expected dc.hvm.firmware (NULL) and boot ("") */
	bool no_acpi, no_platform_pci, no_serial, localtime;
	long long rtc;
	const char *warning;                    /* a substring of the warnings, or "" for none */
};

static const struct accept_case accepts[] = {
	{ "defaults", HVM, NULL, "", .warning = "" },
	{ "builder hvm", "name = 'h'\nbuilder = 'hvm'\n", NULL, "",
	  .warning = "t.cfg:2: warning: 'builder' is deprecated" },
	{ "firmware bios", HVM "firmware = 'bios'\n", NULL, "", .warning = "" },
	{ "firmware seabios", HVM "firmware = 'seabios'\n", NULL, "", .warning = "" },
	{ "bios seabios", HVM "bios = 'seabios'\n", NULL, "", .warning = "" },
	{ "firmware path", HVM "firmware = '/opt/fw/bios,1.bin'\n", "/opt/fw/bios,1.bin", "",
	  .warning = "" },
	{ "boot c", HVM "boot = 'c'\n", NULL, "c", .warning = "" },
	{ "boot d", HVM "boot = 'd'\n", NULL, "d", .warning = "" },
	{ "boot n", HVM "boot = 'n'\n", NULL, "n", .warning = "" },
	{ "boot dcn", HVM "boot = 'dcn'\n", NULL, "dcn", .warning = "" },
	{ "serial pty", HVM "serial = 'pty'\n", NULL, "", .warning = "" },
	{ "serial list pty", HVM "serial = [ 'pty' ]\n", NULL, "", .warning = "" },
	{ "serial none", HVM "serial = 'none'\n", NULL, "", .no_serial = true, .warning = "" },
	{ "vnc 0, sdl 0, nographic", HVM "vnc = 0\nsdl = 0\nnographic = 1\n", NULL, "",
	  .warning = "" },
	{ "vga none", HVM "vga = 'none'\n", NULL, "", .warning = "" },
	{ "vga stdvga noted", HVM "vga = 'stdvga'\n", NULL, "",
	  .warning = "t.cfg:3: warning: no display is emulated: the console is COM1 (serial); "
		     "'vga' has no effect" },
	{ "vga cirrus noted", HVM "vga = 'cirrus'\n", NULL, "", .warning = "'vga' has no effect" },
	{ "stdvga 1 noted", HVM "stdvga = 1\n", NULL, "", .warning = "'stdvga' has no effect" },
	{ "stdvga 0", HVM "stdvga = 0\n", NULL, "", .warning = "" },
	{ "videoram ignored", HVM "videoram = 16\n", NULL, "",
	  .warning = "t.cfg:3: warning: 'videoram' is ignored (there is no video card)" },
	{ "acpi 0", HVM "acpi = 0\n", NULL, "", .no_acpi = true, .warning = "" },
	{ "acpi 1", HVM "acpi = 1\n", NULL, "", .warning = "" },
	{ "apic 1, pae 1", HVM "apic = 1\npae = 1\n", NULL, "", .warning = "" },
	{ "hdtype ide", HVM "hdtype = 'ide'\n", NULL, "", .warning = "" },
	{ "xen_platform_pci 0", HVM "xen_platform_pci = 0\n", NULL, "", .no_platform_pci = true,
	  .warning = "" },
	{ "rtc_timeoffset", HVM "rtc_timeoffset = 3600\n", NULL, "", .rtc = 3600, .warning = "" },
	{ "rtc_timeoffset negative", HVM "rtc_timeoffset = '-7200'\n", NULL, "", .rtc = -7200,
	  .warning = "" },
	{ "localtime", HVM "localtime = 1\n", NULL, "", .localtime = true, .warning = "" },
	{ "device_model_version ignored", HVM "device_model_version = 'qemu-xen'\n", NULL, "",
	  .warning = "t.cfg:3: warning: 'device_model_version' is ignored: Xenith's VMM is the "
		     "device model" },
	{ "device_model_override ignored", HVM "device_model_override = '/usr/bin/qemu'\n", NULL,
	  "", .warning = "'device_model_override' is ignored: Xenith's VMM is the device model" },
	{ "device_model_args ignored", HVM "device_model_args = [ '-d', 'x' ]\n", NULL, "",
	  .warning = "'device_model_args' is ignored" },
	{ "device_model_args_hvm ignored", HVM "device_model_args_hvm = [ '-d' ]\n", NULL, "",
	  .warning = "'device_model_args_hvm' is ignored" },
	{ "usb 0, viridian 0, nestedhvm 0", HVM "usb = 0\nviridian = 0\nnestedhvm = 0\n", NULL, "",
	  .warning = "" },
	{ "shadow_memory ignored", HVM "shadow_memory = 8\n", NULL, "",
	  .warning = "t.cfg:3: warning: 'shadow_memory' is ignored" },
	{ "cmdline moot", HVM "cmdline = 'quiet'\n", NULL, "",
	  .warning = "t.cfg:3: warning: 'cmdline' has no effect with type hvm" },
};

static void test_accept(struct unit *u, const void *arg)
{
	const struct accept_case *c = arg;
	struct domain_config dc;
	char err[512] = "", *warnings;
	int rc = convert(c->cfg, &dc, err, sizeof(err), &warnings);

	CHECK(rc == 0, "refused: %s", err);
	if (rc == 0) {
		CHECK_INT(dc.type, DOMAIN_TYPE_HVM);
		CHECK(dc.kernel == NULL, "kernel %s", dc.kernel);
		CHECK_STR(dc.cmdline, "");
		CHECK_STR(dc.hvm.firmware, c->firmware);
		CHECK_STR(dc.hvm.boot, c->boot);
		CHECK_INT(dc.hvm.no_acpi, c->no_acpi);
		CHECK_INT(dc.hvm.no_platform_pci, c->no_platform_pci);
		CHECK_INT(dc.hvm.no_serial, c->no_serial);
		CHECK_INT(dc.hvm.localtime, c->localtime);
		CHECK_INT(dc.hvm.rtc_timeoffset, c->rtc);
	}
	if (!*c->warning)
		CHECK_STR(warnings, "");
	else
		CHECK(warnings && strstr(warnings, c->warning), "warnings: '%s', expected '%s'",
		      warnings, c->warning);
	free(warnings);
	domain_config_free(&dc);
}

/* ---- refusals ------------------------------------------------------------------------------- */

struct refuse_case {
	const char *name, *cfg, *error;
};

static const struct refuse_case refusals[] = {
	{ "kernel (direct kernel boot)", HVM "kernel = '/boot/vmlinuz'\n",
	  "t.cfg:3: kernel= with type hvm (direct kernel boot) is not supported; boot from a disk or "
	  "CD" },
	{ "ramdisk", HVM "ramdisk = '/boot/initrd'\n",
	  "t.cfg:3: ramdisk= with type hvm (direct kernel boot) is not supported; boot from a disk or "
	  "CD" },
	{ "firmware ovmf", HVM "firmware = 'ovmf'\n",
	  "t.cfg:3: firmware 'ovmf': UEFI firmware is not supported yet (only SeaBIOS: firmware = "
	  "\"seabios\")" },
	{ "firmware uefi", HVM "firmware = 'uefi'\n",
	  "t.cfg:3: firmware 'uefi': UEFI firmware is not supported yet (only SeaBIOS: firmware = "
	  "\"seabios\")" },
	{ "bios ovmf", HVM "bios = 'ovmf'\n",
	  "t.cfg:3: bios 'ovmf': UEFI firmware is not supported yet (only SeaBIOS: bios = "
	  "\"seabios\")" },
	{ "bios rombios", HVM "bios = 'rombios'\n",
	  "t.cfg:3: bios 'rombios' is not supported (only SeaBIOS: bios = \"seabios\")" },
	{ "bios unknown", HVM "bios = 'coreboot'\n",
	  "t.cfg:3: invalid bios 'coreboot' (valid: seabios, ovmf, rombios; only seabios is "
	  "supported)" },
	{ "firmware relative path", HVM "firmware = 'bios.bin'\n",
	  "t.cfg:3: firmware 'bios.bin': expected bios, seabios or the absolute path of a SeaBIOS "
	  "image" },
	{ "firmware a number", HVM "firmware = 1\n", "t.cfg:3: 'firmware' must be a string" },
	{ "boot floppy", HVM "boot = 'ac'\n",
	  "t.cfg:3: boot 'ac': there is no floppy drive (a); use c (disk), d (CD-ROM), n (network)" },
	{ "boot unknown device", HVM "boot = 'cx'\n",
	  "t.cfg:3: boot 'cx': expected 1 to 4 of c (disk), d (CD-ROM), n (network) in order, like "
	  "\"dc\"" },
	{ "boot empty", HVM "boot = ''\n",
	  "t.cfg:3: boot '': expected 1 to 4 of c (disk), d (CD-ROM), n (network) in order, like "
	  "\"dc\"" },
	{ "boot too long", HVM "boot = 'cdncd'\n",
	  "t.cfg:3: boot 'cdncd': expected 1 to 4 of c (disk), d (CD-ROM), n (network) in order, "
	  "like \"dc\"" },
	{ "boot twice", HVM "boot = 'cdc'\n", "t.cfg:3: boot 'cdc': 'c' is given twice" },
	{ "serial file", HVM "serial = 'file:/tmp/x'\n",
	  "t.cfg:3: serial 'file:/tmp/x' is not supported (only 'pty', COM1 as the domain's console "
	  "for xl console, or 'none')" },
	{ "serial two ports", HVM "serial = [ 'pty', 'pty' ]\n",
	  "t.cfg:3: serial: 2 ports given; there is one, COM1" },
	{ "vnc 1", HVM "vnc = 1\n",
	  "t.cfg:3: graphics (vnc=1) is not supported: use serial='pty' and xl console" },
	{ "sdl 1", HVM "\n\nsdl = 1\n",
	  "t.cfg:5: graphics (sdl=1) is not supported: use serial='pty' and xl console" },
	{ "vnc not a boolean", HVM "vnc = 2\n", "t.cfg:3: 'vnc' must be 0 or 1" },
	{ "vga unknown", HVM "vga = 'ega'\n",
	  "t.cfg:3: invalid vga 'ega' (valid: stdvga, cirrus, none, qxl)" },
	{ "acpi yes", HVM "acpi = 'yes'\n", "t.cfg:3: 'acpi' must be 0 or 1" },
	{ "apic 0", HVM "apic = 0\n",
	  "t.cfg:3: apic=0 is not supported: the emulated PC always has local APICs and an IO-APIC" },
	{ "pae 0", HVM "pae = 0\n",
	  "t.cfg:3: pae=0 is not supported: the emulated PC always has PAE (64-bit guests need it)" },
	{ "hdtype ahci", HVM "hdtype = 'ahci'\n",
	  "t.cfg:3: hdtype 'ahci' is not supported yet (only ide)" },
	{ "hdtype scsi", HVM "hdtype = 'scsi'\n", "t.cfg:3: invalid hdtype 'scsi' (valid: ide, ahci)" },
	{ "xen_platform_pci 2", HVM "xen_platform_pci = 2\n",
	  "t.cfg:3: 'xen_platform_pci' must be 0 or 1" },
	{ "rtc_timeoffset text", HVM "rtc_timeoffset = 'an hour'\n",
	  "t.cfg:3: 'rtc_timeoffset' must be a number (seconds)" },
	{ "rtc_timeoffset too big", HVM "rtc_timeoffset = 4294967296\n",
	  "t.cfg:3: rtc_timeoffset 4294967296 is out of range (-2147483648 to 2147483647 seconds)" },
	{ "localtime 3", HVM "localtime = 3\n", "t.cfg:3: 'localtime' must be 0 or 1" },
	{ "usb 1", HVM "usb = 1\n", "t.cfg:3: USB (usb=1) is not supported" },
	{ "usbdevice", HVM "usbdevice = 'tablet'\n",
	  "t.cfg:3: USB devices (usbdevice) are not supported" },
	{ "usbdevice list", HVM "usbdevice = [ 'tablet' ]\n",
	  "t.cfg:3: USB devices (usbdevice) are not supported" },
	{ "viridian 1", HVM "viridian = 1\n",
	  "t.cfg:3: Hyper-V enlightenments (viridian) is not supported" },
	{ "viridian groups", HVM "viridian = [ 'base' ]\n",
	  "t.cfg:3: Hyper-V enlightenments (viridian) is not supported" },
	{ "nestedhvm 1", HVM "nestedhvm = 1\n",
	  "t.cfg:3: nested virtualization (nestedhvm=1) is not supported" },
	{ "shadow_memory text", HVM "shadow_memory = 'lots'\n",
	  "t.cfg:3: 'shadow_memory' must be a number" },
	/* disks */
	{ "hda and xvda are one drive", HVM "disk = [ '/a.img,raw,hda,w', '/b.img,raw,xvda,w' ]\n",
	  "t.cfg:3: disk 1: vdev xvda is the IDE primary master, which disk 0 (hda) is already: an "
	  "hvm domain has 4 IDE drives, hda-hdd (xvda-xvdd are the same drives)" },
	{ "xvdd and hdd are one drive",
	  HVM "disk = [\n '/a.img,raw,xvdd,w',\n 'vdev=hdd,devtype=cdrom,target=/c.iso' ]\n",
	  "t.cfg:5: disk 1: vdev hdd is the IDE secondary slave, which disk 0 (xvdd) is already: an "
	  "hvm domain has 4 IDE drives, hda-hdd (xvda-xvdd are the same drives)" },
	{ "an hdX partition", HVM "disk = [ '/a.img,raw,hdb1,w' ]\n",
	  "t.cfg:3: disk 0: vdev hdb1: an emulated IDE drive is a whole disk (like hdb), not a "
	  "partition" },
	{ "empty tray beyond the IDE drives", HVM "disk = [ ',raw,xvde:cdrom,r' ]\n",
	  "t.cfg:3: disk 0: vdev xvde: an empty CD-ROM drive must be an IDE drive (hda-hdd or "
	  "xvda-xvdd)" },
	{ "cdrom read-write", HVM "disk = [ 'vdev=hdc,devtype=cdrom,access=rw' ]\n",
	  "t.cfg:3: disk 0: a cdrom is read-only: access rw cannot be used with devtype=cdrom" },
	{ "empty tray without vdev", HVM "disk = [ 'devtype=cdrom' ]\n",
	  "t.cfg:3: disk 0: no vdev given (like vdev=hdc)" },
	/* vifs */
	{ "vif model rtl8139", HVM "vif = [ 'bridge=b', 'model=rtl8139' ]\n",
	  "t.cfg:3: vif 1: model=rtl8139 is not supported yet: the emulated NIC is an e1000 "
	  "(model=e1000, the default here), or give type=vif for a PV vif only" },
	{ "vif model virtio", HVM "vif = [ 'model=virtio-net' ]\n",
	  "t.cfg:3: vif 0: model 'virtio-net' is not supported (only e1000, the default here)" },
	{ "vif type unknown", HVM "vif = [ 'type=netfront' ]\n",
	  "t.cfg:3: vif 0: invalid type 'netfront' (valid: ioemu, an emulated NIC and a PV vif; vif, "
	  "a PV vif only)" },
	{ "nine emulated NICs",
	  HVM "vif = [ '', '', '', '', '', '', '', '', '' ]\n",
	  "t.cfg:3: vif 8: more than 8 emulated NICs (type=ioemu, the default for hvm); give "
	  "type=vif to the rest" },
};

static void test_refuse(struct unit *u, const void *arg)
{
	const struct refuse_case *c = arg;
	struct domain_config dc;
	char err[512] = "", *warnings;
	int rc = convert(c->cfg, &dc, err, sizeof(err), &warnings);

	CHECK(rc == -1, "accepted (rc %d)", rc);
	CHECK_STR(err, c->error);
	free(warnings);
	domain_config_free(&dc);
}

/* ---- disks and vifs of an hvm domain -------------------------------------------------------- */

static void test_devices(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain_config dc;
	char err[512] = "", *warnings;
	int rc = convert(HVM "disk = [ '/srv/a.img,raw,hda,w', 'vdev=xvdb, target=/srv/b.img',\n"
			 "  ',raw,hdc:cdrom,r', '/iso/x.iso,raw,xvdd,r,devtype=cdrom',\n"
			 "  '/srv/e.img,raw,xvde,w', '/srv/s.img,raw,sda,w' ]\n"
			 "vif = [ 'mac=00:16:3e:00:00:01', 'model=e1000,type=ioemu', 'type=vif' ]\n",
			 &dc, err, sizeof(err), &warnings);

	CHECK(rc == 0, "refused: %s", err);
	if (rc == 0) {
		static const int drive[] = { 0, 1, 2, 3, -1, -1 };

		CHECK_INT(dc.n_disks, 6);
		for (size_t i = 0; i < 6 && i < dc.n_disks; i++)
			CHECK(xl_disk_ide_index(&dc.disks[i]) == drive[i], "disk %zu (%s): drive %d",
			      i, dc.disks[i].vdev, xl_disk_ide_index(&dc.disks[i]));
		CHECK(dc.disks[2].cdrom && dc.disks[2].readonly && !dc.disks[2].target,
		      "hdc is no empty tray");
		CHECK_STR(dc.disks[2].vdev, "hdc");
		CHECK(!xl_hvm_disk_is_pv(&dc.disks[2]), "an empty tray is a PV disk");
		CHECK(dc.disks[3].cdrom && xl_hvm_disk_is_pv(&dc.disks[3]), "a CD with a disc is no "
		      "PV disk (libxl writes a vbd for it)");
		CHECK_INT(dc.n_vifs, 3);
		CHECK_STR(dc.vifs[0].model, "");
		CHECK_INT(dc.vifs[0].nictype, VIF_NICTYPE_UNSET);
		CHECK_STR(dc.vifs[1].model, "e1000");
		CHECK_INT(dc.vifs[1].nictype, VIF_NICTYPE_IOEMU);
		CHECK_INT(dc.vifs[2].nictype, VIF_NICTYPE_VIF);
	}
	CHECK_STR(warnings, "");
	free(warnings);
	domain_config_free(&dc);
}

/* The VMM options of a config: exactly these, in this order. */
static void test_vmm_args(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain_config dc;
	struct xl_hvm_args a;
	char err[512] = "", *warnings, joined[2048] = "";
	int rc = convert(HVM "firmware = '/fw/bios.bin'\nboot = 'dc'\nacpi = 0\nxen_platform_pci = 0\n"
			 "serial = 'none'\nrtc_timeoffset = '-60'\nlocaltime = 1\n"
			 "disk = [ 'vdev=xvda,target=/d/a,b.img', ',raw,hdc:cdrom,r', '/d/x.iso,raw,hdd:cdrom,r',"
			 " '/d/pv.img,raw,xvde,w' ]\n"
			 "vif = [ 'mac=00:16:3e:00:00:01', 'mac=00:16:3e:00:00:02,type=vif',"
			 " 'mac=00:16:3e:00:00:03,model=e1000' ]\n", &dc, err, sizeof(err), &warnings);

	CHECK(rc == 0, "refused: %s", err);
	free(warnings);
	if (rc)
		return;
	rc = xl_hvm_vmm_args(&dc, &a, err, sizeof(err));
	CHECK(rc == 0, "xl_hvm_vmm_args: %s", err);
	for (size_t i = 0; rc == 0 && i < a.argc; i++) {
		strcat(joined, i ? " " : "");
		strcat(joined, a.argv[i]);
	}
	CHECK_STR(joined, "--hvm --firmware /fw/bios.bin --boot dc --acpi 0 --xen-platform-pci 0 "
		  "--serial none --rtc-offset -60 --localtime --ide hda,/d/a,b.img,w,disk "
		  "--ide hdc,,r,cdrom --ide hdd,/d/x.iso,r,cdrom "
		  "--nic model=e1000,mac=00:16:3e:00:00:01,devid=0 "
		  "--nic model=e1000,mac=00:16:3e:00:00:03,devid=2");
	if (rc == 0)
		xl_hvm_args_free(&a);
	domain_config_free(&dc);

	/* The defaults are the VMM's: --hvm alone. */
	rc = convert(HVM, &dc, err, sizeof(err), &warnings);
	free(warnings);
	CHECK(rc == 0 && xl_hvm_vmm_args(&dc, &a, err, sizeof(err)) == 0, "%s", err);
	if (rc == 0) {
		CHECK(a.argc == 1 && !strcmp(a.argv[0], "--hvm"), "%zu options for the defaults",
		      a.argc);
		xl_hvm_args_free(&a);
	}
	domain_config_free(&dc);

	/* A vif whose MAC was never resolved cannot become a NIC. */
	rc = convert(HVM "vif = [ 'bridge=b' ]\n", &dc, err, sizeof(err), &warnings);
	free(warnings);
	CHECK(rc == 0, "%s", err);
	if (rc == 0) {
		CHECK(xl_hvm_vmm_args(&dc, &a, err, sizeof(err)) == -1, "a NIC without a MAC");
		CHECK_STR(err, "t.cfg:3: vif 0: no MAC or devid yet for its emulated NIC");
	}
	domain_config_free(&dc);
}

/* ---- the real spawn, with a stand-in VMM -------------------------------------------------- */

static void remove_tree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
}

/* The stand-in's argv, one argument a line, into buf; false when it is not there. */
static bool read_args(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return true;
}

/* The argument after `option`, the n-th time it appears (0 first), or NULL. */
static const char *arg_after(const char *args, const char *option, int n, char *out, size_t len)
{
	char needle[64];
	const char *p = args;

	snprintf(needle, sizeof(needle), "\n%s\n", option);
	for (int i = 0; i <= n; i++) {
		p = strstr(p, needle);
		if (!p)
			return NULL;
		p += strlen(needle);
	}
	size_t l = strcspn(p, "\n");
	snprintf(out, len, "%.*s", (int)(l < len ? l : len - 1), p);
	return out;
}

static void test_spawn_argv(struct unit *u, const void *arg)
{
	(void)arg;
	char dir[] = "/tmp/xl_hvm_spawn.XXXXXX", vmm[512], args_path[512], cfg[2048], err[1024] = "";
	char args[16384] = "\n", v[600], img[540], iso[540], fw[540];
	struct domain_config dc;
	struct xl_ctx ctx;
	unsigned int domid = 0;
	char *warnings;
	FILE *f;

	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	setenv("XENITH_RUNDIR", dir, 1);
	memset(&ctx, 0, sizeof(ctx));
	if (xl_ctx_rundir(&ctx)) {
		CHECK(0, "cannot open the run directory %s", dir);
		remove_tree(dir);
		return;
	}
	snprintf(vmm, sizeof(vmm), "%s/xenith-vmm", dir);
	snprintf(args_path, sizeof(args_path), "%s/args", dir);
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	snprintf(iso, sizeof(iso), "%s/cd.iso", dir);
	snprintf(fw, sizeof(fw), "%s/bios.bin", dir);
	const char *files[] = { img, iso, fw };
	for (size_t i = 0; i < 3; i++) {
		f = fopen(files[i], "w");
		if (f)
			fclose(f);
	}
	f = fopen(vmm, "w");
	if (!f) {
		CHECK(0, "cannot write %s", vmm);
		remove_tree(dir);
		return;
	}
	fprintf(f, "#!/bin/sh\nfor a in \"$@\"; do printf '%%s\\n' \"$a\"; done > '%s'\n"
		"echo 'error stand-in: not starting' >&3\n", args_path);
	fclose(f);
	chmod(vmm, 0755);
	setenv("XENITH_VMM", vmm, 1);
	snprintf(cfg, sizeof(cfg), HVM "memory = 256\nfirmware = '%s'\nboot = 'dc'\n"
		 "disk = [ '%s,raw,xvda,w', ',raw,hdc:cdrom,r', '%s,raw,hdd:cdrom,r' ]\n"
		 "vif = [ 'mac=00:16:3e:0a:0b:0c,script=/bin/true', 'script=/bin/true,type=vif' ]\n",
		 fw, img, iso);
	int rc = convert(cfg, &dc, err, sizeof(err), &warnings);
	free(warnings);
	CHECK(rc == 0, "refused: %s", err);
	if (rc == 0 && (domain_config_resolve_vifs(&dc, err, sizeof(err)) ||
			domain_config_resolve_disks(&dc, err, sizeof(err)))) {
		CHECK(0, "resolve: %s", err);
		rc = -1;
	}
	if (rc == 0) {
		rc = xl_domain_spawn(&ctx, &dc, false, &domid, err, sizeof(err));
		CHECK(rc == -1 && !strcmp(err, "stand-in: not starting"), "spawn: %d %s", rc, err);
		CHECK(read_args(args_path, args + 1, sizeof(args) - 1), "the stand-in left no args");
		CHECK(strstr(args, "\n--hvm\n"), "no --hvm:%s", args);
		CHECK(!strstr(args, "\n--kernel\n"), "--kernel for an hvm domain:%s", args);
		CHECK_STR(arg_after(args, "--firmware", 0, v, sizeof(v)), fw);
		CHECK_STR(arg_after(args, "--boot", 0, v, sizeof(v)), "dc");
		CHECK_STR(arg_after(args, "--memory", 0, v, sizeof(v)), "256");
		char want[700];
		snprintf(want, sizeof(want), "hda,%s,w,disk", img);
		CHECK_STR(arg_after(args, "--ide", 0, v, sizeof(v)), want);
		CHECK_STR(arg_after(args, "--ide", 1, v, sizeof(v)), "hdc,,r,cdrom");
		snprintf(want, sizeof(want), "hdd,%s,r,cdrom", iso);
		CHECK_STR(arg_after(args, "--ide", 2, v, sizeof(v)), want);
		CHECK(!arg_after(args, "--ide", 3, v, sizeof(v)), "a fourth --ide");
		/* The IDE disk and the CD with a disc are PV disks too; the empty tray is not. */
		snprintf(want, sizeof(want), "vdev=xvda,devid=51712,access=rw,devtype=disk,target=%s",
			 img);
		CHECK_STR(arg_after(args, "--disk", 0, v, sizeof(v)), want);
		snprintf(want, sizeof(want), "vdev=hdd,devid=5696,access=ro,devtype=cdrom,target=%s",
			 iso);
		CHECK_STR(arg_after(args, "--disk", 1, v, sizeof(v)), want);
		CHECK(!arg_after(args, "--disk", 2, v, sizeof(v)), "a third --disk: %s", v);
		/* One emulated NIC (vif 0), on its PV vif's bridge with its script; both vifs are PV. */
		CHECK_STR(arg_after(args, "--nic", 0, v, sizeof(v)),
			  "model=e1000,mac=00:16:3e:0a:0b:0c,devid=0,bridge=xenbr0,script=/bin/true");
		CHECK(!arg_after(args, "--nic", 1, v, sizeof(v)), "a second --nic: %s", v);
		CHECK(arg_after(args, "--vif", 1, v, sizeof(v)) && !strncmp(v, "devid=1,", 8),
		      "vif 1 is no PV vif: %s", args);
	}
	domain_config_free(&dc);

	/* A firmware path that is not there is refused before the VMM runs. */
	unlink(args_path);
	rc = convert(HVM "firmware = '/nonexistent/bios.bin'\n", &dc, err, sizeof(err), &warnings);
	free(warnings);
	if (rc == 0) {
		rc = xl_domain_spawn(&ctx, &dc, false, &domid, err, sizeof(err));
		CHECK(rc == -1, "spawned with a missing firmware");
		CHECK_STR(err, "firmware /nonexistent/bios.bin: No such file or directory");
		CHECK(access(args_path, F_OK) < 0, "the VMM ran");
	}
	domain_config_free(&dc);
	unsetenv("XENITH_VMM");
	remove_tree(dir);
}

/* ---- written back and read again ------------------------------------------------------------ */

static void test_round_trip(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain_config dc, back;
	char err[512] = "", *warnings, *text, *again;
	int rc = convert(HVM "firmware = '/fw/bios.bin'\nboot = 'n'\nacpi = 0\nxen_platform_pci = 0\n"
			 "serial = 'none'\nrtc_timeoffset = '-3600'\nlocaltime = 1\n"
			 "disk = [ '/d/a.img,raw,hda,w', ',raw,hdc:cdrom,r', '/d/x.iso,raw,xvdd,r,cdrom' ]\n"
			 "vif = [ 'model=e1000', 'type=vif', 'type=ioemu' ]\n",
			 &dc, err, sizeof(err), &warnings);

	free(warnings);
	CHECK(rc == 0, "refused: %s", err);
	if (rc)
		return;
	text = domain_config_to_cfg(&dc, err, sizeof(err));
	CHECK(text, "domain_config_to_cfg: %s", err);
	if (!text) {
		domain_config_free(&dc);
		return;
	}
	rc = convert(text, &back, err, sizeof(err), &warnings);
	CHECK(rc == 0, "the written cfg does not read back: %s\n---\n%s---", err, text);
	CHECK_STR(warnings, "");
	free(warnings);
	if (rc == 0) {
		CHECK_INT(back.type, DOMAIN_TYPE_HVM);
		CHECK_STR(back.hvm.firmware, "/fw/bios.bin");
		CHECK_STR(back.hvm.boot, "n");
		CHECK(back.hvm.no_acpi && back.hvm.no_platform_pci && back.hvm.no_serial &&
		      back.hvm.localtime, "a switch was lost:\n%s", text);
		CHECK_INT(back.hvm.rtc_timeoffset, -3600);
		CHECK_INT(back.n_disks, 3);
		CHECK(back.n_disks == 3 && back.disks[1].cdrom && !back.disks[1].target &&
		      !strcmp(back.disks[1].vdev, "hdc"), "the empty tray was lost:\n%s", text);
		CHECK(back.n_disks == 3 && back.disks[2].cdrom && back.disks[2].readonly,
		      "the CD was lost:\n%s", text);
		CHECK_INT(back.n_vifs, 3);
		if (back.n_vifs == 3) {
			CHECK_STR(back.vifs[0].model, "e1000");
			CHECK_INT(back.vifs[1].nictype, VIF_NICTYPE_VIF);
			CHECK_INT(back.vifs[2].nictype, VIF_NICTYPE_IOEMU);
		}
		again = domain_config_to_cfg(&back, err, sizeof(err));
		CHECK(again && !strcmp(again, text), "written twice, the texts differ:\n%s---\n%s",
		      text, again ? again : err);
		free(again);
	}
	free(text);
	domain_config_free(&back);
	domain_config_free(&dc);

	/* The defaults write no hvm key at all. */
	rc = convert(HVM, &dc, err, sizeof(err), &warnings);
	free(warnings);
	text = rc ? NULL : domain_config_to_cfg(&dc, err, sizeof(err));
	CHECK(text, "%s", err);
	if (text) {
		static const char *const keys[] = { "\nfirmware ", "\nboot ", "\nacpi ", "\nserial ",
						    "\nxen_platform_pci ", "\nrtc_timeoffset ",
						    "\nlocaltime ", "\nkernel ", "\ncmdline " };
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			CHECK(!strstr(text, keys[i]), "'%s' written for the defaults:\n%s", keys[i],
			      text);
	}
	free(text);
	domain_config_free(&dc);
}

/* ---- PVH configs as they were --------------------------------------------------------------- */

static void test_pvh_unchanged(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain_config dc;
	char err[512] = "", *warnings, *text;
	int rc = convert("name = 'p'\ntype = 'pvh'\nkernel = '/k'\nserial = 'pty'\nboot = 'c'\n"
			 "device_model_version = 'qemu-xen'\nvnc = 1\nacpi = 0\n"
			 "vif = [ 'model=rtl8139,type=ioemu' ]\n", &dc, err, sizeof(err), &warnings);

	CHECK(rc == 0, "refused: %s", err);
	/* serial, boot and device_model_version were taken silently before; the other hvm keys
	 * were warned about as unknown, and still are warned about. */
	CHECK_STR(warnings, "t.cfg:7: warning: 'vnc' applies to hvm domains only (ignored)\n"
		  "t.cfg:8: warning: 'acpi' applies to hvm domains only (ignored)\n");
	free(warnings);
	if (rc == 0) {
		CHECK_STR(dc.kernel, "/k");
		CHECK(!dc.hvm.no_acpi && !dc.hvm.boot[0], "hvm keys read for a PVH domain");
		CHECK_STR(dc.vifs[0].model, "rtl8139");     /* kept, without effect */
		text = domain_config_to_cfg(&dc, err, sizeof(err));
		CHECK(text && !strstr(text, "\nacpi ") && !strstr(text, "\nboot "), "hvm keys written:\n%s",
		      text ? text : err);
		free(text);
	}
	domain_config_free(&dc);

	/* An empty tray is an hvm thing; a PVH cdrom needs its target, as before. */
	rc = convert("name = 'p'\nkernel = '/k'\ndisk = [ ',raw,hdc:cdrom,r' ]\n", &dc, err,
		     sizeof(err), &warnings);
	free(warnings);
	CHECK(rc == -1, "an empty tray taken for a PVH domain");
	CHECK_STR(err, "t.cfg:3: disk 0: no target given: empty cdrom drives are not supported yet");
	domain_config_free(&dc);
	/* So is a kernel's being needed. */
	rc = convert("name = 'p'\ntype = 'pvh'\n", &dc, err, sizeof(err), &warnings);
	free(warnings);
	CHECK(rc == -1, "a PVH domain without a kernel");
	CHECK_STR(err, "t.cfg: 'kernel' is required for a pvh domain");
	domain_config_free(&dc);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[200];

	for (size_t i = 0; i < sizeof(accepts) / sizeof(accepts[0]); i++) {
		snprintf(name, sizeof(name), "accepted: %s", accepts[i].name);
		unit_case(&u, name, test_accept, &accepts[i]);
	}
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		snprintf(name, sizeof(name), "refused: %s", refusals[i].name);
		unit_case(&u, name, test_refuse, &refusals[i]);
	}
	unit_case(&u, "disks and vifs of an hvm domain", test_devices, NULL);
	unit_case(&u, "the VMM's hvm options", test_vmm_args, NULL);
	unit_case(&u, "spawn: the argv a stand-in VMM gets", test_spawn_argv, NULL);
	unit_case(&u, "cfg_write round trip", test_round_trip, NULL);
	unit_case(&u, "PVH configs unchanged", test_pvh_unchanged, NULL);
	return unit_finish(&u);
}
