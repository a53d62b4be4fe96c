/* What Xen does with a DomU's console, on the fake domain (tests/unit/fake_domain.h):
 * - console_io writes go to the hypervisor log as "(d<domid>) " lines, never to the domain's console
 *   log; reads and unknown commands are refused -EPERM, as Xen's XSM default refuses a DomU;
 * - the PV console backend notifies the guest only when it took output or added input, so a guest
 *   that answers every event with one of its own cannot ping-pong with it;
 * - xl shutdown/reboot ask PV and PVH domains without looking for control/feature-*. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "backends/console.h"
#include "hw/device.h"
#include "lib/hvlog.h"
#include "xl/xl_shutdown.h"
#include "fake_domain.h"
#include "unit.h"

extern const struct device_ops console_ring_device;

struct fixture {
	char dir[64];
	char console_log[128];
	struct console con;
	struct domain *d;
	bool ok;
};

static void fixture_open(struct unit *u, struct fixture *f)
{
	char err[256];

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/xenith-console.XXXXXX");
	if (!mkdtemp(f->dir))
		abort();
	snprintf(f->console_log, sizeof(f->console_log), "%s/guest-t.log", f->dir);
	if (console_open(&f->con, f->console_log, err, sizeof(err))) {
		CHECK(0, "console_open: %s", err);
		return;
	}
	f->d = fake_domain_new(1);
	f->d->console = &f->con;
	f->ok = true;
}

static void fixture_close(struct fixture *f)
{
	char cmd[128];

	if (f->d)
		fake_domain_free(f->d);
	if (f->ok)
		console_close(&f->con, false);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", f->dir);
}

static char *slurp(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *text = calloc(1, 65536);
	ssize_t n = fd >= 0 ? read(fd, text, 65535) : 0;

	if (n < 0)
		n = 0;
	text[n] = '\0';
	if (fd >= 0)
		close(fd);
	return text;
}

static char *hypervisor_log(struct fixture *f)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", f->dir, HVLOG_FILE);
	return slurp(path);
}

static long console_io(struct domain *d, uint64_t cmd, const char *text)
{
	size_t len = strlen(text);

	fake_put(d, FAKE_ARG, text, len);
	return fake_hcall(d, 0, __HYPERVISOR_console_io, cmd, len, FAKE_ARG);
}

static void test_console_io_write(struct unit *u, const void *arg)
{
	struct fixture f;
	(void)arg;

	fixture_open(u, &f);
	if (!f.ok)
		goto out;
	CHECK_INT(console_io(f.d, CONSOLEIO_write, "early: hello"), 0);
	CHECK_INT(console_io(f.d, CONSOLEIO_write, " world\r\n"), 0);
	/* Xen reads cmd and count as unsigned int: the upper halves do not count. */
	CHECK_INT(console_io(f.d, CONSOLEIO_write | (1ull << 32), "upper bits\n"), 0);
	char *hv = hypervisor_log(&f), *con = slurp(f.console_log);
	CHECK_STR(hv, "(d7) early: hello world\n(d7) upper bits\n");
	CHECK_STR(con, "");
	free(hv);
	free(con);
	/* A bad buffer is -EFAULT, and adds nothing. */
	CHECK_INT(fake_hcall(f.d, 0, __HYPERVISOR_console_io, CONSOLEIO_write, 16, FAKE_RAM_SIZE + 4096),
		  -XEN_EFAULT);
	hv = hypervisor_log(&f);
	CHECK_STR(hv, "(d7) early: hello world\n(d7) upper bits\n");
	free(hv);
out:
	fixture_close(&f);
}

struct refused_case {
	const char *name;
	uint64_t cmd;
};

static const struct refused_case refused[] = {
	{ "CONSOLEIO_read", CONSOLEIO_read },
	{ "command 2", 2 },
	{ "command 0xffffffff", 0xffffffffu },
};

static void test_console_io_refused(struct unit *u, const void *arg)
{
	const struct refused_case *c = arg;
	struct fixture f;

	fixture_open(u, &f);
	if (!f.ok)
		goto out;
	memset(fake_gpa(f.d, FAKE_ARG), 0x5a, 64);
	CHECK_INT(fake_hcall(f.d, 0, __HYPERVISOR_console_io, c->cmd, 64, FAKE_ARG), -XEN_EPERM);
	const unsigned char *buf = fake_gpa(f.d, FAKE_ARG);
	CHECK(buf[0] == 0x5a && buf[63] == 0x5a, "the guest's buffer was written");
	char *hv = hypervisor_log(&f);
	CHECK_STR(hv, "");
	free(hv);
out:
	fixture_close(&f);
}

/* ---- the PV console ring ---- */

static struct xencons_interface *ring_of(struct domain *d)
{
	return fake_gpa(d, vm_special_page_gpa(&d->vm, SPECIAL_PAGE_CONSOLE));
}

