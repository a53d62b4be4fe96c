/* The Xen state a save stream carries (xen_record.h says what and why so little). */
#include <string.h>
#include "lib/error.h"
#include "vmm/domain.h"
#include "xen/xen_record.h"
#include "xen/xen_state.h"

_Static_assert(sizeof(struct xen_record) == 48 + 8 * XEN_MAX_VCPUS, "the record has no hidden padding");

void xen_record_save(struct domain *dom, struct xen_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->version = XEN_RECORD_VERSION;
	rec->n_vcpus = dom->n_vcpus;
	pthread_mutex_lock(&dom->xen.lock);
	rec->stime_ns = xen_system_time_ns(dom);
	rec->max_pages = dom->xen.reservation.max_pages;
	rec->pages_unmapped = dom->xen.reservation.pages_unmapped;
	rec->vm_assist = dom->xen.vm_assist;
	rec->tsc_khz = dom->xen.tsc_khz;
	pthread_mutex_unlock(&dom->xen.lock);
	pthread_mutex_lock(&dom->lock);
	rec->suspended_vcpu = dom->suspended_vcpu;
	for (unsigned int i = 0; i < dom->n_vcpus; i++) {
		rec->vcpu[i].power_state = (uint8_t)dom->vcpus[i].power.state;
		rec->vcpu[i].initialised = dom->vcpus[i].power.initialised;
	}
	pthread_mutex_unlock(&dom->lock);
}

int xen_record_decode(const struct domain *dom, const uint8_t *body, size_t len, struct xen_record *rec,
		      char *err, size_t errlen)
{
	if (len != sizeof(*rec)) {
		ERR_SET(err, errlen, "the Xen state record has %zu bytes, not %zu", len, sizeof(*rec));
		return -1;
	}
	memcpy(rec, body, sizeof(*rec));
	if (rec->version != XEN_RECORD_VERSION) {
		ERR_SET(err, errlen, "the Xen state record is of version %u; this VMM reads %d", rec->version,
			XEN_RECORD_VERSION);
		return -1;
	}
	if (rec->n_vcpus != dom->n_vcpus) {
		ERR_SET(err, errlen, "the saved domain had %u vCPUs; its config makes %u", rec->n_vcpus,
			dom->n_vcpus);
		return -1;
	}
	if (rec->n_vcpus && rec->suspended_vcpu >= rec->n_vcpus) {
		ERR_SET(err, errlen, "the Xen state record names vCPU %u as the suspending one, of %u",
			rec->suspended_vcpu, rec->n_vcpus);
		return -1;
	}
	if (rec->max_pages > dom->xen.reservation.ram_pages || rec->pages_unmapped > rec->max_pages) {
		ERR_SET(err, errlen, "the Xen state record's reservation (max %llu pages, %llu unmapped) does "
			"not fit the domain's %llu pages of RAM", (unsigned long long)rec->max_pages,
			(unsigned long long)rec->pages_unmapped,
			(unsigned long long)dom->xen.reservation.ram_pages);
		return -1;
	}
	for (unsigned int i = 0; i < XEN_MAX_VCPUS; i++) {
		const struct xen_record_vcpu *v = &rec->vcpu[i];
		bool used = i < rec->n_vcpus;
		if (v->power_state > VCPU_POWER_DOWN || v->initialised > 1 || (!used && (v->power_state ||
		    v->initialised)) || memcmp(v->pad, (uint8_t[6]){ 0 }, sizeof(v->pad))) {
			ERR_SET(err, errlen, "the Xen state record's vCPU %u has a power state of %u/%u",
				i, v->power_state, v->initialised);
			return -1;
		}
	}
	return 0;
}

int xen_record_load(struct domain *dom, const struct xen_record *rec, char *err, size_t errlen)
{
	char why[160];

	if (xen_reservation_set_max(dom, rec->max_pages, why, sizeof(why))) {
		ERR_SET(err, errlen, "restoring the maximum reservation: %s", why);
		return -1;
	}
	pthread_mutex_lock(&dom->xen.lock);
	dom->xen.reservation.pages_unmapped = rec->pages_unmapped;
	dom->xen.vm_assist = rec->vm_assist;
	pthread_mutex_unlock(&dom->xen.lock);
	if (rec->tsc_khz && dom->xen.tsc_khz && rec->tsc_khz != dom->xen.tsc_khz)
		LOG("domain %d: saved with a TSC of %u kHz, restored on %u kHz: the guest's TSC rate changes",
		    dom->domid, rec->tsc_khz, dom->xen.tsc_khz);
	pthread_mutex_lock(&dom->lock);
	for (unsigned int i = 0; i < dom->n_vcpus; i++) {
		dom->vcpus[i].power.state = (enum vcpu_power_state)rec->vcpu[i].power_state;
		dom->vcpus[i].power.initialised = rec->vcpu[i].initialised;
	}
	pthread_mutex_unlock(&dom->lock);
	return xen_time_restore(dom, rec->stime_ns, err, errlen);
}
