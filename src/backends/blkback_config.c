/* The --disk / vbd-attach syntax (docs/blkif.md) and Xen's virtual-device numbers
 * (xen-vbd-interface(7)):
 *   xvdX[N]  (202 << 8) | (disk << 4) | N     disk < 16, N < 16
 *            (1 << 28) | (disk << 8) | N      beyond, N < 256
 *   hdX[N]   IDE: hda, hdb on major 3, hdc, hdd on 22: (major << 8) | (unit << 6) | N, N < 64
 *   sdX[N]   (8 << 8) | (disk << 4) | N       disk < 16, N < 16
 * Disk letters count as a spreadsheet's columns: a..z, then aa (26), ab ... */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backends/blkback.h"
#include "lib/error.h"

/* "a" -> 0, "z" -> 25, "aa" -> 26; the letters' end in *end.  -1 if none or too many. */
static long disk_index(const char *s, const char **end)
{
	long n = 0;
	const char *p = s;

	while (*p >= 'a' && *p <= 'z') {
		if (p - s >= 4)
			return -1;
		n = n * 26 + (*p - 'a' + 1);
		p++;
	}
	*end = p;
	return p == s ? -1 : n - 1;
}

/* The partition number after the letters: 0 if none; -1 if not a number below max. */
static long partition(const char *s, long max)
{
	char *end;

	if (!*s)
		return 0;
	if (*s < '1' || *s > '9')
		return -1;
	errno = 0;
	long n = strtol(s, &end, 10);
	return errno || *end || n >= max ? -1 : n;
}

int blkback_vdev_number(const char *vdev)
{
	const char *rest;
	long disk, part;

	if (!strncmp(vdev, "xvd", 3)) {
		if ((disk = disk_index(vdev + 3, &rest)) < 0)
			return -1;
		if (disk < 16)
			return (part = partition(rest, 16)) < 0 ? -1 : (int)((202 << 8) | (disk << 4) | part);
		if (disk >= 1 << 20)
			return -1;
		return (part = partition(rest, 256)) < 0 ? -1 : (int)((1L << 28) | (disk << 8) | part);
	}
	if (!strncmp(vdev, "hd", 2)) {
		if ((disk = disk_index(vdev + 2, &rest)) < 0 || disk > 3 || (part = partition(rest, 64)) < 0)
			return -1;
		return (int)(((disk < 2 ? 3 : 22) << 8) | ((disk & 1) << 6) | part);
	}
	if (!strncmp(vdev, "sd", 2)) {
		if ((disk = disk_index(vdev + 2, &rest)) < 0 || disk >= 16 || (part = partition(rest, 16)) < 0)
			return -1;
		return (int)((8 << 8) | (disk << 4) | part);
	}
	return -1;
}

int blkback_config_parse(const char *spec, struct blkback_config *c, char *err, size_t errlen)
{
	char buf[BLKBACK_SPEC_MAX + 1];
	long devid = -1;
	bool has_vdev = false, has_target = false;

	*c = (struct blkback_config){ .devid = -1 };
	if (strlen(spec) > BLKBACK_SPEC_MAX) {
		ERR_SET(err, errlen, "disk spec longer than %d characters", BLKBACK_SPEC_MAX);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *kv = buf; kv && *kv;) {
		while (*kv == ' ')
			kv++;
		/* target= takes the rest of the spec, commas and all. */
		if (!strncmp(kv, "target=", 7)) {
			char *v = kv + 7;
			if (!*v) {
				ERR_SET(err, errlen, "disk target is empty");
				return -1;
			}
			if (strlen(v) >= sizeof(c->target)) {
				ERR_SET(err, errlen, "disk target is longer than %zu characters", sizeof(c->target) - 1);
				return -1;
			}
			memcpy(c->target, v, strlen(v) + 1);
			has_target = true;
			break;
		}
		char *comma = strchr(kv, ',');
		if (comma)
			*comma = '\0';
		char *next = comma ? comma + 1 : NULL;
		if (!*kv) {
			kv = next;
			continue;
		}
		char *v = strchr(kv, '=');
		if (!v) {
			ERR_SET(err, errlen, "disk option '%s' has no value (key=value)", kv);
			return -1;
		}
		*v++ = '\0';
		if (!strcmp(kv, "vdev")) {
			if (strlen(v) >= sizeof(c->vdev) || blkback_vdev_number(v) < 0) {
				ERR_SET(err, errlen, "disk vdev '%s' is not a virtual device name (xvda, hdc, sdb, ...)", v);
				return -1;
			}
			memcpy(c->vdev, v, strlen(v) + 1);
			has_vdev = true;
		} else if (!strcmp(kv, "devid")) {
			char *end;
			errno = 0;
			devid = strtol(v, &end, 10);
			if (errno || end == v || *end || devid < 0 || devid > INT32_MAX) {
				ERR_SET(err, errlen, "disk devid '%s' is not a number", v);
				return -1;
			}
		} else if (!strcmp(kv, "access")) {
			if (!strcmp(v, "rw") || !strcmp(v, "w"))
				c->readonly = false;
			else if (!strcmp(v, "ro") || !strcmp(v, "r"))
				c->readonly = true;
			else {
				ERR_SET(err, errlen, "disk access '%s' is not rw, w, ro or r", v);
				return -1;
			}
		} else if (!strcmp(kv, "devtype")) {
			if (!strcmp(v, "cdrom"))
				c->cdrom = true;
			else if (strcmp(v, "disk")) {
				ERR_SET(err, errlen, "disk devtype '%s' is not disk or cdrom", v);
				return -1;
			}
		} else if (!strcmp(kv, "format")) {
			if (strcmp(v, "raw")) {
				ERR_SET(err, errlen, "disk format '%s' is not supported (only raw)", v);
				return -1;
			}
		} else {
			ERR_SET(err, errlen, "unknown disk option '%s' (vdev, devid, access, devtype, format, target)", kv);
			return -1;
		}
		kv = next;
	}
	if (!has_vdev || !has_target) {
		ERR_SET(err, errlen, "disk spec '%s' needs vdev= and target= (target last)", spec);
		return -1;
	}
	c->devid = blkback_vdev_number(c->vdev);
	if (devid >= 0 && devid != c->devid) {
		ERR_SET(err, errlen, "disk devid %ld is not %s's number (%d)", devid, c->vdev, c->devid);
		return -1;
	}
	if (c->cdrom)
		c->readonly = true;
	return 0;
}
