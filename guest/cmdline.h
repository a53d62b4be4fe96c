/* The kernel command line: space-separated words, `key=value` ones looked up by key. */
#ifndef GUEST_CMDLINE_H
#define GUEST_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies the value of the first `key=value` word into val (truncated, NUL-terminated). */
bool cmdline_get(const char *cmdline, const char *key, char *val, size_t size);
/* The value of key as a decimal (or 0x hexadecimal) number, or dflt if absent or malformed. */
uint64_t cmdline_u64(const char *cmdline, const char *key, uint64_t dflt);

#endif
