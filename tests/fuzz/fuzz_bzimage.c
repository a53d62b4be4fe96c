/* libFuzzer target for the bzImage loader: any bytes as a kernel file.  Random bytes rarely
 * pass the setup header, so the first input byte picks one of two shapes:
 *   - even: the rest is the file, as is;
 *   - odd:  the rest is a payload (compressed stream + size_append) that the target wraps in a
 *           well-formed setup header, so the mutations land in the decompressors.
 * Besides the sanitizers' own findings it aborts when bzimage_unpack breaks its promises:
 *   - 1 comes with an ELF of at most BZIMAGE_VMLINUX_MAX bytes and a compressor name;
 *   - 0 and -1 leave no output behind, and -1 always says why.
 * Build and run: tests/fuzz/run [SECONDS]. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vmm/bzimage.h"

#define SETUP_SECTS 4
#define PM_START ((SETUP_SECTS + 1) * 512)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *wrapped(const uint8_t *payload, size_t len, size_t *size)
{
	uint8_t *img = calloc(1, PM_START + len);
	uint32_t length = (uint32_t)len;

	if (!img)
		return NULL;
	img[0x1f1] = SETUP_SECTS;
	img[0x1fe] = 0x55;
	img[0x1ff] = 0xaa;
	memcpy(img + 0x202, "HdrS", 4);
	img[0x206] = 0x0f;                     /* protocol 2.15 */
	img[0x207] = 0x02;
	memcpy(img + 0x24c, &length, 4);       /* payload_offset 0, payload_length = all of it */
	memcpy(img + PM_START, payload, len);
	*size = PM_START + len;
	return img;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *file, *elf = (uint8_t *)&file;    /* must come back NULL unless accepted */
	size_t file_size, elf_size = 1;
	const char *compressor = NULL;
	char why[256];

	if (size == 0)
		return 0;
	if (data[0] & 1) {
		file = wrapped(data + 1, size - 1, &file_size);
	} else {
		/* An exact-size copy, so ASan sees reads past the end of the file. */
		file_size = size - 1;
		file = malloc(file_size ? file_size : 1);
		if (file)
			memcpy(file, data + 1, file_size);
	}
	if (!file)
		return 0;
	why[0] = '\0';
	int rc = bzimage_unpack(file, file_size, &elf, &elf_size, &compressor, why, sizeof(why));
	if (rc == 1) {
		if (!elf || elf_size < 4 || elf_size > BZIMAGE_VMLINUX_MAX || !compressor ||
		    memcmp(elf, "\177ELF", 4)) {
			fprintf(stderr, "accepted without a proper ELF (%zu bytes, %s)\n", elf_size,
				compressor ? compressor : "no compressor");
			abort();
		}
		free(elf);
	} else if (rc == 0 || rc == -1) {
		if (elf || elf_size) {
			fprintf(stderr, "refused (%d) but left output behind\n", rc);
			abort();
		}
		if (rc == -1 && (!memchr(why, '\0', sizeof(why)) || !why[0])) {
			fprintf(stderr, "refused without a reason\n");
			abort();
		}
	} else {
		fprintf(stderr, "bzimage_unpack returned %d\n", rc);
		abort();
	}
	free(file);
	return 0;
}
