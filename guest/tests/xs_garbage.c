/*
 * `xs-garbage [mode=len|indices|type] [wait=MS] [hold=S]`: a domain that corrupts its own xenstore ring, to
 * show xenstored survives it (tests/system/pv.sh watches xenstored and other domains meanwhile).
 * Two valid requests first (a write and a read back), then, behind the client's back:
 *   len      (default) a request header with len > XENSTORE_PAYLOAD_MAX and a few payload bytes;
 *   indices  req_prod moved far beyond req_cons + XENSTORE_RING_SIZE;
 *   type     a well-framed request of type 0xffff with a short payload.
 * Then a kick, and up to wait= ms (500) for what xenstored does: the page's `error` field set, or a
 * reply on the response ring (peeked, not consumed), or nothing.  Prints `xs-garbage: xenstored
 * answered WHAT`, stays up hold= seconds (0) with its broken ring, so that other domains can use
 * xenstored meanwhile, and passes: the test's only job is to misbehave without crashing itself.
 */
#include <stddef.h>
#include "cmdline.h"
#include "console.h"
#include "events.h"
#include "klib.h"
#include "pv.h"
#include "tests/tests.h"
#include "time.h"
#include "xenbus.h"
#include "xerrno.h"

static const char *error_name(uint32_t e)
{
    switch (e) {
    case XENSTORE_ERROR_NONE: return "NONE";
    case XENSTORE_ERROR_COMM: return "COMM";
    case XENSTORE_ERROR_RINGIDX: return "RINGIDX";
    case XENSTORE_ERROR_PROTO: return "PROTO";
    default: return "unknown";
    }
}

/* Copies len bytes onto the request ring at req_prod (the caller checked the space). */
static void put(volatile struct xenstore_domain_interface *r, XENSTORE_RING_IDX *prod, const void *data,
                size_t len)
{
    const char *p = data;

    for (size_t i = 0; i < len; i++, (*prod)++)
        r->req[MASK_XENSTORE_IDX(*prod)] = p[i];
}

/* Copies len bytes of the response ring from index at, without consuming them. */
static void peek(volatile struct xenstore_domain_interface *r, XENSTORE_RING_IDX at, void *dst, size_t len)
{
    char *d = dst;

    for (size_t i = 0; i < len; i++)
        d[i] = r->rsp[MASK_XENSTORE_IDX(at + i)];
}

static bool answered(volatile struct xenstore_domain_interface *r, XENSTORE_RING_IDX rsp_seen)
{
    return r->error != XENSTORE_ERROR_NONE || r->rsp_prod != rsp_seen;
}

