#include <stdbool.h>
#include "console.h"
#include "events.h"
#include "gnttab.h"
#include "netfront.h"
#include "shared_info.h"
#include "tests/tests.h"
#include "time.h"
#include "xenbus.h"
#include "xerrno.h"

struct netfront netfronts[NF_MAX_DEVS];

static uint8_t ring_pages[NF_MAX_DEVS][NF_MAX_QUEUES][2][4096] __attribute__((aligned(4096)));
static uint8_t tx_pages[NF_MAX_DEVS][NF_TX_BUFS][4096] __attribute__((aligned(4096)));
static uint8_t rx_pages[NF_MAX_DEVS][NF_RX_BUFS][4096] __attribute__((aligned(4096)));
static uint8_t rx_gather[NF_MAX_DEVS][NF_MAX_QUEUES][NF_RX_FRAME_MAX];

_Static_assert(sizeof(netif_extra_info_t) == sizeof(netif_rx_response_t), "an extra info slot is a response slot");

/* Counted notifications: the benches print how many the data path needed. */
static void notify(struct netfront *nf, evtchn_port_t port)
{
    nf->st.notifies++;
    evtchn_send(port);
}

/* A port's pending bit taken (counted as an event from the backend); 1 if it was set. */
static int take_event(struct netfront *nf, evtchn_port_t port)
{
    if (!evtchn_pending(port))
        return 0;
    evtchn_clear(port);
    nf->st.events++;
    return 1;
}

static void take_events(struct netfront *nf)
{
    for (unsigned int i = 0; i < nf->nr_queues; i++) {
        take_event(nf, nf->q[i].port);
        if (nf->q[i].rx_port != nf->q[i].port)
            take_event(nf, nf->q[i].rx_port);
    }
}

/* Whether responses wait.  Sleeping, the event index is set (RING_FINAL_CHECK_FOR_RESPONSES) so the
 * backend notifies us; polling, it is left behind so the backend need not. */
#define RESPONSES_WAIT(nf, r, more)                         \
    do {                                                    \
        if ((nf)->opt.poll)                                 \
            (more) = RING_HAS_UNCONSUMED_RESPONSES(r);      \
        else                                                \
            RING_FINAL_CHECK_FOR_RESPONSES(r, more);        \
    } while (0)

unsigned int netfront_ports(const struct netfront *nf, evtchn_port_t ports[NF_MAX_PORTS])
{
    unsigned int n = 0;

    for (unsigned int i = 0; i < nf->nr_queues; i++) {
        ports[n++] = nf->q[i].port;
        if (nf->q[i].rx_port != nf->q[i].port)
            ports[n++] = nf->q[i].rx_port;
    }
    return n;
}

/* Whether responses wait on any queue's tx ring (rx too if with_rx), without touching the indices. */
static int unconsumed(const struct netfront *nf, int with_rx)
{
    for (unsigned int i = 0; i < nf->nr_queues; i++)
        if (RING_HAS_UNCONSUMED_RESPONSES(&nf->q[i].tx) || (with_rx && RING_HAS_UNCONSUMED_RESPONSES(&nf->q[i].rx)))
            return 1;
    return 0;
}

/* Until an event on our ports or deadline_ns (0: none): 0 or -ETIMEDOUT.  Polling, until responses
 * wait (tx rings, and rx rings if with_rx), with no event index set. */
static int wait_for(struct netfront *nf, int with_rx, uint64_t deadline_ns)
{
    if (!nf->opt.poll) {
        evtchn_port_t ports[NF_MAX_PORTS];
        return evtchn_wait(ports, netfront_ports(nf, ports), deadline_ns) ? -ETIMEDOUT : 0;
    }
    while (!unconsumed(nf, with_rx))
        if (deadline_ns && monotonic_ns() >= deadline_ns)
            return -ETIMEDOUT;
    return 0;
}

/* Whether responses wait on any queue's rings, the event indices set as RESPONSES_WAIT does. */
static int any_responses(struct netfront *nf, int with_rx)
{
    int more = 0;

    for (unsigned int i = 0; i < nf->nr_queues && !more; i++) {
        if (with_rx)
            RESPONSES_WAIT(nf, &nf->q[i].rx, more);
        if (!more)
            RESPONSES_WAIT(nf, &nf->q[i].tx, more);
    }
    return more;
}

