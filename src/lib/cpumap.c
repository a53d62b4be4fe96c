/* CPU sets in xl's syntax (cpumap.h). */
#define _GNU_SOURCE
#include "lib/cpumap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/error.h"

void cpumap_fill(struct cpumap *map)
{
	CPU_ZERO(&map->set);
	for (unsigned int i = 0; i < CPUMAP_MAX_CPUS; i++)
		CPU_SET(i, &map->set);
}

bool cpumap_is_empty(const struct cpumap *map)
{
	return CPU_COUNT(&map->set) == 0;
}

int cpumap_first_beyond(const struct cpumap *map, unsigned int n_host_cpus)
{
	for (unsigned int i = n_host_cpus; i < CPUMAP_MAX_CPUS; i++)
		if (CPU_ISSET(i, &map->set))
			return (int)i;
	return -1;
}

/* A CPU number: decimal digits only, below CPUMAP_MAX_CPUS.  Advances *p past it. */
static int parse_cpu(const char **p, unsigned int *out)
{
	char *end;

	if (**p < '0' || **p > '9')
		return -1;
	errno = 0;
	unsigned long n = strtoul(*p, &end, 10);
	if (errno || n >= CPUMAP_MAX_CPUS)
		return -1;
	*p = end;
	*out = (unsigned int)n;
	return 0;
}

int cpumap_parse(const char *text, struct cpumap *out, char *why, size_t len)
{
	const char *p = text;

	CPU_ZERO(&out->set);
	if (!text || !*text) {
		ERR_SET(why, len, "an empty CPU list (write \"all\" or CPUs like \"0-3,^2\")");
		return -1;
	}
	if (!strcmp(text, "all")) {
		cpumap_fill(out);
		return 0;
	}
	if (*text == '^')
		cpumap_fill(out);
	while (*p) {
		const char *item = p;
		bool remove = *p == '^';
		unsigned int first, last;

		if (remove)
			p++;
		if (!strncmp(p, "node", 4)) {
			ERR_SET(why, len, "'%s': NUMA node placement is not supported by Xenith", text);
			return -1;
		}
		if (!strncmp(p, "all", 3) && (p[3] == ',' || !p[3])) {
			first = 0;
			last = CPUMAP_MAX_CPUS - 1;
			p += 3;
		} else {
			if (parse_cpu(&p, &first)) {
				ERR_SET(why, len, "'%s': '%.*s' is not a CPU number below %d", text,
					(int)strcspn(item, ","), item, CPUMAP_MAX_CPUS);
				return -1;
			}
			last = first;
			if (*p == '-') {
				p++;
				if (parse_cpu(&p, &last) || last < first) {
					ERR_SET(why, len, "'%s': '%.*s' is not a range of CPUs (N-M, N <= M, "
						"M below %d)", text, (int)strcspn(item, ","), item,
						CPUMAP_MAX_CPUS);
					return -1;
				}
			}
		}
		if (*p && *p != ',') {
			ERR_SET(why, len, "'%s': unexpected '%c' in '%.*s'", text, *p,
				(int)strcspn(item, ","), item);
			return -1;
		}
		for (unsigned int i = first; i <= last; i++) {
			if (remove)
				CPU_CLR(i, &out->set);
			else
				CPU_SET(i, &out->set);
		}
		if (*p == ',' && !*++p) {
			ERR_SET(why, len, "'%s': a trailing comma", text);
			return -1;
		}
	}
	if (cpumap_is_empty(out)) {
		ERR_SET(why, len, "'%s' leaves no CPU", text);
		return -1;
	}
	return 0;
}

char *cpumap_format(const struct cpumap *map, unsigned int n_host_cpus, char *buf, size_t len)
{
	size_t at = 0;
	unsigned int n = n_host_cpus < CPUMAP_MAX_CPUS ? n_host_cpus : CPUMAP_MAX_CPUS;
	unsigned int i = 0;
	bool all = n > 0 && cpumap_first_beyond(map, n) < 0;

	for (unsigned int c = 0; all && c < n; c++)
		all = CPU_ISSET(c, &map->set);
	/* A set that names every host CPU, or every CPU there can be, is xl's "all". */
	if (all || CPU_COUNT(&map->set) == CPUMAP_MAX_CPUS) {
		snprintf(buf, len, "all");
		return buf;
	}
	if (len)
		buf[0] = '\0';
	while (i < CPUMAP_MAX_CPUS) {
		if (!CPU_ISSET(i, &map->set)) {
			i++;
			continue;
		}
		unsigned int first = i;
		while (i + 1 < CPUMAP_MAX_CPUS && CPU_ISSET(i + 1, &map->set))
			i++;
		int w = first == i ? snprintf(buf + at, len - at, "%s%u", at ? "," : "", first) :
				     snprintf(buf + at, len - at, "%s%u-%u", at ? "," : "", first, i);
		if (w < 0 || (size_t)w >= len - at) {
			buf[at] = '\0';     /* truncated: the whole items that fit */
			break;
		}
		at += (size_t)w;
		i++;
	}
	if (!at)
		snprintf(buf, len, "none");
	return buf;
}
