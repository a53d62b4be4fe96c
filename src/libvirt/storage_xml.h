/* libvirt's storage pool and volume XML (docs/formatstorage.rst) for `dir` pools and raw file
 * volumes, to and from storage.h's structs.  Input is hostile (any client sends it): bounded in
 * size, parsed by libxml2 without network, DTDs or entity expansion, a DOCTYPE refused; elements
 * that would ask for something else (another pool type, a qcow2 format, a backing store) are
 * refused as unsupported, descriptive ones (sizes, permissions) ignored. */
#ifndef XENITH_VIRT_STORAGE_XML_H
#define XENITH_VIRT_STORAGE_XML_H
#include <stdbool.h>
#include <stddef.h>
#include "libvirt/storage.h"

#define STORAGE_XML_MAX_BYTES (256u << 10)

/* A failed parse: VIR_ERR_XML_ERROR for STORAGE_XML_ERR_XML, VIR_ERR_CONFIG_UNSUPPORTED for
 * STORAGE_XML_ERR_UNSUPPORTED. */
#define STORAGE_XML_ERR_XML (-1)
#define STORAGE_XML_ERR_UNSUPPORTED (-2)

/* <pool type='dir'>: name, uuid (optional), target/path (absolute).  0 or an error above with
 * err naming the element. */
int pool_xml_parse(const char *xml, size_t len, struct virt_pool *out, char *err, size_t errlen);
/* The pool's XML as virsh pool-dumpxml prints it; info NULL for the stored form (no sizes).
 * malloc'd, NULL when out of memory or a field XML cannot carry. */
char *pool_xml_format(const struct virt_pool *p, const struct virt_pool_info *info);

struct vol_def {
	char name[VIRT_VOL_NAME_MAX + 1];
	unsigned long long capacity, allocation; /* bytes; allocation 0 when not given */
};
/* <volume>: name, capacity (with unit), allocation, target/format raw (or none). */
int vol_xml_parse(const char *xml, size_t len, struct vol_def *out, char *err, size_t errlen);
char *vol_xml_format(const struct virt_vol *v);
#endif
