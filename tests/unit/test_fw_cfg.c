/* fw_cfg (hw/fw_cfg.c, hw/fw_cfg_pc.c) on a fake domain, driven through its ports as a vCPU's exits
 * would: the signature and ID byte by byte, the directory, files by their select, DMA reads, skips
 * and selects into fake RAM, DMA a hostile guest points outside RAM, items that do not exist,
 * save/restore of where the guest was; and the memory map and boot order SeaBIOS gets for a few
 * configurations. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hw/device.h"
#include "hw/fw_cfg.h"
#include "hw/hvm_config.h"
#include "vmm/domain.h"
#include "vmm/vm.h"
#include "fake_domain.h"
#include "unit.h"

static const struct device_ops *const table[] = { &fw_cfg_device, NULL };

#define DESC FAKE_ARG
#define BUF FAKE_ARG2

struct pc {
	struct domain *dom;
	struct hvm_config hvm;
};

static void pc_config(struct hvm_config *c)
{
	hvm_config_init(c);
	snprintf(c->boot, sizeof(c->boot), "dc");
	c->ide[0].kind = HVM_DRIVE_DISK;
	c->ide[2].kind = HVM_DRIVE_CDROM;
	c->serial = true;
}

static struct pc *pc_new(struct unit *u, void (*config)(struct hvm_config *))
{
	struct pc *pc = calloc(1, sizeof(*pc));
	char err[256] = "";

	config(&pc->hvm);
	pc->dom = fake_domain_new(2);
	pc->dom->hvm = &pc->hvm;
	CHECK(!devices_init(pc->dom, table, err, sizeof(err)), "devices_init: %s", err);
	return pc;
}

static void pc_free(struct pc *pc)
{
	devices_teardown(pc->dom);
	fake_domain_free(pc->dom);
	free(pc);
}

static void select_item(struct domain *dom, uint16_t key)
{
	uint8_t v[2] = { key & 0xff, key >> 8 };

	io_bus_dispatch(&dom->pio, NULL, FW_CFG_PORT_SELECTOR, true, v, 2);
}

static uint8_t data_byte(struct domain *dom)
{
	uint8_t v = 0xee;

	io_bus_dispatch(&dom->pio, NULL, FW_CFG_PORT_DATA, false, &v, 1);
	return v;
}

static void read_bytes(struct domain *dom, void *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = data_byte(dom);
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static void put_be32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16 & 0xff; p[2] = v >> 8 & 0xff; p[3] = v & 0xff; }

/* As SeaBIOS does it: outl(cpu_to_be32(x)), so the port sees x's bytes big-endian first. */
static void dma_port(struct domain *dom, unsigned int port, uint32_t value)
{
	uint8_t v[4];

	put_be32(v, value);
	io_bus_dispatch(&dom->pio, NULL, port, true, v, 4);
}

/* A descriptor at DESC, run; returns the control word the device wrote back. */
static uint32_t dma(struct domain *dom, uint32_t control, uint32_t length, uint64_t address)
{
	uint8_t d[16];

	put_be32(d, control);
	put_be32(d + 4, length);
	put_be32(d + 8, (uint32_t)(address >> 32));
	put_be32(d + 12, (uint32_t)address);
	fake_put(dom, DESC, d, sizeof(d));
	dma_port(dom, FW_CFG_PORT_DMA + 4, DESC);
	fake_get(dom, DESC, d, sizeof(d));
	return be32(d);
}

struct dir_entry { uint32_t size; uint16_t select; char name[FW_CFG_NAME_MAX]; };

static unsigned int read_dir(struct domain *dom, struct dir_entry *out, unsigned int max)
{
	uint8_t n[4], e[FW_CFG_DIR_ENTRY_SIZE];

	select_item(dom, FW_CFG_FILE_DIR);
	read_bytes(dom, n, 4);
	unsigned int count = be32(n);
	for (unsigned int i = 0; i < count && i < max; i++) {
		read_bytes(dom, e, sizeof(e));
		out[i].size = be32(e);
		out[i].select = (uint16_t)(e[4] << 8 | e[5]);
		memcpy(out[i].name, e + 8, FW_CFG_NAME_MAX);
		out[i].name[FW_CFG_NAME_MAX - 1] = '\0';
	}
	return count;
}

