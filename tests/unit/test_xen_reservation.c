/* Ballooning on a fake domain (fake_domain.h): XENMEM_decrease_reservation, populate_physmap and
 * increase_reservation with Xen 4.17's checks and answers (the count of extents done, or the start
 * extent for a request refused whole), XENMEM_current_reservation following, pages coming back
 * zeroed, the VMM's own pages refused, and (on a memfd, as the VMM's guest RAM is) the host really
 * getting the memory back. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "fake_domain.h"
#include "unit.h"

#define RAM_PAGES (FAKE_RAM_SIZE >> 12)
#define LIST FAKE_ARG2                    /* the extent list */
#define SPECIAL_FIRST (RAM_PAGES - SPECIAL_PAGES)

struct req {
	unsigned int op;
	uint64_t start;                  /* continuation: extents already done */
	domid_t domid;
	unsigned int order;
	uint32_t flags;
	uint64_t nr_extents;             /* 0: as many as gfns */
	uint64_t list_gpa;               /* 0: LIST */
	xen_pfn_t gfns[8];
	unsigned int n;
};

static long memop(struct domain *d, const struct req *q)
{
	struct xen_memory_reservation r = {
		.nr_extents = q->nr_extents ? q->nr_extents : q->n, .extent_order = q->order,
		.mem_flags = q->flags, .domid = q->domid,
	};
	r.extent_start.p = (xen_pfn_t *)(uintptr_t)(q->list_gpa ? q->list_gpa : LIST);
	fake_put(d, LIST, q->gfns, sizeof(q->gfns));
	fake_put(d, FAKE_ARG, &r, sizeof(r));
	return fake_hcall(d, 0, __HYPERVISOR_memory_op, q->op | (q->start << 6), FAKE_ARG, 0);
}

static long decrease(struct domain *d, unsigned int order, xen_pfn_t gfn)
{
	struct req q = { .op = XENMEM_decrease_reservation, .domid = DOMID_SELF, .order = order,
			 .gfns = { gfn }, .n = 1 };
	return memop(d, &q);
}

static long populate(struct domain *d, unsigned int order, xen_pfn_t gfn)
{
	struct req q = { .op = XENMEM_populate_physmap, .domid = DOMID_SELF, .order = order,
			 .gfns = { gfn }, .n = 1 };
	return memop(d, &q);
}

static long reservation(struct domain *d, unsigned int op)
{
	domid_t self = DOMID_SELF;
	fake_put(d, FAKE_ARG3, &self, sizeof(self));
	return fake_hcall(d, 0, __HYPERVISOR_memory_op, op, FAKE_ARG3, 0);
}

static long current_pages(struct domain *d)
{
	return reservation(d, XENMEM_current_reservation);
}

static bool page_is(struct domain *d, uint64_t gfn, uint8_t byte)
{
	const uint8_t *p = fake_gpa(d, gfn << 12);
	for (unsigned int i = 0; i < 4096; i++)
		if (p[i] != byte)
			return false;
	return true;
}

