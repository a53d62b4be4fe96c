/* Disk specs: xl-disk-configuration(5) as far as Xenith takes it (vdev names are read by
 * lib/vdev.c, as the VMM reads them), and the text the VMM reads (docs/blkif.md).
 *
 * A DISKSPEC mixes three kinds of item, separated by commas:
 *   - key=value ("format=raw", "vdev=xvda", ...); `target=` is special: it takes the whole rest of
 *     the spec, commas included, so it must come last;
 *   - flags ("cdrom", "discard", ...), recognised by name;
 *   - anything else is positional, and fills the first of target, format, vdev, access that has not
 *     been given yet, by position or by name.  So "/img,,xvda" and "format=raw,/img,xvda" both give
 *     vdev xvda: an empty item still takes its slot (and the default).
 * Each parameter may be given once; the one exception is Xen's: `target=` after an empty positional
 * target.  A mistake is an error, never a silent default: a disk read-write that was meant read-only
 * is not something to warn about.
 *
 * Parsing is pure; only xl_disk_resolve_target looks at the host. */
#define _GNU_SOURCE
#include "xl/disk_config.h"
#include "xl/xl_domain.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int __attribute__((format(printf, 4, 5)))
disk_error(char *err, size_t errlen, const char *where, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "%s", where ? where : "");

	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---- one spec ------------------------------------------------------------------------------- */

enum positional { POS_TARGET, POS_FORMAT, POS_VDEV, POS_ACCESS, N_POSITIONAL };
static const char *const positional_names[N_POSITIONAL] = { "target", "format", "vdev", "access" };

/* What the parse has seen so far. */
struct disk_parse {
	struct xl_disk *disk;
	const char *where;
	FILE *warn;
	char *err;
	size_t errlen;
	bool given[N_POSITIONAL];
	bool devtype_given, backendtype_given, backend_given;
	bool access_rw_given;    /* access=rw/w written out, which a cdrom refuses */
	bool empty_tray_ok;      /* an hvm domain's cdrom may have no target */
};

static int set_string(struct disk_parse *dp, char **field, const char *value)
{
	char *copy = *value ? strdup(value) : NULL;

	if (*value && !copy)
		return disk_error(dp->err, dp->errlen, dp->where, "out of memory");
	free(*field);
	*field = copy;
	return 0;
}

/* Claims a parameter; a second time is an error. */
static int claim(struct disk_parse *dp, bool *given, const char *name)
{
	if (*given)
		return disk_error(dp->err, dp->errlen, dp->where, "'%s' is given twice", name);
	*given = true;
	return 0;
}

static int set_format(struct disk_parse *dp, const char *value)
{
	static const char *const known[] = { "qcow", "qcow2", "vhd", "qed" };

	if (!*value || !strcmp(value, "raw"))
		return 0;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(value, known[i]))
			return disk_error(dp->err, dp->errlen, dp->where,
					  "disk format '%s' is not supported yet (only raw)", value);
	return disk_error(dp->err, dp->errlen, dp->where,
			  "invalid disk format '%s' (valid: raw, qcow, qcow2, vhd, qed; only raw is "
			  "supported yet)", value);
}

static int set_access(struct disk_parse *dp, const char *value)
{
	if (!*value)
		return 0;
	if (!strcmp(value, "rw") || !strcmp(value, "w")) {
		dp->disk->readonly = false;
		dp->access_rw_given = true;
		return 0;
	}
	if (!strcmp(value, "ro") || !strcmp(value, "r")) {
		dp->disk->readonly = true;
		return 0;
	}
	return disk_error(dp->err, dp->errlen, dp->where,
			  "invalid access '%s' (valid: rw, w, ro, r)", value);
}

static int set_devtype(struct disk_parse *dp, const char *value)
{
	if (claim(dp, &dp->devtype_given, "devtype"))
		return -1;
	if (!*value || !strcmp(value, "disk"))
		return 0;
	if (!strcmp(value, "cdrom")) {
		dp->disk->cdrom = true;
		return 0;
	}
	return disk_error(dp->err, dp->errlen, dp->where, "invalid devtype '%s' (valid: disk, cdrom)",
			  value);
}

