/* Hypercalls from a 32-bit vCPU, in Xen's compat layout (src/xen/compat.c), and the same calls from a
 * 64-bit one.
 *  - compat_layouts_match_i386: every offset and size in compat.c's tables, and the sizes of the
 *    structs we pass through untranslated, checked by compiling Xen's own headers (Debian's
 *    libxen-dev) for i386 with `gcc -m32`: a wrong number fails that compile.  A probe with a
 *    deliberately wrong number must fail, so the check cannot pass vacuously.
 *  - one table of hypercalls, each run from a vCPU in 32-bit protected mode (no EFER.LMA, paging
 *    off: arguments in ebx/ecx/edx with garbage in the upper halves) and from one in 64-bit mode
 *    (rdi/rsi/rdx), through xen_hypercall_from_regs as the port path does.  Each row lays out its
 *    structs byte by byte at the offsets the i386 and x86-64 ABIs give (written here from the ABI,
 *    not from compat.c), over a canary, and checks the answer, the fields written back, that nothing
 *    past the struct's end in that layout was touched, and the domain state the call changed. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fake_domain.h"
#include "xen/compat.h"
#include "xen/runstate.h"
#include "unit.h"

#define CANARY 0xaa
#define GARBAGE_HIGH 0x5a5a5a5a00000000ull   /* upper halves of a 32-bit caller's registers */
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

/* ---- the layouts, against Xen's headers compiled for i386 ---- */

/* Structs the handlers pass untranslated: they must be the same size for i386 (and those with a
 * 64-bit member keep its offset). */
static const struct same_layout { const char *type; size_t size; const char *member; size_t off; } same[] = {
	{ "struct evtchn_alloc_unbound", sizeof(struct evtchn_alloc_unbound), NULL, 0 },
	{ "struct evtchn_bind_interdomain", sizeof(struct evtchn_bind_interdomain), NULL, 0 },
	{ "struct evtchn_bind_virq", sizeof(struct evtchn_bind_virq), NULL, 0 },
	{ "struct evtchn_bind_ipi", sizeof(struct evtchn_bind_ipi), NULL, 0 },
	{ "struct evtchn_close", sizeof(struct evtchn_close), NULL, 0 },
	{ "struct evtchn_send", sizeof(struct evtchn_send), NULL, 0 },
	{ "struct evtchn_status", sizeof(struct evtchn_status), "u", offsetof(struct evtchn_status, u) },
	{ "struct evtchn_unmask", sizeof(struct evtchn_unmask), NULL, 0 },
	{ "struct evtchn_bind_vcpu", sizeof(struct evtchn_bind_vcpu), NULL, 0 },
	{ "struct evtchn_reset", sizeof(struct evtchn_reset), NULL, 0 },
	{ "struct evtchn_init_control", sizeof(struct evtchn_init_control), "link_bits",
	  offsetof(struct evtchn_init_control, link_bits) },
	{ "struct evtchn_expand_array", sizeof(struct evtchn_expand_array), NULL, 0 },
	{ "struct evtchn_set_priority", sizeof(struct evtchn_set_priority), NULL, 0 },
	{ "struct gnttab_query_size", sizeof(struct gnttab_query_size), NULL, 0 },
	{ "struct gnttab_get_version", sizeof(struct gnttab_get_version), NULL, 0 },
	{ "struct gnttab_set_version", sizeof(struct gnttab_set_version), NULL, 0 },
	{ "struct sched_shutdown", sizeof(struct sched_shutdown), NULL, 0 },
	{ "struct sched_remote_shutdown", sizeof(struct sched_remote_shutdown), NULL, 0 },
	{ "struct vcpu_register_vcpu_info", sizeof(struct vcpu_register_vcpu_info), "offset",
	  offsetof(struct vcpu_register_vcpu_info, offset) },
	{ "struct vcpu_set_periodic_timer", sizeof(struct vcpu_set_periodic_timer), NULL, 0 },
	{ "struct xen_hvm_param", sizeof(struct xen_hvm_param), "value", offsetof(struct xen_hvm_param, value) },
	{ "struct xen_hvm_evtchn_upcall_vector", sizeof(struct xen_hvm_evtchn_upcall_vector), NULL, 0 },
	{ "struct xen_hvm_pagetable_dying", sizeof(struct xen_hvm_pagetable_dying), "gpa",
	  offsetof(struct xen_hvm_pagetable_dying, gpa) },
	{ "struct xen_feature_info", sizeof(struct xen_feature_info), NULL, 0 },
	{ "struct xen_compile_info", sizeof(struct xen_compile_info), NULL, 0 },
};

static const char probe_head[] =
	"#include <stdint.h>\n#include <stddef.h>\n#include <xen/xen.h>\n#include <xen/version.h>\n"
	"#include <xen/sched.h>\n#include <xen/event_channel.h>\n#include <xen/grant_table.h>\n"
	"#include <xen/memory.h>\n#include <xen/vcpu.h>\n#include <xen/hvm/params.h>\n#include <xen/hvm/hvm_op.h>\n"
	"#define MEMBER_SIZE(t, m) sizeof(((t *)0)->m)\n";

