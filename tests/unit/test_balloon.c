/* Ballooning on a fake domain: the current reservation follows decrease_reservation and
 * populate_physmap, a domain built with maxmem above memory starts with its tail given back (out of
 * the memory map, populated on demand up to the maximum), xl mem-max's limit (xen_reservation_set_max)
 * caps populate and increase, and the r/b state letter. */
#include "fake_domain.h"
#include "vmm/balloon_watch.h"
#include "unit.h"

#define POPULATED (4ull << 20)          /* the tail cases: memory = 4 MiB of FAKE_RAM_SIZE (8) */

static long memop(struct domain *d, uint64_t cmd, void *arg, size_t size)
{
	return fake_op(d, 0, __HYPERVISOR_memory_op, cmd, arg, size);
}

static long current(struct domain *d)
{
	domid_t self = DOMID_SELF;
	return memop(d, XENMEM_current_reservation, &self, sizeof(self));
}

static long maximum(struct domain *d)
{
	domid_t self = DOMID_SELF;
	return memop(d, XENMEM_maximum_reservation, &self, sizeof(self));
}

/* One reservation op on `n` extents of 2^order pages starting at the gfns given. */
static long extents(struct domain *d, unsigned int op, const uint64_t *gfns, unsigned int n, unsigned int order)
{
	struct xen_memory_reservation r = { .nr_extents = n, .extent_order = order, .domid = DOMID_SELF };
	set_xen_guest_handle(r.extent_start, (xen_pfn_t *)(uintptr_t)FAKE_ARG2);
	fake_put(d, FAKE_ARG2, gfns, n * sizeof(uint64_t));
	return memop(d, op, &r, sizeof(r));
}

/* A domain whose RAM is FAKE_RAM_SIZE with only POPULATED in its map: the layout vm_create makes for
 * memory=4 maxmem=8 (low RAM is the populated part, the tail sits at 4 GiB). */
static struct domain *tail_domain(void)
{
	struct domain *d = fake_domain_new(1);
	char err[256];

	xen_reservation_teardown(d);
	d->vm.low_ram_size = d->vm.populated_size = POPULATED;
	if (xen_reservation_init(d, err, sizeof(err)))
		abort();
	return d;
}

static void test_accounting(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(1);
	const long all = FAKE_RAM_SIZE >> 12;
	uint64_t gfn = 0x200, pattern = 0x5a5a5a5a5a5a5a5aull, word = 0;
	(void)arg;

	CHECK_INT(current(d), all);
	CHECK_INT(xen_reservation_current(d), all);
	fake_put(d, gfn << 12, &pattern, sizeof(pattern));
	CHECK_INT(extents(d, XENMEM_decrease_reservation, &gfn, 1, 2), 1);      /* 4 pages out */
	CHECK_INT(current(d), all - 4);
	CHECK_INT(xen_reservation_current(d), all - 4);
	CHECK_INT(extents(d, XENMEM_decrease_reservation, &gfn, 1, 0), 0);      /* already out */
	CHECK_INT(current(d), all - 4);
	CHECK_INT(extents(d, XENMEM_populate_physmap, &gfn, 1, 2), 1);
	CHECK_INT(current(d), all);
	fake_get(d, gfn << 12, &word, sizeof(word));
	CHECK(word == 0, "a page back from the balloon reads %#llx, not zeros", (unsigned long long)word);
	CHECK_INT(extents(d, XENMEM_populate_physmap, &gfn, 1, 0), 0);          /* present already */
	CHECK_INT(maximum(d), all);
	fake_domain_free(d);
}

