/* The test guest's reading of a Multiboot2 loader's boot information (guest/multiboot2.c), compiled
 * for the host: well-formed information as GRUB writes it becomes a start_info, and malformed
 * information (sizes past the end, no end tag, odd entry sizes, too many entries, an unterminated
 * or long command line) is refused or cut, never read beyond.  The guest takes a 32-bit physical
 * address, so the information is built in a mapping below 4 GiB. */
#include <stdint.h>
#include <sys/mman.h>
#include "../../guest/multiboot2.c"
#include "unit.h"

#define MBI_AT ((void *)0x3f000000)
#define MBI_MAP (1u << 21)              /* room for MB2_INFO_MAX and a page beyond */

struct mbi {
	uint8_t *base;
	uint32_t len;                   /* what was built so far */
};

static void put32(struct mbi *m, uint32_t v)
{
	memcpy(m->base + m->len, &v, 4);
	m->len += 4;
}

static void put64(struct mbi *m, uint64_t v)
{
	memcpy(m->base + m->len, &v, 8);
	m->len += 8;
}

static void align8(struct mbi *m)
{
	while (m->len % 8)
		m->base[m->len++] = 0;
}

static void begin(struct mbi *m)
{
	memset(m->base, 0xa5, 1u << 16);
	m->len = 0;
	put32(m, 0);                    /* total_size, set by end() */
	put32(m, 0);
}

static void cmdline_tag(struct mbi *m, const char *s, size_t len, bool nul)
{
	put32(m, 1);
	put32(m, (uint32_t)(8 + len + nul));
	memcpy(m->base + m->len, s, len);
	m->len += (uint32_t)len;
	if (nul)
		m->base[m->len++] = 0;
	align8(m);
}

static void mmap_tag(struct mbi *m, uint32_t n, uint32_t entry_size)
{
	put32(m, 6);
	put32(m, 16 + n * entry_size);
	put32(m, entry_size);
	put32(m, 0);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t at = m->len;
		put64(m, (uint64_t)i << 20);
		put64(m, 1u << 20);
		put32(m, i % 5 + 1);
		put32(m, 0);
		while (m->len < at + entry_size)
			m->base[m->len++] = 0xee;
	}
	align8(m);
}

static void end(struct mbi *m, bool with_end_tag)
{
	if (with_end_tag) {
		put32(m, 0);
		put32(m, 8);
	}
	memcpy(m->base, &m->len, 4);
}

static uint32_t paddr(const struct mbi *m)
{
	return (uint32_t)(uintptr_t)m->base;
}

struct ctx {
	struct mbi m;
	struct mb2_boot boot;
	char why[WHY_SIZE];
};

static void test_grub_like(struct unit *u, const void *arg)
{
	struct ctx *c = (struct ctx *)arg;
	const char *line = "test=hello menu=second";

	begin(&c->m);
	cmdline_tag(&c->m, line, strlen(line), true);
	put32(&c->m, 2);                /* a boot loader name, skipped */
	put32(&c->m, 8 + 5);
	memcpy(c->m.base + c->m.len, "GRUB", 5);
	c->m.len += 5;
	align8(&c->m);
	mmap_tag(&c->m, 6, 24);
	end(&c->m, true);
	CHECK(multiboot2_read(paddr(&c->m), &c->boot, c->why) == 0, "refused: %s", c->why);
	const struct hvm_start_info *si = &c->boot.start_info;
	CHECK(si->magic == XEN_HVM_START_MAGIC_VALUE && si->version == 1, "magic %#x version %u", si->magic, si->version);
	CHECK(si->memmap_entries == 6, "%u entries", si->memmap_entries);
	CHECK_STR((const char *)(uintptr_t)si->cmdline_paddr, line);
	const struct hvm_memmap_table_entry *e = (const void *)(uintptr_t)si->memmap_paddr;
	CHECK(e == c->boot.memmap, "the memory map is not the boot's own copy");
	CHECK(e[3].addr == 3u << 20 && e[3].size == 1u << 20 && e[3].type == 4 && e[3].reserved == 0,
	      "entry 3: %#llx %#llx type %u", (unsigned long long)e[3].addr, (unsigned long long)e[3].size, e[3].type);
	/* The loader's memory may be reused afterwards: nothing points into it. */
	memset(c->m.base, 0, c->m.len);
	CHECK_STR(c->boot.cmdline, line);
	CHECK(c->boot.memmap[5].type == 1, "entry 5 type %u after the information was wiped", c->boot.memmap[5].type);
}

static void test_wider_entries(struct unit *u, const void *arg)
{
	struct ctx *c = (struct ctx *)arg;

	begin(&c->m);
	mmap_tag(&c->m, 3, 32);        /* a later entry_version: entries grow, the stride follows */
	end(&c->m, true);
	CHECK(multiboot2_read(paddr(&c->m), &c->boot, c->why) == 0, "refused: %s", c->why);
	CHECK(c->boot.start_info.memmap_entries == 3, "%u entries", c->boot.start_info.memmap_entries);
	CHECK(c->boot.memmap[2].addr == 2u << 20 && c->boot.memmap[2].type == 3, "entry 2: %#llx type %u",
	      (unsigned long long)c->boot.memmap[2].addr, c->boot.memmap[2].type);
	CHECK_STR(c->boot.cmdline, "");
}

