/* The vCPU state record (vmm/vcpu_state.h): a filled state survives encode and decode, every rule
 * of the format refuses what breaks it, the suspend's return value lands in rax (in a saved state
 * and on a vCPU whose run area holds registers for its next entry), and, where /dev/kvm works, a
 * real vCPU's state captured, loaded and captured again comes back the same. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "unit.h"
#include "vmm/domain.h"
#include "vmm/vcpu_state.h"

static void fill_pattern(void *p, size_t len, uint8_t seed)
{
	uint8_t *b = p;
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed + i * 7);
}

/* Every section present, XSAVE or FPU as asked. */
static void filled_state(struct vcpu_state *s, bool xsave, uint32_t n_msrs)
{
	memset(s, 0, sizeof(*s));
	s->vcpu_id = 3;
	s->online = true;
	fill_pattern(&s->regs, sizeof(s->regs), 1);
	fill_pattern(&s->sregs, sizeof(s->sregs), 2);
	if (xsave)
		fill_pattern(&s->xsave, sizeof(s->xsave), 3);
	else
		fill_pattern(&s->fpu, sizeof(s->fpu), 4);
	fill_pattern(&s->xcrs, sizeof(s->xcrs), 5);
	fill_pattern(&s->lapic, sizeof(s->lapic), 6);
	fill_pattern(&s->events, sizeof(s->events), 7);
	fill_pattern(&s->mp_state, sizeof(s->mp_state), 8);
	fill_pattern(&s->debugregs, sizeof(s->debugregs), 9);
	s->n_msrs = n_msrs;
	for (uint32_t i = 0; i < n_msrs; i++)
		s->msrs[i] = (struct vcpu_state_msr){ .index = 0xc0000080 + i, .data = 0x1122334455667788ull * (i + 1) };
	s->present = 1u << VCPU_SEC_REGS | 1u << VCPU_SEC_SREGS | 1u << (xsave ? VCPU_SEC_XSAVE : VCPU_SEC_FPU) |
		     1u << VCPU_SEC_XCRS | 1u << VCPU_SEC_MSRS | 1u << VCPU_SEC_LAPIC | 1u << VCPU_SEC_EVENTS |
		     1u << VCPU_SEC_MP_STATE | 1u << VCPU_SEC_DEBUGREGS;
}

static void test_round_trip(struct unit *u, const void *arg)
{
	bool xsave = arg != NULL;
	static struct vcpu_state in, out;
	uint8_t *buf = malloc(vcpu_state_encoded_max());
	char err[256] = "";

	filled_state(&in, xsave, 5);
	size_t len = vcpu_state_encode(&in, buf);
	CHECK(len <= vcpu_state_encoded_max(), "encoded %zu bytes, more than the bound %zu", len,
	      vcpu_state_encoded_max());
	CHECK_INT(vcpu_state_decode(buf, len, &out, err, sizeof(err)), 0);
	CHECK(!err[0], "decode said: %s", err);
	CHECK(!memcmp(&in, &out, sizeof(in)), "the decoded state differs from the encoded one");
	CHECK_INT(out.vcpu_id, 3);
	CHECK(out.online, "online flag lost");
	CHECK_INT(out.n_msrs, 5);
	CHECK(out.msrs[4].data == 0x1122334455667788ull * 5, "MSR 4's data is %#llx",
	      (unsigned long long)out.msrs[4].data);
	free(buf);
}

/* The bound is what the fullest record takes, and fits the stream's 16 KiB for MIG_REC_VCPU. */
static void test_bound(struct unit *u, const void *arg)
{
	(void)arg;
	static struct vcpu_state s;
	uint8_t *buf = malloc(vcpu_state_encoded_max());

	CHECK(vcpu_state_encoded_max() <= 16384, "bound %zu is beyond 16 KiB", vcpu_state_encoded_max());
	filled_state(&s, true, VCPU_STATE_MAX_MSRS);
	s.present |= 1u << VCPU_SEC_FPU;     /* every section at once: the worst case */
	CHECK_INT(vcpu_state_encode(&s, buf), vcpu_state_encoded_max());
	free(buf);
}

/* ---- refusals: records built section by section ---- */