/* A vdev, possibly with xend's ":cdrom" or ":disk" after it. */
static int set_vdev(struct disk_parse *dp, const char *value)
{
	char *colon = strchr(value, ':'), vdev[64];

	if (!colon)
		return set_string(dp, &dp->disk->vdev, value);
	if ((size_t)(colon - value) >= sizeof(vdev))
		return disk_error(dp->err, dp->errlen, dp->where, "invalid vdev '%s'", value);
	memcpy(vdev, value, (size_t)(colon - value));
	vdev[colon - value] = '\0';
	if (set_devtype(dp, colon + 1))
		return -1;
	return set_string(dp, &dp->disk->vdev, vdev);
}

static int script_refused(struct disk_parse *dp, const char *script)
{
	return disk_error(dp->err, dp->errlen, dp->where,
			  "script '%s': block scripts are not supported yet", script);
}

/* xend's prefixes on a positional target: "phy:/dev/vg/lv", "tap:aio:/img", "raw:/img".  Any of
 * them also stands for the format, so the next positional item is the vdev. */
static int strip_prefixes(struct disk_parse *dp, const char **target)
{
	static const char *const ignored[] = { "tapdisk", "tap2", "tap", "aio", "ioemu", "file", "phy" };
	static const char *const formats[] = { "raw", "qcow", "qcow2", "vhd" };
	static const char *const scripts[] = { "iscsi", "nbd", "enbd", "drbd" };
	bool found = true;

	while (found) {
		const char *colon = strchr(*target, ':');
		size_t len = colon ? (size_t)(colon - *target) : 0;
		char word[16];

		found = false;
		if (!colon || len == 0 || len >= sizeof(word))
			break;
		memcpy(word, *target, len);
		word[len] = '\0';
		for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]) && !found; i++)
			found = !strcmp(word, ignored[i]);
		for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]) && !found; i++) {
			if (!strcmp(word, formats[i])) {
				if (set_format(dp, word))
					return -1;
				found = true;
			}
		}
		for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
			if (!strcmp(word, scripts[i])) {
				char script[32];

				snprintf(script, sizeof(script), "block-%s", word);
				return script_refused(dp, script);
			}
		}
		if (found) {
			*target = colon + 1;
			dp->given[POS_FORMAT] = true;
		}
	}
	return 0;
}

static int set_positional(struct disk_parse *dp, enum positional which, const char *value)
{
	dp->given[which] = true;
	switch (which) {
	case POS_TARGET:
		if (strip_prefixes(dp, &value))
			return -1;
		return set_string(dp, &dp->disk->target, value);
	case POS_FORMAT:
		/* xend's empty cdrom, ",hdc:cdrom,r": no format, and "vdev:devtype" in its place. */
		if (strchr(value, ':') && !dp->given[POS_VDEV]) {
			dp->given[POS_VDEV] = true;
			return set_vdev(dp, value);
		}
		return set_format(dp, value);
	case POS_VDEV:
		return set_vdev(dp, value);
	case POS_ACCESS:
		return set_access(dp, value);
	default:
		return -1;
	}
}

static int parse_flag(struct disk_parse *dp, const char *flag, bool *matched)
{
	*matched = true;
	if (!strcmp(flag, "cdrom"))
		return set_devtype(dp, "cdrom");
	if (!strcmp(flag, "discard") || !strcmp(flag, "direct-io-safe"))
		return 0;        /* advisory, and what the backend does anyway */
	if (!strcmp(flag, "no-discard")) {
		if (dp->warn)
			fprintf(dp->warn, "%swarning: no-discard is not supported yet (ignored)\n",
				dp->where);
		return 0;
	}
	if (!strcmp(flag, "colo"))
		return disk_error(dp->err, dp->errlen, dp->where, "COLO is not supported");
	*matched = false;
	return 0;
}

