/* disk specs (xl-disk-configuration(5), docs/blkif.md): parsing (the vdev names themselves are
 * test_vdev.c's), errors with exact text, the cfg's disk list with file:line, the target
 * checks on the host, the text the VMM gets, the VMM's vbd-list lines, and the in-use check
 * against a fake VMM's control socket.  Table-driven. */
#define _GNU_SOURCE /* open_memstream, mkdtemp, asprintf */
#include "xl/domain_config.h"
#include "xl/disk_config.h"
#include "xl/xl_block.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* snprintf for paths, which a test's short /tmp names always fit. */
static void __attribute__((format(printf, 2, 3))) pathf(char path[PATH_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(path, PATH_MAX, fmt, ap) >= PATH_MAX)
		path[0] = '\0';
	va_end(ap);
}

/* The vdev names themselves, and xl and the VMM agreeing on them: tests/unit/test_vdev.c. */

/* ---- one spec ------------------------------------------------------------------------------- */

static char *describe(const struct xl_disk *d)
{
	char *s = NULL;

	if (asprintf(&s, "vdev=%s devid=%u access=%s devtype=%s target=%s", d->vdev ? d->vdev : "-",
		     d->devid, xl_disk_access_name(d), xl_disk_devtype_name(d),
		     d->target ? d->target : "-") < 0)
		return NULL;
	return s;
}

static int parse(const char *spec, struct xl_disk *d, char *err, size_t errlen, char **warnings)
{
	size_t len = 0;
	FILE *warn = open_memstream(warnings, &len);
	int rc = xl_disk_parse(spec, "t.cfg:3: disk 0: ", d, warn, err, errlen);

	fclose(warn);
	return rc;
}

struct spec_case {
	const char *name, *spec, *parsed, *warnings;
};

#define XVDA_RW "vdev=xvda devid=51712 access=rw devtype=disk "

static const struct spec_case spec_cases[] = {
	{ "positional, all four", "/srv/guest.img,raw,xvda,rw", XVDA_RW "target=/srv/guest.img", "" },
	{ "positional, defaults", "/srv/guest.img,,xvda", XVDA_RW "target=/srv/guest.img", "" },
	{ "positional, access w", "/srv/guest.img,raw,xvda,w", XVDA_RW "target=/srv/guest.img", "" },
	{ "positional, access ro", "/srv/data.img,raw,xvdb,ro",
	  "vdev=xvdb devid=51728 access=ro devtype=disk target=/srv/data.img", "" },
	{ "positional, access r", "/srv/data.img,raw,xvdb,r",
	  "vdev=xvdb devid=51728 access=ro devtype=disk target=/srv/data.img", "" },
	{ "keyed", "format=raw, vdev=xvdb, access=ro, target=/srv/data.img",
	  "vdev=xvdb devid=51728 access=ro devtype=disk target=/srv/data.img", "" },
	{ "keyed cdrom", "vdev=hdc,devtype=cdrom,target=/srv/cd.iso",
	  "vdev=hdc devid=5632 access=ro devtype=cdrom target=/srv/cd.iso", "" },
	{ "cdrom flag", "/root/image.iso,,hdc,cdrom",
	  "vdev=hdc devid=5632 access=ro devtype=cdrom target=/root/image.iso", "" },
	{ "cdrom flag after an empty access", "/root/image.iso,,hdc,,cdrom",
	  "vdev=hdc devid=5632 access=ro devtype=cdrom target=/root/image.iso", "" },
	{ "cdrom with access ro", "/root/image.iso,raw,hdc,ro,devtype=cdrom",
	  "vdev=hdc devid=5632 access=ro devtype=cdrom target=/root/image.iso", "" },
	{ "target= takes the rest, commas and blanks", "vdev=xvda,target=/srv/a,b c ",
	  XVDA_RW "target=/srv/a,b c ", "" },
	{ "target= after an empty positional target", ",raw,xvda,rw,target=/srv/x,y",
	  XVDA_RW "target=/srv/x,y", "" },
	{ "keyed first, then positional fill the rest", "format=raw,/srv/guest.img,xvda",
	  XVDA_RW "target=/srv/guest.img", "" },
	{ "vdev keyed, positional skip it", "vdev=xvda,/srv/guest.img,raw,rw",
	  XVDA_RW "target=/srv/guest.img", "" },
	{ "blanks before items", "  /srv/guest.img,  raw,\txvda, rw", XVDA_RW "target=/srv/guest.img",
	  "" },
	{ "trailing comma", "/srv/guest.img,raw,xvda,rw,", XVDA_RW "target=/srv/guest.img", "" },
	{ "relative target kept until resolved", "guest.img,raw,xvda", XVDA_RW "target=guest.img",
	  "" },
	{ "devtype=disk", "/i,raw,xvda,devtype=disk", XVDA_RW "target=/i", "" },
	{ "backendtype qdisk", "/i,raw,xvda,backendtype=qdisk", XVDA_RW "target=/i", "" },
	{ "backend Domain-0", "/i,raw,xvda,backend=Domain-0", XVDA_RW "target=/i", "" },
	{ "discard and direct-io-safe", "/i,raw,xvda,discard,direct-io-safe", XVDA_RW "target=/i", "" },
	{ "no-discard warned", "/i,raw,xvda,no-discard", XVDA_RW "target=/i",
	  "t.cfg:3: disk 0: warning: no-discard is not supported yet (ignored)\n" },
	{ "xend phy: prefix", "phy:/dev/vg/guest,xvda,w", XVDA_RW "target=/dev/vg/guest", "" },
	{ "xend file: prefix", "file:/srv/guest.img,xvda,w", XVDA_RW "target=/srv/guest.img", "" },
	{ "xend tap:aio: prefixes", "tap:aio:/srv/guest.img,xvda,w", XVDA_RW "target=/srv/guest.img",
	  "" },
	{ "xend raw: prefix", "raw:/srv/guest.img,xvda,w", XVDA_RW "target=/srv/guest.img", "" },
	{ "xend :cdrom suffix", "raw:/root/image.iso,hdc:cdrom,ro",
	  "vdev=hdc devid=5632 access=ro devtype=cdrom target=/root/image.iso", "" },
	{ "a colon inside a path is not a prefix", "/srv/a:b,raw,xvda", XVDA_RW "target=/srv/a:b",
	  "" },
	{ "extended vdev", "/i,raw,xvdq", "vdev=xvdq devid=268439552 access=rw devtype=disk target=/i",
	  "" },
	{ "sd vdev", "/i,raw,sda", "vdev=sda devid=2048 access=rw devtype=disk target=/i", "" },
	{ "d0p1 vdev", "/i,raw,d0p1", "vdev=d0p1 devid=51713 access=rw devtype=disk target=/i", "" },
};

