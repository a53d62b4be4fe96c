/* Sub-ops on a fake domain (fake_domain.h): every multiplexed hypercall answers a sub-op it does not
 * implement as Xen 4.17 does for a DomU and counts it per (hypercall, sub-op) in a bounded table;
 * the FIFO event-channel operations answer each bad argument as Xen does and a well-formed request
 * so that guests fall back to the 2-level ABI, without being counted as unknown. */
#include <stdint.h>
#include <stdlib.h>
#include "fake_domain.h"
#include "unit.h"

struct subop_row {
	const char *name;
	unsigned int nr;
	uint64_t args[3];                /* args[0] is the sub-op as the guest passes it */
	uint64_t counted_as;             /* the sub-op the table records */
	long want;
};

/* An argument in RAM for the rows that read one (all zero: vCPU 0, DOMID_SELF). */
static const struct subop_row rows[] = {
	{ "memory_op", __HYPERVISOR_memory_op, { 63, FAKE_ARG }, 63, -XEN_ENOSYS },
	{ "memory_op-continuation-bits", __HYPERVISOR_memory_op, { (7 << 6) | 62, FAKE_ARG }, 62, -XEN_ENOSYS },
	{ "memory_op-exchange", __HYPERVISOR_memory_op, { XENMEM_exchange, FAKE_ARG }, XENMEM_exchange, -XEN_ENOSYS },
	{ "event_channel_op", __HYPERVISOR_event_channel_op, { 99, FAKE_ARG }, 99, -XEN_ENOSYS },
	{ "event_channel_op-bind_pirq", __HYPERVISOR_event_channel_op, { EVTCHNOP_bind_pirq, FAKE_ARG },
	  EVTCHNOP_bind_pirq, -XEN_ENOSYS },
	{ "grant_table_op-map", __HYPERVISOR_grant_table_op, { GNTTABOP_map_grant_ref, FAKE_ARG, 1 },
	  GNTTABOP_map_grant_ref, -XEN_ENOSYS },
	{ "grant_table_op", __HYPERVISOR_grant_table_op, { 77, FAKE_ARG, 1 }, 77, -XEN_ENOSYS },
	{ "hvm_op", __HYPERVISOR_hvm_op, { 999, FAKE_ARG }, 999, -XEN_ENOSYS },
	{ "vcpu_op", __HYPERVISOR_vcpu_op, { 99, 0, FAKE_ARG }, 99, -XEN_ENOSYS },
	{ "sched_op", __HYPERVISOR_sched_op, { 99, FAKE_ARG }, 99, -XEN_ENOSYS },
	{ "xen_version", __HYPERVISOR_xen_version, { 99, FAKE_ARG }, 99, -XEN_ENOSYS },
};

static void test_unknown_subop(struct unit *u, const void *arg)
{
	const struct subop_row *row = arg;
	struct domain *d = fake_domain_new(2);

	for (unsigned int i = 1; i <= 3; i++) {
		long rc = fake_hcall(d, 1, row->nr, row->args[0], row->args[1], row->args[2]);
		CHECK(rc == row->want, "call %u answered %ld, not %ld", i, rc, row->want);
		uint64_t n = xen_unknown_subop_count(d, row->nr, row->counted_as);
		CHECK(n == i, "counted %llu times after %u calls", (unsigned long long)n, i);
	}
	CHECK(d->xen.unknown_subops_total == 3 && d->xen.unknown_subop_pairs == 1,
	      "one pair, three calls: %llu calls, %u pairs", (unsigned long long)d->xen.unknown_subops_total,
	      d->xen.unknown_subop_pairs);
	CHECK(d->xen.unknown_subops[0].answer == row->want, "the answer is recorded");
	CHECK(d->xen.unknown_calls == 0, "not an unknown hypercall");
	xen_log_stats(d);                     /* the summary line (stderr), with the pair in it */
	fake_domain_free(d);
}

/* console_io: a DomU's unknown commands get Xen's answer (-EPERM: the XSM check comes first) and
 * are counted; CONSOLEIO_read is known (also -EPERM for a DomU) and is not. */
static void test_console_io(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *d = fake_domain_new(1);
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_console_io, 99, 0, FAKE_ARG), -XEN_EPERM);
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_console_io, 99, 0, FAKE_ARG), -XEN_EPERM);
	CHECK_INT(xen_unknown_subop_count(d, __HYPERVISOR_console_io, 99), 2);
	CHECK_INT(fake_hcall(d, 0, __HYPERVISOR_console_io, CONSOLEIO_read, 0, FAKE_ARG), -XEN_EPERM);
	CHECK_INT(xen_unknown_subop_count(d, __HYPERVISOR_console_io, CONSOLEIO_read), 0);
	fake_domain_free(d);
}

