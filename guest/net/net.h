/*
 * A small IPv4 stack for the test guest, in ring 3, one file per protocol: eth.c (Ethernet II),
 * arp.c (RFC 826: answers for our address, a small cache, one packet held per unresolved peer),
 * ip.c (IPv4: header checks and checksum, fragments dropped, every destination treated as on-link),
 * icmp.c (echo reply), udp.c (RFC 768: ports bound to handlers; rx checksum checked when present,
 * tx checksum always computed).  Packets are built in a struct pbuf, each layer prepending its header
 * in the headroom; frames leave through net_if.xmit (netfront_send).
 *
 * Addresses are kept in host byte order; headers on the wire are big-endian.
 */
#ifndef GUEST_NET_H
#define GUEST_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETH_ALEN      6
#define ETH_HLEN      14
#define ETH_P_IP      0x0800
#define ETH_P_ARP     0x0806
#define ETH_FRAME_MAX 1514
#define IP_HLEN       20
#define UDP_HLEN      8
#define IP_PROTO_ICMP 1
#define IP_PROTO_UDP  17
#define UDP_PAYLOAD_MAX (1500 - IP_HLEN - UDP_HLEN)

struct net_stats {
    uint64_t rx, tx;                /* frames handed to us / sent */
    uint64_t dropped;               /* malformed, not for us, unknown protocol, failed checksum, ... */
    uint64_t arp_replies, arp_requests, icmp_echoes, udp_rx, udp_echoed;
    uint64_t tx_failed;             /* xmit refused (no slot) */
};

#define NET_IFS 3

struct net_if {
    int up;
    unsigned int index;             /* eth<index> */
    uint8_t mac[ETH_ALEN];
    uint32_t ip, netmask;
    void *dev;                      /* the driver's (a struct netfront) */
    int (*xmit)(struct net_if *nif, const void *frame, size_t len);     /* 0 or -errno */
    /* Checksum offload, set by the driver: the device completes UDP checksums we leave partial (the
     * pseudo-header's sum in the field; xmit flags such frames), and the frame being received has
     * a checksum the device vouched for or left blank (not to be checked). */
    uint8_t tx_csum_offload, rx_csum_trusted;
    struct net_stats st;
};

extern struct net_if net_ifs[NET_IFS];

/* A packet under construction: data = buf + off, len bytes; headers are prepended before data. */
struct pbuf {
    uint16_t off, len;
    uint8_t buf[64 + ETH_FRAME_MAX];
};
void pbuf_init(struct pbuf *p);                 /* empty, with room for every header */
uint8_t *pbuf_push(struct pbuf *p, size_t n);   /* prepends n bytes; NULL if no headroom */
static inline uint8_t *pbuf_data(struct pbuf *p) { return p->buf + p->off; }
uint8_t *pbuf_put(struct pbuf *p, size_t n);    /* appends n bytes; NULL if too long */

/* Byte order and the Internet checksum (RFC 1071). */
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
uint32_t csum_add(uint32_t sum, const void *data, size_t len);  /* partial one's-complement sum */
uint16_t csum_fold(uint32_t sum);                               /* the final, inverted checksum */
/* "a.b.c.d" -> host order: 0 or -1.  And back (buf of 16). */
int ip_parse(const char *s, uint32_t *ip);
void ip_format(uint32_t ip, char buf[16]);

/* A new interface eth<index> (NULL if all NET_IFS are up); net_del takes it down (its ARP cache goes). */
struct net_if *net_add(unsigned int index, const uint8_t mac[ETH_ALEN], uint32_t ip, unsigned int prefix,
                       int (*xmit)(struct net_if *, const void *, size_t), void *dev);
void net_del(struct net_if *nif);
/* The interface for dst: the first up one whose subnet holds it, else the first up one; or NULL. */
struct net_if *net_route(uint32_t dst);
/* The sums of every interface's counters. */
void net_totals(struct net_stats *sum);
/* One received frame (netfront's rx callback; arg is the struct net_if). */
void net_input(const uint8_t *frame, size_t len, void *arg);

/* eth.c */
void eth_input(struct net_if *nif, const uint8_t *frame, size_t len);
int eth_output(struct net_if *nif, struct pbuf *p, const uint8_t dst[ETH_ALEN], uint16_t type);
extern const uint8_t eth_broadcast[ETH_ALEN];

/* arp.c */
void arp_input(struct net_if *nif, const uint8_t *pkt, size_t len);
/* The MAC for ip if cached: true.  Otherwise sends a request (at most one per 200 ms per peer), keeps
 * a copy of p (if p is not NULL) to send once the reply comes, and returns false. */
bool arp_resolve(struct net_if *nif, uint32_t ip, uint8_t mac[ETH_ALEN], const struct pbuf *p);
void arp_learn(struct net_if *nif, uint32_t ip, const uint8_t mac[ETH_ALEN]);
void arp_flush(struct net_if *nif);
/* A gratuitous ARP request for our own address, so that switches and peers learn where our MAC is
 * now (after a migration, as Linux's netfront does on resume through netif_notify_peers). */
void arp_announce(struct net_if *nif);

/* ip.c */
void ip_input(struct net_if *nif, const uint8_t *pkt, size_t len);
/* Sends p's data as the payload of an IPv4 packet: 0, -EAGAIN (queued behind ARP), or -errno. */
int ip_output(struct net_if *nif, struct pbuf *p, uint32_t dst, uint8_t proto);   /* nif NULL: net_route */

/* icmp.c */
void icmp_input(struct net_if *nif, uint32_t src, const uint8_t *pkt, size_t len);

/* Echo replies (the type-0 messages) go here if set. */
typedef void (*icmp_echo_reply_t)(struct net_if *nif, uint32_t src, uint16_t id, uint16_t seq, const uint8_t *data,
                                  size_t len);
extern icmp_echo_reply_t icmp_echo_reply_fn;
/* An echo request (nif NULL: net_route): 0, -EAGAIN (queued behind ARP), -errno. */
int icmp_echo_send(struct net_if *nif, uint32_t dst, uint16_t id, uint16_t seq, const void *data, size_t len);

/* udp.c: a handler per local port (up to 8). */
typedef void (*udp_handler_t)(struct net_if *nif, uint32_t src, uint16_t sport, uint16_t dport, const uint8_t *data, size_t len);
int udp_bind(uint16_t port, udp_handler_t fn);
void udp_input(struct net_if *nif, uint32_t src, uint32_t dst, const uint8_t *pkt, size_t len);
int udp_send(struct net_if *nif, uint32_t dst, uint16_t sport, uint16_t dport, const void *data, size_t len);

#endif
