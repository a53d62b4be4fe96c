/* Grant tables v1 on a fake domain (fake_domain.h): the guest places frames (add_to_physmap or
 * setup_table) and writes entries; Dom0's gnttab_map/gnttab_unmap honour them and mark them in use
 * (GTF_reading/GTF_writing) exactly while mapped; GNTTABOP_copy moves bytes between the guest's own
 * frames and self-grants, with every refusal by its GNTST_ status. */
#include <stdint.h>
#include <stdlib.h>
#include "fake_domain.h"
#include "unit.h"

#define TABLE_GFN 0x300ull          /* where the tests place grant frame 0 */
#define DATA_GFN  0x400ull          /* granted frames start here */

static long gnttab_op(struct domain *d, uint64_t cmd, void *arg, size_t size, uint64_t count)
{
	fake_put(d, FAKE_ARG, arg, size);
	long rc = fake_hcall(d, 0, __HYPERVISOR_grant_table_op, cmd, FAKE_ARG, count);
	fake_get(d, FAKE_ARG, arg, size);
	return rc;
}

static long place_frame(struct domain *d, unsigned long idx, uint64_t gfn)
{
	struct xen_add_to_physmap x = { .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table, .idx = idx, .gpfn = gfn };
	return fake_op(d, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, &x, sizeof(x));
}

/* A domain with grant frame 0 at TABLE_GFN. */
static struct domain *grant_domain(void)
{
	struct domain *d = fake_domain_new(1);
	if (place_frame(d, 0, TABLE_GFN))
		abort();
	return d;
}

static grant_entry_v1_t *entry(struct domain *d, grant_ref_t ref)
{
	return (grant_entry_v1_t *)fake_gpa(d, TABLE_GFN << 12) + ref;
}

static void grant(struct domain *d, grant_ref_t ref, uint16_t flags, domid_t to, uint32_t frame)
{
	grant_entry_v1_t *e = entry(d, ref);
	e->domid = to;
	e->frame = frame;
	e->flags = flags;
}

static void test_place_frame(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(1);
	(void)arg;

	memset(fake_gpa(d, TABLE_GFN << 12), 0x77, 4096);
	CHECK_INT(place_frame(d, 0, TABLE_GFN), 0);
	CHECK_INT(d->xen.grant_frames, 1);
	CHECK(d->xen.grant_gfn[0] == TABLE_GFN, "frame 0 at %#llx", (unsigned long long)d->xen.grant_gfn[0]);
	/* A fresh grant frame holds no grants, whatever the guest had there. */
	CHECK(entry(d, 0)->flags == 0 && entry(d, 511)->frame == 0, "placed frame not cleared");
	/* Placing frame 0 again where it is keeps its entries. */
	grant(d, 3, GTF_permit_access, 0, DATA_GFN);
	CHECK_INT(place_frame(d, 0, TABLE_GFN), 0);
	CHECK(entry(d, 3)->flags == GTF_permit_access, "re-placing frame 0 in place cleared it");
	CHECK_INT(place_frame(d, 2, TABLE_GFN + 2), 0);
	CHECK_INT(d->xen.grant_frames, 3);
	/* Refs in frame 1, which is not placed, map nothing. */
	struct grant_mapping m;
	CHECK_INT(gnttab_map(d, 512 + 1, 0, true, &m), -XEN_EINVAL);
	fake_domain_free(d);
}

/* One map attempt on one entry. */
struct map_case {
	const char *name;
	uint16_t flags;
	domid_t granted_to;
	uint32_t frame;
	domid_t mapper;
	bool readonly;
	long want;
	uint16_t want_flags_mapped;     /* when want == 0 */
};

#define RAM_FRAMES (FAKE_RAM_SIZE >> 12)

