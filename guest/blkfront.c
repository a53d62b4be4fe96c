#include <stdbool.h>
#include "blkfront.h"
#include "console.h"
#include "events.h"
#include "gnttab.h"
#include "shared_info.h"
#include "tests/tests.h"
#include "time.h"
#include "xenbus.h"
#include "xerrno.h"

struct blkfront blkfronts[BF_MAX_DEVS];

static uint8_t ring_pages[BF_MAX_DEVS][BF_MAX_QUEUES][1 << BF_MAX_RING_ORDER][4096] __attribute__((aligned(4096)));
static uint8_t buf_pages[BF_MAX_DEVS][BF_BUFS][4096] __attribute__((aligned(4096)));

#define FAIL(...) do { snprintf(why, WHY_SIZE, __VA_ARGS__); return why; } while (0)

/* Counted notifications: blk-bench prints how many the data path needed. */
static void notify(struct blkfront *bf, evtchn_port_t port)
{
    bf->st.notifies++;
    evtchn_send(port);
}

/* Every queue's pending bit taken, each counted as an event from the backend. */
static void take_events(struct blkfront *bf)
{
    for (unsigned int i = 0; i < bf->nr_queues; i++)
        if (bf->q[i].port && evtchn_pending(bf->q[i].port)) {
            evtchn_clear(bf->q[i].port);
            bf->st.events++;
        }
}

/* Whether responses wait on r.  Sleeping, the event index is set so the backend notifies us;
 * polling, it is left behind so the backend need not. */
static int responses_wait(struct blkfront *bf, blkif_front_ring_t *r)
{
    int more;

    if (bf->opt.poll)
        return RING_HAS_UNCONSUMED_RESPONSES(r) != 0;
    RING_FINAL_CHECK_FOR_RESPONSES(r, more);
    return more;
}

struct blkfront *blkfront_get(unsigned int devid)
{
    for (int i = 0; i < BF_MAX_DEVS; i++)
        if (blkfronts[i].connected && blkfronts[i].devid == devid)
            return &blkfronts[i];
    return NULL;
}

struct blkfront *blkfront_slot(void)
{
    for (int i = 0; i < BF_MAX_DEVS; i++)
        if (!blkfronts[i].connected && !blkfronts[i].granted)
            return &blkfronts[i];
    return NULL;
}

const char *blkif_status_name(int16_t s)
{
    switch (s) {
    case BLKIF_RSP_OKAY: return "OKAY";
    case BLKIF_RSP_ERROR: return "ERROR";
    case BLKIF_RSP_EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "?";
    }
}

int blkfront_first_devid(void)
{
    char list[256];
    int len = xs_directory(0, "device/vbd", list, sizeof(list));

    if (len < 0)
        return len;
    for (int i = 0; i < len; i += (int)strlen(list + i) + 1) {
        const char *p = list + i;
        uint64_t d = 0;
        if (!*p)
            continue;
        for (; *p >= '0' && *p <= '9' && d < (1ull << 31); p++)
            d = d * 10 + (uint64_t)(*p - '0');
        if (!*p && d < (1ull << 31))
            return (int)d;
    }
    return -ENOENT;
}

void blkfront_devname(unsigned int devid, char *buf, size_t size)
{
    char letters[4];
    unsigned int disk;

    if ((devid >> 8) == 202 && !(devid & 0xf))
        disk = (devid >> 4) & 0xf;
    else if ((devid >> 28) == 1 && !(devid & 0xff))
        disk = (devid >> 8) & 0xfffff;
    else {
        snprintf(buf, size, "vbd%u", devid);
        return;
    }
    /* xvda..xvdz, xvdaa..: bijective base 26. */
    int n = 0;
    unsigned int d = disk + 1;
    while (d && n < 3) {
        letters[n++] = (char)('a' + (d - 1) % 26);
        d = (d - 1) / 26;
    }
    char rev[4];
    for (int i = 0; i < n; i++)
        rev[i] = letters[n - 1 - i];
    rev[n] = '\0';
    snprintf(buf, size, "xvd%s", rev);
}