static void test_decrease_then_populate(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *d = fake_domain_new(1);
	memset(fake_gpa(d, 0x100 << 12), 0xa5, 4 * 4096);
	CHECK(current_pages(d) == RAM_PAGES, "current before: %ld", current_pages(d));
	CHECK(reservation(d, XENMEM_maximum_reservation) == RAM_PAGES, "maximum");
	struct req q = { .op = XENMEM_decrease_reservation, .domid = DOMID_SELF,
			 .gfns = { 0x100, 0x101, 0x102, 0x103 }, .n = 4 };
	long rc = memop(d, &q);
	CHECK(rc == 4, "decrease of 4 pages did %ld", rc);
	CHECK(current_pages(d) == RAM_PAGES - 4, "current after decrease: %ld", current_pages(d));
	CHECK(page_is(d, 0x100, 0) && page_is(d, 0x103, 0), "pages given back read as zeros");
	/* The guest scribbles on a page it gave back (KVM's slot still maps it): it must come back zeroed. */
	memset(fake_gpa(d, 0x101 << 12), 0x5a, 4096);
	CHECK(decrease(d, 0, 0x101) == 0, "a page already out cannot go twice");
	q.op = XENMEM_populate_physmap;
	rc = memop(d, &q);
	CHECK(rc == 4, "populate of 4 pages did %ld", rc);
	CHECK(current_pages(d) == RAM_PAGES, "current after populate: %ld", current_pages(d));
	CHECK(page_is(d, 0x101, 0), "a populated page is zeroed, whatever was written while it was out");
	CHECK(populate(d, 0, 0x100) == 0, "populating a page already present stops (one page per gfn)");
	CHECK(page_is(d, 0x104, 0) && !page_is(d, 0xff, 0xa5), "neighbours untouched");
	fake_domain_free(d);
}

static void test_orders(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *d = fake_domain_new(1);
	CHECK(decrease(d, 10, 0x400) == 0, "order 10 is above a DomU's limit (9): refused whole");
	CHECK(populate(d, 10, 0x400) == 0, "populate of order 10 refused whole");
	CHECK(current_pages(d) == RAM_PAGES, "nothing went");
	CHECK(decrease(d, 9, 0x400) == 1, "one 2 MiB extent");
	CHECK(current_pages(d) == RAM_PAGES - 512, "512 pages out: %ld", current_pages(d));
	CHECK(xen_gfn_populated_locked(d, 0x3ff) && !xen_gfn_populated_locked(d, 0x400) &&
	      !xen_gfn_populated_locked(d, 0x5ff) && xen_gfn_populated_locked(d, 0x600), "bitmap bounds");
	CHECK(populate(d, 9, 0x401) == 0, "an order-9 extent running past the pages out is refused whole");
	CHECK(current_pages(d) == RAM_PAGES - 512, "and changes nothing");
	CHECK(populate(d, 9, 0x400) == 1, "the same extent comes back");
	CHECK(current_pages(d) == RAM_PAGES, "all back: %ld", current_pages(d));
	fake_domain_free(d);
}

static void test_domids(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *d = fake_domain_new(1);
	struct req q = { .op = XENMEM_decrease_reservation, .domid = FAKE_DOMID + 1, .gfns = { 0x100 }, .n = 1 };
	CHECK(memop(d, &q) == 0, "another domain: refused whole (the start extent, not an errno)");
	q.domid = 0;
	CHECK(memop(d, &q) == 0, "Dom0: refused");
	q.start = 0;
	q.domid = FAKE_DOMID;
	CHECK(memop(d, &q) == 1, "its own domid names itself, as Xen's XSM_TARGET check allows");
	q.op = XENMEM_populate_physmap;
	q.domid = DOMID_SELF;
	CHECK(memop(d, &q) == 1, "DOMID_SELF");
	fake_domain_free(d);
}

static void test_outside_ram(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *d = fake_domain_new(1);
	static const xen_pfn_t bad[] = { RAM_PAGES, RAM_PAGES + 1, GUEST_LOW_RAM_MAX >> 12, 1ull << 52,
					 (1ull << 52) - 1, ~0ull, ~0ull - 1, GUEST_HIGH_RAM_BASE >> 12 };
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(decrease(d, 0, bad[i]) == 0, "decrease of gfn %#llx", (unsigned long long)bad[i]);
		CHECK(populate(d, 0, bad[i]) == 0, "populate of gfn %#llx", (unsigned long long)bad[i]);
		CHECK(decrease(d, 9, bad[i]) == 0, "order-9 decrease at gfn %#llx", (unsigned long long)bad[i]);
	}
	CHECK(current_pages(d) == RAM_PAGES, "nothing went: %ld", current_pages(d));
	fake_domain_free(d);
}

