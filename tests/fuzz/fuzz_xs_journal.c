/* libFuzzer target: bytes as xenstored's journal (src/xenstore/journal.c) applied after a snapshot
 * at start.
 *
 * The snapshot is a small store of our own (a few nodes, domain 5 awaiting its VMM), encoded and
 * loaded again; the journal's header is made to follow it.  Input: one mode byte, then the rest.
 *   bit 0 = 1   the rest is the journal's records, raw (lengths and checksums as they come)
 *   bit 0 = 0   the rest is one record's body: a valid length and checksum are put before it,
 *               so the operations themselves are what gets tested
 * Whatever was not applied must say why.  A store a journal left (wholly or up to a damaged
 * record) must encode to a snapshot that loads; then the domains awaiting their VMMs expire. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenstore/codec.h"
#include "xenstore/conn.h"
#include "xenstore/domain.h"
#include "xenstore/journal.h"
#include "xenstore/persist.h"
#include "xenstore/resume.h"
#include "xenstore/xenstored.h"
#include "xs_fuzz.h"

/* The snapshot every input follows: its bytes in *out. */
static size_t base_snapshot(uint8_t **out)
{
	struct xenstored *xsd = malloc(sizeof(*xsd));
	static const char *const paths[] = { "/local/domain/5/name", "/local/domain/5/data/x",
					     "/vm/5/uuid", "/bin" };

	if (!xsd || xsd_init(xsd))
		abort();
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct xs_node *n = tree_create(&xsd->tree, paths[i], NULL, NULL, NULL);
		if (!n || tree_set_value(&xsd->tree, n, "v", 1))
			abort();
	}
	struct xs_domain *d = domain_get(xsd, 5, true);
	d->awaiting = calloc(1, sizeof(*d->awaiting));
	if (!d->awaiting)
		abort();
	d->mfn = 3;
	d->port = 1;
	long n = persist_encode(xsd);
	if (n <= 0)
		abort();
	*out = malloc((size_t)n);
	memcpy(*out, xsd->persist.buf, (size_t)n);
	xsd_destroy(xsd);
	free(xsd);
	return (size_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xenstored *xsd = malloc(sizeof(*xsd)), *again = malloc(sizeof(*again));
	struct xs_enc j = { 0 };
	struct journal_load res;
	uint8_t *snap;
	char why[256];

	if (!size || !xsd || !again) {
		free(xsd);
		free(again);
		return 0;
	}
	size_t snap_len = base_snapshot(&snap);
	if (xsd_init(xsd) || xsd_init(again) || persist_decode(xsd, snap, snap_len, why, sizeof(why)))
		abort();
	enc_put(&j, "XNTHXJ01", 8);
	enc_put(&j, snap + 8, XS_JOURNAL_TIE);
	if (data[0] & 1) {
		enc_put(&j, data + 1, size - 1);
	} else {
		uint32_t body = (uint32_t)(size - 1);
		enc_u32(&j, body);
		enc_u64(&j, xs_fnv1a(data + 1, body));
		enc_put(&j, data + 1, body);
	}
	if (j.oom)
		abort();
	enum journal_outcome o = journal_replay(xsd, j.buf, j.len, snap + 8, ~0ul, &res);
	if (o != JOURNAL_APPLIED && !res.why[0])
		abort();               /* not applied, and no reason given */
	if (o != JOURNAL_CORRUPT_APPLIED) {
		xs_fuzz_reencode(xsd, again, "the store the journal left does not load again");
		resume_expire(xsd);
	}
	xs_fuzz_free(xsd, again);
	free(snap);
	free(j.buf);
	return 0;
}
