/* Where a domain's vCPUs run and what share of the host they get: Xen's hard and soft affinity
 * per vCPU and the credit scheduler's weight and cap, held by Linux's own controls
 * (docs/sched.md).  Hard affinity is each vCPU thread's CPU mask (sched_setaffinity, set by the
 * thread itself when it starts, and by vcpu-pin from the main thread through its tid).  Linux has
 * no soft affinity, so a soft affinity is kept and shown, never applied.  Weight and cap are the
 * domain's cgroup (lib/cgroup.h); without one they are kept and shown, and every request that sets
 * them says why they are not enforced. */
#ifndef XENITH_SCHED_H
#define XENITH_SCHED_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include "lib/cpumap.h"
#include "lib/domain_limits.h"
#include "lib/cgroup.h"

struct domain;
struct vcpu;

struct domain_sched {
	pthread_mutex_t lock;                  /* guards what follows */
	struct cgroup_root root;
	struct domain_cgroup cgroup;
	char why[600];                         /* no cgroup: why weight and cap are not enforced */
	unsigned int weight, cap;              /* Xen's: 1..65535 (256), 0..65535 % of a CPU (0) */
	struct cpumap hard[DOMAIN_MAX_VCPUS], soft[DOMAIN_MAX_VCPUS];
	pid_t tid[DOMAIN_MAX_VCPUS];           /* each vCPU thread's once it runs, else 0 */
};

/* One vCPU as `vcpu-list` shows it. */
struct vcpu_sched_info {
	bool online;        /* its thread runs */
	int cpu;            /* the host CPU it last ran on, -1 when unknown */
	char state;         /* 'r' running or runnable, 'b' blocked, 'p' offline */
	double cpu_seconds;
};

/* --weight/--cap, --cpus/--cpus-soft options: SPEC is LIST (every vCPU) or V=LIST (vCPU V). */
int sched_parse_affinity_option(const char *option, const char *spec, struct cpumap maps[DOMAIN_MAX_VCPUS],
				char *err, size_t errlen);

/* Xen's defaults (weight 256, no cap, every CPU), no cgroup: from here on end and destroy are safe. */
void domain_sched_init(struct domain_sched *s);
/* The domain's parameters. */
void domain_sched_configure(struct domain_sched *s, unsigned int weight, unsigned int cap,
			    const struct cpumap hard[DOMAIN_MAX_VCPUS], const struct cpumap soft[DOMAIN_MAX_VCPUS]);
/* Puts the whole VMM process in <cpu hierarchy>/xenith.slice/<name>-<pid> and writes the weight
 * and cap.  Never fails the domain: without a cgroup, LOGs once and keeps s->why.  Returns the
 * cgroup's path, or NULL. */
const char *domain_sched_enter(struct domain_sched *s, const char *name);
/* Called by each vCPU thread as it starts: records its tid and applies its hard affinity. */
void domain_sched_vcpu_thread(struct domain_sched *s, unsigned int vcpu_id);
/* vCPU `id` (or every vCPU for -1, up to n_vcpus) gets hard and/or soft (NULL: unchanged).  0, or
 * -1 with err (a CPU the host lacks, an unknown vCPU, the kernel refusing the mask). */
int domain_sched_pin(struct domain_sched *s, int id, unsigned int n_vcpus, const struct cpumap *hard,
		     const struct cpumap *soft, char *err, size_t errlen);
/* New weight and/or cap (negative: unchanged).  0, or with err: -EINVAL (out of range), -ENOTSUP
 * (no cgroup: why), -EIO (the cgroup refused it). */
int domain_sched_set(struct domain_sched *s, int weight, int cap, char *err, size_t errlen);
/* The weight and cap, and whether they are enforced (else why, into why). */
bool domain_sched_get(struct domain_sched *s, unsigned int *weight, unsigned int *cap, char *why, size_t len);
/* A vCPU's affinities as xl prints them. */
void domain_sched_affinity_text(struct domain_sched *s, unsigned int id, char *hard, char *soft, size_t len);
void domain_sched_vcpu_info(struct domain_sched *s, unsigned int id, bool thread_started,
			    struct vcpu_sched_info *out);
/* The domain ends: the process leaves its cgroup, which is removed. */
void domain_sched_end(struct domain_sched *s);
void domain_sched_destroy(struct domain_sched *s);

#endif
