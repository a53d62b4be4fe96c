#include "cmdline.h"
#include "console.h"
#include "events.h"
#include "klib.h"
#include "net/net.h"
#include "netfront.h"
#include "pv.h"
#include "tests/net_common.h"
#include "tests/tests.h"
#include "time.h"
#include "xenbus.h"
#include "xerrno.h"

#define XMIT_WAIT_NS   (1 * NS_PER_S)
#define MAX_DEVID      64
#define HOTPLUG_TIMEOUT_S 10

static struct net_if *nif_of[NF_MAX_DEVS];      /* by netfront slot */
static int hotplug;
static struct netfront_options nf_opts = { .features = NF_FEAT_ALL };  /* net-features=, net-sg-slot=, poll= */
static uint8_t tried[MAX_DEVID];                /* hot-plug attempts, until the directory goes */

/* An IPv4 UDP frame (not a fragment): with tx_csum_offload udp.c left its checksum partial. */
static int is_udp(const uint8_t *f, size_t len)
{
    return len >= 14 + IP_HLEN + UDP_HLEN && get16(f + 12) == ETH_P_IP && f[14 + 9] == IP_PROTO_UDP &&
           !(get16(f + 14 + 6) & 0x3fff);
}

/* The stack's transmit: waits (tx answers only) up to a second for a free slot. */
static int xmit(struct net_if *nif, const void *frame, size_t len)
{
    struct netfront *nf = nif->dev;
    unsigned int flags = nif->tx_csum_offload && is_udp(frame, len) ? NF_TX_CSUM_PARTIAL : 0;
    int rc = netfront_send_flags(nf, frame, len, flags);

    if (rc == -EAGAIN && netfront_tx_wait(nf, monotonic_ns() + XMIT_WAIT_NS) == 0)
        rc = netfront_send_flags(nf, frame, len, flags);
    return rc;
}

/* The stack's receive, with the frame's checksum flags passed on. */
static void rx(const uint8_t *frame, size_t len, void *arg)
{
    struct net_if *nif = arg;
    struct netfront *nf = nif->dev;

    nif->rx_csum_trusted = !!(nf->rx_frame_flags & (NETRXF_csum_blank | NETRXF_data_validated));
    net_input(frame, len, nif);
    nif->rx_csum_trusted = 0;
}

/* `net-features=none|all|sg,csum,split,mq` (all), `net-sg-slot=B` (4096), `poll=0|1` (0).  NULL or why not. */
static const char *parse_options(const char *cmdline, char *why)
{
    static const struct { const char *name; unsigned int bit; } names[] = {
        { "sg", NF_FEAT_SG }, { "csum", NF_FEAT_CSUM }, { "split", NF_FEAT_SPLIT }, { "mq", NF_FEAT_MQ },
        { "all", NF_FEAT_ALL }, { "none", 0 },
    };
    char v[64], word[16];

    nf_opts = (struct netfront_options){ .features = NF_FEAT_ALL };
    if (cmdline_get(cmdline, "net-features", v, sizeof(v))) {
        nf_opts.features = 0;
        for (const char *p = v; *p;) {
            size_t n = 0;
            while (*p && *p != ',' && n + 1 < sizeof(word))
                word[n++] = *p++;
            word[n] = '\0';
            if (*p == ',')
                p++;
            size_t k = 0;
            while (k < sizeof(names) / sizeof(names[0]) && strcmp(names[k].name, word))
                k++;
            if (k == sizeof(names) / sizeof(names[0])) {
                snprintf(why, WHY_SIZE, "net-features=%s: '%s' is none of none, all, sg, csum, split, mq", v, word);
                return why;
            }
            nf_opts.features |= names[k].bit;
        }
    }
    uint64_t slot = cmdline_u64(cmdline, "net-sg-slot", 4096);
    if (slot < 64 || slot > 4096) {
        snprintf(why, WHY_SIZE, "net-sg-slot=%lu: 64 to 4096 bytes", (unsigned long)slot);
        return why;
    }
    nf_opts.sg_slot = (unsigned int)slot;
    nf_opts.poll = cmdline_u64(cmdline, "poll", 0) != 0;
    return NULL;
}

static void watch_backend(struct netfront *nf, int on)
{
    char path[128];

    snprintf(path, sizeof(path), "%s/state", nf->backend);
    if (on)
        xs_watch(path, "net-be");
    else
        xs_unwatch(path, "net-be");
}