static const struct dir_entry *find_file(const struct dir_entry *d, unsigned int n, const char *name)
{
	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(d[i].name, name))
			return &d[i];
	return NULL;
}

static void test_signature_and_id(struct unit *u, const void *arg)
{
	(void)arg;
	struct pc *pc = pc_new(u, pc_config);
	char sig[5] = "";

	select_item(pc->dom, FW_CFG_SIGNATURE);
	read_bytes(pc->dom, sig, 4);
	CHECK_STR(sig, "QEMU");
	CHECK_INT(data_byte(pc->dom), 0);                   /* past the end: zeros */
	select_item(pc->dom, FW_CFG_ID);
	uint8_t id[4];
	read_bytes(pc->dom, id, 4);
	CHECK_INT(id[0] | id[1] << 8 | id[2] << 16 | (uint32_t)id[3] << 24, FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);
	/* Selecting again rewinds. */
	select_item(pc->dom, FW_CFG_SIGNATURE);
	CHECK_INT(data_byte(pc->dom), 'Q');
	/* The DMA register reads "QEMU CFG", as Linux's driver probes for it. */
	uint8_t s[8];
	io_bus_dispatch(&pc->dom->pio, NULL, FW_CFG_PORT_DMA, false, s, 4);
	io_bus_dispatch(&pc->dom->pio, NULL, FW_CFG_PORT_DMA + 4, false, s + 4, 4);
	CHECK(!memcmp(s, "QEMU CFG", 8), "DMA register reads '%.8s'", (const char *)s);
	/* Numbered items: RAM, CPUs, the IRQ 0 override. */
	uint8_t v[8];
	select_item(pc->dom, FW_CFG_RAM_SIZE);
	read_bytes(pc->dom, v, 8);
	uint64_t ram = 0;
	for (int i = 7; i >= 0; i--)
		ram = ram << 8 | v[i];
	CHECK_INT(ram, FAKE_RAM_SIZE);
	select_item(pc->dom, FW_CFG_NB_CPUS);
	read_bytes(pc->dom, v, 2);
	CHECK_INT(v[0] | v[1] << 8, 2);
	select_item(pc->dom, FW_CFG_MAX_CPUS);
	read_bytes(pc->dom, v, 2);
	CHECK_INT(v[0] | v[1] << 8, 2);
	select_item(pc->dom, FW_CFG_IRQ0_OVERRIDE);
	CHECK_INT(data_byte(pc->dom), 0);          /* KVM routes GSI 0 to IO-APIC pin 0 */
	pc_free(pc);
}

static void test_directory(struct unit *u, const void *arg)
{
	(void)arg;
	struct pc *pc = pc_new(u, pc_config);
	struct dir_entry d[FW_CFG_FILES_MAX];
	unsigned int n = read_dir(pc->dom, d, FW_CFG_FILES_MAX);
	static const struct { const char *name; uint32_t size; } want[] = {
		{ "bootorder", sizeof("/pci@i0cf8/ide@1,1/drive@1/disk@0\n/pci@i0cf8/ide@1,1/drive@0/disk@0") },
		{ "etc/sercon-port", 2 },
		{ "etc/boot-fail-wait", 4 },
	};

	CHECK_INT(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct dir_entry *e = find_file(d, n, want[i].name);
		CHECK(e, "%s is not listed", want[i].name);
		if (!e)
			continue;
		CHECK(e->size == want[i].size, "%s: %u bytes, expected %u", want[i].name, e->size, want[i].size);
		CHECK(e->select >= FW_CFG_FILE_FIRST, "%s at %#x", want[i].name, e->select);
		for (unsigned int j = 0; j < n; j++)
			CHECK(&d[j] == e || (strcmp(d[j].name, e->name) && d[j].select != e->select),
			      "%s listed twice or shares select %#x", e->name, e->select);
	}
	/* Files by their select. */
	const struct dir_entry *sercon = find_file(d, n, "etc/sercon-port");
	const struct dir_entry *wait = find_file(d, n, "etc/boot-fail-wait");
	const struct dir_entry *order = find_file(d, n, "bootorder");
	if (sercon && wait && order) {
		uint8_t v[4];
		select_item(pc->dom, sercon->select);
		read_bytes(pc->dom, v, 2);
		CHECK_INT(v[0] | v[1] << 8, 0x3f8);
		select_item(pc->dom, wait->select);
		read_bytes(pc->dom, v, 4);
		CHECK_INT(v[0] | v[1] << 8 | v[2] << 16 | (uint32_t)v[3] << 24, 5000);   /* milliseconds */
		char text[128];
		select_item(pc->dom, order->select);
		read_bytes(pc->dom, text, order->size);
		CHECK_STR(text, "/pci@i0cf8/ide@1,1/drive@1/disk@0\n/pci@i0cf8/ide@1,1/drive@0/disk@0");
	}
	pc_free(pc);
}

