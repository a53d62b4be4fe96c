/* libFuzzer target for the PVH ELF loader: any bytes as a kernel image, loaded into a small fake
 * guest RAM so the copy and zero-fill paths run too.  Besides the sanitizers' own findings it
 * aborts when an accepted image breaks what the loader promises:
 *   - only checking (no load target) gives the same answer, entry and highest address;
 *   - everything loaded lies inside RAM, so highest does too.
 * Build and run: tests/fuzz/run [SECONDS]. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vmm/pvh_loader.h"

#define RAM_SIZE (4u << 20)    /* the test guest loads at 1 MiB and needs a little more */

static uint8_t ram[RAM_SIZE];

static void *ram_gpa_to_hva(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	if (gpa > RAM_SIZE || len > RAM_SIZE - gpa)
		return NULL;
	return ram + gpa;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_load_target target = { ram_gpa_to_hva, NULL };
	uint32_t entry = 0, check_entry = 0;
	uint64_t highest = 0, check_highest = 0;
	char why[256], check_why[256];

	int rc = pvh_elf_parse(data, size, &target, &entry, &highest, why, sizeof(why));
	int check_rc = pvh_elf_parse(data, size, NULL, &check_entry, &check_highest, check_why,
				     sizeof(check_why));
	if (rc == 0) {
		if (check_rc != 0 || check_entry != entry || check_highest != highest) {
			fprintf(stderr, "loading accepted (entry %#x, highest %#llx) but checking gave "
				"rc %d entry %#x highest %#llx: %s\n", entry,
				(unsigned long long)highest, check_rc, check_entry,
				(unsigned long long)check_highest, check_rc ? check_why : "-");
			abort();
		}
		if (highest > RAM_SIZE) {
			fprintf(stderr, "accepted with highest %#llx beyond the %u bytes of RAM\n",
				(unsigned long long)highest, RAM_SIZE);
			abort();
		}
	} else {
		if (!memchr(why, '\0', sizeof(why)) || !why[0]) {
			fprintf(stderr, "refused without a reason\n");
			abort();
		}
		/* Refusing only for want of room is the one answer that may differ. */
		if (check_rc == 0 && !strstr(why, "does not fit")) {
			fprintf(stderr, "loading refused (%s) but checking accepted\n", why);
			abort();
		}
	}
	return 0;
}
