/* Payload decompressors for bzImage kernels, one row per compressor of Linux's build.
 *
 * Every decoder gets the whole stream and a fixed output buffer, and must tell three outcomes
 * apart: the stream ended (DONE, with its length), the stream would not fit (FULL), or it is
 * broken (BAD).  bzimage.c sizes the buffer one byte beyond what size_append announces, so FULL
 * always means "longer than announced" and never hides a stream that ends exactly there.
 *
 * What bounds a hostile stream: output never goes past out_cap (every library call is given
 * the room left); working memory is capped (liblzma's memlimit; bzip2, zlib, zstd and lz4 need
 * a small fixed amount; lzop blocks at most 256 KiB, the kernel's own limit); every loop either
 * consumes input or stops, and no-progress returns are treated as the end. */
#include <bzlib.h>
#include <limits.h>
#include <stdbool.h>
#include <lz4.h>
#include <lzma.h>
#include <lzo/lzo1x.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>
#include "vmm/decompress.h"

#define DECODE_ARGS const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, \
		    size_t *out_len, char *why, size_t whylen

/* --- gzip (zlib) --- */

static enum decompress_result decode_gzip(DECODE_ARGS)
{
	z_stream z = { 0 };
	int ret;

	*out_len = 0;
	if (in_len > UINT_MAX || out_cap > UINT_MAX) {
		snprintf(why, whylen, "gzip stream or output beyond 4 GiB");
		return DECOMPRESS_BAD;
	}
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {   /* 16: gzip wrapper only */
		snprintf(why, whylen, "cannot start the gzip decoder");
		return DECOMPRESS_BAD;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)in_len;
	z.next_out = out;
	z.avail_out = (uInt)out_cap;
	do {
		uInt in_before = z.avail_in, out_before = z.avail_out;
		ret = inflate(&z, Z_FINISH);
		if (ret == Z_OK && z.avail_in == in_before && z.avail_out == out_before)
			ret = Z_BUF_ERROR;
	} while (ret == Z_OK);
	*out_len = out_cap - z.avail_out;
	enum decompress_result r = DECOMPRESS_BAD;
	if (ret == Z_STREAM_END)
		r = DECOMPRESS_DONE;
	else if (ret == Z_BUF_ERROR && z.avail_out == 0)
		r = DECOMPRESS_FULL;
	else if (ret == Z_BUF_ERROR)
		snprintf(why, whylen, "gzip stream is truncated (ends after %zu output bytes)", *out_len);
	else
		snprintf(why, whylen, "gzip stream is corrupt: %s", z.msg ? z.msg : zError(ret));
	inflateEnd(&z);
	return r;
}

/* --- xz and lzma (liblzma) --- */

static const char *lzma_error(lzma_ret ret)
{
	switch (ret) {
	case LZMA_FORMAT_ERROR:   return "bad header";
	case LZMA_OPTIONS_ERROR:  return "unsupported options";
	case LZMA_DATA_ERROR:     return "corrupt data";
	case LZMA_BUF_ERROR:      return "truncated";
	case LZMA_MEM_ERROR:      return "out of memory";
	default:                  return "decoder error";
	}
}

/* liblzma's dictionaries (up to DECOMPRESS_MEMLIMIT) come straight from mmap: backed only as
 * far as a stream really reaches, and cheap to drop, also under ASan, whose malloc poisons a
 * whole block when it is freed.  Each mapping records its length in front. */
#define MAP_HEADER 16u

static void *lzma_map(void *opaque, size_t nmemb, size_t size)
{
	(void)opaque;
	if (size && nmemb > (SIZE_MAX - MAP_HEADER) / size)
		return NULL;
	size_t len = nmemb * size + MAP_HEADER;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			  -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	memcpy(p, &len, sizeof(len));
	return p + MAP_HEADER;
}

static void lzma_unmap(void *opaque, void *ptr)
{
	size_t len;

	(void)opaque;
	if (!ptr)
		return;
	uint8_t *p = (uint8_t *)ptr - MAP_HEADER;
	memcpy(&len, p, sizeof(len));
	munmap(p, len);
}

static const lzma_allocator lzma_mmap_allocator = { lzma_map, lzma_unmap, NULL };

