/* The PIIX3 IDE controller (PCI 00:01.1, 8086:7010) in legacy mode: two channels at the ISA
 * ports (primary 0x1f0-0x1f7 and 0x3f6 on IRQ 14, secondary 0x170-0x177 and 0x376 on IRQ 15),
 * each with a master and a slave, and the bus-master DMA block at BAR4.
 *
 * How a command runs.  Every task-file write lands in both drives' registers (real drives latch
 * them all); the DEV bit says which drive answers reads and takes commands.  A command is found in
 * one table row per opcode and runs at once on the vCPU thread that wrote it: the disk I/O is a
 * plain pread/pwrite of the image (an ATA request is at most 32 MiB, a DMA transfer at most what
 * one PRD table covers, 512 MiB; an asynchronous path can come later without changing the
 * registers' story).  So BSY is never seen, except while the guest
 * holds SRST.  A PIO command then offers its data one DRQ block at a time through the data port;
 * a DMA command waits, DRQ set, until the bus master is started (or runs at once if it already
 * is), then walks the guest's PRD table.  Every PRD entry is checked against guest RAM before a
 * byte moves, so a bad table errors the command with nothing written to the disk or the guest.
 *
 * Absent drives read as real buses do: on a channel with no drive every register floats (0x7f,
 * which SeaBIOS's register read-back and Linux's both take as "nobody"); an absent slave beside a
 * present master reads status 0 (the master answers for it, as ATA says), which SeaBIOS takes as
 * "no drive", and takes no command.
 *
 * Interrupts: the channel's line is high from a command's interrupt until the status register is
 * read or a new command is written, and low while nIEN is set. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hw/hvm_config.h"
#include "hw/ide.h"
#include "hw/irq.h"
#include "hw/pci.h"
#include "hw/xen_platform.h"
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/vm.h"

#define IDE_CHANNELS 2
#define IDE_BUF_SIZE (64u * 1024)        /* a DRQ block: 16 sectors, or an ATAPI byte count */
#define IDE_MAX_MULTIPLE 16u
#define PRD_MAX_ENTRIES 8192u            /* a PRD table lies within 64 KiB */
#define PIIX_IDE_SLOT 1
#define PIIX_IDE_FUNC 1
#define BM_BAR 4
#define BM_BAR_SIZE 16u
#define DEFAULT_HEADS 16u
#define DEFAULT_SPT 63u

static const uint16_t channel_base[IDE_CHANNELS] = { 0x1f0, 0x170 };
static const uint16_t channel_ctl[IDE_CHANNELS] = { 0x3f6, 0x376 };
static const uint8_t channel_irq[IDE_CHANNELS] = { 14, 15 };

enum { REG_DATA, REG_FEATURE, REG_NSECTOR, REG_SECTOR, REG_LCYL, REG_HCYL, REG_SELECT, REG_COMMAND };
enum { ST_ERR = 0x01, ST_DRQ = 0x08, ST_DSC = 0x10, ST_DRDY = 0x40, ST_BSY = 0x80 };
enum { ERR_ABRT = 0x04, ERR_IDNF = 0x10, ERR_UNC = 0x40 };
enum { CTL_NIEN = 0x02, CTL_SRST = 0x04, CTL_HOB = 0x80 };
enum { SEL_DEV = 0x10, SEL_LBA = 0x40, SEL_OBSOLETE = 0xa0 };
enum { BM_CMD_START = 0x01, BM_CMD_TO_MEMORY = 0x08 };
enum { BM_ST_ACTIVE = 0x01, BM_ST_ERROR = 0x02, BM_ST_INTR = 0x04, BM_ST_CAPABLE = 0x60 };
/* ATAPI interrupt reason in the sector count register. */
enum { IREASON_COD = 0x01, IREASON_IO = 0x02 };
#define FLOATING 0x7f

/* What the data port is doing. */
enum xfer {
	XFER_NONE,
	XFER_ATA_IN,          /* READ SECTORS/MULTIPLE: blocks from the disk */
	XFER_ATA_OUT,         /* WRITE SECTORS/MULTIPLE: blocks to the disk */
	XFER_IDENTIFY,        /* one block, then done */
	XFER_PACKET,          /* the 12-byte ATAPI command */
	XFER_ATAPI_IN,        /* an ATAPI reply, byte-count limited blocks */
	XFER_KINDS,
};

/* A DMA command waiting for (or running on) the bus master. */
enum dma { DMA_NONE, DMA_ATA_READ, DMA_ATA_WRITE, DMA_ATAPI, DMA_KINDS };

/* A drive's registers: the host's writes reach both drives of a channel. */
struct ide_regs {
	uint8_t feature, nsector, sector, lcyl, hcyl;
	uint8_t hob_feature, hob_nsector, hob_sector, hob_lcyl, hob_hcyl;
	uint8_t status, error;
	uint8_t mult;                  /* SET MULTIPLE MODE; 0: off */
	uint8_t xfer_mode;             /* SET FEATURES 03h: 0x08|n PIO, 0x20|n MWDMA, 0x40|n UDMA */
	uint8_t heads, spt;            /* CHS translation (INITIALIZE DEVICE PARAMETERS) */
};

struct ide_ctrl;

struct ide_channel {
	struct ide_ctrl *ctrl;
	unsigned int index;
	struct ide_drive drives[2];
	struct ide_regs regs[2];
	uint8_t select, control;
	bool irq_pending, irq_line;
	/* The command in progress, on the drive that took it (the host may select the other). */
	uint8_t active_dev;
	enum xfer xfer;
	uint32_t pos, len;             /* the DRQ block in buf */
	uint64_t lba;                  /* ATA: the next sector to move */
	uint32_t remaining;            /* ATA: sectors still to move */
	uint32_t block;                /* ATA: sectors per DRQ block */
	bool lba48;
	enum dma dma;
	uint32_t byte_limit;           /* ATAPI PIO */
	uint64_t reply_done;           /* ATAPI: bytes of the reply moved */
	struct atapi_reply reply;
	/* Bus master. */
	uint8_t bm_cmd, bm_status;
	uint32_t bm_prd;
	uint8_t *buf;
};

struct ide_ctrl {
	struct domain *dom;
	pthread_mutex_t lock;
	struct ide_channel ch[IDE_CHANNELS];
	struct pci_device_info pci_info;
	struct pci_device *pci;
};

/* ---- Drives and interrupts ---- */

static unsigned int cur_dev(const struct ide_channel *ch)
{
	return ch->select & SEL_DEV ? 1 : 0;
}

/* The one place the Xen platform device's unplug protocol reaches the IDE drives: an unplugged
 * disk is absent from then on (CD-ROMs never unplug). */
static bool drive_unplugged(const struct ide_channel *ch, unsigned int dev)
{
	unsigned int what = ch->index == 0 && dev == 0 ? XEN_UNPLUG_IDE_DISKS
						       : XEN_UNPLUG_IDE_DISKS | XEN_UNPLUG_AUX_IDE;

	return ch->drives[dev].kind == HVM_DRIVE_DISK && xen_platform_unplugged(ch->ctrl->dom, what);
}

static bool drive_present(const struct ide_channel *ch, unsigned int dev)
{
	return ch->drives[dev].kind != HVM_DRIVE_NONE && !drive_unplugged(ch, dev);
}

static void irq_update(struct ide_channel *ch)
{
	bool line = ch->irq_pending && !(ch->control & CTL_NIEN);
	if (line != ch->irq_line) {
		ch->irq_line = line;
		hw_irq_set(ch->ctrl->dom, channel_irq[ch->index], line);
	}
}

