/* The node tree.  Paths are absolute and already canonical here (xs_canonicalize checks them);
 * every node has a value (possibly empty), a permission list and children in creation order.
 * The tree knows nothing about connections: permission decisions live in perms.c. */
#ifndef XENITH_XENSTORE_TREE_H
#define XENITH_XENSTORE_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Permission bits, as Xen's xs_lib.h: n = none, r, w, b = both. */
#define XS_PERM_NONE  0u
#define XS_PERM_READ  1u
#define XS_PERM_WRITE 2u
#define XS_PERM_OWNER 4u   /* internal: what perm_for_conn grants the owner and Dom0 */

struct xs_perm {
	uint32_t domid;
	uint8_t perms;
};

struct xs_node {
	char *name;                /* last component; "" for the root */
	struct xs_node *parent;
	struct xs_node **children;
	size_t n_children, cap_children;
	char *value;               /* NUL-terminated copy for convenience; may hold NULs */
	size_t len;
	struct xs_perm *perms;     /* perms[0]: owner and everyone else's access */
	unsigned int n_perms;
	uint64_t gen;              /* generation of the last change (transaction.c) */
};

/* Told about ownership changes, for per-domain node quotas.  NULL in transaction copies. */
typedef void (*xs_owner_fn)(void *arg, uint32_t domid, int delta);

/* Told about every change, for the journal (journal.c): a node's value, permissions or creation
 * (NODE), a generation bump of a parent whose children changed (GEN), a subtree about to go
 * (REMOVE).  A creation tells the parent's bump first.  NULL in transaction copies. */
enum xs_change { XS_CHANGE_NODE, XS_CHANGE_GEN, XS_CHANGE_REMOVE };
typedef void (*xs_change_fn)(void *arg, const struct xs_node *n, enum xs_change what);

struct xs_tree {
	struct xs_node *root;
	uint64_t *generation;      /* shared counter; each change takes ++*generation */
	xs_owner_fn owner_changed;
	void *owner_arg;
	xs_change_fn changed;
	void *changed_arg;
};

/* An empty tree: "/" owned by domain 0 with no access for others.  0 or -ENOMEM. */
int tree_init(struct xs_tree *t, uint64_t *generation);
void tree_free(struct xs_tree *t);
/* A deep copy, generations included, without ownership accounting.  0 or -ENOMEM. */
int tree_clone(struct xs_tree *dst, const struct xs_tree *src);

struct xs_node *tree_lookup(const struct xs_tree *t, const char *path);
/* The deepest existing node on the way to path (the node itself if it exists). */
struct xs_node *tree_nearest(const struct xs_tree *t, const char *path);

/* Creates path and any missing parents with empty values.  New nodes copy their parent's
 * permissions; if `owner` is not NULL it becomes their owner (unprivileged creators, as Xen).
 * `created`, if not NULL, is called for each new node, parents first.  Returns the node (existing
 * or new), or NULL with errno = ENOMEM. */
struct xs_node *tree_create(struct xs_tree *t, const char *path, const uint32_t *owner,
			    void (*created)(void *arg, struct xs_node *n), void *arg);
/* Replaces the value.  0 or -ENOMEM. */
int tree_set_value(struct xs_tree *t, struct xs_node *n, const void *value, size_t len);
/* Replaces the permission list (n_perms >= 1).  0 or -ENOMEM. */
int tree_set_perms(struct xs_tree *t, struct xs_node *n, const struct xs_perm *perms,
		   unsigned int n_perms);
/* Removes n and its subtree (never the root).  `removing`, if not NULL, sees each node before it
 * goes, children before parents. */
void tree_remove(struct xs_tree *t, struct xs_node *n,
		 void (*removing)(void *arg, struct xs_node *n), void *arg);

/* Writes the node's absolute path into buf; returns its length, or -1 if it does not fit. */
int tree_path(const struct xs_node *n, char *buf, size_t len);
/* Calls fn for n and every node below it, parents first; stops on a non-zero return. */
int tree_walk(struct xs_node *n, int (*fn)(void *arg, struct xs_node *n), void *arg);
size_t tree_count(const struct xs_node *n);

#endif
