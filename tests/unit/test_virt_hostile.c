/* Hostile arguments to xenith-libvirtd's domain procedures, fed through one client
 * (virt_client_feed, the socket's path) with a temporary state dir holding one defined domain:
 * each call must get libvirt's error code for a bad argument (VIR_ERR_INVALID_ARG for vCPU numbers
 * beyond the domain, CPUs beyond the host, memory 0 or beyond what a definition can hold, unknown
 * flags; VIR_ERR_RPC for counts beyond remote_protocol.x; VIR_ERR_NO_DOMAIN for empty names and
 * UUIDs nobody holds) and leave the definition as it was. */
#define _GNU_SOURCE
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libvirt/remote_types.h"
#include "libvirt/rpc.h"
#include "libvirt/server.h"
#include "unit.h"

#define PROC_CONNECT_OPEN 1
#define PROC_DOMAIN_DEFINE_XML 11
#define PROC_DOMAIN_GET_XML_DESC 14
#define PROC_DOMAIN_LOOKUP_BY_NAME 23
#define PROC_DOMAIN_LOOKUP_BY_UUID 24
#define PROC_DOMAIN_SET_MAX_MEMORY 30
#define PROC_DOMAIN_SET_VCPUS_FLAGS 199
#define PROC_DOMAIN_GET_VCPUS_FLAGS 200
#define PROC_DOMAIN_SET_MEMORY_FLAGS 204
#define PROC_DOMAIN_PIN_VCPU_FLAGS 225
#define PROC_DOMAIN_GET_VCPU_PIN_INFO 230
#define PROC_DOMAIN_UNDEFINE_FLAGS 231

static const char web_xml[] =
	"<domain type='xen'><name>web</name><uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>"
	"<memory unit='MiB'>512</memory><currentMemory unit='MiB'>256</currentMemory>"
	"<vcpu current='2'>4</vcpu><os><type>xenpvh</type><kernel>/k</kernel></os></domain>";

struct fixture {
	char state[64], run[64];
	struct virt_daemon d;
	struct virt_client *c;
	uint32_t serial;
	uint8_t web[16];               /* the defined domain's UUID */
};

struct reply {
	struct rpc_header h;
	struct virt_error e;          /* when h.status is RPC_ERROR */
	uint8_t *buf;
	struct xdr_reader r;          /* the body of an OK reply */
};

/* One call; its reply in *rep (free rep->buf).  0, or -1 when there was none. */
static int call(struct fixture *f, int32_t proc, const struct xdr_writer *args, struct reply *rep)
{
	struct rpc_header h = { VIRT_REMOTE_PROGRAM, 1, proc, RPC_CALL, ++f->serial, RPC_OK };
	struct xdr_writer w;
	char why[256];
	size_t len;

	memset(rep, 0, sizeof(*rep));
	xdr_writer_init(&w, 1 << 22);
	rpc_frame_begin(&w, &h);
	if (args && args->len)
		xdr_put_fixed(&w, args->data, args->len);
	rpc_frame_end(&w);
	virt_client_feed(f->c, w.data, w.len, why, sizeof(why));
	xdr_writer_free(&w);
	if (virt_client_pop_output(f->c, &rep->buf, &len) < 0)
		return -1;
	xdr_reader_init(&rep->r, rep->buf + 4, len - 4);
	if (rpc_header_decode(&rep->r, &rep->h) < 0)
		return -1;
	if (rep->h.status == RPC_ERROR)
		rpc_error_decode(&rep->r, &rep->e);
	return 0;
}

static void put_web(struct fixture *f, struct xdr_writer *w)
{
	remote_domain_put(w, "web", f->web, -1);
}

