/* UUIDs as Xen and libvirt write them: 16 bytes, shown as 8-4-4-4-12 hex digits. */
#ifndef XENITH_UUID_H
#define XENITH_UUID_H

#include <stdint.h>

#define UUID_TEXT_LEN 37 /* 36 characters and the NUL */

/* Exactly 36 characters, dashes at 8, 13, 18 and 23, hex digits (either case) elsewhere.
 * 0, or -1 when the text is not such a UUID (out untouched). */
int uuid_parse(const char *text, uint8_t out[16]);
/* Lower-case 8-4-4-4-12 form. */
void uuid_format(const uint8_t uuid[16], char out[UUID_TEXT_LEN]);
/* A random (version 4) UUID from getrandom(2).  0, or -errno. */
int uuid_generate(uint8_t out[16]);

#endif
