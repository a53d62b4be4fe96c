/* Reading a save stream into a freshly built domain (restore.h; docs/migration.md).
 *
 * Every record is checked before it touches the domain: DOMAIN must come first and match what the
 * config built (RAM layout, vCPUs), page indices must lie in RAM, each vCPU's state comes once,
 * and at END the vCPUs and the Xen state must all have come.  Pages may come more than once (a
 * live stream's rounds): the last one wins, a page that became zeros is zeroed, a page the guest
 * gave back is punched out of the memfd.  Nothing here trusts the stream more than a guest. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "backends/pv_backend.h"
#include "hw/device.h"
#include "lib/error.h"
#include "migrate/stream.h"
#include "vmm/domain.h"
#include "vmm/restore.h"
#include "vmm/vcpu_state.h"
#include "xen/xen_record.h"

struct restore {
	struct domain *dom;
	struct restore_result *res;
	uint64_t ram_pages;
	uint64_t *written;               /* pages given contents here (a later ZERO must clear them) */
	bool have_domain, have_xen;
	uint64_t vcpus_seen;             /* bit per vCPU */
	struct xen_record xen;
	struct vcpu_state *state;
	char *err;
	size_t errlen;
};

static int apply_page(void *opaque, uint64_t index, enum mig_page_kind kind, const uint8_t *data)
{
	struct restore *r = opaque;
	struct domain *dom = r->dom;

	if (index >= r->ram_pages) {
		ERR_SET(r->err, r->errlen, "page %llu is beyond the domain's %llu pages of RAM",
			(unsigned long long)index, (unsigned long long)r->ram_pages);
		return -1;
	}
	uint8_t *page = dom->vm.ram + index * MIG_PAGE_SIZE;
	uint64_t bit = 1ull << (index % 64), *word = &r->written[index / 64];
	switch (kind) {
	case MIG_PAGE_ABSENT:
		xen_reservation_restore_page(dom, index, true);
		*word &= ~bit;
		break;
	case MIG_PAGE_ZERO:
		xen_reservation_restore_page(dom, index, false);
		if (*word & bit)
			memset(page, 0, MIG_PAGE_SIZE);
		*word &= ~bit;
		break;
	case MIG_PAGE_DATA:
		xen_reservation_restore_page(dom, index, false);
		memcpy(page, data, MIG_PAGE_SIZE);
		*word |= bit;
		break;
	}
	r->res->pages++;
	return 0;
}

static int domain_record(struct restore *r, const uint8_t *body, size_t len)
{
	struct domain *dom = r->dom;
	struct mig_domain d;

	if (len != sizeof(d)) {
		ERR_SET(r->err, r->errlen, "the DOMAIN record has %zu bytes, not %zu", len, sizeof(d));
		return -1;
	}
	memcpy(&d, body, sizeof(d));
	if (mig_domain_check(&d, r->err, r->errlen))
		return -1;
	if (d.ram_bytes != dom->vm.ram_size || d.populated_bytes != vm_populated_bytes(&dom->vm) ||
	    d.low_ram_bytes != dom->vm.low_ram_size) {
		ERR_SET(r->err, r->errlen, "the saved domain has %llu MiB of RAM (%llu MiB populated at start); "
			"its config builds %llu MiB (%llu MiB): they must agree",
			(unsigned long long)(d.ram_bytes >> 20), (unsigned long long)(d.populated_bytes >> 20),
			(unsigned long long)(dom->vm.ram_size >> 20),
			(unsigned long long)(vm_populated_bytes(&dom->vm) >> 20));
		return -1;
	}
	if (d.max_vcpus != dom->n_vcpus || d.vcpus > d.max_vcpus) {
		ERR_SET(r->err, r->errlen, "the saved domain has %u vCPUs (%u up); its config makes %u",
			d.max_vcpus, d.vcpus, dom->n_vcpus);
		return -1;
	}
	if (strcmp(d.name, dom->params->name))
		LOG("restoring domain '%s' as '%s' (the config's name)", d.name, dom->params->name);
	r->have_domain = true;
	return 0;
}

static int vcpu_record(struct restore *r, const uint8_t *body, size_t len)
{
	char why[256];

	if (vcpu_state_decode(body, len, r->state, why, sizeof(why))) {
		ERR_SET(r->err, r->errlen, "a vCPU record: %s", why);
		return -1;
	}
	uint32_t id = r->state->vcpu_id;
	if (id >= r->dom->n_vcpus || (r->vcpus_seen & (1ull << id))) {
		ERR_SET(r->err, r->errlen, "a vCPU record for vCPU %u, %s", id,
			id >= r->dom->n_vcpus ? "which the domain does not have" : "which came before");
		return -1;
	}
	if (vcpu_state_load(&r->dom->vcpus[id], r->state, why, sizeof(why))) {
		ERR_SET(r->err, r->errlen, "loading vCPU %u: %s", id, why);
		return -1;
	}
	r->vcpus_seen |= 1ull << id;
	r->res->vcpus++;
	return 0;
}

static int pv_record(struct restore *r, const uint8_t *body, size_t len)
{
	uint8_t *grown = realloc(r->res->pv, r->res->pv_len + len);

	if (!grown) {
		ERR_SET(r->err, r->errlen, "out of memory for the devices' records");
		return -1;
	}
	memcpy(grown + r->res->pv_len, body, len);
	r->res->pv = grown;
	r->res->pv_len += len;
	r->res->pv_records++;
	return 0;
}

