/* Xen's compat layout: how a vCPU outside 64-bit mode passes hypercall arguments.
 *
 * Xen decides per call (hvm_guest_x86_mode != 8 sets hcall_compat) and, for such a call, reads and
 * writes every argument struct in the i386 ABI of its public headers: xen_ulong_t, xen_pfn_t and
 * guest handles are 32 bits there, and a uint64_t member is only 4-byte aligned, so
 * struct sched_poll is {ports@0, nr_ports@4, timeout@8} (16 bytes) rather than {0, 8, 16} (24).
 * Most structs are the same in both (every event-channel struct, the HVM params, feature info, the
 * grant-table sizes and versions, sched_shutdown, register_vcpu_info, the periodic timer); the ones
 * that differ are described below once each, as a table of their members in both layouts.  The
 * native offsets and sizes come from the compiler; the compat ones are written here and checked
 * by tests/unit/test_xen_compat.c against Xen's own headers compiled with `gcc -m32`.
 *
 * Handlers translate in at their start and out at their end (xen_arg_in / xen_arg_out), so their
 * logic works on the native struct only.  Widening zero-extends (the members that change width are
 * unsigned: handles, frame numbers, xen_ulong_t); narrowing truncates, which is what Xen's compat
 * layer does too (a grant frame list entry is `unsigned int frame = native`). */
#include <string.h>
#include "vmm/domain.h"
#include "vmm/guest_access.h"
#include "xen/compat.h"
#include "xen/xen_state.h"