struct netfront *netfront_get(unsigned int devid)
{
    for (int i = 0; i < NF_MAX_DEVS; i++)
        if (netfronts[i].connected && netfronts[i].devid == devid)
            return &netfronts[i];
    return NULL;
}

struct netfront *netfront_slot(void)
{
    for (int i = 0; i < NF_MAX_DEVS; i++)
        if (!netfronts[i].connected && !netfronts[i].granted)
            return &netfronts[i];
    return NULL;
}

static void release(struct netfront *nf);
static void tx_reclaim(struct netfront *nf);

#define FAIL(...) do { snprintf(why, WHY_SIZE, __VA_ARGS__); return why; } while (0)

static int parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        unsigned int v = 0;
        for (int j = 0; j < 2; j++, s++) {
            char c = *s;
            unsigned int d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                           : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                           : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
            if (d > 15)
                return -1;
            v = v * 16 + d;
        }
        mac[i] = (uint8_t)v;
        if (i < 5 && *s++ != ':')
            return -1;
    }
    return *s ? -1 : 0;
}

/* "a.b.c.d[/p]", the first of possibly several space-separated addresses.  0 or -1. */
static int parse_ip(const char *s, uint32_t *ip, unsigned int *prefix)
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
    unsigned int p = 24;        /* no prefix given: a /24, the usual bridge subnet */
    if (*s == '/') {
        s++;
        p = 0;
        unsigned int digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 3) {
            p = p * 10 + (unsigned)(*s++ - '0');
            digits++;
        }
        if (!digits || p > 32)
            return -1;
    }
    if (*s && *s != ' ')
        return -1;
    *ip = a;
    *prefix = p;
    return 0;
}

int netfront_backend_state(struct netfront *nf)
{
    char path[128];
    uint64_t v;

    snprintf(path, sizeof(path), "%s/state", nf->backend);
    int rc = xs_read_u64(0, path, &v);
    return rc ? rc : (int)v;
}

/* A backend key as a number, or dflt if absent or malformed. */
static uint64_t be_u64(struct netfront *nf, const char *key, uint64_t dflt)
{
    char path[128];
    uint64_t v;

    snprintf(path, sizeof(path), "%s/%s", nf->backend, key);
    return xs_read_u64(0, path, &v) ? dflt : v;
}

/* Waits (watching the backend's state) until it is at least `want`; the last state seen, or -errno. */
static int wait_backend_state(struct netfront *nf, int want, uint64_t deadline)
{
    char path[128], ev[128], tok[16];
    int st;

    snprintf(path, sizeof(path), "%s/state", nf->backend);
    xs_watch(path, "nf-be-state");
    for (;;) {
        st = netfront_backend_state(nf);
        if (st >= want)
            break;
        if (xs_read_watch(ev, sizeof(ev), tok, sizeof(tok), deadline)) {
            st = netfront_backend_state(nf);
            break;
        }
    }
    xs_unwatch(path, "nf-be-state");
    return st;
}

static void rx_post_all(struct netfront *nf)
{
    for (unsigned int qi = 0; qi < nf->nr_queues; qi++) {
        struct netfront_queue *q = &nf->q[qi];
        netif_rx_front_ring_t *r = &q->rx;
        int kick = 0;

        for (uint16_t id = (uint16_t)q->rx_first; id < q->rx_first + q->rx_count; id++) {
            if (nf->rx_posted[id] || RING_FULL(r))
                continue;
            RING_IDX i = r->req_prod_pvt++;
            netif_rx_request_t *req = RING_GET_REQUEST(r, i);
            req->id = id;
            req->gref = nf->rx_gref[id];
            q->rx_slot_buf[i & (NF_RX_RING_SIZE - 1)] = id;
            nf->rx_posted[id] = 1;
        }
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(r, kick);
        if (kick)
            notify(nf, q->rx_port);
    }
}

/* Writes dir/key = v in t: 0 or -errno (path says which). */
static int write_key(xs_tx_t t, const char *dir, const char *key, unsigned long v, char *path, size_t size)
{
    char val[24];

    snprintf(path, size, "%s/%s", dir, key);
    snprintf(val, sizeof(val), "%lu", v);
    return xs_write(t, path, val);
}

