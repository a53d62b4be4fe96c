/* ICMP (RFC 792): echo requests are answered with the same identifier, sequence and data; echo
 * replies go to icmp_echo_reply_fn if one is set (net-ping); every other type is counted as dropped. */
#include "klib.h"
#include "net/net.h"
#include "xerrno.h"

#define ICMP_ECHO_REPLY   0
#define ICMP_ECHO_REQUEST 8

icmp_echo_reply_t icmp_echo_reply_fn;

int icmp_echo_send(struct net_if *nif, uint32_t dst, uint16_t id, uint16_t seq, const void *data, size_t len)
{
    static struct pbuf p;

    if (len > 1500 - IP_HLEN - 8)
        return -E2BIG;
    pbuf_init(&p);
    uint8_t *m = pbuf_put(&p, 8 + len);
    m[0] = ICMP_ECHO_REQUEST;
    m[1] = 0;
    put16(m + 2, 0);
    put16(m + 4, id);
    put16(m + 6, seq);
    memcpy(m + 8, data, len);
    put16(m + 2, csum_fold(csum_add(0, m, 8 + len)));
    return ip_output(nif, &p, dst, IP_PROTO_ICMP);
}

void icmp_input(struct net_if *nif, uint32_t src, const uint8_t *m, size_t len)
{
    if (len < 8 || (!nif->rx_csum_trusted && csum_fold(csum_add(0, m, len)))) {
        nif->st.dropped++;
        return;
    }
    if (m[0] == ICMP_ECHO_REPLY && m[1] == 0 && icmp_echo_reply_fn) {
        icmp_echo_reply_fn(nif, src, get16(m + 4), get16(m + 6), m + 8, len - 8);
        return;
    }
    if (m[0] != ICMP_ECHO_REQUEST || m[1] != 0 || len > 1500 - IP_HLEN) {
        nif->st.dropped++;
        return;
    }
    static struct pbuf p;
    pbuf_init(&p);
    uint8_t *r = pbuf_put(&p, len);
    memcpy(r, m, len);
    r[0] = ICMP_ECHO_REPLY;
    put16(r + 2, 0);
    put16(r + 2, csum_fold(csum_add(0, r, len)));
    nif->st.icmp_echoes++;
    ip_output(nif, &p, src, IP_PROTO_ICMP);
}
