/* PCI bus 0 and its chipset functions (hw/pci.c, i440fx.c, piix3.c, xen_platform.c) against a
 * hostile guest: the devices built through their device_ops rows on a bare domain (buses and router only), with one more
 * device of two BARs and four interrupting functions, then config-address and config-data
 * accesses of any size and lane, the chipset's fixed ports, the I/O and MMIO windows, direct
 * config calls with any devfn/offset/size, INTx changes, and save/restore round trips, as the
 * input says.  Checked after every step: a BAR handler only ever sees accesses wholly inside its
 * BAR; every ISA IRQ the router was told matches the level recomputed from scratch from the
 * bus's config spaces (routes, INTX_DISABLE, swizzle); a save restores into a fresh bus and saves
 * to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "hw/device.h"
#include "hw/pci.h"
#include "hw/xen_platform.h"
#include "vmm/domain.h"

/* PIIX3's reset control lands here (vmm/domain.c would bring the whole VMM along). */
void domain_shutdown(struct domain *d, int reason);
void domain_shutdown(struct domain *d, int reason)
{
	if (d->shutdown_reason < 0)
		d->shutdown_reason = reason;
}

extern const struct device_ops pci_bus_device, i440fx_device, piix3_device, xen_platform_device;

#define MAX_STEPS 512
#define FUZZ_FUNCS 4

struct fuzzdev {
	struct pci_device_info info[FUZZ_FUNCS];
	struct pci_device *dev[FUZZ_FUNCS];
};

static void bar_io(void *opaque, struct vcpu *vcpu, uint64_t off, bool is_write, uint8_t *data,
		   unsigned int size)
{
	const struct pci_bar *bar = opaque;
	(void)vcpu;
	if (off >= bar->size || size > bar->size - off)
		abort();                  /* the bus let an access run outside the BAR */
	if (!is_write)
		memset(data, (int)off, size);
}

static const struct pci_bar fuzz_bars[2] = {
	{ .size = 64, .io = true, .fn = bar_io, .opaque = (void *)&fuzz_bars[0] },
	{ .size = 8192, .fn = bar_io, .opaque = (void *)&fuzz_bars[1] },
};

static int fuzzdev_init(struct domain *dom, void **state, char *err, size_t errlen)
{
	struct fuzzdev *f = calloc(1, sizeof(*f));
	static const uint8_t slots[FUZZ_FUNCS] = { 3, 3, 4, 31 }, funcs[FUZZ_FUNCS] = { 0, 5, 0, 7 };

	if (!f)
		return -1;
	*state = f;
	for (unsigned int i = 0; i < FUZZ_FUNCS; i++) {
		f->info[i] = (struct pci_device_info){
			.name = "fuzzdev", .vendor = 0x1234, .device = (uint16_t)(0x100 + i),
			.header_type = i == 0 ? 0x80 : 0, .irq_pin = (uint8_t)(i + 1),
		};
		if (i < 2) {
			f->info[i].bars[i ? 5 : 0] = fuzz_bars[0];
			f->info[i].bars[i ? 0 : 2] = fuzz_bars[1];
		}
		f->dev[i] = pci_device_add(dom->pci, slots[i], funcs[i], &f->info[i], err, errlen);
		if (!f->dev[i])
			abort();
	}
	return 0;
}

static void fuzzdev_teardown(struct domain *dom, void *state)
{
	struct fuzzdev *f = state;
	for (unsigned int i = 0; i < FUZZ_FUNCS; i++) {
		dom->pci->devices[f->dev[i]->devfn] = NULL;
		free(f->dev[i]);
	}
	free(f);
}

static const struct device_ops fuzzdev_device = { .name = "fuzzdev", .init = fuzzdev_init,
						   .teardown = fuzzdev_teardown };

static const struct device_ops *const table[] = {
	&pci_bus_device, &i440fx_device, &piix3_device, &xen_platform_device, &fuzzdev_device, NULL,
};

struct watcher {
	bool level[16];
};

static void watch(void *opaque, unsigned int gsi, bool level)
{
	struct watcher *w = opaque;
	if (gsi >= 16)
		abort();                  /* PIIX3 routes only to ISA IRQs */
	w->level[gsi] = level;
}

/* The IRQ levels from the bus's config spaces alone, as a guest's driver would reason. */
static void check_irqs(struct domain *d, const struct watcher *w)
{
	bool want[16] = { false };
	const struct pci_device *isa = d->pci->devices[1 << 3];

	for (unsigned int i = 0; i < PCI_SLOTS * PCI_FUNCS; i++) {
		const struct pci_device *dev = d->pci->devices[i];
		if (!dev || !dev->info->irq_pin || !dev->irq_level ||
		    (dev->config[PCI_COMMAND + 1] & (PCI_COMMAND_INTX_DISABLE >> 8)))
			continue;
		unsigned int pirq = (dev->info->irq_pin - 1u + (i >> 3) - 1u) & 3;
		uint8_t route = isa->config[0x60 + pirq];
		unsigned int irq = route & 0x0f;
		if (!(route & 0x80) && irq >= 3 && irq != 8 && irq != 13)
			want[irq] = true;
	}
	for (unsigned int irq = 0; irq < 16; irq++)
		if (want[irq] != w->level[irq])
			abort();
}

