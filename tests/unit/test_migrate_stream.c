/* The save/migration stream (src/migrate/stream.c): records of every type surviving a trip
 * through a pipe (with short reads and writes and EINTR), a file and a buffer; a reader that stops
 * exactly at a record's end, so the next process can read on from the same descriptor; every
 * prefix of a stream refused as truncated; each malformed header, record and body refused with its
 * message; PAGES batches walked; the RAM digest. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>
#include "backends/pv_backend.h"
#include "lib/domain_limits.h"
#include "migrate/stream.h"
#include "unit.h"

/* ---- an independent spelling of the sums, so the test does not trust stream.c's ---- */
static uint32_t ref_fnv32(const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint64_t ref_fnv64(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* ---- a growing byte buffer for hand-made streams ---- */
struct bytes { uint8_t *p; size_t len; };

static void put(struct bytes *b, const void *data, size_t len)
{
	b->p = realloc(b->p, b->len + len + 1);
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void put32(struct bytes *b, uint32_t v) { put(b, &v, 4); }
static void put64(struct bytes *b, uint64_t v) { put(b, &v, 8); }

static void raw_header(struct bytes *b, uint32_t version, uint32_t hlen, uint32_t flags, uint32_t rsv)
{
	put(b, MIG_MAGIC, 8);
	put32(b, version);
	put32(b, hlen);
	put32(b, flags);
	put32(b, rsv);
	put64(b, 1700000000);
}

/* A record header claiming blen bytes, then `body` (len bytes, which may differ from blen). */
static void raw_record(struct bytes *b, uint32_t type, uint32_t flags, uint64_t blen, const void *body,
		       size_t len, uint32_t rsv)
{
	put32(b, type);
	put32(b, flags);
	put64(b, blen);
	put32(b, ref_fnv32(body, len));
	put32(b, rsv);
	put(b, body, len);
}

/* ---- the sample stream: one record of each type ---- */
struct sample {
	struct mig_domain dom;
	struct mig_round round;
	struct mig_digest digest;
	uint8_t pages_index[8 + 8 * 3];
	uint8_t page[2][MIG_PAGE_SIZE];
	uint8_t vcpu[5000], xen[3000], devices[700], pv[900];
	size_t vcpu_len, xen_len, devices_len, pv_len;   /* how much of each is written */
	const char *config;
};

static void sample_init(struct sample *s)
{
	memset(s, 0, sizeof(*s));
	s->config = "name = \"web\"\nmemory = 128\nkernel = \"/k\"\n";
	s->dom = (struct mig_domain){ .ram_bytes = 128u << 20, .populated_bytes = 64u << 20,
				      .low_ram_bytes = 128u << 20, .vcpus = 2, .max_vcpus = 4 };
	memset(s->dom.uuid, 0xab, sizeof(s->dom.uuid));
	strcpy(s->dom.name, "web");
	s->round = (struct mig_round){ .round = 3, .pages_sent = 77, .pages_dirty = 5, .elapsed_us = 1234 };
	s->digest = (struct mig_digest){ .pages = 32768, .digest = 0x1122334455667788ull };
	uint32_t count = 3;
	uint64_t e[3] = { 5ull << 4 | MIG_PAGE_DATA, 6ull << 4 | MIG_PAGE_ZERO, (1ull << 59) << 4 | MIG_PAGE_DATA };
	memcpy(s->pages_index, &count, 4);
	memcpy(s->pages_index + 8, e, sizeof(e));
	for (size_t i = 0; i < MIG_PAGE_SIZE; i++) {
		s->page[0][i] = (uint8_t)(i * 7);
		s->page[1][i] = (uint8_t)(i ^ 0x5a);
	}
	for (size_t i = 0; i < sizeof(s->vcpu); i++)
		s->vcpu[i] = (uint8_t)(i * 13);
	memset(s->xen, 'x', sizeof(s->xen));
	memset(s->devices, 'd', sizeof(s->devices));
	memset(s->pv, 'p', sizeof(s->pv));
	s->vcpu_len = sizeof(s->vcpu);
	s->xen_len = sizeof(s->xen);
	s->devices_len = sizeof(s->devices);
	s->pv_len = sizeof(s->pv);
}

/* The same records with short bodies: a stream of about 8 KiB, to cut at every byte. */
static void sample_init_small(struct sample *s)
{
	sample_init(s);
	s->vcpu_len = 100;
	s->xen_len = 30;
	s->devices_len = 7;
	s->pv_len = 9;
}

struct expect { uint32_t type; const void *body; size_t len; };

/* The records sample_write writes, in order (the PAGES one as its pieces, joined by the caller). */
static unsigned int sample_expect(const struct sample *s, struct expect *x)
{
	unsigned int n = 0;
	x[n++] = (struct expect){ MIG_REC_CONFIG, s->config, strlen(s->config) };
	x[n++] = (struct expect){ MIG_REC_DOMAIN, &s->dom, sizeof(s->dom) };
	x[n++] = (struct expect){ MIG_REC_PAGES, NULL, sizeof(s->pages_index) + 2 * MIG_PAGE_SIZE };
	x[n++] = (struct expect){ MIG_REC_ROUND, &s->round, sizeof(s->round) };
	x[n++] = (struct expect){ MIG_REC_PAGES, NULL, sizeof(s->pages_index) + 2 * MIG_PAGE_SIZE };
	x[n++] = (struct expect){ MIG_REC_VCPU, s->vcpu, s->vcpu_len };
	x[n++] = (struct expect){ MIG_REC_VCPU, s->vcpu, 100 };
	x[n++] = (struct expect){ MIG_REC_XEN, s->xen, s->xen_len };
	x[n++] = (struct expect){ MIG_REC_DEVICES, s->devices, s->devices_len };
	x[n++] = (struct expect){ MIG_REC_PV_DEVICE, s->pv, s->pv_len };
	x[n++] = (struct expect){ MIG_REC_PV_DEVICE, s->pv, 1 };
	x[n++] = (struct expect){ MIG_REC_DIGEST, &s->digest, sizeof(s->digest) };
	x[n++] = (struct expect){ MIG_REC_END, NULL, 0 };
	return n;
}

static int sample_write(const struct sample *s, int fd, struct mig_writer *w, char *err, size_t errlen)
{
	struct expect x[16];
	unsigned int n = sample_expect(s, x);
	struct mig_piece pieces[] = { { s->pages_index, sizeof(s->pages_index) },
				      { s->page[0], MIG_PAGE_SIZE }, { NULL, 0 }, { s->page[1], MIG_PAGE_SIZE } };

	mig_writer_init(w, fd);
	if (mig_write_header(w, MIG_STREAM_LIVE | MIG_STREAM_DEBUG, err, errlen) < 0)
		return -1;
	for (unsigned int i = 0; i < n; i++) {
		int rc = x[i].type == MIG_REC_PAGES
			? mig_write_record_pieces(w, x[i].type, pieces, 4, err, errlen)
			: mig_write_record(w, x[i].type, x[i].body, x[i].len, err, errlen);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static size_t sample_size(const struct sample *s)
{
	struct expect x[16];
	unsigned int n = sample_expect(s, x);
	size_t total = MIG_HEADER_LEN;
	for (unsigned int i = 0; i < n; i++)
		total += MIG_RECORD_HEADER_LEN + x[i].len;
	return total;
}

/* Reads the sample back from r and checks every record against what was written. */
static void sample_check(struct unit *u, const char *how, const struct sample *s, struct mig_reader *r)
{
	struct expect x[16];
	unsigned int n = sample_expect(s, x);
	char err[256] = "";
	uint8_t joined[sizeof(s->pages_index) + 2 * MIG_PAGE_SIZE];

	memcpy(joined, s->pages_index, sizeof(s->pages_index));
	memcpy(joined + sizeof(s->pages_index), s->page, sizeof(s->page));
	CHECK(mig_read_header(r, err, sizeof(err)) == 0, "%s: header: %s", how, err);
	CHECK_INT(r->flags, MIG_STREAM_LIVE | MIG_STREAM_DEBUG);
	for (unsigned int i = 0; i < n; i++) {
		uint32_t type = 0;
		const uint8_t *body = NULL;
		size_t len = 0;
		if (mig_read_record(r, &type, &body, &len, err, sizeof(err)) < 0) {
			CHECK(0, "%s: record %u: %s", how, i, err);
			return;
		}
		const void *want = x[i].type == MIG_REC_PAGES ? joined : x[i].body;
		CHECK(type == x[i].type && len == x[i].len, "%s: record %u is %s of %zu bytes, expected %s of %zu",
		      how, i, mig_record_name(type), len, mig_record_name(x[i].type), x[i].len);
		CHECK(len == x[i].len && (!len || !memcmp(body, want, len)), "%s: record %u (%s): body differs",
		      how, i, mig_record_name(type));
	}
	CHECK(r->offset == sample_size(s), "%s: reader at byte %llu, stream is %zu", how,
	      (unsigned long long)r->offset, sample_size(s));
}

/* ---- round trips ---- */
struct pipe_writer { const struct sample *s; int fd; struct mig_writer w; int rc; char err[256]; };

static void *pipe_writer_main(void *arg)
{
	struct pipe_writer *pw = arg;
	pw->rc = sample_write(pw->s, pw->fd, &pw->w, pw->err, sizeof(pw->err));
	close(pw->fd);
	return NULL;
}

static void on_alarm(int sig) { (void)sig; }

static void test_roundtrip_pipe(struct unit *u, const void *arg)
{
	struct sample s;
	struct pipe_writer pw = { .s = &s };
	struct mig_reader r;
	int p[2];
	pthread_t t;

	(void)arg;
	sample_init(&s);
	CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
	/* A 1 ms timer without SA_RESTART: reads and writes come back short or with EINTR. */
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	sigaction(SIGALRM, &sa, &old);
	struct itimerval tick = { { 0, 1000 }, { 0, 1000 } }, off = { 0 };
	setitimer(ITIMER_REAL, &tick, NULL);
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	pw.fd = p[1];
	pthread_create(&t, NULL, pipe_writer_main, &pw);
	mig_reader_init(&r, p[0]);
	sample_check(u, "pipe", &s, &r);
	pthread_join(t, NULL);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	CHECK(pw.rc == 0, "writer: %s", pw.err);
	CHECK(pw.w.offset == sample_size(&s), "writer counted %llu bytes, wrote %zu",
	      (unsigned long long)pw.w.offset, sample_size(&s));
	CHECK_INT(pw.w.page_bytes, 4 * MIG_PAGE_SIZE);
	mig_reader_free(&r);
	close(p[0]);
}

static int sample_memfd(const struct sample *s, char *err, size_t errlen)
{
	struct mig_writer w;
	int fd = memfd_create("stream", 0);
	if (fd < 0 || sample_write(s, fd, &w, err, errlen) < 0 || lseek(fd, 0, SEEK_SET) != 0)
		return -1;
	return fd;
}

static void test_roundtrip_file_and_buffer(struct unit *u, const void *arg)
{
	struct sample s;
	struct mig_reader r;
	char err[256] = "";

	(void)arg;
	sample_init(&s);
	int fd = sample_memfd(&s, err, sizeof(err));
	CHECK(fd >= 0, "writing to a file: %s", err);
	if (fd < 0)
		return;
	mig_reader_init(&r, fd);
	sample_check(u, "file", &s, &r);
	mig_reader_free(&r);

	size_t size = sample_size(&s);
	uint8_t *copy = malloc(size);
	CHECK(pread(fd, copy, size, 0) == (ssize_t)size, "pread");
	mig_reader_init_buffer(&r, copy, size);
	sample_check(u, "buffer", &s, &r);
	mig_reader_free(&r);
	free(copy);
	close(fd);
}

/* A full batch written as 1025 pieces (more than one writev takes) and walked back. */
static int count_full(void *opaque, uint64_t index, enum mig_page_kind kind, const uint8_t *data)
{
	unsigned int *n = opaque;
	if (index != *n || kind != MIG_PAGE_DATA || !data || data[0] != (uint8_t)index || data[4095] != (uint8_t)index)
		return -2;
	++*n;
	return 0;
}

static void test_full_batch(struct unit *u, const void *arg)
{
	uint8_t *pages = malloc(MIG_PAGES_PER_BATCH * MIG_PAGE_SIZE);
	uint8_t *index = calloc(1, 8 + 8 * MIG_PAGES_PER_BATCH);
	struct mig_piece *pieces = calloc(MIG_PAGES_PER_BATCH + 1, sizeof(*pieces));
	struct mig_writer w;
	struct mig_reader r;
	char err[256] = "";
	uint32_t type = 0, count = MIG_PAGES_PER_BATCH;
	const uint8_t *body = NULL;
	size_t len = 0;

	(void)arg;
	memcpy(index, &count, 4);
	pieces[0] = (struct mig_piece){ index, 8 + 8 * MIG_PAGES_PER_BATCH };
	for (uint32_t i = 0; i < MIG_PAGES_PER_BATCH; i++) {
		uint64_t e = (uint64_t)i << MIG_PAGE_KIND_BITS | MIG_PAGE_DATA;
		memcpy(index + 8 + 8 * i, &e, 8);
		memset(pages + (size_t)i * MIG_PAGE_SIZE, (int)(i & 0xff), MIG_PAGE_SIZE);
		pieces[i + 1] = (struct mig_piece){ pages + (size_t)i * MIG_PAGE_SIZE, MIG_PAGE_SIZE };
	}
	int fd = memfd_create("batch", 0);
	mig_writer_init(&w, fd);
	CHECK(mig_write_header(&w, MIG_STREAM_LIVE, err, sizeof(err)) == 0, "%s", err);
	CHECK(mig_write_record_pieces(&w, MIG_REC_PAGES, pieces, MIG_PAGES_PER_BATCH + 1, err, sizeof(err)) == 0,
	      "a full batch: %s", err);
	CHECK_INT(w.page_bytes, (uint64_t)MIG_PAGES_PER_BATCH * MIG_PAGE_SIZE);
	lseek(fd, 0, SEEK_SET);
	mig_reader_init(&r, fd);
	CHECK(mig_read_header(&r, err, sizeof(err)) == 0 && r.flags == MIG_STREAM_LIVE, "header: %s", err);
	CHECK(mig_read_record(&r, &type, &body, &len, err, sizeof(err)) == 0 && type == MIG_REC_PAGES,
	      "reading the batch: %s", err);
	unsigned int n = 0;
	CHECK(mig_pages_walk(body, len, count_full, &n, err, sizeof(err)) == 0 && n == MIG_PAGES_PER_BATCH,
	      "walking it: %u pages, %s", n, err);
	mig_reader_free(&r);
	close(fd);
	free(pieces);
	free(index);
	free(pages);
}

/* xl reads the header and CONFIG, then the VMM reads on from the same descriptor. */
static void test_no_read_ahead(struct unit *u, const void *arg)
{
	struct sample s;
	struct mig_writer w;
	struct mig_reader r;
	char err[256] = "";
	int p[2];
	uint32_t type;
	const uint8_t *body;
	size_t len;

	(void)arg;
	sample_init(&s);
	CHECK(pipe(p) == 0, "pipe");
	mig_writer_init(&w, p[1]);
	CHECK(mig_write_header(&w, 0, err, sizeof(err)) == 0, "%s", err);
	CHECK(mig_write_record(&w, MIG_REC_CONFIG, s.config, strlen(s.config), err, sizeof(err)) == 0, "%s", err);
	CHECK(mig_write_record(&w, MIG_REC_DOMAIN, &s.dom, sizeof(s.dom), err, sizeof(err)) == 0, "%s", err);
	CHECK(mig_write_record(&w, MIG_REC_END, NULL, 0, err, sizeof(err)) == 0, "%s", err);
	close(p[1]);

	mig_reader_init(&r, p[0]);
	CHECK(mig_read_header(&r, err, sizeof(err)) == 0, "header: %s", err);
	CHECK(mig_read_record(&r, &type, &body, &len, err, sizeof(err)) == 0 && type == MIG_REC_CONFIG,
	      "CONFIG: %s", err);
	uint64_t handed_at = r.offset;
	mig_reader_free(&r);

	mig_reader_init(&r, p[0]);
	r.offset = handed_at;
	CHECK(mig_read_record(&r, &type, &body, &len, err, sizeof(err)) == 0 && type == MIG_REC_DOMAIN &&
	      len == sizeof(s.dom) && !memcmp(body, &s.dom, len), "the second reader's DOMAIN: %s", err);
	CHECK(mig_read_record(&r, &type, &body, &len, err, sizeof(err)) == 0 && type == MIG_REC_END &&
	      len == 0, "the second reader's END: %s", err);
	CHECK(r.offset == w.offset, "the second reader ends at %llu, the writer at %llu",
	      (unsigned long long)r.offset, (unsigned long long)w.offset);
	mig_reader_free(&r);
	close(p[0]);
}

/* Reads header and records to END: 0, or -1 with err. */
static int read_whole(struct mig_reader *r, char *err, size_t errlen)
{
	uint32_t type = 0;
	const uint8_t *body;
	size_t len;

	if (mig_read_header(r, err, errlen) < 0)
		return -1;
	do {
		if (mig_read_record(r, &type, &body, &len, err, errlen) < 0)
			return -1;
	} while (type != MIG_REC_END);
	return 0;
}

static void test_truncated_everywhere(struct unit *u, const void *arg)
{
	struct sample s;
	struct mig_reader r;
	char err[256];

	(void)arg;
	sample_init_small(&s);
	int fd = sample_memfd(&s, err, sizeof(err));
	CHECK(fd >= 0, "%s", err);
	if (fd < 0)
		return;
	size_t size = sample_size(&s);
	uint8_t *whole = malloc(size);
	CHECK(pread(fd, whole, size, 0) == (ssize_t)size, "pread");
	int cut = memfd_create("cut", 0);
	CHECK(cut >= 0 && pwrite(cut, whole, size, 0) == (ssize_t)size, "memfd");
	unsigned int refused = 0;
	/* Longest first, so that the descriptor's copy only ever shrinks. */
	for (size_t n = size; n-- > 0;) {
		/* An exact-size copy, so that a read past the cut is ASan's to see. */
		uint8_t *prefix = malloc(n ? n : 1);
		memcpy(prefix, whole, n);
		mig_reader_init_buffer(&r, prefix, n);
		err[0] = '\0';
		int rc = read_whole(&r, err, sizeof(err));
		mig_reader_free(&r);
		free(prefix);
		CHECK(rc < 0 && strstr(err, "truncated"), "a buffer cut at byte %zu of %zu: %s", n, size,
		      rc < 0 ? err : "accepted");
		bool ok = rc < 0 && strstr(err, "truncated");

		if (ftruncate(cut, (off_t)n) || lseek(cut, 0, SEEK_SET))
			break;
		mig_reader_init(&r, cut);
		err[0] = '\0';
		rc = read_whole(&r, err, sizeof(err));
		mig_reader_free(&r);
		CHECK(rc < 0 && strstr(err, "truncated"), "a file cut at byte %zu of %zu: %s", n, size,
		      rc < 0 ? err : "accepted");
		ok = ok && rc < 0 && strstr(err, "truncated");
		refused += ok;
		if (!ok)
			break;
	}
	CHECK(refused == size, "%u of %zu prefixes refused", refused, size);
	mig_reader_init_buffer(&r, NULL, 0);
	CHECK(read_whole(&r, err, sizeof(err)) < 0 && strstr(err, "truncated"), "no buffer at all: %s", err);
	mig_reader_init_buffer(&r, whole, size);
	CHECK(read_whole(&r, err, sizeof(err)) == 0, "the whole stream: %s", err);
	free(whole);
	close(cut);
	close(fd);
}

/* ---- refusals ---- */
struct refusal {
	const char *name;
	void (*make)(struct bytes *b);
	const char *message;      /* a substring of the reader's err, or the whole of it when exact */
	bool exact;
};

static struct mig_domain good_domain(void)
{
	struct mig_domain d = { .ram_bytes = 64u << 20, .populated_bytes = 64u << 20,
				.low_ram_bytes = 64u << 20, .vcpus = 1, .max_vcpus = 1 };
	strcpy(d.name, "guest");
	return d;
}

static void hdr_ok(struct bytes *b) { raw_header(b, 1, 32, 0, 0); }
static void mk_magic(struct bytes *b) { put(b, "#!/bin/sh\necho hello\n" "0123456789abcdef", 37); }
/* A 3-byte file: "XEN" would be the start of a stream cut short, "XEX" is not one at all. */
static void mk_magic_short(struct bytes *b) { put(b, "XEX", 3); }
static void mk_version(struct bytes *b) { raw_header(b, 2, 32, 0, 0); }
static void mk_header_len(struct bytes *b) { raw_header(b, 1, 40, 0, 0); }
static void mk_header_flags(struct bytes *b) { raw_header(b, 1, 32, 4, 0); }
static void mk_header_reserved(struct bytes *b) { raw_header(b, 1, 32, 0, 9); }
static void mk_type(struct bytes *b) { hdr_ok(b); raw_record(b, 42, 0, 0, NULL, 0, 0); }
static void mk_type0(struct bytes *b) { hdr_ok(b); raw_record(b, 0, 0, 0, NULL, 0, 0); }
static void mk_rec_flags(struct bytes *b) { hdr_ok(b); raw_record(b, MIG_REC_CONFIG, 1, 1, "x", 1, 0); }
static void mk_rec_reserved(struct bytes *b) { hdr_ok(b); raw_record(b, MIG_REC_CONFIG, 0, 1, "x", 1, 2); }
/* Over-long records carry no body: the reader must refuse before it waits for one. */
static void mk_config_long(struct bytes *b) { hdr_ok(b); raw_record(b, MIG_REC_CONFIG, 0, XL_CFG_MAX_BYTES + 1, NULL, 0, 0); }
static void mk_pages_long(struct bytes *b) { hdr_ok(b); raw_record(b, MIG_REC_PAGES, 0, MIG_RECORD_MAX + 1ull, NULL, 0, 0); }
static void mk_huge(struct bytes *b) { hdr_ok(b); raw_record(b, MIG_REC_XEN, 0, UINT64_MAX, NULL, 0, 0); }
static void mk_vcpu_long(struct bytes *b) { hdr_ok(b); raw_record(b, MIG_REC_VCPU, 0, (16u << 10) + 1, NULL, 0, 0); }
static void mk_pv_long(struct bytes *b) { hdr_ok(b); raw_record(b, MIG_REC_PV_DEVICE, 0, PV_RECORD_MAX + 1, NULL, 0, 0); }
static void mk_domain_short(struct bytes *b)
{
	struct mig_domain d = good_domain();
	hdr_ok(b);
	raw_record(b, MIG_REC_DOMAIN, 0, sizeof(d) - 1, &d, sizeof(d) - 1, 0);
}
static void mk_round_long(struct bytes *b)
{
	uint8_t z[sizeof(struct mig_round) + 1] = { 0 };
	hdr_ok(b);
	raw_record(b, MIG_REC_ROUND, 0, sizeof(z), z, sizeof(z), 0);
}
static void mk_digest_short(struct bytes *b)
{
	uint8_t z[8] = { 0 };
	hdr_ok(b);
	raw_record(b, MIG_REC_DIGEST, 0, sizeof(z), z, sizeof(z), 0);
}
static void mk_end_body(struct bytes *b) { hdr_ok(b); raw_record(b, MIG_REC_END, 0, 1, "x", 1, 0); }
static void mk_sum(struct bytes *b)
{
	hdr_ok(b);
	raw_record(b, MIG_REC_CONFIG, 0, 3, "a=1", 3, 0);
	raw_record(b, MIG_REC_PAGES, 0, 8, "\0\0\0\0\0\0\0\0", 8, 0);
	b->p[b->len - 1] ^= 1;
}
static void mk_domain_name(struct bytes *b)
{
	struct mig_domain d = good_domain();
	memset(d.name, 'n', sizeof(d.name));
	hdr_ok(b);
	raw_record(b, MIG_REC_DOMAIN, 0, sizeof(d), &d, sizeof(d), 0);
}
static void mk_domain_vcpus(struct bytes *b)
{
	struct mig_domain d = good_domain();
	d.vcpus = 3;
	d.max_vcpus = 2;
	hdr_ok(b);
	raw_record(b, MIG_REC_DOMAIN, 0, sizeof(d), &d, sizeof(d), 0);
}
static void mk_no_end(struct bytes *b) { hdr_ok(b); raw_record(b, MIG_REC_CONFIG, 0, 1, "x", 1, 0); }
static void mk_cut_body(struct bytes *b)
{
	hdr_ok(b);
	raw_record(b, MIG_REC_PAGES, 0, 8 + 8 + 4096, "\1\0\0\0\0\0\0\0", 8, 0);
}

static const struct refusal refusals[] = {
	{ "bad magic", mk_magic, "not a Xenith save stream (bad magic)", true },
	{ "bad magic, 3 bytes", mk_magic_short, "not a Xenith save stream (bad magic)", true },
	{ "version 2", mk_version, "the save stream is version 2; this build reads version 1", true },
	{ "header length", mk_header_len, "the save stream's header length is 40, not 32", true },
	{ "header flags", mk_header_flags, "the save stream's header has unknown flags 0x4", false },
	{ "header reserved", mk_header_reserved, "header has a nonzero reserved field (0x9)", false },
	{ "unknown type", mk_type, "the save stream's record at byte 32 has an unknown type 42", true },
	{ "type 0", mk_type0, "record at byte 32 has an unknown type 0", false },
	{ "record flags", mk_rec_flags, "the save stream's record at byte 32 (CONFIG) has nonzero flags (0x1)", true },
	{ "record reserved", mk_rec_reserved, "record at byte 32 (CONFIG) has nonzero reserved field (0x2)", false },
	{ "CONFIG over 1 MiB", mk_config_long,
	  "the save stream's record at byte 32 (CONFIG) is 1048577 bytes long; CONFIG records are at most 1048576 bytes", true },
	{ "PAGES over MIG_RECORD_MAX", mk_pages_long, "(PAGES) is 8388609 bytes long; PAGES records are at most 8388608", false },
	{ "XEN of 2^64-1 bytes", mk_huge, "(XEN) is 18446744073709551615 bytes long; XEN records are at most 65536", false },
	{ "VCPU over 16 KiB", mk_vcpu_long, "VCPU records are at most 16384 bytes", false },
	{ "PV_DEVICE over PV_RECORD_MAX", mk_pv_long, "PV_DEVICE records are at most 8192 bytes", false },
	{ "DOMAIN short", mk_domain_short, "(DOMAIN) is 119 bytes long; DOMAIN records are exactly 120 bytes", false },
	{ "ROUND long", mk_round_long, "(ROUND) is 33 bytes long; ROUND records are exactly 32 bytes", false },
	{ "DIGEST short", mk_digest_short, "(DIGEST) is 8 bytes long; DIGEST records are exactly 16 bytes", false },
	{ "END with a body", mk_end_body, "(END) is 1 bytes long; END records are exactly 0 bytes", false },
	{ "bad checksum", mk_sum,
	  "the save stream's record at byte 59 (PAGES) has a bad checksum: the file is corrupt", true },
	{ "DOMAIN name unterminated", mk_domain_name,
	  "the save stream's record at byte 32 (DOMAIN) is wrong: the domain's name is not NUL-terminated within 65 bytes", true },
	{ "DOMAIN vcpus", mk_domain_vcpus, "(DOMAIN) is wrong: domain guest has 3 of 2 vCPUs online", false },
	{ "no END", mk_no_end, "the save stream ends at byte 57 without an END record: truncated?", true },
	{ "body cut", mk_cut_body, "the save stream ends at byte 64, inside a PAGES record: truncated?", true },
};

static void test_refusal(struct unit *u, const void *arg)
{
	const struct refusal *t = arg;
	struct bytes b = { 0 };
	struct mig_reader r;
	char err[512];

	t->make(&b);
	for (int via_fd = 0; via_fd < 2; via_fd++) {
		int p[2] = { -1, -1 };
		/* Through a pipe whose writer stays open: a reader that waited for bytes the record
		 * does not have would hang here instead of refusing. */
		if (via_fd) {
			if (pipe(p) || write(p[1], b.p, b.len) != (ssize_t)b.len)
				CHECK(0, "pipe: %s", strerror(errno));
			if (strstr(t->message, "truncated") || b.len < MIG_HEADER_LEN)
				close(p[1]), p[1] = -1;
			mig_reader_init(&r, p[0]);
		} else {
			mig_reader_init_buffer(&r, b.p, b.len);
		}
		err[0] = '\0';
		int rc = read_whole(&r, err, sizeof(err));
		CHECK(rc < 0, "%s: accepted", via_fd ? "fd" : "buffer");
		if (t->exact)
			CHECK(!strcmp(err, t->message), "%s: \"%s\", expected \"%s\"", via_fd ? "fd" : "buffer",
			      err, t->message);
		else
			CHECK(strstr(err, t->message), "%s: \"%s\", expected it to hold \"%s\"",
			      via_fd ? "fd" : "buffer", err, t->message);
		mig_reader_free(&r);
		if (p[0] >= 0)
			close(p[0]);
		if (p[1] >= 0)
			close(p[1]);
	}
	free(b.p);
}

/* ---- the writer's own refusals and failures ---- */
static void test_writer_errors(struct unit *u, const void *arg)
{
	struct mig_writer w;
	char err[256] = "";
	uint8_t small[8] = { 0 };
	int p[2];

	(void)arg;
	mig_writer_init(&w, -1);
	CHECK(mig_write_record(&w, 42, small, 1, err, sizeof(err)) < 0 && strstr(err, "unknown"),
	      "an unknown type written: %s", err);
	CHECK(mig_write_record(&w, MIG_REC_DOMAIN, small, sizeof(small), err, sizeof(err)) < 0 &&
	      strstr(err, "DOMAIN record (type 2) of 8 bytes is not allowed (exactly 120 bytes)"),
	      "a short DOMAIN written: %s", err);
	CHECK(mig_write_header(&w, 0x80, err, sizeof(err)) < 0 && strstr(err, "0x80"), "header flags: %s", err);
	CHECK_INT(w.offset, 0);

	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	sigaction(SIGPIPE, &ign, &old);
	CHECK(pipe(p) == 0, "pipe");
	mig_writer_init(&w, p[1]);
	CHECK(mig_write_header(&w, 0, err, sizeof(err)) == 0, "%s", err);
	close(p[0]);
	CHECK(mig_write_record(&w, MIG_REC_CONFIG, "a=1\n", 4, err, sizeof(err)) < 0, "written to a closed pipe");
	CHECK_STR(err, "writing the save stream at byte 32: Broken pipe");
	close(p[1]);
	sigaction(SIGPIPE, &old, NULL);
}

static void test_bounds(struct unit *u, const void *arg)
{
	(void)arg;
	CHECK_INT(mig_record_bound(MIG_REC_CONFIG), XL_CFG_MAX_BYTES);
	CHECK_INT(mig_record_bound(MIG_REC_DOMAIN), sizeof(struct mig_domain));
	CHECK_INT(mig_record_bound(MIG_REC_PAGES), MIG_RECORD_MAX);
	CHECK_INT(mig_record_bound(MIG_REC_ROUND), sizeof(struct mig_round));
	CHECK_INT(mig_record_bound(MIG_REC_VCPU), 16 << 10);
	CHECK_INT(mig_record_bound(MIG_REC_XEN), 64 << 10);
	CHECK_INT(mig_record_bound(MIG_REC_DEVICES), 64 << 10);
	CHECK_INT(mig_record_bound(MIG_REC_PV_DEVICE), PV_RECORD_MAX);
	CHECK_INT(mig_record_bound(MIG_REC_DIGEST), sizeof(struct mig_digest));
	CHECK_INT(mig_record_bound(MIG_REC_END), 0);
	CHECK_INT(mig_record_bound(0), 0);
	CHECK_INT(mig_record_bound(MIG_REC_TYPES), 0);
	CHECK_STR(mig_record_name(MIG_REC_PV_DEVICE), "PV_DEVICE");
	CHECK_STR(mig_record_name(0), "unknown");
	CHECK_STR(mig_record_name(UINT32_MAX), "unknown");
	for (uint32_t t = 1; t < MIG_REC_TYPES; t++)
		CHECK(strcmp(mig_record_name(t), "unknown"), "type %u has no name", t);
}

static void test_domain_check(struct unit *u, const void *arg)
{
	struct mig_domain d;
	char err[256] = "";

	(void)arg;
	d = good_domain();
	CHECK(mig_domain_check(&d, err, sizeof(err)) == 0, "a good domain: %s", err);
	d.name[MIG_NAME_MAX] = '\0';
	memset(d.name, 'a', MIG_NAME_MAX);
	CHECK(mig_domain_check(&d, err, sizeof(err)) == 0, "a %d-byte name: %s", MIG_NAME_MAX, err);
	d.name[0] = '\0';
	CHECK(mig_domain_check(&d, err, sizeof(err)) < 0 && strstr(err, "no name"), "empty name: %s", err);
	d = good_domain();
	d.max_vcpus = DOMAIN_MAX_VCPUS + 1;
	CHECK(mig_domain_check(&d, err, sizeof(err)) < 0 && strstr(err, "vCPUs"), "max_vcpus: %s", err);
	d = good_domain();
	d.vcpus = 0;
	CHECK(mig_domain_check(&d, err, sizeof(err)) < 0 && strstr(err, "vCPUs"), "no vCPU online: %s", err);
	d = good_domain();
	d.ram_bytes += 1;
	CHECK(mig_domain_check(&d, err, sizeof(err)) < 0 && strstr(err, "bytes of RAM"), "ragged RAM: %s", err);
	d = good_domain();
	d.ram_bytes = (DOMAIN_MAX_MEMORY_MB << 20) + MIG_PAGE_SIZE;
	CHECK(mig_domain_check(&d, err, sizeof(err)) < 0 && strstr(err, "bytes of RAM"), "huge RAM: %s", err);
	d = good_domain();
	d.populated_bytes = d.ram_bytes + MIG_PAGE_SIZE;
	CHECK(mig_domain_check(&d, err, sizeof(err)) < 0 && strstr(err, "populated"), "populated: %s", err);
	d = good_domain();
	d.low_ram_bytes = d.ram_bytes + MIG_PAGE_SIZE;
	CHECK(mig_domain_check(&d, err, sizeof(err)) < 0 && strstr(err, "below 4 GiB"), "low RAM: %s", err);
}

/* ---- PAGES batches ---- */
struct seen { unsigned int n; uint64_t index[8]; enum mig_page_kind kind[8]; const uint8_t *data[8]; int stop_at; };

static int note_page(void *opaque, uint64_t index, enum mig_page_kind kind, const uint8_t *data)
{
	struct seen *s = opaque;
	if (s->n < 8) {
		s->index[s->n] = index;
		s->kind[s->n] = kind;
		s->data[s->n] = data;
	}
	return ++s->n == (unsigned int)s->stop_at ? 7 : 0;
}

/* A batch of `count` entries with kinds from `kinds`, `pages` data pages after the index. */
static struct bytes batch(uint32_t count, uint32_t reserved, const uint8_t *kinds, size_t pages)
{
	struct bytes b = { 0 };
	put32(&b, count);
	put32(&b, reserved);
	for (uint32_t i = 0; i < count; i++)
		put64(&b, (uint64_t)(100 + i) << 4 | kinds[i % 4]);
	for (size_t i = 0; i < pages; i++) {
		uint8_t page[MIG_PAGE_SIZE];
		memset(page, (int)(0x10 + i), sizeof(page));
		put(&b, page, sizeof(page));
	}
	return b;
}

static void test_pages_walk(struct unit *u, const void *arg)
{
	const uint8_t kinds[4] = { MIG_PAGE_DATA, MIG_PAGE_ZERO, MIG_PAGE_DATA, MIG_PAGE_ABSENT };
	const uint8_t bad_kind[4] = { MIG_PAGE_DATA, 3, 0, 0 };
	const uint8_t all_data[4] = { 0 };
	char err[256] = "";
	struct seen s = { 0 };

	(void)arg;
	struct bytes b = batch(4, 0, kinds, 2);
	CHECK(mig_pages_walk(b.p, b.len, note_page, &s, err, sizeof(err)) == 0, "a good batch: %s", err);
	CHECK_INT(s.n, 4);
	CHECK(s.index[0] == 100 && s.index[3] == 103, "indexes %llu..%llu", (unsigned long long)s.index[0],
	      (unsigned long long)s.index[3]);
	CHECK(s.kind[0] == MIG_PAGE_DATA && s.kind[1] == MIG_PAGE_ZERO && s.kind[3] == MIG_PAGE_ABSENT, "kinds");
	CHECK(s.data[0] == b.p + 40 && s.data[1] == NULL && s.data[2] == b.p + 40 + 4096 && !s.data[3],
	      "data pointers");
	CHECK(s.data[2] && s.data[2][4095] == 0x11, "the second data page's contents");
	s = (struct seen){ .stop_at = 2 };
	CHECK_INT(mig_pages_walk(b.p, b.len, note_page, &s, err, sizeof(err)), 7);
	CHECK_INT(s.n, 2);
	CHECK(mig_pages_walk(b.p, b.len, NULL, NULL, err, sizeof(err)) == 0, "checking only: %s", err);

	/* Refusals: none of them calls fn. */
	struct { const char *name; struct bytes b; size_t cut; const char *message; } bad[] = {
		{ "short", batch(0, 0, kinds, 0), 4, "shorter than its 8-byte count" },
		{ "too many", batch(MIG_PAGES_PER_BATCH + 1, 0, kinds, 0), 0, "1025 pages; a batch is at most 1024" },
		{ "reserved", batch(1, 5, kinds, 1), 0, "nonzero reserved field (0x5)" },
		{ "index cut", batch(3, 0, kinds, 0), 16, "cannot hold the index of its 3 pages" },
		{ "unknown kind", batch(2, 0, bad_kind, 1), 0, "entry 1 has an unknown kind 3" },
		{ "a page short", batch(4, 0, kinds, 1), 0, "should be 8232 bytes" },
		{ "a byte long", batch(1, 0, all_data, 1), 0, "should be 4112 bytes" },
	};
	put(&bad[6].b, "x", 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = bad[i].cut ? bad[i].cut : bad[i].b.len;
		s = (struct seen){ 0 };
		err[0] = '\0';
		CHECK(mig_pages_walk(bad[i].b.p, len, note_page, &s, err, sizeof(err)) == -1 &&
		      strstr(err, bad[i].message), "%s: \"%s\", expected \"%s\"", bad[i].name, err, bad[i].message);
		CHECK(s.n == 0, "%s: fn called %u times before the refusal", bad[i].name, s.n);
		free(bad[i].b.p);
	}
	struct bytes empty = batch(0, 0, kinds, 0);
	CHECK(mig_pages_walk(empty.p, empty.len, note_page, &s, err, sizeof(err)) == 0, "an empty batch: %s", err);
	free(empty.p);
	free(b.p);
}

static void test_digest(struct unit *u, const void *arg)
{
	enum { PAGES = 5 };
	uint8_t *ram = malloc(PAGES * MIG_PAGE_SIZE);

	(void)arg;
	for (size_t i = 0; i < PAGES * MIG_PAGE_SIZE; i++)
		ram[i] = (uint8_t)(i * 31 + (i >> 12));
	uint64_t d = mig_digest_ram(ram, PAGES);
	CHECK(d == ref_fnv64(ram, PAGES * MIG_PAGE_SIZE), "digest %016llx, FNV-1a 64 of the pages %016llx",
	      (unsigned long long)d, (unsigned long long)ref_fnv64(ram, PAGES * MIG_PAGE_SIZE));
	CHECK(mig_digest_ram(ram, PAGES) == d, "a second computation differs");
	CHECK(mig_digest_ram(ram, 0) == 0xcbf29ce484222325ull, "no pages: the FNV-1a 64 offset basis");
	ram[3 * MIG_PAGE_SIZE + 17] ^= 0x40;
	CHECK(mig_digest_ram(ram, PAGES) != d, "one byte changed, same digest");
	ram[3 * MIG_PAGE_SIZE + 17] ^= 0x40;
	CHECK(mig_digest_ram(ram, PAGES - 1) != d, "a page fewer, same digest");
	free(ram);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "stream-roundtrip-pipe", test_roundtrip_pipe, NULL);
	unit_case(&u, "stream-roundtrip-file-and-buffer", test_roundtrip_file_and_buffer, NULL);
	unit_case(&u, "stream-full-batch-in-pieces", test_full_batch, NULL);
	unit_case(&u, "stream-no-read-ahead", test_no_read_ahead, NULL);
	unit_case(&u, "stream-truncated-at-every-byte", test_truncated_everywhere, NULL);
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		char name[96];
		snprintf(name, sizeof(name), "stream-refuses: %s", refusals[i].name);
		unit_case(&u, name, test_refusal, &refusals[i]);
	}
	unit_case(&u, "stream-writer-errors", test_writer_errors, NULL);
	unit_case(&u, "stream-record-bounds", test_bounds, NULL);
	unit_case(&u, "stream-domain-check", test_domain_check, NULL);
	unit_case(&u, "stream-pages-walk", test_pages_walk, NULL);
	unit_case(&u, "stream-digest", test_digest, NULL);
	return unit_finish(&u);
}
