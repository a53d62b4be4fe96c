/* What domxml.c and storage_xml.c share when they read a client's XML with libxml2: a hostile
 * document is bounded in size before libxml2 sees it, parsed without network, DTD loading or
 * entity substitution, and refused when it carries a DOCTYPE; errors name the element's path. */
#ifndef XENITH_LIBVIRT_XML_SAFE_H
#define XENITH_LIBVIRT_XML_SAFE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <libxml/tree.h>

/* "PATH: message" into err (PATH the node's XPath, /domain/devices/disk[2]; no prefix when node
 * is NULL).  Returns code, so a reader can `return xml_fail(...)`. */
int xml_fail(char *err, size_t errlen, int code, const xmlNode *node, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
int xml_vfail(char *err, size_t errlen, int code, const xmlNode *node, const char *fmt,
	      va_list ap) __attribute__((format(printf, 5, 0)));

/* An element named name, in no namespace. */
bool xml_is_element(const xmlNode *n, const char *name);

/* libvirt's scaled-integer units: none (NULL or "") is no_unit_scale; b, byte, bytes 1; k, KiB,
 * M, MiB, ... up to E/EiB powers of 1024; KB, MB, ... powers of 1000 (case-insensitive).
 * 0, or -1 for another unit. */
int xml_unit_scale(const char *unit, unsigned long long no_unit_scale, unsigned long long *scale);

/* Parses the document xml (len bytes, at most max_bytes) whose root must be <root_name>.
 * 0 with *doc (free with xmlFreeDoc) and *root set, or bad_code with a message in err that
 * names the document as "the <root_name> XML". */
int xml_safe_read(const char *xml, size_t len, size_t max_bytes, const char *root_name,
		  int bad_code, char *err, size_t errlen, xmlDoc **doc, xmlNode **root);

#endif