/* One queue's rings and port(s) under dir (the device's node with one queue, else its queue-N). */
static int publish_queue(xs_tx_t t, const struct netfront *nf, const struct netfront_queue *q, const char *dir,
                         char *path, size_t size)
{
    int rc;

    if ((rc = write_key(t, dir, "tx-ring-ref", (unsigned long)q->tx_ring_ref, path, size)) ||
        (rc = write_key(t, dir, "rx-ring-ref", (unsigned long)q->rx_ring_ref, path, size)))
        return rc;
    if (!nf->split)
        return write_key(t, dir, "event-channel", q->port, path, size);
    if ((rc = write_key(t, dir, "event-channel-tx", q->port, path, size)))
        return rc;
    return write_key(t, dir, "event-channel-rx", q->rx_port, path, size);
}

static const char *publish(struct netfront *nf, char *why)
{
    char path[96], dir[48];
    int rc = -EAGAIN;

    for (int attempt = 0; attempt < 10 && rc == -EAGAIN; attempt++) {
        xs_tx_t t;
        if ((rc = xs_transaction_start(&t)))
            FAIL("netfront: transaction_start: %s", errno_name(rc));
        /* feature-sg and feature-no-csum-offload are written either way: a node left from an earlier
         * connection must not speak for us. */
        static const char *const keys[] = { "request-rx-copy", "feature-rx-notify", "feature-sg",
                                            "feature-no-csum-offload" };
        unsigned long vals[] = { 1, 1, !!(nf->opt.features & NF_FEAT_SG), !(nf->opt.features & NF_FEAT_CSUM) };
        for (unsigned int k = 0; k < sizeof(keys) / sizeof(keys[0]) && !rc; k++)
            rc = write_key(t, nf->nodename, keys[k], vals[k], path, sizeof(path));
        if (!rc && nf->nr_queues == 1)
            rc = publish_queue(t, nf, &nf->q[0], nf->nodename, path, sizeof(path));
        else if (!rc)
            rc = write_key(t, nf->nodename, "multi-queue-num-queues", nf->nr_queues, path, sizeof(path));
        for (unsigned int i = 0; i < nf->nr_queues && nf->nr_queues > 1 && !rc; i++) {
            snprintf(dir, sizeof(dir), "%s/queue-%u", nf->nodename, i);
            rc = publish_queue(t, nf, &nf->q[i], dir, path, sizeof(path));
        }
        if (rc) {
            xs_transaction_end(t, 1);
            FAIL("netfront: writing %s: %s", path, errno_name(rc));
        }
        rc = xs_transaction_end(t, 0);
    }
    if (rc)
        FAIL("netfront: committing the ring details: %s", errno_name(rc));
    snprintf(path, sizeof(path), "%s/state", nf->nodename);
    if ((rc = xs_write(0, path, "4")))
        FAIL("netfront: writing %s: %s", path, errno_name(rc));
    return NULL;
}

/* From the backend's InitWait to Connected: fresh rings, buffers granted, a port, published.  At
 * first connect and again in a new domain after a suspend. */