static void irq_raise(struct ide_channel *ch)
{
	ch->irq_pending = true;
	ch->bm_status |= BM_ST_INTR;
	irq_update(ch);
}

static void irq_lower(struct ide_channel *ch)
{
	ch->irq_pending = false;
	irq_update(ch);
}

/* ---- Command endings ---- */

static void xfer_stop(struct ide_channel *ch)
{
	ch->xfer = XFER_NONE;
	ch->dma = DMA_NONE;
	ch->pos = ch->len = 0;
}

static void cmd_done(struct ide_channel *ch)
{
	struct ide_regs *r = &ch->regs[ch->active_dev];
	xfer_stop(ch);
	r->status = ST_DRDY | ST_DSC;
	irq_raise(ch);
}

static void cmd_error(struct ide_channel *ch, uint8_t error)
{
	struct ide_regs *r = &ch->regs[ch->active_dev];
	xfer_stop(ch);
	r->status = ST_DRDY | ST_DSC | ST_ERR;
	r->error = error;
	irq_raise(ch);
}

static void cmd_abort(struct ide_channel *ch)
{
	cmd_error(ch, ERR_ABRT);
}

/* The signature a reset leaves: a disk, or a packet device (lba mid/high 14h/EBh). */
static void set_signature(struct ide_channel *ch, unsigned int dev)
{
	struct ide_regs *r = &ch->regs[dev];
	bool cd = ch->drives[dev].kind == HVM_DRIVE_CDROM;

	r->nsector = r->sector = 1;
	r->lcyl = cd ? 0x14 : 0;
	r->hcyl = cd ? 0xeb : 0;
	r->error = 0x01;               /* diagnostics passed */
	r->status = cd ? 0 : ST_DRDY | ST_DSC;
}

static void channel_reset(struct ide_channel *ch)
{
	xfer_stop(ch);
	ch->select = SEL_OBSOLETE;
	for (unsigned int dev = 0; dev < 2; dev++) {
		set_signature(ch, dev);
		ch->regs[dev].mult = 0;
		ch->regs[dev].heads = DEFAULT_HEADS;
		ch->regs[dev].spt = DEFAULT_SPT;
	}
	irq_lower(ch);
}

/* ---- Disk I/O ---- */

static int image_io(struct ide_drive *d, bool write, uint8_t *buf, size_t len, uint64_t offset)
{
	while (len) {
		ssize_t n = write ? pwrite(d->fd, buf, len, (off_t)offset) : pread(d->fd, buf, len, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			if (write)
				return -EIO;
			memset(buf, 0, len);   /* a CD image cut short of a whole sector */
			return 0;
		}
		buf += n;
		len -= (size_t)n;
		offset += (uint64_t)n;
	}
	return 0;
}

/* The address of an ATA command, LBA (28 or 48 bits) or CHS, from the drive's registers. */
static bool ata_address(const struct ide_channel *ch, const struct ide_regs *r, bool lba48, uint64_t *lba)
{
	if (lba48) {
		*lba = (uint64_t)r->hob_hcyl << 40 | (uint64_t)r->hob_lcyl << 32 | (uint64_t)r->hob_sector << 24 |
		       (uint64_t)r->hcyl << 16 | (uint64_t)r->lcyl << 8 | r->sector;
		return true;
	}
	if (ch->select & SEL_LBA) {
		*lba = (uint64_t)(ch->select & 0x0f) << 24 | (uint64_t)r->hcyl << 16 | (uint64_t)r->lcyl << 8 |
		       r->sector;
		return true;
	}
	unsigned int cyl = (unsigned int)r->hcyl << 8 | r->lcyl, head = ch->select & 0x0f;
	if (r->sector == 0 || r->sector > r->spt || head >= r->heads)
		return false;
	*lba = ((uint64_t)cyl * r->heads + head) * r->spt + r->sector - 1;
	return true;
}

/* After a command, the registers name the last sector it reached. */
static void set_address(struct ide_channel *ch, uint64_t lba)
{
	struct ide_regs *r = &ch->regs[ch->active_dev];

	if (ch->lba48) {
		r->sector = (uint8_t)lba;
		r->lcyl = (uint8_t)(lba >> 8);
		r->hcyl = (uint8_t)(lba >> 16);
		r->hob_sector = (uint8_t)(lba >> 24);
		r->hob_lcyl = (uint8_t)(lba >> 32);
		r->hob_hcyl = (uint8_t)(lba >> 40);
	} else if (ch->select & SEL_LBA) {
		r->sector = (uint8_t)lba;
		r->lcyl = (uint8_t)(lba >> 8);
		r->hcyl = (uint8_t)(lba >> 16);
		ch->select = (uint8_t)((ch->select & 0xf0) | ((lba >> 24) & 0x0f));
	} else {
		uint64_t cyl = lba / ((uint64_t)r->heads * r->spt), rest = lba % ((uint64_t)r->heads * r->spt);
		r->lcyl = (uint8_t)cyl;
		r->hcyl = (uint8_t)(cyl >> 8);
		ch->select = (uint8_t)((ch->select & 0xf0) | (rest / r->spt));
		r->sector = (uint8_t)(rest % r->spt + 1);
	}
}

/* ---- PIO ---- */

static void pio_offer(struct ide_channel *ch, enum xfer kind, uint32_t len, bool interrupt)
{
	struct ide_regs *r = &ch->regs[ch->active_dev];
	ch->xfer = kind;
	ch->pos = 0;
	ch->len = len;
	r->status = ST_DRDY | ST_DSC | ST_DRQ;
	if (interrupt)
		irq_raise(ch);
}

static uint32_t ata_block_sectors(const struct ide_channel *ch)
{
	return ch->remaining < ch->block ? ch->remaining : ch->block;
}

/* The next block of a PIO read, or the end of the command (with no interrupt: the host has
 * already taken the data). */
static void ata_in_next(struct ide_channel *ch)
{
	struct ide_drive *d = &ch->drives[ch->active_dev];
	uint32_t n = ata_block_sectors(ch);

	if (!n) {
		ch->regs[ch->active_dev].status = ST_DRDY | ST_DSC;
		xfer_stop(ch);
		return;
	}
	if (image_io(d, false, ch->buf, (size_t)n * IDE_SECTOR, ch->lba * IDE_SECTOR)) {
		set_address(ch, ch->lba);
		cmd_error(ch, ERR_UNC);
		return;
	}
	pio_offer(ch, XFER_ATA_IN, n * IDE_SECTOR, true);
}

static void atapi_done(struct ide_channel *ch)
{
	struct ide_regs *r = &ch->regs[ch->active_dev];
	r->nsector = IREASON_IO | IREASON_COD;
	r->error = 0;
	cmd_done(ch);
}

static void atapi_fail(struct ide_channel *ch)
{
	struct ide_drive *d = &ch->drives[ch->active_dev];
	struct ide_regs *r = &ch->regs[ch->active_dev];
	cmd_error(ch, (uint8_t)(d->sense_key << 4 | (d->sense_key == SENSE_ILLEGAL_REQUEST ? ERR_ABRT : 0)));
	r->nsector = IREASON_IO | IREASON_COD;
}

static uint64_t reply_total(const struct ide_channel *ch)
{
	return ch->reply.from_file ? ch->reply.file_len : ch->reply.len;
}

/* `len` bytes of the ATAPI reply from reply_done on, into buf. */
static int atapi_fetch(struct ide_channel *ch, uint8_t *buf, uint32_t len)
{
	if (ch->reply.from_file)
		return image_io(&ch->drives[ch->active_dev], false, buf, len, ch->reply.file_offset + ch->reply_done);
	memcpy(buf, ch->reply.data + ch->reply_done, len);
	return 0;
}

