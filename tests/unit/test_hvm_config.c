/* The VMM's HVM options (hw/hvm_config.c): each accepted form lands in struct hvm_config, each bad one
 * is refused naming the option and what is wrong. */
#include <string.h>
#include "hw/hvm_config.h"
#include "unit.h"

struct option_case {
	const char *name, *value;
	const char *refusal;         /* NULL: accepted */
};

static const struct option_case cases[] = {
	{ "boot", "dc", NULL }, { "boot", "n", NULL }, { "boot", "cdn", NULL },
	{ "boot", "", "expected 1 to 4" }, { "boot", "x", "expected 1 to 4" }, { "boot", "cdcd", "named twice" },
	{ "boot", "cdnnn", "expected 1 to 4" },
	{ "acpi", "0", NULL }, { "acpi", "yes", "expected 0 or 1" },
	{ "xen-platform-pci", "1", NULL }, { "xen-platform-pci", "2", "expected 0 or 1" },
	{ "serial", "none", NULL }, { "serial", "vc", "expected pty or none" },
	{ "rtc-offset", "-3600", NULL }, { "rtc-offset", "12x", "expected seconds" },
	{ "rtc-offset", "99999999999", "within a century" },
	{ "firmware", "/usr/share/seabios/bios.bin", NULL }, { "firmware", "bios.bin", "absolute path" },
	{ "ide", "hda,/img/disk.raw,w,disk", NULL }, { "ide", "hdc,,r,cdrom", NULL },
	{ "ide", "hdb,/img/with,comma.raw,r,disk", NULL },
	{ "ide", "hde,/x,w,disk", "X from a to d" }, { "ide", "hda,w,disk", "X from a to d" },
	{ "ide", "hda,/x,rw,disk", "r or w" }, { "ide", "hda,/x,w,floppy", "disk or cdrom" },
	{ "ide", "hda,,w,disk", "must be absolute" }, { "ide", "hda,rel,w,disk", "must be absolute" },
	{ "ide", "hdc,/x.iso,w,cdrom", "read-only" },
	{ "nic", "model=e1000,mac=00:16:3e:00:00:01,devid=0", NULL },
	{ "nic", "model=rtl8139,mac=00:16:3e:00:00:02,devid=1", NULL },
	{ "nic", "model=virtio,mac=00:16:3e:00:00:01,devid=0", "expected model=" },
	{ "nic", "model=e1000,mac=01:16:3e:00:00:01,devid=0", "unicast" },
	{ "nic", "model=e1000,devid=0", "expected model=" },
	{ "nic", "model=e1000,mac=00:16:3e:00:00:01,devid=70000", "expected model=" },
	{ "nic", "model=e1000,mac=00:16:3e:00:00:01,devid=0,bridge=xenbr0,script=/etc/xen/scripts/vif-bridge", NULL },
	{ "nic", "model=e1000,mac=00:16:3e:00:00:01,devid=0,script=vif-bridge", "expected model=" },
	{ "nic", "model=e1000,mac=00:16:3e:00:00:01,devid=0,bridge=a/b", "expected model=" },
	{ "nic", "model=e1000,mac=00:16:3e:00:00:01,devid=0,bridge=sixteen-chars-xx", "expected model=" },
	{ "localtime", NULL, NULL },
};

static void test_option(struct unit *u, const void *arg)
{
	const struct option_case *c = arg;
	struct hvm_config cfg;
	char err[256] = "";

	hvm_config_init(&cfg);
	int r = hvm_config_option(&cfg, c->name, c->value ? c->value : "", err, sizeof(err));
	if (!c->refusal) {
		CHECK(r == 0, "refused: %s", err);
	} else {
		CHECK(r == -1, "accepted");
		CHECK(strstr(err, c->refusal) && strstr(err, c->name), "the refusal says '%s'", err);
	}
}

static void test_defaults_and_effects(struct unit *u, const void *arg)
{
	struct hvm_config c;
	char err[256];

	(void)arg;
	hvm_config_init(&c);
	CHECK(!strcmp(c.boot, "cd") && c.acpi && c.platform_pci && c.serial && !c.rtc_offset, "defaults");
	CHECK(!strcmp(c.firmware, "/usr/share/seabios/bios-256k.bin"), "firmware default %s", c.firmware);
	CHECK(hvm_config_option(&c, "ide", "hdb,/img/with,comma.raw,r,disk", err, sizeof(err)) == 0 &&
	      c.ide[1].kind == HVM_DRIVE_DISK && c.ide[1].readonly && !strcmp(c.ide[1].path, "/img/with,comma.raw"),
	      "hdb: kind %d path '%s'", c.ide[1].kind, c.ide[1].path);
	CHECK(hvm_config_option(&c, "ide", "hdb,/other,w,disk", err, sizeof(err)) == -1 && strstr(err, "twice"),
	      "a drive given twice: %s", err);
	CHECK(hvm_config_option(&c, "ide", "hdc,,r,cdrom", err, sizeof(err)) == 0 &&
	      c.ide[2].kind == HVM_DRIVE_CDROM && !c.ide[2].path[0], "an empty tray");
	CHECK(hvm_config_option(&c, "nic", "model=e1000,mac=00:16:3e:0a:0b:0c,devid=3", err, sizeof(err)) == 0 &&
	      c.n_nics == 1 && c.nics[0].devid == 3 && c.nics[0].mac[5] == 0x0c, "the NIC");
	CHECK(hvm_config_option(&c, "nic", "model=e1000,mac=00:16:3e:0a:0b:0d,devid=3", err, sizeof(err)) == -1 &&
	      strstr(err, "twice"), "a devid given twice: %s", err);
	CHECK(hvm_config_option(&c, "rtc-offset", "-7200", err, sizeof(err)) == 0 && c.rtc_offset == -7200,
	      "rtc offset");
	CHECK(hvm_config_option(&c, "kernel", "/x", err, sizeof(err)) == 1, "not an HVM option: 1");
	for (const char *const *o = hvm_config_options; *o; o++)
		CHECK(hvm_config_option(&c, *o, "?", err, sizeof(err)) != 1, "listed option %s is not parsed", *o);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "hvm-option-%s-%s", cases[i].name, cases[i].value ? cases[i].value : "");
		unit_case(&u, name, test_option, &cases[i]);
	}
	unit_case(&u, "hvm-defaults-and-effects", test_defaults_and_effects, NULL);
	return unit_finish(&u);
}
