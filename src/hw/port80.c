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

const struct device_ops port80_device = { .name = "port80", .init = port80_init };
