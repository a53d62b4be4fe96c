#include <elf.h>
#include <stdio.h>
#include <string.h>
#include "vmm/elf.h"

bool elf_in_file(const struct elf_file *e, uint64_t off, uint64_t len)
{
	return off <= e->size && len <= e->size - off;
}

int elf_open(struct elf_file *e, const uint8_t *img, size_t size, char *why, size_t whylen)
{
	*e = (struct elf_file){ .img = img, .size = size };
	if (size < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG)) {
		snprintf(why, whylen, "not an ELF file");
		return -1;
	}
	if (img[EI_DATA] != ELFDATA2LSB) {
		snprintf(why, whylen, "not a little-endian ELF");
		return -1;
	}
	if (img[EI_CLASS] == ELFCLASS64 && size >= sizeof(Elf64_Ehdr)) {
		Elf64_Ehdr h;
		memcpy(&h, img, sizeof(h));
		e->is64 = true;
		e->machine = h.e_machine;
		e->phoff = h.e_phoff; e->phnum = h.e_phnum; e->phentsize = h.e_phentsize;
		e->shoff = h.e_shoff; e->shnum = h.e_shnum; e->shentsize = h.e_shentsize;
	} else if (img[EI_CLASS] == ELFCLASS32 && size >= sizeof(Elf32_Ehdr)) {
		Elf32_Ehdr h;
		memcpy(&h, img, sizeof(h));
		e->machine = h.e_machine;
		e->phoff = h.e_phoff; e->phnum = h.e_phnum; e->phentsize = h.e_phentsize;
		e->shoff = h.e_shoff; e->shnum = h.e_shnum; e->shentsize = h.e_shentsize;
	} else {
		snprintf(why, whylen, "truncated or unknown-class ELF header");
		return -1;
	}
	size_t want_ph = e->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	size_t want_sh = e->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
	if (e->phnum && (e->phentsize < want_ph ||
			 !elf_in_file(e, e->phoff, (uint64_t)e->phnum * e->phentsize))) {
		snprintf(why, whylen, "program headers lie outside the file");
		return -1;
	}
	if (e->shnum && (e->shentsize < want_sh ||
			 !elf_in_file(e, e->shoff, (uint64_t)e->shnum * e->shentsize)))
		e->shnum = 0;
	return 0;
}

struct elf_segment elf_segment(const struct elf_file *e, unsigned int i)
{
	const uint8_t *p = e->img + e->phoff + (uint64_t)i * e->phentsize;

	if (e->is64) {
		Elf64_Phdr ph;
		memcpy(&ph, p, sizeof(ph));
		return (struct elf_segment){ ph.p_type, ph.p_flags, ph.p_offset, ph.p_vaddr, ph.p_paddr,
					     ph.p_filesz, ph.p_memsz };
	}
	Elf32_Phdr ph;
	memcpy(&ph, p, sizeof(ph));
	return (struct elf_segment){ ph.p_type, ph.p_flags, ph.p_offset, ph.p_vaddr, ph.p_paddr,
				     ph.p_filesz, ph.p_memsz };
}

struct elf_section elf_section(const struct elf_file *e, unsigned int i)
{
	const uint8_t *p = e->img + e->shoff + (uint64_t)i * e->shentsize;

	if (e->is64) {
		Elf64_Shdr sh;
		memcpy(&sh, p, sizeof(sh));
		return (struct elf_section){ sh.sh_type, sh.sh_offset, sh.sh_size };
	}
	Elf32_Shdr sh;
	memcpy(&sh, p, sizeof(sh));
	return (struct elf_section){ sh.sh_type, sh.sh_offset, sh.sh_size };
}

/* One note area; a note whose sizes overrun the area ends the walk. */
static bool visit_notes(const struct elf_file *e, uint64_t off, uint64_t len,
			bool (*visit)(const struct elf_note *n, void *ctx), void *ctx)
{
	if (!elf_in_file(e, off, len))
		return false;
	const uint8_t *p = e->img + off;

	while (len >= 12) {
		uint32_t namesz, descsz, type;
		memcpy(&namesz, p, 4);
		memcpy(&descsz, p + 4, 4);
		memcpy(&type, p + 8, 4);
		uint64_t name_len = ((uint64_t)namesz + 3) & ~3ull, desc_len = ((uint64_t)descsz + 3) & ~3ull;
		if (name_len > len - 12 || desc_len > len - 12 - name_len)
			return false;
		struct elf_note n = { type, p + 12 + name_len, descsz };
		if (namesz == 4 && !memcmp(p + 12, "Xen", 4) && visit(&n, ctx))
			return true;
		p += 12 + name_len + desc_len;
		len -= 12 + name_len + desc_len;
	}
	return false;
}

bool elf_xen_notes(const struct elf_file *e, bool (*visit)(const struct elf_note *n, void *ctx), void *ctx)
{
	for (unsigned int i = 0; i < e->phnum; i++) {
		struct elf_segment s = elf_segment(e, i);
		if (s.type == PT_NOTE && visit_notes(e, s.offset, s.filesz, visit, ctx))
			return true;
	}
	for (unsigned int i = 0; i < e->shnum; i++) {
		struct elf_section s = elf_section(e, i);
		if (s.type == SHT_NOTE && visit_notes(e, s.offset, s.size, visit, ctx))
			return true;
	}
	return false;
}
