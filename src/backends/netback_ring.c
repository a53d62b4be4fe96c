/* netback's data path: the netif tx and rx rings (xen/io/netif.h) against a TAP fd.
 *
 * Everything on the rings is the guest's to scribble on while we read it, so each request is
 * copied out once (RING_COPY_REQUEST) and only the copy is looked at; every gref goes through
 * gnttab_map, every offset and size is checked against the page before a byte moves.
 *
 * TX (guest to Dom0).  A packet is a first request (its `size` is the whole packet's), then extra
 * info slots if NETTXF_extra_info (each may chain with XEN_NETIF_EXTRA_FLAG_MORE), then one request
 * per further fragment while NETTXF_more_data, at most NETBACK_TX_SLOTS_MAX data slots.  The first
 * slot carries size - sum(other fragments).  Each slot gets a response: data slots the packet's
 * status (NETIF_RSP_OKAY, ERROR for a bad packet, DROPPED if the TAP refused it), extra slots
 * NETIF_RSP_NULL.
 *
 * RX (Dom0 to guest, rx-copy).  The frontend posts {id, gref} pages; a frame from the TAP goes into
 * one page at offset 0, or into several with NETRXF_more_data if the frontend said feature-sg
 * (else a frame over a page is dropped).  Each response's status is the bytes in its slot.  A frame
 * that finds too few slots stays in rx_buf and req_event asks the frontend to notify when there
 * are enough; the caller stops polling the TAP meanwhile, so nothing is lost and the kernel's TAP
 * queue does the buffering.
 *
 * Checksum offload.  Linux's netfront always offers NETIF_F_IP_CSUM (and NETIF_F_IPV6_CSUM when we
 * write feature-ipv6-csum-offload), so a local TCP or UDP packet arrives with NETTXF_csum_blank.
 * Nothing downstream of a plain TAP would finish its checksum, so we do (netback_csum.c); a frame
 * that does not parse is dropped with NETIF_RSP_ERROR and counted in tx_errors, as Xen's netback
 * drops what checksum_setup refuses.  NETTXF_data_validated alone needs nothing.  On rx we set no
 * NETRXF_* checksum flag: frames from a TAP without a vnet header carry complete checksums we did
 * not verify.
 *
 * A producer index more than a ring ahead of our responses cannot happen with an honest frontend:
 * the vif is marked broken and served no more.  Budgets bound the work per call so one busy vif
 * cannot starve the main loop. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "backends/netback.h"
#include "lib/error.h"
#include "vmm/domain.h"
#include "xen/xen_state.h"

#define PAGE 4096u
#define TX_RING_SIZE __CONST_RING_SIZE(netif_tx, PAGE)
#define RX_RING_SIZE __CONST_RING_SIZE(netif_rx, PAGE)
#define LOG_BURST 10
#define LOG_WINDOW_NS 10000000000ull

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* At most LOG_BURST complaints per window, then a count of what was left out. */
static void guest_error(struct netback_ring *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void guest_error(struct netback_ring *r, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	uint64_t now = now_ns();

	if (now - r->log_window_ns > LOG_WINDOW_NS) {
		if (r->log_suppressed)
			LOG("%s: %llu more complaints about the guest suppressed", r->name,
			    (unsigned long long)r->log_suppressed);
		r->log_window_ns = now;
		r->log_count = 0;
		r->log_suppressed = 0;
	}
	if (r->log_count++ >= LOG_BURST) {
		r->log_suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	LOG("%s: %s", r->name, what);
}

static void mark_broken(struct netback_ring *r, const char *ring, RING_IDX prod, RING_IDX rsp)
{
	if (!r->broken)
		LOG("%s: %s req_prod %u is more than a ring ahead of our responses (%u): vif broken, no "
		    "longer served", r->name, ring, prod, rsp);
	r->broken = true;
}

void netback_ring_init(struct netback_ring *r, const struct netback_ring_params *p)
{
	netif_tx_sring_t *txs = p->tx_page;
	netif_rx_sring_t *rxs = p->rx_page;

	r->dom = p->dom;
	r->name = p->name;
	r->tx_port = p->tx_port;
	r->rx_port = p->rx_port;
	r->tap_fd = p->tap_fd;
	r->feat = p->feat;
	r->broken = false;
	r->rx_pending = 0;
	/* Start where the frontend's ring is (a fresh one is at 0), as Linux's BACK_RING_ATTACH. */
	BACK_RING_INIT(&r->tx, txs, PAGE);
	r->tx.rsp_prod_pvt = r->tx.req_cons = __atomic_load_n(&txs->rsp_prod, __ATOMIC_ACQUIRE);
	BACK_RING_INIT(&r->rx, rxs, PAGE);
	r->rx.rsp_prod_pvt = r->rx.req_cons = __atomic_load_n(&rxs->rsp_prod, __ATOMIC_ACQUIRE);
}

/* ---- TX ---- */

struct tx_slot {
	bool extra;                      /* an extra-info slot: response NETIF_RSP_NULL */
	netif_tx_request_t req;
};

static void tx_respond(struct netback_ring *r, const struct tx_slot *slots, unsigned int n, int16_t status)
{
	for (unsigned int i = 0; i < n; i++) {
		netif_tx_response_t *rsp = RING_GET_RESPONSE(&r->tx, r->tx.rsp_prod_pvt);
		rsp->id = slots[i].extra ? 0 : slots[i].req.id;
		rsp->status = slots[i].extra ? NETIF_RSP_NULL : status;
		r->tx.rsp_prod_pvt++;
	}
}

/* Copies the packet's bytes out of its grants; NETIF_RSP_OKAY or ERROR. */
static int16_t tx_gather(struct netback_ring *r, const struct tx_slot *slots, unsigned int n, size_t *len)
{
	const netif_tx_request_t *first = &slots[0].req;
	size_t rest = 0, at = 0;

	for (unsigned int i = 1; i < n; i++)
		if (!slots[i].extra)
			rest += slots[i].req.size;
	if (first->size < 14 || rest >= first->size) {
		guest_error(r, "tx packet of %u bytes with %zu in later fragments: refused", first->size, rest);
		return NETIF_RSP_ERROR;
	}
	for (unsigned int i = 0; i < n; i++) {
		const netif_tx_request_t *q = &slots[i].req;
		size_t size = i == 0 ? first->size - rest : q->size;
		struct grant_mapping map;
		if (slots[i].extra)
			continue;
		if ((size_t)q->offset + size > PAGE) {
			guest_error(r, "tx slot offset %u size %zu overruns its page: refused", q->offset, size);
			return NETIF_RSP_ERROR;
		}
		if (!size)
			continue;
		int e = gnttab_map(r->dom, q->gref, 0, true, &map);
		if (e) {
			guest_error(r, "tx gref %u refused (%d)", q->gref, e);
			return NETIF_RSP_ERROR;
		}
		memcpy(r->buf + at, (uint8_t *)map.page + q->offset, size);
		gnttab_unmap(&map);
		at += size;
	}
	*len = at;
	return NETIF_RSP_OKAY;
}

enum netback_work netback_ring_tx(struct netback_ring *r, unsigned int budget)
{
	struct tx_slot slots[NETBACK_TX_SLOTS_MAX + XEN_NETIF_EXTRA_TYPE_MAX];
	unsigned int used = 0;
	int notify;

	if (r->broken)
		return NETBACK_BROKEN;
	for (;;) {
		RING_IDX prod = __atomic_load_n(&r->tx.sring->req_prod, __ATOMIC_ACQUIRE);
		if (prod - r->tx.rsp_prod_pvt > TX_RING_SIZE) {
			mark_broken(r, "tx", prod, r->tx.rsp_prod_pvt);
			return NETBACK_BROKEN;
		}
		while (r->tx.req_cons != prod && used < budget) {
			RING_IDX idx = r->tx.req_cons;
			unsigned int n = 0, data_slots = 1;
			const char *bad = NULL;
			int16_t status;
			size_t len = 0;

			RING_COPY_REQUEST(&r->tx, idx, &slots[0].req);
			slots[n++].extra = false;
			idx++;
			/* Extra-info slots follow the first request. */
			bool more_extra = slots[0].req.flags & NETTXF_extra_info;
			while (more_extra && !bad) {
				struct netif_extra_info x;
				if (idx == prod) { bad = "extra info missing"; break; }
				if (n == sizeof(slots) / sizeof(slots[0]) - NETBACK_TX_SLOTS_MAX) { bad = "too many extra slots"; break; }
				memcpy(&x, (const void *)RING_GET_REQUEST(&r->tx, idx), sizeof(x));
				slots[n].extra = true;
				slots[n++].req = (netif_tx_request_t){ 0 };
				idx++;
				if (x.type == XEN_NETIF_EXTRA_TYPE_NONE || x.type >= XEN_NETIF_EXTRA_TYPE_MAX)
					bad = "bad extra info type";
				more_extra = x.flags & XEN_NETIF_EXTRA_FLAG_MORE;
			}
			/* Then the further fragments. */
			bool more_data = slots[0].req.flags & NETTXF_more_data;
			while (more_data && !bad) {
				if (idx == prod) { bad = "fragment missing"; break; }
				if (data_slots == NETBACK_TX_SLOTS_MAX) { bad = "more than 18 slots"; break; }
				RING_COPY_REQUEST(&r->tx, idx, &slots[n].req);
				slots[n].extra = false;
				more_data = slots[n].req.flags & NETTXF_more_data;
				n++;
				data_slots++;
				idx++;
			}
			if (bad) {
				guest_error(r, "tx request at %u: %s", r->tx.req_cons, bad);
				status = NETIF_RSP_ERROR;
			} else {
				status = tx_gather(r, slots, n, &len);
			}
			if (status == NETIF_RSP_OKAY && (slots[0].req.flags & NETTXF_csum_blank)) {
				char why[160];
				if (netback_csum_fill(r->buf, len, why, sizeof(why))) {
					guest_error(r, "tx packet at %u with a blank checksum dropped: %s",
						    r->tx.req_cons, why);
					status = NETIF_RSP_ERROR;
				}
			}
			if (status == NETIF_RSP_OKAY) {
				ssize_t w = write(r->tap_fd, r->buf, len);
				if (w == (ssize_t)len) {
					r->st.tx_packets++;
					r->st.tx_bytes += len;
				} else {
					status = NETIF_RSP_DROPPED;
					r->st.tx_drops++;
				}
			} else {
				r->st.tx_errors++;
			}
			r->tx.req_cons = idx;
			tx_respond(r, slots, n, status);
			used += n;
		}
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&r->tx, notify);
		if (notify) {
			evtchn_dom0_send(r->dom, r->tx_port);
			r->st.tx_notifies++;
		}
		if (used >= budget)
			return NETBACK_MORE;
		int more;
		RING_FINAL_CHECK_FOR_REQUESTS(&r->tx, more);
		if (!more)
			return NETBACK_IDLE;
	}
}

/* ---- RX ---- */

static void rx_error_slots(struct netback_ring *r, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		netif_rx_request_t q;
		RING_COPY_REQUEST(&r->rx, r->rx.req_cons, &q);
		netif_rx_response_t *rsp = RING_GET_RESPONSE(&r->rx, r->rx.rsp_prod_pvt);
		*rsp = (netif_rx_response_t){ .id = q.id, .offset = 0, .flags = 0, .status = NETIF_RSP_ERROR };
		r->rx.req_cons++;
		r->rx.rsp_prod_pvt++;
	}
}

