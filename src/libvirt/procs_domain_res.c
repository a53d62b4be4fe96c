/* Domain procedures, part four: resources.  Memory and vCPU counts, vCPU placement and the credit
 * scheduler's weight and cap, live (the model's calls: xl mem-set, vcpu-set, vcpu-pin,
 * sched-credit) and/or in the definition (virDomainModificationImpact, pd_affect).  Where the
 * model has no call for the definition (the maximum vCPUs, pins, weight and cap) the definition
 * is edited here and stored again.
 *
 * Bitmaps of host CPUs are libvirt's: byte i bit j is CPU 8i+j, `maplen` bytes per vCPU, as the
 * client asks; every product of client counts is bounded by remote_protocol.x's limits first. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include "lib/cpumap.h"
#include "lib/domain_limits.h"
#include "libvirt/procs_domain.h"
#include "libvirt/remote_types.h"

#define PD_SCHEDULER "credit"
#define PD_WEIGHT_DEFAULT 256u

/* ---- Memory ---- */

/* SET_MEMORY (LIVE), SET_MAX_MEMORY (MAXIMUM, CURRENT) and SET_MEMORY_FLAGS: dom, memory[, flags]. */
int pd_serve_set_memory_any(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom(call, &dom))
		return -1;
	unsigned long long kb = xdr_get_u64(call->args);
	uint32_t flags = call->proc == 204 ? xdr_get_u32(call->args)
			 : call->proc == 30 ? VIR_DOMAIN_MEM_MAXIMUM : VIR_DOMAIN_AFFECT_LIVE;
	bool live, config;
	if (pd_args_done(call) ||
	    pd_check_flags(call, flags, VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG |
			   VIR_DOMAIN_MEM_MAXIMUM, "virDomainSetMemoryFlags") ||
	    pd_affect(call, &dom, flags & ~VIR_DOMAIN_MEM_MAXIMUM, &live, &config))
		return -1;
	if (kb == 0)
		return pd_fail(call, VIR_ERR_INVALID_ARG, "memory must not be 0");
	/* Beyond what a domain may have (and where KiB rounded up to MiB would wrap to 0). */
	if (kb > DOMAIN_MAX_MEMORY_MB * 1024)
		return pd_fail(call, VIR_ERR_INVALID_ARG, "memory %llu KiB is more than the %llu KiB a domain may have",
			       kb, DOMAIN_MAX_MEMORY_MB * 1024);
	char err[1024] = "";
	int rc = (flags & VIR_DOMAIN_MEM_MAXIMUM ? virt_domain_set_max_memory : virt_domain_set_memory)(
		pd_host(call), &dom, kb, live, config, err, sizeof(err));
	return rc < 0 ? pd_model_fail(call, rc, err) : 0;
}

/* ---- vCPU counts ---- */

static int pd_edit_max_vcpus(struct virt_call *call, struct domain_config *dc, const void *arg)
{
	unsigned int n = *(const unsigned int *)arg;
	if (n < 1 || n > DOMAIN_MAX_VCPUS)
		return pd_fail(call, VIR_ERR_INVALID_ARG, "%u vCPUs is outside 1..%u", n, DOMAIN_MAX_VCPUS);
	dc->max_vcpus = n;
	if (dc->vcpus > n)
		dc->vcpus = n;
	return 0;
}

#define PD_VCPU_SET_FLAGS (VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_VCPU_MAXIMUM | \
			   VIR_DOMAIN_VCPU_GUEST | VIR_DOMAIN_VCPU_HOTPLUGGABLE)

/* SET_VCPUS (dom, nvcpus: LIVE) and SET_VCPUS_FLAGS (dom, nvcpus, flags). */
int pd_serve_set_vcpus_any(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom(call, &dom))
		return -1;
	unsigned int n = xdr_get_u32(call->args);
	uint32_t flags = call->proc == 199 ? xdr_get_u32(call->args) : VIR_DOMAIN_AFFECT_LIVE;
	bool live, config;
	if (pd_args_done(call) || pd_check_flags(call, flags, PD_VCPU_SET_FLAGS, "virDomainSetVcpusFlags"))
		return -1;
	if (flags & VIR_DOMAIN_VCPU_GUEST)
		return pd_fail(call, VIR_ERR_OPERATION_UNSUPPORTED, "there is no guest agent to set vCPUs with");
	if (pd_affect(call, &dom, flags & (VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG), &live, &config))
		return -1;
	if (n == 0)
		return pd_fail(call, VIR_ERR_INVALID_ARG, "a domain needs at least one vCPU");
	if (flags & VIR_DOMAIN_VCPU_MAXIMUM) {
		if (live)
			return pd_fail(call, VIR_ERR_OPERATION_INVALID,
				       "the maximum vCPUs of a running domain cannot change");
		return pd_edit_definition(call, &dom, pd_edit_max_vcpus, &n);
	}
	char err[1024] = "";
	int rc = virt_domain_set_vcpus(pd_host(call), &dom, n, live, config, err, sizeof(err));
	return rc < 0 ? pd_model_fail(call, rc, err) : 0;
}