static void test_maxmem_tail(struct unit *u, const void *arg)
{
	struct domain *d = tail_domain();
	const long populated = POPULATED >> 12, all = FAKE_RAM_SIZE >> 12;
	uint64_t tail = GUEST_HIGH_RAM_BASE >> 12, gfns[2] = { tail, tail + 1 };
	domid_t self = DOMID_SELF;
	struct vm_memmap_entry map[VM_MEMMAP_MAX];
	(void)arg;

	CHECK_INT(current(d), populated);
	CHECK_INT(maximum(d), all);
	CHECK_INT(memop(d, XENMEM_maximum_gpfn, &self, sizeof(self)), (long)(tail + (all - populated)) - 1);
	/* The map's RAM is the populated part: nothing at or past 4 GiB, and no RAM entry ends past it. */
	unsigned int n = vm_memory_map(&d->vm, map);
	uint64_t ram = 0;
	for (unsigned int i = 0; i < n; i++) {
		CHECK(map[i].addr + map[i].size <= POPULATED, "entry %u ends at %#llx", i,
		      (unsigned long long)(map[i].addr + map[i].size));
		ram += map[i].type == VM_MEMMAP_RAM ? map[i].size : 0;
	}
	CHECK(ram < POPULATED, "the map has %llu bytes of RAM", (unsigned long long)ram);
	/* The tail comes in on demand, and goes again. */
	CHECK_INT(extents(d, XENMEM_populate_physmap, gfns, 2, 0), 2);
	CHECK_INT(current(d), populated + 2);
	CHECK_INT(extents(d, XENMEM_populate_physmap, gfns, 1, 0), 0);
	CHECK_INT(extents(d, XENMEM_decrease_reservation, gfns, 2, 0), 2);
	CHECK_INT(current(d), populated);
	/* Past the RAM built for maxmem is no RAM at all. */
	uint64_t past = tail + (all - populated);
	CHECK_INT(extents(d, XENMEM_populate_physmap, &past, 1, 0), 0);
	fake_domain_free(d);
}

static void test_mem_max(struct unit *u, const void *arg)
{
	struct domain *d = tail_domain();
	const long populated = POPULATED >> 12, all = FAKE_RAM_SIZE >> 12;
	uint64_t tail = GUEST_HIGH_RAM_BASE >> 12, gfns[3] = { tail, tail + 1, tail + 2 };
	char why[256] = "";
	(void)arg;

	CHECK_INT(xen_reservation_set_max(d, (uint64_t)populated + 2, why, sizeof(why)), 0);
	CHECK_INT(maximum(d), populated + 2);
	CHECK_INT(extents(d, XENMEM_populate_physmap, gfns, 3, 0), 2);          /* stops at the maximum */
	CHECK_INT(current(d), populated + 2);
	CHECK_INT(extents(d, XENMEM_increase_reservation, gfns, 1, 0), 0);
	/* Lowering the maximum below what the guest holds takes nothing away. */
	CHECK_INT(xen_reservation_set_max(d, (uint64_t)populated, why, sizeof(why)), 0);
	CHECK_INT(current(d), populated + 2);
	CHECK_INT(extents(d, XENMEM_populate_physmap, &gfns[2], 1, 0), 0);
	CHECK_INT(extents(d, XENMEM_decrease_reservation, gfns, 2, 0), 2);
	CHECK_INT(current(d), populated);
	/* Above the RAM the domain was built with: refused, with the figures. */
	CHECK_INT(xen_reservation_set_max(d, (uint64_t)all + 1, why, sizeof(why)), -1);
	CHECK(strstr(why, "maxmem") && strstr(why, "8192 KiB"), "why: %s", why);
	CHECK_INT(maximum(d), populated);
	CHECK_INT(xen_reservation_set_max(d, (uint64_t)all, why, sizeof(why)), 0);
	CHECK_INT(extents(d, XENMEM_populate_physmap, gfns, 3, 0), 3);
	fake_domain_free(d);
}

struct letter_case { const char *name; enum vcpu_activity v[3]; unsigned int n; char want; };

static const struct letter_case letter_cases[] = {
	{ "no vCPUs", { 0 }, 0, 'b' },
	{ "one running", { VCPU_RUNNING }, 1, 'r' },
	{ "one blocked", { VCPU_BLOCKED }, 1, 'b' },
	{ "blocked and down", { VCPU_BLOCKED, VCPU_DOWN }, 2, 'b' },
	{ "all down", { VCPU_DOWN, VCPU_DOWN }, 2, 'b' },
	{ "one of three runs", { VCPU_BLOCKED, VCPU_DOWN, VCPU_RUNNING }, 3, 'r' },
};

static void test_run_letter(struct unit *u, const void *arg)
{
	const struct letter_case *c = arg;

	CHECK(domain_run_letter(c->v, c->n) == c->want, "got %c", domain_run_letter(c->v, c->n));
}