/* Puts the pending frame into `need` posted slots. */
static void rx_deliver(struct netback_ring *r, unsigned int need)
{
	struct grant_mapping maps[NETBACK_MAX_FRAME / PAGE + 1];
	netif_rx_request_t reqs[NETBACK_MAX_FRAME / PAGE + 1];
	unsigned int mapped = 0;

	for (unsigned int i = 0; i < need; i++) {
		RING_COPY_REQUEST(&r->rx, r->rx.req_cons + i, &reqs[i]);
		int e = gnttab_map(r->dom, reqs[i].gref, 0, false, &maps[i]);
		if (e) {
			guest_error(r, "rx gref %u refused (%d)", reqs[i].gref, e);
			break;
		}
		mapped++;
	}
	if (mapped < need) {
		for (unsigned int i = 0; i < mapped; i++)
			gnttab_unmap(&maps[i]);
		rx_error_slots(r, need);
		r->st.rx_errors++;
		return;
	}
	size_t at = 0;
	for (unsigned int i = 0; i < need; i++) {
		size_t chunk = r->rx_pending - at < PAGE ? r->rx_pending - at : PAGE;
		memcpy(maps[i].page, r->rx_buf + at, chunk);
		gnttab_unmap(&maps[i]);
		at += chunk;
		netif_rx_response_t *rsp = RING_GET_RESPONSE(&r->rx, r->rx.rsp_prod_pvt);
		*rsp = (netif_rx_response_t){
			.id = reqs[i].id, .offset = 0, .flags = i + 1 < need ? NETRXF_more_data : 0,
			.status = (int16_t)chunk,
		};
		r->rx.rsp_prod_pvt++;
	}
	r->rx.req_cons += need;
	r->st.rx_packets++;
	r->st.rx_bytes += r->rx_pending;
}