int pd_serve_get_vcpus_flags(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom(call, &dom))
		return -1;
	uint32_t flags = xdr_get_u32(call->args);
	bool live, config;
	if (pd_args_done(call) || pd_check_flags(call, flags, PD_VCPU_SET_FLAGS, "virDomainGetVcpusFlags"))
		return -1;
	if (flags & VIR_DOMAIN_VCPU_GUEST)
		return pd_fail(call, VIR_ERR_OPERATION_UNSUPPORTED, "there is no guest agent to ask for vCPUs");
	if ((flags & VIR_DOMAIN_AFFECT_LIVE) && (flags & VIR_DOMAIN_AFFECT_CONFIG))
		return pd_fail(call, VIR_ERR_INVALID_ARG, "flags 'live' and 'config' are mutually exclusive");
	if (pd_affect(call, &dom, flags & (VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG), &live, &config))
		return -1;
	bool max = flags & VIR_DOMAIN_VCPU_MAXIMUM;
	unsigned int n = max ? dom.max_vcpus : dom.vcpus;
	if (config) {
		struct domain_config dc;
		if (pd_config(call, &dom, &dc))
			return -1;
		n = max ? dc.max_vcpus : dc.vcpus;
		domain_config_free(&dc);
	}
	xdr_put_i32(call->ret, (int32_t)n);
	return 0;
}

/* ---- vCPU placement ---- */

static unsigned int pd_host_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	return n > 0 && n <= CPUMAP_MAX_CPUS ? (unsigned int)n : 1;
}

/* A libvirt bitmap of maplen bytes from a struct cpumap (CPUs past the map are dropped). */
static void pd_map_to_bytes(const struct cpumap *m, uint8_t *out, size_t maplen)
{
	memset(out, 0, maplen);
	for (size_t cpu = 0; cpu < maplen * 8 && cpu < CPUMAP_MAX_CPUS; cpu++)
		if (CPU_ISSET(cpu, &m->set))
			out[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
}

static void pd_bytes_to_map(const uint8_t *in, size_t maplen, struct cpumap *m)
{
	CPU_ZERO(&m->set);
	for (size_t cpu = 0; cpu < maplen * 8 && cpu < CPUMAP_MAX_CPUS; cpu++)
		if (in[cpu / 8] & (1u << (cpu % 8)))
			CPU_SET(cpu, &m->set);
}

/* The definition's pin of vCPU v (cpus= as one LIST for all, or "V=LIST" entries); every host CPU
 * when none is given. */
static void pd_config_pin(const struct domain_config *dc, unsigned int v, struct cpumap *m)
{
	char why[128];
	cpumap_fill(m);
	for (size_t i = 0; i < dc->n_cpus; i++) {
		const char *spec = dc->cpus[i], *eq = strchr(spec, '=');
		if (!eq) {
			if (cpumap_parse(spec, m, why, sizeof(why)))
				cpumap_fill(m);
		} else if (strtoul(spec, NULL, 10) == v) {
			if (cpumap_parse(eq + 1, m, why, sizeof(why)))
				cpumap_fill(m);
		}
	}
}

/* Checks the counts a client gives for maps: 0 or -1. */
static int pd_check_maps(struct virt_call *call, int32_t count, int32_t maplen, uint32_t count_max)
{
	if (count < 0 || maplen < 0 || (uint32_t)count > count_max ||
	    (uint64_t)count * (uint64_t)maplen > PD_CPUMAPS_MAX)
		return pd_fail(call, VIR_ERR_RPC, "%d maps of %d bytes are more than a reply may hold",
			       count, maplen);
	return 0;
}

static int pd_live_vcpus(struct virt_call *call, const struct virt_dom *dom, struct virt_vcpu **v, size_t *n)
{
	char err[1024] = "";
	int rc = virt_domain_vcpus(pd_host(call), dom, v, n, err, sizeof(err));
	return rc < 0 ? pd_model_fail(call, rc, err) : 0;
}

/* GET_VCPUS: dom, maxinfo, maplen -> info<>, cpumaps<> (maxinfo * maplen bytes, as libvirtd). */
int pd_serve_get_vcpus(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom(call, &dom))
		return -1;
	int32_t maxinfo = xdr_get_i32(call->args), maplen = xdr_get_i32(call->args);
	if (pd_args_done(call) || pd_check_maps(call, maxinfo, maplen, PD_VCPUINFO_MAX))
		return -1;
	if (dom.id < 0)
		return pd_fail(call, VIR_ERR_OPERATION_INVALID, "cannot list vcpus for an inactive domain");
	struct virt_vcpu *v;
	size_t n;
	if (pd_live_vcpus(call, &dom, &v, &n))
		return -1;
	if (n > (size_t)maxinfo)
		n = (size_t)maxinfo;
	xdr_put_u32(call->ret, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		xdr_put_u32(call->ret, v[i].number);
		xdr_put_i32(call->ret, v[i].state);
		xdr_put_u64(call->ret, v[i].cpu_time_ns);
		xdr_put_i32(call->ret, v[i].cpu);
	}
	size_t total = (size_t)maxinfo * (size_t)maplen;
	uint8_t *maps = calloc(total ? total : 1, 1);
	if (!maps) {
		free(v);
		return pd_fail(call, VIR_ERR_NO_MEMORY, "no memory for %zu bytes of vCPU maps", total);
	}
	for (size_t i = 0; i < n; i++)
		memcpy(maps + i * (size_t)maplen, v[i].affinity,
		       (size_t)maplen < sizeof(v[i].affinity) ? (size_t)maplen : sizeof(v[i].affinity));
	xdr_put_opaque(call->ret, maps, total);
	free(maps);
	free(v);
	return 0;
}

