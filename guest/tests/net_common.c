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
static uint8_t tried[MAX_DEVID];                /* hot-plug attempts, until the directory goes */

/* The stack's transmit: waits (tx answers only) up to a second for a free slot. */
static int xmit(struct net_if *nif, const void *frame, size_t len)
{
    struct netfront *nf = nif->dev;
    int rc = netfront_send(nf, frame, len);

    if (rc == -EAGAIN && netfront_tx_wait(nf, monotonic_ns() + XMIT_WAIT_NS) == 0)
        rc = netfront_send(nf, frame, len);
    return rc;
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
    if ((fail = netfront_init(nf, devid, timeout_s, why)))
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
    nif_of[nf - netfronts] = nif;
    char ip[16];
    ip_format(nf->ip, ip);
    printk("net: eth%u mac %02x:%02x:%02x:%02x:%02x:%02x ip %s/%u up\n", devid, nf->mac[0], nf->mac[1], nf->mac[2],
           nf->mac[3], nf->mac[4], nf->mac[5], ip, nf->prefix);
    printk("net: eth%u backend %s (domain %u), evtchn %u, tx-ring-ref %d, rx-ring-ref %d\n", devid, nf->backend,
           nf->backend_id, nf->port, nf->tx_ring_ref, nf->rx_ring_ref);
    watch_backend(nf, 1);
    if (devid < MAX_DEVID)
        tried[devid] = 1;
    return nif;
}

struct net_if *net_up(const char *cmdline, int need_ip, char *why)
{
    const char *fail;

    if ((fail = pv_need("grant table", pv_status.gnttab, why)) || (fail = pv_need("xenstore", pv_status.xenbus, why)) ||
        (fail = pv_need("shared_info", pv_status.shared_info, why)))
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

void net_service(void)
{
    for (int i = 0; i < NF_MAX_DEVS; i++)
        if (netfronts[i].connected)
            while (netfront_poll(&netfronts[i], net_input, nif_of[i]) > 0)
                ;
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

void net_sleep(uint64_t deadline_ns)
{
    evtchn_port_t ports[1 + NF_MAX_DEVS] = { (evtchn_port_t)xenbus_evtchn };
    unsigned int n = 1;

    net_service();
    check_store();      /* also what the xenbus client queued while answering other requests */
    for (int i = 0; i < NF_MAX_DEVS; i++) {
        if (!netfronts[i].connected)
            continue;
        if (netfront_ready(&netfronts[i])) {    /* clears the port, sets the event indices */
            net_service();
            return;
        }
        ports[n++] = netfronts[i].port;
    }
    evtchn_wait(ports, n, deadline_ns);
    check_store();
    net_service();
}
