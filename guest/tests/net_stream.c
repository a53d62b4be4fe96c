/*
 * `net-stream dst=IP port=P [count=N] [size=B] [sport=S] [gap_us=G] [vif=N]`: N (100) UDP datagrams of
 * B (64, at least 4, at most 1472) bytes to IP:P from port S (32768), G us apart (0: as fast as the
 * ring takes them; a host socket may then drop some).  Datagram i carries i as a big-endian
 * 32-bit number, then bytes (i + k) & 0xff.  Resolves IP by ARP first (5 s), waits for every tx slot
 * to come back before it passes, and prints `net-stream: sent N`.
 * For bench/net.sh: `delay_ms=D` (0) waits D ms after the ARP reply before the first datagram, and
 * `linger_ms=L` (0) keeps the domain up (answering ARP) L ms after the summary line before passing,
 * so that whoever measures the VMM can read it before and after the stream.
 * `flows=F` (1) sends datagram i from port S + i % F: F flows, spread over netfront's queues by
 * their hash.  At the end `net-stream: notifies N events E packets P per-packet N/P E/P`: the notifications the
 * guest sent and the backend's events it saw during the stream.  `poll=1` busy-polls the rings and
 * `net-features=` chooses what netfront asks for (README.md, Networking).
 */
#include "cmdline.h"
#include "console.h"
#include "klib.h"
#include "net/net.h"
#include "netfront.h"
#include "tests/net_common.h"
#include "tests/tests.h"
#include "time.h"
#include "xerrno.h"

static uint8_t payload[UDP_PAYLOAD_MAX];

static const char *run(const char *cmdline, char *why)
{
    char dst_s[32];
    uint32_t dst;

    if (!cmdline_get(cmdline, "dst", dst_s, sizeof(dst_s)) || ip_parse(dst_s, &dst))
        return "dst=a.b.c.d is required";
    uint64_t port = cmdline_u64(cmdline, "port", 0), count = cmdline_u64(cmdline, "count", 100);
    uint64_t size = cmdline_u64(cmdline, "size", 64), sport = cmdline_u64(cmdline, "sport", 32768);
    uint64_t gap_ns = cmdline_u64(cmdline, "gap_us", 0) * 1000, flows = cmdline_u64(cmdline, "flows", 1);
    if (!flows || flows > 256)
        return "flows=F: 1 to 256 source ports";
    if (!port || port > 65535 || !sport || sport + flows - 1 > 65535)
        return "port=P (1-65535) is required";
    if (size < 4 || size > UDP_PAYLOAD_MAX) {
        snprintf(why, WHY_SIZE, "size=%lu: 4 to %d bytes", (unsigned long)size, UDP_PAYLOAD_MAX);
        return why;
    }
    struct net_if *nif = net_up(cmdline, 1, why);
    if (!nif)
        return why;
    struct netfront *nf = nif->dev;

    uint8_t mac[ETH_ALEN];
    uint64_t deadline = monotonic_ns() + 5 * NS_PER_S;
    while (!arp_resolve(nif, dst, mac, NULL)) {
        if (monotonic_ns() >= deadline) {
            snprintf(why, WHY_SIZE, "no ARP reply from %s in 5 s", dst_s);
            return why;
        }
        net_sleep(monotonic_ns() + 50 * NS_PER_MS);
    }
    printk("net-stream: %s is at %02x:%02x:%02x:%02x:%02x:%02x\n", dst_s, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    uint64_t delay_ns = cmdline_u64(cmdline, "delay_ms", 0) * NS_PER_MS;
    uint64_t linger_ns = cmdline_u64(cmdline, "linger_ms", 0) * NS_PER_MS;
    for (uint64_t until = monotonic_ns() + delay_ns; monotonic_ns() < until;)
        net_sleep(until);

    uint64_t n0, e0, f0;
    net_counts(&n0, &e0, &f0);
    uint64_t t0 = monotonic_ns(), sent = 0;
    for (uint64_t i = 0; i < count; i++) {
        put32(payload, (uint32_t)i);
        for (uint64_t k = 4; k < size; k++)
            payload[k] = (uint8_t)(i + k);
        int rc = udp_send(nif, dst, (uint16_t)(sport + i % flows), (uint16_t)port, payload, size);
        if (rc) {
            snprintf(why, WHY_SIZE, "datagram %lu: %s (%d)", (unsigned long)i, errno_name(rc), rc);
            return why;
        }
        sent++;
        if (gap_ns) {
            uint64_t next = monotonic_ns() + gap_ns;
            while (monotonic_ns() < next)
                net_sleep(next);
        } else if ((i & 15) == 15) {
            net_service();      /* ARP requests from the peer, tx answers */
        }
    }
    /* Every frame answered before we power off (the backend might not have read them yet). */
    deadline = monotonic_ns() + 5 * NS_PER_S;
    while (netfront_tx_free(nf) < NF_TX_BUFS && monotonic_ns() < deadline)
        net_sleep(deadline);
    uint64_t us = (monotonic_ns() - t0) / 1000;
    printk("net-stream: sent %lu\n", (unsigned long)sent);
    printk("net-stream: %lu bytes each to %s:%lu in %lu us, tx-errors %lu, unanswered %u\n", (unsigned long)size, dst_s,
           (unsigned long)port, (unsigned long)us, (unsigned long)nf->st.tx_errors, NF_TX_BUFS - netfront_tx_free(nf));
    net_print_counts("net-stream", n0, e0, f0);
    for (uint64_t until = monotonic_ns() + linger_ns; monotonic_ns() < until;)
        net_sleep(until);
    if (netfront_tx_free(nf) < NF_TX_BUFS)
        return "the backend did not answer every tx request within 5 s";
    return NULL;
}

const struct test test_net_stream = { "net-stream", run };
