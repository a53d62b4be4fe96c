/* Grant tables v1.  The table lives in guest frames; each entry is {flags, domid, frame}.  A Dom0
 * backend maps an entry only if it permits access to that backend's domain, and write access only
 * without GTF_readonly; while mapped the entry carries GTF_reading/GTF_writing, set and cleared with
 * compare-and-swap on the flags word exactly as Xen does, so a guest revoking with cmpxchg sees the
 * entry busy.  Pin counts per entry let several mappings of one entry end in any order.
 *
 * Where the frames are.  Xen keeps its grant frames in its own memory and maps frame i wherever the
 * guest asks (XENMEM_add_to_physmap, XENMAPSPACE_grant_table): Linux PVH asks for gfns outside RAM,
 * in a free 128 MiB-aligned stretch above it (xen_alloc_unpopulated_pages).  We do the same with the
 * VM's extra pages (vmm/vm.h): frame i outside RAM is extra page i, shown at its gfn by a KVM memory
 * slot.  A frame the guest puts over RAM lives in that RAM page, as it always did here (Xen would
 * swap the page out of the p2m; keeping it is simpler and the guest sees the same table).  A frame
 * moved to another gfn takes its entries along; one placed where another frame was displaces it, as
 * in Xen, except that the displaced frame's grants stop working until it is placed again (Xen keeps
 * honouring them).  Frames the guest never placed are put on our special pages by
 * GNTTABOP_setup_table (frames 0-3; beyond, setup_table answers Xen's "not mapped" gfn, ~0).
 * grant_gfn[] (and the frames' contents) is the state a save stream needs.
 * A 32-bit vCPU's setup_table and copy come in Xen's compat layout (compat.h): its frame list holds
 * 32-bit frames, an unmapped one reading 0xffffffff (Xen's compat layer truncates, too). */
#include <errno.h>
#include <string.h>
#include "lib/error.h"
#include "vmm/dirty_log.h"
#include "vmm/domain.h"
#include "vmm/guest_access.h"
#include "xen/compat.h"
#include "xen/hypercalls.h"
#include "xen/xen_state.h"

#define PAGE 4096ull
#define ENTRIES_PER_FRAME (PAGE / sizeof(grant_entry_v1_t))
#define GNTTAB_COPY_BATCH 64
#define SPECIAL_GRANT_FRAMES (SPECIAL_PAGES - SPECIAL_PAGE_GRANT_FIRST)

_Static_assert(GNTTAB_MAX_FRAMES <= VM_EXTRA_PAGES, "every grant frame needs an extra page");

void *gnttab_frame_page_locked(struct domain *dom, unsigned int frame)
{
	uint64_t gfn = frame < GNTTAB_MAX_FRAMES ? dom->xen.grant_gfn[frame] : ~0ull;

	if (gfn == ~0ull)
		return NULL;
	if (vm_gfn_is_ram(&dom->vm, gfn))
		return vm_ram_gpa_to_hva(&dom->vm, gfn << 12, PAGE);
	return vm_extra_host(&dom->vm, frame);
}

/* Xen's errno for what the VM layer said about a gfn. */
static int xen_errno_of(int vm_errno)
{
	switch (vm_errno) {
	case -EPERM: return -XEN_EPERM;
	case -ENOMEM: return -XEN_ENOMEM;
	default: return -XEN_EINVAL;
	}
}

/* Pages our backends keep rings in (xenstored, the console): a grant frame over them would wipe
 * the ring under the backend.  Xen, whose rings are plain guest RAM, has no such pages. */
static bool backend_page(const struct vm *vm, uint64_t gfn)
{
	return gfn == vm_special_page_gpa(vm, SPECIAL_PAGE_XENSTORE) >> 12 ||
	       gfn == vm_special_page_gpa(vm, SPECIAL_PAGE_CONSOLE) >> 12;
}

static int frame_at_locked(const struct xen_state *xen, uint64_t gfn)
{
	for (unsigned int f = 0; f < GNTTAB_MAX_FRAMES; f++)
		if (xen->grant_gfn[f] == gfn)
			return (int)f;
	return -1;
}

static void unplace_locked(struct domain *dom, unsigned int frame)
{
	vm_extra_unmap(&dom->vm, frame);       /* nothing if the frame was in RAM */
	dom->xen.grant_gfn[frame] = ~0ull;
}

