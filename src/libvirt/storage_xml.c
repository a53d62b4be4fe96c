/* Storage pool and volume XML (storage_xml.h).  Each element is read by a row of a small table
 * per parent (reader, or NULL: accepted and ignored); an element no row names is refused as
 * unsupported with its path (/pool/source/device[1]), as domxml.c does for domains. */
#define _GNU_SOURCE
#include "libvirt/storage_xml.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/tree.h>

#include "lib/uuid.h"
#include "libvirt/xml_safe.h"

struct sx {
	char *err;
	size_t errlen;
	struct virt_pool *pool;
	struct vol_def *vol;
	bool have_name, have_path, have_capacity;
};

#define BAD(p, n, ...) xml_fail((p)->err, (p)->errlen, STORAGE_XML_ERR_XML, (n), __VA_ARGS__)
#define UNSUPPORTED(p, n, ...) \
	xml_fail((p)->err, (p)->errlen, STORAGE_XML_ERR_UNSUPPORTED, (n), __VA_ARGS__)

/* The element's text with blanks at both ends dropped, into buf; -1 when it does not fit. */
static int text_into(const xmlNode *n, char *buf, size_t len)
{
	xmlChar *t = xmlNodeGetContent(n);
	const char *s = t ? (const char *)t : "";
	size_t l;

	while (isspace((unsigned char)*s))
		s++;
	l = strlen(s);
	while (l && isspace((unsigned char)s[l - 1]))
		l--;
	int r = l < len ? 0 : -1;
	if (!r) {
		memcpy(buf, s, l);
		buf[l] = '\0';
	}
	xmlFree(t);
	return r;
}

struct rule {
	const char *name;
	int (*read)(struct sx *p, xmlNode *n);
};

static int walk(struct sx *p, xmlNode *parent, const struct rule *rules, size_t n_rules)
{
	for (xmlNode *c = parent->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		size_t i;
		for (i = 0; i < n_rules; i++)
			if (xml_is_element(c, rules[i].name))
				break;
		if (i == n_rules)
			return UNSUPPORTED(p, c, "element <%s> is not supported by Xenith's storage",
					   (const char *)c->name);
		if (rules[i].read) {
			int r = rules[i].read(p, c);
			if (r)
				return r;
		}
	}
	return 0;
}

#define WALK(p, node, rules) walk((p), (node), (rules), sizeof(rules) / sizeof((rules)[0]))

static int read_size(struct sx *p, xmlNode *n, unsigned long long *out)
{
	char *unit = (char *)xmlGetNoNsProp(n, (const xmlChar *)"unit");
	char t[64], *end;
	unsigned long long v, scale;
	int r = 0;

	if (text_into(n, t, sizeof(t)) || !isdigit((unsigned char)t[0]))
		r = BAD(p, n, "not a whole number of bytes");
	else if (xml_unit_scale(unit, 1, &scale))
		r = BAD(p, n, "invalid unit '%.32s' (valid: bytes, KiB, MiB, GiB, TiB, KB, MB, GB, ...)",
			unit);
	else {
		errno = 0;
		v = strtoull(t, &end, 10);
		if (errno || *end || v > VIRT_VOL_CAPACITY_MAX / scale)
			r = BAD(p, n, "'%s' is not a size up to %llu bytes", t, VIRT_VOL_CAPACITY_MAX);
		else
			*out = v * scale;
	}
	xmlFree(unit);
	return r;
}

/* ---- pools -------------------------------------------------------------------------------- */

static int pool_name(struct sx *p, xmlNode *n)
{
	const char *problem;

	if (text_into(n, p->pool->name, sizeof(p->pool->name)))
		return BAD(p, n, "a pool name is at most %u bytes", VIRT_POOL_NAME_MAX);
	if ((problem = virt_pool_name_problem(p->pool->name)))
		return BAD(p, n, "invalid pool name: %s", problem);
	p->have_name = true;
	return 0;
}

static int pool_uuid(struct sx *p, xmlNode *n)
{
	char t[64];

	if (text_into(n, t, sizeof(t)) || uuid_parse(t, p->pool->uuid))
		return BAD(p, n, "invalid uuid (expected 8-4-4-4-12 hex digits)");
	p->pool->has_uuid = true;
	return 0;
}

