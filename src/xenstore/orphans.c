/* A dead domain's nodes.  In Xen, xenstored only fires @releaseDomain when a domain dies, and
 * the toolstack (libxl, through xl) removes the domain's nodes.  In Xenith the toolstack of a
 * running domain is its VMM: it writes the domain's nodes (xenstore_layout.c, the xenbus
 * backends) and removes them when it ends.  A VMM that is killed removes nothing, and nobody else
 * knows the domain's nodes, so xenstored removes them when the VMM dies (lifeline.c), exactly
 * the subtrees the VMM would have removed, one row each:
 *
 *   /local/domain/N/vm -> /vm/<uuid>   the VM's directory, named by the home (read first)
 *   /local/domain/N                    the home: frontends, control, data, ...
 *   /libxl/N                           libxl's record of the domain
 *   /local/domain/0/backend/T/N        every backend type T's directory for the domain; then
 *                                      backend/T, backend and /local/domain/0 while empty, as
 *                                      the VMM's own teardown leaves them
 *
 * The home's `vm` node is Dom0's (the guest may only read it), but it is checked anyway: only a
 * path of the form /vm/<one component> is followed.  Removal is RM's, made by xenstored: each
 * removed subtree's root fires watches at or above it, every node below fires watches on itself,
 * and the parents' generations move so that transactions that read them conflict. */
#include <stdio.h>
#include <string.h>

#include "xenstore/orphans.h"
#include "xenstore/watch.h"

struct removal {
	struct xenstored *xsd;
	const struct xs_node *root;
};

static void removing(void *arg, struct xs_node *n)
{
	struct removal *r = arg;
	char path[XS_PATH_BUF];

	if (tree_path(n, path, sizeof(path)) >= 0)
		watch_fire(r->xsd, NULL, path, n == r->root ? WATCH_MATCH_SUBTREE : WATCH_MATCH_EXACT);
}

static void remove_node(struct xenstored *xsd, struct xs_node *n)
{
	struct removal r = { .xsd = xsd, .root = n };

	if (n && n->parent)
		tree_remove(&xsd->tree, n, removing, &r);
}

static void remove_subtree(struct xenstored *xsd, const char *path, unsigned int domid)
{
	(void)domid;
	remove_node(xsd, tree_lookup(&xsd->tree, path));
}

/* /vm/<uuid>: one component of the characters a path may hold, nothing else. */
static void remove_linked_vm(struct xenstored *xsd, const char *path, unsigned int domid)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const struct xs_node *link = tree_lookup(&xsd->tree, path);
	char target[XS_PATH_BUF];

	(void)domid;
	if (!link || link->len >= sizeof(target) || memchr(link->value, '\0', link->len))
		return;
	memcpy(target, link->value, link->len);
	target[link->len] = '\0';
	const char *name = target + 4;
	if (strncmp(target, "/vm/", 4) || !*name || name[strspn(name, ok)])
		return;
	remove_subtree(xsd, target, domid);
}

/* Removes n if it has no children; true if it did. */
static bool remove_if_empty(struct xenstored *xsd, struct xs_node *n)
{
	if (!n || !n->parent || n->n_children)
		return false;
	remove_node(xsd, n);
	return true;
}

static void remove_backends(struct xenstored *xsd, const char *path, unsigned int domid)
{
	struct xs_node *backend = tree_lookup(&xsd->tree, path);
	char id[16];

	if (!backend)
		return;
	snprintf(id, sizeof(id), "%u", domid);
	/* Walk backwards: removing a child shifts the ones after it. */
	for (size_t i = backend->n_children; i-- > 0;) {
		struct xs_node *type = backend->children[i];
		for (size_t j = 0; j < type->n_children; j++) {
			if (!strcmp(type->children[j]->name, id)) {
				remove_node(xsd, type->children[j]);
				remove_if_empty(xsd, type);
				break;
			}
		}
	}
	struct xs_node *dom0 = backend->parent;
	if (remove_if_empty(xsd, backend))
		remove_if_empty(xsd, dom0);
}

const struct orphan_rule orphan_rules[] = {
	{ "/local/domain/%u/vm", remove_linked_vm, "the VM's /vm/<uuid>, named by the home's vm node" },
	{ "/local/domain/%u", remove_subtree, "the home: frontends, control, data" },
	{ "/libxl/%u", remove_subtree, "libxl's record of the domain" },
	{ "/local/domain/0/backend", remove_backends,
	  "backend/<type>/%u of every type, then empty parents up to /local/domain/0" },
};
const size_t orphan_rules_len = sizeof(orphan_rules) / sizeof(orphan_rules[0]);

void orphans_remove(struct xenstored *xsd, unsigned int domid)
{
	char path[XS_PATH_BUF];

	if (domid == 0)
		return;        /* Dom0 is never an orphan */
	for (size_t i = 0; i < orphan_rules_len; i++) {
		snprintf(path, sizeof(path), orphan_rules[i].pattern, domid);
		orphan_rules[i].remove(xsd, path, domid);
	}
}
