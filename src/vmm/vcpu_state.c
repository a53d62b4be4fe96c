/* One vCPU's KVM state in and out (vcpu_state.h): the record's encoding, which runs anywhere, and
 * the ioctls that fill and apply it, which need the vCPU.
 *
 * The encoding is table-driven: each section is a struct KVM defines, kept whole in struct
 * vcpu_state at a known offset, so encode and decode are one loop and a new section is a row.
 * Only MSRS has a length of its own (a count, then entries).
 *
 * Capture reads with KVM_GET_*; registers a vCPU thread left in its run area for its next entry
 * (kvm_dirty_regs, a hypercall's result) are newer than what KVM_GET_REGS reports, so they win.
 *
 * Load order matters to KVM, and is:
 *   SREGS      first: CR0/CR4/EFER decide how KVM treats what follows (VMX without unrestricted
 *              guest emulates real mode by rflags), and it sets the APIC base the LAPIC needs.
 *   REGS       after SREGS; KVM_SET_REGS drops a pending exception, so EVENTS come later.
 *   XSAVE/FPU, then XCRS.
 *   MSRS       after SREGS (EFER); the TSC among them (KVM keeps vCPUs' TSCs in step when
 *              written close together).  TSC_DEADLINE is held back: KVM ignores it unless the
 *              local APIC's timer is already in TSC-deadline mode.
 *   LAPIC      after SREGS (the base and x2APIC mode decide how the registers are read),
 *   TSC_DEADLINE,
 *   MP_STATE and EVENTS last, as they say what the vCPU does next; DEBUGREGS anywhere.
 * Then the run area's sync registers are made the loaded ones and their dirty bits cleared, so
 * neither a stale hypercall result nor stale copies (upcall and sched_op read rflags there before
 * the next KVM_RUN) outlive the load.
 *
 * MSRs: only those in saved_msrs[] travel, and only when the host's KVM lists them
 * (KVM_GET_MSR_INDEX_LIST); one KVM refuses to read is left out (KVM_GET_MSRS stops at the first
 * it cannot read).  A record naming an MSR outside saved_msrs[] is refused at load: a hostile file
 * must not choose which MSRs the target writes.
 *
 * xsave: the record keeps struct kvm_xsave's 4096 bytes.  A host whose KVM wants more
 * (KVM_CAP_XSAVE2 above 4096: dynamically enabled features such as AMX, which we never enable)
 * is refused on both sides, as KVM_SET_XSAVE would then read past our buffer. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/vcpu_state.h"

#define HEAD_BYTES 8
#define SECTION_HEAD_BYTES 8
#define MSRS_HEAD_BYTES 8
#define MSR_ENTRY_BYTES 16
#define FLAG_ONLINE 1u
#define FLAGS_KNOWN FLAG_ONLINE
#define XSAVE_BYTES 4096u
#define SYNC_BITS ((uint64_t)(KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS))

_Static_assert(sizeof(struct kvm_xsave) == XSAVE_BYTES, "struct kvm_xsave is the record's 4096 bytes");
_Static_assert(sizeof(struct vcpu_state_msr) == MSR_ENTRY_BYTES, "an MSR entry is 16 bytes on the wire");

/* The largest record: every section, MSRS full. */
#define FIXED_SECTION(type) (SECTION_HEAD_BYTES + sizeof(type))
#define VCPU_STATE_ENCODED_MAX                                                                     \
	(HEAD_BYTES + FIXED_SECTION(struct kvm_regs) + FIXED_SECTION(struct kvm_sregs) +          \
	 FIXED_SECTION(struct kvm_xsave) + FIXED_SECTION(struct kvm_fpu) +                         \
	 FIXED_SECTION(struct kvm_xcrs) + FIXED_SECTION(struct kvm_lapic_state) +                  \
	 FIXED_SECTION(struct kvm_vcpu_events) + FIXED_SECTION(struct kvm_mp_state) +              \
	 FIXED_SECTION(struct kvm_debugregs) +                                                     \
	 SECTION_HEAD_BYTES + MSRS_HEAD_BYTES + (size_t)VCPU_STATE_MAX_MSRS * MSR_ENTRY_BYTES)