static void atapi_in_next(struct ide_channel *ch)
{
	struct ide_regs *r = &ch->regs[ch->active_dev];
	uint64_t left = reply_total(ch) - ch->reply_done;
	uint32_t n = ch->byte_limit < IDE_BUF_SIZE ? ch->byte_limit : IDE_BUF_SIZE;

	if (!left) {
		atapi_done(ch);
		return;
	}
	if (left < n)
		n = (uint32_t)left;
	if (atapi_fetch(ch, ch->buf, n)) {
		atapi_set_sense(&ch->drives[ch->active_dev], 0x03, 0x11, 0);  /* medium error: unrecovered read */
		atapi_fail(ch);
		return;
	}
	ch->reply_done += n;
	r->nsector = IREASON_IO;
	r->lcyl = (uint8_t)n;
	r->hcyl = (uint8_t)(n >> 8);
	pio_offer(ch, XFER_ATAPI_IN, n, true);
}

static void dma_start(struct ide_channel *ch, enum dma kind);

static void atapi_packet_received(struct ide_channel *ch)
{
	struct ide_drive *d = &ch->drives[ch->active_dev];
	uint8_t cdb[ATAPI_CDB_LEN];
	bool dma = ch->dma == DMA_ATAPI;

	memcpy(cdb, ch->buf, sizeof(cdb));
	xfer_stop(ch);
	ch->reply_done = 0;
	if (atapi_command(d, cdb, &ch->reply)) {
		atapi_fail(ch);
		return;
	}
	if (!reply_total(ch)) {
		atapi_done(ch);
		return;
	}
	if (dma)
		dma_start(ch, DMA_ATAPI);
	else
		atapi_in_next(ch);
}

/* The host moved the whole DRQ block. */
static void pio_block_done(struct ide_channel *ch)
{
	struct ide_drive *d = &ch->drives[ch->active_dev];
	uint32_t n = ch->len / IDE_SECTOR;

	switch (ch->xfer) {
	case XFER_ATA_IN:
		set_address(ch, ch->lba + n - 1);
		ch->lba += n;
		ch->remaining -= n;
		ata_in_next(ch);
		break;
	case XFER_ATA_OUT:
		if (image_io(d, true, ch->buf, ch->len, ch->lba * IDE_SECTOR)) {
			set_address(ch, ch->lba);
			cmd_abort(ch);
			break;
		}
		set_address(ch, ch->lba + n - 1);
		ch->lba += n;
		ch->remaining -= n;
		if (ch->remaining)
			pio_offer(ch, XFER_ATA_OUT, ata_block_sectors(ch) * IDE_SECTOR, true);
		else
			cmd_done(ch);
		break;
	case XFER_IDENTIFY:
		ch->regs[ch->active_dev].status = ST_DRDY | ST_DSC;
		xfer_stop(ch);
		break;
	case XFER_PACKET:
		atapi_packet_received(ch);
		break;
	case XFER_ATAPI_IN:
		atapi_in_next(ch);
		break;
	default:
		break;
	}
}

static void data_port(struct ide_channel *ch, bool is_write, uint8_t *data, unsigned int size)
{
	bool out = ch->xfer == XFER_ATA_OUT || ch->xfer == XFER_PACKET;
	bool active = ch->xfer != XFER_NONE && ch->pos < ch->len && out == is_write &&
		      cur_dev(ch) == ch->active_dev;

	if (!active) {
		if (!is_write)
			memset(data, 0, size);   /* no DRQ: the drive drives nothing useful */
		return;
	}
	unsigned int n = ch->len - ch->pos < size ? ch->len - ch->pos : size;
	if (is_write) {
		memcpy(ch->buf + ch->pos, data, n);
	} else {
		memcpy(data, ch->buf + ch->pos, n);
		memset(data + n, 0, size - n);
	}
	ch->pos += n;
	if (ch->pos == ch->len)
		pio_block_done(ch);
}

/* ---- Bus-master DMA ---- */

struct prd_walk {
	uint32_t table;
	unsigned int entries;
	uint32_t addr, left;
	bool eot;
};

static int prd_next(struct ide_channel *ch, struct prd_walk *w)
{
	if (w->eot || w->entries >= PRD_MAX_ENTRIES)
		return -1;
	const uint8_t *e = vm_gpa_to_hva(&ch->ctrl->dom->vm, (uint64_t)w->table + w->entries * 8u, 8);
	if (!e)
		return -1;
	uint32_t addr = (uint32_t)e[0] | (uint32_t)e[1] << 8 | (uint32_t)e[2] << 16 | (uint32_t)e[3] << 24;
	uint32_t count = (uint32_t)e[4] | (uint32_t)e[5] << 8;
	w->addr = addr & ~1u;
	w->left = count ? count & ~1u : 0x10000;
	w->eot = e[7] & 0x80;
	w->entries++;
	return 0;
}

/* Moves len bytes between buf and the guest memory the PRD table names (or, with buf NULL, only
 * checks that the table covers them with RAM): 0, or -1 for a table that ends early or names
 * memory the guest does not have. */
static int prd_move(struct ide_channel *ch, struct prd_walk *w, uint8_t *buf, size_t len, bool to_guest)
{
	while (len) {
		if (!w->left && prd_next(ch, w))
			return -1;
		uint32_t n = len < w->left ? (uint32_t)len : w->left;
		uint8_t *hva = vm_gpa_to_hva(&ch->ctrl->dom->vm, w->addr, n);
		if (!hva)
			return -1;
		if (buf) {
			if (to_guest)
				memcpy(hva, buf, n);
			else
				memcpy(buf, hva, n);
			buf += n;
		}
		w->addr += n;
		w->left -= n;
		len -= n;
	}
	return 0;
}

static uint64_t dma_total(const struct ide_channel *ch)
{
	return ch->dma == DMA_ATAPI ? reply_total(ch) : (uint64_t)ch->remaining * IDE_SECTOR;
}

static bool dma_may_run(const struct ide_channel *ch)
{
	const struct pci_device *pci = ch->ctrl->pci;
	if (!(ch->bm_cmd & BM_CMD_START) || ch->dma == DMA_NONE || !drive_present(ch, ch->active_dev))
		return false;
	/* Without a bus (unit tests), mastering is taken as enabled. */
	return !pci || (pci->config[PCI_COMMAND] & PCI_COMMAND_MASTER);
}

