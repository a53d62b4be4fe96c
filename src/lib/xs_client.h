/* A small blocking xenstore client, for xl and the VMM (Xen's wire protocol, xs_wire.h).
 * Every call returns 0 (or a count) on success and -errno on failure; xenstored's error replies
 * come back as the errno they name (-ENOENT, -EACCES, -EAGAIN ...).  `tx` is a transaction id
 * from xs_transaction_start, or 0 for none.  Watch events that arrive while waiting for a reply
 * are kept for xs_wait_event. */
#ifndef XENITH_XS_CLIENT_H
#define XENITH_XS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xs_client;

/* Connects to <rundir>/xenstored/socket (rundir NULL: $XENITH_RUNDIR or /run/xenith).  The
 * socket has a 5 s send timeout, set before connecting: a xenstored whose listen queue stays full
 * (stopped) fails the open with EAGAIN, and a send it does not drain fails with -EAGAIN, instead of
 * blocking.  Replies are waited for without a bound unless the caller sets SO_RCVTIMEO on
 * xs_fileno(); a call then fails with -EAGAIN when it expires. */
struct xs_client *xs_open(const char *rundir, char *err, size_t errlen);
/* Connects to a socket path (Dom0's, or an unprivileged socket.d/<domid>). */
struct xs_client *xs_open_path(const char *socket_path, char *err, size_t errlen);
void xs_close(struct xs_client *xs);
/* The socket, for poll(): readable when an event (or stray reply) is waiting. */
int xs_fileno(const struct xs_client *xs);
/* Bounds every later call's wait for its reply to `ms` (0: no bound of its own): one that comes
 * too late fails the call with -ETIMEDOUT, which (unlike SO_RCVTIMEO's -EAGAIN) cannot be taken
 * for a transaction conflict; the late reply is skipped when it comes.  For loops that must go
 * on while xenstored is stopped (the VMM's link). */
void xs_set_reply_timeout(struct xs_client *xs, int ms);

/* *value: malloc'd, NUL-terminated (len excludes the NUL); the caller frees it. */
int xs_read(struct xs_client *xs, uint32_t tx, const char *path, char **value, size_t *len);
int xs_write(struct xs_client *xs, uint32_t tx, const char *path, const void *value, size_t len);
int xs_write_str(struct xs_client *xs, uint32_t tx, const char *path, const char *value);
int xs_mkdir(struct xs_client *xs, uint32_t tx, const char *path);
int xs_rm(struct xs_client *xs, uint32_t tx, const char *path);
/* *names: one malloc'd block (free it once) of *count child names. */
int xs_directory(struct xs_client *xs, uint32_t tx, const char *path, char ***names,
		 unsigned int *count);
/* Permissions in text: "n0 r5" (owner 0, nobody may, domain 5 may read). */
int xs_get_perms(struct xs_client *xs, uint32_t tx, const char *path, char *buf, size_t len);
int xs_set_perms(struct xs_client *xs, uint32_t tx, const char *path, const char *perms);

int xs_transaction_start(struct xs_client *xs, uint32_t *tx);
/* commit = false aborts.  -EAGAIN: a conflict; start again. */
int xs_transaction_end(struct xs_client *xs, uint32_t tx, bool commit);

int xs_watch(struct xs_client *xs, const char *path, const char *token);
int xs_unwatch(struct xs_client *xs, const char *path, const char *token);
/* Waits up to timeout_ms (-1: forever; 0: only what is queued or already readable) for a watch
 * event; -ETIMEDOUT if none came. */
int xs_wait_event(struct xs_client *xs, int timeout_ms, char *path, size_t pathlen, char *token,
		  size_t tokenlen);

/* Hands domain domid's ring to xenstored: ring page `mfn` of guest_memfd, kick_fd (we write it
 * when the guest notifies), notify_fd (xenstored writes it; we raise the guest's event). */
int xs_introduce(struct xs_client *xs, unsigned int domid, unsigned long mfn, unsigned int port,
		 int guest_memfd, int kick_fd, int notify_fd);
int xs_release(struct xs_client *xs, unsigned int domid);
/* 1 if introduced, 0 if not, or -errno. */
int xs_is_domain_introduced(struct xs_client *xs, unsigned int domid);
/* CONTROL: args separated by NUL in xenstored's terms; here given as an argv.  The answer text
 * goes to out (NUL-terminated, truncated to outlen). */
int xs_control(struct xs_client *xs, const char *const *argv, unsigned int argc, char *out,
	       size_t outlen);

/* Makes sure a xenstored answers for rundir (NULL: $XENITH_RUNDIR or /run/xenith): if none listens
 * on its socket, starts `xenstored_binary` (NULL: $XENITH_XENSTORED, else `xenstored` beside
 * /proc/self/exe) under an flock on <rundir>/xenstored.lock, stderr to
 * <rundir>/log/xenstored.log, and waits up to 5 s for the socket.  Every wait is bounded: one
 * that listens but accepts nothing within 5 s is left alone (-EAGAIN: not replaced), the lock is
 * waited for up to 6 s (-ETIMEDOUT), a started one that neither listens nor exits in 5 s is
 * killed (-ETIMEDOUT).  0 or -errno with err set. */
int xenstored_ensure(const char *rundir, const char *xenstored_binary, char *err, size_t errlen);

#endif