int blkfront_backend_state(struct blkfront *bf)
{
    char path[128];
    uint64_t v;

    snprintf(path, sizeof(path), "%s/state", bf->backend);
    int rc = xs_read_u64(0, path, &v);
    return rc ? rc : (int)v;
}

static int wait_backend_state(struct blkfront *bf, int want, uint64_t deadline)
{
    char path[128], ev[128], tok[16];
    int st;

    snprintf(path, sizeof(path), "%s/state", bf->backend);
    xs_watch(path, "bf-be-state");
    for (;;) {
        st = blkfront_backend_state(bf);
        if (st >= want)
            break;
        if (xs_read_watch(ev, sizeof(ev), tok, sizeof(tok), deadline)) {
            st = blkfront_backend_state(bf);
            break;
        }
    }
    xs_unwatch(path, "bf-be-state");
    return st;
}

static uint64_t be_u64(struct blkfront *bf, const char *key, uint64_t dflt)
{
    char path[128];
    uint64_t v;

    snprintf(path, sizeof(path), "%s/%s", bf->backend, key);
    return xs_read_u64(0, path, &v) ? dflt : v;
}

/* One queue's ring refs and port, under dir (the device's node, or its queue-N). */
static int publish_queue(xs_tx_t t, struct blkfront *bf, const struct blkfront_queue *q, const char *dir,
                         char *path, size_t size)
{
    char val[24];
    int rc = 0;

    for (unsigned int k = 0; k < (1u << bf->ring_order) && !rc; k++) {
        if (bf->ring_order)
            snprintf(path, size, "%s/ring-ref%u", dir, k);
        else
            snprintf(path, size, "%s/ring-ref", dir);
        snprintf(val, sizeof(val), "%d", q->ring_ref[k]);
        rc = xs_write(t, path, val);
    }
    if (!rc) {
        snprintf(path, size, "%s/event-channel", dir);
        snprintf(val, sizeof(val), "%u", q->port);
        rc = xs_write(t, path, val);
    }
    return rc;
}

static const char *publish(struct blkfront *bf, char *why)
{
    char path[96], val[24], dir[48];
    int rc = -EAGAIN;

    for (int attempt = 0; attempt < 10 && rc == -EAGAIN; attempt++) {
        xs_tx_t t;
        if ((rc = xs_transaction_start(&t)))
            FAIL("blkfront: transaction_start: %s", errno_name(rc));
        if (bf->nr_queues == 1) {
            rc = publish_queue(t, bf, &bf->q[0], bf->nodename, path, sizeof(path));
        } else {
            snprintf(path, sizeof(path), "%s/multi-queue-num-queues", bf->nodename);
            snprintf(val, sizeof(val), "%u", bf->nr_queues);
            rc = xs_write(t, path, val);
            for (unsigned int i = 0; i < bf->nr_queues && !rc; i++) {
                snprintf(dir, sizeof(dir), "%s/queue-%u", bf->nodename, i);
                rc = publish_queue(t, bf, &bf->q[i], dir, path, sizeof(path));
            }
        }
        /* The device-wide keys, ring-page-order only for a ring of several pages. */
        snprintf(val, sizeof(val), "%u", bf->ring_order);
        const struct { const char *key, *val; } top[] = {
            { "protocol", XEN_IO_PROTO_ABI_X86_64 }, { "feature-persistent", "1" }, { "ring-page-order", val },
        };
        for (unsigned int k = 0; k < (bf->ring_order ? 3u : 2u) && !rc; k++) {
            snprintf(path, sizeof(path), "%s/%s", bf->nodename, top[k].key);
            rc = xs_write(t, path, top[k].val);
        }
        if (rc) {
            xs_transaction_end(t, 1);
            FAIL("blkfront: writing %s: %s", path, errno_name(rc));
        }
        rc = xs_transaction_end(t, 0);
    }
    if (rc)
        FAIL("blkfront: committing the ring details: %s", errno_name(rc));
    snprintf(path, sizeof(path), "%s/state", bf->nodename);
    if ((rc = xs_write(0, path, "3")))
        FAIL("blkfront: writing %s: %s", path, errno_name(rc));
    return NULL;
}