static int fixture_init(struct fixture *f)
{
	char err[256];
	struct xdr_writer w;
	struct reply rep;

	memset(f, 0, sizeof(*f));
	snprintf(f->state, sizeof(f->state), "/tmp/virt-hostile-state.XXXXXX");
	snprintf(f->run, sizeof(f->run), "/tmp/virt-hostile-run.XXXXXX");
	if (!mkdtemp(f->state) || !mkdtemp(f->run))
		return -1;
	setenv("XENITH_LIBVIRT_STATE", f->state, 1);
	setenv("XENITH_RUNDIR", f->run, 1);
	if (virt_daemon_init(&f->d, false, err, sizeof(err)) < 0)
		return -1;
	if (virt_host_open(&f->d.host, err, sizeof(err)) < 0) {
		fprintf(stderr, "virt_host_open: %s\n", err);
		return -1;
	}
	f->c = virt_client_new(&f->d, -1);
	if (!f->c)
		return -1;
	xdr_writer_init(&w, 4096);
	xdr_put_opt_string(&w, "xen:///system");
	xdr_put_u32(&w, 0);
	int r = call(f, PROC_CONNECT_OPEN, &w, &rep);
	xdr_writer_free(&w);
	if (r < 0 || rep.h.status != RPC_OK)
		return -1;
	free(rep.buf);
	xdr_writer_init(&w, 4096);
	xdr_put_string(&w, web_xml);
	r = call(f, PROC_DOMAIN_DEFINE_XML, &w, &rep);
	xdr_writer_free(&w);
	if (r < 0 || rep.h.status != RPC_OK) {
		fprintf(stderr, "define: %s\n", rep.e.message);
		free(rep.buf);
		return -1;
	}
	struct remote_domain rd;
	r = remote_domain_get(&rep.r, &rd);
	if (!r)
		memcpy(f->web, rd.uuid, 16);
	remote_domain_free(&rd);
	free(rep.buf);
	return r;
}

static void fixture_fini(struct fixture *f)
{
	char cmd[256];

	virt_daemon_fini(&f->d);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", f->state, f->run);
	if (system(cmd)) {
		/* leftovers in /tmp */
	}
}

/* The definition as dumpxml --inactive prints it (malloc'd), or NULL. */
static char *definition(struct fixture *f)
{
	struct xdr_writer w;
	struct reply rep;
	char *xml = NULL;

	xdr_writer_init(&w, 4096);
	put_web(f, &w);
	xdr_put_u32(&w, VIR_DOMAIN_XML_INACTIVE);
	if (call(f, PROC_DOMAIN_GET_XML_DESC, &w, &rep) == 0 && rep.h.status == RPC_OK)
		xml = xdr_get_string(&rep.r, 1 << 22);
	xdr_writer_free(&w);
	free(rep.buf);
	return xml;
}

/* A row: a procedure, its arguments after the domain, and the error libvirt gives for them. */
struct hostile_row {
	const char *name;
	int32_t proc;
	bool with_dom;                    /* the args start with the defined domain */
	void (*args)(struct xdr_writer *w);
	int code;                         /* expected virErrorNumber */
};

