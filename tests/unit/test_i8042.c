/* The i8042 model (hw/i8042.c) on a fake domain through ports 0x60/0x64/0x92: the controller's
 * self and interface tests, command byte, keyboard reset/identify/scan set as SeaBIOS drives them,
 * one IRQ 1 edge per byte only while the command byte enables it, no aux channel (Linux's probe
 * finds no mouse), A20 as a bit, every reset path reaching shutdown(reboot) and the no-op pulse
 * not; save/restore round trips and refuses garbage. */
#include <sys/eventfd.h>
#include <unistd.h>
#include "hw/i8042.h"
#include "fake_domain.h"
#include "fake_pc.h"
#include "unit.h"

#define DATA I8042_DATA_PORT
#define CMD I8042_STATUS_PORT

struct rig {
	struct domain *dom;
	struct irq_watch irq;
	void *kbc;
};

static void rig_new(struct unit *u, struct rig *g)
{
	char err[256] = "";

	memset(g, 0, sizeof(*g));
	g->dom = fake_domain_new(1);
	g->dom->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);    /* where shutdown wakes the loop */
	irq_watch_install(g->dom, &g->irq);
	CHECK(!i8042_device.init(g->dom, &g->kbc, err, sizeof(err)), "init: %s", err);
}

static void rig_end(struct rig *g)
{
	if (g->kbc)
		i8042_device.teardown(g->dom, g->kbc);
	close(g->dom->notify_fd);
	fake_domain_free(g->dom);
}

static uint8_t status(struct rig *g) { return pio_in8(g->dom, CMD); }

/* The next output byte, or -1 when the buffer is empty. */
static int next(struct rig *g)
{
	if (!(status(g) & 0x01))
		return -1;
	return pio_in8(g->dom, DATA);
}

static void test_self_tests(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	rig_new(u, &g);
	CHECK_INT(status(&g) & 0x05, 0);        /* empty, system flag clear at power-on */
	pio_out8(g.dom, CMD, 0xaa);
	CHECK_INT(status(&g) & 0x0d, 0x0d);     /* output full, system flag, last write a command */
	CHECK_INT(next(&g), 0x55);
	CHECK_INT(next(&g), -1);
	pio_out8(g.dom, CMD, 0xab);
	CHECK_INT(next(&g), 0x00);
	pio_out8(g.dom, CMD, 0xe0);
	CHECK_INT(next(&g), 0x00);
	rig_end(&g);
}

static void test_command_byte(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	rig_new(u, &g);
	pio_out8(g.dom, CMD, 0x20);
	CHECK_INT(next(&g), 0x01);
	pio_out8(g.dom, CMD, 0x60);
	pio_out8(g.dom, DATA, 0x65);            /* translate, keyboard disabled, system, kbd int */
	CHECK_INT(status(&g) & 0x08, 0);        /* last write was data */
	pio_out8(g.dom, CMD, 0x20);
	CHECK_INT(next(&g), 0x65);
	pio_out8(g.dom, CMD, 0xae);             /* enable the keyboard */
	pio_out8(g.dom, CMD, 0xa7);             /* disable aux */
	pio_out8(g.dom, CMD, 0x20);
	CHECK_INT(next(&g), (0x65 & ~0x10) | 0x20);
	pio_out8(g.dom, CMD, 0x65);             /* internal RAM byte 5 */
	pio_out8(g.dom, DATA, 0x3c);
	pio_out8(g.dom, CMD, 0x25);
	CHECK_INT(next(&g), 0x3c);
	rig_end(&g);
}