static void release(struct blkfront *bf)
{
    for (int i = 0; i < BF_BUFS; i++)
        if (bf->gref[i])
            gnttab_end_access(bf->gref[i]);
    for (unsigned int q = 0; q < BF_MAX_QUEUES; q++) {
        for (int i = 0; i < (1 << BF_MAX_RING_ORDER); i++)
            if (bf->q[q].ring_ref[i] > 0)
                gnttab_end_access((grant_ref_t)bf->q[q].ring_ref[i]);
        if (bf->q[q].port)
            evtchn_close(bf->q[q].port);
    }
    bf->connected = 0;
    bf->granted = 0;
}

/* From the backend's InitWait to Connected: a fresh ring, buffers granted, a port, published, the
 * disk's parameters read.  At first connect and again in a new domain after a suspend. */
static const char *connect(struct blkfront *bf, uint64_t deadline, uint64_t timeout_s, char *why)
{
    char path[128];
    int rc;

    int st = wait_backend_state(bf, XenbusStateInitWait, deadline);
    if (st < 0)
        FAIL("blkfront: backend state %s/state: %s", bf->backend, errno_name(st));
    if (st < XenbusStateInitWait)
        FAIL("blkfront: backend still in state %d after %lu s (InitWait awaited)", st, (unsigned long)timeout_s);
    if (st > XenbusStateConnected)
        FAIL("blkfront: backend is in state %d (closing/closed) before we connected", st);

    uint64_t max_order = be_u64(bf, "max-ring-page-order", 0);
    bf->ring_order = max_order > BF_MAX_RING_ORDER ? BF_MAX_RING_ORDER : (unsigned int)max_order;
    size_t ring_bytes = (size_t)4096 << bf->ring_order;

    /* Queues: as many as the backend takes, up to ours (read again at each connect). */
    uint64_t max_queues = (bf->opt.features & BF_FEAT_MQ) ? be_u64(bf, "multi-queue-max-queues", 1) : 1;
    bf->nr_queues = max_queues < 1 ? 1 : max_queues > BF_MAX_QUEUES ? BF_MAX_QUEUES : (unsigned int)max_queues;
    bf->next_q = 0;

    bf->granted = 1;
    for (unsigned int q = 0; q < bf->nr_queues; q++) {
        struct blkfront_queue *bq = &bf->q[q];
        memset(bq->ring_page, 0, ring_bytes);
        blkif_sring_t *sring = (blkif_sring_t *)bq->ring_page;
        SHARED_RING_INIT(sring);
        FRONT_RING_INIT(&bq->ring, sring, ring_bytes);
        for (unsigned int i = 0; i < (1u << bf->ring_order); i++)
            if ((bq->ring_ref[i] = gnttab_grant_access(bf->backend_id, virt_to_pfn(bq->ring_page + 4096 * i), false)) < 0)
                FAIL("blkfront: no grant ref for queue %u's ring page %u", q, i);
        if ((rc = evtchn_alloc_unbound(bf->backend_id, &bq->port)))
            FAIL("blkfront: EVTCHNOP_alloc_unbound for domain %u (queue %u): %s", bf->backend_id, q, errno_name(rc));
        evtchn_mask(bq->port);  /* we only SCHEDOP_poll on it */
    }
    for (int i = 0; i < BF_BUFS; i++) {
        int ref = gnttab_grant_access(bf->backend_id, virt_to_pfn(bf->bufs[i]), false);
        if (ref < 0)
            FAIL("blkfront: no grant ref for buffer page %d", i);
        bf->gref[i] = (grant_ref_t)ref;
    }

    const char *fail = publish(bf, why);
    if (fail)
        return fail;
    st = wait_backend_state(bf, XenbusStateConnected, deadline);
    if (st != XenbusStateConnected) {
        char err[96] = "";
        snprintf(path, sizeof(path), "%s/error", bf->backend);
        if (xs_read(0, path, err, sizeof(err)) < 0)
            err[0] = '\0';
        FAIL("blkfront: backend %s in state %d, not Connected (4), after we published our ring%s%s", bf->backend, st,
             err[0] ? ": " : "", err);
    }

    /* The disk's parameters, written by the backend before it went Connected. */
    snprintf(path, sizeof(path), "%s/sectors", bf->backend);
    if ((rc = xs_read_u64(0, path, &bf->sectors)))
        FAIL("blkfront: reading %s: %s", path, errno_name(rc));
    bf->sector_size = (unsigned int)be_u64(bf, "sector-size", 512);
    if (bf->sector_size < 512 || bf->sector_size > 65536 || (bf->sector_size & (bf->sector_size - 1)))
        FAIL("blkfront: %s/sector-size is %u, not a power of two from 512", bf->backend, bf->sector_size);
    bf->sectors512 = bf->sectors * (bf->sector_size / 512);
    bf->info = (unsigned int)be_u64(bf, "info", 0);
    char mode[8] = "";
    snprintf(path, sizeof(path), "%s/mode", bf->backend);
    if (xs_read(0, path, mode, sizeof(mode)) < 0)
        mode[0] = '\0';
    bf->ro = (bf->info & VDISK_READONLY) || !strcmp(mode, "r");
    bf->feat_flush = be_u64(bf, "feature-flush-cache", 0) == 1;
    bf->feat_barrier = be_u64(bf, "feature-barrier", 0) == 1;
    bf->feat_discard = be_u64(bf, "feature-discard", 0) == 1;

    snprintf(path, sizeof(path), "%s/state", bf->nodename);
    if ((rc = xs_write(0, path, "4")))
        FAIL("blkfront: writing %s: %s", path, errno_name(rc));
    bf->connected = 1;
    return NULL;
}

