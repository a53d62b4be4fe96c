#include <stdbool.h>
#include "events.h"
#include "klib.h"
#include "shared_info.h"
#include "time.h"
#include "xenbus.h"
#include "xerrno.h"

#define REPLY_TIMEOUT_NS (10 * NS_PER_S)
#define WATCH_QUEUE      16
#define WATCH_EVENT_MAX  256

uint64_t xenbus_evtchn;
static volatile struct xenstore_domain_interface *ring;
static uint32_t next_req_id = 1;

struct watch_event {
    uint32_t len;
    char body[WATCH_EVENT_MAX];     /* "path\0token\0", truncated */
};
static struct watch_event watch_queue[WATCH_QUEUE];
static unsigned int watch_head, watch_tail;     /* head - tail = queued */
static unsigned int watch_dropped;

/* Watches set, for xenbus_resume, and the events seen for each. */
struct kept_watch {
    char path[128], token[32];
    uint64_t events;
    bool used;
};
static struct kept_watch kept[XS_WATCHES_KEPT];
static unsigned int watches_not_kept;     /* too many or too long: xenbus_resume cannot set them again */

/* The reply being read: one message at a time, up to XENSTORE_PAYLOAD_MAX. */
static char reply[XENSTORE_PAYLOAD_MAX + 1];

int xenbus_init(void)
{
    uint64_t pfn = 0, port = 0;
    int rc;

    if ((rc = hvm_get_param(HVM_PARAM_STORE_PFN, &pfn)) || (rc = hvm_get_param(HVM_PARAM_STORE_EVTCHN, &port)))
        return rc;
    if (!pfn || !port || pfn >= (1ull << 20))
        return -XEN_ENODEV;
    ring = (volatile struct xenstore_domain_interface *)(pfn << 12);
    xenbus_evtchn = port;
    return 0;
}

static void notify(void)
{
    evtchn_send((evtchn_port_t)xenbus_evtchn);
}

volatile struct xenstore_domain_interface *xenbus_ring(void)
{
    return ring;
}

void xenbus_notify(void)
{
    if (ring)
        notify();
}

/* Waits until cond() holds, sleeping on the store port: true, or false at the deadline. */
static bool wait_ring(bool (*cond)(void), uint64_t deadline)
{
    evtchn_port_t port = (evtchn_port_t)xenbus_evtchn;

    while (!cond()) {
        evtchn_clear(port);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (cond())
            break;
        if (evtchn_wait(&port, 1, deadline))
            return cond();
    }
    return true;
}

static bool req_space(void)
{
    return ring->req_prod - ring->req_cons < XENSTORE_RING_SIZE;
}

static int write_ring(const void *data, size_t len, uint64_t deadline)
{
    const char *p = data;

    while (len) {
        if (!wait_ring(req_space, deadline))
            return -XEN_ETIMEDOUT;
        XENSTORE_RING_IDX prod = ring->req_prod;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        uint32_t space = XENSTORE_RING_SIZE - (prod - ring->req_cons);
        if (space > XENSTORE_RING_SIZE)
            return -XEN_EIO;        /* xenstored moved req_cons past req_prod */
        uint32_t room = XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(prod);   /* up to the wrap */
        uint32_t n = (uint32_t)len < space ? (uint32_t)len : space;
        n = n < room ? n : room;
        memcpy((char *)ring->req + MASK_XENSTORE_IDX(prod), p, n);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);    /* data before the index (wmb) */
        ring->req_prod = prod + n;
        notify();
        p += n;
        len -= n;
    }
    return 0;
}

static uint32_t rsp_avail(void)
{
    return ring->rsp_prod - ring->rsp_cons;
}

static bool rsp_has_header(void)
{
    return rsp_avail() >= sizeof(struct xsd_sockmsg);
}

/* Reads len bytes of the response ring (waiting for them); dst may be NULL to skip. */
static int read_ring(void *dst, size_t len, uint64_t deadline)
{
    char *d = dst;

    while (len) {
        evtchn_port_t port = (evtchn_port_t)xenbus_evtchn;
        uint32_t avail;
        while (!(avail = rsp_avail())) {
            evtchn_clear(port);
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            if (rsp_avail())
                break;
            if (evtchn_wait(&port, 1, deadline) && !rsp_avail())
                return -XEN_ETIMEDOUT;
        }
        avail = rsp_avail();
        if (avail > XENSTORE_RING_SIZE)
            return -XEN_EIO;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);    /* index before data (rmb) */
        XENSTORE_RING_IDX cons = ring->rsp_cons;
        uint32_t room = XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(cons);
        uint32_t n = (uint32_t)len < avail ? (uint32_t)len : avail;
        n = n < room ? n : room;
        if (d) {
            memcpy(d, (const char *)ring->rsp + MASK_XENSTORE_IDX(cons), n);
            d += n;
        }
        __atomic_thread_fence(__ATOMIC_SEQ_CST);    /* data read before freeing it (mb) */
        ring->rsp_cons = cons + n;
        notify();
        len -= n;
    }
    return 0;
}