static void no_serial(struct hvm_config *c)
{
	pc_config(c);
	c->serial = false;
	c->ide[0].kind = c->ide[2].kind = HVM_DRIVE_NONE;
}

static void test_directory_without(struct unit *u, const void *arg)
{
	(void)arg;
	struct pc *pc = pc_new(u, no_serial);
	struct dir_entry d[FW_CFG_FILES_MAX];
	unsigned int n = read_dir(pc->dom, d, FW_CFG_FILES_MAX);

	CHECK_INT(n, 1);
	CHECK(!find_file(d, n, "etc/sercon-port"), "a sercon port without a serial console");
	CHECK(!find_file(d, n, "bootorder"), "a boot order with no drive to boot");
	CHECK(!find_file(d, n, "etc/e820"), "an e820 (hvmloader's table has the memory map)");
	CHECK(find_file(d, n, "etc/boot-fail-wait"), "boot-fail-wait missing");
	pc_free(pc);
}


struct boot_case {
	const char *name, *boot;
	unsigned int disks, cdroms, nics;   /* bit i: hd<a+i> is one; nics: how many */
	const char *want;
};

static const struct boot_case boot_cases[] = {
	{ "bootorder-dc", "dc", 1 << 0, 1 << 2, 0,
	  "/pci@i0cf8/ide@1,1/drive@1/disk@0\n/pci@i0cf8/ide@1,1/drive@0/disk@0" },
	{ "bootorder-n", "n", 1 << 0, 0, 2, "/pci@i0cf8/ethernet@3\n/pci@i0cf8/ethernet@4" },
	{ "bootorder-cdn-every-drive", "cdn", 1 << 1 | 1 << 3, 1 << 0 | 1 << 2, 1,
	  "/pci@i0cf8/ide@1,1/drive@0/disk@1\n/pci@i0cf8/ide@1,1/drive@1/disk@1\n"
	  "/pci@i0cf8/ide@1,1/drive@0/disk@0\n/pci@i0cf8/ide@1,1/drive@1/disk@0\n/pci@i0cf8/ethernet@3" },
	{ "bootorder-cc-once", "cc", 1 << 0, 0, 0, "/pci@i0cf8/ide@1,1/drive@0/disk@0" },
	{ "bootorder-d-no-cdrom", "d", 1 << 0, 0, 1, "" },
};