/* The flags of a fake domain whose vCPU 0 "runs" (no thread: thread_started set by hand, no
 * scheduler view), by its runstate. */
static void test_state_flags(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(2);
	char flags[7];
	(void)arg;

	domain_state_flags(d, flags);
	CHECK_STR(flags, "-b----");                 /* no vCPU thread yet */
	d->vcpus[0].thread_started = true;          /* vCPU 0 is up from boot (vcpu_power) */
	d->xen.vcpu[0].runstate.state = RUNSTATE_running;
	domain_state_flags(d, flags);
	CHECK_STR(flags, "r-----");
	d->xen.vcpu[0].runstate.state = RUNSTATE_blocked;
	domain_state_flags(d, flags);
	CHECK_STR(flags, "-b----");
	d->paused = true;
	domain_state_flags(d, flags);
	CHECK_STR(flags, "--p---");
	d->paused = false;
	d->state = DOMAIN_SHUTDOWN;
	d->shutdown_reason = SHUTDOWN_crash;
	domain_state_flags(d, flags);
	CHECK_STR(flags, "----c-");
	d->vcpus[0].thread_started = false;
	fake_domain_free(d);
}

/* A target the guest ignores is reported once, after BALLOON_UNMET_MS without progress; one it follows
 * slowly, or meets, never is; a new target starts again. */
static void test_unmet_target(struct unit *u, const void *arg)
{
	struct balloon_progress p = { 0 };
	(void)arg;

	CHECK(!balloon_progress_check(&p, 262144, 0), "reported without a target");
	CHECK(!balloon_progress_check(&p, 262144, 60000), "reported without a target");
	balloon_progress_target(&p, 65536, 60000);
	CHECK(!balloon_progress_check(&p, 262144, 62000), "reported at once");
	CHECK(!balloon_progress_check(&p, 262144, 60000 + BALLOON_UNMET_MS - 1), "reported early");
	CHECK(balloon_progress_check(&p, 262144, 60000 + BALLOON_UNMET_MS), "not reported when due");
	CHECK(!balloon_progress_check(&p, 262144, 60000 + 3 * BALLOON_UNMET_MS), "reported twice");
	balloon_progress_target(&p, 65536, 100000);      /* the same target again: nothing new */
	CHECK(!balloon_progress_check(&p, 262144, 100000 + BALLOON_UNMET_MS), "the same target reported again");
	/* A slow guest: it moves every check, so it is never reported; then it meets the target. */
	balloon_progress_target(&p, 131072, 200000);
	for (uint64_t t = 0, held = 262144; t < 5 * BALLOON_UNMET_MS; t += BALLOON_CHECK_MS, held -= 4096)
		CHECK(!balloon_progress_check(&p, held > 131072 ? held : 131072, 200000 + t), "a moving guest reported at %llu",
		      (unsigned long long)t);
	CHECK(!balloon_progress_check(&p, 131072, 200000 + 10 * BALLOON_UNMET_MS), "a met target reported");
	/* It stops short: reported once, BALLOON_UNMET_MS after it last moved. */
	balloon_progress_target(&p, 65536, 400000);
	CHECK(!balloon_progress_check(&p, 100000, 401000), "reported while moving");
	CHECK(!balloon_progress_check(&p, 100000, 401000 + BALLOON_UNMET_MS - 1), "reported early");
	CHECK(balloon_progress_check(&p, 100000, 401000 + BALLOON_UNMET_MS), "a stuck guest not reported");
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "reservation follows decrease and populate", test_accounting, NULL);
	unit_case(&u, "maxmem above memory: tail given back, out of the map", test_maxmem_tail, NULL);
	unit_case(&u, "mem-max caps populate and increase", test_mem_max, NULL);
	for (size_t i = 0; i < sizeof(letter_cases) / sizeof(letter_cases[0]); i++)
		unit_case(&u, letter_cases[i].name, test_run_letter, &letter_cases[i]);
	unit_case(&u, "state flags from runstates", test_state_flags, NULL);
	unit_case(&u, "an unmet balloon target is reported once", test_unmet_target, NULL);
	return unit_finish(&u);
}
