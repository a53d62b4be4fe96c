/* PCI bus 0 and the chipset functions on it (hw/pci.c, i440fx.c, piix3.c, xen_platform.c) on a fake
 * domain, driven through the domain's port and MMIO buses as a vCPU's exits would: SeaBIOS-style
 * probing through 0xcf8/0xcfc, BAR sizing and placement, INTx through PIIX3's routes onto a
 * watching interrupt router, the Xen unplug protocol, saved state, and hostile accesses. */
#include <sys/eventfd.h>
#include "hw/device.h"
#include "hw/hvm_config.h"
#include "hw/pci.h"
#include "hw/xen_platform.h"
#include "unit.h"
#include "fake_domain.h"

extern const struct device_ops pci_bus_device, i440fx_device, piix3_device, xen_platform_device;

/* ---- a device of our own with two BARs, and three more functions that only interrupt ---- */

#define TEST_SLOT 3
#define TEST_IO_SIZE 32
#define TEST_MEM_SIZE 4096

struct testdev {
	struct pci_device_info info, irq_only[3];
	struct pci_device *dev, *others[3];
	unsigned int calls;
	uint64_t last_off;
	bool last_write;
	unsigned int last_size;
	uint8_t last_data[8];
};

static void testdev_bar(void *opaque, struct vcpu *vcpu, uint64_t off, bool is_write, uint8_t *data,
			unsigned int size)
{
	struct testdev *t = opaque;

	(void)vcpu;
	t->calls++;
	t->last_off = off;
	t->last_write = is_write;
	t->last_size = size;
	if (is_write)
		memcpy(t->last_data, data, size < 8 ? size : 8);
	else
		for (unsigned int i = 0; i < size; i++)
			data[i] = (uint8_t)(0xa0 + off + i);
}

static int testdev_init(struct domain *dom, void **state, char *err, size_t errlen)
{
	struct testdev *t = calloc(1, sizeof(*t));
	/* slot 3 INTA, slot 4 INTD: both PIRQC; slot 5 INTA: PIRQA; slot 6 INTA: PIRQB */
	static const unsigned int slots[3] = { 4, 5, 6 }, pins[3] = { 4, 1, 1 };

	t->info = (struct pci_device_info){
		.name = "testdev", .vendor = 0x1234, .device = 0x5678, .class_code = 0x02, .irq_pin = 1,
		.bars = {
			[0] = { .size = TEST_IO_SIZE, .io = true, .fn = testdev_bar, .opaque = t },
			[1] = { .size = TEST_MEM_SIZE, .fn = testdev_bar, .opaque = t },
		},
		.opaque = t,
	};
	t->dev = pci_device_add(dom->pci, TEST_SLOT, 0, &t->info, err, errlen);
	for (unsigned int i = 0; i < 3 && t->dev; i++) {
		t->irq_only[i] = (struct pci_device_info){
			.name = "testdev-irq", .vendor = 0x1234, .device = 0x5679, .irq_pin = (uint8_t)pins[i],
		};
		t->others[i] = pci_device_add(dom->pci, slots[i], 0, &t->irq_only[i], err, errlen);
		if (!t->others[i])
			t->dev = NULL;
	}
	*state = t;
	return t->dev ? 0 : -1;
}

static void testdev_teardown(struct domain *dom, void *state)
{
	struct testdev *t = state;
	for (unsigned int i = 0; i < 4; i++) {
		struct pci_device *d = i ? t->others[i - 1] : t->dev;
		if (d && dom->pci) {
			dom->pci->devices[d->devfn] = NULL;
			free(d);
		}
	}
	free(t);
}

static const struct device_ops testdev_device = { .name = "testdev", .init = testdev_init,
						   .teardown = testdev_teardown };

static const struct device_ops *const rig_table[] = {
	&pci_bus_device, &i440fx_device, &piix3_device, &xen_platform_device, &testdev_device, NULL,
};

/* ---- the rig: a fake domain with the table built and an interrupt watcher ---- */

struct watcher {
	bool level[24];
	unsigned int changes;
};

static void watch_irq(void *opaque, unsigned int gsi, bool level)
{
	struct watcher *w = opaque;
	if (gsi < 24)
		w->level[gsi] = level;
	w->changes++;
}

struct rig {
	struct domain *d;
	struct watcher w;
	struct hvm_config hvm;
	struct testdev *t;
};

static bool rig_up(struct unit *u, struct rig *r, bool platform)
{
	char err[256];

	memset(r, 0, sizeof(*r));
	r->d = fake_domain_new(1);
	r->d->irq.set = watch_irq;
	r->d->irq.opaque = &r->w;
	r->hvm.platform_pci = platform;
	r->d->hvm = &r->hvm;
	r->d->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (devices_init(r->d, rig_table, err, sizeof(err))) {
		CHECK(0, "devices_init: %s", err);
		fake_domain_free(r->d);
		return false;
	}
	r->t = r->d->pci->devices[TEST_SLOT << 3]->info->opaque;
	return true;
}

static void rig_down(struct rig *r)
{
	devices_teardown(r->d);
	close(r->d->notify_fd);
	r->d->notify_fd = -1;
	fake_domain_free(r->d);
}

static uint32_t in(struct rig *r, uint16_t port, unsigned int size)
{
	uint8_t data[8];
	uint32_t v = 0;
	memset(data, 0x5a, sizeof(data));
	io_bus_dispatch(&r->d->pio, NULL, port, false, data, size);
	for (unsigned int i = 0; i < size && i < 4; i++)
		v |= (uint32_t)data[i] << (8 * i);
	return v;
}

