/* Grant frames where Linux PVH puts them: outside RAM (fake_domain.h, no KVM).
 *
 * Debian's 6.1 kernel takes its grant frames from xen_alloc_unpopulated_pages: a free 128 MiB-aligned
 * stretch of address space above RAM, popped from a stack so that frame i gets gfn top - i, and places
 * them with XENMEM_add_to_physmap from the last frame down.  These tests do the same on a domain with
 * 8 MiB of RAM (the stretch starts at 128 MiB) and check what the guest and Dom0 then see: the
 * hypercalls' answers, the guest's own writes to those gfns (guest_copy_to with paging off, as the
 * guest's stores would land) reaching gnttab_map, frames moved and displaced, the KVM memory slots the
 * VM layer would ask for, and the gfns refused with Xen's errno.  The guest's physical address width
 * is the host CPU's (CPUID 0x80000008), as KVM gives it. */
#include <cpuid.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include "fake_domain.h"
#include "unit.h"
#include "vmm/guest_access.h"

#define PAGE 4096ull
#define ENTRIES 512u                                  /* v1 entries per frame */
#define SECTION (128ull << 20)                        /* Linux's PAGES_PER_SECTION * PAGE_SIZE */
#define STRETCH_GFN (((FAKE_RAM_SIZE + SECTION - 1) & ~(SECTION - 1)) >> 12)
#define TOP_GFN (STRETCH_GFN + (SECTION >> 12) - 1)    /* frame 0: the first page popped */
#define DATA_GFN 0x400ull                             /* a granted RAM page */
#define OTHER_GFN ((3 * SECTION) >> 12)                /* elsewhere above RAM */

static struct domain *domain_new(void)
{
	return fake_domain_new(1);
}

/* fake_domain_free does not know the extra pages; give them back first. */
static void domain_free(struct domain *d)
{
	vm_extra_release(&d->vm);
	fake_domain_free(d);
}

static long place(struct domain *d, unsigned long idx, uint64_t gfn)
{
	struct xen_add_to_physmap x = { .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table, .idx = idx, .gpfn = gfn };
	return fake_op(d, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, &x, sizeof(x));
}

static long gnttab_op(struct domain *d, uint64_t cmd, void *arg, size_t size)
{
	return fake_op(d, 0, __HYPERVISOR_grant_table_op, cmd, arg, size);
}

/* What Linux's gnttab_init does on PVH: set_version(1), query_size, then frames max-1 .. 0. */
static bool linux_setup(struct unit *u, struct domain *d, unsigned int *max)
{
	struct gnttab_set_version v = { .version = 1 };
	CHECK_INT(gnttab_op(d, GNTTABOP_set_version, &v, sizeof(v)), 0);
	struct gnttab_query_size q = { .dom = DOMID_SELF };
	CHECK_INT(gnttab_op(d, GNTTABOP_query_size, &q, sizeof(q)), 0);
	CHECK(q.status == GNTST_okay && q.max_nr_frames == 64, "query_size: status %d, max %u (Xen's default: 64)",
	      q.status, q.max_nr_frames);
	*max = q.max_nr_frames;
	for (unsigned int i = *max; i-- > 0;) {
		long rc = place(d, i, TOP_GFN - i);
		if (rc) {
			CHECK(0, "add_to_physmap of frame %u at gfn %#llx: %ld", i, (unsigned long long)(TOP_GFN - i), rc);
			return false;
		}
	}
	return true;
}

/* A grant entry written by the guest at gfn `gfn` (the frame's own page), through guest memory. */
static void guest_grant(struct domain *d, uint64_t gfn, unsigned int slot, uint16_t flags, domid_t to, uint32_t frame)
{
	grant_entry_v1_t e = { .flags = flags, .domid = to, .frame = frame };
	if (guest_copy_to(&d->vcpus[0], (gfn << 12) + slot * sizeof(e), &e, sizeof(e)))
		abort();
}

