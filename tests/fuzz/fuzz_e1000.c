/* libFuzzer target: the emulated e1000's registers and descriptor rings (hw/e1000.c, e1000_ring.c)
 * against a hostile guest and a hostile wire.
 *
 * A fake domain's RAM holds a transmit ring, a receive ring and buffers; a datagram socketpair is
 * the TAP.  The input is a sequence of operations (at most MAX_STEPS), each a byte and its
 * arguments:
 *   register writes and reads through BAR0 (offsets from a table of the registers that do things,
 *   or any), IOADDR/IODATA accesses through BAR1, raw descriptors and structured legacy/extended
 *   ones put into either ring, buffer bytes, ring registers set to the fixed rings, frames from
 *   the wire (empty to oversized) followed by the main loop's read, the wire drained, a save and
 *   restore round trip and a restore of a corrupted state.
 *
 * Invariants, each an abort, besides ASan's and UBSan's (which catch any access outside guest RAM,
 * itself one allocation):
 *   - INTx is high exactly while ICR & IMS is non-zero (and no NIC is unplugged);
 *   - every frame reaching the wire is 1 to E1000_FRAME_MAX + 4 bytes (a VLAN tag may be added);
 *   - a save restores into the same NIC, and saving again gives the same bytes.
 * The NIC logs at most a few ring stops per input.  Run: tests/fuzz/run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "hw/e1000.h"
#include "../unit/fake_domain.h"

#include "domain_stubs.h"

#define MAX_STEPS 96
#define TX_RING 0x10000u
#define RX_RING 0x20000u
#define BUFS 0x40000u
#define BUFS_LEN 0x40000u

struct rig {
	struct domain *dom;
	struct e1000 e;
	int sv[2];
	bool level;
	FILE *report;              /* our own complaints */
};

static void watch(void *opaque, bool level)
{
	struct rig *r = opaque;
	r->level = level;
}

static const uint16_t interesting[] = {
	0x0000, 0x0008, 0x0010, 0x0014, 0x0018, 0x0020, 0x00c0, 0x00c4, 0x00c8, 0x00d0, 0x00d8, 0x0100,
	0x0400, 0x2800, 0x2804, 0x2808, 0x2810, 0x2818, 0x3800, 0x3804, 0x3808, 0x3810, 0x3818, 0x4010,
	0x4074, 0x40c0, 0x5000, 0x5200, 0x5204, 0x5400, 0x5404, 0x5408, 0x5600, 0x0038, 0x5820, 0x1000,
};

struct input {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct input *in, unsigned int bytes)
{
	uint64_t v = 0;
	for (unsigned int i = 0; i < bytes && in->n; i++, in->p++, in->n--)
		v |= (uint64_t)*in->p << 8 * i;
	return v;
}

static void mmio(struct rig *r, uint32_t off, bool is_write, uint32_t v, unsigned int size)
{
	uint8_t d[8] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	e1000_mmio_access(&r->e, NULL, off, is_write, d, size);
}

static void check(struct rig *r)
{
	pthread_mutex_lock(&r->e.lock);
	bool want = !r->e.unplugged && (r->e.reg[E1000_ICR] & r->e.reg[E1000_IMS]);
	pthread_mutex_unlock(&r->e.lock);
	if (want != r->level) {
		fprintf(r->report, "INTx %d while ICR&IMS says %d\n", r->level, want);
		abort();
	}
	uint8_t buf[E1000_FRAME_MAX + 64];
	ssize_t n;
	while ((n = recv(r->sv[1], buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC)) >= 0) {
		if (n < 1 || n > E1000_FRAME_MAX + 4) {
			fprintf(r->report, "a frame of %zd bytes reached the wire\n", n);
			abort();
		}
	}
}

static void put_desc(struct rig *r, bool tx, unsigned int index, const uint8_t d[16])
{
	fake_put(r->dom, (tx ? TX_RING : RX_RING) + (index % 256) * 16ull, d, 16);
}

