/* memory_op: the guest's view of its memory, placing Xen's pages (shared_info, grant frames) in its
 * physmap, and ballooning.
 *
 * Ballooning, as Xen 4.17 does it for a translated (PVH/HVM) DomU:
 *  - XENMEM_decrease_reservation takes a list of gfns (extents of 2^order pages) and removes them:
 *    we punch the pages out of the guest-RAM memfd, so the host gets the memory back, and mark them
 *    in a bitmap (struct xen_reservation, one bit per RAM page).
 *  - XENMEM_populate_physmap brings gfns back, zeroed (punched again: the guest may have touched a
 *    page while it was out, which KVM's memory slot still allows).
 *  - XENMEM_increase_reservation only raises the count: Xen allocates pages but maps them at no gfn
 *    for a translated guest (the extent list is not even read), and so do we.
 *  - The reservation (XENMEM_current_reservation) is RAM pages - pages out + pages unmapped; the
 *    maximum (XENMEM_maximum_reservation, Xen's max_pages) starts as the RAM the domain was built
 *    with (xl.cfg maxmem) and xl mem-max may lower it; populate and increase stop when it is
 *    reached, as Xen's allocation does at max_pages.  A lowered maximum takes nothing away: the
 *    guest keeps what it has until it gives pages back, as in Xen.
 *  - maxmem above memory: RAM is sized for maxmem and the pages past `memory` (in memfd order, at
 *    gfns past the memory map's RAM: vm.h) start given back, as if the guest had ballooned them
 *    out; a balloon driver takes them with populate_physmap up to its target.
 * Xen's checks: a request it refuses as a whole (unreadable, nr_extents beyond what a continuation
 * can encode, start extent past the end, another domain, bad mem_flags, extent_order above 9 for a
 * DomU, populate-on-demand on oneself) answers the start extent, not an errno; otherwise the answer
 * is the number of extents done, stopping at the first extent that fails (an unreadable list entry,
 * a gfn that is not RAM, already out or (populate) not out).  A decrease that fails part-way through
 * an extent keeps the pages it removed, as Xen's does.
 * Where we differ: pages the VMM itself keeps structures in (the special pages, the placed
 * shared_info and grant frames, registered vcpu_info pages) are refused, where Xen, which keeps
 * those in its own memory, would only unmap the gfn; and populate refuses gfns outside our RAM and
 * gfns present already, where Xen would map new memory (we have no memory slot there, and keep one
 * page per gfn), which the guest sees as Xen running out of memory for it.
 * A call from a 32-bit vCPU passes its structs and the extent list (32-bit xen_pfn_t) in Xen's
 * compat layout (compat.h); compat gfns are below 2^32, so the checks below hold as they are. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/guest_access.h"
#include "xen/compat.h"
#include "xen/hypercalls.h"
#include "xen/xen_state.h"

/* The command sits in the low 6 bits; Xen keeps a continuation's start extent above them. */
#define MEMOP_EXTENT_SHIFT 6
#define MEMORY_OP_CMD_MASK ((1u << MEMOP_EXTENT_SHIFT) - 1)
#define DOMU_MAX_ORDER 9                 /* Xen's x86 memop-max-order for a DomU: 2 MiB extents */
#define XEN_NUMA_NO_NODE 0xffu           /* XENMEMF_get_node() of "no node" */
#define BITS 64

static bool is_self(struct domain *dom, domid_t d)
{
	return d == DOMID_SELF || d == (domid_t)dom->domid;
}

static long add_to_physmap(struct vcpu *vcpu, uint64_t arg)
{
	struct domain *dom = vcpu->dom;
	struct xen_add_to_physmap a;
	long r;

	if (xen_arg_in(vcpu, &xen_abi_add_to_physmap, arg, &a))
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

	if (xen_arg_in(vcpu, &xen_abi_memory_map, arg, &mm))
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
	return xen_arg_out(vcpu, &xen_abi_memory_map, arg, &mm) ? -XEN_EFAULT : 0;
}

