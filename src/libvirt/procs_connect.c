/* The connection and host procedures (docs/libvirt.md, "connect" rows): what a client asks as it
 * connects (auth, features, open) and what virsh version, hostname, uri, nodeinfo and
 * capabilities show.  Host facts come from /proc and sysconf, as libvirt's own node code reads
 * them; the capabilities are those libvirt's libxl driver advertises for x86_64. */
#include <ctype.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/domain_limits.h"
#include "lib/xen_version.h"
#include "libvirt/rpc.h"
#include "libvirt/server.h"
#include "libvirt/virt_proc.h"

/* REMOTE_PROC_* numbers (remote_protocol.x) of the rows below. */
enum {
	PROC_CONNECT_OPEN = 1,
	PROC_CONNECT_CLOSE = 2,
	PROC_CONNECT_GET_TYPE = 3,
	PROC_CONNECT_GET_VERSION = 4,
	PROC_CONNECT_GET_MAX_VCPUS = 5,
	PROC_NODE_GET_INFO = 6,
	PROC_CONNECT_GET_CAPABILITIES = 7,
	PROC_CONNECT_GET_HOSTNAME = 59,
	PROC_CONNECT_SUPPORTS_FEATURE = 60,
	PROC_AUTH_LIST = 66,
	PROC_NODE_GET_FREE_MEMORY = 102,
	PROC_CONNECT_GET_URI = 110,
	PROC_NODE_GET_SECURITY_MODEL = 122,
	PROC_CONNECT_IS_SECURE = 149,
	PROC_CONNECT_GET_LIB_VERSION = 157,
	PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY = 316,
};

/* libvirt's internal VIR_DRV_FEATURE_* numbers (src/libvirt_internal.h), as the wire carries them. */
enum {
	FEATURE_TYPED_PARAM_STRING = 9,
	FEATURE_PROGRAM_KEEPALIVE = 10,
	FEATURE_REMOTE_EVENT_CALLBACK = 14,
};

#define VIRT_URI "xen:///system"
#define VIRT_LIB_VERSION 9000000ull      /* the libvirt release whose protocol we speak: 9.0.0 */
#define REMOTE_AUTH_NONE 0

static int args_done(struct virt_call *call)
{
	if (xdr_reader_done(call->args) < 0)
		return virt_call_error(call, VIR_ERR_RPC, VIR_FROM_RPC, "malformed arguments: %s",
				       call->args->why);
	return 0;
}

static int auth_list(struct virt_call *call)
{
	if (args_done(call))
		return -1;
	xdr_put_u32(call->ret, 1);
	xdr_put_i32(call->ret, REMOTE_AUTH_NONE);
	return 0;
}

static int supports_feature(struct virt_call *call)
{
	int feature = xdr_get_i32(call->args);
	int yes = 0;

	if (args_done(call))
		return -1;
	switch (feature) {
	case FEATURE_PROGRAM_KEEPALIVE:
	case FEATURE_TYPED_PARAM_STRING:
		yes = 1;
		break;
	case FEATURE_REMOTE_EVENT_CALLBACK:
		/* Only once the events procedures are there (procs_events.c). */
		yes = virt_proc_find(VIRT_REMOTE_PROGRAM, PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY) != NULL;
		break;
	}
	xdr_put_i32(call->ret, yes);
	return 0;
}

/* The names a client may open: the remote driver sends the URI without its transport and
 * query ("xen:///system"); NULL or "" means the default. */
static bool name_is_ours(const char *name)
{
	static const char *const ok[] = { "", "xen:///system", "xen:///", "xen://", "xen:",
					  "xen://localhost/system", "xen://localhost/" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcmp(name, ok[i]))
			return true;
	return false;
}

static int connect_open(struct virt_call *call)
{
	bool present;
	char *name = xdr_get_opt_string(call->args, REMOTE_STRING_MAX, &present);
	int rc = 0;

	xdr_get_u32(call->args);                 /* flags: read-only or not, all the same here */
	if (args_done(call)) {
		free(name);
		return -1;
	}
	if (present && !name_is_ours(name)) {
		if (!strncmp(name, "xen:", 4))
			rc = virt_call_error(call, VIR_ERR_INTERNAL_ERROR, VIR_FROM_XEN,
					     "internal error: unexpected Xen URI path '%s', try "
					     VIRT_URI, name + 4);
		else
			rc = virt_call_error(call, VIR_ERR_NO_CONNECT, VIR_FROM_NONE,
					     "no connection driver available for %s", name);
	}
	free(name);
	if (rc == 0)
		virt_client_set_open(call->client, true);
	return rc;
}

static int connect_close(struct virt_call *call)
{
	if (args_done(call))
		return -1;
	virt_client_set_open(call->client, false);
	return 0;
}

