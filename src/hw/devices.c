#include <stdlib.h>
#include "hw/device.h"
#include "lib/error.h"
#include "vmm/domain.h"

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