struct rec { uint8_t b[20000]; size_t len; };

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void rec_head(struct rec *r, uint32_t vcpu_id, uint32_t flags)
{
	put32(r->b, vcpu_id);
	put32(r->b + 4, flags);
	r->len = 8;
}

static void rec_section(struct rec *r, uint32_t id, uint32_t len)
{
	put32(r->b + r->len, id);
	put32(r->b + r->len + 4, len);
	memset(r->b + r->len + 8, 0, len);
	r->len += 8 + len;
}

static void rec_msrs(struct rec *r, uint32_t n, uint32_t len, uint32_t pad)
{
	size_t at = r->len + 8;
	rec_section(r, VCPU_SEC_MSRS, len);
	put32(r->b + at, n);
	put32(r->b + at + 4, pad);
}

/* A valid minimal record: REGS, SREGS, FPU, MP_STATE; `skip` leaves one out. */
static void rec_minimal(struct rec *r, unsigned int skip)
{
	rec_head(r, 1, 1);
	if (skip != VCPU_SEC_REGS)
		rec_section(r, VCPU_SEC_REGS, sizeof(struct kvm_regs));
	if (skip != VCPU_SEC_SREGS)
		rec_section(r, VCPU_SEC_SREGS, sizeof(struct kvm_sregs));
	if (skip != VCPU_SEC_FPU)
		rec_section(r, VCPU_SEC_FPU, sizeof(struct kvm_fpu));
	if (skip != VCPU_SEC_MP_STATE)
		rec_section(r, VCPU_SEC_MP_STATE, sizeof(struct kvm_mp_state));
}

enum bad {
	BAD_NONE, BAD_SHORT_HEAD, BAD_FLAGS, BAD_SHORT_SECTION, BAD_SIZE, BAD_REPEATED, BAD_ID_ZERO, BAD_ID_NEW,
	BAD_NO_REGS, BAD_NO_SREGS, BAD_NO_MP_STATE, BAD_NO_FPU, BAD_BOTH_FPU, BAD_MSRS_MANY, BAD_MSRS_LEN,
	BAD_MSRS_SHORT, BAD_MSRS_PAD, BAD_TRAILING,
};

static const struct refusal {
	const char *name;
	enum bad bad;
	const char *says;      /* a piece of the error */
} refusals[] = {
	{ "valid-minimal", BAD_NONE, NULL },
	{ "short-head", BAD_SHORT_HEAD, "shorter than its 8-byte head" },
	{ "unknown-flags", BAD_FLAGS, "unknown flags 0x4" },
	{ "short-section", BAD_SHORT_SECTION, "ends inside its LAPIC section" },
	{ "wrong-size", BAD_SIZE, "REGS section at byte 8 is 100 bytes, expected 144" },
	{ "repeated", BAD_REPEATED, "second SREGS section" },
	{ "unknown-id-0", BAD_ID_ZERO, "unknown section 0" },
	{ "unknown-id-new", BAD_ID_NEW, "unknown section 11" },
	{ "missing-regs", BAD_NO_REGS, "no REGS section" },
	{ "missing-sregs", BAD_NO_SREGS, "no SREGS section" },
	{ "missing-mp-state", BAD_NO_MP_STATE, "no MP_STATE section" },
	{ "neither-xsave-nor-fpu", BAD_NO_FPU, "neither of XSAVE and FPU" },
	{ "both-xsave-and-fpu", BAD_BOTH_FPU, "both of XSAVE and FPU" },
	{ "too-many-msrs", BAD_MSRS_MANY, "holds 129 MSRs, more than 128" },
	{ "msrs-length", BAD_MSRS_LEN, "expected 40 for 2 MSRs" },
	{ "msrs-no-count", BAD_MSRS_SHORT, "shorter than its count" },
	{ "msrs-pad", BAD_MSRS_PAD, "nonzero pad" },
	{ "trailing-bytes", BAD_TRAILING, "3 trailing bytes" },
};

