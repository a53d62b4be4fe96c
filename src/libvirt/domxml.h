/* libvirt's domain XML for <domain type='xen'> to and from xl's domain_config: the one conversion
 * module (docs/libvirt.md has the mapping).  os type 'xenpvh' is PVH, 'linux'/'xen' (libvirt's
 * spellings of a paravirtualised guest) PV, which Xenith boots as PVH as xl does, 'hvm' is HVM; <kernel>, <initrd>, <cmdline>,
 * <memory>, <currentMemory>, <vcpu current=''>, <on_poweroff|reboot|crash>, <devices>: <disk
 * type='file|block' device='disk|cdrom'> with <source> <target dev=''> <readonly/>, <interface
 * type='bridge|ethernet'> with <mac>, <source bridge>, <script path>, <target dev>, <ip address>,
 * <console>/<serial type='pty'>; <vcpupin>s and <cputune> weight/cap may follow later.
 * Input is hostile (it comes from any libvirt client): sizes are bounded, unknown elements that
 * would change what the guest gets are refused with what and where, harmless ones are ignored. */
#ifndef XENITH_DOMXML_H
#define XENITH_DOMXML_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xl/domain_config.h"

#define DOMXML_MAX_BYTES (1u << 20)

/* What a domain is besides its configuration (the <uuid> is dc->uuid, xl.cfg's uuid=). */
struct domxml_identity {
	int id;                 /* -1: not running (no id= attribute) */
};

/* What a failed domxml_parse was: the caller answers VIR_ERR_XML_ERROR for DOMXML_ERR_XML
 * (malformed, missing or invalid values) and VIR_ERR_CONFIG_UNSUPPORTED for DOMXML_ERR_UNSUPPORTED
 * (valid libvirt XML asking for something Xenith cannot give: another domain type, a <hostdev>, a
 * qcow2 disk...). */
#define DOMXML_ERR_XML (-1)
#define DOMXML_ERR_UNSUPPORTED (-2)

/* Parses `xml` (len bytes, not necessarily NUL-terminated) into *dc (id= is ignored: a client
 * does not choose it).  0, or DOMXML_ERR_XML / DOMXML_ERR_UNSUPPORTED (both < 0) with a message
 * naming the element or attribute at fault (its path, /domain/devices/disk[1]/target) in err
 * (and *dc left empty).  A missing <uuid> leaves dc->has_uuid false (the caller makes one). */
int domxml_parse(const char *xml, size_t len, struct domain_config *dc, char *err, size_t errlen);

/* The XML of `dc` as `virsh dumpxml` prints it (libvirt's element order and indentation), which
 * domxml_parse reads back to the same configuration.  malloc'd; NULL with err on failure. */
char *domxml_format(const struct domain_config *dc, const struct domxml_identity *ident, char *err,
		    size_t errlen);
#endif
