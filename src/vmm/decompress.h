/* The compressors Linux's build may pack a bzImage payload with, each found by its magic and
 * decoded with Debian's library for it (lzop's container is parsed here: liblzo2 only does blocks). */
#ifndef XENITH_DECOMPRESS_H
#define XENITH_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>

enum decompress_result {
	DECOMPRESS_BAD = -1,    /* corrupt, truncated or unsupported: `why` says which */
	DECOMPRESS_DONE = 0,    /* the whole stream decoded into *out_len bytes */
	DECOMPRESS_FULL = 1,    /* the stream holds more than out_cap bytes */
};

struct decompressor {
	const char *name;
	const uint8_t *magic;
	size_t magic_len;
	/* Decodes in[0, in_len) into out[0, out_cap).  Never writes past out_cap, never reads past
	 * in_len, and allocates at most a bounded amount of working memory (DECOMPRESS_MEMLIMIT). */
	enum decompress_result (*decode)(const uint8_t *in, size_t in_len, uint8_t *out,
					 size_t out_cap, size_t *out_len, char *why, size_t whylen);
};

/* Enough for the dictionaries of `xz --lzma2=dict=32MiB` and `lzma -9` (64 MiB), as the kernel's
 * Makefile uses them; a stream asking for more is refused rather than served. */
#define DECOMPRESS_MEMLIMIT (128ull << 20)

/* The compressor whose magic `data` starts with, or NULL. */
const struct decompressor *decompressor_find(const uint8_t *data, size_t len);
/* Their names, ", "-separated, into buf (for messages). */
void decompressor_list(char *buf, size_t len);

#endif