static void build_bad(struct rec *r, enum bad bad)
{
	switch (bad) {
	case BAD_NO_REGS: rec_minimal(r, VCPU_SEC_REGS); return;
	case BAD_NO_SREGS: rec_minimal(r, VCPU_SEC_SREGS); return;
	case BAD_NO_MP_STATE: rec_minimal(r, VCPU_SEC_MP_STATE); return;
	case BAD_NO_FPU: rec_minimal(r, VCPU_SEC_FPU); return;
	case BAD_SIZE:
		rec_head(r, 1, 1);
		rec_section(r, VCPU_SEC_REGS, 100);
		return;
	default:
		break;
	}
	rec_minimal(r, 0);
	switch (bad) {
	case BAD_SHORT_HEAD: r->len = 4; break;
	case BAD_FLAGS: put32(r->b + 4, 5); break;
	case BAD_SHORT_SECTION:
		rec_section(r, VCPU_SEC_LAPIC, sizeof(struct kvm_lapic_state));
		r->len -= 10;
		break;
	case BAD_REPEATED: rec_section(r, VCPU_SEC_SREGS, sizeof(struct kvm_sregs)); break;
	case BAD_ID_ZERO: rec_section(r, 0, 4); break;
	case BAD_ID_NEW: rec_section(r, VCPU_SEC_COUNT, 4); break;
	case BAD_BOTH_FPU: rec_section(r, VCPU_SEC_XSAVE, sizeof(struct kvm_xsave)); break;
	case BAD_MSRS_MANY: rec_msrs(r, VCPU_STATE_MAX_MSRS + 1, 8 + 16 * (VCPU_STATE_MAX_MSRS + 1), 0); break;
	case BAD_MSRS_LEN: rec_msrs(r, 2, 8 + 16 * 3, 0); break;
	case BAD_MSRS_SHORT: rec_msrs(r, 0, 4, 0); break;
	case BAD_MSRS_PAD: rec_msrs(r, 1, 8 + 16, 1); break;
	case BAD_TRAILING: r->len += 3; break;
	default: break;
	}
}

static void test_refusal(struct unit *u, const void *arg)
{
	const struct refusal *t = arg;
	static struct rec r;
	static struct vcpu_state s;
	char err[256] = "";

	memset(&r, 0, sizeof(r));
	build_bad(&r, t->bad);
	int rc = vcpu_state_decode(r.b, r.len, &s, err, sizeof(err));
	if (!t->says) {
		CHECK_INT(rc, 0);
		CHECK(!err[0], "a valid record was refused: %s", err);
		CHECK(s.online && s.vcpu_id == 1, "head read as vCPU %u online %d", s.vcpu_id, s.online);
		return;
	}
	CHECK_INT(rc, -1);
	CHECK(strstr(err, t->says), "error \"%s\" does not say \"%s\"", err, t->says);
}

/* The MSR entries' pad must be zero too (a newer writer may mean something by it). */
static void test_msr_entry_pad(struct unit *u, const void *arg)
{
	(void)arg;
	static struct rec r;
	static struct vcpu_state s;
	char err[256] = "";

	memset(&r, 0, sizeof(r));
	rec_minimal(&r, 0);
	size_t at = r.len + 8;
	rec_msrs(&r, 1, 8 + 16, 0);
	put32(r.b + at + 8, 0x10);       /* index: TSC */
	put32(r.b + at + 12, 7);         /* its pad */
	CHECK_INT(vcpu_state_decode(r.b, r.len, &s, err, sizeof(err)), -1);
	CHECK(strstr(err, "MSR entry 0 (index 0x10) has a nonzero pad"), "error: %s", err);
	put32(r.b + at + 12, 0);
	CHECK_INT(vcpu_state_decode(r.b, r.len, &s, err, sizeof(err)), 0);
	CHECK(s.n_msrs == 1 && s.msrs[0].index == 0x10, "MSR read back as %u entries, index %#x", s.n_msrs,
	      s.msrs[0].index);
}

static void test_set_return(struct unit *u, const void *arg)
{
	(void)arg;
	static struct vcpu_state in, out;
	uint8_t *buf = malloc(vcpu_state_encoded_max());
	char err[256] = "";

	filled_state(&in, true, 1);
	uint64_t rbx = in.regs.rbx;
	vcpu_state_set_return(&in, 0);
	CHECK(in.regs.rax == 0, "rax is %#llx", (unsigned long long)in.regs.rax);
	vcpu_state_set_return(&in, 1);
	CHECK(in.regs.rax == 1 && in.regs.rbx == rbx, "rax %#llx rbx %#llx", (unsigned long long)in.regs.rax,
	      (unsigned long long)in.regs.rbx);
	CHECK_INT(vcpu_state_decode(buf, vcpu_state_encode(&in, buf), &out, err, sizeof(err)), 0);
	CHECK(out.regs.rax == 1, "after a round trip rax is %#llx", (unsigned long long)out.regs.rax);
	free(buf);
}