static grant_entry_v1_t guest_read(struct domain *d, uint64_t gfn, unsigned int slot)
{
	grant_entry_v1_t e;
	if (guest_copy_from(&d->vcpus[0], &e, (gfn << 12) + slot * sizeof(e), sizeof(e)))
		memset(&e, 0xff, sizeof(e));
	return e;
}

static void test_linux_placement(struct unit *u, const void *arg)
{
	struct domain *d = domain_new();
	unsigned int max = 0;
	(void)arg;

	if (!linux_setup(u, d, &max))
		goto out;
	for (unsigned int i = 0; i < max; i++)
		CHECK(d->xen.grant_gfn[i] == TOP_GFN - i, "frame %u at %#llx", i, (unsigned long long)d->xen.grant_gfn[i]);
	/* Placed from the last frame down, the 64 pages sit at rising gfns on rising host pages. */
	CHECK_INT(vm_extra_slots(&d->vm), 1);
	struct gnttab_query_size q = { .dom = DOMID_SELF };
	CHECK_INT(gnttab_op(d, GNTTABOP_query_size, &q, sizeof(q)), 0);
	CHECK(q.nr_frames == 64 && q.max_nr_frames == 64, "query_size after: %u of %u", q.nr_frames, q.max_nr_frames);
	/* setup_table answers where the frames are. */
	struct gnttab_setup_table s = { .dom = DOMID_SELF, .nr_frames = 64 };
	set_xen_guest_handle(s.frame_list, (xen_pfn_t *)(uintptr_t)FAKE_ARG2);
	CHECK_INT(gnttab_op(d, GNTTABOP_setup_table, &s, sizeof(s)), 0);
	xen_pfn_t frames[64];
	fake_get(d, FAKE_ARG2, frames, sizeof(frames));
	CHECK_INT(s.status, GNTST_okay);
	for (unsigned int i = 0; i < 64; i++)
		CHECK(frames[i] == TOP_GFN - i, "setup_table frame %u: %#lx", i, (unsigned long)frames[i]);
	/* The frames are not RAM: the guest's memory map is unchanged and ballooning does not see them. */
	CHECK(!vm_gfn_is_ram(&d->vm, TOP_GFN) && !vm_ram_gpa_to_hva(&d->vm, TOP_GFN << 12, 1),
	      "a grant frame counts as RAM");
	/* Placing a frame again where it is (Linux's gnttab_resume) keeps its entries. */
	guest_grant(d, TOP_GFN - 3, 9, GTF_permit_access, 0, DATA_GFN);
	CHECK_INT(place(d, 3, TOP_GFN - 3), 0);
	CHECK(guest_read(d, TOP_GFN - 3, 9).frame == DATA_GFN, "re-placing frame 3 where it is cleared it");
out:
	domain_free(d);
}

