/* A domain's configuration as xl understands it, built from a parsed xl.cfg. */
#ifndef XENITH_DOMAIN_CONFIG_H
#define XENITH_DOMAIN_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "lib/domain_limits.h"
#include "xl/disk_config.h"
#include "xl/hvm_config_xl.h"
#include "xl/vif_config.h"
#include "xl/xl_cfg.h"

enum domain_type { DOMAIN_TYPE_PVH, DOMAIN_TYPE_PV, DOMAIN_TYPE_HVM };

enum domain_action {
	ACTION_DESTROY, ACTION_RESTART, ACTION_PRESERVE,
	ACTION_RENAME_RESTART, ACTION_COREDUMP_DESTROY, ACTION_COREDUMP_RESTART,
};

struct domain_config {
	char *name;
	uint8_t uuid[16];        /* uuid = "8-4-4-4-12 hex"; has_uuid false when absent */
	bool has_uuid;
	enum domain_type type;
	char *kernel;            /* as written: like xl, a relative path is relative to the cwd */
	char *ramdisk;           /* NULL when absent */
	char *cmdline;           /* cmdline, or root= + extra as xl joins them; "" when absent */
	unsigned long memory_mb; /* default 128; DOMAIN_MIN/MAX_MEMORY_MB like maxmem_mb */
	unsigned int vcpus;      /* default 1 */
	enum domain_action on_poweroff, on_reboot, on_crash; /* destroy, restart, destroy */
	unsigned long maxmem_mb; /* >= memory_mb; memory_mb when absent */
	unsigned int max_vcpus;  /* >= vcpus; vcpus when absent */
	struct xl_vif *vifs; /* vif = [ ... ]: vifs[i].devid is i; defaults not yet resolved */
	size_t n_vifs;
	struct xl_disk *disks;   /* disk = [ ... ]: vdevs distinct; targets as written until resolved */
	size_t n_disks;
	/* weight=, cap= (Xen's credit scheduler: 1..65535, 0..65535 % of one CPU); 0/false when absent,
	 * which leaves the VMM's defaults (256, no cap). */
	unsigned int sched_weight, sched_cap;
	bool sched_cap_set;
	/* cpus=, cpus_soft= as the VMM's --cpus/--cpus-soft specs: one "LIST" for every vCPU, or one
	 * "V=LIST" per vCPU for xl.cfg's list form; none when absent (every CPU).  docs/sched.md. */
	char *cpus[DOMAIN_MAX_VCPUS], *cpus_soft[DOMAIN_MAX_VCPUS];
	size_t n_cpus, n_cpus_soft;
	struct xl_hvm hvm;       /* type hvm only (hvm_config_xl.h); all zero: every default */
};

/* Every count and size is bounded by lib/domain_limits.h, the VMM's limits too. */
/* Checks and converts; unknown keys are warned about on `warn` like xl does, known-but-unsupported
 * values are errors that say so.  Returns 0, or -1 with `file:line: message` in err. */
int domain_config_from_cfg(const struct xl_cfg *cfg, struct domain_config *dc, FILE *warn,
			   char *err, size_t errlen);
/* The defaults of every vif (random MACs distinct from the others, bridge, absolute script path);
 * done apart from the parse as it reads the host.  0, or -1 with `file:line: vif N: message`. */
int domain_config_resolve_vifs(struct domain_config *dc, char *err, size_t errlen);
/* Every disk's target made absolute and checked (xl_disk_resolve_target), and a target given twice
 * refused unless read-only both times.  0, or -1 with `file:line: disk N: message`. */
int domain_config_resolve_disks(struct domain_config *dc, char *err, size_t errlen);
/* On error *dc is left empty (all NULL), so domain_config_free is always safe. */
void domain_config_free(struct domain_config *dc);
/* What makes `name` unfit for a domain (a static phrase: "it contains '/'"), or NULL: names become
 * xenstore values, run-directory paths and xl arguments.  xl.cfg's name= and libvirt's <name>. */
const char *domain_name_problem(const char *name);
const char *domain_action_name(enum domain_action action);
const char *domain_type_name(enum domain_type type);

#endif
