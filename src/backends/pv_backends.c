/* The PV backend table and what every type shares (pv_backend.h): the domain's instance list,
 * devid choice and limits, deferred attach and detach, teardown, saving and restoring all devices,
 * and the control requests <name>-attach / <name>-detach / <name>-list.  Main thread only.
 *
 * Deferred work: a request's attach may leave its device `attaching` (a hotplug script runs on
 * the loop), and a detach's release may go on after xenbus is done (`releasing`, the `offline`
 * script).  Such a device is in the list all along, so its devid is taken and it is listed; a
 * detach of it answers EBUSY; teardown_all ends it at once.  Its request is answered only when
 * everything is done: the device ready, or nothing of it left. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backends/pv_backend.h"
#include "backends/ring_poller.h"
#include "lib/error.h"
#include "vmm/domain.h"

extern const struct pv_backend_type netback_type, blkback_type;

const struct pv_backend_type *const pv_backend_types[] = {
	&netback_type,
	&blkback_type,
	NULL,
};

const struct pv_backend_type *pv_backend_type_by_name(const char *name)
{
	for (const struct pv_backend_type *const *t = pv_backend_types; *t; t++)
		if (!strcmp((*t)->name, name))
			return *t;
	return NULL;
}

const struct pv_backend_type *pv_backend_type_by_option(const char *option)
{
	for (const struct pv_backend_type *const *t = pv_backend_types; *t; t++)
		if (!strcmp((*t)->option, option))
			return *t;
	return NULL;
}

static int *config_devid(const struct pv_backend_type *type, void *config)
{
	return (int *)(void *)((uint8_t *)config + type->devid_offset);
}

/* ---- the instance list ---- */

struct pv_device *pv_backend_find(struct domain *dom, const struct pv_backend_type *type, int devid)
{
	for (struct pv_device *d = dom->pv_devices; d; d = d->next)
		if (d->type == type && d->devid == devid)
			return d;
	return NULL;
}

static void unlink_device(struct pv_device *dev)
{
	for (struct pv_device **p = &dev->dom->pv_devices; *p; p = &(*p)->next)
		if (*p == dev) {
			*p = dev->next;
			break;
		}
}

/* Oldest first: the order they were attached in, which lists and restarts keep. */
static unsigned int in_order(struct domain *dom, const struct pv_backend_type *type,
			     struct pv_device *order[PV_MAX_DEVICES])
{
	unsigned int n = 0;

	for (struct pv_device *d = dom->pv_devices; d && n < PV_MAX_DEVICES; d = d->next)
		if (!type || d->type == type)
			order[n++] = d;
	for (unsigned int i = 0; i < n / 2; i++) {
		struct pv_device *t = order[i];
		order[i] = order[n - 1 - i];
		order[n - 1 - i] = t;
	}
	return n;
}

/* Out of the list and freed by its type; the detach's answer after that. */
static void remove_detached(struct pv_device *dev)
{
	pv_done_fn done = dev->detach_done;
	void *ctx = dev->detach_ctx;

	LOG("%s %d of domain %d: detached", dev->type->name, dev->devid, dev->dom->domid);
	unlink_device(dev);
	dev->type->teardown(dev);        /* logs its counters, frees dev */
	if (done)
		done(ctx, 0, "");
}

void pv_device_closed(struct xenbus_backend *xb, void *opaque)
{
	struct pv_device *dev = opaque;

	(void)xb;
	if (dev->releasing)
		dev->closed = true;      /* pv_device_released finishes */
	else
		remove_detached(dev);
}

void pv_device_released(struct pv_device *dev)
{
	dev->releasing = false;
	if (dev->closed) {
		dev->closed = false;
		remove_detached(dev);
	}
}

void pv_device_attach_text(const struct pv_device *dev, char *out, size_t len)
{
	int at = snprintf(out, len, "devid=%d", dev->devid);

	if (dev->type->attach_reply && at >= 0 && (size_t)at < len)
		dev->type->attach_reply(dev, out + at, len - (size_t)at);
}

