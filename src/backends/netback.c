/* netback, the device: one `struct netback` per vif (docs/netif.md).
 *
 * Attach: parse the spec, open the TAP vif<domid>.<devid> with a queue per queue we offer
 * (multi-queue-max-queues: one per online CPU, at most TAP_MAX_QUEUES) and a vnet header, write
 * the backend and frontend directories (xenbus_backend), run the hotplug script `online` (its
 * failure fails the attach with what it printed), hotplug-status = connected, InitWait.  When the
 * frontend says Connected, connect() reads how many queues it wants and each queue's rings and
 * event channel(s) (one, or a tx/rx pair with feature-split-event-channels), and the features it
 * takes on rx; each queue's rings are mapped and served by a thread of their own
 * (backends/ring_poller.h) that sleeps on its kick eventfd and, while the guest has rx slots
 * posted, its TAP queue.  The event channels' callbacks (vCPU threads) only kick.  TAP queues the
 * frontend did not ask for are detached from the kernel's steering.  The main loop keeps xenbus,
 * control and hotplug; a queue's thread that finds its ring broken tells it through an eventfd,
 * and the main loop writes the `error` node.  Detach and teardown undo it in reverse: disconnect
 * (ports unbound, threads stopped, pages unmapped), `offline`, close the TAP (which removes it),
 * remove the directories; each vif logs its counters as it goes.
 *
 * Scripts and the main loop: a vif-attach or vif-detach request comes while the loop serves the
 * guest, so there `online` and `offline` run as children watched on the loop (hotplug_start) and
 * the request is answered when they end: attach_async leaves the device `attaching` until
 * online_done, and a detach's release leaves it `releasing` until offline_done (the TAP stays
 * until `offline` ended, as the script expects it).  At VMM start, restart and exit nothing else
 * is served, so vif_attach and teardown run them synchronously (hotplug_run). */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <poll.h>
#include <unistd.h>
#include "backends/hotplug.h"
#include "backends/netback.h"
#include "backends/pv_backend.h"
#include "backends/pv_queues.h"
#include "backends/ring_poller.h"
#include "backends/tap.h"
#include "backends/xenbus_backend.h"
#include "lib/error.h"
#include "lib/rundir.h"
#include "vmm/domain.h"
#include "vmm/event_loop.h"
#include "xen/xen_state.h"

_Static_assert(NETBACK_MAX_VIFS == DOMAIN_MAX_VIFS, "one limit on vifs");

#define TX_BUDGET 256                    /* slots per loop iteration per vif */
#define RX_BUDGET 64                     /* frames per loop iteration per vif */
#define DEFAULT_BRIDGE "xenbr0"
#define DEFAULT_SCRIPT "vif-bridge"

/* One queue: its TAP descriptor and, while connected, its rings and the thread that serves them. */
struct netback_queue {
	struct netback *nb;
	unsigned int index;
	char name[IFNAMSIZ + 8];             /* "vif7.0-q1", for logs and the thread */
	int tap_fd;                          /* -1: none */
	bool tap_attached;                   /* in the kernel's steering (multi-queue TAPs) */
	/* While connected (main thread's view): */
	bool connected;
	unsigned long tx_ref, rx_ref;
	evtchn_port_t tx_port, rx_port;      /* equal without split event channels */
	struct grant_mapping tx_map, rx_map;
	struct ring_poller poller;
	bool rx_no_slots;                    /* the thread's: rx waits for slots, the TAP is not polled */
	struct netback_ring ring;            /* big: two frame buffers */
};

struct netback {
	struct pv_device dev;                /* first: the generic instance (pv_backend.h) */
	struct netback_config cfg;
	char vifname[IFNAMSIZ];
	char script[PATH_MAX];               /* resolved */
	char mac_text[18];
	unsigned int max_queues;             /* TAP queues, multi-queue-max-queues */
	unsigned int n_queues;               /* connected ones (0: not connected) */
	bool vnet_hdr;                       /* the TAP's frames carry a virtio_net_hdr */
	struct netback_queue *queues[TAP_MAX_QUEUES];
	int notice_fd;                       /* eventfd: a queue's thread found its ring broken; -1: none */
	bool notice_polled;                  /* on the main loop */
	bool online;                         /* `online` ran (or runs): `offline` is due */
	struct hotplug *hotplug;             /* the script running on the loop, or NULL */
	void (*after_release)(struct netback *nb);   /* once an asynchronous `offline` ended */
	char attach_err[1024];               /* why a deferred attach failed, for its answer */
	bool connected;
	bool was_broken;                     /* the last connection's ring was broken (for the log) */
	struct netback_features feat;        /* of the current connection */
	struct netback_stats total;          /* of earlier connections */
};

_Static_assert(offsetof(struct netback, dev) == 0, "xenbus callbacks get the pv_device as the netback");

