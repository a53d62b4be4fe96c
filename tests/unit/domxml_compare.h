/* Field-by-field comparison of two domain_configs as domain XML carries them (test_domxml and
 * fuzz_domxml): what differs first is named in `what`.  The scheduler fields and CPU lists are
 * not in the XML and not compared; nor are xl's message prefixes (`where`). */
#ifndef XENITH_TESTS_DOMXML_COMPARE_H
#define XENITH_TESTS_DOMXML_COMPARE_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "xl/domain_config.h"

static inline bool domxml_str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* true when equal; else false with the first differing field in what. */
static inline bool domxml_config_equal(const struct domain_config *a, const struct domain_config *b,
				       char *what, size_t len)
{
#define DIFF(cond, ...) do { if (cond) { snprintf(what, len, __VA_ARGS__); return false; } } while (0)
	DIFF(!domxml_str_eq(a->name, b->name), "name");
	DIFF(a->has_uuid != b->has_uuid || (a->has_uuid && memcmp(a->uuid, b->uuid, 16)), "uuid");
	DIFF(a->type != b->type, "type");
	DIFF(!domxml_str_eq(a->kernel, b->kernel), "kernel");
	DIFF(!domxml_str_eq(a->ramdisk, b->ramdisk), "ramdisk");
	DIFF(!domxml_str_eq(a->cmdline, b->cmdline), "cmdline");
	DIFF(a->memory_mb != b->memory_mb, "memory_mb %lu vs %lu", a->memory_mb, b->memory_mb);
	DIFF(a->maxmem_mb != b->maxmem_mb, "maxmem_mb %lu vs %lu", a->maxmem_mb, b->maxmem_mb);
	DIFF(a->vcpus != b->vcpus, "vcpus");
	DIFF(a->max_vcpus != b->max_vcpus, "max_vcpus");
	DIFF(a->on_poweroff != b->on_poweroff, "on_poweroff");
	DIFF(a->on_reboot != b->on_reboot, "on_reboot");
	DIFF(a->on_crash != b->on_crash, "on_crash");
	DIFF(a->n_disks != b->n_disks, "n_disks %zu vs %zu", a->n_disks, b->n_disks);
	for (size_t i = 0; i < a->n_disks; i++) {
		const struct xl_disk *x = &a->disks[i], *y = &b->disks[i];
		DIFF(!domxml_str_eq(x->vdev, y->vdev), "disk %zu vdev", i);
		DIFF(x->devid != y->devid, "disk %zu devid", i);
		DIFF(x->readonly != y->readonly, "disk %zu readonly", i);
		DIFF(x->cdrom != y->cdrom, "disk %zu cdrom", i);
		DIFF(!domxml_str_eq(x->target, y->target), "disk %zu target", i);
	}
	DIFF(a->n_vifs != b->n_vifs, "n_vifs %zu vs %zu", a->n_vifs, b->n_vifs);
	for (size_t i = 0; i < a->n_vifs; i++) {
		const struct xl_vif *x = &a->vifs[i], *y = &b->vifs[i];
		DIFF(x->devid != y->devid, "vif %zu devid", i);
		DIFF(x->mac_set != y->mac_set || (x->mac_set && memcmp(x->mac, y->mac, 6)),
		     "vif %zu mac", i);
		DIFF(!domxml_str_eq(x->bridge, y->bridge), "vif %zu bridge", i);
		DIFF(!domxml_str_eq(x->script, y->script), "vif %zu script", i);
		DIFF(!domxml_str_eq(x->ip, y->ip), "vif %zu ip", i);
		DIFF(!domxml_str_eq(x->vifname, y->vifname), "vif %zu vifname", i);
		DIFF(!domxml_str_eq(x->rate, y->rate), "vif %zu rate", i);
	}
#undef DIFF
	return true;
}

#endif
