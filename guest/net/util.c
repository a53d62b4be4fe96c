/* The stack's common parts: packet buffers, the Internet checksum, address text, the interface. */
#include "klib.h"
#include "net/net.h"

struct net_if net_ifs[NET_IFS];

void pbuf_init(struct pbuf *p)
{
    p->off = 64;
    p->len = 0;
}

uint8_t *pbuf_push(struct pbuf *p, size_t n)
{
    if (n > p->off)
        return NULL;
    p->off = (uint16_t)(p->off - n);
    p->len = (uint16_t)(p->len + n);
    return p->buf + p->off;
}

uint8_t *pbuf_put(struct pbuf *p, size_t n)
{
    if (p->off + p->len + n > sizeof(p->buf))
        return NULL;
    uint8_t *d = p->buf + p->off + p->len;
    p->len = (uint16_t)(p->len + n);
    return d;
}

uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *b = data;
    uint64_t s = sum;

    for (; len >= 2; b += 2, len -= 2)
        s += (uint32_t)(b[0] << 8 | b[1]);
    if (len)
        s += (uint32_t)b[0] << 8;
    while (s >> 32)
        s = (s & 0xffffffffu) + (s >> 32);
    return (uint32_t)s;
}

uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

int ip_parse(const char *s, uint32_t *ip)
{
    uint32_t a = 0;

    for (int i = 0; i < 4; i++) {
        unsigned int v = 0, digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(*s++ - '0');
            digits++;
        }
        if (!digits || v > 255)
            return -1;
        a = a << 8 | v;
        if (i < 3 && *s++ != '.')
            return -1;
    }
    if (*s)
        return -1;
    *ip = a;
    return 0;
}

void ip_format(uint32_t ip, char buf[16])
{
    snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

struct net_if *net_add(unsigned int index, const uint8_t mac[ETH_ALEN], uint32_t ip, unsigned int prefix,
                       int (*xmit)(struct net_if *, const void *, size_t), void *dev)
{
    for (int i = 0; i < NET_IFS; i++) {
        struct net_if *nif = &net_ifs[i];
        if (nif->up)
            continue;
        memset(nif, 0, sizeof(*nif));
        nif->index = index;
        memcpy(nif->mac, mac, ETH_ALEN);
        nif->ip = ip;
        nif->netmask = prefix ? ~0u << (32 - prefix) : 0;
        nif->xmit = xmit;
        nif->dev = dev;
        arp_flush(nif);
        nif->up = 1;
        return nif;
    }
    return NULL;
}

void net_del(struct net_if *nif)
{
    arp_flush(nif);
    nif->up = 0;
}

struct net_if *net_route(uint32_t dst)
{
    struct net_if *first = NULL;

    for (int i = 0; i < NET_IFS; i++) {
        struct net_if *nif = &net_ifs[i];
        if (!nif->up || !nif->ip)
            continue;
        if (((dst ^ nif->ip) & nif->netmask) == 0)
            return nif;
        if (!first)
            first = nif;
    }
    return first;
}

void net_totals(struct net_stats *sum)
{
    memset(sum, 0, sizeof(*sum));
    for (int i = 0; i < NET_IFS; i++) {
        const struct net_stats *s = &net_ifs[i].st;
        sum->rx += s->rx;
        sum->tx += s->tx;
        sum->dropped += s->dropped;
        sum->arp_replies += s->arp_replies;
        sum->arp_requests += s->arp_requests;
        sum->icmp_echoes += s->icmp_echoes;
        sum->udp_rx += s->udp_rx;
        sum->udp_echoed += s->udp_echoed;
        sum->tx_failed += s->tx_failed;
    }
}

void net_input(const uint8_t *frame, size_t len, void *arg)
{
    struct net_if *nif = arg;

    if (!nif || !nif->up)
        return;
    nif->st.rx++;
    eth_input(nif, frame, len);
}