static int pool_path(struct sx *p, xmlNode *n)
{
	char *s = p->pool->path;
	size_t len = sizeof(p->pool->path);

	if (text_into(n, s, len))
		return BAD(p, n, "the target path is longer than %zu bytes", len - 1);
	if (s[0] != '/')
		return BAD(p, n, "the target path '%s' is not absolute", s);
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20)
			return BAD(p, n, "the target path has a control character");
	/* One spelling per directory: no trailing slash (but "/"), no "//", "." or ".." parts. */
	size_t l = strlen(s);
	while (l > 1 && s[l - 1] == '/')
		s[--l] = '\0';
	if (strstr(s, "//") || strstr(s, "/./") || strstr(s, "/../") ||
	    (l >= 2 && !strcmp(s + l - 2, "/.")) || (l >= 3 && !strcmp(s + l - 3, "/..")))
		return BAD(p, n, "the target path '%s' has empty, '.' or '..' parts", s);
	p->have_path = true;
	return 0;
}

/* A dir pool's <source> has nothing; any child would name a device, host or format. */
static int pool_source(struct sx *p, xmlNode *n)
{
	return walk(p, n, NULL, 0);
}

static int pool_target(struct sx *p, xmlNode *n)
{
	static const struct rule rules[] = { { "path", pool_path }, { "permissions", NULL } };
	return WALK(p, n, rules);
}

static int pool_root(struct sx *p, xmlNode *root)
{
	static const struct rule rules[] = {
		{ "name", pool_name },         { "uuid", pool_uuid },       { "capacity", NULL },
		{ "allocation", NULL },        { "available", NULL },       { "source", pool_source },
		{ "target", pool_target },
	};
	char *type = (char *)xmlGetNoNsProp(root, (const xmlChar *)"type");
	int r = 0;

	if (!type)
		r = BAD(p, root, "the pool has no type (Xenith has type='dir')");
	else if (strcmp(type, "dir"))
		r = UNSUPPORTED(p, root, "pool type '%.32s' is not supported: Xenith has 'dir' pools "
			       "only", type);
	xmlFree(type);
	if (r || (r = WALK(p, root, rules)))
		return r;
	if (!p->have_name)
		return BAD(p, root, "the pool has no <name>");
	if (!p->have_path)
		return BAD(p, root, "the pool has no <target><path>");
	return 0;
}

/* ---- volumes ------------------------------------------------------------------------------ */

static int vol_name(struct sx *p, xmlNode *n)
{
	const char *problem;

	if (text_into(n, p->vol->name, sizeof(p->vol->name)))
		return BAD(p, n, "a volume name is at most %u bytes", VIRT_VOL_NAME_MAX);
	if ((problem = virt_vol_name_problem(p->vol->name)))
		return BAD(p, n, "invalid volume name: %s", problem);
	p->have_name = true;
	return 0;
}

static int vol_capacity(struct sx *p, xmlNode *n)
{
	p->have_capacity = true;
	return read_size(p, n, &p->vol->capacity);
}

static int vol_allocation(struct sx *p, xmlNode *n) { return read_size(p, n, &p->vol->allocation); }

static int vol_format(struct sx *p, xmlNode *n)
{
	char *type = (char *)xmlGetNoNsProp(n, (const xmlChar *)"type");
	int r = 0;

	if (type && strcmp(type, "raw"))
		r = UNSUPPORTED(p, n, "volume format '%.32s' is not supported: Xenith's dir pools "
			       "hold raw files", type);
	xmlFree(type);
	return r;
}

/* The path of a new volume is its pool's directory and its name: a path given must be that. */
static int vol_target(struct sx *p, xmlNode *n)
{
	static const struct rule rules[] = {
		{ "format", vol_format }, { "permissions", NULL }, { "path", NULL },
		{ "compat", NULL },       { "features", NULL },    { "timestamps", NULL },
	};
	return WALK(p, n, rules);
}

