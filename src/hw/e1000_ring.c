/* The 82540EM's descriptor rings (Intel's manual, sections 3.2 and 3.3), between guest RAM and the
 * port.
 *
 * A ring is base (xDBAH:xDBAL), length in bytes (xDLEN, a multiple of 128) and head/tail indices of
 * 16-byte descriptors; the device owns head..tail-1.  The registers are checked at each use: a ring
 * outside RAM, of length 0 or with head or tail past its end stops that ring (logged), as a real
 * queue would hang, until the guest writes one of its registers again.  Descriptors are copied out
 * of guest memory before they are looked at, and every buffer is checked against RAM whole, so a
 * guest changing them underneath us harms only its own frames.
 *
 * Transmit takes legacy descriptors and the extended ones (DEXT): a context descriptor keeps the
 * checksum offsets, data descriptors carry the frame.  A frame is sent only once its EOP is in the
 * ring (TDH stays at its first descriptor until then), so nothing half-built lives between calls.
 * A bad buffer, a chain longer than E1000_FRAME_MAX or a TSE frame (no segmentation offload) is
 * consumed up to its EOP and dropped, counted in e->faults.
 *
 * Receive takes one frame at a time from the port, filtered as RCTL says, padded to 60 bytes and,
 * unless RCTL.SECRC, with its FCS appended, as the wire would give it; it spans descriptors of
 * RCTL's buffer size.  With no descriptor free the frame is missed (MPC); the port's reader stops
 * while the ring is full, so frames wait in the TAP's queue instead. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "hw/e1000.h"
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/vm.h"

enum {
	RCTL_EN = 1u << 1, RCTL_LPE = 1u << 5, RCTL_BSEX = 1u << 25, RCTL_SECRC = 1u << 26,
	TCTL_EN = 1u << 1, CTRL_VME = 1u << 30,
	/* descriptor command byte (legacy CMD, extended DCMD) */
	CMD_EOP = 1u << 0, CMD_IC = 1u << 2, CMD_TSE = 1u << 2, CMD_RS = 1u << 3, CMD_DEXT = 1u << 5,
	CMD_VLE = 1u << 6,
	POPTS_IXSM = 1u << 0, POPTS_TXSM = 1u << 1,
	DTYP_CONTEXT = 0, DTYP_DATA = 1,
	STA_DD = 1u << 0, STA_EOP = 1u << 1, STA_IXSM = 1u << 2,
	RXERR_RXE = 1u << 7,
};

#define DESC_SIZE 16u
#define FRAME_MIN 60u                 /* without FCS */
#define FRAME_STD_MAX 1522u           /* with a VLAN tag and FCS, when RCTL.LPE is off */

struct ring {
	uint64_t base;
	uint32_t count, head, tail;
};

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

void e1000_ring_changed(struct e1000 *e, bool tx)
{
	if (tx)
		e->tx_stopped = false;
	else
		e->rx_stopped = false;
}

/* The ring's registers if they name a ring in RAM; else the ring stops. */
static bool ring_get(struct e1000 *e, bool tx, struct ring *r)
{
	enum e1000_reg bal = tx ? E1000_TDBAL : E1000_RDBAL;   /* BAH, LEN, H, T follow in order */
	bool *stopped = tx ? &e->tx_stopped : &e->rx_stopped;
	uint32_t len = e->reg[bal + 2];
	const char *why = NULL;

	if (*stopped)
		return false;
	r->base = (uint64_t)e->reg[bal + 1] << 32 | e->reg[bal];
	r->count = len / DESC_SIZE;
	r->head = e->reg[bal + 3];
	r->tail = e->reg[bal + 4];
	if (!r->count)
		why = "length 0";
	else if (!vm_gpa_to_hva(&e->dom->vm, r->base, len))
		why = "not inside RAM";
	else if (r->head >= r->count || r->tail >= r->count)
		why = "head or tail past its end";
	if (!why)
		return true;
	*stopped = true;
	e->faults.ring_stops++;
	if (e->stop_logs < 8) {
		e->stop_logs++;
		LOG("%s: %s ring at %#llx, %u bytes, head %u, tail %u: %s; stopped until the guest sets it again",
		    e->name, tx ? "transmit" : "receive", (unsigned long long)r->base, len, r->head, r->tail, why);
	}
	return false;
}