static int parse_keyed(struct disk_parse *dp, char *token, char *value)
{
	*value++ = '\0';
	for (int i = 0; i < N_POSITIONAL; i++) {
		if (!strcmp(token, positional_names[i])) {
			/* target= never gets here: xl_disk_parse takes it, with the rest */
			if (claim(dp, &dp->given[i], token))
				return -1;
			return set_positional(dp, (enum positional)i, value);
		}
	}
	if (!strcmp(token, "devtype"))
		return set_devtype(dp, value);
	if (!strcmp(token, "backendtype")) {
		if (claim(dp, &dp->backendtype_given, token))
			return -1;
		if (!*value || !strcmp(value, "qdisk"))
			return 0;
		if (!strcmp(value, "phy") || !strcmp(value, "tap"))
			return disk_error(dp->err, dp->errlen, dp->where,
					  "backendtype %s is not supported yet (only qdisk: the "
					  "domain's VMM serves its disks)", value);
		return disk_error(dp->err, dp->errlen, dp->where,
				  "invalid backendtype '%s' (valid: phy, tap, qdisk)", value);
	}
	if (!strcmp(token, "backend")) {
		if (claim(dp, &dp->backend_given, token))
			return -1;
		if (*value && strcmp(value, "0") && strcmp(value, "Domain-0"))
			return disk_error(dp->err, dp->errlen, dp->where,
					  "backend '%s': driver domains are not supported yet", value);
		return 0;
	}
	if (!strcmp(token, "script"))
		return script_refused(dp, value);
	if (!strncmp(token, "colo-", 5) || !strcmp(token, "active-disk") ||
	    !strcmp(token, "hidden-disk"))
		return disk_error(dp->err, dp->errlen, dp->where, "COLO is not supported ('%s')", token);
	return disk_error(dp->err, dp->errlen, dp->where, "unknown disk parameter '%s'", token);
}

