/* hvmloader's part, done by the VMM at build time (docs/hvm.md).
 *
 * Under Xen an HVM guest first runs hvmloader, which sets up the PC and then starts SeaBIOS;
 * SeaBIOS's Xen path (src/fw/xen.c, paravirt.c) trusts that and does none of it itself: it only
 * probes PCI, takes the memory map from the info table at 0x1000 (and panics without one), and
 * copies the BIOS tables the info table names.  So, in hvmloader's order:
 *
 *   1. PIIX3's PIRQ A-D go to ISA IRQs 5, 10, 11, 5, level-triggered in the ELCR.
 *   2. Every function but the host bridge has its BARs sized as firmware does (write all ones,
 *      read back) and placed, largest first and naturally aligned, I/O BARs from the PCI I/O
 *      window's base and memory BARs from 0xf0000000 (the whole window if that is too small);
 *      its interrupt line is its pin's PIRQ route after the slot swizzle; decoding and bus
 *      mastering are turned on.
 *   3. PIIX4 PM's block is enabled at 0xb000, where the FADT points.
 *   4. ACPI tables go in the ACPI region below the special pages, reserved in the e820.
 *   5. The info table, the BIOS table list and the e820 go in the page at 0x1000.
 *
 * Everything goes through the same paths as a guest's accesses (pci_config_write, the port bus),
 * so each device model sees what firmware would have written. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "hw/hvm_config.h"
#include "hw/pci.h"
#include "hw/piix4_pm.h"
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/hvmloader.h"
#include "vmm/hvmloader_acpi.h"
#include "vmm/vm.h"

#define PIIX3_DEVFN (1u << 3)                  /* 00:01.0 */
#define PIIX3_PIRQ_ROUTE 0x60
#define ELCR_PORT 0x4d0
#define PIIX4_PM_VENDOR 0x8086
#define PIIX4_PM_DEVICE 0x7113
#define PIIX4_PMBA 0x40
#define PIIX4_PMREGMISC 0x80
#define PIIX4_PMIOSE 0x01
#define EBDA_BASE 0x9fc00ull
#define BIOS_AREA_BASE 0xf0000ull
#define LOW_MEM_END 0x100000ull
#define FOUR_GIB 0x100000000ull
#define BAR_IO_FLAG 0x1u
#define BAR_MEM_TYPE_MASK 0x6u
#define BAR_MEM_TYPE_64 0x4u

static const uint8_t pirq_routes[4] = HVMLOADER_PIRQ_ROUTES;

unsigned int hvmloader_e820(const struct vm *vm, struct vm_memmap_entry map[HVMLOADER_E820_MAX])
{
	uint64_t acpi = vm_acpi_region_gpa(vm);
	uint64_t populated = vm_populated_bytes(vm);
	unsigned int n = 0;

	map[n++] = (struct vm_memmap_entry){ 0, EBDA_BASE, VM_MEMMAP_RAM };
	map[n++] = (struct vm_memmap_entry){ EBDA_BASE, 0xa0000 - EBDA_BASE, VM_MEMMAP_RESERVED };
	map[n++] = (struct vm_memmap_entry){ BIOS_AREA_BASE, LOW_MEM_END - BIOS_AREA_BASE, VM_MEMMAP_RESERVED };
	map[n++] = (struct vm_memmap_entry){ LOW_MEM_END, acpi - LOW_MEM_END, VM_MEMMAP_RAM };
	/* The ACPI tables and the special pages above them; reserved, not ACPI-reclaimable: the
	 * FACS lives there too. */
	map[n++] = (struct vm_memmap_entry){ acpi, vm->low_ram_size - acpi, VM_MEMMAP_RESERVED };
	map[n++] = (struct vm_memmap_entry){ HVMLOADER_TOP_RESERVED, FOUR_GIB - HVMLOADER_TOP_RESERVED,
					     VM_MEMMAP_RESERVED };
	if (populated > vm->low_ram_size)
		map[n++] = (struct vm_memmap_entry){ FOUR_GIB, populated - vm->low_ram_size, VM_MEMMAP_RAM };
	return n;
}