/* Reads one message into `reply`; watch events are queued and reported as type XS_WATCH_EVENT. */
static int read_message(struct xsd_sockmsg *hdr, uint64_t deadline)
{
    int rc;

    if (!wait_ring(rsp_has_header, deadline))
        return -XEN_ETIMEDOUT;
    if ((rc = read_ring(hdr, sizeof(*hdr), deadline)))
        return rc;
    if (hdr->len > XENSTORE_PAYLOAD_MAX)
        return -XEN_EIO;                /* a protocol violation: we cannot resynchronise */
    if ((rc = read_ring(reply, hdr->len, deadline)))
        return rc;
    reply[hdr->len] = '\0';
    if (hdr->type == XS_WATCH_EVENT) {
        size_t plen = strlen(reply);
        const char *token = plen < hdr->len ? reply + plen + 1 : "";
        for (unsigned int i = 0; i < XS_WATCHES_KEPT; i++)
            if (kept[i].used && !strcmp(kept[i].token, token))
                kept[i].events++;
        if (watch_head - watch_tail < WATCH_QUEUE) {
            struct watch_event *e = &watch_queue[watch_head++ % WATCH_QUEUE];
            e->len = hdr->len < WATCH_EVENT_MAX - 2 ? hdr->len : WATCH_EVENT_MAX - 2;
            memcpy(e->body, reply, e->len);
            e->body[e->len] = e->body[e->len + 1] = '\0';
        } else {
            watch_dropped++;
        }
    }
    return 0;
}

static int error_from_string(const char *s)
{
    for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
        if (!strcmp(s, xsd_errors[i].errstring))
            return -xsd_errors[i].errnum;
    if (!strcmp(s, "EDQUOT"))
        return -EDQUOT;
    return -XEN_EINVAL;     /* what Linux's xenbus makes of an unknown string */
}

/*
 * One request: the payload is parts[0..n) concatenated; the reply's payload goes to `reply` with
 * its length in *reply_len.  Returns 0 or -errno.
 */
static int request(uint32_t type, xs_tx_t tx, const void *const *parts, const size_t *lens, unsigned int n,
                   uint32_t *reply_len)
{
    if (!ring)
        return -XEN_ENODEV;
    size_t total = 0;
    for (unsigned int i = 0; i < n; i++)
        total += lens[i];
    if (total > XENSTORE_PAYLOAD_MAX)
        return -XEN_E2BIG;              /* never put a protocol violation on the ring */

    uint64_t deadline = monotonic_ns() + REPLY_TIMEOUT_NS;
    struct xsd_sockmsg hdr = { .type = type, .req_id = next_req_id++, .tx_id = tx, .len = (uint32_t)total };
    int rc = write_ring(&hdr, sizeof(hdr), deadline);
    for (unsigned int i = 0; !rc && i < n; i++)
        rc = write_ring(parts[i], lens[i], deadline);
    if (rc)
        return rc;
    for (;;) {
        struct xsd_sockmsg r;
        if ((rc = read_message(&r, deadline)))
            return rc;
        if (r.type == XS_WATCH_EVENT)
            continue;
        if (r.req_id != hdr.req_id)
            continue;                   /* a stale reply (an earlier request timed out) */
        if (reply_len)
            *reply_len = r.len;
        if (r.type == XS_ERROR)
            return error_from_string(reply);
        if (r.type != type)
            return -XEN_EIO;
        return 0;
    }
}

static int request_path(uint32_t type, xs_tx_t tx, const char *path, uint32_t *reply_len)
{
    const void *parts[] = { path };
    size_t lens[] = { strlen(path) + 1 };

    return request(type, tx, parts, lens, 1, reply_len);
}

static int copy_out(char *buf, size_t size, uint32_t len)
{
    if (size) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(buf, reply, n);
        buf[n] = '\0';
    }
    return (int)len;
}

int xs_read(xs_tx_t tx, const char *path, char *buf, size_t size)
{
    uint32_t len = 0;
    int rc = request_path(XS_READ, tx, path, &len);

    return rc ? rc : copy_out(buf, size, len);
}

int xs_write_len(xs_tx_t tx, const char *path, const void *value, size_t len)
{
    const void *parts[] = { path, value };
    size_t lens[] = { strlen(path) + 1, len };

    return request(XS_WRITE, tx, parts, lens, 2, NULL);
}

int xs_write(xs_tx_t tx, const char *path, const char *value)
{
    return xs_write_len(tx, path, value, strlen(value));
}

int xs_mkdir(xs_tx_t tx, const char *path)
{
    return request_path(XS_MKDIR, tx, path, NULL);
}

int xs_rm(xs_tx_t tx, const char *path)
{
    return request_path(XS_RM, tx, path, NULL);
}

int xs_directory(xs_tx_t tx, const char *path, char *buf, size_t size)
{
    uint32_t len = 0;
    int rc = request_path(XS_DIRECTORY, tx, path, &len);

    if (rc)
        return rc;
    if (size) {     /* keep whole NUL-terminated names only */
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(buf, reply, n);
        buf[n] = '\0';
    }
    return (int)len;
}

