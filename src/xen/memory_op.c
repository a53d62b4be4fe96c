/* memory_op: the guest's view of its memory, and placing Xen's pages (shared_info, grant frames)
 * in its physmap.  Ballooning (populate/decrease_reservation) is not supported yet. */
#include <string.h>
#include "vmm/domain.h"
#include "vmm/guest_access.h"
#include "xen/hypercalls.h"
#include "xen/xen_state.h"

/* The command sits in the low 6 bits; Xen keeps a continuation's start extent above them. */
#define MEMORY_OP_CMD_MASK 0x3f

static bool is_self(struct domain *dom, domid_t d)
{
	return d == DOMID_SELF || d == (domid_t)dom->domid;
}

static long add_to_physmap(struct vcpu *vcpu, uint64_t arg)
{
	struct domain *dom = vcpu->dom;
	struct xen_add_to_physmap a;
	long r;

	if (guest_copy_from(vcpu, &a, arg, sizeof(a)))
		return -XEN_EFAULT;
	if (!is_self(dom, a.domid))
		return -XEN_EPERM;
	pthread_mutex_lock(&dom->xen.lock);
	switch (a.space) {
	case XENMAPSPACE_shared_info:
		r = a.idx == 0 ? shared_info_place_locked(dom, a.gpfn) : -XEN_EINVAL;
		break;
	case XENMAPSPACE_grant_table:
		/* v1 has no status frames. */
		r = (a.idx & XENMAPIDX_grant_table_status) ? -XEN_EINVAL :
		    gnttab_place_frame_locked(dom, (unsigned int)a.idx, a.gpfn);
		break;
	default:
		r = -XEN_EINVAL;
	}
	pthread_mutex_unlock(&dom->xen.lock);
	return r;
}

static long memory_map(struct vcpu *vcpu, uint64_t arg)
{
	struct vm_memmap_entry map[VM_MEMMAP_MAX];
	unsigned int n = vm_memory_map(&vcpu->dom->vm, map);
	struct xen_memory_map mm;
	/* The BIOS e820 layout: packed 20-byte entries. */
	struct __attribute__((packed)) { uint64_t addr, size; uint32_t type; } e820[VM_MEMMAP_MAX];

	if (guest_copy_from(vcpu, &mm, arg, sizeof(mm)))
		return -XEN_EFAULT;
	/* Like Xen: as many entries as fit, and the count of those given. */
	if (mm.nr_entries < n)
		n = mm.nr_entries;
	for (unsigned int i = 0; i < n; i++) {
		e820[i].addr = map[i].addr;
		e820[i].size = map[i].size;
		e820[i].type = map[i].type;
	}
	if (guest_copy_to(vcpu, (uint64_t)(uintptr_t)mm.buffer.p, e820, n * sizeof(e820[0])))
		return -XEN_EFAULT;
	mm.nr_entries = n;
	return guest_copy_to(vcpu, arg, &mm, sizeof(mm)) ? -XEN_EFAULT : 0;
}

static long reservation(struct vcpu *vcpu, uint64_t arg)
{
	domid_t d;

	if (guest_copy_from(vcpu, &d, arg, sizeof(d)))
		return -XEN_EFAULT;
	if (!is_self(vcpu->dom, d))
		return -XEN_ESRCH;
	return (long)(vcpu->dom->vm.ram_size >> 12);
}

long hcall_memory_op(struct vcpu *vcpu, const uint64_t args[5])
{
	const struct vm *vm = &vcpu->dom->vm;

	switch (args[0] & MEMORY_OP_CMD_MASK) {
	case XENMEM_add_to_physmap:
		return add_to_physmap(vcpu, args[1]);
	case XENMEM_memory_map:
		return memory_map(vcpu, args[1]);
	case XENMEM_current_reservation:
	case XENMEM_maximum_reservation:
		return reservation(vcpu, args[1]);
	case XENMEM_maximum_gpfn: {
		domid_t d;
		if (guest_copy_from(vcpu, &d, args[1], sizeof(d)))
			return -XEN_EFAULT;
		uint64_t end = vm->ram_size > vm->low_ram_size ?
			GUEST_HIGH_RAM_BASE + (vm->ram_size - vm->low_ram_size) : vm->low_ram_size;
		return (long)((end >> 12) - 1);
	}
	default:
		return -XEN_ENOSYS;
	}
}
