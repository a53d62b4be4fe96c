/* PCI bus 0 of an HVM domain (docs/hvm.md): configuration mechanism #1 on ports 0xcf8-0xcff, each
 * function's 256-byte configuration space, BARs, and INTx routed through PIIX3's PIRQ registers.
 *
 * The bus claims two windows on the domain's buses at init, the PCI I/O window (ports
 * PCI_IO_WINDOW_BASE..+LEN) and the MMIO hole (PCI_MMIO_WINDOW_BASE..+LEN, below the IO-APIC), and
 * decodes BARs inside them itself: the firmware moves BARs as it likes, and the domain's io_bus
 * tables never change after build.  A BAR decodes only while its space is enabled in the command
 * register and its address lies wholly inside its window; an access no BAR decodes reads as all
 * ones, as an unclaimed bus cycle does.
 *
 * Every config-space access from the guest is checked: offsets beyond 255, sizes other than 1, 2
 * or 4, unaligned dwords, functions that do not exist (vendor 0xffff), and writes to read-only bits
 * (each byte has a write mask) change nothing.  A device's own registers (PIIX3's PIRQ routes,
 * i440FX's PAM, the IDE timing registers) are plain masked bytes unless it adds hooks.
 *
 * Devices are rows of the HVM device table (hw/devices.c, `hvm_devices`); the bus is the first
 * row, and each PCI device's init adds itself with pci_device_add. */
#ifndef XENITH_PCI_H
#define XENITH_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vmm/io.h"

struct domain;
struct pci_bus;
struct pci_device;

#define PCI_SLOTS 32
#define PCI_FUNCS 8
#define PCI_CONFIG_SIZE 256
#define PCI_BARS 6
#define PCI_CONFIG_ADDRESS_PORT 0xcf8     /* 4 bytes */
#define PCI_CONFIG_DATA_PORT 0xcfc        /* 4 bytes */
#define PCI_IO_WINDOW_BASE 0xc000u
#define PCI_IO_WINDOW_LEN 0x4000u
#define PCI_MMIO_WINDOW_BASE 0xc0000000ull    /* GUEST_LOW_RAM_MAX: RAM beyond moves above 4 GiB */
#define PCI_MMIO_WINDOW_LEN 0x3ec00000ull     /* up to the IO-APIC at 0xfec00000 */

/* Standard config-space offsets used across devices (Linux's and QEMU's names). */
enum {
	PCI_VENDOR_ID = 0x00, PCI_DEVICE_ID = 0x02, PCI_COMMAND = 0x04, PCI_STATUS = 0x06,
	PCI_REVISION_ID = 0x08, PCI_CLASS_PROG = 0x09, PCI_CLASS_DEVICE = 0x0a, PCI_HEADER_TYPE = 0x0e,
	PCI_BASE_ADDRESS_0 = 0x10, PCI_SUBSYSTEM_VENDOR_ID = 0x2c, PCI_SUBSYSTEM_ID = 0x2e,
	PCI_ROM_ADDRESS = 0x30, PCI_INTERRUPT_LINE = 0x3c, PCI_INTERRUPT_PIN = 0x3d,
};
enum { PCI_COMMAND_IO = 1 << 0, PCI_COMMAND_MEMORY = 1 << 1, PCI_COMMAND_MASTER = 1 << 2,
       PCI_COMMAND_INTX_DISABLE = 1 << 10 };
#define PCI_STATUS_INTERRUPT (1 << 3)

struct pci_bar {
	uint32_t size;                 /* a power of two, at least 16 (I/O: 4); 0: no BAR here */
	bool io;                       /* I/O space; else 32-bit non-prefetchable memory */
	io_handler_fn fn;              /* an access: addr is the offset within the BAR */
	void *opaque;
};

