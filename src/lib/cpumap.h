/* Sets of host CPUs as xl.cfg(5) and `xl vcpu-pin` write them ("all", "0-3,^2", "5"), shared by
 * xl (cpus=, cpus_soft=) and the VMM (--cpus, vcpu-pin): one parser, one printer.  A set holds
 * CPUs 0 to CPUMAP_MAX_CPUS - 1, which is glibc's cpu_set_t, so it goes to sched_setaffinity
 * as it is. */
#ifndef XENITH_CPUMAP_H
#define XENITH_CPUMAP_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

#define CPUMAP_MAX_CPUS CPU_SETSIZE

struct cpumap {
	cpu_set_t set;
};

/* "all", or comma-separated items N, N-M, ^N, ^N-M applied left to right ("^" removes; a list that
 * starts with "^" starts from all, as xl's parse_cpurange does).  NUMA forms (node:, nodes:) are
 * refused: Xenith places no memory by node.  0, or -1 with why ("'0-x': ..."). */
int cpumap_parse(const char *text, struct cpumap *out, char *why, size_t len);
/* As xl prints affinities: "all" when every CPU below n_host_cpus is in the set (and none above),
 * else ranges "0-3,5"; "none" when empty.  Returns buf. */
char *cpumap_format(const struct cpumap *map, unsigned int n_host_cpus, char *buf, size_t len);
void cpumap_fill(struct cpumap *map);
bool cpumap_is_empty(const struct cpumap *map);
/* The first CPU in the set at or above n_host_cpus, or -1: a pin to a CPU the host lacks. */
int cpumap_first_beyond(const struct cpumap *map, unsigned int n_host_cpus);

#endif
