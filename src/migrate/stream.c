/* The save and migration stream (stream.h has the layout; docs/migration.md the record order).
 *
 * Writing: each record goes out as one writev of its header and body pieces where the pieces fit
 * one iovec window (a whole PAGES batch does), resumed after short writes and EINTR; the writer
 * counts bytes so that a failure names the byte where the stream broke.
 *
 * Reading: a reader never reads ahead, because the descriptor changes hands mid-stream (xl reads
 * the header and CONFIG, then passes the same fd to the VMM, which reads on from there): a record
 * header is 24 bytes read exactly, then exactly body_len bytes, after body_len was checked against
 * the type's bound.  The body buffer grows to what a record needs and never past its type's bound,
 * so a hostile length costs nothing before it is refused.  Everything in the stream is checked:
 * it comes from a file anyone could have written or from another host. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "backends/pv_backend.h"
#include "lib/domain_limits.h"
#include "lib/error.h"
#include "migrate/stream.h"
#include "vmm/vcpu_state.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "fixed-layout bodies are stored as in memory");
_Static_assert(sizeof(struct mig_domain) == 120, "DOMAIN body layout");
_Static_assert(sizeof(struct mig_round) == 32, "ROUND body layout");
_Static_assert(sizeof(struct mig_digest) == 16, "DIGEST body layout");
_Static_assert(8 + 8 * MIG_PAGES_PER_BATCH + MIG_PAGE_SIZE * MIG_PAGES_PER_BATCH <= MIG_RECORD_MAX,
	       "a full PAGES batch fits a record");

#define VCPU_BODY_MAX (16u << 10)
/* Every section of vcpu_state.h at its largest, with the head and the section headers. */
_Static_assert(8 + VCPU_SEC_COUNT * 8 + sizeof(struct kvm_regs) + sizeof(struct kvm_sregs) +
	       sizeof(struct kvm_xsave) + sizeof(struct kvm_fpu) + sizeof(struct kvm_xcrs) +
	       8 + 16 * VCPU_STATE_MAX_MSRS + sizeof(struct kvm_lapic_state) +
	       sizeof(struct kvm_vcpu_events) + sizeof(struct kvm_mp_state) +
	       sizeof(struct kvm_debugregs) <= VCPU_BODY_MAX, "a VCPU record fits its bound");

/* One row per record type: its name and bound; `exact` types have exactly that size. */
static const struct mig_record_kind {
	const char *name;
	size_t bound;
	bool exact;
} record_kinds[MIG_REC_TYPES] = {
	[MIG_REC_CONFIG] = { "CONFIG", XL_CFG_MAX_BYTES, false },
	[MIG_REC_DOMAIN] = { "DOMAIN", sizeof(struct mig_domain), true },
	[MIG_REC_PAGES] = { "PAGES", MIG_RECORD_MAX, false },
	[MIG_REC_ROUND] = { "ROUND", sizeof(struct mig_round), true },
	[MIG_REC_VCPU] = { "VCPU", VCPU_BODY_MAX, false },
	[MIG_REC_XEN] = { "XEN", 64u << 10, false },
	[MIG_REC_DEVICES] = { "DEVICES", 64u << 10, false },
	[MIG_REC_PV_DEVICE] = { "PV_DEVICE", PV_RECORD_MAX, false },
	[MIG_REC_DIGEST] = { "DIGEST", sizeof(struct mig_digest), true },
	[MIG_REC_END] = { "END", 0, true },
};

static const struct mig_record_kind *record_kind(uint32_t type)
{
	if (type >= MIG_REC_TYPES || !record_kinds[type].name)
		return NULL;
	return &record_kinds[type];
}

const char *mig_record_name(uint32_t type)
{
	const struct mig_record_kind *k = record_kind(type);
	return k ? k->name : "unknown";
}

size_t mig_record_bound(uint32_t type)
{
	const struct mig_record_kind *k = record_kind(type);
	return k ? k->bound : 0;
}

/* ---- Little-endian fields and FNV-1a ---- */
static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

#define FNV32_BASIS 2166136261u
#define FNV32_PRIME 16777619u
#define FNV64_BASIS 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull

static uint32_t fnv32(uint32_t h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * FNV32_PRIME;
	return h;
}

