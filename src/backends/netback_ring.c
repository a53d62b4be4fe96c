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
 * Offloads (netback_offload.c, docs/netif.md "Offloads: GSO and checksums").  A tx packet's GSO
 * extra and csum_blank / data_validated flags become the virtio_net_hdr written before it when the
 * TAP has vnet headers (feat.vnet_hdr); without, a blank checksum is completed here
 * (netback_csum.c) and GSO is refused.  A packet refused gets NETIF_RSP_ERROR and counts in
 * tx_errors.  On rx the TAP's vnet header becomes NETRXF_csum_blank / data_validated and, for a GSO
 * frame, NETRXF_extra_info on the first response with the GSO extra in the next slot; the TAP's
 * offloads (TUNSETOFFLOAD at init) follow the frontend's features, and a frame beyond them is
 * dropped (rx_drops).
 *
 * Event indices.  netback_ring_tx never re-arms req_event: while the queue's thread polls, a busy
 * frontend pushes without notifying; netback_ring_arm re-arms it before the thread sleeps.
 *
 * A producer index more than a ring ahead of our responses cannot happen with an honest frontend:
 * the vif is marked broken and served no more.  Budgets bound the work per call so one busy vif
 * cannot starve the main loop. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
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

/* The counters: written by the queue's thread only, read by the main thread's stats lines (relaxed
 * loads), so single-writer relaxed stores suffice. */
static void stat_add(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
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
	r->tap_offloads = 0;
	/* The kernel must never hand us what the frontend cannot take. */
	if (r->feat.vnet_hdr) {
		unsigned int want = netback_tap_offloads(&r->feat);
		if (ioctl(r->tap_fd, TUNSETOFFLOAD, want))
			LOG("%s: TUNSETOFFLOAD %#x on the TAP: %s; no offloads from the kernel", r->name,
			    want, strerror(errno));
		else
			r->tap_offloads = want;
	}
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
			struct netback_tx_meta meta = { 0 };
			struct virtio_net_hdr vh;

			RING_COPY_REQUEST(&r->tx, idx, &slots[0].req);
			slots[n++].extra = false;
			meta.flags = slots[0].req.flags;
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
				if (x.type == XEN_NETIF_EXTRA_TYPE_GSO) {
					meta.gso = true;
					meta.gso_size = x.u.gso.size;
					meta.gso_type = x.u.gso.type;
				}
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
			if (status == NETIF_RSP_OKAY) {
				char why[200];
				if (netback_tx_offload(r->buf, len, &meta, &r->feat, &vh, why, sizeof(why))) {
					guest_error(r, "tx packet at %u refused: %s", r->tx.req_cons, why);
					status = NETIF_RSP_ERROR;
				}
			}
			if (status == NETIF_RSP_OKAY) {
				struct iovec iov[2] = { { &vh, sizeof(vh) }, { r->buf, len } };
				bool vnet = r->feat.vnet_hdr;
				ssize_t w = writev(r->tap_fd, iov + !vnet, 2 - !vnet);
				if (w == (ssize_t)(len + (vnet ? sizeof(vh) : 0))) {
					stat_add(&r->st.tx_packets, 1);
					stat_add(&r->st.tx_bytes, len);
				} else {
					status = NETIF_RSP_DROPPED;
					stat_add(&r->st.tx_drops, 1);
				}
			} else {
				stat_add(&r->st.tx_errors, 1);
			}
			r->tx.req_cons = idx;
			tx_respond(r, slots, n, status);
			used += n;
		}
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&r->tx, notify);
		if (notify) {
			evtchn_dom0_send(r->dom, r->tx_port);
			stat_add(&r->st.tx_notifies, 1);
		}
		if (used >= budget)
			return NETBACK_MORE;
		/* No re-arming here: while the poller spins, req_event stays where it is so a busy
		 * frontend does not notify; netback_ring_arm sets it before the thread sleeps. */
		if (!RING_HAS_UNCONSUMED_REQUESTS(&r->tx))
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

/* Puts the pending frame into `need` posted slots: data in slot 0, then (a GSO frame) the
 * XEN_NETIF_EXTRA_TYPE_GSO extra in slot 1, whose posted page is left unused, then the rest. */
