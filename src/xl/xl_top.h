/* xl top's samples and rows (xl_top.c), apart so that unit tests format them. */
#ifndef XENITH_XL_TOP_H
#define XENITH_XL_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include "lib/domain_limits.h"

/* One domain at one moment, from its VMM's info, vif-list stats and vbd-list stats replies. */
struct xl_top_sample {
	unsigned int domid;
	char name[DOMAIN_NAME_MAX + 1];
	char state[7];                  /* xl's order: r b p s c d */
	double cpu_seconds;
	unsigned long long mem_kb, maxmem_kb;
	unsigned int vcpus;
	unsigned int nets, vbds;
	unsigned long long net_tx_bytes, net_rx_bytes;  /* as the guest sent and received */
	unsigned long long vbd_reads, vbd_writes, vbd_read_bytes, vbd_write_bytes;
};

/* xentop's batch header line (with its newline). */
extern const char xl_top_header[];

/* Fills what `info_reply` says (words key=value after "ok "); false if it has no domid= and mem=. */
bool xl_top_parse_info(const char *info_reply, struct xl_top_sample *s);
/* Adds the counters of a `vif-list stats` or `vbd-list stats` reply (one device per line). */
void xl_top_parse_vifs(const char *reply, struct xl_top_sample *s);
void xl_top_parse_vbds(const char *reply, struct xl_top_sample *s);

/* One row as xentop prints it: CPU(%) from `prev` (NULL: 0.0) over `elapsed` seconds, MEM(%) and
 * MAXMEM(%) of the host's `host_kb`.  Writes a line with its newline into out. */
void xl_top_format_row(const struct xl_top_sample *s, const struct xl_top_sample *prev, double elapsed,
		       unsigned long long host_kb, char *out, size_t len);

/* xl uptime's duration: "D days, HH:MM:SS" (short: without seconds), as Xen's xl prints it. */
void xl_uptime_text(unsigned long seconds, bool short_mode, char *out, size_t len);

#endif
