/* What the xenstored persistence fuzz targets (fuzz_xs_snapshot, fuzz_xs_journal) share: a store
 * that loaded must encode to a snapshot that loads again, and both stores are torn down. */
#ifndef XENITH_FUZZ_XS_FUZZ_H
#define XENITH_FUZZ_XS_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#include "xenstore/conn.h"
#include "xenstore/persist.h"
#include "xenstore/xenstored.h"

/* Encodes xsd and loads the encoding into again (a fresh store); aborts, saying `what` failed,
 * when it does not load.  Returns the encoding's length (in xsd->persist.buf). */
static inline long xs_fuzz_reencode(struct xenstored *xsd, struct xenstored *again, const char *what)
{
	char why[256];
	long n = persist_encode(xsd);

	if (n <= 0)
		abort();
	if (persist_decode(again, xsd->persist.buf, (size_t)n, why, sizeof(why))) {
		fprintf(stderr, "%s: %s\n", what, why);
		abort();
	}
	return n;
}

static inline void xs_fuzz_free(struct xenstored *xsd, struct xenstored *again)
{
	conn_reap(xsd);
	xsd_destroy(xsd);
	xsd_destroy(again);
	free(xsd);
	free(again);
}

#endif
