/* The domain's xenstore layout (backends/xenstore_layout.c) written through our xenstored, as the
 * VMM's link writes it, then read back: every node, value and permission must be what libxl 4.17
 * writes for a PVH domain (the expected list below is written from libxl_create.c, libxl_dom.c
 * and libxl_console.c, not from our table), with nothing more; and the guest, as Linux's xenbus
 * uses the store, can read and write exactly where it does under Xen. */
#include <errno.h>
#include "backends/xenstore_layout.h"
#include "unit.h"
#include "xs_harness.h"

#define UUID "6f1e1c2a-58c4-4f0e-9d7b-3a2b1c0d9e8f"

static const struct xenstore_layout layout = {
	.domid = 5, .name = "deb12", .uuid = UUID, .memory_kb = 524288, .max_memory_kb = 524288,
	.vcpus = 2, .max_vcpus = 4, .store_gfn = 0xfeffc, .console_gfn = 0xfeffd, .store_port = 1,
	.console_port = 2, .console_tty = "/dev/pts/7", .start_time = "1765000000.42",
};

struct node { const char *path, *value, *perms; };

#define D "/local/domain/5"
#define CB "/local/domain/0/backend/console/5/0"
#define RO "n0|r5"
#define RW "n5"
static const struct node expected[] = {
	{ D, "", RO },
	{ D "/vm", "/vm/" UUID, RO },
	{ D "/name", "deb12", RO },
	{ D "/domid", "5", RO },
	{ D "/cpu", "", RO },
	{ D "/cpu/0", "", RO }, { D "/cpu/0/availability", "online", RO },
	{ D "/cpu/1", "", RO }, { D "/cpu/1/availability", "online", RO },
	{ D "/cpu/2", "", RO }, { D "/cpu/2/availability", "offline", RO },
	{ D "/cpu/3", "", RO }, { D "/cpu/3/availability", "offline", RO },
	{ D "/memory", "", RO },
	{ D "/memory/static-max", "524288", RO },
	{ D "/memory/target", "524288", RO },
	{ D "/memory/videoram", "0", RO },
	{ D "/device", "", RO },
	{ D "/device/suspend", "", RO },
	{ D "/device/suspend/event-channel", "", RW },
	{ D "/control", "", RO },
	{ D "/control/shutdown", "", RW },
	{ D "/control/feature-poweroff", "", RW },
	{ D "/control/feature-reboot", "", RW },
	{ D "/control/feature-suspend", "", RW },
	{ D "/control/sysrq", "", RW },
	{ D "/control/platform-feature-multiprocessor-suspend", "1", RO },
	{ D "/control/platform-feature-xs_reset_watches", "1", RO },
	{ D "/data", "", RW },
	{ D "/drivers", "", RW },
	{ D "/feature", "", RW },
	{ D "/attr", "", RW },
	{ D "/error", "", RW },
	{ D "/store", "", RO },
	{ D "/store/port", "1", RO },
	{ D "/store/ring-ref", "1044476", RO },
	{ D "/console", "", RO },
	{ D "/console/backend", CB, RO },
	{ D "/console/backend-id", "0", "n5|r0" },
	{ D "/console/limit", "1048576", RO },
	{ D "/console/type", "xenconsoled", RO },
	{ D "/console/output", "pty", RO },
	{ D "/console/tty", "/dev/pts/7", RO },
	{ D "/console/port", "2", RO },
	{ D "/console/ring-ref", "1044477", RO },
	{ "/vm/" UUID, "", RO },
	{ "/vm/" UUID "/uuid", UUID, RO },
	{ "/vm/" UUID "/name", "deb12", RO },
	{ "/vm/" UUID "/start_time", "1765000000.42", RO },
	{ "/libxl/5", "", "n0" },
	{ "/libxl/5/type", "pvh", "n0" },
	{ "/libxl/5/device", "", "n0" },
	{ "/libxl/5/device/console", "", "n0" },
	{ "/libxl/5/device/console/0", "", "n0" },
	{ "/libxl/5/device/console/0/frontend", D "/console", "n0" },
	{ "/libxl/5/device/console/0/backend", CB, "n0" },
	{ "/local/domain/0/backend/console/5", "", "n0" },
	{ CB, "", RO },
	{ CB "/frontend", D "/console", RO },
	{ CB "/frontend-id", "5", RO },
	{ CB "/online", "1", RO },
	{ CB "/state", "1", RO },
	{ CB "/protocol", "vt100", RO },
};
static const char *const roots[] = { D, "/vm/" UUID, "/libxl/5", "/local/domain/0/backend/console/5" };

struct store {
	struct xenstored xsd;
	struct xs_conn *dom0, *guest;
	struct unit *u;
};

