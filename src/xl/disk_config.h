/* Virtual block devices as xl understands them (xl-disk-configuration(5), docs/blkif.md): parsing
 * one disk spec (its vdev by lib/vdev.h, the VMM's parser too), the host checks on a target, the
 * `--disk` / `vbd-attach` text, and the VMM's `vbd-list` lines. */
#ifndef XENITH_DISK_CONFIG_H
#define XENITH_DISK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include "lib/domain_limits.h"
#include "lib/vdev.h"

#define DISK_MAX DOMAIN_MAX_DISKS /* disks per domain: the VMM's limit, shared (lib/domain_limits.h) */
#define DISK_VDEV_MAX VDEV_NAME_MAX /* the VMM's too (lib/vdev.h) */

struct xl_disk {
	char *vdev;              /* as written ("xvda", "hdc", "d0p1"), ":cdrom" suffix dropped */
	unsigned int devid;      /* its virtual-device number, which is the devid */
	bool readonly;           /* access=ro, or a cdrom */
	bool cdrom;              /* devtype=cdrom */
	char *target;            /* as written; absolute after xl_disk_resolve_target */
	char *where;             /* "t.cfg:5: disk 0: " or "": the prefix of later messages */
	bool resolved;           /* xl_disk_resolve_target succeeded: st is the target's */
	struct stat st;
};

/* Parses one DISKSPEC: comma-separated positional parameters (target, format, vdev, access, in
 * that order, each taking the next one not yet given), key=value pairs and flags (cdrom, discard,
 * no-discard, direct-io-safe); `target=` takes the rest of the spec, commas and all.  xend's
 * prefixes (phy:, file:, tap:aio:, raw:, ...) and the vdev suffix ":cdrom" are understood.
 * Every message is prefixed by `where`; warnings (flags without effect) go to `warn` (may be
 * NULL).  0, or -1 with the message in err; on error *disk is left empty, and xl_disk_free is
 * always safe. */
int xl_disk_parse(const char *spec, const char *where, struct xl_disk *disk, FILE *warn,
		  char *err, size_t errlen);
void xl_disk_free(struct xl_disk *disk);
/* xl_disk_parse for an hvm domain's config, where a cdrom may have no target (an empty tray:
 * target NULL). */
int xl_disk_parse_hvm(const char *spec, const char *where, struct xl_disk *disk, FILE *warn,
		      char *err, size_t errlen);

/* The emulated IDE drives of an hvm domain (docs/hvm.md): hda..hdd, and xvda..xvdd which Xen maps
 * to the same drives.  The drive's index (0 primary master .. 3 secondary slave), -1 for a vdev
 * that is no IDE drive (PV only: xvde and later, sdX, xvda1), or -2 for a partition of an hdX
 * (an IDE drive is a whole disk). */
int xl_disk_ide_index(const struct xl_disk *disk);
/* "primary master", ... for index 0..3. */
const char *xl_disk_ide_slot_name(int index);
/* The VMM's --ide: "hdX,PATH,r|w,disk|cdrom" (PATH empty for an empty tray; absolute otherwise,
 * so after xl_disk_resolve_target).  A malloc'd string, or NULL with err. */
char *xl_disk_format_ide(const struct xl_disk *disk, int index, char *err, size_t errlen);

/* Makes the target absolute against the cwd (symbolic links are kept, as written), checks that it
 * is a regular file or a block device that can be opened as the disk's access asks, and fills
 * disk->st.  0, or -1 with the message (prefixed by disk->where) in err. */
int xl_disk_resolve_target(struct xl_disk *disk, char *err, size_t errlen);

/* True when a and b are the same disk: the same block device (st_rdev), or the same file. */
bool xl_disk_same_target(const struct stat *a, const struct stat *b);

const char *xl_disk_access_name(const struct xl_disk *disk);   /* "rw" or "ro" */
const char *xl_disk_devtype_name(const struct xl_disk *disk);  /* "disk" or "cdrom" */

/* The VMM's spec: "vdev=V,devid=D,access=rw|ro,devtype=disk|cdrom,target=T" (target last: it may
 * hold commas).  A malloc'd string, or NULL when out of memory. */
char *xl_disk_format_spec(const struct xl_disk *disk);

/* One line of the VMM's `vbd-list`: "devid vdev state evtchn ring-ref access target" (the target
 * is the rest of the line, so it may hold blanks). */
struct xl_vbd_info {
	unsigned int devid;
	char vdev[DISK_VDEV_MAX + 1];
	int state, evtchn, ring_ref;   /* -1 where there is none yet */
	bool readonly;
	char *target;
	char devtype[8];               /* "" (unknown): xl_domain_disks reads xenstore's device-type */
};
/* Parses the reply text (lines; blank ones skipped) into a malloc'd array.  0 with *out and *n
 * (*out NULL when n is 0), or -1 with the offending line quoted in err. */
int xl_vbd_list_parse(const char *text, struct xl_vbd_info **out, size_t *n, char *err,
		      size_t errlen);
void xl_vbd_infos_free(struct xl_vbd_info *infos, size_t n);

#endif
