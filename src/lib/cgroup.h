/* A domain's share of the host's CPUs, as Xen's credit scheduler gives it (weight and cap), held
 * by Linux's own controls: one cgroup per domain under a Xenith slice (docs/sched.md).
 *
 *   <hierarchy with the cpu controller>/xenith.slice/<name>-<pid>/
 *
 * The VMM moves its whole process there before its vCPU threads start, writes the weight and cap,
 * and removes the cgroup when it ends; xl's reaper removes what a killed VMM left (its path is
 * in the domain's run directory, file `cgroup`).  cgroup v2 is preferred; on a hybrid host whose
 * cpu controller is bound to a v1 hierarchy, that one serves (cpu.shares, cpu.cfs_*).  Without
 * either the domain runs unweighted and every request for weight or cap says why. */
#ifndef XENITH_CGROUP_H
#define XENITH_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CGROUP_SLICE "xenith.slice"
#define CGROUP_CAP_PERIOD_US 100000u   /* cpu.max's period: cap% of it per period */

/* Xen's credit scheduler's ranges (xen_domctl_sched_credit: 16-bit weight and cap). */
#define SCHED_WEIGHT_MIN 1u
#define SCHED_WEIGHT_MAX 65535u
#define SCHED_WEIGHT_DEFAULT 256u
#define SCHED_CAP_MAX 65535u       /* % of one CPU; 0 = no cap */

enum cgroup_kind { CGROUP_NONE, CGROUP_V2, CGROUP_V1_CPU };

/* Where the cpu controller lives on this host. */
struct cgroup_root {
	enum cgroup_kind kind;
	char path[PATH_MAX];       /* the hierarchy's mount point */
	char mount_root[PATH_MAX]; /* the mount's root inside the hierarchy ("/" unless a container) */
	char why[512];             /* CGROUP_NONE: why there is no cpu control */
};

struct domain_cgroup {
	enum cgroup_kind kind;     /* CGROUP_NONE: not made (or removed) */
	char path[PATH_MAX];       /* the domain's cgroup directory */
	char home[PATH_MAX];       /* the cgroup the process came from, to go back before removal */
};

/* Finds the cpu controller's hierarchy from a mountinfo file (/proc/self/mountinfo; tests give
 * their own).  Always fills root; 0 when found, -1 with root->why. */
int cgroup_root_find(struct cgroup_root *root, const char *mountinfo_path);
/* Makes <root>/<slice>/<leaf> (enabling the cpu controller on the way on v2, if it may) and
 * remembers pid's current cgroup as home.  0, or -1 with err. */
int cgroup_domain_create(const struct cgroup_root *root, const char *slice, const char *leaf,
			 pid_t pid, struct domain_cgroup *cg, char *err, size_t errlen);
/* Moves a whole process (every thread) into the domain's cgroup. */
int cgroup_domain_enter(const struct domain_cgroup *cg, pid_t pid, char *err, size_t errlen);
int cgroup_domain_set_weight(const struct domain_cgroup *cg, unsigned int weight, char *err, size_t errlen);
int cgroup_domain_set_cap(const struct domain_cgroup *cg, unsigned int cap, char *err, size_t errlen);
/* Moves pid (if > 0 and alive) back home, or to the hierarchy's root, and removes the cgroup.
 * Idempotent. */
int cgroup_domain_remove(struct domain_cgroup *cg, pid_t pid, char *err, size_t errlen);
/* Removes a cgroup whose processes are gone (a killed VMM's): for xl's reaper.  A missing one is
 * fine; one under no cgroup file system, or outside a Xenith slice, is refused. */
int cgroup_remove_leftover(const char *path, char *err, size_t errlen);
/* Removes an empty slice (tests make their own). */
int cgroup_slice_remove(const struct cgroup_root *root, const char *slice, char *err, size_t errlen);

/* The maps, documented in docs/sched.md. */
unsigned int cgroup_v2_weight(unsigned int xen_weight);   /* cpu.weight: 1..10000, 256 -> 100 */
unsigned int cgroup_v1_shares(unsigned int xen_weight);   /* cpu.shares: 256 -> 1024 */
/* cpu.max's text for a cap: "max 100000" for 0, else "<cap*1000> 100000". */
void cgroup_cpu_max(unsigned int cap, char *buf, size_t len);
const char *cgroup_kind_name(enum cgroup_kind kind);

#endif
