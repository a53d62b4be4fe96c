/* hvmloader's part (vmm/hvmloader.c, vmm/hvmloader_acpi.c) on a fake domain with the real PCI bus,
 * i440FX, PIIX3, PIIX3 IDE, PIIX4 PM and the Xen platform device: after hvmloader_setup, what
 * SeaBIOS's Xen path and then the OS find must hold -- BARs placed, routed and decoding, the PM
 * block answering, an info table SeaBIOS's validate_info accepts, the e820, and ACPI tables that
 * checksum and parse, by our own reading and by ACPICA's disassembler (iasl -d), the code Linux
 * runs. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "hw/device.h"
#include "hw/hvm_config.h"
#include "hw/pci.h"
#include "hw/piix4_pm.h"
#include "vmm/hvmloader.h"
#include "vmm/hvmloader_acpi.h"
#include "fake_domain.h"
#include "fake_pc.h"
#include "unit.h"

extern const struct device_ops pci_bus_device, i440fx_device, piix3_device, ide_device, xen_platform_device;

static const struct device_ops *const table[] = {
	&pci_bus_device, &i440fx_device, &piix3_device, &ide_device, &piix4_pm_device, &xen_platform_device, NULL,
};
static const uint8_t routes[4] = HVMLOADER_PIRQ_ROUTES;

struct rig {
	struct domain *dom;
	struct hvm_config hvm;
	struct irq_watch irq;
};

static bool rig_new(struct unit *u, struct rig *g, unsigned int vcpus)
{
	char err[256] = "";

	memset(g, 0, sizeof(*g));
	g->dom = fake_domain_new(vcpus);
	hvm_config_init(&g->hvm);
	g->dom->hvm = &g->hvm;
	g->dom->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	irq_watch_install(g->dom, &g->irq);
	if (devices_init(g->dom, table, err, sizeof(err))) {
		CHECK(0, "devices_init: %s", err);
		close(g->dom->notify_fd);
		fake_domain_free(g->dom);
		return false;
	}
	if (hvmloader_setup(g->dom, err, sizeof(err))) {
		CHECK(0, "hvmloader_setup: %s", err);
		devices_teardown(g->dom);
		close(g->dom->notify_fd);
		fake_domain_free(g->dom);
		return false;
	}
	return true;
}

static void rig_end(struct rig *g)
{
	devices_teardown(g->dom);
	close(g->dom->notify_fd);
	fake_domain_free(g->dom);
}

static uint64_t le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* ---- PCI ---- */

struct placed { uint64_t at, size; bool io; unsigned int devfn, bar; };

