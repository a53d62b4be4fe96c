/* The lifecycle-event tracker (src/libvirt/events.c): one row per change between two snapshots of
 * the domain model, with the (event, detail) pairs libvirt's clients must see, in order; plus the
 * intents the daemon notes and the wire form of the two lifecycle messages. */
#include <libvirt/libvirt.h>
#include <stdlib.h>
#include <string.h>
#include "libvirt/events.h"
#include "unit.h"

/* A domain in a snapshot: name, id (-1 inactive), state, persistent. */
struct dom_row {
	const char *name;
	int id, state;
	bool persistent;
};

struct seen {
	struct virt_lifecycle_event ev[16];
	size_t n;
};

static void record(void *opaque, const struct virt_lifecycle_event *ev)
{
	struct seen *s = opaque;

	if (s->n < 16)
		s->ev[s->n] = *ev;
	s->n++;
}

static struct virt_dom *snapshot(const struct dom_row *rows, size_t *n)
{
	size_t count = 0;
	struct virt_dom *d;

	while (rows[count].name)
		count++;
	d = calloc(count + 1, sizeof(*d));
	for (size_t i = 0; i < count; i++) {
		snprintf(d[i].name, sizeof(d[i].name), "%s", rows[i].name);
		d[i].uuid[0] = (uint8_t)(i + 1);
		d[i].uuid[15] = (uint8_t)rows[i].name[0];
		d[i].id = rows[i].id;
		d[i].state = rows[i].state;
		d[i].persistent = rows[i].persistent;
	}
	*n = count;
	return d;
}

#define RUN VIR_DOMAIN_RUNNING
#define BLK VIR_DOMAIN_BLOCKED
#define PAU VIR_DOMAIN_PAUSED
#define OFF VIR_DOMAIN_SHUTOFF
#define CRA VIR_DOMAIN_CRASHED
#define END { NULL, 0, 0, false }
#define DOM0 { "Domain-0", 0, RUN, false }

enum { NO_INTENT = -1 };

struct expect {
	const char *name;
	int event, detail;
};

struct diff_case {
	const char *title;
	struct dom_row before[4], after[4];
	const char *intent_name;             /* noted before the second snapshot */
	int intent_detail;
	struct expect want[5];               /* NULL name ends */
};

#define E(n, ev, det) { n, VIR_DOMAIN_EVENT_##ev, VIR_DOMAIN_EVENT_##ev##_##det }