static void test_too_many_entries(struct unit *u, const void *arg)
{
	struct ctx *c = (struct ctx *)arg;

	begin(&c->m);
	mmap_tag(&c->m, MB2_MEMMAP_MAX + 72, 24);
	end(&c->m, true);
	CHECK(multiboot2_read(paddr(&c->m), &c->boot, c->why) == 0, "refused: %s", c->why);
	CHECK(c->boot.start_info.memmap_entries == MB2_MEMMAP_MAX, "%u kept", c->boot.start_info.memmap_entries);
	CHECK(c->boot.memmap_dropped == 72, "%u dropped", c->boot.memmap_dropped);
}

static void test_cmdline_cut(struct unit *u, const void *arg)
{
	struct ctx *c = (struct ctx *)arg;
	char longline[2000];

	begin(&c->m);
	cmdline_tag(&c->m, "test=xenbus", 11, false);   /* no NUL: it ends with its tag */
	end(&c->m, true);
	CHECK(multiboot2_read(paddr(&c->m), &c->boot, c->why) == 0, "refused: %s", c->why);
	CHECK_STR(c->boot.cmdline, "test=xenbus");

	memset(longline, 'x', sizeof(longline));
	begin(&c->m);
	cmdline_tag(&c->m, longline, sizeof(longline), true);
	end(&c->m, true);
	CHECK(multiboot2_read(paddr(&c->m), &c->boot, c->why) == 0, "refused: %s", c->why);
	CHECK(strlen(c->boot.cmdline) == MB2_CMDLINE_MAX - 1, "kept %zu bytes", strlen(c->boot.cmdline));
	CHECK(c->boot.cmdline_dropped == sizeof(longline) - (MB2_CMDLINE_MAX - 1), "%u dropped",
	      c->boot.cmdline_dropped);
}

/* One malformed information per row: how to spoil a well-formed one, and the words of the refusal. */
struct bad_case {
	const char *name;
	void (*spoil)(struct mbi *m);
	uint32_t offset;                /* added to the address given */
	const char *says;
};

static void no_end_tag(struct mbi *m)
{
	begin(m);
	cmdline_tag(m, "a", 1, true);
	end(m, false);
}

static void tag_past_total(struct mbi *m)
{
	begin(m);
	put32(m, 1);
	put32(m, 4096);                 /* larger than everything there is */
	put32(m, 0);
	put32(m, 0);
	end(m, true);
}

static void tag_too_small(struct mbi *m)
{
	begin(m);
	put32(m, 5);
	put32(m, 4);
	end(m, true);
}

static void total_too_small(struct mbi *m)
{
	begin(m);
	end(m, true);
	uint32_t eight = 8;
	memcpy(m->base, &eight, 4);
}

static void total_too_large(struct mbi *m)
{
	begin(m);
	end(m, true);
	uint32_t huge = MB2_INFO_MAX + 8;
	memcpy(m->base, &huge, 4);
}

static void entry_size_small(struct mbi *m)
{
	begin(m);
	mmap_tag(m, 2, 16);
	end(m, true);
}

static void mmap_tag_short(struct mbi *m)
{
	begin(m);
	put32(m, 6);
	put32(m, 12);                   /* no room for entry_size and entry_version */
	put32(m, 24);
	align8(m);
	end(m, true);
}

static void well_formed(struct mbi *m)
{
	begin(m);
	end(m, true);
}

static void test_refused(struct unit *u, const void *arg)
{
	const struct bad_case *bc = arg;
	static struct ctx c;            /* the rows share the mapping made in main */

	c.m.base = MBI_AT;
	bc->spoil(&c.m);
	memset(&c.boot, 0x5a, sizeof(c.boot));
	c.why[0] = '\0';
	CHECK(multiboot2_read(paddr(&c.m) + bc->offset, &c.boot, c.why) == -1, "accepted");
	CHECK(strstr(c.why, bc->says) != NULL, "why is '%s', expected it to say '%s'", c.why, bc->says);
}

static const struct bad_case bad_cases[] = {
	{ "no-end-tag", no_end_tag, 0, "no end tag" },
	{ "tag-past-total-size", tag_past_total, 0, "tag size out of range" },
	{ "tag-smaller-than-header", tag_too_small, 0, "tag size out of range" },
	{ "total-size-too-small", total_too_small, 0, "total_size out of range" },
	{ "total-size-too-large", total_too_large, 0, "total_size out of range" },
	{ "entry-size-16", entry_size_small, 0, "memory map entry size" },
	{ "mmap-tag-short", mmap_tag_short, 0, "memory map tag too short" },
	{ "unaligned-address", well_formed, 4, "null or unaligned" },
};

int main(void)
{
	struct unit u = UNIT_INIT;
	static struct ctx c;

	void *at = mmap(MBI_AT, MBI_MAP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			-1, 0);
	if (at != MBI_AT) {
		printf("skip - guest-multiboot2: no mapping at %p below 4 GiB for the boot information\n", MBI_AT);
		return 0;
	}
	c.m.base = at;
	unit_case(&u, "grub-like-information", test_grub_like, &c);
	unit_case(&u, "wider-memory-map-entries", test_wider_entries, &c);
	unit_case(&u, "memory-map-beyond-what-is-kept", test_too_many_entries, &c);
	unit_case(&u, "command-line-cut", test_cmdline_cut, &c);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		unit_case(&u, bad_cases[i].name, test_refused, &bad_cases[i]);
	munmap(at, MBI_MAP);
	return unit_finish(&u);
}
