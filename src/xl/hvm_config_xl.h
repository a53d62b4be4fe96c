/* xl.cfg's keys for hvm domains (xl.cfg(5)), as Xen's xl reads them, and the VMM's HVM options
 * they become (docs/hvm.md, "The VMM's options"; the VMM parses them in hw/hvm_config.c). */
#ifndef XENITH_HVM_CONFIG_XL_H
#define XENITH_HVM_CONFIG_XL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "hw/hvm_config.h"
#include "xl/disk_config.h"
#include "xl/vif_config.h"
#include "xl/xl_cfg.h"

struct domain_config;

/* What an hvm domain's config asks beyond a PVH one's.  Zero is every default (a config built by
 * hand, as the libvirt daemon does, needs nothing here); the VMM owns the defaults themselves, so
 * xl passes only what the config changed. */
struct xl_hvm {
	char *firmware;               /* firmware = "/path": a SeaBIOS image; NULL: Debian's */
	char boot[HVM_BOOT_MAX + 1];  /* boot = "dc": c, d, n in order; "": the VMM's "cd" */
	bool no_acpi;                 /* acpi = 0 */
	bool no_platform_pci;         /* xen_platform_pci = 0 */
	bool no_serial;               /* serial = "none" ("pty", COM1 as the console, otherwise) */
	bool localtime;               /* localtime = 1 */
	long long rtc_timeoffset;     /* rtc_timeoffset = seconds (a signed 32-bit number, as Xen's) */
};

/* Whether key is one of the hvm keys (for the warning about unknown keys). */
bool xl_hvm_is_key(const char *key);

/* The hvm keys of cfg into dc->hvm, when dc->type is hvm (dc->type, disks and vifs already read);
 * for other types the hvm keys are ignored, as Xen's xl ignores them, with a warning on warn
 * (NULL: none) for all but serial, boot and device_model_version.  Then an hvm domain's disks
 * (IDE drives) and vifs (emulated NICs) are checked.  0, or -1 with `file:line: message`. */
int xl_hvm_read(const struct xl_cfg *cfg, struct domain_config *dc, FILE *warn, char *err,
		size_t errlen);
void xl_hvm_free(struct xl_hvm *hvm);

/* The VMM's options of an hvm domain, after its disks and vifs are resolved (absolute targets,
 * MACs): --hvm, the options the config changed, --ide per IDE drive and --nic per emulated NIC.
 * argv points into the struct's own strings (free with xl_hvm_args_free). */
#define XL_HVM_ARGS_MAX (1 + 2 * 7 + 2 * HVM_IDE_DRIVES + 2 * HVM_NICS_MAX)
struct xl_hvm_args {
	char *argv[XL_HVM_ARGS_MAX];
	size_t argc;
	char *owned[XL_HVM_ARGS_MAX];
	size_t n_owned;
};
/* 0, or -1 with err (the disk's or vif's file:line when it has one); *a is freed on error. */
int xl_hvm_vmm_args(const struct domain_config *dc, struct xl_hvm_args *a, char *err, size_t errlen);
void xl_hvm_args_free(struct xl_hvm_args *a);

/* Whether an hvm domain's disk is also given to the VMM as a PV disk (--disk): every disk with a
 * target, CD-ROMs included, as libxl writes a vbd for each (Linux's blkfront then skips cdroms on
 * hvm); an empty tray has nothing to serve. */
bool xl_hvm_disk_is_pv(const struct xl_disk *disk);

#endif