/* 1 if the backend raised the console port since the last look (the guest then clears it). */
static int took_notification(struct domain *d)
{
	xen_ulong_t *pending = d->xen.shared_info->evtchn_pending;
	const unsigned int bits = 8 * sizeof(xen_ulong_t);
	xen_ulong_t mask = (xen_ulong_t)1 << (EVTCHN_CONSOLE_PORT % bits);
	int was = (pending[EVTCHN_CONSOLE_PORT / bits] & mask) != 0;

	pending[EVTCHN_CONSOLE_PORT / bits] &= ~mask;
	return was;
}

static long guest_kick(struct domain *d)
{
	struct evtchn_send s = { .port = EVTCHN_CONSOLE_PORT };
	return fake_op(d, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_send, &s, sizeof(s));
}

static void guest_puts(struct xencons_interface *r, const char *s)
{
	XENCONS_RING_IDX prod = r->out_prod;

	for (; *s; s++)
		r->out[MASK_XENCONS_IDX(prod++, r->out)] = *s;
	__atomic_store_n(&r->out_prod, prod, __ATOMIC_RELEASE);
}

static void test_ring_notifications(struct unit *u, const void *arg)
{
	struct fixture f;
	void *state = NULL;
	char err[256];
	int notes;
	(void)arg;

	fixture_open(u, &f);
	if (!f.ok)
		goto out;
	if (console_ring_device.init(f.d, &state, err, sizeof(err))) {
		CHECK(0, "console ring init: %s", err);
		goto out;
	}
	struct xencons_interface *r = ring_of(f.d);
	took_notification(f.d);

	/* (a) Output on the ring: taken, written to the console log, one notification. */
	guest_puts(r, "ring line\r\n");
	CHECK_INT(guest_kick(f.d), 0);
	CHECK_INT(took_notification(f.d), 1);
	CHECK(r->out_cons == r->out_prod, "out_cons %u, out_prod %u", r->out_cons, r->out_prod);
	char *con = slurp(f.console_log);
	CHECK_STR(con, "ring line\r\n");
	free(con);

	/* (b) An empty ring kicked again and again: nothing moved, so not one notification back. */
	notes = 0;
	for (int i = 0; i < 50; i++) {
		CHECK_INT(guest_kick(f.d), 0);
		notes += took_notification(f.d);
	}
	CHECK_INT(notes, 0);

	/* (c) Input added: one notification; input that does not fit adds nothing and says nothing. */
	console_ring_input(f.d, "typed", 5);
	CHECK_INT(took_notification(f.d), 1);
	CHECK_INT(r->in_prod - r->in_cons, 5);
	char fill[sizeof(r->in)];
	memset(fill, 'y', sizeof(fill));
	console_ring_input(f.d, fill, sizeof(fill));
	CHECK_INT(took_notification(f.d), 1);
	CHECK_INT(r->in_prod - r->in_cons, sizeof(r->in));
	console_ring_input(f.d, "z", 1);
	CHECK_INT(took_notification(f.d), 0);
	/* The guest takes its input and says so: it is not answered either. */
	r->in_cons = r->in_prod;
	CHECK_INT(guest_kick(f.d), 0);
	CHECK_INT(took_notification(f.d), 0);

	/* Nonsense indices: skipped, and no notification for them. */
	r->out_prod = r->out_cons + 5000;
	CHECK_INT(guest_kick(f.d), 0);
	CHECK_INT(took_notification(f.d), 0);
	CHECK(r->out_cons == r->out_prod, "bad indices not skipped");
	console_ring_device.teardown(f.d, state);
out:
	fixture_close(&f);
}

/* ---- xl shutdown/reboot: who is asked ---- */

struct pvcontrol_case {
	const char *type, *feature;
	bool available;
};

static const struct pvcontrol_case pvcontrol[] = {
	{ "pvh", NULL, true },       /* no control/feature-poweroff written: asked all the same */
	{ "pvh", "0", true },
	{ "pv", NULL, true },
	{ "hvm", NULL, false },      /* no PV drivers: xl refuses, suggesting -F */
	{ "hvm", "0", false },
	{ "hvm", "1", true },
};

static void test_pvcontrol(struct unit *u, const void *arg)
{
	const struct pvcontrol_case *c = arg;

	CHECK(xl_pvcontrol_available(c->type, c->feature) == c->available, "type %s feature %s: %s",
	      c->type, c->feature ? c->feature : "(absent)", c->available ? "refused" : "asked");
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[128];

	unit_case(&u, "console_io write goes to the hypervisor log, not the console", test_console_io_write, NULL);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(name, sizeof(name), "console_io %s from a DomU: -EPERM", refused[i].name);
		unit_case(&u, name, test_console_io_refused, &refused[i]);
	}
	unit_case(&u, "console ring: notifications only when data moved", test_ring_notifications, NULL);
	for (size_t i = 0; i < sizeof(pvcontrol) / sizeof(pvcontrol[0]); i++) {
		const struct pvcontrol_case *c = &pvcontrol[i];
		snprintf(name, sizeof(name), "xl shutdown of a %s domain with control/feature-poweroff %s: %s",
			 c->type, c->feature ? c->feature : "absent", c->available ? "asked" : "refused");
		unit_case(&u, name, test_pvcontrol, c);
	}
	return unit_finish(&u);
}
