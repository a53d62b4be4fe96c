/*
 * The xenstore client (Mini-OS xenbus.c, Linux xenbus_comms.c / xenbus_xs.c), synchronous, one
 * request at a time.  The ring is struct xenstore_domain_interface at HVM_PARAM_STORE_PFN, kicked
 * through HVM_PARAM_STORE_EVTCHN.  A request is an xsd_sockmsg header (type, req_id, tx_id, len) and
 * its payload; replies carry the same req_id.  XS_WATCH_EVENTs may come between a request and its
 * reply: they go to a queue of their own, which xs_read_watch() drains.  Relative paths are relative
 * to /local/domain/<our domid> (xenstored resolves them).
 *
 * Results: >= 0 (a length, or 0) or -errno, where errno comes from xenstored's error string via
 * xs_wire.h's table (EDQUOT added), -XEN_ETIMEDOUT if xenstored does not answer in time, -XEN_EIO if
 * the reply is malformed.  Nothing xenstored sends can overflow our buffers: replies are truncated.
 */
#ifndef GUEST_XENBUS_H
#define GUEST_XENBUS_H

#include <stddef.h>
#include <stdint.h>
#include "xerrno.h"              /* before xs_wire.h, for its xsd_errors table */
#include <xen/io/xs_wire.h>

typedef uint32_t xs_tx_t;       /* 0: no transaction */

extern uint64_t xenbus_evtchn;  /* the store port, once initialised */

/* 0, or why not (-XEN_E* from HVMOP_get_param, -XEN_ENODEV if the params are unset). */
int xenbus_init(void);
/*
 * In a new domain after a suspend (Linux's xs_resume): the ring page and port read again, the
 * connection treated as new -- responses left on the ring dropped, queued watch events dropped --
 * and every watch set with xs_watch (and not removed) set again, since the xenstored on this side
 * knows none of them; each fires once on being set, as Xen's do.  No request is ever in flight
 * across a suspend: this client is synchronous and the suspend is issued between requests.
 * 0, or the error (*failed names the watch path that failed, or the step), or 1 if xenbus_init
 * had not succeeded.
 */
int xenbus_resume(const char **failed);

/* A NUL-terminated value into buf (truncated to size - 1): its length, or -errno. */
int xs_read(xs_tx_t tx, const char *path, char *buf, size_t size);
int xs_write(xs_tx_t tx, const char *path, const char *value);
int xs_write_len(xs_tx_t tx, const char *path, const void *value, size_t len);
int xs_mkdir(xs_tx_t tx, const char *path);
int xs_rm(xs_tx_t tx, const char *path);
/* Children as NUL-separated names into buf: the total length, or -errno. */
int xs_directory(xs_tx_t tx, const char *path, char *buf, size_t size);
/* Watches are remembered (up to XS_WATCHES_KEPT, paths up to 127 bytes) for xenbus_resume. */
int xs_watch(const char *path, const char *token);
int xs_unwatch(const char *path, const char *token);
#define XS_WATCHES_KEPT 32
/* How many events have arrived for the watches with this token so far, whoever read them from
 * the queue: a caller that must not miss one (control requests) compares counts. */
uint64_t xs_watch_events(const char *token);
int xs_transaction_start(xs_tx_t *tx);
int xs_transaction_end(xs_tx_t tx, int abort);
/* The next queued or arriving watch event, waiting until system time deadline_ns:
 * 0, or -XEN_ETIMEDOUT. */
int xs_read_watch(char *path, size_t path_size, char *token, size_t token_size, uint64_t deadline_ns);
/* Reads a node as a decimal number: 0, or -errno. */
int xs_read_u64(xs_tx_t tx, const char *path, uint64_t *v);

/* The raw ring page (NULL before xenbus_init) and a kick of the store port, for tests that break
 * the protocol on purpose (xs-garbage); nothing else should touch the ring behind the client. */
volatile struct xenstore_domain_interface *xenbus_ring(void);
void xenbus_notify(void);

#endif