/* Compiles `body` after probe_head for i386; 0 if it compiled, else -1 with the compiler's first words. */
static int compile_i386(const char *dir, const char *body, char *why, size_t len)
{
	char src[128], log[128], cmd[600];
	snprintf(src, sizeof(src), "%s/probe.c", dir);
	snprintf(log, sizeof(log), "%s/probe.log", dir);
	FILE *f = fopen(src, "w");
	if (!f) {
		snprintf(why, len, "cannot write %s", src);
		return -1;
	}
	fputs(probe_head, f);
	fputs(body, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "gcc -m32 -ffreestanding -fsyntax-only -D__XEN_INTERFACE_VERSION__=0x00040e00 "
		 "'%s' >'%s' 2>&1", src, log);
	if (system(cmd) == 0)
		return 0;
	why[0] = 0;
	f = fopen(log, "r");
	if (f) {
		char line[512];
		while (fgets(line, sizeof(line), f))
			if (strstr(line, "error")) {
				snprintf(why, len, "%s", line);
				break;
			}
		fclose(f);
	}
	return -1;
}

static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < *cap - *len) {
			*len += (size_t)n;
			return;
		}
		*cap *= 2;
		*buf = realloc(*buf, *cap);
		if (!*buf)
			abort();
	}
}

static void test_layouts_i386(struct unit *u, const void *arg)
{
	char dir[] = "/tmp/xenith-compat-XXXXXX", why[512], rm[64];
	size_t cap = 4096, len = 0;
	char *body = malloc(cap);
	(void)arg;

	if (!body || !mkdtemp(dir))
		abort();
	body[0] = 0;
	if (compile_i386(dir, "int probe_ok;\n", why, sizeof(why))) {
		unit_skip(u, "gcc cannot compile Xen's headers for i386 (gcc with -m32, Debian's libxen-dev): %s",
			  why[0] ? why : "no gcc");
		goto out;
	}
	for (const struct xen_abi_struct *const *sp = xen_abi_structs; *sp; sp++) {
		const struct xen_abi_struct *s = *sp;
		append(&body, &len, &cap, "_Static_assert(sizeof(%s) == %u, \"sizeof(%s) is not %u\");\n", s->name,
		       s->compat_size, s->name, s->compat_size);
		for (unsigned int i = 0; i < s->n_fields; i++) {
			const struct xen_abi_field *f = &s->fields[i];
			append(&body, &len, &cap,
			       "_Static_assert(offsetof(%s, %s) == %u && MEMBER_SIZE(%s, %s) == %u, "
			       "\"%s.%s is not at %u size %u\");\n", s->name, f->name, f->compat_off, s->name, f->name,
			       f->compat_size, s->name, f->name, f->compat_off, f->compat_size);
		}
	}
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		append(&body, &len, &cap, "_Static_assert(sizeof(%s) == %zu, \"%s differs for i386\");\n",
		       same[i].type, same[i].size, same[i].type);
		if (same[i].member)
			append(&body, &len, &cap, "_Static_assert(offsetof(%s, %s) == %zu, \"%s.%s moves for i386\");\n",
			       same[i].type, same[i].member, same[i].off, same[i].type, same[i].member);
	}
	CHECK(compile_i386(dir, body, why, sizeof(why)) == 0, "Xen's i386 headers disagree: %s", why);
	/* The control: one wrong number must be caught. */
	CHECK(compile_i386(dir, "_Static_assert(sizeof(struct sched_poll) == 24, \"native size\");\n", why,
			   sizeof(why)) != 0, "a probe claiming the 64-bit size of sched_poll for i386 compiled");
out:
	snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
	if (system(rm) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(body);
}

/* The tables themselves: every member inside its struct in both layouts, none overlapping. */
static void test_tables_sane(struct unit *u, const void *arg)
{
	(void)arg;
	for (const struct xen_abi_struct *const *sp = xen_abi_structs; *sp; sp++) {
		const struct xen_abi_struct *s = *sp;
		CHECK(s->compat_size <= s->native_size, "%s: compat %u > native %u", s->name, s->compat_size,
		      s->native_size);
		for (unsigned int i = 0; i < s->n_fields; i++) {
			const struct xen_abi_field *f = &s->fields[i];
			CHECK(f->compat_off + f->compat_size <= s->compat_size && f->native_off + f->native_size <=
			      s->native_size, "%s.%s out of its struct", s->name, f->name);
			CHECK(f->compat_size <= f->native_size, "%s.%s wider in compat", s->name, f->name);
			for (unsigned int j = 0; j < i; j++)
				CHECK(f->compat_off >= s->fields[j].compat_off + s->fields[j].compat_size,
				      "%s.%s overlaps %s", s->name, f->name, s->fields[j].name);
		}
	}
}

/* ---- one table of calls, in both modes ---- */

/* A value at an offset: [0] in the i386 layout, [1] in the x86-64 one.  size 0 ends a list. */
struct field {
	uint64_t gpa;
	uint16_t off[2];
	uint8_t size[2];
	uint64_t value;
};

#define F(base, o32, o64, s32, s64, v) { base, { o32, o64 }, { s32, s64 }, v }
#define HANDLE(base, o32, o64, v) F(base, o32, o64, 4, 8, v)   /* a guest handle or xen_ulong_t */

struct call_case {
	const char *name;
	uint32_t nr;
	uint64_t args[2][3];                 /* per layout: what the guest passes (before garbage) */
	struct field in[20];
	long rc;
	struct field out[6];
	uint16_t end[2];                     /* bytes at FAKE_ARG the call may write, per layout */
	/* Anything else to check, with the layout's index; NULL: nothing. */
	void (*check)(struct unit *u, struct domain *d, int layout);
	void (*setup)(struct domain *d);
};