/* The guest's stores to a frame above RAM are the table Dom0's gnttab_map reads, in every frame. */
static void test_guest_writes_reach_dom0(struct unit *u, const void *arg)
{
	struct domain *d = domain_new();
	unsigned int max = 0;
	(void)arg;

	if (!linux_setup(u, d, &max))
		goto out;
	static const unsigned int frames[] = { 0, 1, 31, 63 };
	for (size_t k = 0; k < sizeof(frames) / sizeof(frames[0]); k++) {
		unsigned int f = frames[k], slot = 5 + f;
		grant_ref_t ref = f * ENTRIES + slot;
		struct grant_mapping m;
		guest_grant(d, TOP_GFN - f, slot, GTF_permit_access, 0, DATA_GFN + f);
		CHECK_INT(gnttab_map(d, ref, 0, false, &m), 0);
		if (!m.page)
			continue;
		CHECK(m.page == fake_gpa(d, (DATA_GFN + f) << 12), "ref %u mapped %p, not the granted page", ref, m.page);
		/* Dom0's marks are in the guest's view of the entry while it is mapped. */
		grant_entry_v1_t e = guest_read(d, TOP_GFN - f, slot);
		CHECK(e.flags == (GTF_permit_access | GTF_reading | GTF_writing), "frame %u: guest sees flags %#x", f,
		      e.flags);
		gnttab_unmap(&m);
		CHECK(guest_read(d, TOP_GFN - f, slot).flags == GTF_permit_access, "frame %u: flags after unmap %#x", f,
		      guest_read(d, TOP_GFN - f, slot).flags);
		/* A read-only grant refuses a writable map, as in RAM. */
		guest_grant(d, TOP_GFN - f, slot, GTF_permit_access | GTF_readonly, 0, DATA_GFN);
		CHECK_INT(gnttab_map(d, ref, 0, false, &m), -XEN_EPERM);
	}
	/* GNTTABOP_copy through a self-grant kept above RAM. */
	uint8_t *data = fake_gpa(d, DATA_GFN << 12);
	memcpy(data, "from-a-grant", 13);
	guest_grant(d, TOP_GFN - 2, 1, GTF_permit_access, FAKE_DOMID, DATA_GFN);
	struct gnttab_copy c = {
		.source = { .u.ref = 2 * ENTRIES + 1, .domid = DOMID_SELF }, .dest = { .u.gmfn = DATA_GFN + 1, .domid = DOMID_SELF },
		.len = 13, .flags = GNTCOPY_source_gref,
	};
	CHECK_INT(gnttab_op(d, GNTTABOP_copy, &c, sizeof(c)), 0);
	CHECK(c.status == GNTST_okay && !memcmp(fake_gpa(d, (DATA_GFN + 1) << 12), "from-a-grant", 13),
	      "copy from a grant in frame 2: status %d", c.status);
out:
	domain_free(d);
}

/* Frames move with their entries (Xen moves its page); the old gfn is empty afterwards. */
static void test_move(struct unit *u, const void *arg)
{
	struct domain *d = domain_new();
	unsigned int max = 0;
	struct grant_mapping m;
	(void)arg;

	if (!linux_setup(u, d, &max))
		goto out;
	guest_grant(d, TOP_GFN - 1, 7, GTF_permit_access, 0, DATA_GFN);
	/* Above RAM to elsewhere above RAM. */
	CHECK_INT(place(d, 1, OTHER_GFN), 0);
	CHECK(guest_read(d, OTHER_GFN, 7).frame == DATA_GFN, "entry not carried to the new gfn");
	CHECK(!vm_gpa_to_hva(&d->vm, (TOP_GFN - 1) << 12, 1), "the old gfn still shows the frame");
	CHECK_INT(gnttab_map(d, ENTRIES + 7, 0, true, &m), 0);
	gnttab_unmap(&m);
	/* The run of 64 broke in two around the hole, and frame 1 has a slot of its own. */
	CHECK_INT(vm_extra_slots(&d->vm), 3);
	/* Into RAM: the entries go along into the RAM page, and the extra page leaves the physmap. */
	CHECK_INT(place(d, 1, DATA_GFN + 8), 0);
	CHECK(((grant_entry_v1_t *)fake_gpa(d, (DATA_GFN + 8) << 12))[7].frame == DATA_GFN, "entry not carried into RAM");
	CHECK(!vm_gpa_to_hva(&d->vm, OTHER_GFN << 12, 1), "gfn %#llx still mapped", (unsigned long long)OTHER_GFN);
	CHECK_INT(vm_extra_slots(&d->vm), 2);
	CHECK_INT(gnttab_map(d, ENTRIES + 7, 0, true, &m), 0);
	gnttab_unmap(&m);
	/* And out again, to where it started: one run again. */
	guest_grant(d, DATA_GFN + 8, 8, GTF_permit_access, 0, DATA_GFN + 1);
	CHECK_INT(place(d, 1, TOP_GFN - 1), 0);
	CHECK(guest_read(d, TOP_GFN - 1, 8).frame == DATA_GFN + 1, "entry not carried out of RAM");
	CHECK_INT(vm_extra_slots(&d->vm), 1);
	/* A frame placed where another is displaces it (Xen: the old page leaves the p2m). */
	guest_grant(d, TOP_GFN - 4, 3, GTF_permit_access, 0, DATA_GFN + 4);
	CHECK_INT(place(d, 4, TOP_GFN - 5), 0);
	CHECK(d->xen.grant_gfn[5] == ~0ull && d->xen.grant_gfn[4] == TOP_GFN - 5, "frame 5 at %#llx, frame 4 at %#llx",
	      (unsigned long long)d->xen.grant_gfn[5], (unsigned long long)d->xen.grant_gfn[4]);
	CHECK(guest_read(d, TOP_GFN - 5, 3).frame == DATA_GFN + 4, "frame 4's entries not at its new gfn");
	CHECK_INT(gnttab_map(d, 5 * ENTRIES + 3, 0, true, &m), -XEN_EINVAL);
	CHECK_INT(gnttab_map(d, 4 * ENTRIES + 3, 0, true, &m), 0);
	gnttab_unmap(&m);
	/* The same in RAM: frame 0 placed over a RAM frame 6 moved into. */
	CHECK_INT(place(d, 6, DATA_GFN + 9), 0);
	CHECK_INT(place(d, 0, DATA_GFN + 9), 0);
	CHECK(d->xen.grant_gfn[6] == ~0ull && d->xen.grant_gfn[0] == DATA_GFN + 9, "frame 6 not displaced in RAM");
out:
	domain_free(d);
}

