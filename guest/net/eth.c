/* Ethernet II: frames for our MAC or broadcast, ARP and IPv4 only; no VLANs, no 802.3 lengths. */
#include "klib.h"
#include "net/net.h"
#include "xerrno.h"

const uint8_t eth_broadcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

void eth_input(struct net_if *nif, const uint8_t *f, size_t len)
{
    if (len < ETH_HLEN) {
        nif->st.dropped++;
        return;
    }
    bool ours = !memcmp(f, nif->mac, ETH_ALEN);
    bool bcast = !memcmp(f, eth_broadcast, ETH_ALEN);
    if (!ours && !bcast) {          /* a bridge floods unknown unicast: not for us */
        nif->st.dropped++;
        return;
    }
    switch (get16(f + 12)) {
    case ETH_P_ARP:
        arp_input(nif, f + ETH_HLEN, len - ETH_HLEN);
        break;
    case ETH_P_IP:
        ip_input(nif, f + ETH_HLEN, len - ETH_HLEN);
        break;
    default:                        /* IPv6 neighbour discovery, LLDP, ...: not spoken here */
        nif->st.dropped++;
    }
}

int eth_output(struct net_if *nif, struct pbuf *p, const uint8_t dst[ETH_ALEN], uint16_t type)
{
    uint8_t *h = pbuf_push(p, ETH_HLEN);

    if (!h)
        return -EINVAL;
    memcpy(h, dst, ETH_ALEN);
    memcpy(h + 6, nif->mac, ETH_ALEN);
    put16(h + 12, type);
    if (p->len < 60)                /* the minimum frame, before the FCS */
        memset(pbuf_put(p, 60u - p->len), 0, 60u - p->len);
    int rc = nif->xmit ? nif->xmit(nif, pbuf_data(p), p->len) : -ENODEV;
    if (rc)
        nif->st.tx_failed++;
    else
        nif->st.tx++;
    return rc;
}
