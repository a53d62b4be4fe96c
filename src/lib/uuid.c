#include "lib/uuid.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "lib/hex.h"

int uuid_parse(const char *text, uint8_t out[16])
{
	uint8_t b[16] = { 0 };
	size_t nibble = 0;

	if (strlen(text) != UUID_TEXT_LEN - 1)
		return -1;
	for (size_t i = 0; i < UUID_TEXT_LEN - 1; i++) {
		bool dash_here = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash_here != (text[i] == '-'))
			return -1;
		if (dash_here)
			continue;
		int v = hex_digit_value(text[i]);
		if (v < 0)
			return -1;
		b[nibble / 2] |= (uint8_t)(nibble % 2 ? v : v << 4);
		nibble++;
	}
	memcpy(out, b, sizeof(b));
	return 0;
}

void uuid_format(const uint8_t b[16], char out[UUID_TEXT_LEN])
{
	snprintf(out, UUID_TEXT_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

int uuid_generate(uint8_t out[16])
{
	size_t got = 0;

	while (got < 16) {
		ssize_t n = getrandom(out + got, 16 - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	out[6] = (out[6] & 0x0f) | 0x40; /* version 4: random */
	out[8] = (out[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	return 0;
}
