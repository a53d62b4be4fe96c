/* Requests to domains' control sockets (docs/vmm-control.md), any number at once, all bounded by
 * one deadline: one request -> one reply message, `ok[ text]` or `error ENAME message`. */
#ifndef XENITH_XL_CONTROL_H
#define XENITH_XL_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "lib/rundir.h"

struct xl_call {
	/* in */
	unsigned int domid;
	const char *request;      /* "info", "destroy", "vif-attach SPEC", ... */
	char *reply;              /* the reply text after "ok ", or why it failed */
	size_t len;
	/* out */
	int result;               /* 0: ok; -ESRCH: gone; -ETIMEDOUT: no answer in time; -errno */
	bool refused;             /* the socket is there but nobody listens: its VMM died */
	pid_t vmm_pid;            /* who listens on the socket (SO_PEERCRED); 0 if never connected */
	/* private */
	int fd;
	int phase;
};

/* Runs every call at once and waits up to timeout_ms for them all.  Each call's result, reply and
 * vmm_pid are set; a call that ran out of time says which process did not answer what, and how
 * that process is (stopped, in uninterruptible sleep...). */
void xl_control_calls(const struct rundir *rd, struct xl_call *calls, size_t n, int timeout_ms);

#endif