static void test_spec(struct unit *u, const void *arg)
{
	const struct spec_case *c = arg;
	struct xl_disk d;
	char err[512] = "", *warnings = NULL;
	int rc = parse(c->spec, &d, err, sizeof(err), &warnings);

	CHECK(rc == 0, "xl_disk_parse: %s", err);
	if (rc == 0) {
		char *s = describe(&d);

		CHECK_STR(s, c->parsed);
		free(s);
	}
	CHECK_STR(warnings, c->warnings);
	free(warnings);
	xl_disk_free(&d);
	xl_disk_free(&d);   /* twice is harmless */
}

struct bad_spec {
	const char *name, *spec, *error;
};

#define AT "t.cfg:3: disk 0: "

static const struct bad_spec bad_specs[] = {
	{ "empty", "", AT "no target given (the image file or block device, like "
	  "target=/srv/guest.img)" },
	{ "no target", ",raw,xvda,rw", AT "no target given (the image file or block device, like "
	  "target=/srv/guest.img)" },
	{ "keyed without target", "vdev=xvda,access=rw", AT "no target given (the image file or "
	  "block device, like target=/srv/guest.img)" },
	{ "empty cdrom", ",,hdc,cdrom", AT "no target given: empty cdrom drives are not supported yet" },
	{ "xend empty cdrom", ",hdc:cdrom,r", AT "no target given: empty cdrom drives are not "
	  "supported yet" },
	{ "no vdev", "/srv/guest.img", AT "no vdev given (like vdev=xvda)" },
	{ "no vdev, empty", "/srv/guest.img,raw,,rw", AT "no vdev given (like vdev=xvda)" },
	{ "qcow2", "/srv/guest.qcow2,qcow2,xvda", AT "disk format 'qcow2' is not supported yet "
	  "(only raw)" },
	{ "qcow keyed", "format=qcow,vdev=xvda,target=/i", AT "disk format 'qcow' is not supported "
	  "yet (only raw)" },
	{ "vhd", "/i,vhd,xvda", AT "disk format 'vhd' is not supported yet (only raw)" },
	{ "qed", "/i,qed,xvda", AT "disk format 'qed' is not supported yet (only raw)" },
	{ "xend qcow2: prefix", "qcow2:/i,xvda,w", AT "disk format 'qcow2' is not supported yet "
	  "(only raw)" },
	{ "unknown format", "/i,vmdk,xvda", AT "invalid disk format 'vmdk' (valid: raw, qcow, qcow2, "
	  "vhd, qed; only raw is supported yet)" },
	{ "bad access", "/i,raw,xvda,rwx", AT "invalid access 'rwx' (valid: rw, w, ro, r)" },
	{ "bad devtype", "/i,raw,xvda,devtype=floppy", AT "invalid devtype 'floppy' (valid: disk, "
	  "cdrom)" },
	{ "cdrom read-write", "/i,raw,hdc,rw,cdrom", AT "a cdrom is read-only: access rw cannot be "
	  "used with devtype=cdrom" },
	{ "bad vdev", "/i,raw,xvd", AT "invalid vdev 'xvd': expected a disk letter (a to z) after "
	  "'xvd', as in xvda" },
	{ "vdev hde", "/i,raw,hde", AT "invalid vdev 'hde': there are 4 IDE disks, hda to hdd" },
	{ "vdev xvda0", "/i,raw,xvda0", AT "invalid vdev 'xvda0': partition 0 is the whole disk, "
	  "written without a number: xvda" },
	{ "vdev too long", "/i,raw,xvdabcdefghijklmno", AT "invalid vdev 'xvdabcdefghijklmno': it is "
	  "longer than 15 characters" },
	{ "vdev bad suffix", "/i,raw,xvda:floppy", AT "invalid devtype 'floppy' (valid: disk, "
	  "cdrom)" },
	{ "backendtype phy", "/i,raw,xvda,backendtype=phy", AT "backendtype phy is not supported yet "
	  "(only qdisk: the domain's VMM serves its disks)" },
	{ "backendtype tap", "/i,raw,xvda,backendtype=tap", AT "backendtype tap is not supported yet "
	  "(only qdisk: the domain's VMM serves its disks)" },
	{ "backendtype unknown", "/i,raw,xvda,backendtype=nbd", AT "invalid backendtype 'nbd' "
	  "(valid: phy, tap, qdisk)" },
	{ "script", "/i,raw,xvda,script=block-iscsi", AT "script 'block-iscsi': block scripts are not "
	  "supported yet" },
	{ "xend iscsi: prefix", "iscsi:iqn.2001-05.com.example,xvda,w", AT "script 'block-iscsi': "
	  "block scripts are not supported yet" },
	{ "driver domain", "/i,raw,xvda,backend=storage", AT "backend 'storage': driver domains are "
	  "not supported yet" },
	{ "unknown key", "/i,raw,xvda,colour=blue", AT "unknown disk parameter 'colour'" },
	{ "colo", "/i,raw,xvda,colo", AT "COLO is not supported" },
	{ "five positional", "/i,raw,xvda,rw,extra", AT "too many positional parameters ('extra'; "
	  "they are target, format, vdev, access)" },
	{ "format twice", "/i,raw,xvda,format=raw", AT "'format' is given twice" },
	{ "vdev twice", "vdev=xvda,vdev=xvdb,target=/i", AT "'vdev' is given twice" },
	{ "access twice", "/i,raw,xvda,ro,access=rw", AT "'access' is given twice" },
	{ "devtype twice", "/i,raw,hdc:cdrom,cdrom", AT "'devtype' is given twice" },
	{ "target twice", "/i,raw,xvda,target=/j", AT "'target' is given twice" },
	{ "newline in target", "vdev=xvda,target=/a\nb", AT "target '/a\nb': a newline cannot be "
	  "passed to the VMM" },
};