static const struct diff_case diff_cases[] = {
	{ "nothing changed", { DOM0, { "a", 3, BLK, true }, END }, { DOM0, { "a", 3, RUN, true }, END },
	  NULL, 0, { { NULL } } },
	{ "xl create: a transient domain appears running",
	  { DOM0, END }, { DOM0, { "t", 4, BLK, false }, END }, NULL, 0,
	  { E("t", STARTED, BOOTED), { NULL } } },
	{ "xl create -p: started, then paused",
	  { DOM0, END }, { DOM0, { "t", 4, PAU, false }, END }, NULL, 0,
	  { E("t", STARTED, BOOTED), E("t", SUSPENDED, PAUSED), { NULL } } },
	{ "define", { DOM0, END }, { DOM0, { "d", -1, OFF, true }, END }, NULL, 0,
	  { E("d", DEFINED, ADDED), { NULL } } },
	{ "define and start between two polls: defined first",
	  { DOM0, END }, { DOM0, { "d", 5, RUN, true }, END }, NULL, 0,
	  { E("d", DEFINED, ADDED), E("d", STARTED, BOOTED), { NULL } } },
	{ "a defined domain starts", { DOM0, { "d", -1, OFF, true }, END },
	  { DOM0, { "d", 5, RUN, true }, END }, NULL, 0, { E("d", STARTED, BOOTED), { NULL } } },
	{ "pause", { DOM0, { "d", 5, RUN, true }, END }, { DOM0, { "d", 5, PAU, true }, END }, NULL, 0,
	  { E("d", SUSPENDED, PAUSED), { NULL } } },
	{ "unpause", { DOM0, { "d", 5, PAU, true }, END }, { DOM0, { "d", 5, BLK, true }, END }, NULL, 0,
	  { E("d", RESUMED, UNPAUSED), { NULL } } },
	{ "a transient domain ends by itself: shutdown",
	  { DOM0, { "t", 4, RUN, false }, END }, { DOM0, END }, NULL, 0,
	  { E("t", STOPPED, SHUTDOWN), { NULL } } },
	{ "destroyed by the daemon",
	  { DOM0, { "t", 4, RUN, false }, END }, { DOM0, END }, "t", VIR_DOMAIN_EVENT_STOPPED_DESTROYED,
	  { E("t", STOPPED, DESTROYED), { NULL } } },
	{ "an intent for another domain changes nothing",
	  { DOM0, { "t", 4, RUN, false }, END }, { DOM0, END }, "u", VIR_DOMAIN_EVENT_STOPPED_DESTROYED,
	  { E("t", STOPPED, SHUTDOWN), { NULL } } },
	{ "a defined domain stops and stays defined",
	  { DOM0, { "d", 5, RUN, true }, END }, { DOM0, { "d", -1, OFF, true }, END }, NULL, 0,
	  { E("d", STOPPED, SHUTDOWN), { NULL } } },
	{ "undefine of an inactive domain", { DOM0, { "d", -1, OFF, true }, END }, { DOM0, END }, NULL, 0,
	  { E("d", UNDEFINED, REMOVED), { NULL } } },
	{ "a running defined domain destroyed and undefined between polls",
	  { DOM0, { "d", 5, RUN, true }, END }, { DOM0, END }, "d", VIR_DOMAIN_EVENT_STOPPED_DESTROYED,
	  { E("d", STOPPED, DESTROYED), E("d", UNDEFINED, REMOVED), { NULL } } },
	{ "undefine of a running domain: it goes on transient",
	  { DOM0, { "d", 5, RUN, true }, END }, { DOM0, { "d", 5, RUN, false }, END }, NULL, 0,
	  { E("d", UNDEFINED, REMOVED), { NULL } } },
	{ "restart under a new domid: stopped, started",
	  { DOM0, { "r", 6, RUN, false }, END }, { DOM0, { "r", 7, RUN, false }, END }, NULL, 0,
	  { E("r", STOPPED, SHUTDOWN), E("r", STARTED, BOOTED), { NULL } } },
	{ "a guest crashes and is kept (on_crash=preserve)",
	  { DOM0, { "c", 6, RUN, false }, END }, { DOM0, { "c", 6, CRA, false }, END }, NULL, 0,
	  { E("c", CRASHED, PANICKED), { NULL } } },
	{ "a crashed guest is then destroyed by xl",
	  { DOM0, { "c", 6, CRA, false }, END }, { DOM0, END }, NULL, 0,
	  { E("c", STOPPED, CRASHED), { NULL } } },
	{ "several at once: gone ones first, then the list's order",
	  { DOM0, { "a", 2, RUN, false }, { "b", 3, RUN, false }, END },
	  { DOM0, { "c", 4, RUN, false }, { "b", 3, PAU, false }, END }, NULL, 0,
	  { E("a", STOPPED, SHUTDOWN), E("c", STARTED, BOOTED), E("b", SUSPENDED, PAUSED), { NULL } } },
};

static void test_diff(struct unit *u, const void *arg)
{
	const struct diff_case *c = arg;
	struct virt_event_tracker t;
	struct seen s = { .n = 0 };
	struct virt_dom *d;
	size_t n, want = 0;

	virt_event_tracker_init(&t);
	d = snapshot(c->before, &n);
	virt_event_tracker_update(&t, d, n, 1000, record, &s);
	CHECK_INT(s.n, 0);
	if (c->intent_name)
		virt_event_tracker_intend(&t, c->intent_name, c->intent_detail, 1100);
	d = snapshot(c->after, &n);
	virt_event_tracker_update(&t, d, n, 1200, record, &s);
	while (c->want[want].name)
		want++;
	CHECK_INT(s.n, want);
	for (size_t i = 0; i < want && i < s.n; i++) {
		CHECK_STR(s.ev[i].name, c->want[i].name);
		CHECK(s.ev[i].event == c->want[i].event && s.ev[i].detail == c->want[i].detail,
		      "event %zu is (%d, %d), expected (%d, %d)", i, s.ev[i].event, s.ev[i].detail,
		      c->want[i].event, c->want[i].detail);
		if (s.ev[i].event == VIR_DOMAIN_EVENT_STOPPED)
			CHECK_INT(s.ev[i].id, -1);
	}
	virt_event_tracker_reset(&t);
}

/* Two snapshots of one domain, running then gone, with the intents noted at the given times. */
static int stop_detail_after(const int *details, const uint64_t *at, size_t n_intents, uint64_t seen_at)
{
	static const struct dom_row running[] = { { "x", 9, RUN, false }, END }, gone[] = { END };
	struct virt_event_tracker t;
	struct seen s = { .n = 0 };
	struct virt_dom *d;
	size_t n;

	virt_event_tracker_init(&t);
	d = snapshot(running, &n);
	virt_event_tracker_update(&t, d, n, 0, record, &s);
	for (size_t i = 0; i < n_intents; i++)
		virt_event_tracker_intend(&t, "x", details[i], at[i]);
	d = snapshot(gone, &n);
	virt_event_tracker_update(&t, d, n, seen_at, record, &s);
	virt_event_tracker_reset(&t);
	return s.n == 1 ? s.ev[0].detail : -100 - (int)s.n;
}