#define ARGS(a0, a1, a2) { { a0, a1, a2 }, { a0, a1, a2 } }
#define SELF DOMID_SELF

static void check_memory_map(struct unit *u, struct domain *d, int layout)
{
	struct vm_memmap_entry map[VM_MEMMAP_MAX];
	unsigned int n = vm_memory_map(&d->vm, map);
	uint32_t nr;
	uint8_t e[20];

	memcpy(&nr, fake_gpa(d, FAKE_ARG), 4);
	CHECK(nr == n, "nr_entries %u, the VM has %u", nr, n);
	for (unsigned int i = 0; i < n && i < nr; i++) {
		uint64_t addr, size;
		memcpy(e, fake_gpa(d, FAKE_ARG2 + i * 20), 20);
		memcpy(&addr, e, 8);
		memcpy(&size, e + 8, 8);
		CHECK(addr == map[i].addr && size == map[i].size, "e820[%u] %#llx+%#llx (layout %d)", i,
		      (unsigned long long)addr, (unsigned long long)size, layout);
	}
}

static void check_reservation_down(struct unit *u, struct domain *d, int layout)
{
	CHECK(d->xen.reservation.pages_out == 2, "%llu pages out after giving 2 back (layout %d)",
	      (unsigned long long)d->xen.reservation.pages_out, layout);
	CHECK(!xen_gfn_populated_locked(d, 0x100) && !xen_gfn_populated_locked(d, 0x101) &&
	      xen_gfn_populated_locked(d, 0x102), "the wrong gfns went");
}

static void give_back_two(struct domain *d)
{
	const uint64_t gfns[2] = { 0x100, 0x101 };
	struct xen_memory_reservation r = { .nr_extents = 2, .domid = DOMID_SELF };
	set_xen_guest_handle(r.extent_start, (xen_pfn_t *)(uintptr_t)FAKE_ARG3);
	fake_put(d, FAKE_ARG3, gfns, sizeof(gfns));
	fake_put(d, FAKE_ARG, &r, sizeof(r));
	if (fake_hcall(d, 0, __HYPERVISOR_memory_op, XENMEM_decrease_reservation, FAKE_ARG, 0) != 2)
		abort();
	memset(fake_gpa(d, FAKE_ARG), CANARY, 64);
}

static void check_populated(struct unit *u, struct domain *d, int layout)
{
	CHECK(d->xen.reservation.pages_out == 0 && xen_gfn_populated_locked(d, 0x100) &&
	      xen_gfn_populated_locked(d, 0x101), "populate left %llu pages out (layout %d)",
	      (unsigned long long)d->xen.reservation.pages_out, layout);
}

static void check_shared_info_placed(struct unit *u, struct domain *d, int layout)
{
	CHECK(d->xen.shared_info_gfn == 0x200, "shared_info at gfn %#llx (layout %d)",
	      (unsigned long long)d->xen.shared_info_gfn, layout);
}

static void check_grant_frames(struct unit *u, struct domain *d, int layout)
{
	size_t w = layout ? 8 : 4;
	for (unsigned int f = 0; f < 3; f++) {
		uint64_t got = 0, want = f < 2 ? vm_special_page_gpa(&d->vm, SPECIAL_PAGE_GRANT_FIRST + f) >> 12 : 0;
		memcpy(&got, fake_gpa(d, FAKE_ARG2 + f * w), w);
		if (f < 2)
			CHECK(got == want, "frame %u is %#llx, want %#llx (layout %d)", f, (unsigned long long)got,
			      (unsigned long long)want, layout);
		else
			CHECK(*(uint8_t *)fake_gpa(d, FAKE_ARG2 + f * w) == CANARY, "frame list written past 2 entries");
	}
}

/* Two copies: 8 bytes from FAKE_ARG3 to FAKE_ARG3 + 0x1010, 4 from FAKE_ARG3 + 8 to + 0x1020. */
static void copy_source(struct domain *d)
{
	fake_put(d, FAKE_ARG3, "abcdefghijkl", 12);
}

static void check_copied(struct unit *u, struct domain *d, int layout)
{
	CHECK(!memcmp(fake_gpa(d, FAKE_ARG3 + 0x1010), "abcdefgh", 8), "first copy missing (layout %d)", layout);
	CHECK(!memcmp(fake_gpa(d, FAKE_ARG3 + 0x1020), "ijkl", 4), "second copy missing (layout %d)", layout);
}

static void check_timer(struct unit *u, struct domain *d, int layout)
{
	CHECK(d->xen.vcpu[0].singleshot_ns == 0x123456789abcull, "singleshot deadline %#llx (layout %d)",
	      (unsigned long long)d->xen.vcpu[0].singleshot_ns, layout);
}

static void timers(struct domain *d)
{
	fake_domain_timers(d);
}