static int get_type(struct virt_call *call)
{
	if (args_done(call))
		return -1;
	xdr_put_string(call->ret, "Xen");
	return 0;
}

static int get_version(struct virt_call *call)
{
	unsigned int release = (unsigned int)atoi(&XENITH_XEN_EXTRA[XENITH_XEN_EXTRA[0] == '.']);

	if (args_done(call))
		return -1;
	xdr_put_u64(call->ret, XENITH_XEN_MAJOR * 1000000ull + XENITH_XEN_MINOR * 1000ull + release);
	return 0;
}

static int get_lib_version(struct virt_call *call)
{
	if (args_done(call))
		return -1;
	xdr_put_u64(call->ret, VIRT_LIB_VERSION);
	return 0;
}

static int get_hostname(struct virt_call *call)
{
	char name[256];

	if (args_done(call))
		return -1;
	if (gethostname(name, sizeof(name)) < 0)
		return virt_call_error(call, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE,
				       "cannot find the host name");
	name[sizeof(name) - 1] = '\0';
	xdr_put_string(call->ret, name);
	return 0;
}

static int get_uri(struct virt_call *call)
{
	if (args_done(call))
		return -1;
	xdr_put_string(call->ret, VIRT_URI);
	return 0;
}

static int get_max_vcpus(struct virt_call *call)
{
	bool present;

	free(xdr_get_opt_string(call->args, REMOTE_STRING_MAX, &present));
	if (args_done(call))
		return -1;
	xdr_put_i32(call->ret, DOMAIN_MAX_VCPUS);
	return 0;
}

static int is_secure(struct virt_call *call)
{
	if (args_done(call))
		return -1;
	xdr_put_i32(call->ret, 1);               /* a local Unix socket: nobody between */
	return 0;
}

/* A /proc/meminfo line's value in KiB, or 0. */
static unsigned long long meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	size_t klen = strlen(key);
	unsigned long long v = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtoull(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

struct host_cpus {
	int cpus, mhz, sockets, cores, threads;
};

/* CPU topology as /proc/cpuinfo tells it; what does not multiply up to the online CPUs falls back
 * to one socket of single-threaded cores, as libvirt does. */
static void host_cpus(struct host_cpus *h)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[512];
	int max_pkg = -1, cores = 0, siblings = 0;

	memset(h, 0, sizeof(*h));
	h->cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (h->cpus < 1)
		h->cpus = 1;
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		if (!strncmp(line, "cpu MHz", 7) && !h->mhz)
			h->mhz = atoi(colon + 1);
		else if (!strncmp(line, "physical id", 11) && atoi(colon + 1) > max_pkg)
			max_pkg = atoi(colon + 1);
		else if (!strncmp(line, "cpu cores", 9))
			cores = atoi(colon + 1);
		else if (!strncmp(line, "siblings", 8))
			siblings = atoi(colon + 1);
	}
	if (f)
		fclose(f);
	h->sockets = max_pkg >= 0 ? max_pkg + 1 : 1;
	h->cores = cores > 0 ? cores : h->cpus;
	h->threads = cores > 0 && siblings >= cores ? siblings / cores : 1;
	if (h->sockets * h->cores * h->threads != h->cpus) {
		h->sockets = 1;
		h->cores = h->cpus;
		h->threads = 1;
	}
}

static int node_get_info(struct virt_call *call)
{
	static const char model[] = "x86_64";
	struct host_cpus c;

	if (args_done(call))
		return -1;
	host_cpus(&c);
	/* char model[32]: a fixed array of XDR chars, each in a 4-byte unit. */
	for (size_t i = 0; i < 32; i++)
		xdr_put_i32(call->ret, i < sizeof(model) ? model[i] : 0);
	xdr_put_u64(call->ret, meminfo_kb("MemTotal"));
	xdr_put_i32(call->ret, c.cpus);
	xdr_put_i32(call->ret, c.mhz);
	xdr_put_i32(call->ret, 1);               /* NUMA nodes */
	xdr_put_i32(call->ret, c.sockets);
	xdr_put_i32(call->ret, c.cores);
	xdr_put_i32(call->ret, c.threads);
	return 0;
}

static int node_get_free_memory(struct virt_call *call)
{
	if (args_done(call))
		return -1;
	xdr_put_u64(call->ret, meminfo_kb("MemAvailable") * 1024ull);
	return 0;
}

static int node_get_security_model(struct virt_call *call)
{
	if (args_done(call))
		return -1;
	xdr_put_u32(call->ret, 0);               /* model<>: none */
	xdr_put_u32(call->ret, 0);               /* doi<> */
	return 0;
}

