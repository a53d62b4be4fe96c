/* The packet commands of the ATAPI CD-ROM (MMC): what SeaBIOS's El Torito boot, GRUB and an
 * operating system's cdrom driver send.  One row per opcode; a command needing a medium fails
 * NOT READY / MEDIUM NOT PRESENT on an empty tray before its handler runs.  Every CDB field is
 * the guest's: lengths and addresses are checked against the medium, replies cut to the
 * allocation length.  The controller (hw/ide.c) moves the reply by PIO or DMA. */
#include <string.h>
#include "hw/ide.h"

#define CD_PROFILE_CDROM 0x0008
#define CD_LEADIN_FRAMES 150u          /* MSF addresses count from 00:02:00 */

static void put_be16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v & 0xffff);
}
static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p) { return be16(p) << 16 | be16(p + 2); }

void atapi_set_sense(struct ide_drive *d, uint8_t key, uint8_t asc, uint8_t ascq)
{
	d->sense_key = key;
	d->asc = asc;
	d->ascq = ascq;
}

static int illegal(struct ide_drive *d, uint8_t asc)
{
	atapi_set_sense(d, SENSE_ILLEGAL_REQUEST, asc, 0);
	return -1;
}

static bool has_medium(const struct ide_drive *d)
{
	return d->fd >= 0;
}

/* The reply is the first `len` bytes of data, no more than the guest allows. */
static void reply_cut(struct atapi_reply *r, size_t len, size_t alloc)
{
	r->len = len < alloc ? len : alloc;
}

static int cmd_test_unit_ready(struct ide_drive *d, const uint8_t *cdb, struct atapi_reply *r)
{
	(void)d, (void)cdb, (void)r;
	return 0;
}

static int cmd_request_sense(struct ide_drive *d, const uint8_t *cdb, struct atapi_reply *r)
{
	r->data[0] = 0x70;             /* current error, fixed format */
	r->data[2] = d->sense_key;
	r->data[7] = 10;               /* additional length */
	r->data[12] = d->asc;
	r->data[13] = d->ascq;
	reply_cut(r, 18, cdb[4]);
	return 0;
}

static void put_text(uint8_t *p, const char *s, size_t n)
{
	size_t l = strlen(s);
	memset(p, ' ', n);
	memcpy(p, s, l < n ? l : n);
}

static int cmd_inquiry(struct ide_drive *d, const uint8_t *cdb, struct atapi_reply *r)
{
	(void)d;
	if (cdb[1] & 1)                /* vital product data pages: none */
		return illegal(d, ASC_INVALID_FIELD_IN_CDB);
	r->data[0] = 0x05;             /* CD/DVD device */
	r->data[1] = 0x80;             /* removable */
	r->data[2] = 0x00;
	r->data[3] = 0x21;             /* ATAPI, response format 1 */
	r->data[4] = 31;               /* additional length */
	put_text(r->data + 8, "XENITH", 8);
	put_text(r->data + 16, "CD-ROM", 16);
	put_text(r->data + 32, "1.0", 4);
	reply_cut(r, 36, be16(cdb + 3));
	return 0;
}

static int cmd_read_capacity(struct ide_drive *d, const uint8_t *cdb, struct atapi_reply *r)
{
	(void)cdb;
	uint64_t last = d->sectors ? d->sectors - 1 : 0;
	put_be32(r->data, last > UINT32_MAX ? UINT32_MAX : (uint32_t)last);
	put_be32(r->data + 4, ATAPI_SECTOR);
	r->len = 8;
	return 0;
}

static int read_sectors(struct ide_drive *d, uint64_t lba, uint64_t count, struct atapi_reply *r)
{
	if (lba > d->sectors || count > d->sectors - lba)
		return illegal(d, ASC_LBA_OUT_OF_RANGE);
	r->from_file = true;
	r->file_offset = lba * ATAPI_SECTOR;
	r->file_len = count * ATAPI_SECTOR;
	return 0;
}

static int cmd_read10(struct ide_drive *d, const uint8_t *cdb, struct atapi_reply *r)
{
	return read_sectors(d, be32(cdb + 2), be16(cdb + 7), r);
}

static int cmd_read12(struct ide_drive *d, const uint8_t *cdb, struct atapi_reply *r)
{
	return read_sectors(d, be32(cdb + 2), be32(cdb + 6), r);
}

/* Mode pages: the capabilities page (0x2a) firmware and drivers read, and error recovery (0x01). */
static size_t page_error_recovery(const struct ide_drive *d, uint8_t *p)
{
	(void)d;
	memset(p, 0, 8);
	p[0] = 0x01;
	p[1] = 6;
	p[3] = 5;                      /* read retry count */
	return 8;
}