/* stream.h's bound for MIG_REC_VCPU is 16 KiB. */
_Static_assert(VCPU_STATE_ENCODED_MAX <= 16384, "a vCPU record must fit the stream's 16 KiB bound");

/* One row per section: its name for errors and where its struct sits in struct vcpu_state.
 * size 0: MSRS, whose length follows its count. */
static const struct section {
	const char *name;
	size_t offset, size;
} sections[VCPU_SEC_COUNT] = {
	[VCPU_SEC_REGS] = { "REGS", offsetof(struct vcpu_state, regs), sizeof(struct kvm_regs) },
	[VCPU_SEC_SREGS] = { "SREGS", offsetof(struct vcpu_state, sregs), sizeof(struct kvm_sregs) },
	[VCPU_SEC_XSAVE] = { "XSAVE", offsetof(struct vcpu_state, xsave), sizeof(struct kvm_xsave) },
	[VCPU_SEC_FPU] = { "FPU", offsetof(struct vcpu_state, fpu), sizeof(struct kvm_fpu) },
	[VCPU_SEC_XCRS] = { "XCRS", offsetof(struct vcpu_state, xcrs), sizeof(struct kvm_xcrs) },
	[VCPU_SEC_MSRS] = { "MSRS", 0, 0 },
	[VCPU_SEC_LAPIC] = { "LAPIC", offsetof(struct vcpu_state, lapic), sizeof(struct kvm_lapic_state) },
	[VCPU_SEC_EVENTS] = { "EVENTS", offsetof(struct vcpu_state, events), sizeof(struct kvm_vcpu_events) },
	[VCPU_SEC_MP_STATE] = { "MP_STATE", offsetof(struct vcpu_state, mp_state), sizeof(struct kvm_mp_state) },
	[VCPU_SEC_DEBUGREGS] = { "DEBUGREGS", offsetof(struct vcpu_state, debugregs),
				 sizeof(struct kvm_debugregs) },
};

#define BIT(sec) (1u << (sec))

/* The MSRs a running guest needs back (EFER and APIC_BASE are in SREGS). */
#define MSR_TSC_DEADLINE 0x6e0u
static const struct saved_msr { uint32_t index; const char *name; } saved_msrs[] = {
	{ 0x00000010, "TSC" },
	{ 0x0000003b, "TSC_ADJUST" },
	{ 0x00000174, "SYSENTER_CS" },
	{ 0x00000175, "SYSENTER_ESP" },
	{ 0x00000176, "SYSENTER_EIP" },
	{ 0x000001a0, "MISC_ENABLE" },
	{ 0x00000277, "PAT" },
	{ 0x00000da0, "XSS" },
	{ 0xc0000081, "STAR" },
	{ 0xc0000082, "LSTAR" },
	{ 0xc0000083, "CSTAR" },
	{ 0xc0000084, "SYSCALL_MASK" },
	{ 0xc0000102, "KERNEL_GS_BASE" },
	{ 0xc0000103, "TSC_AUX" },
	/* kvm-clock, old and new numbers, for guests that use it rather than Xen's time */
	{ 0x00000011, "KVM_WALL_CLOCK" },
	{ 0x00000012, "KVM_SYSTEM_TIME" },
	{ 0x4b564d00, "KVM_WALL_CLOCK_NEW" },
	{ 0x4b564d01, "KVM_SYSTEM_TIME_NEW" },
	{ MSR_TSC_DEADLINE, "TSC_DEADLINE" },   /* last, and loaded after the LAPIC */
};
#define N_SAVED_MSRS (sizeof(saved_msrs) / sizeof(saved_msrs[0]))
_Static_assert(N_SAVED_MSRS <= VCPU_STATE_MAX_MSRS, "the MSRs we save fit a record");

