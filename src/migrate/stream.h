/* The save and migration stream (docs/migration.md): one format for `xl save` files and for the
 * pipe `xl migrate` streams over, written by xl (header and config) and then by the VMM (the
 * domain), read back the same way by `xl restore` / `xl migrate-receive` and the VMM they start.
 *
 *   header   "XENITHSV"  u32 version (1)  u32 header_len (32)  u32 flags  u32 reserved (0)
 *            u64 created (Unix seconds, informative)
 *   records  u32 type  u32 flags (0)  u64 body_len  u32 body_sum  u32 reserved (0)  body
 *            (body_sum: FNV-1a 32 over the body; no padding between records)
 *
 * Integers are little-endian.  A record body is at most MIG_RECORD_MAX bytes, and each type has
 * its own bound (mig_record_bound).  Readers never read ahead: xl reads the header and the CONFIG
 * record off a pipe and hands the same descriptor to the VMM, which reads the rest.
 *
 * A stream ends with MIG_REC_END; anything after it is not read.  A reader refuses, with the byte
 * offset and what is wrong: a short read (truncated), a bad magic, another version, a header_len
 * other than 32, unknown header flags, an unknown record type, nonzero record flags or reserved
 * fields, a body longer than its type's bound, a bad sum. */
#ifndef XENITH_MIGRATE_STREAM_H
#define XENITH_MIGRATE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIG_MAGIC "XENITHSV"
#define MIG_VERSION 1
#define MIG_HEADER_LEN 32
#define MIG_RECORD_HEADER_LEN 24
#define MIG_RECORD_MAX (8u << 20)          /* a PAGES batch of 1024 pages and its index fits */
#define MIG_PAGE_SIZE 4096u
#define MIG_PAGES_PER_BATCH 1024u

/* Header flags: what the stream is. */
enum mig_stream_flags {
	MIG_STREAM_LIVE = 1u << 0,         /* pre-copy rounds: PAGES may repeat a page, the last wins */
	MIG_STREAM_DEBUG = 1u << 1,        /* a DIGEST record precedes END */
	MIG_STREAM_FLAGS_KNOWN = MIG_STREAM_LIVE | MIG_STREAM_DEBUG,
};

/* Record types, in the order a stream carries them (docs/migration.md, "Records"). */
enum mig_record_type {
	MIG_REC_CONFIG = 1,    /* xl: the domain's xl.cfg text (what `xl create` would read) */
	MIG_REC_DOMAIN = 2,    /* VMM: RAM layout, vCPU counts, uuid, name (struct mig_domain) */
	MIG_REC_PAGES = 3,     /* VMM: a batch of guest pages (mig_pages_encode) */
	MIG_REC_ROUND = 4,     /* VMM: a pre-copy round ended (struct mig_round); informative */
	MIG_REC_VCPU = 5,      /* VMM: one vCPU's KVM state (vmm/vcpu_state.h) */
	MIG_REC_XEN = 6,       /* VMM: the Xen state that survives a suspend (xen/xen_record.h) */
	MIG_REC_DEVICES = 7,   /* VMM: the emulated devices' stream (hw/device.h devices_save) */
	MIG_REC_PV_DEVICE = 8, /* VMM: one PV backend's record (backends/pv_backend.h) */
	MIG_REC_DIGEST = 9,    /* VMM, --debug: a digest of guest RAM after the last page (struct mig_digest) */
	MIG_REC_END = 10,      /* empty: the stream is whole */
	MIG_REC_TYPES
};

/* ---- Writing ---- */
struct mig_writer {
	int fd;
	uint64_t offset;           /* bytes written so far (header included) */
	/* Bytes of page data written; the pre-copy's progress line shows it. */
	uint64_t page_bytes;
};

void mig_writer_init(struct mig_writer *w, int fd);
/* Both return 0, or -1 with err ("writing the save stream at byte N: Broken pipe"). */
int mig_write_header(struct mig_writer *w, uint32_t flags, char *err, size_t errlen);
int mig_write_record(struct mig_writer *w, uint32_t type, const void *body, size_t len, char *err,
		     size_t errlen);
/* A record whose body is several pieces (a PAGES batch: its index, then the pages in place). */
struct mig_piece { const void *data; size_t len; };
int mig_write_record_pieces(struct mig_writer *w, uint32_t type, const struct mig_piece *pieces,
			    unsigned int n, char *err, size_t errlen);

