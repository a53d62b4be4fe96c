/* What the blk-* tests share: connecting a vbd (blkfront, `vbd=N`, default device/vbd's first entry;
 * `timeout=S`, 20), the test pattern and pipelined whole-range passes over it.
 *
 * The pattern, which the host side writes and checks with the same formula (tests/system/blk.sh):
 * 512-byte sector s (in 512-byte units from the start of the disk) holds 64 little-endian 64-bit
 * words, w[0] = s, w[1] = seed, w[i] = s * 0x9e3779b97f4a7c15 + seed * 0xbf58476d1ce4e5b9 + i (mod 2^64)
 * for i = 2..63. */
#ifndef GUEST_TESTS_BLK_COMMON_H
#define GUEST_TESTS_BLK_COMMON_H

#include <stdint.h>
#include "blkfront.h"

#define BLK_IO_TIMEOUT_NS (10 * NS_PER_S)

/* Connects vbd=N (or devid, for blk_connect) and prints `blk: xvda sectors N sector-size S ro=R`. */
struct blkfront *blk_up(const char *cmdline, char *why);
struct blkfront *blk_connect(unsigned int devid, uint64_t timeout_s, char *why);

void blk_fill(uint8_t *buf, uint64_t sector, unsigned int nsect, uint64_t seed);
/* -1 if every sector matches, else the first sector (absolute) that does not. */
int64_t blk_check(const uint8_t *buf, uint64_t sector, unsigned int nsect, uint64_t seed);

/* Writes (write = 1) or reads and checks the pattern over sectors [start, start + count) in 44 KiB
 * requests, up to BF_SLICES in flight.  NULL, or why not (in why). */
const char *blk_pattern_pass(struct blkfront *bf, int write, uint64_t start, uint64_t count, uint64_t seed,
                             char *why);

#endif
