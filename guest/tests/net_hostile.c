/*
 * `net-hostile [vif=N] [wait=MS]`: a hostile netfront.  After connecting normally it puts requests on
 * its tx ring that a netback must refuse: a gref never granted (an unused entry of our table, then one
 * beyond it), offset + size past the page, size 0, size 65535, a chain of 40 NETTXF_more_data slots,
 * and finally a req_prod far beyond the ring.  After each it waits up to wait= ms (500) and prints
 * `net-hostile: STEP: WHAT` (the responses' statuses, or no answer), then sends a valid frame (a
 * gratuitous ARP) the same way and says whether the backend still answers it.  Nothing the backend
 * does (or does not) may crash us; the backend may disconnect us (Linux's netback does, for the
 * fatal ones).  Then PASS.  The Dom0 side checks that the VMM and other domains' networks survive.
 */
#include "cmdline.h"
#include "console.h"
#include "events.h"
#include "gnttab.h"
#include "klib.h"
#include "net/net.h"
#include "netfront.h"
#include "tests/net_common.h"
#include "tests/tests.h"
#include "time.h"

#define CHAIN 40

static uint64_t wait_ns;
static struct netfront *nf;
static struct net_if *nif;

static const char *status_name(int16_t s)
{
    switch (s) {
    case NETIF_RSP_OKAY: return "OKAY";
    case NETIF_RSP_ERROR: return "ERROR";
    case NETIF_RSP_DROPPED: return "DROPPED";
    case NETIF_RSP_NULL: return "NULL";
    default: return "?";
    }
}

/* Waits until all ids are answered or the wait passes; describes the answers into out. */
static void await(const int *ids, int n, char *out, size_t size)
{
    uint64_t deadline = monotonic_ns() + wait_ns;
    int answered = 0;
    int16_t st;

    for (;;) {
        netfront_tx_reclaim(nf);
        netfront_poll(nf, NULL, NULL);      /* and throw away what arrives */
        answered = 0;
        for (int i = 0; i < n; i++)
            answered += netfront_tx_result(nf, ids[i], &st);
        if (answered == n || monotonic_ns() >= deadline || !nf->connected)
            break;
        netfront_wait(nf, deadline);
    }
    if (!answered) {
        snprintf(out, size, "no answer in %lu ms", (unsigned long)(wait_ns / NS_PER_MS));
        return;
    }
    /* Count the statuses. */
    int okay = 0, error = 0, dropped = 0, null = 0, other = 0;
    for (int i = 0; i < n; i++) {
        if (!netfront_tx_result(nf, ids[i], &st))
            continue;
        okay += st == NETIF_RSP_OKAY;
        error += st == NETIF_RSP_ERROR;
        dropped += st == NETIF_RSP_DROPPED;
        null += st == NETIF_RSP_NULL;
        other += st != NETIF_RSP_OKAY && st != NETIF_RSP_ERROR && st != NETIF_RSP_DROPPED && st != NETIF_RSP_NULL;
    }
    if (n == 1) {
        netfront_tx_result(nf, ids[0], &st);
        snprintf(out, size, "response %d (%s)", st, status_name(st));
    } else {
        snprintf(out, size, "%d of %d slots answered: okay %d error %d dropped %d null %d other %d", answered, n, okay,
                 error, dropped, null, other);
    }
}

/* One request on a claimed buffer (whose page is filled with a broadcast ARP frame). */
static int claim(uint8_t **page, grant_ref_t *gref)
{
    int id = netfront_tx_claim(nf, page, gref);

    if (id >= 0) {
        /* A gratuitous ARP request for our own address, built by hand: what the probe sends. */
        uint8_t *f = *page;
        memset(f, 0, 64);
        memset(f, 0xff, 6);
        memcpy(f + 6, nif->mac, 6);
        put16(f + 12, ETH_P_ARP);
        put16(f + 14, 1);
        put16(f + 16, ETH_P_IP);
        f[18] = 6;
        f[19] = 4;
        put16(f + 20, 1);
        memcpy(f + 22, nif->mac, 6);
        put32(f + 28, nif->ip);
        put32(f + 38, nif->ip);
    }
    return id;
}

