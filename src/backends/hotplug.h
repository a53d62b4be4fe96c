/* Hotplug scripts (Xen's /etc/xen/scripts convention): `SCRIPT online|offline` with the device's
 * details in the environment.  Shared by the backends.
 *
 * The script runs as a child of the VMM with stdin /dev/null, stdout to our stderr (the VMM log),
 * and its stderr logged and its last lines kept in the message.  Messages, after SCRIPT COMMAND:
 * "failed (exit 1): what it printed", "died of signal 9", "killed after 30 s"; or
 * "cannot run SCRIPT: why" when it could not be started. */
#ifndef XENITH_HOTPLUG_H
#define XENITH_HOTPLUG_H

#include <stddef.h>

#define HOTPLUG_TIMEOUT_S 30
/* Room for any message hotplug gives: its words plus the script's last 1 KiB of stderr. */
#define HOTPLUG_MSG_MAX (1024 + 512)

struct event_loop;
struct hotplug;

struct hotplug_call {
	const char *script;
	const char *command;          /* online, offline, ... */
	char *const *env;             /* "KEY=value" strings, NULL-terminated, on top of a fixed PATH */
	unsigned int timeout_ms;      /* 0: HOTPLUG_TIMEOUT_S */
};

/* rc is 0 when the script exited 0; otherwise -1 and msg says why. */
typedef void (*hotplug_done_fn)(void *ctx, int rc, const char *msg);

/* Starts the script and watches it on loop (its pidfd, its stderr, a timer for the timeout, after
 * which it and its process group are killed); done runs once, from the loop, after the child was
 * reaped, and the handle is gone by then.  The call's strings are copied.  0 with *out, or -1 with
 * msg ("cannot run SCRIPT: why") and no callback to come. */
int hotplug_start(struct event_loop *loop, const struct hotplug_call *call, hotplug_done_fn done, void *ctx,
		  struct hotplug **out, char *msg, size_t msglen);
/* Kills a running script (and its process group), reaps it and frees the handle; done never runs.
 * For teardown: a SIGKILLed child is reaped at once. */
void hotplug_cancel(struct hotplug *h);

/* Runs the script and waits for it (on a loop of its own), for paths where the VMM has nothing
 * else to serve, such as its exit.  0 when it exited 0; otherwise -1 with msg. */
int hotplug_run(const char *script, const char *command, char *const env[], char *msg, size_t msglen);

#endif