static size_t page_capabilities(const struct ide_drive *d, uint8_t *p)
{
	memset(p, 0, 20);
	p[0] = 0x2a;
	p[1] = 18;
	p[4] = 0x71;                   /* audio play, mode 2 form 1 and 2, multi-session */
	p[5] = 0x01;                   /* CD-DA commands */
	p[6] = 0x20 | 0x08 | 0x01 | (d->locked ? 0x02 : 0);  /* tray, eject, lock (and its state) */
	put_be16(p + 8, 706);          /* maximum speed, kB/s (4x) */
	put_be16(p + 10, 256);         /* volume levels */
	put_be16(p + 12, 512);         /* buffer, KiB */
	put_be16(p + 14, 706);         /* current speed */
	return 20;
}

static const struct {
	uint8_t code;
	size_t (*fill)(const struct ide_drive *d, uint8_t *p);
} mode_pages[] = {
	{ 0x01, page_error_recovery },
	{ 0x2a, page_capabilities },
};

static int cmd_mode_sense10(struct ide_drive *d, const uint8_t *cdb, struct atapi_reply *r)
{
	unsigned int control = cdb[2] >> 6, code = cdb[2] & 0x3f;
	size_t at = 8;

	if (control == 3)
		return illegal(d, ASC_SAVING_NOT_SUPPORTED);
	for (size_t i = 0; i < sizeof(mode_pages) / sizeof(mode_pages[0]); i++)
		if (code == 0x3f || code == mode_pages[i].code)
			at += mode_pages[i].fill(d, r->data + at);
	if (at == 8)
		return illegal(d, ASC_INVALID_FIELD_IN_CDB);
	put_be16(r->data, (uint32_t)(at - 2));
	r->data[2] = has_medium(d) ? 0x01 : 0x70;   /* medium type: data CD, or "no disc" */
	reply_cut(r, at, be16(cdb + 7));
	return 0;
}

static int cmd_get_configuration(struct ide_drive *d, const uint8_t *cdb, struct atapi_reply *r)
{
	uint8_t *p = r->data;
	unsigned int rt = cdb[1] & 3;
	uint32_t start = be16(cdb + 2);
	size_t at = 8;

	if (rt == 3)
		return illegal(d, ASC_INVALID_FIELD_IN_CDB);
	put_be16(p + 6, has_medium(d) ? CD_PROFILE_CDROM : 0);
	if (start == 0) {              /* profile list: a CD-ROM drive */
		put_be16(p + at, 0x0000);
		p[at + 2] = 0x03;      /* persistent, current */
		p[at + 3] = 4;
		put_be16(p + at + 4, CD_PROFILE_CDROM);
		p[at + 6] = has_medium(d) ? 1 : 0;
		at += 8;
	}
	if (start <= 1 && !(rt == 2 && start != 1)) {   /* core: ATAPI interface */
		put_be16(p + at, 0x0001);
		p[at + 2] = 0x03 | 0x04;   /* version 1 */
		p[at + 3] = 8;
		put_be32(p + at + 4, 2);
		at += 12;
	}
	put_be32(p, (uint32_t)(at - 4));
	reply_cut(r, at, be16(cdb + 7));
	return 0;
}

static void put_address(uint8_t *p, uint32_t lba, bool msf)
{
	if (!msf) {
		put_be32(p, lba);
		return;
	}
	uint32_t f = lba + CD_LEADIN_FRAMES;
	p[0] = 0;
	p[1] = (uint8_t)(f / (75 * 60));
	p[2] = (uint8_t)(f / 75 % 60);
	p[3] = (uint8_t)(f % 75);
}

static int cmd_read_toc(struct ide_drive *d, const uint8_t *cdb, struct atapi_reply *r)
{
	bool msf = cdb[1] & 2;
	unsigned int format = cdb[2] & 0x0f, track = cdb[6];
	uint32_t leadout = d->sectors > UINT32_MAX - CD_LEADIN_FRAMES ? UINT32_MAX - CD_LEADIN_FRAMES
								     : (uint32_t)d->sectors;
	uint8_t *p = r->data;
	size_t at = 4;

	if (!format)
		format = cdb[9] >> 6;  /* the older drives' place for it */
	p[2] = 1;                      /* first and last track (session) */
	p[3] = 1;
	switch (format) {
	case 0:                        /* the TOC: one data track and the lead-out */
		if (track > 1 && track != 0xaa)
			return illegal(d, ASC_INVALID_FIELD_IN_CDB);
		if (track <= 1) {
			p[at + 1] = 0x14;      /* ADR 1, data track */
			p[at + 2] = 1;
			put_address(p + at + 4, 0, msf);
			at += 8;
		}
		p[at + 1] = 0x14;
		p[at + 2] = 0xaa;
		put_address(p + at + 4, leadout, msf);
		at += 8;
		break;
	case 1:                        /* session information: track 1 opens the only session */
		p[at + 1] = 0x14;
		p[at + 2] = 1;
		put_address(p + at + 4, 0, msf);
		at += 8;
		break;
	default:
		return illegal(d, ASC_INVALID_FIELD_IN_CDB);
	}
	put_be16(p, (uint32_t)(at - 2));
	reply_cut(r, at, be16(cdb + 7));
	return 0;
}