static enum decompress_result run_lzma(lzma_stream *s, lzma_ret init, const char *fmt, DECODE_ARGS)
{
	lzma_ret ret = init;

	*out_len = 0;
	if (ret == LZMA_OK) {
		s->next_in = in;
		s->avail_in = in_len;
		s->next_out = out;
		s->avail_out = out_cap;
		do {
			size_t in_before = s->avail_in, out_before = s->avail_out;
			ret = lzma_code(s, LZMA_FINISH);
			if (ret == LZMA_OK && s->avail_in == in_before && s->avail_out == out_before)
				ret = LZMA_BUF_ERROR;
		} while (ret == LZMA_OK);
		*out_len = out_cap - s->avail_out;
	}
	enum decompress_result r = DECOMPRESS_BAD;
	if (ret == LZMA_STREAM_END)
		r = DECOMPRESS_DONE;
	else if (ret == LZMA_BUF_ERROR && s->avail_out == 0 && init == LZMA_OK)
		r = DECOMPRESS_FULL;
	else if (ret == LZMA_BUF_ERROR)
		snprintf(why, whylen, "%s stream is truncated (ends after %zu output bytes)", fmt, *out_len);
	else if (ret == LZMA_MEMLIMIT_ERROR)
		snprintf(why, whylen, "%s stream needs %llu MiB of memory to decode, over the %llu MiB "
			 "limit", fmt, (unsigned long long)(lzma_memusage(s) >> 20),
			 (unsigned long long)(DECOMPRESS_MEMLIMIT >> 20));
	else
		snprintf(why, whylen, "%s stream is corrupt: %s", fmt, lzma_error(ret));
	lzma_end(s);
	return r;
}

static enum decompress_result decode_xz(DECODE_ARGS)
{
	lzma_stream s = LZMA_STREAM_INIT;
	s.allocator = &lzma_mmap_allocator;
	return run_lzma(&s, lzma_stream_decoder(&s, DECOMPRESS_MEMLIMIT, 0), "xz",
			in, in_len, out, out_cap, out_len, why, whylen);
}

static enum decompress_result decode_lzma(DECODE_ARGS)
{
	lzma_stream s = LZMA_STREAM_INIT;
	s.allocator = &lzma_mmap_allocator;
	return run_lzma(&s, lzma_alone_decoder(&s, DECOMPRESS_MEMLIMIT), "lzma",
			in, in_len, out, out_cap, out_len, why, whylen);
}

/* --- bzip2 --- */

static enum decompress_result decode_bzip2(DECODE_ARGS)
{
	unsigned int len = out_cap > UINT_MAX ? UINT_MAX : (unsigned int)out_cap;

	*out_len = 0;
	if (in_len > UINT_MAX) {
		snprintf(why, whylen, "bzip2 stream beyond 4 GiB");
		return DECOMPRESS_BAD;
	}
	/* The library takes a non-const source but only reads it. */
	int ret = BZ2_bzBuffToBuffDecompress((char *)out, &len, (char *)in, (unsigned int)in_len, 0, 0);
	switch (ret) {
	case BZ_OK:
		*out_len = len;
		return DECOMPRESS_DONE;
	case BZ_OUTBUFF_FULL:
		*out_len = out_cap;
		return DECOMPRESS_FULL;
	case BZ_UNEXPECTED_EOF:
		snprintf(why, whylen, "bzip2 stream is truncated");
		return DECOMPRESS_BAD;
	case BZ_MEM_ERROR:
		snprintf(why, whylen, "bzip2 decoder out of memory");
		return DECOMPRESS_BAD;
	default:
		snprintf(why, whylen, "bzip2 stream is corrupt (error %d)", ret);
		return DECOMPRESS_BAD;
	}
}

/* --- zstd --- */

static enum decompress_result decode_zstd(DECODE_ARGS)
{
	/* One-shot decoding writes straight into `out`: no window buffer, whatever the frame
	 * header claims. */
	size_t ret = ZSTD_decompress(out, out_cap, in, in_len);

	*out_len = 0;
	if (!ZSTD_isError(ret)) {
		*out_len = ret;
		return DECOMPRESS_DONE;
	}
	if (ZSTD_getErrorCode(ret) == ZSTD_error_dstSize_tooSmall) {
		*out_len = out_cap;
		return DECOMPRESS_FULL;
	}
	snprintf(why, whylen, "zstd stream is corrupt: %s", ZSTD_getErrorName(ret));
	return DECOMPRESS_BAD;
}

