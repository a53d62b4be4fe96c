/* bzImage to vmlinux, following Linux's x86 boot protocol (Documentation/arch/x86/boot.rst).
 *
 *   0x000  boot sector; its setup header holds setup_sects (0x1f1, 0 meaning 4), the boot
 *          flag 0xaa55 (0x1fe), "HdrS" (0x202), the protocol version (0x206) and, from 2.08
 *          on, payload_offset and payload_length (0x248, 0x24c)
 *   (setup_sects + 1) * 512
 *          protected-mode code; the payload sits payload_offset bytes into it:
 *          [compressed vmlinux][u32 LE uncompressed size]
 *
 * The trailing size is the kernel build's size_append, written for every compressor, and
 * payload_length counts it.  It sizes the output before anything is decoded: refused above
 * BZIMAGE_VMLINUX_MAX, and the stream must decode to exactly that many bytes.  The buffer gets
 * one spare byte so a stream that runs longer is caught by filling it (decompress.h). */
#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "vmm/bzimage.h"
#include "vmm/decompress.h"

#define HDR_SETUP_SECTS    0x1f1
#define HDR_BOOT_FLAG      0x1fe
#define HDR_MAGIC          0x202
#define HDR_VERSION        0x206
#define HDR_PAYLOAD_OFFSET 0x248
#define HDR_PAYLOAD_LENGTH 0x24c
#define HDR_END            0x250
#define SECTOR             512u
#define PROTOCOL_PAYLOAD   0x0208      /* the first version with payload_offset/length */
#define SIZE_APPEND_LEN    4u

static uint32_t le16_at(const uint8_t *p) { return p[0] | p[1] << 8; }
static uint32_t le32_at(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static int refuse(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Where the payload is, checked against the file; its compressed stream and announced size. */
static int find_payload(const uint8_t *file, size_t size, const uint8_t **stream,
			size_t *stream_len, uint32_t *announced, char *why, size_t whylen)
{
	if (size < HDR_END)
		return refuse(why, whylen, "bzImage setup header truncated: the file has %zu bytes, "
			      "the header fields this loader reads end at %#x", size, HDR_END);
	uint32_t version = le16_at(file + HDR_VERSION);
	if (version < PROTOCOL_PAYLOAD)
		return refuse(why, whylen, "bzImage boot protocol %u.%02u predates 2.08, which "
			      "introduced payload_offset", version >> 8, version & 0xff);
	uint32_t setup_sects = file[HDR_SETUP_SECTS] ? file[HDR_SETUP_SECTS] : 4;
	size_t pm_start = (setup_sects + 1) * SECTOR;
	uint32_t offset = le32_at(file + HDR_PAYLOAD_OFFSET);
	uint32_t length = le32_at(file + HDR_PAYLOAD_LENGTH);
	if (pm_start > size)
		return refuse(why, whylen, "bzImage protected-mode code at %#zx (setup_sects %u) lies "
			      "past the end of the %zu-byte file", pm_start, setup_sects, size);
	if (offset > size - pm_start || length > size - pm_start - offset)
		return refuse(why, whylen, "bzImage payload (payload_offset %#x, payload_length %u, "
			      "from the protected-mode code at %#zx) lies outside the %zu-byte file",
			      offset, length, pm_start, size);
	if (length < SIZE_APPEND_LEN)
		return refuse(why, whylen, "bzImage payload of %u bytes cannot hold the 4-byte "
			      "uncompressed size (size_append)", length);
	*stream = file + pm_start + offset;
	*stream_len = length - SIZE_APPEND_LEN;
	*announced = le32_at(*stream + *stream_len);
	return 0;
}

int bzimage_unpack(const uint8_t *file, size_t size, uint8_t **elf, size_t *elf_size,
		   const char **compressor, char *why, size_t whylen)
{
	const uint8_t *stream = NULL;
	size_t stream_len = 0, produced = 0;
	uint32_t announced = 0;
	char names[128];

	*elf = NULL;
	*elf_size = 0;
	*compressor = NULL;
	if (size < HDR_MAGIC + 4 || le16_at(file + HDR_BOOT_FLAG) != 0xaa55 ||
	    memcmp(file + HDR_MAGIC, "HdrS", 4))
		return 0;
	if (find_payload(file, size, &stream, &stream_len, &announced, why, whylen))
		return -1;
	if (announced > BZIMAGE_VMLINUX_MAX)
		return refuse(why, whylen, "bzImage payload announces a %u-byte vmlinux (size_append), "
			      "over the %u MiB limit", announced, BZIMAGE_VMLINUX_MAX >> 20);
	const struct decompressor *dec = decompressor_find(stream, stream_len);
	if (!dec) {
		uint8_t head[4] = { 0 };
		memcpy(head, stream, stream_len < 4 ? stream_len : 4);
		decompressor_list(names, sizeof(names));
		return refuse(why, whylen, "bzImage payload starts with %02x %02x %02x %02x: unknown "
			      "compressor magic (known: %s)", head[0], head[1], head[2], head[3], names);
	}
	*compressor = dec->name;

	/* Decoded into an anonymous mapping first: a size_append that lies costs address space
	 * only, also under ASan (whose malloc poisons a whole block when it is freed). */
	size_t cap = (size_t)announced + 1;
	uint8_t *scratch = mmap(NULL, cap, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (scratch == MAP_FAILED)
		return refuse(why, whylen, "bzImage: cannot map %u bytes for the vmlinux", announced);
	char detail[256] = "";
	enum decompress_result res = dec->decode(stream, stream_len, scratch, cap, &produced, detail,
						 sizeof(detail));
	uint8_t *out = NULL;
	int rc = -1;
	if (res == DECOMPRESS_BAD)
		refuse(why, whylen, "bzImage payload (%s): %s", dec->name, detail);
	else if (res == DECOMPRESS_FULL)
		refuse(why, whylen, "bzImage payload (%s) decompresses to more than the %u bytes "
		       "size_append announces", dec->name, announced);
	else if (produced != announced)
		refuse(why, whylen, "bzImage payload (%s) decompresses to %zu bytes but size_append "
		       "announces %u", dec->name, produced, announced);
	else if (produced < SELFMAG || memcmp(scratch, ELFMAG, SELFMAG))
		refuse(why, whylen, "bzImage payload is not an ELF vmlinux (%s, %zu bytes)", dec->name,
		       produced);
	else if (!(out = malloc(produced)))
		refuse(why, whylen, "bzImage: cannot allocate %zu bytes for the vmlinux", produced);
	else
		rc = 1;
	if (out)
		memcpy(out, scratch, produced);
	munmap(scratch, cap);
	if (rc != 1)
		return rc;
	*elf = out;
	*elf_size = produced;
	return 1;
}