/* A live vCPU whose run area holds registers for its next entry gets the value there, the rest
 * untouched; with none waiting it takes KVM's registers, and without KVM says which call failed. */
static void test_vcpu_set_return(struct unit *u, const void *arg)
{
	(void)arg;
	struct kvm_run *run = calloc(1, sizeof(*run));
	struct vcpu v = { .id = 2, .fd = -1, .run = run };
	char err[256] = "";

	run->s.regs.regs.rax = 0xdead;
	run->s.regs.regs.rip = 0x1234;
	run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	CHECK_INT(vcpu_set_return(&v, 1, err, sizeof(err)), 0);
	CHECK(run->s.regs.regs.rax == 1 && run->s.regs.regs.rip == 0x1234, "rax %#llx rip %#llx",
	      (unsigned long long)run->s.regs.regs.rax, (unsigned long long)run->s.regs.regs.rip);
	CHECK(run->kvm_dirty_regs & KVM_SYNC_X86_REGS, "the registers no longer wait for the next entry");

	run->kvm_dirty_regs = 0;
	CHECK_INT(vcpu_set_return(&v, 0, err, sizeof(err)), -1);
	CHECK(strstr(err, "vCPU 2: KVM_GET_REGS"), "error: %s", err);
	CHECK(run->s.regs.regs.rax == 1, "a failed call changed rax to %#llx", (unsigned long long)run->s.regs.regs.rax);
	free(run);
}

/* ---- on a real vCPU ---- */

struct kvm_vcpu_env {
	struct domain *dom;
	struct vcpu *vcpu;
};

static bool kvm_vcpu_open(struct kvm_vcpu_env *e, char *why, size_t len)
{
	char err[256];

	e->dom = calloc(1, sizeof(*e->dom));
	if (!e->dom || vm_create(&e->dom->vm, "/dev/kvm", 2u << 20, 2u << 20, err, sizeof(err))) {
		snprintf(why, len, "no usable /dev/kvm (%s)", e->dom ? err : "no memory");
		free(e->dom);
		e->dom = NULL;
		return false;
	}
	e->vcpu = &e->dom->vcpus[0];
	*e->vcpu = (struct vcpu){ .dom = e->dom, .id = 0 };
	e->vcpu->fd = ioctl(e->dom->vm.vm_fd, KVM_CREATE_VCPU, 0ul);
	if (e->vcpu->fd >= 0)
		e->vcpu->run = mmap(NULL, (size_t)e->dom->vm.vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				    e->vcpu->fd, 0);
	if (e->vcpu->fd < 0 || e->vcpu->run == MAP_FAILED) {
		snprintf(why, len, "KVM_CREATE_VCPU or its run area failed");
		if (e->vcpu->fd >= 0)
			close(e->vcpu->fd);
		vm_destroy(&e->dom->vm);
		free(e->dom);
		e->dom = NULL;
		return false;
	}
	return true;
}

static void kvm_vcpu_close(struct kvm_vcpu_env *e)
{
	munmap(e->vcpu->run, (size_t)e->dom->vm.vcpu_mmap_size);
	close(e->vcpu->fd);
	vm_destroy(&e->dom->vm);
	free(e->dom);
}

