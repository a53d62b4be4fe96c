/*
 * The toolstack's control directory (Linux drivers/xen/manage.c): we advertise
 * control/feature-poweroff and feature-reboot, watch control/shutdown and control/sysrq, and hand
 * each request to the caller, clearing the node (writing "") as Linux does so a request is taken once.
 */
#ifndef GUEST_CONTROL_H
#define GUEST_CONTROL_H

#include <stddef.h>
#include <stdint.h>

enum control_kind { CONTROL_SHUTDOWN, CONTROL_SYSRQ };

struct control_request {
    enum control_kind kind;
    char what[32];              /* "poweroff", "reboot", ... or the sysrq key */
};

/* Writes the features and sets the watches: 0 or -errno. */
int control_init(void);
/* The next non-empty request, already cleared in xenstore: 0, or -XEN_ETIMEDOUT at the deadline. */
int control_wait(struct control_request *req, uint64_t deadline_ns);

#endif
