/* Permissions (perms.h has the model). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "xenstore/conn.h"
#include "xenstore/perms.h"

int perm_parse(const char *s, struct xs_perm *out)
{
	char *end;
	unsigned long id;

	switch (s[0]) {
	case 'n': out->perms = XS_PERM_NONE; break;
	case 'r': out->perms = XS_PERM_READ; break;
	case 'w': out->perms = XS_PERM_WRITE; break;
	case 'b': out->perms = XS_PERM_READ | XS_PERM_WRITE; break;
	default: return EINVAL;
	}
	if (s[1] < '0' || s[1] > '9')
		return EINVAL;
	errno = 0;
	id = strtoul(s + 1, &end, 10);
	if (errno || *end || id > 65535)
		return EINVAL;
	out->domid = (uint32_t)id;
	return 0;
}

void perm_format(const struct xs_perm *p, char *buf, size_t len)
{
	static const char letter[] = { 'n', 'r', 'w', 'b' };

	snprintf(buf, len, "%c%u", letter[p->perms & 3], p->domid);
}

unsigned int perm_for_conn(const struct xs_conn *c, const struct xs_perm *perms, unsigned int n)
{
	const unsigned int all = XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER;

	if (c->privileged || !n || perms[0].domid == c->domid)
		return all;
	for (unsigned int i = 1; i < n; i++)
		if (perms[i].domid == c->domid)
			return perms[i].perms & (XS_PERM_READ | XS_PERM_WRITE);
	return perms[0].perms & (XS_PERM_READ | XS_PERM_WRITE);
}

int perm_check(const struct xs_tree *t, const struct xs_conn *c, const char *path,
	       const struct xs_node *node, unsigned int want)
{
	if (node)
		return (perm_for_conn(c, node->perms, node->n_perms) & want) == want ? 0 : EACCES;
	/* Absent: the nearest existing ancestor decides what the caller may learn. */
	const struct xs_node *a = tree_nearest(t, path);
	return (perm_for_conn(c, a->perms, a->n_perms) & want) ? ENOENT : EACCES;
}