static void out(struct rig *r, uint16_t port, unsigned int size, uint32_t v)
{
	uint8_t data[8] = { 0 };
	for (unsigned int i = 0; i < size && i < 4; i++)
		data[i] = (uint8_t)(v >> (8 * i));
	io_bus_dispatch(&r->d->pio, NULL, port, true, data, size);
}

static uint64_t mmio(struct rig *r, uint64_t addr, bool is_write, unsigned int size, uint64_t v)
{
	uint8_t data[8];
	memcpy(data, &v, 8);
	io_bus_dispatch(&r->d->mmio, NULL, addr, is_write, data, size);
	uint64_t got = 0;
	memcpy(&got, data, size);
	return got;
}

#define DEVFN(slot, fn) ((slot) << 3 | (fn))

/* As SeaBIOS does: the dword address at 0xcf8, then the lane of 0xcfc the offset names. */
static uint32_t cfg_read(struct rig *r, unsigned int devfn, unsigned int off, unsigned int size)
{
	out(r, 0xcf8, 4, 0x80000000u | devfn << 8 | (off & 0xfc));
	return in(r, (uint16_t)(0xcfc + (off & 3)), size);
}

static void cfg_write(struct rig *r, unsigned int devfn, unsigned int off, unsigned int size, uint32_t v)
{
	out(r, 0xcf8, 4, 0x80000000u | devfn << 8 | (off & 0xfc));
	out(r, (uint16_t)(0xcfc + (off & 3)), size, v);
}

/* ---- cases ---- */

static void test_ids(struct unit *u, const void *arg)
{
	struct rig r;
	(void)arg;
	if (!rig_up(u, &r, true))
		return;
	CHECK_INT(cfg_read(&r, DEVFN(0, 0), 0, 4), 0x12378086);
	CHECK_INT(cfg_read(&r, DEVFN(0, 0), 0x08, 4), 0x06000002);          /* host bridge, rev 2 */
	CHECK_INT(cfg_read(&r, DEVFN(1, 0), 0, 4), 0x70008086);
	CHECK_INT(cfg_read(&r, DEVFN(1, 0), 0x0a, 2), 0x0601);              /* ISA bridge */
	CHECK_INT(cfg_read(&r, DEVFN(1, 0), PCI_HEADER_TYPE, 1), 0x80);
	CHECK_INT(cfg_read(&r, DEVFN(2, 0), 0, 4), 0x00015853);
	CHECK_INT(cfg_read(&r, DEVFN(2, 0), 0x08, 4), 0xff800001);          /* class ff80, rev 1 */
	CHECK_INT(cfg_read(&r, DEVFN(2, 0), PCI_SUBSYSTEM_VENDOR_ID, 4), 0x00015853);
	CHECK_INT(cfg_read(&r, DEVFN(2, 0), PCI_INTERRUPT_PIN, 1), 1);
	CHECK_INT(cfg_read(&r, DEVFN(2, 0), PCI_VENDOR_ID + 2, 2), 0x0001);  /* word at lane 2 */
	CHECK_INT(cfg_read(&r, DEVFN(2, 0), PCI_VENDOR_ID + 1, 1), 0x58);    /* byte at lane 1 */
	rig_down(&r);
}

static void test_absent(struct unit *u, const void *arg)
{
	struct rig r;
	(void)arg;
	if (!rig_up(u, &r, true))
		return;
	CHECK_INT(cfg_read(&r, DEVFN(9, 0), 0, 4), 0xffffffff);
	CHECK_INT(cfg_read(&r, DEVFN(0, 1), 0, 4), 0xffffffff);              /* 00:00.1 absent */
	CHECK_INT(cfg_read(&r, DEVFN(9, 0), 0, 2), 0xffff);
	CHECK_INT(cfg_read(&r, DEVFN(9, 0), 3, 1), 0xff);
	out(&r, 0xcf8, 4, 0x80010000u);                                     /* bus 1 */
	CHECK_INT(in(&r, 0xcfc, 4), 0xffffffff);
	out(&r, 0xcf8, 4, 0x00000000u);                                     /* enable clear */
	CHECK_INT(in(&r, 0xcfc, 4), 0xffffffff);
	/* a write to an absent function goes nowhere (and a present one is unharmed) */
	cfg_write(&r, DEVFN(9, 0), PCI_COMMAND, 2, 0xffff);
	CHECK_INT(cfg_read(&r, DEVFN(0, 0), 0, 4), 0x12378086);
	rig_down(&r);
}

static void test_bar_sizing(struct unit *u, const void *arg)
{
	static const struct { unsigned int devfn, bar; uint32_t mask; } rows[] = {
		{ DEVFN(TEST_SLOT, 0), 0, 0xffffffe1 },    /* 32 bytes of I/O */
		{ DEVFN(TEST_SLOT, 0), 1, 0xfffff000 },    /* 4 KiB of memory */
		{ DEVFN(TEST_SLOT, 0), 2, 0 },             /* no BAR */
		{ DEVFN(2, 0), 0, 0xffffff01 },            /* platform: 256 bytes of I/O */
		{ DEVFN(2, 0), 1, 0xff000000 },            /* platform: 16 MiB of memory */
		{ DEVFN(0, 0), 0, 0 },
	};
	struct rig r;
	(void)arg;
	if (!rig_up(u, &r, true))
		return;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		unsigned int off = PCI_BASE_ADDRESS_0 + 4 * rows[i].bar;
		cfg_write(&r, rows[i].devfn, off, 4, 0xffffffff);
		CHECK(cfg_read(&r, rows[i].devfn, off, 4) == rows[i].mask, "row %zu: BAR reads %#x, expected %#x",
		      i, cfg_read(&r, rows[i].devfn, off, 4), rows[i].mask);
	}
	rig_down(&r);
}

