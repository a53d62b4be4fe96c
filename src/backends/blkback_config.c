/* The --disk / vbd-attach syntax (docs/blkif.md); vdev names are Xen's virtual-device names, read
 * by the same parser xl uses (lib/vdev.c), so whatever xl accepts the VMM accepts too. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backends/blkback.h"
#include "lib/error.h"
#include "lib/vdev.h"

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
			unsigned int number;
			char why[256];
			if (vdev_to_devid(v, &number, why, sizeof(why))) {
				ERR_SET(err, errlen, "disk vdev '%.*s%s' is not a virtual device name: %s",
					VDEV_NAME_MAX, v, strlen(v) > VDEV_NAME_MAX ? "..." : "", why);
				return -1;
			}
			memcpy(c->vdev, v, strlen(v) + 1);     /* at most VDEV_NAME_MAX: it parsed */
			c->devid = (int)number;
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
	if (devid >= 0 && devid != c->devid) {
		ERR_SET(err, errlen, "disk devid %ld is not %s's number (%d)", devid, c->vdev, c->devid);
		return -1;
	}
	if (c->cdrom)
		c->readonly = true;
	return 0;
}

int blkback_config_check(const struct blkback_config *c, char *err, size_t errlen)
{
	unsigned int number;
	char why[256];

	if (memchr(c->vdev, '\0', sizeof(c->vdev)) == NULL || memchr(c->target, '\0', sizeof(c->target)) == NULL) {
		ERR_SET(err, errlen, "disk vdev or target is not a string");
		return -1;
	}
	if (vdev_to_devid(c->vdev, &number, why, sizeof(why))) {
		ERR_SET(err, errlen, "disk vdev '%s' is not a virtual device name: %s", c->vdev, why);
		return -1;
	}
	if ((long)number != c->devid) {
		ERR_SET(err, errlen, "disk devid %d is not %s's number (%u)", c->devid, c->vdev, number);
		return -1;
	}
	if (!c->target[0]) {
		ERR_SET(err, errlen, "disk target is empty");
		return -1;
	}
	if (c->cdrom && !c->readonly) {
		ERR_SET(err, errlen, "disk %s is a cdrom but not read-only", c->vdev);
		return -1;
	}
	return 0;
}
