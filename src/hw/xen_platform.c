/* 00:02.0, the Xen platform PCI device (5853:0001), which tells an HVM guest's PV drivers that they
 * run on Xen and through which they unplug the emulated disks and NICs (xen_platform.h has the
 * protocol).  BAR0 (I/O, 256 bytes) holds the platform flags byte at offset 0 and a log byte at
 * offset 8; BAR1 (16 MiB of memory) is where drivers map grant frames with
 * XENMEM_add_to_physmap, so reads of what is not mapped there read zero and nothing else is
 * emulated.  The fixed ports 0x10-0x13 carry the unplug protocol. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hw/device.h"
#include "hw/hvm_config.h"
#include "hw/pci.h"
#include "hw/xen_platform.h"
#include "lib/error.h"
#include "vmm/domain.h"
#include "xen/xen_public.h"
#include <xen/hvm/pvdrivers.h>

#define XEN_PLATFORM_VENDOR 0x5853
#define XEN_PLATFORM_DEVICE 0x0001
#define XEN_PLATFORM_SLOT 2
#define XEN_PLATFORM_PORT 0x10         /* 0x10-0x13: magic/unplug/build, version/product/log */
#define XEN_PLATFORM_PORTS 4
#define XEN_PLATFORM_MAGIC 0x49d2
#define XEN_PLATFORM_MAGIC_BLACKLISTED 0xd249
#define XEN_PLATFORM_PROTOCOL 1
#define XEN_PLATFORM_FLAG_ROM_LOCK 0x01
#define XEN_PLATFORM_BAR0_LOG 8
#define XEN_UNPLUG_KNOWN (XEN_UNPLUG_IDE_DISKS | XEN_UNPLUG_NICS | XEN_UNPLUG_AUX_IDE | XEN_UNPLUG_NVME)
/* Drivers may log, but a guest may not flood the VMM's log: lines beyond this are counted only. */
#define XEN_PLATFORM_LOG_LINE 160
#define XEN_PLATFORM_LOG_LINES 256

struct xen_platform {
	struct domain *dom;
	struct pci_device *dev;
	struct pci_device_info info;
	pthread_mutex_t lock;          /* guards what follows but `unplugged` */
	unsigned int unplugged;        /* XEN_UNPLUG_* bits; atomic: read from any thread */
	struct xen_platform_hooks hooks;
	uint8_t flags;                 /* ROM lock: kept and read back, nothing to lock here */
	bool blacklisted;
	uint16_t product;
	char line[XEN_PLATFORM_LOG_LINE + 1];
	size_t line_len;
	unsigned int lines;
	bool dropping;
};

static const char *product_name(uint16_t product)
{
#define XEN_PLATFORM_PRODUCT(name, number) if (product == (number)) return name;
	PVDRIVERS_PRODUCT_LIST(XEN_PLATFORM_PRODUCT)
#undef XEN_PLATFORM_PRODUCT
	return NULL;
}

/* ---- the log ---- */

/* Every line a guest causes goes through here: past the budget, lines are only counted. */
static void note(struct xen_platform *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct xen_platform *x, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (x->lines >= XEN_PLATFORM_LOG_LINES) {
		if (!x->dropping)
			LOG("domain %d: PV drivers: more than %d log lines, the rest are dropped", x->dom->domid,
			    XEN_PLATFORM_LOG_LINES);
		x->dropping = true;
		return;
	}
	x->lines++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	LOG("domain %d: %s", x->dom->domid, line);
}

static void log_flush(struct xen_platform *x)
{
	x->line[x->line_len] = '\0';
	note(x, "PV driver: %s", x->line);
	x->line_len = 0;
}

static void log_byte(struct xen_platform *x, uint8_t c)
{
	if (c == '\n') {
		log_flush(x);
		return;
	}
	if (c == '\r')
		return;
	x->line[x->line_len++] = c >= 0x20 && c < 0x7f ? (char)c : '.';
	if (x->line_len == XEN_PLATFORM_LOG_LINE)
		log_flush(x);
}

/* ---- the unplug protocol (fixed ports) ---- */

static void unplug(struct xen_platform *x, unsigned int mask)
{
	mask &= XEN_UNPLUG_KNOWN;
	/* Blacklisted drivers were told not to load: whatever they ask, the emulated devices stay. */
	if (x->blacklisted || !mask)
		return;
	unsigned int fresh = mask & ~__atomic_fetch_or(&x->unplugged, mask, __ATOMIC_SEQ_CST);
	if (!fresh)
		return;
	note(x, "PV drivers unplugged emulated devices (mask %#x)", fresh);
	if (x->hooks.unplug)
		x->hooks.unplug(x->dom, fresh);
}

