/* 00:01.0, the PIIX3 PCI-to-ISA bridge (8086:7000), function 0 of the multi-function device whose
 * other functions are IDE (01.1) and power management (01.3).
 *
 * What it does for us: the PIRQ route registers (config 0x60-0x63, one per PIRQ A-D: bit 7 off,
 * bits 3:0 the ISA IRQ) that the PCI bus follows for INTx; the edge/level control registers
 * (ELCR, ports 0x4d0-0x4d1) firmware sets for the PCI IRQs (KVM's in-kernel PIC answers those
 * ports itself when it is there, so ours only serve a VMM without it); and the reset control
 * register at port 0xcf9, whose RST_CPU bit resets the machine (Xen's on_reboot). */
#include <stdlib.h>
#include <string.h>
#include "hw/device.h"
#include "hw/pci.h"
#include "lib/error.h"
#include "vmm/domain.h"
#include "xen/xen_public.h"

#define PIIX3_PIRQ_ROUTE 0x60          /* 0x60-0x63: PIRQ A-D */
#define PIIX3_PIRQ_DEFAULT 0x80        /* routing disabled */
#define PIIX3_PIRQ_WRITABLE 0x8f       /* bits 6:4 are reserved */
#define PIIX3_ELCR_PORT 0x4d0
#define PIIX3_RCR_PORT 0xcf9
#define PIIX3_RCR_SYS_RST 0x02
#define PIIX3_RCR_RST_CPU 0x04         /* writing 1 starts the reset; never reads back set */

/* IRQ 0, 1, 2 (master) and 8, 13 (slave) are always edge-triggered. */
static const uint8_t elcr_writable[2] = { 0xf8, 0xde };

struct piix3 {
	struct domain *dom;
	struct pci_device *dev;
	struct pci_device_info info;
	uint8_t elcr[2];
	uint8_t rcr;
};

static void piix3_config_written(struct pci_device *dev, unsigned int offset, unsigned int size,
				 uint32_t old_value, void *opaque)
{
	(void)old_value;
	(void)opaque;
	for (unsigned int r = offset; r < offset + size; r++)
		if (r >= PIIX3_PIRQ_ROUTE && r < PIIX3_PIRQ_ROUTE + 4)
			pci_set_pirq_route(dev->bus, r - PIIX3_PIRQ_ROUTE, dev->config[r]);
}

static void piix3_elcr_io(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write, uint8_t *data,
			  unsigned int size)
{
	struct piix3 *p = opaque;

	(void)vcpu;
	for (unsigned int i = 0; i < size; i++) {
		uint64_t reg = port - PIIX3_ELCR_PORT + i;
		if (reg >= 2) {
			if (!is_write)
				data[i] = 0xff;
		} else if (is_write) {
			__atomic_store_n(&p->elcr[reg], data[i] & elcr_writable[reg], __ATOMIC_RELAXED);
		} else {
			data[i] = __atomic_load_n(&p->elcr[reg], __ATOMIC_RELAXED);
		}
	}
}

static void piix3_rcr_io(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write, uint8_t *data,
			 unsigned int size)
{
	struct piix3 *p = opaque;

	(void)vcpu;
	(void)port;
	if (size != 1) {       /* a wider access at 0xcf9 is no RCR cycle */
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	if (!is_write) {
		*data = __atomic_load_n(&p->rcr, __ATOMIC_RELAXED);
		return;
	}
	__atomic_store_n(&p->rcr, data[0] & PIIX3_RCR_SYS_RST, __ATOMIC_RELAXED);
	if (data[0] & PIIX3_RCR_RST_CPU) {
		LOG("domain %d: reset through port %#x", p->dom->domid, PIIX3_RCR_PORT);
		domain_shutdown(p->dom, SHUTDOWN_reboot);
	}
}

static int piix3_init(struct domain *dom, void **state, char *err, size_t errlen)
{
	struct piix3 *p = calloc(1, sizeof(*p));

	if (!p) {
		ERR_SET(err, errlen, "piix3: out of memory");
		return -1;
	}
	if (!dom->pci) {
		ERR_SET(err, errlen, "piix3: the PCI bus must be built first");
		goto fail;
	}
	p->dom = dom;
	p->info = (struct pci_device_info){
		.name = "piix3", .vendor = 0x8086, .device = 0x7000, .subclass = 0x01, .class_code = 0x06,
		.header_type = 0x80, .config_written = piix3_config_written, .opaque = p,
	};
	if (io_bus_register(&dom->pio, "piix3-elcr", PIIX3_ELCR_PORT, 2, piix3_elcr_io, p) ||
	    io_bus_register(&dom->pio, "piix3-reset", PIIX3_RCR_PORT, 1, piix3_rcr_io, p)) {
		ERR_SET(err, errlen, "piix3: ports %#x-%#x or %#x are taken", PIIX3_ELCR_PORT,
			PIIX3_ELCR_PORT + 1, PIIX3_RCR_PORT);
		goto fail;
	}
	p->dev = pci_device_add(dom->pci, 1, 0, &p->info, err, errlen);
	if (!p->dev)
		goto fail;
	for (unsigned int i = 0; i < 4; i++) {
		p->dev->config[PIIX3_PIRQ_ROUTE + i] = PIIX3_PIRQ_DEFAULT;
		p->dev->wmask[PIIX3_PIRQ_ROUTE + i] = PIIX3_PIRQ_WRITABLE;
		pci_set_pirq_route(dom->pci, i, PIIX3_PIRQ_DEFAULT);
	}
	*state = p;
	return 0;
fail:
	free(p);
	return -1;
}

/* The bus outlives us (it is built first, torn down last) and still points at our info: the
 * function leaves with the bus. */
static void piix3_teardown(struct domain *dom, void *state)
{
	struct piix3 *p = state;

	if (dom->pci && p->dev)
		dom->pci->devices[p->dev->devfn] = NULL;
	free(p->dev);
	free(p);
}

/* Config space travels with the bus; ours is the ELCR and the reset control register. */
static long piix3_save(struct domain *dom, void *state, uint8_t *buf, size_t len)
{
	struct piix3 *p = state;

	(void)dom;
	if (len < 3)
		return -1;
	buf[0] = p->elcr[0];
	buf[1] = p->elcr[1];
	buf[2] = p->rcr;
	return 3;
}

static int piix3_restore(struct domain *dom, void *state, const uint8_t *buf, size_t len, char *err,
			 size_t errlen)
{
	struct piix3 *p = state;

	(void)dom;
	if (len != 3) {
		ERR_SET(err, errlen, "PIIX3 state of %zu bytes (3 expected)", len);
		return -1;
	}
	if ((buf[0] & ~elcr_writable[0]) || (buf[1] & ~elcr_writable[1]) || (buf[2] & ~PIIX3_RCR_SYS_RST)) {
		ERR_SET(err, errlen, "PIIX3 state sets bits the chip keeps clear (ELCR %02x %02x, RCR %02x)",
			buf[0], buf[1], buf[2]);
		return -1;
	}
	p->elcr[0] = buf[0];
	p->elcr[1] = buf[1];
	p->rcr = buf[2];
	return 0;
}

const struct device_ops piix3_device = {
	.name = "piix3", .init = piix3_init, .teardown = piix3_teardown,
	.save = piix3_save, .restore = piix3_restore,
};
