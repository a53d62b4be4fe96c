/* The emulated e1000 (hw/e1000*.c) on a fake domain: the real PCI bus (hw/pci.c) places its BARs,
 * every register access goes through the domain's MMIO/port dispatch as a vCPU exit would, frames
 * cross a datagram socketpair standing in for the TAP, and INTx reaches a watcher router. */
#include <errno.h>
#include <sys/socket.h>
#include "fake_domain.h"
#include "unit.h"
#include "hw/device.h"
#include "hw/e1000.h"
#include "hw/hvm_config.h"
#include "hw/pci.h"
#include "vmm/event_loop.h"
#include "vmm/io.h"

extern const struct device_ops pci_bus_device, xen_platform_device;

#define BAR0 0xc0000000ull
#define BAR1 0xc000u
#define IRQ_LINE 10
#define TX_RING 0x100000ull
#define RX_RING 0x110000ull
#define TX_BUF 0x200000ull
#define RX_BUF 0x300000ull
#define RX_BUF_STRIDE 0x4000ull

static const uint8_t our_mac[6] = { 0x00, 0x16, 0x3e, 0x12, 0x34, 0x56 };

struct t {
	struct domain *dom;
	struct hvm_config cfg;
	void *pci_state, *nic_state, *platform_state;
	struct e1000 *e;
	int sv[2];                /* sv[0]: the NIC's port; sv[1]: the wire */
	bool level[32];
	int raises;
};

static void watch_irq(void *opaque, unsigned int gsi, bool level)
{
	struct t *t = opaque;

	if (gsi < 32) {
		if (level && !t->level[gsi])
			t->raises++;
		t->level[gsi] = level;
	}
}

static void wr(struct t *t, uint32_t off, uint32_t v)
{
	uint8_t d[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	io_bus_dispatch(&t->dom->mmio, NULL, BAR0 + off, true, d, 4);
}

static uint32_t rd(struct t *t, uint32_t off)
{
	uint8_t d[4];
	io_bus_dispatch(&t->dom->mmio, NULL, BAR0 + off, false, d, 4);
	return (uint32_t)d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24;
}

static bool setup_with(struct t *t, bool platform, unsigned int n_nics, enum hvm_nic_model model, char *err)
{
	memset(t, 0, sizeof(*t));
	t->dom = fake_domain_new(1);
	t->dom->irq.set = watch_irq;
	t->dom->irq.opaque = t;
	hvm_config_init(&t->cfg);
	t->cfg.n_nics = n_nics;
	for (unsigned int i = 0; i < n_nics; i++) {
		t->cfg.nics[i].model = model;
		memcpy(t->cfg.nics[i].mac, our_mac, 6);
		t->cfg.nics[i].mac[5] = (uint8_t)(our_mac[5] + i);
		t->cfg.nics[i].devid = (int)i;
	}
	t->dom->hvm = &t->cfg;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, t->sv))
		abort();
	if (pci_bus_device.init(t->dom, &t->pci_state, err, 256))
		return false;
	for (unsigned int p = 0; p < 4; p++)
		pci_set_pirq_route(t->dom->pci, p, IRQ_LINE);
	if (platform && xen_platform_device.init(t->dom, &t->platform_state, err, 256))
		return false;
	struct e1000_port ports[HVM_NICS_MAX];
	for (unsigned int i = 0; i < HVM_NICS_MAX; i++)
		ports[i].fd = t->sv[0];
	if (e1000_devices_create(t->dom, ports, &t->nic_state, err, 256))
		return false;
	t->e = e1000_devices_nic(t->nic_state, 0);
	/* As the firmware would: BARs placed, decoding and bus mastering on. */
	unsigned int devfn = 3 << 3;
	pci_config_write(t->dom->pci, devfn, PCI_BASE_ADDRESS_0, 4, (uint32_t)BAR0);
	pci_config_write(t->dom->pci, devfn, PCI_BASE_ADDRESS_0 + 4, 4, BAR1 | 1);
	pci_config_write(t->dom->pci, devfn, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	return true;
}

static bool setup(struct t *t)
{
	char err[256];

	if (!setup_with(t, false, 1, HVM_NIC_E1000, err)) {
		fprintf(stderr, "setup: %s\n", err);
		return false;
	}
	return true;
}

static void teardown(struct t *t)
{
	if (t->nic_state)
		e1000_device.teardown(t->dom, t->nic_state);
	if (t->platform_state)
		xen_platform_device.teardown(t->dom, t->platform_state);
	if (t->pci_state)
		pci_bus_device.teardown(t->dom, t->pci_state);
	close(t->sv[0]);
	close(t->sv[1]);
	fake_domain_free(t->dom);
}

/* ---- EEPROM, PHY, identity, reset ---- */

static uint16_t eerd(struct t *t, unsigned int addr)
{
	wr(t, 0x14, addr << 8 | 1);
	uint32_t v = rd(t, 0x14);
	return (v & 0x10) ? (uint16_t)(v >> 16) : 0xdead;
}

