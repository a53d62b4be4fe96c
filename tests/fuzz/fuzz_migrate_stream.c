/* libFuzzer target for the save/migration stream reader (src/migrate/stream.c): any bytes as a save
 * file.  Random bytes rarely carry a good checksum, so the first input byte picks the shape:
 *   - even: the rest is the stream, as is;
 *   - odd:  the rest is a recipe the target turns into a stream with a valid header and sums:
 *           u8 header flags, then records as u8 type, u16 body length (little-endian), the body
 *           (cut short where the input ends); so the mutations reach the bounds, the PAGES walk and
 *           the DOMAIN check.
 * The stream is read twice, from a buffer and from a memfd (the descriptor reader), header then
 * records until END or a refusal; each PAGES body is walked and each DOMAIN body checked, from an
 * exact-size copy so that ASan sees any read past its end.  Besides the sanitizers' findings it
 * aborts when the reader breaks its promises: the two readers disagree, a refusal without a
 * message, an accepted record over its type's bound, a reader past the end of the input, a walk
 * that hands out other pages than its batch holds.
 * Build and run: tests/fuzz/run [SECONDS]. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "migrate/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECORDS 64

/* What one reading gave: the records accepted and how it ended. */
struct reading {
	unsigned int n;
	uint32_t type[MAX_RECORDS];
	size_t len[MAX_RECORDS];
	uint32_t body_sum[MAX_RECORDS];
	int rc;
	char err[512];
};

static uint32_t sum32(const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

struct walk { const uint8_t *body; size_t len; uint32_t calls; };

static int page_seen(void *opaque, uint64_t index, enum mig_page_kind kind, const uint8_t *page)
{
	struct walk *w = opaque;
	if (index >> (64 - MIG_PAGE_KIND_BITS) || kind > MIG_PAGE_ABSENT)
		abort();
	if ((kind == MIG_PAGE_DATA) != (page != NULL))
		abort();
	if (page && (page < w->body || page + MIG_PAGE_SIZE > w->body + w->len))
		abort();
	w->calls++;
	return 0;
}

static void check_body(uint32_t type, const uint8_t *body, size_t len)
{
	char err[256] = "";
	/* An exact-size copy: reads past the body are ASan's to see. */
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		return;
	memcpy(copy, body, len);
	if (type == MIG_REC_PAGES) {
		struct walk w = { copy, len, 0 };
		int rc = mig_pages_walk(copy, len, page_seen, &w, err, sizeof(err));
		if (rc == -1 && !err[0])
			abort();
		if (rc == 0 && (len < 8 || w.calls != (uint32_t)copy[0] + ((uint32_t)copy[1] << 8) +
				((uint32_t)copy[2] << 16) + ((uint32_t)copy[3] << 24)))
			abort();
	} else if (type == MIG_REC_DOMAIN) {
		struct mig_domain d;
		if (len != sizeof(d))
			abort();
		memcpy(&d, copy, sizeof(d));
		/* The reader checked it already: it must pass again. */
		if (mig_domain_check(&d, err, sizeof(err)))
			abort();
	}
	free(copy);
}

static void read_all(struct mig_reader *r, size_t size, struct reading *out)
{
	const uint8_t *body;
	uint32_t type = 0;
	size_t len;

	memset(out, 0, sizeof(*out));
	out->rc = mig_read_header(r, out->err, sizeof(out->err));
	while (out->rc == 0 && type != MIG_REC_END && out->n < MAX_RECORDS) {
		out->rc = mig_read_record(r, &type, &body, &len, out->err, sizeof(out->err));
		if (out->rc)
			break;
		size_t bound = mig_record_bound(type);
		if (!strcmp(mig_record_name(type), "unknown") || len > bound ||
		    ((type == MIG_REC_DOMAIN || type == MIG_REC_ROUND || type == MIG_REC_DIGEST ||
		      type == MIG_REC_END) && len != bound))
			abort();
		out->type[out->n] = type;
		out->len[out->n] = len;
		out->body_sum[out->n] = sum32(body, len);
		out->n++;
		check_body(type, body, len);
	}
	if (out->rc && !out->err[0])
		abort();
	if (r->offset > size)
		abort();
}

static void put(uint8_t *buf, size_t *at, const void *p, size_t len)
{
	memcpy(buf + *at, p, len);
	*at += len;
}

/* The recipe (see the top) as a stream; its size in *len. */
static uint8_t *from_recipe(const uint8_t *in, size_t n, size_t *len)
{
	/* Each record costs at least 3 recipe bytes and adds 24 of header. */
	uint8_t *out = malloc(MIG_HEADER_LEN + n + (n / 3 + 1) * MIG_RECORD_HEADER_LEN);
	size_t at = 0, i = 0;
	uint32_t u32;

	if (!out)
		return NULL;
	put(out, &at, MIG_MAGIC, 8);
	uint32_t head[6] = { MIG_VERSION, MIG_HEADER_LEN, n ? in[0] : 0, 0, 0, 0 };
	put(out, &at, head, sizeof(head));
	i = n ? 1 : 0;
	while (i + 3 <= n) {
		uint32_t type = in[i] % (MIG_REC_TYPES + 1);
		size_t blen = (size_t)in[i + 1] | (size_t)in[i + 2] << 8;
		i += 3;
		if (blen > n - i)
			blen = n - i;
		put(out, &at, &type, 4);
		u32 = 0;
		put(out, &at, &u32, 4);
		uint64_t b64 = blen;
		put(out, &at, &b64, 8);
		u32 = sum32(in + i, blen);
		put(out, &at, &u32, 4);
		u32 = 0;
		put(out, &at, &u32, 4);
		put(out, &at, in + i, blen);
		i += blen;
	}
	*len = at;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reading by_buffer, by_fd;
	struct mig_reader r;
	uint8_t *stream;
	size_t len;

	if (size == 0)
		return 0;
	if (data[0] & 1) {
		stream = from_recipe(data + 1, size - 1, &len);
	} else {
		len = size - 1;
		stream = malloc(len ? len : 1);
		if (stream)
			memcpy(stream, data + 1, len);
	}
	if (!stream)
		return 0;

	mig_reader_init_buffer(&r, stream, len);
	read_all(&r, len, &by_buffer);
	mig_reader_free(&r);

	int fd = memfd_create("fuzz-stream", MFD_CLOEXEC);
	if (fd >= 0 && pwrite(fd, stream, len, 0) == (ssize_t)len) {
		mig_reader_init(&r, fd);
		read_all(&r, len, &by_fd);
		mig_reader_free(&r);
		if (by_fd.rc != by_buffer.rc || by_fd.n != by_buffer.n || strcmp(by_fd.err, by_buffer.err) ||
		    memcmp(by_fd.type, by_buffer.type, sizeof(by_fd.type)) ||
		    memcmp(by_fd.len, by_buffer.len, sizeof(by_fd.len)) ||
		    memcmp(by_fd.body_sum, by_buffer.body_sum, sizeof(by_fd.body_sum))) {
			fprintf(stderr, "buffer: rc %d, %u records, \"%s\"; fd: rc %d, %u records, \"%s\"\n",
				by_buffer.rc, by_buffer.n, by_buffer.err, by_fd.rc, by_fd.n, by_fd.err);
			abort();
		}
	}
	if (fd >= 0)
		close(fd);
	free(stream);
	return 0;
}
