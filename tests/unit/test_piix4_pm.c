/* The PIIX4 power-management function (hw/piix4_pm.c) on a fake domain with the real PCI bus
 * (pci.c, piix3.c): its identity and config registers as SeaBIOS programs them, the PM block
 * decoding only where and while PMBA/PMREGMISC say; SLP_EN with the S5 type powers off and other
 * types do not; the power button sets PWRBTN_STS and raises the SCI (IRQ 9) only while
 * PWRBTN_EN is set; the PM timer advances at 3.58 MHz and wraps at 24 bits (TMR_STS when bit
 * 23 toggles); port 0xb2 switches SCI_EN; save/restore round trips and refuses garbage. */
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "hw/device.h"
#include "hw/hvm_config.h"
#include "hw/pci.h"
#include "hw/piix4_pm.h"
#include "fake_domain.h"
#include "fake_pc.h"
#include "unit.h"

extern const struct device_ops pci_bus_device, piix3_device;

static const struct device_ops *const table[] = { &pci_bus_device, &piix3_device, &piix4_pm_device, NULL };

#define DEVFN (PIIX4_PM_SLOT << 3 | PIIX4_PM_FUNC)
#define STS (PIIX4_PM_BASE + 0)
#define EN (PIIX4_PM_BASE + 2)
#define CNT (PIIX4_PM_BASE + 4)
#define TMR (PIIX4_PM_BASE + 8)
#define PWRBTN 0x0100
#define SLP_EN 0x2000

struct rig {
	struct domain *dom;
	struct hvm_config hvm;
	struct irq_watch irq;
	void *pm;
};

static bool rig_new(struct unit *u, struct rig *g, bool enable)
{
	char err[256] = "";

	memset(g, 0, sizeof(*g));
	g->dom = fake_domain_new(1);
	hvm_config_init(&g->hvm);
	g->dom->hvm = &g->hvm;
	g->dom->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	irq_watch_install(g->dom, &g->irq);
	if (devices_init(g->dom, table, err, sizeof(err))) {
		CHECK(0, "devices_init: %s", err);
		close(g->dom->notify_fd);
		fake_domain_free(g->dom);
		return false;
	}
	g->pm = g->dom->devices->state;          /* newest first: ours */
	if (enable) {                            /* as SeaBIOS's piix4_pm_config_setup does */
		pci_config_write(g->dom->pci, DEVFN, 0x40, 4, PIIX4_PM_BASE | 1);
		pci_config_write(g->dom->pci, DEVFN, 0x80, 1, 0x01);
	}
	return true;
}

static void rig_end(struct rig *g)
{
	devices_teardown(g->dom);
	close(g->dom->notify_fd);
	fake_domain_free(g->dom);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };
	nanosleep(&ts, NULL);
}

static void test_config(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	if (!rig_new(u, &g, false))
		return;
	struct pci_bus *bus = g.dom->pci;
	CHECK_INT(pci_config_read(bus, DEVFN, 0x00, 4), 0x71138086);
	CHECK_INT(pci_config_read(bus, DEVFN, 0x08, 1), 0x03);
	CHECK_INT(pci_config_read(bus, DEVFN, 0x0a, 2), 0x0680);
	CHECK_INT(pci_config_read(bus, DEVFN, 0x40, 4), 0x00000001);
	CHECK(pci_config_read(bus, DEVFN, 0x58, 4) & (1u << 25), "DEVACTB's APMC_EN reads 0: SeaBIOS would wait for SMM");
	CHECK_INT(pio_in(g.dom, CNT, 2), 0xffff);     /* not decoding yet */
	pci_config_write(bus, DEVFN, 0x40, 4, 0xffffffff);
	CHECK_INT(pci_config_read(bus, DEVFN, 0x40, 4), 0x0000ffc1);
	pci_config_write(bus, DEVFN, 0x40, 4, PIIX4_PM_BASE | 1);
	CHECK_INT(pio_in(g.dom, CNT, 2), 0xffff);     /* PMREGMISC still off */
	pci_config_write(bus, DEVFN, 0x80, 1, 0xff);
	CHECK_INT(pci_config_read(bus, DEVFN, 0x80, 1), 0x01);
	CHECK_INT(pio_in(g.dom, CNT, 2), 0x0000);
	pci_config_write(bus, DEVFN, 0x40, 4, 0x0601);   /* moved: nothing at 0xb000 any more */
	CHECK_INT(pio_in(g.dom, CNT, 2), 0xffff);
	pio_out(g.dom, CNT, 2, SLP_EN);
	CHECK_INT(g.dom->shutdown_reason, -1);
	rig_end(&g);
}

static void test_s5_powers_off(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	if (!rig_new(u, &g, true))
		return;
	pio_out(g.dom, CNT, 2, 0x0001 | PIIX4_SLP_TYP_S5 << 10 | SLP_EN);
	CHECK_INT(g.dom->shutdown_reason, SHUTDOWN_poweroff);
	rig_end(&g);
}

