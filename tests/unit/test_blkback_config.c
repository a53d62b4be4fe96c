/* The --disk / vbd-attach syntax (backends/blkback_config.c) and the vdev numbers it takes from
 * lib/vdev.c, the parser xl uses too, table-driven. */
#include "backends/blkback.h"
#include "lib/vdev.h"
#include "unit.h"

struct vdev_row { const char *vdev; int number; };

static const struct vdev_row vdevs[] = {
	{ "xvda", 51712 }, { "xvdb", 51728 }, { "xvdp", 51952 }, { "xvda1", 51713 }, { "xvdb15", 51743 },
	{ "xvdq", (1 << 28) | (16 << 8) }, { "xvdaa", (1 << 28) | (26 << 8) }, { "xvdq3", (1 << 28) | (16 << 8) | 3 },
	{ "hda", 768 }, { "hdb", 832 }, { "hdc", 5632 }, { "hdd", 5696 }, { "hda1", 769 },
	{ "sda", 2048 }, { "sdb", 2064 }, { "sdb2", 2066 },
	/* Forms xl passes on (it used to hand the VMM d0 and have it refused). */
	{ "d0", 51712 }, { "d1p2", 51730 }, { "xvda0", 51712 }, { "xvda16", (1 << 28) | 16 },
	{ "xvd", -1 }, { "xvdA", -1 }, { "hde", -1 }, { "sdq", -1 },
	{ "vda", -1 }, { "", -1 }, { "xvda1x", -1 }, { "d01", -1 },
};

/* The number, and blkback_config_parse taking the name exactly when the parser does. */
static void test_vdev(struct unit *u, const void *arg)
{
	const struct vdev_row *t = arg;
	unsigned int number = 0;
	char why[200] = "", spec[96], err[256] = "";
	struct blkback_config c;

	int rc = vdev_to_devid(t->vdev, &number, why, sizeof(why));
	CHECK_INT(rc < 0 ? -1 : (long long)number, t->number);
	CHECK(rc == 0 || why[0], "refused %s without a reason", t->vdev);
	snprintf(spec, sizeof(spec), "vdev=%s,target=/disk.img", t->vdev);
	int prc = blkback_config_parse(spec, &c, err, sizeof(err));
	CHECK((prc == 0) == (t->number >= 0), "blkback_config_parse(%s): %d %s", spec, prc, err);
	if (prc == 0)
		CHECK_INT(c.devid, t->number);
}

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
	static char names[sizeof(vdevs) / sizeof(vdevs[0])][32];

	for (size_t i = 0; i < sizeof(vdevs) / sizeof(vdevs[0]); i++) {
		snprintf(names[i], sizeof(names[i]), "vdev-%s", vdevs[i].vdev[0] ? vdevs[i].vdev : "empty");
		unit_case(&u, names[i], test_vdev, &vdevs[i]);
	}
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		snprintf(name, sizeof(name), "spec-%s", specs[i].name);
		unit_case(&u, name, test_spec, &specs[i]);
	}
	return unit_finish(&u);
}