static struct net_if *up_dev(unsigned int devid, uint64_t timeout_s, int need_ip, char *why)
{
    struct netfront *nf = netfront_slot();
    const char *fail;

    if (!nf) {
        snprintf(why, WHY_SIZE, "eth%u: all %d netfront slots in use", devid, NF_MAX_DEVS);
        return NULL;
    }
    if ((fail = netfront_init_opts(nf, devid, timeout_s, &nf_opts, why)))
        return NULL;
    if (!nf->ip && need_ip) {
        snprintf(why, WHY_SIZE, "no IP address for eth%u: %s/ip is absent (vif = ['ip=a.b.c.d/prefix', ...])", devid,
                 nf->backend);
        netfront_close(nf);
        return NULL;
    }
    struct net_if *nif = net_add(devid, nf->mac, nf->ip, nf->prefix, xmit, nf);
    if (!nif) {
        snprintf(why, WHY_SIZE, "eth%u: no free interface", devid);
        netfront_close(nf);
        return NULL;
    }
    nif->tx_csum_offload = (uint8_t)nf->tx_csum_offload;
    nif_of[nf - netfronts] = nif;
    char ip[16];
    ip_format(nf->ip, ip);
    printk("net: eth%u mac %02x:%02x:%02x:%02x:%02x:%02x ip %s/%u up\n", devid, nf->mac[0], nf->mac[1], nf->mac[2],
           nf->mac[3], nf->mac[4], nf->mac[5], ip, nf->prefix);
    printk("net: eth%u backend %s (domain %u), evtchn %u, tx-ring-ref %d, rx-ring-ref %d\n", devid, nf->backend,
           nf->backend_id, nf->q[0].port, nf->q[0].tx_ring_ref, nf->q[0].rx_ring_ref);
    printk("net: eth%u features sg=%d csum-offload=%d split-event-channels=%d (rx evtchn %u) queues=%u poll=%d\n",
           devid, nf->sg, nf->tx_csum_offload, nf->split, nf->q[0].rx_port, nf->nr_queues, nf->opt.poll);
    watch_backend(nf, 1);
    if (devid < MAX_DEVID)
        tried[devid] = 1;
    return nif;
}

struct net_if *net_up(const char *cmdline, int need_ip, char *why)
{
    const char *fail;

    if ((fail = pv_need("grant table", pv_status.gnttab, why)) || (fail = pv_need("xenstore", pv_status.xenbus, why)) ||
        (fail = pv_need("shared_info", pv_status.shared_info, why)) || (fail = parse_options(cmdline, why)))
        return NULL;
    return up_dev((unsigned int)cmdline_u64(cmdline, "vif", 0), cmdline_u64(cmdline, "timeout", 20), need_ip, why);
}

void net_hotplug(void)
{
    hotplug = 1;
    xs_watch("device/vif", "net-vifs");
}

int net_devices_up(void)
{
    int n = 0;
    for (int i = 0; i < NF_MAX_DEVS; i++)
        n += netfronts[i].connected;
    return n;
}

/* Every frame received, every tx answer; the number of frames. */
static int service(void)
{
    int frames = 0, n;

    for (int i = 0; i < NF_MAX_DEVS; i++)
        if (netfronts[i].connected && nif_of[i])
            while ((n = netfront_poll(&netfronts[i], rx, nif_of[i])) > 0)
                frames += n;
    return frames;
}

void net_service(void)
{
    service();
}

void net_counts(uint64_t *notifies, uint64_t *events, uint64_t *frames)
{
    *notifies = *events = *frames = 0;
    for (int i = 0; i < NF_MAX_DEVS; i++) {
        *notifies += netfronts[i].st.notifies;
        *events += netfronts[i].st.events;
        *frames += netfronts[i].st.rx_frames + netfronts[i].st.tx_frames;
    }
}

