/* libFuzzer target: netback's data path (backends/netback_ring.c) against a hostile netfront.
 *
 * The rig is the unit test's (tests/unit/test_netback_ring.c): a fake domain whose grant table,
 * tx and rx rings and data pages live in guest RAM (here a small one, RAM_PAGES, so that all of it
 * can be checked after every input), and a SOCK_SEQPACKET pair as the TAP.  The input is a config
 * byte, then a sequence of operations (decoded below, at most MAX_STEPS), each followed by what the
 * main loop does when the guest kicks: netback_ring_tx then netback_ring_rx.
 *
 *   config   bit 0 rx_sg (feature-sg); bits 1-2 how the data pages start: rw, ro, none, alternating;
 *            bit 3 vnet_hdr (the TAP's frames start with a virtio_net_hdr), bit 4 tx_gso, bit 5
 *            rx_csum_blank and rx_ipv6_csum, bit 6 rx_gso_tcpv4 and v6 (netback_features)
 *   ops      tx/rx requests (structured or raw bytes) at the frontend's req_prod_pvt, publishing,
 *            req_prod set to anything, scribbles on published slots and on the ring header,
 *            grant entries set and cleared (rw, read-only, another domain, revoked, another type,
 *            a frame outside RAM, the ring or the table itself), frames from the host side of the
 *            TAP (empty to oversized; with vnet headers, the header the input's), Ethernet, IP and
 *            TCP/UDP headers written into a data page (so GSO and checksum offsets parse), the host not reading the TAP for a while, a re-attach (netback_ring_init on the rings as the guest left
 *            them, as a reconnect does), other budgets.
 *
 * Invariants, each an abort (so libFuzzer keeps the input), besides ASan's and UBSan's:
 *   - guest RAM changes only in pages granted rw to Dom0 (and the two ring pages): a shadow copy of
 *     RAM follows the frontend's own writes; a page is compared when it becomes granted and, at the
 *     end of the input, every page not granted then is; the grant table page has to be exactly as
 *     the frontend wrote it (no GTF_reading/GTF_writing left behind);
 *   - no grant stays pinned after a round (dom->xen.pins all zero);
 *   - every slot taken is answered in the same round, in order, with the id of the request in that
 *     slot (0 for a tx extra-info slot, whose status is NETIF_RSP_NULL), a status the protocol
 *     knows, and pushed; rx responses have offset 0 and at most one page;
 *   - the consumer index never passes the req_prod the round saw;
 *   - what reaches the host is one frame per tx packet counted, 14 to 65535 bytes; with vnet
 *     headers, behind one whose GSO type is one tx_gso allows, whose hdr_len and partial checksum
 *     field lie inside the frame;
 *   - rx flags are the ones the frontend's features allow; a NETRXF_extra_info response is followed
 *     by a GSO extra of a type the frontend asked for, with a size.
 * The id and index checks are skipped for a round in which the guest granted its own ring or table
 * page writable (rx data may then rewrite the requests under the backend, which is the guest's
 * business).
 *
 * netback's complaints about the guest go to /dev/null unless XENITH_FUZZ_LOG is set (libFuzzer's
 * and the sanitizers' own output is untouched).  Build and run: tests/fuzz/run [SECONDS]. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "backends/netback.h"
#include "../unit/fake_domain.h"

#define PAGE 4096u
#define RAM_PAGES 64u
#define RAM_BYTES (RAM_PAGES * PAGE)
#define TABLE_GFN 1u
#define TX_RING_GFN 2u
#define RX_RING_GFN 3u
#define DATA_GFN 8u                /* data page i at DATA_GFN + i, granted as ref DATA_REF + i */
#define DATA_PAGES 32u
#define TX_REF 1u
#define RX_REF 2u
#define DATA_REF 16u
#define TABLE_REFS (PAGE / sizeof(grant_entry_v1_t))     /* one table frame */
#define TX_SLOTS __CONST_RING_SIZE(netif_tx, PAGE)
#define RX_SLOTS __CONST_RING_SIZE(netif_rx, PAGE)
#define MAX_STEPS 64
#define TX_BUDGET 256              /* as netback.c's main loop */
#define RX_BUDGET 64

#include "domain_stubs.h"

static FILE *report;               /* the real stderr, for our own complaints */

