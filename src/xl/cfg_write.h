/* A domain_config written back as xl.cfg text: what xl keeps as a domain's config and
 * xenith-libvirtd stores as a persistent definition. */
#ifndef XENITH_CFG_WRITE_H
#define XENITH_CFG_WRITE_H

#include <stddef.h>
#include <stdio.h>
#include "xl/domain_config.h"

/* The xl.cfg text (name, uuid, type, kernel, ramdisk, cmdline, memory, maxmem, vcpus, maxvcpus,
 * on_*, weight, cap, cpus, cpus_soft, disk = [...] and vif = [...] in xl's spec syntax) that
 * domain_config_from_cfg reads back to an equal config.  A vif's devid must be its index (or -1:
 * the cfg gives it the index).  What the syntax cannot say is refused: a vif value holding ',' or
 * blanks at its ends, a target holding a newline, a cpus spec not in domain_config's forms.
 * Returns a malloc'd string, or NULL with the reason in err. */
char *domain_config_to_cfg(const struct domain_config *dc, char *err, size_t errlen);

/* One xl.cfg string literal, double-quoted with libxlu's escapes, appended to f. */
void cfg_write_string(FILE *f, const char *s);

#endif
