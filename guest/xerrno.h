/*
 * Errno names for the guest, with Xen's values (xen/errno.h; equal to Linux's on x86).  Hypercalls
 * return -XEN_E*; xenstored answers errors as strings, which xs_wire.h's xsd_errors table maps to
 * these names once they are defined (it looks for EINVAL).
 */
#ifndef GUEST_XERRNO_H
#define GUEST_XERRNO_H

#include <xen/errno.h>

#define EPERM     XEN_EPERM
#define ENOENT    XEN_ENOENT
#define EIO       XEN_EIO
#define E2BIG     XEN_E2BIG
#define EAGAIN    XEN_EAGAIN
#define ENOMEM    XEN_ENOMEM
#define EACCES    XEN_EACCES
#define EBUSY     XEN_EBUSY
#define EEXIST    XEN_EEXIST
#define EISDIR    XEN_EISDIR
#define EINVAL    XEN_EINVAL
#define ENOSPC    XEN_ENOSPC
#define EROFS     XEN_EROFS
#define ENOSYS    XEN_ENOSYS
#define ENOTEMPTY XEN_ENOTEMPTY
#define EISCONN   XEN_EISCONN
#define ETIMEDOUT XEN_ETIMEDOUT
#define EFAULT    XEN_EFAULT
#define ENODEV    XEN_ENODEV
/* Not in Xen's errno.h; some xenstoreds answer a node quota with it (Linux's value). */
#define EDQUOT    122

/* A short name for an errno value ("EACCES"), or "E?" for one we do not know. */
const char *errno_name(long err);
/* "ok" for 0 (or 1: not tried), else errno_name. */
const char *errno_name_or_ok(long rc);

#endif