static void test_pci(struct unit *u, const void *arg)
{
	struct rig g;
	struct placed p[64];
	unsigned int n = 0, functions = 0;

	(void)arg;
	if (!rig_new(u, &g, 1))
		return;
	struct pci_bus *bus = g.dom->pci;
	for (unsigned int i = 0; i < 4; i++)
		CHECK_INT(pci_config_read(bus, 1 << 3, 0x60 + i, 1), routes[i]);
	CHECK_INT(pio_in8(g.dom, 0x4d0), 1 << 5);
	CHECK_INT(pio_in8(g.dom, 0x4d1), 1 << (10 - 8) | 1 << (11 - 8));
	for (unsigned int devfn = 1; devfn < PCI_SLOTS * PCI_FUNCS; devfn++) {
		const struct pci_device *dev = bus->devices[devfn];
		if (!dev)
			continue;
		functions++;
		unsigned int cmd = pci_config_read(bus, devfn, PCI_COMMAND, 2);
		unsigned int pin = pci_config_read(bus, devfn, PCI_INTERRUPT_PIN, 1);
		if (pin)
			CHECK(pci_config_read(bus, devfn, PCI_INTERRUPT_LINE, 1) == routes[(pin - 1 + (devfn >> 3)) & 3],
			      "%02x.%u: pin %u, line %u", devfn >> 3, devfn & 7, pin,
			      pci_config_read(bus, devfn, PCI_INTERRUPT_LINE, 1));
		for (unsigned int bar = 0; bar < PCI_BARS; bar++) {
			const struct pci_bar *b = &dev->info->bars[bar];
			if (!b->size)
				continue;
			uint64_t at = pci_bar_address(dev, bar);
			CHECK(at != UINT64_MAX && at != 0, "%02x.%u BAR%u does not decode", devfn >> 3, devfn & 7, bar);
			CHECK(!(at & (b->size - 1)), "%02x.%u BAR%u at %#llx, size %#x: not aligned", devfn >> 3,
			      devfn & 7, bar, (unsigned long long)at, b->size);
			CHECK(cmd & (b->io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY) && cmd & PCI_COMMAND_MASTER,
			      "%02x.%u: command %#x", devfn >> 3, devfn & 7, cmd);
			if (b->io)
				CHECK(at >= PCI_IO_WINDOW_BASE && at + b->size <= PCI_IO_WINDOW_BASE + PCI_IO_WINDOW_LEN,
				      "I/O BAR at %#llx", (unsigned long long)at);
			else
				CHECK(at >= HVMLOADER_PCI_MEM_START && at + b->size <= HVMLOADER_TOP_RESERVED,
				      "memory BAR at %#llx", (unsigned long long)at);
			if (n < 64)
				p[n++] = (struct placed){ at, b->size, b->io, devfn, bar };
		}
	}
	CHECK(functions >= 4 && n >= 3, "%u functions, %u BARs", functions, n);
	for (unsigned int i = 0; i < n; i++)
		for (unsigned int j = i + 1; j < n; j++)
			CHECK(p[i].io != p[j].io || p[i].at + p[i].size <= p[j].at || p[j].at + p[j].size <= p[i].at,
			      "%02x BAR%u and %02x BAR%u overlap", p[i].devfn, p[i].bar, p[j].devfn, p[j].bar);
	/* The Xen platform device's 16 MiB BAR1: first of the memory window, largest first. */
	const struct pci_device *xp = bus->devices[2 << 3];
	CHECK(xp && pci_bar_address(xp, 1) == HVMLOADER_PCI_MEM_START, "platform BAR1 at %#llx",
	      xp ? (unsigned long long)pci_bar_address(xp, 1) : 0ull);
	rig_end(&g);
}

static void test_pm(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	if (!rig_new(u, &g, 1))
		return;
	unsigned int devfn = PIIX4_PM_SLOT << 3 | PIIX4_PM_FUNC;
	CHECK_INT(pci_config_read(g.dom->pci, devfn, 0x40, 4), PIIX4_PM_BASE | 1);
	CHECK_INT(pci_config_read(g.dom->pci, devfn, 0x80, 1) & 1, 1);
	uint32_t t0 = pio_in(g.dom, PIIX4_PM_BASE + 8, 4);
	struct timespec ts = { 0, 2000000 };
	nanosleep(&ts, NULL);
	uint32_t t1 = pio_in(g.dom, PIIX4_PM_BASE + 8, 4);
	CHECK(t0 != 0xffffffffu && t1 != t0 && !(t1 >> 24), "PM_TMR %#x then %#x", t0, t1);
	rig_end(&g);
}

/* ---- the info table, as SeaBIOS's validate_info and xen_ramsize_preinit read it ---- */

static void test_info(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	if (!rig_new(u, &g, 2))
		return;
	const uint8_t *info = fake_gpa(g.dom, HVMLOADER_INFO_GPA);
	CHECK(!memcmp(info, "XenHVMSeaBIOS", 14), "signature %.14s", (const char *)info);
	CHECK(info[14] >= 32, "length %u", info[14]);
	CHECK_INT(sum8(info, info[14]), 0);
	uint32_t tables = (uint32_t)le(info + 16, 4), tables_nr = (uint32_t)le(info + 20, 4);
	uint32_t e820 = (uint32_t)le(info + 24, 4), e820_nr = (uint32_t)le(info + 28, 4);
	CHECK_INT(tables_nr, 1);
	CHECK(e820_nr >= 6 && e820 >= HVMLOADER_INFO_GPA && e820 + 20 * e820_nr <= HVMLOADER_INFO_GPA + 4096,
	      "e820 at %#x, %u entries", e820, e820_nr);
	CHECK(tables >= HVMLOADER_INFO_GPA + 32 && tables + 4 * tables_nr <= e820, "tables at %#x", tables);
	struct vm_memmap_entry want[HVMLOADER_E820_MAX];
	unsigned int n = hvmloader_e820(&g.dom->vm, want);
	CHECK_INT(e820_nr, n);
	for (unsigned int i = 0; i < n && i < e820_nr; i++) {
		const uint8_t *e = fake_gpa(g.dom, e820 + 20 * i);
		CHECK(le(e, 8) == want[i].addr && le(e + 8, 8) == want[i].size && le(e + 16, 4) == want[i].type,
		      "entry %u", i);
	}
	if (tables_nr == 1) {
		const uint8_t *rsdp = fake_gpa(g.dom, le(fake_gpa(g.dom, tables), 4));
		CHECK(!memcmp(rsdp, "RSD PTR ", 8) && !sum8(rsdp, 20), "the table is no RSDP");
	}
	rig_end(&g);
}