/* ---- the reservation bitmap ---- */

int xen_reservation_init(struct domain *dom, char *err, size_t errlen)
{
	struct xen_reservation *res = &dom->xen.reservation;
	uint64_t pages = dom->vm.ram_size >> 12;

	*res = (struct xen_reservation){ .ram_pages = pages, .max_pages = pages };
	res->out = calloc(pages / BITS + 1, sizeof(uint64_t));
	if (!res->out) {
		ERR_SET(err, errlen, "out of memory for the reservation bitmap of %llu pages",
			(unsigned long long)pages);
		return -1;
	}
	/* Never touched yet, so nothing to punch. */
	for (uint64_t i = vm_populated_bytes(&dom->vm) >> 12; i < pages; i++) {
		res->out[i / BITS] |= 1ull << (i % BITS);
		res->pages_out++;
	}
	return 0;
}

void xen_reservation_teardown(struct domain *dom)
{
	free(dom->xen.reservation.out);
	dom->xen.reservation = (struct xen_reservation){ 0 };
}

static bool page_out(const struct xen_reservation *res, uint64_t index)
{
	return res->out[index / BITS] & (1ull << (index % BITS));
}

static void set_page_out(struct xen_reservation *res, uint64_t index, bool out)
{
	if (out)
		res->out[index / BITS] |= 1ull << (index % BITS);
	else
		res->out[index / BITS] &= ~(1ull << (index % BITS));
}

/* The page's index in guest RAM (memfd order); false if `gfn` is not RAM.  A gfn above 2^52 would
 * wrap in the shift. */
static bool ram_page(const struct vm *vm, uint64_t gfn, uint64_t *index)
{
	uint8_t *hva = gfn >> 52 ? NULL : vm_ram_gpa_to_hva(vm, gfn << 12, 4096);

	if (!hva)
		return false;
	*index = (uint64_t)(hva - vm->ram) >> 12;
	return true;
}

static void discard_pages(struct domain *dom, uint64_t gfn, uint64_t n);

bool xen_reservation_page_out(struct domain *dom, uint64_t index)
{
	bool out;

	pthread_mutex_lock(&dom->xen.lock);
	out = index < dom->xen.reservation.ram_pages && page_out(&dom->xen.reservation, index);
	pthread_mutex_unlock(&dom->xen.lock);
	return out;
}

void xen_reservation_restore_page(struct domain *dom, uint64_t index, bool out)
{
	struct xen_reservation *res = &dom->xen.reservation;
	uint64_t low_pages = dom->vm.low_ram_size >> 12;

	pthread_mutex_lock(&dom->xen.lock);
	if (index < res->ram_pages && page_out(res, index) != out) {
		set_page_out(res, index, out);
		if (out) {
			res->pages_out++;
			uint64_t gfn = index < low_pages ? index : (GUEST_HIGH_RAM_BASE >> 12) + index - low_pages;
			discard_pages(dom, gfn, 1);
		} else {
			res->pages_out--;
		}
	}
	pthread_mutex_unlock(&dom->xen.lock);
}

bool xen_gfn_populated_locked(struct domain *dom, uint64_t gfn)
{
	uint64_t index;

	return ram_page(&dom->vm, gfn, &index) && !page_out(&dom->xen.reservation, index);
}

/* Pages the VMM keeps live structures in: taking them away would lose event or grant state. */
static bool held_by_vmm_locked(struct domain *dom, uint64_t gfn, uint64_t index)
{
	const struct xen_state *xen = &dom->xen;
	uint64_t first_special = vm_special_page_gpa(&dom->vm, SPECIAL_PAGES - 1) >> 12;

	if (gfn >= first_special && gfn < dom->vm.low_ram_size >> 12)
		return true;
	if (gfn == xen->shared_info_gfn)
		return true;
	for (unsigned int f = 0; f < GNTTAB_MAX_FRAMES; f++)
		if (xen->grant_gfn[f] == gfn)
			return true;
	for (unsigned int v = 0; v < XEN_MAX_VCPUS; v++)
		if (xen->vcpu[v].info_registered &&
		    (uint64_t)((uint8_t *)xen->vcpu[v].info - dom->vm.ram) >> 12 == index)
			return true;
	return false;
}

