/* PCI bus 0 (hw/pci.h): configuration mechanism #1, BAR decoding inside the two fixed windows, and
 * INTx routed through PIIX3's PIRQ registers.
 *
 * Config space is a byte array per function with a write mask per byte: a guest write lands only
 * in writable bits, then the device's hook (if any) reacts.  BARs are config bytes like any other;
 * where a BAR decodes is computed on each access from the BAR, its size and the command register,
 * so there is no second copy of the address map to keep in step.
 *
 * Interrupts: a device drives its pin; the slot swizzle picks one of PIRQ A-D the way SeaBIOS
 * assumes when it writes each device's interrupt line ((pin - 1 + slot - 1) mod 4), and PIIX3's
 * route register picks the ISA IRQ.  Two PIRQs may share an IRQ (SeaBIOS routes A,B to 10 and
 * C,D to 11), so an IRQ's level is the OR of every PIRQ routed to it; the router is told only when
 * that OR changes. */
#include <stdlib.h>
#include <string.h>
#include "hw/device.h"
#include "hw/irq.h"
#include "hw/pci.h"
#include "lib/error.h"
#include "vmm/domain.h"

#define CONFIG_ADDRESS_ENABLE 0x80000000u
/* Enable, bus, device, function and dword register: the reserved bits 30:24 and 1:0 read as 0. */
#define CONFIG_ADDRESS_BITS 0x80fffffcu
#define PCI_DEVFNS (PCI_SLOTS * PCI_FUNCS)
#define PIRQ_ROUTE_DISABLED 0x80
#define ISA_IRQS 16

/* ---- config space ---- */

static bool config_access_ok(unsigned int offset, unsigned int size)
{
	if (size != 1 && size != 2 && size != 4)
		return false;
	if (offset >= PCI_CONFIG_SIZE)
		return false;
	return (offset & 3) + size <= 4;    /* never across a dword: what a bus cycle can carry */
}

