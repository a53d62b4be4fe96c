/* A domain's VMM as a process: what state it is in, whether a pid really is that domain's
 * xenith-vmm, and ending it.  xl learns the pid from the control socket (SO_PEERCRED) or, when it
 * cannot connect, by looking for the VMM's command line in /proc. */
#ifndef XENITH_XL_VMM_H
#define XENITH_XL_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* "its VMM (pid 1234, stopped)", or for a process that is not a xenith-vmm "the process serving
 * its control socket (pid 1234, python3, stopped)"; "its VMM (pid unknown)" for pid 0. */
void xl_vmm_describe(pid_t pid, char *buf, size_t len);

/* True if `cmdline` (/proc/PID/cmdline: NUL-separated words, `len` bytes) runs xenith-vmm with
 * --rundir `rundir` and --name `name`: the VMM xl started for that domain. */
bool xl_vmm_cmdline_matches(const char *cmdline, size_t len, const char *rundir, const char *name);

/* The pid of the xenith-vmm serving `name` in `rundir`, found in /proc; 0 if none. */
pid_t xl_vmm_find(const char *rundir, const char *name);

/* Waits up to timeout_ms for process `pid` to exit.  0 once it has (or never existed),
 * -ETIMEDOUT if it still lives. */
int xl_vmm_wait_exit(pid_t pid, int timeout_ms);

/* Sends `sig` to `pid` only if it is the xenith-vmm of `name` in `rundir` (checked on the process
 * itself, held by a pidfd so that a recycled pid cannot be hit), then waits up to timeout_ms for it
 * to exit.  0: it is gone; -EPERM: it is some other process (why says which), nothing sent;
 * -ETIMEDOUT: it still lives; other -errno with why. */
int xl_vmm_signal(pid_t pid, const char *rundir, const char *name, int sig, int timeout_ms,
		  char *why, size_t len);

/* pidfd helpers for a process xl holds as its own (the VMM it is starting). */
int xl_pidfd_open(pid_t pid);
int xl_pidfd_signal(int pidfd, int sig);
/* 0 once the process has exited, -ETIMEDOUT after timeout_ms. */
int xl_pidfd_wait(int pidfd, int timeout_ms);

#endif