static void discard_pages(struct domain *dom, uint64_t gfn, uint64_t n)
{
	int r = vm_ram_discard(&dom->vm, gfn << 12, n << 12);

	if (r < 0 && !dom->xen.reservation.discard_error_logged) {
		dom->xen.reservation.discard_error_logged = true;
		LOG("domain %d: giving guest pages back to the host failed (%s); they are zeroed but keep "
		    "their host memory", dom->domid, strerror(-r));
	}
}

static uint64_t current_reservation_locked(const struct xen_reservation *res)
{
	return res->ram_pages - res->pages_out + res->pages_unmapped;
}

/* Room below the maximum reservation for `n` more pages, and pages out to give them. */
static bool room_for(const struct xen_reservation *res, uint64_t n)
{
	uint64_t now = current_reservation_locked(res);

	return res->pages_out - res->pages_unmapped >= n && now <= res->max_pages && res->max_pages - now >= n;
}

/* One extent of XENMEM_decrease_reservation; true if all of it went. */
static bool give_back_locked(struct domain *dom, uint64_t gfn, uint64_t n)
{
	struct xen_reservation *res = &dom->xen.reservation;
	uint64_t k, index;

	if (gfn >> 52)
		return false;
	for (k = 0; k < n; k++) {
		if (!ram_page(&dom->vm, gfn + k, &index) || page_out(res, index) ||
		    held_by_vmm_locked(dom, gfn + k, index))
			break;
		set_page_out(res, index, true);
		res->pages_out++;
	}
	if (k)
		discard_pages(dom, gfn, k);    /* one region of RAM: the hole between them is not RAM */
	return k == n;
}

/* One extent of XENMEM_populate_physmap: all of it, or nothing. */
static bool populate_locked(struct domain *dom, uint64_t gfn, uint64_t n)
{
	struct xen_reservation *res = &dom->xen.reservation;
	uint64_t index;

	if (gfn >> 52 || !room_for(res, n))
		return false;
	for (uint64_t k = 0; k < n; k++)
		if (!ram_page(&dom->vm, gfn + k, &index) || !page_out(res, index) ||
		    held_by_vmm_locked(dom, gfn + k, index))
			return false;
	discard_pages(dom, gfn, n);
	for (uint64_t k = 0; k < n; k++) {
		ram_page(&dom->vm, gfn + k, &index);
		set_page_out(res, index, false);
	}
	res->pages_out -= n;
	return true;
}

uint64_t xen_reservation_current(struct domain *dom)
{
	pthread_mutex_lock(&dom->xen.lock);
	uint64_t pages = current_reservation_locked(&dom->xen.reservation);
	pthread_mutex_unlock(&dom->xen.lock);
	return pages;
}

int xen_reservation_set_max(struct domain *dom, uint64_t pages, char *why, size_t len)
{
	struct xen_reservation *res = &dom->xen.reservation;

	if (pages > res->ram_pages) {
		snprintf(why, len, "%llu KiB is above the %llu KiB the domain was built with (xl.cfg maxmem)",
			 (unsigned long long)pages * 4, (unsigned long long)res->ram_pages * 4);
		return -1;
	}
	pthread_mutex_lock(&dom->xen.lock);
	res->max_pages = pages;
	pthread_mutex_unlock(&dom->xen.lock);
	return 0;
}

/* mem_flags as Xen reads them for a DomU: an address limit that leaves not even a page, or an exact
 * NUMA node (a DomU may not ask for one) refuse the request; other limits concern machine
 * addresses, which are the host's business here. */
static bool mem_flags_ok(uint32_t flags)
{
	unsigned int bits = XENMEMF_get_address_bits(flags);

	if (bits && bits <= 12)
		return false;
	return (flags & XENMEMF_vnode) || XENMEMF_get_node(flags) == XEN_NUMA_NO_NODE ||
	       !(flags & XENMEMF_exact_node_request);
}