/* ---- PCI ---- */

struct bar_slot {
	uint8_t devfn, bar;
	bool io;
	uint32_t size;
};

uint16_t hvmloader_elcr(void)
{
	uint16_t elcr = 0;

	for (unsigned int i = 0; i < 4; i++)
		elcr |= (uint16_t)(1u << pirq_routes[i]);
	return elcr;
}

static void route_pirqs(struct domain *dom)
{
	uint16_t elcr = hvmloader_elcr();
	uint8_t bytes[2] = { (uint8_t)elcr, (uint8_t)(elcr >> 8) };

	for (unsigned int i = 0; i < 4; i++)
		pci_config_write(dom->pci, PIIX3_DEVFN, PIIX3_PIRQ_ROUTE + i, 1, pirq_routes[i]);
	io_bus_dispatch(&dom->pio, NULL, ELCR_PORT, true, &bytes[0], 1);
	io_bus_dispatch(&dom->pio, NULL, ELCR_PORT + 1, true, &bytes[1], 1);
}

/* Sizes BAR `bar` as firmware does; 0 if there is none.  *skip says a 64-bit BAR took the next
 * slot too. */
static uint32_t size_bar(struct pci_bus *bus, unsigned int devfn, unsigned int bar, bool *io, bool *skip)
{
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * bar;
	uint32_t old = pci_config_read(bus, devfn, off, 4), mask;

	pci_config_write(bus, devfn, off, 4, 0xffffffffu);
	mask = pci_config_read(bus, devfn, off, 4);
	pci_config_write(bus, devfn, off, 4, old);
	*skip = false;
	if (!mask || mask == 0xffffffffu)
		return 0;
	*io = mask & BAR_IO_FLAG;
	if (*io) {
		mask = (mask & ~3u) | 0xffff0000u;    /* I/O BARs may decode 16 bits only */
	} else {
		*skip = (mask & BAR_MEM_TYPE_MASK) == BAR_MEM_TYPE_64 && bar + 1 < PCI_BARS;
		mask &= ~0xfu;
	}
	uint32_t size = ~mask + 1;
	return size && !(size & (size - 1)) ? size : 0;
}

static int by_size_desc(const void *a, const void *b)
{
	const struct bar_slot *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? 1 : -1;
	return x->devfn != y->devfn ? (int)x->devfn - (int)y->devfn : (int)x->bar - (int)y->bar;
}

/* Places the BARs of one kind from base up to limit; false if they do not fit. */
static bool place(struct bar_slot *bars, unsigned int n, bool io, uint64_t base, uint64_t limit,
		  uint64_t *at_out)
{
	uint64_t at = base;

	for (unsigned int i = 0; i < n; i++) {
		if (bars[i].io != io)
			continue;
		at = (at + bars[i].size - 1) & ~(uint64_t)(bars[i].size - 1);
		if (at > limit || limit - at < bars[i].size)
			return false;
		at_out[i] = at;
		at += bars[i].size;
	}
	return true;
}