uint64_t mig_digest_ram(const uint8_t *base, uint64_t pages)
{
	uint64_t h = FNV64_BASIS;

	for (uint64_t i = 0; i < pages * MIG_PAGE_SIZE; i++)
		h = (h ^ base[i]) * FNV64_PRIME;
	return h;
}

/* ---- Writing ---- */
void mig_writer_init(struct mig_writer *w, int fd)
{
	*w = (struct mig_writer){ .fd = fd };
}

/* Writes iov[0..n) whole (n <= IOV_MAX), advancing w->offset; -1 with err on a failure. */
static int write_all(struct mig_writer *w, struct iovec *iov, int n, char *err, size_t errlen)
{
	while (n > 0) {
		ssize_t done = writev(w->fd, iov, n);
		if (done < 0) {
			if (errno == EINTR)
				continue;
			ERR_SET(err, errlen, "writing the save stream at byte %llu: %s",
				(unsigned long long)w->offset, strerror(errno));
			return -1;
		}
		if (done == 0) {
			ERR_SET(err, errlen, "writing the save stream at byte %llu: nothing written",
				(unsigned long long)w->offset);
			return -1;
		}
		w->offset += (uint64_t)done;
		while (n > 0 && (size_t)done >= iov->iov_len) {
			done -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + done;
			iov->iov_len -= (size_t)done;
		}
	}
	return 0;
}

int mig_write_header(struct mig_writer *w, uint32_t flags, char *err, size_t errlen)
{
	uint8_t h[MIG_HEADER_LEN] = { 0 };
	struct iovec iov = { h, sizeof(h) };

	if (flags & ~(uint32_t)MIG_STREAM_FLAGS_KNOWN) {
		ERR_SET(err, errlen, "the save stream's header flags 0x%x are not all known", flags);
		return -1;
	}
	memcpy(h, MIG_MAGIC, 8);
	put32(h + 8, MIG_VERSION);
	put32(h + 12, MIG_HEADER_LEN);
	put32(h + 16, flags);
	put64(h + 24, (uint64_t)time(NULL));
	return write_all(w, &iov, 1, err, errlen);
}

/* A PAGES body's page bytes: its length less the count and index. */
static uint64_t page_bytes_of(const struct mig_piece *pieces, unsigned int n, size_t len)
{
	uint8_t head[4];
	size_t got = 0;

	for (unsigned int i = 0; i < n && got < sizeof(head); i++) {
		size_t take = pieces[i].len < sizeof(head) - got ? pieces[i].len : sizeof(head) - got;
		memcpy(head + got, pieces[i].data, take);
		got += take;
	}
	if (got < sizeof(head))
		return 0;
	uint64_t index = 8 + 8 * (uint64_t)get32(head);
	return len > index ? len - index : 0;
}

int mig_write_record_pieces(struct mig_writer *w, uint32_t type, const struct mig_piece *pieces,
			    unsigned int n, char *err, size_t errlen)
{
	const struct mig_record_kind *k = record_kind(type);
	uint8_t h[MIG_RECORD_HEADER_LEN] = { 0 };
	struct iovec iov[IOV_MAX];
	uint32_t sum = FNV32_BASIS;
	size_t len = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (pieces[i].len > MIG_RECORD_MAX - len) {
			len = MIG_RECORD_MAX + 1ul;
			break;
		}
		len += pieces[i].len;
		sum = fnv32(sum, pieces[i].data, pieces[i].len);
	}
	if (!k || len > k->bound || (k->exact && len != k->bound)) {
		ERR_SET(err, errlen, "writing the save stream at byte %llu: a %s record (type %u) of %zu bytes "
			"is not allowed (%s %zu bytes)", (unsigned long long)w->offset,
			mig_record_name(type), type, len, k && k->exact ? "exactly" : "at most",
			k ? k->bound : 0);
		return -1;
	}
	put32(h, type);
	put64(h + 8, len);
	put32(h + 16, sum);

	uint64_t pages = type == MIG_REC_PAGES ? page_bytes_of(pieces, n, len) : 0;
	int used = 0;
	iov[used++] = (struct iovec){ h, sizeof(h) };
	for (unsigned int i = 0; i < n; i++) {
		if (!pieces[i].len)
			continue;
		if (used == IOV_MAX) {
			if (write_all(w, iov, used, err, errlen) < 0)
				return -1;
			used = 0;
		}
		iov[used++] = (struct iovec){ (void *)pieces[i].data, pieces[i].len };
	}
	if (write_all(w, iov, used, err, errlen) < 0)
		return -1;
	w->page_bytes += pages;
	return 0;
}

