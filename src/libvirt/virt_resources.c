/* The domain model's vCPUs, credit scheduler and devices (virt_domains.h), each through xl's own
 * function for the command that does it: vcpu-set (xenstore's cpu/<n>/availability), vcpu-list,
 * vcpu-pin and sched-credit (the VMM's requests, docs/sched.md), network- and block-attach/detach
 * (the VMM's vif-/vbd- requests, docs/netif.md and docs/blkif.md).
 *
 * A change asked for both the running domain and its definition is made live first, so a refusal
 * by the VMM leaves the definition as it was.  A device in a definition is found as libvirt finds
 * it: an interface by its MAC (or, named without one, the only interface there is), a disk by its
 * target vdev. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include "lib/cpumap.h"
#include "lib/error.h"
#include "libvirt/virt_domains.h"
#include "libvirt/virt_domains_int.h"
#include "xl/xl_block.h"
#include "xl/xl_network.h"
#include "xl/xl_sched.h"
#include "xl/xl_vcpu.h"

/* A VMM's or xl's -errno as the model returns it: what the procedures map to libvirt's codes
 * (unsupported, invalid) is kept; anything else is a failed operation, never "no domain". */
static int model_errno(int r)
{
	return r == -ENOSYS || r == -ENOTSUP || r == -EINVAL || r == -ENOMEM ? r : -EIO;
}

/* After an xl function's -ESRCH: the domain went away meanwhile. */
static int gone(const struct virt_dom *dom, const char *verb, char *err, size_t errlen)
{
	ERR_SET(err, errlen, "cannot %s domain '%s': it is not running", verb, dom->name);
	return -EINVAL;
}

/* ---- vCPUs ------------------------------------------------------------------------------------ */

static int edit_vcpus(struct domain_config *dc, const void *arg, char *err, size_t errlen)
{
	unsigned int n = *(const unsigned int *)arg;

	if (n == 0 || n > dc->max_vcpus) {
		ERR_SET(err, errlen, "requested vcpus %u is not between 1 and the maximum %u", n,
			dc->max_vcpus);
		return -EINVAL;
	}
	dc->vcpus = n;
	return 0;
}

int virt_domain_set_vcpus(struct virt_host *h, const struct virt_dom *dom, unsigned int n, bool live,
			  bool config, char *err, size_t errlen)
{
	int r = virt_live_or_config(dom, live, config, "set the vCPUs of", err, errlen);

	if (r)
		return r;
	if (live) {
		/* libvirt's own drivers do not refuse more vCPUs than host CPUs: no host check. */
		r = xl_domain_vcpu_set(&h->xl, (unsigned int)dom->id, n, false, err, errlen);
		if (r)
			return r == -1 ? -EINVAL : -EIO;
	}
	return config ? virt_definition_edit(h, dom, edit_vcpus, &n, err, errlen) : 0;
}

static const struct {
	char state;
	int vir;
} vcpu_states[] = {
	{ 'r', VIR_VCPU_RUNNING },
	{ 'b', VIR_VCPU_BLOCKED },
	{ 'p', VIR_VCPU_OFFLINE },      /* no thread: not running anything */
};