/* A runstate record at `gpa` in the layout: running, its times adding up to its entry time. */
static void check_runstate_at(struct unit *u, struct domain *d, uint64_t gpa, int layout, uint32_t state)
{
	const uint8_t *r = fake_gpa(d, gpa);
	uint32_t st;
	uint64_t entry, t[4], sum = 0;
	size_t at = layout ? 8 : 4, times = layout ? 16 : 12, size = layout ? 48 : 44;

	memcpy(&st, r, 4);
	memcpy(&entry, r + at, 8);
	memcpy(t, r + times, 32);
	for (int i = 0; i < 4; i++)
		sum += t[i];
	CHECK(st == state, "state %u, want %u (layout %d)", st, state, layout);
	CHECK(entry == sum && entry != 0, "entry time %llu, times add to %llu (layout %d)",
	      (unsigned long long)entry, (unsigned long long)sum, layout);
	CHECK(r[size] == CANARY && r[size + 3] == CANARY, "record spills past %zu bytes", size);
}

static void check_runstate_area(struct unit *u, struct domain *d, int layout)
{
	CHECK(d->xen.vcpu[0].runstate.area_gva == FAKE_ARG2, "area at %#llx (layout %d): the handle's "
	      "upper half was read", (unsigned long long)d->xen.vcpu[0].runstate.area_gva, layout);
	check_runstate_at(u, d, FAKE_ARG2, layout, RUNSTATE_running);
}

static void check_runstate_info(struct unit *u, struct domain *d, int layout)
{
	check_runstate_at(u, d, FAKE_ARG, layout, RUNSTATE_running);
}

static void check_latched(struct unit *u, struct domain *d, int layout)
{
	CHECK(d->xen.shinfo_compat == (layout == 0), "shared_info width latched as %s (layout %d)",
	      d->xen.shinfo_compat ? "32-bit" : "64-bit", layout);
	CHECK(d->xen.callback_via == ((2ull << 56) | 0xf3), "callback %#llx", (unsigned long long)d->xen.callback_via);
}

/* Once the callback latched the shared_info width, runstate updates come in that width. */
static void runstate_in_latched_width(struct unit *u, struct domain *d, int layout)
{
	check_latched(u, d, layout);
	memset(fake_gpa(d, FAKE_ARG2), CANARY, 64);
	pthread_mutex_lock(&d->xen.lock);
	d->xen.vcpu[0].runstate.area_gva = FAKE_ARG2;
	xen_runstate_switch_locked(&d->vcpus[0], RUNSTATE_blocked);
	pthread_mutex_unlock(&d->xen.lock);
	check_runstate_at(u, d, FAKE_ARG2, layout, RUNSTATE_blocked);
}

static void fill_console(struct domain *d)
{
	fake_put(d, FAKE_ARG2, "hello", 5);
}