static void test_bootorder(struct unit *u, const void *arg)
{
	const struct boot_case *c = arg;
	struct hvm_config *cfg = calloc(1, sizeof(*cfg));
	char buf[FW_CFG_BOOTORDER_MAX];

	hvm_config_init(cfg);
	snprintf(cfg->boot, sizeof(cfg->boot), "%s", c->boot);
	for (unsigned int i = 0; i < HVM_IDE_DRIVES; i++)
		cfg->ide[i].kind = c->disks >> i & 1 ? HVM_DRIVE_DISK : c->cdroms >> i & 1 ? HVM_DRIVE_CDROM
											    : HVM_DRIVE_NONE;
	cfg->n_nics = c->nics;
	int n = fw_cfg_pc_bootorder(cfg, buf, sizeof(buf));
	CHECK_INT(n, (long long)strlen(c->want));
	CHECK_STR(buf, c->want);
	if (c->want[0]) {
		/* One byte short of the text and its NUL: refused. */
		CHECK_INT(fw_cfg_pc_bootorder(cfg, buf, strlen(c->want)), -1);
		CHECK_INT(fw_cfg_pc_bootorder(cfg, buf, strlen(c->want) + 1), (long long)strlen(c->want));
	}
	free(cfg);
}

static uint16_t file_select(struct unit *u, struct domain *dom, const char *name, uint32_t *size)
{
	struct dir_entry d[FW_CFG_FILES_MAX];
	unsigned int n = read_dir(dom, d, FW_CFG_FILES_MAX);
	const struct dir_entry *e = find_file(d, n, name);

	CHECK(e, "%s not listed", name);
	if (size)
		*size = e ? e->size : 0;
	return e ? e->select : 0;
}

static void test_dma_read(struct unit *u, const void *arg)
{
	(void)arg;
	struct pc *pc = pc_new(u, pc_config);
	uint32_t size;
	uint16_t sel = file_select(u, pc->dom, "etc/boot-fail-wait", &size);
	uint8_t want[64], got[80];

	select_item(pc->dom, sel);
	read_bytes(pc->dom, want, size);
	memset(got, 0xaa, sizeof(got));
	fake_put(pc->dom, BUF, got, sizeof(got));
	/* Select and read in one descriptor, 16 bytes more than the file: zeros there. */
	CHECK_INT(dma(pc->dom, (uint32_t)sel << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, size + 16, BUF), 0);
	fake_get(pc->dom, BUF, got, sizeof(got));
	CHECK(!memcmp(got, want, size), "DMA read differs from the port read");
	for (uint32_t i = size; i < size + 16; i++)
		CHECK(got[i] == 0, "byte %u past the file is %#x", i, got[i]);
	CHECK(got[size + 16] == 0xaa, "DMA wrote past its length");
	/* The high half written first, then the low half: a full 64-bit address. */
	uint8_t d[16] = { 0 };
	put_be32(d, (uint32_t)FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ);
	put_be32(d + 4, 4);
	put_be32(d + 12, BUF);
	fake_put(pc->dom, DESC, d, sizeof(d));
	dma_port(pc->dom, FW_CFG_PORT_DMA, 0);
	dma_port(pc->dom, FW_CFG_PORT_DMA + 4, DESC);
	fake_get(pc->dom, DESC, d, 4);
	fake_get(pc->dom, BUF, got, 4);
	CHECK(be32(d) == 0 && !memcmp(got, "QEMU", 4), "signature by DMA: control %#x, '%.4s'", be32(d), (char *)got);
	pc_free(pc);
}

static void test_dma_skip_select(struct unit *u, const void *arg)
{
	(void)arg;
	struct pc *pc = pc_new(u, pc_config);
	uint16_t sel = file_select(u, pc->dom, "etc/boot-fail-wait", NULL);
	uint8_t got[4];

	/* Select and skip 1 by DMA, then a port read continues there. */
	CHECK_INT(dma(pc->dom, (uint32_t)sel << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_SKIP, 1, 0), 0);
	CHECK_INT(data_byte(pc->dom), 5000 >> 8);
	/* Skipping past the end stops there: reads are zeros. */
	CHECK_INT(dma(pc->dom, FW_CFG_DMA_SKIP, 100, 0), 0);
	CHECK_INT(data_byte(pc->dom), 0);
	/* Select alone rewinds; a read without select continues from the port's place. */
	CHECK_INT(dma(pc->dom, (uint32_t)sel << 16 | FW_CFG_DMA_SELECT, 0, 0), 0);
	CHECK_INT(data_byte(pc->dom), 5000 & 0xff);
	CHECK_INT(dma(pc->dom, FW_CFG_DMA_READ, 3, BUF), 0);
	fake_get(pc->dom, BUF, got, 3);
	CHECK(got[0] == 5000 >> 8 && got[1] == 0 && got[2] == 0, "read after skip: %02x %02x %02x", got[0], got[1],
	      got[2]);
	pc_free(pc);
}