/* ---- configuration ---- */

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6 ||
	    strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static bool ifname_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int copy_value(char *dst, size_t len, const char *key, const char *v, char *err, size_t errlen)
{
	if (strlen(v) >= len) {
		ERR_SET(err, errlen, "vif %s '%s' is too long (at most %zu characters)", key, v, len - 1);
		return -1;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* Addresses (space separated, as Xen allows) reach a shell script: keep them plain. */
#define IP_CHARS "0123456789abcdefABCDEF.:/"
#define IP_LIST_CHARS IP_CHARS " "

int netback_config_parse(const char *spec, struct netback_config *c, char *err, size_t errlen)
{
	char buf[NETBACK_SPEC_MAX + 1], *save = NULL;

	*c = (struct netback_config){ .devid = -1 };
	if (strlen(spec) > NETBACK_SPEC_MAX) {
		ERR_SET(err, errlen, "vif spec longer than %d characters", NETBACK_SPEC_MAX);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		while (*kv == ' ')
			kv++;
		char *v = strchr(kv, '=');
		if (!*kv)
			continue;
		if (!v) {
			ERR_SET(err, errlen, "vif option '%s' has no value (key=value)", kv);
			return -1;
		}
		*v++ = '\0';
		if (!strcmp(kv, "devid")) {
			char *end;
			errno = 0;
			long d = strtol(v, &end, 10);
			if (errno || end == v || *end || d < 0 || d >= 1 << 16) {
				ERR_SET(err, errlen, "vif devid '%s' is not a number from 0 to 65535", v);
				return -1;
			}
			c->devid = (int)d;
		} else if (!strcmp(kv, "mac")) {
			if (parse_mac(v, c->mac)) {
				ERR_SET(err, errlen, "vif mac '%s' is not six hex bytes (00:16:3e:01:02:03)", v);
				return -1;
			}
			if (c->mac[0] & 1) {
				ERR_SET(err, errlen, "vif mac '%s' is a multicast address", v);
				return -1;
			}
			c->has_mac = true;
		} else if (!strcmp(kv, "bridge") || !strcmp(kv, "vifname") || !strcmp(kv, "netdev")) {
			if (!ifname_ok(v)) {
				ERR_SET(err, errlen, "vif %s '%s' is not a usable interface name", kv, v);
				return -1;
			}
			char *dst = kv[0] == 'b' ? c->bridge : kv[0] == 'v' ? c->vifname : c->netdev;
			memcpy(dst, v, strlen(v) + 1);
		} else if (!strcmp(kv, "script")) {
			if (!*v || copy_value(c->script, sizeof(c->script), kv, v, err, errlen))
				return *v ? -1 : (ERR_SET(err, errlen, "vif script is empty"), -1);
		} else if (!strcmp(kv, "ip")) {
			if (strspn(v, IP_LIST_CHARS) != strlen(v)) {
				ERR_SET(err, errlen, "vif ip '%s' is not a list of addresses", v);
				return -1;
			}
			if (copy_value(c->ip, sizeof(c->ip), kv, v, err, errlen))
				return -1;
		} else if (!strcmp(kv, "gatewayip")) {
			if (strspn(v, IP_CHARS) != strlen(v) ||
			    copy_value(c->gatewayip, sizeof(c->gatewayip), kv, v, err, errlen)) {
				ERR_SET(err, errlen, "vif gatewayip '%s' is not an address", v);
				return -1;
			}
		} else if (!strcmp(kv, "rate")) {
			if (copy_value(c->rate, sizeof(c->rate), kv, v, err, errlen))
				return -1;
		} else {
			ERR_SET(err, errlen, "unknown vif option '%s' (devid, mac, bridge, script, ip, vifname, rate)", kv);
			return -1;
		}
	}
	return 0;
}

/* A config from a saved record: what the parser would have refused (strings are NUL-terminated
 * within their buffers already, and the devid within 0-65535: pv_record.c). */
static int vif_check(const void *config, char *err, size_t errlen)
{
	const struct netback_config *c = config;
	const struct { const char *key, *value; } names[] = {
		{ "bridge", c->bridge }, { "vifname", c->vifname }, { "netdev", c->netdev },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].value[0] && !ifname_ok(names[i].value)) {
			ERR_SET(err, errlen, "vif %s '%s' is not a usable interface name", names[i].key,
				names[i].value);
			return -1;
		}
	if (c->has_mac && (c->mac[0] & 1)) {
		ERR_SET(err, errlen, "vif mac is a multicast address");
		return -1;
	}
	if (strspn(c->ip, IP_LIST_CHARS) != strlen(c->ip) ||
	    strspn(c->gatewayip, IP_CHARS) != strlen(c->gatewayip)) {
		ERR_SET(err, errlen, "vif ip '%s' or gatewayip '%s' is not a list of addresses", c->ip,
			c->gatewayip);
		return -1;
	}
	return 0;
}

/* A bare script name is looked up as xl does: $XENITH_SCRIPTS, scripts/ beside our bin/, then
 * /etc/xen/scripts. */
static int resolve_script(const char *name, char *out, size_t len, char *err, size_t errlen)
{
	char self[PATH_MAX], dirs[3][PATH_MAX];
	int n = 0;
	const char *env = getenv("XENITH_SCRIPTS");

	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return access(out, X_OK) ? (ERR_SET(err, errlen, "hotplug script %s: %s", out, strerror(errno)), -1) : 0;
	}
	if (env && *env)
		snprintf(dirs[n++], PATH_MAX, "%s", env);
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl > 0) {
		self[sl] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			slash = strrchr(self, '/');
			if (slash) {
				*slash = '\0';
				snprintf(dirs[n++], PATH_MAX, "%.*s/scripts", PATH_MAX - 9, self);
			}
		}
	}
	snprintf(dirs[n++], PATH_MAX, "/etc/xen/scripts");
	for (int i = 0; i < n; i++) {
		if ((size_t)snprintf(out, len, "%s/%s", dirs[i], name) < len && !access(out, X_OK))
			return 0;
	}
	ERR_SET(err, errlen, "hotplug script '%s' not found in %s%s%s%s%s", name, dirs[0], n > 1 ? ", " : "",
		n > 1 ? dirs[1] : "", n > 2 ? ", " : "", n > 2 ? dirs[2] : "");
	return -1;
}

/* ---- a queue's thread (backends/ring_poller.h) ----
 * Everything here but guest_notified runs on the queue's thread, which owns the ring while it runs;
 * the main thread reads the counters only (relaxed loads) and never writes xenstore from here. */

