/* Saved device state on any bytes: what a restart, a save file or a migration stream hands the VMM.
 *
 * First byte even: PV backend records (backends/pv_record.c), one after another as
 * pv_backends_save_all writes them.  Each record accepted must encode again, and what that
 * encoding decodes to must encode to the same bytes (the format has one spelling per state).
 * First byte odd: an emulated devices' stream (hw/devices.c) restored into a UART and port80 on a
 * domain with no KVM behind it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "backends/pv_backend.h"
#include "hw/device.h"
#include "vmm/domain.h"

extern const struct device_ops uart16550_device, port80_device;

static void records(const uint8_t *data, size_t size)
{
	static uint8_t first[PV_RECORD_MAX], second[PV_RECORD_MAX];
	size_t at = 0, used;
	char err[512];

	while (at < size) {
		struct pv_saved a, b;
		if (pv_record_decode(data + at, size - at, &a, &used, err, sizeof(err)))
			return;
		if (used < PV_RECORD_HEADER || used > size - at)
			abort();
		long n = pv_record_encode(a.type, a.config, &a.rt, first, sizeof(first), err, sizeof(err));
		if (n < 0)
			abort();                  /* what was read must fit again */
		size_t used2;
		if (pv_record_decode(first, (size_t)n, &b, &used2, err, sizeof(err)) || used2 != (size_t)n)
			abort();
		long m = pv_record_encode(b.type, b.config, &b.rt, second, sizeof(second), err, sizeof(err));
		if (m != n || memcmp(first, second, (size_t)n))
			abort();
		pv_saved_free(&a);
		pv_saved_free(&b);
		at += used;
	}
}

static void devices(const uint8_t *data, size_t size)
{
	static const struct device_ops *const table[] = { &uart16550_device, &port80_device, NULL };
	struct domain *dom = calloc(1, sizeof(*dom));
	char err[512];

	if (!dom)
		return;
	dom->pio = (struct io_bus){ .name = "port" };
	dom->mmio = (struct io_bus){ .name = "mmio" };
	if (!devices_init(dom, table, err, sizeof(err))) {
		if (!devices_restore(dom, data, size, err, sizeof(err))) {
			uint8_t out[256];
			if (devices_save(dom, out, sizeof(out), err, sizeof(err)) < 0)
				abort();
		}
		devices_teardown(dom);
	}
	free(dom);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		devices(data + 1, size - 1);
	else
		records(data + 1, size - 1);
	return 0;
}