/* GET_VCPU_PIN_INFO: dom, ncpumaps, maplen, flags -> cpumaps<>, num. */
int pd_serve_get_vcpu_pin_info(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom(call, &dom))
		return -1;
	int32_t ncpumaps = xdr_get_i32(call->args), maplen = xdr_get_i32(call->args);
	uint32_t flags = xdr_get_u32(call->args);
	bool live, config;
	if (pd_args_done(call) || pd_check_maps(call, ncpumaps, maplen, PD_VCPUINFO_MAX) ||
	    pd_check_flags(call, flags, VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG,
			   "virDomainGetVcpuPinInfo") ||
	    pd_affect(call, &dom, flags, &live, &config))
		return -1;
	size_t total = (size_t)ncpumaps * (size_t)maplen, n = 0;
	uint8_t *maps = calloc(total ? total : 1, 1);
	if (!maps)
		return pd_fail(call, VIR_ERR_NO_MEMORY, "no memory for %zu bytes of vCPU maps", total);
	int ret = -1;
	if (live) {
		struct virt_vcpu *v;
		if (pd_live_vcpus(call, &dom, &v, &n))
			goto out;
		n = n < (size_t)ncpumaps ? n : (size_t)ncpumaps;
		for (size_t i = 0; i < n; i++)
			memcpy(maps + i * (size_t)maplen, v[i].affinity,
			       (size_t)maplen < sizeof(v[i].affinity) ? (size_t)maplen : sizeof(v[i].affinity));
		free(v);
	} else {
		struct domain_config dc;
		if (pd_config(call, &dom, &dc))
			goto out;
		n = dc.vcpus < (unsigned int)ncpumaps ? dc.vcpus : (size_t)ncpumaps;
		unsigned int host = pd_host_cpus();
		for (size_t i = 0; i < n; i++) {
			struct cpumap m;
			pd_config_pin(&dc, (unsigned int)i, &m);
			for (unsigned int cpu = host; cpu < CPUMAP_MAX_CPUS; cpu++)
				CPU_CLR(cpu, &m.set);
			pd_map_to_bytes(&m, maps + i * (size_t)maplen, (size_t)maplen);
		}
		domain_config_free(&dc);
	}
	xdr_put_opaque(call->ret, maps, total);
	xdr_put_i32(call->ret, (int32_t)n);
	ret = 0;
out:
	free(maps);
	return ret;
}

struct pd_pin {
	unsigned int vcpu;
	const char *list;        /* cpumap_format's text */
};