void pv_device_attached(struct pv_device *dev, int rc, const char *msg)
{
	pv_done_fn done = dev->attach_done;
	void *ctx = dev->attach_ctx;
	char text[1024];

	dev->attaching = false;
	dev->attach_done = NULL;
	if (!rc) {
		pv_device_attach_text(dev, text, sizeof(text));
	} else {
		snprintf(text, sizeof(text), "%s", msg);       /* msg may live in dev */
		LOG("%s %d of domain %d: attach failed: %s", dev->type->name, dev->devid, dev->dom->domid, text);
		unlink_device(dev);
		dev->type->teardown(dev);
	}
	if (done)
		done(ctx, rc, text);
}

/* ---- attach ---- */

/* devid < 0: one past the highest of the type, as libxl picks.  `serving`: the main loop serves
 * (a request), so the type's attach_async may leave the device attaching. */
static int attach_config(struct domain *dom, const struct pv_backend_type *type, const void *config,
			 int devid, bool serving, struct pv_device **out, char *err, size_t errlen)
{
	unsigned int count = 0;
	char what[128];
	int next = 0;

	for (struct pv_device *d = dom->pv_devices; d; d = d->next)
		if (d->type == type) {
			count++;
			if (d->devid >= next)
				next = d->devid + 1;
		}
	if (devid < 0)
		devid = next;
	type->describe(config, devid, what, sizeof(what));
	if (pv_backend_find(dom, type, devid)) {
		ERR_SET(err, errlen, "%s already exists", what);
		return -EEXIST;
	}
	if (count >= type->max) {
		ERR_SET(err, errlen, "a domain has at most %u %s", type->max, type->plural);
		return -ENOSPC;
	}
	struct pv_device *dev = NULL;
	int r = serving && type->attach_async ? type->attach_async(dom, config, devid, &dev, err, errlen)
					      : type->attach(dom, config, devid, &dev, err, errlen);
	if (r)
		return r;
	dev->type = type;
	dev->dom = dom;
	dev->devid = devid;
	dev->next = dom->pv_devices;
	dom->pv_devices = dev;
	*out = dev;
	return 0;
}

static int attach_spec(struct domain *dom, const struct pv_backend_type *type, const char *spec,
		       bool serving, struct pv_device **out, char *err, size_t errlen)
{
	void *config = calloc(1, type->config_size);
	int r = -ENOMEM;

	if (!config) {
		ERR_SET(err, errlen, "out of memory for a %s", type->name);
		return r;
	}
	r = type->parse(spec, config, err, errlen) ? -EINVAL
		: attach_config(dom, type, config, *config_devid(type, config), serving, out, err, errlen);
	free(config);
	return r;
}

int pv_backend_attach_spec(struct domain *dom, const struct pv_backend_type *type, const char *spec,
			   struct pv_device **out, char *err, size_t errlen)
{
	return attach_spec(dom, type, spec, false, out, err, errlen);
}

int pv_backends_attach_specs(struct domain *dom, const struct pv_spec *specs, unsigned int n,
			     char *err, size_t errlen)
{
	for (unsigned int i = 0; i < n; i++) {
		const struct pv_backend_type *type = specs[i].type;
		void *config = calloc(1, type->config_size);
		struct pv_device *dev;
		unsigned int place = 0;
		int r = -1;

		for (unsigned int j = 0; j < i; j++)
			place += specs[j].type == type;
		if (config && !type->parse(specs[i].spec, config, err, errlen)) {
			int devid = *config_devid(type, config);
			r = attach_config(dom, type, config, devid < 0 ? (int)place : devid, false, &dev, err,
					  errlen);
		} else if (!config) {
			ERR_SET(err, errlen, "out of memory for a %s", type->name);
		}
		free(config);
		if (r) {
			pv_backends_teardown_all(dom);
			return -1;
		}
	}
	return 0;
}

/* ---- detach, list, teardown ---- */

int pv_backend_detach(struct domain *dom, const struct pv_backend_type *type, int devid,
		      pv_done_fn done, void *ctx)
{
	struct pv_device *dev = pv_backend_find(dom, type, devid);

	if (!dev)
		return -ENOENT;
	if (dev->xb.closing || dev->releasing || dev->attaching)
		return -EBUSY;
	dev->detach_done = done;
	dev->detach_ctx = ctx;
	dev->may_defer = true;                /* the loop serves: `offline` may end later */
	LOG("%s %d of domain %d: detaching", type->name, devid, dom->domid);
	xenbus_backend_close(&dev->xb, type->close_timeout_ms);    /* may free dev */
	return 0;
}