#define STRINGIFY(x) #x
#define EXPAND_STRINGIFY(x) STRINGIFY(x)         /* "struct sched_poll", not "SP" */
#define FIELD(type, member, coff, csize) \
	{ #member, offsetof(type, member), coff, sizeof(((type *)0)->member), csize }
#define ABI_STRUCT(var, type, csize, ...)                                                           \
	static const struct xen_abi_field var##_fields[] = { __VA_ARGS__ };                           \
	const struct xen_abi_struct var = { EXPAND_STRINGIFY(type), sizeof(type), csize,                              \
					    sizeof(var##_fields) / sizeof(var##_fields[0]), var##_fields }

#define MR struct xen_memory_reservation
ABI_STRUCT(xen_abi_memory_reservation, MR, 20,
	   FIELD(MR, extent_start, 0, 4), FIELD(MR, nr_extents, 4, 4), FIELD(MR, extent_order, 8, 4),
	   FIELD(MR, mem_flags, 12, 4), FIELD(MR, domid, 16, 2));

#define AP struct xen_add_to_physmap
ABI_STRUCT(xen_abi_add_to_physmap, AP, 16,
	   FIELD(AP, domid, 0, 2), FIELD(AP, size, 2, 2), FIELD(AP, space, 4, 4), FIELD(AP, idx, 8, 4),
	   FIELD(AP, gpfn, 12, 4));

#define MM struct xen_memory_map
ABI_STRUCT(xen_abi_memory_map, MM, 8, FIELD(MM, nr_entries, 0, 4), FIELD(MM, buffer, 4, 4));

#define GS struct gnttab_setup_table
ABI_STRUCT(xen_abi_gnttab_setup_table, GS, 16,
	   FIELD(GS, dom, 0, 2), FIELD(GS, nr_frames, 4, 4), FIELD(GS, status, 8, 2),
	   FIELD(GS, frame_list, 12, 4));

/* The union u {ref; gmfn} widens as gmfn; ref is its low half in both layouts. */
#define GC struct gnttab_copy
ABI_STRUCT(xen_abi_gnttab_copy, GC, 24,
	   FIELD(GC, source.u, 0, 4), FIELD(GC, source.domid, 4, 2), FIELD(GC, source.offset, 6, 2),
	   FIELD(GC, dest.u, 8, 4), FIELD(GC, dest.domid, 12, 2), FIELD(GC, dest.offset, 14, 2),
	   FIELD(GC, len, 16, 2), FIELD(GC, flags, 18, 2), FIELD(GC, status, 20, 2));

#define SP struct sched_poll
ABI_STRUCT(xen_abi_sched_poll, SP, 16,
	   FIELD(SP, ports, 0, 4), FIELD(SP, nr_ports, 4, 4), FIELD(SP, timeout, 8, 8));

#define ST struct vcpu_set_singleshot_timer
ABI_STRUCT(xen_abi_vcpu_set_singleshot_timer, ST, 12,
	   FIELD(ST, timeout_abs_ns, 0, 8), FIELD(ST, flags, 8, 4));

/* Xen's compat VCPUOP_register_runstate_memory_area reads only the 4-byte handle of this union;
 * vcpu_op.c reads it as one xen_ulong_t.  Listed so the test checks where the handle sits. */
#define RA struct vcpu_register_runstate_memory_area
ABI_STRUCT(xen_abi_vcpu_register_runstate_memory_area, RA, 8, FIELD(RA, addr.h, 0, 4));

#define RI struct vcpu_runstate_info
ABI_STRUCT(xen_abi_vcpu_runstate_info, RI, 44,
	   FIELD(RI, state, 0, 4), FIELD(RI, state_entry_time, 4, 8), FIELD(RI, time, 12, 32));

#define PP struct xen_platform_parameters
ABI_STRUCT(xen_abi_platform_parameters, PP, 4, FIELD(PP, virt_start, 0, 4));

/* Xen's has_32bit_shinfo layout.  The event arrays hold 32-bit words (1024 ports) and the mask moves;
 * the wallclock moves, its high seconds into arch (xen_wc_sec_hi names it in both); vcpu_info keeps its
 * 64 bytes and its time record's place, with a 32-bit selector at 4. */
#define SI struct shared_info
ABI_STRUCT(xen_abi_shared_info, SI, 2344,
	   FIELD(SI, evtchn_pending, 2048, 128), FIELD(SI, evtchn_mask, 2176, 128), FIELD(SI, wc_version, 2304, 4),
	   FIELD(SI, wc_sec, 2308, 4), FIELD(SI, wc_nsec, 2312, 4), FIELD(SI, xen_wc_sec_hi, 2340, 4));

#define VI struct vcpu_info
ABI_STRUCT(xen_abi_vcpu_info, VI, 64,
	   FIELD(VI, evtchn_upcall_pending, 0, 1), FIELD(VI, evtchn_upcall_mask, 1, 1),
	   FIELD(VI, evtchn_pending_sel, 4, 4), FIELD(VI, time, 32, 32));

const struct xen_abi_struct *const xen_abi_structs[] = {
	&xen_abi_memory_reservation, &xen_abi_add_to_physmap, &xen_abi_memory_map, &xen_abi_gnttab_setup_table,
	&xen_abi_gnttab_copy, &xen_abi_sched_poll, &xen_abi_vcpu_set_singleshot_timer,
	&xen_abi_vcpu_register_runstate_memory_area, &xen_abi_vcpu_runstate_info, &xen_abi_platform_parameters,
	&xen_abi_shared_info, &xen_abi_vcpu_info, NULL,
};

#define COMPAT_STRUCT_MAX 64             /* the largest argument struct above (the shared pages are never copied whole) */

void xen_call_set_compat(struct vcpu *vcpu, bool compat)
{
	vcpu->dom->xen.vcpu[vcpu->id].call_compat = compat;
}

bool xen_call_compat(const struct vcpu *vcpu)
{
	return vcpu->dom->xen.vcpu[vcpu->id].call_compat;
}

size_t xen_arg_size(const struct vcpu *vcpu, const struct xen_abi_struct *s)
{
	return xen_call_compat(vcpu) ? s->compat_size : s->native_size;
}

size_t xen_abi_offset(const struct xen_abi_struct *s, const char *member, bool compat)
{
	for (unsigned int i = 0; i < s->n_fields; i++)
		if (!strcmp(s->fields[i].name, member))
			return compat ? s->fields[i].compat_off : s->fields[i].native_off;
	return 0;
}

/* Copies each member from one layout to the other: the low bytes of a wider native member are the
 * compat one's (little-endian); `dst` starts zeroed, so widening zero-extends and padding is 0. */
static void convert(const struct xen_abi_struct *s, const void *src, void *dst, bool to_native)
{
	memset(dst, 0, to_native ? s->native_size : s->compat_size);
	for (unsigned int i = 0; i < s->n_fields; i++) {
		const struct xen_abi_field *f = &s->fields[i];
		size_t n = f->compat_size < f->native_size ? f->compat_size : f->native_size;
		size_t from = to_native ? f->compat_off : f->native_off, to = to_native ? f->native_off : f->compat_off;
		memcpy((uint8_t *)dst + to, (const uint8_t *)src + from, n);
	}
}

void xen_abi_widen(const struct xen_abi_struct *s, const void *compat, void *native)
{
	convert(s, compat, native, true);
}

void xen_abi_narrow(const struct xen_abi_struct *s, const void *native, void *compat)
{
	convert(s, native, compat, false);
}

int xen_arg_in(struct vcpu *vcpu, const struct xen_abi_struct *s, uint64_t gva, void *native)
{
	uint8_t buf[COMPAT_STRUCT_MAX];

	if (!xen_call_compat(vcpu))
		return guest_copy_from(vcpu, native, gva, s->native_size) ? -1 : 0;
	if (s->compat_size > sizeof(buf) || guest_copy_from(vcpu, buf, gva, s->compat_size))
		return -1;
	xen_abi_widen(s, buf, native);
	return 0;
}

int xen_arg_out(struct vcpu *vcpu, const struct xen_abi_struct *s, uint64_t gva, const void *native)
{
	uint8_t buf[COMPAT_STRUCT_MAX];

	if (!xen_call_compat(vcpu))
		return guest_copy_to(vcpu, gva, native, s->native_size) ? -1 : 0;
	if (s->compat_size > sizeof(buf))
		return -1;
	xen_abi_narrow(s, native, buf);
	return guest_copy_to(vcpu, gva, buf, s->compat_size) ? -1 : 0;
}

size_t xen_ulong_size(const struct vcpu *vcpu)
{
	return xen_call_compat(vcpu) ? 4 : 8;
}

int xen_ulong_in(struct vcpu *vcpu, uint64_t gva, uint64_t index, uint64_t *value)
{
	size_t size = xen_ulong_size(vcpu);

	*value = 0;
	/* An index this large cannot name guest memory; refuse it before the multiply wraps. */
	if (index > UINT64_MAX / 8)
		return -1;
	return guest_copy_from(vcpu, value, gva + index * size, size) ? -1 : 0;
}

int xen_ulongs_out(struct vcpu *vcpu, uint64_t gva, const uint64_t *values, size_t n)
{
	uint32_t narrow[64];

	if (!xen_call_compat(vcpu))
		return guest_copy_to(vcpu, gva, values, n * sizeof(*values)) ? -1 : 0;
	for (size_t done = 0; done < n;) {
		size_t k = n - done < 64 ? n - done : 64;
		for (size_t i = 0; i < k; i++)
			narrow[i] = (uint32_t)values[done + i];
		if (guest_copy_to(vcpu, gva + done * 4, narrow, k * 4))
			return -1;
		done += k;
	}
	return 0;
}
