/* What the block commands share with the rest of xl: a domain's disks as its VMM lists them, and
 * the check that a target is not already in use by a running domain (docs/blkif.md). */
#ifndef XENITH_XL_BLOCK_H
#define XENITH_XL_BLOCK_H

#include <stddef.h>
#include "xl/disk_config.h"
#include "xl/xl_domain.h"

/* `vbd-list` of domain domid (>= 1), parsed: 0 with a malloc'd *out (NULL when there are none;
 * free with xl_vbd_infos_free), or -errno as xl_domain_request returns it (-ENOSYS from a VMM
 * without block devices), with the message in err. */
int xl_vbd_list(struct xl_ctx *ctx, unsigned int domid, struct xl_vbd_info **out, size_t *n,
		char *err, size_t errlen);

/* Refuses a disk whose target (disks[i].st, from xl_disk_resolve_target) is attached read-write to
 * a running domain, or attached at all when the disk is read-write.  Files are the same when
 * their st_dev and st_ino are, block devices when their st_rdev is: never by the path string.
 * The domains the disk index (lib/disk_index.h) names for a target are asked for their `vbd-list`
 * (every domain, once, in a run directory not yet indexed); a VMM without block devices (ENOSYS)
 * or one that is gone is skipped, one that cannot be asked is warned about on stderr.
 * 0, or -1 with "/path is already attached read-write to domain 'name'" (or "... read-only ...")
 * in err. */
int xl_disks_check_in_use(struct xl_ctx *ctx, const struct xl_disk *disks, size_t n, char *err,
			  size_t errlen);

/* Records in the disk index that domain `name` holds disks[] (their targets resolved, or stat'ed
 * here); a failure is warned about on stderr.  xl create and block-attach call it. */
void xl_disks_index(struct xl_ctx *ctx, const char *name, const struct xl_disk *disks, size_t n);

/* A live domain's disks as `xl list -l` shows them: the VMM's list, with each devtype from the
 * backend's device-type node in xenstore (when xs is not NULL).  Returns as xl_vbd_list. */
struct xs_client;
int xl_domain_disks(struct xl_ctx *ctx, struct xs_client *xs, unsigned int domid,
		    struct xl_vbd_info **out, size_t *n, char *err, size_t errlen);

/* A deep copy of src into dst (free with xl_disk_free): 0, or -1 when out of memory. */
int xl_disk_copy(struct xl_disk *dst, const struct xl_disk *src);

/* xl block-attach of `disk` (its target resolved and checked here, as block-attach does) to domain
 * domid called `name`, and block-detach of the disk `which` names (a DevId or a vdev): as
 * xl_device_attach and xl_device_detach (xl_device.h). */
int xl_block_attach(struct xl_ctx *ctx, unsigned int domid, const char *name, const struct xl_disk *disk,
		    char *err, size_t errlen);
int xl_block_detach(struct xl_ctx *ctx, unsigned int domid, const char *name, const char *which,
		    char *err, size_t errlen);

#endif
