/* Message dispatch, like Xen's xenstored: one table indexed by message type gives each handler
 * and its flags; process_message does the checks common to all (known type, privilege, the
 * transaction named in tx_id) and turns a handler's errno into the XS_ERROR reply. */
#include <string.h>

#include "lib/error.h"
#include "xenstore/conn.h"
#include "xenstore/control.h"
#include "xenstore/domain.h"
#include "xenstore/message.h"
#include "xenstore/nodes.h"
#include "xenstore/transaction.h"
#include "xenstore/watch.h"

const struct xs_handler xs_handlers[XS_TYPE_COUNT] = {
	[XS_CONTROL]              = { "CONTROL", do_control, XS_FLAG_PRIV | XS_FLAG_NOTID },
	[XS_DIRECTORY]            = { "DIRECTORY", do_directory, 0 },
	[XS_READ]                 = { "READ", do_read, 0 },
	[XS_GET_PERMS]            = { "GET_PERMS", do_get_perms, 0 },
	[XS_WATCH]                = { "WATCH", do_watch, XS_FLAG_NOTID },
	[XS_UNWATCH]              = { "UNWATCH", do_unwatch, XS_FLAG_NOTID },
	[XS_TRANSACTION_START]    = { "TRANSACTION_START", do_transaction_start, 0 },
	[XS_TRANSACTION_END]      = { "TRANSACTION_END", do_transaction_end, XS_FLAG_STORE },
	[XS_INTRODUCE]            = { "INTRODUCE", do_introduce, XS_FLAG_PRIV | XS_FLAG_NOTID | XS_FLAG_STORE },
	[XS_RELEASE]              = { "RELEASE", do_release, XS_FLAG_PRIV | XS_FLAG_NOTID | XS_FLAG_STORE },
	[XS_GET_DOMAIN_PATH]      = { "GET_DOMAIN_PATH", do_get_domain_path, XS_FLAG_NOTID },
	[XS_WRITE]                = { "WRITE", do_write, XS_FLAG_STORE },
	[XS_MKDIR]                = { "MKDIR", do_mkdir, XS_FLAG_STORE },
	[XS_RM]                   = { "RM", do_rm, XS_FLAG_STORE },
	[XS_SET_PERMS]            = { "SET_PERMS", do_set_perms, XS_FLAG_STORE },
	[XS_WATCH_EVENT]          = { "WATCH_EVENT", NULL, 0 },
	[XS_ERROR]                = { "ERROR", NULL, 0 },
	[XS_IS_DOMAIN_INTRODUCED] = { "IS_DOMAIN_INTRODUCED", do_is_domain_introduced,
				      XS_FLAG_PRIV | XS_FLAG_NOTID },
	[XS_RESUME]               = { "RESUME", do_resume, XS_FLAG_PRIV | XS_FLAG_NOTID },
	[XS_SET_TARGET]           = { "SET_TARGET", NULL, XS_FLAG_PRIV },
	[XS_RESET_WATCHES]        = { "RESET_WATCHES", do_reset_watches, XS_FLAG_NOTID },
	[XS_DIRECTORY_PART]       = { "DIRECTORY_PART", do_directory_part, 0 },
};

const char *xs_type_name(uint32_t type)
{
	return type < XS_TYPE_COUNT && xs_handlers[type].name ? xs_handlers[type].name : "UNKNOWN";
}

void process_message(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req)
{
	uint32_t type = req->hdr.type;
	int err;

	xsd->requests++;
	if (type >= XS_TYPE_COUNT || !xs_handlers[type].fn) {
		err = ENOSYS;
		goto fail;
	}
	const struct xs_handler *h = &xs_handlers[type];
	if ((h->flags & XS_FLAG_PRIV) && !c->privileged) {
		err = EACCES;
		goto fail;
	}
	req->tx = NULL;
	if (!(h->flags & XS_FLAG_NOTID) && req->hdr.tx_id) {
		req->tx = tx_lookup(c, req->hdr.tx_id);
		if (!req->tx) {
			err = tx_lost(xsd, c, req);
			if (err)
				goto fail;
			return;
		}
	}
	if (h->flags & XS_FLAG_STORE)
		xsd->persist.dirty = true;
	err = h->fn(xsd, c, req);
	if (!err)
		return;
fail:
	xs_reply_error(xsd, c, req, err);
}