static const char *connect(struct netfront *nf, uint64_t deadline, uint64_t timeout_s, char *why)
{
    char path[128];
    int rc;

    int st = wait_backend_state(nf, XenbusStateInitWait, deadline);
    if (st < 0)
        FAIL("netfront: backend state %s/state: %s", nf->backend, errno_name(st));
    if (st < XenbusStateInitWait)
        FAIL("netfront: backend still in state %d after %lu s (InitWait awaited)", st, (unsigned long)timeout_s);
    if (st > XenbusStateConnected)
        FAIL("netfront: backend is in state %d (closing/closed) before we connected", st);

    /* What the backend offers (absent = off), read again at each connect: a resume may bring another. */
    nf->sg = (nf->opt.features & NF_FEAT_SG) && be_u64(nf, "feature-sg", 0) == 1;
    nf->tx_csum_offload = (nf->opt.features & NF_FEAT_CSUM) && be_u64(nf, "feature-no-csum-offload", 0) != 1;
    nf->split = (nf->opt.features & NF_FEAT_SPLIT) && be_u64(nf, "feature-split-event-channels", 0) == 1;
    uint64_t max_queues = (nf->opt.features & NF_FEAT_MQ) ? be_u64(nf, "multi-queue-max-queues", 1) : 1;
    nf->nr_queues = max_queues < 1 ? 1 : max_queues > NF_MAX_QUEUES ? NF_MAX_QUEUES : (unsigned int)max_queues;

    /* The shared rings, a pair per queue, and the rx buffers shared out between the queues. */
    nf->granted = 1;    /* from here on the slot stays taken until netfront_close */
    for (unsigned int qi = 0; qi < nf->nr_queues; qi++) {
        struct netfront_queue *q = &nf->q[qi];
        memset(q->tx_ring_page, 0, 4096);
        memset(q->rx_ring_page, 0, 4096);
        netif_tx_sring_t *txs = (netif_tx_sring_t *)q->tx_ring_page;
        netif_rx_sring_t *rxs = (netif_rx_sring_t *)q->rx_ring_page;
        SHARED_RING_INIT(txs);
        SHARED_RING_INIT(rxs);
        FRONT_RING_INIT(&q->tx, txs, 4096);
        FRONT_RING_INIT(&q->rx, rxs, 4096);
        if ((q->tx_ring_ref = gnttab_grant_access(nf->backend_id, virt_to_pfn(q->tx_ring_page), false)) < 0 ||
            (q->rx_ring_ref = gnttab_grant_access(nf->backend_id, virt_to_pfn(q->rx_ring_page), false)) < 0)
            FAIL("netfront: no grant refs for queue %u's rings", qi);
        q->rx_first = qi * NF_RX_BUFS / nf->nr_queues;
        q->rx_count = (qi + 1) * NF_RX_BUFS / nf->nr_queues - q->rx_first;
        nf_rx_chain_init(&q->rxc, q->rx_gather, NF_RX_FRAME_MAX, !!(nf->opt.features & NF_FEAT_SG));
        q->tx_frames = q->rx_frames = 0;
    }
    for (int i = 0; i < NF_TX_BUFS; i++) {
        int ref = gnttab_grant_access(nf->backend_id, virt_to_pfn(nf->tx_bufs[i]), true);
        if (ref < 0)
            FAIL("netfront: no grant ref for tx buffer %d", i);
        nf->tx_gref[i] = (grant_ref_t)ref;
        nf->tx_inflight[i] = 0;
    }
    for (int i = 0; i < NF_RX_BUFS; i++) {
        int ref = gnttab_grant_access(nf->backend_id, virt_to_pfn(nf->rx_bufs[i]), false);
        if (ref < 0)
            FAIL("netfront: no grant ref for rx buffer %d", i);
        nf->rx_gref[i] = (grant_ref_t)ref;
        nf->rx_posted[i] = 0;
    }
    for (unsigned int qi = 0; qi < nf->nr_queues; qi++) {
        struct netfront_queue *q = &nf->q[qi];
        if ((rc = evtchn_alloc_unbound(nf->backend_id, &q->port)))
            FAIL("netfront: EVTCHNOP_alloc_unbound for domain %u (queue %u): %s", nf->backend_id, qi, errno_name(rc));
        q->rx_port = q->port;
        if (nf->split && (rc = evtchn_alloc_unbound(nf->backend_id, &q->rx_port)))
            FAIL("netfront: EVTCHNOP_alloc_unbound (queue %u's rx) for domain %u: %s", qi, nf->backend_id,
                 errno_name(rc));
        /* The ports stay masked: we only ever SCHEDOP_poll on them, which masked ports wake. */
        evtchn_mask(q->port);
        evtchn_mask(q->rx_port);
    }

    const char *fail = publish(nf, why);
    if (fail)
        return fail;
    st = wait_backend_state(nf, XenbusStateConnected, deadline);
    if (st != XenbusStateConnected) {
        char err[96] = "";
        snprintf(path, sizeof(path), "%s/error", nf->backend);
        if (xs_read(0, path, err, sizeof(err)) < 0)
            err[0] = '\0';
        FAIL("netfront: backend %s in state %d, not Connected (4), after we published our rings%s%s", nf->backend,
             st, err[0] ? ": " : "", err);
    }
    nf->connected = 1;
    rx_post_all(nf);
    return NULL;
}