/* The whole transfer, the PRD table checked first so a bad one moves nothing. */
static void dma_run(struct ide_channel *ch)
{
	struct ide_drive *d = &ch->drives[ch->active_dev];
	enum dma kind = ch->dma;
	uint64_t total = dma_total(ch), done = 0;
	struct prd_walk w = { .table = ch->bm_prd };
	int io = 0;

	if (prd_move(ch, &w, NULL, total, true)) {
		ch->bm_status = (uint8_t)((ch->bm_status & ~BM_ST_ACTIVE) | BM_ST_ERROR);
		if (kind == DMA_ATAPI) {
			atapi_set_sense(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB, 0);
			atapi_fail(ch);
		} else {
			cmd_abort(ch);
		}
		return;
	}
	w = (struct prd_walk){ .table = ch->bm_prd };
	while (done < total && !io) {
		uint32_t n = total - done < IDE_BUF_SIZE ? (uint32_t)(total - done) : IDE_BUF_SIZE;
		if (kind == DMA_ATA_WRITE) {
			if (prd_move(ch, &w, ch->buf, n, false))
				break;
			io = image_io(d, true, ch->buf, n, ch->lba * IDE_SECTOR + done);
		} else {
			if (kind == DMA_ATAPI) {
				io = atapi_fetch(ch, ch->buf, n);
				ch->reply_done += n;
			} else {
				io = image_io(d, false, ch->buf, n, ch->lba * IDE_SECTOR + done);
			}
			if (!io && prd_move(ch, &w, ch->buf, n, true))
				break;
		}
		done += n;
	}
	/* The PRD table was exactly used up: the engine stops; a longer one leaves it active. */
	if (!w.left && w.eot)
		ch->bm_status &= (uint8_t)~BM_ST_ACTIVE;
	if (done < total || io) {
		ch->bm_status = (uint8_t)((ch->bm_status & ~BM_ST_ACTIVE) | (io ? 0 : BM_ST_ERROR));
		if (kind == DMA_ATAPI) {
			atapi_set_sense(d, 0x03, 0x11, 0);
			atapi_fail(ch);
		} else {
			set_address(ch, ch->lba + done / IDE_SECTOR);
			cmd_error(ch, kind == DMA_ATA_READ ? ERR_UNC : ERR_ABRT);
		}
		return;
	}
	if (kind == DMA_ATAPI) {
		atapi_done(ch);
	} else {
		set_address(ch, ch->lba + ch->remaining - 1);
		ch->lba += ch->remaining;
		ch->remaining = 0;
		cmd_done(ch);
	}
}

static void dma_start(struct ide_channel *ch, enum dma kind)
{
	struct ide_regs *r = &ch->regs[ch->active_dev];
	ch->dma = kind;
	r->status = ST_DRDY | ST_DSC | ST_DRQ;
	if (dma_may_run(ch))
		dma_run(ch);
}

static void bm_write(struct ide_channel *ch, unsigned int reg, uint8_t v)
{
	switch (reg) {
	case 0: {
		uint8_t old = ch->bm_cmd;
		ch->bm_cmd = v & (BM_CMD_START | BM_CMD_TO_MEMORY);
		if (!(v & BM_CMD_START)) {
			ch->bm_status &= (uint8_t)~BM_ST_ACTIVE;
		} else if (!(old & BM_CMD_START)) {
			ch->bm_status |= BM_ST_ACTIVE;
			if (dma_may_run(ch))
				dma_run(ch);
		}
		break;
	}
	case 2:
		ch->bm_status = (uint8_t)((ch->bm_status & ~(BM_ST_CAPABLE | (v & (BM_ST_ERROR | BM_ST_INTR)))) |
					  (v & BM_ST_CAPABLE));
		break;
	case 4: case 5: case 6: case 7: {
		unsigned int shift = (reg - 4) * 8;
		ch->bm_prd = (ch->bm_prd & ~(0xffu << shift)) | (uint32_t)v << shift;
		ch->bm_prd &= ~3u;
		break;
	}
	default:
		break;
	}
}

static uint8_t bm_read(const struct ide_channel *ch, unsigned int reg)
{
	switch (reg) {
	case 0: return ch->bm_cmd;
	case 2: return ch->bm_status;
	case 4: case 5: case 6: case 7: return (uint8_t)(ch->bm_prd >> ((reg - 4) * 8));
	default: return 0;
	}
}

void ide_bus_master_io(void *opaque, struct vcpu *vcpu, uint64_t addr, bool is_write, uint8_t *data,
		       unsigned int size)
{
	struct ide_ctrl *c = opaque;
	(void)vcpu;

	pthread_mutex_lock(&c->lock);
	for (unsigned int i = 0; i < size; i++) {
		uint64_t at = addr + i;
		if (at >= BM_BAR_SIZE) {
			if (!is_write)
				data[i] = 0xff;
			continue;
		}
		struct ide_channel *ch = &c->ch[at / 8];
		if (is_write)
			bm_write(ch, (unsigned int)(at % 8), data[i]);
		else
			data[i] = bm_read(ch, (unsigned int)(at % 8));
	}
	pthread_mutex_unlock(&c->lock);
}

/* ---- IDENTIFY ---- */

static void id_string(uint16_t *words, unsigned int first, unsigned int n_words, const char *s)
{
	size_t len = strlen(s);
	for (unsigned int i = 0; i < n_words * 2; i++) {
		uint8_t ch = i < len ? (uint8_t)s[i] : ' ';
		uint16_t *w = &words[first + i / 2];
		*w = (uint16_t)(i % 2 ? (*w & 0xff00) | ch : (*w & 0x00ff) | ch << 8);
	}
}

static void id_dma_modes(uint16_t *w, uint8_t mode)
{
	w[49] = 0x0300 | 0x0800;       /* LBA, DMA, IORDY */
	w[53] = 0x0007;                /* words 54-58, 64-70 and 88 are valid */
	w[63] = 0x0007 | ((mode & 0xf8) == 0x20 ? (uint16_t)(0x100 << (mode & 7)) : 0);
	w[64] = 0x0003;                /* PIO modes 3 and 4 */
	w[65] = w[66] = w[67] = w[68] = 120;
	w[88] = 0x003f | ((mode & 0xf8) == 0x40 ? (uint16_t)(0x100 << (mode & 7)) : 0);
}

static void id_finish(uint16_t *w, uint8_t *out)
{
	unsigned int sum = 0;
	w[255] = 0xa5;                 /* integrity word: signature, then the checksum */
	for (unsigned int i = 0; i < 255; i++)
		sum += (w[i] & 0xff) + (w[i] >> 8);
	sum += 0xa5;
	w[255] |= (uint16_t)(((0x100 - (sum & 0xff)) & 0xff) << 8);
	for (unsigned int i = 0; i < 256; i++) {
		out[2 * i] = (uint8_t)w[i];
		out[2 * i + 1] = (uint8_t)(w[i] >> 8);
	}
}

static void identify_disk(const struct ide_channel *ch, const struct ide_drive *d, const struct ide_regs *r,
			  uint8_t *out)
{
	uint16_t w[256] = { 0 };
	uint64_t chs_max = 16383ull * DEFAULT_HEADS * DEFAULT_SPT;
	uint64_t lba28 = d->sectors < 0x0fffffff ? d->sectors : 0x0fffffff;
	uint64_t cyls = (d->sectors < chs_max ? d->sectors : chs_max) / (DEFAULT_HEADS * DEFAULT_SPT);
	uint64_t cur = (uint64_t)cyls * r->heads * r->spt;
	(void)ch;

	w[0] = 0x0040;                 /* fixed disk */
	w[1] = (uint16_t)cyls;
	w[3] = DEFAULT_HEADS;
	w[6] = DEFAULT_SPT;
	id_string(w, 10, 10, d->serial);
	id_string(w, 23, 4, "1.0");
	id_string(w, 27, 20, "XENITH HARDDISK");
	w[47] = 0x8000 | IDE_MAX_MULTIPLE;
	w[48] = 0x0001;                /* 32-bit PIO */
	w[51] = w[52] = 0x0200;
	id_dma_modes(w, r->xfer_mode);
	w[54] = (uint16_t)cyls;
	w[55] = r->heads;
	w[56] = r->spt;
	w[57] = (uint16_t)cur;
	w[58] = (uint16_t)(cur >> 16);
	w[59] = r->mult ? (uint16_t)(0x100 | r->mult) : 0;
	w[60] = (uint16_t)lba28;
	w[61] = (uint16_t)(lba28 >> 16);
	w[80] = 0x00f0;                /* ATA/ATAPI-4 to -7 */
	w[82] = 0x4000 | 0x0020 | 0x0008;  /* NOP-less: write cache, power management */
	w[83] = 0x4000 | 0x2000 | 0x1000 | 0x0400;   /* FLUSH CACHE (EXT), 48-bit addresses */
	w[84] = 0x4000;
	w[85] = w[82];
	w[86] = 0x2000 | 0x1000 | 0x0400;
	w[87] = 0x4000;
	w[93] = 0x6000 | 0x4000;       /* hardware reset result: valid */
	for (unsigned int i = 0; i < 4; i++)
		w[100 + i] = (uint16_t)(d->sectors >> (16 * i));
	id_finish(w, out);
}

