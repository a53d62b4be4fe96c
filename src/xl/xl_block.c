/* Block devices: block-attach, block-detach, block-list (docs/blkif.md), and the in-use check that
 * `xl create` shares.
 *
 * xl parses and checks a disk fully (vdev number, absolute target, the file's type and access)
 * before it asks the VMM, which owns the disks: `vbd-attach SPEC`, `vbd-detach DEVID` and
 * `vbd-list` on its control socket.
 *
 * The in-use rule is Xen's: one domain may write a disk, or any number may read it, never both.
 * xl finds who has what by asking every running domain's VMM, and compares targets by what they
 * are (device and inode, or the block device's number), so /img, ./img and a symbolic link to it
 * are the same target.  Two `xl` runs racing to attach the same file can both pass the check;
 * closing that would take a lock shared with the VMMs, which the plan leaves for later. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lib/xs_client.h"
#include "xl/xl_block.h"
#include "xl/xl_cmdtable.h"

#define VBD_REQUEST_TIMEOUT_MS 30000   /* detach waits for the guest to close the device */
#define LIST_TIMEOUT_MS 5000
#define LIST_REPLY_MAX 65536

int xl_vbd_list(struct xl_ctx *ctx, unsigned int domid, struct xl_vbd_info **out, size_t *n,
		char *err, size_t errlen)
{
	char *reply = malloc(LIST_REPLY_MAX);
	int r;

	*out = NULL;
	*n = 0;
	if (!reply) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = xl_domain_request(ctx, domid, "vbd-list", LIST_TIMEOUT_MS, reply, LIST_REPLY_MAX);
	if (r)
		snprintf(err, errlen, "%s", reply);
	else if (xl_vbd_list_parse(reply, out, n, err, errlen))
		r = -EPROTO;
	free(reply);
	return r;
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

int xl_disks_check_in_use(struct xl_ctx *ctx, const struct xl_disk *disks, size_t n, char *err,
			  size_t errlen)
{
	struct rundir_domain *doms = NULL;
	size_t n_doms = 0;
	int r = 0;

	if (n == 0)
		return 0;
	if (xl_ctx_rundir(ctx) || rundir_list_domains(&ctx->rd, &doms, &n_doms)) {
		snprintf(err, errlen, "cannot list the running domains to check their disks");
		return -1;
	}
	for (size_t d = 0; d < n_doms && !r; d++) {
		struct xl_vbd_info *infos = NULL;
		size_t n_infos = 0;
		char why[1024];
		int e = xl_vbd_list(ctx, doms[d].domid, &infos, &n_infos, why, sizeof(why));

		if (e == -ENOSYS || e == -ESRCH)
			continue;
		if (e) {
			fprintf(stderr, "xl: warning: cannot list the disks of domain %u (%s), so they "
				"are not checked: %s\n", doms[d].domid, doms[d].name, why);
			continue;
		}
		if (check_domain(&doms[d], infos, n_infos, disks, n, err, errlen))
			r = -1;
		xl_vbd_infos_free(infos, n_infos);
	}
	free(doms);
	return r;
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

/* The disk list of a domain, with the usual complaints: 0, or the exit status. */
static int list_or_complain(struct xl_ctx *ctx, const char *qualifier, unsigned int domid,
			    struct xl_vbd_info **infos, size_t *n)
{
	char err[1024];
	int r = xl_vbd_list(ctx, domid, infos, n, err, sizeof(err));

	if (r == -ESRCH) {
		fprintf(stderr, "xl: domain '%s' does not exist\n", qualifier);
		return EXIT_FAILURE;
	}
	if (r) {
		fprintf(stderr, "xl: cannot list the disks of domain %u: %s\n", domid, err);
		return EXIT_FAILURE;
	}
	return 0;
}

int main_block_attach(struct xl_ctx *ctx, int argc, char **argv)
{
	struct xl_disk disk = { 0 };
	struct xl_vbd_info *infos = NULL;
	char name[DOMAIN_NAME_MAX + 1], err[1024], *spec = NULL;
	unsigned int domid;
	size_t n = 0;
	int opt, status;

	while ((opt = xl_getopt(argc, argv, "", NULL, "block-attach", 2, &status)) != -1)
		if (opt == XL_OPT_STOP)
			return status;
	status = xl_find_domain_or_complain(ctx, argv[optind], "attach a block device to", &domid, name,
			    sizeof(name));
	if (status)
		return status;
	status = EXIT_FAILURE;
	spec = xl_join_args(argc - optind - 1, argv + optind + 1);
	if (!spec)
		goto out_nomem;
	if (xl_disk_parse(spec, "block-attach: ", &disk, stderr, err, sizeof(err)) ||
	    xl_disk_resolve_target(&disk, err, sizeof(err))) {
		fprintf(stderr, "xl: %s\n", err);
		goto out;
	}
	status = list_or_complain(ctx, argv[optind], domid, &infos, &n);
	if (status)
		goto out;
	status = EXIT_FAILURE;
	for (size_t i = 0; i < n; i++) {
		if (infos[i].devid == disk.devid) {
			fprintf(stderr, "xl: domain %u already has a disk at vdev %s (devid %u)\n", domid,
				infos[i].vdev, infos[i].devid);
			goto out;
		}
	}
	if (xl_disks_check_in_use(ctx, &disk, 1, err, sizeof(err))) {
		fprintf(stderr, "xl: %s\n", err);
		goto out;
	}
	free(spec);
	spec = xl_disk_format_spec(&disk);
	if (!spec)
		goto out_nomem;
	status = xl_device_request(ctx, domid, name, argv[optind], "vbd-attach", spec,
				   "attach a block device to", VBD_REQUEST_TIMEOUT_MS);
	goto out;
out_nomem:
	fprintf(stderr, "xl: out of memory\n");
out:
	free(spec);
	xl_vbd_infos_free(infos, n);
	xl_disk_free(&disk);
	return status;
}

/* A DevId (all digits) or a vdev name to the devid in the list; -1 if none. */
static long find_device(const char *which, const struct xl_vbd_info *infos, size_t n)
{
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

int main_block_detach(struct xl_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct xl_vbd_info *infos = NULL;
	char name[DOMAIN_NAME_MAX + 1], request[64], reply[1024];
	unsigned int domid;
	size_t n = 0;
	long devid;
	int opt, status, r;

	while ((opt = xl_getopt(argc, argv, "f", opts, "block-detach", 2, &status)) != -1) {
		if (opt == XL_OPT_STOP)
			return status;
		/* -f: the VMM's detach is always the safe one; see the help text. */
	}
	status = xl_find_domain_or_complain(ctx, argv[optind], "detach a block device from", &domid, name,
			    sizeof(name));
	if (status)
		return status;
	status = list_or_complain(ctx, argv[optind], domid, &infos, &n);
	if (status)
		goto out;
	status = EXIT_FAILURE;
	devid = find_device(argv[optind + 1], infos, n);
	if (devid < 0) {
		fprintf(stderr, "Error: Device %s not connected.\n", argv[optind + 1]);
		goto out;
	}
	snprintf(request, sizeof(request), "vbd-detach %ld", devid);
	r = xl_domain_request(ctx, domid, request, VBD_REQUEST_TIMEOUT_MS, reply, sizeof(reply));
	if (r == -ESRCH) {
		fprintf(stderr, "xl: domain '%s' does not exist\n", argv[optind]);
		goto out;
	}
	if (r) {
		fprintf(stderr, "xl: cannot detach vbd %ld from domain %u (%s): %s\n", devid, domid,
			name, reply);
		goto out;
	}
	status = EXIT_SUCCESS;
out:
	xl_vbd_infos_free(infos, n);
	return status;
}

int main_block_list(struct xl_ctx *ctx, int argc, char **argv)
{
	char name[DOMAIN_NAME_MAX + 1], be_path[128];
	unsigned int domid;
	int opt, status;

	while ((opt = xl_getopt(argc, argv, "", NULL, "block-list", 1, &status)) != -1)
		if (opt == XL_OPT_STOP)
			return status;
	/* xl's layout; Vdev is the devid, handle the frontend's domid, as xl prints them. */
	printf("%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n", "Vdev", "BE", "handle", "state", "evt-ch",
	       "ring-ref", "BE-path");
	for (int i = optind; i < argc; i++) {
		struct xl_vbd_info *infos = NULL;
		size_t n = 0;

		fflush(stdout);
		status = xl_find_domain_or_complain(ctx, argv[i], NULL, &domid, name, sizeof(name));
		if (status)
			return status;
		if (domid == 0)
			continue;        /* the host's own disks are not vbds */
		status = list_or_complain(ctx, argv[i], domid, &infos, &n);
		if (status)
			return status;
		for (size_t j = 0; j < n; j++) {
			snprintf(be_path, sizeof(be_path), "/local/domain/0/backend/vbd/%u/%u", domid,
				 infos[j].devid);
			printf("%-5u %-3d %-6u %-5d %-6d %-8d %-30s\n", infos[j].devid, 0, domid,
			       infos[j].state, infos[j].evtchn, infos[j].ring_ref, be_path);
		}
		xl_vbd_infos_free(infos, n);
	}
	return EXIT_SUCCESS;
}