enum netback_work netback_ring_rx(struct netback_ring *r, unsigned int budget)
{
	enum netback_work result = NETBACK_MORE;
	unsigned int done = 0;
	int notify;

	if (r->broken)
		return NETBACK_BROKEN;
	while (done < budget) {
		RING_IDX prod = __atomic_load_n(&r->rx.sring->req_prod, __ATOMIC_ACQUIRE);
		if (prod - r->rx.rsp_prod_pvt > RX_RING_SIZE) {
			mark_broken(r, "rx", prod, r->rx.rsp_prod_pvt);
			result = NETBACK_BROKEN;
			break;
		}
		if (!r->rx_pending) {
			ssize_t n = read(r->tap_fd, r->rx_buf, sizeof(r->rx_buf));
			if (n <= 0) {
				result = NETBACK_IDLE;     /* EAGAIN: the TAP is empty */
				break;
			}
			if ((size_t)n > NETBACK_MAX_FRAME || (!r->feat.rx_sg && (size_t)n > PAGE)) {
				r->st.rx_drops++;          /* no way to hand it over in one page */
				done++;
				continue;
			}
			r->rx_pending = (size_t)n;
		}
		unsigned int need = (unsigned int)((r->rx_pending + PAGE - 1) / PAGE);
		if (prod - r->rx.req_cons < need) {
			/* Ask to be told when enough slots are posted, then look once more. */
			__atomic_store_n(&r->rx.sring->req_event, r->rx.req_cons + need, __ATOMIC_RELEASE);
			xen_mb();
			prod = __atomic_load_n(&r->rx.sring->req_prod, __ATOMIC_ACQUIRE);
			if (prod - r->rx.rsp_prod_pvt > RX_RING_SIZE || prod - r->rx.req_cons < need) {
				result = NETBACK_NO_SLOTS;
				break;
			}
		}
		rx_deliver(r, need);
		r->rx_pending = 0;
		done++;
	}
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&r->rx, notify);
	if (notify) {
		evtchn_dom0_send(r->dom, r->rx_port);
		r->st.rx_notifies++;
	}
	return result;
}

bool netback_ring_arm(struct netback_ring *r)
{
	int more = 0;

	if (r->broken)
		return false;
	RING_FINAL_CHECK_FOR_REQUESTS(&r->tx, more);
	return more;
}
