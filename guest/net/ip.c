/* IPv4 (RFC 791): packets to our address (or broadcast) with a good header checksum; options are
 * skipped, fragments dropped (no reassembly).  Output: a 20-byte header, DF set, TTL 64, to a peer
 * resolved by ARP; every destination is treated as on-link (the backend's ip node gives no gateway). */
#include "klib.h"
#include "net/net.h"
#include "xerrno.h"

static uint16_t ident;

void ip_input(struct net_if *nif, const uint8_t *h, size_t len)
{
    if (len < IP_HLEN || h[0] >> 4 != 4) {
        nif->st.dropped++;
        return;
    }
    size_t ihl = (size_t)(h[0] & 15) * 4, total = get16(h + 2);
    if (ihl < IP_HLEN || total < ihl || total > len || csum_fold(csum_add(0, h, ihl))) {
        nif->st.dropped++;
        return;
    }
    uint16_t frag = get16(h + 6);
    if (frag & 0x3fff) {            /* MF set or a fragment offset: no reassembly here */
        nif->st.dropped++;
        return;
    }
    uint32_t src = get32(h + 12), dst = get32(h + 16);
    uint32_t bcast = nif->ip | ~nif->netmask;
    if (!nif->ip || (dst != nif->ip && dst != 0xffffffffu && dst != bcast)) {
        nif->st.dropped++;
        return;
    }
    const uint8_t *payload = h + ihl;
    size_t plen = total - ihl;      /* Ethernet padding beyond total is ignored */
    switch (h[9]) {
    case IP_PROTO_ICMP:
        if (dst != nif->ip) {     /* no replies to broadcast pings */
            nif->st.dropped++;
            return;
        }
        icmp_input(nif, src, payload, plen);
        break;
    case IP_PROTO_UDP:
        udp_input(nif, src, dst, payload, plen);
        break;
    default:
        nif->st.dropped++;
    }
}

int ip_output(struct net_if *nif, struct pbuf *p, uint32_t dst, uint8_t proto)
{
    if (!nif && !(nif = net_route(dst)))
        return -ENODEV;
    if (!nif->ip)
        return -ENODEV;
    if (p->len > 1500 - IP_HLEN)
        return -E2BIG;
    uint8_t *h = pbuf_push(p, IP_HLEN);
    if (!h)
        return -EINVAL;
    h[0] = 0x45;
    h[1] = 0;
    put16(h + 2, p->len);
    put16(h + 4, ident++);
    put16(h + 6, 0x4000);           /* DF */
    h[8] = 64;
    h[9] = proto;
    put16(h + 10, 0);
    put32(h + 12, nif->ip);
    put32(h + 16, dst);
    put16(h + 10, csum_fold(csum_add(0, h, IP_HLEN)));

    uint8_t mac[ETH_ALEN];
    uint32_t bcast = nif->ip | ~nif->netmask;
    if (dst == 0xffffffffu || dst == bcast)
        memcpy(mac, eth_broadcast, ETH_ALEN);
    else if (!arp_resolve(nif, dst, mac, p))
        return -EAGAIN;
    return eth_output(nif, p, mac, ETH_P_IP);
}
