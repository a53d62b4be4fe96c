/* The PVH ELF loader on images built here, in memory: ELF64 and both kinds of ELF32, the entry
 * note in a segment or only in a section, loads at 0; then every refusal, by its reason.  Each
 * image is handed over in a malloc of exactly its size, so under ASan any read past the end of
 * the file is caught.  Guest RAM is a 4 MiB buffer pre-filled with 0xaa. */
#include <stdint.h>
#include <elf.h>
#include <stdlib.h>
#include <xen/elfnote.h>
#include "vmm/pvh_loader.h"
#include "unit.h"

#define RAM_SIZE (4u << 20)
#define IMG_MAX 0x2000

/* Where the builder puts things: one fixed layout for every image. */
#define PH_OFF    0x40
#define SH_OFF    0x200
#define NOTE_OFF  0x400
#define DATA_OFF  0x800

struct ram {
	uint8_t *mem;
	uint64_t size;
};

static void *ram_gpa_to_hva(void *ctx, uint64_t gpa, uint64_t len)
{
	struct ram *r = ctx;

	if (gpa > r->size || len > r->size - gpa)
		return NULL;
	return r->mem + gpa;
}

enum note_place { NOTE_IN_SEGMENT, NOTE_IN_SECTION, NOTE_NOWHERE };

struct load { uint64_t paddr, filesz, memsz; };

/* What to build. */
struct spec {
	int cls;                   /* ELFCLASS64 or ELFCLASS32 */
	uint16_t machine;
	enum note_place note;
	uint32_t desc_size;        /* of the PHYS32_ENTRY note: 4 or 8 */
	bool other_notes_first;    /* a GNU note and a Xen note of another type come first */
	uint32_t entry;
	struct load loads[2];      /* memsz 0 ends the list */
};

/* The image: 8-byte aligned so the headers can be patched in place. */
struct image {
	union { uint8_t b[IMG_MAX]; uint64_t align; };
	size_t size;
	bool is64;
};

static uint8_t payload_byte(unsigned int seg, uint64_t i)
{
	return (uint8_t)(i * 7 + 1 + seg * 64);
}

static size_t put_note(uint8_t *p, const char *name, uint32_t type, const void *desc,
		       uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;
	size_t name_len = (namesz + 3) & ~3u, desc_len = (descsz + 3) & ~3u;

	memcpy(p, &namesz, 4);
	memcpy(p + 4, &descsz, 4);
	memcpy(p + 8, &type, 4);
	memset(p + 12, 0, name_len + desc_len);
	memcpy(p + 12, name, namesz);
	memcpy(p + 12 + name_len, desc, descsz);
	return 12 + name_len + desc_len;
}

static void put_phdr(struct image *img, unsigned int i, uint32_t type, uint64_t offset,
		     uint64_t paddr, uint64_t filesz, uint64_t memsz)
{
	if (img->is64) {
		Elf64_Phdr ph = { .p_type = type, .p_offset = offset, .p_vaddr = paddr,
				  .p_paddr = paddr, .p_filesz = filesz, .p_memsz = memsz, .p_align = 4 };
		memcpy(img->b + PH_OFF + i * sizeof(ph), &ph, sizeof(ph));
	} else {
		Elf32_Phdr ph = { .p_type = type, .p_offset = (uint32_t)offset,
				  .p_vaddr = (uint32_t)paddr, .p_paddr = (uint32_t)paddr,
				  .p_filesz = (uint32_t)filesz, .p_memsz = (uint32_t)memsz, .p_align = 4 };
		memcpy(img->b + PH_OFF + i * sizeof(ph), &ph, sizeof(ph));
	}
}

static void put_shdr(struct image *img, unsigned int i, uint32_t type, uint64_t offset,
		     uint64_t size)
{
	if (img->is64) {
		Elf64_Shdr sh = { .sh_type = type, .sh_offset = offset, .sh_size = size,
				  .sh_addralign = 4 };
		memcpy(img->b + SH_OFF + i * sizeof(sh), &sh, sizeof(sh));
	} else {
		Elf32_Shdr sh = { .sh_type = type, .sh_offset = (uint32_t)offset,
				  .sh_size = (uint32_t)size, .sh_addralign = 4 };
		memcpy(img->b + SH_OFF + i * sizeof(sh), &sh, sizeof(sh));
	}
}