static void test_dma_hostile(struct unit *u, const void *arg)
{
	(void)arg;
	struct pc *pc = pc_new(u, pc_config);
	uint16_t sel = file_select(u, pc->dom, "etc/boot-fail-wait", NULL);
	const uint32_t read = (uint32_t)sel << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ;
	uint8_t tail[8], fill[8];

	memset(fill, 0x5a, sizeof(fill));
	fake_put(pc->dom, FAKE_RAM_SIZE - sizeof(fill), fill, sizeof(fill));
	/* A buffer wholly outside RAM, one that runs past RAM's end, one in the MMIO hole. */
	CHECK_INT(dma(pc->dom, read, 16, FAKE_RAM_SIZE + 4096), FW_CFG_DMA_ERROR);
	CHECK_INT(dma(pc->dom, read, 16, FAKE_RAM_SIZE - 8), FW_CFG_DMA_ERROR);
	CHECK_INT(dma(pc->dom, read, 0xffffffffu, BUF), FW_CFG_DMA_ERROR);
	CHECK_INT(dma(pc->dom, read, 16, 0xfec00000ull), FW_CFG_DMA_ERROR);
	CHECK_INT(dma(pc->dom, read, 16, ~0ull - 7), FW_CFG_DMA_ERROR);
	fake_get(pc->dom, FAKE_RAM_SIZE - sizeof(tail), tail, sizeof(tail));
	CHECK(!memcmp(tail, fill, sizeof(tail)), "a failed DMA wrote into RAM's last bytes");
	/* Writes: nothing is writable. */
	CHECK_INT(dma(pc->dom, (uint32_t)sel << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE, 4, BUF), FW_CFG_DMA_ERROR);
	/* A descriptor outside RAM: nothing happens (and nothing to say so). */
	dma_port(pc->dom, FW_CFG_PORT_DMA + 4, FAKE_RAM_SIZE);
	dma_port(pc->dom, FW_CFG_PORT_DMA + 4, 0xfffffff8u);
	/* A high half that names no RAM, then a transfer from the low half alone: the high half went
	 * back to 0, so the second finds its descriptor. */
	dma_port(pc->dom, FW_CFG_PORT_DMA, 1);
	uint8_t d[16] = { 0 };
	put_be32(d, FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ);
	put_be32(d + 4, 4);
	put_be32(d + 12, BUF);
	fake_put(pc->dom, DESC, d, sizeof(d));
	dma_port(pc->dom, FW_CFG_PORT_DMA + 4, DESC);
	fake_get(pc->dom, DESC, d, 4);
	CHECK(be32(d) != 0, "a descriptor at 4 GiB + %#llx ran from RAM", (unsigned long long)DESC);
	dma_port(pc->dom, FW_CFG_PORT_DMA + 4, DESC);
	fake_get(pc->dom, DESC, d, 4);
	CHECK_INT(be32(d), 0);
	/* Port accesses of odd sizes change nothing. */
	uint8_t v[4] = { 0x19, 0, 0, 0 };
	select_item(pc->dom, FW_CFG_SIGNATURE);
	io_bus_dispatch(&pc->dom->pio, NULL, FW_CFG_PORT_SELECTOR, true, v, 1);   /* a data write */
	io_bus_dispatch(&pc->dom->pio, NULL, FW_CFG_PORT_DATA, true, v, 1);
	io_bus_dispatch(&pc->dom->pio, NULL, FW_CFG_PORT_DMA + 2, true, v, 2);
	CHECK_INT(data_byte(pc->dom), 'Q');
	pc_free(pc);
}

