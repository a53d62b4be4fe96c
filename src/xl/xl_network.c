/* Network devices: network-attach, network-detach, network-list (docs/netif.md).
 *
 * xl resolves every default (MAC, bridge, script path) and checks the bridge before it asks the
 * VMM, so the VMM gets a complete spec and a vif never half-appears for a mistake xl could see.
 * The VMM owns the vifs: `vif-attach SPEC`, `vif-detach DEVID` and `vif-list` on its control
 * socket; the backend's other nodes (bridge, ip, script) are read from xenstore, as libxl does. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/xs_client.h"
#include "xl/xl_cmdtable.h"
#include "xl/xl_device.h"
#include "xl/xl_network.h"

#define VIF_REQUEST_TIMEOUT_MS 30000   /* attach runs the hotplug script, detach waits on the guest */

static const struct xl_device_type vif_device;

int xl_vif_list(struct xl_ctx *ctx, unsigned int domid, struct xl_vif_info **out, size_t *n,
		char *err, size_t errlen)
{
	return xl_device_list(ctx, &vif_device, domid, (void **)out, n, err, errlen);
}

int xl_vifs_check_bridges(const struct xl_vif *vifs, size_t n, char *err, size_t errlen)
{
	const char *sysfs = getenv("XENITH_SYSFS_NET");

	for (size_t i = 0; i < n; i++)
		if (xl_vif_check_bridge(&vifs[i], sysfs && *sysfs ? sysfs : VIF_SYSFS_NET, err, errlen))
			return -1;
	return 0;
}

static char *backend_node(struct xs_client *xs, unsigned int domid, unsigned int devid,
			  const char *node)
{
	char path[128], *value = NULL;
	size_t len;

	if (!xs)
		return NULL;
	snprintf(path, sizeof(path), "/local/domain/0/backend/vif/%u/%u/%s", domid, devid, node);
	if (xs_read(xs, 0, path, &value, &len)) {
		free(value);
		return NULL;
	}
	return value;
}

int xl_domain_nics(struct xl_ctx *ctx, struct xs_client *xs, unsigned int domid,
		   struct xl_nic **out, size_t *n, char *err, size_t errlen)
{
	struct xl_vif_info *infos = NULL;
	struct xl_nic *nics;
	size_t count = 0;
	int r = xl_vif_list(ctx, domid, &infos, &count, err, errlen);

	*out = NULL;
	*n = 0;
	if (r || count == 0) {
		free(infos);
		return r;
	}
	nics = calloc(count, sizeof(*nics));
	if (!nics) {
		free(infos);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		nics[i].devid = infos[i].devid;
		memcpy(nics[i].mac, infos[i].mac, sizeof(nics[i].mac));
		memcpy(nics[i].vifname, infos[i].vifname, sizeof(nics[i].vifname));
		nics[i].bridge = backend_node(xs, domid, infos[i].devid, "bridge");
		nics[i].ip = backend_node(xs, domid, infos[i].devid, "ip");
		nics[i].script = backend_node(xs, domid, infos[i].devid, "script");
	}
	free(infos);
	*out = nics;
	*n = count;
	return 0;
}

void xl_nics_free(struct xl_nic *nics, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(nics[i].bridge);
		free(nics[i].ip);
		free(nics[i].script);
	}
	free(nics);
}

/* ---- the commands: xl_device.c, with this row ---- */

static bool has_devid(int argc, char **argv, int *devid)
{
	for (int i = 0; i < argc; i++) {
		char *end;
		long v;

		if (strncmp(argv[i], "devid=", 6))
			continue;
		v = strtol(argv[i] + 6, &end, 10);
		if (argv[i][6] < '0' || argv[i][6] > '9' || *end || v > VIF_MAX * 1024) {
			fprintf(stderr, "xl: invalid devid '%s'\n", argv[i] + 6);
			return false;
		}
		*devid = (int)v;
	}
	return true;
}

struct vif_attach {
	struct xl_vif vif;
	int devid;
};

static void free_attach(void *dev)
{
	struct vif_attach *a = dev;

	xl_vif_free(&a->vif);
	free(a);
}

/* devid= is ours to pass on (the VMM picks one otherwise); the rest is a vif spec. */
static int parse_attach(int argc, char **argv, void **dev)
{
	struct vif_attach *a = calloc(1, sizeof(*a));
	char **rest = calloc((size_t)argc + 1, sizeof(*rest)), *spec = NULL, err[1024];
	int nrest = 0, status = EXIT_FAILURE;

	*dev = a;
	if (!a || !rest)
		goto out_nomem;
	a->devid = -1;
	if (!has_devid(argc, argv, &a->devid))
		goto out;
	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], "devid=", 6))
			rest[nrest++] = argv[i];
	spec = xl_join_args(nrest, rest);
	if (!spec)
		goto out_nomem;
	if (xl_vif_parse(spec, "network-attach: ", a->devid, &a->vif, stderr, err, sizeof(err))) {
		fprintf(stderr, "xl: %s\n", err);
		goto out;
	}
	status = 0;
	goto out;
out_nomem:
	fprintf(stderr, "xl: out of memory\n");
out:
	free(spec);
	free(rest);
	return status;
}