static void identify_packet(const struct ide_drive *d, const struct ide_regs *r, uint8_t *out)
{
	uint16_t w[256] = { 0 };

	w[0] = 0x85c0;                 /* ATAPI, CD-ROM, removable, 50 us to DRQ, 12-byte packets */
	id_string(w, 10, 10, d->serial);
	id_string(w, 23, 4, "1.0");
	id_string(w, 27, 20, "XENITH CD-ROM");
	id_dma_modes(w, r->xfer_mode);
	w[71] = 30;                    /* release and service times */
	w[72] = 30;
	w[80] = 0x001e;                /* ATAPI-1 to -4 */
	w[82] = 0x4000 | 0x0010;       /* PACKET */
	w[85] = 0x0010;
	id_finish(w, out);
}

/* ---- ATA commands ---- */

enum {
	ON_DISK = 1 << 0, ON_CD = 1 << 1,
	RW_LBA48 = 1 << 2, RW_WRITE = 1 << 3, RW_DMA = 1 << 4, RW_MULTIPLE = 1 << 5, RW_VERIFY = 1 << 6,
};

struct ata_cmd {
	uint8_t opcode;
	unsigned int flags;
	void (*run)(struct ide_channel *ch, struct ide_drive *d, struct ide_regs *r, unsigned int flags);
};

static void ata_rw(struct ide_channel *ch, struct ide_drive *d, struct ide_regs *r, unsigned int flags)
{
	bool lba48 = flags & RW_LBA48, write = flags & RW_WRITE;
	uint64_t lba, count;

	if (lba48)
		count = ((uint32_t)r->hob_nsector << 8 | r->nsector) ?: 65536;
	else
		count = r->nsector ?: 256;
	if ((write && d->readonly) || ((flags & RW_MULTIPLE) && !r->mult)) {
		cmd_abort(ch);
		return;
	}
	ch->lba48 = lba48;
	if (!ata_address(ch, r, lba48, &lba) || lba > d->sectors || count > d->sectors - lba) {
		cmd_error(ch, ERR_IDNF);
		return;
	}
	ch->lba = lba;
	ch->remaining = (uint32_t)count;
	ch->block = flags & RW_MULTIPLE ? r->mult : 1;
	if (flags & RW_VERIFY) {
		set_address(ch, lba + count - 1);
		cmd_done(ch);
	} else if (flags & RW_DMA) {
		dma_start(ch, write ? DMA_ATA_WRITE : DMA_ATA_READ);
	} else if (write) {
		pio_offer(ch, XFER_ATA_OUT, ata_block_sectors(ch) * IDE_SECTOR, false);
	} else {
		ata_in_next(ch);
	}
}

static void ata_identify(struct ide_channel *ch, struct ide_drive *d, struct ide_regs *r, unsigned int flags)
{
	(void)flags;
	if (d->kind == HVM_DRIVE_CDROM) {
		/* A packet device refuses, and says what it is. */
		cmd_abort(ch);
		set_signature(ch, ch->active_dev);
		r->status = ST_DRDY | ST_DSC | ST_ERR;
		r->error = ERR_ABRT;
		return;
	}
	identify_disk(ch, d, r, ch->buf);
	pio_offer(ch, XFER_IDENTIFY, IDE_SECTOR, true);
}

static void ata_identify_packet(struct ide_channel *ch, struct ide_drive *d, struct ide_regs *r,
				unsigned int flags)
{
	(void)flags;
	identify_packet(d, r, ch->buf);
	pio_offer(ch, XFER_IDENTIFY, IDE_SECTOR, true);
}

static void ata_packet(struct ide_channel *ch, struct ide_drive *d, struct ide_regs *r, unsigned int flags)
{
	(void)d, (void)flags;
	uint32_t limit = (uint32_t)r->hcyl << 8 | r->lcyl;
	ch->byte_limit = limit ? limit & ~1u : 0xfffe;
	if (!ch->byte_limit)
		ch->byte_limit = 2;
	ch->dma = r->feature & 1 ? DMA_ATAPI : DMA_NONE;
	r->nsector = IREASON_COD;
	/* pio_offer keeps ch->dma: the packet's data phase needs it */
	ch->xfer = XFER_PACKET;
	ch->pos = 0;
	ch->len = ATAPI_CDB_LEN;
	r->status = ST_DRDY | ST_DSC | ST_DRQ;
}

static void ata_set_multiple(struct ide_channel *ch, struct ide_drive *d, struct ide_regs *r, unsigned int flags)
{
	(void)d, (void)flags;
	unsigned int n = r->nsector;
	if (n > IDE_MAX_MULTIPLE || (n & (n - 1))) {
		cmd_abort(ch);
		return;
	}
	r->mult = (uint8_t)n;
	cmd_done(ch);
}

static void ata_set_features(struct ide_channel *ch, struct ide_drive *d, struct ide_regs *r, unsigned int flags)
{
	(void)d, (void)flags;
	switch (r->feature) {
	case 0x03: {                   /* set transfer mode */
		uint8_t mode = r->nsector, n = mode & 7;
		bool ok = (mode & 0xf8) == 0x00 ? n <= 1 : (mode & 0xf8) == 0x08 ? n <= 4 :
			  (mode & 0xf8) == 0x20 ? n <= 2 : (mode & 0xf8) == 0x40 ? n <= 5 : false;
		if (!ok) {
			cmd_abort(ch);
			return;
		}
		r->xfer_mode = mode;
		break;
	}
	case 0x02: case 0x82:          /* write cache on/off */
	case 0x55: case 0xaa:          /* read look-ahead off/on */
	case 0x66: case 0xcc:          /* keep or revert to defaults at reset */
		break;
	default:
		cmd_abort(ch);
		return;
	}
	cmd_done(ch);
}

static void ata_init_params(struct ide_channel *ch, struct ide_drive *d, struct ide_regs *r, unsigned int flags)
{
	(void)d, (void)flags;
	if (!r->nsector) {
		cmd_abort(ch);
		return;
	}
	r->heads = (uint8_t)((ch->select & 0x0f) + 1);
	r->spt = r->nsector;
	cmd_done(ch);
}

static void ata_flush(struct ide_channel *ch, struct ide_drive *d, struct ide_regs *r, unsigned int flags)
{
	(void)r, (void)flags;
	if (d->fd >= 0 && !d->readonly && fdatasync(d->fd) && errno != EINVAL) {
		cmd_abort(ch);
		return;
	}
	cmd_done(ch);
}

static void ata_nop_done(struct ide_channel *ch, struct ide_drive *d, struct ide_regs *r, unsigned int flags)
{
	(void)d, (void)r, (void)flags;
	cmd_done(ch);
}

static void ata_check_power(struct ide_channel *ch, struct ide_drive *d, struct ide_regs *r, unsigned int flags)
{
	(void)d, (void)flags;
	r->nsector = 0xff;             /* active or idle */
	cmd_done(ch);
}

static void ata_diagnostic(struct ide_channel *ch, struct ide_drive *d, struct ide_regs *r, unsigned int flags)
{
	(void)d, (void)r, (void)flags;
	xfer_stop(ch);
	for (unsigned int dev = 0; dev < 2; dev++)
		set_signature(ch, dev);
	irq_raise(ch);
}

