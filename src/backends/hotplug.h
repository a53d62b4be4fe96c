/* Hotplug scripts (Xen's /etc/xen/scripts convention): `SCRIPT online|offline` with the device's
 * details in the environment.  Shared by the backends. */
#ifndef XENITH_HOTPLUG_H
#define XENITH_HOTPLUG_H

#include <stddef.h>

#define HOTPLUG_TIMEOUT_S 30

/* Runs `script command` with env ("KEY=value" strings, NULL-terminated) on top of a fixed PATH;
 * stdin is /dev/null, stdout goes to our stderr (the VMM log), stderr is logged and its last
 * lines kept in msg.  Waits for it, killing it after HOTPLUG_TIMEOUT_S.  Returns 0 when it exited
 * 0; otherwise -1 with msg saying why ("exit 1: what it printed", "killed after 30 s", "cannot run"). */
int hotplug_run(const char *script, const char *command, char *const env[], char *msg, size_t msglen);

#endif