static int parse_item(struct disk_parse *dp, char *item)
{
	char *value = strchr(item, '=');
	bool matched;
	int r;

	if (value)
		return parse_keyed(dp, item, value);
	r = parse_flag(dp, item, &matched);

	if (r || matched)
		return r;
	for (int i = 0; i < N_POSITIONAL; i++)
		if (!dp->given[i])
			return set_positional(dp, (enum positional)i, item);
	return disk_error(dp->err, dp->errlen, dp->where, "too many positional parameters ('%s'; "
			  "they are target, format, vdev, access)", item);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* The whole-spec checks, once every item is in. */
static int finish(struct disk_parse *dp)
{
	struct xl_disk *disk = dp->disk;
	char why[256];

	if (!disk->target) {
		if (disk->cdrom && dp->empty_tray_ok) {
			if (dp->access_rw_given)
				return disk_error(dp->err, dp->errlen, dp->where, "a cdrom is read-only: "
						  "access rw cannot be used with devtype=cdrom");
			if (!disk->vdev)
				return disk_error(dp->err, dp->errlen, dp->where,
						  "no vdev given (like vdev=hdc)");
			disk->readonly = true;
			return vdev_to_devid(disk->vdev, &disk->devid, why, sizeof(why))
				? disk_error(dp->err, dp->errlen, dp->where, "invalid vdev '%s': %s",
					     disk->vdev, why) : 0;
		}
		if (disk->cdrom)
			return disk_error(dp->err, dp->errlen, dp->where, "no target given: empty cdrom "
					  "drives are not supported yet");
		return disk_error(dp->err, dp->errlen, dp->where, "no target given (the image file or "
				  "block device, like target=/srv/guest.img)");
	}
	if (strchr(disk->target, '\n'))
		return disk_error(dp->err, dp->errlen, dp->where, "target '%s': a newline cannot be "
				  "passed to the VMM", disk->target);
	if (!disk->vdev)
		return disk_error(dp->err, dp->errlen, dp->where, "no vdev given (like vdev=xvda)");
	if (vdev_to_devid(disk->vdev, &disk->devid, why, sizeof(why)))
		return disk_error(dp->err, dp->errlen, dp->where, "invalid vdev '%s': %s", disk->vdev,
				  why);
	if (disk->cdrom) {
		if (dp->access_rw_given)
			return disk_error(dp->err, dp->errlen, dp->where, "a cdrom is read-only: "
					  "access rw cannot be used with devtype=cdrom");
		disk->readonly = true;
	}
	return 0;
}

static int parse_spec(const char *spec, const char *where, bool empty_tray_ok, struct xl_disk *disk,
		      FILE *warn, char *err, size_t errlen)
{
	struct disk_parse dp = { .disk = disk, .warn = warn, .err = err, .errlen = errlen,
				 .empty_tray_ok = empty_tray_ok };
	char *copy = strdup(spec), *p;
	int r = 0;

	memset(disk, 0, sizeof(*disk));
	if (errlen)
		err[0] = '\0';
	disk->where = strdup(where ? where : "");
	dp.where = disk->where;
	if (!copy || !disk->where) {
		r = disk_error(err, errlen, where, "out of memory");
		goto out;
	}
	for (p = copy; !r;) {
		char *item, *comma, *end;

		while (is_blank(*p))
			p++;
		if (!*p)
			break;
		/* target= takes the rest, blanks and commas included; it may follow an empty
		 * positional target (Xen's one exception to "each parameter once"). */
		if (!strncmp(p, "target=", 7)) {
			if (dp.disk->target)
				r = disk_error(err, errlen, dp.where, "'target' is given twice");
			else
				r = set_string(&dp, &disk->target, p + 7);
			dp.given[POS_TARGET] = true;
			break;
		}
		item = p;
		comma = strchr(p, ',');
		if (comma) {
			*comma = '\0';
			p = comma + 1;
		} else {
			p += strlen(p);
		}
		end = item + strlen(item);
		while (end > item && is_blank(end[-1]))
			*--end = '\0';
		r = parse_item(&dp, item);
	}
	if (!r)
		r = finish(&dp);
out:
	free(copy);
	if (r)
		xl_disk_free(disk);
	return r;
}

int xl_disk_parse(const char *spec, const char *where, struct xl_disk *disk, FILE *warn,
		  char *err, size_t errlen)
{
	return parse_spec(spec, where, false, disk, warn, err, errlen);
}

int xl_disk_parse_hvm(const char *spec, const char *where, struct xl_disk *disk, FILE *warn,
		      char *err, size_t errlen)
{
	return parse_spec(spec, where, true, disk, warn, err, errlen);
}

void xl_disk_free(struct xl_disk *disk)
{
	free(disk->vdev);
	free(disk->target);
	free(disk->where);
	memset(disk, 0, sizeof(*disk));
}

const char *xl_disk_access_name(const struct xl_disk *disk)
{
	return disk->readonly ? "ro" : "rw";
}

const char *xl_disk_devtype_name(const struct xl_disk *disk)
{
	return disk->cdrom ? "cdrom" : "disk";
}

/* ---- hvm's IDE drives ------------------------------------------------------------------------ */

/* The whole-disk numbers of hda..hdd and xvda..xvdd (xen-vbd-interface(7)): IDE majors 3 and 22
 * with unit << 6, and Xen's 202 with disk << 4. */
#define IDE_DEVID(major, unit) (((major) << 8) | ((unit) << 6))
#define XVD_DEVID(disk) ((202 << 8) | ((disk) << 4))
static const unsigned int ide_devids[4][2] = {
	{ IDE_DEVID(3, 0), XVD_DEVID(0) }, { IDE_DEVID(3, 1), XVD_DEVID(1) },
	{ IDE_DEVID(22, 0), XVD_DEVID(2) }, { IDE_DEVID(22, 1), XVD_DEVID(3) },
};

int xl_disk_ide_index(const struct xl_disk *disk)
{
	for (int i = 0; i < 4; i++)
		if (disk->devid == ide_devids[i][0] || disk->devid == ide_devids[i][1])
			return i;
	for (int i = 0; i < 4; i++)
		if ((disk->devid & ~0x3fu) == ide_devids[i][0])
			return -2;        /* hdaN: same major and unit, a partition */
	return -1;
}

const char *xl_disk_ide_slot_name(int index)
{
	static const char *const names[] = { "primary master", "primary slave", "secondary master",
					     "secondary slave" };

	return index >= 0 && index < 4 ? names[index] : "no IDE drive";
}

char *xl_disk_format_ide(const struct xl_disk *disk, int index, char *err, size_t errlen)
{
	char *out = NULL;

	if (index < 0 || index > 3) {
		disk_error(err, errlen, disk->where, "vdev %s is no IDE drive", disk->vdev);
		return NULL;
	}
	if (disk->target && (disk->target[0] != '/' || strchr(disk->target, '\n'))) {
		disk_error(err, errlen, disk->where, "target '%s' is not an absolute path",
			   disk->target);
		return NULL;
	}
	if (!disk->target && !disk->cdrom) {
		disk_error(err, errlen, disk->where, "no target given");
		return NULL;
	}
	if (asprintf(&out, "hd%c,%s,%s,%s", 'a' + index, disk->target ? disk->target : "",
		     disk->readonly ? "r" : "w", disk->cdrom ? "cdrom" : "disk") < 0) {
		disk_error(err, errlen, disk->where, "out of memory");
		return NULL;
	}
	return out;
}

/* ---- the host ------------------------------------------------------------------------------- */

/* Against the cwd, without resolving symbolic links: the target stays the name the user gave. */
static int make_absolute(const char *path, char *out, size_t len)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return (size_t)snprintf(out, len, "%s", path) < len ? 0 : -1;
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	return (size_t)snprintf(out, len, "%s/%s", cwd, path) < len ? 0 : -1;
}

