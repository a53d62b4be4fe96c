/* ARP for IPv4 over Ethernet (RFC 826): we answer requests for our address and merge the sender into
 * the cache as the RFC says; peers are resolved on demand, one outgoing packet held per entry. */
#include "klib.h"
#include "net/net.h"
#include "time.h"
#include "xerrno.h"

#define ARP_LEN        28
#define ARP_ENTRIES    16
#define ARP_RETRY_NS   (200 * NS_PER_MS)
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY   2

struct arp_entry {
    uint32_t ip;                /* 0: free */
    bool resolved;
    uint8_t mac[ETH_ALEN];
    uint64_t asked_ns, used;    /* last request sent; last use (for eviction) */
    bool held;
    struct pbuf hold;           /* an IP packet (no Ethernet header yet) waiting for the answer */
};

static struct arp_entry caches[NET_IFS][ARP_ENTRIES];
static uint64_t use_clock;

void arp_flush(struct net_if *nif)
{
    memset(caches[nif - net_ifs], 0, sizeof(caches[0]));
}

static struct arp_entry *lookup(struct net_if *nif, uint32_t ip, bool create)
{
    struct arp_entry *cache = caches[nif - net_ifs];
    struct arp_entry *victim = &cache[0];
    
    for (int i = 0; i < ARP_ENTRIES; i++) {
        if (cache[i].ip == ip) {
            cache[i].used = ++use_clock;
            return &cache[i];
        }
        if (cache[i].used < victim->used)
            victim = &cache[i];
    }
    if (!create)
        return NULL;
    memset(victim, 0, offsetof(struct arp_entry, hold));
    victim->ip = ip;
    victim->used = ++use_clock;
    return victim;
}

static void send_arp(struct net_if *nif, uint16_t op, const uint8_t tha[ETH_ALEN], uint32_t tpa, const uint8_t eth_dst[ETH_ALEN])
{
    static struct pbuf p;
    pbuf_init(&p);
    uint8_t *a = pbuf_put(&p, ARP_LEN);
    put16(a, 1);                /* Ethernet */
    put16(a + 2, ETH_P_IP);
    a[4] = ETH_ALEN;
    a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, nif->mac, ETH_ALEN);
    put32(a + 14, nif->ip);
    memcpy(a + 18, tha, ETH_ALEN);
    put32(a + 24, tpa);
    eth_output(nif, &p, eth_dst, ETH_P_ARP);
}

void arp_learn(struct net_if *nif, uint32_t ip, const uint8_t mac[ETH_ALEN])
{
    struct arp_entry *e = lookup(nif, ip, true);

    memcpy(e->mac, mac, ETH_ALEN);
    e->resolved = true;
    if (e->held) {
        e->held = false;
        eth_output(nif, &e->hold, e->mac, ETH_P_IP);
    }
}

void arp_input(struct net_if *nif, const uint8_t *a, size_t len)
{
    if (len < ARP_LEN || get16(a) != 1 || get16(a + 2) != ETH_P_IP || a[4] != ETH_ALEN || a[5] != 4) {
        nif->st.dropped++;
        return;
    }
    uint16_t op = get16(a + 6);
    uint32_t spa = get32(a + 14), tpa = get32(a + 24);
    const uint8_t *sha = a + 8;
    if (!nif->ip || (op != ARP_OP_REQUEST && op != ARP_OP_REPLY) || !memcmp(sha, eth_broadcast, ETH_ALEN) ||
        (sha[0] & 1)) {
        nif->st.dropped++;
        return;
    }
    /* RFC 826's merge: update an entry we have; add one if the packet is for us. */
    bool for_us = tpa == nif->ip;
    if (spa && (for_us || lookup(nif, spa, false)))
        arp_learn(nif, spa, sha);
    if (!for_us) {
        nif->st.dropped++;
        return;
    }
    if (op == ARP_OP_REQUEST) {
        send_arp(nif, ARP_OP_REPLY, sha, spa, sha);
        nif->st.arp_replies++;
    }
}

bool arp_resolve(struct net_if *nif, uint32_t ip, uint8_t mac[ETH_ALEN], const struct pbuf *p)
{
    static const uint8_t zero[ETH_ALEN];
    struct arp_entry *e = lookup(nif, ip, true);

    if (e->resolved) {
        memcpy(mac, e->mac, ETH_ALEN);
        return true;
    }
    if (p) {                    /* the newest packet replaces an older one, as Linux's queue of 1 would */
        e->hold = *p;
        e->held = true;
    }
    uint64_t now = monotonic_ns();
    if (!e->asked_ns || now - e->asked_ns >= ARP_RETRY_NS) {
        e->asked_ns = now ? now : 1;
        send_arp(nif, ARP_OP_REQUEST, zero, ip, eth_broadcast);
        nif->st.arp_requests++;
    }
    return false;
}

void arp_announce(struct net_if *nif)
{
    static const uint8_t zero[ETH_ALEN];

    if (nif->ip)
        send_arp(nif, ARP_OP_REQUEST, zero, nif->ip, eth_broadcast);
}
