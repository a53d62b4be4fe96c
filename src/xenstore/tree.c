/* The node tree: a plain tree of nodes, children in creation order (so DIRECTORY lists them the
 * way Xen's xenstored does).  Lookups walk component by component. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenstore/tree.h"

static struct xs_node *node_new(const char *name, size_t name_len)
{
	struct xs_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strndup(name, name_len);
	n->value = calloc(1, 1);
	if (!n->name || !n->value) {
		free(n->name);
		free(n->value);
		free(n);
		return NULL;
	}
	return n;
}

static void node_free(struct xs_node *n)
{
	for (size_t i = 0; i < n->n_children; i++)
		node_free(n->children[i]);
	free(n->children);
	free(n->name);
	free(n->value);
	free(n->perms);
	free(n);
}

static void owner_delta(struct xs_tree *t, const struct xs_node *n, int delta)
{
	if (t->owner_changed && n->n_perms)
		t->owner_changed(t->owner_arg, n->perms[0].domid, delta);
}

static void note(struct xs_tree *t, const struct xs_node *n, enum xs_change what)
{
	if (t->changed)
		t->changed(t->changed_arg, n, what);
}

int tree_init(struct xs_tree *t, uint64_t *generation)
{
	static const struct xs_perm dom0_only = { .domid = 0, .perms = XS_PERM_NONE };

	memset(t, 0, sizeof(*t));
	t->generation = generation;
	t->root = node_new("", 0);
	if (!t->root)
		return -ENOMEM;
	t->root->perms = malloc(sizeof(dom0_only));
	if (!t->root->perms) {
		tree_free(t);
		return -ENOMEM;
	}
	t->root->perms[0] = dom0_only;
	t->root->n_perms = 1;
	t->root->gen = ++*generation;
	return 0;
}

void tree_free(struct xs_tree *t)
{
	if (t->root)
		node_free(t->root);
	t->root = NULL;
}

static struct xs_node *node_clone(const struct xs_node *src, struct xs_node *parent)
{
	struct xs_node *n = node_new(src->name, strlen(src->name));

	if (!n)
		return NULL;
	n->parent = parent;
	n->gen = src->gen;
	free(n->value);
	n->value = malloc(src->len + 1);
	if (!n->value)
		goto fail;
	memcpy(n->value, src->value, src->len + 1);
	n->len = src->len;
	n->perms = malloc(src->n_perms * sizeof(*n->perms));
	if (!n->perms)
		goto fail;
	memcpy(n->perms, src->perms, src->n_perms * sizeof(*n->perms));
	n->n_perms = src->n_perms;
	if (src->n_children) {
		n->children = calloc(src->n_children, sizeof(*n->children));
		if (!n->children)
			goto fail;
		n->cap_children = src->n_children;
		for (size_t i = 0; i < src->n_children; i++) {
			n->children[i] = node_clone(src->children[i], n);
			if (!n->children[i])
				goto fail;
			n->n_children++;
		}
	}
	return n;
fail:
	node_free(n);
	return NULL;
}

int tree_clone(struct xs_tree *dst, const struct xs_tree *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->generation = src->generation;
	dst->root = node_clone(src->root, NULL);
	return dst->root ? 0 : -ENOMEM;
}

static struct xs_node *child_named(const struct xs_node *n, const char *name, size_t len)
{
	for (size_t i = 0; i < n->n_children; i++) {
		struct xs_node *c = n->children[i];
		if (!strncmp(c->name, name, len) && c->name[len] == '\0')
			return c;
	}
	return NULL;
}

/* Walks as far as path exists; *rest points at the first component not found ("" if all were). */
static struct xs_node *walk(const struct xs_tree *t, const char *path, const char **rest)
{
	struct xs_node *n = t->root;
	const char *p = path;

	if (*p == '/')
		p++;
	while (*p) {
		size_t len = strcspn(p, "/");
		struct xs_node *c = child_named(n, p, len);
		if (!c)
			break;
		n = c;
		p += len;
		if (*p == '/')
			p++;
	}
	*rest = p;
	return n;
}

struct xs_node *tree_lookup(const struct xs_tree *t, const char *path)
{
	const char *rest;
	struct xs_node *n = walk(t, path, &rest);

	return *rest ? NULL : n;
}

struct xs_node *tree_nearest(const struct xs_tree *t, const char *path)
{
	const char *rest;

	return walk(t, path, &rest);
}

