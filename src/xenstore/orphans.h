/* A dead domain's nodes: what its toolstack would have removed, removed by xenstored when the
 * toolstack (the domain's VMM) died with it (orphans.c has the table). */
#ifndef XENITH_XENSTORE_ORPHANS_H
#define XENITH_XENSTORE_ORPHANS_H

#include "xenstore/xenstored.h"

/* Removes domid's nodes as by RM from Dom0: watches fire, open transactions that read them
 * conflict.  Missing ones are skipped. */
void orphans_remove(struct xenstored *xsd, unsigned int domid);

/* The table, for docs and tests: a path pattern (%u: the domid) and what lives there. */
struct orphan_rule {
	const char *pattern;
	void (*remove)(struct xenstored *xsd, const char *path, unsigned int domid);
	const char *what;
};
extern const struct orphan_rule orphan_rules[];
extern const size_t orphan_rules_len;

#endif