static uint64_t load(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* Frames and slots the ring has dealt with: a round that moved it did work. */
static uint64_t progress(const struct netback_stats *s)
{
	return s->tx_packets + s->tx_drops + s->tx_errors + s->rx_packets + s->rx_drops + s->rx_errors;
}

/* A broken ring is reported by the main thread (its `error` node): wake it. */
static void notice_broken(struct netback *nb)
{
	uint64_t one = 1;

	if (write(nb->notice_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		LOG("%s: telling the main loop: %s", nb->vifname, strerror(errno));
}

static enum ring_poller_round queue_serve(void *opaque)
{
	struct netback_queue *q = opaque;
	uint64_t before = progress(&q->ring.st);
	enum netback_work tx = netback_ring_tx(&q->ring, TX_BUDGET);
	enum netback_work rx = netback_ring_rx(&q->ring, RX_BUDGET);

	if (tx == NETBACK_BROKEN || rx == NETBACK_BROKEN) {
		notice_broken(q->nb);
		return RING_POLLER_STOPPED;
	}
	q->rx_no_slots = rx == NETBACK_NO_SLOTS;
	if (tx == NETBACK_MORE || rx == NETBACK_MORE || progress(&q->ring.st) != before)
		return RING_POLLER_WORKED;
	return RING_POLLER_IDLE;
}

static bool queue_arm(void *opaque)
{
	struct netback_queue *q = opaque;

	return netback_ring_arm(&q->ring);
}

/* The TAP queue wakes the thread only while the guest has rx slots for what it would read. */
static unsigned int queue_wait_fds(void *opaque, struct pollfd *fds)
{
	struct netback_queue *q = opaque;

	if (q->rx_no_slots)
		return 0;
	fds[0] = (struct pollfd){ .fd = q->tap_fd, .events = POLLIN };
	return 1;
}

static const struct ring_poller_ops queue_poller_ops = {
	.serve = queue_serve, .arm = queue_arm, .wait_fds = queue_wait_fds,
};

/* The event channel's callback (either port of a split pair): on a vCPU thread. */
static void guest_notified(void *opaque)
{
	struct netback_queue *q = opaque;

	__atomic_fetch_add(&q->ring.st.kicks, 1, __ATOMIC_RELAXED);
	ring_poller_kick(&q->poller);
}

/* ---- the main loop's side ---- */

static bool queue_broken(const struct netback_queue *q)
{
	return __atomic_load_n(&q->ring.broken, __ATOMIC_RELAXED);
}

static bool any_broken(const struct netback *nb)
{
	if (!nb->connected)
		return nb->was_broken;
	for (unsigned int i = 0; i < nb->n_queues; i++)
		if (queue_broken(nb->queues[i]))
			return true;
	return false;
}

static void broken_noticed(void *opaque, uint32_t events)
{
	struct netback *nb = opaque;
	char why[96];
	uint64_t count;

	(void)events;
	if (read(nb->notice_fd, &count, sizeof(count)) < 0)
		return;
	for (unsigned int i = 0; i < nb->n_queues; i++)
		if (nb->queues[i]->connected && queue_broken(nb->queues[i])) {
			snprintf(why, sizeof(why), "frontend broke the ring protocol (queue %u)", i);
			xenbus_backend_write(&nb->dev.xb, "error", why);
		}
}

/* ---- xenbus: connect and disconnect ---- */

/* What the frontend published for one queue. */
struct queue_keys {
	unsigned long tx_ref, rx_ref, tx_port, rx_port;
};

/* The frontend's key for queue q of n (pv_queue_key: queue-<q>/key with several); keys here are
 * short names, so a failure to fit cannot happen and leaves the key empty, which then reads absent. */
static const char *queue_key(char *buf, size_t len, unsigned int n, unsigned int q, const char *key)
{
	if (pv_queue_key(buf, len, n, q, key))
		buf[0] = 0;
	return buf;
}

static int read_port(struct xenbus_backend *xb, const char *key, unsigned long *port, char *err, size_t errlen)
{
	int r = xenbus_backend_read_fe_uint(xb, key, EVTCHN_PORTS - 1, port);

	if (r)
		ERR_SET(err, errlen, "reading %s/%s: %s", xb->fe_path, key,
			r == -EINVAL ? "not a port number" : strerror(-r));
	return r;
}

/* Rings and ports of queue q; split event channels when the frontend wrote event-channel-tx and
 * -rx (both or neither, as xen/io/netif.h says).  0, or -1 with err. */
static int read_queue_keys(struct xenbus_backend *xb, unsigned int n, unsigned int q, struct queue_keys *k,
			   char *err, size_t errlen)
{
	char key[48], rx_key[48];
	int r;

	if ((r = xenbus_backend_read_fe_uint(xb, queue_key(key, sizeof(key), n, q, "tx-ring-ref"), UINT32_MAX,
					     &k->tx_ref)) ||
	    (r = xenbus_backend_read_fe_uint(xb, queue_key(key, sizeof(key), n, q, "rx-ring-ref"), UINT32_MAX,
					     &k->rx_ref))) {
		ERR_SET(err, errlen, "reading %s/%s: %s", xb->fe_path, key,
			r == -EINVAL ? "not a grant reference" : strerror(-r));
		return -1;
	}
	queue_key(key, sizeof(key), n, q, "event-channel-tx");
	queue_key(rx_key, sizeof(rx_key), n, q, "event-channel-rx");
	int tx = xenbus_backend_read_fe_uint(xb, key, EVTCHN_PORTS - 1, &k->tx_port);
	int rx = xenbus_backend_read_fe_uint(xb, rx_key, EVTCHN_PORTS - 1, &k->rx_port);
	if (tx == -ENOENT && rx == -ENOENT) {
		if (read_port(xb, queue_key(key, sizeof(key), n, q, "event-channel"), &k->tx_port, err, errlen))
			return -1;
		k->rx_port = k->tx_port;
		return 0;
	}
	if (tx == -ENOENT || rx == -ENOENT) {
		ERR_SET(err, errlen, "%s/%s without %s: split event channels need both", xb->fe_path,
			tx ? rx_key : key, tx ? key : rx_key);
		return -1;
	}
	if (read_port(xb, key, &k->tx_port, err, errlen) || read_port(xb, rx_key, &k->rx_port, err, errlen))
		return -1;
	if (k->tx_port == k->rx_port) {
		ERR_SET(err, errlen, "%s/%s and %s are the same port %lu", xb->fe_path, key, rx_key, k->tx_port);
		return -1;
	}
	return 0;
}

/* What the frontend takes on rx (its feature-* keys; missing or unreadable is off, a non-zero
 * number on, as Linux reads them) and what we offered for tx. */
static const struct { const char *key; size_t offset; } frontend_features[] = {
	{ "feature-sg", offsetof(struct netback_features, rx_sg) },
	{ "feature-gso-tcpv4", offsetof(struct netback_features, rx_gso_tcpv4) },
	{ "feature-gso-tcpv6", offsetof(struct netback_features, rx_gso_tcpv6) },
	{ "feature-ipv6-csum-offload", offsetof(struct netback_features, rx_ipv6_csum) },
};

static bool frontend_flag(struct xenbus_backend *xb, const char *key)
{
	unsigned long v = 0;

	return !xenbus_backend_read_fe_uint(xb, key, ULONG_MAX, &v) && v;
}

static struct netback_features read_features(struct xenbus_backend *xb, const struct netback *nb)
{
	struct netback_features f = { .vnet_hdr = nb->vnet_hdr, .tx_gso = nb->vnet_hdr };

	for (size_t i = 0; i < sizeof(frontend_features) / sizeof(frontend_features[0]); i++)
		*(bool *)((char *)&f + frontend_features[i].offset) = frontend_flag(xb, frontend_features[i].key);
	f.rx_csum_blank = !frontend_flag(xb, "feature-no-csum-offload");
	/* A GSO frame spans slots, and only a vnet header tells us a frame is one. */
	f.rx_gso_tcpv4 &= f.rx_sg && nb->vnet_hdr;
	f.rx_gso_tcpv6 &= f.rx_sg && nb->vnet_hdr;
	return f;
}

/* The first n TAP queues in the kernel's steering, the rest out of it (a multi-queue TAP only).
 * 0, or -1 with err when a queue the frontend will use could not be attached. */
static int steer_queues(struct netback *nb, unsigned int n, char *err, size_t errlen)
{
	char why[256];

	if (nb->max_queues < 2)
		return 0;
	for (unsigned int i = 0; i < nb->max_queues; i++) {
		struct netback_queue *q = nb->queues[i];
		bool want = i < n;
		if (q->tap_attached == want)
			continue;
		if (tap_queue_set_attached(q->tap_fd, nb->vifname, want, why, sizeof(why))) {
			if (want) {
				ERR_SET(err, errlen, "%s", why);
				return -1;
			}
			LOG("%s: %s (frames steered to it wait for a later connection)", q->name, why);
			continue;
		}
		q->tap_attached = want;
	}
	return 0;
}

static int connect_queue(struct netback_queue *q, const struct queue_keys *k, const struct netback_features *feat,
			 char *err, size_t errlen)
{
	struct domain *dom = q->nb->dev.dom;
	int r;

	if ((r = gnttab_map(dom, (grant_ref_t)k->tx_ref, 0, false, &q->tx_map))) {
		ERR_SET(err, errlen, "%s: mapping tx-ring-ref %lu: refused (%d)", q->name, k->tx_ref, r);
		return -1;
	}
	if ((r = gnttab_map(dom, (grant_ref_t)k->rx_ref, 0, false, &q->rx_map))) {
		ERR_SET(err, errlen, "%s: mapping rx-ring-ref %lu: refused (%d)", q->name, k->rx_ref, r);
		goto unmap_tx;
	}
	/* The ring and its thread exist before a port is bound, so a kick that comes at once finds them. */
	q->ring.st = (struct netback_stats){ 0 };
	q->rx_no_slots = false;
	netback_ring_init(&q->ring, &(struct netback_ring_params){
		.dom = dom, .name = q->name, .tx_page = q->tx_map.page, .rx_page = q->rx_map.page,
		.tx_port = (evtchn_port_t)k->tx_port, .rx_port = (evtchn_port_t)k->rx_port, .tap_fd = q->tap_fd,
		.feat = *feat });
	if (ring_poller_start(&q->poller, q->name, &queue_poller_ops, q, pv_backend_poll_us(dom), err, errlen))
		goto unmap_rx;
	r = evtchn_dom0_bind(dom, (evtchn_port_t)k->tx_port, guest_notified, q);
	if (r < 0) {
		ERR_SET(err, errlen, "%s: binding event channel %lu: not a port left unbound for Dom0 (%d)", q->name,
			k->tx_port, r);
		goto stop;
	}
	if (k->rx_port != k->tx_port && (r = evtchn_dom0_bind(dom, (evtchn_port_t)k->rx_port, guest_notified, q)) < 0) {
		ERR_SET(err, errlen, "%s: binding event channel %lu (rx): not a port left unbound for Dom0 (%d)",
			q->name, k->rx_port, r);
		evtchn_dom0_unbind(dom, (evtchn_port_t)k->tx_port, guest_notified, q);
		goto stop;
	}
	q->tx_ref = k->tx_ref;
	q->rx_ref = k->rx_ref;
	q->tx_port = (evtchn_port_t)k->tx_port;
	q->rx_port = (evtchn_port_t)k->rx_port;
	q->connected = true;
	ring_poller_kick(&q->poller);        /* requests may be waiting already */
	return 0;
stop:
	ring_poller_stop(&q->poller);
unmap_rx:
	gnttab_unmap(&q->rx_map);
unmap_tx:
	gnttab_unmap(&q->tx_map);
	return -1;
}

static void add_stats(struct netback_stats *to, const struct netback_stats *s)
{
	to->tx_packets += load(&s->tx_packets); to->tx_bytes += load(&s->tx_bytes);
	to->tx_drops += load(&s->tx_drops); to->tx_errors += load(&s->tx_errors);
	to->rx_packets += load(&s->rx_packets); to->rx_bytes += load(&s->rx_bytes);
	to->rx_drops += load(&s->rx_drops); to->rx_errors += load(&s->rx_errors);
	to->tx_notifies += load(&s->tx_notifies); to->rx_notifies += load(&s->rx_notifies);
	to->kicks += load(&s->kicks);
}

/* Teardown order: the ports first (their callback is not running afterwards), then the thread,
 * then the pages it used. */
static void disconnect_queue(struct netback_queue *q, struct netback_stats *total)
{
	struct domain *dom = q->nb->dev.dom;

	if (!q->connected)
		return;
	evtchn_dom0_unbind(dom, q->tx_port, guest_notified, q);
	if (q->rx_port != q->tx_port)
		evtchn_dom0_unbind(dom, q->rx_port, guest_notified, q);
	ring_poller_stop(&q->poller);
	add_stats(total, &q->ring.st);
	gnttab_unmap(&q->rx_map);
	gnttab_unmap(&q->tx_map);
	q->ring.st = (struct netback_stats){ 0 };
	q->ring.rx_pending = 0;
	q->connected = false;
}

static int vif_connect(struct xenbus_backend *xb, void *opaque, char *err, size_t errlen)
{
	struct netback *nb = opaque;
	struct queue_keys keys[TAP_MAX_QUEUES];
	unsigned long rx_copy = 0;
	unsigned int n = pv_queues_read(xb, nb->max_queues, err, errlen);

	if (!n)
		return -1;
	for (unsigned int i = 0; i < n; i++)
		if (read_queue_keys(xb, n, i, &keys[i], err, errlen))
			return -1;
	xenbus_backend_read_fe_uint(xb, "request-rx-copy", 1, &rx_copy);
	if (!rx_copy) {
		ERR_SET(err, errlen, "frontend does not request rx-copy, the only receive mode offered");
		return -1;
	}
	nb->feat = read_features(xb, nb);
	if (steer_queues(nb, n, err, errlen))
		return -1;
	for (unsigned int i = 0; i < n; i++)
		if (connect_queue(nb->queues[i], &keys[i], &nb->feat, err, errlen)) {
			while (i--)
				disconnect_queue(nb->queues[i], &nb->total);
			return -1;
		}
	nb->n_queues = n;
	nb->connected = true;
	LOG("%s: connected: %u queue%s, tx-ring-ref %lu rx-ring-ref %lu event-channel %lu%s%s; rx: sg %d "
	    "gso-tcpv4 %d gso-tcpv6 %d csum-blank %d ipv6-csum %d", nb->vifname, n, n > 1 ? "s" : "", keys[0].tx_ref,
	    keys[0].rx_ref, keys[0].tx_port, keys[0].rx_port != keys[0].tx_port ? " (tx), split" : "",
	    n > 1 ? " (queue 0)" : "", nb->feat.rx_sg, nb->feat.rx_gso_tcpv4, nb->feat.rx_gso_tcpv6,
	    nb->feat.rx_csum_blank, nb->feat.rx_ipv6_csum);
	return 0;
}

static void vif_disconnect(struct xenbus_backend *xb, void *opaque)
{
	struct netback *nb = opaque;

	(void)xb;
	if (!nb->connected)
		return;
	nb->was_broken = any_broken(nb);
	for (unsigned int i = 0; i < nb->n_queues; i++)
		disconnect_queue(nb->queues[i], &nb->total);
	nb->n_queues = 0;
	nb->connected = false;
	LOG("%s: disconnected", nb->vifname);
}

/* Earlier connections' counters plus the running queues' (their threads write them meanwhile). */
static struct netback_stats stats_of(const struct netback *nb)
{
	struct netback_stats s = nb->total;

	for (unsigned int i = 0; i < nb->n_queues; i++)
		add_stats(&s, &nb->queues[i]->ring.st);
	return s;
}


/* ---- lifecycle ---- */

static void hotplug_env(struct netback *nb, const char *command, char **env)
{
	char sock[PATH_MAX];
	struct rundir rd;
	int n = 0;

	if (rundir_open(&rd) || !rundir_path(&rd, sock, sizeof(sock), "xenstored/socket"))
		sock[0] = '\0';
#define ENV(...) do { if (asprintf(&env[n], __VA_ARGS__) < 0) env[n] = NULL; else n++; } while (0)
	ENV("vif=%s", nb->vifname);
	ENV("XENBUS_PATH=backend/vif/%d/%d", nb->dev.dom->domid, nb->dev.devid);
	ENV("XENBUS_TYPE=vif");
	ENV("XENBUS_BASE_PATH=backend");
	ENV("script=%s", nb->script);
	ENV("command=%s", command);
	ENV("bridge=%s", nb->cfg.bridge);
	ENV("ip=%s", nb->cfg.ip);
	ENV("mac=%s", nb->mac_text);
	ENV("netdev=%s", nb->cfg.netdev);
	ENV("gatewayip=%s", nb->cfg.gatewayip);
	ENV("XENSTORED_PATH=%s", sock);
#undef ENV
	env[n] = NULL;
}

static void free_env(char **env)
{
	for (int i = 0; env[i]; i++)
		free(env[i]);
}

/* Waits for the script: only where the loop serves nothing else (start, restart, exit). */
static int run_script(struct netback *nb, const char *command, char *msg, size_t msglen)
{
	char *env[16];

	hotplug_env(nb, command, env);
	int r = hotplug_run(nb->script, command, env, msg, msglen);
	free_env(env);
	return r;
}

/* Starts the script as a child watched on the main loop; done(nb, rc, msg) runs when it ends. */
static int start_script(struct netback *nb, const char *command, hotplug_done_fn done, char *msg,
			size_t msglen)
{
	const struct hotplug_call call = { .script = nb->script, .command = command };
	struct hotplug_call with_env = call;
	char *env[16];

	hotplug_env(nb, command, env);
	with_env.env = env;
	int r = hotplug_start(nb->dev.dom->loop, &with_env, done, nb, &nb->hotplug, msg, msglen);
	free_env(env);
	return r;
}

static void log_counters(const struct netback *nb)
{
	struct netback_stats s = stats_of(nb);

	LOG("%s: tx %llu packets %llu bytes %llu dropped %llu errors; rx %llu packets %llu bytes %llu "
	    "dropped %llu errors; events %llu sent for tx, %llu for rx, %llu received%s", nb->vifname,
	    (unsigned long long)s.tx_packets,
	    (unsigned long long)s.tx_bytes, (unsigned long long)s.tx_drops, (unsigned long long)s.tx_errors,
	    (unsigned long long)s.rx_packets, (unsigned long long)s.rx_bytes, (unsigned long long)s.rx_drops,
	    (unsigned long long)s.rx_errors, (unsigned long long)s.tx_notifies,
	    (unsigned long long)s.rx_notifies, (unsigned long long)s.kicks,
	    any_broken(nb) ? " (broken by the guest)" : "");
}

/* The TAP queues and the eventfd, off the loop and closed (closing the TAP removes it). */
static void close_fds(struct netback *nb)
{
	if (nb->notice_polled)
		event_loop_remove(nb->dev.dom->loop, nb->notice_fd);
	if (nb->notice_fd >= 0)
		close(nb->notice_fd);
	nb->notice_fd = -1;
	nb->notice_polled = false;
	for (unsigned int i = 0; i < nb->max_queues; i++) {
		if (nb->queues[i] && nb->queues[i]->tap_fd >= 0)
			close(nb->queues[i]->tap_fd);
		if (nb->queues[i])
			nb->queues[i]->tap_fd = -1;
	}
}

/* The device's memory: the queues, then itself. */
static void free_netback(struct netback *nb)
{
	for (unsigned int i = 0; i < TAP_MAX_QUEUES; i++)
		free(nb->queues[i]);
	free(nb);
}

static void offline_done(void *ctx, int rc, const char *msg)
{
	struct netback *nb = ctx;

	nb->hotplug = NULL;
	if (rc)
		LOG("%s: %s", nb->vifname, msg);
	nb->online = false;
	close_fds(nb);
	if (nb->after_release)
		nb->after_release(nb);
}

/* Everything but the xenstore directories (which the caller handles): the reverse of attach.
 * Where the loop serves (dev.may_defer), `offline` runs on it and the device stays `releasing`
 * until then(nb) runs after it; otherwise all of it, then(nb) too, happens before this returns.
 * A script still running is cancelled first.  Safe to call again: what is undone stays undone. */
static void release(struct netback *nb, void (*then)(struct netback *nb))
{
	char msg[HOTPLUG_MSG_MAX];

	vif_disconnect(&nb->dev.xb, nb);
	if (nb->hotplug) {
		hotplug_cancel(nb->hotplug);
		nb->hotplug = NULL;
	}
	if (nb->online && nb->dev.may_defer) {
		if (!start_script(nb, "offline", offline_done, msg, sizeof(msg))) {
			nb->dev.releasing = true;
			nb->after_release = then;
			return;
		}
		LOG("%s: %s", nb->vifname, msg);
	} else if (nb->online && run_script(nb, "offline", msg, sizeof(msg))) {
		LOG("%s: %s", nb->vifname, msg);
	}
	nb->online = false;
	close_fds(nb);
	if (then)
		then(nb);
}

/* After a detach's release: pv_device_closed's removal may go on. */
static void released(struct netback *nb)
{
	pv_device_released(&nb->dev);
}

static void vif_release(struct xenbus_backend *xb, void *opaque)
{
	(void)xb;
	release(opaque, released);
}

static const struct xenbus_backend_ops vif_ops = {
	.connect = vif_connect, .disconnect = vif_disconnect, .release = vif_release,
	.closed = pv_device_closed,
};

static void random_mac(uint8_t mac[6])
{
	uint8_t b[3] = { 0 };
	FILE *f = fopen("/dev/urandom", "re");

	if (!f || fread(b, 1, 3, f) != 3)
		b[0] = (uint8_t)getpid(), b[1] = (uint8_t)(getpid() >> 8), b[2] = 0x42;
	if (f)
		fclose(f);
	mac[0] = 0x00; mac[1] = 0x16; mac[2] = 0x3e;
	mac[3] = b[0] & 0x7f; mac[4] = b[1]; mac[5] = b[2];
}

/* The TAP with every queue we offer (it must exist before the hotplug script runs, so before the
 * frontend says how many it wants), with a vnet header, and the queues' memory.  Only queue 0 is
 * steered frames until a connect says otherwise.  0, or -1 with err. */
static int open_queues(struct netback *nb, char *err, size_t errlen)
{
	int fds[TAP_MAX_QUEUES];

	nb->max_queues = pv_queues_offer(TAP_MAX_QUEUES);   /* a queue per online CPU, up to what a TAP takes */
	nb->vnet_hdr = true;
	for (unsigned int i = 0; i < nb->max_queues; i++) {
		struct netback_queue *q = calloc(1, sizeof(*q));
		if (!q) {
			ERR_SET(err, errlen, "%s: out of memory for queue %u", nb->vifname, i);
			return -1;
		}
		*q = (struct netback_queue){ .nb = nb, .index = i, .tap_fd = -1, .tap_attached = true,
					     .poller = { .kick_fd = -1 } };
		snprintf(q->name, sizeof(q->name), nb->max_queues > 1 ? "%s-q%u" : "%s", nb->vifname, i);
		q->ring.name = q->name;
		nb->queues[i] = q;
	}
	if (tap_open_queues(nb->vifname, &(struct tap_options){ .queues = nb->max_queues, .vnet_hdr = nb->vnet_hdr },
			    fds, err, errlen))
		return -1;
	for (unsigned int i = 0; i < nb->max_queues; i++)
		nb->queues[i]->tap_fd = fds[i];
	return steer_queues(nb, 1, err, errlen);
}

/* The device up to its directories: TAP queues, the notice eventfd on the loop, backend and
 * frontend nodes.  0 with *out, or -errno with err and nothing left. */
static int make_device(struct domain *dom, const struct netback_config *cfg, int devid,
		       struct netback **out, char *err, size_t errlen)
{
	char handle[16], max_queues[16];
	struct netback *nb = calloc(1, sizeof(*nb));

	if (!nb) {
		ERR_SET(err, errlen, "out of memory for vif %d", devid);
		return -ENOMEM;
	}
	nb->dev.dom = dom;
	nb->dev.devid = devid;
	nb->cfg = *cfg;
	nb->notice_fd = -1;
	if (!nb->cfg.has_mac)
		random_mac(nb->cfg.mac);
	if (!nb->cfg.bridge[0])
		snprintf(nb->cfg.bridge, sizeof(nb->cfg.bridge), "%s", DEFAULT_BRIDGE);
	snprintf(nb->mac_text, sizeof(nb->mac_text), "%02x:%02x:%02x:%02x:%02x:%02x", nb->cfg.mac[0],
		 nb->cfg.mac[1], nb->cfg.mac[2], nb->cfg.mac[3], nb->cfg.mac[4], nb->cfg.mac[5]);
	if (nb->cfg.vifname[0])
		snprintf(nb->vifname, sizeof(nb->vifname), "%s", nb->cfg.vifname);
	else if ((size_t)snprintf(nb->vifname, sizeof(nb->vifname), "vif%d.%d", dom->domid, devid) >= sizeof(nb->vifname)) {
		ERR_SET(err, errlen, "vif%d.%d is too long for a device name", dom->domid, devid);
		free(nb);
		return -EINVAL;
	}
	if (resolve_script(nb->cfg.script[0] ? nb->cfg.script : DEFAULT_SCRIPT, nb->script, sizeof(nb->script),
			   err, errlen)) {
		free(nb);
		return -ENOENT;
	}
	if (open_queues(nb, err, errlen))
		goto fail;
	nb->notice_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (nb->notice_fd < 0 || event_loop_add(dom->loop, nb->notice_fd, EPOLLIN, broken_noticed, nb)) {
		ERR_SET(err, errlen, "%s: no room on the main loop", nb->vifname);
		goto fail;
	}
	nb->notice_polled = true;
	snprintf(handle, sizeof(handle), "%d", devid);
	snprintf(max_queues, sizeof(max_queues), "%u", nb->max_queues);
	const char *gso = nb->vnet_hdr ? "1" : "0";    /* GSO frames reach the TAP only behind a vnet header */
	const struct xenbus_node be[] = {
		{ "handle", handle }, { "mac", nb->mac_text }, { "bridge", nb->cfg.bridge },
		{ "script", nb->script }, { "type", "vif" }, { "feature-rx-copy", "1" },
		{ "feature-sg", "1" }, { "feature-gso-tcpv4", gso }, { "feature-gso-tcpv6", gso },
		{ "feature-rx-flip", "0" },
		/* IPv4 checksum offload is on unless feature-no-csum-offload says otherwise; IPv6 is
		 * off unless this says so.  We complete both (netback_csum_fill), as Xen's netback. */
		{ "feature-ipv6-csum-offload", "1" },
		{ "feature-split-event-channels", "1" }, { "multi-queue-max-queues", max_queues },
		{ nb->cfg.ip[0] ? "ip" : NULL, nb->cfg.ip },
		{ nb->cfg.vifname[0] ? "vifname" : NULL, nb->vifname },
		{ nb->cfg.rate[0] ? "rate" : NULL, nb->cfg.rate },
	};
	struct xenbus_node be_all[sizeof(be) / sizeof(be[0]) + 1];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(be) / sizeof(be[0]); i++)
		if (be[i].key)
			be_all[n++] = be[i];
	be_all[n] = (struct xenbus_node){ NULL, NULL };
	const struct xenbus_node fe[] = { { "handle", handle }, { "mac", nb->mac_text }, { NULL, NULL } };
	if (xenbus_backend_create(&nb->dev.xb, dom, "vif", devid, be_all, fe, &vif_ops, &nb->dev, err, errlen))
		goto fail;
	*out = nb;
	return 0;
fail:
	release(nb, NULL);
	xenbus_backend_destroy(&nb->dev.xb);
	free_netback(nb);
	return -EIO;
}

/* `online` failed with msg: the nodes that say so, and the attach's error. */
static void online_failed(struct netback *nb, const char *msg, char *err, size_t errlen)
{
	xenbus_backend_write(&nb->dev.xb, "hotplug-status", "error");
	xenbus_backend_write(&nb->dev.xb, "hotplug-error", msg);
	ERR_SET(err, errlen, "vif %d (%s): %s", nb->dev.devid, nb->vifname, msg);
}

/* `online` succeeded: hotplug-status, then InitWait.  0, or -1 with err. */
static int online_succeeded(struct netback *nb, char *err, size_t errlen)
{
	xenbus_backend_write(&nb->dev.xb, "hotplug-status", "connected");
	if (nb->cfg.rate[0])
		LOG("%s: rate=%s accepted but not enforced yet", nb->vifname, nb->cfg.rate);
	if (xenbus_backend_start(&nb->dev.xb, err, errlen))
		return -1;
	LOG("%s: vif %d of domain %d, mac %s, %s %s", nb->vifname, nb->dev.devid, nb->dev.dom->domid,
	    nb->mac_text, nb->script, nb->cfg.bridge);
	return 0;
}

/* Undoes a device whose attach failed (with `offline` if `online` ran) and frees it. */
static void discard(struct netback *nb)
{
	release(nb, NULL);
	xenbus_backend_destroy(&nb->dev.xb);
	free_netback(nb);
}

/* At start and restart: `online` is waited for. */
static int vif_attach(struct domain *dom, const void *config, int devid, struct pv_device **out,
		      char *err, size_t errlen)
{
	char msg[HOTPLUG_MSG_MAX];
	struct netback *nb;
	int r = make_device(dom, config, devid, &nb, err, errlen);

	if (r)
		return r;
	nb->online = true;                /* a half-done `online` is undone by `offline` */
	if (run_script(nb, "online", msg, sizeof(msg))) {
		online_failed(nb, msg, err, errlen);
		discard(nb);
		return -EIO;
	}
	if (online_succeeded(nb, err, errlen)) {
		discard(nb);
		return -EIO;
	}
	*out = &nb->dev;
	return 0;
}

/* A failed deferred attach, once its `offline` ended: the directories go, then the answer. */
static void attach_undone(struct netback *nb)
{
	nb->dev.releasing = false;
	xenbus_backend_destroy(&nb->dev.xb);
	pv_device_attached(&nb->dev, -EIO, nb->attach_err);     /* frees nb */
}

static void online_done(void *ctx, int rc, const char *msg)
{
	struct netback *nb = ctx;

	nb->hotplug = NULL;
	if (rc)
		online_failed(nb, msg, nb->attach_err, sizeof(nb->attach_err));
	else if (!online_succeeded(nb, nb->attach_err, sizeof(nb->attach_err))) {
		pv_device_attached(&nb->dev, 0, NULL);
		return;
	}
	release(nb, attach_undone);
}

/* A vif-attach request: `online` runs on the loop and online_done answers. */
static int vif_attach_async(struct domain *dom, const void *config, int devid, struct pv_device **out,
			    char *err, size_t errlen)
{
	char msg[HOTPLUG_MSG_MAX];
	struct netback *nb;
	int r = make_device(dom, config, devid, &nb, err, errlen);

	if (r)
		return r;
	nb->dev.may_defer = true;
	if (start_script(nb, "online", online_done, msg, sizeof(msg))) {
		online_failed(nb, msg, err, errlen);
		discard(nb);                      /* it never ran: nothing for `offline` to undo */
		return -EIO;
	}
	nb->online = true;
	nb->dev.attaching = true;
	*out = &nb->dev;
	return 0;
}

static struct netback *netback_of(const struct pv_device *dev)
{
	return (struct netback *)(void *)dev;       /* dev is its first member */
}

static void vif_describe(const void *config, int devid, char *out, size_t len)
{
	(void)config;
	snprintf(out, len, "vif %d", devid);
}

static void vif_attach_reply(const struct pv_device *dev, char *out, size_t len)
{
	snprintf(out, len, " vifname=%s", netback_of(dev)->vifname);
}

static void vif_list_line(const struct pv_device *dev, char *out, size_t len)
{
	const struct netback *nb = netback_of(dev);

	const struct netback_queue *q = nb->queues[0];

	/* Queue 0's rings and (tx) port: the line's shape predates queues. */
	snprintf(out, len, "%d %s %d %ld %ld %ld %s", dev->devid, nb->mac_text, (int)dev->xb.state,
		 nb->connected ? (long)q->tx_port : -1L, nb->connected ? (long)q->tx_ref : -1L,
		 nb->connected ? (long)q->rx_ref : -1L, nb->vifname);
}

static void vif_stats_line(const struct pv_device *dev, char *out, size_t len)
{
	const struct netback *nb = netback_of(dev);
	struct netback_stats s = stats_of(nb);

	snprintf(out, len, "%d %s tx_packets=%llu tx_bytes=%llu tx_drops=%llu tx_errors=%llu "
		 "rx_packets=%llu rx_bytes=%llu rx_drops=%llu rx_errors=%llu tx_notifies=%llu rx_notifies=%llu "
		 "kicks=%llu queues=%u%s", dev->devid, nb->vifname,
		 (unsigned long long)s.tx_packets, (unsigned long long)s.tx_bytes,
		 (unsigned long long)s.tx_drops, (unsigned long long)s.tx_errors,
		 (unsigned long long)s.rx_packets, (unsigned long long)s.rx_bytes,
		 (unsigned long long)s.rx_drops, (unsigned long long)s.rx_errors,
		 (unsigned long long)s.tx_notifies, (unsigned long long)s.rx_notifies,
		 (unsigned long long)s.kicks, nb->n_queues, any_broken(nb) ? " broken" : "");
}

/* A restarted or migrated domain keeps its devids and MACs, as under Xen. */
static void vif_save(const struct pv_device *dev, void *config, struct pv_runtime *rt)
{
	const struct netback *nb = netback_of(dev);
	struct netback_config *c = config;

	*c = nb->cfg;
	c->devid = dev->devid;
	c->has_mac = true;
	rt->connected = nb->connected;
	if (nb->connected) {
		rt->port = nb->queues[0]->tx_port;      /* queue 0's, as vif-list shows */
		rt->n_refs = 2;
		rt->refs[0] = (uint32_t)nb->queues[0]->tx_ref;
		rt->refs[1] = (uint32_t)nb->queues[0]->rx_ref;
	}
}

static void vif_teardown(struct pv_device *dev)
{
	struct netback *nb = netback_of(dev);

	/* pv_backends_teardown_all: a script still running (a detach's `offline`, whose release
	 * xenbus already did) is cancelled and the rest undone now.  A no-op after a release. */
	release(nb, NULL);
	log_counters(nb);
	free_netback(nb);
}

#define VIF_FIELD(...) PV_FIELD(struct netback_config, __VA_ARGS__)
static const struct pv_field vif_fields[] = {
	VIF_FIELD(16, devid, PV_FIELD_INT, 0, 65535, true),
	VIF_FIELD(17, mac, PV_FIELD_BYTES, 0, 0, true),
	VIF_FIELD(18, has_mac, PV_FIELD_BOOL, 0, 0, true),
	VIF_FIELD(19, bridge, PV_FIELD_STR, 0, 0, false),
	VIF_FIELD(20, script, PV_FIELD_STR, 0, 0, false),
	VIF_FIELD(21, ip, PV_FIELD_STR, 0, 0, false),
	VIF_FIELD(22, vifname, PV_FIELD_STR, 0, 0, false),
	VIF_FIELD(23, rate, PV_FIELD_STR, 0, 0, false),
	VIF_FIELD(24, netdev, PV_FIELD_STR, 0, 0, false),
	VIF_FIELD(25, gatewayip, PV_FIELD_STR, 0, 0, false),
	{ 0 },
};

static int vif_parse(const char *spec, void *config, char *err, size_t errlen)
{
	return netback_config_parse(spec, config, err, errlen);
}

const struct pv_backend_type netback_type = {
	.name = "vif", .option = "vif", .plural = "vifs",
	.spec_usage = "devid=I,mac=M,bridge=B,script=PATH,ip=A[,vifname=V][,rate=R]",
	.max = NETBACK_MAX_VIFS, .max_devid = 65535, .close_timeout_ms = NETBACK_CLOSE_TIMEOUT_MS,
	.config_size = sizeof(struct netback_config),
	.devid_offset = offsetof(struct netback_config, devid),
	.fields = vif_fields,
	.parse = vif_parse, .check = vif_check, .describe = vif_describe, .attach = vif_attach,
	.attach_async = vif_attach_async, .attach_reply = vif_attach_reply, .list_line = vif_list_line,
	.stats_line = vif_stats_line,
	.save = vif_save, .teardown = vif_teardown,
};
