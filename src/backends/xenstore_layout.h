/* A domain's xenstore nodes as libxl 4.17 writes them for a PVH domain (xenstore_layout.c):
 * which paths, values and permissions; the link (xenstore_link.c) writes them, tests check them. */
#ifndef XENITH_XENSTORE_LAYOUT_H
#define XENITH_XENSTORE_LAYOUT_H

#include <stdint.h>

struct xenstore_layout {
	int domid;
	const char *name;
	const char *uuid;                /* 36 characters */
	uint64_t memory_kb;              /* memory/target */
	uint64_t max_memory_kb;          /* memory/static-max */
	unsigned int vcpus;              /* online at boot: cpu/0 .. vcpus-1 "online" */
	unsigned int max_vcpus;          /* possible: the rest "offline" */
	uint64_t store_gfn, console_gfn;
	unsigned int store_port, console_port;
	const char *console_tty;         /* what xenconsoled would write: the pty's path, or "" */
	const char *start_time;          /* "seconds.centiseconds", as libxl */
};

/* Receives one node: absolute path, value, permissions in xs_set_perms form ("n0 r5").  A
 * directory comes before anything below it.  Returns 0 or -errno (which stops the walk). */
typedef int (*xenstore_layout_put_fn)(void *ctx, const char *path, const char *value, const char *perms);

/* Calls put for every node of the layout, in libxl's order.  0, or the first -errno. */
int xenstore_layout_write(const struct xenstore_layout *l, xenstore_layout_put_fn put, void *ctx);

#define XENSTORE_LAYOUT_ROOTS 4
#define XENSTORE_LAYOUT_ROOT_MAX 96
/* The subtrees the layout creates, to remove when the domain goes.  The last is
 * /local/domain/0/backend/console/<domid>, whose parents other domains share. */
void xenstore_layout_roots(const struct xenstore_layout *l, char roots[XENSTORE_LAYOUT_ROOTS][XENSTORE_LAYOUT_ROOT_MAX]);

#endif
