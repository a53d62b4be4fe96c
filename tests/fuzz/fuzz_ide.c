/* libFuzzer target: the PIIX3 IDE controller and its ATAPI CD-ROM (hw/ide.c, hw/atapi.c) against a
 * hostile guest.
 *
 * The rig is test_ide's: a fake domain (tests/unit/fake_domain.h) with a PCI bus, the IDE function
 * (its BAR4 at port BM_PORT, I/O and bus mastering on) and the Xen platform device, a disk at hda
 * and a CD-ROM at hdc backed by memfds (opened through /proc/self/fd), hdb and hdd absent.  Each
 * input builds it afresh (the images rewritten to their pattern, so a crash replays) and is a
 * sequence of operations, each an opcode byte and its operands:
 *   port writes and reads of every size at the channels', control, bus-master and unplug ports;
 *   data-port bursts; ATA commands with the task file set first (a known opcode or any byte);
 *   ATAPI packets (a known opcode or any byte, any CDB fields, PIO or DMA, any byte count limit);
 *   PRD tables at PRD_TABLE whose entries point into RAM, at its end or anywhere; the table
 *   pointer moved anywhere; PCI config writes to the function; a save/restore round trip; the
 *   input's own bytes offered as saved state.
 *
 * Invariants, each an abort, besides ASan's and UBSan's: the images keep their size (nothing is
 * written past a medium's end) and the CD's bytes never change (it is read-only); a state the
 * controller saved restores, and saves again to the same bytes; a restore that fails leaves the
 * saved state as it was. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hw/hvm_config.h"
#include "hw/ide.h"
#include "hw/pci.h"
#include "../unit/fake_domain.h"

#define DISK_SECTORS 128u
#define CD_SECTORS 24u
#define PRD_TABLE 0x20000u
#define DMA_AREA 0x30000u
#define BM_PORT 0xc000u
#define MAX_STEPS 256u
#define IDE_DEVFN (1u << 3 | 1u)

extern const struct device_ops xen_platform_device;

static int disk_fd = -1, cd_fd = -1;
static uint8_t *disk_pattern, *cd_pattern;
static struct hvm_config cfg;
static FILE *report;                    /* the real stderr, for our own complaints */
static struct domain *dom;              /* made once (xen_init is slow); its buses emptied per input */

struct input {
	const uint8_t *p;
	size_t left;
};

