/* Reading a kernel's ELF file, 32- or 64-bit, through one shape: the loader (pvh_loader.c) and the
 * hypercall-site rewriter (xen_call_sites.c) both need its headers and Xen's notes.  Every offset and
 * size is checked against the file before anything is read from it. */
#ifndef XENITH_ELF_H
#define XENITH_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_file {
	const uint8_t *img;
	size_t size;
	bool is64;                       /* ELFCLASS64; ELF32 files for x86-64 exist */
	unsigned int machine;            /* e_machine: the caller decides what it accepts */
	uint64_t phoff, shoff;
	unsigned int phnum, shnum, phentsize, shentsize;
};

struct elf_segment { uint32_t type, flags; uint64_t offset, vaddr, paddr, filesz, memsz; };
struct elf_section { uint32_t type; uint64_t offset, size; };
struct elf_note { uint32_t type; const uint8_t *desc; uint32_t descsz; };

/* Checks the identification, the header and that the program headers lie in the file; a broken
 * section table is dropped (shnum = 0), since sections are optional to a loader.  0, or -1 with why. */
int elf_open(struct elf_file *e, const uint8_t *img, size_t size, char *why, size_t whylen);
bool elf_in_file(const struct elf_file *e, uint64_t off, uint64_t len);
/* Entry i < phnum / shnum; the fields are not checked against the file: use elf_in_file. */
struct elf_segment elf_segment(const struct elf_file *e, unsigned int i);
struct elf_section elf_section(const struct elf_file *e, unsigned int i);
/* Xen's notes (name "Xen"), those in PT_NOTE segments first, then those in SHT_NOTE sections (some
 * kernels carry theirs only there), until visit returns true.  Returns whether one did. */
bool elf_xen_notes(const struct elf_file *e, bool (*visit)(const struct elf_note *n, void *ctx), void *ctx);

#endif