static void ata_device_reset(struct ide_channel *ch, struct ide_drive *d, struct ide_regs *r, unsigned int flags)
{
	(void)d, (void)r, (void)flags;
	xfer_stop(ch);
	set_signature(ch, ch->active_dev);
}

#define DISK ON_DISK
#define BOTH (ON_DISK | ON_CD)
static const struct ata_cmd ata_cmds[] = {
	{ 0x08, ON_CD, ata_device_reset },
	{ 0x10, DISK, ata_nop_done },                          /* RECALIBRATE */
	{ 0x20, DISK, ata_rw },                                /* READ SECTORS */
	{ 0x21, DISK, ata_rw },
	{ 0x24, DISK | RW_LBA48, ata_rw },
	{ 0x25, DISK | RW_LBA48 | RW_DMA, ata_rw },            /* READ DMA EXT */
	{ 0x29, DISK | RW_LBA48 | RW_MULTIPLE, ata_rw },
	{ 0x30, DISK | RW_WRITE, ata_rw },                     /* WRITE SECTORS */
	{ 0x31, DISK | RW_WRITE, ata_rw },
	{ 0x34, DISK | RW_WRITE | RW_LBA48, ata_rw },
	{ 0x35, DISK | RW_WRITE | RW_LBA48 | RW_DMA, ata_rw },
	{ 0x39, DISK | RW_WRITE | RW_LBA48 | RW_MULTIPLE, ata_rw },
	{ 0x40, DISK | RW_VERIFY, ata_rw },                    /* READ VERIFY */
	{ 0x41, DISK | RW_VERIFY, ata_rw },
	{ 0x42, DISK | RW_VERIFY | RW_LBA48, ata_rw },
	{ 0x70, DISK, ata_nop_done },                          /* SEEK */
	{ 0x90, BOTH, ata_diagnostic },
	{ 0x91, DISK, ata_init_params },
	{ 0x94, DISK, ata_nop_done }, { 0x95, DISK, ata_nop_done },  /* old STANDBY/IDLE IMMEDIATE */
	{ 0x96, DISK, ata_nop_done }, { 0x97, DISK, ata_nop_done },
	{ 0xa0, ON_CD, ata_packet },
	{ 0xa1, ON_CD, ata_identify_packet },
	{ 0xc4, DISK | RW_MULTIPLE, ata_rw },                  /* READ MULTIPLE */
	{ 0xc5, DISK | RW_WRITE | RW_MULTIPLE, ata_rw },
	{ 0xc6, DISK, ata_set_multiple },
	{ 0xc8, DISK | RW_DMA, ata_rw },                       /* READ DMA */
	{ 0xc9, DISK | RW_DMA, ata_rw },
	{ 0xca, DISK | RW_WRITE | RW_DMA, ata_rw },
	{ 0xcb, DISK | RW_WRITE | RW_DMA, ata_rw },
	{ 0xe0, BOTH, ata_nop_done }, { 0xe1, BOTH, ata_nop_done },   /* STANDBY/IDLE (IMMEDIATE) */
	{ 0xe2, BOTH, ata_nop_done }, { 0xe3, BOTH, ata_nop_done },
	{ 0xe5, BOTH, ata_check_power },
	{ 0xe7, BOTH, ata_flush },                             /* FLUSH CACHE */
	{ 0xea, DISK, ata_flush },
	{ 0xec, BOTH, ata_identify },
	{ 0xef, BOTH, ata_set_features },
};

static void ata_command(struct ide_channel *ch, uint8_t opcode)
{
	unsigned int dev = cur_dev(ch);
	struct ide_drive *d = &ch->drives[dev];

	/* An absent drive takes no command (EXECUTE DEVICE DIAGNOSTIC is for both: the master runs it). */
	if (!drive_present(ch, dev) && !(opcode == 0x90 && drive_present(ch, 0)))
		return;
	irq_lower(ch);
	xfer_stop(ch);
	ch->active_dev = (uint8_t)dev;
	for (size_t i = 0; i < sizeof(ata_cmds) / sizeof(ata_cmds[0]); i++) {
		const struct ata_cmd *c = &ata_cmds[i];
		if (c->opcode != opcode)
			continue;
		if (!(c->flags & (d->kind == HVM_DRIVE_CDROM ? ON_CD : ON_DISK)))
			break;
		c->run(ch, d, &ch->regs[dev], c->flags);
		return;
	}
	cmd_abort(ch);
}

/* ---- The task file ---- */

static uint8_t taskfile_read(struct ide_channel *ch, unsigned int reg, bool clear_irq)
{
	unsigned int dev = cur_dev(ch);
	const struct ide_regs *r = &ch->regs[dev];
	bool hob = ch->control & CTL_HOB;

	if (!drive_present(ch, 0) && !drive_present(ch, 1))
		return FLOATING;
	bool absent = !drive_present(ch, dev);
	switch (reg) {
	case REG_FEATURE: return hob ? r->hob_feature : r->error;
	case REG_NSECTOR: return hob ? r->hob_nsector : r->nsector;
	case REG_SECTOR:  return hob ? r->hob_sector : r->sector;
	case REG_LCYL:    return hob ? r->hob_lcyl : r->lcyl;
	case REG_HCYL:    return hob ? r->hob_hcyl : r->hcyl;
	case REG_SELECT:  return ch->select;
	default:
		if (clear_irq)
			irq_lower(ch);
		if (absent)
			return 0;
		return ch->control & CTL_SRST ? ST_BSY : r->status;
	}
}

static void taskfile_write(struct ide_channel *ch, unsigned int reg, uint8_t v)
{
	if (ch->control & CTL_SRST)
		return;                /* busy: registers are not taken */
	if (reg == REG_COMMAND) {
		ata_command(ch, v);
		return;
	}
	ch->control &= (uint8_t)~CTL_HOB;
	if (reg == REG_SELECT) {
		ch->select = v | SEL_OBSOLETE;
		return;
	}
	for (unsigned int dev = 0; dev < 2; dev++) {
		struct ide_regs *r = &ch->regs[dev];
		uint8_t *cur = reg == REG_FEATURE ? &r->feature : reg == REG_NSECTOR ? &r->nsector :
			       reg == REG_SECTOR ? &r->sector : reg == REG_LCYL ? &r->lcyl : &r->hcyl;
		uint8_t *hob = reg == REG_FEATURE ? &r->hob_feature : reg == REG_NSECTOR ? &r->hob_nsector :
			       reg == REG_SECTOR ? &r->hob_sector : reg == REG_LCYL ? &r->hob_lcyl : &r->hob_hcyl;
		*hob = *cur;
		*cur = v;
	}
}

static void control_write(struct ide_channel *ch, uint8_t v)
{
	bool was_reset = ch->control & CTL_SRST;

	ch->control = v & (CTL_NIEN | CTL_SRST | CTL_HOB);
	if (v & CTL_SRST) {
		if (!was_reset) {
			xfer_stop(ch);
			irq_lower(ch);
		}
	} else if (was_reset) {
		uint8_t nien = ch->control & CTL_NIEN;
		channel_reset(ch);
		ch->control = nien;
	}
	irq_update(ch);
}