static void test_vmm_pages(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *d = fake_domain_new(1);
	for (uint64_t gfn = SPECIAL_FIRST; gfn < RAM_PAGES; gfn++)
		CHECK(decrease(d, 0, gfn) == 0, "special page %#llx (store, console, grant frames)",
		      (unsigned long long)gfn);
	struct xen_add_to_physmap x = { .domid = DOMID_SELF, .space = XENMAPSPACE_shared_info, .gpfn = 0x120 };
	CHECK(fake_op(d, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, &x, sizeof(x)) == 0, "shared_info placed");
	x = (struct xen_add_to_physmap){ .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table, .idx = 1,
					 .gpfn = 0x121 };
	CHECK(fake_op(d, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, &x, sizeof(x)) == 0, "grant frame placed");
	struct vcpu_register_vcpu_info reg = { .mfn = 0x122, .offset = 64 };
	fake_put(d, FAKE_ARG, &reg, sizeof(reg));
	CHECK(fake_hcall(d, 0, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 0, FAKE_ARG) == 0, "vcpu_info placed");
	CHECK(decrease(d, 0, 0x120) == 0, "shared_info's page is refused");
	CHECK(decrease(d, 0, 0x121) == 0, "a grant frame's page is refused");
	CHECK(decrease(d, 0, 0x122) == 0, "a registered vcpu_info's page is refused");
	CHECK(decrease(d, 2, 0x120) == 0, "an extent starting on them too");
	/* Xen stops inside an extent and keeps what it removed: the extent is not counted. */
	CHECK(decrease(d, 2, 0x11e) == 0, "an extent running into shared_info is not done");
	CHECK(!xen_gfn_populated_locked(d, 0x11e) && !xen_gfn_populated_locked(d, 0x11f) &&
	      xen_gfn_populated_locked(d, 0x120), "but the pages before it went, as in Xen");
	CHECK(current_pages(d) == RAM_PAGES - 2, "current: %ld", current_pages(d));
	CHECK(decrease(d, 1, SPECIAL_FIRST - 1) == 0, "an extent running into the special pages");
	CHECK(current_pages(d) == RAM_PAGES - 3, "its first page went: %ld", current_pages(d));
	fake_domain_free(d);
}

static void test_partial_lists(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *d = fake_domain_new(1);
	struct req q = { .op = XENMEM_decrease_reservation, .domid = DOMID_SELF,
			 .gfns = { 0x130, 0x131, RAM_PAGES - 1, 0x132 }, .n = 4 };
	CHECK(memop(d, &q) == 2, "stops at the bad third extent: 2 done");
	CHECK(xen_gfn_populated_locked(d, 0x132) && current_pages(d) == RAM_PAGES - 2, "0x132 untouched");
	q.start = 3;
	CHECK(memop(d, &q) == 4, "a continuation from extent 3 does the last one: answers 4");
	CHECK(!xen_gfn_populated_locked(d, 0x132), "0x132 out");
	q.start = 4;
	CHECK(memop(d, &q) == 4, "start extent at nr_extents: the start");
	q.start = 9;
	CHECK(memop(d, &q) == 9, "start extent past nr_extents: the start");
	q.start = 0;
	q.gfns[0] = 0x140;
	q.gfns[1] = 0x140;
	CHECK(memop(d, &q) == 1, "the same gfn twice in a list: the second fails");
	/* The list read per extent: the first entries in RAM, the rest beyond it. */
	q = (struct req){ .op = XENMEM_decrease_reservation, .domid = DOMID_SELF, .nr_extents = 3,
			  .list_gpa = FAKE_RAM_SIZE - 16, .n = 0 };
	xen_pfn_t tail[2] = { 0x150, 0x151 };
	fake_put(d, FAKE_RAM_SIZE - 16, tail, sizeof(tail));
	long pages = current_pages(d);
	CHECK(memop(d, &q) == 2, "the third entry lies beyond RAM: 2 done");
	CHECK(current_pages(d) == pages - 2, "two went");
	q.list_gpa = FAKE_RAM_SIZE + 4096;
	CHECK(memop(d, &q) == 0, "an unreadable list: 0 done");
	CHECK(current_pages(d) == pages - 2, "nothing more went");
	/* The request itself unreadable, or too long to encode a continuation: the start extent. */
	CHECK(fake_hcall(d, 0, __HYPERVISOR_memory_op, XENMEM_decrease_reservation | (2 << 6),
			 FAKE_RAM_SIZE + 8, 0) == 2, "unreadable request: the start extent");
	q = (struct req){ .op = XENMEM_decrease_reservation, .domid = DOMID_SELF, .nr_extents = (UINT32_MAX >> 6) + 1,
			  .gfns = { 0x160 }, .n = 1 };
	CHECK(memop(d, &q) == 0, "nr_extents beyond 2^26: refused whole");
	CHECK(xen_gfn_populated_locked(d, 0x160), "0x160 untouched");
	fake_domain_free(d);
}