static const char *init(struct blkfront *bf, unsigned int devid, uint64_t timeout_s,
                        const struct blkfront_options *opt, char *why)
{
    char path[128];
    int rc;

    memset(bf, 0, sizeof(*bf));
    bf->opt = *opt;
    unsigned int slot = (unsigned int)(bf - blkfronts);
    for (unsigned int q = 0; q < BF_MAX_QUEUES; q++)
        bf->q[q].ring_page = ring_pages[slot][q][0];
    bf->bufs = buf_pages[slot];
    bf->devid = devid;
    blkfront_devname(devid, bf->name, sizeof(bf->name));
    snprintf(bf->nodename, sizeof(bf->nodename), "device/vbd/%u", devid);
    uint64_t deadline = monotonic_ns() + timeout_s * NS_PER_S;

    snprintf(path, sizeof(path), "%s/backend", bf->nodename);
    xs_watch(path, "bf-backend");
    while ((rc = xs_read(0, path, bf->backend, sizeof(bf->backend))) < 0) {
        char ev[128], tok[16];
        if (xs_read_watch(ev, sizeof(ev), tok, sizeof(tok), deadline)) {
            xs_unwatch(path, "bf-backend");
            FAIL("blkfront: no %s in xenstore (%s): is a disk configured?", path, errno_name(rc));
        }
    }
    xs_unwatch(path, "bf-backend");
    if (bf->backend[0] != '/')
        FAIL("blkfront: %s is '%s', not an absolute path", path, bf->backend);
    uint64_t beid = 0;
    snprintf(path, sizeof(path), "%s/backend-id", bf->nodename);
    if ((rc = xs_read_u64(0, path, &beid)) && rc != -ENOENT)
        FAIL("blkfront: reading %s: %s", path, errno_name(rc));
    if (beid >= DOMID_FIRST_RESERVED)
        FAIL("blkfront: %s is %lu", path, (unsigned long)beid);
    bf->backend_id = (domid_t)beid;

    return connect(bf, deadline, timeout_s, why);
}

const char *blkfront_init_opts(struct blkfront *bf, unsigned int devid, uint64_t timeout_s,
                               const struct blkfront_options *opt, char *why)
{
    if (bf->connected || bf->granted)
        FAIL("blkfront: slot in use");
    const char *fail = init(bf, devid, timeout_s, opt, why);
    if (fail && bf->granted)
        release(bf);
    return fail;
}

