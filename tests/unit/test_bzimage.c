/* The bzImage loader against real artefacts and real tools:
 *   - Debian's kernel exactly as packaged (scripts/debian-kernel --cached): an xz payload whose
 *     vmlinux the PVH ELF loader accepts, its entry checked against what `readelf -n` reads;
 *   - a small PVH ELF packed by each compressor's own CLI with the kernel Makefile's options, the
 *     size appended and a setup header wrapped around, unpacked byte for byte;
 *   - hostile images, each refused for its own reason (the message is asserted).
 * Images are handed over in mallocs of exactly their size, so under ASan a read past the end is
 * caught. */
#include <elf.h>
#include <glob.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "vmm/bzimage.h"
#include "vmm/pvh_loader.h"
#include "debian_kernel.h"
#include "unit.h"

#define ELF_ENTRY     0x100200u
#define SMALL_ELF     (300u << 10)    /* two lzop blocks */
#define BIG_ELF       (9u << 20)      /* two lz4 legacy blocks */

struct buf {
	uint8_t *p;
	size_t len;
};

static void skip(const char *name, const char *why)
{
	printf("skip - %s: %s\n", name, why);
	fflush(stdout);
}

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }
static void put32be(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static bool read_whole(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	struct stat st;

	*b = (struct buf){ 0 };
	if (!f)
		return false;
	if (fstat(fileno(f), &st) || !(b->p = malloc(st.st_size ? st.st_size : 1)) ||
	    fread(b->p, 1, st.st_size, f) != (size_t)st.st_size) {
		fclose(f);
		free(b->p);
		b->p = NULL;
		return false;
	}
	b->len = st.st_size;
	fclose(f);
	return true;
}

static bool write_whole(const char *path, const uint8_t *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(p, 1, len, f) == len;
	if (f && fclose(f))
		ok = false;
	return ok;
}

static bool have_tool(const char *tool)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

static bool temp_path(char *path, size_t len, const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(path, len, "%s/xenith-bzimage-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
	int fd = mkstemp(path);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* A PVH ELF64 of `size` bytes: one PT_LOAD at 1 MiB, the PHYS32_ENTRY note in a PT_NOTE, a
 * `hlt; jmp` loop at the entry, then text-like filler that compresses about as well as code. */
static struct buf tiny_elf(size_t size)
{
	struct buf b = { calloc(1, size), size };
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
		.e_entry = ELF_ENTRY, .e_phoff = sizeof(Elf64_Ehdr), .e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 2,
	};
	Elf64_Phdr ph[2] = {
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0, .p_vaddr = 0x100000,
		  .p_paddr = 0x100000, .p_filesz = size, .p_memsz = size + 4096, .p_align = 4096 },
		{ .p_type = PT_NOTE, .p_flags = PF_R, .p_offset = 0x100, .p_vaddr = 0x100100,
		  .p_paddr = 0x100100, .p_filesz = 20, .p_memsz = 20, .p_align = 4 },
	};
	static const char words[][8] = { "mov ", "rax, ", "push ", "call ", "0x1f, ", "ret\n", "xen_", "lea " };
	uint32_t seed = 12345;

	memcpy(b.p, &eh, sizeof(eh));
	memcpy(b.p + sizeof(eh), ph, sizeof(ph));
	put32(b.p + 0x100, 4);                 /* namesz */
	put32(b.p + 0x104, 4);                 /* descsz */
	put32(b.p + 0x108, 18);                /* XEN_ELFNOTE_PHYS32_ENTRY */
	memcpy(b.p + 0x10c, "Xen", 4);
	put32(b.p + 0x110, ELF_ENTRY);
	memcpy(b.p + 0x200, "\xf4\xeb\xfd", 3);
	for (size_t i = 0x300; i < size;) {
		seed = seed * 1103515245 + 12345;
		const char *w = words[(seed >> 16) % 8];
		for (size_t k = 0; w[k] && i < size; k++)
			b.p[i++] = (uint8_t)w[k];
		if (i < size && (seed >> 8) % 5 == 0)
			b.p[i++] = (uint8_t)(seed >> 20);
	}
	return b;
}

/* The setup header around a compressed stream, as the kernel build lays it out. */
struct layout {
	uint8_t setup_sects;      /* as stored: 0 means 4 */
	uint16_t version;
	uint32_t payload_offset;  /* from the protected-mode code */
};

static const struct layout debian_like = { 39, 0x020f, 0x2cc };

static struct buf wrap(const uint8_t *stream, size_t stream_len, uint32_t announced,
		       const struct layout *l)
{
	size_t pm = ((l->setup_sects ? l->setup_sects : 4) + 1) * 512u;
	size_t tail = 64;                       /* the kernel has code after the payload */
	struct buf b;

	b.len = pm + l->payload_offset + stream_len + 4 + tail;
	b.p = malloc(b.len);
	for (size_t i = 0; i < b.len; i++)
		b.p[i] = (uint8_t)(i * 13 + 7);
	b.p[0x1f1] = l->setup_sects;
	put16(b.p + 0x1fe, 0xaa55);
	memcpy(b.p + 0x202, "HdrS", 4);
	put16(b.p + 0x206, l->version);
	put32(b.p + 0x248, l->payload_offset);
	put32(b.p + 0x24c, (uint32_t)stream_len + 4);
	memcpy(b.p + pm + l->payload_offset, stream, stream_len);
	put32(b.p + pm + l->payload_offset + stream_len, announced);
	return b;
}

/* --- 1. Debian's kernel --- */

struct debian {
	struct buf image;
};

static bool debian_kernel(struct debian *d, char *why, size_t len)
{
	char path[PATH_MAX];

	if (!debian_kernel_bzimage(path, sizeof(path), why, len))
		return false;
	bool ok = read_whole(path, &d->image);
	if (!ok)
		snprintf(why, len, "cannot read %s", path);
	return ok;
}

/* The PHYS32_ENTRY note as `readelf -n` prints it: "(0x00000012)" on the owner line, then
 * "description data: b0 b1 b2 b3 ...". */
static bool readelf_entry(const char *path, uint32_t *entry)
{
	char cmd[PATH_MAX + 64], line[512];
	bool found = false, next = false;

	snprintf(cmd, sizeof(cmd), "readelf -n '%s' 2>/dev/null", path);
	FILE *p = popen(cmd, "r");
	if (!p)
		return false;
	while (fgets(line, sizeof(line), p)) {
		unsigned int b[4];
		const char *data = strstr(line, "description data:");
		if (next && data && sscanf(data, "description data: %x %x %x %x", &b[0], &b[1], &b[2],
					   &b[3]) == 4) {
			*entry = b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
			found = true;
		}
		next = strstr(line, "Xen") && strstr(line, "(0x00000012)");
	}
	return pclose(p) == 0 && found;
}

static void test_debian(struct unit *u, const void *arg)
{
	const struct debian *d = arg;
	const uint8_t *img = d->image.p;
	uint8_t *elf = NULL;
	size_t elf_size = 0;
	const char *comp = NULL;
	char why[512] = "";

	/* The announced size, read here straight from the header fields. */
	CHECK(d->image.len > 0x250, "%zu bytes: too short for a bzImage", d->image.len);
	if (d->image.len <= 0x250)
		return;
	size_t pm = (img[0x1f1] + 1) * 512u;
	uint64_t end = (uint64_t)pm + get32(img + 0x248) + get32(img + 0x24c);
	CHECK(end >= pm + 4 && end <= d->image.len, "payload ends at %#llx, outside the file",
	      (unsigned long long)end);
	if (end < pm + 4 || end > d->image.len)
		return;
	uint32_t announced = get32(img + end - 4);

	int rc = bzimage_unpack(img, d->image.len, &elf, &elf_size, &comp, why, sizeof(why));
	CHECK(rc == 1, "bzimage_unpack gave %d: %s", rc, why);
	if (rc != 1)
		return;
	CHECK_STR(comp, "xz");
	CHECK_INT(elf_size, announced);
	CHECK(elf_size >= sizeof(Elf64_Ehdr) && elf[EI_CLASS] == ELFCLASS64 &&
	      get32(elf + 16) >> 16 == EM_X86_64, "not an ELF64 for x86-64");

	uint32_t entry = 0, witness = 0;
	uint64_t highest = 0;
	rc = pvh_elf_parse(elf, elf_size, NULL, &entry, &highest, why, sizeof(why));
	CHECK(rc == 0, "pvh_elf_parse refused the vmlinux: %s", why);

	char path[PATH_MAX];
	if (!have_tool("readelf")) {
		printf("# readelf not found: entry %#x not cross-checked\n", entry);
	} else if (!temp_path(path, sizeof(path), "vmlinux")) {
		CHECK(false, "cannot create a temp file");
	} else {
		CHECK(write_whole(path, elf, elf_size), "cannot write %s", path);
		CHECK(readelf_entry(path, &witness), "readelf -n shows no XEN_ELFNOTE_PHYS32_ENTRY");
		CHECK(entry == witness && entry != 0, "PVH entry %#x, readelf -n says %#x", entry, witness);
		unlink(path);
	}
	free(elf);
}

/* --- 2. every compressor, through its own CLI --- */

struct packer {
	const char *name;          /* the case */
	const char *tool;
	const char *args;          /* as the kernel's Makefile calls it */
	const char *compressor;    /* what bzimage_unpack must say */
	size_t elf_size;
	struct layout layout;
};

static const struct packer packers[] = {
	{ "bzimage-gzip", "gzip", "-n -9", "gzip", SMALL_ELF, { 0, 0x0208, 0 } },
	{ "bzimage-xz", "xz", "--check=crc32 --x86 --lzma2=dict=32MiB", "xz", SMALL_ELF, { 39, 0x020f, 0x2cc } },
	{ "bzimage-lzma", "lzma", "-9", "lzma", SMALL_ELF, { 27, 0x020c, 0x3b0 } },
	{ "bzimage-bzip2", "bzip2", "-9", "bzip2", SMALL_ELF, { 30, 0x020d, 0x10 } },
	{ "bzimage-lzo", "lzop", "-9", "lzo", SMALL_ELF, { 31, 0x020f, 0x200 } },
	{ "bzimage-lzo-crc32", "lzop", "-9 --crc32", "lzo", SMALL_ELF, { 31, 0x020f, 0x200 } },
	{ "bzimage-lz4", "lz4", "-l -9", "lz4", BIG_ELF, { 35, 0x020f, 0x2cc } },
	{ "bzimage-zstd", "zstd", "-22 --ultra -q", "zstd", SMALL_ELF, { 39, 0x020f, 0x2cc } },
};

static void test_packer(struct unit *u, const void *arg)
{
	const struct packer *pk = arg;
	char in[PATH_MAX], out[PATH_MAX], cmd[3 * PATH_MAX];
	struct buf elf = tiny_elf(pk->elf_size), packed = { 0 }, img = { 0 };
	uint8_t *got = NULL;
	size_t got_size = 0;
	const char *comp = NULL;
	char why[512] = "";
	uint32_t entry = 0;
	uint64_t highest = 0;

	CHECK(pvh_elf_parse(elf.p, elf.len, NULL, &entry, &highest, why, sizeof(why)) == 0 &&
	      entry == ELF_ENTRY, "the test's own ELF is refused: %s", why);
	if (!temp_path(in, sizeof(in), "elf") || !temp_path(out, sizeof(out), "packed")) {
		CHECK(false, "cannot create temp files");
		free(elf.p);
		return;
	}
	CHECK(write_whole(in, elf.p, elf.len), "cannot write %s", in);
	snprintf(cmd, sizeof(cmd), "%s %s -c < '%s' > '%s'", pk->tool, pk->args, in, out);
	CHECK(system(cmd) == 0, "%s failed", cmd);
	CHECK(read_whole(out, &packed), "cannot read %s", out);
	unlink(in);
	unlink(out);
	if (u->case_failures)
		goto out;

	img = wrap(packed.p, packed.len, (uint32_t)elf.len, &pk->layout);
	int rc = bzimage_unpack(img.p, img.len, &got, &got_size, &comp, why, sizeof(why));
	CHECK(rc == 1, "bzimage_unpack gave %d: %s", rc, why);
	CHECK_STR(comp, pk->compressor);
	CHECK(got_size == elf.len && got && !memcmp(got, elf.p, elf.len),
	      "%zu bytes back (of %zu), or different ones", got_size, elf.len);
	free(got);
	free(img.p);

	/* The same stream cut in half: refused, whatever the format. */
	img = wrap(packed.p, packed.len / 2, (uint32_t)elf.len, &pk->layout);
	rc = bzimage_unpack(img.p, img.len, &got, &got_size, &comp, why, sizeof(why));
	CHECK(rc == -1 && got == NULL && why[0], "half the %s stream: rc %d", pk->tool, rc);
out:
	free(img.p);
	free(packed.p);
	free(elf.p);
}

/* --- 3. hostile images --- */

/* A gzip stream made here with zlib, so these cases need no tool. */
static struct buf gzip_of(const uint8_t *p, size_t len)
{
	z_stream z = { 0 };
	struct buf b = { malloc(compressBound(len) + 64), 0 };

	deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)len;
	z.next_out = b.p;
	z.avail_out = (uInt)(compressBound(len) + 64);
	deflate(&z, Z_FINISH);
	b.len = z.total_out;
	deflateEnd(&z);
	return b;
}

