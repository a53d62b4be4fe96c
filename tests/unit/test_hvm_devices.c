/* The whole HVM device table (hw/devices.c, hvm_devices) built on a fake domain, as domain_build
 * builds it for `--hvm`: the rows find what they need in the order the table gives (the bus before
 * its functions, fw_cfg after the PC it describes), every PC function answers where a firmware
 * probes it, hvmloader's part runs on it and the `trigger power` request reaches the PM block, the
 * domain's state saves and restores into a second such domain, and teardown leaves nothing behind
 * (the sanitizer build checks). */
#include <stdlib.h>
#include <unistd.h>
#include "fake_domain.h"
#include "hw/device.h"
#include "hw/hvm_config.h"
#include "hw/pci.h"
#include "unit.h"
#include "vmm/control.h"
#include "vmm/event_loop.h"
#include "vmm/hvmloader.h"

struct pc {
	struct domain *dom;
	struct domain_params params;
	struct hvm_config hvm;
	struct console console;
	struct event_loop loop;
};

static void watch(void *opaque, unsigned int gsi, bool level) { (void)opaque; (void)gsi; (void)level; }

static int pc_build(struct pc *pc, char *err, size_t errlen)
{
	memset(pc, 0, sizeof(*pc));
	pc->dom = fake_domain_new(1);
	hvm_config_init(&pc->hvm);
	pc->params = (struct domain_params){ .name = "pc", .memory_mb = 8, .vcpus = 1, .restore_fd = -1,
					     .hvm = &pc->hvm };
	pc->console = (struct console){ .log_fd = -1, .pty_master = -1, .pty_slave = -1 };
	pc->dom->params = &pc->params;
	pc->dom->hvm = &pc->hvm;
	pc->dom->console = &pc->console;
	pc->dom->irq = (struct irq_router){ .set = watch };
	if (event_loop_init(&pc->loop))
		return -1;
	pc->dom->loop = &pc->loop;
	return devices_init(pc->dom, hvm_devices, err, errlen);
}

static void pc_free(struct pc *pc)
{
	devices_teardown(pc->dom);
	event_loop_destroy(&pc->loop);
	fake_domain_free(pc->dom);
}

static uint32_t config_read(struct domain *d, unsigned int devfn, unsigned int offset)
{
	uint32_t addr = 0x80000000u | devfn << 8 | offset, v = 0;

	io_bus_dispatch(&d->pio, NULL, 0xcf8, true, (uint8_t *)&addr, 4);
	io_bus_dispatch(&d->pio, NULL, 0xcfc, false, (uint8_t *)&v, 4);
	return v;
}

static void test_table_builds_and_answers(struct unit *u, const void *arg)
{
	struct pc pc;
	char err[256] = "";

	(void)arg;
	CHECK(pc_build(&pc, err, sizeof(err)) == 0, "building hvm_devices: %s", err);
	static const struct { unsigned int devfn; uint32_t ids; } functions[] = {
		{ 0 << 3 | 0, 0x12378086 }, { 1 << 3 | 0, 0x70008086 }, { 1 << 3 | 1, 0x70108086 },
		{ 1 << 3 | 3, 0x71138086 }, { 2 << 3 | 0, 0x00015853 },
	};
	for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++)
		CHECK(config_read(pc.dom, functions[i].devfn, 0) == functions[i].ids, "00:%02x.%x reads %08x",
		      functions[i].devfn >> 3, functions[i].devfn & 7, config_read(pc.dom, functions[i].devfn, 0));
	CHECK(config_read(pc.dom, 3 << 3, 0) == 0xffffffffu, "slot 3 without a NIC is empty");
	uint8_t sig[4];
	uint16_t sel = 0;
	io_bus_dispatch(&pc.dom->pio, NULL, 0x510, true, (uint8_t *)&sel, 2);
	for (int i = 0; i < 4; i++)
		io_bus_dispatch(&pc.dom->pio, NULL, 0x511, false, &sig[i], 1);
	CHECK(!memcmp(sig, "QEMU", 4), "fw_cfg's signature");
	uint8_t lsr = 0, idx = 0x0b, regb = 0;
	io_bus_dispatch(&pc.dom->pio, NULL, 0x3fd, false, &lsr, 1);
	CHECK(lsr & 0x20, "COM1's transmitter is empty");
	io_bus_dispatch(&pc.dom->pio, NULL, 0x70, true, &idx, 1);
	io_bus_dispatch(&pc.dom->pio, NULL, 0x71, false, &regb, 1);
	CHECK(regb & 0x02, "the RTC keeps 24-hour time (register B %#x)", regb);

	/* hvmloader's part, then xl trigger power: the PM block at 0xb000 says the button was pressed. */
	CHECK(hvmloader_setup(pc.dom, err, sizeof(err)) == 0, "hvmloader: %s", err);
	size_t n_requests;
	const struct control_request *rows = control_requests(&n_requests), *trigger = NULL;
	for (size_t i = 0; i < n_requests; i++)
		if (!strcmp(rows[i].name, "trigger"))
			trigger = &rows[i];
	char req[] = "trigger power", reply[256] = "";
	struct control_call call = { .dom = pc.dom, .request = trigger, .reply = reply, .len = sizeof(reply) };
	call.name = strtok_r(req, " ", &call.save);
	CHECK(trigger && trigger->handler(&call) == CONTROL_REPLY && !strcmp(reply, "ok"), "trigger power: %s",
	      reply);
	uint16_t pm1_sts = 0;
	io_bus_dispatch(&pc.dom->pio, NULL, 0xb000, false, (uint8_t *)&pm1_sts, 2);
	CHECK(pm1_sts & 0x100, "PM1_STS %#x: no power button status", pm1_sts);

	uint8_t *saved = malloc(64 << 10);
	long n = devices_save(pc.dom, saved, 64 << 10, err, sizeof(err));
	CHECK(n > 0, "saving the PC: %s", err);
	struct pc other;
	CHECK(pc_build(&other, err, sizeof(err)) == 0, "a second PC: %s", err);
	CHECK(n > 0 && devices_restore(other.dom, saved, (size_t)n, err, sizeof(err)) == 0,
	      "restoring the PC: %s", err);
	free(saved);
	pc_free(&other);
	pc_free(&pc);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "hvm-device-table-builds-answers-saves", test_table_builds_and_answers, NULL);
	return unit_finish(&u);
}
