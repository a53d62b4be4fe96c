/* Block devices: block-attach, block-detach, block-list (docs/blkif.md), and the in-use check that
 * `xl create` shares.
 *
 * xl parses and checks a disk fully (vdev number, absolute target, the file's type and access)
 * before it asks the VMM, which owns the disks: `vbd-attach SPEC`, `vbd-detach DEVID` and
 * `vbd-list` on its control socket.
 *
 * The in-use rule is Xen's: one domain may write a disk, or any number may read it, never both.
 * xl finds who may have a target in the disk index (lib/disk_index.c), asks only those domains'
 * VMMs, and compares targets by what they are (device and inode, or the block device's number),
 * so /img, ./img and a symbolic link to it are the same target.  Two `xl` runs racing to attach the same file can both pass the check;
 * closing that would take a lock shared with the VMMs, which the plan leaves for later. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lib/disk_index.h"
#include "lib/xs_client.h"
#include "xl/xl_block.h"
#include "xl/xl_cmdtable.h"
#include "xl/xl_device.h"

#define VBD_REQUEST_TIMEOUT_MS 30000   /* detach waits for the guest to close the device */

static const struct xl_device_type vbd_device;

int xl_vbd_list(struct xl_ctx *ctx, unsigned int domid, struct xl_vbd_info **out, size_t *n,
		char *err, size_t errlen)
{
	return xl_device_list(ctx, &vbd_device, domid, (void **)out, n, err, errlen);
}

/* The first of disks[] that clashes with one of domain `dom`'s disks, said in err: -1, else 0. */
static int check_domain(const struct rundir_domain *dom, const struct xl_vbd_info *infos,
			size_t n_infos, const struct xl_disk *disks, size_t n, char *err,
			size_t errlen)
{
	for (size_t j = 0; j < n_infos; j++) {
		struct stat st;

		if (stat(infos[j].target, &st))
			continue;        /* gone from Dom0's view: it cannot be ours */
		for (size_t i = 0; i < n; i++) {
			if (!disks[i].resolved || !xl_disk_same_target(&disks[i].st, &st))
				continue;
			if (!infos[j].readonly) {
				snprintf(err, errlen, "%s is already attached read-write to domain '%s'",
					 disks[i].target, dom->name);
				return -1;
			}
			if (!disks[i].readonly) {
				snprintf(err, errlen, "%s is already attached read-only to domain '%s', so "
					 "it cannot be attached read-write", disks[i].target, dom->name);
				return -1;
			}
		}
	}
	return 0;
}

/* Domain dom's disks against disks[]: 0, 1 when its VMM is gone or knows no block devices, 2 when
 * it could not be asked (warned about), or -1 with the clash in err.  *listed, when given, gets its list (free with xl_vbd_infos_free). */
static int check_one(struct xl_ctx *ctx, const struct rundir_domain *dom, const struct xl_disk *disks,
		     size_t n, struct xl_vbd_info **listed, size_t *n_listed, char *err, size_t errlen)
{
	struct xl_vbd_info *infos = NULL;
	size_t n_infos = 0;
	char why[1024];
	int e = xl_vbd_list(ctx, dom->domid, &infos, &n_infos, why, sizeof(why)), r;

	if (e == -ENOSYS || e == -ESRCH)
		return 1;
	if (e) {
		fprintf(stderr, "xl: warning: cannot list the disks of domain %u (%s), so they "
			"are not checked: %s\n", dom->domid, dom->name, why);
		return 2;
	}
	r = check_domain(dom, infos, n_infos, disks, n, err, errlen);
	if (listed) {
		*listed = infos;
		*n_listed = n_infos;
	} else {
		xl_vbd_infos_free(infos, n_infos);
	}
	return r;
}

/* The index's one-time fill (disk_index.c): every domain is asked, as before the index, and what
 * each holds goes into the index.  Complete only if every domain answered. */
static int check_every_domain(struct xl_ctx *ctx, const struct xl_disk *disks, size_t n, char *err,
			      size_t errlen)
{
	struct rundir_domain *doms = NULL;
	size_t n_doms = 0;
	bool complete = true;
	int r = 0;

	if (rundir_list_domains(&ctx->rd, &doms, &n_doms)) {
		snprintf(err, errlen, "cannot list the running domains to check their disks");
		return -1;
	}
	for (size_t d = 0; d < n_doms && !r; d++) {
		struct xl_vbd_info *infos = NULL;
		size_t n_infos = 0;
		int e = check_one(ctx, &doms[d], disks, n, &infos, &n_infos, err, errlen);

		if (e < 0)
			r = -1;
		if (e == 2)
			complete = false;
		for (size_t j = 0; j < n_infos; j++) {
			struct stat st;

			if (!stat(infos[j].target, &st) &&
			    disk_index_add(&ctx->rd, &st, doms[d].name, infos[j].readonly))
				complete = false;
		}
		xl_vbd_infos_free(infos, n_infos);
	}
	free(doms);
	if (!r && complete)
		disk_index_mark_complete(&ctx->rd);
	return r;
}

