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
#include "xl/xl_network.h"

#define VIF_REQUEST_TIMEOUT_MS 30000   /* attach runs the hotplug script, detach waits on the guest */
#define LIST_TIMEOUT_MS 5000

int xl_vif_list(struct xl_ctx *ctx, unsigned int domid, struct xl_vif_info **out, size_t *n,
		char *err, size_t errlen)
{
	char *reply = malloc(65536);
	int r;

	*out = NULL;
	*n = 0;
	if (!reply) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = xl_domain_request(ctx, domid, "vif-list", LIST_TIMEOUT_MS, reply, 65536);
	if (r)
		snprintf(err, errlen, "%s", reply);
	else if (xl_vif_list_parse(reply, out, n, err, errlen))
		r = -EPROTO;
	free(reply);
	return r;
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

/* The vif list of a domain, with the usual complaints: 0, or the exit status. */
static int list_or_complain(struct xl_ctx *ctx, const char *qualifier, unsigned int domid,
			    struct xl_vif_info **infos, size_t *n)
{
	char err[1024];
	int r = xl_vif_list(ctx, domid, infos, n, err, sizeof(err));

	if (r == -ESRCH) {
		fprintf(stderr, "xl: domain '%s' does not exist\n", qualifier);
		return EXIT_FAILURE;
	}
	if (r) {
		fprintf(stderr, "xl: cannot list the vifs of domain %u: %s\n", domid, err);
		return EXIT_FAILURE;
	}
	return 0;
}

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

int main_network_attach(struct xl_ctx *ctx, int argc, char **argv)
{
	struct xl_vif vif = { 0 };
	struct xl_vif_info *infos = NULL;
	unsigned char (*taken)[6] = NULL;
	char name[DOMAIN_NAME_MAX + 1], err[1024], *spec = NULL;
	char **args, **rest = NULL;
	unsigned int domid;
	size_t n = 0;
	int opt, status, devid = -1, nargs, nrest = 0;

	while ((opt = xl_getopt(argc, argv, "", NULL, "network-attach", 1, &status)) != -1)
		if (opt == XL_OPT_STOP)
			return status;
	status = xl_find_domain_or_complain(ctx, argv[optind], "attach a network device to", &domid, name,
			    sizeof(name));
	if (status)
		return status;
	status = EXIT_FAILURE;
	/* devid= is ours to pass on (the VMM picks one otherwise); the rest is a vif spec. */
	nargs = argc - optind - 1;
	args = argv + optind + 1;
	rest = calloc((size_t)nargs + 1, sizeof(*rest));
	if (!rest)
		goto out_nomem;
	if (!has_devid(nargs, args, &devid))
		goto out;
	for (int i = 0; i < nargs; i++)
		if (strncmp(args[i], "devid=", 6))
			rest[nrest++] = args[i];
	spec = xl_join_args(nrest, rest);
	if (!spec)
		goto out_nomem;
	if (xl_vif_parse(spec, "network-attach: ", devid, &vif, stderr, err, sizeof(err))) {
		fprintf(stderr, "xl: %s\n", err);
		goto out;
	}
	status = list_or_complain(ctx, argv[optind], domid, &infos, &n);
	if (status)
		goto out;
	status = EXIT_FAILURE;
	taken = calloc(n + 1, sizeof(*taken));
	if (!taken)
		goto out_nomem;
	for (size_t i = 0; i < n; i++) {
		xl_vif_mac_parse(infos[i].mac, taken[i]);
		if (vif.mac_set && !memcmp(vif.mac, taken[i], 6)) {
			fprintf(stderr, "xl: domain %u already has a vif with mac %s (devid %u)\n",
				domid, infos[i].mac, infos[i].devid);
			goto out;
		}
		if (devid >= 0 && infos[i].devid == (unsigned int)devid) {
			fprintf(stderr, "xl: domain %u already has a vif with devid %d\n", domid, devid);
			goto out;
		}
	}
	if (xl_vif_resolve_defaults(&vif, (const unsigned char (*)[6])taken, n, err, sizeof(err)) ||
	    xl_vifs_check_bridges(&vif, 1, err, sizeof(err))) {
		fprintf(stderr, "xl: %s\n", err);
		goto out;
	}
	free(spec);
	spec = xl_vif_format_spec(&vif);
	if (!spec)
		goto out_nomem;
	status = xl_device_request(ctx, domid, name, argv[optind], "vif-attach", spec,
				   "attach a network device to", VIF_REQUEST_TIMEOUT_MS);
	goto out;
out_nomem:
	fprintf(stderr, "xl: out of memory\n");
out:
	free(spec);
	free(rest);
	free(taken);
	free(infos);
	xl_vif_free(&vif);
	return status;
}

/* DevId or MAC (xl tells them apart by the ':') to the devid in the list; -1 if none. */
static long find_device(const char *which, const struct xl_vif_info *infos, size_t n)
{
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

int main_network_detach(struct xl_ctx *ctx, int argc, char **argv)
{
	struct xl_vif_info *infos = NULL;
	char name[DOMAIN_NAME_MAX + 1], request[64], reply[1024];
	unsigned int domid;
	size_t n = 0;
	long devid;
	int opt, status, r;

	while ((opt = xl_getopt(argc, argv, "", NULL, "network-detach", 2, &status)) != -1)
		if (opt == XL_OPT_STOP)
			return status;
	status = xl_find_domain_or_complain(ctx, argv[optind], "detach a network device from", &domid, name,
			    sizeof(name));
	if (status)
		return status;
	status = list_or_complain(ctx, argv[optind], domid, &infos, &n);
	if (status)
		goto out;
	status = EXIT_FAILURE;
	devid = find_device(argv[optind + 1], infos, n);
	if (devid < 0) {
		fprintf(stderr, "Unknown device %s.\n", argv[optind + 1]);
		goto out;
	}
	snprintf(request, sizeof(request), "vif-detach %ld", devid);
	r = xl_domain_request(ctx, domid, request, VIF_REQUEST_TIMEOUT_MS, reply, sizeof(reply));
	if (r == -ESRCH) {
		fprintf(stderr, "xl: domain '%s' does not exist\n", argv[optind]);
		goto out;
	}
	if (r) {
		fprintf(stderr, "xl: cannot detach vif %ld from domain %u (%s): %s\n", devid, domid,
			name, reply);
		goto out;
	}
	status = EXIT_SUCCESS;
out:
	free(infos);
	return status;
}

int main_network_list(struct xl_ctx *ctx, int argc, char **argv)
{
	char name[DOMAIN_NAME_MAX + 1], be_path[128];
	unsigned int domid;
	int opt, status;

	while ((opt = xl_getopt(argc, argv, "", NULL, "network-list", 1, &status)) != -1)
		if (opt == XL_OPT_STOP)
			return status;
	/* xl's layout: Idx BE Mac Addr. handle state evt-ch tx-/rx-ring-ref BE-path. */
	printf("%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s\n", "Idx", "BE", "Mac Addr.", "handle",
	       "state", "evt-ch", "tx-", "rx-ring-ref", "BE-path");
	for (int i = optind; i < argc; i++) {
		struct xl_vif_info *infos = NULL;
		size_t n = 0;

		fflush(stdout);
		status = xl_find_domain_or_complain(ctx, argv[i], NULL, &domid, name, sizeof(name));
		if (status)
			return status;
		if (domid == 0)
			continue;        /* the host's own interfaces are not vifs */
		status = list_or_complain(ctx, argv[i], domid, &infos, &n);
		if (status)
			return status;
		for (size_t j = 0; j < n; j++) {
			snprintf(be_path, sizeof(be_path), "/local/domain/0/backend/vif/%u/%u", domid,
				 infos[j].devid);
			printf("%-3u %-2d %s %6u %5d %6d %5d/%-11d %-30s\n", infos[j].devid, 0,
			       infos[j].mac, infos[j].devid, infos[j].state, infos[j].evtchn,
			       infos[j].tx_ring_ref, infos[j].rx_ring_ref, be_path);
		}
		free(infos);
	}
	return EXIT_SUCCESS;
}