static int add_child(struct xs_node *parent, struct xs_node *c)
{
	if (parent->n_children == parent->cap_children) {
		size_t cap = parent->cap_children ? parent->cap_children * 2 : 4;
		struct xs_node **grown = realloc(parent->children, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		parent->children = grown;
		parent->cap_children = cap;
	}
	parent->children[parent->n_children++] = c;
	c->parent = parent;
	return 0;
}

struct xs_node *tree_create(struct xs_tree *t, const char *path, const uint32_t *owner,
			    void (*created)(void *arg, struct xs_node *n), void *arg)
{
	const char *p;
	struct xs_node *n = walk(t, path, &p);

	while (*p) {
		size_t len = strcspn(p, "/");
		struct xs_node *c = node_new(p, len);
		if (!c)
			goto nomem;
		c->perms = malloc(n->n_perms * sizeof(*c->perms));
		if (!c->perms || add_child(n, c)) {
			free(c->perms);
			c->perms = NULL;
			node_free(c);
			goto nomem;
		}
		memcpy(c->perms, n->perms, n->n_perms * sizeof(*c->perms));
		c->n_perms = n->n_perms;
		if (owner)
			c->perms[0].domid = *owner;
		c->gen = ++*t->generation;
		n->gen = ++*t->generation;    /* the parent's children changed */
		note(t, n, XS_CHANGE_GEN);
		note(t, c, XS_CHANGE_NODE);
		owner_delta(t, c, +1);
		if (created)
			created(arg, c);
		n = c;
		p += len;
		if (*p == '/')
			p++;
	}
	return n;
nomem:
	errno = ENOMEM;
	return NULL;
}

int tree_set_value(struct xs_tree *t, struct xs_node *n, const void *value, size_t len)
{
	char *copy = malloc(len + 1);

	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, value, len);
	copy[len] = '\0';
	free(n->value);
	n->value = copy;
	n->len = len;
	n->gen = ++*t->generation;
	note(t, n, XS_CHANGE_NODE);
	return 0;
}

int tree_set_perms(struct xs_tree *t, struct xs_node *n, const struct xs_perm *perms,
		   unsigned int n_perms)
{
	struct xs_perm *copy = malloc(n_perms * sizeof(*copy));

	if (!copy)
		return -ENOMEM;
	memcpy(copy, perms, n_perms * sizeof(*copy));
	owner_delta(t, n, -1);
	free(n->perms);
	n->perms = copy;
	n->n_perms = n_perms;
	owner_delta(t, n, +1);
	n->gen = ++*t->generation;
	note(t, n, XS_CHANGE_NODE);
	return 0;
}

static void remove_sub(struct xs_tree *t, struct xs_node *n,
		       void (*removing)(void *arg, struct xs_node *n), void *arg)
{
	for (size_t i = 0; i < n->n_children; i++)
		remove_sub(t, n->children[i], removing, arg);
	if (removing)
		removing(arg, n);
	owner_delta(t, n, -1);
}

void tree_remove(struct xs_tree *t, struct xs_node *n,
		 void (*removing)(void *arg, struct xs_node *n), void *arg)
{
	struct xs_node *parent = n->parent;

	if (!parent)
		return;
	note(t, n, XS_CHANGE_REMOVE);
	remove_sub(t, n, removing, arg);
	for (size_t i = 0; i < parent->n_children; i++) {
		if (parent->children[i] == n) {
			memmove(&parent->children[i], &parent->children[i + 1],
				(parent->n_children - i - 1) * sizeof(*parent->children));
			parent->n_children--;
			break;
		}
	}
	parent->gen = ++*t->generation;
	note(t, parent, XS_CHANGE_GEN);
	node_free(n);
}

int tree_path(const struct xs_node *n, char *buf, size_t len)
{
	size_t need = 0;

	if (!n->parent) {
		if (len < 2)
			return -1;
		strcpy(buf, "/");
		return 1;
	}
	for (const struct xs_node *i = n; i->parent; i = i->parent)
		need += 1 + strlen(i->name);
	if (need + 1 > len)
		return -1;
	buf[need] = '\0';
	size_t at = need;
	for (const struct xs_node *i = n; i->parent; i = i->parent) {
		size_t l = strlen(i->name);
		at -= l;
		memcpy(buf + at, i->name, l);
		buf[--at] = '/';
	}
	return (int)need;
}

int tree_walk(struct xs_node *n, int (*fn)(void *arg, struct xs_node *n), void *arg)
{
	int r = fn(arg, n);

	for (size_t i = 0; !r && i < n->n_children; i++)
		r = tree_walk(n->children[i], fn, arg);
	return r;
}

size_t tree_count(const struct xs_node *n)
{
	size_t count = 1;

	for (size_t i = 0; i < n->n_children; i++)
		count += tree_count(n->children[i]);
	return count;
}