const char *blkfront_init(struct blkfront *bf, unsigned int devid, uint64_t timeout_s, char *why)
{
    return blkfront_init_opts(bf, devid, timeout_s, &(struct blkfront_options){ .features = BF_FEAT_ALL }, why);
}

/* Forgets the connection without telling anyone: in a new domain its grants are void and its
 * port is closed (the number may already be someone else's), so nothing is revoked or closed.
 * Requests still in flight are answered here with BLKIF_RSP_ERROR (lost with the old backend). */
static void forget(struct blkfront *bf)
{
    for (int t = 0; t < BF_TAGS; t++) {
        if (bf->tag_state[t] != 1)
            continue;
        bf->tag_state[t] = 2;
        bf->tag_status[t] = BLKIF_RSP_ERROR;
        bf->st.errors++;
        bf->st.lost_in_resume++;
    }
    memset(bf->gref, 0, sizeof(bf->gref));
    for (unsigned int q = 0; q < BF_MAX_QUEUES; q++) {
        memset(bf->q[q].ring_ref, 0, sizeof(bf->q[q].ring_ref));
        bf->q[q].port = 0;
    }
    bf->broken = 0;
    bf->connected = 0;
    bf->granted = 0;
}

const char *blkfront_resume(struct blkfront *bf, uint64_t timeout_s, char *why)
{
    if (!bf->connected)
        return NULL;
    forget(bf);
    const char *fail = connect(bf, monotonic_ns() + timeout_s * NS_PER_S, timeout_s, why);
    if (fail && bf->granted)
        release(bf);
    return fail;
}

unsigned int blkfront_quiesce(struct blkfront *bf, uint64_t deadline_ns)
{
    for (;;) {
        unsigned int busy = 0;
        blkfront_reap(bf);
        for (int t = 0; t < BF_TAGS; t++)
            busy += bf->tag_state[t] == 1;
        if (!busy || !bf->connected || bf->broken || monotonic_ns() >= deadline_ns)
            return busy;
        blkfront_sleep(bf, deadline_ns);
    }
}

void blkfront_close(struct blkfront *bf)
{
    char path[64];

    if (!bf->connected && !bf->granted)
        return;
    bf->connected = 0;
    snprintf(path, sizeof(path), "%s/state", bf->nodename);
    xs_write(0, path, "5");
    xs_write(0, path, "6");
    release(bf);
}

uint8_t *blkfront_slice(struct blkfront *bf, unsigned int slice)
{
    return slice < BF_SLICES ? bf->bufs[slice * BF_SEGS] : NULL;
}

int blkfront_tag_claim(struct blkfront *bf)
{
    unsigned int size = RING_SIZE(&bf->q[0].ring) * bf->nr_queues;

    for (unsigned int t = 0; t < size && t < BF_TAGS; t++)
        if (!bf->tag_state[t]) {
            bf->tag_state[t] = 1;
            bf->tag_q[t] = 0;       /* blk-hostile's raw requests go to queue 0 */
            return (int)t;
        }
    return -EAGAIN;
}

void blkfront_tag_release(struct blkfront *bf, int tag)
{
    if (tag >= 0 && tag < BF_TAGS)
        bf->tag_state[tag] = 0;
}

static void push(struct blkfront *bf, struct blkfront_queue *q)
{
    int kick = 0;

    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->ring, kick);
    if (kick)
        notify(bf, q->port);
}

/* The next queue in turn with room for a request, or NULL. */
static struct blkfront_queue *pick_queue(struct blkfront *bf)
{
    for (unsigned int k = 0; k < bf->nr_queues; k++) {
        struct blkfront_queue *q = &bf->q[(bf->next_q + k) % bf->nr_queues];
        if (!RING_FULL(&q->ring)) {
            bf->next_q = (bf->next_q + k + 1) % bf->nr_queues;
            return q;
        }
    }
    return NULL;
}

