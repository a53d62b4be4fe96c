/* The procedures xenith-libvirtd serves (docs/libvirt.md): each is a row { program, number, name,
 * handler } in a table of its own file (procs_connect.c, procs_domain.c, ...), gathered by procs.c.
 * A handler reads its XXX_args from call->args and writes XXX_ret to call->ret (XDR, xdr.h), or
 * sets an error with virt_call_error and returns -1: the server then replies VIR_NET_ERROR with a
 * remote_error of libvirt's code and domain (<libvirt/virterror.h>).  A procedure with no row gets
 * VIR_ERR_NO_SUPPORT, never a hang. */
#ifndef XENITH_VIRT_PROC_H
#define XENITH_VIRT_PROC_H
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "libvirt/xdr.h"

#define VIRT_REMOTE_PROGRAM    0x20008086u   /* remote_protocol.x */
#define VIRT_REMOTE_VERSION    1u
#define VIRT_KEEPALIVE_PROGRAM 0x6b656570u   /* virkeepaliveprotocol.x: "keep" */
#define VIRT_KEEPALIVE_VERSION 1u

struct virt_daemon;      /* the daemon: its host (virt_domains.h), clients, event loop */
struct virt_client;      /* one connection */

struct virt_error {
	int code;            /* virErrorNumber */
	int domain;          /* virErrorDomain */
	char message[1024];
};

struct virt_call {
	struct virt_daemon *daemon;
	struct virt_client *client;
	uint32_t program;
	int32_t proc;
	uint32_t serial;
	struct xdr_reader *args;
	struct xdr_writer *ret;
	struct virt_error error;
	/* A handler that answers later (a stream's open, a long action) sets deferred and keeps what
	 * it needs; virt_call_reply_later() finishes it. */
	bool deferred;
};

struct virt_proc {
	uint32_t program;
	int32_t number;          /* REMOTE_PROC_* of remote_protocol.x */
	const char *name;        /* "CONNECT_OPEN": for logs and the not-supported message */
	int (*serve)(struct virt_call *call);
	bool before_open;        /* may be called before CONNECT_OPEN (AUTH_LIST, CONNECT_OPEN, ...) */
};

/* Sets call->error; returns -1 so that handlers may `return virt_call_error(...)`. */
int virt_call_error(struct virt_call *call, int code, int domain, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The gathered tables (procs.c): the row for (program, number), or NULL. */
const struct virt_proc *virt_proc_find(uint32_t program, int32_t number);
#endif