static void test_missing_items(struct unit *u, const void *arg)
{
	(void)arg;
	struct pc *pc = pc_new(u, pc_config);
	static const uint16_t keys[] = { 0x1234, FW_CFG_FILE_FIRST + 30, 0x7fff, 0xffff, FW_CFG_ARCH_LOCAL };
	uint8_t got[8];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		select_item(pc->dom, keys[i]);
		for (int j = 0; j < 8; j++)
			CHECK(data_byte(pc->dom) == 0, "item %#x byte %d is not 0", keys[i], j);
		memset(got, 0xaa, sizeof(got));
		fake_put(pc->dom, BUF, got, sizeof(got));
		CHECK_INT(dma(pc->dom, (uint32_t)keys[i] << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 8, BUF), 0);
		fake_get(pc->dom, BUF, got, sizeof(got));
		for (int j = 0; j < 8; j++)
			CHECK(got[j] == 0, "item %#x byte %d by DMA is %#x", keys[i], j, got[j]);
	}
	/* The write-channel bit is not part of the item number. */
	select_item(pc->dom, FW_CFG_WRITE_CHANNEL | FW_CFG_SIGNATURE);
	CHECK_INT(data_byte(pc->dom), 'Q');
	pc_free(pc);
}

static void test_save_restore(struct unit *u, const void *arg)
{
	(void)arg;
	struct pc *a = pc_new(u, pc_config), *b = pc_new(u, pc_config);
	uint16_t sel = file_select(u, a->dom, "bootorder", NULL);
	uint8_t buf[256], bad[256];
	char err[256] = "";

	select_item(a->dom, sel);
	read_bytes(a->dom, bad, 5);                            /* "/pci@" */
	dma_port(a->dom, FW_CFG_PORT_DMA, 0);                  /* a high half pending */
	long n = devices_save(a->dom, buf, sizeof(buf), err, sizeof(err));
	CHECK(n > 0, "devices_save: %s", err);
	CHECK(!devices_restore(b->dom, buf, (size_t)n, err, sizeof(err)), "devices_restore: %s", err);
	CHECK_INT(data_byte(b->dom), 'i');
	CHECK_INT(data_byte(b->dom), '0');
	/* The fw_cfg state is the last FW_CFG_STATE_SIZE bytes: version, selector, offset, DMA. */
	size_t st = (size_t)n - FW_CFG_STATE_SIZE;
	memcpy(bad, buf, (size_t)n);
	bad[st] = 2;
	CHECK(devices_restore(b->dom, bad, (size_t)n, err, sizeof(err)) == -1 && strstr(err, "version 2"),
	      "version 2: '%s'", err);
	memcpy(bad, buf, (size_t)n);
	bad[st + 3] = 200;                                     /* offset past the bootorder's end */
	CHECK(devices_restore(b->dom, bad, (size_t)n, err, sizeof(err)) == -1 && strstr(err, "offset"),
	      "offset: '%s'", err);
	memcpy(bad, buf, (size_t)n);
	bad[st + 7] = 0x10;                                    /* a low half cannot be pending */
	CHECK(devices_restore(b->dom, bad, (size_t)n, err, sizeof(err)) == -1 && strstr(err, "DMA"),
	      "DMA low half: '%s'", err);
	memcpy(bad, buf, (size_t)n);
	bad[st - 2] = FW_CFG_STATE_SIZE - 1;                   /* a state one byte short */
	CHECK(devices_restore(b->dom, bad, (size_t)n - 1, err, sizeof(err)) == -1, "short state accepted");
	/* No item selected past the end of a missing item either: offset 0 only. */
	memcpy(bad, buf, (size_t)n);
	bad[st + 1] = 0x34;
	bad[st + 2] = 0x12;
	CHECK(devices_restore(b->dom, bad, (size_t)n, err, sizeof(err)) == -1, "offset 5 into no item accepted");
	bad[st + 3] = 0;
	CHECK(!devices_restore(b->dom, bad, (size_t)n, err, sizeof(err)), "item 0x1234 at 0: %s", err);
	pc_free(a);
	pc_free(b);
}

