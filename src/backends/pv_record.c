/* The saved-state record of one PV backend instance (format in pv_backend.h).
 *
 * Records come back from files and, with migration, from another host: every byte is hostile.
 * The reader checks the header's lengths against what it was given before it looks at the body,
 * walks the fields with every length checked against what is left, refuses what it does not
 * know rather than skipping it (a version bump is how the format grows), and ends with the type's
 * own check of the config, so a restored device has passed the same tests as a parsed spec. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backends/pv_backend.h"
#include "lib/error.h"

enum {
	TAG_STATE = 1,       /* u32 */
	TAG_CONNECTED,       /* u8 */
	TAG_PORT,            /* u32 */
	TAG_RING_REFS,       /* u32 each, at most PV_MAX_RING_REFS */
	TAG_FIRST_TYPE = 16,
};

#define XENBUS_STATE_MAX 8   /* XenbusStateReconfigured */
#define PORT_MAX 4095        /* 2-level event channels of a 64-bit guest */

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }

static uint32_t fnv1a(const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* ---- writing ---- */

struct writer {
	uint8_t *buf;
	size_t len, at;
	bool full;
};

static void put_field(struct writer *w, uint16_t tag, const void *value, size_t n)
{
	if (w->full || n > UINT16_MAX || w->len - w->at < 4 + n) {
		w->full = true;
		return;
	}
	put16(w->buf + w->at, tag);
	put16(w->buf + w->at + 2, (uint16_t)n);
	if (n)
		memcpy(w->buf + w->at + 4, value, n);
	w->at += 4 + n;
}

static void put_u32_field(struct writer *w, uint16_t tag, uint32_t v)
{
	uint8_t b[4];

	put32(b, v);
	put_field(w, tag, b, 4);
}

static void put_config_field(struct writer *w, const struct pv_field *f, const uint8_t *config)
{
	const uint8_t *at = config + f->offset;

	switch (f->kind) {
	case PV_FIELD_STR:
		put_field(w, f->tag, at, strnlen((const char *)at, f->size));
		break;
	case PV_FIELD_INT: {
		int v;
		memcpy(&v, at, sizeof(v));
		put_u32_field(w, f->tag, (uint32_t)v);
		break;
	}
	case PV_FIELD_BOOL: {
		uint8_t b = *(const bool *)(const void *)at;
		put_field(w, f->tag, &b, 1);
		break;
	}
	case PV_FIELD_BYTES:
		put_field(w, f->tag, at, f->size);
		break;
	}
}

long pv_record_encode(const struct pv_backend_type *type, const void *config,
		      const struct pv_runtime *rt, uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct writer w = { .buf = buf, .len = len < PV_RECORD_MAX ? len : PV_RECORD_MAX,
			    .at = PV_RECORD_HEADER };

	if (w.len < PV_RECORD_HEADER) {
		ERR_SET(err, errlen, "%s record: no room for its %d-byte header", type->name, PV_RECORD_HEADER);
		return -1;
	}
	put_u32_field(&w, TAG_STATE, rt->state);
	put_field(&w, TAG_CONNECTED, &(uint8_t){ rt->connected }, 1);
	if (rt->connected) {
		uint8_t refs[PV_MAX_RING_REFS * 4];
		uint32_t n = rt->n_refs < PV_MAX_RING_REFS ? rt->n_refs : PV_MAX_RING_REFS;
		put_u32_field(&w, TAG_PORT, rt->port);
		for (uint32_t i = 0; i < n; i++)
			put32(refs + 4 * i, rt->refs[i]);
		put_field(&w, TAG_RING_REFS, refs, 4 * n);
	}
	for (const struct pv_field *f = type->fields; f->tag; f++)
		put_config_field(&w, f, config);
	if (w.full) {
		ERR_SET(err, errlen, "%s record: more than the %zu bytes given", type->name, w.len);
		return -1;
	}
	memcpy(buf, PV_RECORD_MAGIC, 4);
	put16(buf + 4, PV_RECORD_VERSION);
	put16(buf + 6, 0);
	memset(buf + 8, 0, 8);
	memcpy(buf + 8, type->name, strnlen(type->name, PV_TYPE_NAME_MAX));
	put32(buf + 16, (uint32_t)(w.at - PV_RECORD_HEADER));
	put32(buf + 20, fnv1a(buf + PV_RECORD_HEADER, w.at - PV_RECORD_HEADER));
	return (long)w.at;
}

/* ---- reading ---- */

static int read_header(const uint8_t *buf, size_t len, const struct pv_backend_type **type,
		       size_t *body_len, char *err, size_t errlen)
{
	char name[PV_TYPE_NAME_MAX + 2];

	if (len < PV_RECORD_HEADER) {
		ERR_SET(err, errlen, "record truncated: %zu bytes, its header alone is %d", len, PV_RECORD_HEADER);
		return -1;
	}
	if (memcmp(buf, PV_RECORD_MAGIC, 4)) {
		ERR_SET(err, errlen, "not a PV device record (no %s magic)", PV_RECORD_MAGIC);
		return -1;
	}
	if (get16(buf + 4) != PV_RECORD_VERSION) {
		ERR_SET(err, errlen, "record version %u: this VMM reads version %d", get16(buf + 4),
			PV_RECORD_VERSION);
		return -1;
	}
	if (get16(buf + 6)) {
		ERR_SET(err, errlen, "record flags %#x: none are defined", get16(buf + 6));
		return -1;
	}
	/* The name: NUL-padded, at least one NUL, nothing after the first. */
	size_t n = strnlen((const char *)buf + 8, 8);
	for (size_t i = n; i < 8; i++)
		if (buf[8 + i]) {
			ERR_SET(err, errlen, "record type name is not NUL-padded");
			return -1;
		}
	if (n > PV_TYPE_NAME_MAX || n == 0) {
		ERR_SET(err, errlen, "record type name is %s", n ? "not NUL-terminated" : "empty");
		return -1;
	}
	memcpy(name, buf + 8, n);
	name[n] = '\0';
	*type = pv_backend_type_by_name(name);
	if (!*type) {
		ERR_SET(err, errlen, "record of unknown device type '%s'", name);
		return -1;
	}
	uint32_t body = get32(buf + 16);
	if (body > PV_RECORD_MAX - PV_RECORD_HEADER) {
		ERR_SET(err, errlen, "%s record says its body has %u bytes, more than the %d a record may have",
			name, body, PV_RECORD_MAX - PV_RECORD_HEADER);
		return -1;
	}
	if (body > len - PV_RECORD_HEADER) {
		ERR_SET(err, errlen, "%s record truncated: its body has %u bytes, %zu are there", name, body,
			len - PV_RECORD_HEADER);
		return -1;
	}
	if (fnv1a(buf + PV_RECORD_HEADER, body) != get32(buf + 20)) {
		ERR_SET(err, errlen, "%s record's checksum does not match its body", name);
		return -1;
	}
	*body_len = body;
	return 0;
}

static const struct pv_field *field_of(const struct pv_backend_type *type, uint16_t tag)
{
	for (const struct pv_field *f = type->fields; f->tag; f++)
		if (f->tag == tag)
			return f;
	return NULL;
}

static int read_config_field(const struct pv_backend_type *type, const struct pv_field *f,
			     const uint8_t *v, size_t n, uint8_t *config, char *err, size_t errlen)
{
	uint8_t *at = config + f->offset;

	switch (f->kind) {
	case PV_FIELD_STR:
		if (n >= f->size || memchr(v, '\0', n)) {
			ERR_SET(err, errlen, "%s record: %s %s", type->name, f->name,
				n >= f->size ? "is too long" : "holds a NUL");
			return -1;
		}
		memcpy(at, v, n);
		at[n] = '\0';
		return 0;
	case PV_FIELD_INT: {
		int32_t x = (int32_t)get32(v);
		if (n != 4 || x < f->min || x > f->max) {
			if (n != 4)
				ERR_SET(err, errlen, "%s record: %s has %zu bytes, not 4", type->name, f->name, n);
			else
				ERR_SET(err, errlen, "%s record: %s %d is not from %lld to %lld", type->name,
					f->name, (int)x, f->min, f->max);
			return -1;
		}
		int value = x;
		memcpy(at, &value, sizeof(value));
		return 0;
	}
	case PV_FIELD_BOOL:
		if (n != 1 || v[0] > 1) {
			ERR_SET(err, errlen, "%s record: %s is not one byte 0 or 1", type->name, f->name);
			return -1;
		}
		*(bool *)(void *)at = v[0];
		return 0;
	case PV_FIELD_BYTES:
		if (n != f->size) {
			ERR_SET(err, errlen, "%s record: %s has %zu bytes, not %zu", type->name, f->name, n, f->size);
			return -1;
		}
		memcpy(at, v, n);
		return 0;
	}
	return -1;
}

static int read_runtime_field(const char *name, uint16_t tag, const uint8_t *v, size_t n,
			      struct pv_runtime *rt, char *err, size_t errlen)
{
	switch (tag) {
	case TAG_STATE:
		if (n != 4 || get32(v) > XENBUS_STATE_MAX) {
			ERR_SET(err, errlen, "%s record: backend state is not a xenbus state", name);
			return -1;
		}
		rt->state = get32(v);
		return 0;
	case TAG_CONNECTED:
		if (n != 1 || v[0] > 1) {
			ERR_SET(err, errlen, "%s record: connected is not one byte 0 or 1", name);
			return -1;
		}
		rt->connected = v[0];
		return 0;
	case TAG_PORT:
		if (n != 4 || get32(v) == 0 || get32(v) > PORT_MAX) {
			ERR_SET(err, errlen, "%s record: event channel is not a port from 1 to %d", name, PORT_MAX);
			return -1;
		}
		rt->port = get32(v);
		return 0;
	case TAG_RING_REFS:
		if (n % 4 || n / 4 > PV_MAX_RING_REFS || n == 0) {
			ERR_SET(err, errlen, "%s record: ring references take %zu bytes, not 1 to %d of 4",
				name, n, PV_MAX_RING_REFS);
			return -1;
		}
		rt->n_refs = (uint32_t)(n / 4);
		for (uint32_t i = 0; i < rt->n_refs; i++)
			rt->refs[i] = get32(v + 4 * i);
		return 0;
	default:
		ERR_SET(err, errlen, "%s record: unknown runtime field %u", name, tag);
		return -1;
	}
}

size_t pv_record_length(const uint8_t *buf, size_t len)
{
	return len < PV_RECORD_HEADER ? 0 : PV_RECORD_HEADER + (size_t)get32(buf + 16);
}

int pv_record_decode(const uint8_t *buf, size_t len, struct pv_saved *saved, size_t *used,
		     char *err, size_t errlen)
{
	const struct pv_backend_type *type;
	uint32_t seen_runtime = 0;
	uint8_t seen[64] = { 0 };            /* type tags 16..16+64*8 */
	size_t body, at = PV_RECORD_HEADER;

	*saved = (struct pv_saved){ 0 };
	if (read_header(buf, len, &type, &body, err, errlen))
		return -1;
	uint8_t *config = calloc(1, type->config_size);
	if (!config) {
		ERR_SET(err, errlen, "out of memory for a %s record", type->name);
		return -1;
	}
	struct pv_runtime rt = { 0 };
	const size_t end = PV_RECORD_HEADER + body;
	while (at < end) {
		if (end - at < 4) {
			ERR_SET(err, errlen, "%s record: a field header is cut off at byte %zu", type->name, at);
			goto fail;
		}
		uint16_t tag = get16(buf + at), n = get16(buf + at + 2);
		const uint8_t *v = buf + at + 4;
		if (n > end - at - 4) {
			ERR_SET(err, errlen, "%s record: field %u says %u bytes, %zu are left", type->name, tag, n,
				end - at - 4);
			goto fail;
		}
		if (tag < TAG_FIRST_TYPE) {
			if (tag == 0 || seen_runtime & (1u << tag)) {
				ERR_SET(err, errlen, "%s record: field %u %s", type->name, tag,
					tag ? "repeated" : "is not a field");
				goto fail;
			}
			seen_runtime |= 1u << tag;
			if (read_runtime_field(type->name, tag, v, n, &rt, err, errlen))
				goto fail;
		} else {
			const struct pv_field *f = field_of(type, tag);
			unsigned int bit = tag - TAG_FIRST_TYPE;
			if (!f || bit >= sizeof(seen) * 8) {
				ERR_SET(err, errlen, "%s record: unknown field %u", type->name, tag);
				goto fail;
			}
			if (seen[bit / 8] & (1u << (bit % 8))) {
				ERR_SET(err, errlen, "%s record: %s repeated", type->name, f->name);
				goto fail;
			}
			seen[bit / 8] |= (uint8_t)(1u << (bit % 8));
			if (read_config_field(type, f, v, n, config, err, errlen))
				goto fail;
		}
		at += 4u + n;
	}
	for (const struct pv_field *f = type->fields; f->tag; f++) {
		unsigned int bit = f->tag - TAG_FIRST_TYPE;     /* a row's tags: 16 to 527 (test_pv_record) */
		if (f->required && (bit >= sizeof(seen) * 8 || !(seen[bit / 8] & (1u << (bit % 8))))) {
			ERR_SET(err, errlen, "%s record: %s is missing", type->name, f->name);
			goto fail;
		}
	}
	if (rt.connected != !!(seen_runtime & (1u << TAG_PORT)) ||
	    !!(seen_runtime & (1u << TAG_PORT)) != !!(seen_runtime & (1u << TAG_RING_REFS))) {
		ERR_SET(err, errlen, "%s record: a connected device has a port and ring references, "
			"an unconnected one neither", type->name);
		goto fail;
	}
	char why[512];
	if (type->check(config, why, sizeof(why))) {
		ERR_SET(err, errlen, "%s record: %s", type->name, why);
		goto fail;
	}
	*saved = (struct pv_saved){ .type = type, .config = config, .rt = rt };
	*used = end;
	return 0;
fail:
	free(config);
	return -1;
}

void pv_saved_free(struct pv_saved *saved)
{
	free(saved->config);
	saved->config = NULL;
}