static void build_number(struct xen_platform *x, uint32_t build)
{
	const char *name = product_name(x->product);

	x->blacklisted = x->hooks.blacklisted && x->hooks.blacklisted(x->dom, name, build);
	note(x, "PV drivers %s (product %u) build %u%s", name ? name : "unknown", x->product, build,
	     x->blacklisted ? ": blacklisted" : "");
}

static void fixed_read(struct xen_platform *x, unsigned int off, uint8_t *data, unsigned int size)
{
	uint32_t v = 0xffffffffu;

	if (off == 0 && size == 2)
		v = x->blacklisted ? XEN_PLATFORM_MAGIC_BLACKLISTED : XEN_PLATFORM_MAGIC;
	else if (off == 0 && size == 1)
		v = x->flags;
	else if (off == 2 && size == 1)
		v = XEN_PLATFORM_PROTOCOL;
	for (unsigned int i = 0; i < size; i++)
		data[i] = i < 4 ? (uint8_t)(v >> (8 * i)) : 0xff;
}

static void fixed_write(struct xen_platform *x, unsigned int off, const uint8_t *data, unsigned int size)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < size && i < 4; i++)
		v |= (uint32_t)data[i] << (8 * i);
	if (off == 0 && size == 1)
		x->flags = v & XEN_PLATFORM_FLAG_ROM_LOCK;
	else if (off == 0 && size == 2)
		unplug(x, v);
	else if (off == 0 && size == 4)
		build_number(x, v);
	else if (off == 2 && size == 1)
		log_byte(x, (uint8_t)v);
	else if (off == 2 && size == 2)
		x->product = (uint16_t)v;
}

static void fixed_io(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write, uint8_t *data,
		     unsigned int size)
{
	struct xen_platform *x = opaque;
	uint64_t off = port - XEN_PLATFORM_PORT;

	(void)vcpu;
	pthread_mutex_lock(&x->lock);
	if (off >= XEN_PLATFORM_PORTS || size > XEN_PLATFORM_PORTS - off) {
		if (!is_write)
			memset(data, 0xff, size);
	} else if (is_write) {
		fixed_write(x, (unsigned int)off, data, size);
	} else {
		fixed_read(x, (unsigned int)off, data, size);
	}
	pthread_mutex_unlock(&x->lock);
}

/* ---- the BARs ---- */

static void bar0_io(void *opaque, struct vcpu *vcpu, uint64_t off, bool is_write, uint8_t *data,
		    unsigned int size)
{
	struct xen_platform *x = opaque;

	(void)vcpu;
	pthread_mutex_lock(&x->lock);
	if (!is_write) {
		memset(data, 0xff, size);
		if (off == 0 && size == 1)
			data[0] = x->flags;
	} else if (size == 1 && off == 0) {
		x->flags = data[0] & XEN_PLATFORM_FLAG_ROM_LOCK;
	} else if (size == 1 && off == XEN_PLATFORM_BAR0_LOG) {
		log_byte(x, data[0]);
	}
	pthread_mutex_unlock(&x->lock);
}

static void bar1_mmio(void *opaque, struct vcpu *vcpu, uint64_t off, bool is_write, uint8_t *data,
		      unsigned int size)
{
	(void)opaque;
	(void)vcpu;
	(void)off;
	if (!is_write)
		memset(data, 0, size);
}

/* ---- lookups from other devices ---- */

static struct xen_platform *platform_of(struct domain *dom)
{
	struct pci_device *dev = dom->pci ? dom->pci->devices[XEN_PLATFORM_SLOT << 3] : NULL;

	if (!dev || dev->info->vendor != XEN_PLATFORM_VENDOR || dev->info->device != XEN_PLATFORM_DEVICE)
		return NULL;
	return dev->info->opaque;
}

bool xen_platform_unplugged(struct domain *dom, unsigned int what)
{
	struct xen_platform *x = platform_of(dom);

	return x && (__atomic_load_n(&x->unplugged, __ATOMIC_SEQ_CST) & what);
}

void xen_platform_set_irq(struct domain *dom, bool level)
{
	struct xen_platform *x = platform_of(dom);

	if (x)
		pci_device_set_irq(x->dev, level);
}

int xen_platform_set_hooks(struct domain *dom, const struct xen_platform_hooks *hooks)
{
	struct xen_platform *x = platform_of(dom);

	if (!x)
		return -1;
	pthread_mutex_lock(&x->lock);
	x->hooks = *hooks;
	pthread_mutex_unlock(&x->lock);
	return 0;
}

/* ---- the device table row ---- */