static void test_mem_flags(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *d = fake_domain_new(1);
	static const struct { uint32_t flags; long want; const char *what; } rows[] = {
		{ XENMEMF_address_bits(12), 0, "an address limit of one page" },
		{ XENMEMF_address_bits(1), 0, "an address limit of 2 bytes" },
		{ XENMEMF_address_bits(32), 1, "below 4 GiB: a machine-address limit, the host's business" },
		{ XENMEMF_exact_node(0), 0, "an exact NUMA node: not for a DomU" },
		{ XENMEMF_node(1), 1, "a preferred node: ignored" },
		{ XENMEMF_exact_node(1) | XENMEMF_vnode, 1, "a virtual node on a domain without vNUMA" },
	};
	for (unsigned int i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct req q = { .op = XENMEM_decrease_reservation, .domid = DOMID_SELF, .flags = rows[i].flags,
				 .gfns = { 0x200 + i }, .n = 1 };
		CHECK(memop(d, &q) == rows[i].want, "decrease with %s", rows[i].what);
		if (rows[i].want) {
			q.op = XENMEM_populate_physmap;
			CHECK(memop(d, &q) == rows[i].want, "populate with %s", rows[i].what);
		}
	}
	CHECK(decrease(d, 0, 0x220) == 1, "0x220 out");
	struct req q = { .op = XENMEM_populate_physmap, .domid = DOMID_SELF, .flags = XENMEMF_populate_on_demand,
			 .gfns = { 0x220 }, .n = 1 };
	CHECK(memop(d, &q) == 0, "populate-on-demand on oneself: none done");
	q.op = XENMEM_decrease_reservation;
	q.gfns[0] = 0x221;
	CHECK(memop(d, &q) == 1, "the PoD flag means nothing to decrease");
	fake_domain_free(d);
}

static void test_increase(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *d = fake_domain_new(1);
	struct req inc = { .op = XENMEM_increase_reservation, .domid = DOMID_SELF, .nr_extents = 3 };
	CHECK(memop(d, &inc) == 0, "at the maximum: no room");
	struct req dec = { .op = XENMEM_decrease_reservation, .domid = DOMID_SELF, .gfns = { 0x300, 0x301 }, .n = 2 };
	CHECK(memop(d, &dec) == 2, "2 pages out");
	CHECK(memop(d, &inc) == 2, "room for 2 of the 3 extents");
	CHECK(current_pages(d) == RAM_PAGES, "the reservation is back at the maximum: %ld", current_pages(d));
	CHECK(!xen_gfn_populated_locked(d, 0x300), "but a translated guest's increase maps no gfn (as Xen)");
	CHECK(populate(d, 0, 0x300) == 0, "so populate finds no room, as Xen at max_pages");
	inc.order = 10;
	CHECK(memop(d, &inc) == 0, "order 10 refused whole");
	fake_domain_free(d);
}

