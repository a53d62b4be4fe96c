/* Virtual network interfaces as xl understands them (xl-network-configuration(5), docs/netif.md):
 * parsing one vif spec, resolving its defaults the way libxl does, the host checks xl makes before
 * handing a vif to the VMM, the `--vif` / `vif-attach` text, and the VMM's `vif-list` lines. */
#ifndef XENITH_VIF_CONFIG_H
#define XENITH_VIF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "lib/domain_limits.h"

#define VIF_MAX DOMAIN_MAX_VIFS  /* vifs per domain: the VMM's limit, shared (lib/domain_limits.h) */
#define VIF_MAC_TEXT 18          /* "xx:xx:xx:xx:xx:xx" and its NUL */
#define VIF_NAME_MAX 15          /* a Linux network device name (IFNAMSIZ - 1) */
#define VIF_MODEL_MAX 31          /* model= names are short: e1000, rtl8139, e1000-82545em */
#define VIF_DEFAULT_BRIDGE "xenbr0"
#define VIF_DEFAULT_SCRIPT "vif-bridge"
#define VIF_SYSFS_NET "/sys/class/net"

struct xl_vif {
	int devid;               /* the list index in a cfg; -1 in network-attach: the VMM picks */
	bool mac_set;            /* false until given or resolved */
	unsigned char mac[6];
	char *bridge;            /* default xenbr0 */
	char *script;            /* as written, then (xl_vif_resolve_defaults) an absolute path */
	char *ip;                /* address[/prefix], or NULL */
	char *vifname;           /* the Dom0 device name, or NULL for vif<domid>.<devid> */
	char *rate;              /* accepted and passed on, not enforced; or NULL */
	/* For hvm domains (hvm_config_xl.c checks them there; other domains ignore them, as Xen's):
	 * model= as written ("": unset, which is e1000 here; an array, so that a struct copy is
	 * a copy), and type=. */
	char model[VIF_MODEL_MAX + 1];
	enum xl_vif_nictype { VIF_NICTYPE_UNSET, VIF_NICTYPE_IOEMU, VIF_NICTYPE_VIF } nictype;
	char *where;             /* "t.cfg:5: vif 0: " or "": the prefix of later messages */
};

/* Parses "key=value,key=value" (an empty spec is a vif with every default).  `where` prefixes
 * every message ("t.cfg:5: vif 0: ", or "" on the command line); unknown keys and `rate` are
 * warned about on `warn` (may be NULL), bad values are errors.  0, or -1 with the message in err;
 * on error *vif is left empty, and xl_vif_free is always safe. */
int xl_vif_parse(const char *spec, const char *where, int devid, struct xl_vif *vif, FILE *warn,
		 char *err, size_t errlen);
void xl_vif_free(struct xl_vif *vif);

/* "ioemu" (an emulated NIC beside the PV vif: the default for hvm), "vif" (PV only), or NULL. */
const char *xl_vif_nictype_name(enum xl_vif_nictype nictype);

/* "00:16:3e:01:02:03" (lower case). */
void xl_vif_mac_format(const unsigned char mac[6], char out[VIF_MAC_TEXT]);
/* Six colon-separated hex pairs into mac: 0, or -1. */
int xl_vif_mac_parse(const char *text, unsigned char mac[6]);
/* libxl's random MAC from three random bytes: 00:16:3e (Xen's OUI), r[0] & 0x7f, r[1], r[2]. */
void xl_vif_mac_from_random(const unsigned char r[3], unsigned char mac[6]);

/* Fills in what was not given: a random MAC (from /dev/urandom; different from every mac in
 * `taken`), the default bridge and script; makes the script an absolute path to an executable.
 * A bare script name is looked for in $XENITH_SCRIPTS alone when that is set, else in `scripts/`
 * beside the bin/ of the running program, then /etc/xen/scripts (docs/netif.md).
 * 0, or -1 with the message (prefixed by vif->where) in err. */
int xl_vif_resolve_defaults(struct xl_vif *vif, const unsigned char (*taken)[6], size_t n_taken,
			    char *err, size_t errlen);

/* True when the vif's script is vif-bridge (whatever directory it lives in). */
bool xl_vif_uses_bridge(const struct xl_vif *vif);
/* For a vif-bridge vif: 0 if <sysfs_net>/<bridge>/bridge exists, else -1 with
 * "bridge '<name>' does not exist (vif <devid>)" in err (no "(vif N)" while devid is -1).
 * Other scripts: 0. */
int xl_vif_check_bridge(const struct xl_vif *vif, const char *sysfs_net, char *err,
			size_t errlen);

/* The VMM's spec: "[devid=I,]mac=M,bridge=B,script=S[,ip=A][,vifname=V][,rate=R]" (devid when
 * vif->devid >= 0).  Returns a malloc'd string, or NULL when out of memory. */
char *xl_vif_format_spec(const struct xl_vif *vif);

/* One line of the VMM's `vif-list`: "devid mac state evtchn tx-ring-ref rx-ring-ref vifname". */
struct xl_vif_info {
	unsigned int devid;
	char mac[VIF_MAC_TEXT];
	int state, evtchn, tx_ring_ref, rx_ring_ref;   /* -1 where there is none yet */
	char vifname[VIF_NAME_MAX + 1];
};
/* Parses the reply text (lines; blank ones skipped) into a malloc'd array.  0 with *out and *n
 * (*out NULL when n is 0), or -1 with the offending line quoted in err. */
int xl_vif_list_parse(const char *text, struct xl_vif_info **out, size_t *n, char *err,
		      size_t errlen);

#endif