static int assign_bars(struct domain *dom, char *err, size_t errlen)
{
	struct pci_bus *bus = dom->pci;
	static const unsigned int max = PCI_SLOTS * PCI_FUNCS * PCI_BARS;
	struct bar_slot *bars = calloc(max, sizeof(*bars));
	uint64_t *addr = calloc(max, sizeof(*addr));
	unsigned int n = 0;
	int rc = -1;

	if (!bars || !addr) {
		ERR_SET(err, errlen, "hvmloader: out of memory for the BAR list");
		goto out;
	}
	for (unsigned int devfn = 1; devfn < PCI_SLOTS * PCI_FUNCS; devfn++) {   /* not the host bridge */
		if (!bus->devices[devfn])
			continue;
		for (unsigned int bar = 0; bar < PCI_BARS; bar++) {
			bool io = false, skip = false;
			uint32_t size = size_bar(bus, devfn, bar, &io, &skip);
			if (size)
				bars[n++] = (struct bar_slot){ (uint8_t)devfn, (uint8_t)bar, io, size };
			if (skip)
				pci_config_write(bus, devfn, PCI_BASE_ADDRESS_0 + 4 * ++bar, 4, 0);
		}
	}
	qsort(bars, n, sizeof(*bars), by_size_desc);
	const uint64_t mmio_end = PCI_MMIO_WINDOW_BASE + PCI_MMIO_WINDOW_LEN;
	if (!place(bars, n, true, PCI_IO_WINDOW_BASE, PCI_IO_WINDOW_BASE + PCI_IO_WINDOW_LEN, addr)) {
		ERR_SET(err, errlen, "hvmloader: the I/O BARs do not fit in ports %#x-%#x", PCI_IO_WINDOW_BASE,
			PCI_IO_WINDOW_BASE + PCI_IO_WINDOW_LEN - 1);
		goto out;
	}
	if (!place(bars, n, false, HVMLOADER_PCI_MEM_START, mmio_end, addr) &&
	    !place(bars, n, false, PCI_MMIO_WINDOW_BASE, mmio_end, addr)) {
		ERR_SET(err, errlen, "hvmloader: the memory BARs do not fit in %#llx-%#llx",
			(unsigned long long)PCI_MMIO_WINDOW_BASE, (unsigned long long)mmio_end - 1);
		goto out;
	}
	for (unsigned int i = 0; i < n; i++)
		pci_config_write(bus, bars[i].devfn, PCI_BASE_ADDRESS_0 + 4 * bars[i].bar, 4, (uint32_t)addr[i]);
	rc = 0;
out:
	free(bars);
	free(addr);
	return rc;
}

/* Interrupt line from the pin's swizzled PIRQ route; decoding for the BAR kinds the function has
 * and bus mastering. */
static void enable_functions(struct pci_bus *bus)
{
	for (unsigned int devfn = 1; devfn < PCI_SLOTS * PCI_FUNCS; devfn++) {
		const struct pci_device *dev = bus->devices[devfn];
		if (!dev)
			continue;
		unsigned int pin = pci_config_read(bus, devfn, PCI_INTERRUPT_PIN, 1);
		if (pin >= 1 && pin <= 4)
			pci_config_write(bus, devfn, PCI_INTERRUPT_LINE, 1,
					 pirq_routes[(pin - 1 + (devfn >> 3)) & 3]);
		uint32_t cmd = pci_config_read(bus, devfn, PCI_COMMAND, 2), add = 0;
		for (unsigned int bar = 0; bar < PCI_BARS; bar++)
			if (dev->info->bars[bar].size)
				add |= (dev->info->bars[bar].io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY) |
				       PCI_COMMAND_MASTER;
		if (add)
			pci_config_write(bus, devfn, PCI_COMMAND, 2, cmd | add);
	}
}

static void enable_pm(struct pci_bus *bus)
{
	for (unsigned int devfn = 1; devfn < PCI_SLOTS * PCI_FUNCS; devfn++) {
		if (!bus->devices[devfn] || pci_config_read(bus, devfn, PCI_VENDOR_ID, 2) != PIIX4_PM_VENDOR ||
		    pci_config_read(bus, devfn, PCI_DEVICE_ID, 2) != PIIX4_PM_DEVICE)
			continue;
		pci_config_write(bus, devfn, PIIX4_PMBA, 4, PIIX4_PM_BASE | 1);
		pci_config_write(bus, devfn, PIIX4_PMREGMISC, 1,
				 pci_config_read(bus, devfn, PIIX4_PMREGMISC, 1) | PIIX4_PMIOSE);
	}
}

/* ---- the info table ---- */

static void put_le(uint8_t *p, uint64_t v, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> 8 * i);
}

