/* What of the Xen state a save stream carries (MIG_REC_XEN, docs/migration.md).
 *
 * A domain is saved only once its guest suspended itself (SCHEDOP_shutdown(SHUTDOWN_suspend)), and
 * a guest resumed elsewhere re-makes what Xen does not carry across: shared_info and vcpu_info
 * placement, the callback vector, event channels other than the store and console ports (which the
 * target binds at build, as libxl's restore does), grant frames, timers and runstate areas.  What
 * is left to carry is what the guest cannot re-make:
 *   - system time, which continues from where it was (frozen while the domain was away: the guest's
 *     clock does not jump; the wallclock in shared_info absorbs the real time that passed);
 *   - the reservation's maximum and its unmapped count (which pages were given back travels with the
 *     pages themselves, as MIG_PAGE_ABSENT);
 *   - vm_assist bits, and each vCPU's power state (up, down, or waiting for its start IPI);
 *   - which vCPU made the suspend call.
 * Body: struct xen_record as laid out below (little-endian, explicit padding), exactly its size. */
#ifndef XENITH_XEN_RECORD_H
#define XENITH_XEN_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include "xen/xen_state.h"

#define XEN_RECORD_VERSION 1

struct xen_record_vcpu {
	uint8_t power_state;           /* enum vcpu_power_state */
	uint8_t initialised;
	uint8_t pad[6];
};

struct xen_record {
	uint32_t version;
	uint32_t n_vcpus;              /* made (max_vcpus) */
	uint64_t stime_ns;             /* system time when saved */
	uint64_t max_pages;            /* the maximum reservation (xl mem-max) */
	uint64_t pages_unmapped;
	uint64_t vm_assist;
	uint32_t tsc_khz;              /* the source's; informative (a different target rate is logged) */
	uint32_t suspended_vcpu;
	struct xen_record_vcpu vcpu[XEN_MAX_VCPUS];
};

struct domain;

/* Fills rec from a suspended (held) domain. */
void xen_record_save(struct domain *dom, struct xen_record *rec);
/* Checks a record body against the domain it is for (vCPU count, power states, bounds).  0, or -1
 * with err. */
int xen_record_decode(const struct domain *dom, const uint8_t *body, size_t len, struct xen_record *rec,
		      char *err, size_t errlen);
/* Applies a checked record to a domain built for restore, after its vCPUs' state was loaded (their
 * TSCs decide the time base).  0, or -1 with err. */
int xen_record_load(struct domain *dom, const struct xen_record *rec, char *err, size_t errlen);

#endif