static void test_eeprom_eerd(struct unit *u, const void *arg)
{
	struct t t;
	uint32_t sum = 0;

	(void)arg;
	if (!setup(&t)) {
		CHECK(0, "setup failed");
		return;
	}
	for (unsigned int i = 0; i < E1000_EEPROM_WORDS; i++)
		sum += eerd(&t, i);
	CHECK((sum & 0xffff) == 0xbaba, "EEPROM sum %#x, want 0xbaba", sum & 0xffff);
	for (unsigned int i = 0; i < 3; i++) {
		uint16_t w = eerd(&t, i);
		CHECK((w & 0xff) == our_mac[2 * i] && w >> 8 == our_mac[2 * i + 1], "MAC word %u is %#x", i, w);
	}
	CHECK(eerd(&t, 0x0e) == 0x8086 && eerd(&t, 0x0d) == 0x100e, "IDs %#x:%#x", eerd(&t, 0x0e), eerd(&t, 0x0d));
	CHECK(pci_config_read(t.dom->pci, 3 << 3, PCI_VENDOR_ID, 4) == 0x100e8086, "config IDs %#x",
	      pci_config_read(t.dom->pci, 3 << 3, PCI_VENDOR_ID, 4));
	CHECK(pci_config_read(t.dom->pci, 3 << 3, PCI_CLASS_DEVICE, 2) == 0x0200, "class %#x",
	      pci_config_read(t.dom->pci, 3 << 3, PCI_CLASS_DEVICE, 2));
	teardown(&t);
}

/* Linux's e1000 reads the 82540's EEPROM by bit-banging Microwire through EECD. */
static void eecd(struct t *t, uint32_t v) { wr(t, 0x10, v); }

static uint16_t microwire_read(struct t *t, unsigned int addr)
{
	uint32_t base = 1u << 6 | 1u << 1;           /* REQ, CS */
	uint32_t bits = 0x6u << 6 | addr;            /* start + opcode 10 + 6 address bits */
	uint16_t word = 0;

	eecd(t, 1u << 6);
	eecd(t, base);
	for (int i = 8; i >= 0; i--) {
		uint32_t di = (bits >> i & 1) ? 1u << 2 : 0;
		eecd(t, base | di);
		eecd(t, base | di | 1);              /* SK up */
		eecd(t, base | di);
	}
	for (int i = 0; i < 16; i++) {
		eecd(t, base | 1);
		word = (uint16_t)(word << 1 | !!(rd(t, 0x10) & 1u << 3));
		eecd(t, base);
	}
	eecd(t, 1u << 6);                            /* CS down */
	eecd(t, 0);
	return word;
}

static void test_eeprom_microwire(struct unit *u, const void *arg)
{
	struct t t;
	uint32_t sum = 0;

	(void)arg;
	if (!setup(&t)) {
		CHECK(0, "setup failed");
		return;
	}
	CHECK(rd(&t, 0x10) & 1u << 8, "EECD says no EEPROM: %#x", rd(&t, 0x10));
	eecd(&t, 1u << 6);
	CHECK(rd(&t, 0x10) & 1u << 7, "EECD grants no access: %#x", rd(&t, 0x10));
	for (unsigned int i = 0; i < E1000_EEPROM_WORDS; i++) {
		uint16_t w = microwire_read(&t, i);
		CHECK(w == eerd(&t, i), "word %u: microwire %#x, EERD %#x", i, w, eerd(&t, i));
		sum += w;
	}
	CHECK((sum & 0xffff) == 0xbaba, "sum %#x", sum & 0xffff);
	teardown(&t);
}

static uint32_t mdic(struct t *t, unsigned int phy, unsigned int reg, bool write, uint16_t data)
{
	wr(t, 0x20, phy << 21 | reg << 16 | (write ? 1u : 2u) << 26 | data);
	return rd(t, 0x20);
}

static void test_phy_link(struct unit *u, const void *arg)
{
	struct t t;

	(void)arg;
	if (!setup(&t)) {
		CHECK(0, "setup failed");
		return;
	}
	uint32_t st = rd(&t, 0x08);
	CHECK((st & 3) == 3 && (st & 0xc0) == 0x80, "STATUS %#x: want link up, full duplex, 1000", st);
	uint32_t v = mdic(&t, 1, 1, false, 0);
	CHECK((v & 1u << 28) && !(v & 1u << 30), "MDIC not ready or error: %#x", v);
	CHECK((v & 0x24) == 0x24, "PHY status %#x: want link and autonegotiation complete", v & 0xffff);
	CHECK((mdic(&t, 1, 2, false, 0) & 0xffff) == 0x0141 && (mdic(&t, 1, 3, false, 0) & 0xffff) == 0x0c20,
	      "PHY ID %#x %#x", mdic(&t, 1, 2, false, 0) & 0xffff, mdic(&t, 1, 3, false, 0) & 0xffff);
	mdic(&t, 1, 0, true, 0x8000 | 0x1140);      /* PHY reset: self-clears */
	CHECK((mdic(&t, 1, 0, false, 0) & 0xffff) == 0x1140, "PHY control %#x", mdic(&t, 1, 0, false, 0) & 0xffff);
	mdic(&t, 1, 1, true, 0);                     /* status is read-only */
	CHECK(mdic(&t, 1, 1, false, 0) & 4, "PHY status lost its link bit");
	CHECK(mdic(&t, 2, 1, false, 0) & 1u << 30, "PHY address 2 answered");
	teardown(&t);
}

