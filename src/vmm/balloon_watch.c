/* The balloon target, seen from the VMM.  Xen never checks that a guest follows memory/target: xl
 * mem-set writes it and returns, and a guest without a balloon driver simply keeps its memory.  We
 * do the same, but say so once in the domain's log when a target stays unmet while the guest does
 * not move toward it, so that "mem-set did nothing" has an answer; xl list and xl top show what it
 * holds all along (info's mem=). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "backends/xenstore_link.h"
#include "lib/error.h"
#include "lib/xs_client.h"
#include "vmm/balloon_watch.h"
#include "vmm/domain.h"
#include "vmm/event_loop.h"

struct balloon_watch {
	struct domain *dom;
	int watch_id;
	uint64_t timer_id;
	char path[64];
	struct balloon_progress progress;
};

void balloon_progress_target(struct balloon_progress *p, uint64_t target_kb, uint64_t now_ms)
{
	if (p->have_target && p->target_kb == target_kb)
		return;
	p->have_target = true;
	p->target_kb = target_kb;
	p->since_ms = now_ms;
	p->reported = false;
}

bool balloon_progress_check(struct balloon_progress *p, uint64_t held_kb, uint64_t now_ms)
{
	bool moved = held_kb != p->last_held_kb;

	p->last_held_kb = held_kb;
	if (!p->have_target || held_kb == p->target_kb || moved) {
		p->since_ms = now_ms;
		return false;
	}
	if (p->reported || now_ms - p->since_ms < BALLOON_UNMET_MS)
		return false;
	p->reported = true;
	return true;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void target_changed(void *opaque, const char *path)
{
	struct balloon_watch *w = opaque;
	struct xs_client *xs = xenstore_link_xs(w->dom);
	char *value = NULL, *end;
	size_t len;
	(void)path;

	if (!xs || xs_read(xs, 0, w->path, &value, &len))
		return;                 /* not there (yet): nothing to follow */
	errno = 0;
	unsigned long long kb = strtoull(value, &end, 10);
	if (!errno && end != value && !*end)
		balloon_progress_target(&w->progress, kb, now_ms());
	else
		LOG("domain %d: %s is '%.32s', not a number of KiB; ignored", w->dom->domid, w->path, value);
	free(value);
}

static void check(void *opaque)
{
	struct balloon_watch *w = opaque;
	uint64_t held = xen_reservation_current(w->dom) * 4;

	if (balloon_progress_check(&w->progress, held, now_ms()))
		LOG("domain %d: memory/target is %llu KiB but the guest has held %llu KiB for %d s: it does not "
		    "follow its target (no balloon driver?); xl mem-set does not wait for it", w->dom->domid,
		    (unsigned long long)w->progress.target_kb, (unsigned long long)held, BALLOON_UNMET_MS / 1000);
	if (event_loop_timer_add(w->dom->loop, BALLOON_CHECK_MS, check, w, &w->timer_id))
		w->timer_id = 0;
}

int balloon_watch_start(struct domain *dom)
{
	struct balloon_watch *w;

	if (!dom->loop || !xenstore_link_xs(dom))
		return 0;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->dom = dom;
	snprintf(w->path, sizeof(w->path), "/local/domain/%d/memory/target", dom->domid);
	w->watch_id = xenstore_link_watch(dom, w->path, target_changed, w);
	if (w->watch_id < 0) {
		int r = w->watch_id;
		free(w);
		return r;
	}
	if (event_loop_timer_add(dom->loop, BALLOON_CHECK_MS, check, w, &w->timer_id)) {
		xenstore_link_unwatch(dom, w->watch_id);
		free(w);
		return -ENOMEM;
	}
	dom->balloon = w;
	return 0;
}

void balloon_watch_stop(struct domain *dom)
{
	struct balloon_watch *w = dom->balloon;

	if (!w)
		return;
	xenstore_link_unwatch(dom, w->watch_id);
	event_loop_timer_cancel(dom->loop, w->timer_id);
	free(w);
	dom->balloon = NULL;
}

uint64_t balloon_watch_target_kb(const struct domain *dom)
{
	return dom->balloon && dom->balloon->progress.have_target ? dom->balloon->progress.target_kb : 0;
}
