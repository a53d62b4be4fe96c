/* xl's memory sizes (xl_mem.c). */
#ifndef XENITH_XL_MEM_H
#define XENITH_XL_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xl_ctx;

/* A size as xl's mem-set and mem-max take it, in KiB: a number with an optional suffix, b (bytes),
 * k, m (also none), g or t, either case.  -1 if it is not one or the KiB overflow. */
int64_t xl_parse_mem_size_kb(const char *text);

/* xl mem-set (max false: memory/target) or mem-max (max true: the VMM's maximum reservation, then
 * memory/static-max) of domain domid (>= 1) called `name`, to kib, with libxl's refusals; nothing
 * waits for the guest.  0; -1 with xl's message (the whole line) in err; -2 when xenstored could
 * not be reached, or the run directory used (xl then says no more). */
int xl_domain_mem(struct xl_ctx *ctx, unsigned int domid, const char *name, bool max, uint64_t kib,
		  char *err, size_t errlen);

#endif