static const struct call_case cases[] = {
	{ "memory_op memory_map", __HYPERVISOR_memory_op, ARGS(XENMEM_memory_map, FAKE_ARG, 0),
	  { F(FAKE_ARG, 0, 0, 4, 4, VM_MEMMAP_MAX), HANDLE(FAKE_ARG, 4, 8, FAKE_ARG2) },
	  0, { HANDLE(FAKE_ARG, 4, 8, FAKE_ARG2) }, { 8, 16 }, check_memory_map, NULL },
	{ "memory_op current_reservation", __HYPERVISOR_memory_op, ARGS(XENMEM_current_reservation, FAKE_ARG, 0),
	  { F(FAKE_ARG, 0, 0, 2, 2, SELF) }, FAKE_RAM_SIZE >> 12, { { 0 } }, { 0, 0 }, NULL, NULL },
	{ "memory_op maximum_reservation", __HYPERVISOR_memory_op, ARGS(XENMEM_maximum_reservation, FAKE_ARG, 0),
	  { F(FAKE_ARG, 0, 0, 2, 2, SELF) }, FAKE_RAM_SIZE >> 12, { { 0 } }, { 0, 0 }, NULL, NULL },
	{ "memory_op maximum_gpfn", __HYPERVISOR_memory_op, ARGS(XENMEM_maximum_gpfn, FAKE_ARG, 0),
	  { F(FAKE_ARG, 0, 0, 2, 2, SELF) }, (FAKE_RAM_SIZE >> 12) - 1, { { 0 } }, { 0, 0 }, NULL, NULL },
	/* The extent list is of xen_pfn_t: 32-bit entries for a 32-bit caller. */
	{ "memory_op decrease_reservation", __HYPERVISOR_memory_op, ARGS(XENMEM_decrease_reservation, FAKE_ARG, 0),
	  { HANDLE(FAKE_ARG, 0, 0, FAKE_ARG2), HANDLE(FAKE_ARG, 4, 8, 2), F(FAKE_ARG, 8, 16, 4, 4, 0),
	    F(FAKE_ARG, 12, 20, 4, 4, 0), F(FAKE_ARG, 16, 24, 2, 2, SELF), HANDLE(FAKE_ARG2, 0, 0, 0x100),
	    HANDLE(FAKE_ARG2, 4, 8, 0x101) },
	  2, { { 0 } }, { 0, 0 }, check_reservation_down, NULL },
	{ "memory_op populate_physmap", __HYPERVISOR_memory_op, ARGS(XENMEM_populate_physmap, FAKE_ARG, 0),
	  { HANDLE(FAKE_ARG, 0, 0, FAKE_ARG2), HANDLE(FAKE_ARG, 4, 8, 2), F(FAKE_ARG, 8, 16, 4, 4, 0),
	    F(FAKE_ARG, 12, 20, 4, 4, 0), F(FAKE_ARG, 16, 24, 2, 2, SELF), HANDLE(FAKE_ARG2, 0, 0, 0x100),
	    HANDLE(FAKE_ARG2, 4, 8, 0x101) },
	  2, { { 0 } }, { 0, 0 }, check_populated, give_back_two },
	{ "memory_op add_to_physmap shared_info", __HYPERVISOR_memory_op, ARGS(XENMEM_add_to_physmap, FAKE_ARG, 0),
	  { F(FAKE_ARG, 0, 0, 2, 2, SELF), F(FAKE_ARG, 2, 2, 2, 2, 0), F(FAKE_ARG, 4, 4, 4, 4, XENMAPSPACE_shared_info),
	    HANDLE(FAKE_ARG, 8, 8, 0), HANDLE(FAKE_ARG, 12, 16, 0x200) },
	  0, { { 0 } }, { 0, 0 }, check_shared_info_placed, NULL },
	{ "grant_table_op setup_table", __HYPERVISOR_grant_table_op, ARGS(GNTTABOP_setup_table, FAKE_ARG, 1),
	  { F(FAKE_ARG, 0, 0, 2, 2, SELF), F(FAKE_ARG, 4, 4, 4, 4, 2), F(FAKE_ARG, 8, 8, 2, 2, 0x7777),
	    HANDLE(FAKE_ARG, 12, 16, FAKE_ARG2) },
	  0, { F(FAKE_ARG, 8, 8, 2, 2, GNTST_okay), F(FAKE_ARG, 4, 4, 4, 4, 2), HANDLE(FAKE_ARG, 12, 16, FAKE_ARG2) },
	  { 16, 24 }, check_grant_frames, NULL },
	{ "grant_table_op query_size", __HYPERVISOR_grant_table_op, ARGS(GNTTABOP_query_size, FAKE_ARG, 1),
	  { F(FAKE_ARG, 0, 0, 2, 2, SELF) },
	  0, { F(FAKE_ARG, 8, 8, 4, 4, GNTTAB_MAX_FRAMES), F(FAKE_ARG, 12, 12, 2, 2, GNTST_okay) }, { 16, 16 },
	  NULL, NULL },
	/* Two ops, so the array's stride (24 or 40 bytes) is tested too. */
	{ "grant_table_op copy", __HYPERVISOR_grant_table_op, ARGS(GNTTABOP_copy, FAKE_ARG, 2),
	  { HANDLE(FAKE_ARG, 0, 0, FAKE_ARG3 >> 12), F(FAKE_ARG, 4, 8, 2, 2, SELF), F(FAKE_ARG, 6, 10, 2, 2, 0),
	    HANDLE(FAKE_ARG, 8, 16, (FAKE_ARG3 >> 12) + 1), F(FAKE_ARG, 12, 24, 2, 2, SELF),
	    F(FAKE_ARG, 14, 26, 2, 2, 0x10), F(FAKE_ARG, 16, 32, 2, 2, 8), F(FAKE_ARG, 18, 34, 2, 2, 0),
	    HANDLE(FAKE_ARG, 24, 40, FAKE_ARG3 >> 12), F(FAKE_ARG, 28, 48, 2, 2, SELF), F(FAKE_ARG, 30, 50, 2, 2, 8),
	    HANDLE(FAKE_ARG, 32, 56, (FAKE_ARG3 >> 12) + 1), F(FAKE_ARG, 36, 64, 2, 2, SELF),
	    F(FAKE_ARG, 38, 66, 2, 2, 0x20), F(FAKE_ARG, 40, 72, 2, 2, 4), F(FAKE_ARG, 42, 74, 2, 2, 0) },
	  0, { F(FAKE_ARG, 20, 36, 2, 2, GNTST_okay), F(FAKE_ARG, 24 + 20, 40 + 36, 2, 2, GNTST_okay) },
	  { 48, 80 }, check_copied, copy_source },
	{ "sched_op poll", __HYPERVISOR_sched_op, ARGS(SCHEDOP_poll, FAKE_ARG, 0),
	  /* A port beyond the table: -EINVAL without blocking, once the whole list was read from its
	   * handle.  Past a 32-bit caller's struct lies a timeout of 1 ns where the 64-bit layout has it,
	   * so a wrong read (one port, not pending) ends at once and answers 0 instead of hanging. */
	  { HANDLE(FAKE_ARG, 0, 0, FAKE_ARG2), F(FAKE_ARG, 4, 8, 4, 4, 2), F(FAKE_ARG, 8, 16, 8, 8, 1),
	    F(FAKE_ARG, 16, 16, 8, 8, 1),
	    F(FAKE_ARG2, 0, 0, 4, 4, 3), F(FAKE_ARG2, 4, 4, 4, 4, 5000) },
	  -XEN_EINVAL, { { 0 } }, { 0, 0 }, NULL, NULL },
	{ "sched_op shutdown", __HYPERVISOR_sched_op, ARGS(SCHEDOP_shutdown, FAKE_ARG, 0),
	  { F(FAKE_ARG, 0, 0, 4, 4, 77) }, -XEN_EINVAL, { { 0 } }, { 0, 0 }, NULL, NULL },
	{ "vcpu_op set_singleshot_timer", __HYPERVISOR_vcpu_op, ARGS(VCPUOP_set_singleshot_timer, 0, FAKE_ARG),
	  { F(FAKE_ARG, 0, 0, 8, 8, 0x123456789abcull), F(FAKE_ARG, 8, 8, 4, 4, 0) },
	  0, { { 0 } }, { 0, 0 }, check_timer, timers },
	/* 64-bit: the deadline in rdi; 32-bit: low half in ebx, high half in ecx. */
	{ "set_timer_op", __HYPERVISOR_set_timer_op, { { 0x56789abc, 0x1234, 0 }, { 0x123456789abcull, 0, 0 } },
	  { { 0 } }, 0, { { 0 } }, { 0, 0 }, check_timer, timers },
	/* The handle is 4 bytes for a 32-bit caller: the canary after it must not count. */
	{ "vcpu_op register_runstate_memory_area", __HYPERVISOR_vcpu_op,
	  ARGS(VCPUOP_register_runstate_memory_area, 0, FAKE_ARG),
	  { HANDLE(FAKE_ARG, 0, 0, FAKE_ARG2) }, 0, { { 0 } }, { 0, 0 }, check_runstate_area, NULL },
	{ "vcpu_op get_runstate_info", __HYPERVISOR_vcpu_op, ARGS(VCPUOP_get_runstate_info, 0, FAKE_ARG),
	  { { 0 } }, 0, { { 0 } }, { 44, 48 }, check_runstate_info, NULL },
	{ "vcpu_op register_vcpu_info", __HYPERVISOR_vcpu_op, ARGS(VCPUOP_register_vcpu_info, 0, FAKE_ARG),
	  { F(FAKE_ARG, 0, 0, 8, 8, FAKE_ARG2 >> 12), F(FAKE_ARG, 8, 8, 4, 4, 64), F(FAKE_ARG, 12, 12, 4, 4, 0) },
	  0, { { 0 } }, { 0, 0 }, NULL, NULL },
	{ "hvm_op get_param", __HYPERVISOR_hvm_op, ARGS(HVMOP_get_param, FAKE_ARG, 0),
	  { F(FAKE_ARG, 0, 0, 2, 2, SELF), F(FAKE_ARG, 4, 4, 4, 4, HVM_PARAM_STORE_EVTCHN) },
	  0, { F(FAKE_ARG, 8, 8, 8, 8, EVTCHN_STORE_PORT) }, { 16, 16 }, NULL, NULL },
	{ "hvm_op set_param callback latches the shared_info width", __HYPERVISOR_hvm_op,
	  ARGS(HVMOP_set_param, FAKE_ARG, 0),
	  { F(FAKE_ARG, 0, 0, 2, 2, SELF), F(FAKE_ARG, 4, 4, 4, 4, HVM_PARAM_CALLBACK_IRQ),
	    F(FAKE_ARG, 8, 8, 8, 8, (2ull << 56) | 0xf3) },
	  0, { { 0 } }, { 0, 0 }, runstate_in_latched_width, NULL },
	{ "event_channel_op alloc_unbound", __HYPERVISOR_event_channel_op, ARGS(EVTCHNOP_alloc_unbound, FAKE_ARG, 0),
	  { F(FAKE_ARG, 0, 0, 2, 2, SELF), F(FAKE_ARG, 2, 2, 2, 2, 0) },
	  0, { F(FAKE_ARG, 4, 4, 4, 4, 3) }, { 8, 8 }, NULL, NULL },
	{ "event_channel_op bind_virq", __HYPERVISOR_event_channel_op, ARGS(EVTCHNOP_bind_virq, FAKE_ARG, 0),
	  { F(FAKE_ARG, 0, 0, 4, 4, VIRQ_TIMER), F(FAKE_ARG, 4, 4, 4, 4, 0) },
	  0, { F(FAKE_ARG, 8, 8, 4, 4, 3) }, { 12, 12 }, NULL, NULL },
	{ "xen_version platform_parameters", __HYPERVISOR_xen_version, ARGS(XENVER_platform_parameters, FAKE_ARG, 0),
	  { { 0 } }, 0, { HANDLE(FAKE_ARG, 0, 0, 0) }, { 4, 8 }, NULL, NULL },
	{ "xen_version get_features", __HYPERVISOR_xen_version, ARGS(XENVER_get_features, FAKE_ARG, 0),
	  { F(FAKE_ARG, 0, 0, 4, 4, 0) }, 0,
	  { F(FAKE_ARG, 4, 4, 4, 4, (1u << XENFEAT_writable_page_tables) | (1u << XENFEAT_auto_translated_physmap) |
				       (1u << XENFEAT_hvm_callback_vector) | (1u << XENFEAT_hvm_safe_pvclock)) },
	  { 8, 8 }, NULL, NULL },
	/* The buffer pointer in edx: its upper half is garbage for a 32-bit caller. */
	{ "console_io write", __HYPERVISOR_console_io, ARGS(CONSOLEIO_write, 5, FAKE_ARG2),
	  { { 0 } }, 0, { { 0 } }, { 0, 0 }, NULL, fill_console },
	{ "vm_assist enable", __HYPERVISOR_vm_assist, ARGS(VMASST_CMD_enable, VMASST_TYPE_runstate_update_flag, 0),
	  { { 0 } }, 0, { { 0 } }, { 0, 0 }, NULL, NULL },
};