/* lzop's container made by hand, with stored blocks: [header][dst][src][adler32 D][data]...[0]. */
struct lzop_spec {
	uint32_t flags;
	uint32_t block;            /* bytes per block */
	bool bad_header_sum, bad_block_sum, no_end;
	uint32_t src_len_delta;    /* added to a block's src_len */
};

static struct buf lzop_of(const uint8_t *p, size_t len, const struct lzop_spec *s)
{
	struct buf b = { malloc(len + 64 + (len / s->block + 2) * 12), 0 };
	static const uint8_t magic[9] = { 0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a };
	uint8_t *h = b.p;

	memcpy(h, magic, 9);
	uint8_t *q = h + 9;
	put32be(q, 0x104020a0); q += 4;                    /* version, library version */
	q[0] = 0x09; q[1] = 0x40; q[2] = 3; q[3] = 9; q += 4; /* needed version, method, level */
	put32be(q, s->flags); q += 4;
	if (s->flags & 0x800) {
		put32be(q, 1); q += 4;                     /* filter */
	}
	memset(q, 0, 12); q += 12;                         /* mode, mtime */
	*q++ = 0;                                          /* name length */
	put32be(q, (uint32_t)adler32(1, h + 9, (uInt)(q - h - 9)) ^ (s->bad_header_sum ? 1 : 0));
	q += 4;
	for (size_t off = 0; off < len; off += s->block) {
		uint32_t n = (uint32_t)(len - off < s->block ? len - off : s->block);
		put32be(q, n); q += 4;
		put32be(q, n + s->src_len_delta); q += 4;
		put32be(q, (uint32_t)adler32(1, p + off, n) ^ (s->bad_block_sum ? 1 : 0)); q += 4;
		memcpy(q, p + off, n); q += n;
	}
	if (!s->no_end) {
		put32be(q, 0); q += 4;
	}
	b.len = (size_t)(q - b.p);
	return b;
}