static int build_acpi(struct domain *dom, uint32_t *rsdp, char *err, size_t errlen)
{
	uint64_t gpa = vm_acpi_region_gpa(&dom->vm), special = vm_special_page_gpa(&dom->vm, SPECIAL_PAGES - 1);
	uint8_t *buf = vm_ram_gpa_to_hva(&dom->vm, gpa, special - gpa);
	unsigned int online = dom->params ? dom->params->vcpus : dom->n_vcpus;
	unsigned int max = dom->params ? domain_max_vcpus(dom->params) : dom->n_vcpus;
	struct hvm_acpi_config cfg = { .vcpus = online ? online : 1 };
	uint64_t rsdp_gpa;
	size_t used;
	char why[160];

	cfg.max_vcpus = max > cfg.vcpus ? max : cfg.vcpus;
	memcpy(cfg.pirq_route, pirq_routes, sizeof(pirq_routes));
	if (!buf) {
		ERR_SET(err, errlen, "hvmloader: the ACPI region %#llx-%#llx is not guest RAM",
			(unsigned long long)gpa, (unsigned long long)special - 1);
		return -1;
	}
	if (hvm_acpi_build(buf, special - gpa, gpa, &cfg, &rsdp_gpa, &used, why, sizeof(why))) {
		ERR_SET(err, errlen, "hvmloader: %s", why);
		return -1;
	}
	*rsdp = (uint32_t)rsdp_gpa;
	return 0;
}

static int write_info(struct domain *dom, char *err, size_t errlen)
{
	uint8_t *page = vm_ram_gpa_to_hva(&dom->vm, HVMLOADER_INFO_GPA, 4096);
	struct vm_memmap_entry map[HVMLOADER_E820_MAX];
	uint32_t tables[HVMLOADER_TABLES_MAX];
	unsigned int n_tables = 0, n_map;

	if (!page) {
		ERR_SET(err, errlen, "hvmloader: the info table's page at %#x is not guest RAM", HVMLOADER_INFO_GPA);
		return -1;
	}
	if (!dom->hvm || dom->hvm->acpi) {
		if (build_acpi(dom, &tables[n_tables], err, errlen))
			return -1;
		n_tables++;
	}
	n_map = hvmloader_e820(&dom->vm, map);
	memset(page, 0, 4096);
	for (unsigned int i = 0; i < n_tables; i++)
		put_le(page + HVMLOADER_TABLES_GPA - HVMLOADER_INFO_GPA + 4 * i, tables[i], 4);
	for (unsigned int i = 0; i < n_map; i++) {
		uint8_t *e = page + HVMLOADER_E820_GPA - HVMLOADER_INFO_GPA + HVMLOADER_E820_ENTRY_SIZE * i;
		put_le(e, map[i].addr, 8);
		put_le(e + 8, map[i].size, 8);
		put_le(e + 16, map[i].type, 4);
	}
	memcpy(page, HVMLOADER_INFO_SIGNATURE, sizeof(HVMLOADER_INFO_SIGNATURE));
	page[14] = HVMLOADER_INFO_SIZE;
	put_le(page + 16, HVMLOADER_TABLES_GPA, 4);
	put_le(page + 20, n_tables, 4);
	put_le(page + 24, HVMLOADER_E820_GPA, 4);
	put_le(page + 28, n_map, 4);
	uint8_t sum = 0;
	for (unsigned int i = 0; i < HVMLOADER_INFO_SIZE; i++)
		sum += page[i];
	page[15] = (uint8_t)-sum;
	return 0;
}

int hvmloader_setup(struct domain *dom, char *err, size_t errlen)
{
	if (!dom->pci) {
		ERR_SET(err, errlen, "hvmloader: the domain has no PCI bus (build the HVM devices first)");
		return -1;
	}
	if (dom->vm.low_ram_size < vm_acpi_region_gpa(&dom->vm) ||
	    vm_acpi_region_gpa(&dom->vm) <= LOW_MEM_END) {
		ERR_SET(err, errlen, "hvmloader: %llu KiB of low RAM leave nothing above 1 MiB for the guest",
			(unsigned long long)dom->vm.low_ram_size >> 10);
		return -1;
	}
	route_pirqs(dom);
	if (assign_bars(dom, err, errlen))
		return -1;
	enable_functions(dom->pci);
	enable_pm(dom->pci);
	return write_info(dom, err, errlen);
}
