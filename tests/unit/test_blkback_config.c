/* The --disk / vbd-attach syntax (backends/blkback_config.c), table-driven.  The vdev names, read
 * by lib/vdev.c as xl reads them, and the two programs agreeing on them: test_vdev.c. */
#include "backends/blkback.h"
#include "unit.h"

struct spec_row {
	const char *name, *spec;
	bool ok;
	const char *vdev, *target;
	int devid;
	bool readonly, cdrom;
	const char *err;            /* a piece of the message, for the refusals */
};

static const struct spec_row specs[] = {
	{ "xl-form", "vdev=xvda,devid=51712,access=rw,devtype=disk,target=/srv/guest.img", true, "xvda",
	  "/srv/guest.img", 51712, false, false, NULL },
	{ "no-devid", "vdev=xvdb,access=ro,target=/a", true, "xvdb", "/a", 51728, true, false, NULL },
	{ "cdrom-implies-ro", "vdev=hdc,devtype=cdrom,access=rw,target=/cd.iso", true, "hdc", "/cd.iso", 5632, true, true, NULL },
	{ "target-with-commas", "vdev=xvda,target=/x/a,b=c,d.img", true, "xvda", "/x/a,b=c,d.img", 51712, false, false, NULL },
	{ "access-w-and-r", "access=w,vdev=sda,target=/t", true, "sda", "/t", 2048, false, false, NULL },
	{ "format-raw", "format=raw,vdev=xvda,target=/t", true, "xvda", "/t", 51712, false, false, NULL },
	{ "format-qcow2", "format=qcow2,vdev=xvda,target=/t", false, NULL, NULL, 0, false, false, "qcow2" },
	{ "no-target", "vdev=xvda,access=rw", false, NULL, NULL, 0, false, false, "target" },
	{ "empty-target", "vdev=xvda,target=", false, NULL, NULL, 0, false, false, "empty" },
	{ "no-vdev", "target=/t", false, NULL, NULL, 0, false, false, "vdev" },
	{ "bad-vdev", "vdev=floppy,target=/t", false, NULL, NULL, 0, false, false, "floppy" },
	{ "vdev-reason", "vdev=hde,target=/t", false, NULL, NULL, 0, false, false,
	  "disk vdev 'hde' is not a virtual device name: there are 4 IDE disks, hda to hdd" },
	{ "vdev-too-long", "vdev=xvdabcdefghijklmnopqrstuvwxyz,target=/t", false, NULL, NULL, 0, false,
	  false, "disk vdev 'xvdabcdefghijkl...' is not a virtual device name: it is longer than 15" },
	{ "d0-as-xl-sends", "vdev=d0,devid=51712,access=rw,devtype=disk,target=/t", true, "d0", "/t",
	  51712, false, false, NULL },
	{ "d0p1-devid-mismatch", "vdev=d0p1,devid=51712,target=/t", false, NULL, NULL, 0, false, false,
	  "disk devid 51712 is not d0p1's number (51713)" },
	{ "devid-mismatch", "vdev=xvda,devid=51728,target=/t", false, NULL, NULL, 0, false, false, "51728" },
	{ "bad-access", "vdev=xvda,access=rwx,target=/t", false, NULL, NULL, 0, false, false, "rwx" },
	{ "bad-devtype", "vdev=xvda,devtype=tape,target=/t", false, NULL, NULL, 0, false, false, "tape" },
	{ "unknown-key", "vdev=xvda,colour=blue,target=/t", false, NULL, NULL, 0, false, false, "colour" },
	{ "no-value", "vdev=xvda,ro,target=/t", false, NULL, NULL, 0, false, false, "no value" },
};

static void test_spec(struct unit *u, const void *arg)
{
	const struct spec_row *t = arg;
	struct blkback_config c;
	char err[512] = "";
	int r = blkback_config_parse(t->spec, &c, err, sizeof(err));

	CHECK(t->ok ? r == 0 : r == -1, "parse returned %d: %s", r, err);
	if (t->ok && !r) {
		CHECK_STR(c.vdev, t->vdev);
		CHECK_STR(c.target, t->target);
		CHECK_INT(c.devid, t->devid);
		CHECK_INT(c.readonly, t->readonly);
		CHECK_INT(c.cdrom, t->cdrom);
	}
	if (!t->ok && t->err)
		CHECK(strstr(err, t->err), "message '%s' does not mention '%s'", err, t->err);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[64];

	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		snprintf(name, sizeof(name), "spec-%s", specs[i].name);
		unit_case(&u, name, test_spec, &specs[i]);
	}
	return unit_finish(&u);
}