struct hostile {
	const char *name;
	int (*build)(struct buf *img, const struct buf *elf);   /* fills img; returns the wanted rc */
	const char *expect;        /* in `why` */
};

static struct buf gz_image(const struct buf *elf, uint32_t announced, const struct layout *l)
{
	struct buf gz = gzip_of(elf->p, elf->len);
	struct buf img = wrap(gz.p, gz.len, announced, l);
	free(gz.p);
	return img;
}

static int h_truncated_header(struct buf *img, const struct buf *elf)
{
	*img = gz_image(elf, (uint32_t)elf->len, &debian_like);
	img->len = 0x230;
	return -1;
}

static int h_old_protocol(struct buf *img, const struct buf *elf)
{
	struct layout l = debian_like;
	l.version = 0x0207;
	*img = gz_image(elf, (uint32_t)elf->len, &l);
	return -1;
}

static int h_setup_past_end(struct buf *img, const struct buf *elf)
{
	*img = gz_image(elf, (uint32_t)elf->len, &debian_like);
	img->len = 0x2000;                     /* setup_sects 39: the code starts at 0x5000 */
	return -1;
}

static int h_offset_outside(struct buf *img, const struct buf *elf)
{
	*img = gz_image(elf, (uint32_t)elf->len, &debian_like);
	put32(img->p + 0x248, 0xfffffff0);
	return -1;
}