static void vcpu_from_xl(const struct xl_vcpu_info *x, struct virt_vcpu *v)
{
	struct cpumap map;
	char why[128];

	memset(v, 0, sizeof(*v));
	v->number = x->id;
	v->state = VIR_VCPU_OFFLINE;
	for (size_t i = 0; i < sizeof(vcpu_states) / sizeof(vcpu_states[0]); i++)
		if (vcpu_states[i].state == x->state)
			v->state = vcpu_states[i].vir;
	v->cpu = x->cpu;
	v->cpu_time_ns = x->time > 0 ? (unsigned long long)(x->time * 1e9) : 0;
	if (cpumap_parse(x->hard, &map, why, sizeof(why)))
		cpumap_fill(&map);      /* a list we cannot read pins nothing we know of */
	for (size_t cpu = 0; cpu < sizeof(v->affinity) * 8 && cpu < CPUMAP_MAX_CPUS; cpu++)
		if (CPU_ISSET(cpu, &map.set))
			v->affinity[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
}

int virt_domain_vcpus(struct virt_host *h, const struct virt_dom *dom, struct virt_vcpu **out, size_t *n,
		      char *err, size_t errlen)
{
	struct xl_vcpu_info *x = NULL;
	struct virt_vcpu *v;
	size_t count = 0;
	char why[1024];
	int r = virt_need_running(dom, "list the vCPUs of", err, errlen);

	*out = NULL;
	*n = 0;
	if (r)
		return r;
	r = xl_vcpu_list(&h->xl, (unsigned int)dom->id, &x, &count, why, sizeof(why));
	if (r == -ESRCH)
		return gone(dom, "list the vCPUs of", err, errlen);
	if (r == -EPROTO) {
		ERR_SET(err, errlen, "domain %d (%s) answered vcpu-list with '%s'", dom->id, dom->name, why);
		return -EIO;
	}
	if (r) {
		ERR_SET(err, errlen, "cannot list the vCPUs of domain %d (%s): %s", dom->id, dom->name, why);
		return model_errno(r);
	}
	v = calloc(count ? count : 1, sizeof(*v));
	if (!v) {
		free(x);
		ERR_SET(err, errlen, "out of memory listing the vCPUs of domain '%s'", dom->name);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++)
		vcpu_from_xl(&x[i], &v[i]);
	free(x);
	*out = v;
	*n = count;
	return 0;
}

int virt_domain_pin_vcpu(struct virt_host *h, const struct virt_dom *dom, unsigned int vcpu,
			 const uint8_t *cpumap, size_t maplen, char *err, size_t errlen)
{
	char list[4096], id[16], why[1024];
	struct cpumap map;
	long host = sysconf(_SC_NPROCESSORS_CONF);
	int r = virt_need_running(dom, "pin the vCPUs of", err, errlen);

	if (r)
		return r;
	CPU_ZERO(&map.set);
	for (size_t cpu = 0; cpu < maplen * 8 && cpu < CPUMAP_MAX_CPUS; cpu++)
		if (cpumap[cpu / 8] & (1u << (cpu % 8)))
			CPU_SET(cpu, &map.set);
	if (cpumap_is_empty(&map)) {
		ERR_SET(err, errlen, "vCPU %u of domain '%s' must be allowed at least one CPU", vcpu, dom->name);
		return -EINVAL;
	}
	cpumap_format(&map, host > 0 && host <= CPUMAP_MAX_CPUS ? (unsigned int)host : 1, list, sizeof(list));
	snprintf(id, sizeof(id), "%u", vcpu);
	r = xl_vcpu_pin(&h->xl, (unsigned int)dom->id, id, list, NULL, why, sizeof(why));
	if (r == -ESRCH)
		return gone(dom, "pin the vCPUs of", err, errlen);
	if (r)
		ERR_SET(err, errlen, "could not set the affinity of vCPU %u of domain '%s' to %s: %s", vcpu,
			dom->name, list, why);
	return r ? model_errno(r) : 0;
}

/* ---- the credit scheduler ---------------------------------------------------------------------- */

static int credit(struct virt_host *h, const struct virt_dom *dom, const unsigned int *weight,
		  const unsigned int *cap, struct xl_credit *c, char *err, size_t errlen)
{
	const char *verb = weight || cap ? "set the scheduler parameters of" : "read the scheduler parameters of";
	char why[1024];
	int r = virt_need_running(dom, verb, err, errlen);

	if (r)
		return r;
	r = xl_sched_credit(&h->xl, (unsigned int)dom->id, weight, cap, c, why, sizeof(why));
	if (r == -ESRCH)
		return gone(dom, verb, err, errlen);
	if (r == -EPROTO)
		ERR_SET(err, errlen, "domain %d (%s) answered sched-credit with '%s'", dom->id, dom->name, why);
	else if (r)
		ERR_SET(err, errlen, "cannot %s domain %d (%s): %s", verb, dom->id, dom->name, why);
	return r ? model_errno(r) : 0;
}

int virt_domain_sched_get(struct virt_host *h, const struct virt_dom *dom, unsigned int *weight,
			  unsigned int *cap, char *err, size_t errlen)
{
	struct xl_credit c;
	int r = credit(h, dom, NULL, NULL, &c, err, errlen);

	if (r)
		return r;
	if (c.unenforced[0])
		LOG("domain %d (%s): weight and cap are not enforced: %s", dom->id, dom->name, c.unenforced);
	*weight = c.weight;
	*cap = c.cap;
	return 0;
}

int virt_domain_sched_set(struct virt_host *h, const struct virt_dom *dom, const unsigned int *weight,
			  const unsigned int *cap, char *err, size_t errlen)
{
	struct xl_credit c;

	if (!weight && !cap)
		return 0;
	return credit(h, dom, weight, cap, &c, err, errlen);
}

/* ---- devices ----------------------------------------------------------------------------------- */

/* The live side's messages: the domain gone, or xl's words with the domain named. */
static int live_fail(const struct virt_dom *dom, int r, const char *verb, char *err, size_t errlen)
{
	char why[1024];

	if (r == -ESRCH)
		return gone(dom, verb, err, errlen);
	snprintf(why, sizeof(why), "%s", err);
	ERR_SET(err, errlen, "cannot %s domain '%s': %s", verb, dom->name, why);
	return r == -ENOENT ? r : model_errno(r);
}

/* A MAC for a vif that has none, chosen once so the live domain and its definition agree (as
 * libvirt gives every interface one when it reads its XML).  0, or -EIO with err. */
static int vif_with_mac(const struct xl_vif *vif, struct xl_vif *out, char *err, size_t errlen)
{
	unsigned char r[3];
	int fd;

	if (xl_vif_copy(out, vif)) {
		ERR_SET(err, errlen, "out of memory for an interface");
		return -ENOMEM;
	}
	if (out->mac_set)
		return 0;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, r, sizeof(r)) != (ssize_t)sizeof(r)) {
		ERR_SET(err, errlen, "cannot read /dev/urandom for an interface's MAC");
		if (fd >= 0)
			close(fd);
		xl_vif_free(out);
		return -EIO;
	}
	close(fd);
	xl_vif_mac_from_random(r, out->mac);
	out->mac_set = true;
	return 0;
}

