/* What the domain model's files share (virt_domains.c: listing, definitions, lifecycle, memory;
 * virt_resources.c: vCPUs, the credit scheduler, devices): the checks every action makes and the
 * edit of a stored definition.  Not for the procedures: they use virt_domains.h. */
#ifndef XENITH_VIRT_DOMAINS_INT_H
#define XENITH_VIRT_DOMAINS_INT_H
#include <stdbool.h>
#include <stddef.h>
#include "libvirt/virt_domains.h"

/* 0 when dom runs (and is not Domain-0); -EPERM or -EINVAL with "cannot VERB ..." in err. */
int virt_need_running(const struct virt_dom *dom, const char *verb, char *err, size_t errlen);
/* At least one of live and config, live needing a running domain and config a definition. */
int virt_live_or_config(const struct virt_dom *dom, bool live, bool config, const char *verb,
			char *err, size_t errlen);

/* A change to a stored definition: edit(dc, arg) then written back (read back as xl reads it, so
 * what is stored always loads).  0 or -errno with err. */
typedef int (*virt_definition_edit_fn)(struct domain_config *dc, const void *arg, char *err,
				       size_t errlen);
int virt_definition_edit(struct virt_host *h, const struct virt_dom *dom, virt_definition_edit_fn edit,
			 const void *arg, char *err, size_t errlen);
#endif