static const char *const layout_name[2] = { "32-bit", "64-bit" };

static void set_mode(struct vcpu *v, int layout)
{
	struct kvm_sregs *s = &v->run->s.regs.sregs;

	if (layout) {
		/* Long mode with paging off is not a state hardware allows, but our walker then reads
		 * addresses as physical, which is all a 64-bit run needs here. */
		s->efer = EFER_LME | EFER_LMA;
		s->cs.l = 1;
	} else {
		s->efer = 0;
		s->cs.l = 0;
		s->cs.db = 1;
	}
}

static long call_from_regs(struct unit *u, struct domain *d, int layout, uint32_t nr, const uint64_t a[3])
{
	struct kvm_regs *r = &d->vcpus[0].run->s.regs.regs;

	memset(r, 0, sizeof(*r));
	r->rax = nr;
	if (layout) {
		r->rdi = a[0];
		r->rsi = a[1];
		r->rdx = a[2];
		r->rbx = r->rcx = GARBAGE_HIGH;
		xen_hypercall_from_regs(&d->vcpus[0]);
		return (long)r->rax;
	}
	r->rax |= GARBAGE_HIGH;
	r->rbx = a[0] | GARBAGE_HIGH;
	r->rcx = a[1] | GARBAGE_HIGH;
	r->rdx = a[2] | GARBAGE_HIGH;
	r->rdi = r->rsi = GARBAGE_HIGH;
	xen_hypercall_from_regs(&d->vcpus[0]);
	CHECK(r->rax >> 32 == 0, "rax %#llx: a 32-bit caller's result has an upper half", (unsigned long long)r->rax);
	return (long)(int32_t)r->rax;
}