void net_print_counts(const char *who, uint64_t notifies0, uint64_t events0, uint64_t frames0)
{
    uint64_t n, e, f;

    net_counts(&n, &e, &f);
    n -= notifies0, e -= events0, f -= frames0;
    uint64_t per = f ? f : 1;
    printk("%s: notifies %lu events %lu packets %lu per-packet %lu.%03lu %lu.%03lu\n", who, (unsigned long)n,
           (unsigned long)e, (unsigned long)f, (unsigned long)(n / per), (unsigned long)(n * 1000 / per % 1000),
           (unsigned long)(e / per), (unsigned long)(e * 1000 / per % 1000));
    for (int i = 0; i < NF_MAX_DEVS; i++)        /* how the frames spread over the queues (whole run) */
        for (unsigned int q = 0; netfronts[i].connected && q < netfronts[i].nr_queues; q++)
            printk("%s: eth%u queue %u tx %lu rx %lu\n", who, netfronts[i].devid, q,
                   (unsigned long)netfronts[i].q[q].tx_frames, (unsigned long)netfronts[i].q[q].rx_frames);
}

static void down(int slot, int st)
{
    struct netfront *nf = &netfronts[slot];

    printk("net: eth%u backend in state %d: closing our side\n", nf->devid, st);
    watch_backend(nf, 0);
    if (nif_of[slot])
        net_del(nif_of[slot]);
    nif_of[slot] = NULL;
    netfront_close(nf);
}

static void scan_vifs(void)
{
    char list[256], path[64], why[WHY_SIZE];
    int len = xs_directory(0, "device/vif", list, sizeof(list));
    uint8_t present[MAX_DEVID] = { 0 };

    for (int i = 0; len > 0 && i < len; i += (int)strlen(list + i) + 1) {
        uint64_t devid = 0;
        const char *p = list + i;
        if (!*p)
            continue;
        for (; *p >= '0' && *p <= '9'; p++)
            devid = devid * 10 + (uint64_t)(*p - '0');
        if (*p || devid >= MAX_DEVID)
            continue;
        present[devid] = 1;
        if (tried[devid] || netfront_get((unsigned int)devid))
            continue;
        uint64_t st = 0;
        snprintf(path, sizeof(path), "device/vif/%lu/state", (unsigned long)devid);
        if (xs_read_u64(0, path, &st) || st != XenbusStateInitialising)
            continue;
        tried[devid] = 1;
        if (!up_dev((unsigned int)devid, HOTPLUG_TIMEOUT_S, 1, why))
            printk("net: eth%lu: %s\n", (unsigned long)devid, why);
    }
    if (len >= 0)
        for (int d = 0; d < MAX_DEVID; d++)
            if (!present[d] && !netfront_get((unsigned int)d))
                tried[d] = 0;       /* gone: a new one of that devid may come */
}

static void check_store(void)
{
    char path[128], tok[32];
    int events = 0;

    /* Deadline 1 (long past): only what is already there. */
    while (xs_read_watch(path, sizeof(path), tok, sizeof(tok), 1) == 0)
        events++;
    if (!events)
        return;
    if (hotplug)
        scan_vifs();
    for (int i = 0; i < NF_MAX_DEVS; i++) {
        if (!netfronts[i].connected)
            continue;
        int st = netfront_backend_state(&netfronts[i]);
        if (st >= XenbusStateClosing || st < 0)
            down(i, st);
    }
}

/* poll=1: spins on the rings (and looks at the store every millisecond) until a frame or deadline. */
static void poll_until(uint64_t deadline_ns)
{
    uint64_t next_store = 0;

    for (;;) {
        int frames = service();
        uint64_t now = monotonic_ns();
        if (now >= next_store) {
            check_store();
            next_store = now + NS_PER_MS;
        }
        if (frames || (deadline_ns && now >= deadline_ns))
            return;
        for (int i = 0; i < NF_MAX_DEVS; i++)
            if (netfronts[i].connected)
                netfront_ready(&netfronts[i]);      /* takes (counts) the backend's events */
    }
}

void net_sleep(uint64_t deadline_ns)
{
    evtchn_port_t ports[1 + NF_MAX_PORTS * NF_MAX_DEVS] = { (evtchn_port_t)xenbus_evtchn };
    unsigned int n = 1;

    if (nf_opts.poll) {
        poll_until(deadline_ns);
        return;
    }
    net_service();
    check_store();      /* also what the xenbus client queued while answering other requests */
    for (int i = 0; i < NF_MAX_DEVS; i++) {
        if (!netfronts[i].connected)
            continue;
        if (netfront_ready(&netfronts[i])) {    /* clears the ports, sets the event indices */
            net_service();
            return;
        }
        n += netfront_ports(&netfronts[i], ports + n);
    }
    evtchn_wait(ports, n, deadline_ns);
    check_store();
    net_service();
}
