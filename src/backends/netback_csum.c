/* netback's checksum completion for frames netfront sends with NETTXF_csum_blank.
 *
 * Linux leaves such a packet CHECKSUM_PARTIAL: the TCP or UDP checksum field already holds the
 * folded pseudo-header sum (addresses, protocol, L4 length), and whoever transmits it is to sum
 * from the L4 header to the end of the IP payload, with that partial sum in place, and store the
 * complement.  A plain TAP has nobody downstream to do that, so netback_ring.c calls us, as Xen's
 * netback has the kernel do it.  We never read the addresses: the partial sum already covers them,
 * so an IPv6 routing header (whose final destination the sender used) needs no special case.
 *
 * Finding the L4 header is the only parsing: Ethernet II (no VLAN tag: netfront sends none), then
 * IPv4 with options or IPv6 with the extension headers that may precede TCP/UDP (a table of how
 * each codes its length), then the TCP or UDP header (a table of where each keeps its checksum).
 * Fragments are refused: a blank checksum on a piece of a datagram cannot be completed.
 *
 * Every byte is the guest's.  Each length and offset is checked against what the frame holds
 * before it is used; a refusal says why and leaves the frame untouched; a success writes the two
 * checksum bytes and nothing else (tests/fuzz/fuzz_netback_csum.c holds us to all three). */
#include "backends/netback.h"
#include "lib/error.h"

#define ETH_HLEN 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define IPV4_MIN_HLEN 20
#define IPV6_HLEN 40

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint16_t netback_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t acc = sum;

	for (; len >= 2; p += 2, len -= 2)
		acc += be16(p);
	if (len)
		acc += (uint32_t)p[0] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* Where the TCP or UDP header starts in the IP packet, how long the L4 part is, which protocol. */
struct l4_place {
	size_t off, len;
	uint8_t proto;
};

#define WHY(...) (ERR_SET(why, whylen, __VA_ARGS__), -1)

static int ipv4_l4(const uint8_t *ip, size_t avail, struct l4_place *l4, char *why, size_t whylen)
{
	if (avail < IPV4_MIN_HLEN)
		return WHY("IPv4 header cut short (%zu bytes)", avail);
	size_t ihl = (size_t)(ip[0] & 0xf) * 4, total = be16(ip + 2);
	if (ip[0] >> 4 != 4)
		return WHY("IPv4 ethertype with IP version %u", ip[0] >> 4);
	if (ihl < IPV4_MIN_HLEN)
		return WHY("IPv4 header length %zu under 20", ihl);
	if (total < ihl || total > avail)
		return WHY("IPv4 total length %zu outside header %zu .. frame %zu", total, ihl, avail);
	if (be16(ip + 6) & 0x3fff)         /* MF or a fragment offset */
		return WHY("IPv4 fragment with a blank checksum");
	*l4 = (struct l4_place){ .off = ihl, .len = total - ihl, .proto = ip[9] };
	return 0;
}

/* IPv6 extension headers that may stand before TCP/UDP, and how their length is coded. */
static const struct ipv6_ext {
	uint8_t type;
	uint8_t unit, bias;                /* length = (byte 1 + bias) * unit; unit 0: fixed 8 */
} ipv6_exts[] = {
	{ 0, 8, 1 },                       /* hop-by-hop options */
	{ 43, 8, 1 },                      /* routing */
	{ 44, 0, 0 },                      /* fragment */
	{ 51, 4, 2 },                      /* authentication */
	{ 60, 8, 1 },                      /* destination options */
};

static int ipv6_l4(const uint8_t *ip, size_t avail, struct l4_place *l4, char *why, size_t whylen)
{
	if (avail < IPV6_HLEN)
		return WHY("IPv6 header cut short (%zu bytes)", avail);
	if (ip[0] >> 4 != 6)
		return WHY("IPv6 ethertype with IP version %u", ip[0] >> 4);
	size_t end = IPV6_HLEN + be16(ip + 4), off = IPV6_HLEN;
	uint8_t next = ip[6];
	if (end == IPV6_HLEN || end > avail)
		return WHY("IPv6 payload length %zu (frame has %zu after the header)", end - IPV6_HLEN,
			   avail - IPV6_HLEN);
	for (;;) {
		const struct ipv6_ext *x = NULL;
		for (size_t i = 0; i < sizeof(ipv6_exts) / sizeof(ipv6_exts[0]); i++)
			if (ipv6_exts[i].type == next)
				x = &ipv6_exts[i];
		if (!x)
			break;
		if (end - off < 8)
			return WHY("IPv6 extension header %u at %zu cut short", next, off);
		size_t hlen = x->unit ? ((size_t)ip[off + 1] + x->bias) * x->unit : 8;
		if (hlen > end - off)
			return WHY("IPv6 extension header %u at %zu: length %zu past the payload", next, off, hlen);
		if (!x->unit && (be16(ip + off + 2) & 0xfff9))    /* offset or M set */
			return WHY("IPv6 fragment with a blank checksum");
		next = ip[off];
		off += hlen;                   /* each header is at least 8 bytes: the walk ends */
	}
	*l4 = (struct l4_place){ .off = off, .len = end - off, .proto = next };
	return 0;
}