/* Only the domains the index names for each target; an entry whose domain has ended goes. */
static int check_indexed(struct xl_ctx *ctx, const struct xl_disk *disks, size_t n, char *err,
			 size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		struct disk_index_user *users;
		size_t n_users;
		int r = 0;

		if (!disks[i].resolved)
			continue;
		if (disk_index_users(&ctx->rd, &disks[i].st, &users, &n_users))
			return check_every_domain(ctx, disks, n, err, errlen);
		for (size_t u = 0; u < n_users && !r; u++) {
			struct rundir_domain dom;

			if (users[u].readonly && disks[i].readonly)
				continue;          /* readers never clash */
			/* The name index alone: a listing on every miss would be O(N) again. */
			if (rundir_find_name(&ctx->rd, users[u].name, &dom.domid)) {
				disk_index_forget(&ctx->rd, &disks[i].st, &users[u]);
				continue;
			}
			snprintf(dom.name, sizeof(dom.name), "%s", users[u].name);
			r = check_one(ctx, &dom, &disks[i], 1, NULL, NULL, err, errlen);
			if (r == 1 && rundir_domain_name(&ctx->rd, dom.domid, dom.name, sizeof(dom.name)))
				disk_index_forget(&ctx->rd, &disks[i].st, &users[u]);   /* it ended */
		}
		free(users);
		if (r < 0)
			return -1;
	}
	return 0;
}

int xl_disks_check_in_use(struct xl_ctx *ctx, const struct xl_disk *disks, size_t n, char *err,
			  size_t errlen)
{
	if (n == 0)
		return 0;
	if (xl_ctx_rundir(ctx)) {
		snprintf(err, errlen, "cannot list the running domains to check their disks");
		return -1;
	}
	if (!disk_index_complete(&ctx->rd))
		return check_every_domain(ctx, disks, n, err, errlen);
	return check_indexed(ctx, disks, n, err, errlen);
}

void xl_disks_index(struct xl_ctx *ctx, const char *name, const struct xl_disk *disks, size_t n)
{
	if (xl_ctx_rundir(ctx))
		return;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		int r;

		if (disks[i].resolved)
			st = disks[i].st;
		else if (stat(disks[i].target, &st))
			continue;          /* nothing there, so nothing anyone could clash with */
		r = disk_index_add(&ctx->rd, &st, name, disks[i].readonly);
		if (r)
			fprintf(stderr, "xl: warning: cannot record %s of domain '%s' in the disk index "
				"(%s): a later check may miss it\n", disks[i].target, name, strerror(-r));
	}
}

static void read_devtype(struct xs_client *xs, unsigned int domid, struct xl_vbd_info *info)
{
	char path[128], *value = NULL;
	size_t len;

	if (!xs)
		return;
	snprintf(path, sizeof(path), "/local/domain/0/backend/vbd/%u/%u/device-type", domid,
		 info->devid);
	if (!xs_read(xs, 0, path, &value, &len) && (!strcmp(value, "cdrom") || !strcmp(value, "disk")))
		snprintf(info->devtype, sizeof(info->devtype), "%s", value);
	free(value);
}

int xl_domain_disks(struct xl_ctx *ctx, struct xs_client *xs, unsigned int domid,
		    struct xl_vbd_info **out, size_t *n, char *err, size_t errlen)
{
	int r = xl_vbd_list(ctx, domid, out, n, err, errlen);

	for (size_t i = 0; !r && i < *n; i++)
		read_devtype(xs, domid, &(*out)[i]);
	return r;
}

/* ---- the commands --------------------------------------------------------------------------- */

static void free_disk(void *dev)
{
	xl_disk_free(dev);
	free(dev);
}

static int parse_attach(int argc, char **argv, void **dev)
{
	struct xl_disk *disk = calloc(1, sizeof(*disk));
	char err[1024], *spec = xl_join_args(argc, argv);
	int status = EXIT_FAILURE;

	*dev = disk;
	if (!disk || !spec)
		fprintf(stderr, "xl: out of memory\n");
	else if (xl_disk_parse(spec, "block-attach: ", disk, stderr, err, sizeof(err)) ||
		 xl_disk_resolve_target(disk, err, sizeof(err)))
		fprintf(stderr, "xl: %s\n", err);
	else
		status = 0;
	free(spec);
	return status;
}