/* dc's array `arr` of n devices (`size` bytes each, at most max, `what` they are) grown by one
 * zeroed slot at its end: the new array, or NULL with *r and err (then arr is unchanged). */
static void *device_slot(void *arr, size_t n, size_t size, size_t max, const char *what,
			 const struct domain_config *dc, int *r, char *err, size_t errlen)
{
	char *grown;

	if (n >= max) {
		ERR_SET(err, errlen, "domain '%s' already has the most %s a domain may have (%zu)",
			dc->name, what, max);
		*r = -EINVAL;
		return NULL;
	}
	grown = realloc(arr, (n + 1) * size);
	if (!grown) {
		ERR_SET(err, errlen, "out of memory adding to the %s of '%s'", what, dc->name);
		*r = -ENOMEM;
		return NULL;
	}
	memset(grown + n * size, 0, size);
	return grown;
}

static int edit_add_vif(struct domain_config *dc, const void *arg, char *err, size_t errlen)
{
	const struct xl_vif *vif = arg;
	struct xl_vif *grown;
	char mac[VIF_MAC_TEXT];
	int r;

	xl_vif_mac_format(vif->mac, mac);
	for (size_t i = 0; i < dc->n_vifs; i++)
		if (dc->vifs[i].mac_set && !memcmp(dc->vifs[i].mac, vif->mac, 6)) {
			ERR_SET(err, errlen, "domain '%s' already has an interface with MAC %s", dc->name, mac);
			return -EEXIST;
		}
	grown = device_slot(dc->vifs, dc->n_vifs, sizeof(*grown), VIF_MAX, "interfaces", dc, &r, err, errlen);
	if (!grown)
		return r;
	dc->vifs = grown;
	if (xl_vif_copy(&grown[dc->n_vifs], vif)) {
		ERR_SET(err, errlen, "out of memory adding an interface to '%s'", dc->name);
		return -ENOMEM;
	}
	grown[dc->n_vifs].devid = (int)dc->n_vifs;
	dc->n_vifs++;
	return 0;
}

