/* Page bitmaps (dirty_bitmap.h).  KVM logs each memory slot from its own first page; migration
 * counts pages in memfd order, where a slot starts at any page (high RAM after low RAM's last
 * page, extra pages after RAM), so a slot's words land shifted across two of ours. */
#include "vmm/dirty_bitmap.h"

int dirty_bitmap_or_at(uint64_t *dst, uint64_t dst_bits, const uint64_t *src, uint64_t src_bits, uint64_t at)
{
	if (at > dst_bits || src_bits > dst_bits - at)
		return -1;
	uint64_t words = dirty_bitmap_words(src_bits), dst_words = dirty_bitmap_words(dst_bits);
	unsigned int shift = at % 64;

	for (uint64_t w = 0; w < words; w++) {
		uint64_t v = src[w];
		if (w == words - 1 && src_bits % 64)
			v &= (1ull << (src_bits % 64)) - 1;
		if (!v)
			continue;
		/* Every set bit is below at + src_bits <= dst_bits, so both words exist when written. */
		uint64_t d = at / 64 + w;
		dst[d] |= v << shift;
		if (shift && v >> (64 - shift) && d + 1 < dst_words)
			dst[d + 1] |= v >> (64 - shift);
	}
	return 0;
}

uint64_t dirty_bitmap_count(const uint64_t *map, uint64_t bits)
{
	uint64_t n = 0, words = dirty_bitmap_words(bits);

	for (uint64_t w = 0; w < words; w++) {
		uint64_t v = map[w];
		if (w == words - 1 && bits % 64)
			v &= (1ull << (bits % 64)) - 1;
		n += (uint64_t)__builtin_popcountll(v);
	}
	return n;
}
