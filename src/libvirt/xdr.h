/* XDR (RFC 4506) as libvirt's RPC uses it: big-endian 4-byte units, opaque and strings padded to 4.
 * The reader is bounded by its buffer and by the caller's maximum for each variable-length item
 * (the remote_protocol.x limits); a short or oversized item sets the sticky `failed` flag and every
 * later read returns zeros, so a decoder checks once at its end (xdr_reader_done).  The writer
 * grows up to its cap (VIR_NET_MESSAGE_MAX) and is sticky-failed the same way. */
#ifndef XENITH_XDR_H
#define XENITH_XDR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xdr_reader {
	const uint8_t *data;
	size_t len, pos;
	bool failed;
	char why[128];           /* what was short or too long, for the error reply */
};

struct xdr_writer {
	uint8_t *data;           /* malloc'd */
	size_t len, cap, max;
	bool failed;
};

void xdr_reader_init(struct xdr_reader *r, const void *data, size_t len);
uint32_t xdr_get_u32(struct xdr_reader *r);
int32_t xdr_get_i32(struct xdr_reader *r);
uint64_t xdr_get_u64(struct xdr_reader *r);
int64_t xdr_get_i64(struct xdr_reader *r);
bool xdr_get_bool(struct xdr_reader *r);
/* Fixed-length opaque (e.g. a 16-byte UUID). */
void xdr_get_fixed(struct xdr_reader *r, void *out, size_t n);
/* string<max>: a malloc'd NUL-terminated copy (NULL once failed); an embedded NUL fails it. */
char *xdr_get_string(struct xdr_reader *r, size_t max);
/* A pointer-to-string (`remote_string`): *present false and NULL for the null case. */
char *xdr_get_opt_string(struct xdr_reader *r, size_t max, bool *present);
/* opaque<max>: points into the buffer (no copy), *n its length. */
const uint8_t *xdr_get_opaque(struct xdr_reader *r, size_t max, size_t *n);
/* An array count, checked against max. */
uint32_t xdr_get_count(struct xdr_reader *r, uint32_t max);
/* 0 if everything was read well and nothing is left over; -1 otherwise (why says what). */
int xdr_reader_done(struct xdr_reader *r);

/* max: the most bytes the writer may hold. */
void xdr_writer_init(struct xdr_writer *w, size_t max);
void xdr_writer_free(struct xdr_writer *w);
void xdr_put_u32(struct xdr_writer *w, uint32_t v);
void xdr_put_i32(struct xdr_writer *w, int32_t v);
void xdr_put_u64(struct xdr_writer *w, uint64_t v);
void xdr_put_i64(struct xdr_writer *w, int64_t v);
void xdr_put_bool(struct xdr_writer *w, bool v);
void xdr_put_fixed(struct xdr_writer *w, const void *data, size_t n);
void xdr_put_opaque(struct xdr_writer *w, const void *data, size_t n);
void xdr_put_string(struct xdr_writer *w, const char *s);
/* NULL: the null pointer case. */
void xdr_put_opt_string(struct xdr_writer *w, const char *s);
#endif
