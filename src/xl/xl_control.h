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
	const int *fds;           /* descriptors sent with the request (SCM_RIGHTS), or NULL */
	size_t nfds;              /* at most XL_CALL_FDS_MAX */
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

/* One request with descriptors attached in the same message (`save` passes its stream and where
 * progress lines go: docs/migration.md).  Returns as xl_call.result, the reply or why in reply;
 * *vmm_pid (may be NULL) as xl_call.vmm_pid. */
#define XL_CALL_FDS_MAX 4
int xl_control_call_fds(const struct rundir *rd, unsigned int domid, const char *request,
			const int *fds, size_t nfds, int timeout_ms, char *reply, size_t len,
			pid_t *vmm_pid);

#endif
