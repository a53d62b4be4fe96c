/* The frontend's side of grants and event channels on tests/unit/fake_domain.h's domain, as a PV
 * frontend sets them up through the hypercalls: the grant table placed in guest RAM, v1 entries
 * granting frames to Dom0, an unbound port for Dom0 to bind, a kick.  Shared by the tests that
 * play netfront or blkfront. */
#ifndef XENITH_FAKE_GRANTS_H
#define XENITH_FAKE_GRANTS_H
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include "fake_domain.h"

/* XENMEM_add_to_physmap of the grant table's first frame at `gfn`; aborts when refused. */
static inline void fake_grant_table_at(struct domain *d, uint64_t gfn)
{
	struct xen_add_to_physmap x = { .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table, .idx = 0,
					.gpfn = gfn };

	if (fake_op(d, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, &x, sizeof(x)))
		abort();
}

/* Entry `ref` of the (one-frame, v1) grant table at `table_gfn`. */
static inline grant_entry_v1_t *fake_grant_entry(struct domain *d, uint64_t table_gfn, grant_ref_t ref)
{
	return (grant_entry_v1_t *)fake_gpa(d, table_gfn << 12) + ref;
}

/* Grants frame `gfn` to Dom0 as `ref`. */
static inline void fake_grant(struct domain *d, uint64_t table_gfn, grant_ref_t ref, uint64_t gfn, bool readonly)
{
	grant_entry_v1_t *e = fake_grant_entry(d, table_gfn, ref);

	e->domid = 0;
	e->frame = (uint32_t)gfn;
	e->flags = GTF_permit_access | (readonly ? GTF_readonly : 0);
}

/* Grants the `n` frames from `gfn` on to Dom0, as refs `ref` on. */
static inline void fake_grant_pages(struct domain *d, uint64_t table_gfn, grant_ref_t ref, uint64_t gfn,
				    unsigned int n, bool readonly)
{
	for (unsigned int i = 0; i < n; i++)
		fake_grant(d, table_gfn, ref + i, gfn + i, readonly);
}

/* A one-vCPU domain with its grant table at `table_gfn` and `n` frames from `gfn` on granted to Dom0
 * read-write as refs `ref` on: the frontend's data pages. */
static inline struct domain *fake_domain_granting(uint64_t table_gfn, grant_ref_t ref, uint64_t gfn, unsigned int n)
{
	struct domain *d = fake_domain_new(1);

	fake_grant_table_at(d, table_gfn);
	fake_grant_pages(d, table_gfn, ref, gfn, n, false);
	return d;
}

/* A port of the guest's, unbound, for Dom0 to bind; aborts when refused. */
static inline evtchn_port_t fake_unbound_port(struct domain *d)
{
	struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = 0 };

	if (fake_op(d, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, &a, sizeof(a)))
		abort();
	return a.port;
}

/* The guest's EVTCHNOP_send on `port`: the hypercall's result. */
static inline long fake_kick(struct domain *d, evtchn_port_t port)
{
	struct evtchn_send send = { .port = port };

	return fake_op(d, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_send, &send, sizeof(send));
}

#endif