static void test_bad_spec(struct unit *u, const void *arg)
{
	const struct bad_spec *c = arg;
	struct xl_disk d;
	char err[512] = "", *warnings = NULL;

	CHECK(parse(c->spec, &d, err, sizeof(err), &warnings) == -1, "xl_disk_parse accepted '%s'",
	      c->spec);
	CHECK_STR(err, c->error);
	CHECK(!d.vdev && !d.target && !d.where, "disk not left empty");
	free(warnings);
	xl_disk_free(&d);
}

/* ---- disk = [ ... ] in a cfg ---------------------------------------------------------------- */

static int convert(const char *text, struct domain_config *dc, char *err, size_t errlen)
{
	struct xl_cfg cfg;
	char *warnings = NULL;
	size_t len = 0;
	FILE *warn;
	int rc;

	if (xl_cfg_parse_string(text, "t.cfg", &cfg, err, errlen) < 0)
		return -2;
	warn = open_memstream(&warnings, &len);
	rc = domain_config_from_cfg(&cfg, dc, warn, err, errlen);
	fclose(warn);
	free(warnings);
	xl_cfg_free(&cfg);
	return rc;
}

#define BASE "name = 'd'\nkernel = 'k'\n"

static void test_cfg_disks(struct unit *u, const void *arg)
{
	struct domain_config dc;
	char err[512] = "";

	(void)arg;
	CHECK(convert(BASE "disk = [ '/srv/guest.img,raw,xvda,rw',\n"
			   "         'format=raw, vdev=xvdb, access=ro, target=/srv/data.img',\n"
			   "         'vdev=hdc,devtype=cdrom,target=/srv/cd.iso' ]\n",
		      &dc, err, sizeof(err)) == 0, "convert: %s", err);
	CHECK_INT(dc.n_disks, 3);
	if (dc.n_disks == 3) {
		CHECK_STR(dc.disks[0].vdev, "xvda");
		CHECK_INT(dc.disks[0].devid, 51712);
		CHECK_STR(dc.disks[1].target, "/srv/data.img");
		CHECK(dc.disks[1].readonly, "disk 1 should be read-only");
		CHECK(dc.disks[2].cdrom && dc.disks[2].readonly, "disk 2 should be a read-only cdrom");
		CHECK_STR(dc.disks[2].where, "t.cfg:5: disk 2: ");
	}
	domain_config_free(&dc);
}

