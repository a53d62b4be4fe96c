/* vCPU runstates, as Xen keeps them for VCPUOP_register_runstate_memory_area and
 * VCPUOP_get_runstate_info.  Linux PVH registers an area per CPU while setting up its clock and
 * BUG()s if that fails; it reads time[runnable] + time[offline] as steal time, and other CPUs' states
 * for vcpu_is_preempted.
 *
 * What we count: a vCPU is blocked while it sits in SCHEDOP_block or SCHEDOP_poll, and running at
 * every other moment since system time 0 (offline and runnable stay 0).  Splitting "running" by the
 * vCPU thread's CPU clock would look more real but lies here: Linux PVH idles with hlt, which KVM
 * handles in the kernel, so idle time would show as time off the CPU, i.e. as steal.  The times add
 * up exactly: time[0] + ... + time[3] == state_entry_time, always, as Xen promises they do not drift.
 *
 * The area is a guest-virtual address, as Xen takes it for HVM guests: translated at each write with
 * the page tables of the vCPU doing the write (the registering one first, then the vCPU itself as its
 * state changes).  Xen accepts any address and ignores a failed copy; so do we, logging the first.
 * With VMASST_TYPE_runstate_update_flag enabled, a write is framed by XEN_RUNSTATE_UPDATE in
 * state_entry_time: set in the guest's copy first, then the record, then cleared, so a reader on
 * another vCPU retries rather than see half a record.
 * The record's layout is Xen's: registering from a 32-bit vCPU writes the 44-byte compat record at
 * once (Xen's compat vcpu_op does); every later update is written in the domain's shared_info width
 * (has_32bit_shinfo, latched by hvm_op.c and the hypercall page), as Xen's update_runstate_area. */
#include <stddef.h>
#include <string.h>
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/guest_access.h"
#include "xen/compat.h"
#include "xen/runstate.h"
#include "xen/xen_state.h"

/* Brings the counts up to `now`: the current state's share goes into its time[] slot. */
static void account(struct xen_runstate *rs, uint64_t now)
{
	rs->state &= 3;                  /* a value from a save stream indexes time[] */
	if (now <= rs->entry_ns)
		return;
	rs->time[rs->state] += now - rs->entry_ns;
	rs->entry_ns = now;
}

static void to_public(const struct xen_runstate *rs, struct vcpu_runstate_info *out)
{
	*out = (struct vcpu_runstate_info){ .state = (int)rs->state, .state_entry_time = rs->entry_ns };
	for (unsigned int i = 0; i < 4; i++)
		out->time[i] = rs->time[i];
}

static void put_flag_byte(struct vcpu *via, uint64_t gva, uint64_t entry_time, bool compat)
{
	uint8_t top = (uint8_t)(entry_time >> 56);
	size_t at = xen_abi_offset(&xen_abi_vcpu_runstate_info, "state_entry_time", compat) + 7;

	guest_copy_to(via, gva + at, &top, 1);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Writes `rs` to its area through `via`'s page tables, in the compat layout or not. */
static void publish(struct vcpu *via, unsigned int id, struct xen_runstate *rs, bool compat)
{
	struct domain *dom = via->dom;
	struct vcpu_runstate_info info;
	uint8_t record[sizeof(info)];
	size_t size = compat ? xen_abi_vcpu_runstate_info.compat_size : sizeof(info);
	bool framed = dom->xen.vm_assist & (1ull << VMASST_TYPE_runstate_update_flag);

	if (!rs->area_gva)
		return;
	to_public(rs, &info);
	if (framed) {
		info.state_entry_time |= XEN_RUNSTATE_UPDATE;
		put_flag_byte(via, rs->area_gva, info.state_entry_time, compat);
	}
	if (compat)
		xen_abi_narrow(&xen_abi_vcpu_runstate_info, &info, record);
	else
		memcpy(record, &info, sizeof(info));
	int r = guest_copy_to(via, rs->area_gva, record, size);
	if (framed) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		put_flag_byte(via, rs->area_gva, info.state_entry_time & ~XEN_RUNSTATE_UPDATE, compat);
	}
	if (r && !rs->area_fault_logged) {
		rs->area_fault_logged = true;
		LOG("domain %d: vCPU %u's runstate area at %#llx is not mapped writable for vCPU %u; "
		    "not updated (as Xen)", dom->domid, id, (unsigned long long)rs->area_gva, via->id);
	}
}

void xen_runstate_switch_locked(struct vcpu *vcpu, unsigned int state)
{
	struct xen_runstate *rs = &vcpu->dom->xen.vcpu[vcpu->id].runstate;

	account(rs, xen_system_time_ns(vcpu->dom));
	rs->state = state & 3;
	publish(vcpu, vcpu->id, rs, vcpu->dom->xen.shinfo_compat);
}

void xen_runstate_register_locked(struct vcpu *caller, unsigned int target, uint64_t gva)
{
	struct xen_runstate *rs = &caller->dom->xen.vcpu[target].runstate;

	rs->area_gva = gva;
	rs->area_fault_logged = false;
	account(rs, xen_system_time_ns(caller->dom));
	publish(caller, target, rs, xen_call_compat(caller));
}

void xen_runstate_get_locked(struct domain *dom, unsigned int vcpu, struct vcpu_runstate_info *out)
{
	struct xen_runstate rs = dom->xen.vcpu[vcpu].runstate;

	account(&rs, xen_system_time_ns(dom));
	to_public(&rs, out);
}