static void test_keyboard(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	rig_new(u, &g);
	pio_out8(g.dom, DATA, 0xff);            /* reset */
	CHECK_INT(g.irq.rises[I8042_KBD_IRQ], 1);
	CHECK_INT(next(&g), 0xfa);
	CHECK_INT(g.irq.rises[I8042_KBD_IRQ], 2);   /* a new edge for the second byte */
	CHECK_INT(next(&g), 0xaa);
	CHECK(!g.irq.level[I8042_KBD_IRQ], "IRQ 1 high with the buffer empty");
	pio_out8(g.dom, DATA, 0xf5);
	CHECK_INT(next(&g), 0xfa);
	pio_out8(g.dom, DATA, 0xf0);            /* scan set 2, then ask */
	CHECK_INT(next(&g), 0xfa);
	pio_out8(g.dom, DATA, 0x02);
	CHECK_INT(next(&g), 0xfa);
	pio_out8(g.dom, DATA, 0xf0);
	pio_out8(g.dom, DATA, 0x00);
	CHECK_INT(next(&g), 0xfa);
	CHECK_INT(next(&g), 0xfa);
	CHECK_INT(next(&g), 0x02);
	pio_out8(g.dom, DATA, 0xf2);            /* identify, translation off */
	CHECK_INT(next(&g), 0xfa);
	CHECK_INT(next(&g), 0xab);
	CHECK_INT(next(&g), 0x83);
	pio_out8(g.dom, DATA, 0xed);            /* LEDs */
	pio_out8(g.dom, DATA, 0x07);
	CHECK_INT(next(&g), 0xfa);
	CHECK_INT(next(&g), 0xfa);
	pio_out8(g.dom, DATA, 0xee);
	CHECK_INT(next(&g), 0xee);
	pio_out8(g.dom, DATA, 0xf4);
	CHECK_INT(next(&g), 0xfa);
	pio_out8(g.dom, DATA, 0x5a);            /* no such command */
	CHECK_INT(next(&g), 0xfe);
	CHECK_INT(next(&g), -1);
	CHECK_INT(pio_in8(g.dom, DATA), 0xfe);  /* an empty buffer reads its last byte again */
	rig_end(&g);
}

static void test_irq_disabled(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	rig_new(u, &g);
	pio_out8(g.dom, CMD, 0x60);
	pio_out8(g.dom, DATA, 0x00);            /* no keyboard interrupt */
	pio_out8(g.dom, DATA, 0xff);
	CHECK_INT(next(&g), 0xfa);
	CHECK_INT(next(&g), 0xaa);
	CHECK_INT(g.irq.rises[I8042_KBD_IRQ], 0);
	CHECK_INT(g.irq.bad, 0);
	rig_end(&g);
}

/* What Linux's i8042_check_aux sees: the loop test gets nothing back, the interface test says
 * the clock line is stuck: no aux port, so no mouse. */
static void test_no_mouse(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	rig_new(u, &g);
	pio_out8(g.dom, CMD, 0xd3);
	pio_out8(g.dom, DATA, 0x5a);
	CHECK_INT(next(&g), -1);
	pio_out8(g.dom, CMD, 0xa9);
	int r = next(&g);
	CHECK(r != 0x00 && r != 0xfa && r != 0xff && r != -1, "aux interface test answered %#x", r);
	pio_out8(g.dom, CMD, 0xd4);             /* to the mouse: reset */
	pio_out8(g.dom, DATA, 0xff);
	CHECK_INT(next(&g), -1);
	CHECK_INT(status(&g) & 0x20, 0);        /* never aux data */
	rig_end(&g);
}

static void test_a20(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	rig_new(u, &g);
	pio_out8(g.dom, CMD, 0xd0);
	CHECK_INT(next(&g), 0x03);              /* not in reset, A20 on */
	CHECK_INT(pio_in8(g.dom, I8042_PORT_A), 0x02);
	pio_out8(g.dom, CMD, 0xdd);
	CHECK_INT(pio_in8(g.dom, I8042_PORT_A), 0x00);
	pio_out8(g.dom, I8042_PORT_A, 0x02);
	pio_out8(g.dom, CMD, 0xd0);
	CHECK_INT(next(&g), 0x03);
	pio_out8(g.dom, CMD, 0xd1);
	pio_out8(g.dom, DATA, 0x01);            /* A20 off, reset line high */
	CHECK_INT(pio_in8(g.dom, I8042_PORT_A), 0x00);
	pio_out8(g.dom, CMD, 0xff);             /* a pulse of no line */
	CHECK_INT(g.dom->shutdown_reason, -1);
	rig_end(&g);
}

struct reset_case { const char *name; uint16_t port1; uint8_t v1; int port2; uint8_t v2; };

static const struct reset_case reset_cases[] = {
	{ "command 0xfe", CMD, 0xfe, -1, 0 },
	{ "output port bit 0 low", CMD, 0xd1, DATA, 0x02 },
	{ "port 0x92 bit 0", I8042_PORT_A, 0x03, -1, 0 },
};