static const struct map_case map_cases[] = {
	{ "rw grant, rw map", GTF_permit_access, 0, DATA_GFN, 0, false, 0,
	  GTF_permit_access | GTF_reading | GTF_writing },
	{ "rw grant, ro map", GTF_permit_access, 0, DATA_GFN, 0, true, 0, GTF_permit_access | GTF_reading },
	{ "ro grant, ro map", GTF_permit_access | GTF_readonly, 0, DATA_GFN, 0, true, 0,
	  GTF_permit_access | GTF_readonly | GTF_reading },
	{ "ro grant, rw map", GTF_permit_access | GTF_readonly, 0, DATA_GFN, 0, false, -XEN_EPERM, 0 },
	{ "granted to domain 5, Dom0 maps", GTF_permit_access, 5, DATA_GFN, 0, true, -XEN_EPERM, 0 },
	{ "granted to Dom0, domain 5 maps", GTF_permit_access, 0, DATA_GFN, 5, true, -XEN_EPERM, 0 },
	{ "GTF_invalid", GTF_invalid, 0, DATA_GFN, 0, true, -XEN_EPERM, 0 },
	{ "GTF_accept_transfer", GTF_accept_transfer, 0, DATA_GFN, 0, true, -XEN_EPERM, 0 },
	{ "GTF_transitive (v2 only)", GTF_transitive, 0, DATA_GFN, 0, true, -XEN_EPERM, 0 },
	{ "frame just past RAM", GTF_permit_access, 0, RAM_FRAMES, 0, false, -XEN_EINVAL, 0 },
	{ "frame ~0", GTF_permit_access, 0, 0xffffffffu, 0, true, -XEN_EINVAL, 0 },
	{ "frame in the MMIO hole", GTF_permit_access, 0, 0xfee00, 0, false, -XEN_EINVAL, 0 },
	{ "last frame of RAM", GTF_permit_access, 0, RAM_FRAMES - 1, 0, false, 0,
	  GTF_permit_access | GTF_reading | GTF_writing },
};

static void test_map(struct unit *u, const void *arg)
{
	const struct map_case *c = arg;
	struct domain *d = grant_domain();
	struct grant_mapping m = { 0 };
	const grant_ref_t ref = 9;

	grant(d, ref, c->flags, c->granted_to, c->frame);
	long rc = gnttab_map(d, ref, c->mapper, c->readonly, &m);
	CHECK_INT(rc, c->want);
	if (rc == 0) {
		CHECK(m.page == fake_gpa(d, (uint64_t)c->frame << 12), "mapped %p, expected frame %#x", m.page, c->frame);
		CHECK(entry(d, ref)->flags == c->want_flags_mapped, "flags while mapped %#x, expected %#x",
		      entry(d, ref)->flags, c->want_flags_mapped);
		/* The mapping is the guest's page: what Dom0 writes the guest reads. */
		if (!c->readonly) {
			memset(m.page, 0xab, 4096);
			CHECK(*(uint8_t *)fake_gpa(d, ((uint64_t)c->frame << 12) + 4095) == 0xab, "write not seen");
		}
		gnttab_unmap(&m);
		CHECK(m.page == NULL, "unmap left the page pointer");
		gnttab_unmap(&m);                /* twice is harmless */
	}
	/* After unmapping, or after a refusal, the entry is exactly what the guest wrote. */
	CHECK(entry(d, ref)->flags == c->flags, "flags after %s: %#x, expected %#x", rc ? "refusal" : "unmap",
	      entry(d, ref)->flags, c->flags);
	CHECK(d->xen.pins[ref].readers == 0 && d->xen.pins[ref].writers == 0, "pins left: %u readers %u writers",
	      d->xen.pins[ref].readers, d->xen.pins[ref].writers);
	fake_domain_free(d);
}

static void test_map_bad_ref(struct unit *u, const void *arg)
{
	struct domain *d = grant_domain();
	struct grant_mapping m;
	const grant_ref_t refs[] = { 512, 2047, 2048, 1u << 20, 0xffffffffu };
	(void)arg;

	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++)
		CHECK(gnttab_map(d, refs[i], 0, true, &m) == -XEN_EINVAL, "ref %u not -EINVAL", refs[i]);
	/* Before any frame is placed nothing maps. */
	struct domain *e = fake_domain_new(1);
	CHECK_INT(gnttab_map(e, 0, 0, true, &m), -XEN_EINVAL);
	fake_domain_free(e);
	fake_domain_free(d);
}

/* Two mappings of one entry, ended in either order: GTF_writing goes with the last writer,
 * GTF_reading with the last mapping. */
struct overlap_case {
	const char *name;
	bool first_ro, second_ro;
	bool unmap_first_first;
	uint16_t after_one;             /* flags (beyond GTF_permit_access) after the first unmap */
};