static const char *msr_name(uint32_t index)
{
	for (size_t i = 0; i < N_SAVED_MSRS; i++)
		if (saved_msrs[i].index == index)
			return saved_msrs[i].name;
	return NULL;
}

/* ---- encoding ---- */

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)v);
	put_u32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get_u64(const uint8_t *p)
{
	return get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

size_t vcpu_state_encoded_max(void)
{
	return VCPU_STATE_ENCODED_MAX;
}

/* The MSRS body: u32 n, u32 pad, n x { u32 index, u32 pad, u64 data }. */
static size_t encode_msrs(const struct vcpu_state *s, uint8_t *p)
{
	uint32_t n = s->n_msrs <= VCPU_STATE_MAX_MSRS ? s->n_msrs : VCPU_STATE_MAX_MSRS;

	put_u32(p, n);
	put_u32(p + 4, 0);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *e = p + MSRS_HEAD_BYTES + (size_t)i * MSR_ENTRY_BYTES;
		put_u32(e, s->msrs[i].index);
		put_u32(e + 4, 0);
		put_u64(e + 8, s->msrs[i].data);
	}
	return MSRS_HEAD_BYTES + (size_t)n * MSR_ENTRY_BYTES;
}

/* KVM's structs are x86's own little-endian layout: they travel as bytes. */
size_t vcpu_state_encode(const struct vcpu_state *s, uint8_t *buf)
{
	size_t at = HEAD_BYTES;

	put_u32(buf, s->vcpu_id);
	put_u32(buf + 4, s->online ? FLAG_ONLINE : 0);
	for (unsigned int id = 1; id < VCPU_SEC_COUNT; id++) {
		if (!(s->present & BIT(id)))
			continue;
		const struct section *sec = &sections[id];
		uint8_t *body = buf + at + SECTION_HEAD_BYTES;
		size_t len;
		if (sec->size) {
			memcpy(body, (const uint8_t *)s + sec->offset, sec->size);
			len = sec->size;
		} else {
			len = encode_msrs(s, body);
		}
		put_u32(buf + at, id);
		put_u32(buf + at + 4, (uint32_t)len);
		at += SECTION_HEAD_BYTES + len;
	}
	return at;
}

static int decode_msrs(const uint8_t *p, uint32_t len, size_t where, struct vcpu_state *s, char *err,
		       size_t errlen)
{
	if (len < MSRS_HEAD_BYTES) {
		ERR_SET(err, errlen, "vCPU record: MSRS section at byte %zu is %u bytes, shorter than its count",
			where, len);
		return -1;
	}
	uint32_t n = get_u32(p);
	if (n > VCPU_STATE_MAX_MSRS) {
		ERR_SET(err, errlen, "vCPU record: MSRS section at byte %zu holds %u MSRs, more than %u", where, n,
			VCPU_STATE_MAX_MSRS);
		return -1;
	}
	if (len != MSRS_HEAD_BYTES + (size_t)n * MSR_ENTRY_BYTES) {
		ERR_SET(err, errlen, "vCPU record: MSRS section at byte %zu is %u bytes, expected %zu for %u MSRs",
			where, len, MSRS_HEAD_BYTES + (size_t)n * MSR_ENTRY_BYTES, n);
		return -1;
	}
	if (get_u32(p + 4)) {
		ERR_SET(err, errlen, "vCPU record: MSRS section at byte %zu has a nonzero pad", where);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = p + MSRS_HEAD_BYTES + (size_t)i * MSR_ENTRY_BYTES;
		if (get_u32(e + 4)) {
			ERR_SET(err, errlen, "vCPU record: MSR entry %u (index %#x) has a nonzero pad", i, get_u32(e));
			return -1;
		}
		s->msrs[i] = (struct vcpu_state_msr){ .index = get_u32(e), .data = get_u64(e + 8) };
	}
	s->n_msrs = n;
	return 0;
}

