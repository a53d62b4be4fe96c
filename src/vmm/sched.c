/* A domain's placement and share (sched.h). */
#define _GNU_SOURCE
#include "vmm/sched.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>
#include "lib/error.h"

int sched_parse_affinity_option(const char *option, const char *spec, struct cpumap maps[DOMAIN_MAX_VCPUS],
				char *err, size_t errlen)
{
	const char *list = spec, *eq = strchr(spec, '=');
	struct cpumap map;
	char why[300];
	long id = -1;

	if (eq) {
		char *end;
		errno = 0;
		id = strtol(spec, &end, 10);
		if (end != eq || end == spec || errno || id < 0 || id >= DOMAIN_MAX_VCPUS) {
			ERR_SET(err, errlen, "--%s '%s': expected LIST or VCPU=LIST with VCPU from 0 to %d",
				option, spec, DOMAIN_MAX_VCPUS - 1);
			return -1;
		}
		list = eq + 1;
	}
	if (cpumap_parse(list, &map, why, sizeof(why))) {
		ERR_SET(err, errlen, "--%s: %s", option, why);
		return -1;
	}
	for (long i = 0; i < DOMAIN_MAX_VCPUS; i++)
		if (id < 0 || i == id)
			maps[i] = map;
	return 0;
}

void domain_sched_init(struct domain_sched *s)
{
	pthread_mutex_init(&s->lock, NULL);
	s->weight = SCHED_WEIGHT_DEFAULT;
	s->cap = 0;
	for (unsigned int i = 0; i < DOMAIN_MAX_VCPUS; i++) {
		cpumap_fill(&s->hard[i]);
		cpumap_fill(&s->soft[i]);
	}
	memset(s->tid, 0, sizeof(s->tid));
	s->cgroup.kind = CGROUP_NONE;
	snprintf(s->why, sizeof(s->why), "the domain has no cgroup yet");
}

void domain_sched_configure(struct domain_sched *s, unsigned int weight, unsigned int cap,
			    const struct cpumap hard[DOMAIN_MAX_VCPUS], const struct cpumap soft[DOMAIN_MAX_VCPUS])
{
	pthread_mutex_lock(&s->lock);
	s->weight = weight;
	s->cap = cap;
	memcpy(s->hard, hard, sizeof(s->hard));
	memcpy(s->soft, soft, sizeof(s->soft));
	pthread_mutex_unlock(&s->lock);
}

const char *domain_sched_enter(struct domain_sched *s, const char *name)
{
	char leaf[DOMAIN_NAME_MAX + 32], err[1024] = "";
	const char *path = NULL;

	snprintf(leaf, sizeof(leaf), "%s-%d", name, (int)getpid());
	pthread_mutex_lock(&s->lock);
	if (cgroup_root_find(&s->root, "/proc/self/mountinfo")) {
		snprintf(err, sizeof(err), "%s", s->root.why);
	} else if (!cgroup_domain_create(&s->root, CGROUP_SLICE, leaf, getpid(), &s->cgroup, err, sizeof(err)) &&
		   (cgroup_domain_enter(&s->cgroup, getpid(), err, sizeof(err)) ||
		    cgroup_domain_set_weight(&s->cgroup, s->weight, err, sizeof(err)) ||
		    cgroup_domain_set_cap(&s->cgroup, s->cap, err, sizeof(err)))) {
		char ignored[512];
		cgroup_domain_remove(&s->cgroup, getpid(), ignored, sizeof(ignored));
	}
	if (s->cgroup.kind != CGROUP_NONE) {
		s->why[0] = '\0';
		path = s->cgroup.path;
	} else {
		snprintf(s->why, sizeof(s->why), "%.580s", err);
		LOG("domain %s runs without a cgroup: weight and cap are not enforced: %s", name, err);
	}
	pthread_mutex_unlock(&s->lock);
	return path;
}

/* Applies a hard affinity to a thread; a set of CPUs the host lacks answers EINVAL. */
static int apply(pid_t tid, const struct cpumap *map)
{
	return sched_setaffinity(tid, sizeof(map->set), &map->set) ? -errno : 0;
}

void domain_sched_vcpu_thread(struct domain_sched *s, unsigned int vcpu_id)
{
	pid_t tid = gettid();
	int r;

	if (vcpu_id >= DOMAIN_MAX_VCPUS)
		return;
	pthread_mutex_lock(&s->lock);
	s->tid[vcpu_id] = tid;
	r = apply(0, &s->hard[vcpu_id]);
	pthread_mutex_unlock(&s->lock);
	if (r)
		LOG("vCPU %u: applying its hard affinity: %s (it runs on any CPU)", vcpu_id, strerror(-r));
}

/* A recorded tid is applied to only while it is still one of our threads (a vCPU thread that
 * ended may have left its number to anyone). */
static bool thread_is_ours(pid_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
	return access(path, F_OK) == 0;
}

