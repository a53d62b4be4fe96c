/* 00:00.0, the i440FX host bridge (8086:1237 rev 2).  Firmware finds the chipset by its IDs and
 * then writes the PAM registers (0x59-0x5f: who answers reads and writes of 0xc0000-0xfffff) and
 * SMRAM (0x72).  The BIOS area is always RAM here (vmm/hvm_firmware.c), so these stay plain bytes
 * that read back what was written: nothing moves when they change. */
#include <stdlib.h>
#include "hw/device.h"
#include "hw/pci.h"
#include "lib/error.h"
#include "vmm/domain.h"

#define I440FX_PAM0 0x59
#define I440FX_PAM6 0x5f
#define I440FX_SMRAM 0x72
#define I440FX_SMRAM_DEFAULT 0x02      /* C_BASE_SEG: SMRAM at 0xa0000, hard-wired */
#define I440FX_SMRAM_WRITABLE 0x78     /* D_OPEN, D_CLS, D_LCK, G_SMRAME */

static const struct pci_device_info i440fx_info = {
	.name = "i440fx", .vendor = 0x8086, .device = 0x1237, .revision = 0x02,
	.subclass = 0x00, .class_code = 0x06,     /* bridge: host */
};

static int i440fx_init(struct domain *dom, void **state, char *err, size_t errlen)
{
	*state = NULL;
	if (!dom->pci) {
		ERR_SET(err, errlen, "i440fx: the PCI bus must be built first");
		return -1;
	}
	struct pci_device *dev = pci_device_add(dom->pci, 0, 0, &i440fx_info, err, errlen);
	if (!dev)
		return -1;
	for (unsigned int r = I440FX_PAM0; r <= I440FX_PAM6; r++)
		dev->wmask[r] = 0xff;
	dev->config[I440FX_SMRAM] = I440FX_SMRAM_DEFAULT;
	dev->wmask[I440FX_SMRAM] = I440FX_SMRAM_WRITABLE;
	return 0;
}

/* Its config space travels with the bus's state (the `pci` row). */
const struct device_ops i440fx_device = { .name = "i440fx", .init = i440fx_init };