static int watch_op(uint32_t type, const char *path, const char *token)
{
    const void *parts[] = { path, token };
    size_t lens[] = { strlen(path) + 1, strlen(token) + 1 };

    return request(type, 0, parts, lens, 2, NULL);
}

static struct kept_watch *find_kept(const char *path, const char *token)
{
    for (unsigned int i = 0; i < XS_WATCHES_KEPT; i++)
        if (kept[i].used && !strcmp(kept[i].path, path) && !strcmp(kept[i].token, token))
            return &kept[i];
    return NULL;
}

int xs_watch(const char *path, const char *token)
{
    int rc = watch_op(XS_WATCH, path, token);

    if (rc || find_kept(path, token))
        return rc;
    if (strlen(path) >= sizeof(kept[0].path) || strlen(token) >= sizeof(kept[0].token)) {
        watches_not_kept++;
        return rc;
    }
    for (unsigned int i = 0; i < XS_WATCHES_KEPT; i++) {
        if (!kept[i].used) {
            kept[i] = (struct kept_watch){ .used = true };
            memcpy(kept[i].path, path, strlen(path) + 1);
            memcpy(kept[i].token, token, strlen(token) + 1);
            return rc;
        }
    }
    watches_not_kept++;
    return rc;
}

int xs_unwatch(const char *path, const char *token)
{
    struct kept_watch *k = find_kept(path, token);

    if (k)
        k->used = false;
    return watch_op(XS_UNWATCH, path, token);
}

uint64_t xs_watch_events(const char *token)
{
    uint64_t n = 0;

    for (unsigned int i = 0; i < XS_WATCHES_KEPT; i++)
        if (kept[i].used && !strcmp(kept[i].token, token))
            n += kept[i].events;
    return n;
}

int xenbus_resume(const char **failed)
{
    int rc;

    if (!ring)
        return 1;
    ring = NULL;
    *failed = "HVM_PARAM_STORE_PFN/EVTCHN";
    if ((rc = xenbus_init()))
        return rc;
    /* Linux's xb_init_comms: a response the old xenstored left half-read is nobody's now. */
    if (ring->rsp_prod != ring->rsp_cons)
        ring->rsp_cons = ring->rsp_prod;
    watch_head = watch_tail = 0;
    *failed = "watches too long or too many to remember";
    if (watches_not_kept)
        return -XEN_ENOSPC;
    for (unsigned int i = 0; i < XS_WATCHES_KEPT; i++) {
        if (!kept[i].used)
            continue;
        *failed = kept[i].path;
        if ((rc = watch_op(XS_WATCH, kept[i].path, kept[i].token)))
            return rc;
    }
    *failed = NULL;
    return 0;
}

int xs_transaction_start(xs_tx_t *tx)
{
    const void *parts[] = { "" };
    size_t lens[] = { 1 };
    uint32_t len = 0;
    int rc = request(XS_TRANSACTION_START, 0, parts, lens, 1, &len);

    if (rc)
        return rc;
    uint64_t id = 0;
    for (uint32_t i = 0; i < len && reply[i]; i++) {
        if (reply[i] < '0' || reply[i] > '9')
            return -XEN_EIO;
        id = id * 10 + (uint64_t)(reply[i] - '0');
    }
    if (!id || id > 0xffffffffu)
        return -XEN_EIO;
    *tx = (xs_tx_t)id;
    return 0;
}

int xs_transaction_end(xs_tx_t tx, int abort)
{
    const void *parts[] = { abort ? "F" : "T" };
    size_t lens[] = { 2 };

    return request(XS_TRANSACTION_END, tx, parts, lens, 1, NULL);
}

static void split_event(const struct watch_event *e, char *path, size_t path_size, char *token,
                        size_t token_size)
{
    const char *p = e->body;
    size_t plen = strlen(p);
    const char *t = plen < e->len ? p + plen + 1 : "";

    snprintf(path, path_size, "%s", p);
    snprintf(token, token_size, "%s", t);
}

int xs_read_watch(char *path, size_t path_size, char *token, size_t token_size, uint64_t deadline_ns)
{
    while (watch_head == watch_tail) {
        struct xsd_sockmsg r;
        int rc;
        if (!ring)
            return -XEN_ENODEV;
        if ((rc = read_message(&r, deadline_ns)))
            return rc;
        /* Not a watch event: a reply nobody waits for any more (its request timed out). */
    }
    split_event(&watch_queue[watch_tail++ % WATCH_QUEUE], path, path_size, token, token_size);
    return 0;
}

int xs_read_u64(xs_tx_t tx, const char *path, uint64_t *v)
{
    char buf[24];
    int rc = xs_read(tx, path, buf, sizeof(buf));

    if (rc < 0)
        return rc;
    if (!buf[0])
        return -XEN_EINVAL;
    uint64_t n = 0;
    for (const char *p = buf; *p; p++) {
        if (*p < '0' || *p > '9')
            return -XEN_EINVAL;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    *v = n;
    return 0;
}
