/* xl vcpu-set as a function (xl_vcpu.c), for xl's command and xenith-libvirtd's setvcpus --live. */
#ifndef XENITH_XL_VCPU_H
#define XENITH_XL_VCPU_H

#include <stdbool.h>
#include <stddef.h>

struct xl_ctx;

/* Brings vCPUs 0..want-1 of domain domid (>= 1) online and the rest offline, as xl vcpu-set does
 * (cpu/<n>/availability in one transaction; the domain's vCPUs are its cpu/<n> nodes).  With
 * check_host, more vCPUs than the host has CPUs are refused as xl does without --ignore-host.
 * 0; -1 with xl's message (one or two whole lines, no final newline) in err; -2 when xenstored
 * could not be reached or the run directory used. */
int xl_domain_vcpu_set(struct xl_ctx *ctx, unsigned int domid, unsigned long want, bool check_host,
		       char *err, size_t errlen);

#endif
