/* netback, the device: one `struct netback` per vif (docs/netif.md).
 *
 * Attach: parse the spec, open the TAP vif<domid>.<devid>, write the backend and frontend
 * directories (xenbus_backend), run the hotplug script `online` (its failure fails the attach with
 * what it printed), hotplug-status = connected, InitWait.  When the frontend says Connected,
 * connect() maps tx-ring-ref and rx-ring-ref and binds its event channel; the data path
 * (netback_ring.c) then runs on the main loop, woken by an eventfd that the event channel's
 * callback writes from the vCPU thread, and by the TAP fd, which is polled only while the guest
 * has rx slots posted.  Detach and teardown undo it in reverse: disconnect, `offline`, close the
 * TAP (which removes it), remove the directories; each vif logs its counters as it goes.
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
#include <unistd.h>
#include "backends/hotplug.h"
#include "backends/netback.h"
#include "backends/pv_backend.h"
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

struct netback {
	struct pv_device dev;                /* first: the generic instance (pv_backend.h) */
	struct netback_config cfg;
	char vifname[IFNAMSIZ];
	char script[PATH_MAX];               /* resolved */
	char mac_text[18];
	int tap_fd, kick_fd;                 /* -1: none */
	bool kick_polled, tap_polled;        /* on the main loop */
	uint32_t tap_events;                 /* EPOLLIN or 0 */
	bool online;                         /* `online` ran (or runs): `offline` is due */
	struct hotplug *hotplug;             /* the script running on the loop, or NULL */
	void (*after_release)(struct netback *nb);   /* once an asynchronous `offline` ended */
	char attach_err[1024];               /* why a deferred attach failed, for its answer */
	/* While connected: */
	bool connected;
	unsigned long tx_ref, rx_ref;
	evtchn_port_t port;
	struct grant_mapping tx_map, rx_map;
	struct netback_stats total;          /* of earlier connections */
	struct netback_ring ring;            /* big: two frame buffers */
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

/* ---- the main loop's side ---- */

static void set_tap_polling(struct netback *nb, bool on)
{
	uint32_t want = on ? EPOLLIN : 0;

	if (!nb->tap_polled || nb->tap_events == want)
		return;
	if (!event_loop_modify(nb->dev.dom->loop, nb->tap_fd, want))
		nb->tap_events = want;
}