void pv_backend_list(struct domain *dom, const struct pv_backend_type *type, bool stats, char *out,
		     size_t len)
{
	struct pv_device *order[PV_MAX_DEVICES];
	unsigned int n = in_order(dom, type, order);
	size_t at = 0;

	if (len)
		out[0] = '\0';
	for (unsigned int i = 0; i < n && at + 1 < len; i++) {
		if (at)
			out[at++] = '\n';
		(stats ? type->stats_line : type->list_line)(order[i], out + at, len - at);
		at += strlen(out + at);
	}
}

/* Scripts run to their end here, synchronously (may_defer cleared), because nothing is left to
 * serve: the VMM exits, or the domain restarts and its devices are rebuilt before the loop runs
 * again; a script still running from a request is cancelled and its undoing done at once. */
void pv_backends_teardown_all(struct domain *dom)
{
	while (dom->pv_devices) {
		struct pv_device *dev = dom->pv_devices;
		pv_done_fn done = dev->attaching ? dev->attach_done : dev->detach_done;
		void *ctx = dev->attaching ? dev->attach_ctx : dev->detach_ctx;
		char what[160];

		snprintf(what, sizeof(what), "%s %d: attach cancelled: the domain is going away",
			 dev->type->name, dev->devid);
		int rc = dev->attaching ? -EIO : 0;
		dom->pv_devices = dev->next;
		dev->may_defer = false;
		xenbus_backend_destroy(&dev->xb);      /* disconnect, release, directories */
		dev->type->teardown(dev);
		if (done)
			done(ctx, rc, rc ? what : "");
	}
}

/* ---- save and restore ---- */

int pv_backends_save_all(struct domain *dom, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	struct pv_device *order[PV_MAX_DEVICES];
	unsigned int n = in_order(dom, NULL, order);
	size_t cap = (size_t)n * PV_RECORD_MAX, at = 0;
	uint8_t *out = n ? malloc(cap) : NULL;

	*buf = NULL;
	*len = 0;
	if (n && !out) {
		ERR_SET(err, errlen, "out of memory saving %u devices", n);
		return -1;
	}
	for (unsigned int i = 0; i < n; i++) {
		const struct pv_backend_type *type = order[i]->type;
		if (order[i]->attaching || order[i]->releasing || order[i]->xb.closing)
			continue;
		struct pv_runtime rt = { .state = order[i]->xb.state };
		void *config = calloc(1, type->config_size);
		long r = -1;

		if (config) {
			type->save(order[i], config, &rt);
			r = pv_record_encode(type, config, &rt, out + at, cap - at, err, errlen);
		} else {
			ERR_SET(err, errlen, "out of memory saving %s %d", type->name, order[i]->devid);
		}
		free(config);
		if (r < 0) {
			free(out);
			return -1;
		}
		at += (size_t)r;
	}
	*buf = out;
	*len = at;
	return 0;
}

int pv_backends_restore_all(struct domain *dom, const uint8_t *buf, size_t len, char *err,
			    size_t errlen)
{
	size_t at = 0, used;

	while (at < len) {
		struct pv_saved saved;
		struct pv_device *dev;
		char why[1024];

		if (pv_record_decode(buf + at, len - at, &saved, &used, why, sizeof(why))) {
			ERR_SET(err, errlen, "restoring the device at byte %zu: %s", at, why);
			pv_backends_teardown_all(dom);
			return -1;
		}
		int r = attach_config(dom, saved.type, saved.config, *config_devid(saved.type, saved.config),
				      false, &dev, err, errlen);
		pv_saved_free(&saved);
		if (r) {
			pv_backends_teardown_all(dom);
			return -1;
		}
		at += used;
	}
	return 0;
}

/* ---- control requests ---- */

static const char *const verb_suffixes[] = { "-attach", "-detach", "-list" };
static const char *const verb_arguments[] = { " SPEC", " DEVID", " [stats]" };
#define N_SUFFIXES (sizeof(verb_suffixes) / sizeof(verb_suffixes[0]))

const char *pv_backend_verb(unsigned int i, char *buf, size_t len)
{
	unsigned int t = i / N_SUFFIXES;

	for (unsigned int k = 0; k < t; k++)
		if (!pv_backend_types[k])
			return NULL;
	if (!pv_backend_types[t])
		return NULL;
	snprintf(buf, len, "%s%s", pv_backend_types[t]->name, verb_suffixes[i % N_SUFFIXES]);
	return buf;
}