/* --- lz4, legacy frame: magic, then blocks of [u32 LE compressed size][data] --- */

#define LZ4_LEGACY_MAGIC 0x184c2102u
#define LZ4_LEGACY_BLOCK (8u << 20)       /* the most a legacy block decompresses to */

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static enum decompress_result decode_lz4(DECODE_ARGS)
{
	size_t pos = 4, done = 0;                /* the magic was matched by the caller */
	unsigned int block = 0;

	*out_len = 0;
	while (pos < in_len) {
		if (in_len - pos < 4) {
			snprintf(why, whylen, "lz4 stream is truncated (a partial block size at byte %zu)", pos);
			return DECOMPRESS_BAD;
		}
		uint32_t csize = le32(in + pos);
		pos += 4;
		if (csize == LZ4_LEGACY_MAGIC)        /* another legacy frame follows */
			continue;
		if (csize == 0 || csize > (uint32_t)LZ4_compressBound(LZ4_LEGACY_BLOCK)) {
			snprintf(why, whylen, "lz4 block %u has an impossible size %u", block, csize);
			return DECOMPRESS_BAD;
		}
		if (csize > in_len - pos) {
			snprintf(why, whylen, "lz4 stream is truncated (block %u needs %u bytes, %zu left)",
				 block, csize, in_len - pos);
			return DECOMPRESS_BAD;
		}
		size_t room = out_cap - done;
		int cap = (int)(room < LZ4_LEGACY_BLOCK ? room : LZ4_LEGACY_BLOCK);
		int n = LZ4_decompress_safe((const char *)in + pos, (char *)out + done, (int)csize, cap);
		if (n < 0) {
			/* Broken, or simply bigger than the room left?  A partial decode that fills
			 * the room tells. */
			if ((size_t)cap == room && room > 0 &&
			    LZ4_decompress_safe_partial((const char *)in + pos, (char *)out + done,
							(int)csize, cap, cap) == cap) {
				*out_len = out_cap;
				return DECOMPRESS_FULL;
			}
			snprintf(why, whylen, "lz4 block %u is corrupt", block);
			return DECOMPRESS_BAD;
		}
		done += (size_t)n;
		pos += csize;
		block++;
		*out_len = done;
	}
	return DECOMPRESS_DONE;
}

/* --- lzo, in lzop's container (the fields the kernel's unlzo reads, each length checked) --- */

#define LZOP_MAGIC_LEN       9
#define LZOP_MIN_VERSION     0x0940       /* from here on the header has its modern shape */
#define LZOP_BLOCK_MAX       (256u << 10) /* the kernel's limit, and lzop's default block */
#define LZOP_F_ADLER32_D     0x0001u
#define LZOP_F_ADLER32_C     0x0002u
#define LZOP_F_H_EXTRA_FIELD 0x0040u
#define LZOP_F_CRC32_D       0x0100u
#define LZOP_F_CRC32_C       0x0200u
#define LZOP_F_H_FILTER      0x0800u
#define LZOP_F_H_CRC32       0x1000u

/* A bounds-checked reader over the container. */
struct reader {
	const uint8_t *p;
	size_t len, pos;
};

static bool take(struct reader *r, size_t n, const uint8_t **at)
{
	if (n > r->len - r->pos)
		return false;
	*at = r->p + r->pos;
	r->pos += n;
	return true;
}

static bool take_u8(struct reader *r, uint32_t *v)
{
	const uint8_t *p;
	if (!take(r, 1, &p))
		return false;
	*v = p[0];
	return true;
}

static bool take_be16(struct reader *r, uint32_t *v)
{
	const uint8_t *p;
	if (!take(r, 2, &p))
		return false;
	*v = (uint32_t)p[0] << 8 | p[1];
	return true;
}

static bool take_be32(struct reader *r, uint32_t *v)
{
	const uint8_t *p;
	if (!take(r, 4, &p))
		return false;
	*v = be32(p);
	return true;
}

/* lzop's checksums: Adler-32 from 1, CRC-32 from 0, as zlib computes them. */
static uint32_t lzop_adler32(const uint8_t *p, size_t n) { return (uint32_t)adler32(1, p, (uInt)n); }
static uint32_t lzop_crc32(const uint8_t *p, size_t n) { return (uint32_t)crc32(0, p, (uInt)n); }