static const struct overlap_case overlap_cases[] = {
	{ "rw then ro, rw ends first", false, true, true, GTF_reading },
	{ "rw then ro, ro ends first", false, true, false, GTF_reading | GTF_writing },
	{ "ro then rw, ro ends first", true, false, true, GTF_reading | GTF_writing },
	{ "ro then rw, rw ends first", true, false, false, GTF_reading },
	{ "rw and rw", false, false, true, GTF_reading | GTF_writing },
	{ "ro and ro", true, true, false, GTF_reading },
};

static void test_overlap(struct unit *u, const void *arg)
{
	const struct overlap_case *c = arg;
	struct domain *d = grant_domain();
	struct grant_mapping a, b;
	const grant_ref_t ref = 100;

	grant(d, ref, GTF_permit_access, 0, DATA_GFN);
	CHECK_INT(gnttab_map(d, ref, 0, c->first_ro, &a), 0);
	CHECK_INT(gnttab_map(d, ref, 0, c->second_ro, &b), 0);
	uint16_t both = GTF_reading | ((c->first_ro && c->second_ro) ? 0 : GTF_writing);
	CHECK(entry(d, ref)->flags == (GTF_permit_access | both), "flags with both mapped %#x", entry(d, ref)->flags);
	gnttab_unmap(c->unmap_first_first ? &a : &b);
	CHECK(entry(d, ref)->flags == (GTF_permit_access | c->after_one), "flags after one unmap %#x, expected %#x",
	      entry(d, ref)->flags, GTF_permit_access | c->after_one);
	gnttab_unmap(c->unmap_first_first ? &b : &a);
	CHECK(entry(d, ref)->flags == GTF_permit_access, "flags after both unmapped %#x", entry(d, ref)->flags);
	fake_domain_free(d);
}

/* A failed map while another mapping is held leaves the held one's flags alone. */
static void test_failed_map_keeps_others(struct unit *u, const void *arg)
{
	struct domain *d = grant_domain();
	struct grant_mapping a, b;
	(void)arg;

	grant(d, 5, GTF_permit_access | GTF_readonly, 0, DATA_GFN);
	CHECK_INT(gnttab_map(d, 5, 0, true, &a), 0);
	CHECK_INT(gnttab_map(d, 5, 0, false, &b), -XEN_EPERM);
	CHECK(entry(d, 5)->flags == (GTF_permit_access | GTF_readonly | GTF_reading), "flags %#x", entry(d, 5)->flags);
	gnttab_unmap(&a);
	CHECK(entry(d, 5)->flags == (GTF_permit_access | GTF_readonly), "flags after unmap %#x", entry(d, 5)->flags);
	fake_domain_free(d);
}

