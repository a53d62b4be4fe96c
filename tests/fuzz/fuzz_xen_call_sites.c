/* libFuzzer target for the Xen call-site rewriter (src/vmm/xen_call_sites.c).  Input starting with
 * the ELF magic is a whole kernel file; anything else is code, wrapped into a small ELF (64- or
 * 32-bit by the first byte) as one executable segment at a kernel address, with the same bytes
 * mapped again read-only elsewhere (to be ignored), so the instruction matching sees code rather
 * than header bytes.
 * Besides the sanitizers' findings it aborts when the rewriter breaks what it promises:
 *   - the image changes only in the reported sites' 3 bytes, each from vmcall/vmmcall to e7 5c 90,
 *     and only when it returns > 0 (a refusal or 0 leaves it untouched);
 *   - a refusal says why; a second pass over the result rewrites nothing.
 * Images sit in mallocs of exactly their size, so ASan catches a read or write past the end.
 * Build and run: tests/fuzz/run [SECONDS]. */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vmm/xen_call_sites.h"

#define WRAP_VA64 0xffffffff81000000ull
#define WRAP_VA32 0xc1000000u

static void fail(const char *what, int rc, const char *why)
{
	fprintf(stderr, "xen_call_sites: %s (rc %d, %s)\n", what, rc, why);
	abort();
}

/* Code bytes as an ELF: executable at the kernel's text address, read-only 1 MiB above. */
static uint8_t *wrap(const uint8_t *code, size_t n, bool is64, size_t *size)
{
	size_t ehsz = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	size_t phsz = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	size_t hdrs = ehsz + 2 * phsz;
	uint8_t *elf = malloc(hdrs + n);

	if (!elf)
		return NULL;
	memset(elf, 0, hdrs);
	memcpy(elf + hdrs, code, n);
	if (is64) {
		Elf64_Ehdr h = { .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
				 .e_phoff = ehsz, .e_ehsize = (uint16_t)ehsz, .e_phentsize = (uint16_t)phsz,
				 .e_phnum = 2 };
		memcpy(h.e_ident, ELFMAG, SELFMAG);
		h.e_ident[EI_CLASS] = ELFCLASS64, h.e_ident[EI_DATA] = ELFDATA2LSB;
		Elf64_Phdr ph[2] = {
			{ PT_LOAD, PF_R | PF_X, hdrs, WRAP_VA64, WRAP_VA64, n, n, 16 },
			{ PT_LOAD, PF_R, hdrs, WRAP_VA64 + (1 << 20), 0, n, n, 16 },
		};
		memcpy(elf, &h, sizeof(h));
		memcpy(elf + ehsz, ph, sizeof(ph));
	} else {
		Elf32_Ehdr h = { .e_type = ET_EXEC, .e_machine = EM_386, .e_version = EV_CURRENT,
				 .e_phoff = (uint32_t)ehsz, .e_ehsize = (uint16_t)ehsz,
				 .e_phentsize = (uint16_t)phsz, .e_phnum = 2 };
		memcpy(h.e_ident, ELFMAG, SELFMAG);
		h.e_ident[EI_CLASS] = ELFCLASS32, h.e_ident[EI_DATA] = ELFDATA2LSB;
		Elf32_Phdr ph[2] = {
			{ PT_LOAD, (uint32_t)hdrs, WRAP_VA32, WRAP_VA32, (uint32_t)n, (uint32_t)n, PF_R | PF_X, 16 },
			{ PT_LOAD, (uint32_t)hdrs, WRAP_VA32 + (1 << 20), 0, (uint32_t)n, (uint32_t)n, PF_R, 16 },
		};
		memcpy(elf, &h, sizeof(h));
		memcpy(elf + ehsz, ph, sizeof(ph));
	}
	*size = hdrs + n;
	return elf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xen_call_sites found;
	char why[512] = "";
	size_t len = size;
	uint8_t *image;

	if (size >= SELFMAG && !memcmp(data, ELFMAG, SELFMAG)) {
		image = malloc(size ? size : 1);
		if (image)
			memcpy(image, data, size);
	} else {
		if (!size)
			return 0;
		image = wrap(data + 1, size - 1, data[0] & 1, &len);
	}
	uint8_t *before = malloc(len ? len : 1);
	if (!image || !before) {
		free(image);
		free(before);
		return 0;
	}
	memcpy(before, image, len);

	int rc = xen_call_sites_patch(image, len, &found, why, sizeof(why));
	if (rc < 0 && (!memchr(why, '\0', sizeof(why)) || !why[0]))
		fail("refused without a reason", rc, "-");
	if (rc <= 0 && memcmp(before, image, len))
		fail("the image changed although nothing was rewritten", rc, why);
	if (rc >= 0) {
		unsigned int fresh = 0;
		for (unsigned int s = 0; s < found.nsites; s++) {
			const struct xen_call_site *site = &found.site[s];
			if (site->offset > len || len - site->offset < 3)
				fail("a site lies outside the image", rc, why);
			const uint8_t *was = before + site->offset, *now = image + site->offset;
			if (site->was == XEN_CALL_PORT_OUT)
				continue;
			fresh++;
			if (was[0] != 0x0f || was[1] != 0x01 || (was[2] != 0xc1 && was[2] != 0xd9) ||
			    now[0] != 0xe7 || now[1] != 0x5c || now[2] != 0x90)
				fail("a site was not vmcall/vmmcall turned into out %eax,$0x5c", rc, why);
		}
		if ((unsigned int)rc != fresh)
			fail("the count returned is not the sites rewritten", rc, why);
		for (size_t i = 0; i < len; i++) {
			if (before[i] == image[i])
				continue;
			bool in_site = false;
			for (unsigned int s = 0; s < found.nsites; s++)
				in_site |= i >= found.site[s].offset && i - found.site[s].offset < 3;
			if (!in_site)
				fail("a byte outside every site changed", rc, why);
		}
		char line[1024];
		xen_call_sites_describe(&found, line, sizeof(line));
		if (rc > 0) {
			memcpy(before, image, len);
			if (xen_call_sites_patch(image, len, NULL, why, sizeof(why)) > 0 ||
			    memcmp(before, image, len))
				fail("a second pass rewrote something", rc, why);
		}
	}
	free(before);
	free(image);
	return 0;
}
