/* The domains a libvirt client sees (docs/libvirt.md): the running ones, found the way xl finds
 * them (the run directory and each VMM's `info`), and the persistent definitions of this Dom0 (one
 * xl.cfg per domain in <state dir>/domains/NAME.cfg, autostart as a link in <state dir>/auto/, as
 * Xen's /etc/xen/auto), joined by name.  Every action goes through xl's own library (src/xl), so
 * a domain started by virsh is one `xl list` shows and the other way round.  No global state. */
#ifndef XENITH_VIRT_DOMAINS_H
#define XENITH_VIRT_DOMAINS_H
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/domain_limits.h"
#include "xl/domain_config.h"
#include "xl/xl_domain.h"

struct virt_host {
	struct xl_ctx xl;                /* its run directory: XENITH_RUNDIR or /run/xenith */
	char state_dir[PATH_MAX - 64];   /* XENITH_LIBVIRT_STATE or /var/lib/xenith/libvirt */
};

struct virt_dom {
	char name[DOMAIN_NAME_MAX + 1];
	uint8_t uuid[16];
	int id;                          /* -1 when not running */
	bool persistent;                 /* has a definition */
	bool autostart;
	int state, reason;               /* virDomainState and its reason (<libvirt/libvirt-domain.h>) */
	unsigned long long max_mem_kb, mem_kb;
	unsigned int vcpus, max_vcpus;
	unsigned long long cpu_time_ns;
	enum domain_type type;
};

/* Fills the host from the environment; 0 or -1 with why. */
int virt_host_open(struct virt_host *h, char *err, size_t errlen);

/* Every domain (running and defined), Domain-0 first.  0 with *out (malloc'd) and *n; -1 with err. */
int virt_domains_list(struct virt_host *h, struct virt_dom **out, size_t *n, char *err, size_t errlen);

/* One domain by name, UUID or id (id -1 / NULL name / NULL uuid: not that key).  0; -ENOENT when
 * there is none (err says which); other -errno with err. */
int virt_domain_lookup(struct virt_host *h, const char *name, const uint8_t *uuid, int id,
		       struct virt_dom *out, char *err, size_t errlen);

/* The configuration of a domain: its definition, or for one started without (xl create) what its
 * VMM was started with (domains/<domid>/config, written by xl).  0 or -errno with err. */
int virt_domain_config(struct virt_host *h, const struct virt_dom *dom, struct domain_config *dc,
		       char *err, size_t errlen);

/* The configuration a running domain runs with (libvirt's live XML): the one its VMM was started
 * with, its memory, vCPUs and devices as they are now (attached or detached live since).  For a
 * domain that is not running, virt_domain_config.  0 or -errno with err. */
int virt_domain_live_config(struct virt_host *h, const struct virt_dom *dom, struct domain_config *dc,
			    char *err, size_t errlen);

/* Stores dc as the definition of dc->name (a UUID made if it has none; an existing definition of
 * that name keeps its UUID and a different UUID is refused, as libvirt does).  0 with *out; -errno
 * with err. */
int virt_domain_define(struct virt_host *h, struct domain_config *dc, struct virt_dom *out, char *err,
		       size_t errlen);
/* Removes the definition (and autostart link); a running domain goes on, transient. */
int virt_domain_undefine(struct virt_host *h, const struct virt_dom *dom, char *err, size_t errlen);
int virt_domain_set_autostart(struct virt_host *h, const struct virt_dom *dom, bool on, char *err,
			      size_t errlen);

/* Starts a defined domain, or (dc != NULL) a transient one from dc, like `xl create [-p]`.  0 with
 * *out refreshed; -errno with err (-EEXIST: already running). */
int virt_domain_start(struct virt_host *h, const struct virt_dom *dom, const struct domain_config *dc,
		      bool paused, struct virt_dom *out, char *err, size_t errlen);

/* The running domain's lifecycle, as xl destroy/shutdown/reboot/pause/unpause do it. */
int virt_domain_destroy(struct virt_host *h, const struct virt_dom *dom, char *err, size_t errlen);
int virt_domain_shutdown(struct virt_host *h, const struct virt_dom *dom, char *err, size_t errlen);
int virt_domain_reboot(struct virt_host *h, const struct virt_dom *dom, char *err, size_t errlen);
int virt_domain_suspend(struct virt_host *h, const struct virt_dom *dom, char *err, size_t errlen);
int virt_domain_resume(struct virt_host *h, const struct virt_dom *dom, char *err, size_t errlen);

/* Resources: live (running domain, as xl mem-set/mem-max/vcpu-set) and/or in the definition
 * (config); at least one of the two.  -ENOTSUP with err for what cannot be done. */
int virt_domain_set_memory(struct virt_host *h, const struct virt_dom *dom, unsigned long long kb,
			   bool live, bool config, char *err, size_t errlen);
int virt_domain_set_max_memory(struct virt_host *h, const struct virt_dom *dom, unsigned long long kb,
			       bool live, bool config, char *err, size_t errlen);
int virt_domain_set_vcpus(struct virt_host *h, const struct virt_dom *dom, unsigned int n, bool live,
			  bool config, char *err, size_t errlen);

/* vCPUs and the credit scheduler of a running domain (the VMM's vcpu-list, vcpu-pin, sched-credit
 * requests: docs/sched.md). */
struct virt_vcpu {
	unsigned int number;
	int state;                       /* virVcpuState */
	unsigned long long cpu_time_ns;
	int cpu;                         /* -1 unknown */
	uint8_t affinity[64];            /* bitmap of host CPUs, bit i = CPU i */
};
int virt_domain_vcpus(struct virt_host *h, const struct virt_dom *dom, struct virt_vcpu **out, size_t *n,
		      char *err, size_t errlen);
int virt_domain_pin_vcpu(struct virt_host *h, const struct virt_dom *dom, unsigned int vcpu,
			 const uint8_t *cpumap, size_t maplen, char *err, size_t errlen);
int virt_domain_sched_get(struct virt_host *h, const struct virt_dom *dom, unsigned int *weight,
			  unsigned int *cap, char *err, size_t errlen);
int virt_domain_sched_set(struct virt_host *h, const struct virt_dom *dom, const unsigned int *weight,
			  const unsigned int *cap, char *err, size_t errlen);

/* Devices, live on a running domain (xl network-attach/block-attach) and/or in the definition. */
int virt_domain_attach_vif(struct virt_host *h, const struct virt_dom *dom, const struct xl_vif *vif,
			   bool live, bool config, char *err, size_t errlen);
int virt_domain_detach_vif(struct virt_host *h, const struct virt_dom *dom, const struct xl_vif *vif,
			   bool live, bool config, char *err, size_t errlen);
int virt_domain_attach_disk(struct virt_host *h, const struct virt_dom *dom, const struct xl_disk *disk,
			    bool live, bool config, char *err, size_t errlen);
int virt_domain_detach_disk(struct virt_host *h, const struct virt_dom *dom, const struct xl_disk *disk,
			    bool live, bool config, char *err, size_t errlen);

/* The path of a running domain's console socket, for a console stream (as xl console attaches). */
int virt_domain_console_path(struct virt_host *h, const struct virt_dom *dom, char *path, size_t len,
			     char *err, size_t errlen);
#endif