static void a_vcpus_zero(struct xdr_writer *w) { xdr_put_u32(w, 0); xdr_put_u32(w, VIR_DOMAIN_AFFECT_CONFIG); }
static void a_vcpus_huge(struct xdr_writer *w) { xdr_put_u32(w, 0xffffffffu); xdr_put_u32(w, VIR_DOMAIN_AFFECT_CONFIG); }
static void a_vcpus_neg_max(struct xdr_writer *w)
{
	xdr_put_u32(w, 0x80000000u);
	xdr_put_u32(w, VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_VCPU_MAXIMUM);
}
static void a_vcpus_flags(struct xdr_writer *w) { xdr_put_u32(w, 1); xdr_put_u32(w, 1u << 30); }
static void a_get_vcpus_flags(struct xdr_writer *w) { xdr_put_u32(w, 1u << 31); }
static void a_mem_zero(struct xdr_writer *w) { xdr_put_u64(w, 0); xdr_put_u32(w, VIR_DOMAIN_AFFECT_CONFIG); }
static void a_mem_above_max(struct xdr_writer *w) { xdr_put_u64(w, 1u << 20); xdr_put_u32(w, VIR_DOMAIN_AFFECT_CONFIG); }
static void a_mem_wraps(struct xdr_writer *w) { xdr_put_u64(w, UINT64_MAX); xdr_put_u32(w, VIR_DOMAIN_AFFECT_CONFIG); }
static void a_maxmem_wraps(struct xdr_writer *w)
{
	xdr_put_u64(w, UINT64_MAX);
	xdr_put_u32(w, VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_MEM_MAXIMUM);
}
static void a_maxmem_huge(struct xdr_writer *w)
{
	xdr_put_u64(w, 1ull << 50);
	xdr_put_u32(w, VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_MEM_MAXIMUM);
}
static void a_maxmem_old(struct xdr_writer *w) { xdr_put_u64(w, UINT64_MAX - 100); }
static void a_pin_vcpu_huge(struct xdr_writer *w)
{
	xdr_put_u32(w, 0xffffffffu);
	xdr_put_opaque(w, "\1", 1);
	xdr_put_u32(w, VIR_DOMAIN_AFFECT_CONFIG);
}
static void a_pin_beyond_host(struct xdr_writer *w)
{
	uint8_t map[128] = { 0 };
	map[127] = 0x80;                  /* CPU 1023 only */
	xdr_put_u32(w, 0);
	xdr_put_opaque(w, map, sizeof(map));
	xdr_put_u32(w, VIR_DOMAIN_AFFECT_CONFIG);
}
static void a_pin_long_map_beyond(struct xdr_writer *w)
{
	uint8_t map[2048] = { 0 };
	map[0] = 1;                       /* CPU 0 and CPU 16383: one the host has, one nobody has */
	map[2047] = 0x80;
	xdr_put_u32(w, 0);
	xdr_put_opaque(w, map, sizeof(map));
	xdr_put_u32(w, VIR_DOMAIN_AFFECT_CONFIG);
}
static void a_pin_empty(struct xdr_writer *w)
{
	xdr_put_u32(w, 0);
	xdr_put_opaque(w, "\0\0\0", 3);
	xdr_put_u32(w, VIR_DOMAIN_AFFECT_CONFIG);
}
static void a_pin_map_over(struct xdr_writer *w)
{
	static uint8_t map[2049];
	xdr_put_u32(w, 0);
	xdr_put_opaque(w, map, sizeof(map));
	xdr_put_u32(w, VIR_DOMAIN_AFFECT_CONFIG);
}
static void a_pininfo_neg(struct xdr_writer *w) { xdr_put_i32(w, -1); xdr_put_i32(w, 1); xdr_put_u32(w, 0); }
static void a_pininfo_huge(struct xdr_writer *w) { xdr_put_i32(w, 16384); xdr_put_i32(w, 0x7fffffff); xdr_put_u32(w, 0); }
static void a_undefine_flags(struct xdr_writer *w) { xdr_put_u32(w, 1u << 31); }
static void a_name_empty(struct xdr_writer *w) { xdr_put_string(w, ""); }
static void a_uuid_short(struct xdr_writer *w) { xdr_put_u32(w, 0x01020304); xdr_put_u32(w, 5); }
static void a_uuid_unknown(struct xdr_writer *w) { xdr_put_fixed(w, "0123456789abcdef", 16); }
static void a_define_empty_name(struct xdr_writer *w)
{
	xdr_put_string(w, "<domain type='xen'><name></name><memory>524288</memory>"
			  "<os><type>xenpvh</type><kernel>/k</kernel></os></domain>");
}