static void test_table_bound(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *d = fake_domain_new(1);
	unsigned int pairs = XEN_UNKNOWN_SUBOP_PAIRS + 8;

	for (unsigned int i = 0; i < pairs; i++)
		CHECK(fake_hcall(d, 0, __HYPERVISOR_hvm_op, 1000 + i, FAKE_ARG, 0) == -XEN_ENOSYS, "hvm_op %u",
		      1000 + i);
	fake_hcall(d, 0, __HYPERVISOR_hvm_op, 1000 + pairs - 1, FAKE_ARG, 0);   /* an untracked pair again */
	fake_hcall(d, 0, __HYPERVISOR_hvm_op, 1000, FAKE_ARG, 0);                /* a tracked one again */
	CHECK(d->xen.unknown_subop_pairs == XEN_UNKNOWN_SUBOP_PAIRS, "the table holds %u pairs, not %u",
	      XEN_UNKNOWN_SUBOP_PAIRS, d->xen.unknown_subop_pairs);
	CHECK(d->xen.unknown_subops_untracked == 9, "9 calls beyond it: %llu",
	      (unsigned long long)d->xen.unknown_subops_untracked);
	CHECK(d->xen.unknown_subops_total == pairs + 2, "every call counted: %llu",
	      (unsigned long long)d->xen.unknown_subops_total);
	CHECK(xen_unknown_subop_count(d, __HYPERVISOR_hvm_op, 1000) == 2, "the first pair twice");
	CHECK(xen_unknown_subop_count(d, __HYPERVISOR_hvm_op, 1000 + pairs - 1) == 0, "untracked pairs have no row");
	/* Unknown hypercall numbers keep their own count. */
	CHECK(fake_hcall(d, 0, 60, 0, 0, 0) == -XEN_ENOSYS && d->xen.unknown_calls == 1, "hypercall 60");
	xen_log_stats(d);
	fake_domain_free(d);
}

/* Known sub-ops are not counted, whatever they answer. */
static void test_known_not_counted(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *d = fake_domain_new(1);
	fake_hcall(d, 0, __HYPERVISOR_xen_version, XENVER_version, 0, 0);
	fake_hcall(d, 0, __HYPERVISOR_sched_op, SCHEDOP_remote_shutdown, FAKE_ARG, 0);
	fake_hcall(d, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_close, FAKE_RAM_SIZE, 0);
	fake_hcall(d, 0, __HYPERVISOR_vcpu_op, 99, 5, FAKE_ARG);    /* a vCPU it lacks: -ENOENT first, as Xen */
	CHECK(fake_hcall(d, 0, __HYPERVISOR_vcpu_op, 99, 5, FAKE_ARG) == -XEN_ENOENT, "bad vCPU before bad op");
	CHECK(d->xen.unknown_subops_total == 0, "%llu counted", (unsigned long long)d->xen.unknown_subops_total);
	fake_domain_free(d);
}

/* ---- FIFO event channels ---- */

struct fifo_row {
	const char *name;
	uint64_t cmd;
	uint64_t arg_gpa;                /* where the argument is (beyond RAM: unreadable) */
	struct evtchn_init_control init; /* for init_control */
	uint64_t array_gfn;              /* expand_array */
	evtchn_port_t port;              /* set_priority */
	long want;
};

#define CB_GFN 0x300ull
#define GONE_GFN 0x301ull            /* given back before the call */
#define CB_MAX_OFFSET (4096 - sizeof(struct evtchn_fifo_control_block))