/* A grant frame whose mapping a backend holds can move: the pin follows the entry. */
static void test_move_while_mapped(struct unit *u, const void *arg)
{
	struct domain *d = domain_new();
	unsigned int max = 0;
	struct grant_mapping m;
	(void)arg;

	if (!linux_setup(u, d, &max))
		goto out;
	guest_grant(d, TOP_GFN, 2, GTF_permit_access, 0, DATA_GFN);
	CHECK_INT(gnttab_map(d, 2, 0, false, &m), 0);
	CHECK_INT(place(d, 0, OTHER_GFN), 0);
	CHECK(guest_read(d, OTHER_GFN, 2).flags == (GTF_permit_access | GTF_reading | GTF_writing),
	      "in-use flags not carried: %#x", guest_read(d, OTHER_GFN, 2).flags);
	gnttab_unmap(&m);
	CHECK(guest_read(d, OTHER_GFN, 2).flags == GTF_permit_access, "unmap did not clear the moved entry: %#x",
	      guest_read(d, OTHER_GFN, 2).flags);
out:
	domain_free(d);
}

static unsigned int host_phys_bits(void)
{
	unsigned int eax, ebx, ecx, edx;
	if (__get_cpuid(0x80000008, &eax, &ebx, &ecx, &edx) && (eax & 0xff) >= 32 && (eax & 0xff) <= 52)
		return eax & 0xff;
	return 36;
}

/* Gfns and frames a hostile guest may name: each refused with Xen's errno, nothing changed. */
struct refusal { const char *name; unsigned long idx; uint64_t gfn; long want; };

enum { GFN_PHYS_LIMIT = 1, GFN_PHYS_LAST, GFN_XENSTORE, GFN_CONSOLE };