static int make_spec(struct xl_ctx *ctx, unsigned int domid, void *dev, const void *list, size_t n,
		     char **spec, char *err, size_t errlen)
{
	struct vif_attach *a = dev;
	const struct xl_vif_info *infos = list;
	unsigned char (*taken)[6] = calloc(n + 1, sizeof(*taken));
	int r = -1;

	(void)ctx;
	if (!taken)
		goto out_nomem;
	for (size_t i = 0; i < n; i++) {
		xl_vif_mac_parse(infos[i].mac, taken[i]);
		if (a->vif.mac_set && !memcmp(a->vif.mac, taken[i], 6)) {
			snprintf(err, errlen, "domain %u already has a vif with mac %s (devid %u)", domid,
				 infos[i].mac, infos[i].devid);
			goto out;
		}
		if (a->devid >= 0 && infos[i].devid == (unsigned int)a->devid) {
			snprintf(err, errlen, "domain %u already has a vif with devid %d", domid, a->devid);
			goto out;
		}
	}
	if (xl_vif_resolve_defaults(&a->vif, (const unsigned char (*)[6])taken, n, err, errlen) ||
	    xl_vifs_check_bridges(&a->vif, 1, err, errlen))
		goto out;
	*spec = xl_vif_format_spec(&a->vif);
	if (*spec) {
		r = 0;
		goto out;
	}
out_nomem:
	snprintf(err, errlen, "out of memory");
out:
	free(taken);
	return r;
}

/* DevId or MAC (xl tells them apart by the ':') to the devid in the list; -1 if none. */
static long find_device(const char *which, const void *list, size_t n)
{
	const struct xl_vif_info *infos = list;
	unsigned char mac[6], have[6];
	char *end;
	long devid;

	if (strchr(which, ':')) {
		if (xl_vif_mac_parse(which, mac))
			return -1;
		for (size_t i = 0; i < n; i++)
			if (!xl_vif_mac_parse(infos[i].mac, have) && !memcmp(mac, have, 6))
				return infos[i].devid;
		return -1;
	}
	if (*which < '0' || *which > '9')
		return -1;
	errno = 0;
	devid = strtol(which, &end, 10);
	if (errno || *end)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (infos[i].devid == devid)
			return devid;
	return -1;
}

/* xl's layout: Idx BE Mac Addr. handle state evt-ch tx-/rx-ring-ref BE-path. */
static void print_header(void)
{
	printf("%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s\n", "Idx", "BE", "Mac Addr.", "handle",
	       "state", "evt-ch", "tx-", "rx-ring-ref", "BE-path");
}

static void print_row(unsigned int domid, const void *list, size_t i)
{
	const struct xl_vif_info *info = (const struct xl_vif_info *)list + i;
	char be_path[128];

	snprintf(be_path, sizeof(be_path), "/local/domain/0/backend/vif/%u/%u", domid, info->devid);
	printf("%-3u %-2d %s %6u %5d %6d %5d/%-11d %-30s\n", info->devid, 0, info->mac, info->devid,
	       info->state, info->evtchn, info->tx_ring_ref, info->rx_ring_ref, be_path);
}

static int parse_list(const char *text, void **out, size_t *n, char *err, size_t errlen)
{
	return xl_vif_list_parse(text, (struct xl_vif_info **)out, n, err, errlen);
}

static void free_list(void *records, size_t n)
{
	(void)n;
	free(records);
}

static const struct xl_device_type vif_device = {
	.request = "vif", .attach_cmd = "network-attach", .detach_cmd = "network-detach",
	.list_cmd = "network-list", .attach_args = 1,
	.attach_what = "attach a network device to", .detach_what = "detach a network device from",
	.plural = "vifs", .not_found = "Unknown device %s.\n", .detach_opts = "",
	.timeout_ms = VIF_REQUEST_TIMEOUT_MS,
	.parse_list = parse_list, .free_list = free_list, .parse_args = parse_attach,
	.make_spec = make_spec, .free_dev = free_attach, .find = find_device,
	.print_header = print_header, .print_row = print_row,
};

/* A copy of src's strings (NULL stays NULL): 0, or -1 when out of memory. */
static int dup_field(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return src && !*dst ? -1 : 0;
}

int xl_vif_copy(struct xl_vif *dst, const struct xl_vif *src)
{
	*dst = *src;
	dst->bridge = dst->script = dst->ip = dst->vifname = dst->rate = dst->where = NULL;
	if (dup_field(&dst->bridge, src->bridge) || dup_field(&dst->script, src->script) ||
	    dup_field(&dst->ip, src->ip) || dup_field(&dst->vifname, src->vifname) ||
	    dup_field(&dst->rate, src->rate) || dup_field(&dst->where, src->where)) {
		xl_vif_free(dst);
		return -1;
	}
	return 0;
}

int xl_network_attach(struct xl_ctx *ctx, unsigned int domid, const char *name, const struct xl_vif *vif,
		      char *err, size_t errlen)
{
	struct vif_attach *a = calloc(1, sizeof(*a));
	int r;

	if (!a || xl_vif_copy(&a->vif, vif)) {
		free(a);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	a->devid = -1;              /* the VMM picks, as network-attach without devid= */
	a->vif.devid = -1;
	r = xl_device_attach(ctx, &vif_device, domid, name, a, err, errlen);
	free_attach(a);
	return r;
}

int xl_network_detach(struct xl_ctx *ctx, unsigned int domid, const char *name, const char *which,
		      char *err, size_t errlen)
{
	return xl_device_detach(ctx, &vif_device, domid, name, which, err, errlen);
}

int main_network_attach(struct xl_ctx *ctx, int argc, char **argv)
{
	return xl_device_attach_main(ctx, &vif_device, argc, argv);
}

int main_network_detach(struct xl_ctx *ctx, int argc, char **argv)
{
	return xl_device_detach_main(ctx, &vif_device, argc, argv);
}

int main_network_list(struct xl_ctx *ctx, int argc, char **argv)
{
	return xl_device_list_main(ctx, &vif_device, argc, argv);
}