static void test_setup_table(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(1);
	xen_pfn_t frames[GNTTAB_MAX_FRAMES + 1];
	(void)arg;

	struct gnttab_query_size q = { .dom = DOMID_SELF };
	CHECK_INT(gnttab_op(d, GNTTABOP_query_size, &q, sizeof(q), 1), 0);
	CHECK(q.status == GNTST_okay && q.nr_frames == 0 && q.max_nr_frames == GNTTAB_MAX_FRAMES,
	      "query before setup: status %d nr %u max %u", q.status, q.nr_frames, q.max_nr_frames);

	struct gnttab_setup_table s = { .dom = DOMID_SELF, .nr_frames = 2 };
	set_xen_guest_handle(s.frame_list, (xen_pfn_t *)(uintptr_t)FAKE_ARG2);
	CHECK_INT(gnttab_op(d, GNTTABOP_setup_table, &s, sizeof(s), 1), 0);
	CHECK_INT(s.status, GNTST_okay);
	fake_get(d, FAKE_ARG2, frames, 2 * sizeof(frames[0]));
	for (unsigned int f = 0; f < 2; f++)
		CHECK(frames[f] == vm_special_page_gpa(&d->vm, SPECIAL_PAGE_GRANT_FIRST + f) >> 12,
		      "frame %u at %#lx, not its special page", f, (unsigned long)frames[f]);
	q = (struct gnttab_query_size){ .dom = DOMID_SELF };
	CHECK_INT(gnttab_op(d, GNTTABOP_query_size, &q, sizeof(q), 1), 0);
	CHECK(q.status == GNTST_okay && q.nr_frames == 2, "query after setup: status %d nr %u", q.status, q.nr_frames);

	/* Grants in the set-up frames work, the second frame's too. */
	grant_entry_v1_t *t1 = fake_gpa(d, frames[1] << 12);
	t1[7] = (grant_entry_v1_t){ .flags = GTF_permit_access, .domid = 0, .frame = DATA_GFN };
	struct grant_mapping m;
	CHECK_INT(gnttab_map(d, 512 + 7, 0, false, &m), 0);
	gnttab_unmap(&m);

	/* A frame the guest placed itself stays where it put it. */
	CHECK_INT(place_frame(d, 2, TABLE_GFN), 0);
	s = (struct gnttab_setup_table){ .dom = DOMID_SELF, .nr_frames = 4 };
	set_xen_guest_handle(s.frame_list, (xen_pfn_t *)(uintptr_t)FAKE_ARG2);
	CHECK_INT(gnttab_op(d, GNTTABOP_setup_table, &s, sizeof(s), 1), 0);
	fake_get(d, FAKE_ARG2, frames, 4 * sizeof(frames[0]));
	CHECK(s.status == GNTST_okay && frames[2] == TABLE_GFN &&
	      frames[3] == vm_special_page_gpa(&d->vm, SPECIAL_PAGE_GRANT_FIRST + 3) >> 12,
	      "status %d frames[2] %#lx frames[3] %#lx", s.status, (unsigned long)frames[2], (unsigned long)frames[3]);
	CHECK(t1[7].flags == GTF_permit_access, "setup_table again cleared frame 1");

	s = (struct gnttab_setup_table){ .dom = DOMID_SELF, .nr_frames = GNTTAB_MAX_FRAMES + 1 };
	set_xen_guest_handle(s.frame_list, (xen_pfn_t *)(uintptr_t)FAKE_ARG2);
	CHECK_INT(gnttab_op(d, GNTTABOP_setup_table, &s, sizeof(s), 1), 0);
	CHECK_INT(s.status, GNTST_general_error);
	s = (struct gnttab_setup_table){ .dom = 3, .nr_frames = 1 };
	CHECK_INT(gnttab_op(d, GNTTABOP_setup_table, &s, sizeof(s), 1), 0);
	CHECK(s.status != GNTST_okay, "setup_table for domain 3 succeeded");
	q = (struct gnttab_query_size){ .dom = 3 };
	CHECK_INT(gnttab_op(d, GNTTABOP_query_size, &q, sizeof(q), 1), 0);
	CHECK(q.status != GNTST_okay, "query_size for domain 3 succeeded");
	/* One op per call for these two (grant_table.h). */
	CHECK_INT(gnttab_op(d, GNTTABOP_setup_table, &s, sizeof(s), 2), -XEN_EINVAL);
	CHECK_INT(gnttab_op(d, GNTTABOP_query_size, &q, sizeof(q), 0), -XEN_EINVAL);
	/* The frame list or the op not in RAM. */
	s = (struct gnttab_setup_table){ .dom = DOMID_SELF, .nr_frames = 1 };
	set_xen_guest_handle(s.frame_list, (xen_pfn_t *)(uintptr_t)0xfffff000ull);
	CHECK_INT(gnttab_op(d, GNTTABOP_setup_table, &s, sizeof(s), 1), -XEN_EFAULT);
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_grant_table_op, GNTTABOP_setup_table, 0xfffff000ull, 1), -XEN_EFAULT);
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_grant_table_op, GNTTABOP_query_size, 0xfffff000ull, 1), -XEN_EFAULT);
	fake_domain_free(d);
}

static void test_version(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(1);
	(void)arg;

	struct gnttab_get_version g = { .dom = DOMID_SELF, .version = 77 };
	CHECK_INT(gnttab_op(d, GNTTABOP_get_version, &g, sizeof(g), 1), 0);
	CHECK_INT(g.version, 1);
	struct gnttab_set_version s = { .version = 1 };
	CHECK_INT(gnttab_op(d, GNTTABOP_set_version, &s, sizeof(s), 1), 0);
	s.version = 2;
	CHECK(gnttab_op(d, GNTTABOP_set_version, &s, sizeof(s), 1) < 0, "v2 accepted");
	/* Mapping other domains' grants from a guest: not offered. */
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_grant_table_op, GNTTABOP_map_grant_ref, FAKE_ARG, 1), -XEN_ENOSYS);
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_grant_table_op, 999, FAKE_ARG, 1), -XEN_ENOSYS);
	fake_domain_free(d);
}