static void build(const struct spec *s, struct image *img)
{
	unsigned int phnum = 0, shnum = 0;
	size_t notes = 0, data = DATA_OFF;

	memset(img, 0, sizeof(*img));
	img->is64 = s->cls == ELFCLASS64;
	if (s->other_notes_first) {
		uint32_t gnu[4] = { 0, 5, 15, 0 };
		uint32_t other = 0xdeadbeef;
		notes += put_note(img->b + NOTE_OFF + notes, "GNU", NT_GNU_ABI_TAG, gnu, sizeof(gnu));
		notes += put_note(img->b + NOTE_OFF + notes, "Xen", XEN_ELFNOTE_ENTRY, &other, 4);
		notes += put_note(img->b + NOTE_OFF + notes, "Xenish", XEN_ELFNOTE_PHYS32_ENTRY,
				  &other, 4);
	}
	if (s->note != NOTE_NOWHERE) {
		uint64_t entry = s->entry;     /* little-endian: the low 4 bytes come first */
		notes += put_note(img->b + NOTE_OFF + notes, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &entry,
				  s->desc_size);
	}
	if (notes && s->note != NOTE_IN_SECTION)
		put_phdr(img, phnum++, PT_NOTE, NOTE_OFF, 0, notes, notes);
	if (notes && s->note == NOTE_IN_SECTION) {
		put_shdr(img, shnum++, SHT_NULL, 0, 0);
		put_shdr(img, shnum++, SHT_NOTE, NOTE_OFF, notes);
	}
	for (unsigned int i = 0; i < 2 && s->loads[i].memsz; i++) {
		const struct load *l = &s->loads[i];
		for (uint64_t j = 0; j < l->filesz; j++)
			img->b[data + j] = payload_byte(i, j);
		put_phdr(img, phnum++, PT_LOAD, data, l->paddr, l->filesz, l->memsz);
		data += (l->filesz + 7) & ~7ull;
	}
	img->size = data;

	memcpy(img->b, ELFMAG, SELFMAG);
	img->b[EI_CLASS] = (uint8_t)s->cls;
	img->b[EI_DATA] = ELFDATA2LSB;
	img->b[EI_VERSION] = EV_CURRENT;
	if (img->is64) {
		Elf64_Ehdr h;
		memcpy(&h, img->b, EI_NIDENT);
		h.e_type = ET_EXEC; h.e_machine = s->machine; h.e_version = EV_CURRENT;
		h.e_entry = s->entry; h.e_flags = 0; h.e_ehsize = sizeof(h);
		h.e_phoff = phnum ? PH_OFF : 0; h.e_phnum = phnum; h.e_phentsize = sizeof(Elf64_Phdr);
		h.e_shoff = shnum ? SH_OFF : 0; h.e_shnum = shnum; h.e_shentsize = sizeof(Elf64_Shdr);
		h.e_shstrndx = 0;
		memcpy(img->b, &h, sizeof(h));
	} else {
		Elf32_Ehdr h;
		memcpy(&h, img->b, EI_NIDENT);
		h.e_type = ET_EXEC; h.e_machine = s->machine; h.e_version = EV_CURRENT;
		h.e_entry = s->entry; h.e_flags = 0; h.e_ehsize = sizeof(h);
		h.e_phoff = phnum ? PH_OFF : 0; h.e_phnum = phnum; h.e_phentsize = sizeof(Elf32_Phdr);
		h.e_shoff = shnum ? SH_OFF : 0; h.e_shnum = shnum; h.e_shentsize = sizeof(Elf32_Shdr);
		h.e_shstrndx = 0;
		memcpy(img->b, &h, sizeof(h));
	}
}

/* Headers of an ELF64 image, for the refusal cases to break. */
static Elf64_Ehdr *ehdr64(struct image *img) { return (Elf64_Ehdr *)img->b; }
static Elf64_Phdr *phdr64(struct image *img, unsigned int i)
{
	return (Elf64_Phdr *)(img->b + PH_OFF) + i;
}

