/* Linux's bzImage (boot sector, setup code, compressed vmlinux) unpacked to the vmlinux ELF inside,
 * so kernels can be given to the PVH loader as distributions ship them. */
#ifndef XENITH_BZIMAGE_H
#define XENITH_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

/* The largest vmlinux accepted (the loader's own limit for kernel files). */
#define BZIMAGE_VMLINUX_MAX (512u << 20)

/* 1: `file` is a bzImage and *elf holds its decompressed vmlinux, malloc'ed (the caller frees),
 *    *compressor names the payload's compressor ("xz", "gzip", ...);
 * 0: not a bzImage (no "HdrS" setup header: the caller treats the file as an ELF);
 * -1: a broken bzImage, `why` says what (no file name: the caller adds it).
 * *compressor is set as soon as the payload's compressor is known, also on failure. */
int bzimage_unpack(const uint8_t *file, size_t size, uint8_t **elf, size_t *elf_size,
		   const char **compressor, char *why, size_t whylen);

#endif