/* The VMM's RAM is a memfd: give it one and watch the host's blocks go. */
static void test_memfd_punch(struct unit *u, const void *arg)
{
	int fd = *(const int *)arg;
	uint8_t *ram = mmap(NULL, FAKE_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(ram != MAP_FAILED, "mmap of the memfd: %s", strerror(errno));
	if (ram == MAP_FAILED)
		return;
	struct domain *d = fake_domain_new(1);
	uint8_t *plain = d->vm.ram;
	d->vm.ram = ram;
	d->vm.memfd = fd;
	struct stat before, after, again;
	memset(ram + (0x400 << 12), 0x77, 512 * 4096);
	for (uint64_t a = FAKE_ARG; a <= FAKE_ARG3; a += 4096)
		ram[a] = 1;                      /* the argument pages: allocated before we count */
	fstat(fd, &before);
	CHECK(decrease(d, 9, 0x400) == 1, "a 2 MiB extent given back");
	fstat(fd, &after);
	CHECK(before.st_blocks - after.st_blocks >= 512 * 8, "st_blocks %lld -> %lld: the host got 2 MiB back",
	      (long long)before.st_blocks, (long long)after.st_blocks);
	CHECK(page_is(d, 0x400, 0) && page_is(d, 0x5ff, 0), "the guest's view reads zeros");
	memset(ram + (0x480 << 12), 0x33, 4096);   /* touched while out: the memfd fills again */
	CHECK(populate(d, 9, 0x400) == 1, "and populated again");
	fstat(fd, &again);
	CHECK(page_is(d, 0x480, 0), "zeroed on populate");
	CHECK(again.st_blocks <= after.st_blocks, "populate costs no memory until the guest writes: %lld -> %lld",
	      (long long)after.st_blocks, (long long)again.st_blocks);
	/* The helper alone, and its refusals. */
	memset(ram + (0x20 << 12), 1, 4096);
	fstat(fd, &before);
	CHECK(vm_ram_discard(&d->vm, 0x20 << 12, 4096) == 0, "vm_ram_discard of one page");
	fstat(fd, &after);
	CHECK(before.st_blocks - after.st_blocks == 8, "one page of blocks: %lld -> %lld",
	      (long long)before.st_blocks, (long long)after.st_blocks);
	CHECK(vm_ram_discard(&d->vm, 0x20 << 12, 100) == -EINVAL, "unaligned length");
	CHECK(vm_ram_discard(&d->vm, FAKE_RAM_SIZE - 4096, 8192) == -EINVAL, "past the end of RAM");
	CHECK(vm_ram_discard(&d->vm, 0, 0) == -EINVAL, "empty");
	d->vm.ram = plain;
	d->vm.memfd = -1;
	fake_domain_free(d);
	munmap(ram, FAKE_RAM_SIZE);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "reservation-decrease-then-populate", test_decrease_then_populate, NULL);
	unit_case(&u, "reservation-orders", test_orders, NULL);
	unit_case(&u, "reservation-domids", test_domids, NULL);
	unit_case(&u, "reservation-outside-ram", test_outside_ram, NULL);
	unit_case(&u, "reservation-vmm-pages", test_vmm_pages, NULL);
	unit_case(&u, "reservation-partial-lists", test_partial_lists, NULL);
	unit_case(&u, "reservation-mem-flags", test_mem_flags, NULL);
	unit_case(&u, "reservation-increase", test_increase, NULL);
	int fd = memfd_create("xenith-test-ram", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, FAKE_RAM_SIZE) < 0)
		printf("skip - reservation-memfd-punch: no memfd of %llu bytes here: %s\n",
		       (unsigned long long)FAKE_RAM_SIZE, strerror(errno));
	else
		unit_case(&u, "reservation-memfd-punch", test_memfd_punch, &fd);
	if (fd >= 0)
		close(fd);
	return unit_finish(&u);
}