/* Runs the parser on an exact-size copy of the image; fresh RAM full of 0xaa. */
struct run {
	int rc;
	uint32_t entry;
	uint64_t highest;
	char why[256];
};

static struct run parse(const uint8_t *bytes, size_t size, struct ram *ram)
{
	struct run r = { .entry = 0x5a5a5a5a };
	struct elf_load_target target = { ram_gpa_to_hva, ram };
	uint8_t *copy = malloc(size ? size : 1);

	memcpy(copy, bytes, size);
	if (ram)
		memset(ram->mem, 0xaa, ram->size);
	r.rc = pvh_elf_parse(copy, size, ram ? &target : NULL, &r.entry, &r.highest, r.why,
			     sizeof(r.why));
	free(copy);
	return r;
}

static struct ram *test_ram(void)
{
	static struct ram ram;

	if (!ram.mem) {
		ram.mem = calloc(1, RAM_SIZE);
		ram.size = RAM_SIZE;
	}
	return &ram;
}

/* --- images that load --- */

struct good_case {
	const char *name;
	struct spec spec;
	uint64_t highest;
};

#define KERNEL64 .cls = ELFCLASS64, .machine = EM_X86_64
#define ONE_LOAD .loads = { { 0x100000, 0x300, 0x1000 } }

static const struct good_case good_cases[] = {
	{ "elf64, note in PT_NOTE, 4-byte desc",
	  { KERNEL64, NOTE_IN_SEGMENT, 4, false, 0x100123, ONE_LOAD }, 0x101000 },
	{ "elf64, note in PT_NOTE, 8-byte desc",
	  { KERNEL64, NOTE_IN_SEGMENT, 8, false, 0x100456, ONE_LOAD }, 0x101000 },
	{ "elf32, EM_386",
	  { ELFCLASS32, EM_386, NOTE_IN_SEGMENT, 4, false, 0x100010, ONE_LOAD }, 0x101000 },
	{ "elf32, EM_X86_64 (as real kernels ship)",
	  { ELFCLASS32, EM_X86_64, NOTE_IN_SEGMENT, 4, false, 0x100020, ONE_LOAD }, 0x101000 },
	{ "elf64, note only in a SHT_NOTE section",
	  { KERNEL64, NOTE_IN_SECTION, 4, false, 0x100030, ONE_LOAD }, 0x101000 },
	{ "elf32, note only in a SHT_NOTE section",
	  { ELFCLASS32, EM_386, NOTE_IN_SECTION, 8, false, 0x100040, ONE_LOAD }, 0x101000 },
	{ "other notes before the Xen one",
	  { KERNEL64, NOTE_IN_SEGMENT, 4, true, 0x100050, ONE_LOAD }, 0x101000 },
	{ "other notes before the Xen one, in a section",
	  { KERNEL64, NOTE_IN_SECTION, 4, true, 0x100060, ONE_LOAD }, 0x101000 },
	{ "segment loading at guest address 0",
	  { KERNEL64, NOTE_IN_SEGMENT, 4, false, 0x10, .loads = { { 0, 0x200, 0x400 } } }, 0x400 },
	{ "two segments, highest is the end of the higher",
	  { KERNEL64, NOTE_IN_SEGMENT, 4, false, 0x200000,
	    .loads = { { 0x200000, 0x100, 0x100 }, { 0x100000, 0x80, 0x3000 } } }, 0x200100 },
	{ "bss only (filesz 0)",
	  { KERNEL64, NOTE_IN_SEGMENT, 4, false, 0x100000,
	    .loads = { { 0x100000, 0x10, 0x10 }, { 0x180000, 0, 0x800 } } }, 0x180800 },
	{ "segment ending exactly at the end of RAM",
	  { KERNEL64, NOTE_IN_SEGMENT, 4, false, 0x3ff000,
	    .loads = { { RAM_SIZE - 0x1000, 0x20, 0x1000 } } }, RAM_SIZE },
};

static bool in_a_load(const struct spec *s, uint64_t gpa)
{
	for (unsigned int i = 0; i < 2 && s->loads[i].memsz; i++)
		if (gpa >= s->loads[i].paddr && gpa - s->loads[i].paddr < s->loads[i].memsz)
			return true;
	return false;
}