static const char *init(struct netfront *nf, unsigned int devid, uint64_t timeout_s,
                        const struct netfront_options *opt, char *why)
{
    char path[128], val[128];
    int rc;

    memset(nf, 0, sizeof(*nf));
    nf->opt = *opt;
    if (nf->opt.sg_slot < 64 || nf->opt.sg_slot > 4096)
        nf->opt.sg_slot = 4096;
    unsigned int slot = (unsigned int)(nf - netfronts);
    for (unsigned int qi = 0; qi < NF_MAX_QUEUES; qi++) {
        nf->q[qi].rx_gather = rx_gather[slot][qi];
        nf->q[qi].tx_ring_page = ring_pages[slot][qi][0];
        nf->q[qi].rx_ring_page = ring_pages[slot][qi][1];
    }
    nf->tx_bufs = tx_pages[slot];
    nf->rx_bufs = rx_pages[slot];
    nf->devid = devid;
    snprintf(nf->nodename, sizeof(nf->nodename), "device/vif/%u", devid);
    uint64_t deadline = monotonic_ns() + timeout_s * NS_PER_S;

    /* The toolstack writes device/vif/N before we boot; hot-plugged ones may come later. */
    snprintf(path, sizeof(path), "%s/backend", nf->nodename);
    xs_watch(path, "nf-backend");
    while ((rc = xs_read(0, path, nf->backend, sizeof(nf->backend))) < 0) {
        char ev[128], tok[16];
        if (xs_read_watch(ev, sizeof(ev), tok, sizeof(tok), deadline)) {
            xs_unwatch(path, "nf-backend");
            FAIL("netfront: no %s in xenstore (%s): is a vif configured?", path, errno_name(rc));
        }
    }
    xs_unwatch(path, "nf-backend");
    if (nf->backend[0] != '/')
        FAIL("netfront: %s is '%s', not an absolute path", path, nf->backend);
    uint64_t beid = 0;
    snprintf(path, sizeof(path), "%s/backend-id", nf->nodename);
    if ((rc = xs_read_u64(0, path, &beid)) && rc != -ENOENT)
        FAIL("netfront: reading %s: %s", path, errno_name(rc));
    if (beid >= DOMID_FIRST_RESERVED)
        FAIL("netfront: %s is %lu", path, (unsigned long)beid);
    nf->backend_id = (domid_t)beid;

    snprintf(path, sizeof(path), "%s/mac", nf->nodename);
    if ((rc = xs_read(0, path, val, sizeof(val))) < 0) {
        snprintf(path, sizeof(path), "%s/mac", nf->backend);   /* some toolstacks only write it there */
        rc = xs_read(0, path, val, sizeof(val));
    }
    if (rc < 0)
        FAIL("netfront: reading %s: %s", path, errno_name(rc));
    if (parse_mac(val, nf->mac))
        FAIL("netfront: %s is '%s', not a MAC address", path, val);

    snprintf(path, sizeof(path), "%s/ip", nf->backend);
    if ((rc = xs_read(0, path, val, sizeof(val))) >= 0) {
        if (parse_ip(val, &nf->ip, &nf->prefix))
            FAIL("netfront: %s is '%s', not a.b.c.d[/prefix]", path, val);
    } else if (rc != -ENOENT) {
        FAIL("netfront: reading %s: %s", path, errno_name(rc));
    }

    snprintf(path, sizeof(path), "%s/feature-rx-copy", nf->backend);
    uint64_t rx_copy = 0;
    if (xs_read_u64(0, path, &rx_copy) || rx_copy != 1)
        printk("netfront: warning: %s is not 1; requesting rx-copy anyway\n", path);

    return connect(nf, deadline, timeout_s, why);
}

const char *netfront_init_opts(struct netfront *nf, unsigned int devid, uint64_t timeout_s,
                               const struct netfront_options *opt, char *why)
{
    if (nf->connected || nf->granted)
        FAIL("netfront: slot in use");
    const char *fail = init(nf, devid, timeout_s, opt, why);
    if (fail && nf->granted)
        release(nf);
    return fail;
}

const char *netfront_init(struct netfront *nf, unsigned int devid, uint64_t timeout_s, char *why)
{
    return netfront_init_opts(nf, devid, timeout_s, &(struct netfront_options){ .features = NF_FEAT_ALL }, why);
}

/* Forgets the connection without telling anyone: in a new domain its grants are void and its
 * port is closed (the number may already be someone else's), so nothing is revoked or closed. */
