/* Page bitmaps as migration keeps them: bit i of word i / 64 is page i.  Pure helpers, so the
 * merging of KVM's per-slot logs into memfd order is tested without KVM (vmm/dirty_log.c). */
#ifndef XENITH_DIRTY_BITMAP_H
#define XENITH_DIRTY_BITMAP_H

#include <stdbool.h>
#include <stdint.h>

/* Words for `bits` bits. */
static inline uint64_t dirty_bitmap_words(uint64_t bits)
{
	return bits / 64 + (bits % 64 != 0);
}

static inline bool dirty_bitmap_test(const uint64_t *map, uint64_t bit)
{
	return map[bit / 64] >> (bit % 64) & 1;
}

static inline void dirty_bitmap_set(uint64_t *map, uint64_t bit)
{
	map[bit / 64] |= 1ull << (bit % 64);
}

/* ORs bits [0, src_bits) of src (bits past src_bits in its last word are ignored) into dst at bit
 * `at`.  0, or -1 (nothing changed) when they would reach past dst_bits. */
int dirty_bitmap_or_at(uint64_t *dst, uint64_t dst_bits, const uint64_t *src, uint64_t src_bits, uint64_t at);
/* Bits set among the first `bits`. */
uint64_t dirty_bitmap_count(const uint64_t *map, uint64_t bits);

#endif