static bool lzop_header(struct reader *r, uint32_t *flags, char *why, size_t whylen)
{
	uint32_t version, method, filter, name_len, sum;
	const uint8_t *skipped;

	r->pos = LZOP_MAGIC_LEN;                   /* matched by the caller */
	if (!take_be16(r, &version))
		goto truncated;
	if (version < LZOP_MIN_VERSION) {
		snprintf(why, whylen, "lzop header version %#x is older than %#x", version,
			 LZOP_MIN_VERSION);
		return false;
	}
	/* library version, version needed to extract; method; level; flags */
	if (!take(r, 4, &skipped) || !take_u8(r, &method) || !take(r, 1, &skipped) ||
	    !take_be32(r, flags))
		goto truncated;
	if (method < 1 || method > 3) {             /* the LZO1X methods */
		snprintf(why, whylen, "lzop method %u is not LZO1X", method);
		return false;
	}
	if (*flags & LZOP_F_H_FILTER) {
		/* A filter rewrites the data after decompression; the kernel skips it and would
		 * boot garbage, so refuse outright. */
		if (!take_be32(r, &filter))
			goto truncated;
		snprintf(why, whylen, "lzop filter %u is not supported", filter);
		return false;
	}
	if (*flags & LZOP_F_H_EXTRA_FIELD) {
		snprintf(why, whylen, "lzop header extra field is not supported");
		return false;
	}
	/* mode, mtime low and high; the file name */
	if (!take(r, 12, &skipped) || !take_u8(r, &name_len) || !take(r, name_len, &skipped))
		goto truncated;
	/* The header checksum covers everything from the version on. */
	uint32_t expect = *flags & LZOP_F_H_CRC32 ?
		lzop_crc32(r->p + LZOP_MAGIC_LEN, r->pos - LZOP_MAGIC_LEN) :
		lzop_adler32(r->p + LZOP_MAGIC_LEN, r->pos - LZOP_MAGIC_LEN);
	if (!take_be32(r, &sum))
		goto truncated;
	if (sum != expect) {
		snprintf(why, whylen, "lzop header checksum is %#x, the header sums to %#x", sum, expect);
		return false;
	}
	return true;
truncated:
	snprintf(why, whylen, "lzop header is truncated");
	return false;
}

/* A block's checksums of one kind of data (decompressed or compressed), as the flags ask. */
struct lzop_sums {
	bool has_adler, has_crc;
	uint32_t adler, crc;
};

static bool lzop_read_sums(struct reader *r, uint32_t flags, uint32_t adler_bit, uint32_t crc_bit,
			   struct lzop_sums *s)
{
	*s = (struct lzop_sums){ .has_adler = flags & adler_bit, .has_crc = flags & crc_bit };
	return (!s->has_adler || take_be32(r, &s->adler)) && (!s->has_crc || take_be32(r, &s->crc));
}

static bool lzop_check_sums(const struct lzop_sums *s, const uint8_t *data, size_t n,
			    const char *what, unsigned int block, char *why, size_t whylen)
{
	uint32_t adler = s->has_adler ? lzop_adler32(data, n) : 0;
	uint32_t crc = s->has_crc ? lzop_crc32(data, n) : 0;

	if (s->has_adler && adler != s->adler)
		snprintf(why, whylen, "lzop block %u: Adler-32 of the %s data is %#x, the block says %#x",
			 block, what, adler, s->adler);
	else if (s->has_crc && crc != s->crc)
		snprintf(why, whylen, "lzop block %u: CRC-32 of the %s data is %#x, the block says %#x",
			 block, what, crc, s->crc);
	else
		return true;
	return false;
}

static enum decompress_result decode_lzo(DECODE_ARGS)
{
	struct reader r = { in, in_len, 0 };
	uint32_t flags;
	size_t done = 0;

