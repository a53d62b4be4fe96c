/* xl vcpu-list, vcpu-pin and sched-credit as functions (xl_sched.c): one domain's VMM asked through
 * the control requests of docs/sched.md, for xl's commands and xenith-libvirtd's vcpuinfo, vcpupin
 * and schedinfo.  Each returns as xl_domain_request: 0, -ESRCH when the domain is gone, other
 * -errno with the VMM's message in err; a reply that does not parse is -EPROTO with it in err. */
#ifndef XENITH_XL_SCHED_H
#define XENITH_XL_SCHED_H

#include <stddef.h>

struct xl_ctx;

/* One vcpu-list line: "vcpu=I cpu=C state=S time=T hard=LIST soft=LIST". */
struct xl_vcpu_info {
	unsigned int id;
	int cpu;                 /* -1 while it has no thread */
	char state;              /* 'r' running or runnable, 'b' blocked, 'p' no thread */
	double time;             /* seconds */
	char hard[512], soft[512];   /* cpumap lists as xl prints them */
};

/* The vCPUs of domain domid (>= 1): 0 with a malloc'd *out (NULL when none) and *n; -EPROTO with
 * the line that does not parse in err. */
int xl_vcpu_list(struct xl_ctx *ctx, unsigned int domid, struct xl_vcpu_info **out, size_t *n, char *err,
		 size_t errlen);

/* vcpu-pin: vCPU `vcpu` (a number or "all") to the hard list (or "-"), and soft (NULL: none). */
int xl_vcpu_pin(struct xl_ctx *ctx, unsigned int domid, const char *vcpu, const char *hard, const char *soft,
		char *err, size_t errlen);

/* sched-credit: sets what is not NULL (weight 1..65535, cap 0..65535, checked by the VMM), then
 * reads both.  On 0, *weight_out and *cap_out hold the domain's values, and unenforced (when not
 * NULL) the reason a VMM without a cgroup gives, or "". */
struct xl_credit {
	unsigned int weight, cap;
	char unenforced[512];
};
int xl_sched_credit(struct xl_ctx *ctx, unsigned int domid, const unsigned int *weight, const unsigned int *cap,
		    struct xl_credit *out, char *err, size_t errlen);

#endif
