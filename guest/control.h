/*
 * The toolstack's control directory (Linux drivers/xen/manage.c): we advertise
 * control/feature-poweroff, feature-reboot and feature-suspend, watch control/shutdown and
 * control/sysrq, and hand each request to the caller, clearing the node (writing "") as Linux does
 * so a request is taken once.  A control/shutdown of "suspend" is its own kind: the caller then
 * runs guest_suspend() (suspend.h).
 */
#ifndef GUEST_CONTROL_H
#define GUEST_CONTROL_H

#include <stddef.h>
#include <stdint.h>

enum control_kind { CONTROL_SHUTDOWN, CONTROL_SYSRQ, CONTROL_SUSPEND };

struct control_request {
    enum control_kind kind;
    char what[32];              /* "poweroff", "reboot", "suspend", ... or the sysrq key */
};

/* Writes the features and sets the watches: 0 or -errno. */
int control_init(void);
/* The next non-empty request, already cleared in xenstore: 0, or -XEN_ETIMEDOUT at the deadline. */
int control_wait(struct control_request *req, uint64_t deadline_ns);
/* Without sleeping, for a program busy with other work: reads what the store ring holds, and if a
 * watch of ours fired since the last look (whoever took the event off the queue), takes the node.
 * 0 with a request, -XEN_EAGAIN if there is none, or -errno. */
int control_poll(struct control_request *req);

#endif