int mig_write_record(struct mig_writer *w, uint32_t type, const void *body, size_t len, char *err,
		     size_t errlen)
{
	struct mig_piece piece = { body, len };
	return mig_write_record_pieces(w, type, &piece, 1, err, errlen);
}

/* ---- Reading ---- */
void mig_reader_init(struct mig_reader *r, int fd)
{
	*r = (struct mig_reader){ .fd = fd };
}

void mig_reader_init_buffer(struct mig_reader *r, const uint8_t *data, size_t len)
{
	*r = (struct mig_reader){ .fd = -1, .body = (uint8_t *)data, .body_cap = data ? len : 0 };
}

void mig_reader_free(struct mig_reader *r)
{
	if (r->fd >= 0)
		free(r->body);
	r->body = NULL;
	r->body_cap = 0;
}

/* What a buffer reader has left from its offset. */
static size_t buffer_left(const struct mig_reader *r)
{
	return r->offset < r->body_cap ? r->body_cap - (size_t)r->offset : 0;
}

/* Reads up to len bytes into dst, stopping early only at the end of the stream: the bytes got, or
 * -1 with err on a read error.  Advances r->offset. */
static ssize_t read_upto(struct mig_reader *r, uint8_t *dst, size_t len, char *err, size_t errlen)
{
	size_t got = 0;

	if (r->fd < 0) {
		got = len < buffer_left(r) ? len : buffer_left(r);
		if (got)                    /* an empty buffer may be NULL */
			memcpy(dst, r->body + r->offset, got);
		r->offset += got;
		return (ssize_t)got;
	}
	while (got < len) {
		ssize_t n = read(r->fd, dst + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ERR_SET(err, errlen, "reading the save stream at byte %llu: %s",
				(unsigned long long)r->offset, strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		r->offset += (uint64_t)n;
	}
	return (ssize_t)got;
}

int mig_read_header(struct mig_reader *r, char *err, size_t errlen)
{
	uint8_t h[MIG_HEADER_LEN];
	ssize_t got = read_upto(r, h, sizeof(h), err, errlen);

	if (got < 0)
		return -1;
	/* Bytes that are not even the start of the magic: some other file, however short. */
	if (memcmp(h, MIG_MAGIC, (size_t)got < 8 ? (size_t)got : 8)) {
		ERR_SET(err, errlen, "not a Xenith save stream (bad magic)");
		return -1;
	}
	if ((size_t)got < sizeof(h)) {
		ERR_SET(err, errlen, "the save stream ends at byte %llu, inside its %d-byte header: truncated?",
			(unsigned long long)r->offset, MIG_HEADER_LEN);
		return -1;
	}
	uint32_t version = get32(h + 8), header_len = get32(h + 12), flags = get32(h + 16);
	if (version != MIG_VERSION) {
		ERR_SET(err, errlen, "the save stream is version %u; this build reads version %d", version,
			MIG_VERSION);
		return -1;
	}
	if (header_len != MIG_HEADER_LEN) {
		ERR_SET(err, errlen, "the save stream's header length is %u, not %d", header_len,
			MIG_HEADER_LEN);
		return -1;
	}
	if (flags & ~(uint32_t)MIG_STREAM_FLAGS_KNOWN) {
		ERR_SET(err, errlen, "the save stream's header has unknown flags 0x%x (a newer writer?)",
			flags & ~(uint32_t)MIG_STREAM_FLAGS_KNOWN);
		return -1;
	}
	if (get32(h + 20)) {
		ERR_SET(err, errlen, "the save stream's header has a nonzero reserved field (0x%x)",
			get32(h + 20));
		return -1;
	}
	r->flags = flags;
	return 0;
}

/* Room for a body of len bytes (len already within its type's bound). */
static int body_room(struct mig_reader *r, size_t len, char *err, size_t errlen)
{
	if (len <= r->body_cap)
		return 0;
	uint8_t *p = realloc(r->body, len);
	if (!p) {
		ERR_SET(err, errlen, "reading the save stream at byte %llu: no memory for a %zu-byte record",
			(unsigned long long)r->offset, len);
		return -1;
	}
	r->body = p;
	r->body_cap = len;
	return 0;
}

static int check_domain_body(const uint8_t *body, uint64_t at, char *err, size_t errlen)
{
	struct mig_domain d;
	char why[256];

	memcpy(&d, body, sizeof(d));       /* a buffer reader's body may sit unaligned */
	if (mig_domain_check(&d, why, sizeof(why)) == 0)
		return 0;
	ERR_SET(err, errlen, "the save stream's record at byte %llu (DOMAIN) is wrong: %s",
		(unsigned long long)at, why);
	return -1;
}

int mig_read_record(struct mig_reader *r, uint32_t *type, const uint8_t **body, size_t *len,
		    char *err, size_t errlen)
{
	uint8_t h[MIG_RECORD_HEADER_LEN];
	uint64_t at = r->offset;
	ssize_t got = read_upto(r, h, sizeof(h), err, errlen);

	if (got < 0)
		return -1;
	if (got == 0) {
		ERR_SET(err, errlen, "the save stream ends at byte %llu without an END record: truncated?",
			(unsigned long long)at);
		return -1;
	}
	if ((size_t)got < sizeof(h)) {
		ERR_SET(err, errlen, "the save stream ends at byte %llu, inside the header of a%s%s record: "
			"truncated?", (unsigned long long)r->offset, got >= 4 ? " " : "",
			got >= 4 ? mig_record_name(get32(h)) : "");
		return -1;
	}
	uint32_t t = get32(h), flags = get32(h + 4), sum = get32(h + 16), reserved = get32(h + 20);
	uint64_t blen = get64(h + 8);
	const struct mig_record_kind *k = record_kind(t);
	if (!k) {
		ERR_SET(err, errlen, "the save stream's record at byte %llu has an unknown type %u",
			(unsigned long long)at, t);
		return -1;
	}
	if (flags || reserved) {
		ERR_SET(err, errlen, "the save stream's record at byte %llu (%s) has nonzero %s (0x%x)",
			(unsigned long long)at, k->name, flags ? "flags" : "reserved field",
			flags ? flags : reserved);
		return -1;
	}
	if (blen > k->bound || (k->exact && blen != k->bound)) {
		ERR_SET(err, errlen, "the save stream's record at byte %llu (%s) is %llu bytes long; %s "
			"records are %s %zu bytes", (unsigned long long)at, k->name, (unsigned long long)blen,
			k->name, k->exact ? "exactly" : "at most", k->bound);
		return -1;
	}

	const uint8_t *data;
	if (r->fd < 0) {
		if (buffer_left(r) < blen) {
			r->offset = r->body_cap;
			ERR_SET(err, errlen, "the save stream ends at byte %llu, inside a %s record: truncated?",
				(unsigned long long)r->offset, k->name);
			return -1;
		}
		data = blen ? r->body + r->offset : NULL;
		r->offset += blen;
	} else {
		if (body_room(r, (size_t)blen, err, errlen) < 0)
			return -1;
		got = read_upto(r, r->body, (size_t)blen, err, errlen);
		if (got < 0)
			return -1;
		if ((uint64_t)got < blen) {
			ERR_SET(err, errlen, "the save stream ends at byte %llu, inside a %s record: truncated?",
				(unsigned long long)r->offset, k->name);
			return -1;
		}
		data = r->body;
	}
	if (!blen)
		data = (const uint8_t *)"";
	if (fnv32(FNV32_BASIS, data, (size_t)blen) != sum) {
		ERR_SET(err, errlen, "the save stream's record at byte %llu (%s) has a bad checksum: "
			"the file is corrupt", (unsigned long long)at, k->name);
		return -1;
	}
	if (t == MIG_REC_DOMAIN && check_domain_body(data, at, err, errlen) < 0)
		return -1;
	*type = t;
	*body = data;
	*len = (size_t)blen;
	return 0;
}

/* ---- Fixed bodies ---- */
int mig_domain_check(const struct mig_domain *d, char *err, size_t errlen)
{
	const uint64_t ram_max = DOMAIN_MAX_MEMORY_MB << 20;

	if (!memchr(d->name, '\0', sizeof(d->name))) {
		ERR_SET(err, errlen, "the domain's name is not NUL-terminated within %d bytes",
			MIG_NAME_MAX + 1);
		return -1;
	}
	if (!d->name[0]) {
		ERR_SET(err, errlen, "the domain has no name");
		return -1;
	}
	if (d->max_vcpus < 1 || d->max_vcpus > DOMAIN_MAX_VCPUS || d->vcpus < 1 ||
	    d->vcpus > d->max_vcpus) {
		ERR_SET(err, errlen, "domain %s has %u of %u vCPUs online (1 to %d made, at least one online)",
			d->name, d->vcpus, d->max_vcpus, DOMAIN_MAX_VCPUS);
		return -1;
	}
	if (!d->ram_bytes || d->ram_bytes % MIG_PAGE_SIZE || d->ram_bytes > ram_max) {
		ERR_SET(err, errlen, "domain %s has %llu bytes of RAM (whole pages, 1 to %llu MiB)", d->name,
			(unsigned long long)d->ram_bytes, (unsigned long long)DOMAIN_MAX_MEMORY_MB);
		return -1;
	}
	if (d->populated_bytes > d->ram_bytes || d->low_ram_bytes > d->ram_bytes ||
	    d->low_ram_bytes % MIG_PAGE_SIZE) {
		ERR_SET(err, errlen, "domain %s has %llu bytes populated and %llu below 4 GiB of %llu "
			"(whole pages, within its RAM)", d->name, (unsigned long long)d->populated_bytes,
			(unsigned long long)d->low_ram_bytes, (unsigned long long)d->ram_bytes);
		return -1;
	}
	return 0;
}

/* ---- PAGES batches ---- */
int mig_pages_walk(const uint8_t *body, size_t len, mig_page_fn fn, void *opaque, char *err,
		   size_t errlen)
{
	if (len < 8) {
		ERR_SET(err, errlen, "a PAGES record of %zu bytes is shorter than its 8-byte count", len);
		return -1;
	}
	uint32_t count = get32(body);
	if (count > MIG_PAGES_PER_BATCH) {
		ERR_SET(err, errlen, "a PAGES record has %u pages; a batch is at most %u", count,
			MIG_PAGES_PER_BATCH);
		return -1;
	}
	if (get32(body + 4)) {
		ERR_SET(err, errlen, "a PAGES record has a nonzero reserved field (0x%x)", get32(body + 4));
		return -1;
	}
	size_t index_end = 8 + 8 * (size_t)count;
	if (len < index_end) {
		ERR_SET(err, errlen, "a PAGES record of %zu bytes cannot hold the index of its %u pages",
			len, count);
		return -1;
	}
	/* The whole batch is checked before fn sees any of it: a bad batch changes nothing. */
	size_t data_pages = 0;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t kind = get64(body + 8 + 8 * (size_t)i) & ((1u << MIG_PAGE_KIND_BITS) - 1);
		if (kind > MIG_PAGE_ABSENT) {
			ERR_SET(err, errlen, "a PAGES record's entry %u has an unknown kind %llu", i,
				(unsigned long long)kind);
			return -1;
		}
		data_pages += kind == MIG_PAGE_DATA;
	}
	if (len != index_end + data_pages * MIG_PAGE_SIZE) {
		ERR_SET(err, errlen, "a PAGES record of %zu bytes with %zu data pages among its %u should be "
			"%zu bytes", len, data_pages, count, index_end + data_pages * MIG_PAGE_SIZE);
		return -1;
	}
	if (!fn)
		return 0;
	const uint8_t *data = body + index_end;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t entry = get64(body + 8 + 8 * (size_t)i);
		enum mig_page_kind kind = (enum mig_page_kind)(entry & ((1u << MIG_PAGE_KIND_BITS) - 1));
		int rc = fn(opaque, entry >> MIG_PAGE_KIND_BITS, kind, kind == MIG_PAGE_DATA ? data : NULL);
		if (kind == MIG_PAGE_DATA)
			data += MIG_PAGE_SIZE;
		if (rc)
			return rc;
	}
	return 0;
}