static uint32_t all_ones(unsigned int size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static struct pci_device *bus_device(const struct pci_bus *bus, unsigned int devfn)
{
	return devfn < PCI_DEVFNS ? bus->devices[devfn] : NULL;
}

static uint32_t config_get(const struct pci_device *dev, unsigned int offset, unsigned int size)
{
	uint32_t v = 0;
	for (unsigned int i = 0; i < size; i++)
		v |= (uint32_t)dev->config[offset + i] << (8 * i);
	return v;
}

static uint16_t command_of(const struct pci_device *dev)
{
	return (uint16_t)config_get(dev, PCI_COMMAND, 2);
}

uint32_t pci_config_read(struct pci_bus *bus, unsigned int devfn, unsigned int offset, unsigned int size)
{
	struct pci_device *dev = bus_device(bus, devfn);

	if (!config_access_ok(offset, size))
		return 0xffffffffu;
	if (!dev)
		return all_ones(size);
	pthread_mutex_lock(&bus->lock);
	uint32_t v = config_get(dev, offset, size);
	pthread_mutex_unlock(&bus->lock);
	return v;
}

/* ---- interrupts ---- */

static unsigned int device_pirq(const struct pci_device *dev)
{
	return (dev->info->irq_pin - 1u + (dev->devfn >> 3) - 1u) & 3;
}

static bool device_drives_line(const struct pci_device *dev)
{
	return dev->info->irq_pin && dev->irq_level && !(command_of(dev) & PCI_COMMAND_INTX_DISABLE);
}

/* The ISA IRQ a route register names, or -1: bit 7 disables it, and PIIX3 has no PIRQ routing to
 * IRQ 0-2, 8 or 13. */
static int route_irq(uint8_t route)
{
	static const bool routable[ISA_IRQS] = {
		[3] = true, [4] = true, [5] = true, [6] = true, [7] = true, [9] = true, [10] = true,
		[11] = true, [12] = true, [14] = true, [15] = true,
	};
	if (route & PIRQ_ROUTE_DISABLED)
		return -1;
	return routable[route & 0x0f] ? route & 0x0f : -1;
}

static void irq_levels(const uint8_t route[4], const unsigned int level[4], bool out[ISA_IRQS])
{
	memset(out, 0, ISA_IRQS * sizeof(out[0]));
	for (unsigned int p = 0; p < 4; p++) {
		int irq = route_irq(route[p]);
		if (irq >= 0 && level[p])
			out[irq] = true;
	}
}

/* Recounts who drives each PIRQ and tells the router of every IRQ whose level moved since the
 * routes and counts were `old_route`/`old_level`. */
static void irq_update(struct pci_bus *bus, const uint8_t old_route[4], const unsigned int old_level[4])
{
	bool before[ISA_IRQS], after[ISA_IRQS];

	memset(bus->pirq_level, 0, sizeof(bus->pirq_level));
	for (unsigned int i = 0; i < PCI_DEVFNS; i++) {
		const struct pci_device *dev = bus->devices[i];
		if (dev && device_drives_line(dev))
			bus->pirq_level[device_pirq(dev)]++;
	}
	irq_levels(old_route, old_level, before);
	irq_levels(bus->pirq_route, bus->pirq_level, after);
	for (unsigned int irq = 0; irq < ISA_IRQS; irq++)
		if (before[irq] != after[irq])
			hw_irq_set(bus->dom, irq, after[irq]);
}

/* Call around any change that may move a line: snapshot, change, irq_update. */
struct irq_snapshot {
	uint8_t route[4];
	unsigned int level[4];
};

static struct irq_snapshot irq_snapshot(const struct pci_bus *bus)
{
	struct irq_snapshot s;
	memcpy(s.route, bus->pirq_route, sizeof(s.route));
	memcpy(s.level, bus->pirq_level, sizeof(s.level));
	return s;
}

void pci_device_set_irq(struct pci_device *dev, bool level)
{
	pthread_mutex_lock(&dev->bus->lock);
	struct irq_snapshot s = irq_snapshot(dev->bus);

	dev->irq_level = level;
	/* The status bit follows the device, whatever INTX_DISABLE says (it is how drivers poll). */
	if (level)
		dev->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		dev->config[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
	irq_update(dev->bus, s.route, s.level);
	pthread_mutex_unlock(&dev->bus->lock);
}

void pci_set_pirq_route(struct pci_bus *bus, unsigned int pirq, uint8_t route)
{
	if (pirq >= 4)
		return;
	pthread_mutex_lock(&bus->lock);
	struct irq_snapshot s = irq_snapshot(bus);
	bus->pirq_route[pirq] = route;
	irq_update(bus, s.route, s.level);
	pthread_mutex_unlock(&bus->lock);
}

void pci_config_write(struct pci_bus *bus, unsigned int devfn, unsigned int offset, unsigned int size,
		      uint32_t value)
{
	struct pci_device *dev = bus_device(bus, devfn);

	if (!dev || !config_access_ok(offset, size))
		return;
	pthread_mutex_lock(&bus->lock);
	uint32_t old = config_get(dev, offset, size);
	struct irq_snapshot s = irq_snapshot(bus);
	for (unsigned int i = 0; i < size; i++) {
		uint8_t mask = dev->wmask[offset + i], byte = (uint8_t)(value >> (8 * i));
		dev->config[offset + i] = (uint8_t)((dev->config[offset + i] & ~mask) | (byte & mask));
	}
	if (offset <= PCI_COMMAND + 1 && offset + size > PCI_COMMAND)
		irq_update(bus, s.route, s.level);      /* INTX_DISABLE may have moved */
	pthread_mutex_unlock(&bus->lock);
	if (dev->info->config_written)
		dev->info->config_written(dev, offset, size, old, dev->info->opaque);
}

/* ---- BARs ---- */

static uint64_t window_base(bool io)
{
	return io ? PCI_IO_WINDOW_BASE : PCI_MMIO_WINDOW_BASE;
}

static uint64_t window_len(bool io)
{
	return io ? PCI_IO_WINDOW_LEN : PCI_MMIO_WINDOW_LEN;
}

uint64_t pci_bar_address(const struct pci_device *dev, unsigned int bar)
{
	if (bar >= PCI_BARS || !dev->info->bars[bar].size)
		return UINT64_MAX;
	const struct pci_bar *b = &dev->info->bars[bar];
	if (!(command_of(dev) & (b->io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
		return UINT64_MAX;
	uint64_t addr = config_get(dev, PCI_BASE_ADDRESS_0 + 4 * bar, 4) & ~(uint64_t)(b->size - 1) & 0xffffffffull;
	uint64_t base = window_base(b->io), len = window_len(b->io);
	if (addr < base || addr - base > len || len - (addr - base) < b->size)
		return UINT64_MAX;
	return addr;
}

/* An access in a window: the first BAR that holds it whole takes it at its offset. */
static void window_access(struct pci_bus *bus, bool io, struct vcpu *vcpu, uint64_t addr, bool is_write,
			  uint8_t *data, unsigned int size)
{
	const struct pci_bar *hit = NULL;
	uint64_t offset = 0;

	pthread_mutex_lock(&bus->lock);
	for (unsigned int i = 0; i < PCI_DEVFNS && !hit; i++) {
		struct pci_device *dev = bus->devices[i];
		if (!dev)
			continue;
		for (unsigned int n = 0; n < PCI_BARS; n++) {
			const struct pci_bar *b = &dev->info->bars[n];
			if (!b->size || b->io != io)
				continue;
			uint64_t at = pci_bar_address(dev, n);
			if (at == UINT64_MAX || addr < at || addr - at >= b->size)
				continue;
			if (size <= b->size - (addr - at) && b->fn) {
				hit = b;
				offset = addr - at;
			}
			break;                  /* else it runs off the BAR's end: nobody answers */
		}
	}
	pthread_mutex_unlock(&bus->lock);
	/* The handler runs unlocked: it may raise its INTx (pci_device_set_irq). */
	if (hit)
		hit->fn(hit->opaque, vcpu, offset, is_write, data, size);
	else if (!is_write)
		memset(data, 0xff, size);
}

static void io_window_io(void *opaque, struct vcpu *vcpu, uint64_t addr, bool is_write, uint8_t *data,
			 unsigned int size)
{
	window_access(opaque, true, vcpu, addr, is_write, data, size);
}

static void mmio_window_io(void *opaque, struct vcpu *vcpu, uint64_t addr, bool is_write, uint8_t *data,
			   unsigned int size)
{
	window_access(opaque, false, vcpu, addr, is_write, data, size);
}

/* ---- configuration mechanism #1 ---- */

static void put_le(uint8_t *data, unsigned int size, uint32_t v)
{
	for (unsigned int i = 0; i < size; i++)
		data[i] = i < 4 ? (uint8_t)(v >> (8 * i)) : 0xff;
}

static uint32_t get_le(const uint8_t *data, unsigned int size)
{
	uint32_t v = 0;
	for (unsigned int i = 0; i < size && i < 4; i++)
		v |= (uint32_t)data[i] << (8 * i);
	return v;
}

/* 0xcf8: only a dword access is the address latch (byte 0xcf9 is PIIX3's reset control). */
static void config_address_io(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write, uint8_t *data,
			      unsigned int size)
{
	struct pci_bus *bus = opaque;

	(void)vcpu;
	if (port != PCI_CONFIG_ADDRESS_PORT || size != 4) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	if (is_write)
		__atomic_store_n(&bus->config_address, get_le(data, 4) & CONFIG_ADDRESS_BITS, __ATOMIC_RELAXED);
	else
		put_le(data, 4, __atomic_load_n(&bus->config_address, __ATOMIC_RELAXED));
}

static void config_data_io(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write, uint8_t *data,
			   unsigned int size)
{
	struct pci_bus *bus = opaque;
	uint32_t address = __atomic_load_n(&bus->config_address, __ATOMIC_RELAXED);
	unsigned int lane = (unsigned int)(port - PCI_CONFIG_DATA_PORT);

	(void)vcpu;
	/* Disabled, another bus, or an access running past 0xcff: no config cycle. */
	bool cycle = (address & CONFIG_ADDRESS_ENABLE) && !(address & 0x00ff0000u) && lane < 4 &&
		     size <= 4 - lane;
	unsigned int devfn = (address >> 8) & 0xff, offset = (address & 0xfc) + lane;
	if (is_write) {
		if (cycle)
			pci_config_write(bus, devfn, offset, size, get_le(data, size));
	} else {
		put_le(data, size, cycle ? pci_config_read(bus, devfn, offset, size) : 0xffffffffu);
	}
}

/* ---- the bus ---- */

int pci_bus_init(struct pci_bus *bus, struct domain *dom, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		bool mmio;
		uint64_t base, len;
		io_handler_fn fn;
	} regions[] = {
		{ "pci-config-address", false, PCI_CONFIG_ADDRESS_PORT, 1, config_address_io },
		{ "pci-config-data", false, PCI_CONFIG_DATA_PORT, 4, config_data_io },
		{ "pci-io-window", false, PCI_IO_WINDOW_BASE, PCI_IO_WINDOW_LEN, io_window_io },
		{ "pci-mmio-window", true, PCI_MMIO_WINDOW_BASE, PCI_MMIO_WINDOW_LEN, mmio_window_io },
	};

	memset(bus, 0, sizeof(*bus));
	pthread_mutex_init(&bus->lock, NULL);
	bus->dom = dom;
	memset(bus->pirq_route, PIRQ_ROUTE_DISABLED, sizeof(bus->pirq_route));
	for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++) {
		struct io_bus *io = regions[i].mmio ? &dom->mmio : &dom->pio;
		if (io_bus_register(io, regions[i].name, regions[i].base, regions[i].len, regions[i].fn, bus)) {
			ERR_SET(err, errlen, "PCI bus: %s %#llx-%#llx is taken", io->name,
				(unsigned long long)regions[i].base,
				(unsigned long long)(regions[i].base + regions[i].len - 1));
			return -1;
		}
	}
	return 0;
}

void pci_bus_teardown(struct pci_bus *bus)
{
	for (unsigned int i = 0; i < PCI_DEVFNS; i++) {
		free(bus->devices[i]);
		bus->devices[i] = NULL;
	}
	pthread_mutex_destroy(&bus->lock);
}

static bool power_of_two(uint32_t v)
{
	return v && !(v & (v - 1));
}

static int check_bar(const struct pci_bar *b, unsigned int n, char *err, size_t errlen)
{
	if (!b->size)
		return 0;
	if (!power_of_two(b->size) || b->size < (b->io ? 4u : 16u) || b->size > window_len(b->io)) {
		ERR_SET(err, errlen, "BAR%u: %s size %#x is not a power of two within its window", n,
			b->io ? "I/O" : "memory", b->size);
		return -1;
	}
	return 0;
}

static void config_set(struct pci_device *dev, unsigned int offset, unsigned int size, uint32_t v)
{
	for (unsigned int i = 0; i < size; i++)
		dev->config[offset + i] = (uint8_t)(v >> (8 * i));
}

static void config_fill(struct pci_device *dev)
{
	const struct pci_device_info *info = dev->info;

	config_set(dev, PCI_VENDOR_ID, 2, info->vendor);
	config_set(dev, PCI_DEVICE_ID, 2, info->device);
	dev->config[PCI_REVISION_ID] = info->revision;
	dev->config[PCI_CLASS_PROG] = info->prog_if;
	dev->config[PCI_CLASS_DEVICE] = info->subclass;
	dev->config[PCI_CLASS_DEVICE + 1] = info->class_code;
	dev->config[PCI_HEADER_TYPE] = info->header_type;
	config_set(dev, PCI_SUBSYSTEM_VENDOR_ID, 2, info->subsystem_vendor);
	config_set(dev, PCI_SUBSYSTEM_ID, 2, info->subsystem);
	dev->config[PCI_INTERRUPT_PIN] = info->irq_pin;

	dev->wmask[PCI_COMMAND] = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	dev->wmask[PCI_COMMAND + 1] = PCI_COMMAND_INTX_DISABLE >> 8;
	dev->wmask[0x0c] = 0xff;               /* cache line size */
	dev->wmask[0x0d] = 0xff;               /* latency timer */
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
	for (unsigned int n = 0; n < PCI_BARS; n++) {
		const struct pci_bar *b = &info->bars[n];
		if (!b->size)
			continue;
		config_set(dev, PCI_BASE_ADDRESS_0 + 4 * n, 4, b->io ? 1 : 0);
		uint32_t mask = ~(b->size - 1);
		for (unsigned int i = 0; i < 4; i++)
			dev->wmask[PCI_BASE_ADDRESS_0 + 4 * n + i] = (uint8_t)(mask >> (8 * i));
	}
}

struct pci_device *pci_device_add(struct pci_bus *bus, unsigned int slot, unsigned int func,
				  const struct pci_device_info *info, char *err, size_t errlen)
{
	if (slot >= PCI_SLOTS || func >= PCI_FUNCS) {
		ERR_SET(err, errlen, "PCI %s: slot %u function %u is out of range", info->name, slot, func);
		return NULL;
	}
	unsigned int devfn = slot << 3 | func;
	if (bus->devices[devfn]) {
		ERR_SET(err, errlen, "PCI %s: 00:%02x.%u is taken by %s", info->name, slot, func,
			bus->devices[devfn]->info->name);
		return NULL;
	}
	if (info->irq_pin > 4) {
		ERR_SET(err, errlen, "PCI %s: interrupt pin %u (1-4 are INTA-INTD)", info->name, info->irq_pin);
		return NULL;
	}
	for (unsigned int n = 0; n < PCI_BARS; n++) {
		char why[128];
		if (check_bar(&info->bars[n], n, why, sizeof(why))) {
			ERR_SET(err, errlen, "PCI %s: %s", info->name, why);
			return NULL;
		}
	}
	struct pci_device *dev = calloc(1, sizeof(*dev));
	if (!dev) {
		ERR_SET(err, errlen, "PCI %s: out of memory", info->name);
		return NULL;
	}
	dev->bus = bus;
	dev->devfn = (uint8_t)devfn;
	dev->info = info;
	config_fill(dev);
	bus->devices[devfn] = dev;
	return dev;
}

/* ---- saved state ----
 * "PCI1", u32 config address, PIRQ routes[4], u8 function count, then per function: u8 devfn,
 * u8 INTx level, 256 bytes of config space.  Every function of the bus appears exactly once. */

#define PCI_SAVE_MAGIC "PCI1"
#define PCI_SAVE_HEAD 13
#define PCI_SAVE_FUNC (2 + PCI_CONFIG_SIZE)

long pci_bus_save(const struct pci_bus *bus, uint8_t *buf, size_t len)
{
	unsigned int count = 0;

	for (unsigned int i = 0; i < PCI_DEVFNS; i++)
		count += bus->devices[i] != NULL;
	if (count > 255 || len < PCI_SAVE_HEAD + (size_t)count * PCI_SAVE_FUNC)
		return -1;
	memcpy(buf, PCI_SAVE_MAGIC, 4);
	uint32_t address = __atomic_load_n(&bus->config_address, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < 4; i++)
		buf[4 + i] = (uint8_t)(address >> (8 * i));
	memcpy(buf + 8, bus->pirq_route, 4);
	buf[12] = (uint8_t)count;
	size_t at = PCI_SAVE_HEAD;
	for (unsigned int i = 0; i < PCI_DEVFNS; i++) {
		const struct pci_device *dev = bus->devices[i];
		if (!dev)
			continue;
		buf[at] = dev->devfn;
		buf[at + 1] = dev->irq_level;
		memcpy(buf + at + 2, dev->config, PCI_CONFIG_SIZE);
		at += PCI_SAVE_FUNC;
	}
	return (long)at;
}

/* A saved function must be the device this bus has there: the same identity bytes. */
static bool same_identity(const struct pci_device *dev, const uint8_t *config)
{
	static const uint8_t identity[] = {
		PCI_VENDOR_ID, PCI_VENDOR_ID + 1, PCI_DEVICE_ID, PCI_DEVICE_ID + 1, PCI_CLASS_PROG,
		PCI_CLASS_DEVICE, PCI_CLASS_DEVICE + 1, PCI_HEADER_TYPE, PCI_INTERRUPT_PIN,
	};
	for (size_t i = 0; i < sizeof(identity); i++)
		if (dev->config[identity[i]] != config[identity[i]])
			return false;
	return true;
}

int pci_bus_restore(struct pci_bus *bus, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	bool seen[PCI_DEVFNS] = { false };
	unsigned int present = 0;

	if (len < PCI_SAVE_HEAD || memcmp(buf, PCI_SAVE_MAGIC, 4)) {
		ERR_SET(err, errlen, "PCI bus state of %zu bytes has no %s header", len, PCI_SAVE_MAGIC);
		return -1;
	}
	for (unsigned int i = 0; i < PCI_DEVFNS; i++)
		present += bus->devices[i] != NULL;
	size_t count = buf[12];
	if (count != present || len != PCI_SAVE_HEAD + count * PCI_SAVE_FUNC) {
		ERR_SET(err, errlen, "PCI bus state holds %zu functions in %zu bytes; this bus has %u", count,
			len, present);
		return -1;
	}
	/* Check everything before changing anything. */
	for (size_t f = 0; f < count; f++) {
		const uint8_t *rec = buf + PCI_SAVE_HEAD + f * PCI_SAVE_FUNC;
		const struct pci_device *dev = bus->devices[rec[0]];
		if (!dev || seen[rec[0]] || rec[1] > 1 || !same_identity(dev, rec + 2)) {
			ERR_SET(err, errlen, "PCI bus state: function 00:%02x.%u is %s", rec[0] >> 3, rec[0] & 7,
				!dev ? "not on this bus" : seen[rec[0]] ? "saved twice" :
				rec[1] > 1 ? "at an INTx level other than 0 or 1" : "another device here");
			return -1;
		}
		seen[rec[0]] = true;
	}
	struct irq_snapshot s = irq_snapshot(bus);
	for (size_t f = 0; f < count; f++) {
		const uint8_t *rec = buf + PCI_SAVE_HEAD + f * PCI_SAVE_FUNC;
		struct pci_device *dev = bus->devices[rec[0]];
		memcpy(dev->config, rec + 2, PCI_CONFIG_SIZE);
		/* What the device's info fixes, the saved bytes do not change (BAR space bits). */
		for (unsigned int n = 0; n < PCI_BARS; n++) {
			const struct pci_bar *b = &dev->info->bars[n];
			unsigned int at = PCI_BASE_ADDRESS_0 + 4 * n;
			if (b->size)
				config_set(dev, at, 4, (config_get(dev, at, 4) & ~(b->size - 1)) | (b->io ? 1 : 0));
		}
		dev->irq_level = rec[1];
	}
	bus->config_address = (buf[4] | (uint32_t)buf[5] << 8 | (uint32_t)buf[6] << 16 |
			       (uint32_t)buf[7] << 24) & CONFIG_ADDRESS_BITS;
	memcpy(bus->pirq_route, buf + 8, 4);
	irq_update(bus, s.route, s.level);
	return 0;
}

/* ---- the `pci` row of the HVM device table ---- */

static int pci_row_init(struct domain *dom, void **state, char *err, size_t errlen)
{
	struct pci_bus *bus = malloc(sizeof(*bus));

	if (!bus) {
		ERR_SET(err, errlen, "PCI bus: out of memory");
		return -1;
	}
	if (pci_bus_init(bus, dom, err, errlen)) {
		free(bus);
		return -1;
	}
	dom->pci = bus;
	*state = bus;
	return 0;
}

static void pci_row_teardown(struct domain *dom, void *state)
{
	struct pci_bus *bus = state;

	if (dom->pci == bus)
		dom->pci = NULL;
	pci_bus_teardown(bus);
	free(bus);
}

static long pci_row_save(struct domain *dom, void *state, uint8_t *buf, size_t len)
{
	(void)dom;
	return pci_bus_save(state, buf, len);
}

static int pci_row_restore(struct domain *dom, void *state, const uint8_t *buf, size_t len, char *err,
			   size_t errlen)
{
	(void)dom;
	return pci_bus_restore(state, buf, len, err, errlen);
}

const struct device_ops pci_bus_device = {
	.name = "pci", .init = pci_row_init, .teardown = pci_row_teardown,
	.save = pci_row_save, .restore = pci_row_restore,
};
