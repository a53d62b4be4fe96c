/* The VMM's eye on the domain's balloon target (balloon_watch.c): memory/target as xl mem-set wrote
 * it, and one log line when the guest does not follow it. */
#ifndef XENITH_BALLOON_WATCH_H
#define XENITH_BALLOON_WATCH_H

#include <stdbool.h>
#include <stdint.h>

struct domain;

/* A target unmet for this long, with no progress toward it, is logged (once per target). */
#define BALLOON_UNMET_MS 10000
#define BALLOON_CHECK_MS 2000

/* The pure part: what is known of the target and the guest's progress. */
struct balloon_progress {
	bool have_target;
	uint64_t target_kb;
	uint64_t last_held_kb;     /* at the last check */
	uint64_t since_ms;         /* when the target was set or the guest last moved */
	bool reported;             /* this target's miss was logged */
};

/* A new target at now_ms. */
void balloon_progress_target(struct balloon_progress *p, uint64_t target_kb, uint64_t now_ms);
/* A check at now_ms with the guest holding held_kb: true exactly once per target that has stayed
 * unmet, with the holding unchanged, for BALLOON_UNMET_MS. */
bool balloon_progress_check(struct balloon_progress *p, uint64_t held_kb, uint64_t now_ms);

/* Watches memory/target on the domain's xenstore link and checks every BALLOON_CHECK_MS (main
 * thread; nothing without a link).  0, or -errno. */
int balloon_watch_start(struct domain *dom);
void balloon_watch_stop(struct domain *dom);
/* The target in KiB, or 0 while none is known. */
uint64_t balloon_watch_target_kb(const struct domain *dom);

#endif