static const struct hostile_row rows[] = {
	{ "setvcpus 0 --config", PROC_DOMAIN_SET_VCPUS_FLAGS, true, a_vcpus_zero, VIR_ERR_INVALID_ARG },
	{ "setvcpus 4294967295 --config", PROC_DOMAIN_SET_VCPUS_FLAGS, true, a_vcpus_huge, VIR_ERR_INVALID_ARG },
	{ "setvcpus 2^31 --maximum --config", PROC_DOMAIN_SET_VCPUS_FLAGS, true, a_vcpus_neg_max, VIR_ERR_INVALID_ARG },
	{ "setvcpus with an unknown flag", PROC_DOMAIN_SET_VCPUS_FLAGS, true, a_vcpus_flags, VIR_ERR_INVALID_ARG },
	{ "vcpucount with an unknown flag", PROC_DOMAIN_GET_VCPUS_FLAGS, true, a_get_vcpus_flags, VIR_ERR_INVALID_ARG },
	{ "setmem 0 --config", PROC_DOMAIN_SET_MEMORY_FLAGS, true, a_mem_zero, VIR_ERR_INVALID_ARG },
	{ "setmem above maxmem --config", PROC_DOMAIN_SET_MEMORY_FLAGS, true, a_mem_above_max, VIR_ERR_INVALID_ARG },
	{ "setmem 2^64-1 KiB --config", PROC_DOMAIN_SET_MEMORY_FLAGS, true, a_mem_wraps, VIR_ERR_INVALID_ARG },
	{ "setmaxmem 2^64-1 KiB --config", PROC_DOMAIN_SET_MEMORY_FLAGS, true, a_maxmem_wraps, VIR_ERR_INVALID_ARG },
	{ "setmaxmem 2^50 KiB --config", PROC_DOMAIN_SET_MEMORY_FLAGS, true, a_maxmem_huge, VIR_ERR_INVALID_ARG },
	{ "SET_MAX_MEMORY 2^64-101 KiB", PROC_DOMAIN_SET_MAX_MEMORY, true, a_maxmem_old, VIR_ERR_INVALID_ARG },
	{ "vcpupin vCPU 4294967295 --config", PROC_DOMAIN_PIN_VCPU_FLAGS, true, a_pin_vcpu_huge, VIR_ERR_INVALID_ARG },
	{ "vcpupin to CPU 1023 only --config", PROC_DOMAIN_PIN_VCPU_FLAGS, true, a_pin_beyond_host, VIR_ERR_INVALID_ARG },
	{ "vcpupin map of 2048 bytes naming CPU 16383", PROC_DOMAIN_PIN_VCPU_FLAGS, true, a_pin_long_map_beyond,
	  VIR_ERR_INVALID_ARG },
	{ "vcpupin to no CPU", PROC_DOMAIN_PIN_VCPU_FLAGS, true, a_pin_empty, VIR_ERR_INVALID_ARG },
	{ "vcpupin map over REMOTE_CPUMAP_MAX", PROC_DOMAIN_PIN_VCPU_FLAGS, true, a_pin_map_over, VIR_ERR_RPC },
	{ "vcpupin info of -1 maps", PROC_DOMAIN_GET_VCPU_PIN_INFO, true, a_pininfo_neg, VIR_ERR_RPC },
	{ "vcpupin info of 16384 maps of 2^31-1 bytes", PROC_DOMAIN_GET_VCPU_PIN_INFO, true, a_pininfo_huge, VIR_ERR_RPC },
	{ "undefine with an unknown flag", PROC_DOMAIN_UNDEFINE_FLAGS, true, a_undefine_flags, VIR_ERR_INVALID_ARG },
	{ "lookup of an empty name", PROC_DOMAIN_LOOKUP_BY_NAME, false, a_name_empty, VIR_ERR_NO_DOMAIN },
	{ "lookup by a UUID of 8 bytes", PROC_DOMAIN_LOOKUP_BY_UUID, false, a_uuid_short, VIR_ERR_RPC },
	{ "lookup by a UUID nobody holds", PROC_DOMAIN_LOOKUP_BY_UUID, false, a_uuid_unknown, VIR_ERR_NO_DOMAIN },
	{ "define with an empty name", PROC_DOMAIN_DEFINE_XML, false, a_define_empty_name, VIR_ERR_XML_ERROR },
};

static void test_hostile(struct unit *u, const void *arg)
{
	const struct hostile_row *row = arg;
	struct fixture f;
	struct xdr_writer w;
	struct reply rep;

	if (fixture_init(&f) < 0) {
		CHECK(0, "fixture");
		fixture_fini(&f);
		return;
	}
	char *before = definition(&f);
	xdr_writer_init(&w, 1 << 20);
	if (row->with_dom)
		put_web(&f, &w);
	row->args(&w);
	CHECK_INT(call(&f, row->proc, &w, &rep), 0);
	xdr_writer_free(&w);
	CHECK(rep.h.status == RPC_ERROR, "%s answered OK", row->name);
	CHECK(rep.e.code == row->code, "%s: error %d (%s), wanted %d", row->name, rep.e.code, rep.e.message,
	      row->code);
	free(rep.buf);
	char *after = definition(&f);
	CHECK(before && after && !strcmp(before, after), "the definition changed:\n%s\n%s",
	      before ? before : "(none)", after ? after : "(none)");
	free(before);
	free(after);
	fixture_fini(&f);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		unit_case(&u, rows[i].name, test_hostile, &rows[i]);
	return unit_finish(&u);
}