/* Page 0x1000 not RAM: refused with a reason. */
static void test_info_not_ram(struct unit *u, const void *arg)
{
	struct rig g;
	char err[256] = "";

	(void)arg;
	if (!rig_new(u, &g, 1))
		return;
	uint64_t low = g.dom->vm.low_ram_size;
	g.dom->vm.low_ram_size = g.dom->vm.ram_size = 0x1000;
	CHECK(hvmloader_setup(g.dom, err, sizeof(err)) == -1 && strstr(err, "low RAM"), "err: %s", err);
	g.dom->vm.low_ram_size = g.dom->vm.ram_size = low;
	rig_end(&g);
}

/* ---- the memory map for bigger domains (no RAM needed: it is arithmetic on the layout) ---- */

#define MiB (1ull << 20)
#define GiB (1ull << 30)

struct e820_case {
	const char *name;
	uint64_t populated;
};

static void test_e820(struct unit *u, const void *arg)
{
	const struct e820_case *c = arg;
	struct vm vm = { .ram_size = c->populated, .populated_size = c->populated,
			 .low_ram_size = c->populated < GUEST_LOW_RAM_MAX ? c->populated : GUEST_LOW_RAM_MAX };
	uint64_t acpi = vm_acpi_region_gpa(&vm);
	struct vm_memmap_entry want[] = {
		{ 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xf0000, 0x10000, 2 },
		{ 0x100000, acpi - 0x100000, 1 }, { acpi, vm.low_ram_size - acpi, 2 },
		{ 0xfec00000, 0x1400000, 2 }, { 4 * GiB, c->populated - vm.low_ram_size, 1 },
	};
	unsigned int n_want = c->populated > vm.low_ram_size ? 7 : 6;
	struct vm_memmap_entry got[HVMLOADER_E820_MAX];
	unsigned int n = hvmloader_e820(&vm, got);

	CHECK_INT(n, n_want);
	for (unsigned int i = 0; i < n && i < n_want; i++)
		CHECK(got[i].addr == want[i].addr && got[i].size == want[i].size && got[i].type == want[i].type,
		      "entry %u: %#llx+%#llx type %u, expected %#llx+%#llx type %u", i,
		      (unsigned long long)got[i].addr, (unsigned long long)got[i].size, got[i].type,
		      (unsigned long long)want[i].addr, (unsigned long long)want[i].size, want[i].type);
	/* Ascending and disjoint, as an e820 is read. */
	for (unsigned int i = 1; i < n; i++)
		CHECK(got[i - 1].addr + got[i - 1].size <= got[i].addr, "entries %u and %u overlap", i - 1, i);
}

static const struct e820_case e820_cases[] = {
	{ "hvmloader: e820 of a 64 MiB domain", 64 * MiB },
	{ "hvmloader: e820 of a 3.5 GiB domain (RAM above 4 GiB)", 3 * GiB + 512 * MiB },
};

/* ---- ACPI ---- */

struct tables {
	const uint8_t *rsdt, *fadt, *madt, *dsdt, *facs;
};