static const char *run(const char *cmdline, char *why)
{
    const char *fail;
    char mode[16] = "len", buf[64];
    int rc;

    if ((fail = pv_need("xenstore", pv_status.xenbus, why)))
        return fail;
    cmdline_get(cmdline, "mode", mode, sizeof(mode));
    if (strcmp(mode, "len") && strcmp(mode, "indices") && strcmp(mode, "type")) {
        snprintf(why, WHY_SIZE, "unknown mode '%s' (len, indices or type)", mode);
        return why;
    }
    /* A request or two by the rules first: the ring is in use when it is corrupted. */
    if ((rc = xs_write(0, "data/garbage", "before")) || (rc = xs_read(0, "data/garbage", buf, sizeof(buf))) < 0) {
        snprintf(why, WHY_SIZE, "valid requests before the garbage: %s (%d)", errno_name(rc), rc);
        return why;
    }
    if (strcmp(buf, "before")) {
        snprintf(why, WHY_SIZE, "read back '%s', not 'before'", buf);
        return why;
    }

    volatile struct xenstore_domain_interface *r = xenbus_ring();
    /* The client consumed every reply; from here on a reply means one to the garbage. */
    XENSTORE_RING_IDX rsp_seen = r->rsp_prod;
    XENSTORE_RING_IDX prod = r->req_prod;
    if (r->rsp_cons != rsp_seen || r->req_cons != prod) {
        snprintf(why, WHY_SIZE, "ring not idle: req %u/%u rsp %u/%u", r->req_cons, prod, r->rsp_cons, rsp_seen);
        return why;
    }
    printk("xs-garbage: mode %s after 2 valid requests (req_prod %u, server_features %#x)\n", mode, prod,
           r->server_features);
    static const char payload[] = "data/garbage\0";
    struct xsd_sockmsg hdr = { .type = XS_READ, .req_id = 0x6a6a, .tx_id = 0 };
    if (!strcmp(mode, "len")) {
        hdr.len = XENSTORE_PAYLOAD_MAX + 1000;
        put(r, &prod, &hdr, sizeof(hdr));
        put(r, &prod, payload, sizeof(payload));
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        r->req_prod = prod;
    } else if (!strcmp(mode, "indices")) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        r->req_prod = r->req_cons + 64 * XENSTORE_RING_SIZE + 123;
    } else {
        hdr.type = 0xffff;
        hdr.len = sizeof(payload);
        put(r, &prod, &hdr, sizeof(hdr));
        put(r, &prod, payload, sizeof(payload));
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        r->req_prod = prod;
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    xenbus_notify();

    uint64_t wait_ms = cmdline_u64(cmdline, "wait", 500);
    uint64_t deadline = monotonic_ns() + wait_ms * NS_PER_MS;
    evtchn_port_t port = (evtchn_port_t)xenbus_evtchn;
    while (!answered(r, rsp_seen)) {
        evtchn_clear(port);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (answered(r, rsp_seen) || evtchn_wait(&port, 1, deadline))
            break;
    }
    /* A little longer, so that both an error and a reply can show. */
    uint64_t settle = monotonic_ns() + 50 * NS_PER_MS;
    while (evtchn_wait(NULL, 0, settle) != -XEN_ETIMEDOUT)
        ;

    char what[160];
    uint32_t err = r->error;
    XENSTORE_RING_IDX rsp_prod = r->rsp_prod;
    int n = 0;
    if (err != XENSTORE_ERROR_NONE)
        n = snprintf(what, sizeof(what), "ring error %s (%u)", error_name(err), err);
    if (rsp_prod - rsp_seen >= sizeof(struct xsd_sockmsg) && rsp_prod - rsp_seen <= XENSTORE_RING_SIZE) {
        struct xsd_sockmsg rh;
        char body[32] = "";
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        peek(r, rsp_seen, &rh, sizeof(rh));
        uint32_t have = rsp_prod - rsp_seen - (uint32_t)sizeof(rh);
        uint32_t blen = rh.len < have ? rh.len : have;
        blen = blen < sizeof(body) - 1 ? blen : (uint32_t)sizeof(body) - 1;
        peek(r, rsp_seen + (XENSTORE_RING_IDX)sizeof(rh), body, blen);
        body[blen] = '\0';
        n += snprintf(what + n, sizeof(what) - (size_t)n, "%sa reply of type %u%s (req_id %#x, len %u) '%s'",
                      n ? " and " : "", rh.type, rh.type == XS_ERROR ? " (XS_ERROR)" : "", rh.req_id, rh.len,
                      body);
    } else if (rsp_prod != rsp_seen) {
        n += snprintf(what + n, sizeof(what) - (size_t)n, "%s%u bytes of a reply", n ? " and " : "",
                      rsp_prod - rsp_seen);
    }
    if (!n)
        snprintf(what, sizeof(what), "nothing (no error, no reply within %lu ms)", (unsigned long)wait_ms);
    printk("xs-garbage: xenstored answered %s\n", what);
    uint64_t hold = cmdline_u64(cmdline, "hold", 0);
    if (hold) {
        printk("xs-garbage: holding %lu s\n", (unsigned long)hold);
        uint64_t until = monotonic_ns() + hold * NS_PER_S;
        while (evtchn_wait(NULL, 0, until) != -XEN_ETIMEDOUT)
            ;
    }
    return NULL;
}

const struct test test_xs_garbage = { "xs-garbage", run };