/* The index of the definition's interface `vif` names (its MAC, or without one the only one). */
static int find_vif(const struct domain_config *dc, const struct xl_vif *vif, size_t *at, char *err,
		    size_t errlen)
{
	char mac[VIF_MAC_TEXT];

	if (!vif->mac_set) {
		if (dc->n_vifs == 1) {
			*at = 0;
			return 0;
		}
		if (dc->n_vifs == 0) {
			ERR_SET(err, errlen, "domain '%s' has no interface", dc->name);
			return -ENOENT;
		}
		ERR_SET(err, errlen, "domain '%s' has %zu interfaces: name one by its MAC", dc->name,
			dc->n_vifs);
		return -EINVAL;
	}
	for (size_t i = 0; i < dc->n_vifs; i++)
		if (dc->vifs[i].mac_set && !memcmp(dc->vifs[i].mac, vif->mac, 6)) {
			*at = i;
			return 0;
		}
	xl_vif_mac_format(vif->mac, mac);
	ERR_SET(err, errlen, "domain '%s' has no interface with MAC %s", dc->name, mac);
	return -ENOENT;
}

static int edit_remove_vif(struct domain_config *dc, const void *arg, char *err, size_t errlen)
{
	size_t at;
	int r = find_vif(dc, arg, &at, err, errlen);

	if (r)
		return r;
	xl_vif_free(&dc->vifs[at]);
	memmove(&dc->vifs[at], &dc->vifs[at + 1], (dc->n_vifs - at - 1) * sizeof(dc->vifs[0]));
	dc->n_vifs--;
	for (size_t i = 0; i < dc->n_vifs; i++)
		dc->vifs[i].devid = (int)i;          /* a cfg's vif list is numbered by position */
	return 0;
}

int virt_domain_attach_vif(struct virt_host *h, const struct virt_dom *dom, const struct xl_vif *vif,
			   bool live, bool config, char *err, size_t errlen)
{
	struct xl_vif with_mac;
	int r = virt_live_or_config(dom, live, config, "attach an interface to", err, errlen);

	if (r || (r = vif_with_mac(vif, &with_mac, err, errlen)))
		return r;
	if (live) {
		r = xl_network_attach(&h->xl, (unsigned int)dom->id, dom->name, &with_mac, err, errlen);
		if (r)
			r = live_fail(dom, r, "attach an interface to", err, errlen);
	}
	if (!r && config)
		r = virt_definition_edit(h, dom, edit_add_vif, &with_mac, err, errlen);
	xl_vif_free(&with_mac);
	return r;
}

/* The live interface `vif` names, as network-detach takes it: its MAC, or without one the devid of
 * the domain's only vif. */
static int live_vif_name(struct virt_host *h, const struct virt_dom *dom, const struct xl_vif *vif,
			 char *which, size_t len, char *err, size_t errlen)
{
	struct xl_vif_info *infos = NULL;
	size_t n = 0;
	char why[1024];
	int r;

	if (vif->mac_set) {
		char mac[VIF_MAC_TEXT];

		xl_vif_mac_format(vif->mac, mac);
		snprintf(which, len, "%s", mac);
		return 0;
	}
	r = xl_vif_list(&h->xl, (unsigned int)dom->id, &infos, &n, why, sizeof(why));
	if (r == -ESRCH)
		return gone(dom, "detach an interface from", err, errlen);
	if (r) {
		ERR_SET(err, errlen, "cannot list the interfaces of domain '%s': %s", dom->name, why);
		return model_errno(r);
	}
	if (n == 1)
		snprintf(which, len, "%u", infos[0].devid);
	else if (n)
		ERR_SET(err, errlen, "domain '%s' has %zu interfaces: name one by its MAC", dom->name, n);
	else
		ERR_SET(err, errlen, "domain '%s' has no interface", dom->name);
	free(infos);
	return n == 1 ? 0 : n ? -EINVAL : -ENOENT;
}