/* Capture, change what a guest would have changed, load, capture again: the same state. */
static void test_kvm_capture_load(struct unit *u, const void *arg)
{
	const struct kvm_vcpu_env *e = arg;
	static struct vcpu_state a, b;
	char err[256] = "";

	CHECK_INT(vcpu_state_capture(e->vcpu, &a, err, sizeof(err)), 0);
	CHECK(!err[0], "capture: %s", err);
	CHECK((a.present & (1u << VCPU_SEC_REGS | 1u << VCPU_SEC_SREGS | 1u << VCPU_SEC_MP_STATE | 1u << VCPU_SEC_LAPIC)) ==
	      (1u << VCPU_SEC_REGS | 1u << VCPU_SEC_SREGS | 1u << VCPU_SEC_MP_STATE | 1u << VCPU_SEC_LAPIC),
	      "sections captured: %#x", a.present);
	CHECK(a.n_msrs > 0, "no MSRs captured");
	a.regs.rax = 0x1234567;
	a.regs.rip = 0x2000;
	a.regs.rflags = 0x2;
	for (uint32_t i = 0; i < a.n_msrs; i++)
		if (a.msrs[i].index == 0xc0000082)      /* LSTAR */
			a.msrs[i].data = 0xffffffff81000000ull;
	CHECK_INT(vcpu_state_load(e->vcpu, &a, err, sizeof(err)), 0);
	CHECK(!err[0], "load: %s", err);
	CHECK_INT(vcpu_state_capture(e->vcpu, &b, err, sizeof(err)), 0);
	CHECK(!memcmp(&a.regs, &b.regs, sizeof(a.regs)), "registers differ after load (rax %#llx)",
	      (unsigned long long)b.regs.rax);
	CHECK(a.sregs.cr0 == b.sregs.cr0 && a.sregs.efer == b.sregs.efer && a.sregs.apic_base == b.sregs.apic_base,
	      "control registers differ after load");
	for (uint32_t i = 0; i < a.n_msrs && i < b.n_msrs; i++)
		if (a.msrs[i].index == 0xc0000082)
			CHECK(b.msrs[i].data == 0xffffffff81000000ull, "LSTAR is %#llx", (unsigned long long)b.msrs[i].data);
	CHECK_INT(vcpu_set_return(e->vcpu, 1, err, sizeof(err)), 0);
	CHECK_INT(vcpu_state_capture(e->vcpu, &b, err, sizeof(err)), 0);
	CHECK(b.regs.rax == 1, "after vcpu_set_return rax is %#llx", (unsigned long long)b.regs.rax);
}

/* Registers left in the run area for the next entry are the current ones for capture, and a load
 * makes them stale (its dirty bits cleared). */
static void test_kvm_sync_regs(struct unit *u, const void *arg)
{
	const struct kvm_vcpu_env *e = arg;
	static struct vcpu_state a;
	char err[256] = "";

	CHECK_INT(vcpu_state_capture(e->vcpu, &a, err, sizeof(err)), 0);
	e->vcpu->run->s.regs.regs = a.regs;
	e->vcpu->run->s.regs.regs.rax = 0xfeed;
	e->vcpu->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	CHECK_INT(vcpu_state_capture(e->vcpu, &a, err, sizeof(err)), 0);
	CHECK(a.regs.rax == 0xfeed, "capture took rax %#llx, not the waiting registers'", (unsigned long long)a.regs.rax);
	a.regs.rax = 0xbeef;
	CHECK_INT(vcpu_state_load(e->vcpu, &a, err, sizeof(err)), 0);
	CHECK(!(e->vcpu->run->kvm_dirty_regs & KVM_SYNC_X86_REGS), "the waiting registers would override the load");
	CHECK(e->vcpu->run->s.regs.regs.rax == 0xbeef, "the run area's copy was not refreshed");
}

int main(void)
{
	struct unit u = UNIT_INIT;
	struct kvm_vcpu_env env;
	char why[300];

	unit_case(&u, "round-trip-xsave", test_round_trip, "xsave");
	unit_case(&u, "round-trip-fpu", test_round_trip, NULL);
	unit_case(&u, "bound-within-16k", test_bound, NULL);
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		unit_case(&u, refusals[i].name, test_refusal, &refusals[i]);
	unit_case(&u, "msr-entry-pad", test_msr_entry_pad, NULL);
	unit_case(&u, "set-return", test_set_return, NULL);
	unit_case(&u, "vcpu-set-return-run-area", test_vcpu_set_return, NULL);
	if (kvm_vcpu_open(&env, why, sizeof(why))) {
		unit_case(&u, "kvm-capture-load", test_kvm_capture_load, &env);
		unit_case(&u, "kvm-sync-regs", test_kvm_sync_regs, &env);
		kvm_vcpu_close(&env);
	} else {
		printf("skip - kvm-capture-load: %s\n", why);
		printf("skip - kvm-sync-regs: %s\n", why);
	}
	return unit_finish(&u);
}