/* The sections every record needs, for decode and for load (a state not from decode). */
static int check_sections(uint32_t present, uint32_t vcpu_id, char *err, size_t errlen)
{
	static const unsigned int required[] = { VCPU_SEC_REGS, VCPU_SEC_SREGS, VCPU_SEC_MP_STATE };

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!(present & BIT(required[i]))) {
			ERR_SET(err, errlen, "vCPU %u's record has no %s section", vcpu_id,
				sections[required[i]].name);
			return -1;
		}
	bool xsave = present & BIT(VCPU_SEC_XSAVE), fpu = present & BIT(VCPU_SEC_FPU);
	if (xsave == fpu) {
		ERR_SET(err, errlen, "vCPU %u's record has %s of XSAVE and FPU, expected exactly one", vcpu_id,
			xsave ? "both" : "neither");
		return -1;
	}
	return 0;
}

int vcpu_state_decode(const uint8_t *body, size_t len, struct vcpu_state *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (len < HEAD_BYTES) {
		ERR_SET(err, errlen, "vCPU record of %zu bytes is shorter than its %d-byte head", len, HEAD_BYTES);
		return -1;
	}
	s->vcpu_id = get_u32(body);
	uint32_t flags = get_u32(body + 4);
	if (flags & ~FLAGS_KNOWN) {
		ERR_SET(err, errlen, "vCPU %u's record has unknown flags %#x (a newer stream?)", s->vcpu_id,
			flags & ~FLAGS_KNOWN);
		return -1;
	}
	s->online = flags & FLAG_ONLINE;
	size_t at = HEAD_BYTES;
	while (at < len) {
		if (len - at < SECTION_HEAD_BYTES) {
			ERR_SET(err, errlen, "vCPU %u's record has %zu trailing bytes at byte %zu, too few for a section",
				s->vcpu_id, len - at, at);
			return -1;
		}
		uint32_t id = get_u32(body + at), sec_len = get_u32(body + at + 4);
		const uint8_t *p = body + at + SECTION_HEAD_BYTES;
		if (id == 0 || id >= VCPU_SEC_COUNT) {
			ERR_SET(err, errlen, "vCPU %u's record has an unknown section %u at byte %zu (a newer stream?)",
				s->vcpu_id, id, at);
			return -1;
		}
		const struct section *sec = &sections[id];
		if (s->present & BIT(id)) {
			ERR_SET(err, errlen, "vCPU %u's record has a second %s section at byte %zu", s->vcpu_id,
				sec->name, at);
			return -1;
		}
		if (sec_len > len - at - SECTION_HEAD_BYTES) {
			ERR_SET(err, errlen, "vCPU %u's record ends inside its %s section at byte %zu (%u bytes said, "
				"%zu left)", s->vcpu_id, sec->name, at, sec_len, len - at - SECTION_HEAD_BYTES);
			return -1;
		}
		if (sec->size && sec_len != sec->size) {
			ERR_SET(err, errlen, "vCPU %u's %s section at byte %zu is %u bytes, expected %zu", s->vcpu_id,
				sec->name, at, sec_len, sec->size);
			return -1;
		}
		if (sec->size)
			memcpy((uint8_t *)s + sec->offset, p, sec->size);
		else if (decode_msrs(p, sec_len, at, s, err, errlen))
			return -1;
		s->present |= BIT(id);
		at += SECTION_HEAD_BYTES + sec_len;
	}
	return check_sections(s->present, s->vcpu_id, err, errlen);
}

void vcpu_state_set_return(struct vcpu_state *s, uint64_t value)
{
	s->regs.rax = value;
}

/* ---- KVM ---- */

static int fail_ioctl(const struct vcpu *vcpu, const char *what, char *err, size_t errlen)
{
	ERR_SET(err, errlen, "vCPU %u: %s: %s", vcpu->id, what, strerror(errno));
	return -1;
}