static void channel_io(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write, uint8_t *data,
		       unsigned int size)
{
	struct ide_channel *ch = opaque;
	unsigned int reg = (unsigned int)(port - channel_base[ch->index]);
	(void)vcpu;

	pthread_mutex_lock(&ch->ctrl->lock);
	if (reg == REG_DATA) {
		if (!drive_present(ch, 0) && !drive_present(ch, 1)) {
			if (!is_write)
				memset(data, FLOATING, size);
		} else if (drive_present(ch, cur_dev(ch))) {
			data_port(ch, is_write, data, size);
		} else if (!is_write) {
			memset(data, 0, size);
		}
	} else if (is_write) {
		taskfile_write(ch, reg, data[0]);
	} else {
		data[0] = taskfile_read(ch, reg, true);
		memset(data + 1, 0, size - 1);
	}
	pthread_mutex_unlock(&ch->ctrl->lock);
}

/* Alternate status (reads, leaving the interrupt alone) and device control (writes). */
static void control_io(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write, uint8_t *data,
		       unsigned int size)
{
	struct ide_channel *ch = opaque;
	(void)vcpu, (void)port;

	pthread_mutex_lock(&ch->ctrl->lock);
	if (is_write) {
		control_write(ch, data[0]);
	} else {
		data[0] = taskfile_read(ch, REG_COMMAND, false);
		memset(data + 1, 0, size - 1);
	}
	pthread_mutex_unlock(&ch->ctrl->lock);
}

/* ---- The device ---- */