static const uint8_t *table_at(struct unit *u, struct domain *dom, uint64_t gpa, const char *sig)
{
	if (gpa + 36 > FAKE_RAM_SIZE) {
		CHECK(0, "%s at %#llx: outside RAM", sig, (unsigned long long)gpa);
		return NULL;
	}
	const uint8_t *t = fake_gpa(dom, gpa);
	uint32_t len = (uint32_t)le(t + 4, 4);
	if (memcmp(t, sig, 4) || len < 36 || gpa + len > FAKE_RAM_SIZE) {
		CHECK(0, "%s at %#llx: signature %.4s, length %u", sig, (unsigned long long)gpa, (const char *)t, len);
		return NULL;
	}
	CHECK(!sum8(t, len), "%s: checksum", sig);
	return t;
}

/* A PkgLength at p: its value (which counts itself), *n its bytes. */
static size_t pkg_length(const uint8_t *p, size_t *n)
{
	unsigned int k = (p[0] >> 6) + 1;
	size_t v = k == 1 ? p[0] & 0x3f : p[0] & 0x0f;

	for (unsigned int i = 1; i < k; i++)
		v |= (size_t)p[i] << (4 + 8 * (i - 1));
	*n = k;
	return v;
}

static size_t integer(const uint8_t *p, uint32_t *v)
{
	switch (p[0]) {
	case 0x00: case 0x01: *v = p[0]; return 1;
	case 0x0a: *v = p[1]; return 2;
	case 0x0b: *v = (uint32_t)le(p + 1, 2); return 3;
	case 0x0c: *v = (uint32_t)le(p + 1, 4); return 5;
	default: *v = UINT32_MAX; return 1;
	}
}

static const uint8_t *find(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(hay + i, needle, n))
			return hay + i;
	return NULL;
}

static void check_prt(struct unit *u, const uint8_t *dsdt)
{
	uint32_t len = (uint32_t)le(dsdt + 4, 4);
	const uint8_t *p = find(dsdt + 36, len - 36, "\x08_PRT\x12", 6);

	CHECK(p, "DSDT without Name (_PRT, Package)");
	if (!p)
		return;
	size_t n, outer = pkg_length(p + 6, &n);
	const uint8_t *q = p + 6 + n, *end = p + 6 + outer;
	CHECK(end <= dsdt + len && *q == 128, "_PRT: %u entries, %zu bytes", *q, outer);
	q++;
	for (unsigned int i = 0; i < 128 && q < end; i++) {
		uint32_t addr, pin, src, gsi;
		CHECK(q[0] == 0x12, "_PRT entry %u: no package", i);
		size_t in = pkg_length(q + 1, &n);
		const uint8_t *e = q + 1 + n;
		CHECK(e[0] == 4, "_PRT entry %u: %u elements", i, e[0]);
		e++;
		e += integer(e, &addr);
		e += integer(e, &pin);
		e += integer(e, &src);
		e += integer(e, &gsi);
		unsigned int slot = addr >> 16;
		CHECK((addr & 0xffff) == 0xffff && slot == i / 4 && pin == i % 4 && src == 0 &&
		      gsi == routes[(pin + slot) & 3], "_PRT entry %u: %#x pin %u source %u GSI %u", i, addr, pin, src, gsi);
		CHECK(e == q + 1 + in, "_PRT entry %u: length", i);
		q += 1 + in;
	}
	CHECK(q == end, "_PRT: trailing bytes");
}

static void check_madt(struct unit *u, const uint8_t *madt, unsigned int vcpus)
{
	uint32_t len = (uint32_t)le(madt + 4, 4);
	unsigned int lapics = 0, enabled = 0, ioapics = 0, isos = 0;

	CHECK_INT(le(madt + 36, 4), 0xfee00000u);
	for (uint32_t at = 44; at < len;) {
		unsigned int type = madt[at], elen = madt[at + 1];
		if (elen < 2 || at + elen > len) {
			CHECK(0, "MADT entry at %u: length %u", at, elen);
			break;
		}
		if (type == 0) {
			lapics++;
			enabled += madt[at + 4] & 1;
			CHECK(madt[at + 2] == madt[at + 3], "lapic UID %u, APIC ID %u", madt[at + 2], madt[at + 3]);
		} else if (type == 1) {
			ioapics++;
			CHECK(le(madt + at + 4, 4) == 0xfec00000u && le(madt + at + 8, 4) == 0, "IO-APIC entry");
		} else if (type == 2) {
			isos++;
			unsigned int irq = madt[at + 3];
			CHECK((irq == 5 || irq == 9 || irq == 10 || irq == 11) && le(madt + at + 4, 4) == irq &&
			      le(madt + at + 8, 2) == 0x0d, "override of IRQ %u", irq);
		}
		at += elen;
	}
	CHECK(lapics == vcpus && enabled == vcpus && ioapics == 1 && isos == 4,
	      "%u local APICs (%u enabled), %u IO-APICs, %u overrides", lapics, enabled, ioapics, isos);
}