#define CHECK(cond, ...)                                                                      \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(report, "fuzz-netback-ring: invariant broken: " __VA_ARGS__); \
			fputc('\n', report);                                                  \
			abort();                                                              \
		}                                                                             \
	} while (0)

static struct domain *dom;
static uint8_t *ram;
static uint8_t shadow[RAM_BYTES];          /* what RAM must hold where Dom0 may not write */
static uint8_t initial_ram[RAM_BYTES];     /* zeros, and a pattern in the data pages */
static bool allowed[RAM_PAGES];            /* Dom0 may write the page in this round */
static bool self_overlap;                  /* a ring or the table page is granted writable */
static struct netback_ring *nb;
static netif_tx_front_ring_t ftx;
static netif_rx_front_ring_t frx;
static int tap = -1, peer = -1;
static evtchn_port_t port;
static unsigned int tx_budget, rx_budget;
static struct netback_features feat;
static bool host_stalled;              /* the host does not read the TAP for a while */
static uint64_t packets_read;             /* tx_packets when the host last read everything */
static uint8_t snap_tx[PAGE], snap_rx[PAGE];
static uint8_t frame[NETBACK_MAX_FRAME + 16];
static const struct gnttab_pin no_pins[sizeof(((struct xen_state *)0)->pins) / sizeof(struct gnttab_pin)];

static netif_tx_sring_t *tx_sring(void) { return (netif_tx_sring_t *)(ram + TX_RING_GFN * PAGE); }
static netif_rx_sring_t *rx_sring(void) { return (netif_rx_sring_t *)(ram + RX_RING_GFN * PAGE); }

/* ---- the input ---- */
struct input { const uint8_t *p; size_t n; };

static uint8_t u8(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t u16(struct input *in) { uint16_t v = u8(in); return (uint16_t)(v | (uint16_t)u8(in) << 8); }
static uint32_t u32(struct input *in) { uint32_t v = u16(in); return v | (uint32_t)u16(in) << 16; }

static void bytes(struct input *in, void *dst, size_t len)
{
	size_t n = len < in->n ? len : in->n;
	memcpy(dst, in->p, n);
	memset((uint8_t *)dst + n, 0, len - n);
	in->p += n;
	in->n -= n;
}

/* Mostly the data refs, then the rest of the table, then refs at and past its edges. */
static grant_ref_t ref_of(uint8_t v)
{
	static const grant_ref_t odd[] = { 0, TX_REF, RX_REF, TABLE_REFS - 1, TABLE_REFS, 2047, 2048, 0xffffffffu };
	if (v < 0x80)
		return DATA_REF + v % DATA_PAGES;
	if (v < 0xf0)
		return v;
	return odd[v & 7];
}

/* Mostly data frames, then any page of RAM (the table and rings too), then frames outside it. */
static uint32_t frame_of(uint8_t v)
{
	static const uint32_t far[] = { RAM_PAGES, RAM_PAGES + 1, 0xfffffu, 0x100000u, 0x7fffffffu, 0xffffffffu,
					(uint32_t)(FAKE_RAM_SIZE / PAGE), 0xfff00u };
	if (v < 0x80)
		return DATA_GFN + v % DATA_PAGES;
	if (v < 0xc0)
		return v % RAM_PAGES;
	return far[v & 7];
}

/* ---- the frontend's writes: RAM and the shadow alike ---- */
static void put(uint64_t gpa, const void *src, size_t len)
{
	memcpy(ram + gpa, src, len);
	memcpy(shadow + gpa, src, len);
}

static grant_entry_v1_t *entry(grant_ref_t ref)
{
	return (grant_entry_v1_t *)(ram + TABLE_GFN * PAGE) + ref;
}

static void grant_set(grant_ref_t ref, uint16_t flags, domid_t domid, uint32_t gfn)
{
	/* In-use bits are Xen's to set: a frontend that sets them only confuses itself. */
	grant_entry_v1_t e = { .flags = (uint16_t)(flags & ~(GTF_reading | GTF_writing)), .domid = domid, .frame = gfn };
	if (ref < TABLE_REFS)
		put(TABLE_GFN * PAGE + ref * sizeof(e), &e, sizeof(e));
}

static void op_grant(struct input *in)
{
	grant_ref_t ref = ref_of(u8(in));
	uint8_t kind = u8(in);

	if (ref >= TABLE_REFS)
		return;
	switch (kind % 8) {
	case 0: grant_set(ref, GTF_permit_access, 0, frame_of(u8(in))); break;
	case 1: grant_set(ref, GTF_permit_access | GTF_readonly, 0, frame_of(u8(in))); break;
	case 2: grant_set(ref, GTF_permit_access, (domid_t)(1 + u8(in)), frame_of(u8(in))); break;
	case 3: grant_set(ref, 0, entry(ref)->domid, entry(ref)->frame); break;            /* revoked */
	case 4: {
		uint16_t flags = u16(in);
		uint16_t domid = u16(in);
		grant_set(ref, flags, domid, u32(in));
		break;
	}
	case 5: grant_set(ref, (uint16_t)(GTF_accept_transfer + u8(in) % 2), 0, frame_of(u8(in))); break;
	case 6: grant_set(ref, GTF_permit_access, FAKE_DOMID, frame_of(u8(in))); break;   /* to itself */
	default: grant_set(ref, GTF_permit_access, 0, frame_of((uint8_t)(0xc0 | u8(in)))); break;
	}
}

/* ---- the TAP's host side ---- */
#define VH sizeof(struct virtio_net_hdr)

static void check_host_frame(ssize_t n)
{
	size_t vh = feat.vnet_hdr ? VH : 0;
	struct virtio_net_hdr h;

	CHECK(n >= (ssize_t)(14 + vh) && n <= (ssize_t)(NETBACK_MAX_FRAME + vh), "a %zd-byte frame reached the host", n);
	if (!vh)
		return;
	size_t len = (size_t)n - vh;
	memcpy(&h, frame, VH);
	CHECK(h.gso_type == VIRTIO_NET_HDR_GSO_NONE || (feat.tx_gso && (h.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 ||
	      h.gso_type == VIRTIO_NET_HDR_GSO_TCPV6) && h.gso_size && h.hdr_len <= len),
	      "vnet header gso type %u size %u hdr_len %u on a %zu-byte frame", h.gso_type, h.gso_size, h.hdr_len, len);
	CHECK(!(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) ||
	      ((size_t)h.csum_start + h.csum_offset + 2 <= len && h.csum_start >= 14),
	      "partial checksum at %u + %u in a %zu-byte frame", h.csum_start, h.csum_offset, len);
	CHECK(!(h.flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)), "vnet flags %#x", h.flags);
}

