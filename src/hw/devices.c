/* The device table: build in order, tear down in reverse, save and restore each device's state
 * through its own hooks (device.h). */
#include <stdlib.h>
#include <string.h>
#include "hw/device.h"
#include "lib/error.h"
#include "vmm/domain.h"

extern const struct device_ops pci_bus_device, i440fx_device, piix3_device, ide_device, piix4_pm_device,
	xen_platform_device, e1000_device, rtc_cmos_device, i8042_device, fw_cfg_device;
extern const struct device_ops debugcon_device, uart16550_device, port80_device, console_ring_device,
	xenstore_link_device;

const struct device_ops *const pvh_devices[] = {
	&debugcon_device,
	&uart16550_device,
	&port80_device,
	&console_ring_device,
	&xenstore_link_device,
	NULL,
};

/* The PC (docs/hvm.md): the PCI bus first, its functions in slot order (the chipset, IDE, power
 * management, the Xen platform device, the NICs from slot 3), the ISA devices, fw_cfg last of the
 * PC so that it describes what is built; then the PV console ring and the xenstore link that PV
 * drivers use through the platform device. */
const struct device_ops *const hvm_devices[] = {
	&pci_bus_device,
	&i440fx_device,
	&piix3_device,
	&ide_device,
	&piix4_pm_device,
	&xen_platform_device,
	&e1000_device,
	&rtc_cmos_device,
	&i8042_device,
	&fw_cfg_device,
	&debugcon_device,
	&uart16550_device,
	&port80_device,
	&console_ring_device,
	&xenstore_link_device,
	NULL,
};

int devices_init(struct domain *dom, const struct device_ops *const *table, char *err, size_t errlen)
{
	for (; *table; table++) {
		struct device_instance *d = calloc(1, sizeof(*d));
		if (!d) {
			ERR_SET(err, errlen, "out of memory for device %s", (*table)->name);
			goto fail;
		}
		d->ops = *table;
		if (d->ops->init && d->ops->init(dom, &d->state, err, errlen)) {
			free(d);
			goto fail;
		}
		d->next = dom->devices;
		dom->devices = d;
	}
	return 0;
fail:
	devices_teardown(dom);
	return -1;
}

void devices_teardown(struct domain *dom)
{
	while (dom->devices) {
		struct device_instance *d = dom->devices;
		dom->devices = d->next;
		if (d->ops->teardown)
			d->ops->teardown(dom, d->state);
		free(d);
	}
}

int devices_attach(struct domain *dom, char *err, size_t errlen)
{
	struct device_instance *order[32];
	unsigned int n = 0;

	for (struct device_instance *d = dom->devices; d && n < 32; d = d->next)
		order[n++] = d;
	for (unsigned int i = n; i-- > 0;)           /* the list is newest first: table order */
		if (order[i]->ops->attach && order[i]->ops->attach(dom, order[i]->state, err, errlen))
			return -1;
	return 0;
}

/* ---- save and restore (format in device.h) ---- */

/* Table order: the list is newest first. */
static unsigned int devices_in_order(struct domain *dom, struct device_instance **order, unsigned int max)
{
	unsigned int n = 0;

	for (struct device_instance *d = dom->devices; d && n < max; d = d->next)
		order[n++] = d;
	for (unsigned int i = 0; i < n / 2; i++) {
		struct device_instance *t = order[i];
		order[i] = order[n - 1 - i];
		order[n - 1 - i] = t;
	}
	return n;
}

#define DEVICES_MAX 32

long devices_save(struct domain *dom, uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct device_instance *order[DEVICES_MAX];
	unsigned int n = devices_in_order(dom, order, DEVICES_MAX);
	size_t at = 6;

	if (len < at) {
		ERR_SET(err, errlen, "no room for the devices' header");
		return -1;
	}
	memcpy(buf, DEVICES_SAVE_MAGIC, 4);
	buf[4] = DEVICES_SAVE_VERSION & 0xff;
	buf[5] = DEVICES_SAVE_VERSION >> 8;
	for (unsigned int i = 0; i < n; i++) {
		const struct device_ops *ops = order[i]->ops;
		size_t name_len = strlen(ops->name);
		if (!ops->save)
			continue;
		if (len - at < 1 + name_len + 2) {
			ERR_SET(err, errlen, "no room for device %s", ops->name);
			return -1;
		}
		buf[at] = (uint8_t)name_len;
		memcpy(buf + at + 1, ops->name, name_len);
		at += 1 + name_len;
		size_t room = len - at - 2 < DEVICE_STATE_MAX ? len - at - 2 : DEVICE_STATE_MAX;
		long r = ops->save(dom, order[i]->state, buf + at + 2, room);
		if (r < 0 || (size_t)r > room) {
			ERR_SET(err, errlen, "device %s: its state does not fit in %zu bytes", ops->name, room);
			return -1;
		}
		buf[at] = (uint8_t)r;
		buf[at + 1] = (uint8_t)((size_t)r >> 8);
		at += 2 + (size_t)r;
	}
	return (long)at;
}

static struct device_instance *find_device(struct domain *dom, const uint8_t *name, size_t len)
{
	for (struct device_instance *d = dom->devices; d; d = d->next)
		if (strlen(d->ops->name) == len && !memcmp(d->ops->name, name, len))
			return d;
	return NULL;
}

int devices_restore(struct domain *dom, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	size_t at = 6;

	if (len < at || memcmp(buf, DEVICES_SAVE_MAGIC, 4)) {
		ERR_SET(err, errlen, "not a saved device state (%zu bytes, no %s header)", len, DEVICES_SAVE_MAGIC);
		return -1;
	}
	unsigned int version = buf[4] | buf[5] << 8;
	if (version != DEVICES_SAVE_VERSION) {
		ERR_SET(err, errlen, "saved device state version %u: this VMM reads version %d", version,
			DEVICES_SAVE_VERSION);
		return -1;
	}
	while (at < len) {
		size_t name_len = buf[at];
		if (len - at < 1 + name_len + 2) {
			ERR_SET(err, errlen, "saved device state truncated at byte %zu", at);
			return -1;
		}
		const uint8_t *name = buf + at + 1;
		struct device_instance *d = find_device(dom, name, name_len);
		at += 1 + name_len;
		size_t state_len = buf[at] | (size_t)buf[at + 1] << 8;
		at += 2;
		if (!d || !d->ops->restore) {
			ERR_SET(err, errlen, "saved state of device '%.*s', which this domain %s", (int)name_len,
				(const char *)name, d ? "cannot restore" : "does not have");
			return -1;
		}
		if (state_len > len - at) {
			ERR_SET(err, errlen, "device %s: state of %zu bytes, %zu are there", d->ops->name,
				state_len, len - at);
			return -1;
		}
		char why[256];
		if (d->ops->restore(dom, d->state, buf + at, state_len, why, sizeof(why))) {
			ERR_SET(err, errlen, "device %s: %s", d->ops->name, why);
			return -1;
		}
		at += state_len;
	}
	return 0;
}