int gnttab_place_frame_locked(struct domain *dom, unsigned int frame, uint64_t gfn)
{
	struct xen_state *xen = &dom->xen;
	struct vm *vm = &dom->vm;
	int r;

	if (frame >= GNTTAB_MAX_FRAMES)
		return -XEN_EINVAL;
	if ((r = vm_gfn_check(vm, gfn)))
		return xen_errno_of(r);
	if (backend_page(vm, gfn))
		return -XEN_EPERM;
	if (xen->grant_gfn[frame] != gfn) {
		/* What the frame holds now: RAM, or its own extra page, whose host page never moves. */
		uint8_t *old = gnttab_frame_page_locked(dom, frame), *page;
		int other = frame_at_locked(xen, gfn);
		if (vm_gfn_is_ram(vm, gfn)) {
			page = vm_ram_gpa_to_hva(vm, gfn << 12, PAGE);
			if (other >= 0)
				unplace_locked(dom, (unsigned int)other);
			if (old)
				memmove(page, old, PAGE);
			else
				memset(page, 0, PAGE);
			vm_extra_unmap(vm, frame);
		} else {
			page = vm_extra_host(vm, frame);
			if (!page)
				return -XEN_ENOMEM;
			if (other >= 0)
				vm_extra_unmap(vm, (unsigned int)other);
			if ((r = vm_extra_map(vm, frame, gfn))) {
				if (other >= 0 && vm_extra_map(vm, (unsigned int)other, gfn))
					unplace_locked(dom, (unsigned int)other);
				return xen_errno_of(r);
			}
			if (other >= 0)
				xen->grant_gfn[other] = ~0ull;
			if (!old)
				memset(page, 0, PAGE);
			else if (old != page)
				memcpy(page, old, PAGE);
		}
		xen->grant_gfn[frame] = gfn;
	}
	if (frame + 1 > xen->grant_frames)
		xen->grant_frames = frame + 1;
	return 0;
}

static grant_entry_v1_t *entry_locked(struct domain *dom, grant_ref_t ref)
{
	unsigned int frame = ref / ENTRIES_PER_FRAME;
	grant_entry_v1_t *table = frame < dom->xen.grant_frames ? gnttab_frame_page_locked(dom, frame) : NULL;

	return table ? &table[ref % ENTRIES_PER_FRAME] : NULL;
}