const char *pv_backend_verb_usage(unsigned int i, char *buf, size_t len)
{
	char verb[PV_TYPE_NAME_MAX + 16];

	if (!pv_backend_verb(i, verb, sizeof(verb)))
		return NULL;
	snprintf(buf, len, "%s%s", verb, verb_arguments[i % N_SUFFIXES]);
	return buf;
}

/* The type and which suffix: 0 attach, 1 detach, 2 list; -1 when not ours. */
static int parse_verb(const char *verb, const struct pv_backend_type **type)
{
	const char *dash = strchr(verb, '-');
	char name[PV_TYPE_NAME_MAX + 1];

	if (!dash || (size_t)(dash - verb) > PV_TYPE_NAME_MAX)
		return -1;
	memcpy(name, verb, (size_t)(dash - verb));
	name[dash - verb] = '\0';
	*type = pv_backend_type_by_name(name);
	for (unsigned int i = 0; *type && i < N_SUFFIXES; i++)
		if (!strcmp(dash, verb_suffixes[i]))
			return (int)i;
	return -1;
}

bool pv_backend_handles(const char *verb)
{
	const struct pv_backend_type *type;

	return parse_verb(verb, &type) >= 0;
}

const char *pv_errno_name(int e)
{
	static const struct { int e; const char *name; } names[] = {
		{ EINVAL, "EINVAL" }, { EEXIST, "EEXIST" }, { ENOENT, "ENOENT" }, { ENOSPC, "ENOSPC" },
		{ ENOMEM, "ENOMEM" }, { EBUSY, "EBUSY" }, { EACCES, "EACCES" }, { EROFS, "EROFS" },
		{ EISDIR, "EISDIR" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].name;
	return "EIO";
}

bool pv_backend_request(struct domain *dom, const char *verb, const char *arg, char *reply,
			size_t len, pv_done_fn done, void *ctx)
{
	const struct pv_backend_type *type;
	int which = parse_verb(verb, &type);
	char err[1024];

	while (arg && *arg == ' ')
		arg++;
	if (which < 0) {
		snprintf(reply, len, "error ENOSYS unknown request '%.64s'", verb);
		return false;
	}
	if (which == 0) {
		struct pv_device *dev;
		if (!arg || !*arg) {
			snprintf(reply, len, "error EINVAL usage: %s SPEC", verb);
			return false;
		}
		int r = attach_spec(dom, type, arg, true, &dev, err, sizeof(err));
		if (r) {
			snprintf(reply, len, "error %s %s", pv_errno_name(-r), err);
			return false;
		}
		if (dev->attaching) {            /* its script runs: pv_device_attached answers */
			dev->attach_done = done;
			dev->attach_ctx = ctx;
			return true;
		}
		int at = snprintf(reply, len, "ok ");
		if (at >= 0 && (size_t)at < len)
			pv_device_attach_text(dev, reply + at, len - (size_t)at);
		return false;
	}
	if (which == 2) {
		size_t at = (size_t)snprintf(reply, len, "ok\n");
		if (at >= len)
			return false;
		pv_backend_list(dom, type, arg && !strcmp(arg, "stats"), reply + at, len - at);
		if (!reply[at])
			reply[2] = '\0';
		return false;
	}
	char *end;
	long d = arg ? strtol(arg, &end, 10) : -1;
	if (!arg || end == arg || *end || d < 0 || d > type->max_devid) {
		snprintf(reply, len, "error EINVAL usage: %s DEVID", verb);
		return false;
	}
	int r = pv_backend_detach(dom, type, (int)d, done, ctx);
	struct pv_device *busy = r == -EBUSY ? pv_backend_find(dom, type, (int)d) : NULL;
	if (r == -ENOENT)
		snprintf(reply, len, "error ENOENT no %s %ld", type->name, d);
	else if (busy && busy->attaching)
		snprintf(reply, len, "error EBUSY %s %ld is still being attached", type->name, d);
	else if (r == -EBUSY)
		snprintf(reply, len, "error EBUSY %s %ld is already being detached", type->name, d);
	return r == 0;
}

unsigned int pv_backend_poll_us(const struct domain *dom)
{
	return dom->params ? dom->params->backend_poll_us : RING_POLLER_DEFAULT_POLL_US;
}
