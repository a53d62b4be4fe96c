/* The PIIX3 IDE controller (hw/ide.c) and its ATAPI CD-ROM commands (hw/atapi.c): what the two
 * files share, and what the device table and tests reach.
 *
 * A drive is a disk (512-byte sectors) or a CD-ROM (2048-byte sectors, maybe without a medium),
 * backed by an image file read and written with pread/pwrite on the vCPU thread that asked. */
#ifndef XENITH_HW_IDE_H
#define XENITH_HW_IDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hw/device.h"
#include "hw/hvm_config.h"

struct vcpu;

#define IDE_SECTOR 512u
#define ATAPI_SECTOR 2048u
#define ATAPI_CDB_LEN 12u
#define ATAPI_REPLY_MAX 512u

/* SCSI sense keys and additional sense codes the CD-ROM reports. */
enum {
	SENSE_NONE = 0x0, SENSE_NOT_READY = 0x2, SENSE_ILLEGAL_REQUEST = 0x5, SENSE_UNIT_ATTENTION = 0x6,
};
enum {
	ASC_INVALID_OPCODE = 0x20, ASC_LBA_OUT_OF_RANGE = 0x21, ASC_INVALID_FIELD_IN_CDB = 0x24,
	ASC_SAVING_NOT_SUPPORTED = 0x39, ASC_MEDIUM_NOT_PRESENT = 0x3a, ASC_REMOVAL_PREVENTED = 0x53,
};

struct ide_drive {
	enum hvm_drive_kind kind;      /* HVM_DRIVE_NONE: nobody there */
	int fd;                        /* the image; -1 for an absent drive or an empty tray */
	bool readonly;
	uint64_t sectors;              /* in the drive's own sectors (512 or 2048 bytes) */
	char serial[21];
	/* ATAPI: the sense of the last command (REQUEST SENSE reports and clears it). */
	uint8_t sense_key, asc, ascq;
	bool locked;                   /* PREVENT MEDIUM REMOVAL */
};

/* What an ATAPI command answers: `len` bytes of `data`, or `file_len` bytes of the medium from
 * byte `file_offset` (READ), already cut to the CDB's allocation length. */
struct atapi_reply {
	uint8_t data[ATAPI_REPLY_MAX];
	size_t len;
	bool from_file;
	uint64_t file_offset, file_len;
};

/* Runs one packet command on a CD-ROM: 0 (reply filled, sense cleared), or -1 with the drive's
 * sense set (the caller reports CHECK CONDITION). */
int atapi_command(struct ide_drive *d, const uint8_t cdb[ATAPI_CDB_LEN], struct atapi_reply *reply);
/* The sense the drive reports next (tests and the PACKET error path). */
void atapi_set_sense(struct ide_drive *d, uint8_t key, uint8_t asc, uint8_t ascq);

/* The bus-master block at BAR4 (16 bytes: primary at 0, secondary at 8), as the PCI bus calls
 * it with `addr` the offset in the BAR and `opaque` the device's state. */
void ide_bus_master_io(void *opaque, struct vcpu *vcpu, uint64_t addr, bool is_write, uint8_t *data,
		       unsigned int size);

/* The device table's row (hw/devices.c): reads dom->hvm->ide[] at init, adds 00:01.1 to dom->pci
 * when the domain has a bus. */
extern const struct device_ops ide_device;

#endif