static int h_length_outside(struct buf *img, const struct buf *elf)
{
	*img = gz_image(elf, (uint32_t)elf->len, &debian_like);
	put32(img->p + 0x24c, get32(img->p + 0x24c) + 65);   /* past the 64-byte tail */
	return -1;
}

static int h_length_short(struct buf *img, const struct buf *elf)
{
	*img = gz_image(elf, (uint32_t)elf->len, &debian_like);
	put32(img->p + 0x24c, 3);
	return -1;
}

static int h_unknown_magic(struct buf *img, const struct buf *elf)
{
	*img = gz_image(elf, (uint32_t)elf->len, &debian_like);
	img->p[40 * 512 + debian_like.payload_offset] = 0x1e;
	return -1;
}

static int h_over_bound(struct buf *img, const struct buf *elf)
{
	*img = gz_image(elf, 600u << 20, &debian_like);
	return -1;
}

/* Where wrap() put the stream of a debian_like image, and its length. */
static uint8_t *stream_of(const struct buf *img, size_t *len)
{
	*len = get32(img->p + 0x24c) - 4;
	return img->p + 40 * 512 + debian_like.payload_offset;
}

static int h_corrupt_data(struct buf *img, const struct buf *elf)
{
	size_t len;
	*img = gz_image(elf, (uint32_t)elf->len, &debian_like);
	/* The first deflate block (after gzip's 10-byte header) made of reserved type 3. */
	stream_of(img, &len)[10] |= 0x06;
	return -1;
}

