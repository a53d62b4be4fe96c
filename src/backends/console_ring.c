/* The PV console backend: the guest's console ring (HVM_PARAM_CONSOLE_PFN/EVTCHN), as xenconsoled
 * serves it.  Output goes to the same log and pty as the early ports; what a client types goes into
 * the ring's input side.  The guest hears from us only when output was taken or input added.
 * The guest owns the producer index of `out` and the consumer index of `in`,
 * so every index it wrote is checked against the ring size before use. */
#include <stdlib.h>
#include <string.h>
#include "hw/device.h"
#include "lib/error.h"
#include "vmm/domain.h"
#include "xen/xen_state.h"

struct console_ring {
	struct domain *dom;
	struct xencons_interface *ring;
	pthread_mutex_t lock;
	uint64_t bad_indices;         /* times the guest's indices made no sense */
};

/* Runs on the vCPU thread that notified the console port. */
static void console_ring_notified(void *opaque)
{
	struct console_ring *c = opaque;
	struct xencons_interface *r = c->ring;
	char buf[sizeof(r->out)];
	size_t n = 0;

	pthread_mutex_lock(&c->lock);
	XENCONS_RING_IDX cons = __atomic_load_n(&r->out_cons, __ATOMIC_ACQUIRE);
	XENCONS_RING_IDX prod = __atomic_load_n(&r->out_prod, __ATOMIC_ACQUIRE);
	if ((XENCONS_RING_IDX)(prod - cons) > sizeof(r->out)) {
		/* Nonsense from the guest: skip to its producer rather than replay garbage. */
		if (c->bad_indices++ < 4)
			LOG("domain %d: console ring out_prod %u out_cons %u: ignoring", c->dom->domid, prod, cons);
		__atomic_store_n(&r->out_cons, prod, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&c->lock);
		return;
	}
	while (cons != prod)
		buf[n++] = r->out[MASK_XENCONS_IDX(cons++, r->out)];
	__atomic_store_n(&r->out_cons, cons, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&c->lock);
	/* Signal only when we moved something, as xenconsoled does: a guest that answers each event
	 * with a notification of its own (say, after taking input) would otherwise ping-pong. */
	if (n) {
		console_write(c->dom->console, buf, n);
		evtchn_dom0_send(c->dom, EVTCHN_CONSOLE_PORT);
	}
}

void console_ring_input(struct domain *dom, const char *buf, size_t len)
{
	struct console_ring *c = dom->console_ring;
	size_t done = 0;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	struct xencons_interface *r = c->ring;
	XENCONS_RING_IDX cons = __atomic_load_n(&r->in_cons, __ATOMIC_ACQUIRE);
	XENCONS_RING_IDX prod = r->in_prod;
	/* A full ring drops input, as a serial line would. */
	while (done < len && (XENCONS_RING_IDX)(prod - cons) < sizeof(r->in))
		r->in[MASK_XENCONS_IDX(prod++, r->in)] = buf[done++];
	__atomic_store_n(&r->in_prod, prod, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&c->lock);
	if (done)
		evtchn_dom0_send(dom, EVTCHN_CONSOLE_PORT);
}

static int console_ring_init(struct domain *dom, void **state, char *err, size_t errlen)
{
	struct console_ring *c = calloc(1, sizeof(*c));
	uint64_t gpa = vm_special_page_gpa(&dom->vm, SPECIAL_PAGE_CONSOLE);

	if (!c) {
		ERR_SET(err, errlen, "out of memory for the console ring");
		return -1;
	}
	c->dom = dom;
	c->ring = vm_gpa_to_hva(&dom->vm, gpa, 4096);
	pthread_mutex_init(&c->lock, NULL);
	memset(c->ring, 0, 4096);
	if (evtchn_dom0_bind(dom, EVTCHN_CONSOLE_PORT, console_ring_notified, c) < 0) {
		ERR_SET(err, errlen, "binding the console event channel");
		pthread_mutex_destroy(&c->lock);
		free(c);
		return -1;
	}
	dom->console_ring = c;
	*state = c;
	return 0;
}

static void console_ring_teardown(struct domain *dom, void *state)
{
	struct console_ring *c = state;

	dom->console_ring = NULL;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

const struct device_ops console_ring_device = {
	.name = "console-ring", .init = console_ring_init, .teardown = console_ring_teardown,
};