static void forget(struct netfront *nf)
{
    memset(nf->tx_gref, 0, sizeof(nf->tx_gref));
    memset(nf->rx_gref, 0, sizeof(nf->rx_gref));
    memset(nf->tx_inflight, 0, sizeof(nf->tx_inflight));    /* frames in flight are lost, as on a wire */
    memset(nf->tx_answered, 0, sizeof(nf->tx_answered));
    memset(nf->rx_posted, 0, sizeof(nf->rx_posted));
    for (unsigned int qi = 0; qi < NF_MAX_QUEUES; qi++) {
        nf->q[qi].tx_ring_ref = nf->q[qi].rx_ring_ref = 0;
        nf->q[qi].port = nf->q[qi].rx_port = 0;
    }
    nf->connected = 0;
    nf->granted = 0;
}

const char *netfront_resume(struct netfront *nf, uint64_t timeout_s, char *why)
{
    if (!nf->connected)
        return NULL;
    forget(nf);
    const char *fail = connect(nf, monotonic_ns() + timeout_s * NS_PER_S, timeout_s, why);
    if (fail && nf->granted)
        release(nf);
    return fail;
}

unsigned int netfront_quiesce(struct netfront *nf, uint64_t deadline_ns)
{
    unsigned int busy;

    for (;;) {
        if (!nf->connected)
            return 0;
        tx_reclaim(nf);
        busy = 0;
        for (int i = 0; i < NF_TX_BUFS; i++)
            busy += nf->tx_inflight[i] == 1;
        if (!busy || monotonic_ns() >= deadline_ns)
            return busy;
        take_events(nf);
        if (!any_responses(nf, 0))
            wait_for(nf, 0, deadline_ns);
    }
}

unsigned int netfront_tx_free(struct netfront *nf)
{
    unsigned int n = 0;
    for (int i = 0; i < NF_TX_BUFS; i++)
        n += !nf->tx_inflight[i];
    return n;
}

static int tx_alloc(struct netfront *nf)
{
    for (unsigned int k = 0; k < NF_TX_BUFS; k++) {
        unsigned int i = (nf->tx_next + k) % NF_TX_BUFS;
        if (!nf->tx_inflight[i]) {
            nf->tx_next = i + 1;
            return (int)i;
        }
    }
    return -1;
}

int netfront_send_flags(struct netfront *nf, const void *frame, size_t len, unsigned int flags)
{
    uint16_t frag[NF_MAX_SLOTS];

    if (!nf || !nf->connected)
        return -ENODEV;
    if (len < 14 || len > NF_MTU_FRAME || ((flags & NF_TX_CSUM_PARTIAL) && !nf->tx_csum_offload))
        return -EINVAL;
    size_t slot = nf->sg ? nf->opt.sg_slot : 4096;
    if (len > slot * NF_MAX_SLOTS)      /* never more slots than every backend takes */
        slot = (len + NF_MAX_SLOTS - 1) / NF_MAX_SLOTS;
    unsigned int n = nf_tx_split(len, slot, frag, NF_MAX_SLOTS);
    if (!n)
        return -EINVAL;
    unsigned int qi = nf_flow_queue(frame, len, nf->nr_queues);
    struct netfront_queue *q = &nf->q[qi];
    if (netfront_tx_free(nf) < n || RING_FREE_REQUESTS(&q->tx) < n) {
        nf->st.tx_busy++;
        return -EAGAIN;
    }
    const uint8_t *data = frame;
    for (unsigned int i = 0, off = 0; i < n; off += frag[i], i++) {
        int id = tx_alloc(nf);      /* cannot fail: n are free */
        memcpy(nf->tx_bufs[id], data + off, frag[i]);
        nf->tx_inflight[id] = 1;
        nf->tx_q[id] = (uint8_t)qi;
        netif_tx_request_t *req = RING_GET_REQUEST(&q->tx, q->tx.req_prod_pvt);
        q->tx.req_prod_pvt++;
        req->gref = nf->tx_gref[id];
        req->offset = 0;
        req->flags = (uint16_t)(i + 1 < n ? NETTXF_more_data : 0);
        if (!i && (flags & NF_TX_CSUM_PARTIAL))
            req->flags |= NETTXF_csum_blank | NETTXF_data_validated;
        req->id = (uint16_t)id;
        req->size = nf_tx_req_size(frag, i, len);
    }
    int kick = 0;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->tx, kick);
    if (kick)
        notify(nf, q->port);
    q->tx_frames++;
    nf->st.tx_frames++;
    nf->st.tx_slots += n;
    nf->st.tx_bytes += len;
    return 0;
}

