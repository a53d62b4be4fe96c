/* XDR reader and writer (xdr.h).  Every read checks the bytes left before touching them; every
 * failure is sticky, so decoders check once at the end. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt/xdr.h"

static size_t pad4(size_t n)
{
	return (4 - (n & 3)) & 3;
}

static void reader_fail(struct xdr_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reader_fail(struct xdr_reader *r, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return;                  /* the first reason is the useful one */
	r->failed = true;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

void xdr_reader_init(struct xdr_reader *r, const void *data, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->data = data;
	r->len = data ? len : 0;
}

/* n bytes at the cursor, or NULL (failed) when fewer are left. */
static const uint8_t *take(struct xdr_reader *r, size_t n, const char *what)
{
	const uint8_t *p;

	if (r->failed)
		return NULL;
	if (n > r->len - r->pos) {
		reader_fail(r, "%s: %zu bytes wanted at offset %zu, %zu left", what, n, r->pos,
			    r->len - r->pos);
		return NULL;
	}
	p = r->data + r->pos;
	r->pos += n;
	return p;
}

uint32_t xdr_get_u32(struct xdr_reader *r)
{
	const uint8_t *p = take(r, 4, "integer");

	if (!p)
		return 0;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int32_t xdr_get_i32(struct xdr_reader *r)
{
	return (int32_t)xdr_get_u32(r);
}

uint64_t xdr_get_u64(struct xdr_reader *r)
{
	uint64_t hi = xdr_get_u32(r);

	return hi << 32 | xdr_get_u32(r);
}

int64_t xdr_get_i64(struct xdr_reader *r)
{
	return (int64_t)xdr_get_u64(r);
}

bool xdr_get_bool(struct xdr_reader *r)
{
	uint32_t v = xdr_get_u32(r);

	if (v > 1)
		reader_fail(r, "boolean: %u is neither 0 nor 1", v);
	return !r->failed && v;
}

void xdr_get_fixed(struct xdr_reader *r, void *out, size_t n)
{
	const uint8_t *p = take(r, n, "fixed opaque");
	const uint8_t *pad = p ? take(r, pad4(n), "padding") : NULL;

	if (!p || !pad) {
		memset(out, 0, n);
		return;
	}
	memcpy(out, p, n);
}

const uint8_t *xdr_get_opaque(struct xdr_reader *r, size_t max, size_t *n)
{
	uint32_t len = xdr_get_u32(r);
	const uint8_t *p;

	*n = 0;
	if (r->failed)
		return NULL;
	if (len > max) {
		reader_fail(r, "opaque of %u bytes, at most %zu allowed", len, max);
		return NULL;
	}
	p = take(r, len, "opaque");
	if (!p || !take(r, pad4(len), "padding"))
		return NULL;
	*n = len;
	return p;
}

char *xdr_get_string(struct xdr_reader *r, size_t max)
{
	size_t n;
	const uint8_t *p = xdr_get_opaque(r, max, &n);
	char *s;

	if (!p)
		return NULL;
	if (memchr(p, 0, n)) {
		reader_fail(r, "string holds a NUL byte");
		return NULL;
	}
	s = malloc(n + 1);
	if (!s) {
		reader_fail(r, "out of memory for a %zu-byte string", n);
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

char *xdr_get_opt_string(struct xdr_reader *r, size_t max, bool *present)
{
	*present = xdr_get_bool(r);
	if (!*present)
		return NULL;
	char *s = xdr_get_string(r, max);
	if (!s)
		*present = false;
	return s;
}

uint32_t xdr_get_count(struct xdr_reader *r, uint32_t max)
{
	uint32_t n = xdr_get_u32(r);

	if (r->failed)
		return 0;
	if (n > max) {
		reader_fail(r, "array of %u items, at most %u allowed", n, max);
		return 0;
	}
	/* Each item takes at least 4 bytes: a count beyond what is left is a lie, refused now
	 * rather than after allocating for it. */
	if (n > (r->len - r->pos) / 4) {
		reader_fail(r, "array of %u items in %zu bytes", n, r->len - r->pos);
		return 0;
	}
	return n;
}

int xdr_reader_done(struct xdr_reader *r)
{
	if (!r->failed && r->pos != r->len)
		reader_fail(r, "%zu unexpected bytes after the arguments", r->len - r->pos);
	return r->failed ? -1 : 0;
}

void xdr_writer_init(struct xdr_writer *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
}

void xdr_writer_free(struct xdr_writer *w)
{
	free(w->data);
	w->data = NULL;
	w->len = w->cap = 0;
}

/* Room for n more bytes (zeroed), or NULL with the writer failed. */
static uint8_t *reserve(struct xdr_writer *w, size_t n)
{
	uint8_t *p;

	if (w->failed)
		return NULL;
	if (n > w->max || w->len > w->max - n) {
		w->failed = true;
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->len + n)
			cap = cap > w->max / 2 ? w->max : cap * 2;
		uint8_t *d = realloc(w->data, cap);
		if (!d) {
			w->failed = true;
			return NULL;
		}
		w->data = d;
		w->cap = cap;
	}
	p = w->data + w->len;
	memset(p, 0, n);
	w->len += n;
	return p;
}

void xdr_put_u32(struct xdr_writer *w, uint32_t v)
{
	uint8_t *p = reserve(w, 4);

	if (!p)
		return;
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

void xdr_put_i32(struct xdr_writer *w, int32_t v)
{
	xdr_put_u32(w, (uint32_t)v);
}

void xdr_put_u64(struct xdr_writer *w, uint64_t v)
{
	xdr_put_u32(w, v >> 32);
	xdr_put_u32(w, (uint32_t)v);
}

void xdr_put_i64(struct xdr_writer *w, int64_t v)
{
	xdr_put_u64(w, (uint64_t)v);
}

void xdr_put_bool(struct xdr_writer *w, bool v)
{
	xdr_put_u32(w, v ? 1 : 0);
}

void xdr_put_fixed(struct xdr_writer *w, const void *data, size_t n)
{
	uint8_t *p = n + pad4(n) >= n ? reserve(w, n + pad4(n)) : NULL;

	if (p && n)
		memcpy(p, data, n);   /* the padding is already zero */
}

void xdr_put_opaque(struct xdr_writer *w, const void *data, size_t n)
{
	if (n > UINT32_MAX) {
		w->failed = true;
		return;
	}
	xdr_put_u32(w, (uint32_t)n);
	xdr_put_fixed(w, data, n);
}

void xdr_put_string(struct xdr_writer *w, const char *s)
{
	xdr_put_opaque(w, s ? s : "", s ? strlen(s) : 0);
}

void xdr_put_opt_string(struct xdr_writer *w, const char *s)
{
	xdr_put_bool(w, s != NULL);
	if (s)
		xdr_put_string(w, s);
}
