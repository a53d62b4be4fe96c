/* The PIIX3 IDE controller and ATAPI CD-ROM (hw/ide.c, hw/atapi.c) on a fake domain, driven through
 * the domain's port bus exactly as a vCPU's exits would: a 1 MiB disk image with a pattern at hda,
 * an ISO-like image of 2048-byte sectors at hdc, interrupts watched through dom->irq. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hw/hvm_config.h"
#include "hw/ide.h"
#include "hw/pci.h"
#include "fake_domain.h"
#include "unit.h"

#define DISK_SECTORS 2048u              /* 1 MiB */
#define ISO_SECTORS 64u
#define PRI 0x1f0
#define PRI_CTL 0x3f6
#define SEC 0x170
#define SEC_CTL 0x376
#define PRD_TABLE 0x20000ull
#define DMA_BUF 0x30000ull
#define DMA_BUF2 0x40000ull

struct rig {
	struct domain *d;
	struct hvm_config cfg;
	void *ide;
	char dir[64], disk[96], iso[96];
	bool line[16];
	unsigned int raised[16];
};

static uint8_t disk_byte(uint64_t lba, unsigned int off)
{
	return (uint8_t)(lba * 31 + off * 7 + 1);
}

static uint8_t iso_byte(uint64_t lba, unsigned int off)
{
	return (uint8_t)(lba * 13 + off * 3 + 5);
}

static void watch_irq(void *opaque, unsigned int gsi, bool level)
{
	struct rig *r = opaque;
	if (gsi < 16) {
		if (level && !r->line[gsi])
			r->raised[gsi]++;
		r->line[gsi] = level;
	}
}

static void write_image(const char *path, unsigned int sectors, unsigned int size, uint8_t (*fn)(uint64_t, unsigned int))
{
	uint8_t *buf = malloc(size);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (!buf || fd < 0)
		abort();
	for (unsigned int s = 0; s < sectors; s++) {
		for (unsigned int i = 0; i < size; i++)
			buf[i] = fn(s, i);
		if (size == 2048 && s == 16)
			memcpy(buf, "\x01" "CD001\x01", 7);      /* the primary volume descriptor's start */
		if (pwrite(fd, buf, size, (off_t)s * size) != (ssize_t)size)
			abort();
	}
	close(fd);
	free(buf);
}

enum rig_kind { RIG_DISK_AND_CD, RIG_DISK_ONLY, RIG_EMPTY_TRAY };

static int rig_open(struct rig *r, enum rig_kind kind, bool with_pci)
{
	char err[256];

	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/test_ide.XXXXXX");
	if (!mkdtemp(r->dir))
		abort();
	snprintf(r->disk, sizeof(r->disk), "%s/disk.img", r->dir);
	snprintf(r->iso, sizeof(r->iso), "%s/cd.iso", r->dir);
	write_image(r->disk, DISK_SECTORS, 512, disk_byte);
	write_image(r->iso, ISO_SECTORS, 2048, iso_byte);
	hvm_config_init(&r->cfg);
	r->cfg.ide[0].kind = HVM_DRIVE_DISK;
	snprintf(r->cfg.ide[0].path, sizeof(r->cfg.ide[0].path), "%s", r->disk);
	if (kind != RIG_DISK_ONLY) {
		r->cfg.ide[2].kind = HVM_DRIVE_CDROM;
		if (kind == RIG_DISK_AND_CD)
			snprintf(r->cfg.ide[2].path, sizeof(r->cfg.ide[2].path), "%s", r->iso);
	}
	r->d = fake_domain_new(1);
	r->d->hvm = &r->cfg;
	r->d->irq.set = watch_irq;
	r->d->irq.opaque = r;
	if (with_pci) {
		r->d->pci = calloc(1, sizeof(struct pci_bus));
		if (!r->d->pci || pci_bus_init(r->d->pci, r->d, err, sizeof(err))) {
			fprintf(stderr, "pci_bus_init: %s\n", err);
			abort();
		}
	}
	if (ide_device.init(r->d, &r->ide, err, sizeof(err))) {
		fprintf(stderr, "ide init: %s\n", err);
		return -1;
	}
	return 0;
}

static void rig_close(struct rig *r)
{
	char path[128];
	if (r->ide)
		ide_device.teardown(r->d, r->ide);
	if (r->d->pci) {
		pci_bus_teardown(r->d->pci);
		free(r->d->pci);
		r->d->pci = NULL;
	}
	fake_domain_free(r->d);
	unlink(r->disk);
	unlink(r->iso);
	snprintf(path, sizeof(path), "%s", r->dir);
	rmdir(path);
}

/* rig_open inside a case: a failure is the case's. */
static bool rig_up(struct unit *u, struct rig *r, enum rig_kind kind, bool with_pci)
{
	bool ok = rig_open(r, kind, with_pci) == 0;
	CHECK(ok, "the IDE controller did not build (its message is above)");
	if (!ok)
		rig_close(r);
	return ok;
}

/* ---- port access as a vCPU makes it ---- */