int netfront_send(struct netfront *nf, const void *frame, size_t len)
{
    return netfront_send_flags(nf, frame, len, 0);
}

int netfront_tx_claim(struct netfront *nf, uint8_t **page, grant_ref_t *gref)
{
    int id = tx_alloc(nf);

    if (id < 0)
        return -1;
    nf->tx_inflight[id] = 2;
    nf->tx_answered[id] = 0;
    nf->tx_q[id] = 0;           /* netfront_tx_push_raw puts requests on queue 0 */
    *page = nf->tx_bufs[id];
    *gref = nf->tx_gref[id];
    return id;
}

void netfront_tx_unclaim(struct netfront *nf, int id)
{
    if (id >= 0 && id < NF_TX_BUFS && nf->tx_inflight[id] == 2)
        nf->tx_inflight[id] = 0;
}

/* Producer indices from the backend: a jump past what we could have asked for is a protocol error. */
static bool rsp_prod_sane(RING_IDX prod, RING_IDX cons, RING_IDX req_prod_pvt)
{
    return prod - cons <= req_prod_pvt - cons;
}

static void tx_reclaim_queue(struct netfront *nf, unsigned int qi)
{
    netif_tx_front_ring_t *r = &nf->q[qi].tx;
    int more;

    do {
        RING_IDX prod = r->sring->rsp_prod;
        xen_rmb();
        if (!rsp_prod_sane(prod, r->rsp_cons, r->req_prod_pvt)) {
            nf->st.bad_responses++;
            return;         /* ignore the ring until the backend makes sense again */
        }
        for (RING_IDX i = r->rsp_cons; i != prod; i++) {
            netif_tx_response_t rsp = *RING_GET_RESPONSE(r, i);
            if (rsp.status == NETIF_RSP_NULL)
                continue;
            if (rsp.id >= NF_TX_BUFS || !nf->tx_inflight[rsp.id] || nf->tx_q[rsp.id] != qi) {
                nf->st.bad_responses++;
                continue;
            }
            if (rsp.status != NETIF_RSP_OKAY)
                nf->st.tx_errors++;
            if (nf->tx_inflight[rsp.id] == 2) {     /* net-hostile's: it looks at the answer itself */
                nf->tx_answered[rsp.id] = 1;
                nf->tx_status[rsp.id] = rsp.status;
            } else {
                nf->tx_inflight[rsp.id] = 0;
            }
        }
        r->rsp_cons = prod;
        RESPONSES_WAIT(nf, r, more);
    } while (more);
}

static void tx_reclaim(struct netfront *nf)
{
    for (unsigned int qi = 0; qi < nf->nr_queues; qi++)
        tx_reclaim_queue(nf, qi);
}

static void rx_consume_queue(struct netfront *nf, struct netfront_queue *q, netfront_rx_fn fn, void *arg,
                             int *frames)
{
    netif_rx_front_ring_t *r = &q->rx;
    int more;

    do {
        RING_IDX prod = r->sring->rsp_prod;
        xen_rmb();
        if (!rsp_prod_sane(prod, r->rsp_cons, r->req_prod_pvt)) {
            nf->st.bad_responses++;
            return;
        }
        for (RING_IDX i = r->rsp_cons; i != prod; i++) {
            netif_rx_response_t rsp = *RING_GET_RESPONSE(r, i);
            netif_extra_info_t extra;
            memcpy(&extra, &rsp, sizeof(extra));
            bool is_extra = q->rxc.active && q->rxc.extras;     /* its id field is no id */
            uint16_t slot_id = q->rx_slot_buf[i & (NF_RX_RING_SIZE - 1)];
            /* Free the buffer this request slot carried, whatever the response says. */
            if (!is_extra && rsp.id != slot_id)
                nf->st.bad_responses++;
            nf->rx_posted[slot_id] = 0;
            struct nf_rx_slot s = { .flags = rsp.flags, .status = rsp.status, .offset = rsp.offset,
                                    .extra_more = !!(extra.flags & XEN_NETIF_EXTRA_FLAG_MORE) };
            switch (nf_rx_chain_add(&q->rxc, &s, nf->rx_bufs[slot_id])) {
            case NF_RX_MORE:
                break;
            case NF_RX_DROP:
                nf->st.rx_errors++;
                break;
            case NF_RX_FRAME:
                nf->st.rx_frames++;
                nf->st.rx_bytes += q->rxc.frame_len;
                q->rx_frames++;
                (*frames)++;
                nf->rx_frame_flags = q->rxc.flags;
                if (fn)
                    fn(q->rxc.frame, q->rxc.frame_len, arg);
                break;
            }
        }
        r->rsp_cons = prod;
        RESPONSES_WAIT(nf, r, more);
    } while (more);
}