static int vol_root(struct sx *p, xmlNode *root)
{
	static const struct rule rules[] = {
		{ "name", vol_name },         { "key", NULL },          { "capacity", vol_capacity },
		{ "allocation", vol_allocation }, { "physical", NULL }, { "target", vol_target },
		{ "source", NULL },
	};
	char *type = (char *)xmlGetNoNsProp(root, (const xmlChar *)"type");
	int r = 0;

	if (type && strcmp(type, "file"))
		r = UNSUPPORTED(p, root, "volume type '%.32s' is not supported: Xenith's volumes are "
			       "files", type);
	xmlFree(type);
	if (r || (r = WALK(p, root, rules)))
		return r;
	if (!p->have_name)
		return BAD(p, root, "the volume has no <name>");
	if (!p->have_capacity)
		return BAD(p, root, "the volume has no <capacity>");
	if (p->vol->allocation > p->vol->capacity)
		p->vol->allocation = p->vol->capacity;
	return 0;
}

/* ---- the document ------------------------------------------------------------------------- */

static int parse_doc(struct sx *p, const char *xml, size_t len, const char *root_name,
		     int (*read_root)(struct sx *p, xmlNode *root))
{
	xmlDoc *doc;
	xmlNode *root;
	int r = xml_safe_read(xml, len, STORAGE_XML_MAX_BYTES, root_name, STORAGE_XML_ERR_XML,
			      p->err, p->errlen, &doc, &root);

	if (r)
		return r;
	r = read_root(p, root);
	xmlFreeDoc(doc);
	return r;
}

int pool_xml_parse(const char *xml, size_t len, struct virt_pool *out, char *err, size_t errlen)
{
	struct sx p = { .err = err, .errlen = errlen, .pool = out };

	memset(out, 0, sizeof(*out));
	int r = parse_doc(&p, xml, len, "pool", pool_root);
	if (r)
		memset(out, 0, sizeof(*out));
	return r;
}

int vol_xml_parse(const char *xml, size_t len, struct vol_def *out, char *err, size_t errlen)
{
	struct sx p = { .err = err, .errlen = errlen, .vol = out };

	memset(out, 0, sizeof(*out));
	int r = parse_doc(&p, xml, len, "volume", vol_root);
	if (r)
		memset(out, 0, sizeof(*out));
	return r;
}

/* ---- formatting --------------------------------------------------------------------------- */

/* Text for an element: escaped; false when XML cannot carry it (control characters, bad UTF-8). */
static bool put_text(FILE *f, const char *s)
{
	if (!xmlCheckUTF8((const xmlChar *)s))
		return false;
	for (const char *c = s; *c; c++) {
		if ((unsigned char)*c < 0x20)
			return false;
		switch (*c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		default: fputc(*c, f);
		}
	}
	return true;
}

/* Closes the stream (which sets *buf) and hands over the text, or NULL. */
static char *finish(FILE *f, char **buf, bool ok)
{
	if (fclose(f) || !ok) {
		free(*buf);
		return NULL;
	}
	return *buf;
}

char *pool_xml_format(const struct virt_pool *p, const struct virt_pool_info *info)
{
	char *buf = NULL, uuid[UUID_TEXT_LEN];
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	bool ok = true;

	if (!f)
		return NULL;
	uuid_format(p->uuid, uuid);
	fputs("<pool type='dir'>\n  <name>", f);
	ok &= put_text(f, p->name);
	fprintf(f, "</name>\n  <uuid>%s</uuid>\n", uuid);
	if (info)
		fprintf(f, "  <capacity unit='bytes'>%llu</capacity>\n"
			   "  <allocation unit='bytes'>%llu</allocation>\n"
			   "  <available unit='bytes'>%llu</available>\n",
			info->capacity, info->allocation, info->available);
	fputs("  <source>\n  </source>\n  <target>\n    <path>", f);
	ok &= put_text(f, p->path);
	fputs("</path>\n  </target>\n</pool>\n", f);
	return finish(f, &buf, ok);
}

char *vol_xml_format(const struct virt_vol *v)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	bool ok = true;

	if (!f)
		return NULL;
	fputs("<volume type='file'>\n  <name>", f);
	ok &= put_text(f, v->name);
	fputs("</name>\n  <key>", f);
	ok &= put_text(f, v->path);
	fprintf(f, "</key>\n  <capacity unit='bytes'>%llu</capacity>\n"
		   "  <allocation unit='bytes'>%llu</allocation>\n"
		   "  <physical unit='bytes'>%llu</physical>\n  <target>\n    <path>",
		v->capacity, v->allocation, v->capacity);
	ok &= put_text(f, v->path);
	fputs("</path>\n    <format type='raw'/>\n  </target>\n</volume>\n", f);
	return finish(f, &buf, ok);
}