static int check_extension(const struct vcpu *vcpu, long cap)
{
	int r = ioctl(vcpu->dom->vm.vm_fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

/* Whether the xsave state fits struct kvm_xsave (see the top). */
static int check_xsave_size(const struct vcpu *vcpu, char *err, size_t errlen)
{
	int size = check_extension(vcpu, KVM_CAP_XSAVE2);

	if (size > (int)XSAVE_BYTES) {
		ERR_SET(err, errlen, "vCPU %u: this host's KVM keeps %d bytes of xsave state (dynamic features "
			"such as AMX), more than the %u a vCPU record holds", vcpu->id, size, XSAVE_BYTES);
		return -1;
	}
	return 0;
}

/* The MSR indices KVM offers for save and restore (malloc'ed), or NULL with err. */
static struct kvm_msr_list *kvm_msr_list(const struct vcpu *vcpu, char *err, size_t errlen)
{
	struct kvm_msr_list probe = { .nmsrs = 0 };
	int kvm_fd = vcpu->dom->vm.kvm_fd;

	/* The first call fails with E2BIG and says how many there are. */
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG) {
		fail_ioctl(vcpu, "KVM_GET_MSR_INDEX_LIST", err, errlen);
		return NULL;
	}
	struct kvm_msr_list *list = calloc(1, sizeof(*list) + (size_t)probe.nmsrs * sizeof(uint32_t));
	if (!list) {
		ERR_SET(err, errlen, "vCPU %u: no memory for KVM's %u MSR indices", vcpu->id, probe.nmsrs);
		return NULL;
	}
	list->nmsrs = probe.nmsrs;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		fail_ioctl(vcpu, "KVM_GET_MSR_INDEX_LIST", err, errlen);
		free(list);
		return NULL;
	}
	return list;
}

static bool listed(const struct kvm_msr_list *list, uint32_t index)
{
	for (uint32_t i = 0; i < list->nmsrs; i++)
		if (list->indices[i] == index)
			return true;
	return false;
}

struct msr_batch {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[VCPU_STATE_MAX_MSRS];
};

static int capture_msrs(struct vcpu *vcpu, struct vcpu_state *s, char *err, size_t errlen)
{
	struct kvm_msr_list *list = kvm_msr_list(vcpu, err, errlen);
	uint32_t want[N_SAVED_MSRS], n = 0;
	struct msr_batch b;

	if (!list)
		return -1;
	for (size_t i = 0; i < N_SAVED_MSRS; i++)
		if (listed(list, saved_msrs[i].index))
			want[n++] = saved_msrs[i].index;
	free(list);
	/* KVM_GET_MSRS answers how many it read, stopping at the first it cannot: that one is left
	 * out and the rest asked again. */
	s->n_msrs = 0;
	for (uint32_t from = 0; from < n;) {
		memset(&b, 0, sizeof(b));
		b.hdr.nmsrs = n - from;
		for (uint32_t i = from; i < n; i++)
			b.e[i - from].index = want[i];
		int got = ioctl(vcpu->fd, KVM_GET_MSRS, &b);
		if (got < 0)
			return fail_ioctl(vcpu, "KVM_GET_MSRS", err, errlen);
		for (int i = 0; i < got && (uint32_t)i < b.hdr.nmsrs; i++)
			s->msrs[s->n_msrs++] = (struct vcpu_state_msr){ .index = b.e[i].index, .data = b.e[i].data };
		from += (uint32_t)got;
		if (from < n)
			LOG("vCPU %u: KVM lists MSR %#x (%s) but cannot read it: not saved", vcpu->id, want[from],
			    msr_name(want[from]));
		from++;
	}
	s->present |= BIT(VCPU_SEC_MSRS);
	return 0;
}