/* ---- GNTTABOP_copy ---- */

struct copy_side { bool gref; domid_t domid; uint32_t ref_or_gmfn; uint16_t offset; };

struct copy_case {
	const char *name;
	struct copy_side src, dst;
	uint16_t len;
	int16_t want;
	bool xen_agrees;               /* false: Xen answers differently; only "not okay" is checked */
};

#define ME DOMID_SELF
#define SRC_GFN (DATA_GFN + 1)
#define DST_GFN (DATA_GFN + 2)
/* Self-grants set up by test_copy: ref 1 rw of SRC_GFN, ref 2 rw of DST_GFN, ref 3 ro of DST_GFN,
 * ref 4 of DST_GFN granted to Dom0, ref 5 rw of a frame beyond RAM. */

static const struct copy_case copy_cases[] = {
	{ "gmfn to gmfn", { false, ME, SRC_GFN, 0 }, { false, ME, DST_GFN, 0 }, 4096, GNTST_okay, true },
	{ "gmfn to gmfn, offsets", { false, ME, SRC_GFN, 100 }, { false, ME, DST_GFN, 3000 }, 1000, GNTST_okay, true },
	{ "gmfn to gmfn, own domid", { false, FAKE_DOMID, SRC_GFN, 0 }, { false, ME, DST_GFN, 0 }, 16,
	  GNTST_okay, true },
	{ "zero bytes at the page end", { false, ME, SRC_GFN, 4096 }, { false, ME, DST_GFN, 4096 }, 0, GNTST_okay, true },
	{ "self-grant to gmfn", { true, ME, 1, 8 }, { false, ME, DST_GFN, 16 }, 64, GNTST_okay, true },
	{ "gmfn to self-grant", { false, ME, SRC_GFN, 0 }, { true, ME, 2, 0 }, 512, GNTST_okay, true },
	{ "self-grant to self-grant", { true, FAKE_DOMID, 1, 0 }, { true, FAKE_DOMID, 2, 0 }, 4096, GNTST_okay, true },
	{ "read-only grant as source", { true, ME, 3, 0 }, { false, ME, SRC_GFN, 0 }, 32, GNTST_okay, true },
	{ "source runs off its page", { false, ME, SRC_GFN, 4000 }, { false, ME, DST_GFN, 0 }, 200,
	  GNTST_bad_copy_arg, true },
	{ "dest runs off its page", { false, ME, SRC_GFN, 0 }, { false, ME, DST_GFN, 4095 }, 2, GNTST_bad_copy_arg, true },
	{ "offset 4096 and a byte", { false, ME, SRC_GFN, 4096 }, { false, ME, DST_GFN, 0 }, 1, GNTST_bad_copy_arg, true },
	{ "offset 65535", { false, ME, SRC_GFN, 65535 }, { false, ME, DST_GFN, 0 }, 1, GNTST_bad_copy_arg, true },
	{ "length 65535", { false, ME, SRC_GFN, 0 }, { false, ME, DST_GFN, 0 }, 65535, GNTST_bad_copy_arg, true },
	{ "self-grant source off its page", { true, ME, 1, 4090 }, { false, ME, DST_GFN, 0 }, 10,
	  GNTST_bad_copy_arg, true },
	{ "foreign domain source (gref)", { true, 3, 1, 0 }, { false, ME, DST_GFN, 0 }, 16, GNTST_bad_domain, true },
	{ "foreign domain dest (gref)", { false, ME, SRC_GFN, 0 }, { true, 3, 1, 0 }, 16, GNTST_bad_domain, true },
	{ "foreign domain gmfn", { false, 3, SRC_GFN, 0 }, { false, ME, DST_GFN, 0 }, 16, GNTST_bad_domain, true },
	{ "Dom0 as source domain", { true, 0, 4, 0 }, { false, ME, DST_GFN, 0 }, 16, GNTST_bad_domain, true },
	{ "gmfn beyond RAM", { false, ME, RAM_FRAMES, 0 }, { false, ME, DST_GFN, 0 }, 16, GNTST_bad_page, true },
	{ "gmfn ~0 as dest", { false, ME, SRC_GFN, 0 }, { false, ME, 0xffffffffu, 0 }, 16, GNTST_bad_page, true },
	{ "gref beyond the table", { true, ME, 4096, 0 }, { false, ME, DST_GFN, 0 }, 16, GNTST_bad_gntref, true },
	{ "gref in an unplaced frame", { true, ME, 600, 0 }, { false, ME, DST_GFN, 0 }, 16, GNTST_bad_gntref, true },
	/* Xen refuses these in _set_status with GNTST_general_error; ours GNTST_permission_denied. */
	{ "read-only grant as dest", { false, ME, SRC_GFN, 0 }, { true, ME, 3, 0 }, 16, 0, false },
	{ "grant to another domain", { true, ME, 4, 0 }, { false, ME, DST_GFN, 0 }, 16, 0, false },
	{ "invalid grant entry", { true, ME, 6, 0 }, { false, ME, DST_GFN, 0 }, 16, 0, false },
	/* A self-grant whose frame is not RAM. */
	{ "grant of a frame beyond RAM", { true, ME, 5, 0 }, { false, ME, DST_GFN, 0 }, 16, 0, false },
};

