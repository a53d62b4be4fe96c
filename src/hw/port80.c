/* Port 0x80, the POST-code port: firmware and kernels write to it as a delay or progress mark.
 * We take the writes and keep nothing, which also makes it the cheapest round trip to measure. */
#include <string.h>
#include "hw/device.h"
#include "lib/error.h"
#include "vmm/domain.h"

#define POST_PORT 0x80

static void port80_io(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write, uint8_t *data,
		      unsigned int size)
{
	(void)opaque;
	(void)vcpu;
	(void)port;
	if (!is_write)
		memset(data, 0xff, size);
}

static int port80_init(struct domain *dom, void **state, char *err, size_t errlen)
{
	*state = NULL;
	if (io_bus_register(&dom->pio, "post", POST_PORT, 1, port80_io, NULL)) {
		ERR_SET(err, errlen, "port %#x is taken", POST_PORT);
		return -1;
	}
	return 0;
}

/* Nothing is kept, so nothing is saved; a restore of anything but nothing is a mistake. */
static long port80_save(struct domain *dom, void *state, uint8_t *buf, size_t len)
{
	(void)dom;
	(void)state;
	(void)buf;
	(void)len;
	return 0;
}

static int port80_restore(struct domain *dom, void *state, const uint8_t *buf, size_t len, char *err,
			  size_t errlen)
{
	(void)dom;
	(void)state;
	(void)buf;
	if (len) {
		ERR_SET(err, errlen, "%zu bytes of state for a device that keeps none", len);
		return -1;
	}
	return 0;
}

const struct device_ops port80_device = {
	.name = "port80", .init = port80_init, .save = port80_save, .restore = port80_restore,
};