static void kick_self(struct netback *nb)
{
	uint64_t one = 1;

	if (write(nb->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		LOG("%s: waking ourselves: %s", nb->vifname, strerror(errno));
}

static void serve(struct netback *nb)
{
	if (!nb->connected || nb->ring.broken) {
		set_tap_polling(nb, false);
		return;
	}
	enum netback_work tx = netback_ring_tx(&nb->ring, TX_BUDGET);
	enum netback_work rx = netback_ring_rx(&nb->ring, RX_BUDGET);
	if (tx == NETBACK_BROKEN || rx == NETBACK_BROKEN) {
		set_tap_polling(nb, false);
		xenbus_backend_write(&nb->dev.xb, "error", "frontend broke the ring protocol");
		return;
	}
	set_tap_polling(nb, rx != NETBACK_NO_SLOTS);
	if (tx == NETBACK_MORE || rx == NETBACK_MORE)
		kick_self(nb);    /* come back after the other fds had their turn */
}

static void kicked(void *opaque, uint32_t events)
{
	struct netback *nb = opaque;
	uint64_t count;

	(void)events;
	if (read(nb->kick_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	serve(nb);
}

static void tap_readable(void *opaque, uint32_t events)
{
	struct netback *nb = opaque;

	(void)events;
	serve(nb);
}

/* The event channel's callback: on a vCPU thread, so only the eventfd. */
static void guest_notified(void *opaque)
{
	struct netback *nb = opaque;
	uint64_t one = 1;

	__atomic_fetch_add(&nb->ring.st.kicks, 1, __ATOMIC_RELAXED);
	if (write(nb->kick_fd, &one, sizeof(one)) < 0)
		return;    /* EAGAIN: a wake-up is already pending */
}

/* ---- xenbus: connect and disconnect ---- */

static int vif_connect(struct xenbus_backend *xb, void *opaque, char *err, size_t errlen)
{
	struct netback *nb = opaque;
	unsigned long tx_ref, rx_ref, port, rx_copy = 0, sg = 0, queues = 1;
	int r;

	if ((r = xenbus_backend_read_fe_uint(xb, "tx-ring-ref", UINT32_MAX, &tx_ref)) ||
	    (r = xenbus_backend_read_fe_uint(xb, "rx-ring-ref", UINT32_MAX, &rx_ref))) {
		ERR_SET(err, errlen, "reading %s/{tx,rx}-ring-ref: %s", xb->fe_path, strerror(-r));
		return -1;
	}
	if ((r = xenbus_backend_read_fe_uint(xb, "event-channel", EVTCHN_PORTS - 1, &port))) {
		ERR_SET(err, errlen, "reading %s/event-channel: %s%s", xb->fe_path, strerror(-r),
			r == -ENOENT ? " (split event channels are not offered)" : "");
		return -1;
	}
	xenbus_backend_read_fe_uint(xb, "request-rx-copy", 1, &rx_copy);
	if (!rx_copy) {
		ERR_SET(err, errlen, "frontend does not request rx-copy, the only receive mode offered");
		return -1;
	}
	xenbus_backend_read_fe_uint(xb, "multi-queue-num-queues", 1u << 16, &queues);
	if (queues > 1) {
		ERR_SET(err, errlen, "frontend asks for %lu queues; one is offered", queues);
		return -1;
	}
	xenbus_backend_read_fe_uint(xb, "feature-sg", 1, &sg);
	if ((r = gnttab_map(nb->dev.dom, (grant_ref_t)tx_ref, 0, false, &nb->tx_map))) {
		ERR_SET(err, errlen, "mapping tx-ring-ref %lu: refused (%d)", tx_ref, r);
		return -1;
	}
	if ((r = gnttab_map(nb->dev.dom, (grant_ref_t)rx_ref, 0, false, &nb->rx_map))) {
		ERR_SET(err, errlen, "mapping rx-ring-ref %lu: refused (%d)", rx_ref, r);
		gnttab_unmap(&nb->tx_map);
		return -1;
	}
	r = evtchn_dom0_bind(nb->dev.dom, (evtchn_port_t)port, guest_notified, nb);
	if (r < 0) {
		ERR_SET(err, errlen, "binding event channel %lu: not a port left unbound for Dom0 (%d)", port, r);
		gnttab_unmap(&nb->rx_map);
		gnttab_unmap(&nb->tx_map);
		return -1;
	}
	nb->tx_ref = tx_ref;
	nb->rx_ref = rx_ref;
	nb->port = (evtchn_port_t)port;
	netback_ring_init(&nb->ring, &(struct netback_ring_params){
		.dom = nb->dev.dom, .name = nb->vifname, .tx_page = nb->tx_map.page, .rx_page = nb->rx_map.page,
		.tx_port = nb->port, .rx_port = nb->port, .tap_fd = nb->tap_fd, .feat = { .rx_sg = sg } });
	nb->connected = true;
	LOG("%s: connected: tx-ring-ref %lu rx-ring-ref %lu event-channel %lu%s", nb->vifname, tx_ref,
	    rx_ref, port, sg ? ", rx scatter-gather" : "");
	set_tap_polling(nb, true);
	kick_self(nb);       /* requests may be waiting already */
	return 0;
}

static void add_stats(struct netback_stats *to, const struct netback_stats *s)
{
	to->tx_packets += s->tx_packets; to->tx_bytes += s->tx_bytes;
	to->tx_drops += s->tx_drops; to->tx_errors += s->tx_errors;
	to->rx_packets += s->rx_packets; to->rx_bytes += s->rx_bytes;
	to->rx_drops += s->rx_drops; to->rx_errors += s->rx_errors;
	to->tx_notifies += s->tx_notifies; to->rx_notifies += s->rx_notifies;
	to->kicks += __atomic_load_n(&s->kicks, __ATOMIC_RELAXED);    /* a vCPU thread's */
}

static void vif_disconnect(struct xenbus_backend *xb, void *opaque)
{
	struct netback *nb = opaque;

	(void)xb;
	if (!nb->connected)
		return;
	set_tap_polling(nb, false);
	evtchn_dom0_unbind(nb->dev.dom, nb->port, guest_notified, nb);
	gnttab_unmap(&nb->rx_map);
	gnttab_unmap(&nb->tx_map);
	add_stats(&nb->total, &nb->ring.st);
	nb->ring.st = (struct netback_stats){ 0 };
	nb->ring.rx_pending = 0;
	nb->connected = false;
	LOG("%s: disconnected", nb->vifname);
}

static struct netback_stats stats_of(const struct netback *nb)
{
	struct netback_stats s = nb->total;

	if (nb->connected)
		add_stats(&s, &nb->ring.st);
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
	    (unsigned long long)s.rx_notifies, (unsigned long long)s.kicks, nb->ring.broken ? " (broken by the guest)" : "");
}

/* The TAP and the eventfd, off the loop and closed (closing the TAP removes it). */
static void close_fds(struct netback *nb)
{
	if (nb->tap_polled)
		event_loop_remove(nb->dev.dom->loop, nb->tap_fd);
	if (nb->kick_polled)
		event_loop_remove(nb->dev.dom->loop, nb->kick_fd);
	if (nb->tap_fd >= 0)
		close(nb->tap_fd);
	if (nb->kick_fd >= 0)
		close(nb->kick_fd);
	nb->tap_fd = nb->kick_fd = -1;
	nb->tap_polled = nb->kick_polled = false;
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

/* The device up to its directories: TAP, eventfd, both on the loop, backend and frontend nodes.
 * 0 with *out, or -errno with err and nothing left. */
static int make_device(struct domain *dom, const struct netback_config *cfg, int devid,
		       struct netback **out, char *err, size_t errlen)
{
	char handle[16];
	struct netback *nb = calloc(1, sizeof(*nb));

	if (!nb) {
		ERR_SET(err, errlen, "out of memory for vif %d", devid);
		return -ENOMEM;
	}
	nb->dev.dom = dom;
	nb->dev.devid = devid;
	nb->cfg = *cfg;
	nb->tap_fd = nb->kick_fd = -1;
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
	nb->ring.name = nb->vifname;
	if (resolve_script(nb->cfg.script[0] ? nb->cfg.script : DEFAULT_SCRIPT, nb->script, sizeof(nb->script),
			   err, errlen)) {
		free(nb);
		return -ENOENT;
	}
	nb->tap_fd = tap_open(nb->vifname, err, errlen);
	nb->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (nb->tap_fd < 0)
		goto fail;
	if (nb->kick_fd < 0 || event_loop_add(dom->loop, nb->kick_fd, EPOLLIN, kicked, nb)) {
		ERR_SET(err, errlen, "%s: no room on the main loop", nb->vifname);
		goto fail;
	}
	nb->kick_polled = true;
	if (event_loop_add(dom->loop, nb->tap_fd, 0, tap_readable, nb)) {
		ERR_SET(err, errlen, "%s: no room on the main loop", nb->vifname);
		goto fail;
	}
	nb->tap_polled = true;
	snprintf(handle, sizeof(handle), "%d", devid);
	const struct xenbus_node be[] = {
		{ "handle", handle }, { "mac", nb->mac_text }, { "bridge", nb->cfg.bridge },
		{ "script", nb->script }, { "type", "vif" }, { "feature-rx-copy", "1" },
		{ "feature-sg", "0" }, { "feature-rx-flip", "0" },
		/* IPv4 checksum offload is on unless feature-no-csum-offload says otherwise; IPv6 is
		 * off unless this says so.  We complete both (netback_csum_fill), as Xen's netback. */
		{ "feature-ipv6-csum-offload", "1" },
		{ nb->cfg.ip[0] ? "ip" : NULL, nb->cfg.ip },
		{ NULL, NULL }, { NULL, NULL }, { NULL, NULL },
	};
	struct xenbus_node be_all[16];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(be) / sizeof(be[0]); i++)
		if (be[i].key)
			be_all[n++] = be[i];
	if (nb->cfg.vifname[0])
		be_all[n++] = (struct xenbus_node){ "vifname", nb->vifname };
	if (nb->cfg.rate[0])
		be_all[n++] = (struct xenbus_node){ "rate", nb->cfg.rate };
	be_all[n] = (struct xenbus_node){ NULL, NULL };
	const struct xenbus_node fe[] = { { "handle", handle }, { "mac", nb->mac_text }, { NULL, NULL } };
	if (xenbus_backend_create(&nb->dev.xb, dom, "vif", devid, be_all, fe, &vif_ops, &nb->dev, err, errlen))
		goto fail;
	*out = nb;
	return 0;
fail:
	release(nb, NULL);
	xenbus_backend_destroy(&nb->dev.xb);
	free(nb);
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
	free(nb);
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

	snprintf(out, len, "%d %s %d %ld %ld %ld %s", dev->devid, nb->mac_text, (int)dev->xb.state,
		 nb->connected ? (long)nb->port : -1L, nb->connected ? (long)nb->tx_ref : -1L,
		 nb->connected ? (long)nb->rx_ref : -1L, nb->vifname);
}

static void vif_stats_line(const struct pv_device *dev, char *out, size_t len)
{
	const struct netback *nb = netback_of(dev);
	struct netback_stats s = stats_of(nb);

	snprintf(out, len, "%d %s tx_packets=%llu tx_bytes=%llu tx_drops=%llu tx_errors=%llu "
		 "rx_packets=%llu rx_bytes=%llu rx_drops=%llu rx_errors=%llu tx_notifies=%llu rx_notifies=%llu "
		 "kicks=%llu%s", dev->devid, nb->vifname,
		 (unsigned long long)s.tx_packets, (unsigned long long)s.tx_bytes,
		 (unsigned long long)s.tx_drops, (unsigned long long)s.tx_errors,
		 (unsigned long long)s.rx_packets, (unsigned long long)s.rx_bytes,
		 (unsigned long long)s.rx_drops, (unsigned long long)s.rx_errors,
		 (unsigned long long)s.tx_notifies, (unsigned long long)s.rx_notifies,
		 (unsigned long long)s.kicks, nb->ring.broken ? " broken" : "");
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
		rt->port = nb->port;
		rt->n_refs = 2;
		rt->refs[0] = (uint32_t)nb->tx_ref;
		rt->refs[1] = (uint32_t)nb->rx_ref;
	}
}

static void vif_teardown(struct pv_device *dev)
{
	struct netback *nb = netback_of(dev);

	/* pv_backends_teardown_all: a script still running (a detach's `offline`, whose release
	 * xenbus already did) is cancelled and the rest undone now.  A no-op after a release. */
	release(nb, NULL);
	log_counters(nb);
	free(nb);
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