	*out_len = 0;
	if (lzo_init() != LZO_E_OK) {
		snprintf(why, whylen, "cannot start liblzo2");
		return DECOMPRESS_BAD;
	}
	if (!lzop_header(&r, &flags, why, whylen))
		return DECOMPRESS_BAD;
	for (unsigned int block = 0;; block++) {
		uint32_t dst_len, src_len;
		struct lzop_sums d_sums, c_sums;
		const uint8_t *data;

		if (!take_be32(&r, &dst_len)) {
			snprintf(why, whylen, "lzop stream ends without its end marker");
			return DECOMPRESS_BAD;
		}
		if (dst_len == 0)
			return DECOMPRESS_DONE;
		if (dst_len > LZOP_BLOCK_MAX) {
			snprintf(why, whylen, "lzop block %u of %u bytes is over the %u-byte limit", block,
				 dst_len, LZOP_BLOCK_MAX);
			return DECOMPRESS_BAD;
		}
		if (!take_be32(&r, &src_len)) {
			snprintf(why, whylen, "lzop block %u is truncated", block);
			return DECOMPRESS_BAD;
		}
		if (src_len == 0 || src_len > dst_len) {
			snprintf(why, whylen, "lzop block %u: %u compressed bytes for %u", block, src_len,
				 dst_len);
			return DECOMPRESS_BAD;
		}
		/* Stored blocks (src_len == dst_len) carry no checksum of compressed data. */
		bool packed = src_len < dst_len;
		if (!lzop_read_sums(&r, flags, LZOP_F_ADLER32_D, LZOP_F_CRC32_D, &d_sums) ||
		    !lzop_read_sums(&r, packed ? flags : 0, LZOP_F_ADLER32_C, LZOP_F_CRC32_C, &c_sums) ||
		    !take(&r, src_len, &data)) {
			snprintf(why, whylen, "lzop block %u is truncated (%u bytes, %zu left)", block,
				 src_len, in_len - r.pos);
			return DECOMPRESS_BAD;
		}
		if (!lzop_check_sums(&c_sums, data, src_len, "compressed", block, why, whylen))
			return DECOMPRESS_BAD;
		if (dst_len > out_cap - done) {
			*out_len = out_cap;
			return DECOMPRESS_FULL;
		}
		if (!packed) {
			memcpy(out + done, data, src_len);
		} else {
			lzo_uint n = dst_len;
			int ret = lzo1x_decompress_safe(data, src_len, out + done, &n, NULL);
			if (ret != LZO_E_OK || n != dst_len) {
				snprintf(why, whylen, "lzop block %u is corrupt (liblzo2 error %d, %lu of %u bytes)",
					 block, ret, (unsigned long)n, dst_len);
				return DECOMPRESS_BAD;
			}
		}
		if (!lzop_check_sums(&d_sums, out + done, dst_len, "decompressed", block, why, whylen))
			return DECOMPRESS_BAD;
		done += dst_len;
		*out_len = done;
	}
}

/* --- the table --- */

static const uint8_t magic_gzip[] = { 0x1f, 0x8b };
static const uint8_t magic_xz[] = { 0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00 };
static const uint8_t magic_lzma[] = { 0x5d, 0x00, 0x00 };
static const uint8_t magic_bzip2[] = { 'B', 'Z', 'h' };
static const uint8_t magic_lzop[LZOP_MAGIC_LEN] = { 0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a };
static const uint8_t magic_lz4[] = { 0x02, 0x21, 0x4c, 0x18 };
static const uint8_t magic_zstd[] = { 0x28, 0xb5, 0x2f, 0xfd };

#define ROW(n, m, fn) { n, m, sizeof(m), fn }
static const struct decompressor decompressors[] = {
	ROW("gzip", magic_gzip, decode_gzip),
	ROW("xz", magic_xz, decode_xz),
	ROW("lzma", magic_lzma, decode_lzma),
	ROW("bzip2", magic_bzip2, decode_bzip2),
	ROW("lzo", magic_lzop, decode_lzo),
	ROW("lz4", magic_lz4, decode_lz4),
	ROW("zstd", magic_zstd, decode_zstd),
};

const struct decompressor *decompressor_find(const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < sizeof(decompressors) / sizeof(decompressors[0]); i++) {
		const struct decompressor *d = &decompressors[i];
		if (len >= d->magic_len && !memcmp(data, d->magic, d->magic_len))
			return d;
	}
	return NULL;
}

void decompressor_list(char *buf, size_t len)
{
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof(decompressors) / sizeof(decompressors[0]) && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", decompressors[i].name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}