static void step(struct rig *r, struct input *in)
{
	uint8_t op = (uint8_t)take(in, 1), d[16];

	switch (op % 12) {
	case 0: {   /* write a register that does something */
		uint32_t off = interesting[take(in, 1) % (sizeof(interesting) / sizeof(interesting[0]))];
		mmio(r, off, true, (uint32_t)take(in, 4), 4);
		break;
	}
	case 1: {   /* any access in BAR0 */
		uint32_t off = (uint32_t)take(in, 3) % (E1000_MMIO_SIZE + 16);
		unsigned int size = 1u << (take(in, 1) & 3);
		mmio(r, off, op & 0x80, (uint32_t)take(in, 4), size);
		break;
	}
	case 2: {   /* BAR1 */
		uint8_t v[4];
		uint32_t x = (uint32_t)take(in, 4);
		memcpy(v, &x, 4);
		e1000_io_access(&r->e, NULL, take(in, 1) % 12, op & 0x80, v, 1u << (take(in, 1) % 3));
		break;
	}
	case 3:     /* a raw descriptor */
		memset(d, 0, sizeof(d));
		for (int i = 0; i < 16; i++)
			d[i] = (uint8_t)take(in, 1);
		put_desc(r, op & 0x80, (unsigned int)take(in, 1), d);
		break;
	case 4: {   /* a structured transmit descriptor: legacy, context or data */
		unsigned int index = (unsigned int)take(in, 1), kind = (unsigned int)take(in, 1) % 3;
		uint64_t addr = BUFS + take(in, 2) * 4ull;
		uint32_t len = (uint32_t)take(in, 2), cmd = (uint32_t)take(in, 1);
		memset(d, 0, sizeof(d));
		if (kind == 1) {
			for (int i = 0; i < 8; i++)
				d[i] = (uint8_t)take(in, 1);
			cmd |= 0x20;
			d[11] = (uint8_t)cmd;
		} else {
			memcpy(d, &addr, 8);
			if (kind == 0) {
				d[8] = (uint8_t)len;
				d[9] = (uint8_t)(len >> 8);
				d[10] = (uint8_t)take(in, 1);
				d[11] = (uint8_t)(cmd & ~0x20u);
				d[13] = (uint8_t)take(in, 1);
			} else {
				uint32_t lower = (len & 0xfffff) | 1u << 20 | (cmd | 0x20) << 24;
				memcpy(d + 8, &lower, 4);
				d[13] = (uint8_t)take(in, 1);
			}
		}
		put_desc(r, true, index, d);
		break;
	}
	case 5: {   /* a receive descriptor pointing into the buffers (or anywhere) */
		unsigned int index = (unsigned int)take(in, 1);
		uint64_t addr = op & 0x80 ? take(in, 8) : BUFS + take(in, 2) * 4ull;
		memset(d, 0, sizeof(d));
		memcpy(d, &addr, 8);
		put_desc(r, false, index, d);
		break;
	}
	case 6: {   /* buffer bytes */
		uint32_t at = (uint32_t)take(in, 2) * 4, len = (uint32_t)take(in, 1);
		uint8_t fill = (uint8_t)take(in, 1);
		if (at + len <= BUFS_LEN)
			memset(fake_gpa(r->dom, BUFS + at), fill, len);
		break;
	}
	case 7: {   /* the fixed rings, enabled */
		uint32_t count = ((uint32_t)take(in, 1) % 33) * 8;
		mmio(r, 0x3800, true, TX_RING, 4);
		mmio(r, 0x3804, true, 0, 4);
		mmio(r, 0x3808, true, count * 16, 4);
		mmio(r, 0x2800, true, RX_RING, 4);
		mmio(r, 0x2804, true, 0, 4);
		mmio(r, 0x2808, true, count * 16, 4);
		mmio(r, 0x100, true, (uint32_t)take(in, 4) | 2, 4);
		mmio(r, 0x400, true, 2, 4);
		mmio(r, 0xd0, true, 0xffff, 4);
		break;
	}
	case 8: {   /* a frame from the wire, then the main loop's read */
		size_t len = (size_t)take(in, 2) % (E1000_FRAME_MAX + 100);
		static uint8_t frame[E1000_FRAME_MAX + 100];
		uint8_t seed = (uint8_t)take(in, 1);
		for (size_t i = 0; i < len; i++)
			frame[i] = (uint8_t)(seed + i * 7);
		if (len >= 6 && (op & 0x80))
			memcpy(frame, r->e.mac, 6);
		if (send(r->sv[1], frame, len, MSG_DONTWAIT) < 0 && errno != EAGAIN && errno != EMSGSIZE)
			abort();
		e1000_rx_pump(&r->e);
		break;
	}
	case 9: {   /* drain what waits on the port (the TAP's queue dropping) */
		uint8_t buf[64];
		while (recv(r->sv[0], buf, sizeof(buf), MSG_DONTWAIT) >= 0)
			;
		break;
	}
	case 10: {  /* save and restore */
		static uint8_t a[E1000_STATE_SIZE], b[E1000_STATE_SIZE];
		char err[256];
		if (e1000_save(&r->e, a, sizeof(a)) != (long)E1000_STATE_SIZE)
			abort();
		if (e1000_restore(&r->e, a, sizeof(a), err, sizeof(err))) {
			fprintf(r->report, "own state refused: %s\n", err);
			abort();
		}
		if (e1000_save(&r->e, b, sizeof(b)) != (long)E1000_STATE_SIZE || memcmp(a, b, sizeof(a))) {
			size_t at = 0;
			while (at < sizeof(a) && a[at] == b[at])
				at++;
			fprintf(r->report, "a restored state saves differently at byte %zu\n", at);
			abort();
		}
		size_t at = (size_t)take(in, 2) % sizeof(a);
		a[at] ^= (uint8_t)(take(in, 1) | 1);
		e1000_restore(&r->e, a, sizeof(a), err, sizeof(err));
		break;
	}
	case 11:    /* TDT and RDT moved */
		mmio(r, 0x3818, true, (uint32_t)take(in, 2), 4);
		mmio(r, 0x2818, true, (uint32_t)take(in, 2), 4);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct domain *dom;
	static struct rig *r;
	struct input in = { data, size };
	char err[256];
	static const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x01, 0x02, 0x03 };

	if (!dom) {
		r = calloc(1, sizeof(*r));
		if (!r)
			abort();
		r->report = stderr;
		dom = fake_domain_new(1);
	}
	memset(dom->vm.ram, 0, 1u << 20);
	r->dom = dom;
	r->level = false;
	if (e1000_init(&r->e, dom, "fuzz-emu", mac, err, sizeof(err)))
		abort();
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, r->sv))
		abort();
	r->e.port.fd = r->sv[0];
	r->e.set_irq = watch;
	r->e.irq_opaque = r;
	for (int i = 0; i < MAX_STEPS && in.n; i++) {
		step(r, &in);
		check(r);
	}
	close(r->sv[0]);
	close(r->sv[1]);
	e1000_destroy(&r->e);
	return 0;
}