/* Ethernet, then IPv4 or IPv6, then TCP or UDP, lengths from the input: enough for the offload
 * parser to go deep. */
static size_t headers(struct input *in, uint8_t *f)
{
	uint8_t sel = u8(in);
	bool v6 = sel & 1, udp = sel & 2;
	size_t at = 14;

	memset(f, 0, 14 + 40 + 20);
	f[12] = v6 ? 0x86 : 0x08;
	f[13] = v6 ? 0xdd : 0x00;
	uint16_t l = u16(in);
	if (v6) {
		f[at] = 0x60;
		f[at + 4] = (uint8_t)(l >> 8);
		f[at + 5] = (uint8_t)l;
		f[at + 6] = udp ? 17 : 6;
		at += 40;
	} else {
		f[at] = 0x45;
		f[at + 2] = (uint8_t)(l >> 8);
		f[at + 3] = (uint8_t)l;
		f[at + 9] = udp ? 17 : 6;
		at += 20;
	}
	if (udp) {
		f[at + 4] = (uint8_t)(l >> 8);
		f[at + 5] = (uint8_t)(l - (v6 ? 0 : 20));
		at += 8;
	} else {
		f[at + 12] = (uint8_t)((sel & 0xf0) ? sel & 0xf0 : 0x50);   /* data offset */
		at += 20;
	}
	return at;
}

/* The headers into a data page at an offset: what the next tx request may point at. */
static void op_headers(struct input *in)
{
	uint8_t f[14 + 40 + 20];
	unsigned int page = u8(in) % DATA_PAGES;
	size_t len = headers(in, f), off = u16(in) % (PAGE - len + 1);
	put((uint64_t)(DATA_GFN + page) * PAGE + off, f, len);
}
static unsigned int drain(int fd, bool check)
{
	unsigned int frames = 0;

	for (;;) {
		ssize_t n = recv(fd, frame, sizeof(frame), MSG_DONTWAIT);
		if (n < 0)
			break;
		if (check)
			check_host_frame(n);
		frames++;
	}
	return frames;
}

