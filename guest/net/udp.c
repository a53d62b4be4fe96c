/* UDP (RFC 768): datagrams to a bound port go to its handler; a non-zero checksum is checked against
 * the pseudo-header unless the device vouched for it (rx_csum_trusted); ours are computed (0 sent as
 * 0xffff), or left partial for a device with tx_csum_offload. */
#include "klib.h"
#include "net/net.h"
#include "xerrno.h"

#define UDP_PORTS 8

static struct { uint16_t port; udp_handler_t fn; } bound[UDP_PORTS];

int udp_bind(uint16_t port, udp_handler_t fn)
{
    for (int i = 0; i < UDP_PORTS; i++)
        if (!bound[i].fn || bound[i].port == port) {
            bound[i].port = port;
            bound[i].fn = fn;
            return 0;
        }
    return -ENOSPC;
}

static uint32_t pseudo_sum(uint32_t src, uint32_t dst, size_t len)
{
    uint8_t ph[12];
    put32(ph, src);
    put32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = IP_PROTO_UDP;
    put16(ph + 10, (uint16_t)len);
    return csum_add(0, ph, sizeof(ph));
}

void udp_input(struct net_if *nif, uint32_t src, uint32_t dst, const uint8_t *u, size_t len)
{
    if (len < UDP_HLEN) {
        nif->st.dropped++;
        return;
    }
    size_t ulen = get16(u + 4);
    if (ulen < UDP_HLEN || ulen > len) {
        nif->st.dropped++;
        return;
    }
    if (get16(u + 6) && !nif->rx_csum_trusted && csum_fold(csum_add(pseudo_sum(src, dst, ulen), u, ulen))) {
        nif->st.dropped++;
        return;
    }
    uint16_t sport = get16(u), dport = get16(u + 2);
    for (int i = 0; i < UDP_PORTS; i++)
        if (bound[i].fn && bound[i].port == dport) {
            nif->st.udp_rx++;
            bound[i].fn(nif, src, sport, dport, u + UDP_HLEN, ulen - UDP_HLEN);
            return;
        }
    nif->st.dropped++;            /* closed port (no ICMP port-unreachable from us) */
}

int udp_send(struct net_if *nif, uint32_t dst, uint16_t sport, uint16_t dport, const void *data, size_t len)
{
    static struct pbuf p;

    if (len > UDP_PAYLOAD_MAX)
        return -E2BIG;
    if (!nif && !(nif = net_route(dst)))
        return -ENODEV;
    pbuf_init(&p);
    memcpy(pbuf_put(&p, len), data, len);
    uint8_t *u = pbuf_push(&p, UDP_HLEN);
    put16(u, sport);
    put16(u + 2, dport);
    put16(u + 4, (uint16_t)(len + UDP_HLEN));
    put16(u + 6, 0);
    if (nif->tx_csum_offload) {         /* partial: the device adds the datagram's sum and inverts */
        put16(u + 6, (uint16_t)~csum_fold(pseudo_sum(nif->ip, dst, len + UDP_HLEN)));
    } else {
        uint16_t c = csum_fold(csum_add(pseudo_sum(nif->ip, dst, len + UDP_HLEN), u, len + UDP_HLEN));
        put16(u + 6, c ? c : 0xffff);
    }
    return ip_output(nif, &p, dst, IP_PROTO_UDP);
}