static const struct fifo_row fifo_rows[] = {
	{ "init-unreadable", EVTCHNOP_init_control, FAKE_RAM_SIZE, .want = -XEN_EFAULT },
	{ "init-bad-vcpu", EVTCHNOP_init_control, FAKE_ARG, { .control_gfn = CB_GFN, .vcpu = 2 },
	  .want = -XEN_ENOENT },
	{ "init-bad-vcpu-before-offset", EVTCHNOP_init_control, FAKE_ARG,
	  { .control_gfn = ~0ull, .offset = 4096, .vcpu = 7 }, .want = -XEN_ENOENT },
	{ "init-offset-crosses-page", EVTCHNOP_init_control, FAKE_ARG,
	  { .control_gfn = CB_GFN, .offset = CB_MAX_OFFSET + 8 }, .want = -XEN_EINVAL },
	{ "init-offset-huge", EVTCHNOP_init_control, FAKE_ARG, { .control_gfn = CB_GFN, .offset = ~0u },
	  .want = -XEN_EINVAL },
	{ "init-offset-unaligned", EVTCHNOP_init_control, FAKE_ARG, { .control_gfn = CB_GFN, .offset = 4 },
	  .want = -XEN_EINVAL },
	{ "init-gfn-outside-ram", EVTCHNOP_init_control, FAKE_ARG, { .control_gfn = FAKE_RAM_SIZE >> 12 },
	  .want = -XEN_EINVAL },
	{ "init-gfn-wraps", EVTCHNOP_init_control, FAKE_ARG, { .control_gfn = (1ull << 52) + CB_GFN },
	  .want = -XEN_EINVAL },
	{ "init-gfn-given-back", EVTCHNOP_init_control, FAKE_ARG, { .control_gfn = GONE_GFN },
	  .want = -XEN_EINVAL },
	{ "init-well-formed", EVTCHNOP_init_control, FAKE_ARG, { .control_gfn = CB_GFN, .vcpu = 1 },
	  .want = -XEN_ENOSYS },
	{ "init-last-offset", EVTCHNOP_init_control, FAKE_ARG,
	  { .control_gfn = CB_GFN, .offset = CB_MAX_OFFSET }, .want = -XEN_ENOSYS },
	{ "expand-unreadable", EVTCHNOP_expand_array, FAKE_RAM_SIZE - 4, .want = -XEN_EFAULT },
	{ "expand", EVTCHNOP_expand_array, FAKE_ARG, .array_gfn = CB_GFN, .want = -XEN_EOPNOTSUPP },
	{ "expand-bad-gfn", EVTCHNOP_expand_array, FAKE_ARG, .array_gfn = ~0ull, .want = -XEN_EOPNOTSUPP },
	{ "priority-unreadable", EVTCHNOP_set_priority, FAKE_RAM_SIZE, .want = -XEN_EFAULT },
	{ "priority-bad-port", EVTCHNOP_set_priority, FAKE_ARG, .port = EVTCHN_PORTS, .want = -XEN_EINVAL },
	{ "priority-port", EVTCHNOP_set_priority, FAKE_ARG, .port = EVTCHN_STORE_PORT, .want = -XEN_ENOSYS },
	{ "priority-port-0", EVTCHNOP_set_priority, FAKE_ARG, .port = 0, .want = -XEN_ENOSYS },
};

static void test_fifo(struct unit *u, const void *arg)
{
	const struct fifo_row *row = arg;
	struct domain *d = fake_domain_new(2);
	struct xen_memory_reservation r = { .nr_extents = 1, .domid = DOMID_SELF };
	xen_pfn_t gone = GONE_GFN;

	r.extent_start.p = (xen_pfn_t *)(uintptr_t)FAKE_ARG3;
	fake_put(d, FAKE_ARG3, &gone, sizeof(gone));
	fake_put(d, FAKE_ARG2, &r, sizeof(r));
	if (fake_hcall(d, 0, __HYPERVISOR_memory_op, XENMEM_decrease_reservation, FAKE_ARG2, 0) != 1)
		abort();
	union {
		struct evtchn_init_control init;
		struct evtchn_expand_array expand;
		struct evtchn_set_priority prio;
	} a = { .init = row->init };
	if (row->cmd == EVTCHNOP_expand_array)
		a.expand.array_gfn = row->array_gfn;
	if (row->cmd == EVTCHNOP_set_priority)
		a.prio = (struct evtchn_set_priority){ .port = row->port, .priority = 1 };
	bool readable = row->arg_gpa + sizeof(a) <= FAKE_RAM_SIZE;
	if (readable)
		fake_put(d, row->arg_gpa, &a, sizeof(a));
	long rc = fake_hcall(d, 0, __HYPERVISOR_event_channel_op, row->cmd, row->arg_gpa, 0);
	CHECK(rc == row->want, "answered %ld, not %ld", rc, row->want);
	if (row->cmd == EVTCHNOP_init_control && readable) {
		struct evtchn_init_control back;
		fake_get(d, row->arg_gpa, &back, sizeof(back));
		CHECK(back.link_bits == 0, "link_bits written back on a failure (Xen writes only on success)");
	}
	CHECK(d->xen.unknown_subops_total == 0, "counted as an unknown sub-op");
	fake_domain_free(d);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[96];

	for (unsigned int i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(name, sizeof(name), "subop-unknown-%s", rows[i].name);
		unit_case(&u, name, test_unknown_subop, &rows[i]);
	}
	unit_case(&u, "subop-console_io", test_console_io, NULL);
	unit_case(&u, "subop-table-bound", test_table_bound, NULL);
	unit_case(&u, "subop-known-not-counted", test_known_not_counted, NULL);
	for (unsigned int i = 0; i < sizeof(fifo_rows) / sizeof(fifo_rows[0]); i++) {
		snprintf(name, sizeof(name), "evtchn-fifo-%s", fifo_rows[i].name);
		unit_case(&u, name, test_fifo, &fifo_rows[i]);
	}
	return unit_finish(&u);
}