static void test_add_file_refusals(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *dom = fake_domain_new(1);
	struct fw_cfg *cfg = fw_cfg_new(dom);
	char name[FW_CFG_NAME_MAX + 1];

	CHECK_INT(fw_cfg_add_file(cfg, "", "x", 1), -EINVAL);
	memset(name, 'a', FW_CFG_NAME_MAX);
	name[FW_CFG_NAME_MAX] = '\0';
	CHECK_INT(fw_cfg_add_file(cfg, name, "x", 1), -EINVAL);
	name[FW_CFG_NAME_MAX - 1] = '\0';                     /* 55 bytes and the NUL: fits */
	CHECK_INT(fw_cfg_add_file(cfg, name, "x", 1), 0);
	CHECK_INT(fw_cfg_add_file(cfg, name, "y", 1), -EEXIST);
	for (int i = 1; i < FW_CFG_FILES_MAX; i++) {
		char n[16];
		snprintf(n, sizeof(n), "f%d", i);
		CHECK_INT(fw_cfg_add_file(cfg, n, n, (uint32_t)strlen(n)), 0);
	}
	CHECK_INT(fw_cfg_add_file(cfg, "one-too-many", "x", 1), -ENOSPC);
	CHECK_INT(fw_cfg_add_item(cfg, FW_CFG_FILE_DIR, "x", 1), -EINVAL);
	CHECK_INT(fw_cfg_add_item(cfg, FW_CFG_FILE_FIRST + 3, "x", 1), -EINVAL);
	CHECK_INT(fw_cfg_add_item(cfg, FW_CFG_WRITE_CHANNEL | 5, "x", 1), -EINVAL);
	/* The directory lists all 32, the last one with its select. */
	char err[128];
	CHECK(!fw_cfg_attach(cfg, err, sizeof(err)), "attach: %s", err);
	struct dir_entry d[FW_CFG_FILES_MAX];
	CHECK_INT(read_dir(dom, d, FW_CFG_FILES_MAX), FW_CFG_FILES_MAX);
	CHECK_STR(d[FW_CFG_FILES_MAX - 1].name, "f31");
	CHECK_INT(d[FW_CFG_FILES_MAX - 1].select, FW_CFG_FILE_FIRST + FW_CFG_FILES_MAX - 1);
	CHECK_STR(d[0].name, name);
	/* The ports are taken now. */
	CHECK(fw_cfg_attach(cfg, err, sizeof(err)) == -1 && strstr(err, "taken"), "second attach: '%s'", err);
	fw_cfg_free(cfg);
	fake_domain_free(dom);
}

static void test_needs_hvm(struct unit *u, const void *arg)
{
	(void)arg;
	struct domain *dom = fake_domain_new(1);
	char err[256] = "";

	CHECK(devices_init(dom, table, err, sizeof(err)) == -1 && strstr(err, "HVM"), "no HVM config: '%s'", err);
	CHECK(!fw_cfg_of(dom), "a failed device is found");
	fake_domain_free(dom);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "signature-id-items", test_signature_and_id, NULL);
	unit_case(&u, "directory", test_directory, NULL);
	unit_case(&u, "directory-without-serial-or-drives", test_directory_without, NULL);
	for (size_t i = 0; i < sizeof(boot_cases) / sizeof(boot_cases[0]); i++)
		unit_case(&u, boot_cases[i].name, test_bootorder, &boot_cases[i]);
	unit_case(&u, "dma-read", test_dma_read, NULL);
	unit_case(&u, "dma-skip-select", test_dma_skip_select, NULL);
	unit_case(&u, "dma-hostile", test_dma_hostile, NULL);
	unit_case(&u, "missing-items-read-zeros", test_missing_items, NULL);
	unit_case(&u, "save-restore", test_save_restore, NULL);
	unit_case(&u, "add-file-refusals", test_add_file_refusals, NULL);
	unit_case(&u, "needs-hvm-config", test_needs_hvm, NULL);
	return unit_finish(&u);
}
