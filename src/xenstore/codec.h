/* The byte codec the snapshot and the journal share (persist.c, journal.c): host byte order (the
 * files never leave the host), a growable output buffer that remembers running out of memory,
 * and a reader that checks every length against what is left and says what was wrong. */
#ifndef XENITH_XENSTORE_CODEC_H
#define XENITH_XENSTORE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"

static inline uint64_t xs_fnv1a(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* ---- writing ---- */

struct xs_enc {
	char *buf;
	size_t len, cap;
	bool oom;
};

static inline void enc_put(struct xs_enc *e, const void *data, size_t n)
{
	if (e->oom || !n)
		return;
	if (e->len + n > e->cap) {
		size_t cap = e->cap ? e->cap : 4096;
		while (cap < e->len + n)
			cap *= 2;
		char *grown = realloc(e->buf, cap);
		if (!grown) {
			e->oom = true;
			return;
		}
		e->buf = grown;
		e->cap = cap;
	}
	memcpy(e->buf + e->len, data, n);
	e->len += n;
}

static inline void enc_u8(struct xs_enc *e, uint8_t v) { enc_put(e, &v, sizeof(v)); }
static inline void enc_u32(struct xs_enc *e, uint32_t v) { enc_put(e, &v, sizeof(v)); }
static inline void enc_u64(struct xs_enc *e, uint64_t v) { enc_put(e, &v, sizeof(v)); }

static inline void enc_str(struct xs_enc *e, const void *s, size_t len)
{
	enc_u32(e, (uint32_t)len);
	enc_put(e, s, len);
}

/* ---- reading ---- */

struct xs_dec {
	const uint8_t *p;
	size_t left;
	char *why;
	size_t whylen;
	bool bad;
};

/* Notes the first failure only (`what` names the record or field); always false. */
static inline bool dec_fail(struct xs_dec *d, const char *fmt, const char *what)
{
	if (!d->bad)
		ERR_SET(d->why, d->whylen, fmt, what);
	d->bad = true;
	return false;
}

static inline bool dec_get(struct xs_dec *d, void *out, size_t n, const char *what)
{
	if (d->bad)
		return false;
	if (n > d->left)
		return dec_fail(d, "truncated in %s", what);
	memcpy(out, d->p, n);
	d->p += n;
	d->left -= n;
	return true;
}

static inline bool dec_u8(struct xs_dec *d, uint8_t *v, const char *what) { return dec_get(d, v, 1, what); }
static inline bool dec_u32(struct xs_dec *d, uint32_t *v, const char *what) { return dec_get(d, v, 4, what); }
static inline bool dec_u64(struct xs_dec *d, uint64_t *v, const char *what) { return dec_get(d, v, 8, what); }

/* A string of at most max bytes, pointing into the input (not NUL-terminated). */
static inline bool dec_str(struct xs_dec *d, const char **s, uint32_t *len, uint32_t max,
			   const char *what)
{
	if (!dec_u32(d, len, what))
		return false;
	if (*len > max)
		return dec_fail(d, "%s too long", what);
	if (*len > d->left)
		return dec_fail(d, "truncated in %s", what);
	*s = (const char *)d->p;
	d->p += *len;
	d->left -= *len;
	return true;
}

/* A copy as a C string; no NUL may be inside.  NULL on failure (noted). */
static inline char *dec_cstr(struct xs_dec *d, uint32_t max, const char *what)
{
	const char *s;
	uint32_t len;

	if (!dec_str(d, &s, &len, max, what))
		return NULL;
	if (memchr(s, '\0', len)) {
		dec_fail(d, "a NUL inside %s", what);
		return NULL;
	}
	char *copy = strndup(s, len);
	if (!copy)
		dec_fail(d, "out of memory for %s", what);
	return copy;
}

#endif
