/* The domain's link to xenstored, and its xenstore layout.
 * xenstored is another process, so the store's event channel (port 1) is relayed through two
 * eventfds: the guest's notifications become writes to `kick`, which xenstored polls; xenstored's
 * writes to `notify` become events on port 1.  XS_INTRODUCE hands xenstored those fds with the
 * guest-RAM memfd, from which it maps the ring page.  Like libxl, we write the domain's nodes
 * (xenstore_layout.c: /local/domain/N, /vm/<uuid>, /libxl/N, the console's backend directory)
 * in one transaction when it is built, and remove them when it goes.
 *
 * Backends use the same client (xenstore_link.h), on the main thread only.  Watch events come two
 * ways: on the socket, which the main loop polls, and queued inside the client when they arrived
 * while it waited for a reply.  The second kind makes no fd readable, so whoever takes the client
 * (xenstore_link_xs) also pokes `recheck`, an eventfd whose handler drains the queue.  Events are
 * dispatched by token ("w<id>") to the watch's callback; an unwatched id drops its late events.
 *
 * Losing xenstored (killed, crashed, restarted): the guest keeps running and its kicks pile up in
 * the kick eventfd.  The link retries on a timer with backoff (RETRY_FIRST_MS doubling up to
 * RETRY_MAX_MS): xenstored_ensure (which starts one if none answers), a new connection, the
 * domain's nodes checked (rewritten if xenstored came back without its snapshot), INTRODUCE again
 * with the same memfd and eventfds (xenstored resumes the ring where its snapshot left it), and
 * the link's watches set again under their old tokens, each firing once as a new watch does.
 * Watches asked for meanwhile are kept and set then. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "hw/device.h"
#include "lib/error.h"
#include "lib/uuid.h"
#include "lib/xs_client.h"
#include "backends/xenstore_layout.h"
#include "backends/xenstore_link.h"
#include "vmm/domain.h"
#include "vmm/event_loop.h"
#include "xen/xen_state.h"

#define LAYOUT_RETRIES 8
#define EVENTS_PER_ROUND 256         /* then the rest wait a loop iteration: others get a turn */
#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 5000
/* A stopped xenstored (not a dead one: its socket stays open) must not stop the main loop: a
 * reply later than this fails its call with -ETIMEDOUT and the loop goes on; once xenstored runs
 * again the same connection serves on, late replies skipped. */
#define REPLY_TIMEOUT_MS 5000

struct link_watch {
	int id;                      /* 0: free */
	char path[XENSTORE_ABS_PATH_MAX + 1];
	xenstore_watch_fn fn;
	void *opaque;
};

struct xenstore_link {
	struct domain *dom;
	int kick_fd, notify_fd;
	int recheck_fd;              /* eventfd: look for events queued inside the client */
	bool recheck_pending;
	bool polling_xs;             /* the client's socket is on the main loop */
	struct xs_client *xs;
	int introduced_domid;        /* -1: not introduced */
	int retry_fd;                /* timerfd: reconnecting after losing xenstored */
	unsigned int retry_ms;       /* the next delay; 0 while connected */
	unsigned int attempts;
	char uuid[UUID_TEXT_LEN];
	int next_watch_id;
	struct link_watch watches[XENSTORE_LINK_MAX_WATCHES];
};

