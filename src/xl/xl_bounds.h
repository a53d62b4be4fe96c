/* How long xl waits for each part of Dom0 before it says which one did not answer (docs/xl.md).
 * Every wait in xl has one of these bounds; none waits forever.  The user-facing numbers are in
 * docs/xl.md, kept equal to these by hand: change both. */
#ifndef XENITH_XL_BOUNDS_H
#define XENITH_XL_BOUNDS_H

/* One control-socket request to a VMM (connect, send, reply): pause, unpause, info, devices. */
#define XL_REQUEST_MS          5000
/* `xl list`: every domain is asked for `info` at once, and all together get this long, so that
 * one hung VMM costs the listing this bound and not the others' time. */
#define XL_LIST_MS             2000
/* `xl destroy`: after the VMM accepted `destroy`, how long it has to remove its directory and exit
 * before xl kills it. */
#define XL_DESTROY_GONE_MS    10000
/* After SIGKILL, how long a VMM has to be gone (a process in uninterruptible sleep may take a
 * while) before xl reports that it could not end it. */
#define XL_KILL_WAIT_MS        5000
/* `xl create`: how long the VMM has to say `ok <domid>` or `error ...` on its ready pipe. */
#define XL_READY_MS           60000
/* An interrupted or timed-out `xl create`: after SIGTERM (the VMM tears down what it made), how
 * long before SIGKILL. */
#define XL_STOP_GRACE_MS       3000
/* Each reply from xenstored. */
#define XL_XENSTORE_MS         5000
/* `xl shutdown`/`reboot`: the guest clearing control/shutdown (seconds; XENITH_SHUTDOWN_TIMEOUT
 * overrides it), and with -w the domain going away afterwards. */
#define XL_SHUTDOWN_ACK_S        10
#define XL_SHUTDOWN_GONE_MS   60000
/* Probing whether a domain's VMM is still there (connect only), before reaping its directory. */
#define XL_PROBE_MS            1000

#endif