static void test_acpi(struct unit *u, const void *arg)
{
	struct rig g;
	const unsigned int vcpus = 3;

	(void)arg;
	if (!rig_new(u, &g, vcpus))
		return;
	const uint8_t *info = fake_gpa(g.dom, HVMLOADER_INFO_GPA);
	uint64_t rsdp_gpa = le(fake_gpa(g.dom, le(info + 16, 4)), 4);
	const uint8_t *rsdp = fake_gpa(g.dom, rsdp_gpa);
	uint64_t acpi = vm_acpi_region_gpa(&g.dom->vm);
	CHECK(rsdp_gpa >= acpi && !(rsdp_gpa & 15) && !memcmp(rsdp, "RSD PTR ", 8) && !sum8(rsdp, 20) && rsdp[15] == 0,
	      "RSDP at %#llx", (unsigned long long)rsdp_gpa);
	const uint8_t *rsdt = table_at(u, g.dom, le(rsdp + 16, 4), "RSDT");
	if (!rsdt)
		goto out;
	CHECK_INT(le(rsdt + 4, 4), 44);
	const uint8_t *fadt = table_at(u, g.dom, le(rsdt + 36, 4), "FACP");
	const uint8_t *madt = table_at(u, g.dom, le(rsdt + 40, 4), "APIC");
	if (!fadt || !madt)
		goto out;
	CHECK(le(fadt + 46, 2) == 9 && le(fadt + 48, 4) == 0xb2 && fadt[52] == 0xf1 && fadt[53] == 0xf0,
	      "FADT SCI %llu SMI_CMD %#llx", (unsigned long long)le(fadt + 46, 2), (unsigned long long)le(fadt + 48, 4));
	CHECK(le(fadt + 56, 4) == 0xb000 && le(fadt + 64, 4) == 0xb004 && le(fadt + 76, 4) == 0xb008 &&
	      le(fadt + 80, 4) == 0xafe0 && fadt[88] == 4 && fadt[89] == 2 && fadt[91] == 4 && fadt[92] == 4,
	      "FADT PM blocks");
	const uint8_t *facs = fake_gpa(g.dom, le(fadt + 36, 4));
	CHECK(!memcmp(facs, "FACS", 4) && le(facs + 4, 4) == 64 && !(le(fadt + 36, 4) & 63), "FACS");
	const uint8_t *dsdt = table_at(u, g.dom, le(fadt + 40, 4), "DSDT");
	if (dsdt) {
		uint32_t len = (uint32_t)le(dsdt + 4, 4);
		CHECK(find(dsdt, len, "\x08\\_S5_\x12\x06\x04\x00\x00\x00\x00", 13), "no \\_S5 of SLP_TYP 0");
		CHECK(find(dsdt, len, "PCI0\x08_HID\x0c\x41\xd0\x0a\x03", 14), "no PCI0 of PNP0A03");
		for (unsigned int v = 0; v < vcpus; v++) {
			uint8_t proc[8] = { 0x5b, 0x83, 11, 'C', 'P', '0', (uint8_t)('0' + v), (uint8_t)v };
			CHECK(find(dsdt, len, proc, sizeof(proc)), "no Processor (CP0%u, %u)", v, v);
		}
		check_prt(u, dsdt);
		/* Everything lies in the reserved region. */
		CHECK(le(fadt + 40, 4) + len <= vm_special_page_gpa(&g.dom->vm, SPECIAL_PAGES - 1), "DSDT past the region");
	}
	check_madt(u, madt, vcpus);
out:
	rig_end(&g);
}

