/* Emulated devices' save/restore hooks (hw/device.h, hw/devices.c): a UART programmed through its
 * ports is saved, a fresh domain's UART restored from that, and its registers read back through
 * the ports; streams that are short, of another version, for a device the domain lacks, or with a
 * state a device refuses are refused with a message. */
#include <stdlib.h>
#include "hw/device.h"
#include "vmm/domain.h"
#include "unit.h"

extern const struct device_ops uart16550_device, port80_device;

static const struct device_ops *const table[] = { &uart16550_device, &port80_device, NULL };

#define COM1 0x3f8
enum { DATA, IER, IIR, LCR, MCR, LSR, MSR, SCR };

static struct domain *new_domain(struct unit *u)
{
	struct domain *dom = calloc(1, sizeof(*dom));
	char err[256] = "";

	dom->pio = (struct io_bus){ .name = "port" };
	dom->mmio = (struct io_bus){ .name = "mmio" };
	CHECK(!devices_init(dom, table, err, sizeof(err)), "devices_init: %s", err);
	return dom;
}

static void end_domain(struct domain *dom)
{
	devices_teardown(dom);
	free(dom);
}

static void out8(struct domain *dom, unsigned int reg, uint8_t v)
{
	io_bus_dispatch(&dom->pio, NULL, COM1 + reg, true, &v, 1);
}

static uint8_t in8(struct domain *dom, unsigned int reg)
{
	uint8_t v = 0;

	io_bus_dispatch(&dom->pio, NULL, COM1 + reg, false, &v, 1);
	return v;
}

/* 9600 baud (divisor 12), 7E2, interrupts 0x05, loopback off with OUT2|RTS|DTR, scratch 0x5a. */
static void program(struct domain *dom)
{
	out8(dom, LCR, 0x80);
	out8(dom, DATA, 0x0c);
	out8(dom, IER, 0x00);
	out8(dom, LCR, 0x1a);
	out8(dom, IER, 0x05);
	out8(dom, MCR, 0x0b);
	out8(dom, SCR, 0x5a);
}

static long save(struct unit *u, struct domain *dom, uint8_t *buf, size_t len)
{
	char err[256] = "";
	long n = devices_save(dom, buf, len, err, sizeof(err));

	CHECK(n > 0, "devices_save: %s", err);
	return n;
}

static void test_uart_round_trip(struct unit *u, const void *arg)
{
	uint8_t buf[256];
	char err[256] = "";

	(void)arg;
	struct domain *a = new_domain(u);
	program(a);
	long n = save(u, a, buf, sizeof(buf));
	end_domain(a);

	struct domain *b = new_domain(u);
	CHECK_INT(in8(b, LCR), 0x03);      /* a fresh UART is 8n1 */
	CHECK(!devices_restore(b, buf, (size_t)n, err, sizeof(err)), "devices_restore: %s", err);
	CHECK_INT(in8(b, LCR), 0x1a);
	CHECK_INT(in8(b, IER), 0x05);
	CHECK_INT(in8(b, MCR), 0x0b);
	CHECK_INT(in8(b, SCR), 0x5a);
	out8(b, LCR, 0x9a);
	CHECK_INT(in8(b, DATA), 0x0c);
	CHECK_INT(in8(b, IER), 0x00);
	end_domain(b);
}

static void test_refusals(struct unit *u, const void *arg)
{
	uint8_t buf[256], bad[256];
	char err[256];

	(void)arg;
	struct domain *dom = new_domain(u);
	program(dom);
	long n = save(u, dom, buf, sizeof(buf));
	CHECK(devices_save(dom, buf, 8, err, sizeof(err)) == -1 && strstr(err, "room"), "8 bytes: '%s'", err);
	n = save(u, dom, buf, sizeof(buf));
	/* Every prefix that cuts a device's record short.  Two prefixes are whole streams: the header
	 * alone, and the UART without port80's 9 bytes (name length, "port80", length 0). */
	for (long len = 0; len < n; len++) {
		err[0] = '\0';
		int r = devices_restore(dom, buf, (size_t)len, err, sizeof(err));
		if (len == 6 || len == n - 9) {
			CHECK(r == 0, "%ld of %ld bytes, a whole stream: %s", len, n, err);
			continue;
		}
		CHECK(r == -1 && err[0], "%ld of %ld bytes: accepted", len, n);
	}
	memcpy(bad, buf, (size_t)n);
	bad[4] = 2;
	CHECK(devices_restore(dom, bad, (size_t)n, err, sizeof(err)) == -1 && strstr(err, "version 2"),
	      "version: '%s'", err);
	memcpy(bad, buf, (size_t)n);
	bad[7] = 'U';                               /* "Uart16550": a device this domain lacks */
	CHECK(devices_restore(dom, bad, (size_t)n, err, sizeof(err)) == -1 && strstr(err, "does not have"),
	      "unknown device: '%s'", err);
	/* The UART's state: after "XHWD" v1, name length 9, "uart16550", u16 length, IER first. */
	size_t ier = 6 + 1 + 9 + 2;
	memcpy(bad, buf, (size_t)n);
	bad[ier] = 0xf5;
	CHECK(devices_restore(dom, bad, (size_t)n, err, sizeof(err)) == -1 && strstr(err, "IER"),
	      "IER with high bits: '%s'", err);
	memcpy(bad, buf, (size_t)n);
	bad[ier - 2] = 7;                           /* seven bytes of UART state */
	CHECK(devices_restore(dom, bad, (size_t)n, err, sizeof(err)) == -1, "7-byte UART state accepted");
	/* port80 keeps nothing: one byte of state for it is refused. */
	uint8_t p80[] = { 'X', 'H', 'W', 'D', 1, 0, 6, 'p', 'o', 'r', 't', '8', '0', 1, 0, 0x42 };
	CHECK(devices_restore(dom, p80, sizeof(p80), err, sizeof(err)) == -1 && strstr(err, "keeps none"),
	      "port80 state: '%s'", err);
	CHECK(devices_restore(dom, p80, sizeof(p80) - 3, err, sizeof(err)) == -1, "cut port80 accepted");
	p80[13] = 0;
	CHECK(!devices_restore(dom, p80, sizeof(p80) - 1, err, sizeof(err)), "empty port80 state: %s", err);
	end_domain(dom);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "device-state-uart-round-trip", test_uart_round_trip, NULL);
	unit_case(&u, "device-state-refusals", test_refusals, NULL);
	return unit_finish(&u);
}