static uint32_t in(struct rig *r, uint16_t port, unsigned int size)
{
	uint8_t data[4] = { 0 };
	io_bus_dispatch(&r->d->pio, NULL, port, false, data, size);
	return (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
}

static void out(struct rig *r, uint16_t port, unsigned int size, uint32_t v)
{
	uint8_t data[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	io_bus_dispatch(&r->d->pio, NULL, port, true, data, size);
}

static uint8_t inb(struct rig *r, uint16_t port) { return (uint8_t)in(r, port, 1); }
static void outb(struct rig *r, uint16_t port, uint8_t v) { out(r, port, 1, v); }

static void bm_out(struct rig *r, unsigned int off, unsigned int size, uint32_t v)
{
	uint8_t data[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	ide_bus_master_io(r->ide, NULL, off, true, data, size);
}

static uint8_t bm_in(struct rig *r, unsigned int off)
{
	uint8_t v = 0;
	ide_bus_master_io(r->ide, NULL, off, false, &v, 1);
	return v;
}

/* LBA28 command on the primary master. */
static void ata_lba28(struct rig *r, uint8_t cmd, uint32_t lba, uint8_t count)
{
	outb(r, PRI + 6, (uint8_t)(0xe0 | (lba >> 24 & 0x0f)));
	outb(r, PRI + 2, count);
	outb(r, PRI + 3, (uint8_t)lba);
	outb(r, PRI + 4, (uint8_t)(lba >> 8));
	outb(r, PRI + 5, (uint8_t)(lba >> 16));
	outb(r, PRI + 7, cmd);
}

static void read_block(struct rig *r, uint16_t base, uint8_t *buf, unsigned int len, unsigned int width)
{
	for (unsigned int i = 0; i < len; i += width) {
		uint32_t v = in(r, base, width);
		memcpy(buf + i, &v, width);
	}
}

static bool sector_is(const uint8_t *buf, uint64_t lba)
{
	for (unsigned int i = 0; i < 512; i++)
		if (buf[i] != disk_byte(lba, i))
			return false;
	return true;
}

/* ---- ATA ---- */

static void test_identify(struct unit *u, const void *arg)
{
	struct rig r;
	uint16_t w[256];
	(void)arg;

	if (!rig_up(u, &r, RIG_DISK_AND_CD, false))
		return;
	outb(&r, PRI + 6, 0xa0);
	outb(&r, PRI + 7, 0xec);
	CHECK_INT(r.raised[14], 1);
	CHECK_INT(inb(&r, PRI_CTL), 0x58);           /* alternate status: DRDY DSC DRQ, irq kept */
	CHECK(r.line[14], "alternate status left the line up");
	read_block(&r, PRI, (uint8_t *)w, 512, 2);
	CHECK_INT(inb(&r, PRI + 7), 0x50);
	CHECK(!r.line[14], "reading status lowers the line");
	char model[41];
	for (unsigned int i = 0; i < 20; i++) {
		model[2 * i] = (char)(w[27 + i] >> 8);
		model[2 * i + 1] = (char)w[27 + i];
	}
	model[40] = 0;
	CHECK(!strncmp(model, "XENITH HARDDISK ", 16), "model '%s'", model);
	CHECK_INT(w[60] | (uint32_t)w[61] << 16, DISK_SECTORS);
	CHECK_INT(w[100] | (uint64_t)w[101] << 16 | (uint64_t)w[102] << 32 | (uint64_t)w[103] << 48, DISK_SECTORS);
	CHECK(w[49] & 0x0300, "LBA and DMA in capabilities: %#x", w[49]);
	CHECK(w[83] & 0x0400, "48-bit addresses: %#x", w[83]);
	CHECK_INT(w[88] & 0x3f, 0x3f);
	CHECK(w[10] != 0x2020, "serial set");
	uint8_t sum = 0;
	for (unsigned int i = 0; i < 256; i++)
		sum = (uint8_t)(sum + (w[i] & 0xff) + (w[i] >> 8));
	CHECK_INT(w[255] & 0xff, 0xa5);
	CHECK_INT(sum, 0);
	/* SET FEATURES: UDMA mode 2 shows as selected. */
	outb(&r, PRI + 1, 0x03);
	outb(&r, PRI + 2, 0x42);
	outb(&r, PRI + 7, 0xef);
	CHECK_INT(inb(&r, PRI + 7), 0x50);
	outb(&r, PRI + 7, 0xec);
	read_block(&r, PRI, (uint8_t *)w, 512, 4);
	CHECK_INT(w[88], 0x043f);
	rig_close(&r);
}

static void test_pio_read(struct unit *u, const void *arg)
{
	struct rig r;
	uint8_t buf[512];
	(void)arg;

	if (!rig_up(u, &r, RIG_DISK_ONLY, false))
		return;
	ata_lba28(&r, 0x20, 5, 3);
	for (unsigned int s = 0; s < 3; s++) {
		CHECK_INT(r.raised[14], s + 1);
		CHECK_INT(inb(&r, PRI + 7), 0x58);
		read_block(&r, PRI, buf, 512, s == 1 ? 4 : 2);
		CHECK(sector_is(buf, 5 + s), "sector %u's data", 5 + s);
	}
	CHECK_INT(inb(&r, PRI + 7), 0x50);
	CHECK_INT(r.raised[14], 3);
	CHECK_INT(inb(&r, PRI + 3), 7);              /* the last sector read */
	/* READ MULTIPLE without SET MULTIPLE aborts; with it, blocks of 4 sectors. */
	ata_lba28(&r, 0xc4, 0, 8);
	CHECK_INT(inb(&r, PRI + 7), 0x51);
	outb(&r, PRI + 2, 3);
	outb(&r, PRI + 7, 0xc6);
	CHECK_INT(inb(&r, PRI + 7), 0x51);           /* 3 is not a power of two */
	outb(&r, PRI + 2, 4);
	outb(&r, PRI + 7, 0xc6);
	CHECK_INT(inb(&r, PRI + 7), 0x50);
	unsigned int before = r.raised[14];
	ata_lba28(&r, 0xc4, 100, 8);
	uint8_t big[2048];
	read_block(&r, PRI, big, 2048, 2);
	CHECK_INT(r.raised[14], before + 1);
	CHECK(sector_is(big + 1536, 103), "multiple block's last sector");
	CHECK_INT(inb(&r, PRI + 7), 0x58);
	read_block(&r, PRI, big, 2048, 2);
	CHECK(sector_is(big, 104), "second block");
	CHECK_INT(inb(&r, PRI + 7), 0x50);
	/* CHS: cylinder 0, head 1, sector 1 is LBA 63. */
	outb(&r, PRI + 6, 0xa1);
	outb(&r, PRI + 2, 1);
	outb(&r, PRI + 3, 1);
	outb(&r, PRI + 4, 0);
	outb(&r, PRI + 5, 0);
	outb(&r, PRI + 7, 0x20);
	read_block(&r, PRI, buf, 512, 2);
	CHECK(sector_is(buf, 63), "CHS 0/1/1");
	rig_close(&r);
}

static void test_pio_write(struct unit *u, const void *arg)
{
	struct rig r;
	uint8_t buf[1024], back[1024];
	(void)arg;

	if (!rig_up(u, &r, RIG_DISK_ONLY, false))
		return;
	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i ^ 0x5a);
	ata_lba28(&r, 0x30, 10, 2);
	CHECK_INT(r.raised[14], 0);                  /* the first block is asked for without an interrupt */
	CHECK_INT(inb(&r, PRI + 7), 0x58);
	for (unsigned int i = 0; i < 512; i += 2)
		out(&r, PRI, 2, buf[i] | buf[i + 1] << 8);
	CHECK_INT(r.raised[14], 1);
	CHECK_INT(inb(&r, PRI + 7), 0x58);
	for (unsigned int i = 512; i < 1024; i += 4)
		out(&r, PRI, 4, buf[i] | buf[i + 1] << 8 | buf[i + 2] << 16 | (uint32_t)buf[i + 3] << 24);
	CHECK_INT(r.raised[14], 2);
	CHECK_INT(inb(&r, PRI + 7), 0x50);
	int fd = open(r.disk, O_RDONLY);
	CHECK_INT(pread(fd, back, sizeof(back), 10 * 512), (long long)sizeof(back));
	CHECK(!memcmp(back, buf, sizeof(buf)), "the image holds what was written");
	CHECK_INT(pread(fd, back, 512, 12 * 512), 512);
	CHECK(sector_is(back, 12), "the next sector is untouched");
	close(fd);
	outb(&r, PRI + 7, 0xe7);                     /* FLUSH CACHE */
	CHECK_INT(inb(&r, PRI + 7), 0x50);
	rig_close(&r);
}

static void test_lba48(struct unit *u, const void *arg)
{
	struct rig r;
	uint8_t buf[512];
	(void)arg;

	if (!rig_up(u, &r, RIG_DISK_ONLY, false))
		return;
	outb(&r, PRI + 6, 0x40);
	outb(&r, PRI + 2, 0);                        /* count high */
	outb(&r, PRI + 2, 2);                        /* count low */
	outb(&r, PRI + 3, 0);                        /* lba 31:24 */
	outb(&r, PRI + 3, 0x34);                     /* lba 7:0 */
	outb(&r, PRI + 4, 0);
	outb(&r, PRI + 4, 0x02);                     /* lba 15:8 */
	outb(&r, PRI + 5, 0);
	outb(&r, PRI + 5, 0);
	outb(&r, PRI + 7, 0x24);                     /* READ SECTORS EXT of 0x234 */
	read_block(&r, PRI, buf, 512, 2);
	CHECK(sector_is(buf, 0x234), "LBA48 first sector");
	read_block(&r, PRI, buf, 512, 2);
	CHECK(sector_is(buf, 0x235), "LBA48 second sector");
	CHECK_INT(inb(&r, PRI + 7), 0x50);
	outb(&r, PRI_CTL, 0x80);                     /* HOB: the high bytes of the last address */
	CHECK_INT(inb(&r, PRI + 3), 0);
	outb(&r, PRI_CTL, 0x00);
	CHECK_INT(inb(&r, PRI + 3), 0x35);
	CHECK_INT(inb(&r, PRI + 4), 0x02);
	/* Past the end: IDNF. */
	outb(&r, PRI + 2, 0);
	outb(&r, PRI + 2, 1);
	outb(&r, PRI + 3, 0);
	outb(&r, PRI + 3, 0);
	outb(&r, PRI + 4, 0);
	outb(&r, PRI + 4, DISK_SECTORS >> 8);
	outb(&r, PRI + 5, 0);
	outb(&r, PRI + 5, 0);
	outb(&r, PRI + 7, 0x24);
	CHECK_INT(inb(&r, PRI + 7), 0x51);
	CHECK_INT(inb(&r, PRI + 1), 0x10);
	rig_close(&r);
}

static void put_prd(struct rig *r, unsigned int i, uint32_t addr, uint32_t count, bool eot)
{
	uint8_t e[8] = { (uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16), (uint8_t)(addr >> 24),
			 (uint8_t)count, (uint8_t)(count >> 8), 0, eot ? 0x80 : 0 };
	fake_put(r->d, PRD_TABLE + i * 8, e, 8);
}

static void test_dma(struct unit *u, const void *arg)
{
	struct rig r;
	uint8_t buf[1536], back[1024];
	(void)arg;

	if (!rig_up(u, &r, RIG_DISK_ONLY, false))
		return;
	CHECK_INT(bm_in(&r, 2) & 0x60, 0x20);        /* master DMA capable */
	/* Read: command first, then the engine started. */
	put_prd(&r, 0, DMA_BUF, 512, false);
	put_prd(&r, 1, DMA_BUF2, 1024, true);
	bm_out(&r, 4, 4, PRD_TABLE);
	ata_lba28(&r, 0xc8, 100, 3);
	CHECK_INT(inb(&r, PRI_CTL) & 0x08, 0x08);    /* waiting for the engine */
	CHECK_INT(r.raised[14], 0);
	bm_out(&r, 0, 1, 0x09);
	CHECK_INT(r.raised[14], 1);
	CHECK_INT(bm_in(&r, 2) & 0x07, 0x04);        /* interrupt, not active, no error */
	CHECK_INT(inb(&r, PRI + 7), 0x50);
	fake_get(r.d, DMA_BUF, buf, 512);
	CHECK(sector_is(buf, 100), "first PRD");
	fake_get(r.d, DMA_BUF2, buf + 512, 1024);
	CHECK(sector_is(buf + 512, 101) && sector_is(buf + 1024, 102), "second PRD");
	bm_out(&r, 0, 1, 0x00);
	bm_out(&r, 2, 1, 0x04);                      /* write-one-to-clear */
	CHECK_INT(bm_in(&r, 2) & 0x04, 0);
	/* Write: engine started first, then the command. */
	for (unsigned int i = 0; i < 1024; i++)
		back[i] = (uint8_t)(0xc3 ^ i);
	fake_put(r.d, DMA_BUF, back, 1024);
	put_prd(&r, 0, DMA_BUF, 1024, true);
	bm_out(&r, 0, 1, 0x01);
	ata_lba28(&r, 0xca, 200, 2);
	CHECK_INT(r.raised[14], 2);
	CHECK_INT(inb(&r, PRI + 7), 0x50);
	int fd = open(r.disk, O_RDONLY);
	uint8_t file[1024];
	CHECK_INT(pread(fd, file, 1024, 200 * 512), 1024);
	CHECK(!memcmp(file, back, 1024), "DMA write reached the image");
	bm_out(&r, 0, 1, 0x00);
	/* A PRD pointing outside RAM: the command errors and nothing is written. */
	put_prd(&r, 0, DMA_BUF, 512, false);
	put_prd(&r, 1, (uint32_t)FAKE_RAM_SIZE + 0x1000, 512, true);
	bm_out(&r, 2, 1, 0x06);
	ata_lba28(&r, 0xca, 300, 2);
	bm_out(&r, 0, 1, 0x01);
	CHECK_INT(inb(&r, PRI + 7), 0x51);
	CHECK_INT(inb(&r, PRI + 1), 0x04);
	CHECK_INT(bm_in(&r, 2) & 0x07, 0x06);        /* error and interrupt, not active */
	CHECK_INT(pread(fd, file, 1024, 300 * 512), 1024);
	CHECK(sector_is(file, 300) && sector_is(file + 512, 301), "nothing reached the image");
	bm_out(&r, 0, 1, 0x00);
	/* The same for a read: the good first PRD's buffer is untouched. */
	memset(buf, 0xee, 512);
	fake_put(r.d, DMA_BUF, buf, 512);
	ata_lba28(&r, 0xc8, 300, 2);
	bm_out(&r, 0, 1, 0x09);
	CHECK_INT(inb(&r, PRI + 7), 0x51);
	fake_get(r.d, DMA_BUF, back, 512);
	CHECK(!memcmp(back, buf, 512), "nothing reached guest RAM");
	bm_out(&r, 0, 1, 0x00);
	/* A table that ends before the data does, and a table outside RAM, error the same way. */
	put_prd(&r, 0, DMA_BUF, 512, true);
	ata_lba28(&r, 0xc8, 0, 2);
	bm_out(&r, 0, 1, 0x09);
	CHECK_INT(inb(&r, PRI + 7), 0x51);
	bm_out(&r, 0, 1, 0x00);
	bm_out(&r, 4, 4, (uint32_t)FAKE_RAM_SIZE - 4);
	ata_lba28(&r, 0xc8, 0, 1);
	bm_out(&r, 0, 1, 0x09);
	CHECK_INT(inb(&r, PRI + 7), 0x51);
	close(fd);
	rig_close(&r);
}

static void test_irq_and_errors(struct unit *u, const void *arg)
{
	struct rig r;
	(void)arg;

	if (!rig_up(u, &r, RIG_DISK_ONLY, false))
		return;
	outb(&r, PRI_CTL, 0x02);                     /* nIEN */
	outb(&r, PRI + 6, 0xa0);
	outb(&r, PRI + 7, 0xe0);                     /* STANDBY IMMEDIATE */
	CHECK_INT(r.raised[14], 0);
	CHECK_INT(inb(&r, PRI_CTL), 0x50);
	outb(&r, PRI_CTL, 0x00);                     /* the pending interrupt shows once enabled */
	CHECK_INT(r.raised[14], 1);
	CHECK_INT(inb(&r, PRI + 7), 0x50);
	CHECK(!r.line[14], "line down after status");
	/* Unknown command: ABRT with an interrupt. */
	outb(&r, PRI + 7, 0x77);
	CHECK_INT(r.raised[14], 2);
	CHECK_INT(inb(&r, PRI + 7), 0x51);
	CHECK_INT(inb(&r, PRI + 1), 0x04);
	/* A packet command on a disk aborts too. */
	outb(&r, PRI + 7, 0xa0);
	CHECK_INT(inb(&r, PRI + 7), 0x51);
	/* Read past the end: IDNF. */
	ata_lba28(&r, 0x20, DISK_SECTORS - 1, 2);
	CHECK_INT(inb(&r, PRI + 7), 0x51);
	CHECK_INT(inb(&r, PRI + 1), 0x10);
	/* Soft reset: busy while held, then the disk's signature. */
	outb(&r, PRI_CTL, 0x04);
	CHECK_INT(inb(&r, PRI_CTL) & 0x80, 0x80);
	outb(&r, PRI_CTL, 0x00);
	CHECK_INT(inb(&r, PRI + 7), 0x50);
	CHECK_INT(inb(&r, PRI + 2), 1);
	CHECK_INT(inb(&r, PRI + 3), 1);
	CHECK_INT(inb(&r, PRI + 4), 0);
	CHECK_INT(inb(&r, PRI + 5), 0);
	CHECK_INT(inb(&r, PRI + 1), 1);
	rig_close(&r);
}

/* What SeaBIOS probes: an empty channel's registers do not hold 0x55/0xaa, and an absent slave's
 * status is 0 and it takes no command. */
static void test_absent(struct unit *u, const void *arg)
{
	struct rig r;
	(void)arg;

	if (!rig_up(u, &r, RIG_DISK_ONLY, false))
		return;
	outb(&r, SEC + 6, 0xa0);
	outb(&r, SEC + 2, 0x55);
	outb(&r, SEC + 3, 0xaa);
	CHECK_INT(inb(&r, SEC + 2), 0x7f);
	CHECK_INT(inb(&r, SEC + 3), 0x7f);
	CHECK_INT(inb(&r, SEC + 7), 0x7f);
	CHECK_INT(inb(&r, SEC_CTL), 0x7f);
	CHECK_INT(in(&r, SEC, 2), 0x7f7f);
	outb(&r, SEC + 7, 0xec);
	CHECK_INT(r.raised[15], 0);
	/* Primary slave absent beside the master. */
	outb(&r, PRI + 6, 0xb0);
	outb(&r, PRI + 2, 0x55);
	CHECK_INT(inb(&r, PRI + 2), 0x55);
	CHECK_INT(inb(&r, PRI + 7), 0);
	outb(&r, PRI + 7, 0xec);
	CHECK_INT(inb(&r, PRI + 7), 0);
	CHECK_INT(in(&r, PRI, 2), 0);
	CHECK_INT(r.raised[14], 0);
	outb(&r, PRI + 6, 0xa0);
	CHECK_INT(inb(&r, PRI + 7), 0x50);
	/* A read in flight on the master stays the master's while the host looks at the slave. */
	uint8_t buf[512];
	ata_lba28(&r, 0x20, 77, 1);
	read_block(&r, PRI, buf, 100, 2);
	outb(&r, PRI + 6, 0xb0);
	CHECK_INT(inb(&r, PRI + 7), 0);
	CHECK_INT(in(&r, PRI, 2), 0);
	outb(&r, PRI + 6, 0xe0);
	CHECK_INT(inb(&r, PRI + 7), 0x58);
	read_block(&r, PRI, buf + 100, 412, 2);
	CHECK(sector_is(buf, 77), "the master's sector, whole");
	CHECK_INT(inb(&r, PRI + 7), 0x50);
	rig_close(&r);
}

/* ---- ATAPI ---- */

struct packet_result {
	uint8_t status, error;
	uint8_t data[8192];
	unsigned int len, blocks;
};

static void packet(struct rig *r, const uint8_t cdb[12], uint16_t limit, bool dma, struct packet_result *res)
{
	memset(res, 0, sizeof(*res));
	outb(r, SEC + 6, 0xa0);
	outb(r, SEC + 1, dma ? 1 : 0);
	outb(r, SEC + 4, (uint8_t)limit);
	outb(r, SEC + 5, (uint8_t)(limit >> 8));
	outb(r, SEC + 7, 0xa0);
	if ((inb(r, SEC_CTL) & 0x08) == 0 || inb(r, SEC + 2) != 1) {
		res->status = inb(r, SEC + 7);
		return;
	}
	for (unsigned int i = 0; i < 12; i += 2)
		out(r, SEC, 2, cdb[i] | cdb[i + 1] << 8);
	if (dma)
		bm_out(r, 8, 1, 0x09);
	while ((inb(r, SEC_CTL) & 0x88) == 0x08 && inb(r, SEC + 2) == 2) {
		unsigned int n = inb(r, SEC + 4) | inb(r, SEC + 5) << 8;
		if (n > sizeof(res->data) - res->len)
			break;
		read_block(r, SEC, res->data + res->len, n, 2);
		res->len += n;
		res->blocks++;
	}
	if (dma)
		bm_out(r, 8, 1, 0x00);
	res->error = inb(r, SEC + 1);
	res->status = inb(r, SEC + 7);
}

static void test_atapi(struct unit *u, const void *arg)
{
	struct rig r;
	struct packet_result *res = malloc(sizeof(*res));
	uint16_t w[256];
	(void)arg;

	if (!res || rig_open(&r, RIG_DISK_AND_CD, false)) {
		CHECK(0, "init failed");
		free(res);
		return;
	}
	/* The signature, IDENTIFY DEVICE refused, IDENTIFY PACKET DEVICE answered. */
	outb(&r, SEC + 6, 0xa0);
	CHECK_INT(inb(&r, SEC + 4), 0x14);
	CHECK_INT(inb(&r, SEC + 5), 0xeb);
	outb(&r, SEC + 7, 0xec);
	CHECK_INT(inb(&r, SEC + 7) & 0x01, 1);
	CHECK_INT(inb(&r, SEC + 4), 0x14);
	CHECK_INT(inb(&r, SEC + 5), 0xeb);
	outb(&r, SEC + 7, 0xa1);
	CHECK_INT(r.raised[15], 2);
	read_block(&r, SEC, (uint8_t *)w, 512, 2);
	CHECK_INT(w[0], 0x85c0);

	const uint8_t inquiry[12] = { 0x12, 0, 0, 0, 36 };
	packet(&r, inquiry, 0xfffe, false, res);
	CHECK_INT(res->status, 0x50);
	CHECK_INT(res->len, 36);
	CHECK_INT(res->data[0], 5);
	CHECK_INT(res->data[1], 0x80);
	CHECK(!memcmp(res->data + 8, "XENITH  ", 8), "vendor");
	CHECK_INT(inb(&r, SEC + 2), 3);               /* I/O and C/D: the command is done */

	const uint8_t capacity[12] = { 0x25 };
	packet(&r, capacity, 0xfffe, false, res);
	CHECK_INT(res->len, 8);
	CHECK_INT(res->data[3], ISO_SECTORS - 1);
	CHECK_INT(res->data[6], 0x08);                /* 2048 */

	/* READ(10) of sector 16, two sectors through a 2048-byte limit: two DRQ blocks. */
	const uint8_t read10[12] = { 0x28, 0, 0, 0, 0, 16, 0, 0, 2 };
	packet(&r, read10, 2048, false, res);
	CHECK_INT(res->status, 0x50);
	CHECK_INT(res->len, 4096);
	CHECK_INT(res->blocks, 2);
	CHECK(!memcmp(res->data, "\x01" "CD001", 6), "the volume descriptor");
	CHECK_INT(res->data[2048 + 100], iso_byte(17, 100));

	/* The same by DMA. */
	put_prd(&r, 0, DMA_BUF, 2048, true);
	bm_out(&r, 8 + 4, 4, PRD_TABLE);
	const uint8_t read1[12] = { 0x28, 0, 0, 0, 0, 20, 0, 0, 1 };
	packet(&r, read1, 0xfffe, true, res);
	CHECK_INT(res->status, 0x50);
	uint8_t sector[2048];
	fake_get(r.d, DMA_BUF, sector, sizeof(sector));
	CHECK_INT(sector[7], iso_byte(20, 7));
	CHECK_INT(sector[2047], iso_byte(20, 2047));

	/* Out of range, then REQUEST SENSE names it, then the sense is gone. */
	const uint8_t past[12] = { 0x28, 0, 0, 0, 0, ISO_SECTORS - 1, 0, 0, 2 };
	packet(&r, past, 0xfffe, false, res);
	CHECK_INT(res->status & 0x01, 1);
	CHECK_INT(res->error >> 4, 5);
	const uint8_t sense[12] = { 0x03, 0, 0, 0, 18 };
	packet(&r, sense, 0xfffe, false, res);
	CHECK_INT(res->len, 18);
	CHECK_INT(res->data[2] & 0x0f, 5);
	CHECK_INT(res->data[12], 0x21);
	packet(&r, sense, 0xfffe, false, res);
	CHECK_INT(res->data[2] & 0x0f, 0);
	const uint8_t bogus[12] = { 0xff };
	packet(&r, bogus, 0xfffe, false, res);
	CHECK_INT(res->error >> 4, 5);
	packet(&r, sense, 0xfffe, false, res);
	CHECK_INT(res->data[12], 0x20);

	/* The TOC: track 1 at 0 and the lead-out at the end; MODE SENSE's capabilities page. */
	const uint8_t toc[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0, 0xff };
	packet(&r, toc, 0xfffe, false, res);
	CHECK_INT(res->len, 20);
	CHECK_INT(res->data[6], 1);
	CHECK_INT(res->data[14], 0xaa);
	CHECK_INT(res->data[19], ISO_SECTORS);
	const uint8_t mode[12] = { 0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 0xff };
	packet(&r, mode, 0xfffe, false, res);
	CHECK_INT(res->len, 28);
	CHECK_INT(res->data[8], 0x2a);
	const uint8_t events[12] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 };
	packet(&r, events, 0xfffe, false, res);
	CHECK_INT(res->len, 8);
	CHECK_INT(res->data[5], 0x02);                /* medium present */
	const uint8_t config[12] = { 0x46, 0, 0, 0, 0, 0, 0, 0, 0xff };
	packet(&r, config, 0xfffe, false, res);
	CHECK_INT(res->data[7], 0x08);                /* current profile: CD-ROM */
	const uint8_t allocation[12] = { 0x12, 0, 0, 0, 5 };   /* INQUIRY cut to its allocation */
	packet(&r, allocation, 0xfffe, false, res);
	CHECK_INT(res->len, 5);
	rig_close(&r);
	free(res);
}

static void test_atapi_no_medium(struct unit *u, const void *arg)
{
	struct rig r;
	struct packet_result *res = malloc(sizeof(*res));
	(void)arg;

	if (!res || rig_open(&r, RIG_EMPTY_TRAY, false)) {
		CHECK(0, "init failed");
		free(res);
		return;
	}
	const uint8_t tur[12] = { 0x00 };
	packet(&r, tur, 0xfffe, false, res);
	CHECK_INT(res->status, 0x51);
	CHECK_INT(res->error >> 4, 2);
	const uint8_t sense[12] = { 0x03, 0, 0, 0, 18 };
	packet(&r, sense, 0xfffe, false, res);
	CHECK_INT(res->data[2] & 0x0f, 2);
	CHECK_INT(res->data[12], 0x3a);
	const uint8_t read10[12] = { 0x28, 0, 0, 0, 0, 16, 0, 0, 1 };
	packet(&r, read10, 0xfffe, false, res);
	CHECK_INT(res->error >> 4, 2);
	CHECK_INT(res->len, 0);
	const uint8_t inquiry[12] = { 0x12, 0, 0, 0, 36 };
	packet(&r, inquiry, 0xfffe, false, res);
	CHECK_INT(res->status, 0x50);
	rig_close(&r);
	free(res);
}

/* ---- saved state ---- */

static void test_save_restore(struct unit *u, const void *arg)
{
	struct rig a, b;
	uint8_t state[DEVICE_STATE_MAX], buf[512];
	char err[256];
	(void)arg;

	if (rig_open(&a, RIG_DISK_AND_CD, false)) {
		CHECK(0, "init failed");
		return;
	}
	if (rig_open(&b, RIG_DISK_AND_CD, false)) {
		CHECK(0, "init failed");
		rig_close(&a);
		return;
	}
	outb(&a, PRI + 6, 0xe0);
	outb(&a, PRI + 2, 4);
	outb(&a, PRI + 7, 0xc6);                     /* SET MULTIPLE 4 */
	(void)inb(&a, PRI + 7);
	bm_out(&a, 4, 4, PRD_TABLE);
	/* Mid-command: a read of 2 sectors, half of the first taken. */
	ata_lba28(&a, 0x20, 40, 2);
	read_block(&a, PRI, buf, 256, 2);
	long n = ide_device.save(a.d, a.ide, state, sizeof(state));
	CHECK(n > 0, "save: %ld", n);
	if (n <= 0)
		goto out;
	CHECK(ide_device.restore(b.d, b.ide, state, (size_t)n, err, sizeof(err)) == 0, "restore: %s", err);
	read_block(&b, PRI, buf + 256, 256, 2);
	uint8_t first[512];
	memcpy(first, buf, 256);
	memcpy(first + 256, buf + 256, 256);
	CHECK(sector_is(first, 40), "the block continues after restore");
	CHECK_INT(inb(&b, PRI + 7), 0x58);
	read_block(&b, PRI, buf, 512, 2);
	CHECK(sector_is(buf, 41), "the next block comes from the image");
	CHECK_INT(inb(&b, PRI + 7), 0x50);
	CHECK_INT(bm_in(&b, 5), PRD_TABLE >> 8 & 0xff);
	CHECK_INT(bm_in(&b, 6), PRD_TABLE >> 16 & 0xff);

	/* Garbage is refused whole, and the live state stays. */
	CHECK(ide_device.restore(b.d, b.ide, state, 3, err, sizeof(err)) < 0, "3 bytes taken");
	CHECK(ide_device.restore(b.d, b.ide, state, (size_t)n - 1, err, sizeof(err)) < 0, "short state taken");
	uint8_t longer[DEVICE_STATE_MAX + 1];
	memcpy(longer, state, (size_t)n);
	longer[n] = 0;
	CHECK(ide_device.restore(b.d, b.ide, longer, (size_t)n + 1, err, sizeof(err)) < 0, "trailing byte taken");
	CHECK(strstr(err, "left over") != NULL, "message: %s", err);
	uint8_t bad[DEVICE_STATE_MAX];
	memcpy(bad, state, (size_t)n);
	bad[0] = 'X';
	CHECK(ide_device.restore(b.d, b.ide, bad, (size_t)n, err, sizeof(err)) < 0, "bad magic taken");
	memcpy(bad, state, (size_t)n);
	bad[4 + 2] = 2;                              /* irq_pending: not a bool */
	CHECK(ide_device.restore(b.d, b.ide, bad, (size_t)n, err, sizeof(err)) < 0, "bool 2 taken");
	for (size_t i = 4; i < (size_t)n; i++) {     /* every byte flipped: refused or harmless */
		memcpy(bad, state, (size_t)n);
		bad[i] ^= 0xff;
		if (ide_device.restore(b.d, b.ide, bad, (size_t)n, err, sizeof(err)) == 0) {
			for (unsigned int k = 0; k < 8; k++)
				(void)in(&b, PRI + k, 1), (void)in(&b, SEC + k, 1);
			for (unsigned int k = 0; k < 300; k++)
				(void)in(&b, PRI, 4), (void)in(&b, SEC, 4);
		}
	}
	/* A CD where a disk was saved. */
	struct rig c;
	if (!rig_open(&c, RIG_DISK_ONLY, false)) {
		CHECK(ide_device.restore(c.d, c.ide, state, (size_t)n, err, sizeof(err)) < 0, "drive change taken");
		CHECK(strstr(err, "configured") != NULL, "message: %s", err);
		rig_close(&c);
	}
	/* A 4096-byte ATAPI block in flight is refused with a log line, not cut. */
	outb(&b, SEC + 6, 0xa0);
	outb(&b, SEC + 1, 0);
	outb(&b, SEC + 4, 0xfe);
	outb(&b, SEC + 5, 0xff);
	outb(&b, SEC + 7, 0xa0);
	const uint8_t read10[12] = { 0x28, 0, 0, 0, 0, 16, 0, 0, 2 };
	for (unsigned int i = 0; i < 12; i += 2)
		out(&b, SEC, 2, read10[i] | read10[i + 1] << 8);
	CHECK(ide_device.save(b.d, b.ide, state, sizeof(state)) < 0, "a 4 KiB block saved");
out:
	rig_close(&a);
	rig_close(&b);
}

/* ---- PCI function 00:01.1 ---- */

static void test_pci(struct unit *u, const void *arg)
{
	struct rig r;
	uint8_t buf[512];
	(void)arg;

	if (rig_open(&r, RIG_DISK_ONLY, true)) {
		CHECK(0, "init with a PCI bus failed");
		rig_close(&r);
		return;
	}
	struct pci_bus *bus = r.d->pci;
	unsigned int devfn = 1 << 3 | 1;
	CHECK_INT(pci_config_read(bus, devfn, PCI_VENDOR_ID, 2), 0x8086);
	CHECK_INT(pci_config_read(bus, devfn, PCI_DEVICE_ID, 2), 0x7010);
	CHECK_INT(pci_config_read(bus, devfn, PCI_CLASS_PROG, 1), 0x80);
	CHECK_INT(pci_config_read(bus, devfn, PCI_CLASS_DEVICE, 2), 0x0101);
	pci_config_write(bus, devfn, 0x40, 2, 0x8000);   /* SeaBIOS: primary decode enable */
	CHECK_INT(pci_config_read(bus, devfn, 0x40, 2), 0x8000);
	pci_config_write(bus, devfn, PCI_BASE_ADDRESS_0 + 16, 4, 0xffffffff);
	CHECK_INT(pci_config_read(bus, devfn, PCI_BASE_ADDRESS_0 + 16, 4), 0xfffffff1);
	pci_config_write(bus, devfn, PCI_BASE_ADDRESS_0 + 16, 4, 0xc040);
	pci_config_write(bus, devfn, PCI_COMMAND, 2, PCI_COMMAND_IO);
	/* DMA waits while bus mastering is off, and runs once it is on. */
	put_prd(&r, 0, DMA_BUF, 512, true);
	out(&r, 0xc040 + 4, 4, PRD_TABLE);
	CHECK_INT(in(&r, 0xc040 + 4, 4), PRD_TABLE);
	ata_lba28(&r, 0xc8, 9, 1);
	outb(&r, 0xc040, 0x09);
	CHECK_INT(inb(&r, PRI_CTL) & 0x08, 0x08);
	outb(&r, 0xc040, 0x00);
	pci_config_write(bus, devfn, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
	outb(&r, 0xc040, 0x09);
	CHECK_INT(inb(&r, PRI + 7), 0x50);
	fake_get(r.d, DMA_BUF, buf, 512);
	CHECK(sector_is(buf, 9), "DMA through the PCI BAR");
	rig_close(&r);
}

extern const struct device_ops xen_platform_device;

/* The platform device's unplug: AUX leaves the primary master, IDE_DISKS takes it; the CD stays. */
static void test_unplug(struct unit *u, const void *arg)
{
	struct rig r;
	void *platform = NULL;
	char err[256];
	(void)arg;

	if (rig_open(&r, RIG_DISK_AND_CD, true)) {
		CHECK(0, "init with a PCI bus failed");
		rig_close(&r);
		return;
	}
	if (xen_platform_device.init(r.d, &platform, err, sizeof(err))) {
		CHECK(0, "xen-platform init: %s", err);
		rig_close(&r);
		return;
	}
	out(&r, 0x10, 2, 0x0004);                    /* AUX: disks but the primary master */
	outb(&r, PRI + 6, 0xa0);
	CHECK_INT(inb(&r, PRI + 7), 0x50);
	out(&r, 0x10, 2, 0x0001);                    /* every IDE disk */
	CHECK_INT(inb(&r, PRI + 7), 0x7f);
	outb(&r, PRI + 7, 0xec);
	CHECK_INT(r.raised[14], 0);
	outb(&r, SEC + 6, 0xa0);
	outb(&r, SEC + 7, 0xa1);                     /* the CD-ROM still answers */
	CHECK_INT(inb(&r, SEC + 7), 0x58);
	xen_platform_device.teardown(r.d, platform);
	rig_close(&r);
}

static void test_init_errors(struct unit *u, const void *arg)
{
	struct domain *d = fake_domain_new(1);
	struct hvm_config cfg;
	void *state = NULL;
	char err[256] = "";
	(void)arg;

	CHECK(ide_device.init(d, &state, err, sizeof(err)) < 0, "a PVH domain got an IDE controller");
	hvm_config_init(&cfg);
	cfg.ide[1].kind = HVM_DRIVE_DISK;
	snprintf(cfg.ide[1].path, sizeof(cfg.ide[1].path), "/nonexistent/disk.img");
	d->hvm = &cfg;
	CHECK(ide_device.init(d, &state, err, sizeof(err)) < 0, "a missing image taken");
	CHECK(strstr(err, "hdb") && strstr(err, "/nonexistent/disk.img"), "message: %s", err);
	CHECK_INT(d->pio.count, 0);
	fake_domain_free(d);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "ide identify: model, LBA28/48 sizes, DMA modes, checksum", test_identify, NULL);
	unit_case(&u, "ide PIO read: sectors, multiple, CHS", test_pio_read, NULL);
	unit_case(&u, "ide PIO write reaches the image", test_pio_write, NULL);
	unit_case(&u, "ide LBA48 read, HOB registers, IDNF past the end", test_lba48, NULL);
	unit_case(&u, "ide bus-master DMA: read, write, bad PRDs write nothing", test_dma, NULL);
	unit_case(&u, "ide interrupts, nIEN, unknown command, soft reset", test_irq_and_errors, NULL);
	unit_case(&u, "ide absent drives read as SeaBIOS expects", test_absent, NULL);
	unit_case(&u, "atapi inquiry, capacity, read(10), sense, toc, mode sense", test_atapi, NULL);
	unit_case(&u, "atapi empty tray: not ready, medium not present", test_atapi_no_medium, NULL);
	unit_case(&u, "ide save/restore mid-command; garbage refused", test_save_restore, NULL);
	unit_case(&u, "ide PCI function 00:01.1 and BAR4", test_pci, NULL);
	unit_case(&u, "ide disks unplugged by the Xen platform device", test_unplug, NULL);
	unit_case(&u, "ide init errors", test_init_errors, NULL);
	return unit_finish(&u);
}