/* The definition's cpus= as one "V=LIST" entry per vCPU, vCPU pin->vcpu's replaced. */
static int pd_edit_pin(struct virt_call *call, struct domain_config *dc, const void *arg)
{
	const struct pd_pin *pin = arg;
	if (pin->vcpu >= dc->max_vcpus)
		return pd_fail(call, VIR_ERR_INVALID_ARG, "vCPU %u is not in the domain's %u", pin->vcpu,
			       dc->max_vcpus);
	char *next[DOMAIN_MAX_VCPUS];
	size_t n = 0;
	for (unsigned int v = 0; v < dc->max_vcpus && v < DOMAIN_MAX_VCPUS; v++) {
		char list[4096];
		struct cpumap m;
		if (v == pin->vcpu) {
			snprintf(list, sizeof(list), "%s", pin->list);
		} else {
			pd_config_pin(dc, v, &m);
			cpumap_format(&m, pd_host_cpus(), list, sizeof(list));
		}
		if (asprintf(&next[n], "%u=%s", v, list) < 0) {
			while (n)
				free(next[--n]);
			return pd_fail(call, VIR_ERR_NO_MEMORY, "no memory for the pins");
		}
		n++;
	}
	for (size_t i = 0; i < dc->n_cpus; i++)
		free(dc->cpus[i]);
	memcpy(dc->cpus, next, n * sizeof(next[0]));
	dc->n_cpus = n;
	return 0;
}

/* PIN_VCPU (dom, vcpu, cpumap: LIVE) and PIN_VCPU_FLAGS (+ flags). */
int pd_serve_pin_vcpu_any(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom(call, &dom))
		return -1;
	unsigned int vcpu = xdr_get_u32(call->args);
	size_t maplen;
	const uint8_t *map = xdr_get_opaque(call->args, PD_CPUMAP_MAX, &maplen);
	uint32_t flags = call->proc == 225 ? xdr_get_u32(call->args) : VIR_DOMAIN_AFFECT_LIVE;
	bool live, config;
	if (pd_args_done(call) ||
	    pd_check_flags(call, flags, VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG, "virDomainPinVcpuFlags") ||
	    pd_affect(call, &dom, flags, &live, &config))
		return -1;
	if (vcpu >= dom.max_vcpus)
		return pd_fail(call, VIR_ERR_INVALID_ARG, "vcpu %u is out of range of the domain's %u vCPUs",
			       vcpu, dom.max_vcpus);
	/* Every set bit must be a host CPU: one beyond would be dropped by the bitmap or stored in
	 * the definition for a start that cannot place it. */
	unsigned int host = pd_host_cpus();
	for (size_t byte = 0; byte < maplen; byte++)
		for (unsigned int bit = 0; bit < 8; bit++)
			if ((map[byte] >> bit & 1) && byte * 8 + bit >= host)
				return pd_fail(call, VIR_ERR_INVALID_ARG, "CPU %zu is not on this host (it has %u)",
					       byte * 8 + bit, host);
	struct cpumap m;
	pd_bytes_to_map(map, maplen, &m);
	if (cpumap_is_empty(&m))
		return pd_fail(call, VIR_ERR_INVALID_ARG, "a vCPU must be allowed at least one CPU");
	char err[1024] = "";
	if (live) {
		int rc = virt_domain_pin_vcpu(pd_host(call), &dom, vcpu, map, maplen, err, sizeof(err));
		if (rc < 0)
			return pd_model_fail(call, rc, err);
	}
	if (config) {
		char list[4096];     /* every other CPU of CPUMAP_MAX_CPUS fits: no truncated pin */
		struct pd_pin pin = { vcpu, cpumap_format(&m, host, list, sizeof(list)) };
		return pd_edit_definition(call, &dom, pd_edit_pin, &pin);
	}
	return 0;
}

/* ---- The credit scheduler ---- */

int pd_serve_get_scheduler_type(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom_only(call, &dom))
		return -1;
	xdr_put_string(call->ret, PD_SCHEDULER);
	xdr_put_i32(call->ret, 2);
	return 0;
}