/* The L4 protocols whose checksum we complete: where the field is, what the header must hold. */
static const struct l4_proto {
	uint8_t proto;
	const char *name;
	size_t min_hlen, csum_at;
} l4_protos[] = {
	{ 6, "TCP", 20, 16 },
	{ 17, "UDP", 8, 6 },
};

static int l4_check(const struct l4_proto *p, const uint8_t *h, size_t len, char *why, size_t whylen)
{
	if (len < p->min_hlen)
		return WHY("%s header cut short (%zu bytes)", p->name, len);
	if (p->proto == 6) {
		size_t doff = (size_t)(h[12] >> 4) * 4;
		if (doff < 20 || doff > len)
			return WHY("TCP data offset %zu outside 20 .. %zu", doff, len);
	} else if (be16(h + 4) != len) {
		return WHY("UDP length %u, IP says %zu", be16(h + 4), len);
	}
	return 0;
}

int netback_l4_find(const uint8_t *frame, size_t len, struct netback_l4 *out, char *why, size_t whylen)
{
	struct l4_place l4;
	int r;

	if (len < ETH_HLEN)
		return WHY("frame of %zu bytes", len);
	uint16_t type = be16(frame + 12);
	const uint8_t *ip = frame + ETH_HLEN;
	if (type == ETHERTYPE_IPV4)
		r = ipv4_l4(ip, len - ETH_HLEN, &l4, why, whylen);
	else if (type == ETHERTYPE_IPV6)
		r = ipv6_l4(ip, len - ETH_HLEN, &l4, why, whylen);
	else
		return WHY("checksum offload on ethertype %#06x (only IPv4 and IPv6)", type);
	if (r)
		return r;
	const struct l4_proto *p = NULL;
	for (size_t i = 0; i < sizeof(l4_protos) / sizeof(l4_protos[0]); i++)
		if (l4_protos[i].proto == l4.proto)
			p = &l4_protos[i];
	if (!p)
		return WHY("checksum offload on IP protocol %u (only TCP and UDP)", l4.proto);
	const uint8_t *h = ip + l4.off;
	if (l4_check(p, h, l4.len, why, whylen))
		return -1;
	*out = (struct netback_l4){
		.off = ETH_HLEN + l4.off, .len = l4.len,
		.hdr_len = p->proto == 6 ? (size_t)(h[12] >> 4) * 4 : p->min_hlen,
		.csum_at = p->csum_at, .proto = p->proto, .ip = type == ETHERTYPE_IPV4 ? 4 : 6,
	};
	return 0;
}

/* Sums [start, start + n) with the partial sum in place and stores the complement.  0 would mean
 * "no checksum" to UDP, and is the same as 0xffff to TCP. */
static void csum_store(uint8_t *frame, size_t start, size_t n, size_t field)
{
	uint16_t c = (uint16_t)~netback_csum_add(0, frame + start, n);
	if (!c)
		c = 0xffff;
	frame[field] = (uint8_t)(c >> 8);
	frame[field + 1] = (uint8_t)c;
}

int netback_csum_fill(uint8_t *frame, size_t len, char *why, size_t whylen)
{
	struct netback_l4 l4;

	if (netback_l4_find(frame, len, &l4, why, whylen))
		return -1;
	/* The field holds the pseudo-header sum: summing over it completes the checksum. */
	csum_store(frame, l4.off, l4.len, l4.off + l4.csum_at);
	return 0;
}

int netback_csum_at(uint8_t *frame, size_t len, size_t start, size_t offset, char *why, size_t whylen)
{
	if (start >= len || offset > len - start || len - start - offset < 2)
		return WHY("partial checksum at %zu + %zu outside the frame of %zu bytes", start, offset, len);
	if (offset & 1)                    /* the field would straddle the sum's 16-bit words */
		return WHY("partial checksum at an odd offset %zu", offset);
	csum_store(frame, start, len - start, start + offset);
	return 0;
}
