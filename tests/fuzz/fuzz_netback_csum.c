/* libFuzzer target for netback's checksum completion (netback_csum_fill in src/backends/netback_csum.c):
 * the Ethernet/IPv4/IPv6/TCP/UDP headers of a frame netfront sent with NETTXF_csum_blank, every byte
 * the guest's.  The frame sits in a malloc of exactly its size, so ASan sees any read past it.
 *
 * The target has its own parse (ref_locate, written from RFC 791/8200/793/768, sharing nothing with
 * netback) that finds the TCP or UDP checksum field and the pseudo-header.  Where it finds one, it
 * first writes the pseudo-header sum into the field, as Linux leaves a CHECKSUM_PARTIAL packet, so
 * every frame netback accepts can be checked end to end.  It aborts when
 *   - a refusal changed the frame, or gave no reason;
 *   - a success changed anything but the two checksum bytes this parse finds (or succeeded on a
 *     frame where it finds none, or on a fragment);
 *   - the completed checksum does not verify: the RFC 1071 sum over pseudo-header and segment,
 *     computed here, is not all ones; or a UDP checksum came out 0 ("none");
 *   - netback_csum_add disagrees with the sum computed here (any bytes, any starting sum);
 *   - netback_l4_find accepts a frame this parse does not locate, or places the L4 header, its end
 *     or the checksum field elsewhere, or a TCP header length past the segment;
 *   - netback_csum_at (the rx side's completion at virtio's csum_start/csum_offset, both from the
 *     input) accepts a field outside the frame or refuses one inside, changes a refused frame or
 *     bytes outside the field, or leaves a checksum that does not verify.
 * Build and run: tests/fuzz/run [SECONDS]. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backends/netback.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "netback_csum: %s\n", what);
	abort();
}

static unsigned int rd16(const uint8_t *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

static uint64_t ref_sum(const uint8_t *p, size_t len)
{
	uint64_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += rd16(p + i);
	if (len & 1)
		s += (uint64_t)p[len - 1] << 8;
	return s;
}

static unsigned int ref_fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (unsigned int)s;
}

/* What the pseudo-header needs, and where the segment and its checksum field are in the frame. */
struct ref_place {
	size_t l4, end, field;             /* segment [l4, end), field at frame + field */
	const uint8_t *src, *dst;
	size_t alen;                       /* address length: 4 or 16 */
	unsigned int proto;
	int fragment;                      /* part of a datagram: its checksum covers other frames */
};

/* IPv6 headers that may come before TCP/UDP: how each codes its length (RFC 8200 4.3-4.6, 4302). */
static const struct ref_ext { unsigned int type, unit, add; } ref_exts[] = {
	{ 0, 8, 1 }, { 43, 8, 1 }, { 60, 8, 1 },   /* (byte 1 + 1) * 8 */
	{ 44, 0, 8 },                              /* fragment: always 8 */
	{ 51, 4, 2 },                              /* AH: (byte 1 + 2) * 4 */
};

/* Routing types whose address list names the final destination, the pseudo-header's (RFC 8200
 * 8.1) while segments are left: type 0 and 2 last in the list, the segment routing header first. */
static const struct ref_route { unsigned int type; int final_is_last; } ref_routes[] = {
	{ 0, 1 }, { 2, 1 }, { 4, 0 },
};

static void ref_route_dst(const uint8_t *h, size_t hlen, struct ref_place *p)
{
	size_t n = (hlen - 8) / 16;

	if (!h[3] || !n)
		return;
	for (size_t i = 0; i < sizeof(ref_routes) / sizeof(ref_routes[0]); i++)
		if (ref_routes[i].type == h[2])
			p->dst = h + 8 + (ref_routes[i].final_is_last ? n - 1 : 0) * 16;
}

static int ref_ipv6(const uint8_t *f, size_t size, struct ref_place *p)
{
	if (size < 14 + 40)
		return 0;
	size_t end = 14 + 40 + rd16(f + 18), at = 14 + 40;
	unsigned int next = f[20];
	p->src = f + 22;
	p->dst = f + 38;
	p->alen = 16;
	if (end > size)
		return 0;
	for (;;) {
		const struct ref_ext *x = NULL;
		for (size_t i = 0; i < sizeof(ref_exts) / sizeof(ref_exts[0]); i++)
			if (ref_exts[i].type == next)
				x = &ref_exts[i];
		if (!x)
			break;
		if (at + 2 > end)
			return 0;
		size_t hlen = x->unit ? (f[at + 1] + x->add) * x->unit : x->add;
		if (at + hlen > end)
			return 0;
		if (next == 43 && hlen >= 8)
			ref_route_dst(f + at, hlen, p);
		if (next == 44 && (rd16(f + at + 2) >> 3 || (f[at + 3] & 1)))
			p->fragment = 1;
		next = f[at];
		at += hlen;
	}
	p->l4 = at;
	p->end = end;
	p->proto = next;
	return 1;
}

static int ref_ipv4(const uint8_t *f, size_t size, struct ref_place *p)
{
	if (size < 14 + 20)
		return 0;
	size_t ihl = (f[14] & 0xf) * 4u, total = rd16(f + 16);
	if (total < ihl || 14 + total > size)
		return 0;
	p->src = f + 26;
	p->dst = f + 30;
	p->alen = 4;
	p->l4 = 14 + ihl;
	p->end = 14 + total;
	p->proto = f[23];
	p->fragment = (rd16(f + 20) & 0x1fff) || (f[20] & 0x20);
	return 1;
}