static void test_other_types(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	if (!rig_new(u, &g, true))
		return;
	for (unsigned int typ = 1; typ < 8; typ++) {
		pio_out(g.dom, CNT, 2, 0x0001 | typ << 10 | SLP_EN);
		CHECK_INT(g.dom->shutdown_reason, -1);
		CHECK_INT(pio_in(g.dom, CNT, 2), 0x0001 | typ << 10);   /* SLP_EN never reads back */
	}
	/* The type alone, without SLP_EN, does nothing, even S5's. */
	pio_out(g.dom, CNT, 2, 0x0001);
	CHECK_INT(g.dom->shutdown_reason, -1);
	/* A byte write of the high half with SLP_EN is a sleep too. */
	pio_out8(g.dom, CNT + 1, SLP_EN >> 8 | PIIX4_SLP_TYP_S3 << 2);
	CHECK_INT(g.dom->shutdown_reason, -1);
	pio_out8(g.dom, CNT + 1, SLP_EN >> 8);
	CHECK_INT(g.dom->shutdown_reason, SHUTDOWN_poweroff);
	rig_end(&g);
}

static void test_power_button(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	if (!rig_new(u, &g, true))
		return;
	piix4_pm_power_button(g.dom);
	CHECK_INT(pio_in(g.dom, STS, 2) & PWRBTN, PWRBTN);
	CHECK(!g.irq.level[PIIX4_SCI_IRQ], "SCI raised with PWRBTN_EN clear");
	pio_out(g.dom, STS, 2, PWRBTN);                  /* write 1 to clear */
	CHECK_INT(pio_in(g.dom, STS, 2) & PWRBTN, 0);

	pio_out(g.dom, EN, 2, PWRBTN);
	CHECK_INT(pio_in(g.dom, EN, 2), PWRBTN);
	CHECK(!g.irq.level[PIIX4_SCI_IRQ], "SCI raised with nothing pressed");
	piix4_pm_power_button(g.dom);
	CHECK(g.irq.level[PIIX4_SCI_IRQ], "SCI not raised for the power button");
	CHECK_INT(g.irq.rises[PIIX4_SCI_IRQ], 1);
	pio_out(g.dom, STS, 2, 0x0001);                  /* another bit: the SCI stays */
	CHECK(g.irq.level[PIIX4_SCI_IRQ], "SCI dropped while PWRBTN_STS is set");
	pio_out(g.dom, STS, 2, PWRBTN);
	CHECK(!g.irq.level[PIIX4_SCI_IRQ], "SCI still high after PWRBTN_STS was cleared");
	/* Pending and then enabled: the SCI rises when the guest enables it. */
	pio_out(g.dom, EN, 2, 0);
	piix4_pm_power_button(g.dom);
	CHECK(!g.irq.level[PIIX4_SCI_IRQ], "SCI raised while disabled");
	pio_out(g.dom, EN, 2, PWRBTN);
	CHECK(g.irq.level[PIIX4_SCI_IRQ], "SCI not raised when enabling a pending button");
	CHECK_INT(g.irq.bad, 0);
	CHECK_INT(g.dom->shutdown_reason, -1);
	rig_end(&g);

	/* A PVH-like domain without the device: nothing happens, nothing breaks. */
	struct domain *pvh = fake_domain_new(1);
	piix4_pm_power_button(pvh);
	fake_domain_free(pvh);
}

static void test_timer(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	if (!rig_new(u, &g, true))
		return;
	uint32_t a = pio_in(g.dom, TMR, 4);
	sleep_ms(20);
	uint32_t b = pio_in(g.dom, TMR, 4);
	CHECK(a <= 0xffffff && b <= 0xffffff, "timer beyond 24 bits: %#x, %#x", a, b);
	uint32_t ticks = (b - a) & 0xffffff;
	/* 20 ms is 71591 ticks; sleeping may take longer, never shorter. */
	CHECK(ticks >= 71000 && ticks < 71591 * 20, "20 ms took %u ticks", ticks);

	/* Wrap: a saved timer just short of 2^24 comes back past zero. */
	uint8_t buf[64];
	char err[256] = "";
	long n = piix4_pm_device.save(g.dom, g.pm, buf, sizeof(buf));
	CHECK_INT(n, PIIX4_PM_SAVED_SIZE);
	buf[7] = 0xf0; buf[8] = 0xff; buf[9] = 0xff; buf[10] = 0;   /* 0xfffff0 */
	CHECK(!piix4_pm_device.restore(g.dom, g.pm, buf, (size_t)n, err, sizeof(err)), "restore: %s", err);
	pio_in(g.dom, STS, 2);
	pio_out(g.dom, STS, 2, 0x0001);
	sleep_ms(2);
	uint32_t c = pio_in(g.dom, TMR, 4);
	CHECK(c < 0x100000, "timer %#x did not wrap past 0xffffff", c);
	CHECK_INT(pio_in(g.dom, STS, 2) & 0x0001, 0x0001);      /* bit 23 toggled */
	pio_out(g.dom, STS, 2, 0x0001);
	CHECK_INT(pio_in(g.dom, STS, 2) & 0x0001, 0);
	rig_end(&g);
}