struct input { const uint8_t *p; size_t left; };

static uint8_t u8(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}
static uint16_t u16(struct input *in) { uint16_t v = u8(in); return (uint16_t)(v | (uint16_t)u8(in) << 8); }
static uint32_t u32(struct input *in) { uint32_t v = u16(in); return v | (uint32_t)u16(in) << 16; }

/* The rows built by hand (hw/devices.c would bring every device of the VMM along). */
#define ROWS (sizeof(table) / sizeof(table[0]) - 1)

struct rig {
	struct domain *d;
	void *state[ROWS];
};

static void build(struct rig *r, struct watcher *w)
{
	char err[256];

	/* The devices need only the domain's buses and interrupt router: no RAM, no Xen state. */
	r->d = calloc(1, sizeof(*r->d));
	if (!r->d)
		abort();
	r->d->pio = (struct io_bus){ .name = "port" };
	r->d->mmio = (struct io_bus){ .name = "mmio" };
	r->d->shutdown_reason = -1;
	r->d->irq.set = watch;
	r->d->irq.opaque = w;
	for (size_t i = 0; i < ROWS; i++)
		if (table[i]->init(r->d, &r->state[i], err, sizeof(err)))
			abort();
}

static void teardown(struct rig *r)
{
	for (size_t i = ROWS; i-- > 0;)
		if (table[i]->teardown)
			table[i]->teardown(r->d, r->state[i]);
	free(r->d);
}

/* Each row's state: saved, restored into a fresh rig, saved again to the same bytes. */
static void round_trip(struct rig *r)
{
	static uint8_t a[DEVICE_STATE_MAX], b[DEVICE_STATE_MAX];
	char err[256];
	struct watcher w2 = { { false } };
	struct rig e;

	build(&e, &w2);
	for (size_t i = 0; i < ROWS; i++) {
		if (!table[i]->save)
			continue;
		long n = table[i]->save(r->d, r->state[i], a, sizeof(a));
		if (n < 0)
			abort();
		if (table[i]->restore(e.d, e.state[i], a, (size_t)n, err, sizeof(err)))
			abort();          /* what we saved must restore */
		long m = table[i]->save(e.d, e.state[i], b, sizeof(b));
		if (m != n || memcmp(a, b, (size_t)n))
			abort();
	}
	check_irqs(e.d, &w2);
	teardown(&e);
}

static void poke(struct io_bus *bus, uint64_t addr, bool is_write, unsigned int size, uint32_t value)
{
	uint8_t data[8];
	for (unsigned int i = 0; i < 8; i++)
		data[i] = (uint8_t)(value >> (8 * (i & 3)));
	io_bus_dispatch(bus, NULL, addr, is_write, data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t ports[] = { 0xcf8, 0xcf9, 0xcfa, 0xcfb, 0xcfc, 0xcfd, 0xcfe, 0xcff,
					  0x10, 0x11, 0x12, 0x13, 0x4d0, 0x4d1 };
	struct input in = { data, size };
	struct watcher w = { { false } };
	struct rig r;

	build(&r, &w);
	struct domain *d = r.d;
	struct fuzzdev *f = r.state[ROWS - 1];

	for (unsigned int step = 0; step < MAX_STEPS && in.left; step++) {
		uint8_t op = u8(&in);
		bool is_write = op & 0x80;
		unsigned int sz = 1u << (u8(&in) % 4);     /* 1, 2, 4, 8 */
		switch (op & 7) {
		case 0:
			poke(&d->pio, 0xcf8, true, 4, 0x80000000u | (u32(&in) & 0x00ffffff));
			break;
		case 1:
			poke(&d->pio, 0xcfc + (op >> 3 & 3), is_write, sz, u32(&in));
			break;
		case 2:
			poke(&d->pio, ports[u8(&in) % (sizeof(ports) / sizeof(ports[0]))], is_write,
			       (op & 0x40) ? 3 : sz, u32(&in) & ~0x04u);   /* 0xcf9: no reset */
			break;
		case 3:
			poke(&d->pio, PCI_IO_WINDOW_BASE + u16(&in) % PCI_IO_WINDOW_LEN, is_write, sz,
			       u32(&in));
			break;
		case 4:
			poke(&d->mmio, PCI_MMIO_WINDOW_BASE + (u32(&in) & 0x3fffffff), is_write, sz, u32(&in));
			break;
		case 5:
			pci_device_set_irq(f->dev[(op >> 3) % FUZZ_FUNCS], op & 0x40);
			break;
		case 6: {
			unsigned int devfn = u16(&in) % 300, offset = u16(&in) % 300, csz = u8(&in) % 6;
			if (is_write)
				pci_config_write(d->pci, devfn, offset, csz, u32(&in));
			else
				(void)pci_config_read(d->pci, devfn, offset, csz);
			break;
		}
		case 7:
			if (op & 0x40)
				round_trip(&r);
			else            /* PIIX3's routes, the way SeaBIOS writes them */
				pci_config_write(d->pci, 1 << 3, 0x60 + (op >> 3 & 3), 1, u8(&in));
			break;
		}
		check_irqs(d, &w);
	}
	round_trip(&r);
	teardown(&r);
	return 0;
}
