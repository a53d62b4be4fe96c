/* xl's memory sizes (xl_mem.c). */
#ifndef XENITH_XL_MEM_H
#define XENITH_XL_MEM_H

#include <stdint.h>

/* A size as xl's mem-set and mem-max take it, in KiB: a number with an optional suffix, b (bytes),
 * k, m (also none), g or t, either case.  -1 if it is not one or the KiB overflow. */
int64_t xl_parse_mem_size_kb(const char *text);

#endif