static uint8_t *desc_at(struct e1000 *e, const struct ring *r, uint32_t index)
{
	return vm_gpa_to_hva(&e->dom->vm, r->base + (uint64_t)index * DESC_SIZE, DESC_SIZE);
}

/* ---- transmit ---- */

/* The Internet checksum of frame[start..end) (end 0: the frame's end) into offset `at`, where the
 * driver left the pseudo-header's sum (or zero). */
static void put_checksum(uint8_t *frame, size_t len, size_t start, size_t end_incl, size_t at)
{
	size_t end = end_incl && end_incl + 1 < len ? end_incl + 1 : len;
	uint32_t sum = 0;

	if (start >= end || at + 2 > len)
		return;
	for (size_t i = start; i < end; i += 2)
		sum += (uint32_t)frame[i] << 8 | (i + 1 < end ? frame[i + 1] : 0);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	frame[at] = (uint8_t)(~sum >> 8);
	frame[at + 1] = (uint8_t)~sum;
}

struct tx_frame {
	size_t len;
	bool first_seen;
	uint8_t popts;               /* of the first data descriptor */
	bool tse;
};

static void tx_send(struct e1000 *e, struct tx_frame *f, const uint8_t *last)
{
	uint8_t *frame = e->frame;
	size_t len = f->len;
	uint32_t lower = le32(last + 8);
	bool dext = lower >> 24 & CMD_DEXT;
	uint8_t cmd = (uint8_t)(lower >> 24);

	if (f->tse && e->tx_ctx.tse) {
		e->faults.tx_tso++;
		return;
	}
	if (dext) {
		if (f->popts & POPTS_IXSM)
			put_checksum(frame, len, e->tx_ctx.ipcss, e->tx_ctx.ipcse, e->tx_ctx.ipcso);
		if (f->popts & POPTS_TXSM)
			put_checksum(frame, len, e->tx_ctx.tucss, e->tx_ctx.tucse, e->tx_ctx.tucso);
	} else if (cmd & CMD_IC) {
		put_checksum(frame, len, last[13], 0, last[10]);
	}
	if ((cmd & CMD_VLE) && (e->reg[E1000_CTRL] & CTRL_VME) && len >= 12) {
		uint16_t tci = le16(last + 14), tpid = (uint16_t)e->reg[E1000_VET];
		memmove(frame + 16, frame + 12, len - 12);
		frame[12] = (uint8_t)(tpid >> 8);
		frame[13] = (uint8_t)tpid;
		frame[14] = (uint8_t)(tci >> 8);
		frame[15] = (uint8_t)tci;
		len += 4;
	}
	if (len == 0 || e->port.fd < 0 || write(e->port.fd, frame, len) != (ssize_t)len) {
		e->faults.tx_port_errors++;
		return;
	}
	e1000_count(e, E1000_ST_GPTC, E1000_ST_GPTC, 1);
	e1000_count(e, E1000_ST_TPT, E1000_ST_TPT, 1);
	e1000_count(e, E1000_ST_GOTCL, E1000_ST_GOTCH, len);
	e1000_count(e, E1000_ST_TOTL, E1000_ST_TOTH, len);
	if (len >= 6 && (frame[0] & 1)) {
		enum e1000_stat st = memcmp(frame, "\xff\xff\xff\xff\xff\xff", 6) ? E1000_ST_MPTC : E1000_ST_BPTC;
		e1000_count(e, st, st, 1);
	}
}

/* Descriptors from..to-1 are done: DD where the driver asked for a report (RS). */
static void tx_write_back(struct e1000 *e, const struct ring *r, uint32_t from, uint32_t to)
{
	for (uint32_t i = from; i != to; i = (i + 1) % r->count) {
		uint8_t *d = desc_at(e, r, i);
		if (d && (__atomic_load_n(&d[11], __ATOMIC_RELAXED) & CMD_RS))
			__atomic_store_n(&d[12], (uint8_t)(d[12] | STA_DD), __ATOMIC_RELEASE);
	}
}

/* One descriptor into the frame being built: false when it spoils the frame. */
static bool tx_take(struct e1000 *e, struct tx_frame *f, uint64_t addr, uint32_t len)
{
	if (len > E1000_BUFFER_MAX) {
		e->faults.tx_bad_desc++;
		return false;
	}
	if (f->len + len > E1000_FRAME_MAX) {
		e->faults.tx_oversize++;
		return false;
	}
	if (!len)
		return true;
	const uint8_t *buf = vm_gpa_to_hva(&e->dom->vm, addr, len);
	if (!buf) {
		e->faults.tx_bad_desc++;
		return false;
	}
	memcpy(e->frame + f->len, buf, len);
	f->len += len;
	return true;
}