struct run { const struct call_case *c; int layout; };

static void test_call(struct unit *u, const void *arg)
{
	const struct run *run = arg;
	const struct call_case *c = run->c;
	int l = run->layout;
	struct domain *d = fake_domain_new(2);

	memset(fake_gpa(d, FAKE_ARG), CANARY, 0x2000);
	if (c->setup)
		c->setup(d);
	for (const struct field *f = c->in; f->size[l]; f++)
		fake_put(d, f->gpa + f->off[l], &f->value, f->size[l]);
	set_mode(&d->vcpus[0], l);
	long rc = call_from_regs(u, d, l, c->nr, c->args[l]);
	CHECK(rc == c->rc, "answered %ld, want %ld", rc, c->rc);
	for (const struct field *f = c->out; f->size[l]; f++) {
		uint64_t got = 0, want = f->value;
		fake_get(d, f->gpa + f->off[l], &got, f->size[l]);
		if (f->size[l] < 8)
			want &= (1ull << (8 * f->size[l])) - 1;
		CHECK(got == want, "%u bytes at +%u: %#llx, want %#llx", f->size[l], f->off[l],
		      (unsigned long long)got, (unsigned long long)want);
	}
	if (c->end[l]) {
		const uint8_t *after = fake_gpa(d, FAKE_ARG + c->end[l]);
		CHECK(after[0] == CANARY && after[1] == CANARY && after[2] == CANARY && after[3] == CANARY,
		      "bytes after the %u-byte struct were written", c->end[l]);
	}
	if (c->check)
		c->check(u, d, l);
	CHECK(!xen_call_compat(&d->vcpus[0]), "the call's mode outlived the call");
	fake_domain_free(d);
}

/* An event-channel op with a one- or two-word struct at FAKE_ARG (the same in both layouts). */
static long evtchn_regs(struct unit *u, struct domain *d, int l, uint64_t cmd, uint32_t w0, uint32_t w1)
{
	const uint32_t a[2] = { w0, w1 };
	const uint64_t args[3] = { cmd, FAKE_ARG, 0 };
	uint32_t out[2];

	fake_put(d, FAKE_ARG, a, sizeof(a));
	long rc = call_from_regs(u, d, l, __HYPERVISOR_event_channel_op, args);
	fake_get(d, FAKE_ARG, out, sizeof(out));
	return rc ? rc : (long)out[1];
}

static bool bit_at(struct domain *d, size_t off, unsigned int bit)
{
	return ((const uint8_t *)d->xen.shared_info)[off + bit / 8] >> (bit % 8) & 1;
}

/* shared_info and vcpu_info in the width the callback latched: pending bits at 2048 in both, the mask
 * at 2176 (i386) or 2560, the selector 32 bits at vcpu_info+4 (one bit per 32 ports) or 64 at +8
 * (per 64), the wallclock at 2304 or 3072. */