/* What a device is: its identity, BARs, interrupt pin and optional hooks. */
struct pci_device_info {
	const char *name;              /* "piix3-ide": messages and saved state */
	uint16_t vendor, device, subsystem_vendor, subsystem;
	uint8_t revision, prog_if, subclass, class_code;
	uint8_t header_type;           /* 0, or 0x80 for function 0 of a multi-function device */
	uint8_t irq_pin;               /* 1..4 = INTA..INTD; 0: none */
	struct pci_bar bars[PCI_BARS];
	/* Optional: a device's own registers.  Called after the masked write landed in config[]
	 * (old value given), so a hook only reacts. */
	void (*config_written)(struct pci_device *dev, unsigned int offset, unsigned int size,
			       uint32_t old_value, void *opaque);
	void *opaque;
};

struct pci_device {
	struct pci_bus *bus;
	uint8_t devfn;                 /* slot << 3 | function */
	const struct pci_device_info *info;
	uint8_t config[PCI_CONFIG_SIZE];
	uint8_t wmask[PCI_CONFIG_SIZE];    /* writable bits per byte (BARs: as their size allows) */
	bool irq_level;                /* the device's INTx line as it drives it */
};

/* The bus of the domain (dom->pci): made by the `pci` row of the HVM device table.  `lock` guards
 * the config spaces, the routes and the INTx levels (vCPUs and the main loop's devices both reach
 * them); it is never held while a device's BAR handler or config hook runs, so a device may take
 * its own lock and then raise its INTx without an order to keep. */
struct pci_bus {
	pthread_mutex_t lock;
	struct domain *dom;
	uint32_t config_address;       /* what the guest last wrote to 0xcf8 */
	struct pci_device *devices[PCI_SLOTS * PCI_FUNCS];
	/* INTx routing: PIIX3's PIRQ[A-D] route registers (config 0x60-0x63 of 00:01.0), bit 7 set:
	 * disabled.  Set by pci_set_pirq_route from PIIX3's row. */
	uint8_t pirq_route[4];
	unsigned int pirq_level[4];    /* devices asserting each PIRQ line */
};

/* ---- The bus ---- */
int pci_bus_init(struct pci_bus *bus, struct domain *dom, char *err, size_t errlen);
void pci_bus_teardown(struct pci_bus *bus);
/* Adds a function at slot/func with its info (which must outlive it): config space filled from
 * info (IDs, class, header type, pin, BAR size masks), command 0.  NULL with err (taken, out of
 * range, bad BAR size). */
struct pci_device *pci_device_add(struct pci_bus *bus, unsigned int slot, unsigned int func,
				  const struct pci_device_info *info, char *err, size_t errlen);
/* Config-space access as the guest makes it through 0xcf8/0xcfc (and tests directly). */
uint32_t pci_config_read(struct pci_bus *bus, unsigned int devfn, unsigned int offset, unsigned int size);
void pci_config_write(struct pci_bus *bus, unsigned int devfn, unsigned int offset, unsigned int size,
		      uint32_t value);
/* Where BAR `bar` decodes now (I/O port or guest-physical address), or UINT64_MAX while it does
 * not (no BAR, decoding off, outside its window). */
uint64_t pci_bar_address(const struct pci_device *dev, unsigned int bar);

/* ---- Interrupts ---- */
/* The device drives its INTx pin (level-triggered): the bus follows the slot's swizzle, as SeaBIOS
 * programs interrupt lines ((pin - 1 + slot - 1) mod 4 for INTA..INTD = pin 1..4), to a PIRQ line and PIIX3's route to an ISA IRQ, and raises it on the domain's
 * interrupt router (hw/irq.h) while any device asserts that line.  Honours INTX_DISABLE and keeps
 * the status register's interrupt bit. */
void pci_device_set_irq(struct pci_device *dev, bool level);
/* PIIX3's row tells the bus a PIRQ route changed (re-asserts lines on their new IRQ). */
void pci_set_pirq_route(struct pci_bus *bus, unsigned int pirq, uint8_t route);

/* ---- Saved state (a device_ops save/restore pair in pci.c uses these) ---- */
/* Every function's config space and INTx level, and the bus's address latch. */
long pci_bus_save(const struct pci_bus *bus, uint8_t *buf, size_t len);
int pci_bus_restore(struct pci_bus *bus, const uint8_t *buf, size_t len, char *err, size_t errlen);

#endif
