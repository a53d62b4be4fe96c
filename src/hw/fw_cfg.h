/* QEMU's firmware configuration interface (fw_cfg) on ports 0x510-0x51b, which SeaBIOS reads on an
 * HVM domain: numbered items (signature, RAM size, CPU counts, ...) and named files listed in a
 * directory item, read a byte at a time through the data port or copied into guest RAM by DMA.
 *
 *   0x510  selector, 16-bit write: picks an item and rewinds it
 *   0x511  data, 8-bit read: the next byte of the item (zeros past its end or for no item)
 *   0x514  DMA address, big-endian 64-bit: the high half written first (optional), then the low
 *          half at 0x518, whose write runs the transfer; reads give "QEMU CFG"
 *
 * A DMA descriptor is { be32 control, be32 length, be64 address } in guest RAM; control bits:
 * FW_CFG_DMA_* below, the item to select in bits 16-31.  When the transfer ends, control is written
 * back as 0, or as FW_CFG_DMA_ERROR alone when it failed (a buffer outside RAM, a write: no item is
 * writable here); a failed transfer writes nothing into guest RAM.
 *
 * Items hold copies of what they were given; everything is built before the vCPUs run, and the
 * guest-visible state (selector, offset, a half-written DMA address) is what save/restore keeps. */
#ifndef XENITH_FW_CFG_H
#define XENITH_FW_CFG_H

#include <stddef.h>
#include <stdint.h>

struct domain;

#define FW_CFG_PORT_SELECTOR 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_PORT_DMA 0x514           /* 8 bytes: high half at 0x514, low half at 0x518 */
#define FW_CFG_DMA_SIGNATURE "QEMU CFG"

/* Item numbers (QEMU's), as the selector takes them. */
enum {
	FW_CFG_SIGNATURE = 0x00,        /* "QEMU" */
	FW_CFG_ID = 0x01,               /* le32 FW_CFG_ID_* */
	FW_CFG_UUID = 0x02,             /* 16 bytes */
	FW_CFG_RAM_SIZE = 0x03,         /* le64 */
	FW_CFG_NB_CPUS = 0x05,          /* le16: vCPUs online at boot */
	FW_CFG_MAX_CPUS = 0x0f,         /* le16: vCPUs the firmware should describe */
	FW_CFG_FILE_DIR = 0x19,         /* be32 count, then struct fw_cfg_dir_entry each */
	FW_CFG_FILE_FIRST = 0x20,       /* files take items from here in the order they are added */
	FW_CFG_WRITE_CHANNEL = 0x4000,  /* selector bit: the guest means to write (ignored) */
	FW_CFG_ARCH_LOCAL = 0x8000,     /* x86 items follow */
	FW_CFG_IRQ0_OVERRIDE = FW_CFG_ARCH_LOCAL + 2,   /* le32: 1 when ISA IRQ 0 is GSI 2 */
};
enum { FW_CFG_ID_TRADITIONAL = 1 << 0, FW_CFG_ID_DMA = 1 << 1 };
enum {
	FW_CFG_DMA_ERROR = 1 << 0,
	FW_CFG_DMA_READ = 1 << 1,
	FW_CFG_DMA_SKIP = 1 << 2,
	FW_CFG_DMA_SELECT = 1 << 3,
	FW_CFG_DMA_WRITE = 1 << 4,
};

#define FW_CFG_NAME_MAX 56              /* a file name with its NUL */
#define FW_CFG_FILES_MAX 32
#define FW_CFG_ITEMS_MAX 16             /* numbered items besides the files and the directory */
#define FW_CFG_DIR_ENTRY_SIZE 64        /* be32 size, be16 select, be16 reserved, char name[56] */

struct fw_cfg;

/* An empty interface for `dom` (signature, ID and an empty directory), not yet on its ports;
 * NULL when out of memory. */
struct fw_cfg *fw_cfg_new(struct domain *dom);
void fw_cfg_free(struct fw_cfg *cfg);
/* Claims ports 0x510-0x511 and 0x514-0x51b on dom->pio: 0, or -1 with err. */
int fw_cfg_attach(struct fw_cfg *cfg, char *err, size_t errlen);
/* A numbered item (not a file, not the directory), replacing one of that number: 0, or -EINVAL
 * (a number the interface keeps for itself), -ENOSPC, -ENOMEM. */
int fw_cfg_add_item(struct fw_cfg *cfg, uint16_t key, const void *data, uint32_t len);
/* A named file, listed in the directory: 0, or -EINVAL (empty name or FW_CFG_NAME_MAX bytes or
 * more), -EEXIST, -ENOSPC, -ENOMEM. */
int fw_cfg_add_file(struct fw_cfg *cfg, const char *name, const void *data, uint32_t len);

/* The state the guest can see move: u8 version, le16 selector, le32 offset, le64 DMA address. */
#define FW_CFG_STATE_VERSION 1
#define FW_CFG_STATE_SIZE 15
long fw_cfg_save(struct fw_cfg *cfg, uint8_t *buf, size_t len);
/* Back from fw_cfg_save's bytes, checked against this interface's items: 0, or -1 with err. */
int fw_cfg_restore(struct fw_cfg *cfg, const uint8_t *buf, size_t len, char *err, size_t errlen);

/* ---- What an HVM domain's firmware finds there (hw/fw_cfg_pc.c) ---- */
struct vm;
struct hvm_config;

/* bootorder: one OpenFirmware path per line in c->boot's order (disks for c, CD-ROMs for d,
 * NICs for n), without a NUL at the end.  Returns its length (0: nothing to say), or -1 when it
 * does not fit in len bytes with a NUL. */
#define FW_CFG_BOOTORDER_MAX 1024
int fw_cfg_pc_bootorder(const struct hvm_config *c, char *buf, size_t len);

/* The device row (hw/fw_cfg_pc.c) and how other devices reach its interface, e.g. to add a
 * file of their own at init (rows after it): NULL when the domain has none. */
extern const struct device_ops fw_cfg_device;
struct fw_cfg *fw_cfg_of(struct domain *dom);

#endif