struct cfg_case {
	const char *name, *text, *error;
};

static const struct cfg_case cfg_cases[] = {
	{ "not a list", BASE "disk = '/i,raw,xvda'\n",
	  "t.cfg:3: 'disk' must be a list, like disk = [ '/srv/guest.img,raw,xvda,rw' ]" },
	{ "item not a string", BASE "disk = [ 5 ]\n", "t.cfg:3: disk 0: 'disk' items must be strings" },
	{ "error with the item's line", BASE "disk = [ '/a,raw,xvda',\n  '/b,qcow2,xvdb' ]\n",
	  "t.cfg:4: disk 1: disk format 'qcow2' is not supported yet (only raw)" },
	{ "duplicate vdev", BASE "disk = [ '/a,raw,xvda', '/b,raw,xvda' ]\n",
	  "t.cfg:3: disk 1: duplicate vdev xvda (disk 0 has it too)" },
	{ "the same device by two names", BASE "disk = [ '/a,raw,xvda', '/b,raw,d0p0' ]\n",
	  "t.cfg:3: disk 1: vdev d0p0 is the same device as disk 0's xvda (devid 51712)" },
};

static void test_cfg(struct unit *u, const void *arg)
{
	const struct cfg_case *c = arg;
	struct domain_config dc;
	char err[512] = "";

	CHECK(convert(c->text, &dc, err, sizeof(err)) == -1, "accepted");
	CHECK_STR(err, c->error);
	CHECK(!dc.disks && dc.n_disks == 0, "dc not left empty");
	domain_config_free(&dc);
}

/* ---- targets on the host -------------------------------------------------------------------- */

struct scratch {
	char dir[64];
	char cwd[PATH_MAX];
};

static int put_file(const char *dir, const char *name, mode_t mode)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	close(fd);
	return chmod(path, mode);
}

/* A directory with img (rw), other.img, link -> img, sub/; the cwd moves into it. */
static int scratch_make(struct scratch *s)
{
	char path[PATH_MAX];

	snprintf(s->dir, sizeof(s->dir), "/tmp/xenith-disk-test.XXXXXX");
	if (!getcwd(s->cwd, sizeof(s->cwd)) || !mkdtemp(s->dir))
		return -1;
	snprintf(path, sizeof(path), "%s/sub", s->dir);
	if (put_file(s->dir, "img", 0644) || put_file(s->dir, "other.img", 0644) || mkdir(path, 0755))
		return -1;
	snprintf(path, sizeof(path), "%s/link", s->dir);
	if (symlink("img", path))
		return -1;
	return chdir(s->dir);
}

static void scratch_remove(struct scratch *s)
{
	static const char *const names[] = { "img", "other.img", "link" };
	char path[PATH_MAX];

	if (chdir(s->cwd))
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", s->dir, names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/sub", s->dir);
	rmdir(path);
	rmdir(s->dir);
}

