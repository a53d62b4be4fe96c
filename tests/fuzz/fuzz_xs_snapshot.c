/* libFuzzer target: bytes as a xenstored snapshot (src/xenstore/persist.c) loaded at start.
 *
 * Input: one mode byte, then the rest.
 *   bit 0 = 1   the rest is the whole file, header included (mostly refused by magic/checksum)
 *   bit 0 = 0   the rest is a payload: a valid header (magic, length, FNV-1a) is put before it,
 *               so the records themselves are what gets tested
 * A refusal must say why.  A snapshot that loads must encode again to bytes that load to the
 * same encoding; then the first domain awaiting its VMM is re-introduced on a 16-page memfd and
 * served (its kept ring state applied to a real mapping), and the rest expire as if their VMMs
 * never came back. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xenstore/codec.h"
#include "xenstore/conn.h"
#include "xenstore/domain.h"
#include "xenstore/loop.h"
#include "xenstore/persist.h"
#include "xenstore/resume.h"
#include "xenstore/ring.h"
#include "xenstore/xenstored.h"
#include "xs_fuzz.h"

static void resume_first(struct xenstored *xsd)
{
	struct xs_domain *d;

	for (d = xsd->domains; d && !d->awaiting; d = d->next)
		;
	if (!d)
		return;
	int memfd = memfd_create("fuzz-guest", MFD_CLOEXEC);
	if (memfd < 0)
		return;
	if (ftruncate(memfd, 16 * 4096)) {
		close(memfd);
		return;
	}
	int kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), notify = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	/* A page the "guest" left with requests in it: the indices are the snapshot's, so the kept
	 * partial request and output meet whatever the page holds. */
	if (domain_introduce(xsd, d->domid, d->mfn % 16, d->port, memfd, kick, notify) == 0 &&
	    d->ring) {
		ring_service(xsd, d->ring);
		loop_commit(xsd);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xenstored *xsd = malloc(sizeof(*xsd)), *again = malloc(sizeof(*again));
	uint8_t *file = NULL;
	size_t len;
	char why[256];

	if (!size) {
		free(xsd);
		free(again);
		return 0;
	}
	if (!xsd || !again || xsd_init(xsd) || xsd_init(again))
		abort();
	if (data[0] & 1) {
		len = size - 1;
		file = malloc(len + 1);
		memcpy(file, data + 1, len);
	} else {
		uint64_t payload = size - 1, sum = xs_fnv1a(data + 1, size - 1);
		len = 24 + payload;
		file = malloc(len);
		memcpy(file, "XNTHXS01", 8);
		memcpy(file + 8, &payload, 8);
		memcpy(file + 16, &sum, 8);
		memcpy(file + 24, data + 1, payload);
	}
	why[0] = '\0';
	if (persist_decode(xsd, file, len, why, sizeof(why))) {
		if (!why[0])
			abort();           /* a refusal without a reason */
	} else {
		long n = xs_fuzz_reencode(xsd, again, "our own encoding refused");
		long m = persist_encode(again);
		if (m != n || memcmp(again->persist.buf, xsd->persist.buf, (size_t)n)) {
			fprintf(stderr, "not the same store after a second round trip\n");
			abort();
		}
		resume_first(xsd);
		resume_expire(xsd);
	}
	xs_fuzz_free(xsd, again);
	free(file);
	return 0;
}