int virt_domain_detach_vif(struct virt_host *h, const struct virt_dom *dom, const struct xl_vif *vif,
			   bool live, bool config, char *err, size_t errlen)
{
	char which[64];
	int r = virt_live_or_config(dom, live, config, "detach an interface from", err, errlen);

	if (r)
		return r;
	if (live) {
		if ((r = live_vif_name(h, dom, vif, which, sizeof(which), err, errlen)))
			return r;
		r = xl_network_detach(&h->xl, (unsigned int)dom->id, dom->name, which, err, errlen);
		if (r)
			return live_fail(dom, r, "detach an interface from", err, errlen);
	}
	return config ? virt_definition_edit(h, dom, edit_remove_vif, vif, err, errlen) : 0;
}

static int edit_add_disk(struct domain_config *dc, const void *arg, char *err, size_t errlen)
{
	const struct xl_disk *disk = arg;
	struct xl_disk *grown;
	int r;

	for (size_t i = 0; i < dc->n_disks; i++)
		if (dc->disks[i].devid == disk->devid) {
			ERR_SET(err, errlen, "domain '%s' already has a disk at %s (%s)", dc->name,
				dc->disks[i].vdev, disk->vdev);
			return -EEXIST;
		}
	grown = device_slot(dc->disks, dc->n_disks, sizeof(*grown), DISK_MAX, "disks", dc, &r, err, errlen);
	if (!grown)
		return r;
	dc->disks = grown;
	if (xl_disk_copy(&grown[dc->n_disks], disk)) {
		ERR_SET(err, errlen, "out of memory adding a disk to '%s'", dc->name);
		return -ENOMEM;
	}
	grown[dc->n_disks].resolved = false;     /* checked again when the domain starts */
	dc->n_disks++;
	return 0;
}

static int edit_remove_disk(struct domain_config *dc, const void *arg, char *err, size_t errlen)
{
	const struct xl_disk *disk = arg;

	for (size_t i = 0; i < dc->n_disks; i++) {
		if (dc->disks[i].devid != disk->devid)
			continue;
		xl_disk_free(&dc->disks[i]);
		memmove(&dc->disks[i], &dc->disks[i + 1], (dc->n_disks - i - 1) * sizeof(dc->disks[0]));
		dc->n_disks--;
		return 0;
	}
	ERR_SET(err, errlen, "domain '%s' has no disk at %s", dc->name, disk->vdev);
	return -ENOENT;
}

int virt_domain_attach_disk(struct virt_host *h, const struct virt_dom *dom, const struct xl_disk *disk,
			    bool live, bool config, char *err, size_t errlen)
{
	int r = virt_live_or_config(dom, live, config, "attach a disk to", err, errlen);

	if (r)
		return r;
	if (live && (r = xl_block_attach(&h->xl, (unsigned int)dom->id, dom->name, disk, err, errlen)))
		return live_fail(dom, r, "attach a disk to", err, errlen);
	return config ? virt_definition_edit(h, dom, edit_add_disk, disk, err, errlen) : 0;
}

int virt_domain_detach_disk(struct virt_host *h, const struct virt_dom *dom, const struct xl_disk *disk,
			    bool live, bool config, char *err, size_t errlen)
{
	char which[16];
	int r = virt_live_or_config(dom, live, config, "detach a disk from", err, errlen);

	if (r)
		return r;
	if (live) {
		snprintf(which, sizeof(which), "%u", disk->devid);
		r = xl_block_detach(&h->xl, (unsigned int)dom->id, dom->name, which, err, errlen);
		if (r == -ENOENT) {
			ERR_SET(err, errlen, "domain '%s' has no disk at %s", dom->name, disk->vdev);
			return r;
		}
		if (r)
			return live_fail(dom, r, "detach a disk from", err, errlen);
	}
	return config ? virt_definition_edit(h, dom, edit_remove_disk, disk, err, errlen) : 0;
}