static int xen_platform_init(struct domain *dom, void **state, char *err, size_t errlen)
{
	*state = NULL;
	if (dom->hvm && !dom->hvm->platform_pci)
		return 0;          /* xen_platform_pci = 0: no device, no protocol */
	if (!dom->pci) {
		ERR_SET(err, errlen, "xen-platform: the PCI bus must be built first");
		return -1;
	}
	struct xen_platform *x = calloc(1, sizeof(*x));
	if (!x) {
		ERR_SET(err, errlen, "xen-platform: out of memory");
		return -1;
	}
	x->dom = dom;
	pthread_mutex_init(&x->lock, NULL);
	x->info = (struct pci_device_info){
		.name = "xen-platform", .vendor = XEN_PLATFORM_VENDOR, .device = XEN_PLATFORM_DEVICE,
		.subsystem_vendor = XEN_PLATFORM_VENDOR, .subsystem = XEN_PLATFORM_DEVICE,
		.revision = 1, .subclass = 0x80, .class_code = 0xff, .irq_pin = 1,
		.bars = {
			[0] = { .size = 0x100, .io = true, .fn = bar0_io, .opaque = x },
			[1] = { .size = 16u << 20, .fn = bar1_mmio, .opaque = x },
		},
		.opaque = x,
	};
	if (io_bus_register(&dom->pio, "xen-platform-unplug", XEN_PLATFORM_PORT, XEN_PLATFORM_PORTS, fixed_io, x)) {
		ERR_SET(err, errlen, "xen-platform: ports %#x-%#x are taken", XEN_PLATFORM_PORT,
			XEN_PLATFORM_PORT + XEN_PLATFORM_PORTS - 1);
		goto fail;
	}
	x->dev = pci_device_add(dom->pci, XEN_PLATFORM_SLOT, 0, &x->info, err, errlen);
	if (!x->dev)
		goto fail;
	*state = x;
	return 0;
fail:
	pthread_mutex_destroy(&x->lock);
	free(x);
	return -1;
}

static void xen_platform_teardown(struct domain *dom, void *state)
{
	struct xen_platform *x = state;

	if (!x)
		return;
	if (x->line_len)
		log_flush(x);
	if (dom->pci && x->dev)
		dom->pci->devices[x->dev->devfn] = NULL;
	free(x->dev);
	pthread_mutex_destroy(&x->lock);
	free(x);
}

/* u8 version, u8 flags, u8 blacklisted, u8 unplugged mask, u16 product (config space travels with
 * the bus).  A domain without the device saves nothing. */
#define XEN_PLATFORM_SAVE_VERSION 1
#define XEN_PLATFORM_SAVE_LEN 6

static long xen_platform_save(struct domain *dom, void *state, uint8_t *buf, size_t len)
{
	struct xen_platform *x = state;

	(void)dom;
	if (!x)
		return 0;
	if (len < XEN_PLATFORM_SAVE_LEN)
		return -1;
	pthread_mutex_lock(&x->lock);
	buf[0] = XEN_PLATFORM_SAVE_VERSION;
	buf[1] = x->flags;
	buf[2] = x->blacklisted;
	buf[3] = (uint8_t)__atomic_load_n(&x->unplugged, __ATOMIC_SEQ_CST);
	buf[4] = (uint8_t)x->product;
	buf[5] = (uint8_t)(x->product >> 8);
	pthread_mutex_unlock(&x->lock);
	return XEN_PLATFORM_SAVE_LEN;
}

static int xen_platform_restore(struct domain *dom, void *state, const uint8_t *buf, size_t len, char *err,
				size_t errlen)
{
	struct xen_platform *x = state;

	(void)dom;
	if (!x) {
		if (len) {
			ERR_SET(err, errlen, "%zu bytes of platform device state, and this domain has none", len);
			return -1;
		}
		return 0;
	}
	if (len != XEN_PLATFORM_SAVE_LEN || buf[0] != XEN_PLATFORM_SAVE_VERSION) {
		ERR_SET(err, errlen, "platform device state of %zu bytes, version %u (%d bytes of version %d expected)",
			len, len ? buf[0] : 0, XEN_PLATFORM_SAVE_LEN, XEN_PLATFORM_SAVE_VERSION);
		return -1;
	}
	if ((buf[1] & ~XEN_PLATFORM_FLAG_ROM_LOCK) || buf[2] > 1 || (buf[3] & ~XEN_UNPLUG_KNOWN)) {
		ERR_SET(err, errlen, "platform device state with flags %#x, blacklisted %u, unplugged %#x",
			buf[1], buf[2], buf[3]);
		return -1;
	}
	pthread_mutex_lock(&x->lock);
	x->flags = buf[1];
	x->blacklisted = buf[2];
	__atomic_store_n(&x->unplugged, buf[3], __ATOMIC_SEQ_CST);
	x->product = (uint16_t)(buf[4] | buf[5] << 8);
	pthread_mutex_unlock(&x->lock);
	return 0;
}

const struct device_ops xen_platform_device = {
	.name = "xen-platform", .init = xen_platform_init, .teardown = xen_platform_teardown,
	.save = xen_platform_save, .restore = xen_platform_restore,
};