static int make_spec(struct xl_ctx *ctx, unsigned int domid, void *dev, const void *list, size_t n,
		     char **spec, char *err, size_t errlen)
{
	const struct xl_vbd_info *infos = list;
	struct xl_disk *disk = dev;
	char name[DOMAIN_NAME_MAX + 1];

	for (size_t i = 0; i < n; i++) {
		if (infos[i].devid == disk->devid) {
			snprintf(err, errlen, "domain %u already has a disk at vdev %s (devid %u)", domid,
				 infos[i].vdev, infos[i].devid);
			return -1;
		}
	}
	if (xl_disks_check_in_use(ctx, disk, 1, err, errlen))
		return -1;
	/* Indexed before the VMM has it: an attach that then fails leaves an entry its VMM denies. */
	if (!rundir_domain_name(&ctx->rd, domid, name, sizeof(name)))
		xl_disks_index(ctx, name, disk, 1);
	*spec = xl_disk_format_spec(disk);
	if (!*spec) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* A DevId (all digits) or a vdev name to the devid in the list; -1 if none. */
static long find_device(const char *which, const void *list, size_t n)
{
	const struct xl_vbd_info *infos = list;
	unsigned int devid;
	char why[256], *end;

	if (*which >= '0' && *which <= '9') {
		unsigned long v;

		errno = 0;
		v = strtoul(which, &end, 10);
		if (errno || *end || v > UINT32_MAX)
			return -1;
		devid = (unsigned int)v;
	} else if (vdev_to_devid(which, &devid, why, sizeof(why))) {
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (infos[i].devid == devid)
			return devid;
	return -1;
}

/* xl's layout; Vdev is the devid, handle the frontend's domid, as xl prints them. */
static void print_header(void)
{
	printf("%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n", "Vdev", "BE", "handle", "state", "evt-ch",
	       "ring-ref", "BE-path");
}

static void print_row(unsigned int domid, const void *list, size_t i)
{
	const struct xl_vbd_info *info = (const struct xl_vbd_info *)list + i;
	char be_path[128];

	snprintf(be_path, sizeof(be_path), "/local/domain/0/backend/vbd/%u/%u", domid, info->devid);
	printf("%-5u %-3d %-6u %-5d %-6d %-8d %-30s\n", info->devid, 0, domid, info->state, info->evtchn,
	       info->ring_ref, be_path);
}

static int parse_list(const char *text, void **out, size_t *n, char *err, size_t errlen)
{
	return xl_vbd_list_parse(text, (struct xl_vbd_info **)out, n, err, errlen);
}

static void free_list(void *records, size_t n)
{
	xl_vbd_infos_free(records, n);
}

static const struct option detach_opts[] = {
	{ "force", no_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static const struct xl_device_type vbd_device = {
	.request = "vbd", .attach_cmd = "block-attach", .detach_cmd = "block-detach",
	.list_cmd = "block-list", .attach_args = 2,
	.attach_what = "attach a block device to", .detach_what = "detach a block device from",
	.plural = "disks", .not_found = "Error: Device %s not connected.\n",
	/* -f: the VMM's detach is always the safe one; see the help text. */
	.detach_opts = "f", .detach_longopts = detach_opts,
	.timeout_ms = VBD_REQUEST_TIMEOUT_MS,
	.parse_list = parse_list, .free_list = free_list, .parse_args = parse_attach,
	.make_spec = make_spec, .free_dev = free_disk, .find = find_device,
	.print_header = print_header, .print_row = print_row,
};

int xl_disk_copy(struct xl_disk *dst, const struct xl_disk *src)
{
	*dst = *src;
	dst->vdev = src->vdev ? strdup(src->vdev) : NULL;
	dst->target = src->target ? strdup(src->target) : NULL;
	dst->where = src->where ? strdup(src->where) : NULL;
	if ((src->vdev && !dst->vdev) || (src->target && !dst->target) || (src->where && !dst->where)) {
		xl_disk_free(dst);
		return -1;
	}
	return 0;
}

int xl_block_attach(struct xl_ctx *ctx, unsigned int domid, const char *name, const struct xl_disk *disk,
		    char *err, size_t errlen)
{
	struct xl_disk copy;
	int r;

	if (xl_disk_copy(&copy, disk)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (xl_disk_resolve_target(&copy, err, errlen))
		r = -EINVAL;
	else
		r = xl_device_attach(ctx, &vbd_device, domid, name, &copy, err, errlen);
	xl_disk_free(&copy);
	return r;
}

int xl_block_detach(struct xl_ctx *ctx, unsigned int domid, const char *name, const char *which,
		    char *err, size_t errlen)
{
	return xl_device_detach(ctx, &vbd_device, domid, name, which, err, errlen);
}

int main_block_attach(struct xl_ctx *ctx, int argc, char **argv)
{
	return xl_device_attach_main(ctx, &vbd_device, argc, argv);
}

int main_block_detach(struct xl_ctx *ctx, int argc, char **argv)
{
	return xl_device_detach_main(ctx, &vbd_device, argc, argv);
}

int main_block_list(struct xl_ctx *ctx, int argc, char **argv)
{
	return xl_device_list_main(ctx, &vbd_device, argc, argv);
}