/* One <guest> of the capabilities: PV (xen), PVH (xenpvh) or HVM. */
static void caps_guest(FILE *f, const char *os_type, const char *machine, bool hvm)
{
	fprintf(f, "  <guest>\n    <os_type>%s</os_type>\n    <arch name='x86_64'>\n"
		   "      <wordsize>64</wordsize>\n      <emulator>/usr/lib/xenith/xenith-vmm</emulator>\n",
		os_type);
	if (hvm)
		fprintf(f, "      <loader>/usr/share/seabios/bios.bin</loader>\n");
	fprintf(f, "      <machine>%s</machine>\n      <domain type='xen'/>\n    </arch>\n", machine);
	if (hvm)
		fprintf(f, "    <features>\n      <pae/>\n      <nonpae/>\n"
			   "      <acpi default='on' toggle='yes'/>\n      <apic default='on' toggle='no'/>\n"
			   "      <hap default='on' toggle='yes'/>\n    </features>\n");
	fprintf(f, "  </guest>\n\n");
}

static int get_capabilities(struct virt_call *call)
{
	struct host_cpus c;
	char *xml = NULL;
	size_t len = 0;
	FILE *f;

	if (args_done(call))
		return -1;
	host_cpus(&c);
	f = open_memstream(&xml, &len);
	if (!f)
		return virt_call_error(call, VIR_ERR_NO_MEMORY, VIR_FROM_XEN, "out of memory");
	fprintf(f, "<capabilities>\n\n  <host>\n    <cpu>\n      <arch>x86_64</arch>\n"
		   "      <topology sockets='%d' dies='1' cores='%d' threads='%d'/>\n    </cpu>\n"
		   "    <power_management/>\n    <iommu support='no'/>\n"
		   "    <migration_features>\n      <live/>\n    </migration_features>\n  </host>\n\n",
		c.sockets, c.cores, c.threads);
	caps_guest(f, "xen", "xenpv", false);
	caps_guest(f, "xenpvh", "xenpvh", false);
	caps_guest(f, "hvm", "xenfv", true);
	fprintf(f, "</capabilities>\n");
	if (fclose(f) != 0 || !xml) {
		free(xml);
		return virt_call_error(call, VIR_ERR_NO_MEMORY, VIR_FROM_XEN, "out of memory");
	}
	xdr_put_string(call->ret, xml);
	free(xml);
	return 0;
}

const struct virt_proc virt_procs_connect[] = {
	{ VIRT_REMOTE_PROGRAM, PROC_AUTH_LIST, "AUTH_LIST", auth_list, true },
	{ VIRT_REMOTE_PROGRAM, PROC_CONNECT_SUPPORTS_FEATURE, "CONNECT_SUPPORTS_FEATURE", supports_feature, true },
	{ VIRT_REMOTE_PROGRAM, PROC_CONNECT_OPEN, "CONNECT_OPEN", connect_open, true },
	{ VIRT_REMOTE_PROGRAM, PROC_CONNECT_CLOSE, "CONNECT_CLOSE", connect_close, true },
	{ VIRT_REMOTE_PROGRAM, PROC_CONNECT_GET_TYPE, "CONNECT_GET_TYPE", get_type, false },
	{ VIRT_REMOTE_PROGRAM, PROC_CONNECT_GET_VERSION, "CONNECT_GET_VERSION", get_version, false },
	{ VIRT_REMOTE_PROGRAM, PROC_CONNECT_GET_LIB_VERSION, "CONNECT_GET_LIB_VERSION", get_lib_version, false },
	{ VIRT_REMOTE_PROGRAM, PROC_CONNECT_GET_HOSTNAME, "CONNECT_GET_HOSTNAME", get_hostname, false },
	{ VIRT_REMOTE_PROGRAM, PROC_CONNECT_GET_URI, "CONNECT_GET_URI", get_uri, false },
	{ VIRT_REMOTE_PROGRAM, PROC_CONNECT_GET_MAX_VCPUS, "CONNECT_GET_MAX_VCPUS", get_max_vcpus, false },
	{ VIRT_REMOTE_PROGRAM, PROC_CONNECT_IS_SECURE, "CONNECT_IS_SECURE", is_secure, false },
	{ VIRT_REMOTE_PROGRAM, PROC_NODE_GET_INFO, "NODE_GET_INFO", node_get_info, false },
	{ VIRT_REMOTE_PROGRAM, PROC_NODE_GET_FREE_MEMORY, "NODE_GET_FREE_MEMORY", node_get_free_memory, false },
	{ VIRT_REMOTE_PROGRAM, PROC_NODE_GET_SECURITY_MODEL, "NODE_GET_SECURITY_MODEL", node_get_security_model, false },
	{ VIRT_REMOTE_PROGRAM, PROC_CONNECT_GET_CAPABILITIES, "CONNECT_GET_CAPABILITIES", get_capabilities, false },
	{ 0 },
};