/* The builder's limits: every vCPU count fits its bound; bad configurations are refused. */
static void test_acpi_limits(struct unit *u, const void *arg)
{
	static uint8_t buf[HVM_ACPI_BYTES(HVM_ACPI_MAX_VCPUS)];
	struct hvm_acpi_config cfg = { .vcpus = 1, .pirq_route = HVMLOADER_PIRQ_ROUTES };
	uint64_t rsdp;
	size_t used;
	char why[200] = "";

	(void)arg;
	for (unsigned int max = 1; max <= HVM_ACPI_MAX_VCPUS; max++) {
		cfg.max_vcpus = max;
		if (hvm_acpi_build(buf, HVM_ACPI_BYTES(max), 0x7f000, &cfg, &rsdp, &used, why, sizeof(why))) {
			CHECK(0, "%u vCPUs: %s", max, why);
			break;
		}
	}
	cfg.max_vcpus = 256;
	CHECK(hvm_acpi_build(buf, sizeof(buf), 0x7f000, &cfg, &rsdp, &used, why, sizeof(why)) == -1, "256 vCPUs");
	cfg.max_vcpus = 4;
	CHECK(hvm_acpi_build(buf, sizeof(buf), 0x7f010, &cfg, &rsdp, &used, why, sizeof(why)) == -1, "unaligned");
	CHECK(hvm_acpi_build(buf, 200, 0x7f000, &cfg, &rsdp, &used, why, sizeof(why)) == -1 && strstr(why, "need"),
	      "small buffer: %s", why);
	cfg.pirq_route[2] = 16;
	CHECK(hvm_acpi_build(buf, sizeof(buf), 0x7f000, &cfg, &rsdp, &used, why, sizeof(why)) == -1, "IRQ 16");
}

/* ---- ACPICA's witness: iasl -d on each table ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *text = NULL, chunk[4096];
	size_t len = 0, n;

	if (!f)
		return NULL;
	FILE *m = open_memstream(&text, &len);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(m);
	fclose(f);
	return text;
}

static const char *const complaints[] = { "Error", "Warning", "Incorrect", "Invalid", "****" };

/* The table at `t` disassembled (its .dsl text), or NULL after a failed CHECK. */
static char *disassemble(struct unit *u, const char *dir, const char *name, const uint8_t *t, uint32_t len)
{
	char path[512], cmd[768];

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	FILE *f = fopen(path, "we");
	bool ok = f && fwrite(t, 1, len, f) == len;
	if (f)
		ok = !fclose(f) && ok;
	if (!ok) {
		CHECK(0, "cannot write %s", path);
		return NULL;
	}
	snprintf(cmd, sizeof(cmd), "cd '%s' && iasl -d %s.dat >%s.log 2>&1", dir, name, name);
	int status = system(cmd);
	snprintf(path, sizeof(path), "%s/%s.log", dir, name);
	char *log = slurp(path);
	CHECK(status == 0, "iasl -d %s exited with %#x: %s", name, status, log ? log : "");
	snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
	char *dsl = slurp(path);
	/* ACPI 1.0's DSDT revision 1 (32-bit integers, as SeaBIOS's own DSDT) is remarked on with
	 * stars: that remark is no complaint. */
	char *v1 = dsl ? strstr(dsl, "**** 32-bit table (V1)") : NULL;
	if (v1)
		memset(v1, '-', 4);
	for (size_t i = 0; i < sizeof(complaints) / sizeof(complaints[0]); i++) {
		CHECK(!log || !strstr(log, complaints[i]), "iasl -d %s says %s: %s", name, complaints[i], log);
		CHECK(!dsl || !strstr(dsl, complaints[i]), "%s.dsl says %s", name, complaints[i]);
	}
	free(log);
	CHECK(dsl, "iasl -d %s wrote no .dsl", name);
	return dsl;
}

static void expect(struct unit *u, const char *dsl, const char *name, const char *const *want, size_t n)
{
	for (size_t i = 0; dsl && i < n; i++)
		CHECK(strstr(dsl, want[i]), "%s.dsl lacks \"%s\"", name, want[i]);
}

