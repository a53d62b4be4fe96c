/* The domain's control socket (docs/vmm-control.md): one request, one reply, per connection. */
#ifndef XENITH_CONTROL_H
#define XENITH_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

struct domain;

/* Binds a SOCK_SEQPACKET socket at path. Returns the fd, or -1 with err. */
int control_listen(const char *path, char *err, size_t errlen);
/* Serves one connection waiting on listen_fd. Sets *destroy when the request was `destroy`. */
void control_serve_one(int listen_fd, struct domain *dom, bool *destroy);

#endif