static const struct refusal refusals[] = {
	{ "frame 64 of 64", 64, STRETCH_GFN, -XEN_EINVAL },
	{ "gfn at the CPU's physical address width", 0, GFN_PHYS_LIMIT, -XEN_EINVAL },
	{ "gfn 2^40", 0, 1ull << 40, -XEN_EINVAL },
	{ "gfn 2^52 (would wrap in the shift)", 0, 1ull << 52, -XEN_EINVAL },
	{ "gfn ~0", 0, ~0ull, -XEN_EINVAL },
	{ "the local APIC page", 0, 0xfee00, -XEN_EPERM },
	{ "the IO-APIC page", 0, 0xfec00, -XEN_EPERM },
	{ "VMX's TSS", 0, 0xfffbd, -XEN_EPERM },
	{ "VMX's identity-map page", 0, 0xfffbc, -XEN_EPERM },
	{ "the xenstore ring page", 0, GFN_XENSTORE, -XEN_EPERM },
	{ "the console ring page", 0, GFN_CONSOLE, -XEN_EPERM },
};

static void test_refusal(struct unit *u, const void *arg)
{
	const struct refusal *c = arg;
	struct domain *d = domain_new();
	uint64_t gfn = c->gfn;

	switch (gfn) {
	case GFN_PHYS_LIMIT: gfn = 1ull << (host_phys_bits() - 12); break;
	case GFN_XENSTORE: gfn = vm_special_page_gpa(&d->vm, SPECIAL_PAGE_XENSTORE) >> 12; break;
	case GFN_CONSOLE: gfn = vm_special_page_gpa(&d->vm, SPECIAL_PAGE_CONSOLE) >> 12; break;
	}
	uint8_t before[PAGE];
	if (c->gfn == GFN_XENSTORE || c->gfn == GFN_CONSOLE) {
		memset(fake_gpa(d, gfn << 12), 0x5a, PAGE);
		memcpy(before, fake_gpa(d, gfn << 12), PAGE);
	}
	CHECK_INT(place(d, c->idx, gfn), c->want);
	CHECK_INT(d->xen.grant_frames, 0);
	for (unsigned int f = 0; f < GNTTAB_MAX_FRAMES; f++)
		CHECK(d->xen.grant_gfn[f] == ~0ull, "frame %u placed at %#llx", f, (unsigned long long)d->xen.grant_gfn[f]);
	CHECK_INT(vm_extra_slots(&d->vm), 0);
	if (c->gfn == GFN_XENSTORE || c->gfn == GFN_CONSOLE)
		CHECK(!memcmp(before, fake_gpa(d, gfn << 12), PAGE), "the ring page changed");
	/* The last gfn below the width is fine. */
	CHECK_INT(place(d, 0, (1ull << (host_phys_bits() - 12)) - 1), 0);
	domain_free(d);
}

/* The VM layer's slots: runs of contiguous gfns on contiguous host pages, rebuilt as pages move. */
static void test_vm_runs(struct unit *u, const void *arg)
{
	struct domain *d = domain_new();
	struct vm *vm = &d->vm;
	(void)arg;

	/* Falling gfns in turn: host pages rise while gfns fall, so no two share a slot. */
	for (unsigned int i = 0; i < 8; i++)
		CHECK_INT(vm_extra_map(vm, i, STRETCH_GFN + 100 - i), 0);
	CHECK_INT(vm_extra_slots(vm), 8);
	/* Rising gfns in turn: one slot. */
	for (unsigned int i = 8; i < 16; i++)
		CHECK_INT(vm_extra_map(vm, i, OTHER_GFN + i), 0);
	CHECK_INT(vm_extra_slots(vm), 9);
	vm_extra_unmap(vm, 12);
	CHECK_INT(vm_extra_slots(vm), 10);
	CHECK(!vm_gpa_to_hva(vm, (OTHER_GFN + 12) << 12, 1), "unmapped page still resolves");
	/* Its host page and contents stay, and come back with it. */
	uint8_t *host = vm_extra_host(vm, 12);
	memcpy(host, "kept", 5);
	CHECK_INT(vm_extra_map(vm, 12, OTHER_GFN + 12), 0);
	CHECK_INT(vm_extra_slots(vm), 9);
	CHECK(vm_gpa_to_hva(vm, ((OTHER_GFN + 12) << 12) + 1, 4) == host + 1, "page 12 resolves elsewhere");
	CHECK(!memcmp(host, "kept", 5), "contents lost");
	/* A range may not run past the page: the next gfn is another page. */
	CHECK(!vm_gpa_to_hva(vm, ((OTHER_GFN + 12) << 12) + 4000, 200), "a range across two extra pages resolved");
	CHECK_INT(vm_extra_map(vm, 3, OTHER_GFN + 9), -EBUSY);
	CHECK_INT(vm_extra_map(vm, 3, DATA_GFN), -EEXIST);
	CHECK_INT(vm_extra_map(vm, VM_EXTRA_PAGES, OTHER_GFN), -EINVAL);
	CHECK(vm_extra_index_at(vm, OTHER_GFN + 9) == 9 && vm_extra_gfn(vm, 9) == OTHER_GFN + 9 &&
	      vm_extra_gfn(vm, 40) == ~0ull, "lookups disagree");
	domain_free(d);
}

