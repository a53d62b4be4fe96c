/* The node requests (nodes.c). */
#ifndef XENITH_XENSTORE_NODES_H
#define XENITH_XENSTORE_NODES_H

#include "xenstore/xenstored.h"

int do_read(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);
int do_write(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);
int do_mkdir(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);
int do_rm(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);
int do_directory(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);
int do_directory_part(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);
int do_get_perms(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);
int do_set_perms(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);

#endif
