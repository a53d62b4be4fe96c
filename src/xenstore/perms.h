/* Xen's permission model.  A node's list: perms[0] names the owner, who may do anything, and
 * what every domain without an entry of its own may do; perms[1..] grant one domain each.
 * Privileged connections (Dom0) pass every check.  Letters: n none, r read, w write, b both. */
#ifndef XENITH_XENSTORE_PERMS_H
#define XENITH_XENSTORE_PERMS_H

#include <stddef.h>

#include "xenstore/tree.h"

struct xs_conn;

/* "r5" → { 5, XS_PERM_READ }.  0 or EINVAL. */
int perm_parse(const char *s, struct xs_perm *out);
/* Writes "b0" style text (at most 8 bytes with the NUL). */
void perm_format(const struct xs_perm *p, char *buf, size_t len);
/* What conn may do with a node having these permissions: XS_PERM_* bits. */
unsigned int perm_for_conn(const struct xs_conn *c, const struct xs_perm *perms, unsigned int n);

/* May conn do `want` with path (node = its lookup, NULL if absent)?  Returns 0, EACCES, or
 * ENOENT.  Xen's hiding rule: a missing node reads as EACCES unless the nearest existing
 * ancestor grants `want`, so a domain cannot probe for nodes it could not see. */
int perm_check(const struct xs_tree *t, const struct xs_conn *c, const char *path,
	       const struct xs_node *node, unsigned int want);

#endif