/* Takes a pin on `ref` for `mapper`; returns the granted frame's host page or an error. */
static int pin_locked(struct domain *dom, grant_ref_t ref, domid_t mapper, bool readonly, void **page)
{
	grant_entry_v1_t *e = entry_locked(dom, ref);

	if (!e)
		return -XEN_EINVAL;
	uint16_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
	for (;;) {
		if ((flags & GTF_type_mask) != GTF_permit_access)
			return -XEN_EPERM;
		if (__atomic_load_n(&e->domid, __ATOMIC_ACQUIRE) != mapper)
			return -XEN_EPERM;
		if (!readonly && (flags & GTF_readonly))
			return -XEN_EPERM;
		uint16_t want = flags | GTF_reading | (readonly ? 0 : GTF_writing);
		if (__atomic_compare_exchange_n(&e->flags, &flags, want, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			break;
	}
	/* The frame is read after the flags are ours: the guest may not change it while in use. */
	uint64_t gfn = __atomic_load_n(&e->frame, __ATOMIC_ACQUIRE);
	void *p = vm_gpa_to_hva(&dom->vm, gfn << 12, 4096);
	struct gnttab_pin *pin = &dom->xen.pins[ref];
	if (!p) {
		if (!pin->readers && !pin->writers)
			__atomic_fetch_and(&e->flags, (uint16_t)~(GTF_reading | GTF_writing), __ATOMIC_ACQ_REL);
		else if (!readonly && !pin->writers)
			__atomic_fetch_and(&e->flags, (uint16_t)~GTF_writing, __ATOMIC_ACQ_REL);
		return -XEN_EINVAL;
	}
	pin->readers++;
	if (!readonly)
		pin->writers++;
	*page = p;
	return 0;
}

static void unpin_locked(struct domain *dom, grant_ref_t ref, bool readonly)
{
	grant_entry_v1_t *e = entry_locked(dom, ref);
	struct gnttab_pin *pin = &dom->xen.pins[ref];

	if (!pin->readers)
		return;
	pin->readers--;
	if (!readonly)
		pin->writers--;
	if (!e)
		return;
	uint16_t clear = (pin->writers ? 0 : GTF_writing) | (pin->readers ? 0 : GTF_reading);
	__atomic_fetch_and(&e->flags, (uint16_t)~clear, __ATOMIC_ACQ_REL);
}

int gnttab_map(struct domain *dom, grant_ref_t ref, domid_t mapper, bool readonly, struct grant_mapping *map)
{
	void *page = NULL;
	int r;

	if (ref >= GNTTAB_MAX_FRAMES * ENTRIES_PER_FRAME)
		return -XEN_EINVAL;
	pthread_mutex_lock(&dom->xen.lock);
	r = pin_locked(dom, ref, mapper, readonly, &page);
	pthread_mutex_unlock(&dom->xen.lock);
	if (r)
		return r;
	*map = (struct grant_mapping){ .dom = dom, .ref = ref, .readonly = readonly, .page = page };
	return 0;
}

void gnttab_unmap(struct grant_mapping *map)
{
	if (!map->page)
		return;
	pthread_mutex_lock(&map->dom->xen.lock);
	unpin_locked(map->dom, map->ref, map->readonly);
	/* What a backend wrote through the mapping went around KVM's dirty log: a live save must
	 * send the page again (vmm/save.c clears dirty_log under this lock). */
	if (!map->readonly && map->dom->dirty_log && (uint8_t *)map->page >= map->dom->vm.ram)
		dirty_log_mark(map->dom->dirty_log,
			       (uint64_t)((uint8_t *)map->page - map->dom->vm.ram) / 4096);
	pthread_mutex_unlock(&map->dom->xen.lock);
	map->page = NULL;
}

/* ---- the guest's operations ---- */

static bool is_self(struct domain *dom, domid_t d)
{
	return d == DOMID_SELF || d == (domid_t)dom->domid;
}

static long setup_table(struct vcpu *vcpu, uint64_t arg)
{
	struct domain *dom = vcpu->dom;
	struct gnttab_setup_table s;
	uint64_t frames[GNTTAB_MAX_FRAMES];

	if (xen_arg_in(vcpu, &xen_abi_gnttab_setup_table, arg, &s))
		return -XEN_EFAULT;
	if (!is_self(dom, s.dom)) {
		s.status = GNTST_permission_denied;
	} else if (s.nr_frames > GNTTAB_MAX_FRAMES) {
		s.status = GNTST_general_error;
	} else {
		pthread_mutex_lock(&dom->xen.lock);
		for (unsigned int f = 0; f < s.nr_frames; f++) {
			/* Frames the guest did not place go to our special pages while there are some;
			 * the rest stay unmapped, which Xen answers with an invalid gfn. */
			if (dom->xen.grant_gfn[f] == ~0ull && f < SPECIAL_GRANT_FRAMES)
				gnttab_place_frame_locked(dom, f, vm_special_page_gpa(&dom->vm,
								SPECIAL_PAGE_GRANT_FIRST + f) >> 12);
			frames[f] = dom->xen.grant_gfn[f];       /* ~0: not mapped */
		}
		/* Xen grows the table to nr_frames, mapped or not. */
		if (s.nr_frames > dom->xen.grant_frames)
			dom->xen.grant_frames = s.nr_frames;
		pthread_mutex_unlock(&dom->xen.lock);
		if (s.nr_frames && xen_ulongs_out(vcpu, (uint64_t)(uintptr_t)s.frame_list.p, frames, s.nr_frames))
			return -XEN_EFAULT;
		s.status = GNTST_okay;
	}
	return xen_arg_out(vcpu, &xen_abi_gnttab_setup_table, arg, &s) ? -XEN_EFAULT : 0;
}

static long query_size(struct vcpu *vcpu, uint64_t arg)
{
	struct gnttab_query_size q;

	if (guest_copy_from(vcpu, &q, arg, sizeof(q)))
		return -XEN_EFAULT;
	if (!is_self(vcpu->dom, q.dom)) {
		q.status = GNTST_permission_denied;
	} else {
		pthread_mutex_lock(&vcpu->dom->xen.lock);
		q.nr_frames = vcpu->dom->xen.grant_frames;
		pthread_mutex_unlock(&vcpu->dom->xen.lock);
		q.max_nr_frames = GNTTAB_MAX_FRAMES;
		q.status = GNTST_okay;
	}
	return guest_copy_to(vcpu, arg, &q, sizeof(q)) ? -XEN_EFAULT : 0;
}

/* One side of a copy: our own frame (gmfn) or a grant of ours given to ourselves.  Grants of other
 * domains would live in their VMMs and are refused with GNTST_bad_domain. */
static int16_t copy_side(struct domain *dom, const struct gnttab_copy_ptr *p, bool is_gref, bool write,
			 uint16_t len, uint8_t **host, struct grant_mapping *map)
{
	if (!is_self(dom, p->domid))
		return GNTST_bad_domain;
	if ((uint32_t)p->offset + len > 4096)
		return GNTST_bad_copy_arg;
	if (is_gref) {
		int r = gnttab_map(dom, p->u.ref, (domid_t)dom->domid, !write, map);
		if (r)
			return r == -XEN_EINVAL ? GNTST_bad_gntref : GNTST_permission_denied;
		*host = (uint8_t *)map->page + p->offset;
		return GNTST_okay;
	}
	uint8_t *page = p->u.gmfn >> 52 ? NULL : vm_gpa_to_hva(&dom->vm, (uint64_t)p->u.gmfn << 12, 4096);
	if (!page)
		return GNTST_bad_page;
	*host = page + p->offset;
	return GNTST_okay;
}

static int16_t do_copy(struct domain *dom, const struct gnttab_copy *c)
{
	struct grant_mapping src_map = { 0 }, dst_map = { 0 };
	uint8_t *src, *dst;
	int16_t st = copy_side(dom, &c->source, c->flags & GNTCOPY_source_gref, false, c->len, &src, &src_map);

	if (st == GNTST_okay)
		st = copy_side(dom, &c->dest, c->flags & GNTCOPY_dest_gref, true, c->len, &dst, &dst_map);
	if (st == GNTST_okay)
		memmove(dst, src, c->len);
	gnttab_unmap(&src_map);
	gnttab_unmap(&dst_map);
	return st;
}

/* A batch of copies in the call's layout: `raw` holds n of them, each `stride` bytes. */
static void copy_batch(struct vcpu *vcpu, uint8_t *raw, size_t n, size_t stride)
{
	bool compat = xen_call_compat(vcpu);

	for (size_t i = 0; i < n; i++) {
		struct gnttab_copy op;
		uint8_t *at = raw + i * stride;
		if (compat)
			xen_abi_widen(&xen_abi_gnttab_copy, at, &op);
		else
			memcpy(&op, at, sizeof(op));
		op.status = do_copy(vcpu->dom, &op);
		if (compat)
			xen_abi_narrow(&xen_abi_gnttab_copy, &op, at);
		else
			memcpy(at, &op, sizeof(op));
	}
}

static long copy_op(struct vcpu *vcpu, uint64_t arg, uint64_t count)
{
	uint8_t raw[GNTTAB_COPY_BATCH * sizeof(struct gnttab_copy)];
	size_t stride = xen_arg_size(vcpu, &xen_abi_gnttab_copy);

	/* Xen preempts long batches; we bound them instead. */
	if (count > 4096)
		return -XEN_EINVAL;
	for (uint64_t done = 0; done < count;) {
		size_t n = count - done < GNTTAB_COPY_BATCH ? count - done : GNTTAB_COPY_BATCH;
		uint64_t at = arg + done * stride;
		if (guest_copy_from(vcpu, raw, at, n * stride))
			return -XEN_EFAULT;
		copy_batch(vcpu, raw, n, stride);
		if (guest_copy_to(vcpu, at, raw, n * stride))
			return -XEN_EFAULT;
		done += n;
	}
	return 0;
}

long hcall_grant_table_op(struct vcpu *vcpu, const uint64_t args[5])
{
	uint64_t cmd = args[0], arg = args[1], count = args[2];

	switch (cmd) {
	case GNTTABOP_setup_table:
		return count == 1 ? setup_table(vcpu, arg) : -XEN_EINVAL;
	case GNTTABOP_query_size:
		return count == 1 ? query_size(vcpu, arg) : -XEN_EINVAL;
	case GNTTABOP_copy:
		return copy_op(vcpu, arg, count);
	case GNTTABOP_get_version: {
		struct gnttab_get_version v;
		if (guest_copy_from(vcpu, &v, arg, sizeof(v)))
			return -XEN_EFAULT;
		v.version = 1;
		return guest_copy_to(vcpu, arg, &v, sizeof(v)) ? -XEN_EFAULT : 0;
	}
	case GNTTABOP_set_version: {
		struct gnttab_set_version v;
		if (guest_copy_from(vcpu, &v, arg, sizeof(v)))
			return -XEN_EFAULT;
		return v.version == 1 ? 0 : -XEN_EOPNOTSUPP;
	}
	default:
		/* Mapping other domains' grants from a guest (a driver domain) is not supported yet. */
		return xen_unknown_subop(vcpu, __HYPERVISOR_grant_table_op, cmd);
	}
}