static void test_reset(struct unit *u, const void *arg)
{
	struct t t;

	(void)arg;
	if (!setup(&t)) {
		CHECK(0, "setup failed");
		return;
	}
	wr(&t, 0xd0, 0x9f);                  /* IMS */
	wr(&t, 0x2808, 4096);                /* RDLEN */
	wr(&t, 0x5400, 0x11223344);          /* RAL0 */
	wr(&t, 0xc8, 0x4);                   /* ICS: LSC */
	CHECK(t.level[IRQ_LINE], "ICS with the cause enabled raised no INTx");
	wr(&t, 0x00, rd(&t, 0x00) | 1u << 26);
	CHECK(!(rd(&t, 0x00) & 1u << 26), "CTRL.RST did not self-clear");
	CHECK(rd(&t, 0xd0) == 0 && rd(&t, 0x2808) == 0 && rd(&t, 0xc0) == 0, "registers survived the reset");
	CHECK(!t.level[IRQ_LINE], "INTx still high after reset");
	uint32_t ral = rd(&t, 0x5400), rah = rd(&t, 0x5404);
	CHECK(ral == (uint32_t)(our_mac[0] | our_mac[1] << 8 | our_mac[2] << 16 | (uint32_t)our_mac[3] << 24) &&
	      rah == (our_mac[4] | our_mac[5] << 8 | 1u << 31), "RAL0/RAH0 %#x %#x: not the EEPROM's MAC", ral, rah);
	/* BAR1: IOADDR/IODATA reach the same registers. */
	uint8_t d[4] = { 0x08, 0, 0, 0 };
	io_bus_dispatch(&t.dom->pio, NULL, BAR1, true, d, 4);
	io_bus_dispatch(&t.dom->pio, NULL, BAR1 + 4, false, d, 4);
	CHECK(d[0] == (rd(&t, 0x08) & 0xff), "IODATA read %#x, STATUS is %#x", d[0], rd(&t, 0x08));
	teardown(&t);
}

/* ---- transmit ---- */

static void put_legacy_tx(struct t *t, unsigned int i, uint64_t addr, uint16_t len, uint8_t cmd)
{
	uint8_t d[16] = { 0 };
	for (int k = 0; k < 8; k++)
		d[k] = (uint8_t)(addr >> 8 * k);
	d[8] = (uint8_t)len;
	d[9] = (uint8_t)(len >> 8);
	d[11] = cmd;
	fake_put(t->dom, TX_RING + i * 16ull, d, 16);
}

static void make_frame(uint8_t *f, size_t len, const uint8_t *dst, uint8_t fill)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = 0x08;
	f[13] = 0x00;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(fill + i);
}

static void tx_ring(struct t *t, unsigned int count)
{
	wr(t, 0x3800, (uint32_t)TX_RING);
	wr(t, 0x3804, 0);
	wr(t, 0x3808, count * 16);
	wr(t, 0x3810, 0);
	wr(t, 0x3818, 0);
	wr(t, 0x400, 1u << 1);              /* TCTL.EN */
}

static ssize_t wire_recv(struct t *t, uint8_t *buf, size_t len)
{
	return recv(t->sv[1], buf, len, 0);
}

