/* The live configuration of a running domain (virt_domain_live_config, virt_domains.h): what
 * `virsh dumpxml` shows without --inactive, as libvirt keeps a live definition beside the stored
 * one.
 *
 * It is the configuration the VMM was started with (xl_domain_saved_config: domains/<id>/config,
 * which xl hands every VMM it spawns), with
 *   - the memory and vCPUs the domain has now (setmem/setvcpus --live change them);
 *   - its devices as the VMM lists them now (vif-list, vbd-list), so an interface or disk attached
 *     or detached live since is there or gone.  A device the start config already had keeps what
 *     that config says of it; one attached since takes its details from the definition (attach
 *     --live --config put it there too), else from the backend's xenstore nodes (bridge, script,
 *     ip), else it is shown with what the VMM's list says (MAC and name, or vdev and target).
 * A VMM that says nothing (no saved config, a list it cannot give) leaves the nearest thing we
 * know: the definition, its devices as written. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/error.h"
#include "libvirt/virt_domains.h"
#include "xl/xl_block.h"
#include "xl/xl_network.h"
#include "xl/xl_store.h"

/* One xenstore reply at most this long: the daemon's event loop waits for it. */
#define LIVE_XENSTORE_MS 1000

static const struct xl_vif *vif_by_mac(const struct domain_config *dc, const unsigned char mac[6])
{
	for (size_t i = 0; dc && i < dc->n_vifs; i++)
		if (dc->vifs[i].mac_set && !memcmp(dc->vifs[i].mac, mac, 6))
			return &dc->vifs[i];
	return NULL;
}

static const struct xl_disk *disk_by_devid(const struct domain_config *dc, unsigned int devid)
{
	for (size_t i = 0; dc && i < dc->n_disks; i++)
		if (dc->disks[i].devid == devid)
			return &dc->disks[i];
	return NULL;
}

/* The vif the VMM lists as `nic`: as the start config or the definition has it, else from the
 * nic itself (its strings taken over).  0, or -1 when out of memory. */
static int live_vif(const struct domain_config *dc, const struct domain_config *def, struct xl_nic *nic,
		    struct xl_vif *out)
{
	const struct xl_vif *known;
	unsigned char mac[6];

	memset(out, 0, sizeof(*out));
	if (xl_vif_mac_parse(nic->mac, mac) == 0 &&
	    ((known = vif_by_mac(dc, mac)) || (known = vif_by_mac(def, mac)))) {
		if (xl_vif_copy(out, known))
			return -1;
		out->devid = (int)nic->devid;
		return 0;
	}
	out->devid = (int)nic->devid;
	out->mac_set = xl_vif_mac_parse(nic->mac, out->mac) == 0;
	out->bridge = nic->bridge;
	out->script = nic->script;
	out->ip = nic->ip;
	nic->bridge = nic->script = nic->ip = NULL;
	out->vifname = strdup(nic->vifname);
	return out->vifname ? 0 : -1;
}

/* The disk the VMM lists as `info`: as the start config or the definition has it, else read from
 * the list's own words through xl's disk parser.  0, or -1 with why. */
static int live_disk(const struct domain_config *dc, const struct domain_config *def,
		     const struct xl_vbd_info *info, struct xl_disk *out, char *why, size_t len)
{
	const struct xl_disk *known = disk_by_devid(dc, info->devid);
	char *spec;
	int r;

	memset(out, 0, sizeof(*out));
	if (known || (known = disk_by_devid(def, info->devid))) {
		if (xl_disk_copy(out, known) == 0)
			return 0;
		snprintf(why, len, "out of memory");
		return -1;
	}
	if (asprintf(&spec, "vdev=%s,access=%s,devtype=%s,target=%s", info->vdev,
		     info->readonly ? "ro" : "rw", strcmp(info->devtype, "cdrom") ? "disk" : "cdrom",
		     info->target ? info->target : "") < 0) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	r = xl_disk_parse(spec, "", out, NULL, why, len);
	free(spec);
	return r;
}

/* dc's vifs replaced by the VMM's list; dc is left as it was when the list cannot be had. */
static void live_vifs(struct virt_host *h, const struct virt_dom *dom, struct xs_client *xs,
		      struct domain_config *dc, const struct domain_config *def)
{
	struct xl_nic *nics = NULL;
	struct xl_vif *vifs;
	size_t n = 0, made = 0;
	char why[1024];
	int r = xl_domain_nics(&h->xl, xs, (unsigned int)dom->id, &nics, &n, why, sizeof(why));