static void probe(const char *after)
{
    uint8_t *page;
    grant_ref_t gref;
    char out[128];
    int id = claim(&page, &gref);

    if (id < 0) {
        printk("net-hostile: probe after %s: no free tx buffer\n", after);
        return;
    }
    netif_tx_request_t req = { .gref = gref, .offset = 0, .flags = 0, .id = (uint16_t)id, .size = 60 };
    netfront_tx_push_raw(nf, &req, 1);
    await(&id, 1, out, sizeof(out));
    int st = netfront_backend_state(nf);
    printk("net-hostile: probe after %s: %s; backend state %d\n", after, out, st);
    netfront_tx_unclaim(nf, id);
}

static void single(const char *name, grant_ref_t gref_override, int use_override, uint16_t offset, uint16_t size)
{
    uint8_t *page;
    grant_ref_t gref;
    char out[128];
    int id = claim(&page, &gref);

    if (id < 0) {
        printk("net-hostile: %s: no free tx buffer\n", name);
        return;
    }
    netif_tx_request_t req = { .gref = use_override ? gref_override : gref, .offset = offset, .flags = 0,
                               .id = (uint16_t)id, .size = size };
    netfront_tx_push_raw(nf, &req, 1);
    await(&id, 1, out, sizeof(out));
    printk("net-hostile: %s (gref %u offset %u size %u): %s\n", name, req.gref, offset, size, out);
    /* An answered buffer is ours again; an unanswered one stays claimed (the backend may still read it). */
    int16_t st;
    if (netfront_tx_result(nf, id, &st))
        netfront_tx_unclaim(nf, id);
    probe(name);
}

static void chain(void)
{
    int ids[CHAIN];
    netif_tx_request_t reqs[CHAIN];
    char out[160];
    int n = 0;

    for (; n < CHAIN; n++) {
        uint8_t *page;
        grant_ref_t gref;
        if ((ids[n] = claim(&page, &gref)) < 0)
            break;
        reqs[n] = (netif_tx_request_t){ .gref = gref, .offset = 0, .flags = NETTXF_more_data, .id = (uint16_t)ids[n],
                                        .size = n ? 100 : 100 * CHAIN };
    }
    if (n < CHAIN) {
        printk("net-hostile: chain: only %d free tx buffers\n", n);
        for (int i = 0; i < n; i++)
            netfront_tx_unclaim(nf, ids[i]);
        return;
    }
    /* The last keeps NETTXF_more_data too: the packet never ends. */
    netfront_tx_push_raw(nf, reqs, CHAIN);
    await(ids, CHAIN, out, sizeof(out));
    printk("net-hostile: chain of %d more_data slots (never ending): %s\n", CHAIN, out);
    int16_t st;
    for (int i = 0; i < CHAIN; i++)
        if (netfront_tx_result(nf, ids[i], &st))
            netfront_tx_unclaim(nf, ids[i]);
    probe("chain");
}

static void far_req_prod(void)
{
    netif_tx_front_ring_t *r = &nf->q[0].tx;
    RING_IDX before = r->sring->rsp_prod;
    RING_IDX bogus = r->req_prod_pvt + 0x40000000u;

    __atomic_store_n(&r->sring->req_prod, bogus, __ATOMIC_SEQ_CST);
    evtchn_send(nf->q[0].port);
    uint64_t deadline = monotonic_ns() + wait_ns;
    while (monotonic_ns() < deadline && nf->connected) {
        netfront_tx_reclaim(nf);
        netfront_wait(nf, deadline);
    }
    RING_IDX after = r->sring->rsp_prod;
    printk("net-hostile: req_prod %#x (%#x beyond what we queued): rsp_prod %#x -> %#x, bad responses %lu, "
           "backend state %d\n",
           bogus, bogus - r->req_prod_pvt, before, after, (unsigned long)nf->st.bad_responses,
           netfront_backend_state(nf));
}

static const char *run(const char *cmdline, char *why)
{
    if (!(nif = net_up(cmdline, 0, why)))
        return why;
    nf = nif->dev;
    wait_ns = cmdline_u64(cmdline, "wait", 500) * NS_PER_MS;
    probe("connecting");
    single("bad-gref-unused", GNTTAB_ENTRIES - 1, 1, 0, 60);
    single("bad-gref-huge", 0x7ffffff0u, 1, 0, 60);
    single("offset-past-page", 0, 0, 4000, 1000);
    single("size-0", 0, 0, 0, 0);
    single("size-65535", 0, 0, 0, 65535);
    chain();
    far_req_prod();
    printk("net-hostile: done; tx-errors %lu bad-responses %lu\n", (unsigned long)nf->st.tx_errors,
           (unsigned long)nf->st.bad_responses);
    return NULL;
}

const struct test test_net_hostile = { "net-hostile", run };