static void test_good(struct unit *u, const void *arg)
{
	const struct good_case *c = arg;
	struct image img;
	struct ram *ram = test_ram();

	build(&c->spec, &img);
	struct run r = parse(img.b, img.size, ram);
	CHECK(r.rc == 0, "refused: %s", r.why);
	if (r.rc)
		return;
	CHECK(r.entry == c->spec.entry, "entry %#x, expected %#x", r.entry, c->spec.entry);
	CHECK(r.highest == c->highest, "highest %#llx, expected %#llx",
	      (unsigned long long)r.highest, (unsigned long long)c->highest);
	for (unsigned int i = 0; i < 2 && c->spec.loads[i].memsz; i++) {
		const struct load *l = &c->spec.loads[i];
		const uint8_t *m = ram->mem + l->paddr;
		uint64_t bad = UINT64_MAX;
		for (uint64_t j = 0; j < l->filesz && bad == UINT64_MAX; j++)
			if (m[j] != payload_byte(i, j))
				bad = j;
		CHECK(bad == UINT64_MAX, "segment %u: byte %#llx of the file part not copied", i,
		      (unsigned long long)bad);
		for (uint64_t j = l->filesz; j < l->memsz && bad == UINT64_MAX; j++)
			if (m[j])
				bad = j;
		CHECK(bad == UINT64_MAX, "segment %u: byte %#llx past filesz is %#x, not zeroed", i,
		      (unsigned long long)bad, m[bad]);
		if (l->paddr && !in_a_load(&c->spec, l->paddr - 1))
			CHECK(m[-1] == 0xaa, "segment %u: byte before it written", i);
		if (l->paddr + l->memsz < RAM_SIZE && !in_a_load(&c->spec, l->paddr + l->memsz))
			CHECK(m[l->memsz] == 0xaa, "segment %u: byte after memsz written (%#x)", i,
			      m[l->memsz]);
	}

	/* Only checking gives the same answer and touches nothing. */
	struct run check = parse(img.b, img.size, NULL);
	memset(ram->mem, 0xaa, ram->size);
	CHECK(check.rc == 0, "check-only refused: %s", check.why);
	CHECK(check.entry == r.entry && check.highest == r.highest,
	      "check-only gave entry %#x highest %#llx", check.entry,
	      (unsigned long long)check.highest);
}

/* --- images that are refused --- */

static const struct spec good64 = { KERNEL64, NOTE_IN_SEGMENT, 4, false, 0x100123, ONE_LOAD };
static const struct spec good32 = { ELFCLASS32, EM_386, NOTE_IN_SEGMENT, 4, false, 0x100123,
				    ONE_LOAD };

/* Breaks a good image; phdr 0 is the PT_NOTE, phdr 1 the PT_LOAD. */
typedef void (*breaker)(struct image *img);