/* "@" in a table's text stands for the scratch directory. */
static char *expand(const char *text, const char *dir)
{
	char *out = malloc(strlen(text) * (strlen(dir) + 1) + 1), *o = out;

	if (!out)
		return NULL;
	for (const char *p = text; *p; p++) {
		if (*p == '@') {
			strcpy(o, dir);
			o += strlen(dir);
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

struct resolve_case {
	const char *name, *spec, *target, *error;    /* error NULL: resolves to target */
};

static const struct resolve_case resolve_cases[] = {
	{ "absolute", "@/img,raw,xvda", "@/img", NULL },
	{ "relative to the cwd", "img,raw,xvda", "@/img", NULL },
	{ "./ dropped", "./img,raw,xvda", "@/img", NULL },
	{ "a symbolic link kept as written", "link,raw,xvda", "@/link", NULL },
	{ "missing", "nothere.img,raw,xvda", NULL,
	  "disk 0: target @/nothere.img: No such file or directory" },
	{ "a directory", "sub,raw,xvda", NULL,
	  "disk 0: target @/sub is neither a regular file nor a block device" },
};

static void test_resolve(struct unit *u, const void *arg)
{
	const struct resolve_case *c = arg;
	struct scratch s;
	struct xl_disk d = { 0 };
	char err[512] = "", *spec = NULL, *want = NULL;

	if (scratch_make(&s)) {
		CHECK(0, "cannot make the scratch directory: %s", strerror(errno));
		return;
	}
	spec = expand(c->spec, s.dir);
	want = expand(c->target ? c->target : c->error, s.dir);
	CHECK(xl_disk_parse(spec, "disk 0: ", &d, NULL, err, sizeof(err)) == 0, "parse: %s", err);
	if (c->target) {
		CHECK(xl_disk_resolve_target(&d, err, sizeof(err)) == 0, "resolve: %s", err);
		CHECK_STR(d.target, want);
		CHECK(d.resolved && S_ISREG(d.st.st_mode), "st not filled");
	} else {
		CHECK(xl_disk_resolve_target(&d, err, sizeof(err)) == -1, "resolved");
		CHECK_STR(err, want);
		CHECK(!d.resolved, "marked resolved");
	}
	xl_disk_free(&d);
	free(spec);
	free(want);
	scratch_remove(&s);
}

/* Read-only access is enough for a read-only disk; a rw one needs write permission.  (root may
 * write anything, so the second half is only checked for others.) */
static void test_resolve_access(struct unit *u, const void *arg)
{
	struct scratch s;
	struct xl_disk d = { 0 };
	char err[512] = "", path[PATH_MAX];

	(void)arg;
	if (scratch_make(&s)) {
		CHECK(0, "cannot make the scratch directory: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/img", s.dir);
	chmod(path, 0444);
	CHECK(xl_disk_parse("img,raw,xvda,ro", "", &d, NULL, err, sizeof(err)) == 0 &&
	      xl_disk_resolve_target(&d, err, sizeof(err)) == 0, "read-only: %s", err);
	xl_disk_free(&d);
	if (geteuid() != 0) {
		char want[PATH_MAX + 64];

		CHECK(xl_disk_parse("img,raw,xvda,rw", "", &d, NULL, err, sizeof(err)) == 0 &&
		      xl_disk_resolve_target(&d, err, sizeof(err)) == -1, "rw accepted");
		snprintf(want, sizeof(want), "target %s cannot be opened read-write: Permission denied",
			 path);
		CHECK_STR(err, want);
		xl_disk_free(&d);
	}
	scratch_remove(&s);
}

struct twice_case {
	const char *name, *disks, *error;   /* error NULL: accepted */
};

static const struct twice_case twice_cases[] = {
	{ "two targets", "'img,raw,xvda', 'other.img,raw,xvdb'", NULL },
	{ "one target read-only twice", "'img,raw,xvda,ro', 'link,raw,xvdb,ro'", NULL },
	{ "one target rw twice", "'img,raw,xvda', '@/img,raw,xvdb'",
	  "t.cfg:3: disk 1: target @/img is disk 0's too; a target given twice must be read-only "
	  "both times" },
	{ "through a symbolic link, once rw", "'img,raw,xvda,ro', 'link,raw,xvdb,rw'",
	  "t.cfg:3: disk 1: target @/link is disk 0's too; a target given twice must be read-only "
	  "both times" },
};

static void test_twice(struct unit *u, const void *arg)
{
	const struct twice_case *c = arg;
	struct domain_config dc;
	struct scratch s;
	char err[512] = "", *text = NULL, *want = NULL, *disks;

	if (scratch_make(&s)) {
		CHECK(0, "cannot make the scratch directory: %s", strerror(errno));
		return;
	}
	disks = expand(c->disks, s.dir);
	if (asprintf(&text, BASE "disk = [ %s ]\n", disks) < 0)
		text = NULL;
	CHECK(convert(text, &dc, err, sizeof(err)) == 0, "convert: %s", err);
	if (!c->error) {
		CHECK(domain_config_resolve_disks(&dc, err, sizeof(err)) == 0, "resolve: %s", err);
	} else {
		want = expand(c->error, s.dir);
		CHECK(domain_config_resolve_disks(&dc, err, sizeof(err)) == -1, "accepted");
		CHECK_STR(err, want);
	}
	domain_config_free(&dc);
	free(disks);
	free(text);
	free(want);
	scratch_remove(&s);
}

static void test_same_target(struct unit *u, const void *arg)
{
	struct stat a = { 0 }, b = { 0 };

	(void)arg;
	a.st_mode = b.st_mode = S_IFREG | 0644;
	a.st_dev = b.st_dev = 5;
	a.st_ino = b.st_ino = 77;
	CHECK(xl_disk_same_target(&a, &b), "one file");
	b.st_ino = 78;
	CHECK(!xl_disk_same_target(&a, &b), "two inodes");
	b.st_ino = 77;
	b.st_dev = 6;
	CHECK(!xl_disk_same_target(&a, &b), "two file systems");
	/* Two device nodes of one block device are the same disk, whatever their inodes. */
	a.st_mode = b.st_mode = S_IFBLK | 0660;
	a.st_rdev = b.st_rdev = 0x801;
	CHECK(xl_disk_same_target(&a, &b), "one block device");
	b.st_rdev = 0x802;
	CHECK(!xl_disk_same_target(&a, &b), "two block devices");
	b.st_mode = S_IFREG | 0644;
	b.st_dev = a.st_dev;
	b.st_ino = a.st_ino;
	CHECK(!xl_disk_same_target(&a, &b), "a file is never a block device");
}

/* ---- the VMM's text ------------------------------------------------------------------------- */

struct format_case {
	const char *name, *spec, *text;
};

static const struct format_case format_cases[] = {
	{ "rw disk", "/srv/guest.img,raw,xvda,rw",
	  "vdev=xvda,devid=51712,access=rw,devtype=disk,target=/srv/guest.img" },
	{ "ro disk", "/srv/data.img,,xvdb,r",
	  "vdev=xvdb,devid=51728,access=ro,devtype=disk,target=/srv/data.img" },
	{ "cdrom", "vdev=hdc,devtype=cdrom,target=/srv/cd.iso",
	  "vdev=hdc,devid=5632,access=ro,devtype=cdrom,target=/srv/cd.iso" },
	{ "commas in the target, last", "vdev=xvdq,target=/srv/a,b.img",
	  "vdev=xvdq,devid=268439552,access=rw,devtype=disk,target=/srv/a,b.img" },
};

static void test_format(struct unit *u, const void *arg)
{
	const struct format_case *c = arg;
	struct xl_disk d;
	char err[256] = "", *text;

	CHECK(xl_disk_parse(c->spec, "", &d, NULL, err, sizeof(err)) == 0, "parse: %s", err);
	text = xl_disk_format_spec(&d);
	CHECK_STR(text, c->text);
	free(text);
	xl_disk_free(&d);
}

static void test_list_parse(struct unit *u, const void *arg)
{
	struct xl_vbd_info *infos;
	char err[256] = "";
	size_t n;

	(void)arg;
	CHECK(xl_vbd_list_parse("51712 xvda 4 5 8 rw /srv/guest.img\n\n"
				"5632 hdc 2 -1 -1 ro /srv/my cd, 2.iso\r\n",
				&infos, &n, err, sizeof(err)) == 0, "parse: %s", err);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_INT(infos[0].devid, 51712);
		CHECK_STR(infos[0].vdev, "xvda");
		CHECK_INT(infos[0].state, 4);
		CHECK_INT(infos[0].evtchn, 5);
		CHECK_INT(infos[0].ring_ref, 8);
		CHECK(!infos[0].readonly, "disk 0 is rw");
		CHECK_STR(infos[0].target, "/srv/guest.img");
		CHECK_STR(infos[0].devtype, "");
		CHECK_INT(infos[1].devid, 5632);
		CHECK_INT(infos[1].evtchn, -1);
		CHECK(infos[1].readonly, "disk 1 is ro");
		CHECK_STR(infos[1].target, "/srv/my cd, 2.iso");
	}
	xl_vbd_infos_free(infos, n);
	CHECK(xl_vbd_list_parse("", &infos, &n, err, sizeof(err)) == 0 && n == 0 && !infos,
	      "an empty list is no disks");
}

struct bad_list {
	const char *name, *text;
};

static const struct bad_list bad_lists[] = {
	{ "no target", "51712 xvda 4 5 8 rw" },
	{ "bad access", "51712 xvda 4 5 8 rx /i" },
	{ "devid not the vdev's", "51728 xvda 4 5 8 rw /i" },
	{ "not a vdev", "51712 vda 4 5 8 rw /i" },
	{ "negative devid", "-1 xvda 4 5 8 rw /i" },
	{ "bad state", "51712 xvda four 5 8 rw /i" },
};

static void test_bad_list(struct unit *u, const void *arg)
{
	const struct bad_list *c = arg;
	struct xl_vbd_info *infos;
	char err[512] = "", want[512];
	size_t n;

	CHECK(xl_vbd_list_parse(c->text, &infos, &n, err, sizeof(err)) == -1, "parsed");
	snprintf(want, sizeof(want), "unexpected vbd-list line '%s' (expected: devid vdev state "
		 "evtchn ring-ref access target)", c->text);
	CHECK_STR(err, want);
	CHECK(!infos && n == 0, "out not left empty");
}

/* ---- the in-use check against fake VMMs ------------------------------------------------------ */

/* A run directory with domains 1 ("web", which has img rw) and 2 ("db", which has other.img ro and
 * answers vbd-list), and 3 ("old", whose VMM knows no vbd-list): one thread serves all three. */
struct fake_vmm {
	int fds[3];
	char replies[3][512];
	pthread_t thread;
	bool running;
};

static void *fake_vmm_serve(void *arg)
{
	struct fake_vmm *f = arg;
	bool done = false;

	while (!done) {
		fd_set set;
		int max = -1;

		FD_ZERO(&set);
		for (int i = 0; i < 3; i++) {
			FD_SET(f->fds[i], &set);
			max = f->fds[i] > max ? f->fds[i] : max;
		}
		if (select(max + 1, &set, NULL, NULL, NULL) < 0)
			break;
		for (int i = 0; i < 3; i++) {
			char req[256];
			ssize_t n;
			int c;

			if (!FD_ISSET(f->fds[i], &set) || (c = accept(f->fds[i], NULL, NULL)) < 0)
				continue;
			n = recv(c, req, sizeof(req) - 1, 0);
			if (n > 0) {
				req[n] = '\0';
				if (!strcmp(req, "quit"))
					done = true;
				else if (!strcmp(req, "vbd-list"))
					send(c, f->replies[i], strlen(f->replies[i]), MSG_NOSIGNAL);
				else
					send(c, "error ENOSYS unknown request", 28, MSG_NOSIGNAL);
			}
			close(c);
		}
	}
	return NULL;
}

static int fake_domain_dir(const char *rundir, unsigned int domid, const char *name, int *fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[PATH_MAX];
	FILE *f;

	pathf(path, "%s/domains/%u", rundir, domid);
	if (mkdir(path, 0755))
		return -1;
	pathf(path, "%s/domains/%u/name", rundir, domid);
	f = fopen(path, "we");
	if (!f)
		return -1;
	fprintf(f, "%s", name);
	fclose(f);
	pathf(path, "%s/domains/%u/control.sock", rundir, domid);
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	*fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (*fd < 0 || bind(*fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(*fd, 8))
		return -1;
	return 0;
}

struct in_use_case {
	const char *name, *spec, *error;    /* error NULL: accepted */
};

static const struct in_use_case in_use_cases[] = {
	{ "a free file, rw", "@/link2free,raw,xvda", NULL },
	{ "rw while another has it rw", "@/img,raw,xvda,rw",
	  "@/img is already attached read-write to domain 'web'" },
	{ "ro while another has it rw", "@/img,raw,xvda,ro",
	  "@/img is already attached read-write to domain 'web'" },
	{ "through a link, by inode", "@/link,raw,xvda,ro",
	  "@/link is already attached read-write to domain 'web'" },
	{ "rw while another has it ro", "@/other.img,raw,xvda,rw",
	  "@/other.img is already attached read-only to domain 'db', so it cannot be attached "
	  "read-write" },
	{ "ro while another has it ro", "@/other.img,raw,xvda,ro", NULL },
};

static void test_in_use(struct unit *u, const void *arg)
{
	const struct in_use_case *c = arg;
	struct fake_vmm f = { .fds = { -1, -1, -1 } };
	struct xl_ctx ctx = { 0 };
	struct scratch s;
	struct xl_disk d = { 0 };
	char err[1024] = "", rundir[PATH_MAX], path[PATH_MAX], *spec = NULL, *want = NULL;
	static const char *const names[] = { "web", "db", "old" };

	if (scratch_make(&s)) {
		CHECK(0, "cannot make the scratch directory: %s", strerror(errno));
		return;
	}
	snprintf(rundir, sizeof(rundir), "%s/sub", s.dir);
	setenv("XENITH_RUNDIR", rundir, 1);
	if (xl_ctx_rundir(&ctx)) {
		CHECK(0, "no run directory");
		goto out;
	}
	put_file(s.dir, "free", 0644);
	pathf(path, "%s/link2free", s.dir);
	symlink("free", path);
	/* web names img by its link, to show that paths are not what is compared. */
	snprintf(f.replies[0], sizeof(f.replies[0]), "ok\n51712 xvda 4 5 8 rw %s/link\n", s.dir);
	snprintf(f.replies[1], sizeof(f.replies[1]), "ok\n51712 xvda 4 5 8 ro %s/other.img\n"
		 "51728 xvdb 4 6 9 ro /nonexistent/gone.img\n", s.dir);
	snprintf(f.replies[2], sizeof(f.replies[2]), "error ENOSYS unknown request");
	for (int i = 0; i < 3; i++) {
		if (fake_domain_dir(rundir, (unsigned int)i + 1, names[i], &f.fds[i])) {
			CHECK(0, "cannot make fake domain %d: %s", i + 1, strerror(errno));
			goto out;
		}
	}
	if (pthread_create(&f.thread, NULL, fake_vmm_serve, &f)) {
		CHECK(0, "no thread");
		goto out;
	}
	f.running = true;
	spec = expand(c->spec, s.dir);
	CHECK(xl_disk_parse(spec, "", &d, NULL, err, sizeof(err)) == 0 &&
	      xl_disk_resolve_target(&d, err, sizeof(err)) == 0, "disk: %s", err);
	if (!c->error) {
		CHECK(xl_disks_check_in_use(&ctx, &d, 1, err, sizeof(err)) == 0, "refused: %s", err);
	} else {
		want = expand(c->error, s.dir);
		CHECK(xl_disks_check_in_use(&ctx, &d, 1, err, sizeof(err)) == -1, "accepted");
		CHECK_STR(err, want);
	}
out:
	if (f.running) {
		char reply[64];

		xl_domain_request(&ctx, 1, "quit", 1000, reply, sizeof(reply));
		pthread_join(f.thread, NULL);
	}
	for (int i = 0; i < 3; i++) {
		if (f.fds[i] >= 0)
			close(f.fds[i]);
		pathf(path, "%s/domains/%d/control.sock", rundir, i + 1);
		unlink(path);
		pathf(path, "%s/domains/%d/name", rundir, i + 1);
		unlink(path);
		pathf(path, "%s/domains/%d", rundir, i + 1);
		rmdir(path);
	}
	/* What rundir_open made below sub/, and the two extra files. */
	{
		char cmd[3 * PATH_MAX];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'/sub/* '%s'/free '%s'/link2free", s.dir, s.dir,
			 s.dir);
		CHECK(system(cmd) == 0, "cleanup failed");
	}
	unsetenv("XENITH_RUNDIR");
	xl_disk_free(&d);
	free(spec);
	free(want);
	scratch_remove(&s);
}

#define RUN_TABLE(u, prefix, table, fn)                                               \
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {                \
		snprintf(name, sizeof(name), "%s: %s", prefix, table[i].name);         \
		unit_case(u, name, fn, &table[i]);                                     \
	}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[160];

	RUN_TABLE(&u, "spec", spec_cases, test_spec);
	RUN_TABLE(&u, "bad spec", bad_specs, test_bad_spec);
	unit_case(&u, "cfg: three disks with lines", test_cfg_disks, NULL);
	RUN_TABLE(&u, "cfg", cfg_cases, test_cfg);
	RUN_TABLE(&u, "resolve", resolve_cases, test_resolve);
	unit_case(&u, "resolve: access", test_resolve_access, NULL);
	RUN_TABLE(&u, "target twice", twice_cases, test_twice);
	unit_case(&u, "same target by device and inode", test_same_target, NULL);
	RUN_TABLE(&u, "format", format_cases, test_format);
	unit_case(&u, "vbd-list lines", test_list_parse, NULL);
	RUN_TABLE(&u, "bad vbd-list", bad_lists, test_bad_list);
	RUN_TABLE(&u, "in use", in_use_cases, test_in_use);
	return unit_finish(&u);
}