/* One row per plain get: the section, the ioctl, the capability it needs (0: none). */
static const struct simple_get {
	unsigned int section;
	unsigned long request;
	const char *name;
	long cap;
} simple_gets[] = {
	{ VCPU_SEC_REGS, KVM_GET_REGS, "KVM_GET_REGS", 0 },
	{ VCPU_SEC_SREGS, KVM_GET_SREGS, "KVM_GET_SREGS", 0 },
	{ VCPU_SEC_XCRS, KVM_GET_XCRS, "KVM_GET_XCRS", KVM_CAP_XCRS },
	{ VCPU_SEC_LAPIC, KVM_GET_LAPIC, "KVM_GET_LAPIC", 0 },
	{ VCPU_SEC_EVENTS, KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS", KVM_CAP_VCPU_EVENTS },
	{ VCPU_SEC_MP_STATE, KVM_GET_MP_STATE, "KVM_GET_MP_STATE", 0 },
	{ VCPU_SEC_DEBUGREGS, KVM_GET_DEBUGREGS, "KVM_GET_DEBUGREGS", KVM_CAP_DEBUGREGS },
};

int vcpu_state_capture(struct vcpu *vcpu, struct vcpu_state *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->vcpu_id = vcpu->id;
	/* The caller has the domain paused (or holds dom->lock): the power state stands still. */
	s->online = vcpu_power_is_up_locked(vcpu);
	for (size_t i = 0; i < sizeof(simple_gets) / sizeof(simple_gets[0]); i++) {
		const struct simple_get *g = &simple_gets[i];
		if (g->cap && !check_extension(vcpu, g->cap))
			continue;
		if (ioctl(vcpu->fd, g->request, (uint8_t *)s + sections[g->section].offset) < 0)
			return fail_ioctl(vcpu, g->name, err, errlen);
		s->present |= BIT(g->section);
	}
	if (check_extension(vcpu, KVM_CAP_XSAVE)) {
		if (check_xsave_size(vcpu, err, errlen))
			return -1;
		if (ioctl(vcpu->fd, KVM_GET_XSAVE, &s->xsave) < 0)
			return fail_ioctl(vcpu, "KVM_GET_XSAVE", err, errlen);
		s->present |= BIT(VCPU_SEC_XSAVE);
	} else {
		if (ioctl(vcpu->fd, KVM_GET_FPU, &s->fpu) < 0)
			return fail_ioctl(vcpu, "KVM_GET_FPU", err, errlen);
		s->present |= BIT(VCPU_SEC_FPU);
	}
	if (capture_msrs(vcpu, s, err, errlen))
		return -1;
	/* Registers the thread set for its next entry are the current ones. */
	if (vcpu->run && (vcpu->run->kvm_dirty_regs & KVM_SYNC_X86_REGS))
		s->regs = vcpu->run->s.regs.regs;
	if (vcpu->run && (vcpu->run->kvm_dirty_regs & KVM_SYNC_X86_SREGS))
		s->sregs = vcpu->run->s.regs.sregs;
	return 0;
}

/* Sets the record's MSRs whose index is (or is not) TSC_DEADLINE; every one must be ours. */
static int load_msrs(struct vcpu *vcpu, const struct vcpu_state *s, bool deadline, char *err, size_t errlen)
{
	struct msr_batch b;
	uint32_t n = 0;

	for (uint32_t i = 0; i < s->n_msrs && i < VCPU_STATE_MAX_MSRS; i++) {
		const struct vcpu_state_msr *m = &s->msrs[i];
		if (!msr_name(m->index)) {
			ERR_SET(err, errlen, "vCPU %u's record sets MSR %#x, which this VMM does not restore",
				vcpu->id, m->index);
			return -1;
		}
		if ((m->index == MSR_TSC_DEADLINE) == deadline)
			b.e[n++] = (struct kvm_msr_entry){ .index = m->index, .data = m->data };
	}
	if (!n)
		return 0;
	memset(&b.hdr, 0, sizeof(b.hdr));
	b.hdr.nmsrs = n;
	int set = ioctl(vcpu->fd, KVM_SET_MSRS, &b);
	if (set < 0)
		return fail_ioctl(vcpu, "KVM_SET_MSRS", err, errlen);
	if ((uint32_t)set < n) {
		ERR_SET(err, errlen, "vCPU %u: KVM refused MSR %#x (%s) = %#llx", vcpu->id, b.e[set].index,
			msr_name(b.e[set].index), (unsigned long long)b.e[set].data);
		return -1;
	}
	return 0;
}

/* A plain set, when the record has the section. */
static int put_section(struct vcpu *vcpu, const struct vcpu_state *s, unsigned int section,
		       unsigned long request, const char *name, char *err, size_t errlen)
{
	if (!(s->present & BIT(section)))
		return 0;
	if (ioctl(vcpu->fd, request, (const uint8_t *)s + sections[section].offset) < 0)
		return fail_ioctl(vcpu, name, err, errlen);
	return 0;
}

int vcpu_state_load(struct vcpu *vcpu, const struct vcpu_state *s, char *err, size_t errlen)
{
	if (check_sections(s->present, s->vcpu_id, err, errlen))
		return -1;
	if (s->present & BIT(VCPU_SEC_XSAVE)) {
		if (!check_extension(vcpu, KVM_CAP_XSAVE)) {
			ERR_SET(err, errlen, "vCPU %u: the record has xsave state and this host's KVM has no XSAVE",
				vcpu->id);
			return -1;
		}
		if (check_xsave_size(vcpu, err, errlen))
			return -1;
	}
	/* The order is the top comment's. */
	if (put_section(vcpu, s, VCPU_SEC_SREGS, KVM_SET_SREGS, "KVM_SET_SREGS", err, errlen) ||
	    put_section(vcpu, s, VCPU_SEC_REGS, KVM_SET_REGS, "KVM_SET_REGS", err, errlen) ||
	    put_section(vcpu, s, VCPU_SEC_XSAVE, KVM_SET_XSAVE, "KVM_SET_XSAVE", err, errlen) ||
	    put_section(vcpu, s, VCPU_SEC_FPU, KVM_SET_FPU, "KVM_SET_FPU", err, errlen) ||
	    put_section(vcpu, s, VCPU_SEC_XCRS, KVM_SET_XCRS, "KVM_SET_XCRS", err, errlen) ||
	    load_msrs(vcpu, s, false, err, errlen) ||
	    put_section(vcpu, s, VCPU_SEC_LAPIC, KVM_SET_LAPIC, "KVM_SET_LAPIC", err, errlen) ||
	    load_msrs(vcpu, s, true, err, errlen) ||
	    put_section(vcpu, s, VCPU_SEC_MP_STATE, KVM_SET_MP_STATE, "KVM_SET_MP_STATE", err, errlen) ||
	    put_section(vcpu, s, VCPU_SEC_EVENTS, KVM_SET_VCPU_EVENTS, "KVM_SET_VCPU_EVENTS", err, errlen) ||
	    put_section(vcpu, s, VCPU_SEC_DEBUGREGS, KVM_SET_DEBUGREGS, "KVM_SET_DEBUGREGS", err, errlen))
		return -1;
	if (vcpu->run) {
		vcpu->run->kvm_dirty_regs &= ~SYNC_BITS;
		vcpu->run->s.regs.regs = s->regs;
		vcpu->run->s.regs.sregs = s->sregs;
	}
	return 0;
}

int vcpu_set_return(struct vcpu *vcpu, uint64_t value, char *err, size_t errlen)
{
	struct kvm_regs regs;

	/* Registers waiting in the run area go in on the next entry: change them there. */
	if (vcpu->run && (vcpu->run->kvm_dirty_regs & KVM_SYNC_X86_REGS)) {
		vcpu->run->s.regs.regs.rax = value;
		return 0;
	}
	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0)
		return fail_ioctl(vcpu, "KVM_GET_REGS", err, errlen);
	regs.rax = value;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return fail_ioctl(vcpu, "KVM_SET_REGS", err, errlen);
	if (vcpu->run)
		vcpu->run->s.regs.regs = regs;
	return 0;
}