static int h_corrupt_crc(struct buf *img, const struct buf *elf)
{
	size_t len;
	*img = gz_image(elf, (uint32_t)elf->len, &debian_like);
	stream_of(img, &len)[len - 8] ^= 1;   /* the gzip trailer's CRC-32 */
	return -1;
}

static int h_truncated_stream(struct buf *img, const struct buf *elf)
{
	struct buf gz = gzip_of(elf->p, elf->len);
	*img = wrap(gz.p, gz.len - 100, (uint32_t)elf->len, &debian_like);
	free(gz.p);
	return -1;
}

static int h_size_smaller(struct buf *img, const struct buf *elf)
{
	*img = gz_image(elf, (uint32_t)elf->len / 2, &debian_like);
	return -1;
}

static int h_size_one_less(struct buf *img, const struct buf *elf)
{
	*img = gz_image(elf, (uint32_t)elf->len - 1, &debian_like);
	return -1;
}

static int h_size_larger(struct buf *img, const struct buf *elf)
{
	*img = gz_image(elf, (uint32_t)elf->len + 1, &debian_like);
	return -1;
}

static int h_not_elf(struct buf *img, const struct buf *elf)
{
	struct buf text = { malloc(elf->len), elf->len };
	memcpy(text.p, elf->p, elf->len);
	text.p[0] = 'M';
	*img = gz_image(&text, (uint32_t)text.len, &debian_like);
	free(text.p);
	return -1;
}

static int h_plain_elf(struct buf *img, const struct buf *elf)
{
	*img = (struct buf){ malloc(elf->len), elf->len };
	memcpy(img->p, elf->p, elf->len);
	return 0;
}