static void test_acpi_enable(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	if (!rig_new(u, &g, true))
		return;
	CHECK_INT(pio_in(g.dom, CNT, 2) & 1, 0);
	pio_out8(g.dom, PIIX4_SMI_CMD_PORT, 0xf1);
	CHECK_INT(pio_in(g.dom, CNT, 2) & 1, 1);
	pio_out8(g.dom, PIIX4_SMI_CMD_PORT, 0xf0);
	CHECK_INT(pio_in(g.dom, CNT, 2) & 1, 0);
	/* GPE0 answers with nothing pending, and keeps its enables. */
	CHECK_INT(pio_in(g.dom, PIIX4_GPE0_BASE, 4), 0);
	pio_out(g.dom, PIIX4_GPE0_BASE + 2, 2, 0x0003);
	CHECK_INT(pio_in(g.dom, PIIX4_GPE0_BASE, 4), 0x00030000);
	rig_end(&g);
}

static void test_save_restore(struct unit *u, const void *arg)
{
	struct rig a, b;
	uint8_t buf[64];
	char err[256] = "";

	(void)arg;
	if (!rig_new(u, &a, true))
		return;
	pio_out(a.dom, EN, 2, PWRBTN);
	pio_out(a.dom, CNT, 2, 0x0001 | 1 << 10);
	piix4_pm_power_button(a.dom);
	long n = piix4_pm_device.save(a.dom, a.pm, buf, sizeof(buf));
	CHECK_INT(n, PIIX4_PM_SAVED_SIZE);
	CHECK_INT(piix4_pm_device.save(a.dom, a.pm, buf, 4), -1);
	uint32_t saved_tmr = buf[7] | buf[8] << 8 | buf[9] << 16;
	rig_end(&a);

	if (!rig_new(u, &b, true))
		return;
	CHECK(!piix4_pm_device.restore(b.dom, b.pm, buf, (size_t)n, err, sizeof(err)), "restore: %s", err);
	CHECK(b.irq.level[PIIX4_SCI_IRQ], "the pending, enabled button's SCI not raised after restore");
	CHECK_INT(pio_in(b.dom, STS, 2) & PWRBTN, PWRBTN);
	CHECK_INT(pio_in(b.dom, EN, 2), PWRBTN);
	CHECK_INT(pio_in(b.dom, CNT, 2), 0x0001 | 1 << 10);
	uint32_t t = pio_in(b.dom, TMR, 4);
	CHECK(((t - saved_tmr) & 0xffffff) < 3579545, "the timer went from %#x to %#x across restore", saved_tmr, t);

	static const struct { unsigned int at; uint8_t value; const char *what; } bad[] = {
		{ 0, 7, "version" }, { 1, 0x02, "PM1_STS" }, { 4, 0x80, "PM1_EN" }, { 6, 0x20, "PM1_CNT (SLP_EN)" },
		{ 10, 0x01, "timer beyond 24 bits" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t copy[PIIX4_PM_SAVED_SIZE];
		memcpy(copy, buf, sizeof(copy));
		copy[bad[i].at] = bad[i].value;
		err[0] = 0;
		CHECK(piix4_pm_device.restore(b.dom, b.pm, copy, sizeof(copy), err, sizeof(err)) == -1 && err[0],
		      "a state with a bad %s was taken", bad[i].what);
	}
	CHECK(piix4_pm_device.restore(b.dom, b.pm, buf, (size_t)n - 1, err, sizeof(err)) == -1, "a short state was taken");
	CHECK(piix4_pm_device.restore(b.dom, b.pm, buf, 0, err, sizeof(err)) == -1, "an empty state was taken");
	CHECK_INT(pio_in(b.dom, CNT, 2), 0x0001 | 1 << 10);     /* refusals changed nothing */
	rig_end(&b);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "piix4-pm: 8086:7113 rev 3, PMBA, PMREGMISC, decoding at 0xb000 only", test_config, NULL);
	unit_case(&u, "piix4-pm: SLP_EN with S5 powers off", test_s5_powers_off, NULL);
	unit_case(&u, "piix4-pm: other sleep types do not", test_other_types, NULL);
	unit_case(&u, "piix4-pm: power button, SCI only when enabled", test_power_button, NULL);
	unit_case(&u, "piix4-pm: PM timer advances, wraps at 24 bits", test_timer, NULL);
	unit_case(&u, "piix4-pm: ACPI enable through port 0xb2, GPE0", test_acpi_enable, NULL);
	unit_case(&u, "piix4-pm: save/restore round trip, garbage refused", test_save_restore, NULL);
	return unit_finish(&u);
}
