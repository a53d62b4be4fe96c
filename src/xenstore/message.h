/* Message dispatch: one table indexed by xsd_sockmsg_type (message.c). */
#ifndef XENITH_XENSTORE_MESSAGE_H
#define XENITH_XENSTORE_MESSAGE_H

#include "xenstore/xenstored.h"

#define XS_FLAG_PRIV  (1u << 0)   /* privileged callers only: others get EACCES */
#define XS_FLAG_NOTID (1u << 1)   /* the header's tx_id is ignored */
#define XS_FLAG_STORE (1u << 2)   /* may change what the snapshot holds (persist.c) */

struct xs_handler {
	const char *name;
	int (*fn)(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);
	unsigned int flags;
};

/* The table; entries without fn (WATCH_EVENT, ERROR, unsupported types) answer ENOSYS. */
extern const struct xs_handler xs_handlers[XS_TYPE_COUNT];
const char *xs_type_name(uint32_t type);

/* Handles one complete request from c: the common checks, the handler, the error reply. */
void process_message(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);

#endif