static int ref_locate(const uint8_t *f, size_t size, struct ref_place *p)
{
	*p = (struct ref_place){ 0 };
	if (size < 14)
		return 0;
	int found = rd16(f + 12) == 0x0800 ? ref_ipv4(f, size, p) : rd16(f + 12) == 0x86dd ? ref_ipv6(f, size, p) : 0;
	if (!found || (p->proto != 6 && p->proto != 17))
		return 0;
	p->field = p->l4 + (p->proto == 6 ? 16 : 6);
	return p->field + 2 <= p->end;
}

/* The folded sum of the pseudo-header: addresses, protocol, segment length. */
static unsigned int ref_pseudo(const struct ref_place *p)
{
	size_t len = p->end - p->l4;

	return ref_fold(ref_sum(p->src, p->alen) + ref_sum(p->dst, p->alen) + p->proto + (len >> 16) +
			(len & 0xffff));
}

static void check_csum_add(const uint8_t *data, size_t size)
{
	uint32_t start = 0;

	if (size >= 4)
		memcpy(&start, data, 4);
	if (netback_csum_add(start, data, size) != ref_fold(start + ref_sum(data, size)))
		fail("netback_csum_add disagrees with an RFC 1071 sum");
}

static void check_accepted(const uint8_t *before, const uint8_t *after, size_t size, const struct ref_place *p,
			   int located)
{
	size_t first = size, last = 0;

	for (size_t i = 0; i < size; i++) {
		if (after[i] != before[i]) {
			if (first == size)
				first = i;
			last = i;
		}
	}
	if (!located)
		fail("accepted a frame in which an independent parse finds no TCP or UDP checksum");
	if (p->fragment)
		fail("accepted a fragment: the checksum covers bytes in other frames");
	if (first != size && (first < p->field || last > p->field + 1))
		fail("a byte outside the TCP/UDP checksum field changed");
	if (ref_fold(ref_pseudo(p) + ref_sum(after + p->l4, p->end - p->l4)) != 0xffff)
		fail("the completed checksum does not verify against the pseudo-header");
	if (p->proto == 17 && !rd16(after + p->field))
		fail("a UDP checksum of 0 (meaning none)");
}

static void check_l4_find(const uint8_t *f, size_t size, const struct ref_place *p, int located)
{
	struct netback_l4 l4;
	char why[256] = "";

	if (netback_l4_find(f, size, &l4, why, sizeof(why)) < 0) {
		if (!why[0] || !memchr(why, 0, sizeof(why)))
			fail("netback_l4_find refused without a reason");
		return;
	}
	if (!located || p->fragment)
		fail("netback_l4_find placed L4 where an independent parse finds none");
	if (l4.off != p->l4 || l4.off + l4.len != p->end || l4.off + l4.csum_at != p->field || l4.proto != p->proto)
		fail("netback_l4_find disagrees with an independent parse");
	if (l4.hdr_len > l4.len || l4.hdr_len < 8)
		fail("netback_l4_find's header length is outside the segment");
}

static void check_csum_at(const uint8_t *data, size_t size)
{
	char why[256] = "";

	if (size < 4)
		return;
	size_t start = rd16(data) % (size + 8), offset = rd16(data + 2) % (size + 8);
	uint8_t *f = malloc(size);
	if (!f)
		abort();
	memcpy(f, data, size);
	bool fits = start < size && !(offset & 1) && start + offset + 2 <= size;
	int r = netback_csum_at(f, size, start, offset, why, sizeof(why));
	if ((r == 0) != fits)
		fail(fits ? "netback_csum_at refused a field inside the frame" : "netback_csum_at accepted a field outside");
	if (r < 0) {
		if (memcmp(f, data, size) || !why[0])
			fail("netback_csum_at changed a refused frame or gave no reason");
	} else {
		size_t field = start + offset;
		for (size_t i = 0; i < size; i++)
			if (f[i] != data[i] && i != field && i != field + 1)
				fail("netback_csum_at changed a byte outside the field");
		if (ref_fold(rd16(data + field) + ref_sum(f + start, size - start)) != 0xffff)
			fail("netback_csum_at's checksum does not verify");
	}
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *frame = malloc(size ? size : 1), *before = malloc(size ? size : 1);
	struct ref_place p;
	char why[256] = "";

	if (!frame || !before)
		abort();
	check_csum_add(data, size);
	memcpy(before, data, size);
	int located = ref_locate(before, size, &p);
	if (located) {
		unsigned int partial = ref_pseudo(&p);
		before[p.field] = (uint8_t)(partial >> 8);
		before[p.field + 1] = (uint8_t)partial;
	}
	check_csum_at(data, size);
	check_l4_find(before, size, &p, located);
	memcpy(frame, before, size);
	if (netback_csum_fill(frame, size, why, sizeof(why)) < 0) {
		if (memcmp(frame, before, size))
			fail("a refused frame was changed");
		if (!why[0] || !memchr(why, 0, sizeof(why)))
			fail("a refusal without a reason");
	} else {
		check_accepted(before, frame, size, &p, located);
	}
	free(frame);
	free(before);
	return 0;
}