void e1000_tx_run(struct e1000 *e)
{
	struct ring r;
	struct tx_frame f = { 0 };
	bool dropping = e->tx_dropping, moved = false;

	if (e->unplugged || !(e->reg[E1000_TCTL] & TCTL_EN) || !ring_get(e, true, &r))
		return;
	uint32_t committed = r.head, i = r.head;
	for (uint32_t n = 0; i != r.tail && n < r.count; i = (i + 1) % r.count, n++) {
		uint8_t d[DESC_SIZE];
		const uint8_t *src = desc_at(e, &r, i);
		if (!src)
			break;                 /* cannot happen: the ring was checked whole */
		memcpy(d, src, DESC_SIZE);
		uint32_t lower = le32(d + 8);
		uint8_t cmd = (uint8_t)(lower >> 24);
		bool eop;
		if (cmd & CMD_DEXT) {
			unsigned int dtyp = (lower >> 20) & 0xf;
			if (dtyp == DTYP_CONTEXT) {
				e->tx_ctx.ipcss = d[0];
				e->tx_ctx.ipcso = d[1];
				e->tx_ctx.ipcse = le16(d + 2);
				e->tx_ctx.tucss = d[4];
				e->tx_ctx.tucso = d[5];
				e->tx_ctx.tucse = le16(d + 6);
				e->tx_ctx.tse = cmd & CMD_TSE;
				if (!f.len && !f.first_seen && !dropping)
					committed = (i + 1) % r.count;
				continue;
			}
			eop = cmd & CMD_EOP;
			if (dtyp != DTYP_DATA) {
				e->faults.tx_bad_desc++;
				dropping = true;
			} else if (!dropping) {
				if (!f.first_seen) {
					f.popts = d[13];
					f.tse = cmd & CMD_TSE;
				}
				if (!tx_take(e, &f, le64(d), lower & 0xfffff))
					dropping = true;
			}
		} else {
			eop = cmd & CMD_EOP;
			if (!dropping && !tx_take(e, &f, le64(d), lower & 0xffff))
				dropping = true;
		}
		f.first_seen = true;
		if (!eop)
			continue;
		if (!dropping)
			tx_send(e, &f, d);
		dropping = false;
		f = (struct tx_frame){ 0 };
		committed = (i + 1) % r.count;
	}
	/* A chain being dropped is consumed as far as it goes; a good one waits for its EOP. */
	if (dropping)
		committed = i;
	e->tx_dropping = dropping;
	if (committed != r.head) {
		tx_write_back(e, &r, r.head, committed);
		e->reg[E1000_TDH] = committed;
		moved = true;
	}
	if (moved)
		e1000_raise(e, E1000_ICR_TXDW | (committed == r.tail ? E1000_ICR_TXQE : 0));
}

/* ---- receive ---- */

static uint32_t rx_buffer_size(uint32_t rctl)
{
	static const uint32_t sizes[2][4] = { { 2048, 1024, 512, 256 }, { 2048, 16384, 8192, 4096 } };

	return sizes[!!(rctl & RCTL_BSEX)][(rctl >> 16) & 3];
}

static uint32_t ring_free(const struct ring *r)
{
	return (r->tail + r->count - r->head) % r->count;
}

bool e1000_rx_has_room(struct e1000 *e)
{
	struct ring r;

	if (e->unplugged || !(e->reg[E1000_RCTL] & RCTL_EN) || !ring_get(e, false, &r))
		return false;
	return ring_free(&r) > 0;
}