/* ---- Reading ---- */
struct mig_reader {
	int fd;
	uint64_t offset;           /* bytes consumed so far */
	uint32_t flags;            /* the header's */
	uint8_t *body;             /* the last record's body, owned by the reader */
	size_t body_cap;
	/* A buffer reader (fd -1) has no body of its own: body and body_cap are the whole buffer,
	 * not owned, and a record's body points into it. */
};

void mig_reader_init(struct mig_reader *r, int fd);
void mig_reader_free(struct mig_reader *r);
int mig_read_header(struct mig_reader *r, char *err, size_t errlen);
/* The next record: its type and body (valid until the next call).  0, or -1 with err naming the
 * offset and the fault ("the save stream ends at byte 4128, inside a PAGES record: truncated?"). */
int mig_read_record(struct mig_reader *r, uint32_t *type, const uint8_t **body, size_t *len,
		    char *err, size_t errlen);
/* The same from a buffer instead of a descriptor (fuzzing, tests): `mig_reader_init_buffer`. */
void mig_reader_init_buffer(struct mig_reader *r, const uint8_t *data, size_t len);

const char *mig_record_name(uint32_t type);   /* "PAGES", or "unknown" */
/* The largest body a type may have (DOMAIN, ROUND, DIGEST: exactly that size); 0: unknown, or END
 * (always empty). */
size_t mig_record_bound(uint32_t type);

/* ---- Record bodies with a fixed layout ---- */
#define MIG_NAME_MAX 64

/* MIG_REC_DOMAIN: what the target must build before pages can land. */
struct mig_domain {
	uint64_t ram_bytes;        /* the memfd's RAM (maxmem) */
	uint64_t populated_bytes;  /* of which populated at build (memory) */
	uint64_t low_ram_bytes;    /* mapped at 0, the rest at 4 GiB */
	uint32_t vcpus, max_vcpus; /* online at save, made */
	uint8_t uuid[16];
	char name[MIG_NAME_MAX + 1];
	uint8_t pad[7];
};

/* A DOMAIN body's own sanity (the reader calls it on every DOMAIN record): the name NUL-terminated
 * within MIG_NAME_MAX + 1 bytes and not empty, 1 <= vcpus <= max_vcpus <= DOMAIN_MAX_VCPUS, RAM
 * whole pages, within DOMAIN_MAX_MEMORY_MB, and populated and low RAM within it.  0, or -1 with err. */
int mig_domain_check(const struct mig_domain *d, char *err, size_t errlen);

/* MIG_REC_ROUND */
struct mig_round {
	uint32_t round;            /* 0: the first full pass */
	uint32_t reserved;
	uint64_t pages_sent;       /* in this round */
	uint64_t pages_dirty;      /* left dirty at its end */
	uint64_t elapsed_us;       /* the round's own */
};

/* MIG_REC_DIGEST: SHA-256 is not needed, only agreement: FNV-1a 64 over each page in memfd order,
 * combined (mig_digest_ram). */
struct mig_digest {
	uint64_t pages;
	uint64_t digest;
};

/* ---- PAGES batches ----
 * body: u32 count  u32 reserved (0)  u64 entry[count]  then 4096 bytes for each entry whose kind is
 * MIG_PAGE_DATA, in entry order.  entry = page index (in memfd order: RAM, then the extra pages) << 4
 * | kind. */
enum mig_page_kind {
	MIG_PAGE_DATA = 0,         /* contents follow */
	MIG_PAGE_ZERO = 1,         /* all zeros: the target zeroes it (or leaves a fresh page) */
	MIG_PAGE_ABSENT = 2,       /* given back by the guest (ballooned): the target punches it */
};
#define MIG_PAGE_KIND_BITS 4

/* Walks a PAGES body: checks count against len exactly and every kind; calls fn for each entry
 * (data NULL unless MIG_PAGE_DATA) once the whole batch passed; fn NULL only checks.  Stops at
 * fn's nonzero return and returns it; 0, or -1 with err. */
typedef int (*mig_page_fn)(void *opaque, uint64_t index, enum mig_page_kind kind, const uint8_t *data);
int mig_pages_walk(const uint8_t *body, size_t len, mig_page_fn fn, void *opaque, char *err,
		   size_t errlen);

/* FNV-1a 64 digest of `pages` pages at base (the DIGEST record's). */
uint64_t mig_digest_ram(const uint8_t *base, uint64_t pages);

#endif