static void rx_deliver(struct netback_ring *r, unsigned int need)
{
	struct grant_mapping maps[NETBACK_MAX_FRAME / PAGE + 2];
	netif_rx_request_t reqs[NETBACK_MAX_FRAME / PAGE + 2];
	const struct netback_rx_meta *m = &r->rx_meta;
	unsigned int extra_at = m->gso_type != XEN_NETIF_GSO_TYPE_NONE ? 1 : need;
	unsigned int mapped = 0;

	for (unsigned int i = 0; i < need; i++) {
		RING_COPY_REQUEST(&r->rx, r->rx.req_cons + i, &reqs[i]);
		if (i == extra_at) {
			mapped++;
			continue;
		}
		int e = gnttab_map(r->dom, reqs[i].gref, 0, false, &maps[i]);
		if (e) {
			guest_error(r, "rx gref %u refused (%d)", reqs[i].gref, e);
			break;
		}
		mapped++;
	}
	if (mapped < need) {
		for (unsigned int i = 0; i < mapped; i++)
			if (i != extra_at)
				gnttab_unmap(&maps[i]);
		rx_error_slots(r, need);
		stat_add(&r->st.rx_errors, 1);
		return;
	}
	size_t at = 0;
	for (unsigned int i = 0; i < need; i++) {
		netif_rx_response_t *rsp = RING_GET_RESPONSE(&r->rx, r->rx.rsp_prod_pvt);
		r->rx.rsp_prod_pvt++;
		if (i == extra_at) {
			struct netif_extra_info x = {
				.type = XEN_NETIF_EXTRA_TYPE_GSO,
				.u.gso = { .size = m->gso_size, .type = m->gso_type },
			};
			_Static_assert(sizeof(x) <= sizeof(*rsp), "an extra fits a response slot");
			memcpy(rsp, &x, sizeof(x));
			continue;
		}
		size_t chunk = r->rx_pending - at < PAGE ? r->rx_pending - at : PAGE;
		memcpy(maps[i].page, r->rx_buf + at, chunk);
		gnttab_unmap(&maps[i]);
		at += chunk;
		uint16_t flags = at < r->rx_pending ? NETRXF_more_data : 0;
		if (i == 0)
			flags |= m->flags | (extra_at < need ? NETRXF_extra_info : 0);
		*rsp = (netif_rx_response_t){ .id = reqs[i].id, .offset = 0, .flags = flags, .status = (int16_t)chunk };
	}
	r->rx.req_cons += need;
	stat_add(&r->st.rx_packets, 1);
	stat_add(&r->st.rx_bytes, r->rx_pending);
}

/* One frame from the TAP into rx_buf (and rx_vhdr, rx_meta): its length; 0 when the TAP is empty;
 * -1 for a frame dropped. */
static ssize_t rx_read(struct netback_ring *r)
{
	struct iovec iov[2] = { { &r->rx_vhdr, sizeof(r->rx_vhdr) }, { r->rx_buf, sizeof(r->rx_buf) } };
	bool vnet = r->feat.vnet_hdr;
	char why[200];

	r->rx_vhdr = (struct virtio_net_hdr){ 0 };
	ssize_t n = readv(r->tap_fd, iov + !vnet, 2 - !vnet);
	if (n <= 0)
		return 0;                          /* EAGAIN: the TAP is empty */
	if (vnet && (size_t)n < sizeof(r->rx_vhdr)) {
		stat_add(&r->st.rx_drops, 1);
		return -1;
	}
	n -= vnet ? (ssize_t)sizeof(r->rx_vhdr) : 0;
	if (!n || (size_t)n > NETBACK_MAX_FRAME || (!r->feat.rx_sg && (size_t)n > PAGE)) {
		stat_add(&r->st.rx_drops, 1);                  /* no way to hand it over */
		return -1;
	}
	if (netback_rx_offload(r->rx_buf, (size_t)n, &r->rx_vhdr, &r->feat, &r->rx_meta, why, sizeof(why))) {
		guest_error(r, "rx frame of %zd bytes from the TAP dropped: %s", n, why);
		stat_add(&r->st.rx_drops, 1);
		return -1;
	}
	return n;
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
			ssize_t n = rx_read(r);
			if (n == 0) {
				result = NETBACK_IDLE;
				break;
			}
			if (n < 0) {
				done++;
				continue;
			}
			r->rx_pending = (size_t)n;
		}
		unsigned int need = (unsigned int)((r->rx_pending + PAGE - 1) / PAGE) +
				    (r->rx_meta.gso_type != XEN_NETIF_GSO_TYPE_NONE);
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
		stat_add(&r->st.rx_notifies, 1);
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