static void op_host_send(struct input *in)
{
	static const size_t sizes[] = { 0, 1, 13, 14, 60, 1514, 4095, 4096, 4097, 8191, 8192, 9000,
					32768, NETBACK_MAX_FRAME - 1, NETBACK_MAX_FRAME, NETBACK_MAX_FRAME + 1 };
	uint8_t b = u8(in);
	size_t len = b < 0xc0 ? (size_t)b * 23 : sizes[b & 15];
	if (b >= 0xf0)
		len = (size_t)u16(in) % (NETBACK_MAX_FRAME + 2);
	memset(frame, u8(in), len);
	if (feat.vnet_hdr) {
		/* The header the kernel would write, then the frame (headers that parse, sometimes). */
		memmove(frame + VH, frame, len);
		bytes(in, frame, VH);
		if (len >= 14 + 40 + 20 && (frame[0] & 0x80))
			headers(in, frame + VH);
		len += VH;
	}
	(void)send(peer, frame, len, MSG_DONTWAIT);      /* a full socket drops it, as a TAP would */
}

/* ---- the rings ---- */
static void op_tx_put(struct input *in)
{
	netif_tx_request_t q;

	q.gref = ref_of(u8(in));
	q.offset = u16(in);
	q.flags = u8(in);
	q.id = u16(in);
	q.size = u16(in);
	*RING_GET_REQUEST(&ftx, ftx.req_prod_pvt++) = q;
}

static void op_tx_extra(struct input *in)
{
	struct netif_extra_info x;

	x.type = u8(in) % 7;
	x.flags = u8(in);
	bytes(in, &x.u, sizeof(x.u));
	memcpy((void *)RING_GET_REQUEST(&ftx, ftx.req_prod_pvt++), &x, sizeof(x));
}

static void op_rx_post(struct input *in)
{
	netif_rx_request_t q = { .id = u16(in), .gref = ref_of(u8(in)) };
	*RING_GET_REQUEST(&frx, frx.req_prod_pvt++) = q;
}

/* Raw bytes into a slot: the next one, or any (even a published one) with bit 1 of the selector. */
static void op_raw(struct input *in)
{
	uint8_t sel = u8(in);
	bool rx = sel & 1;
	RING_IDX idx = sel & 2 ? (RING_IDX)u8(in) : rx ? frx.req_prod_pvt++ : ftx.req_prod_pvt++;
	if (rx)
		bytes(in, (void *)RING_GET_REQUEST(&frx, idx), sizeof(netif_rx_request_t));
	else
		bytes(in, (void *)RING_GET_REQUEST(&ftx, idx), sizeof(netif_tx_request_t));
}

/* Publishing, honestly or not. */
static void op_prod(struct input *in)
{
	uint8_t sel = u8(in);
	bool rx = sel & 1;
	RING_IDX *pvt = rx ? &frx.req_prod_pvt : &ftx.req_prod_pvt;
	RING_IDX *prod = rx ? &rx_sring()->req_prod : &tx_sring()->req_prod;
	RING_IDX rsp = rx ? nb->rx.rsp_prod_pvt : nb->tx.rsp_prod_pvt;
	RING_IDX v;

	switch ((sel >> 1) % 4) {
	case 0: v = *pvt; break;                                        /* RING_PUSH_REQUESTS */
	case 1: v = *prod + (RING_IDX)(int8_t)u8(in); break;
	case 2: v = rsp + (rx ? RX_SLOTS : TX_SLOTS) + (RING_IDX)(int8_t)u8(in); break;   /* about a ring ahead */
	default: v = u32(in); break;
	}
	xen_wmb();
	*prod = v;
	if (sel & 8)
		*pvt = v;
}

/* The shared header's other words: rsp_event says when to notify, rsp_prod is where a re-attach
 * starts. */
static void op_header(struct input *in)
{
	uint8_t sel = u8(in);
	RING_IDX v = sel & 8 ? u32(in) : (RING_IDX)(int8_t)u8(in);
	void *s = sel & 1 ? (void *)rx_sring() : (void *)tx_sring();
	RING_IDX *w = (RING_IDX *)s + (sel >> 1) % 4;     /* req_prod, req_event, rsp_prod, rsp_event */
	if (!(sel & 8))
		v += *w;
	*w = v;
}

