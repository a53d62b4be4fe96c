/*
 * `net-ping dst=IP [count=N] [interval=MS] [size=B] [wait=MS] [vif=N]`: N (4) ICMP echo requests
 * with B (56) bytes of data to IP, one per interval= ms (200), after resolving it by ARP (5 s);
 * then waits up to wait= ms (1000) for the last replies.  Prints `net-ping: N sent, R received,
 * rtt min/avg/max A/B/C us`; passes if every request was answered, with its data intact.
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

#define PING_ID  0x5869     /* "Xi" */
#define MAX_SEQ  1024

static uint64_t sent_at[MAX_SEQ];
static uint8_t answered[MAX_SEQ];
static uint64_t received, bad, rtt_min = ~0ull, rtt_max, rtt_sum;
static uint32_t target;
static size_t data_len;
static uint8_t data[1400];

static void on_reply(struct net_if *nif, uint32_t src, uint16_t id, uint16_t seq, const uint8_t *d, size_t len)
{
    (void)nif;
    if (src != target || id != PING_ID || seq >= MAX_SEQ || !sent_at[seq] || answered[seq])
        return;
    if (len != data_len || memcmp(d, data, len)) {
        bad++;
        return;
    }
    answered[seq] = 1;
    received++;
    uint64_t rtt = (monotonic_ns() - sent_at[seq]) / 1000;
    rtt_sum += rtt;
    rtt_min = rtt < rtt_min ? rtt : rtt_min;
    rtt_max = rtt > rtt_max ? rtt : rtt_max;
}

static const char *run(const char *cmdline, char *why)
{
    char dst_s[32];

    if (!cmdline_get(cmdline, "dst", dst_s, sizeof(dst_s)) || ip_parse(dst_s, &target))
        return "dst=a.b.c.d is required";
    uint64_t count = cmdline_u64(cmdline, "count", 4), interval = cmdline_u64(cmdline, "interval", 200);
    uint64_t wait = cmdline_u64(cmdline, "wait", 1000);
    data_len = (size_t)cmdline_u64(cmdline, "size", 56);
    if (count < 1 || count > MAX_SEQ)
        return "count= must be 1 to 1024";
    if (data_len > sizeof(data))
        return "size= must be at most 1400";
    for (size_t i = 0; i < data_len; i++)
        data[i] = (uint8_t)(i + 0x20);
    struct net_if *nif = net_up(cmdline, 1, why);
    if (!nif)
        return why;
    icmp_echo_reply_fn = on_reply;

    uint8_t mac[ETH_ALEN];
    uint64_t deadline = monotonic_ns() + 5 * NS_PER_S;
    while (!arp_resolve(nif, target, mac, NULL)) {
        if (monotonic_ns() >= deadline) {
            snprintf(why, WHY_SIZE, "no ARP reply from %s in 5 s", dst_s);
            return why;
        }
        net_sleep(monotonic_ns() + 50 * NS_PER_MS);
    }
    uint64_t next = monotonic_ns();
    for (uint64_t seq = 0; seq < count; seq++) {
        while (monotonic_ns() < next)
            net_sleep(next);
        sent_at[seq] = monotonic_ns();
        int rc = icmp_echo_send(nif, target, PING_ID, (uint16_t)seq, data, data_len);
        if (rc) {
            snprintf(why, WHY_SIZE, "echo request %lu: %s (%d)", (unsigned long)seq, errno_name(rc), rc);
            return why;
        }
        next = sent_at[seq] + interval * NS_PER_MS;
    }
    deadline = monotonic_ns() + wait * NS_PER_MS;
    while (received < count && monotonic_ns() < deadline)
        net_sleep(deadline);
    printk("net-ping: %lu sent, %lu received, rtt min/avg/max %lu/%lu/%lu us%s\n", (unsigned long)count,
           (unsigned long)received, (unsigned long)(received ? rtt_min : 0),
           (unsigned long)(received ? rtt_sum / received : 0), (unsigned long)rtt_max, bad ? " (corrupt replies seen)" : "");
    if (received < count) {
        snprintf(why, WHY_SIZE, "%lu of %lu echo requests to %s unanswered", (unsigned long)(count - received),
                 (unsigned long)count, dst_s);
        return why;
    }
    return NULL;
}

const struct test test_net_ping = { "net-ping", run };