static int h_short_file(struct buf *img, const struct buf *elf)
{
	*img = (struct buf){ malloc(0x201), 0x201 };
	memcpy(img->p, elf->p, 0x201);
	return 0;
}

static int lzop_image(struct buf *img, const struct buf *elf, const struct lzop_spec *s)
{
	struct buf lz = lzop_of(elf->p, elf->len, s);
	*img = wrap(lz.p, lz.len, (uint32_t)elf->len, &debian_like);
	free(lz.p);
	return -1;
}

static int h_lzop_stored(struct buf *img, const struct buf *elf)
{
	lzop_image(img, elf, &(struct lzop_spec){ .flags = 0x03000001, .block = 100000 });
	return 1;
}

static int h_lzop_header_sum(struct buf *img, const struct buf *elf)
{
	return lzop_image(img, elf, &(struct lzop_spec){ .flags = 1, .block = 100000, .bad_header_sum = true });
}

static int h_lzop_block_sum(struct buf *img, const struct buf *elf)
{
	return lzop_image(img, elf, &(struct lzop_spec){ .flags = 1, .block = 100000, .bad_block_sum = true });
}

static int h_lzop_big_block(struct buf *img, const struct buf *elf)
{
	return lzop_image(img, elf, &(struct lzop_spec){ .flags = 1, .block = 300000 });
}

static int h_lzop_src_len(struct buf *img, const struct buf *elf)
{
	return lzop_image(img, elf, &(struct lzop_spec){ .flags = 1, .block = 100000, .src_len_delta = 1 });
}

static int h_lzop_no_end(struct buf *img, const struct buf *elf)
{
	return lzop_image(img, elf, &(struct lzop_spec){ .flags = 1, .block = 100000, .no_end = true });
}

static int h_lzop_filter(struct buf *img, const struct buf *elf)
{
	return lzop_image(img, elf, &(struct lzop_spec){ .flags = 0x801, .block = 100000 });
}

static int h_lz4_block_size(struct buf *img, const struct buf *elf)
{
	uint8_t stream[12] = { 0x02, 0x21, 0x4c, 0x18 };
	(void)elf;
	put32(stream + 4, 0x7fffffff);
	*img = wrap(stream, sizeof(stream), 4096, &debian_like);
	return -1;
}

static int h_lz4_truncated(struct buf *img, const struct buf *elf)
{
	uint8_t stream[12] = { 0x02, 0x21, 0x4c, 0x18 };
	(void)elf;
	put32(stream + 4, 100);
	*img = wrap(stream, sizeof(stream), 4096, &debian_like);
	return -1;
}