static struct gnttab_copy_ptr copy_ptr(const struct copy_side *s)
{
	struct gnttab_copy_ptr p = { .domid = s->domid, .offset = s->offset };
	if (s->gref)
		p.u.ref = s->ref_or_gmfn;
	else
		p.u.gmfn = s->ref_or_gmfn;
	return p;
}

static void test_copy(struct unit *u, const void *arg)
{
	const struct copy_case *c = arg;
	struct domain *d = grant_domain();
	uint8_t *src = fake_gpa(d, SRC_GFN << 12), *dst = fake_gpa(d, DST_GFN << 12);
	uint8_t before[4096];

	grant(d, 1, GTF_permit_access, FAKE_DOMID, SRC_GFN);
	grant(d, 2, GTF_permit_access, FAKE_DOMID, DST_GFN);
	grant(d, 3, GTF_permit_access | GTF_readonly, FAKE_DOMID, DST_GFN);
	grant(d, 4, GTF_permit_access, 0, DST_GFN);
	grant(d, 5, GTF_permit_access, FAKE_DOMID, RAM_FRAMES + 10);
	for (unsigned int i = 0; i < 4096; i++) {
		src[i] = (uint8_t)(i * 7 + 1);
		dst[i] = 0xee;
	}
	memcpy(before, dst, sizeof(before));

	struct gnttab_copy op = {
		.source = copy_ptr(&c->src), .dest = copy_ptr(&c->dst), .len = c->len,
		.flags = (c->src.gref ? GNTCOPY_source_gref : 0) | (c->dst.gref ? GNTCOPY_dest_gref : 0),
		.status = 12345,
	};
	CHECK_INT(gnttab_op(d, GNTTABOP_copy, &op, sizeof(op), 1), 0);
	if (c->xen_agrees)
		CHECK_INT(op.status, c->want);
	else
		CHECK(op.status < 0 && op.status != 12345, "status %d, expected a failure", op.status);

	/* Where the bytes came from and went: a grant's frame, or the gmfn itself. */
	if (op.status == GNTST_okay) {
		uint64_t sg = c->src.gref ? entry(d, c->src.ref_or_gmfn)->frame : c->src.ref_or_gmfn;
		uint64_t dg = c->dst.gref ? entry(d, c->dst.ref_or_gmfn)->frame : c->dst.ref_or_gmfn;
		uint8_t *s = fake_gpa(d, sg << 12), *t = fake_gpa(d, dg << 12);
		if (sg == SRC_GFN && dg == DST_GFN && c->len)
			CHECK(!memcmp(t + c->dst.offset, s + c->src.offset, c->len), "bytes not copied");
		if (dg == DST_GFN) {
			CHECK(!memcmp(dst, before, c->dst.offset), "bytes before the dest offset changed");
			CHECK(!memcmp(dst + c->dst.offset + c->len, before + c->dst.offset + c->len,
				      4096 - c->dst.offset - c->len), "bytes after the dest range changed");
		}
	} else {
		CHECK(!memcmp(dst, before, sizeof(before)), "a failed copy wrote to the dest page");
	}
	/* Grants used for the copy are no longer in use. */
	for (grant_ref_t r = 1; r <= 5; r++)
		CHECK(!(entry(d, r)->flags & (GTF_reading | GTF_writing)), "ref %u left in use: %#x", r,
		      entry(d, r)->flags);
	fake_domain_free(d);
}