static void rx_consume(struct netfront *nf, netfront_rx_fn fn, void *arg, int *frames)
{
    for (unsigned int qi = 0; qi < nf->nr_queues && nf->connected; qi++)
        rx_consume_queue(nf, &nf->q[qi], fn, arg, frames);
}

int netfront_tx_result(struct netfront *nf, int id, int16_t *status)
{
    if (id < 0 || id >= NF_TX_BUFS || nf->tx_inflight[id] != 2 || !nf->tx_answered[id])
        return 0;
    *status = nf->tx_status[id];
    return 1;
}

void netfront_tx_push_raw(struct netfront *nf, const netif_tx_request_t *reqs, unsigned int n)
{
    int kick = 0;

    struct netfront_queue *q = &nf->q[0];

    for (unsigned int i = 0; i < n && !RING_FULL(&q->tx); i++)
        *RING_GET_REQUEST(&q->tx, q->tx.req_prod_pvt++) = reqs[i];
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->tx, kick);
    if (kick)
        notify(nf, q->port);
}

void netfront_tx_reclaim(struct netfront *nf)
{
    if (nf->connected)
        tx_reclaim(nf);
}

int netfront_tx_wait(struct netfront *nf, uint64_t deadline_ns)
{
    for (;;) {
        if (!nf->connected)
            return -ENODEV;
        tx_reclaim(nf);
        /* Free buffers are the limit: a tx ring (256 slots) holds more than all of them. */
        if (netfront_tx_free(nf))
            return 0;
        take_events(nf);
        if (any_responses(nf, 0))
            continue;
        if (wait_for(nf, 0, deadline_ns))
            return -ETIMEDOUT;
    }
}

/* Revokes what netfront_init granted (a grant the backend still uses stays, leaked) and closes the
 * port; the slot is free again. */
static void release(struct netfront *nf)
{
    for (int i = 0; i < NF_TX_BUFS; i++)
        if (nf->tx_gref[i])
            gnttab_end_access(nf->tx_gref[i]);
    for (int i = 0; i < NF_RX_BUFS; i++)
        if (nf->rx_gref[i])
            gnttab_end_access(nf->rx_gref[i]);
    for (unsigned int qi = 0; qi < NF_MAX_QUEUES; qi++) {
        struct netfront_queue *q = &nf->q[qi];
        if (q->tx_ring_ref > 0)
            gnttab_end_access((grant_ref_t)q->tx_ring_ref);
        if (q->rx_ring_ref > 0)
            gnttab_end_access((grant_ref_t)q->rx_ring_ref);
        if (q->rx_port && q->rx_port != q->port)
            evtchn_close(q->rx_port);
        if (q->port)
            evtchn_close(q->port);
        q->tx_ring_ref = q->rx_ring_ref = 0;
        q->port = q->rx_port = 0;
    }
    nf->connected = 0;
    nf->granted = 0;
}

void netfront_close(struct netfront *nf)
{
    char path[64];

    if (!nf->connected && !nf->granted)
        return;
    nf->connected = 0;
    snprintf(path, sizeof(path), "%s/state", nf->nodename);
    xs_write(0, path, "6");
    release(nf);
}

int netfront_poll(struct netfront *nf, netfront_rx_fn fn, void *arg)
{
    int frames = 0;

    if (!nf->connected)
        return 0;
    tx_reclaim(nf);
    rx_consume(nf, fn, arg, &frames);
    rx_post_all(nf);
    return frames;
}

int netfront_ready(struct netfront *nf)
{
    if (!nf->connected)
        return 0;
    take_events(nf);
    xen_mb();
    return any_responses(nf, 1);
}

int netfront_wait(struct netfront *nf, uint64_t deadline_ns)
{
    if (!nf->connected)
        return -ENODEV;
    if (netfront_ready(nf))
        return 0;
    return wait_for(nf, 1, deadline_ns);
}