static void not_elf(struct image *img) { memcpy(img->b, "#!/bin/sh\n", 10); }
static void tiny(struct image *img) { img->size = 3; }
static void empty(struct image *img) { img->size = 0; }
static void big_endian(struct image *img) { img->b[EI_DATA] = ELFDATA2MSB; }
static void unknown_class(struct image *img) { img->b[EI_CLASS] = 3; }
static void aarch64(struct image *img) { ehdr64(img)->e_machine = EM_AARCH64; }
static void arm32(struct image *img) { ((Elf32_Ehdr *)img->b)->e_machine = EM_ARM; }
static void cut_ehdr64(struct image *img) { img->size = sizeof(Elf64_Ehdr) - 1; }
static void cut_ehdr32(struct image *img) { img->size = sizeof(Elf32_Ehdr) - 1; }
static void cut_to_ident(struct image *img) { img->size = EI_NIDENT; }
static void cut_phdrs(struct image *img) { img->size = PH_OFF + sizeof(Elf64_Phdr) + 8; }
static void phoff_far(struct image *img) { ehdr64(img)->e_phoff = 0x100000; }
static void phoff_wraps(struct image *img) { ehdr64(img)->e_phoff = UINT64_MAX - 8; }
static void phnum_huge(struct image *img) { ehdr64(img)->e_phnum = 0xffff; }
static void phentsize_small(struct image *img) { ehdr64(img)->e_phentsize = 8; }
static void no_load(struct image *img) { ehdr64(img)->e_phnum = 1; }
static void load_is_dynamic(struct image *img) { phdr64(img, 1)->p_type = PT_DYNAMIC; }
static void wrong_note_type(struct image *img)
{
	uint32_t type = XEN_ELFNOTE_ENTRY;
	memcpy(img->b + NOTE_OFF + 8, &type, 4);
}
static void note_desc_2(struct image *img)
{
	uint32_t descsz = 2;
	memcpy(img->b + NOTE_OFF + 4, &descsz, 4);
}
static void note_desc_16(struct image *img)
{
	uint32_t descsz = 16;
	memcpy(img->b + NOTE_OFF + 4, &descsz, 4);
	phdr64(img, 0)->p_filesz = 12 + 4 + 16;
}
static void note_segment_past_eof(struct image *img) { phdr64(img, 0)->p_offset = img->size - 8; }
static void note_segment_offset_wraps(struct image *img)
{
	phdr64(img, 0)->p_offset = UINT64_MAX - 4;
	phdr64(img, 0)->p_filesz = 24;
}
static void namesz_huge(struct image *img)
{
	uint32_t namesz = UINT32_MAX;
	memcpy(img->b + NOTE_OFF, &namesz, 4);
}
static void descsz_huge(struct image *img)
{
	uint32_t descsz = UINT32_MAX - 2;
	memcpy(img->b + NOTE_OFF + 4, &descsz, 4);
}
static void both_sizes_huge(struct image *img)
{
	uint32_t big = 0xfffffff0;
	memcpy(img->b + NOTE_OFF, &big, 4);
	memcpy(img->b + NOTE_OFF + 4, &big, 4);
}
/* The note area ends right at the end of the file, in the middle of the Xen note's desc. */
static void note_cut_at_eof(struct image *img)
{
	phdr64(img, 0)->p_filesz = 12 + 4 + 2;
	ehdr64(img)->e_phnum = 1;
	img->size = NOTE_OFF + 12 + 4 + 2;
}
/* A note area shorter than a note header, ending at the end of the file. */
static void note_area_tiny(struct image *img)
{
	phdr64(img, 0)->p_filesz = 11;
	ehdr64(img)->e_phnum = 1;
	img->size = NOTE_OFF + 11;
}
/* Within the file, so only the filesz <= memsz rule stands between it and a huge memset. */
static void filesz_over_memsz(struct image *img) { phdr64(img, 1)->p_memsz = 0x100; }
static void load_past_eof(struct image *img)
{
	phdr64(img, 1)->p_filesz = phdr64(img, 1)->p_memsz = 0x4000;
}
static void load_offset_past_eof(struct image *img) { phdr64(img, 1)->p_offset = img->size + 1; }
static void load_offset_wraps(struct image *img) { phdr64(img, 1)->p_offset = UINT64_MAX - 0x10; }
static void load_above_ram(struct image *img) { phdr64(img, 1)->p_paddr = 64ull << 20; }
static void load_straddles_ram_end(struct image *img)
{
	phdr64(img, 1)->p_paddr = RAM_SIZE - 0x800;
}
static void memsz_wraps(struct image *img)
{
	phdr64(img, 1)->p_paddr = 0xfffffffffffff000ull;
	phdr64(img, 1)->p_memsz = 0x2000;
}
static void memsz_wraps_to_zero(struct image *img)
{
	phdr64(img, 1)->p_paddr = 0x1000;
	phdr64(img, 1)->p_memsz = (uint64_t)-0x1000;
}
static void memsz_huge(struct image *img) { phdr64(img, 1)->p_memsz = UINT64_MAX - 0x100000; }
static void phoff_far32(struct image *img) { ((Elf32_Ehdr *)img->b)->e_phoff = 0xfffffff0u; }
static void filesz_over_memsz32(struct image *img)
{
	((Elf32_Phdr *)(img->b + PH_OFF))[1].p_memsz = 0x100;
}