/* GET_SCHEDULER_PARAMETERS (dom, nparams: CURRENT) and _FLAGS (+ flags) -> params<>. */
int pd_serve_get_scheduler_any(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom(call, &dom))
		return -1;
	int32_t nparams = xdr_get_i32(call->args);
	uint32_t flags = call->proc == 223 ? xdr_get_u32(call->args) : 0;
	bool live, config;
	if (pd_args_done(call) ||
	    pd_check_flags(call, flags, VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG |
			   VIR_TYPED_PARAM_STRING_OKAY, "virDomainGetSchedulerParametersFlags") ||
	    pd_affect(call, &dom, flags & ~VIR_TYPED_PARAM_STRING_OKAY, &live, &config))
		return -1;
	if (nparams < 0 || (uint32_t)nparams > PD_SCHED_PARAMS_MAX)
		return pd_fail(call, VIR_ERR_RPC, "nparams %d is outside 0..%u", nparams, PD_SCHED_PARAMS_MAX);
	unsigned int weight = PD_WEIGHT_DEFAULT, cap = 0;
	char err[1024] = "";
	if (live) {
		int rc = virt_domain_sched_get(pd_host(call), &dom, &weight, &cap, err, sizeof(err));
		if (rc < 0)
			return pd_model_fail(call, rc, err);
	} else {
		struct domain_config dc;
		if (pd_config(call, &dom, &dc))
			return -1;
		if (dc.sched_weight)
			weight = dc.sched_weight;
		if (dc.sched_cap_set)
			cap = dc.sched_cap;
		domain_config_free(&dc);
	}
	struct remote_typed_param params[2] = {
		{ .field = VIR_DOMAIN_SCHEDULER_WEIGHT, .type = VIR_TYPED_PARAM_UINT, .value.ui = weight },
		{ .field = VIR_DOMAIN_SCHEDULER_CAP, .type = VIR_TYPED_PARAM_UINT, .value.ui = cap },
	};
	remote_typed_params_put(call->ret, params, nparams < 2 ? (size_t)nparams : 2);
	return 0;
}

struct pd_sched {
	bool has_weight, has_cap;
	unsigned int weight, cap;
};

/* Reads remote_typed_param<16>: weight and cap (unsigned ints) are taken, anything else refused. */
static int pd_read_sched_params(struct virt_call *call, struct pd_sched *s)
{
	struct remote_typed_param *p;
	size_t n;
	memset(s, 0, sizeof(*s));
	if (remote_typed_params_get(call->args, PD_SCHED_PARAMS_MAX, &p, &n))
		return pd_args_fail(call);
	int ret = 0;
	for (size_t i = 0; i < n && !ret; i++) {
		bool is_weight = !strcmp(p[i].field, VIR_DOMAIN_SCHEDULER_WEIGHT);
		bool is_cap = !strcmp(p[i].field, VIR_DOMAIN_SCHEDULER_CAP);
		if (!is_weight && !is_cap)
			ret = pd_fail(call, VIR_ERR_INVALID_ARG, "parameter '%s' not supported", p[i].field);
		else if (p[i].type != VIR_TYPED_PARAM_UINT)
			ret = pd_fail(call, VIR_ERR_INVALID_ARG, "invalid type for parameter '%s', expected 'uint'",
				      p[i].field);
		else if (is_weight)
			s->has_weight = true, s->weight = p[i].value.ui;
		else
			s->has_cap = true, s->cap = p[i].value.ui;
	}
	remote_typed_params_free(p, n);
	if (ret)
		return ret;
	if (s->has_weight && (s->weight < 1 || s->weight > 65535))
		return pd_fail(call, VIR_ERR_INVALID_ARG, "weight %u is outside 1..65535", s->weight);
	if (s->has_cap && s->cap > 65535)
		return pd_fail(call, VIR_ERR_INVALID_ARG, "cap %u is outside 0..65535", s->cap);
	return 0;
}

static int pd_edit_sched(struct virt_call *call, struct domain_config *dc, const void *arg)
{
	const struct pd_sched *s = arg;
	(void)call;
	if (s->has_weight)
		dc->sched_weight = s->weight;
	if (s->has_cap) {
		dc->sched_cap = s->cap;
		dc->sched_cap_set = true;
	}
	return 0;
}

/* SET_SCHEDULER_PARAMETERS (dom, params: CURRENT) and _FLAGS (+ flags). */
int pd_serve_set_scheduler_any(struct virt_call *call)
{
	struct virt_dom dom;
	struct pd_sched s;
	if (pd_get_dom(call, &dom) || pd_read_sched_params(call, &s))
		return -1;
	uint32_t flags = call->proc == 219 ? xdr_get_u32(call->args) : 0;
	bool live, config;
	if (pd_args_done(call) ||
	    pd_check_flags(call, flags, VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG,
			   "virDomainSetSchedulerParametersFlags") ||
	    pd_affect(call, &dom, flags, &live, &config))
		return -1;
	if (live) {
		char err[1024] = "";
		int rc = virt_domain_sched_set(pd_host(call), &dom, s.has_weight ? &s.weight : NULL,
					       s.has_cap ? &s.cap : NULL, err, sizeof(err));
		if (rc < 0)
			return pd_model_fail(call, rc, err);
	}
	return config ? pd_edit_definition(call, &dom, pd_edit_sched, &s) : 0;
}