static void test_intents(struct unit *u, const void *arg)
{
	const int shut_then_destroy[] = { VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN, VIR_DOMAIN_EVENT_STOPPED_DESTROYED };
	const int destroy_then_shut[] = { VIR_DOMAIN_EVENT_STOPPED_DESTROYED, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN };
	const uint64_t at[] = { 10, 20 };
	const uint64_t late[] = { 10, 10 + VIRT_EVENT_INTENT_MS + 5 };

	(void)arg;
	CHECK_INT(stop_detail_after(shut_then_destroy, at, 2, 30), VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
	CHECK_INT(stop_detail_after(destroy_then_shut, at, 2, 30), VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
	/* A destroy noted long ago (its stop was missed) no longer outranks a new shutdown request. */
	CHECK_INT(stop_detail_after(destroy_then_shut, late, 2, late[1] + 1), VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN);
	/* An intent expires: a stop seen past the bound is the guest's own. */
	CHECK_INT(stop_detail_after(destroy_then_shut, at, 1, 10 + VIRT_EVENT_INTENT_MS + 200),
		  VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN);
}

static void test_intent_consumed(struct unit *u, const void *arg)
{
	static const struct dom_row running[] = { { "x", 9, RUN, false }, END }, gone[] = { END };
	struct virt_event_tracker t;
	struct seen s = { .n = 0 };
	struct virt_dom *d;
	size_t n;

	(void)arg;
	virt_event_tracker_init(&t);
	d = snapshot(running, &n);
	virt_event_tracker_update(&t, d, n, 0, record, &s);
	virt_event_tracker_intend(&t, "x", VIR_DOMAIN_EVENT_STOPPED_DESTROYED, 1);
	d = snapshot(gone, &n);
	virt_event_tracker_update(&t, d, n, 2, record, &s);
	d = snapshot(running, &n);
	virt_event_tracker_update(&t, d, n, 3, record, &s);
	d = snapshot(gone, &n);
	virt_event_tracker_update(&t, d, n, 4, record, &s);
	CHECK_INT(s.n, 3);
	CHECK_INT(s.ev[0].detail, VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
	CHECK_INT(s.ev[1].event, VIR_DOMAIN_EVENT_STARTED);
	CHECK_INT(s.ev[2].detail, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN);
	/* More intents than slots: the oldest goes, the newest are kept. */
	for (int i = 0; i < VIRT_EVENT_INTENTS_MAX + 8; i++) {
		char name[16];

		snprintf(name, sizeof(name), "n%d", i);
		virt_event_tracker_intend(&t, name, VIR_DOMAIN_EVENT_STOPPED_DESTROYED, 10 + (uint64_t)i);
	}
	CHECK_STR(t.intents[0].name, "n64");
	virt_event_tracker_reset(&t);
	CHECK(!t.primed && !t.doms, "reset keeps a snapshot");
}

static void test_wire(struct unit *u, const void *arg)
{
	struct virt_lifecycle_event ev = { .name = "abcde", .id = 7, .event = VIR_DOMAIN_EVENT_STOPPED,
					   .detail = VIR_DOMAIN_EVENT_STOPPED_DESTROYED };
	static const uint8_t legacy[] = {
		0, 0, 0, 5, 'a', 'b', 'c', 'd', 'e', 0, 0, 0,
		0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
		0, 0, 0, 7, 0, 0, 0, 5, 0, 0, 0, 1,
	};
	struct xdr_writer w;

	(void)arg;
	for (int i = 0; i < 16; i++)
		ev.uuid[i] = (uint8_t)(0x10 + i);
	xdr_writer_init(&w, 4096);
	virt_event_put_lifecycle(&w, -1, &ev);
	CHECK(!w.failed && w.len == sizeof(legacy) && !memcmp(w.data, legacy, sizeof(legacy)),
	      "legacy lifecycle message: %zu bytes, not remote_domain_event_lifecycle_msg", w.len);
	xdr_writer_free(&w);
	xdr_writer_init(&w, 4096);
	virt_event_put_lifecycle(&w, 0x01020304, &ev);
	CHECK(!w.failed && w.len == 4 + sizeof(legacy) && w.data && !memcmp(w.data, "\1\2\3\4", 4) &&
	      !memcmp(w.data + 4, legacy, sizeof(legacy)),
	      "callback lifecycle message: %zu bytes, not callbackID + the legacy body", w.len);
	xdr_writer_free(&w);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	for (size_t i = 0; i < sizeof(diff_cases) / sizeof(diff_cases[0]); i++)
		unit_case(&u, diff_cases[i].title, test_diff, &diff_cases[i]);
	unit_case(&u, "intents: destroy outranks shutdown, both expire", test_intents, NULL);
	unit_case(&u, "an intent is used once; a full table drops the oldest", test_intent_consumed, NULL);
	unit_case(&u, "lifecycle messages on the wire", test_wire, NULL);
	return unit_finish(&u);
}