int blkfront_start(struct blkfront *bf, uint8_t op, uint64_t sector, unsigned int nsect, unsigned int slice)
{
    if (slice >= BF_SLICES)
        return -EINVAL;
    return blkfront_start_at(bf, op, sector, nsect, slice * BF_SEGS);
}

int blkfront_start_at(struct blkfront *bf, uint8_t op, uint64_t sector, unsigned int nsect, unsigned int first_page)
{
    if (!bf->connected || bf->broken)
        return -ENODEV;
    if (nsect > BF_SLICE_SECTORS || first_page + (nsect + 7) / 8 > BF_BUFS)
        return -EINVAL;
    if ((op == BLKIF_OP_READ || op == BLKIF_OP_WRITE) && !nsect)
        return -EINVAL;
    struct blkfront_queue *q = pick_queue(bf);
    if (!q)
        return -EAGAIN;
    int tag = blkfront_tag_claim(bf);
    if (tag < 0)
        return tag;
    blkif_request_t *req = RING_GET_REQUEST(&q->ring, q->ring.req_prod_pvt);
    q->ring.req_prod_pvt++;
    q->requests++;
    bf->tag_q[tag] = (uint8_t)(q - bf->q);
    req->operation = op;
    req->handle = (blkif_vdev_t)bf->devid;
    req->id = (uint64_t)tag;
    req->sector_number = sector;
    unsigned int segs = (nsect + 7) / 8;
    req->nr_segments = (uint8_t)segs;
    for (unsigned int i = 0; i < segs; i++) {
        unsigned int n = nsect - i * 8 < 8 ? nsect - i * 8 : 8;
        req->seg[i].gref = bf->gref[first_page + i];
        req->seg[i].first_sect = 0;
        req->seg[i].last_sect = (uint8_t)(n - 1);
    }
    bf->tag_op[tag] = op;
    bf->st.requests++;
    push(bf, q);
    return tag;
}

int blkfront_start_discard(struct blkfront *bf, uint64_t sector, uint64_t nsect)
{
    if (!bf->connected || bf->broken)
        return -ENODEV;
    struct blkfront_queue *q = pick_queue(bf);
    if (!q)
        return -EAGAIN;
    int tag = blkfront_tag_claim(bf);
    if (tag < 0)
        return tag;
    blkif_request_discard_t *req = (blkif_request_discard_t *)RING_GET_REQUEST(&q->ring, q->ring.req_prod_pvt);
    q->ring.req_prod_pvt++;
    q->requests++;
    bf->tag_q[tag] = (uint8_t)(q - bf->q);
    memset(req, 0, sizeof(blkif_request_t));
    req->operation = BLKIF_OP_DISCARD;
    req->flag = 0;
    req->handle = (blkif_vdev_t)bf->devid;
    req->id = (uint64_t)tag;
    req->sector_number = sector;
    req->nr_sectors = nsect;
    bf->tag_op[tag] = BLKIF_OP_DISCARD;
    bf->st.requests++;
    push(bf, q);
    return tag;
}

int blkfront_push_raw(struct blkfront *bf, const void *reqs, unsigned int n)
{
    const blkif_request_t *r = reqs;
    unsigned int i;

    struct blkfront_queue *q = &bf->q[0];

    for (i = 0; i < n && !RING_FULL(&q->ring); i++) {
        *RING_GET_REQUEST(&q->ring, q->ring.req_prod_pvt) = r[i];
        q->ring.req_prod_pvt++;
        bf->st.requests++;
    }
    push(bf, q);
    return (int)i;
}

