/* The libxml2 set-up domxml.c and storage_xml.c share (xml_safe.h). */
#define _GNU_SOURCE
#include "libvirt/xml_safe.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <libxml/parser.h>

int xml_vfail(char *err, size_t errlen, int code, const xmlNode *node, const char *fmt, va_list ap)
{
	xmlChar *path = node ? xmlGetNodePath(node) : NULL;
	int n = snprintf(err, errlen, "%s%s", path ? (const char *)path : "", path ? ": " : "");

	xmlFree(path);
	if (n < 0)
		n = 0;
	if ((size_t)n < errlen)
		vsnprintf(err + n, errlen - n, fmt, ap);
	return code;
}

int xml_fail(char *err, size_t errlen, int code, const xmlNode *node, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xml_vfail(err, errlen, code, node, fmt, ap);
	va_end(ap);
	return code;
}

bool xml_is_element(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !n->ns && !strcmp((const char *)n->name, name);
}

int xml_unit_scale(const char *unit, unsigned long long no_unit_scale, unsigned long long *scale)
{
	static const char powers[] = "kmgtpe";
	const char *at;

	if (!unit || !*unit) {
		*scale = no_unit_scale;
		return 0;
	}
	if (!strcasecmp(unit, "b") || !strcasecmp(unit, "byte") || !strcasecmp(unit, "bytes")) {
		*scale = 1;
		return 0;
	}
	at = strchr(powers, tolower((unsigned char)unit[0]));
	if (!at)
		return -1;
	unsigned long long base;
	if (!unit[1] || !strcasecmp(unit + 1, "iB"))
		base = 1024;
	else if (!strcasecmp(unit + 1, "B"))
		base = 1000;
	else
		return -1;
	*scale = 1;
	for (const char *c = powers; c <= at; c++)
		*scale *= base;
	return 0;
}

int xml_safe_read(const char *xml, size_t len, size_t max_bytes, const char *root_name,
		  int bad_code, char *err, size_t errlen, xmlDoc **doc, xmlNode **root)
{
	xmlParserCtxtPtr ctxt;
	char name[64];
	int r = 0;

	*doc = NULL;
	*root = NULL;
	if (len > max_bytes)
		return xml_fail(err, errlen, bad_code, NULL,
				"the %s XML is %zu bytes; at most %zu are accepted", root_name, len,
				max_bytes);
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return xml_fail(err, errlen, bad_code, NULL, "out of memory");
	/* No XML_PARSE_NOENT (entities stay unexpanded), no DTDLOAD, no network, no messages on
	 * stderr: the error comes back through the context. */
	snprintf(name, sizeof(name), "%s.xml", root_name);
	*doc = xmlCtxtReadMemory(ctxt, xml, (int)len, name, NULL,
				 XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!*doc) {
		const xmlError *e = &ctxt->lastError;
		char msg[256];
		snprintf(msg, sizeof(msg), "%s", e->message ? e->message : "unknown error");
		msg[strcspn(msg, "\n")] = '\0';
		r = xml_fail(err, errlen, bad_code, NULL, "the %s XML is not well-formed: line %d: %s",
			     root_name, e->line, msg);
		goto out;
	}
	/* Refused outright, so an entity is never expanded, not even later by xmlNodeGetContent. */
	if ((*doc)->intSubset || (*doc)->extSubset) {
		r = xml_fail(err, errlen, bad_code, NULL, "a <!DOCTYPE> (and any entity it declares) "
			     "is not accepted in a %s XML", root_name);
		goto out;
	}
	*root = xmlDocGetRootElement(*doc);
	if (!*root || !xml_is_element(*root, root_name)) {
		r = xml_fail(err, errlen, bad_code, NULL, "the root element is <%s>, expected <%s>",
			     *root ? (const char *)(*root)->name : "", root_name);
		goto out;
	}
out:
	if (r) {
		xmlFreeDoc(*doc);
		*doc = NULL;
		*root = NULL;
	}
	xmlFreeParserCtxt(ctxt);
	return r;
}
