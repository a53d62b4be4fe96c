/* libFuzzer target for netback's checksum completion (netback_csum_fill in
 * src/backends/netback_ring.c): the Ethernet/IPv4/IPv6/TCP/UDP headers of a frame netfront sent with
 * NETTXF_csum_blank, every byte the guest's.  The frame sits in a malloc of exactly its size, so ASan
 * sees any read past it.  Besides the sanitizers' findings it aborts when
 *   - a refusal changed the frame or gave no reason;
 *   - an accepted frame changed anywhere but one 16-bit field;
 *   - for plain IPv4 (20-byte header) TCP or UDP, the one's-complement algebra does not hold: the
 *     segment's sum after completion plus the partial value that was in the field is all ones
 *     (checked here with its own parse and RFC 1071 sum).
 * Build and run: tests/fuzz/run [SECONDS]. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backends/netback.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* netback_ring.c links the hypercall table (fake domain sources); its shutdown is never reached. */
struct domain;
void domain_shutdown(struct domain *d, int reason);
void domain_shutdown(struct domain *d, int reason)
{
	(void)d;
	(void)reason;
}

static void fail(const char *what)
{
	fprintf(stderr, "netback_csum: %s\n", what);
	abort();
}

static uint32_t sum16(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* The algebra for the simplest shape: Ethernet, IPv4 without options, TCP or UDP. */
static void check_ipv4(const uint8_t *before, const uint8_t *after, size_t size, size_t first, size_t last)
{
	if (size < 34 || before[12] != 0x08 || before[13] != 0x00 || before[14] != 0x45)
		return;
	unsigned int proto = before[23], total = (unsigned int)before[16] << 8 | before[17];
	size_t field = proto == 6 ? 34 + 16 : proto == 17 ? 34 + 6 : 0;
	if (!field || total < 20 || 14 + (size_t)total > size || field + 2 > 14 + (size_t)total)
		return;
	if (first < field || last > field + 1)
		fail("the checksum was written somewhere other than the L4 checksum field");
	uint32_t partial = (uint32_t)before[field] << 8 | before[field + 1];
	uint32_t s = sum16(after + 34, 14 + (size_t)total - 34) + partial;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	/* A UDP checksum of 0 is sent as 0xffff (the same one's-complement zero). */
	if (s != 0xffff && !(proto == 17 && after[field] == 0xff && after[field + 1] == 0xff))
		fail("the completed checksum does not verify");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *frame = malloc(size ? size : 1), *before = malloc(size ? size : 1);
	char why[256] = "";

	if (!frame || !before)
		abort();
	memcpy(frame, data, size);
	memcpy(before, data, size);
	int rc = netback_csum_fill(frame, size, why, sizeof(why));
	if (rc < 0) {
		if (memcmp(frame, before, size))
			fail("a refused frame was changed");
		if (!why[0])
			fail("a refusal without a reason");
	} else {
		size_t first = size, last = 0;
		for (size_t i = 0; i < size; i++) {
			if (frame[i] != before[i]) {
				if (first == size)
					first = i;
				last = i;
			}
		}
		if (first != size && last > first + 1)
			fail("bytes beyond one 16-bit field changed");
		if (first != size)
			check_ipv4(before, frame, size, first, last);
	}
	free(frame);
	free(before);
	return 0;
}