static void place_bars(struct rig *r, uint32_t io, uint32_t mem, uint16_t command)
{
	cfg_write(r, DEVFN(TEST_SLOT, 0), PCI_BASE_ADDRESS_0, 4, io);
	cfg_write(r, DEVFN(TEST_SLOT, 0), PCI_BASE_ADDRESS_0 + 4, 4, mem);
	cfg_write(r, DEVFN(TEST_SLOT, 0), PCI_COMMAND, 2, command);
}

static void test_bar_access(struct unit *u, const void *arg)
{
	struct rig r;
	(void)arg;
	if (!rig_up(u, &r, true))
		return;
	struct testdev *t = r.t;
	place_bars(&r, 0xc100, 0xc0001000, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	CHECK_INT(pci_bar_address(t->dev, 0), 0xc100);
	CHECK_INT(pci_bar_address(t->dev, 1), 0xc0001000);
	CHECK_INT(cfg_read(&r, DEVFN(TEST_SLOT, 0), PCI_BASE_ADDRESS_0, 4), 0xc101);
	out(&r, 0xc104, 4, 0xdeadbeef);
	CHECK(t->calls == 1 && t->last_write && t->last_off == 4 && t->last_size == 4 &&
	      !memcmp(t->last_data, "\xef\xbe\xad\xde", 4), "I/O write reached the BAR at offset %llu (%u calls)",
	      (unsigned long long)t->last_off, t->calls);
	CHECK_INT(in(&r, 0xc11f, 1), 0xa0 + 0x1f);
	CHECK_INT(mmio(&r, 0xc0001008, false, 4, 0), 0xabaaa9a8ull);
	CHECK_INT(t->last_off, 8);
	mmio(&r, 0xc0001ff8, true, 8, 0x1122334455667788ull);
	CHECK(t->last_off == 0xff8 && t->last_size == 8, "8-byte MMIO write at %#llx size %u",
	      (unsigned long long)t->last_off, t->last_size);
	/* running off the BAR's end: nobody answers */
	unsigned int calls = t->calls;
	CHECK_INT(mmio(&r, 0xc0001ffc, false, 8, 0), 0xffffffffffffffffull);
	CHECK_INT(in(&r, 0xc11e, 4), 0xffffffff);
	CHECK_INT(t->calls, calls);
	/* between BARs: all ones */
	CHECK_INT(in(&r, 0xc200, 2), 0xffff);
	CHECK_INT(mmio(&r, 0xc0003000, false, 4, 0), 0xffffffff);
	rig_down(&r);
}

static void test_bar_decode_off(struct unit *u, const void *arg)
{
	struct rig r;
	(void)arg;
	if (!rig_up(u, &r, true))
		return;
	struct testdev *t = r.t;
	place_bars(&r, 0xc100, 0xc0001000, PCI_COMMAND_MEMORY);     /* I/O off */
	CHECK_INT(pci_bar_address(t->dev, 0), (long long)UINT64_MAX);
	CHECK_INT(in(&r, 0xc100, 4), 0xffffffff);
	CHECK_INT(t->calls, 0);
	cfg_write(&r, DEVFN(TEST_SLOT, 0), PCI_COMMAND, 2, PCI_COMMAND_IO);   /* memory off */
	CHECK_INT(mmio(&r, 0xc0001000, false, 4, 0), 0xffffffff);
	CHECK_INT(t->calls, 0);
	CHECK_INT(in(&r, 0xc100, 1), 0xa0);
	CHECK_INT(t->calls, 1);
	rig_down(&r);
}

static void test_bar_outside_window(struct unit *u, const void *arg)
{
	static const struct { uint32_t io, mem; } rows[] = {
		{ 0x1000, 0x10000000 },          /* below both windows */
		{ 0xbfe0, 0xbffff000 },          /* just below */
		{ 0x10000, 0xfec00000 },         /* past the windows' ends (the IO-APIC) */
	};
	struct rig r;
	(void)arg;
	if (!rig_up(u, &r, true))
		return;
	struct testdev *t = r.t;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		place_bars(&r, rows[i].io, rows[i].mem, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
		CHECK(pci_bar_address(t->dev, 0) == UINT64_MAX, "row %zu: I/O BAR at %#x decodes", i, rows[i].io);
		CHECK(pci_bar_address(t->dev, 1) == UINT64_MAX, "row %zu: memory BAR at %#x decodes", i, rows[i].mem);
	}
	/* The last places inside do decode. */
	place_bars(&r, 0xffe0, 0xfebff000, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	CHECK_INT(pci_bar_address(t->dev, 0), 0xffe0);
	CHECK_INT(pci_bar_address(t->dev, 1), 0xfebff000);
	CHECK_INT(t->calls, 0);
	rig_down(&r);
}

static void test_write_masks(struct unit *u, const void *arg)
{
	static const struct { unsigned int devfn, off, size; uint32_t write, read; } rows[] = {
		{ DEVFN(TEST_SLOT, 0), PCI_VENDOR_ID, 4, 0, 0x56781234 },
		{ DEVFN(TEST_SLOT, 0), PCI_REVISION_ID, 4, 0xffffffff, 0x02000000 },
		{ DEVFN(TEST_SLOT, 0), PCI_COMMAND, 2, 0xffff, 0x0407 },
		{ DEVFN(TEST_SLOT, 0), PCI_STATUS, 2, 0xffff, 0 },
		{ DEVFN(TEST_SLOT, 0), PCI_INTERRUPT_LINE, 1, 0x0b, 0x0b },
		{ DEVFN(TEST_SLOT, 0), PCI_INTERRUPT_PIN, 1, 0x04, 0x01 },
		{ DEVFN(TEST_SLOT, 0), PCI_HEADER_TYPE, 1, 0x80, 0 },
		{ DEVFN(TEST_SLOT, 0), 0x40, 4, 0xffffffff, 0 },         /* no device registers */
		{ DEVFN(0, 0), 0x58, 4, 0xffffffff, 0xffffff00 },         /* PAM0-2 */
		{ DEVFN(0, 0), 0x5c, 4, 0x12345678, 0x12345678 },         /* PAM3-6 */
		{ DEVFN(0, 0), 0x72, 1, 0xff, 0x7a },                     /* SMRAM: C_BASE_SEG fixed */
		{ DEVFN(1, 0), 0x60, 4, 0xffffffff, 0x8f8f8f8f },         /* PIRQ routes */
		{ DEVFN(1, 0), 0x64, 4, 0xffffffff, 0 },
		{ DEVFN(2, 0), PCI_SUBSYSTEM_ID, 2, 0, 0x0001 },
	};
	struct rig r;
	(void)arg;
	if (!rig_up(u, &r, true))
		return;
	CHECK_INT(cfg_read(&r, DEVFN(1, 0), 0x60, 4), 0x80808080);        /* routes start off */
	CHECK_INT(cfg_read(&r, DEVFN(0, 0), 0x72, 1), 0x02);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		cfg_write(&r, rows[i].devfn, rows[i].off, rows[i].size, rows[i].write);
		uint32_t got = cfg_read(&r, rows[i].devfn, rows[i].off, rows[i].size);
		CHECK(got == rows[i].read, "row %zu: %02x.%u offset %#x reads %#x after writing %#x, expected %#x",
		      i, rows[i].devfn >> 3, rows[i].devfn & 7, rows[i].off, got, rows[i].write, rows[i].read);
	}
	/* ELCR: IRQ 0-2, 8 and 13 stay edge */
	out(&r, 0x4d0, 1, 0xff);
	out(&r, 0x4d1, 1, 0xff);
	CHECK_INT(in(&r, 0x4d0, 2), 0xdef8);
	out(&r, 0x4d0, 2, 0x0c00);
	CHECK_INT(in(&r, 0x4d0, 1), 0);
	CHECK_INT(in(&r, 0x4d1, 1), 0x0c);
	rig_down(&r);
}

static void test_intx_route(struct unit *u, const void *arg)
{
	struct rig r;
	(void)arg;
	if (!rig_up(u, &r, true))
		return;
	struct testdev *t = r.t;
	/* slot 3 INTA swizzles to PIRQC (as SeaBIOS assumes), whose route is 0x62 */
	cfg_write(&r, DEVFN(1, 0), 0x62, 1, 11);
	CHECK_INT(r.w.changes, 0);
	pci_device_set_irq(t->dev, true);
	CHECK(r.w.level[11], "IRQ 11 low while slot 3 asserts INTA");
	CHECK(cfg_read(&r, DEVFN(TEST_SLOT, 0), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, "status bit clear");
	for (unsigned int irq = 0; irq < 24; irq++)
		CHECK(irq == 11 || !r.w.level[irq], "IRQ %u raised too", irq);
	pci_device_set_irq(t->dev, false);
	CHECK(!r.w.level[11], "IRQ 11 still high");
	CHECK(!(cfg_read(&r, DEVFN(TEST_SLOT, 0), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT), "status bit set");

	/* route change moves the level; a disabled or unroutable route drops it */
	pci_device_set_irq(t->dev, true);
	cfg_write(&r, DEVFN(1, 0), 0x62, 1, 5);
	CHECK(!r.w.level[11] && r.w.level[5], "route to 5: IRQ 11 %d, IRQ 5 %d", r.w.level[11], r.w.level[5]);
	cfg_write(&r, DEVFN(1, 0), 0x60, 4, 0x80058080);       /* dword write, same route */
	CHECK(r.w.level[5], "IRQ 5 dropped by rewriting the same route");
	cfg_write(&r, DEVFN(1, 0), 0x62, 1, 0x85);
	CHECK(!r.w.level[5], "IRQ 5 high with the route disabled");
	cfg_write(&r, DEVFN(1, 0), 0x62, 1, 0x02);             /* IRQ 2: not routable */
	CHECK(!r.w.level[2], "IRQ 2 raised through a PIRQ");
	cfg_write(&r, DEVFN(1, 0), 0x62, 1, 9);
	CHECK(r.w.level[9], "IRQ 9 low after routing back");

	/* INTX_DISABLE drops the line but not the status bit */
	cfg_write(&r, DEVFN(TEST_SLOT, 0), PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	CHECK(!r.w.level[9], "IRQ 9 high with INTX_DISABLE");
	CHECK(cfg_read(&r, DEVFN(TEST_SLOT, 0), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, "status bit cleared");
	cfg_write(&r, DEVFN(TEST_SLOT, 0), PCI_COMMAND, 2, 0);
	CHECK(r.w.level[9], "IRQ 9 low after INTX_DISABLE cleared");
	rig_down(&r);
}

static void test_intx_shared(struct unit *u, const void *arg)
{
	struct rig r;
	(void)arg;
	if (!rig_up(u, &r, true))
		return;
	struct testdev *t = r.t;
	/* SeaBIOS's routes: A, B -> 10; C, D -> 11 */
	cfg_write(&r, DEVFN(1, 0), 0x60, 4, 0x0b0b0a0a);
	/* two devices on one PIRQ (slot 3 INTA and slot 4 INTD: PIRQC) */
	pci_device_set_irq(t->dev, true);
	pci_device_set_irq(t->others[0], true);
	pci_device_set_irq(t->dev, false);
	CHECK(r.w.level[11], "IRQ 11 dropped while slot 4 still asserts");
	pci_device_set_irq(t->others[0], false);
	CHECK(!r.w.level[11], "IRQ 11 high with nobody asserting");
	/* two PIRQs on one IRQ (slot 5 INTA: PIRQA, slot 6 INTA: PIRQB) */
	pci_device_set_irq(t->others[1], true);
	pci_device_set_irq(t->others[2], true);
	CHECK(r.w.level[10], "IRQ 10 low");
	pci_device_set_irq(t->others[1], false);
	CHECK(r.w.level[10], "IRQ 10 dropped while PIRQB still asserts");
	/* moving PIRQB away leaves IRQ 10 to PIRQA, which is quiet */
	cfg_write(&r, DEVFN(1, 0), 0x61, 1, 7);
	CHECK(!r.w.level[10] && r.w.level[7], "IRQ 10 %d, IRQ 7 %d", r.w.level[10], r.w.level[7]);
	unsigned int changes = r.w.changes;
	pci_device_set_irq(t->others[2], true);                  /* no change: no call */
	CHECK_INT(r.w.changes, changes);
	rig_down(&r);
}

/* ---- the unplug protocol ---- */

struct hook_seen {
	unsigned int unplug_calls, mask;
	char product[32];
	uint32_t build;
};

/* The hooks know only the domain: they find what they record through its router's opaque, a
 * hook_rig whose first member is the watcher. */
struct hook_rig {
	struct watcher w;
	struct hook_seen seen;
};

static struct hook_seen *seen_of(struct domain *d)
{
	return &((struct hook_rig *)d->irq.opaque)->seen;
}

static void hook_unplug(struct domain *d, unsigned int mask)
{
	seen_of(d)->unplug_calls++;
	seen_of(d)->mask |= mask;
}

static bool hook_blacklist(struct domain *d, const char *product, uint32_t build)
{
	snprintf(seen_of(d)->product, sizeof(seen_of(d)->product), "%s", product ? product : "(none)");
	seen_of(d)->build = build;
	return product && !strcmp(product, "linux") && build == 42;
}

static void test_unplug(struct unit *u, const void *arg)
{
	struct rig r;
	struct hook_rig h = { 0 };
	(void)arg;
	if (!rig_up(u, &r, true))
		return;
	r.d->irq.opaque = &h.w;
	const struct xen_platform_hooks hooks = { .unplug = hook_unplug, .blacklisted = hook_blacklist };
	CHECK_INT(xen_platform_set_hooks(r.d, &hooks), 0);
	CHECK_INT(in(&r, 0x10, 2), 0x49d2);
	CHECK_INT(in(&r, 0x12, 1), 1);
	out(&r, 0x12, 2, 3);                 /* product: linux */
	out(&r, 0x10, 4, 7);                 /* build 7 */
	CHECK_STR(h.seen.product, "linux");
	CHECK_INT(h.seen.build, 7);
	CHECK_INT(in(&r, 0x10, 2), 0x49d2);
	CHECK(!xen_platform_unplugged(r.d, XEN_UNPLUG_IDE_DISKS | XEN_UNPLUG_NICS | XEN_UNPLUG_AUX_IDE),
	      "unplugged before asking");
	out(&r, 0x10, 2, XEN_UNPLUG_IDE_DISKS | XEN_UNPLUG_NICS);
	CHECK(xen_platform_unplugged(r.d, XEN_UNPLUG_IDE_DISKS), "IDE disks not unplugged");
	CHECK(xen_platform_unplugged(r.d, XEN_UNPLUG_NICS), "NICs not unplugged");
	CHECK(!xen_platform_unplugged(r.d, XEN_UNPLUG_AUX_IDE), "aux IDE unplugged");
	CHECK(xen_platform_unplugged(r.d, XEN_UNPLUG_IDE_DISKS | XEN_UNPLUG_AUX_IDE), "secondary disk stays");
	CHECK(h.seen.unplug_calls == 1 && h.seen.mask == 3, "hook: %u calls, mask %#x", h.seen.unplug_calls,
	      h.seen.mask);
	out(&r, 0x10, 2, XEN_UNPLUG_NICS);   /* nothing new: no call */
	CHECK_INT(h.seen.unplug_calls, 1);
	/* the log port and the flags byte take their bytes; odd widths change nothing */
	for (const char *s = "hello from a PV driver\n"; *s; s++)
		out(&r, 0x12, 1, (uint8_t)*s);
	out(&r, 0x10, 1, 0xff);
	CHECK_INT(in(&r, 0x10, 1), 1);
	CHECK_INT(in(&r, 0x11, 1), 0xff);
	CHECK_INT(in(&r, 0x12, 2), 0xffff);
	out(&r, 0x12, 4, 0xffffffff);        /* runs past 0x13 */
	out(&r, 0x11, 2, 0xffff);
	CHECK_INT(in(&r, 0x10, 2), 0x49d2);
	/* BAR0: the flags byte at 0 */
	cfg_write(&r, DEVFN(2, 0), PCI_BASE_ADDRESS_0, 4, 0xc200);
	cfg_write(&r, DEVFN(2, 0), PCI_BASE_ADDRESS_0 + 4, 4, 0xc1000000);
	cfg_write(&r, DEVFN(2, 0), PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	CHECK_INT(in(&r, 0xc200, 1), 1);
	out(&r, 0xc200, 1, 0);
	CHECK_INT(in(&r, 0x10, 1), 0);
	CHECK_INT(mmio(&r, 0xc1000004, false, 4, 0), 0);     /* BAR1 reads zero */
	CHECK_INT(mmio(&r, 0xc1fffff8, false, 8, 0), 0);
	rig_down(&r);
}

static void test_unplug_blacklisted(struct unit *u, const void *arg)
{
	struct rig r;
	struct hook_rig h = { 0 };
	(void)arg;
	if (!rig_up(u, &r, true))
		return;
	r.d->irq.opaque = &h.w;
	const struct xen_platform_hooks hooks = { .unplug = hook_unplug, .blacklisted = hook_blacklist };
	xen_platform_set_hooks(r.d, &hooks);
	out(&r, 0x12, 2, 3);
	out(&r, 0x10, 4, 42);                /* blacklisted build */
	CHECK_INT(in(&r, 0x10, 2), 0xd249);
	out(&r, 0x10, 2, XEN_UNPLUG_IDE_DISKS | XEN_UNPLUG_NICS);
	CHECK(!xen_platform_unplugged(r.d, XEN_UNPLUG_IDE_DISKS | XEN_UNPLUG_NICS),
	      "blacklisted drivers unplugged devices");
	CHECK_INT(h.seen.unplug_calls, 0);
	out(&r, 0x12, 2, 0x9999);            /* an unlisted product */
	out(&r, 0x10, 4, 42);
	CHECK_STR(h.seen.product, "(none)");
	CHECK_INT(in(&r, 0x10, 2), 0x49d2);
	rig_down(&r);
}

static void test_no_platform(struct unit *u, const void *arg)
{
	struct rig r;
	(void)arg;
	if (!rig_up(u, &r, false))
		return;
	CHECK_INT(cfg_read(&r, DEVFN(2, 0), 0, 4), 0xffffffff);
	CHECK_INT(in(&r, 0x10, 2), 0xffff);
	out(&r, 0x10, 2, 3);
	CHECK(!xen_platform_unplugged(r.d, 0xf), "unplugged without a platform device");
	const struct xen_platform_hooks hooks = { 0 };
	CHECK_INT(xen_platform_set_hooks(r.d, &hooks), -1);
	rig_down(&r);
}

static void test_reset_control(struct unit *u, const void *arg)
{
	struct rig r;
	(void)arg;
	if (!rig_up(u, &r, true))
		return;
	out(&r, 0xcf9, 1, 0x02);
	CHECK_INT(in(&r, 0xcf9, 1), 0x02);
	CHECK_INT(r.d->shutdown_reason, -1);
	out(&r, 0xcf8, 4, 0x80000000u);        /* the latch is apart from 0xcf9 */
	CHECK_INT(in(&r, 0xcf8, 4), 0x80000000u);
	out(&r, 0xcf9, 1, 0x06);
	CHECK_INT(r.d->shutdown_reason, SHUTDOWN_reboot);
	rig_down(&r);
}

/* ---- saved state ---- */

static void set_scene(struct rig *r)
{
	cfg_write(r, DEVFN(1, 0), 0x60, 4, 0x0b0b0a0a);
	place_bars(r, 0xc100, 0xc0001000, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cfg_write(r, DEVFN(0, 0), 0x5a, 2, 0x3311);
	cfg_write(r, DEVFN(TEST_SLOT, 0), PCI_INTERRUPT_LINE, 1, 11);
	out(r, 0x4d1, 1, 0x0c);
	out(r, 0x10, 2, XEN_UNPLUG_NICS);
	pci_device_set_irq(r->t->dev, true);
	out(r, 0xcf8, 4, 0x80001808u);
}

/* Two rigs: `a` with the scene set, `b` fresh to restore into. */
static bool scene_pair_up(struct unit *u, struct rig *a, struct rig *b)
{
	if (!rig_up(u, a, true))
		return false;
	if (!rig_up(u, b, true)) {
		rig_down(a);
		return false;
	}
	set_scene(a);
	return true;
}

static void test_save_restore(struct unit *u, const void *arg)
{
	struct rig a, b;
	uint8_t buf[8192], again[8192];
	char err[256];
	(void)arg;
	if (!scene_pair_up(u, &a, &b))
		return;
	long n = devices_save(a.d, buf, sizeof(buf), err, sizeof(err));
	CHECK(n > 0, "devices_save: %s", err);
	if (n > 0) {
		CHECK(devices_restore(b.d, buf, (size_t)n, err, sizeof(err)) == 0, "devices_restore: %s", err);
		/* saved again before anything moves the latch */
		long m = devices_save(b.d, again, sizeof(again), err, sizeof(err));
		CHECK(m == n, "a restored bus saves %ld bytes, not %ld", m, n);
		for (long i = 0; i < n && m == n; i++)
			if (buf[i] != again[i]) {
				CHECK(0, "a restored bus saves differently at byte %ld: %#x, not %#x", i, again[i], buf[i]);
				break;
			}
		CHECK(b.w.level[11], "the asserted INTx is not raised after restore");
		CHECK_INT(in(&b, 0xcf8, 4), 0x80001808u);
		CHECK_INT(in(&b, 0x4d1, 1), 0x0c);
		CHECK(xen_platform_unplugged(b.d, XEN_UNPLUG_NICS), "unplug lost");
		for (unsigned int devfn = 0; devfn < 64; devfn++)
			for (unsigned int off = 0; off < 256; off += 4)
				if (cfg_read(&a, devfn, off, 4) != cfg_read(&b, devfn, off, 4))
					CHECK(0, "%02x.%u offset %#x differs after restore", devfn >> 3, devfn & 7, off);
		CHECK_INT(in(&b, 0xc100, 1), 0xa0);
	}
	rig_down(&b);
	rig_down(&a);
}

static void test_restore_refused(struct unit *u, const void *arg)
{
	struct rig a, b;
	uint8_t buf[4096], bad[4096];
	char err[256];
	(void)arg;
	if (!scene_pair_up(u, &a, &b))
		return;
	long n = pci_bus_device.save(a.d, a.d->pci, buf, sizeof(buf));
	CHECK(n > 13, "pci save: %ld", n);
	CHECK_INT(pci_bus_device.save(a.d, a.d->pci, buf, (size_t)n - 1), -1);    /* no room */
	if (n <= 13)
		goto out;
	for (long len = 0; len < n; len++)
		CHECK(pci_bus_restore(b.d->pci, buf, (size_t)len, err, sizeof(err)) == -1,
		      "a state cut to %ld of %ld bytes was taken", len, n);
	memcpy(bad, buf, (size_t)n);
	bad[(size_t)n] = 0;
	CHECK(pci_bus_restore(b.d->pci, bad, (size_t)n + 1, err, sizeof(err)) == -1, "a long state was taken");
	static const struct { size_t at; uint8_t value; const char *what; } garbles[] = {
		{ 0, 'X', "magic" },
		{ 12, 1, "function count" },
		{ 13, 0x48, "devfn of nobody" },            /* 09.0 */
		{ 13 + 258, 0x00, "devfn twice" },          /* second record says 00.0 again */
		{ 14, 2, "INTx level 2" },
		{ 15, 0x87, "vendor of another device" },
		{ 15 + 0x0e, 0x80, "header type" },
	};
	for (size_t i = 0; i < sizeof(garbles) / sizeof(garbles[0]); i++) {
		memcpy(bad, buf, (size_t)n);
		bad[garbles[i].at] = garbles[i].value;
		CHECK(pci_bus_restore(b.d->pci, bad, (size_t)n, err, sizeof(err)) == -1, "%s taken",
		      garbles[i].what);
	}
	/* nothing of the refused states stuck */
	CHECK_INT(cfg_read(&b, DEVFN(TEST_SLOT, 0), PCI_COMMAND, 2), 0);
out:
	rig_down(&b);
	rig_down(&a);
}

/* ---- hostile accesses ---- */

static void test_hostile(struct unit *u, const void *arg)
{
	struct rig r;
	(void)arg;
	if (!rig_up(u, &r, true))
		return;
	/* reserved bits of the address read back as zero, and the latch takes only dwords */
	out(&r, 0xcf8, 4, 0xff000003u);
	CHECK_INT(in(&r, 0xcf8, 4), 0x80000000u);
	CHECK_INT(in(&r, 0xcfc, 4), 0x12378086);                 /* 00:00.0 offset 0 after all */
	out(&r, 0xcf8, 1, 0x00);
	out(&r, 0xcf8, 2, 0x0000);
	CHECK_INT(in(&r, 0xcf8, 4), 0x80000000u);
	CHECK_INT(in(&r, 0xcf8, 1), 0xff);
	CHECK_INT(in(&r, 0xcfa, 2), 0xffff);                    /* not ours: unclaimed */
	/* accesses running past 0xcff or of odd sizes: no cycle */
	CHECK_INT(in(&r, 0xcfd, 4), 0xffffffff);
	CHECK_INT(in(&r, 0xcff, 2), 0xffff);
	CHECK_INT(in(&r, 0xcfc, 3), 0xffffff);
	uint8_t wide[8];
	memset(wide, 0, sizeof(wide));
	io_bus_dispatch(&r.d->pio, NULL, 0xcfc, false, wide, 8);
	CHECK(!memcmp(wide, "\xff\xff\xff\xff\xff\xff\xff\xff", 8), "8-byte read of 0xcfc");
	out(&r, 0xcf8, 4, 0x80000000u | DEVFN(TEST_SLOT, 0) << 8 | PCI_COMMAND);
	out(&r, 0xcfd, 4, 0xffffffff);
	out(&r, 0xcfc, 3, 0xffffff);
	CHECK_INT(cfg_read(&r, DEVFN(TEST_SLOT, 0), PCI_COMMAND, 2), 0);
	/* the direct API checks alike */
	struct pci_bus *bus = r.d->pci;
	CHECK_INT(pci_config_read(bus, 0, 256, 1), 0xffffffff);
	CHECK_INT(pci_config_read(bus, 0, 0xfe, 4), 0xffffffff);
	CHECK_INT(pci_config_read(bus, 0, 0x03, 2), 0xffffffff);
	CHECK_INT(pci_config_read(bus, 0, 0, 3), 0xffffffff);
	CHECK_INT(pci_config_read(bus, 256, 0, 4), 0xffffffff);
	CHECK_INT(pci_config_read(bus, 0, 0x02, 2), 0x1237);
	pci_config_write(bus, DEVFN(TEST_SLOT, 0), 0x03, 2, 0xffff);
	pci_config_write(bus, DEVFN(TEST_SLOT, 0), 0x100, 4, 0xffffffff);
	pci_config_write(bus, 9999, 0, 4, 0);
	CHECK_INT(pci_config_read(bus, DEVFN(TEST_SLOT, 0), 0, 4), 0x56781234);
	CHECK_INT(pci_bar_address(r.t->dev, 6), (long long)UINT64_MAX);
	/* adding a function where one is, out of range, or with a bad BAR */
	char err[256];
	static const struct pci_device_info bad_bar = {
		.name = "bad", .bars = { [0] = { .size = 24, .io = true } },
	}, bad_pin = { .name = "badpin", .irq_pin = 5 }, ok = { .name = "ok" };
	CHECK(!pci_device_add(bus, 0, 0, &ok, err, sizeof(err)), "00:00.0 added twice");
	CHECK(!pci_device_add(bus, 32, 0, &ok, err, sizeof(err)), "slot 32 added");
	CHECK(!pci_device_add(bus, 7, 8, &ok, err, sizeof(err)), "function 8 added");
	CHECK(!pci_device_add(bus, 7, 0, &bad_bar, err, sizeof(err)), "a 24-byte BAR added");
	CHECK(!pci_device_add(bus, 7, 0, &bad_pin, err, sizeof(err)), "pin 5 added");
	rig_down(&r);
}

/* A deterministic storm of accesses on every port and window the chipset has. */
static void test_random(struct unit *u, const void *arg)
{
	static const uint16_t ports[] = { 0xcf8, 0xcf9, 0xcfa, 0xcfb, 0xcfc, 0xcfd, 0xcfe, 0xcff, 0x10, 0x11,
					  0x12, 0x13, 0x4d0, 0x4d1, 0xc000, 0xc100, 0xc200, 0xffff };
	static const unsigned int sizes[] = { 1, 2, 4, 3, 8 };
	struct rig r;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	(void)arg;
	if (!rig_up(u, &r, true))
		return;
	for (unsigned int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint8_t data[8];
		uint64_t v = x * 0x2545f4914f6cdd1dull;
		memcpy(data, &v, sizeof(data));
		unsigned int size = sizes[(x >> 8) % 5];
		bool is_write = x & 1;
		switch ((x >> 1) % 5) {
		case 0:     /* a config address on bus 0 mostly, anywhere sometimes */
			v = (x >> 20) & 1 ? 0x80000000u | ((x >> 24) & 0xfffc) : (uint32_t)(x >> 24);
			out(&r, 0xcf8, 4, (uint32_t)v);
			break;
		case 1:
		case 2: {
			uint16_t port = ports[(x >> 12) % (sizeof(ports) / sizeof(ports[0]))];
			port = (uint16_t)(port + ((x >> 40) & 3));
			if (port == 0xcf9 && is_write)
				data[0] &= ~0x04;           /* no reset mid-storm */
			io_bus_dispatch(&r.d->pio, NULL, port, is_write, data, size);
			break;
		}
		case 3:
			io_bus_dispatch(&r.d->mmio, NULL, PCI_MMIO_WINDOW_BASE + ((x >> 16) & 0x1ffffff), is_write,
					data, size);
			break;
		case 4:
			pci_device_set_irq(r.t->others[(x >> 30) % 3], (x >> 33) & 1);
			break;
		}
	}
	/* the bus still answers as it should */
	CHECK_INT(cfg_read(&r, DEVFN(0, 0), 0, 4), 0x12378086);
	CHECK_INT(cfg_read(&r, DEVFN(TEST_SLOT, 0), 0, 4), 0x56781234);
	CHECK_INT(r.d->shutdown_reason, -1);
	rig_down(&r);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "ids through 0xcf8/0xcfc", test_ids, NULL);
	unit_case(&u, "absent functions and buses read all ones", test_absent, NULL);
	unit_case(&u, "BAR sizing", test_bar_sizing, NULL);
	unit_case(&u, "placed BARs reach the device at their offset", test_bar_access, NULL);
	unit_case(&u, "no decoding with the command bit clear", test_bar_decode_off, NULL);
	unit_case(&u, "BARs outside their window do not decode", test_bar_outside_window, NULL);
	unit_case(&u, "write masks", test_write_masks, NULL);
	unit_case(&u, "INTx through PIIX3's route, route changes, INTX_DISABLE", test_intx_route, NULL);
	unit_case(&u, "INTx lines shared", test_intx_shared, NULL);
	unit_case(&u, "unplug protocol", test_unplug, NULL);
	unit_case(&u, "unplug protocol: blacklisted drivers", test_unplug_blacklisted, NULL);
	unit_case(&u, "xen_platform_pci=0: no device, no ports", test_no_platform, NULL);
	unit_case(&u, "reset control register 0xcf9", test_reset_control, NULL);
	unit_case(&u, "save and restore round trip", test_save_restore, NULL);
	unit_case(&u, "short and garbled states refused", test_restore_refused, NULL);
	unit_case(&u, "hostile config accesses", test_hostile, NULL);
	unit_case(&u, "200000 random accesses", test_random, NULL);
	return unit_finish(&u);
}