static int h_lzma_dictionary(struct buf *img, const struct buf *elf)
{
	/* .lzma header: properties 0x5d, a 4 GiB - 16 MiB dictionary, unknown size; then data. */
	uint8_t stream[32] = { 0x5d, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	(void)elf;
	*img = wrap(stream, sizeof(stream), 4096, &debian_like);
	return -1;
}

static const struct hostile hostiles[] = {
	{ "bzimage-refuses-truncated-header", h_truncated_header, "setup header truncated" },
	{ "bzimage-refuses-old-protocol", h_old_protocol, "protocol 2.07 predates 2.08" },
	{ "bzimage-refuses-setup-past-end", h_setup_past_end, "past the end of the 8192-byte file" },
	{ "bzimage-refuses-payload-offset-outside", h_offset_outside, "lies outside the" },
	{ "bzimage-refuses-payload-length-outside", h_length_outside, "lies outside the" },
	{ "bzimage-refuses-payload-too-short", h_length_short, "cannot hold the 4-byte" },
	{ "bzimage-refuses-unknown-compressor", h_unknown_magic, "unknown compressor magic" },
	{ "bzimage-refuses-size-over-bound", h_over_bound, "over the 512 MiB limit" },
	{ "bzimage-refuses-corrupt-stream", h_corrupt_data, "gzip stream is corrupt: invalid block type" },
	{ "bzimage-refuses-bad-stream-checksum", h_corrupt_crc, "gzip stream is corrupt: incorrect data check" },
	{ "bzimage-refuses-truncated-stream", h_truncated_stream, "gzip stream is truncated" },
	{ "bzimage-refuses-size-append-too-small", h_size_smaller, "decompresses to more than the 153600 bytes size_append announces" },
	{ "bzimage-refuses-size-append-one-short", h_size_one_less, "decompresses to 307200 bytes but size_append announces 307199" },
	{ "bzimage-refuses-size-append-too-large", h_size_larger, "decompresses to 307200 bytes but size_append announces 307201" },
	{ "bzimage-refuses-non-elf-payload", h_not_elf, "bzImage payload is not an ELF vmlinux" },
	{ "bzimage-leaves-elf-alone", h_plain_elf, NULL },
	{ "bzimage-leaves-short-file-alone", h_short_file, NULL },
	{ "bzimage-lzop-stored-blocks", h_lzop_stored, NULL },
	{ "bzimage-refuses-lzop-header-checksum", h_lzop_header_sum, "lzop header checksum" },
	{ "bzimage-refuses-lzop-block-checksum", h_lzop_block_sum, "Adler-32 of the decompressed data" },
	{ "bzimage-refuses-lzop-block-over-limit", h_lzop_big_block, "over the 262144-byte limit" },
	{ "bzimage-refuses-lzop-src-over-dst", h_lzop_src_len, "compressed bytes for" },
	{ "bzimage-refuses-lzop-missing-end", h_lzop_no_end, "without its end marker" },
	{ "bzimage-refuses-lzop-filter", h_lzop_filter, "lzop filter 1 is not supported" },
	{ "bzimage-refuses-lzma-huge-dictionary", h_lzma_dictionary, "MiB limit" },
	{ "bzimage-refuses-lz4-block-size", h_lz4_block_size, "impossible size" },
	{ "bzimage-refuses-lz4-truncated-block", h_lz4_truncated, "lz4 stream is truncated" },
};

static void test_hostile(struct unit *u, const void *arg)
{
	const struct hostile *h = arg;
	struct buf elf = tiny_elf(SMALL_ELF), img;
	uint8_t *got = (uint8_t *)&got;            /* must come back NULL unless accepted */
	size_t got_size = 1;
	const char *comp = NULL;
	char why[512] = "";

	int want = h->build(&img, &elf);
	/* Exactly the image's size, so ASan sees any read past its end. */
	uint8_t *exact = malloc(img.len ? img.len : 1);
	memcpy(exact, img.p, img.len);
	int rc = bzimage_unpack(exact, img.len, &got, &got_size, &comp, why, sizeof(why));
	CHECK(rc == want, "rc %d, expected %d (%s)", rc, want, why);
	if (rc == 1) {
		CHECK(got_size == elf.len && !memcmp(got, elf.p, elf.len), "different bytes back");
		free(got);
	} else {
		CHECK(got == NULL && got_size == 0, "output left set on rc %d", rc);
	}
	if (h->expect)
		CHECK(strstr(why, h->expect), "why is \"%s\", expected it to say \"%s\"", why, h->expect);
	free(exact);
	free(img.p);
	free(elf.p);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	struct debian d = { 0 };
	char why[PATH_MAX + 128];

	if (debian_kernel(&d, why, sizeof(why)))
		unit_case(&u, "bzimage-debian-kernel", test_debian, &d);
	else
		skip("bzimage-debian-kernel", why);
	free(d.image.p);

	for (size_t i = 0; i < sizeof(packers) / sizeof(packers[0]); i++) {
		if (!have_tool(packers[i].tool)) {
			snprintf(why, sizeof(why), "%s not installed", packers[i].tool);
			skip(packers[i].name, why);
			continue;
		}
		unit_case(&u, packers[i].name, test_packer, &packers[i]);
	}
	for (size_t i = 0; i < sizeof(hostiles) / sizeof(hostiles[0]); i++)
		unit_case(&u, hostiles[i].name, test_hostile, &hostiles[i]);
	return unit_finish(&u);
}