/* What the link's put does, on the wire: WRITE, then SET_PERMS. */
static int put(void *ctx, const char *path, const char *value, const char *perms)
{
	struct store *s = ctx;
	struct xs_answer a;
	char payload[1024];
	size_t pl = strlen(path) + 1, vl = strlen(value), at;

	memcpy(payload, path, pl);
	memcpy(payload + pl, value, vl);
	if (xs_req(&s->xsd, s->dom0, XS_WRITE, 0, payload, pl + vl, &a) != XS_WRITE)
		return -EIO;
	at = pl;
	for (const char *p = perms; *p;) {
		size_t l = strcspn(p, " ");
		memcpy(payload + at, p, l);
		at += l;
		payload[at++] = '\0';
		p += l;
		p += *p == ' ';
	}
	return xs_req(&s->xsd, s->dom0, XS_SET_PERMS, 0, payload, at, &a) == XS_SET_PERMS ? 0 : -EACCES;
}

static void store_init(struct store *s)
{
	xsd_init(&s->xsd);
	s->dom0 = xs_mem_conn(&s->xsd, 0, true);
	s->guest = xs_mem_conn(&s->xsd, 5, false);
}

static const struct node *find_expected(const char *path)
{
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		if (!strcmp(expected[i].path, path))
			return &expected[i];
	return NULL;
}

/* Every node below path (itself included), each checked against the expected list. */
static void walk(struct unit *u, struct store *s, const char *path, bool *seen)
{
	struct xs_answer a;
	char spec[512];
	const struct node *n = find_expected(path);

	CHECK(n, "%s: written, but libxl does not write it", path);
	if (n) {
		seen[n - expected] = true;
		snprintf(spec, sizeof(spec), "%s|", path);
		xs_do(&s->xsd, s->dom0, XS_READ, 0, spec, &a);
		CHECK(!strcmp(xs_text(&a), n->value), "%s is \"%s\", libxl writes \"%s\"", path, a.text, n->value);
		xs_do(&s->xsd, s->dom0, XS_GET_PERMS, 0, spec, &a);
		CHECK(!strcmp(xs_text(&a), n->perms), "%s has permissions %s, libxl gives %s", path, a.text, n->perms);
	}
	snprintf(spec, sizeof(spec), "%s|", path);
	if (xs_do(&s->xsd, s->dom0, XS_DIRECTORY, 0, spec, &a) != XS_DIRECTORY)
		return;
	char kids[XENSTORE_PAYLOAD_MAX + 1];
	size_t len = a.len;
	memcpy(kids, a.body, len);
	for (size_t at = 0; at < len;) {
		size_t l = strnlen(kids + at, len - at);
		if (l) {
			char child[512];
			snprintf(child, sizeof(child), "%s/%.*s", path, (int)l, kids + at);
			walk(u, s, child, seen);
		}
		at += l + 1;
	}
}

static void test_layout_is_libxls(struct unit *u, const void *arg)
{
	struct store s = { .u = u };
	bool seen[sizeof(expected) / sizeof(expected[0])] = { false };

	(void)arg;
	store_init(&s);
	CHECK_INT(xenstore_layout_write(&layout, put, &s), 0);
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		walk(u, &s, roots[i], seen);
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		CHECK(seen[i], "%s: libxl writes it, we do not", expected[i].path);
	/* The roots the link removes are the layout's. */
	char got[XENSTORE_LAYOUT_ROOTS][XENSTORE_LAYOUT_ROOT_MAX];
	xenstore_layout_roots(&layout, got);
	for (size_t i = 0; i < XENSTORE_LAYOUT_ROOTS; i++)
		CHECK_STR(got[i], roots[i]);
	xsd_destroy(&s.xsd);
}

/* A put that fails stops the walk with its error. */
static int put_fails_third(void *ctx, const char *path, const char *value, const char *perms)
{
	int *calls = ctx;
	(void)path, (void)value, (void)perms;
	return ++*calls == 3 ? -ENOSPC : 0;
}

static void test_put_error_stops(struct unit *u, const void *arg)
{
	int calls = 0;
	(void)arg;
	CHECK_INT(xenstore_layout_write(&layout, put_fails_third, &calls), -ENOSPC);
	CHECK_INT(calls, 3);
}