	if (r) {
		if (r != -ENOSYS)
			LOG("domain %d (%s): its interfaces as started, not as listed: %s", dom->id,
			    dom->name, why);
		return;
	}
	vifs = calloc(n ? n : 1, sizeof(*vifs));
	for (; vifs && made < n; made++)
		if (live_vif(dc, def, &nics[made], &vifs[made]))
			break;
	xl_nics_free(nics, n);
	if (!vifs || made < n) {
		LOG("domain %d (%s): out of memory for its live interfaces", dom->id, dom->name);
		for (size_t i = 0; vifs && i <= made && i < n; i++)
			xl_vif_free(&vifs[i]);
		free(vifs);
		return;
	}
	for (size_t i = 0; i < dc->n_vifs; i++)
		xl_vif_free(&dc->vifs[i]);
	free(dc->vifs);
	dc->vifs = vifs;
	dc->n_vifs = n;
}

static void live_disks(struct virt_host *h, const struct virt_dom *dom, struct xs_client *xs,
		       struct domain_config *dc, const struct domain_config *def)
{
	struct xl_vbd_info *infos = NULL;
	struct xl_disk *disks;
	size_t n = 0, made = 0;
	char why[1024];
	int r = xl_domain_disks(&h->xl, xs, (unsigned int)dom->id, &infos, &n, why, sizeof(why));

	if (r) {
		if (r != -ENOSYS)
			LOG("domain %d (%s): its disks as started, not as listed: %s", dom->id, dom->name,
			    why);
		return;
	}
	disks = calloc(n ? n : 1, sizeof(*disks));
	for (; disks && made < n; made++)
		if (live_disk(dc, def, &infos[made], &disks[made], why, sizeof(why)))
			break;
	if (!disks || made < n) {
		LOG("domain %d (%s): its disks as started: vbd-list's %s: %s", dom->id, dom->name,
		    disks ? infos[made].vdev : "list", disks ? why : "out of memory");
		for (size_t i = 0; disks && i <= made && i < n; i++)
			xl_disk_free(&disks[i]);
		free(disks);
		xl_vbd_infos_free(infos, n);
		return;
	}
	xl_vbd_infos_free(infos, n);
	for (size_t i = 0; i < dc->n_disks; i++)
		xl_disk_free(&dc->disks[i]);
	free(dc->disks);
	dc->disks = disks;
	dc->n_disks = n;
}

/* What the domain has now, where it is within what the config allows. */
static void live_resources(const struct virt_dom *dom, struct domain_config *dc)
{
	unsigned long mb = (unsigned long)((dom->mem_kb + 1023) / 1024);

	if (mb && mb <= dc->maxmem_mb)
		dc->memory_mb = mb;
	if (dom->vcpus && dom->vcpus <= dc->max_vcpus)
		dc->vcpus = dom->vcpus;
}

int virt_domain_live_config(struct virt_host *h, const struct virt_dom *dom, struct domain_config *dc,
			    char *err, size_t errlen)
{
	struct domain_config def = { 0 };
	bool have_def = false;
	struct xl_store store;
	struct xs_client *xs = NULL;
	char why[512];
	int r;

	if (dom->id < 1)
		return virt_domain_config(h, dom, dc, err, errlen);
	memset(dc, 0, sizeof(*dc));
	if (dom->persistent)
		have_def = virt_domain_config(h, dom, &def, why, sizeof(why)) == 0;
	r = xl_domain_saved_config(&h->xl, (unsigned int)dom->id, dc, err, errlen);
	if (r == -ENOENT && have_def) {
		/* A VMM that kept no config (a stand-in, one started before xl saved them): the
		 * definition is the nearest to what runs, its devices corrected by the lists below. */
		*dc = def;
		have_def = false;
	} else if (r) {
		if (have_def)
			domain_config_free(&def);
		return -EIO;
	}
	if (xl_store_open(&h->xl.rd, &store, LIVE_XENSTORE_MS, why, sizeof(why)) == 0)
		xs = store.xs;
	live_resources(dom, dc);
	live_vifs(h, dom, xs, dc, have_def ? &def : NULL);
	live_disks(h, dom, xs, dc, have_def ? &def : NULL);
	if (xs)
		xl_store_close(&store);
	if (have_def)
		domain_config_free(&def);
	return 0;
}
