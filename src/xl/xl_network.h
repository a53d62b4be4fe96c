/* What the network commands share with the rest of xl: a domain's vifs as its VMM lists them,
 * and the host checks made before a vif is handed to a VMM. */
#ifndef XENITH_XL_NETWORK_H
#define XENITH_XL_NETWORK_H

#include <stddef.h>
#include "xl/vif_config.h"
#include "xl/xl_domain.h"

/* `vif-list` of domain domid (>= 1), parsed: 0 with a malloc'd *out (NULL when there are none),
 * or -errno as xl_domain_request returns it, with the message in err. */
int xl_vif_list(struct xl_ctx *ctx, unsigned int domid, struct xl_vif_info **out, size_t *n,
		char *err, size_t errlen);

/* The bridge of every vif-bridge vif exists ($XENITH_SYSFS_NET, default /sys/class/net, is where
 * xl looks; tests point it elsewhere).  0, or -1 with the first missing one in err. */
int xl_vifs_check_bridges(const struct xl_vif *vifs, size_t n, char *err, size_t errlen);

/* A live domain's vif as `xl list -l` shows it: the VMM's list, and the backend's bridge, ip and
 * script nodes from xenstore (NULL when xs is NULL or a node is missing). */
struct xs_client;
struct xl_nic {
	unsigned int devid;
	char mac[VIF_MAC_TEXT], vifname[VIF_NAME_MAX + 1];
	char *bridge, *ip, *script;
};
/* 0 with a malloc'd *out (NULL when none), or -errno as xl_vif_list (err says why). */
int xl_domain_nics(struct xl_ctx *ctx, struct xs_client *xs, unsigned int domid,
		   struct xl_nic **out, size_t *n, char *err, size_t errlen);
void xl_nics_free(struct xl_nic *nics, size_t n);

/* A deep copy of src into dst (free with xl_vif_free): 0, or -1 when out of memory. */
int xl_vif_copy(struct xl_vif *dst, const struct xl_vif *src);

/* xl network-attach of `vif` (its devid ignored: the VMM picks) to domain domid called `name`, and
 * network-detach of the vif `which` names (a DevId or a MAC): as xl_device_attach and
 * xl_device_detach (xl_device.h). */
int xl_network_attach(struct xl_ctx *ctx, unsigned int domid, const char *name, const struct xl_vif *vif,
		      char *err, size_t errlen);
int xl_network_detach(struct xl_ctx *ctx, unsigned int domid, const char *name, const char *which,
		      char *err, size_t errlen);

#endif
