/*
 * `net-echo [vif=N] [seconds=S] [stats=K] [timeout=T]`: connects eth<N> (netfront, then the stack with
 * the backend's ip), prints `net: ethN mac M ip A/P up`, then answers ARP and ping and echoes every
 * UDP datagram sent to port 7 back to its sender.  Every K seconds (stats=K; 0, the default, never)
 * `net: rx R tx T udp-echoed U dropped D`.  Runs S seconds and passes (seconds=0, the default: until
 * destroyed).  vifs hot-plugged later (device/vif/M) come up as ethM with their own address; a
 * backend going Closing (vif-detach) has our side closed and its interface taken down.
 * For bench/net.sh: `sink=P` also binds UDP port P and counts what arrives there without answering
 * (0, the default: no sink); `burst=MS` (0: off) prints, once MS ms have passed without a datagram
 * on port 7 or the sink after at least one, `net-echo: burst udp N bytes B span T us echoed E`:
 * the datagrams and payload bytes since the last such line, and the time from the first to the last
 * of them (pvclock), then `net-echo: notifies N events E packets P per-packet N/P E/P` for the same
 * span (all devices); the same line for the whole run at the end.  `poll=1` busy-polls the rings
 * and `net-features=` chooses what netfront asks for (README.md, Networking).
 */
#include "cmdline.h"
#include "console.h"
#include "klib.h"
#include "net/net.h"
#include "netfront.h"
#include "tests/net_common.h"
#include "tests/tests.h"
#include "time.h"

/* The current burst (burst=MS): datagrams to port 7 or the sink since the last burst line. */
static struct { uint64_t n, bytes, echoed, first_ns, last_ns, notifies0, events0, frames0; } burst;

static void burst_count(size_t len)
{
    uint64_t now = monotonic_ns();
    if (!burst.n)
        burst.first_ns = now;
    burst.last_ns = now;
    burst.n++;
    burst.bytes += len;
}

static void echo(struct net_if *nif, uint32_t src, uint16_t sport, uint16_t dport, const uint8_t *data, size_t len)
{
    burst_count(len);
    if (udp_send(nif, src, dport, sport, data, len) == 0) {
        nif->st.udp_echoed++;
        burst.echoed++;
    }
}

static void sink(struct net_if *nif, uint32_t src, uint16_t sport, uint16_t dport, const uint8_t *data, size_t len)
{
    (void)nif, (void)src, (void)sport, (void)dport, (void)data;
    burst_count(len);
}

static void print_burst(void)
{
    printk("net-echo: burst udp %lu bytes %lu span %lu us echoed %lu\n", (unsigned long)burst.n,
           (unsigned long)burst.bytes, (unsigned long)((burst.last_ns - burst.first_ns) / 1000),
           (unsigned long)burst.echoed);
    net_print_counts("net-echo", burst.notifies0, burst.events0, burst.frames0);
    memset(&burst, 0, sizeof(burst));
    net_counts(&burst.notifies0, &burst.events0, &burst.frames0);
}

/* Every device's netfront counters (closed ones included: their slots keep them until reused). */
static void nf_totals(struct netfront_stats *t)
{
    memset(t, 0, sizeof(*t));
    for (int i = 0; i < NF_MAX_DEVS; i++) {
        const struct netfront_stats *n = &netfronts[i].st;
        t->rx_frames += n->rx_frames;
        t->tx_frames += n->tx_frames;
        t->rx_errors += n->rx_errors;
        t->tx_errors += n->tx_errors;
        t->bad_responses += n->bad_responses;
    }
}

static void print_stats(void)
{
    struct netfront_stats n;
    struct net_stats s;

    nf_totals(&n);
    net_totals(&s);
    printk("net: rx %lu tx %lu udp-echoed %lu dropped %lu\n", (unsigned long)n.rx_frames, (unsigned long)n.tx_frames,
           (unsigned long)s.udp_echoed, (unsigned long)(s.dropped + s.tx_failed + n.rx_errors));
}

static const char *run(const char *cmdline, char *why)
{
    if (!net_up(cmdline, 1, why))
        return why;
    udp_bind(7, echo);
    uint64_t sink_port = cmdline_u64(cmdline, "sink", 0), burst_ns = cmdline_u64(cmdline, "burst", 0) * NS_PER_MS;
    if (sink_port > 65535 || sink_port == 7)
        return "sink=P: a UDP port from 1 to 65535 other than 7";
    if (sink_port)
        udp_bind((uint16_t)sink_port, sink);
    net_hotplug();
    uint64_t n0, e0, f0;
    net_counts(&n0, &e0, &f0);
    burst.notifies0 = n0, burst.events0 = e0, burst.frames0 = f0;
    uint64_t now = monotonic_ns();
    uint64_t seconds = cmdline_u64(cmdline, "seconds", 0), every = cmdline_u64(cmdline, "stats", 0);
    uint64_t end = seconds ? now + seconds * NS_PER_S : 0;
    uint64_t next_stats = every ? now + every * NS_PER_S : 0;

    for (;;) {
        now = monotonic_ns();
        if (end && now >= end)
            break;
        if (next_stats && now >= next_stats) {
            print_stats();
            next_stats += every * NS_PER_S;
            if (next_stats <= now)
                next_stats = now + every * NS_PER_S;
        }
        uint64_t wake = end;
        if (next_stats && (!wake || next_stats < wake))
            wake = next_stats;
        if (burst_ns && burst.n) {
            uint64_t quiet = burst.last_ns + burst_ns;
            if (now >= quiet) {
                print_burst();
                continue;
            }
            if (!wake || quiet < wake)
                wake = quiet;
        }
        net_sleep(wake);
    }
    print_stats();
    struct netfront_stats n;
    struct net_stats s;
    nf_totals(&n);
    net_totals(&s);
    printk("net: arp-replies %lu icmp-echoes %lu udp-rx %lu tx-errors %lu bad-responses %lu, %d device(s) up\n",
           (unsigned long)s.arp_replies, (unsigned long)s.icmp_echoes, (unsigned long)s.udp_rx,
           (unsigned long)n.tx_errors, (unsigned long)n.bad_responses, net_devices_up());
    net_print_counts("net-echo", n0, e0, f0);
    return NULL;
}

const struct test test_net_echo = { "net-echo", run };