struct bad_case {
	const char *name;
	const struct spec *spec;
	breaker brk;
	bool with_ram;             /* refusals must not depend on loading... */
	bool check_only_too;       /* ...and those that do not need RAM also happen when only checking */
	const char *why;
};

static const struct bad_case bad_cases[] = {
	{ "not an ELF", &good64, not_elf, true, true, "not an ELF" },
	{ "3 bytes", &good64, tiny, true, true, "not an ELF" },
	{ "empty", &good64, empty, true, true, "not an ELF" },
	{ "big-endian", &good64, big_endian, true, true, "little-endian" },
	{ "unknown class", &good64, unknown_class, true, true, "unknown-class" },
	{ "ELF64 for aarch64", &good64, aarch64, true, true, "not x86-64" },
	{ "ELF32 for arm", &good32, arm32, true, true, "not x86" },
	{ "truncated ELF64 header", &good64, cut_ehdr64, true, true, "truncated" },
	{ "truncated ELF32 header", &good32, cut_ehdr32, true, true, "truncated" },
	{ "only e_ident", &good64, cut_to_ident, true, true, "truncated" },
	{ "program headers cut off", &good64, cut_phdrs, true, true, "program headers lie outside" },
	{ "phoff past the end", &good64, phoff_far, true, true, "program headers lie outside" },
	{ "phoff wrapping", &good64, phoff_wraps, true, true, "program headers lie outside" },
	{ "phnum past the end", &good64, phnum_huge, true, true, "program headers lie outside" },
	{ "phentsize too small", &good64, phentsize_small, true, true, "program headers lie outside" },
	{ "ELF32 phoff past the end", &good32, phoff_far32, true, true, "program headers lie outside" },
	{ "no PVH note", &(struct spec){ KERNEL64, NOTE_NOWHERE, 4, true, 0, ONE_LOAD }, NULL,
	  true, true, "no PVH entry point" },
	{ "no notes at all", &(struct spec){ KERNEL64, NOTE_NOWHERE, 4, false, 0, ONE_LOAD }, NULL,
	  true, true, "no PVH entry point" },
	{ "Xen note of another type", &good64, wrong_note_type, true, true, "no PVH entry point" },
	{ "PHYS32_ENTRY with a 2-byte desc", &good64, note_desc_2, true, true, "no PVH entry point" },
	{ "PHYS32_ENTRY with a 16-byte desc", &good64, note_desc_16, true, true, "no PVH entry point" },
	{ "note segment past the end", &good64, note_segment_past_eof, true, true,
	  "no PVH entry point" },
	{ "note segment offset wrapping", &good64, note_segment_offset_wraps, true, true,
	  "no PVH entry point" },
	{ "note namesz overflowing the area", &good64, namesz_huge, true, true, "no PVH entry point" },
	{ "note descsz overflowing the area", &good64, descsz_huge, true, true, "no PVH entry point" },
	{ "note namesz+descsz overflowing", &good64, both_sizes_huge, true, true,
	  "no PVH entry point" },
	{ "note cut by the end of the file", &good64, note_cut_at_eof, true, true,
	  "no PVH entry point" },
	{ "note area shorter than a note header", &good64, note_area_tiny, true, true,
	  "no PVH entry point" },
	{ "no PT_LOAD", &good64, no_load, true, true, "no loadable segments" },
	{ "PT_LOAD turned PT_DYNAMIC", &good64, load_is_dynamic, true, true, "no loadable segments" },
	{ "filesz > memsz", &good64, filesz_over_memsz, true, true, "segment 1 has sizes" },
	{ "ELF32 filesz > memsz", &good32, filesz_over_memsz32, true, true, "segment 1 has sizes" },
	{ "segment past the end of the file", &good64, load_past_eof, true, true,
	  "segment 1 has sizes" },
	{ "segment offset past the end", &good64, load_offset_past_eof, true, true,
	  "segment 1 has sizes" },
	{ "segment offset wrapping", &good64, load_offset_wraps, true, true, "segment 1 has sizes" },
	{ "paddr+memsz wrapping around 2^64", &good64, memsz_wraps, true, true,
	  "segment 1 has sizes" },
	{ "paddr+memsz wrapping to exactly 0", &good64, memsz_wraps_to_zero, true, true,
	  "segment 1 has sizes" },
	{ "segment above RAM", &good64, load_above_ram, true, false, "does not fit" },
	{ "segment straddling the end of RAM", &good64, load_straddles_ram_end, true, false,
	  "does not fit" },
	{ "memsz reaching 2^64-1", &good64, memsz_huge, true, false, "does not fit" },
};