/* A host that stops reading, with a small socket buffer, so that tx fills it within an input and
 * netback's writes fail (NETIF_RSP_DROPPED); and one that reads everything after each round. */
static void stall(bool on)
{
	int buf = on ? 16 << 10 : 4 << 20;

	if (host_stalled != on)
		setsockopt(tap, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	host_stalled = on;
}

static void attach(void)
{
	netback_ring_init(nb, &(struct netback_ring_params){ .dom = dom, .name = "vif7.0", .tx_page = tx_sring(),
		.rx_page = rx_sring(), .tx_port = port, .rx_port = port, .tap_fd = tap, .feat = feat });
}

static void op_budget(struct input *in)
{
	tx_budget = 1u + u8(in);
	rx_budget = 1u + u8(in) % RX_BUDGET;
}

/* ---- a round of backend work, and what it must not do ---- */

/* Which pages Dom0 may write now; pages becoming writable must not have been written meanwhile, and
 * pages ceasing to be take what was written while they were as their new baseline. */
static void update_allowed(void)
{
	bool now[RAM_PAGES] = { false };

	now[TX_RING_GFN] = now[RX_RING_GFN] = true;
	self_overlap = false;
	for (grant_ref_t ref = 0; ref < TABLE_REFS; ref++) {
		const grant_entry_v1_t *e = entry(ref);
		if ((e->flags & GTF_type_mask) != GTF_permit_access || e->domid != 0 || (e->flags & GTF_readonly) ||
		    e->frame >= RAM_PAGES)
			continue;
		now[e->frame] = true;
		if (e->frame == TABLE_GFN || e->frame == TX_RING_GFN || e->frame == RX_RING_GFN)
			self_overlap = true;
	}
	if (now[TABLE_GFN])                   /* data into the table can grant anything mid-round */
		for (unsigned int p = 0; p < RAM_PAGES; p++)
			now[p] = true;
	for (unsigned int p = 0; p < RAM_PAGES; p++) {
		if (now[p] && !allowed[p])
			CHECK(!memcmp(ram + p * PAGE, shadow + p * PAGE, PAGE),
			      "guest page %#x written while not granted writable to Dom0", p);
		else if (!now[p] && allowed[p])
			memcpy(shadow + p * PAGE, ram + p * PAGE, PAGE);
		allowed[p] = now[p];
	}
}

static void check_tx(RING_IDX cons0, RING_IDX rsp0, RING_IDX prod)
{
	const netif_tx_sring_t *snap = (const netif_tx_sring_t *)snap_tx;
	RING_IDX cons = nb->tx.req_cons, rsp = nb->tx.rsp_prod_pvt;

	CHECK(cons - cons0 <= prod - cons0, "tx req_cons %u passed req_prod %u (was %u)", cons, prod, cons0);
	CHECK(rsp - rsp0 == cons - cons0, "tx: %u slots taken, %u answered", cons - cons0, rsp - rsp0);
	CHECK(rsp == rsp0 || tx_sring()->rsp_prod == rsp, "tx responses up to %u made, %u pushed", rsp,
	      tx_sring()->rsp_prod);     /* a guest may scribble on rsp_prod meanwhile */
	for (RING_IDX k = rsp0; k != rsp; k++) {
		netif_tx_response_t r = *RING_GET_RESPONSE(&ftx, k);
		uint16_t id = snap->ring[k & (TX_SLOTS - 1)].req.id;
		CHECK(r.status == NETIF_RSP_OKAY || r.status == NETIF_RSP_ERROR || r.status == NETIF_RSP_DROPPED ||
		      r.status == NETIF_RSP_NULL, "tx response %u: status %d", k, r.status);
		CHECK(r.status == NETIF_RSP_NULL ? r.id == 0 : r.id == id, "tx response %u: id %u for request id %u",
		      k, r.id, id);
	}
}

static void check_rx(RING_IDX cons0, RING_IDX rsp0, RING_IDX prod)
{
	const netif_rx_sring_t *snap = (const netif_rx_sring_t *)snap_rx;
	RING_IDX cons = nb->rx.req_cons, rsp = nb->rx.rsp_prod_pvt;

	CHECK(cons - cons0 <= prod - cons0, "rx req_cons %u passed req_prod %u (was %u)", cons, prod, cons0);
	CHECK(rsp - rsp0 == cons - cons0, "rx: %u slots taken, %u answered", cons - cons0, rsp - rsp0);
	CHECK(rsp == rsp0 || rx_sring()->rsp_prod == rsp, "rx responses up to %u made, %u pushed", rsp,
	      rx_sring()->rsp_prod);     /* a guest may scribble on rsp_prod meanwhile */
	uint16_t allowed_flags = NETRXF_more_data | NETRXF_data_validated |
		(feat.rx_csum_blank ? NETRXF_csum_blank : 0) |
		(feat.rx_gso_tcpv4 || feat.rx_gso_tcpv6 ? NETRXF_extra_info : 0);
	bool first = true;
	for (RING_IDX k = rsp0; k != rsp; k++) {
		netif_rx_response_t r = *RING_GET_RESPONSE(&frx, k);
		uint16_t id = snap->ring[k & (RX_SLOTS - 1)].req.id;
		CHECK(r.id == id, "rx response %u: id %u for request id %u", k, r.id, id);
		CHECK(r.status == NETIF_RSP_ERROR || (r.status > 0 && r.status <= (int)PAGE), "rx response %u: status %d",
		      k, r.status);
		CHECK(r.offset == 0 && !(r.flags & ~allowed_flags), "rx response %u: offset %u flags %#x", k,
		      r.offset, r.flags);
		CHECK(first || !(r.flags & (NETRXF_extra_info | NETRXF_csum_blank)), "rx response %u: flags %#x past a "
		      "frame's first slot", k, r.flags);
		if (first && (r.flags & NETRXF_extra_info)) {
			struct netif_extra_info x;
			CHECK(k + 1 != rsp, "rx response %u: extra_info with no slot after it", k);
			memcpy(&x, RING_GET_RESPONSE(&frx, ++k), sizeof(x));
			CHECK(x.type == XEN_NETIF_EXTRA_TYPE_GSO && !(x.flags & XEN_NETIF_EXTRA_FLAG_MORE) && x.u.gso.size &&
			      ((x.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4 && feat.rx_gso_tcpv4) ||
			       (x.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV6 && feat.rx_gso_tcpv6)) && feat.rx_sg,
			      "rx extra %u: type %u flags %u gso type %u size %u", k, x.type, x.flags, x.u.gso.type,
			      x.u.gso.size);
		}
		first = !(r.flags & NETRXF_more_data);
	}
}

static void run_round(void)
{
	update_allowed();
	memcpy(snap_tx, tx_sring(), PAGE);
	memcpy(snap_rx, rx_sring(), PAGE);
	RING_IDX tcons = nb->tx.req_cons, trsp = nb->tx.rsp_prod_pvt, tprod = tx_sring()->req_prod;
	RING_IDX rcons = nb->rx.req_cons, rrsp = nb->rx.rsp_prod_pvt, rprod = rx_sring()->req_prod;

	enum netback_work t = netback_ring_tx(nb, tx_budget);
	enum netback_work r = netback_ring_rx(nb, rx_budget);
	CHECK((t == NETBACK_BROKEN) == nb->broken || r == NETBACK_BROKEN, "tx said %d, broken %d", t, nb->broken);
	CHECK(t != NETBACK_NO_SLOTS, "tx said NO_SLOTS");
	if (!self_overlap) {
		check_tx(tcons, trsp, tprod);
		check_rx(rcons, rrsp, rprod);
	}
	CHECK(!memcmp(dom->xen.pins, no_pins, sizeof(no_pins)), "a grant is still pinned after the round");
	if (!host_stalled) {
		unsigned int frames = drain(peer, true);
		CHECK(frames == nb->st.tx_packets - packets_read, "%u frames reached the host for %llu tx packets",
		      frames, (unsigned long long)(nb->st.tx_packets - packets_read));
		packets_read = nb->st.tx_packets;
	}
}

/* ---- one input ---- */

static void setup(uint8_t config)
{
	memcpy(ram, initial_ram, RAM_BYTES);
	memset(dom->xen.shared_info, 0, PAGE);      /* the pending bits our notifications set */
	SHARED_RING_INIT(tx_sring());
	FRONT_RING_INIT(&ftx, tx_sring(), PAGE);
	SHARED_RING_INIT(rx_sring());
	FRONT_RING_INIT(&frx, rx_sring(), PAGE);
	memcpy(shadow, ram, RAM_BYTES);
	grant_set(TX_REF, GTF_permit_access, 0, TX_RING_GFN);
	grant_set(RX_REF, GTF_permit_access, 0, RX_RING_GFN);
	for (unsigned int i = 0; i < DATA_PAGES; i++) {
		unsigned int mode = (config >> 1) & 3;
		bool ro = mode == 1 || (mode == 3 && (i & 1));
		if (mode != 2)
			grant_set(DATA_REF + i, (uint16_t)(GTF_permit_access | (ro ? GTF_readonly : 0)), 0, DATA_GFN + i);
	}
	memset(allowed, 0, sizeof(allowed));
	allowed[TX_RING_GFN] = allowed[RX_RING_GFN] = true;
	drain(peer, false);
	drain(tap, false);
	/* A fresh ring, but the complaint rate limit carries on: it is what keeps the log quiet. */
	uint64_t window = nb->log_window_ns, suppressed = nb->log_suppressed;
	unsigned int count = nb->log_count;
	memset(nb, 0, offsetof(struct netback_ring, buf));
	nb->log_window_ns = window;
	nb->log_count = count;
	nb->log_suppressed = suppressed;
	feat = (struct netback_features){
		.rx_sg = config & 1, .vnet_hdr = config & 8, .tx_gso = config & 16,
		.rx_csum_blank = config & 32, .rx_ipv6_csum = config & 32,
		.rx_gso_tcpv4 = config & 64, .rx_gso_tcpv6 = config & 64,
	};
	stall(false);
	packets_read = 0;
	attach();
	tx_budget = TX_BUDGET;
	rx_budget = RX_BUDGET;
}

static void finish(void)
{
	update_allowed();
	for (unsigned int p = 0; p < RAM_PAGES; p++)
		if (!allowed[p])
			CHECK(!memcmp(ram + p * PAGE, shadow + p * PAGE, PAGE),
			      "guest page %#x written while not granted writable to Dom0", p);
}

static void guest_kicked(void *opaque)
{
	(void)opaque;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int sv[2], buf = 4 << 20;
	(void)argc;
	(void)argv;

	report = stderr;
	if (!getenv("XENITH_FUZZ_LOG")) {
		FILE *null = fopen("/dev/null", "w");
		if (null)
			stderr = null;          /* LOG() only; libFuzzer and the sanitizers keep fd 2 */
	}
	dom = fake_domain_new(1);
	free(dom->vm.ram);
	dom->vm.ram = ram = aligned_alloc(PAGE, RAM_BYTES);
	if (!ram)
		abort();
	memset(ram, 0, RAM_BYTES);
	for (unsigned int i = 0; i < DATA_PAGES; i++)
		for (unsigned int j = 0; j < PAGE; j++)
			initial_ram[(DATA_GFN + i) * PAGE + j] = (uint8_t)(i * 37 + j);
	dom->vm.ram_size = dom->vm.low_ram_size = RAM_BYTES;
	struct xen_add_to_physmap x = { .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table, .idx = 0, .gpfn = TABLE_GFN };
	if (fake_op(dom, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, &x, sizeof(x)))
		abort();
	int p = evtchn_dom0_bind(dom, 0, guest_kicked, NULL);
	if (p <= 0)
		abort();
	port = (evtchn_port_t)p;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		abort();
	tap = sv[0];
	peer = sv[1];
	fcntl(tap, F_SETFL, O_NONBLOCK);
	fcntl(peer, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	}
	nb = calloc(1, sizeof(*nb));
	if (!nb)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	setup(u8(&in));
	for (unsigned int step = 0; step < MAX_STEPS && in.n; step++) {
		switch (u8(&in) % 13) {
		case 0: op_tx_put(&in); break;
		case 1: op_tx_extra(&in); break;
		case 2: op_rx_post(&in); break;
		case 3: op_raw(&in); break;
		case 4: op_prod(&in); break;
		case 5: op_header(&in); break;
		case 6: op_grant(&in); break;
		case 7: op_host_send(&in); break;
		case 8: attach(); break;
		case 9: op_budget(&in); break;
		case 10: stall(!host_stalled); break;              /* tx may fill the TAP: drops */
		case 11: op_headers(&in); break;
		default: op_prod(&in); op_host_send(&in); break;   /* a push and a frame together */
		}
		run_round();
	}
	finish();
	return 0;
}