static long reservation_op(struct vcpu *vcpu, unsigned int op, uint64_t start, uint64_t arg)
{
	struct domain *dom = vcpu->dom;
	struct xen_reservation *res = &dom->xen.reservation;
	struct xen_memory_reservation r;

	if (xen_arg_in(vcpu, &xen_abi_memory_reservation, arg, &r) || r.nr_extents > (UINT_MAX >> MEMOP_EXTENT_SHIFT) ||
	    start >= r.nr_extents || !is_self(dom, r.domid) || !mem_flags_ok(r.mem_flags) ||
	    r.extent_order > DOMU_MAX_ORDER ||
	    (op == XENMEM_populate_physmap && (r.mem_flags & XENMEMF_populate_on_demand)))
		return (long)start;
	uint64_t pages = 1ull << r.extent_order;
	uint64_t list = (uint64_t)(uintptr_t)r.extent_start.p;
	uint64_t i;
	for (i = start; i < r.nr_extents; i++) {
		uint64_t gfn = 0;
		bool done;
		/* Translated guests' increase_reservation names no gfns: Xen never reads the list. */
		if (op != XENMEM_increase_reservation && xen_ulong_in(vcpu, list, i, &gfn))
			break;
		pthread_mutex_lock(&dom->xen.lock);
		if (op == XENMEM_decrease_reservation) {
			done = give_back_locked(dom, gfn, pages);
		} else if (op == XENMEM_populate_physmap) {
			done = populate_locked(dom, gfn, pages);
		} else {
			done = room_for(res, pages);
			if (done)
				res->pages_unmapped += pages;
		}
		pthread_mutex_unlock(&dom->xen.lock);
		if (!done)
			break;
	}
	return (long)i;
}

static long reservation(struct vcpu *vcpu, unsigned int op, uint64_t arg)
{
	struct domain *dom = vcpu->dom;
	domid_t d;
	long r;

	if (guest_copy_from(vcpu, &d, arg, sizeof(d)))
		return -XEN_EFAULT;
	if (!is_self(dom, d))
		return -XEN_ESRCH;
	pthread_mutex_lock(&dom->xen.lock);
	r = (long)(op == XENMEM_current_reservation ? current_reservation_locked(&dom->xen.reservation) :
		   dom->xen.reservation.max_pages);
	pthread_mutex_unlock(&dom->xen.lock);
	return r;
}

long hcall_memory_op(struct vcpu *vcpu, const uint64_t args[5])
{
	const struct vm *vm = &vcpu->dom->vm;
	unsigned int op = args[0] & MEMORY_OP_CMD_MASK;
	uint64_t start = args[0] >> MEMOP_EXTENT_SHIFT;

	switch (op) {
	case XENMEM_increase_reservation:
	case XENMEM_decrease_reservation:
	case XENMEM_populate_physmap:
		return reservation_op(vcpu, op, start, args[1]);
	case XENMEM_add_to_physmap:
		return add_to_physmap(vcpu, args[1]);
	case XENMEM_memory_map:
		return memory_map(vcpu, args[1]);
	case XENMEM_current_reservation:
	case XENMEM_maximum_reservation:
		return start ? -XEN_EINVAL : reservation(vcpu, op, args[1]);
	case XENMEM_maximum_gpfn: {
		domid_t d;
		if (start)
			return -XEN_EINVAL;
		if (guest_copy_from(vcpu, &d, args[1], sizeof(d)))
			return -XEN_EFAULT;
		uint64_t end = vm->ram_size > vm->low_ram_size ?
			GUEST_HIGH_RAM_BASE + (vm->ram_size - vm->low_ram_size) : vm->low_ram_size;
		return (long)((end >> 12) - 1);
	}
	default:
		return xen_unknown_subop(vcpu, __HYPERVISOR_memory_op, op);
	}
}
