/* Port 0xe9: the Bochs/Xen debug console.  As in Xen, what an HVM or PVH guest writes there goes to the
 * hypervisor log (`xl dmesg`, "(d<domid>) " lines), not to the domain's console. */
#include "hw/device.h"
#include "lib/error.h"
#include "vmm/domain.h"

#define DEBUGCON_PORT 0xe9

static void debugcon_io(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write, uint8_t *data,
			unsigned int size)
{
	(void)opaque;
	(void)port;
	if (is_write)
		console_hypervisor_write(vcpu->dom->console, vcpu->dom->domid, data, 1);
	else
		*data = DEBUGCON_PORT;   /* Bochs' "present" answer, so guests can probe for it */
	for (unsigned int i = 1; i < size && !is_write; i++)
		data[i] = 0;
}

static int debugcon_init(struct domain *dom, void **state, char *err, size_t errlen)
{
	*state = NULL;
	if (io_bus_register(&dom->pio, "debugcon", DEBUGCON_PORT, 1, debugcon_io, NULL)) {
		ERR_SET(err, errlen, "port %#x is taken", DEBUGCON_PORT);
		return -1;
	}
	return 0;
}

const struct device_ops debugcon_device = { .name = "debugcon", .init = debugcon_init };