/* One queue's responses; 0 if its producer jumped (the device is then broken). */
static int reap_queue(struct blkfront *bf, unsigned int qi, int *answered)
{
    blkif_front_ring_t *r = &bf->q[qi].ring;

    do {
        RING_IDX prod = r->sring->rsp_prod;
        xen_rmb();
        /* A jump past what we could have asked for is a protocol error: stop reading the ring. */
        if (prod - r->rsp_cons > r->req_prod_pvt - r->rsp_cons) {
            if (!bf->broken)
                printk("blkfront: %s: backend's rsp_prod %u on queue %u is beyond our requests (rsp_cons %u, "
                       "req_prod %u)\n", bf->name, prod, qi, r->rsp_cons, r->req_prod_pvt);
            bf->st.bad_responses++;
            bf->broken = 1;
            return 0;
        }
        for (RING_IDX i = r->rsp_cons; i != prod; i++) {
            blkif_response_t rsp = *RING_GET_RESPONSE(r, i);
            bf->st.responses++;
            if (rsp.id >= BF_TAGS || bf->tag_state[rsp.id] != 1 || bf->tag_q[rsp.id] != qi) {
                bf->st.bad_responses++;
                continue;
            }
            bf->tag_state[rsp.id] = 2;
            bf->tag_status[rsp.id] = rsp.status;
            if (rsp.status != BLKIF_RSP_OKAY)
                bf->st.errors++;
            (*answered)++;
        }
        r->rsp_cons = prod;
    } while (responses_wait(bf, r));
    return 1;
}

int blkfront_reap(struct blkfront *bf)
{
    int answered = 0;

    if (!bf->connected && !bf->granted)
        return 0;
    for (unsigned int q = 0; q < bf->nr_queues; q++)
        if (!reap_queue(bf, q, &answered))
            break;
    return answered;
}

int blkfront_tag_result(struct blkfront *bf, int tag, int16_t *status)
{
    if (tag < 0 || tag >= BF_TAGS || bf->tag_state[tag] != 2)
        return 0;
    *status = bf->tag_status[tag];
    bf->tag_state[tag] = 0;
    return 1;
}

int blkfront_sleep(struct blkfront *bf, uint64_t deadline_ns)
{
    evtchn_port_t ports[BF_MAX_QUEUES];

    if (!bf->connected)
        return -ENODEV;
    take_events(bf);
    xen_mb();
    for (unsigned int q = 0; q < bf->nr_queues; q++) {
        if (responses_wait(bf, &bf->q[q].ring))
            return 0;
        ports[q] = bf->q[q].port;
    }
    if (!bf->opt.poll)
        return evtchn_wait(ports, bf->nr_queues, deadline_ns);
    for (;;) {                  /* polling: no sleep, no event index */
        for (unsigned int q = 0; q < bf->nr_queues; q++)
            if (RING_HAS_UNCONSUMED_RESPONSES(&bf->q[q].ring))
                return 0;
        if (deadline_ns && monotonic_ns() >= deadline_ns)
            return -ETIMEDOUT;
    }
}

int blkfront_wait(struct blkfront *bf, int tag, uint64_t deadline_ns, int16_t *status)
{
    for (;;) {
        blkfront_reap(bf);
        if (blkfront_tag_result(bf, tag, status))
            return 0;
        if (!bf->connected || bf->broken)
            return -ENODEV;
        if (deadline_ns && monotonic_ns() >= deadline_ns)
            return -ETIMEDOUT;
        blkfront_sleep(bf, deadline_ns);
    }
}

int blkfront_io(struct blkfront *bf, uint8_t op, uint64_t sector, unsigned int nsect, uint64_t timeout_ns)
{
    uint64_t deadline = monotonic_ns() + timeout_ns;
    int tag;
    int16_t status;

    while ((tag = blkfront_start(bf, op, sector, nsect, 0)) == -EAGAIN) {
        blkfront_reap(bf);
        if (monotonic_ns() >= deadline)
            return -ETIMEDOUT;
        blkfront_sleep(bf, deadline);
    }
    if (tag < 0)
        return tag;
    int rc = blkfront_wait(bf, tag, deadline, &status);
    return rc ? rc : status;
}

int blkfront_flush(struct blkfront *bf, uint64_t timeout_ns)
{
    if (bf->feat_flush)
        return blkfront_io(bf, BLKIF_OP_FLUSH_DISKCACHE, 0, 0, timeout_ns);
    if (bf->feat_barrier)
        return blkfront_io(bf, BLKIF_OP_WRITE_BARRIER, 0, 0, timeout_ns);
    return -ENOSYS;
}