int xl_disk_resolve_target(struct xl_disk *disk, char *err, size_t errlen)
{
	struct stat *st = &disk->st;
	char path[PATH_MAX], *copy;

	if (!disk->target)
		return disk_error(err, errlen, disk->where, "no target given");
	if (make_absolute(disk->target, path, sizeof(path)))
		return disk_error(err, errlen, disk->where, "target '%s': path too long", disk->target);
	if (stat(path, st))
		return disk_error(err, errlen, disk->where, "target %s: %s", path, strerror(errno));
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode))
		return disk_error(err, errlen, disk->where, "target %s is neither a regular file nor "
				  "a block device", path);
	if (access(path, disk->readonly ? R_OK : R_OK | W_OK))
		return disk_error(err, errlen, disk->where, "target %s cannot be opened %s: %s", path,
				  disk->readonly ? "read-only" : "read-write", strerror(errno));
	copy = strdup(path);
	if (!copy)
		return disk_error(err, errlen, disk->where, "out of memory");
	free(disk->target);
	disk->target = copy;
	disk->resolved = true;
	return 0;
}

bool xl_disk_same_target(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode))
		return a->st_rdev == b->st_rdev;
	return !S_ISBLK(a->st_mode) && !S_ISBLK(b->st_mode) && a->st_dev == b->st_dev &&
	       a->st_ino == b->st_ino;
}

char *xl_disk_format_spec(const struct xl_disk *disk)
{
	char *out = NULL;

	if (asprintf(&out, "vdev=%s,devid=%u,access=%s,devtype=%s,target=%s", disk->vdev,
		     disk->devid, xl_disk_access_name(disk), xl_disk_devtype_name(disk),
		     disk->target ? disk->target : "") < 0)
		return NULL;
	return out;
}

/* ---- vbd-list ------------------------------------------------------------------------------- */

static bool parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* The next blank-separated word of *p, NUL-terminated in place; NULL at the end. */
static char *next_word(char **p)
{
	char *s = *p, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return NULL;
	w = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	if (*s)
		*s++ = '\0';
	*p = s;
	return w;
}

static int parse_vbd_line(char *line, struct xl_vbd_info *info)
{
	char *f[6], *p = line;
	long devid, state, evtchn, ring_ref;
	unsigned int number;
	char why[256];

	line[strcspn(line, "\r")] = '\0';
	for (int i = 0; i < 6; i++)
		if (!(f[i] = next_word(&p)))
			return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p || !parse_int(f[0], 0, UINT_MAX, &devid) || strlen(f[1]) > DISK_VDEV_MAX ||
	    !parse_int(f[2], -1, INT_MAX, &state) || !parse_int(f[3], -1, INT_MAX, &evtchn) ||
	    !parse_int(f[4], -1, INT_MAX, &ring_ref))
		return -1;
	/* The VMM's vdev must be the name of its devid. */
	if (vdev_to_devid(f[1], &number, why, sizeof(why)) || number != devid)
		return -1;
	if (!strcmp(f[5], "rw") || !strcmp(f[5], "w"))
		info->readonly = false;
	else if (!strcmp(f[5], "ro") || !strcmp(f[5], "r"))
		info->readonly = true;
	else
		return -1;
	info->target = strdup(p);
	if (!info->target)
		return -1;
	info->devid = (unsigned int)devid;
	snprintf(info->vdev, sizeof(info->vdev), "%s", f[1]);
	info->state = (int)state;
	info->evtchn = (int)evtchn;
	info->ring_ref = (int)ring_ref;
	return 0;
}

static int vbd_line(char *line, void *record)
{
	return parse_vbd_line(line, record);
}

static void vbd_release(void *records, size_t n)
{
	xl_vbd_infos_free(records, n);
}

int xl_vbd_list_parse(const char *text, struct xl_vbd_info **out, size_t *n, char *err,
		      size_t errlen)
{
	void *records;
	int r = xl_reply_parse_lines(text, "vbd-list", sizeof(**out), vbd_line, vbd_release,
				     "devid vdev state evtchn ring-ref access target", &records, n, err, errlen);

	*out = records;
	return r;
}

void xl_vbd_infos_free(struct xl_vbd_info *infos, size_t n)
{
	for (size_t i = 0; infos && i < n; i++)
		free(infos[i].target);
	free(infos);
}
