/* The generic backend half of a xenbus device (vif now, vbd later): its xenstore directories, its
 * state, and the handshake with the guest's frontend.  See xenbus_backend.c for the state diagram.
 * Main thread only. */
#ifndef XENITH_XENBUS_BACKEND_H
#define XENITH_XENBUS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include "xen/xen_public.h"
#include <xen/io/xenbus.h>

struct domain;
struct xenbus_backend;

struct xenbus_backend_ops {
	/* The frontend is Connected: read what it published (xenbus_backend_read_fe) and map it.
	 * 0, or -1 with err (the device then closes, with err in the backend's `error` node). */
	int (*connect)(struct xenbus_backend *xb, void *opaque, char *err, size_t errlen);
	/* Undoes a successful connect (frontend closing, detach, teardown). */
	void (*disconnect)(struct xenbus_backend *xb, void *opaque);
	/* The device goes (after disconnect, before the directories are removed): undo what was made
	 * outside xenstore, e.g. run the hotplug script's `offline`.  Optional; called at most once. */
	void (*release)(struct xenbus_backend *xb, void *opaque);
	/* A xenbus_backend_close finished: the directories are gone.  May free the device. */
	void (*closed)(struct xenbus_backend *xb, void *opaque);
	/* Connect once the frontend is Initialised (3), as blkback does: blkfront publishes its ring
	 * there and waits for our Connected.  Otherwise (netback) only on the frontend's Connected. */
	bool connect_on_initialised;
};

/* One node of a directory; a NULL value ends the list. */
struct xenbus_node { const char *key, *value; };

struct xenbus_backend {
	struct domain *dom;
	const struct xenbus_backend_ops *ops;
	void *opaque;
	int devid, domid;
	char be_path[96];        /* /local/domain/0/backend/<type>/<domid>/<devid> */
	char fe_path[96];        /* /local/domain/<domid>/device/<type>/<devid> */
	char type_path[80];      /* /local/domain/0/backend/<type>/<domid>, removed when empty */
	enum xenbus_state state, fe_state;
	bool made;               /* the directories exist */
	bool connected;          /* ops->connect succeeded and disconnect has not run */
	bool closing;            /* xenbus_backend_close under way */
	bool released;           /* ops->release ran */
	int watch_id;            /* on the frontend's state; 0: none */
	int timer_fd;            /* the close's deadline; -1: none */
};

/* Writes both directories in one transaction, each node with the perms libxl gives it (backend
 * n0 r<domid>, frontend n<domid> r0), both `state` = Initialising.  `backend` and `frontend` are
 * the device's own nodes beyond frontend/backend/state, which are written here.  0 or -1 with err. */
int xenbus_backend_create(struct xenbus_backend *xb, struct domain *dom, const char *type, int devid,
			  const struct xenbus_node *backend, const struct xenbus_node *frontend,
			  const struct xenbus_backend_ops *ops, void *opaque, char *err, size_t errlen);
/* The device exists (and its hotplug script ran): InitWait, and the frontend's state is watched. */
int xenbus_backend_start(struct xenbus_backend *xb, char *err, size_t errlen);
/* A node of ours (backend directory); 0 or -errno. */
int xenbus_backend_write(struct xenbus_backend *xb, const char *key, const char *value);
/* A node of the frontend's into buf (NUL-terminated); 0 or -errno (-ENOENT, -E2BIG). */
int xenbus_backend_read_fe(struct xenbus_backend *xb, const char *key, char *buf, size_t len);
/* Same, as a decimal number up to max. */
int xenbus_backend_read_fe_uint(struct xenbus_backend *xb, const char *key, unsigned long max,
				unsigned long *out);
/* Detach: online = 0, Closing; once the frontend is Closed (or at once if it never connected, or
 * after timeout_ms), disconnect, Closed, directories removed, then ops->closed. */
void xenbus_backend_close(struct xenbus_backend *xb, int timeout_ms);
/* At once, without waiting for the frontend (domain teardown): disconnect, release, remove
 * everything.  ops->closed is not called.  Safe on a backend whose create failed or that was destroyed. */
void xenbus_backend_destroy(struct xenbus_backend *xb);
const char *xenbus_state_name(enum xenbus_state s);

#endif