/* Ethernet's CRC-32 (reflected 0xedb88320), as the FCS on the wire. */
static uint32_t fcs(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

static int rx_deliver(struct e1000 *e, const uint8_t *frame, size_t len)
{
	uint32_t rctl = e->reg[E1000_RCTL];
	struct ring r;

	if (e->unplugged || !(rctl & RCTL_EN) || !ring_get(e, false, &r))
		return -EIO;
	if (len < 14 || len > E1000_FRAME_MAX || (!(rctl & RCTL_LPE) && len + 4 > FRAME_STD_MAX)) {
		e1000_count(e, E1000_ST_ROC, E1000_ST_ROC, 1);
		return 0;
	}
	if (!e1000_rx_accepts(e, frame, len))
		return 0;
	/* The frame as the wire gives it: padded, with its FCS unless the driver strips it. */
	size_t total = len < FRAME_MIN ? FRAME_MIN : len;
	memcpy(e->rx_buf, frame, len);
	memset(e->rx_buf + len, 0, total - len);
	if (!(rctl & RCTL_SECRC)) {
		uint32_t crc = fcs(e->rx_buf, total);
		for (int k = 0; k < 4; k++)
			e->rx_buf[total++] = (uint8_t)(crc >> 8 * k);
	}
	uint32_t bsize = rx_buffer_size(rctl), need = (uint32_t)((total + bsize - 1) / bsize);
	if (ring_free(&r) < need) {
		e1000_count(e, E1000_ST_MPC, E1000_ST_MPC, 1);
		e1000_count(e, E1000_ST_RNBC, E1000_ST_RNBC, 1);
		e->faults.rx_dropped++;
		e1000_raise(e, E1000_ICR_RXO);
		return -ENOSPC;
	}
	size_t done = 0;
	uint32_t i = r.head;
	bool bad = false;
	while (done < total && !bad) {
		uint8_t *d = desc_at(e, &r, i);
		size_t chunk = total - done < bsize ? total - done : bsize;
		uint8_t *buf = d ? vm_gpa_to_hva(&e->dom->vm, le64(d), chunk) : NULL;
		uint8_t status = STA_IXSM, errors = 0;
		if (!d)
			break;
		if (buf) {
			memcpy(buf, e->rx_buf + done, chunk);
			done += chunk;
		} else {
			e->faults.rx_bad_desc++;
			bad = true;
			errors = RXERR_RXE;
			chunk = 0;
		}
		if (done == total || bad)
			status |= STA_EOP;
		d[8] = (uint8_t)chunk;
		d[9] = (uint8_t)(chunk >> 8);
		d[10] = d[11] = 0;
		d[13] = errors;
		d[14] = d[15] = 0;
		__atomic_store_n(&d[12], (uint8_t)(status | STA_DD), __ATOMIC_RELEASE);
		i = (i + 1) % r.count;
	}
	e->reg[E1000_RDH] = i;
	if (!bad) {
		bool bcast = !memcmp(frame, "\xff\xff\xff\xff\xff\xff", 6);
		e1000_count(e, E1000_ST_GPRC, E1000_ST_GPRC, 1);
		e1000_count(e, E1000_ST_TPR, E1000_ST_TPR, 1);
		e1000_count(e, E1000_ST_GORCL, E1000_ST_GORCH, total);
		e1000_count(e, E1000_ST_TORL, E1000_ST_TORH, total);
		enum e1000_stat st = bcast ? E1000_ST_BPRC : E1000_ST_MPRC;
		if (frame[0] & 1)
			e1000_count(e, st, st, 1);
	}
	r.head = i;
	/* RDMTS: tell the driver when free descriptors fall to 1/2, 1/4 or 1/8 of the ring. */
	uint32_t threshold = r.count >> (((rctl >> 8) & 3) + 1);
	e1000_raise(e, E1000_ICR_RXT0 | (ring_free(&r) <= threshold ? E1000_ICR_RXDMT0 : 0));
	return 0;
}

int e1000_rx_frame(struct e1000 *e, const uint8_t *frame, size_t len)
{
	pthread_mutex_lock(&e->lock);
	int r = rx_deliver(e, frame, len);
	pthread_mutex_unlock(&e->lock);
	return r;
}

#define RX_PUMP_BATCH 64

int e1000_rx_pump(struct e1000 *e)
{
	int frames = 0;

	while (frames < RX_PUMP_BATCH) {
		pthread_mutex_lock(&e->lock);
		bool room = e1000_rx_has_room(e);
		pthread_mutex_unlock(&e->lock);
		if (!room || e->port.fd < 0)
			break;
		ssize_t n = read(e->port.fd, e->rx_in, sizeof(e->rx_in));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? frames : -errno;
		if (n == 0)
			return frames ? frames : -EPIPE;
		frames++;
		if ((size_t)n > E1000_FRAME_MAX) {
			pthread_mutex_lock(&e->lock);
			e1000_count(e, E1000_ST_ROC, E1000_ST_ROC, 1);
			pthread_mutex_unlock(&e->lock);
			continue;
		}
		e1000_rx_frame(e, e->rx_in, (size_t)n);
	}
	return frames;
}