static int digest_record(struct restore *r, const uint8_t *body, size_t len)
{
	struct mig_digest d;

	if (len != sizeof(d)) {
		ERR_SET(r->err, r->errlen, "the DIGEST record has %zu bytes", len);
		return -1;
	}
	memcpy(&d, body, sizeof(d));
	uint64_t here = mig_digest_ram(r->dom->vm.ram, r->ram_pages);
	if (d.pages != r->ram_pages || d.digest != here) {
		ERR_SET(r->err, r->errlen, "guest RAM differs from the source's: digest %016llx over %llu pages "
			"there, %016llx over %llu here", (unsigned long long)d.digest, (unsigned long long)d.pages,
			(unsigned long long)here, (unsigned long long)r->ram_pages);
		return -1;
	}
	LOG("domain %d: RAM digest %016llx agrees with the source's", r->dom->domid, (unsigned long long)here);
	r->res->digest_checked = true;
	return 0;
}

static int end_record(struct restore *r)
{
	uint64_t all = r->dom->n_vcpus >= 64 ? ~0ull : (1ull << r->dom->n_vcpus) - 1;
	char why[256];

	if (r->vcpus_seen != all || !r->have_xen) {
		ERR_SET(r->err, r->errlen, "the stream ended without %s", !r->have_xen ? "the Xen state" :
			"the state of every vCPU");
		return -1;
	}
	if (xen_record_load(r->dom, &r->xen, why, sizeof(why))) {
		ERR_SET(r->err, r->errlen, "%s", why);
		return -1;
	}
	return 0;
}

static int apply_record(struct restore *r, uint32_t type, const uint8_t *body, size_t len)
{
	char why[256];

	if (type != MIG_REC_DOMAIN && !r->have_domain) {
		ERR_SET(r->err, r->errlen, "a %s record before the DOMAIN record", mig_record_name(type));
		return -1;
	}
	switch (type) {
	case MIG_REC_DOMAIN:
		if (r->have_domain) {
			ERR_SET(r->err, r->errlen, "a second DOMAIN record");
			return -1;
		}
		return domain_record(r, body, len);
	case MIG_REC_PAGES:
		return mig_pages_walk(body, len, apply_page, r, r->err, r->errlen) ? -1 : 0;
	case MIG_REC_ROUND:
		return 0;
	case MIG_REC_VCPU:
		return vcpu_record(r, body, len);
	case MIG_REC_XEN:
		if (r->have_xen || xen_record_decode(r->dom, body, len, &r->xen, why, sizeof(why))) {
			ERR_SET(r->err, r->errlen, "%s", r->have_xen ? "a second Xen state record" : why);
			return -1;
		}
		r->have_xen = true;
		return 0;
	case MIG_REC_DEVICES:
		if (len && devices_restore(r->dom, body, len, why, sizeof(why))) {
			ERR_SET(r->err, r->errlen, "the devices' state: %s", why);
			return -1;
		}
		return 0;
	case MIG_REC_PV_DEVICE:
		return pv_record(r, body, len);
	case MIG_REC_DIGEST:
		return digest_record(r, body, len);
	case MIG_REC_END:
		return end_record(r);
	default:
		ERR_SET(r->err, r->errlen, "a %s record where the domain's records are", mig_record_name(type));
		return -1;
	}
}

int restore_read(struct domain *dom, int fd, struct restore_result *res, char *err, size_t errlen)
{
	struct restore r = { .dom = dom, .res = res, .ram_pages = dom->vm.ram_size / MIG_PAGE_SIZE,
			     .err = err, .errlen = errlen };
	struct mig_reader reader;
	int rc = -1;

	*res = (struct restore_result){ 0 };
	r.written = calloc(r.ram_pages / 64 + 1, sizeof(uint64_t));
	r.state = malloc(sizeof(*r.state));
	if (!r.written || !r.state) {
		ERR_SET(err, errlen, "out of memory for restoring %llu pages", (unsigned long long)r.ram_pages);
		goto out;
	}
	mig_reader_init(&reader, fd);
	/* Offsets in messages count from the stream's start, where the descriptor tells it. */
	off_t at = lseek(fd, 0, SEEK_CUR);
	if (at > 0)
		reader.offset = (uint64_t)at;
	for (;;) {
		uint32_t type;
		const uint8_t *body;
		size_t len;
		char why[400];
		if (mig_read_record(&reader, &type, &body, &len, err, errlen))
			break;
		if (apply_record(&r, type, body, len)) {
			snprintf(why, sizeof(why), "%s", err);
			ERR_SET(err, errlen, "the save stream's %s record ending at byte %llu: %s",
				mig_record_name(type), (unsigned long long)reader.offset, why);
			break;
		}
		if (type == MIG_REC_END) {
			rc = 0;
			break;
		}
	}
	mig_reader_free(&reader);
out:
	free(r.written);
	free(r.state);
	if (rc)
		restore_result_free(res);
	return rc;
}

void restore_result_free(struct restore_result *res)
{
	free(res->pv);
	*res = (struct restore_result){ 0 };
}