static void test_bad(struct unit *u, const void *arg)
{
	const struct bad_case *c = arg;
	struct image img;

	build(c->spec, &img);
	if (c->brk)
		c->brk(&img);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0 ? !c->with_ram : !c->check_only_too)
			continue;
		struct run r = parse(img.b, img.size, pass == 0 ? test_ram() : NULL);
		const char *how = pass == 0 ? "loading" : "checking";
		CHECK(r.rc == -1, "%s: accepted (entry %#x, highest %#llx)", how, r.entry,
		      (unsigned long long)r.highest);
		CHECK(strstr(r.why, c->why), "%s: reason \"%s\", expected it to say \"%s\"", how,
		      r.why, c->why);
	}
}

/* The image built for a bad case must itself be good, so each breaker is what gets it refused. */
static void test_bases(struct unit *u, const void *arg)
{
	const struct spec *bases[] = { &good64, &good32 };
	(void)arg;
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		struct image img;
		build(bases[i], &img);
		struct run r = parse(img.b, img.size, test_ram());
		CHECK(r.rc == 0, "base image %zu refused: %s", i, r.why);
	}
}

/* The note area is what the note segment's filesz says, not the rest of the file. */
static void test_note_bounded_by_segment(struct unit *u, const void *arg)
{
	struct image img;
	(void)arg;
	build(&(struct spec){ KERNEL64, NOTE_IN_SEGMENT, 4, true, 0x100123, ONE_LOAD }, &img);
	phdr64(&img, 0)->p_filesz -= 20;      /* cuts into the Xen note at the end */
	struct run r = parse(img.b, img.size, test_ram());
	CHECK(r.rc == -1 && strstr(r.why, "no PVH entry point"), "rc %d, why \"%s\"", r.rc, r.why);
}

/* A broken section table is ignored, not fatal, when the note is in a segment. */
static void test_broken_sections_ignored(struct unit *u, const void *arg)
{
	struct image img;
	(void)arg;
	build(&good64, &img);
	ehdr64(&img)->e_shoff = UINT64_MAX - 16;
	ehdr64(&img)->e_shnum = 40;
	ehdr64(&img)->e_shentsize = sizeof(Elf64_Shdr);
	struct run r = parse(img.b, img.size, test_ram());
	CHECK(r.rc == 0, "refused: %s", r.why);
	CHECK(r.entry == 0x100123, "entry %#x", r.entry);
}

/* The first PHYS32_ENTRY note wins; the entry is not a guess from e_entry. */
static void test_entry_from_note(struct unit *u, const void *arg)
{
	struct image img;
	(void)arg;
	build(&good64, &img);
	ehdr64(&img)->e_entry = 0xffffffff81000000ull;
	struct run r = parse(img.b, img.size, test_ram());
	CHECK(r.rc == 0 && r.entry == 0x100123, "rc %d entry %#x (%s)", r.rc, r.entry, r.why);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[160];

	unit_case(&u, "pvh elf: base images for the refusal cases load", test_bases, NULL);
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		snprintf(name, sizeof(name), "pvh elf loads: %s", good_cases[i].name);
		unit_case(&u, name, test_good, &good_cases[i]);
	}
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		snprintf(name, sizeof(name), "pvh elf refuses: %s", bad_cases[i].name);
		unit_case(&u, name, test_bad, &bad_cases[i]);
	}
	unit_case(&u, "pvh elf: note area bounded by the note segment", test_note_bounded_by_segment,
		  NULL);
	unit_case(&u, "pvh elf: broken section table ignored", test_broken_sections_ignored, NULL);
	unit_case(&u, "pvh elf: entry comes from the note, not e_entry", test_entry_from_note, NULL);
	free(test_ram()->mem);
	return unit_finish(&u);
}