static uint8_t byte(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static uint32_t u32(struct input *in)
{
	uint32_t v = byte(in);
	v |= (uint32_t)byte(in) << 8;
	v |= (uint32_t)byte(in) << 16;
	return v | (uint32_t)byte(in) << 24;
}

static void port_out(struct domain *d, uint16_t port, unsigned int size, uint32_t v)
{
	uint8_t data[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	io_bus_dispatch(&d->pio, NULL, port, true, data, size);
}

static uint32_t port_in(struct domain *d, uint16_t port, unsigned int size)
{
	uint8_t data[4] = { 0 };
	io_bus_dispatch(&d->pio, NULL, port, false, data, size);
	return data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
}

static uint16_t pick_port(uint8_t v)
{
	static const uint16_t bases[] = { 0x1f0, 0x170 };
	static const uint16_t others[] = { 0x3f6, 0x376, 0x10, 0x12, BM_PORT, BM_PORT + 2, BM_PORT + 4,
					   BM_PORT + 8, BM_PORT + 10, BM_PORT + 12, 0x3f7, 0x377, BM_PORT + 15 };
	if (v < 0x80)
		return (uint16_t)(bases[v >> 6 & 1] + (v & 7));
	return others[v % (sizeof(others) / sizeof(others[0]))];
}

static unsigned int pick_size(uint8_t v)
{
	static const unsigned int sizes[] = { 1, 2, 4, 1 };
	return sizes[v & 3];
}

static uint32_t pick_gpa(struct input *in)
{
	uint8_t v = byte(in);
	static const uint32_t far[] = { (uint32_t)FAKE_RAM_SIZE - 512, (uint32_t)FAKE_RAM_SIZE - 1,
					(uint32_t)FAKE_RAM_SIZE, 0xfffffe00u, 0xfffffffeu, 0, PRD_TABLE, 0xfec00000u };
	if (v < 0xc0)
		return DMA_AREA + (uint32_t)v * 512;
	if (v < 0xf0)
		return u32(in);
	return far[v & 7];
}

static void ata_command(struct domain *d, struct input *in)
{
	static const uint8_t known[] = { 0x20, 0x24, 0x25, 0x29, 0x30, 0x34, 0x35, 0x39, 0x40, 0x42, 0x90,
					 0x91, 0xa0, 0xa1, 0xc4, 0xc5, 0xc6, 0xc8, 0xca, 0xe5, 0xe7, 0xea,
					 0xec, 0xef, 0x08, 0x70, 0x10 };
	uint16_t base = byte(in) & 1 ? 0x170 : 0x1f0;
	port_out(d, base + 6, 1, byte(in));
	for (unsigned int reg = 1; reg <= 5; reg++) {
		port_out(d, base + reg, 1, byte(in));   /* HOB byte, then the low one */
		port_out(d, base + reg, 1, byte(in));
	}
	uint8_t op = byte(in);
	port_out(d, base + 7, 1, op < 0xc0 ? known[op % sizeof(known)] : byte(in));
}

static void atapi_packet(struct domain *d, struct input *in)
{
	static const uint8_t known[] = { 0x00, 0x03, 0x12, 0x1b, 0x1e, 0x25, 0x28, 0x43, 0x46, 0x4a, 0x51,
					 0x5a, 0xa8, 0xbb };
	uint8_t cdb[12];
	port_out(d, 0x176, 1, byte(in) & 0x10 ? 0xb0 : 0xa0);
	port_out(d, 0x171, 1, byte(in) & 1);
	port_out(d, 0x174, 1, byte(in));
	port_out(d, 0x175, 1, byte(in));
	port_out(d, 0x177, 1, 0xa0);
	for (unsigned int i = 0; i < sizeof(cdb); i++)
		cdb[i] = byte(in);
	if (cdb[0] < 0xe0)
		cdb[0] = known[cdb[0] % sizeof(known)];
	for (unsigned int i = 0; i < sizeof(cdb); i += 2)
		port_out(d, 0x170, 2, cdb[i] | cdb[i + 1] << 8);
}

static void prd_table(struct domain *d, struct input *in)
{
	unsigned int n = byte(in) % 8 + 1;
	for (unsigned int i = 0; i < n; i++) {
		uint32_t addr = pick_gpa(in);
		uint16_t count = (uint16_t)(byte(in) << 8 | byte(in));
		uint8_t e[8] = { (uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16), (uint8_t)(addr >> 24),
				 (uint8_t)count, (uint8_t)(count >> 8), 0, i == n - 1 || byte(in) > 0xf0 ? 0x80 : 0 };
		fake_put(d, PRD_TABLE + i * 8, e, sizeof(e));
	}
}

static void save_round_trip(struct domain *d, void *ide)
{
	static uint8_t a[DEVICE_STATE_MAX], b[DEVICE_STATE_MAX];
	char err[256];
	long n = ide_device.save(d, ide, a, sizeof(a));
	if (n < 0)
		return;                /* a long PIO block in flight: refused, as documented */
	if (ide_device.restore(d, ide, a, (size_t)n, err, sizeof(err))) {
		fprintf(report, "own state refused: %s\n", err);
		abort();
	}
	long m = ide_device.save(d, ide, b, sizeof(b));
	if (m != n || memcmp(a, b, (size_t)n)) {
		fprintf(report, "state changed across a round trip (%ld then %ld bytes)\n", n, m);
		abort();
	}
}

static void restore_garbage(struct domain *d, void *ide, struct input *in)
{
	static uint8_t before[DEVICE_STATE_MAX], after[DEVICE_STATE_MAX], junk[DEVICE_STATE_MAX];
	char err[256];
	size_t len = byte(in) | (size_t)byte(in) << 8;
	long n = ide_device.save(d, ide, before, sizeof(before));

	len %= sizeof(junk);
	if (len > in->left)
		len = in->left;
	memcpy(junk, in->p, len);
	in->p += len;
	in->left -= len;
	if (n > 4 && len > 4 && junk[0] & 1)
		memcpy(junk, before, 4);       /* past the header, sometimes */
	if (ide_device.restore(d, ide, junk, len, err, sizeof(err)) == 0 || n < 0)
		return;
	long m = ide_device.save(d, ide, after, sizeof(after));
	if (m != n || memcmp(before, after, (size_t)n)) {
		fprintf(report, "a refused restore (%s) changed the state\n", err);
		abort();
	}
}

static void run(struct domain *d, void *ide, struct input *in)
{
	for (unsigned int step = 0; step < MAX_STEPS && in->left; step++) {
		uint8_t op = byte(in);
		switch (op % 12) {
		case 0: case 1: {
			uint16_t port = pick_port(byte(in));
			unsigned int size = pick_size(byte(in));
			port_out(d, port, size, u32(in));
			break;
		}
		case 2:
			(void)port_in(d, pick_port(byte(in)), pick_size(byte(in)));
			break;
		case 3: {                      /* a burst on a data port */
			uint16_t port = byte(in) & 1 ? 0x170 : 0x1f0;
			unsigned int n = (unsigned int)byte(in) * 8, size = byte(in) & 1 ? 4 : 2;
			bool write = byte(in) & 1;
			for (unsigned int i = 0; i < n; i++) {
				if (write)
					port_out(d, port, size, i * 0x01010101u);
				else
					(void)port_in(d, port, size);
			}
			break;
		}
		case 4: case 5:
			ata_command(d, in);
			break;
		case 6: case 7:
			atapi_packet(d, in);
			break;
		case 8:
			prd_table(d, in);
			break;
		case 9: {
			uint8_t v = byte(in);
			if (v < 0x80)
				port_out(d, (uint16_t)(BM_PORT + (v & 8)), 1, byte(in) & 0x09);
			else
				port_out(d, (uint16_t)(BM_PORT + 4 + (v & 8)), 4, v & 1 ? PRD_TABLE : u32(in));
			break;
		}
		case 10: {
			uint8_t off = byte(in);
			pci_config_write(d->pci, IDE_DEVFN, off & 0xfc, 4, u32(in));
			break;
		}
		default:
			if (byte(in) & 1)
				save_round_trip(d, ide);
			else
				restore_garbage(d, ide, in);
			break;
		}
	}
}

static void check_images(void)
{
	struct stat st;
	static uint8_t cd[CD_SECTORS * 2048];

	if (fstat(disk_fd, &st) || st.st_size != DISK_SECTORS * 512) {
		fprintf(report, "the disk image grew to %lld bytes\n", (long long)st.st_size);
		abort();
	}
	if (fstat(cd_fd, &st) || st.st_size != CD_SECTORS * 2048 ||
	    pread(cd_fd, cd, sizeof(cd), 0) != (ssize_t)sizeof(cd) || memcmp(cd, cd_pattern, sizeof(cd))) {
		fprintf(report, "the read-only CD image changed\n");
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	disk_fd = memfd_create("fuzz-ide-disk", MFD_CLOEXEC);
	cd_fd = memfd_create("fuzz-ide-cd", MFD_CLOEXEC);
	disk_pattern = malloc(DISK_SECTORS * 512);
	cd_pattern = malloc(CD_SECTORS * 2048);
	if (disk_fd < 0 || cd_fd < 0 || !disk_pattern || !cd_pattern)
		abort();
	for (unsigned int i = 0; i < DISK_SECTORS * 512; i++)
		disk_pattern[i] = (uint8_t)(i * 7 + i / 512);
	for (unsigned int i = 0; i < CD_SECTORS * 2048; i++)
		cd_pattern[i] = (uint8_t)(i * 13 + i / 2048);
	if (pwrite(cd_fd, cd_pattern, CD_SECTORS * 2048, 0) != CD_SECTORS * 2048)
		abort();
	memset(&cfg, 0, sizeof(cfg));
	cfg.platform_pci = true;
	cfg.ide[0].kind = HVM_DRIVE_DISK;
	snprintf(cfg.ide[0].path, sizeof(cfg.ide[0].path), "/proc/self/fd/%d", disk_fd);
	dom = fake_domain_new(1);
	dom->hvm = &cfg;
	cfg.ide[2].kind = HVM_DRIVE_CDROM;
	snprintf(cfg.ide[2].path, sizeof(cfg.ide[2].path), "/proc/self/fd/%d", cd_fd);
	report = stderr;
	if (!getenv("XENITH_FUZZ_LOG")) {
		FILE *null = fopen("/dev/null", "w");
		if (null)
			stderr = null;          /* LOG() only; libFuzzer and the sanitizers keep fd 2 */
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	char err[256];
	void *ide = NULL, *platform = NULL;

	if (ftruncate(disk_fd, 0) || pwrite(disk_fd, disk_pattern, DISK_SECTORS * 512, 0) != DISK_SECTORS * 512)
		abort();
	struct domain *d = dom;
	memset(d->vm.ram, 0, FAKE_RAM_SIZE);
	d->pio.count = d->mmio.count = 0;
	d->pci = calloc(1, sizeof(*d->pci));
	if (!d->pci || pci_bus_init(d->pci, d, err, sizeof(err)) ||
	    ide_device.init(d, &ide, err, sizeof(err)) ||
	    xen_platform_device.init(d, &platform, err, sizeof(err)))
		abort();
	pci_config_write(d->pci, IDE_DEVFN, PCI_BASE_ADDRESS_0 + 16, 4, BM_PORT);
	pci_config_write(d->pci, IDE_DEVFN, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);

	run(d, ide, &in);
	check_images();

	xen_platform_device.teardown(d, platform);
	ide_device.teardown(d, ide);
	pci_bus_teardown(d->pci);
	free(d->pci);
	d->pci = NULL;
	return 0;
}