/* What the guest may do, as Linux's xenbus does it (paths relative to its home). */
struct guest_op { const char *name; uint32_t type; const char *payload, *expect; };
static const struct guest_op guest_ops[] = {
	{ "reads-xs-reset-watches-feature", XS_READ, "control/platform-feature-xs_reset_watches|", "1" },
	{ "reads-multiprocessor-suspend", XS_READ, "control/platform-feature-multiprocessor-suspend|", "1" },
	{ "cannot-write-platform-feature", XS_WRITE, "control/platform-feature-xs_reset_watches|0", "ERROR EACCES" },
	{ "writes-xenbus-dev-error", XS_WRITE, "error/device/vif/0/error|-22 writing feature-sg", "OK" },
	{ "writes-drivers", XS_WRITE, "drivers/0|Linux", "OK" },
	{ "writes-feature", XS_WRITE, "feature/hotplug|1", "OK" },
	{ "writes-attr", XS_WRITE, "attr/os|linux", "OK" },
	{ "writes-data", XS_WRITE, "data/updated|1", "OK" },
	{ "writes-feature-poweroff", XS_WRITE, "control/feature-poweroff|1", "OK" },
	{ "writes-feature-reboot", XS_WRITE, "control/feature-reboot|1", "OK" },
	{ "writes-feature-suspend", XS_WRITE, "control/feature-suspend|1", "OK" },
	{ "acks-shutdown", XS_WRITE, "control/shutdown|", "OK" },
	{ "acks-sysrq", XS_WRITE, "control/sysrq|", "OK" },
	{ "cannot-add-to-control", XS_WRITE, "control/feature-halt|1", "ERROR EACCES" },
	{ "writes-suspend-event-channel", XS_WRITE, "device/suspend/event-channel|7", "OK" },
	{ "reads-offline-vcpu", XS_READ, "cpu/3/availability|", "offline" },
	{ "cannot-online-a-vcpu", XS_WRITE, "cpu/3/availability|online", "ERROR EACCES" },
	{ "cannot-rename", XS_WRITE, "name|evil", "ERROR EACCES" },
	{ "cannot-set-memory-target", XS_WRITE, "memory/target|1", "ERROR EACCES" },
	{ "reads-console-ring-ref", XS_READ, "console/ring-ref|", "1044477" },
	{ "owns-console-backend-id", XS_READ, "console/backend-id|", "0" },
	{ "reads-console-backend", XS_READ, CB "/protocol|", "vt100" },
	{ "reads-vm-uuid", XS_READ, "/vm/" UUID "/uuid|", UUID },
	{ "cannot-read-libxl", XS_READ, "/libxl/5/type|", "ERROR EACCES" },
	{ "reset-watches", XS_RESET_WATCHES, "|", "OK" },
};

static void test_guest_op(struct unit *u, const void *arg)
{
	const struct guest_op *op = arg;
	struct store s = { .u = u };
	struct xs_answer a;

	store_init(&s);
	CHECK_INT(xenstore_layout_write(&layout, put, &s), 0);
	xs_do(&s.xsd, s.guest, op->type, 0, op->payload, &a);
	CHECK_STR(xs_text(&a), op->expect);
	xsd_destroy(&s.xsd);
}

/* Linux's xs_reset_watches at xenbus init: after it, a watch from before fires no more. */
static void test_reset_watches_drops(struct unit *u, const void *arg)
{
	struct store s = { .u = u };
	struct xs_answer a;

	(void)arg;
	store_init(&s);
	CHECK_INT(xenstore_layout_write(&layout, put, &s), 0);
	CHECK_STR(xs_text((xs_do(&s.xsd, s.guest, XS_WATCH, 0, "control/shutdown|tok|", &a), &a)), "OK");
	xs_collect(s.guest, &a);                    /* the event a new watch fires at once */
	xs_do(&s.xsd, s.dom0, XS_WRITE, 0, D "/control/shutdown|poweroff", &a);
	xs_collect(s.guest, &a);
	CHECK_INT(a.n_events, 1);
	CHECK_STR(xs_text((xs_do(&s.xsd, s.guest, XS_RESET_WATCHES, 0, "|", &a), &a)), "OK");
	xs_do(&s.xsd, s.dom0, XS_WRITE, 0, D "/control/shutdown|reboot", &a);
	xs_collect(s.guest, &a);
	CHECK_INT(a.n_events, 0);
	xsd_destroy(&s.xsd);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[96];

	unit_case(&u, "layout-nodes-values-permissions-as-libxl", test_layout_is_libxls, NULL);
	unit_case(&u, "layout-put-error-stops-the-walk", test_put_error_stops, NULL);
	for (size_t i = 0; i < sizeof(guest_ops) / sizeof(guest_ops[0]); i++) {
		snprintf(name, sizeof(name), "guest-%s", guest_ops[i].name);
		unit_case(&u, name, test_guest_op, &guest_ops[i]);
	}
	unit_case(&u, "guest-reset-watches-drops-old-watches", test_reset_watches_drops, NULL);
	return unit_finish(&u);
}
