/* COM1 (hw/uart16550.c) on a fake domain: typed input comes out of the receiver in order, LSR's
 * data-ready bit follows it, and IRQ 4 goes up and down with the enabled interrupts, gated by OUT2,
 * as a PC's serial driver (SeaBIOS, GRUB, Linux's 8250) expects. */
#include "fake_domain.h"
#include "hw/device.h"
#include "hw/uart16550.h"
#include "unit.h"

struct watcher { int level[16]; unsigned int changes; };

static void watch(void *opaque, unsigned int gsi, bool level)
{
	struct watcher *w = opaque;

	if (gsi < 16) {
		w->level[gsi] = level;
		w->changes++;
	}
}

static uint8_t rd(struct domain *d, unsigned int reg)
{
	uint8_t v = 0;

	io_bus_dispatch(&d->pio, NULL, 0x3f8 + reg, false, &v, 1);
	return v;
}

static void wr(struct domain *d, unsigned int reg, uint8_t v)
{
	io_bus_dispatch(&d->pio, NULL, 0x3f8 + reg, true, &v, 1);
}

static void test_receive_and_interrupts(struct unit *u, const void *arg)
{
	static const struct device_ops *const table[] = { &uart16550_device, NULL };
	struct domain *d = fake_domain_new(0);
	struct watcher w = { 0 };
	char err[128];

	(void)arg;
	d->irq = (struct irq_router){ .set = watch, .opaque = &w };
	CHECK(devices_init(d, table, err, sizeof(err)) == 0, "init: %s", err);
	CHECK(!(rd(d, 5) & 1), "data ready with nothing typed");
	CHECK(uart16550_input(d, "ab", 2) == 2, "input not taken");
	CHECK(rd(d, 5) & 1, "no data ready after input");
	CHECK(rd(d, 2) == 0x01 && !w.level[4], "interrupts off: IIR %#x, IRQ %d", rd(d, 2), w.level[4]);
	wr(d, 1, 0x01);                       /* received-data interrupt */
	CHECK(!w.level[4], "IRQ 4 up without OUT2");
	wr(d, 4, 0x08);                       /* OUT2 */
	CHECK(w.level[4] && rd(d, 2) == 0x04, "IRQ %d, IIR %#x with data and OUT2", w.level[4], rd(d, 2));
	CHECK(rd(d, 0) == 'a' && rd(d, 0) == 'b', "bytes out of order");
	CHECK(!w.level[4] && !(rd(d, 5) & 1), "IRQ %d once the data was read", w.level[4]);
	wr(d, 1, 0x03);                       /* and transmitter empty */
	CHECK(w.level[4] && rd(d, 2) == 0x02, "the THRE interrupt: IRQ %d", w.level[4]);
	CHECK(!w.level[4] && rd(d, 2) == 0x01, "reading IIR acknowledges THRE: IRQ %d", w.level[4]);
	char many[300];
	memset(many, 'x', sizeof(many));
	CHECK(uart16550_input(d, many, sizeof(many)) == 256, "the receive buffer holds 256");
	wr(d, 2, 0x03);                       /* FIFO on, receive cleared */
	CHECK(!(rd(d, 5) & 1) && (rd(d, 2) & 0xc0) == 0xc0, "FCR clear and FIFO bits");
	devices_teardown(d);
	fake_domain_free(d);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "uart-receive-and-irq4", test_receive_and_interrupts, NULL);
	return unit_finish(&u);
}