/* A batch: each op gets its own status; one bad op does not stop the others. */
static void test_copy_batch(struct unit *u, const void *arg)
{
	struct domain *d = grant_domain();
	struct gnttab_copy ops[100];
	(void)arg;

	uint8_t *src = fake_gpa(d, SRC_GFN << 12), *dst = fake_gpa(d, DST_GFN << 12);
	for (unsigned int i = 0; i < 4096; i++)
		src[i] = (uint8_t)i;
	memset(dst, 0, 4096);
	for (unsigned int i = 0; i < 100; i++) {
		ops[i] = (struct gnttab_copy){
			.source = { .u.gmfn = SRC_GFN, .domid = DOMID_SELF, .offset = (uint16_t)(i * 40) },
			.dest = { .u.gmfn = DST_GFN, .domid = DOMID_SELF, .offset = (uint16_t)(i * 40) },
			.len = 40, .status = 99,
		};
	}
	ops[70].dest.domid = 3;
	fake_put(d, FAKE_ARG, ops, sizeof(ops));
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_grant_table_op, GNTTABOP_copy, FAKE_ARG, 100), 0);
	fake_get(d, FAKE_ARG, ops, sizeof(ops));
	for (unsigned int i = 0; i < 100; i++) {
		int16_t want = i == 70 ? GNTST_bad_domain : GNTST_okay;
		CHECK(ops[i].status == want, "op %u status %d", i, ops[i].status);
	}
	CHECK(!memcmp(dst, src, 70 * 40) && !memcmp(dst + 71 * 40, src + 71 * 40, 29 * 40), "batch copy wrong");
	CHECK(dst[70 * 40] == 0, "refused op copied");
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_grant_table_op, GNTTABOP_copy, FAKE_ARG, 0), 0);
	/* The op array runs off RAM. */
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_grant_table_op, GNTTABOP_copy, FAKE_RAM_SIZE - sizeof(ops[0]), 2),
		  -XEN_EFAULT);
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_grant_table_op, GNTTABOP_copy, 0xfffff000ull, 1), -XEN_EFAULT);
	fake_domain_free(d);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[160];

	unit_case(&u, "gnttab: add_to_physmap places grant frames", test_place_frame, NULL);
	for (size_t i = 0; i < sizeof(map_cases) / sizeof(map_cases[0]); i++) {
		snprintf(name, sizeof(name), "gnttab map: %s", map_cases[i].name);
		unit_case(&u, name, test_map, &map_cases[i]);
	}
	unit_case(&u, "gnttab map: refs beyond the table are -EINVAL", test_map_bad_ref, NULL);
	for (size_t i = 0; i < sizeof(overlap_cases) / sizeof(overlap_cases[0]); i++) {
		snprintf(name, sizeof(name), "gnttab overlapping maps: %s", overlap_cases[i].name);
		unit_case(&u, name, test_overlap, &overlap_cases[i]);
	}
	unit_case(&u, "gnttab: a refused map leaves a held one's flags", test_failed_map_keeps_others, NULL);
	unit_case(&u, "gnttab: setup_table and query_size", test_setup_table, NULL);
	unit_case(&u, "gnttab: get_version/set_version; other ops -ENOSYS", test_version, NULL);
	for (size_t i = 0; i < sizeof(copy_cases) / sizeof(copy_cases[0]); i++) {
		snprintf(name, sizeof(name), "gnttab copy: %s", copy_cases[i].name);
		unit_case(&u, name, test_copy, &copy_cases[i]);
	}
	unit_case(&u, "gnttab copy: a batch, statuses per op", test_copy_batch, NULL);
	return unit_finish(&u);
}