static void test_reset(struct unit *u, const void *arg)
{
	const struct reset_case *c = arg;
	struct rig g;

	rig_new(u, &g);
	pio_out8(g.dom, c->port1, c->v1);
	if (c->port2 >= 0)
		pio_out8(g.dom, (uint16_t)c->port2, c->v2);
	CHECK_INT(g.dom->shutdown_reason, SHUTDOWN_reboot);
	uint64_t n = 0;
	CHECK(read(g.dom->notify_fd, &n, sizeof(n)) == sizeof(n) && n >= 1, "the main loop was not woken");
	rig_end(&g);
}

static void test_save_restore(struct unit *u, const void *arg)
{
	struct rig a, b;
	uint8_t buf[128];
	char err[256] = "";

	(void)arg;
	rig_new(u, &a);
	pio_out8(a.dom, CMD, 0x60);
	pio_out8(a.dom, DATA, 0x41);            /* translate, keyboard interrupt */
	pio_out8(a.dom, CMD, 0xdd);             /* A20 off */
	pio_out8(a.dom, DATA, 0xf2);            /* identify: fa ab 41 */
	CHECK_INT(next(&a), 0xfa);
	pio_out8(a.dom, DATA, 0xed);            /* a keyboard command waiting for its argument */
	long n = i8042_device.save(a.dom, a.kbc, buf, sizeof(buf));
	CHECK_INT(n, I8042_SAVED_SIZE);
	CHECK_INT(i8042_device.save(a.dom, a.kbc, buf, 8), -1);
	rig_end(&a);

	rig_new(u, &b);
	CHECK(!i8042_device.restore(b.dom, b.kbc, buf, (size_t)n, err, sizeof(err)), "restore: %s", err);
	CHECK(b.irq.level[I8042_KBD_IRQ], "IRQ 1 not raised for the restored buffer");
	CHECK_INT(next(&b), 0xab);
	CHECK_INT(next(&b), 0x41);
	CHECK_INT(next(&b), 0xfa);              /* the ack of 0xed */
	pio_out8(b.dom, DATA, 0x02);            /* its argument */
	CHECK_INT(next(&b), 0xfa);
	CHECK_INT(pio_in8(b.dom, I8042_PORT_A), 0x00);
	pio_out8(b.dom, CMD, 0x20);
	CHECK_INT(next(&b), 0x41);

	static const struct { unsigned int at; uint8_t value; const char *what; } bad[] = {
		{ 0, 9, "version" }, { 33, 0xf0, "flags" }, { 34, 0x55, "pending controller command" },
		{ 35, 0x12, "pending keyboard command" }, { 36, 0, "scan set" }, { 37, 8, "LEDs" },
		{ 39, 17, "queue length" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t copy[I8042_SAVED_SIZE];
		memcpy(copy, buf, sizeof(copy));
		copy[bad[i].at] = bad[i].value;
		err[0] = 0;
		CHECK(i8042_device.restore(b.dom, b.kbc, copy, sizeof(copy), err, sizeof(err)) == -1 && err[0],
		      "a state with a bad %s was taken", bad[i].what);
	}
	CHECK(i8042_device.restore(b.dom, b.kbc, buf, (size_t)n + 1, err, sizeof(err)) == -1, "a long state was taken");
	CHECK(i8042_device.restore(b.dom, b.kbc, buf, 0, err, sizeof(err)) == -1, "an empty state was taken");
	CHECK_INT(next(&b), -1);                /* refusals changed nothing */
	rig_end(&b);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "i8042: self test 0xaa -> 0x55, interface tests", test_self_tests, NULL);
	unit_case(&u, "i8042: command byte and internal RAM", test_command_byte, NULL);
	unit_case(&u, "i8042: keyboard reset, scan set, identify, LEDs, echo", test_keyboard, NULL);
	unit_case(&u, "i8042: no IRQ 1 while the command byte disables it", test_irq_disabled, NULL);
	unit_case(&u, "i8042: no aux channel, so no mouse", test_no_mouse, NULL);
	unit_case(&u, "i8042: A20 through the output port and port 0x92", test_a20, NULL);
	for (size_t i = 0; i < sizeof(reset_cases) / sizeof(reset_cases[0]); i++) {
		char name[96];
		snprintf(name, sizeof(name), "i8042: reset by %s is shutdown(reboot)", reset_cases[i].name);
		unit_case(&u, name, test_reset, &reset_cases[i]);
	}
	unit_case(&u, "i8042: save/restore round trip, garbage refused", test_save_restore, NULL);
	return unit_finish(&u);
}