static void test_iasl(struct unit *u, const void *arg)
{
	struct rig g;
	char dir[] = "/tmp/xenith-hvmloader-XXXXXX";

	(void)arg;
	if (!rig_new(u, &g, 2))
		return;
	if (!mkdtemp(dir)) {
		CHECK(0, "no temporary directory");
		rig_end(&g);
		return;
	}
	const uint8_t *info = fake_gpa(g.dom, HVMLOADER_INFO_GPA);
	const uint8_t *rsdp = fake_gpa(g.dom, le(fake_gpa(g.dom, le(info + 16, 4)), 4));
	const uint8_t *rsdt = fake_gpa(g.dom, le(rsdp + 16, 4));
	const uint8_t *fadt = fake_gpa(g.dom, le(rsdt + 36, 4)), *madt = fake_gpa(g.dom, le(rsdt + 40, 4));
	const uint8_t *dsdt = fake_gpa(g.dom, le(fadt + 40, 4)), *facs = fake_gpa(g.dom, le(fadt + 36, 4));
	static const char *const fadt_want[] = {
		"SCI Interrupt : 0009", "SMI Command Port : 000000B2", "ACPI Enable Value : F1",
		"ACPI Disable Value : F0", "PM1A Event Block Address : 0000B000",
		"PM1A Control Block Address : 0000B004", "PM Timer Block Address : 0000B008",
		"GPE0 Block Address : 0000AFE0", "Control Method Power Button (V1) : 0",
	};
	static const char *const madt_want[] = {
		"Processor ID : 00", "Processor ID : 01", "Address : FEC00000", "Source : 05", "Source : 09",
		"Source : 0A", "Source : 0B", "Trigger Mode : 3",
	};
	static const char *const dsdt_want[] = {
		"Name (\\_S5, Package (0x04)", "Device (PCI0)", "EisaId (\"PNP0A03\")", "Name (_PRT, Package (0x80)",
		"0x0001FFFF,", "Processor (CP00, 0x00, 0x00000000, 0x00)", "Processor (CP01, 0x01, 0x00000000, 0x00)",
	};
	char *text;
	text = disassemble(u, dir, "rsdt", rsdt, (uint32_t)le(rsdt + 4, 4));
	free(text);
	text = disassemble(u, dir, "facp", fadt, (uint32_t)le(fadt + 4, 4));
	expect(u, text, "facp", fadt_want, sizeof(fadt_want) / sizeof(fadt_want[0]));
	free(text);
	text = disassemble(u, dir, "facs", facs, (uint32_t)le(facs + 4, 4));
	free(text);
	text = disassemble(u, dir, "apic", madt, (uint32_t)le(madt + 4, 4));
	expect(u, text, "apic", madt_want, sizeof(madt_want) / sizeof(madt_want[0]));
	free(text);
	text = disassemble(u, dir, "dsdt", dsdt, (uint32_t)le(dsdt + 4, 4));
	expect(u, text, "dsdt", dsdt_want, sizeof(dsdt_want) / sizeof(dsdt_want[0]));
	free(text);
	char rm[128];
	snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
	CHECK(system(rm) == 0, "cannot remove %s", dir);
	rig_end(&g);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "hvmloader: PIRQ routes and ELCR; every BAR placed, aligned, disjoint, decoding, routed",
		  test_pci, NULL);
	unit_case(&u, "hvmloader: the PIIX4 PM block answers at 0xb000 (PM_TMR moves)", test_pm, NULL);
	unit_case(&u, "hvmloader: the info table at 0x1000 validates as SeaBIOS checks it", test_info, NULL);
	unit_case(&u, "hvmloader: too little low RAM is refused", test_info_not_ram, NULL);
	for (size_t i = 0; i < sizeof(e820_cases) / sizeof(e820_cases[0]); i++)
		unit_case(&u, e820_cases[i].name, test_e820, &e820_cases[i]);
	unit_case(&u, "hvmloader: ACPI tables checksum and parse (FADT PM blocks, MADT, DSDT _S5/_PRT/CPUs)",
		  test_acpi, NULL);
	unit_case(&u, "hvmloader: ACPI builder limits", test_acpi_limits, NULL);
	if (system("command -v iasl >/dev/null 2>&1") == 0)
		unit_case(&u, "hvmloader: iasl -d reads every table without complaint, with the fields we meant",
			  test_iasl, NULL);
	else
		printf("skip - hvmloader: iasl -d: ACPICA's iasl is not installed (Debian's acpica-tools)\n");
	return unit_finish(&u);
}
