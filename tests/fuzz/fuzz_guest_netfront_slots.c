/* libFuzzer target for the test guest's rx chain (guest/netfront_slots.c, compiled for the host):
 * any sequence of rx responses a backend could write (flags, status, offset, the extra info's MORE
 * flag) fed to nf_rx_chain_add over pages of known bytes.  It aborts when
 *   - a byte is written past the gather buffer's capacity (guard bytes after it), or a frame is
 *     reported longer than the capacity;
 *   - a finished frame's bytes are not the fragments' bytes in order (each fragment re-derived here
 *     from its slot's offset and status, the way netif.h defines them), or its length is not their sum;
 *   - a chain is reported without feature-sg negotiated, or a fragment outside its page is accepted.
 * Input: byte 0 chooses sg and the capacity; then 6 bytes per slot: flags (u16: NETRXF_* in the low
 * bits, the extra info's MORE in bit 15), status (i16: a negative one as it is, else folded to 0..4159,
 * so that most lengths are plausible and some run past the page), offset (u16 folded to 0..4159). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../guest/netfront_slots.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GUARD 32
#define MAX_CAP (4 * NF_PAGE_SIZE)

static uint8_t page_byte(unsigned int slot, unsigned int k) { return (uint8_t)(slot * 37 + k * 7 + 1); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[MAX_CAP + GUARD], page[NF_PAGE_SIZE], expect[MAX_CAP];
	struct nf_rx_chain c;

	if (size < 1)
		return 0;
	int sg = data[0] & 1;
	size_t cap = 1 + ((size_t)(data[0] >> 1) * (MAX_CAP - 1)) / 127;
	memset(buf, 0xa5, sizeof(buf));
	nf_rx_chain_init(&c, buf, cap, sg);
	size_t exp_len = 0;
	int exp_ok = 1, first = 1;
	unsigned int slot = 0;
	for (size_t at = 1; at + 6 <= size; at += 6, slot++) {
		struct nf_rx_slot s;
		uint16_t flags;
		memcpy(&flags, data + at, 2);
		memcpy(&s.status, data + at + 2, 2);
		memcpy(&s.offset, data + at + 4, 2);
		if (s.status >= 0)
			s.status = (int16_t)(s.status % (NF_PAGE_SIZE + 64));
		s.offset = (uint16_t)(s.offset % (NF_PAGE_SIZE + 64));
		s.extra_more = flags >> 15;
		s.flags = flags & 0x7fff;
		for (unsigned int k = 0; k < NF_PAGE_SIZE; k++)
			page[k] = page_byte(slot, k);
		int was_extra = c.active && c.extras;
		enum nf_rx_verdict v = nf_rx_chain_add(&c, &s, page);
		for (int g = 0; g < GUARD; g++)
			if (buf[cap + g] != 0xa5)
				abort();
		/* our own account of the data slots */
		if (!was_extra) {
			if (s.status < 0 || (size_t)s.offset + (size_t)(uint16_t)s.status > NF_PAGE_SIZE)
				exp_ok = 0;
			else if (exp_len + (size_t)s.status <= MAX_CAP)
				memcpy(expect + exp_len, page + s.offset, (size_t)s.status);
			if (s.status >= 0)
				exp_len += (size_t)s.status;
			if (!first && !sg)
				exp_ok = 0;
			first = 0;
		}
		if (v == NF_RX_FRAME) {
			if (c.frame_len > cap && c.frame != c.single)
				abort();
			if (!exp_ok || c.frame_len != exp_len || memcmp(c.frame, expect, exp_len))
				abort();
		}
		if (v != NF_RX_MORE) {
			exp_len = 0;
			exp_ok = 1;
			first = 1;
		}
	}
	return 0;
}