static void test_shared_info_width(struct unit *u, const void *arg)
{
	int l = *(const int *)arg;
	struct domain *d = fake_domain_new(1);
	const size_t mask = l ? 2560 : 2176, sel = l ? 8 : 4, wc = l ? 3072 : 2304, other_wc = l ? 2304 : 3072;
	const struct xen_hvm_param cb = { .domid = DOMID_SELF, .index = HVM_PARAM_CALLBACK_IRQ,
					  .value = (2ull << 56) | 0xf3 };
	const uint64_t args[3] = { HVMOP_set_param, FAKE_ARG, 0 };
	uint8_t *vi = (uint8_t *)&d->xen.shared_info->vcpu_info[0];
	long port = 0;

	set_mode(&d->vcpus[0], l);
	fake_put(d, FAKE_ARG, &cb, sizeof(cb));
	CHECK(call_from_regs(u, d, l, __HYPERVISOR_hvm_op, args) == 0, "set_param CALLBACK_IRQ refused");
	CHECK(d->xen.shinfo_compat == !l, "width latched %s", d->xen.shinfo_compat ? "32-bit" : "64-bit");
	pthread_mutex_lock(&d->xen.lock);
	xen_time_update_locked(d, 0);
	pthread_mutex_unlock(&d->xen.lock);
	uint32_t w[3], other;
	memcpy(w, (uint8_t *)d->xen.shared_info + wc, sizeof(w));
	memcpy(&other, (uint8_t *)d->xen.shared_info + other_wc, 4);
	CHECK(w[0] && !(w[0] & 1) && w[1] > 1600000000u && w[2] < 1000000000u,
	      "wallclock at %zu: version %u sec %u nsec %u", wc, w[0], w[1], w[2]);
	CHECK(other == 0, "the other width's wallclock version written (%u)", other);
	/* IPI ports up to 70: its selector bit is 2 (i386) or 1. */
	while (port >= 0 && port < 70)
		port = evtchn_regs(u, d, l, EVTCHNOP_bind_ipi, 0, 0);
	CHECK(port == 70, "bind_ipi gave %ld", port);
	if (port != 70)
		goto out;
	unsigned int sel_bit = l ? 70 / 64 : 70 / 32;
	CHECK(evtchn_regs(u, d, l, EVTCHNOP_send, 70, 0) == 0, "send refused");
	CHECK(bit_at(d, 2048, 70), "port 70 not pending at 2048");
	CHECK(vi[0] == 1, "upcall_pending %u", vi[0]);
	CHECK(bit_at(d, (size_t)(vi - (uint8_t *)d->xen.shared_info) + sel, sel_bit), "selector bit %u at +%zu "
	      "not set", sel_bit, sel);
	/* Masked: pending, but no selector bit; unmasking delivers. */
	memset(vi, 0, 16);
	memset((uint8_t *)d->xen.shared_info + 2048, 0, 128);
	((uint8_t *)d->xen.shared_info)[mask + 70 / 8] |= 1 << (70 % 8);
	CHECK(evtchn_regs(u, d, l, EVTCHNOP_send, 70, 0) == 0, "send refused");
	CHECK(bit_at(d, 2048, 70) && vi[0] == 0, "masked at %zu: pending %d upcall %u", mask, bit_at(d, 2048, 70), vi[0]);
	CHECK(evtchn_regs(u, d, l, EVTCHNOP_unmask, 70, 0) == 0, "unmask refused");
	CHECK(!bit_at(d, mask, 70), "still masked");
	CHECK(vi[0] == 1 && bit_at(d, (size_t)(vi - (uint8_t *)d->xen.shared_info) + sel, sel_bit),
	      "unmask delivered nothing");
out:
	fake_domain_free(d);
}

/* xen_hypercall_dispatch (fake_hcall, the fuzzers) stays native whatever the vCPU's mode. */
static void test_dispatch_native(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(1);
	struct sched_poll p = { .nr_ports = 1 };
	const evtchn_port_t port = 5000;
	(void)arg;

	set_xen_guest_handle(p.ports, (evtchn_port_t *)(uintptr_t)FAKE_ARG2);
	fake_put(d, FAKE_ARG2, &port, sizeof(port));
	CHECK(fake_op(d, 0, __HYPERVISOR_sched_op, SCHEDOP_poll, &p, sizeof(p)) == -XEN_EINVAL,
	      "native sched_poll from a vCPU whose registers say 32-bit was not read natively");
	fake_domain_free(d);
}

static void test_mode_detection(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(1);
	struct kvm_sregs *s = &d->vcpus[0].run->s.regs.sregs;
	(void)arg;

	CHECK(!xen_vcpu_in_long_mode(&d->vcpus[0]), "protected mode taken for 64-bit");
	s->efer = EFER_LME | EFER_LMA;
	CHECK(!xen_vcpu_in_long_mode(&d->vcpus[0]), "compatibility mode (LMA, CS.L 0) taken for 64-bit");
	s->cs.l = 1;
	CHECK(xen_vcpu_in_long_mode(&d->vcpus[0]), "64-bit mode not seen");
	fake_domain_free(d);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char names[2][sizeof(cases) / sizeof(cases[0])][128];
	struct run runs[2][sizeof(cases) / sizeof(cases[0])];

	unit_case(&u, "compat_layouts_match_i386", test_layouts_i386, NULL);
	unit_case(&u, "compat_tables_sane", test_tables_sane, NULL);
	unit_case(&u, "mode_from_efer_lma_and_cs_l", test_mode_detection, NULL);
	unit_case(&u, "dispatch_without_mode_is_native", test_dispatch_native, NULL);
	static const int layouts[2] = { 0, 1 };
	unit_case(&u, "shared_info_width_latched (32-bit)", test_shared_info_width, &layouts[0]);
	unit_case(&u, "shared_info_width_latched (64-bit)", test_shared_info_width, &layouts[1]);
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			snprintf(names[l][i], sizeof(names[l][i]), "%s (%s)", cases[i].name, layout_name[l]);
			runs[l][i] = (struct run){ &cases[i], l };
			unit_case(&u, names[l][i], test_call, &runs[l][i]);
		}
	return unit_finish(&u);
}