int domain_sched_pin(struct domain_sched *s, int id, unsigned int n_vcpus, const struct cpumap *hard,
		     const struct cpumap *soft, char *err, size_t errlen)
{
	int host = get_nprocs_conf();

	if (id >= (int)n_vcpus || n_vcpus > DOMAIN_MAX_VCPUS) {
		ERR_SET(err, errlen, "vCPU %d does not exist (the domain has %u)", id, n_vcpus);
		return -1;
	}
	if (hard && cpumap_first_beyond(hard, (unsigned int)host) >= 0 &&
	    CPU_COUNT(&hard->set) != CPUMAP_MAX_CPUS) {
		ERR_SET(err, errlen, "CPU %d does not exist (the host has %d)", cpumap_first_beyond(hard, (unsigned int)host),
			host);
		return -1;
	}
	pthread_mutex_lock(&s->lock);
	for (unsigned int i = 0; i < n_vcpus; i++) {
		if (id >= 0 && i != (unsigned int)id)
			continue;
		if (hard && s->tid[i] && thread_is_ours(s->tid[i])) {
			int r = apply(s->tid[i], hard);
			if (r) {
				pthread_mutex_unlock(&s->lock);
				ERR_SET(err, errlen, "pinning vCPU %u (thread %d): %s", i, (int)s->tid[i], strerror(-r));
				return -1;
			}
		}
		if (hard)
			s->hard[i] = *hard;
		if (soft)
			s->soft[i] = *soft;
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int domain_sched_set(struct domain_sched *s, int weight, int cap, char *err, size_t errlen)
{
	int r = 0;

	if (weight >= 0 && (weight < (int)SCHED_WEIGHT_MIN || weight > (int)SCHED_WEIGHT_MAX)) {
		ERR_SET(err, errlen, "weight %d: expected %u to %u", weight, SCHED_WEIGHT_MIN, SCHED_WEIGHT_MAX);
		return -EINVAL;
	}
	if (cap > (int)SCHED_CAP_MAX) {
		ERR_SET(err, errlen, "cap %d: expected 0 (none) to %u (%% of one CPU)", cap, SCHED_CAP_MAX);
		return -EINVAL;
	}
	pthread_mutex_lock(&s->lock);
	if (s->cgroup.kind == CGROUP_NONE) {
		ERR_SET(err, errlen, "weight and cap are not enforced on this host: %s", s->why);
		r = -ENOTSUP;
	} else if ((weight >= 0 && cgroup_domain_set_weight(&s->cgroup, (unsigned int)weight, err, errlen)) ||
		   (cap >= 0 && cgroup_domain_set_cap(&s->cgroup, (unsigned int)cap, err, errlen))) {
		r = -EIO;
	}
	if (!r && weight >= 0)
		s->weight = (unsigned int)weight;
	if (!r && cap >= 0)
		s->cap = (unsigned int)cap;
	pthread_mutex_unlock(&s->lock);
	return r;
}

bool domain_sched_get(struct domain_sched *s, unsigned int *weight, unsigned int *cap, char *why, size_t len)
{
	pthread_mutex_lock(&s->lock);
	bool enforced = s->cgroup.kind != CGROUP_NONE;
	*weight = s->weight;
	*cap = s->cap;
	snprintf(why, len, "%s", enforced ? s->cgroup.path : s->why);
	pthread_mutex_unlock(&s->lock);
	return enforced;
}

void domain_sched_affinity_text(struct domain_sched *s, unsigned int id, char *hard, char *soft, size_t len)
{
	unsigned int host = (unsigned int)get_nprocs_conf();

	if (id >= DOMAIN_MAX_VCPUS) {
		snprintf(hard, len, "none");
		snprintf(soft, len, "none");
		return;
	}
	pthread_mutex_lock(&s->lock);
	cpumap_format(&s->hard[id], host, hard, len);
	cpumap_format(&s->soft[id], host, soft, len);
	pthread_mutex_unlock(&s->lock);
}

/* /proc/self/task/TID/stat: the state letter and the CPU it last ran on (field 39). */
static void task_stat(pid_t tid, char *state, int *cpu)
{
	char path[64], buf[1024];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The name may hold blanks and parentheses: fields start after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return;
	*state = p[2];
	p += 2;
	for (int field = 3; field < 39 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		*cpu = atoi(p);
}

static double task_cpu_seconds(pid_t tid)
{
	char path[64];
	unsigned long long ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return ns / 1e9;
}

void domain_sched_vcpu_info(struct domain_sched *s, unsigned int id, bool thread_started,
			    struct vcpu_sched_info *out)
{
	pid_t tid;
	char state = '?';

	*out = (struct vcpu_sched_info){ .cpu = -1, .state = 'p' };
	if (id >= DOMAIN_MAX_VCPUS)
		return;
	pthread_mutex_lock(&s->lock);
	tid = s->tid[id];
	pthread_mutex_unlock(&s->lock);
	if (!thread_started || !tid || !thread_is_ours(tid))
		return;
	out->online = true;
	task_stat(tid, &state, &out->cpu);
	out->state = state == 'R' ? 'r' : 'b';
	out->cpu_seconds = task_cpu_seconds(tid);
}

void domain_sched_end(struct domain_sched *s)
{
	char err[1024];

	pthread_mutex_lock(&s->lock);
	if (s->cgroup.kind != CGROUP_NONE && cgroup_domain_remove(&s->cgroup, getpid(), err, sizeof(err)))
		LOG("%s", err);
	memset(s->tid, 0, sizeof(s->tid));
	pthread_mutex_unlock(&s->lock);
}

void domain_sched_destroy(struct domain_sched *s)
{
	pthread_mutex_destroy(&s->lock);
}
