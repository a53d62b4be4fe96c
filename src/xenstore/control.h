/* CONTROL commands: a table of name, handler, usage (control.c). */
#ifndef XENITH_XENSTORE_CONTROL_H
#define XENITH_XENSTORE_CONTROL_H

#include "xenstore/xenstored.h"

int do_control(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);

#endif