static void poke_recheck(struct xenstore_link *l)
{
	uint64_t one = 1;

	if (l->recheck_pending)
		return;
	l->recheck_pending = true;
	if (write(l->recheck_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		LOG("domain %d: xenstore recheck: %s", l->dom->domid, strerror(errno));
}

static void stop_polling_xs(struct xenstore_link *l)
{
	if (l->polling_xs)
		event_loop_remove(l->dom->loop, xs_fileno(l->xs));
	l->polling_xs = false;
}

static struct link_watch *watch_by_token(struct xenstore_link *l, const char *token)
{
	char *end;
	long id;

	if (token[0] != 'w')
		return NULL;
	id = strtol(token + 1, &end, 10);
	if (*end || id <= 0)
		return NULL;
	for (int i = 0; i < XENSTORE_LINK_MAX_WATCHES; i++)
		if (l->watches[i].id == id)
			return &l->watches[i];
	return NULL;
}

static void link_lost(struct xenstore_link *l, int err);

static void dispatch_events(struct xenstore_link *l)
{
	char path[XENSTORE_ABS_PATH_MAX + 1], token[32];
	int r = 0, n = 0;

	while (l->xs && n++ < EVENTS_PER_ROUND &&
	       !(r = xs_wait_event(l->xs, 0, path, sizeof(path), token, sizeof(token)))) {
		struct link_watch *w = watch_by_token(l, token);
		if (w)
			w->fn(w->opaque, path);     /* may watch, unwatch or use the client */
	}
	if (n > EVENTS_PER_ROUND)
		poke_recheck(l);
	else if (r && r != -ETIMEDOUT && l->xs && l->polling_xs)
		link_lost(l, r);
}

static void xs_readable(void *opaque, uint32_t events)
{
	(void)events;
	dispatch_events(opaque);
}

static void rechecked(void *opaque, uint32_t events)
{
	struct xenstore_link *l = opaque;
	uint64_t count;

	(void)events;
	if (read(l->recheck_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	l->recheck_pending = false;
	dispatch_events(l);
}

struct xs_client *xenstore_link_xs(struct domain *dom)
{
	struct xenstore_link *l = dom->xenstore_link;

	if (!l || !l->xs)
		return NULL;
	poke_recheck(l);
	return l->xs;
}

int xenstore_link_watch(struct domain *dom, const char *path, xenstore_watch_fn fn, void *opaque)
{
	struct xenstore_link *l = dom->xenstore_link;
	struct link_watch *w = NULL;
	char token[32];

	if (!l || (!l->xs && !l->retry_ms))
		return -ENOTCONN;
	if (strlen(path) > XENSTORE_ABS_PATH_MAX)
		return -ENAMETOOLONG;
	for (int i = 0; i < XENSTORE_LINK_MAX_WATCHES && !w; i++)
		if (!l->watches[i].id)
			w = &l->watches[i];
	if (!w)
		return -ENOSPC;
	if (++l->next_watch_id <= 0)
		l->next_watch_id = 1;
	snprintf(token, sizeof(token), "w%d", l->next_watch_id);
	/* Without xenstored now, the watch is set when the link reconnects. */
	int r = l->xs ? xs_watch(l->xs, path, token) : 0;
	if (r)
		return r;
	w->id = l->next_watch_id;
	snprintf(w->path, sizeof(w->path), "%s", path);
	w->fn = fn;
	w->opaque = opaque;
	poke_recheck(l);       /* the first event may have come with the reply */
	return w->id;
}

void xenstore_link_unwatch(struct domain *dom, int id)
{
	struct xenstore_link *l = dom->xenstore_link;
	char token[32];

	if (!l || id <= 0)
		return;
	for (int i = 0; i < XENSTORE_LINK_MAX_WATCHES; i++) {
		struct link_watch *w = &l->watches[i];
		if (w->id != id)
			continue;
		snprintf(token, sizeof(token), "w%d", id);
		if (l->xs)
			xs_unwatch(l->xs, w->path, token);
		*w = (struct link_watch){ 0 };
		poke_recheck(l);
	}
}

static void guest_kicked(void *opaque)
{
	struct xenstore_link *l = opaque;
	uint64_t one = 1;

	if (write(l->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		LOG("domain %d: kicking xenstored: %s", l->dom->domid, strerror(errno));
}

static void xenstored_notified(void *opaque, uint32_t events)
{
	struct xenstore_link *l = opaque;
	uint64_t count;

	(void)events;
	if (read(l->notify_fd, &count, sizeof(count)) > 0)
		evtchn_dom0_send(l->dom, EVTCHN_STORE_PORT);
}

struct layout_put {
	struct xs_client *xs;
	uint32_t tx;
};

/* One node of the layout: value, then permissions ("n0 r5" form). */
static int layout_put(void *ctx, const char *path, const char *value, const char *perms)
{
	struct layout_put *lp = ctx;
	int r = xs_write_str(lp->xs, lp->tx, path, value);

	return r ? r : xs_set_perms(lp->xs, lp->tx, path, perms);
}

static void describe_layout(struct xenstore_link *l, struct xenstore_layout *out, char *start_time,
			    size_t start_len)
{
	struct domain *dom = l->dom;
	const struct domain_params *p = dom->params;
	struct timeval now;

	gettimeofday(&now, NULL);
	snprintf(start_time, start_len, "%llu.%02ld", (unsigned long long)now.tv_sec, (long)now.tv_usec / 10000);
	*out = (struct xenstore_layout){
		.domid = dom->domid, .name = p->name, .uuid = l->uuid,
		.memory_kb = p->memory_mb * 1024, .max_memory_kb = domain_maxmem_mb(p) * 1024,
		/* cpu/<n> for every possible vCPU, those past `vcpus` offline (vcpu-set). */
		.vcpus = p->vcpus, .max_vcpus = domain_max_vcpus(p),
		.store_gfn = vm_special_page_gpa(&dom->vm, SPECIAL_PAGE_XENSTORE) >> 12,
		.console_gfn = vm_special_page_gpa(&dom->vm, SPECIAL_PAGE_CONSOLE) >> 12,
		.store_port = EVTCHN_STORE_PORT, .console_port = EVTCHN_CONSOLE_PORT,
		.console_tty = dom->console->tty_path, .start_time = start_time,
	};
}

static int write_layout(struct xenstore_link *l, uint32_t tx)
{
	struct xenstore_layout layout;
	struct layout_put lp = { .xs = l->xs, .tx = tx };
	char start_time[48];

	describe_layout(l, &layout, start_time, sizeof(start_time));
	return xenstore_layout_write(&layout, layout_put, &lp);
}

/* A client on xenstored's socket (started if none answers), polled by the main loop. */
static int open_client(struct xenstore_link *l, char *err, size_t errlen)
{
	int r;

	if (xenstored_ensure(NULL, NULL, err, errlen) < 0)
		return -1;
	l->xs = xs_open(NULL, err, errlen);
	if (!l->xs)
		return -1;
	xs_set_reply_timeout(l->xs, REPLY_TIMEOUT_MS);
	if ((r = event_loop_add(l->dom->loop, xs_fileno(l->xs), EPOLLIN, xs_readable, l))) {
		ERR_SET(err, errlen, "watching the xenstore connection: %s", strerror(-r));
		xs_close(l->xs);
		l->xs = NULL;
		return -1;
	}
	l->polling_xs = true;
	return 0;
}

static void close_client(struct xenstore_link *l)
{
	if (!l->xs)
		return;
	stop_polling_xs(l);
	xs_close(l->xs);
	l->xs = NULL;
}

/* The domain's nodes, in one transaction. */
static int write_nodes(struct xenstore_link *l, char *err, size_t errlen)
{
	int r;

	for (int attempt = 0;; attempt++) {
		uint32_t tx;
		r = xs_transaction_start(l->xs, &tx);
		if (!r) {
			r = write_layout(l, tx);
			int end = xs_transaction_end(l->xs, tx, r == 0);
			if (!r)
				r = end;
		}
		if (r != -EAGAIN || attempt == LAYOUT_RETRIES)
			break;
	}
	if (r)
		ERR_SET(err, errlen, "writing domain %d's xenstore nodes: %s", l->dom->domid, strerror(-r));
	return r ? -1 : 0;
}

/* INTRODUCE with the guest-RAM memfd and our eventfds.  `again`: after a reconnection, where
 * EEXIST means an earlier attempt of ours got that far. */
static int introduce(struct xenstore_link *l, bool again, char *err, size_t errlen)
{
	struct domain *dom = l->dom;
	uint64_t ring_gpa = vm_special_page_gpa(&dom->vm, SPECIAL_PAGE_XENSTORE);
	/* The ring sits in low RAM, where memfd offset and guest-physical address agree. */
	int r = xs_introduce(l->xs, (unsigned int)dom->domid, (unsigned long)(ring_gpa >> 12),
			     EVTCHN_STORE_PORT, dom->vm.memfd, l->kick_fd, l->notify_fd);

	if (r && !(again && r == -EEXIST)) {
		ERR_SET(err, errlen, "introducing domain %d to xenstored: %s", dom->domid, strerror(-r));
		return -1;
	}
	return 0;
}

int xenstore_link_connect(struct domain *dom, char *err, size_t errlen)
{
	struct xenstore_link *l = dom->xenstore_link;

	if (!l)
		return 0;
	if (!l->xs && open_client(l, err, errlen))
		return -1;
	if (write_nodes(l, err, errlen) || introduce(l, false, err, errlen))
		return -1;
	l->introduced_domid = dom->domid;
	return 0;
}

static void schedule_retry(struct xenstore_link *l)
{
	struct itimerspec when = {
		.it_value = { .tv_sec = l->retry_ms / 1000, .tv_nsec = (long)(l->retry_ms % 1000) * 1000000 },
	};

	if (timerfd_settime(l->retry_fd, 0, &when, NULL) < 0)
		LOG("domain %d: arming the xenstore reconnection timer: %s", l->dom->domid, strerror(errno));
	l->retry_ms = l->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : l->retry_ms * 2;
}

static void link_lost(struct xenstore_link *l, int err)
{
	close_client(l);
	if (l->introduced_domid < 0) {
		LOG("domain %d: lost xenstored: %s", l->dom->domid, strerror(-err));
		return;
	}
	LOG("domain %d: lost xenstored: %s; the guest goes on, reconnecting", l->dom->domid,
	    strerror(-err));
	l->retry_ms = RETRY_FIRST_MS;
	l->attempts = 0;
	schedule_retry(l);
}

/* One attempt: xenstored answering, the domain's nodes there, the ring introduced, our watches
 * set.  Each step may be done again by the next attempt. */
static int reconnect(struct xenstore_link *l, char *err, size_t errlen)
{
	char path[64], token[32], *value;
	size_t len;
	int r, watches = 0;

	if (open_client(l, err, errlen))
		return -1;
	snprintf(path, sizeof(path), "/local/domain/%d/domid", l->dom->domid);
	r = xs_read(l->xs, 0, path, &value, &len);
	if (!r) {
		free(value);
	} else if (r == -ENOENT) {
		LOG("domain %d: xenstored came back without our nodes (no snapshot): writing them again",
		    l->dom->domid);
		if (write_nodes(l, err, errlen))
			return -1;
	} else {
		ERR_SET(err, errlen, "reading %s: %s", path, strerror(-r));
		return -1;
	}
	if (introduce(l, true, err, errlen))
		return -1;
	for (int i = 0; i < XENSTORE_LINK_MAX_WATCHES; i++) {
		struct link_watch *w = &l->watches[i];
		if (!w->id)
			continue;
		snprintf(token, sizeof(token), "w%d", w->id);
		r = xs_watch(l->xs, w->path, token);
		if (r && r != -EEXIST) {
			ERR_SET(err, errlen, "watching %s again: %s", w->path, strerror(-r));
			return -1;
		}
		watches++;
	}
	LOG("domain %d: reconnected to xenstored (attempt %u): domain introduced again, %d watches set",
	    l->dom->domid, l->attempts, watches);
	poke_recheck(l);       /* the watches' first events may have come with the replies */
	return 0;
}

static void retry_fired(void *opaque, uint32_t events)
{
	struct xenstore_link *l = opaque;
	uint64_t expirations;
	char err[256];

	(void)events;
	if (read(l->retry_fd, &expirations, sizeof(expirations)) < 0 || !l->retry_ms)
		return;
	l->attempts++;
	if (!reconnect(l, err, sizeof(err))) {
		l->retry_ms = 0;
		return;
	}
	close_client(l);
	if (l->attempts <= 3 || l->attempts % 20 == 0)
		LOG("domain %d: reconnecting to xenstored, attempt %u: %s; next in %u ms", l->dom->domid,
		    l->attempts, err, l->retry_ms);
	schedule_retry(l);
}

/* Removes dir and then its parents, `levels` in all, each only while it is empty: the console's
 * backend/console/<domid> leaves backend/console, backend and /local/domain/0 behind, which other
 * domains may share.  Each look-and-remove is one transaction, so a sibling made meanwhile wins. */
static void prune_empty(struct xs_client *xs, const char *dir_path, int levels)
{
	char dir[XENSTORE_LAYOUT_ROOT_MAX];

	snprintf(dir, sizeof(dir), "%s", dir_path);
	for (int up = 0; up < levels; up++) {
		int r = -EAGAIN;
		unsigned int count = 0;
		for (int attempt = 0; r == -EAGAIN && attempt <= LAYOUT_RETRIES; attempt++) {
			uint32_t tx;
			char **names = NULL;
			if ((r = xs_transaction_start(xs, &tx)))
				break;
			r = xs_directory(xs, tx, dir, &names, &count);
			free(names);
			if (!r && !count)
				r = xs_rm(xs, tx, dir);
			int end = xs_transaction_end(xs, tx, r == 0);
			if (!r)
				r = end;
		}
		char *slash = strrchr(dir, '/');
		if (r || count || !slash || slash == dir)
			break;
		*slash = '\0';
	}
}

static void disconnect(struct xenstore_link *l)
{
	if (!l->xs) {
		/* xenstored releases the domain itself when it is not introduced again in time. */
		if (l->introduced_domid >= 0)
			LOG("domain %d: ending without xenstored: its nodes go when xenstored notices",
			    l->dom->domid);
		return;
	}
	stop_polling_xs(l);
	for (int i = 0; i < XENSTORE_LINK_MAX_WATCHES; i++)
		if (l->watches[i].id)
			LOG("domain %d: watch %s still set at disconnect", l->dom->domid, l->watches[i].path);
	memset(l->watches, 0, sizeof(l->watches));
	if (l->introduced_domid >= 0) {
		struct xenstore_layout layout = { .domid = l->introduced_domid, .uuid = l->uuid };
		char roots[XENSTORE_LAYOUT_ROOTS][XENSTORE_LAYOUT_ROOT_MAX];
		xs_release(l->xs, (unsigned int)l->introduced_domid);
		xenstore_layout_roots(&layout, roots);
		for (int i = 0; i < XENSTORE_LAYOUT_ROOTS; i++)
			xs_rm(l->xs, 0, roots[i]);
		/* The last root is backend/console/<domid>: its parents go too, once empty. */
		char *parent = strrchr(roots[XENSTORE_LAYOUT_ROOTS - 1], '/');
		*parent = '\0';
		prune_empty(l->xs, roots[XENSTORE_LAYOUT_ROOTS - 1], 3);
		l->introduced_domid = -1;
	}
	xs_close(l->xs);
	l->xs = NULL;
}

static int xenstore_link_init(struct domain *dom, void **state, char *err, size_t errlen)
{
	struct xenstore_link *l = calloc(1, sizeof(*l));

	if (!l) {
		ERR_SET(err, errlen, "out of memory for the xenstore link");
		return -1;
	}
	l->dom = dom;
	l->introduced_domid = -1;
	uuid_format(dom->params->uuid, l->uuid);   /* xl's, or the VMM's own (main.c) */
	l->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	l->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	l->recheck_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	l->retry_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	memset(vm_gpa_to_hva(&dom->vm, vm_special_page_gpa(&dom->vm, SPECIAL_PAGE_XENSTORE), 4096), 0, 4096);
	if (l->kick_fd < 0 || l->notify_fd < 0 || l->recheck_fd < 0 || l->retry_fd < 0 ||
	    event_loop_add(dom->loop, l->notify_fd, EPOLLIN, xenstored_notified, l) ||
	    event_loop_add(dom->loop, l->recheck_fd, EPOLLIN, rechecked, l) ||
	    event_loop_add(dom->loop, l->retry_fd, EPOLLIN, retry_fired, l) ||
	    evtchn_dom0_bind(dom, EVTCHN_STORE_PORT, guest_kicked, l) < 0) {
		ERR_SET(err, errlen, "setting up the xenstore event channel: %s", strerror(errno));
		if (l->notify_fd >= 0) {
			event_loop_remove(dom->loop, l->notify_fd);
			close(l->notify_fd);
		}
		if (l->recheck_fd >= 0) {
			event_loop_remove(dom->loop, l->recheck_fd);
			close(l->recheck_fd);
		}
		if (l->retry_fd >= 0) {
			event_loop_remove(dom->loop, l->retry_fd);
			close(l->retry_fd);
		}
		if (l->kick_fd >= 0)
			close(l->kick_fd);
		free(l);
		return -1;
	}
	dom->xenstore_link = l;
	*state = l;
	return 0;
}

static void xenstore_link_teardown(struct domain *dom, void *state)
{
	struct xenstore_link *l = state;

	disconnect(l);
	event_loop_remove(dom->loop, l->notify_fd);
	event_loop_remove(dom->loop, l->recheck_fd);
	event_loop_remove(dom->loop, l->retry_fd);
	close(l->notify_fd);
	close(l->recheck_fd);
	close(l->retry_fd);
	close(l->kick_fd);
	dom->xenstore_link = NULL;
	free(l);
}

const struct device_ops xenstore_link_device = {
	.name = "xenstore-link", .init = xenstore_link_init, .teardown = xenstore_link_teardown,
};