static int cmd_get_event_status(struct ide_drive *d, const uint8_t *cdb, struct atapi_reply *r)
{
	uint8_t *p = r->data;

	if (!(cdb[1] & 1))             /* only polled operation */
		return illegal(d, ASC_INVALID_FIELD_IN_CDB);
	p[3] = 0x10;                   /* supported classes: media */
	if (cdb[4] & 0x10) {
		put_be16(p, 6);
		p[2] = 0x04;           /* media class */
		p[4] = 0;              /* no change */
		p[5] = has_medium(d) ? 0x02 : 0;
		reply_cut(r, 8, be16(cdb + 7));
	} else {
		put_be16(p, 2);
		p[2] = 0x80;           /* no event available */
		reply_cut(r, 4, be16(cdb + 7));
	}
	return 0;
}

static int cmd_start_stop(struct ide_drive *d, const uint8_t *cdb, struct atapi_reply *r)
{
	(void)r;
	bool load_eject = cdb[4] & 2, start = cdb[4] & 1;
	if (load_eject && !start && d->locked) {
		atapi_set_sense(d, SENSE_ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED, 0x02);
		return -1;
	}
	return 0;                      /* the tray is not modelled: the medium stays */
}

static int cmd_prevent_allow(struct ide_drive *d, const uint8_t *cdb, struct atapi_reply *r)
{
	(void)r;
	d->locked = cdb[4] & 1;
	return 0;
}

static int cmd_read_disc_info(struct ide_drive *d, const uint8_t *cdb, struct atapi_reply *r)
{
	uint8_t *p = r->data;

	if (cdb[1] & 7)                /* only the standard disc information */
		return illegal(d, ASC_INVALID_FIELD_IN_CDB);
	memset(p, 0, 34);
	put_be16(p, 32);
	p[2] = 0x0e;                   /* last session complete, disc finalized */
	p[3] = 1;                      /* first track */
	p[4] = 1;                      /* sessions */
	p[5] = 1;                      /* first and last track of the last session */
	p[6] = 1;
	reply_cut(r, 34, be16(cdb + 7));
	return 0;
}

static int cmd_set_cd_speed(struct ide_drive *d, const uint8_t *cdb, struct atapi_reply *r)
{
	(void)d, (void)cdb, (void)r;
	return 0;
}

static const struct atapi_cmd {
	uint8_t opcode;
	bool needs_medium;
	int (*run)(struct ide_drive *d, const uint8_t *cdb, struct atapi_reply *r);
} atapi_cmds[] = {
	{ 0x00, true,  cmd_test_unit_ready },
	{ 0x03, false, cmd_request_sense },
	{ 0x12, false, cmd_inquiry },
	{ 0x1b, false, cmd_start_stop },
	{ 0x1e, false, cmd_prevent_allow },
	{ 0x25, true,  cmd_read_capacity },
	{ 0x28, true,  cmd_read10 },
	{ 0x43, true,  cmd_read_toc },
	{ 0x46, false, cmd_get_configuration },
	{ 0x4a, false, cmd_get_event_status },
	{ 0x51, true,  cmd_read_disc_info },
	{ 0x5a, false, cmd_mode_sense10 },
	{ 0xa8, true,  cmd_read12 },
	{ 0xbb, false, cmd_set_cd_speed },
};

int atapi_command(struct ide_drive *d, const uint8_t cdb[ATAPI_CDB_LEN], struct atapi_reply *reply)
{
	const struct atapi_cmd *cmd = NULL;

	memset(reply, 0, sizeof(*reply));
	for (size_t i = 0; i < sizeof(atapi_cmds) / sizeof(atapi_cmds[0]); i++)
		if (atapi_cmds[i].opcode == cdb[0])
			cmd = &atapi_cmds[i];
	if (!cmd)
		return illegal(d, ASC_INVALID_OPCODE);
	if (cmd->needs_medium && !has_medium(d)) {
		atapi_set_sense(d, SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT, 0);
		return -1;
	}
	if (cmd->run(d, cdb, reply)) {
		memset(reply, 0, sizeof(*reply));
		return -1;
	}
	/* A good command leaves no sense (REQUEST SENSE reported the last one: now it is gone). */
	atapi_set_sense(d, SENSE_NONE, 0, 0);
	return 0;
}