/* setup_table for frames nobody placed: our special pages for 0-3, Xen's invalid gfn beyond. */
static void test_setup_table_beyond_special(struct unit *u, const void *arg)
{
	struct domain *d = domain_new();
	xen_pfn_t frames[8];
	(void)arg;

	CHECK_INT(place(d, 5, OTHER_GFN), 0);
	struct gnttab_setup_table s = { .dom = DOMID_SELF, .nr_frames = 8 };
	set_xen_guest_handle(s.frame_list, (xen_pfn_t *)(uintptr_t)FAKE_ARG2);
	CHECK_INT(gnttab_op(d, GNTTABOP_setup_table, &s, sizeof(s)), 0);
	fake_get(d, FAKE_ARG2, frames, sizeof(frames));
	CHECK_INT(s.status, GNTST_okay);
	for (unsigned int f = 0; f < 4; f++)
		CHECK(frames[f] == vm_special_page_gpa(&d->vm, SPECIAL_PAGE_GRANT_FIRST + f) >> 12, "frame %u at %#lx", f,
		      (unsigned long)frames[f]);
	CHECK(frames[4] == ~(xen_pfn_t)0 && frames[5] == OTHER_GFN && frames[6] == ~(xen_pfn_t)0 &&
	      frames[7] == ~(xen_pfn_t)0, "frames 4-7: %#lx %#lx %#lx %#lx", (unsigned long)frames[4],
	      (unsigned long)frames[5], (unsigned long)frames[6], (unsigned long)frames[7]);
	struct gnttab_query_size q = { .dom = DOMID_SELF };
	CHECK_INT(gnttab_op(d, GNTTABOP_query_size, &q, sizeof(q)), 0);
	CHECK_INT(q.nr_frames, 8);
	/* Refs in an unmapped frame map nothing. */
	struct grant_mapping m;
	CHECK_INT(gnttab_map(d, 6 * ENTRIES, 0, true, &m), -XEN_EINVAL);
	domain_free(d);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[160];

	unit_case(&u, "gnttab frames: Linux PVH's 64 frames above RAM, one KVM slot", test_linux_placement, NULL);
	unit_case(&u, "gnttab frames: guest writes above RAM reach gnttab_map", test_guest_writes_reach_dom0, NULL);
	unit_case(&u, "gnttab frames: moved and displaced frames keep their entries", test_move, NULL);
	unit_case(&u, "gnttab frames: a frame moves while one of its grants is mapped", test_move_while_mapped, NULL);
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		snprintf(name, sizeof(name), "gnttab frames refused: %s", refusals[i].name);
		unit_case(&u, name, test_refusal, &refusals[i]);
	}
	unit_case(&u, "vm extra pages: slots by runs, pages kept while unmapped", test_vm_runs, NULL);
	unit_case(&u, "gnttab frames: setup_table beyond the special pages", test_setup_table_beyond_special, NULL);
	return unit_finish(&u);
}