static int drive_open(struct ide_ctrl *c, struct ide_drive *d, const struct hvm_drive *cfg, unsigned int index,
		      char *err, size_t errlen)
{
	static const char names[HVM_IDE_DRIVES][4] = { "hda", "hdb", "hdc", "hdd" };
	bool cd = cfg->kind == HVM_DRIVE_CDROM;

	d->kind = cfg->kind;
	d->fd = -1;
	d->readonly = cd || cfg->readonly;
	snprintf(d->serial, sizeof(d->serial), "XN%05d%c%011u", c->dom->domid & 0xffff, 'A' + index, index);
	if (cfg->kind == HVM_DRIVE_NONE || (cd && !cfg->path[0]))
		return 0;
	if (!cfg->path[0]) {
		ERR_SET(err, errlen, "IDE disk %s has no image", names[index]);
		return -1;
	}
	d->fd = open(cfg->path, (d->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (d->fd < 0) {
		ERR_SET(err, errlen, "IDE %s %s: cannot open %s: %s", cd ? "CD-ROM" : "disk", names[index],
			cfg->path, strerror(errno));
		return -1;
	}
	off_t size = lseek(d->fd, 0, SEEK_END);
	if (size < 0) {
		ERR_SET(err, errlen, "IDE %s: cannot size %s: %s", names[index], cfg->path, strerror(errno));
		return -1;
	}
	/* A CD image's last partial sector still reads (as zeros past the end). */
	d->sectors = cd ? ((uint64_t)size + ATAPI_SECTOR - 1) / ATAPI_SECTOR : (uint64_t)size / IDE_SECTOR;
	return 0;
}

static void ide_teardown(struct domain *dom, void *state)
{
	struct ide_ctrl *c = state;
	(void)dom;

	if (!c)
		return;
	for (unsigned int i = 0; i < IDE_CHANNELS; i++) {
		for (unsigned int dev = 0; dev < 2; dev++)
			if (c->ch[i].drives[dev].fd >= 0)
				close(c->ch[i].drives[dev].fd);
		free(c->ch[i].buf);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int ide_init(struct domain *dom, void **state, char *err, size_t errlen)
{
	struct ide_ctrl *c = calloc(1, sizeof(*c));

	*state = NULL;
	if (!c) {
		ERR_SET(err, errlen, "out of memory for the IDE controller");
		return -1;
	}
	if (!dom->hvm) {
		free(c);
		ERR_SET(err, errlen, "the IDE controller belongs to HVM domains");
		return -1;
	}
	c->dom = dom;
	pthread_mutex_init(&c->lock, NULL);
	for (unsigned int i = 0; i < IDE_CHANNELS; i++) {
		struct ide_channel *ch = &c->ch[i];
		ch->ctrl = c;
		ch->index = i;
		ch->drives[0].fd = ch->drives[1].fd = -1;
		ch->buf = calloc(1, IDE_BUF_SIZE);
	}
	*state = c;
	for (unsigned int i = 0; i < IDE_CHANNELS; i++) {
		struct ide_channel *ch = &c->ch[i];
		if (!ch->buf) {
			ERR_SET(err, errlen, "out of memory for the IDE buffers");
			goto fail;
		}
		for (unsigned int dev = 0; dev < 2; dev++)
			if (drive_open(c, &ch->drives[dev], &dom->hvm->ide[i * 2 + dev], i * 2 + dev, err, errlen))
				goto fail;
		channel_reset(ch);
		for (unsigned int dev = 0; dev < 2; dev++)
			if (ch->drives[dev].kind != HVM_DRIVE_NONE)
				ch->bm_status |= (uint8_t)(0x20 << dev);   /* drive DMA capable */
	}
	/* Ports last: nothing reaches a half-made controller. */
	for (unsigned int i = 0; i < IDE_CHANNELS; i++) {
		if (io_bus_register(&dom->pio, i ? "ide1" : "ide0", channel_base[i], 8, channel_io, &c->ch[i]) ||
		    io_bus_register(&dom->pio, i ? "ide1-ctl" : "ide0-ctl", channel_ctl[i], 1, control_io, &c->ch[i])) {
			ERR_SET(err, errlen, "IDE channel %u: ports %#x-%#x or %#x are taken", i, channel_base[i],
				channel_base[i] + 7, channel_ctl[i]);
			goto fail;
		}
	}
	c->pci_info = (struct pci_device_info){
		.name = "piix3-ide", .vendor = 0x8086, .device = 0x7010,
		.prog_if = 0x80, .subclass = 0x01, .class_code = 0x01,  /* IDE, bus master, legacy ports */
		.bars[BM_BAR] = { .size = BM_BAR_SIZE, .io = true, .fn = ide_bus_master_io, .opaque = c },
	};
	if (dom->pci) {
		c->pci = pci_device_add(dom->pci, PIIX_IDE_SLOT, PIIX_IDE_FUNC, &c->pci_info, err, errlen);
		if (!c->pci)
			goto fail;
		/* Timing registers: primary/secondary (0x40-0x43), slave (0x44), UDMA (0x48, 0x4a-0x4b). */
		for (unsigned int r = 0x40; r <= 0x44; r++)
			c->pci->wmask[r] = 0xff;
		c->pci->wmask[0x48] = c->pci->wmask[0x4a] = c->pci->wmask[0x4b] = 0xff;
	}
	return 0;
fail:
	ide_teardown(dom, c);
	*state = NULL;
	return -1;
}

/* ---- Saved state ----
 * "IDE" v1; per channel: select, control, irq_pending, the bus master's registers, the command
 * in progress and the PIO block (up to SAVE_BLOCK_MAX bytes: a longer one is refused, with a log
 * line saying so); per drive: its kind (which must match the config), registers, sense, lock. */
#define SAVE_VERSION 1
#define SAVE_BLOCK_MAX 1024u

struct cursor {
	uint8_t *out;
	const uint8_t *in;
	size_t at, len;
	bool bad;
};

static void put(struct cursor *c, const void *p, size_t n)
{
	if (c->bad || c->len - c->at < n) {
		c->bad = true;
		return;
	}
	memcpy(c->out + c->at, p, n);
	c->at += n;
}

static void get(struct cursor *c, void *p, size_t n)
{
	if (c->bad || c->len - c->at < n) {
		c->bad = true;
		memset(p, 0, n);
		return;
	}
	memcpy(p, c->in + c->at, n);
	c->at += n;
}

/* One list of fields both ways, so save and restore cannot drift apart (B: a bool, checked). */
#define CHANNEL_FIELDS(X, B, ch)                                                                    \
	X(ch->select) X(ch->control) B(ch->irq_pending) X(ch->active_dev) X(ch->xfer) X(ch->pos) X(ch->len) X(ch->lba) \
	X(ch->remaining) X(ch->block) B(ch->lba48) X(ch->dma) X(ch->byte_limit) X(ch->reply_done)    \
	X(ch->reply.len) B(ch->reply.from_file) X(ch->reply.file_offset) X(ch->reply.file_len)      \
	X(ch->bm_cmd) X(ch->bm_status) X(ch->bm_prd)
#define DRIVE_FIELDS(X, B, d, r)                                                                    \
	X(d->kind) X(d->sense_key) X(d->asc) X(d->ascq) B(d->locked) X(*r)

static long ide_save(struct domain *dom, void *state, uint8_t *buf, size_t len)
{
	struct ide_ctrl *c = state;
	struct cursor cur = { .out = buf, .len = len };
	const uint8_t head[4] = { 'I', 'D', 'E', SAVE_VERSION };
	(void)dom;

	pthread_mutex_lock(&c->lock);
	put(&cur, head, sizeof(head));
	for (unsigned int i = 0; i < IDE_CHANNELS; i++) {
		struct ide_channel *ch = &c->ch[i];
		if (ch->len > SAVE_BLOCK_MAX) {
			LOG("IDE channel %u: a PIO block of %u bytes is in flight; cannot save mid-block", i, ch->len);
			pthread_mutex_unlock(&c->lock);
			return -1;
		}
#define PUT(f) put(&cur, &(f), sizeof(f));
#define PUTB(f) { uint8_t b_ = (f); put(&cur, &b_, 1); }
		CHANNEL_FIELDS(PUT, PUTB, ch)
		put(&cur, ch->buf, ch->len);
		put(&cur, ch->reply.data, ch->reply.len);
		for (unsigned int dev = 0; dev < 2; dev++) {
			struct ide_drive *d = &ch->drives[dev];
			struct ide_regs *r = &ch->regs[dev];
			DRIVE_FIELDS(PUT, PUTB, d, r)
		}
#undef PUT
#undef PUTB
	}
	pthread_mutex_unlock(&c->lock);
	return cur.bad ? -1 : (long)cur.at;
}

/* A channel as saved, checked before anything of the live one changes. */
struct staged_channel {
	struct ide_channel ch;
	struct ide_drive drives[2];
	struct ide_regs regs[2];
	uint8_t block[SAVE_BLOCK_MAX];
};

static int restore_channel(const struct ide_channel *live, struct staged_channel *s, struct cursor *cur,
			   char *err, size_t errlen)
{
	struct ide_channel *n = &s->ch;

	*n = *live;
#define GET(f) get(cur, &(f), sizeof(f));
#define GETB(f) { uint8_t b_; get(cur, &b_, 1); cur->bad |= b_ > 1; (f) = b_; }
	CHANNEL_FIELDS(GET, GETB, n)
	if (cur->bad || n->len > SAVE_BLOCK_MAX || n->pos > n->len || n->reply.len > ATAPI_REPLY_MAX ||
	    (unsigned int)n->xfer >= XFER_KINDS || (unsigned int)n->dma >= DMA_KINDS ||
	    n->reply_done > (n->reply.from_file ? n->reply.file_len : n->reply.len) ||
	    (n->xfer == XFER_NONE && n->len) || n->block > IDE_MAX_MULTIPLE || n->byte_limit > 0xfffe ||
	    (n->bm_prd & 3) || n->active_dev > 1) {
		ERR_SET(err, errlen, "channel %u: %s", live->index,
			cur->bad ? "the saved state is truncated or garbled"
				 : "the command in progress is not one this controller makes");
		return -1;
	}
	get(cur, s->block, n->len);
	get(cur, n->reply.data, n->reply.len);
	for (unsigned int dev = 0; dev < 2; dev++) {
		struct ide_drive *d = &s->drives[dev];
		struct ide_regs *r = &s->regs[dev];
		*d = live->drives[dev];
		DRIVE_FIELDS(GET, GETB, d, r)
		if (cur->bad)
			break;
		if (d->kind != live->drives[dev].kind || r->mult > IDE_MAX_MULTIPLE || !r->heads ||
		    r->heads > 16 || !r->spt) {
			ERR_SET(err, errlen, "channel %u drive %u: the saved drive is not the configured one",
				live->index, dev);
			return -1;
		}
	}
#undef GET
#undef GETB
	if (cur->bad) {
		ERR_SET(err, errlen, "channel %u: the saved state is truncated or garbled", live->index);
		return -1;
	}
	/* What is in flight must still lie on the medium (which may have changed under its name). */
	const struct ide_drive *sel = &s->drives[n->active_dev];
	uint64_t bytes = sel->sectors * (sel->kind == HVM_DRIVE_CDROM ? ATAPI_SECTOR : IDE_SECTOR);
	if (n->reply.from_file && (n->reply.file_offset > bytes || n->reply.file_len > bytes - n->reply.file_offset)) {
		ERR_SET(err, errlen, "channel %u: the saved CD read lies beyond the medium", live->index);
		return -1;
	}
	bool ata = n->dma == DMA_ATA_READ || n->dma == DMA_ATA_WRITE || n->xfer == XFER_ATA_IN ||
		   n->xfer == XFER_ATA_OUT;
	if (ata && (n->lba > sel->sectors || n->remaining > sel->sectors - n->lba ||
		    n->len / IDE_SECTOR > n->remaining || n->len % IDE_SECTOR ||
		    (n->xfer != XFER_NONE && !n->block))) {
		ERR_SET(err, errlen, "channel %u: the saved transfer does not fit the disk", live->index);
		return -1;
	}
	n->irq_line = live->irq_line;
	memcpy(n->drives, s->drives, sizeof(s->drives));
	memcpy(n->regs, s->regs, sizeof(s->regs));
	return 0;
}

static int ide_restore(struct domain *dom, void *state, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct ide_ctrl *c = state;
	struct cursor cur = { .in = buf, .len = len };
	struct staged_channel *staged = calloc(IDE_CHANNELS, sizeof(*staged));
	uint8_t head[4];
	int rc = 0;
	(void)dom;

	if (!staged) {
		ERR_SET(err, errlen, "out of memory restoring the IDE controller");
		return -1;
	}
	get(&cur, head, sizeof(head));
	if (cur.bad || memcmp(head, "IDE", 3) || head[3] != SAVE_VERSION) {
		ERR_SET(err, errlen, "not a saved IDE controller of version %d", SAVE_VERSION);
		free(staged);
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	for (unsigned int i = 0; i < IDE_CHANNELS && !rc; i++)
		rc = restore_channel(&c->ch[i], &staged[i], &cur, err, errlen);
	if (!rc && cur.at != len) {
		ERR_SET(err, errlen, "%zu bytes of saved IDE state left over", len - cur.at);
		rc = -1;
	}
	for (unsigned int i = 0; i < IDE_CHANNELS && !rc; i++) {
		struct ide_channel *ch = &c->ch[i];
		*ch = staged[i].ch;
		memcpy(ch->buf, staged[i].block, ch->len);
		irq_update(ch);
	}
	pthread_mutex_unlock(&c->lock);
	free(staged);
	return rc;
}

const struct device_ops ide_device = {
	.name = "piix3-ide", .init = ide_init, .teardown = ide_teardown, .save = ide_save,
	.restore = ide_restore,
};