static void test_tx_two_frames(struct unit *u, const void *arg)
{
	struct t t;
	uint8_t f1[100], f2[1514], got[2048];

	(void)arg;
	if (!setup(&t)) {
		CHECK(0, "setup failed");
		return;
	}
	make_frame(f1, sizeof(f1), (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 1);
	make_frame(f2, sizeof(f2), (const uint8_t *)"\x02\x00\x00\x00\x00\x02", 7);
	fake_put(t.dom, TX_BUF, f1, sizeof(f1));
	fake_put(t.dom, TX_BUF + 0x1000, f2, 1000);                  /* f2 in two descriptors */
	fake_put(t.dom, TX_BUF + 0x2000, f2 + 1000, sizeof(f2) - 1000);
	tx_ring(&t, 8);
	wr(&t, 0xd0, E1000_ICR_TXDW);
	put_legacy_tx(&t, 0, TX_BUF, sizeof(f1), 0x01 | 0x02 | 0x08);          /* EOP IFCS RS */
	put_legacy_tx(&t, 1, TX_BUF + 0x1000, 1000, 0x02);
	put_legacy_tx(&t, 2, TX_BUF + 0x2000, sizeof(f2) - 1000, 0x01 | 0x02 | 0x08);
	wr(&t, 0x3818, 3);
	ssize_t n = wire_recv(&t, got, sizeof(got));
	CHECK(n == sizeof(f1) && !memcmp(got, f1, sizeof(f1)), "first frame: %zd bytes", n);
	n = wire_recv(&t, got, sizeof(got));
	CHECK(n == sizeof(f2) && !memcmp(got, f2, sizeof(f2)), "second frame: %zd bytes", n);
	CHECK(wire_recv(&t, got, sizeof(got)) < 0 && errno == EAGAIN, "a third frame came out");
	CHECK(rd(&t, 0x3810) == 3, "TDH %u, want 3", rd(&t, 0x3810));
	uint8_t *ring = fake_gpa(t.dom, TX_RING);
	CHECK((ring[12] & 1) && (ring[2 * 16 + 12] & 1), "DD not set on the RS descriptors");
	CHECK(!(ring[16 + 12] & 1), "DD set on a descriptor without RS");
	CHECK(t.level[IRQ_LINE], "TXDW raised no INTx");
	uint32_t icr = rd(&t, 0xc0);
	CHECK(icr & E1000_ICR_TXDW, "ICR %#x lacks TXDW", icr);
	CHECK(!t.level[IRQ_LINE] && rd(&t, 0xc0) == 0, "reading ICR did not clear it and the line");
	CHECK(rd(&t, 0x4080) == 2 && rd(&t, 0x4080) == 0, "GPTC not 2 or not clear on read");
	teardown(&t);
}

static uint16_t csum_ok(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	for (size_t i = 0; i < len; i += 2)
		s += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void test_tx_checksum_context(struct unit *u, const void *arg)
{
	struct t t;
	uint8_t f[200], got[256];
	uint8_t ctx[16] = { 0 }, data[16] = { 0 };

	(void)arg;
	if (!setup(&t)) {
		CHECK(0, "setup failed");
		return;
	}
	make_frame(f, sizeof(f), our_mac, 3);
	f[24] = f[25] = 0;            /* the IP header's checksum field, as the driver leaves it */
	f[50] = f[51] = 0;            /* the "TCP" checksum field */
	fake_put(t.dom, TX_BUF, f, sizeof(f));
	/* context: IP 14..33 sum at 24; TCP-like 34..end sum at 50 */
	ctx[0] = 14; ctx[1] = 24; ctx[2] = 33; ctx[4] = 34; ctx[5] = 50;
	ctx[11] = 0x20;               /* DEXT, DTYP context */
	uint32_t lower = sizeof(f) | 1u << 20 | (0x01u | 0x08 | 0x20) << 24;   /* data: EOP RS DEXT */
	for (int k = 0; k < 8; k++)
		data[k] = (uint8_t)(TX_BUF >> 8 * k);
	for (int k = 0; k < 4; k++)
		data[8 + k] = (uint8_t)(lower >> 8 * k);
	data[13] = 0x03;              /* IXSM | TXSM */
	fake_put(t.dom, TX_RING, ctx, 16);
	fake_put(t.dom, TX_RING + 16, data, 16);
	tx_ring(&t, 8);
	wr(&t, 0x3818, 2);
	ssize_t n = wire_recv(&t, got, sizeof(got));
	CHECK(n == sizeof(f), "frame of %zd bytes", n);
	CHECK(csum_ok(got + 14, 20) == 0xffff, "IP header sum %#x", csum_ok(got + 14, 20));
	CHECK(csum_ok(got + 34, sizeof(f) - 34) == 0xffff, "payload sum %#x", csum_ok(got + 34, sizeof(f) - 34));
	CHECK(rd(&t, 0x3810) == 2, "TDH %u", rd(&t, 0x3810));
	teardown(&t);
}

/* ---- receive ---- */

static void rx_ring(struct t *t, unsigned int count, unsigned int tail, uint32_t rctl)
{
	for (unsigned int i = 0; i < count; i++) {
		uint8_t d[16] = { 0 };
		uint64_t a = RX_BUF + i * RX_BUF_STRIDE;
		for (int k = 0; k < 8; k++)
			d[k] = (uint8_t)(a >> 8 * k);
		fake_put(t->dom, RX_RING + i * 16ull, d, 16);
	}
	wr(t, 0x2800, (uint32_t)RX_RING);
	wr(t, 0x2804, 0);
	wr(t, 0x2808, count * 16);
	wr(t, 0x2810, 0);
	wr(t, 0x2818, tail);
	wr(t, 0xd0, E1000_ICR_RXT0);
	wr(t, 0x100, rctl);
}

#define RCTL_EN (1u << 1)
#define RCTL_BAM (1u << 15)
#define RCTL_SECRC (1u << 26)

static void test_rx_frame(struct unit *u, const void *arg)
{
	struct t t;
	uint8_t f[300];

	(void)arg;
	if (!setup(&t)) {
		CHECK(0, "setup failed");
		return;
	}
	rx_ring(&t, 8, 7, RCTL_EN | RCTL_BAM | RCTL_SECRC);
	make_frame(f, sizeof(f), our_mac, 5);
	CHECK(send(t.sv[1], f, sizeof(f), 0) == sizeof(f), "send");
	CHECK(e1000_rx_pump(t.e) == 1, "pump did not take the frame");
	uint8_t *d = fake_gpa(t.dom, RX_RING);
	CHECK((d[12] & 3) == 3, "descriptor status %#x: want DD|EOP", d[12]);
	CHECK((d[8] | d[9] << 8) == sizeof(f), "length %u", d[8] | d[9] << 8);
	CHECK(!memcmp(fake_gpa(t.dom, RX_BUF), f, sizeof(f)), "buffer differs from the frame");
	CHECK(rd(&t, 0x2810) == 1, "RDH %u", rd(&t, 0x2810));
	CHECK(t.level[IRQ_LINE] && (rd(&t, 0xc0) & E1000_ICR_RXT0), "no RXT0 interrupt");
	/* Without SECRC the FCS comes along; a short frame is padded to 60. */
	wr(&t, 0x100, RCTL_EN | RCTL_BAM);
	uint8_t small[42];
	make_frame(small, sizeof(small), (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 9);
	CHECK(e1000_rx_frame(t.e, small, sizeof(small)) == 0, "broadcast refused");
	d = fake_gpa(t.dom, RX_RING + 16);
	CHECK((d[8] | d[9] << 8) == 64, "padded frame with FCS: length %u, want 64", d[8] | d[9] << 8);
	/* The FCS makes the frame's CRC residue the constant of Ethernet. */
	uint32_t crc = 0xffffffffu;
	const uint8_t *b = fake_gpa(t.dom, RX_BUF + RX_BUF_STRIDE);
	for (int i = 0; i < 64; i++) {
		crc ^= b[i];
		for (int k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0xedb88320u & -(crc & 1));
	}
	CHECK(crc == 0xdebb20e3u, "CRC residue %#x", crc);
	/* Filters: another unicast address and (without BAM) broadcast are not taken. */
	uint8_t other[60];
	make_frame(other, sizeof(other), (const uint8_t *)"\x02\x99\x99\x99\x99\x99", 1);
	wr(&t, 0x100, RCTL_EN | RCTL_SECRC);
	CHECK(e1000_rx_frame(t.e, other, sizeof(other)) == 0 && e1000_rx_frame(t.e, small, sizeof(small)) == 0 &&
	      rd(&t, 0x2810) == 2, "a filtered frame landed: RDH %u", rd(&t, 0x2810));
	wr(&t, 0x100, RCTL_EN | RCTL_SECRC | 1u << 3);    /* UPE */
	e1000_rx_frame(t.e, other, sizeof(other));
	CHECK(rd(&t, 0x2810) == 3, "promiscuous mode did not take another address");
	CHECK(rd(&t, 0x4074) == 3, "GPRC %u", rd(&t, 0x4074));
	teardown(&t);
}

static void test_rx_ring_full(struct unit *u, const void *arg)
{
	struct t t;
	uint8_t f[100];

	(void)arg;
	if (!setup(&t)) {
		CHECK(0, "setup failed");
		return;
	}
	rx_ring(&t, 8, 2, RCTL_EN | RCTL_SECRC);      /* two buffers given */
	make_frame(f, sizeof(f), our_mac, 1);
	for (int i = 0; i < 4; i++)
		send(t.sv[1], f, sizeof(f), 0);
	CHECK(e1000_rx_pump(t.e) == 2, "pump should take two frames, then wait");
	CHECK(rd(&t, 0x2810) == 2, "RDH %u", rd(&t, 0x2810));
	uint8_t left[200];
	CHECK(recv(t.sv[0], left, sizeof(left), MSG_PEEK) == sizeof(f), "the other frames did not wait on the port");
	CHECK(e1000_rx_frame(t.e, f, sizeof(f)) == -ENOSPC, "a frame into a full ring was not refused");
	CHECK(rd(&t, 0x4010) == 1 && t.e->faults.rx_dropped == 1, "MPC/drop not counted");
	CHECK(((uint8_t *)fake_gpa(t.dom, RX_RING + 2 * 16))[12] == 0, "a descriptor past RDT was written");
	wr(&t, 0x2818, 4);
	CHECK(e1000_rx_pump(t.e) == 2 && rd(&t, 0x2810) == 4, "after RDT moved: RDH %u", rd(&t, 0x2810));
	teardown(&t);
}

/* ---- hostile rings ---- */

static void test_tx_hostile(struct unit *u, const void *arg)
{
	struct t t;
	uint8_t f[64], got[20000];

	(void)arg;
	if (!setup(&t)) {
		CHECK(0, "setup failed");
		return;
	}
	make_frame(f, sizeof(f), our_mac, 2);
	fake_put(t.dom, TX_BUF, f, sizeof(f));
	/* TDLEN 0: the ring stops, nothing goes out. */
	tx_ring(&t, 0);
	wr(&t, 0x3818, 1);
	CHECK(t.e->faults.ring_stops >= 1, "TDLEN 0 did not stop the ring");
	/* TDH beyond the ring. */
	tx_ring(&t, 8);
	wr(&t, 0x3810, 100);
	wr(&t, 0x3818, 1);
	CHECK(rd(&t, 0x3810) == 100 && t.e->faults.ring_stops >= 2, "TDH 100 in an 8-entry ring was used");
	/* A ring outside RAM. */
	wr(&t, 0x3810, 0);
	wr(&t, 0x3804, 0x7);
	wr(&t, 0x3818, 1);
	CHECK(t.e->faults.ring_stops >= 3, "a ring above RAM was used");
	CHECK(wire_recv(&t, got, sizeof(got)) < 0, "a stopped ring sent something");
	/* Good ring: a buffer outside RAM, a 64 KiB length, an over-long chain, then a good frame. */
	tx_ring(&t, 32);
	put_legacy_tx(&t, 0, FAKE_RAM_SIZE - 16, 64, 0x01 | 0x08);
	put_legacy_tx(&t, 1, TX_BUF, 0xffff, 0x01 | 0x08);
	uint8_t ext[16] = { 0 };
	uint32_t lower = 65536u | 1u << 20 | (0x01u | 0x08 | 0x20) << 24;
	for (int k = 0; k < 4; k++)
		ext[8 + k] = (uint8_t)(lower >> 8 * k);
	fake_put(t.dom, TX_RING + 2 * 16, ext, 16);
	for (unsigned int i = 3; i < 3 + 5; i++)                       /* 5 x 4 KiB, no EOP ... */
		put_legacy_tx(&t, i, TX_BUF, 4096, 0x08);
	put_legacy_tx(&t, 8, TX_BUF, 64, 0x01 | 0x08);                 /* ... ending here */
	put_legacy_tx(&t, 9, TX_BUF, sizeof(f), 0x01 | 0x08);          /* a good frame */
	wr(&t, 0x3818, 10);
	ssize_t n = wire_recv(&t, got, sizeof(got));
	CHECK(n == sizeof(f) && !memcmp(got, f, sizeof(f)), "the good frame: %zd bytes", n);
	CHECK(wire_recv(&t, got, sizeof(got)) < 0, "a bad frame went out");
	CHECK(t.e->faults.tx_bad_desc == 3, "bad descriptors counted %llu, want 3",
	      (unsigned long long)t.e->faults.tx_bad_desc);
	CHECK(t.e->faults.tx_oversize == 1, "over-long chain counted %llu", (unsigned long long)t.e->faults.tx_oversize);
	CHECK(rd(&t, 0x3810) == 10, "TDH %u: the bad frames were not consumed", rd(&t, 0x3810));
	/* A chain without EOP that stops at TDT is consumed as far as it is dropped. */
	for (unsigned int i = 10; i < 16; i++)
		put_legacy_tx(&t, i, TX_BUF, 4096, 0x08);
	wr(&t, 0x3818, 16);
	CHECK(rd(&t, 0x3810) == 16 && t.e->faults.tx_oversize == 2, "open over-long chain: TDH %u",
	      rd(&t, 0x3810));
	put_legacy_tx(&t, 16, TX_BUF, sizeof(f), 0x01 | 0x08);          /* its EOP: dropped too */
	put_legacy_tx(&t, 17, TX_BUF, sizeof(f), 0x01 | 0x08);
	wr(&t, 0x3818, 18);
	n = wire_recv(&t, got, sizeof(got));
	CHECK(n == sizeof(f) && wire_recv(&t, got, sizeof(got)) < 0, "after the dropped chain: %zd", n);
	/* A good frame without EOP yet waits at TDH. */
	put_legacy_tx(&t, 18, TX_BUF, 32, 0x08);
	wr(&t, 0x3818, 19);
	CHECK(rd(&t, 0x3810) == 18 && wire_recv(&t, got, sizeof(got)) < 0, "a frame without its EOP moved");
	put_legacy_tx(&t, 19, TX_BUF + 32, 32, 0x01 | 0x08);
	wr(&t, 0x3818, 20);
	CHECK(rd(&t, 0x3810) == 20 && wire_recv(&t, got, sizeof(got)) == 64, "the completed frame did not go");
	teardown(&t);
}

static void test_rx_hostile(struct unit *u, const void *arg)
{
	struct t t;
	uint8_t f[1000];

	(void)arg;
	if (!setup(&t)) {
		CHECK(0, "setup failed");
		return;
	}
	/* 256-byte buffers: a 1000-byte frame spans four; nothing past each buffer is written. */
	memset(fake_gpa(t.dom, RX_BUF), 0xa5, 8 * RX_BUF_STRIDE);
	rx_ring(&t, 8, 7, RCTL_EN | RCTL_SECRC | 3u << 16);
	make_frame(f, sizeof(f), our_mac, 4);
	CHECK(e1000_rx_frame(t.e, f, sizeof(f)) == 0, "frame refused");
	CHECK(rd(&t, 0x2810) == 4, "RDH %u, want 4", rd(&t, 0x2810));
	for (unsigned int i = 0; i < 4; i++) {
		const uint8_t *d = fake_gpa(t.dom, RX_RING + i * 16), *b = fake_gpa(t.dom, RX_BUF + i * RX_BUF_STRIDE);
		unsigned int len = d[8] | d[9] << 8;
		CHECK(len == (i < 3 ? 256 : 1000 - 768), "descriptor %u length %u", i, len);
		CHECK((d[12] & 2) == (i == 3 ? 2 : 0), "descriptor %u EOP wrong: %#x", i, d[12]);
		CHECK(!memcmp(b, f + 256 * i, len), "descriptor %u data", i);
		CHECK(b[len] == 0xa5 && b[RX_BUF_STRIDE - 1] == 0xa5, "written past buffer %u", i);
	}
	/* A buffer outside RAM: consumed with RXE, frame dropped. */
	uint8_t d[16] = { 0 };
	uint64_t bad = FAKE_RAM_SIZE - 100;
	for (int k = 0; k < 8; k++)
		d[k] = (uint8_t)(bad >> 8 * k);
	fake_put(t.dom, RX_RING + 4 * 16, d, 16);
	CHECK(e1000_rx_frame(t.e, f, 200) == 0, "bad buffer: error return");
	const uint8_t *dd = fake_gpa(t.dom, RX_RING + 4 * 16);
	CHECK((dd[12] & 3) == 3 && (dd[13] & 0x80) && t.e->faults.rx_bad_desc == 1,
	      "bad buffer: status %#x errors %#x", dd[12], dd[13]);
	/* Ring registers past RAM, RDT beyond the ring: stopped, not used. */
	wr(&t, 0x2818, 200);
	CHECK(e1000_rx_frame(t.e, f, 200) == -EIO && !e1000_rx_has_room(t.e), "RDT 200 was used");
	wr(&t, 0x2818, 7);
	wr(&t, 0x2808, 0xfff80);                 /* 1 MiB of descriptors past the fake RAM's end? */
	wr(&t, 0x2800, (uint32_t)(FAKE_RAM_SIZE - 4096));
	CHECK(e1000_rx_frame(t.e, f, 200) == -EIO, "a ring running out of RAM was used");
	teardown(&t);
}

/* ---- saved state ---- */

static void test_save_restore(struct unit *u, const void *arg)
{
	struct t a, b;
	uint8_t buf[DEVICE_STATE_MAX];
	char err[256];

	(void)arg;
	if (!setup(&a) || !setup(&b)) {
		CHECK(0, "setup failed");
		return;
	}
	wr(&a, 0xd0, 0x84);
	wr(&a, 0x100, RCTL_EN | RCTL_BAM);
	wr(&a, 0x2808, 1024);
	wr(&a, 0x5200 + 4 * 7, 0xdeadbeef);
	wr(&a, 0x5408, 0x01020304);
	mdic(&a, 1, 4, true, 0x01e1);
	wr(&a, 0xc8, 0x80);
	long n = e1000_device.save(a.dom, a.nic_state, buf, sizeof(buf));
	CHECK(n == 2 + E1000_STATE_SIZE, "saved %ld bytes", n);
	CHECK(e1000_device.restore(b.dom, b.nic_state, buf, (size_t)n, err, sizeof(err)) == 0, "restore: %s", err);
	const uint32_t offs[] = { 0x00, 0x08, 0xd0, 0x100, 0x2808, 0x5200 + 4 * 7, 0x5408, 0x5400 };
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		CHECK(rd(&a, offs[i]) == rd(&b, offs[i]), "register %#x: %#x vs %#x", offs[i], rd(&a, offs[i]),
		      rd(&b, offs[i]));
	CHECK((mdic(&b, 1, 4, false, 0) & 0xffff) == 0x01e1, "PHY register lost");
	CHECK(b.level[IRQ_LINE], "the pending interrupt did not come back");
	/* Garbage: short, bad magic, another MAC, a flag of 2, a wrong count. */
	uint8_t bad[DEVICE_STATE_MAX];
	uint32_t ims = rd(&b, 0xd0);
	CHECK(e1000_device.restore(b.dom, b.nic_state, buf, (size_t)n - 1, err, sizeof(err)) == -1, "short accepted");
	memcpy(bad, buf, (size_t)n);
	bad[2] = 'X';
	CHECK(e1000_device.restore(b.dom, b.nic_state, bad, (size_t)n, err, sizeof(err)) == -1, "bad magic accepted");
	memcpy(bad, buf, (size_t)n);
	bad[2 + 4 + 5] ^= 1;
	CHECK(e1000_device.restore(b.dom, b.nic_state, bad, (size_t)n, err, sizeof(err)) == -1 && strstr(err, "MAC"),
	      "another MAC accepted: %s", err);
	memcpy(bad, buf, (size_t)n);
	bad[n - 4] = 2;
	CHECK(e1000_device.restore(b.dom, b.nic_state, bad, (size_t)n, err, sizeof(err)) == -1, "flag 2 accepted");
	memcpy(bad, buf, (size_t)n);
	bad[1] = 3;
	CHECK(e1000_device.restore(b.dom, b.nic_state, bad, (size_t)n, err, sizeof(err)) == -1, "count 3 accepted");
	CHECK(rd(&b, 0xd0) == ims, "a refused state changed the NIC");
	teardown(&a);
	teardown(&b);
}

/* ---- configuration and unplug ---- */

static void test_rtl8139_refused(struct unit *u, const void *arg)
{
	struct t t;
	char err[256] = "";

	(void)arg;
	bool ok = setup_with(&t, false, 1, HVM_NIC_RTL8139, err);
	CHECK(!ok && strstr(err, "model rtl8139 is not supported yet; use model=e1000"), "got: %s", err);
	t.nic_state = NULL;
	teardown(&t);
}

static void test_unplug(struct unit *u, const void *arg)
{
	struct t t;
	char err[256];

	(void)arg;
	if (!setup_with(&t, true, 2, HVM_NIC_E1000, err)) {
		CHECK(0, "setup: %s", err);
		return;
	}
	CHECK(pci_config_read(t.dom->pci, 4 << 3, PCI_VENDOR_ID, 4) == 0x100e8086, "second NIC not at slot 4");
	wr(&t, 0xd0, 0x4);
	wr(&t, 0xc8, 0x4);
	CHECK(t.level[IRQ_LINE], "no interrupt before the unplug");
	uint8_t mask[2] = { 2, 0 };                 /* XEN_UNPLUG_NICS at port 0x10 */
	io_bus_dispatch(&t.dom->pio, NULL, 0x10, true, mask, 2);
	CHECK(rd(&t, 0x08) == 0xffffffffu, "STATUS after unplug: %#x", rd(&t, 0x08));
	CHECK(!t.level[IRQ_LINE], "INTx still high after unplug");
	rx_ring(&t, 8, 7, RCTL_EN);
	uint8_t f[60];
	make_frame(f, sizeof(f), our_mac, 1);
	CHECK(e1000_rx_frame(t.e, f, sizeof(f)) == -EIO, "an unplugged NIC received");
	teardown(&t);
}

/* The row's main-loop side: the port is read while the ring has room, left unwatched when it is
 * full (frames wait on it), and read again once RDT gives buffers back (the vCPU's eventfd). */
static void test_main_loop(struct unit *u, const void *arg)
{
	struct t t;
	struct event_loop loop;
	uint8_t f[80];

	(void)arg;
	memset(&t, 0, sizeof(t));
	if (event_loop_init(&loop)) {
		CHECK(0, "event_loop_init");
		return;
	}
	char err[256];
	bool ok = setup_with(&t, false, 0, HVM_NIC_E1000, err);
	if (!ok) {
		CHECK(0, "setup: %s", err);
		event_loop_destroy(&loop);
		return;
	}
	t.dom->loop = &loop;
	t.cfg.n_nics = 1;
	t.cfg.nics[0].model = HVM_NIC_E1000;
	memcpy(t.cfg.nics[0].mac, our_mac, 6);
	struct e1000_port port = { t.sv[0] };
	if (e1000_devices_create(t.dom, &port, &t.nic_state, err, sizeof(err))) {
		CHECK(0, "create: %s", err);
		t.nic_state = NULL;
		teardown(&t);
		event_loop_destroy(&loop);
		return;
	}
	t.e = e1000_devices_nic(t.nic_state, 0);
	unsigned int devfn = 3 << 3;
	pci_config_write(t.dom->pci, devfn, PCI_BASE_ADDRESS_0, 4, (uint32_t)BAR0);
	pci_config_write(t.dom->pci, devfn, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	make_frame(f, sizeof(f), our_mac, 3);
	for (int i = 0; i < 3; i++)
		send(t.sv[1], f, sizeof(f), 0);
	rx_ring(&t, 8, 2, RCTL_EN | RCTL_SECRC);       /* room for two */
	for (int i = 0; i < 4; i++)
		event_loop_run_once(&loop, 20);
	CHECK(rd(&t, 0x2810) == 2, "after the loop ran: RDH %u, want 2", rd(&t, 0x2810));
	uint8_t peek[128];
	CHECK(recv(t.sv[0], peek, sizeof(peek), MSG_PEEK) == sizeof(f), "the third frame was not left waiting");
	wr(&t, 0x2818, 5);                             /* buffers back, as a vCPU would */
	for (int i = 0; i < 4; i++)
		event_loop_run_once(&loop, 20);
	CHECK(rd(&t, 0x2810) == 3, "after RDT moved: RDH %u, want 3", rd(&t, 0x2810));
	e1000_device.teardown(t.dom, t.nic_state);
	t.nic_state = NULL;
	t.dom->loop = NULL;
	teardown(&t);
	event_loop_destroy(&loop);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "e1000-eeprom-eerd", test_eeprom_eerd, NULL);
	unit_case(&u, "e1000-eeprom-microwire", test_eeprom_microwire, NULL);
	unit_case(&u, "e1000-phy-link", test_phy_link, NULL);
	unit_case(&u, "e1000-reset-and-io-bar", test_reset, NULL);
	unit_case(&u, "e1000-tx-two-frames", test_tx_two_frames, NULL);
	unit_case(&u, "e1000-tx-checksum-context", test_tx_checksum_context, NULL);
	unit_case(&u, "e1000-rx-frame", test_rx_frame, NULL);
	unit_case(&u, "e1000-rx-ring-full", test_rx_ring_full, NULL);
	unit_case(&u, "e1000-tx-hostile", test_tx_hostile, NULL);
	unit_case(&u, "e1000-rx-hostile", test_rx_hostile, NULL);
	unit_case(&u, "e1000-save-restore", test_save_restore, NULL);
	unit_case(&u, "e1000-rtl8139-refused", test_rtl8139_refused, NULL);
	unit_case(&u, "e1000-unplug", test_unplug, NULL);
	unit_case(&u, "e1000-main-loop", test_main_loop, NULL);
	return unit_finish(&u);
}
