/*
 * `blk-hostile [vbd=N] [wait=MS] [flood=N]`: a hostile blkfront.  After connecting normally it puts
 * requests on its ring that a blkback must refuse, writes of a page of 0xee bytes aimed at sectors
 * 64..127 unless the step says otherwise: a write past the end, one straddling the end, a gref never
 * granted, a gref beyond the table, a read into a page granted read-only, nr_segments 0 and 200,
 * first_sect > last_sect, last_sect 8, an unknown operation, discards past the end and with a
 * wrapping length.  After each it waits up to wait= ms (2000) and prints `blk-hostile: STEP: response
 * S (NAME)` or `no answer in W ms`, then reads sectors 0..7 (`blk-hostile: probe after STEP: ...`) to
 * see that the backend still serves us.  Then a flood of flood= (1000) valid reads, as many in flight
 * as the ring holds, refilled as they are answered; finally req_prod 2^30 beyond the ring.  A bad
 * request answered OKAY fails the test; errors, silence and a backend that disconnects us are
 * accepted, and nothing the backend does may crash us.  The host checks the image outside sectors
 * 64..127 (and its size) is unchanged, and that the VMM logged the bad requests.
 */
#include "blkfront.h"
#include "cmdline.h"
#include "console.h"
#include "events.h"
#include "gnttab.h"
#include "klib.h"
#include "shared_info.h"
#include "tests/blk_common.h"
#include "tests/tests.h"
#include "time.h"
#include "xerrno.h"

#define TARGET 64       /* the tested sectors: 64..127 */

static struct blkfront *bf;
static uint64_t wait_ns;
static int okays, errors, silent;
static uint8_t ro_page[4096] __attribute__((aligned(4096)));

/* 1 if the backend went away (state >= Closing, or the ring is broken): stop. */
static int gone(void)
{
    int st = blkfront_backend_state(bf);
    return bf->broken || st < 0 || st >= XenbusStateClosing;
}

static int probe(const char *after)
{
    int rc = blkfront_io(bf, BLKIF_OP_READ, 0, 8, wait_ns);
    int st = blkfront_backend_state(bf);
    printk("blk-hostile: probe after %s: %s; backend state %d\n", after,
           rc == -ETIMEDOUT ? "no answer" : rc < -2 ? errno_name(rc) : blkif_status_name((int16_t)rc), st);
    return rc;
}

/* Puts req on the ring (id = a fresh tag), waits, reports.  0 to go on, 1 if the backend is gone. */
static int step(const char *name, blkif_request_t req)
{
    int tag = blkfront_tag_claim(bf);
    int16_t status;

    if (tag < 0) {
        printk("blk-hostile: %s: no free tag\n", name);
        return 1;
    }
    req.id = (uint64_t)tag;
    req.handle = (blkif_vdev_t)bf->devid;
    blkfront_push_raw(bf, &req, 1);
    int rc = blkfront_wait(bf, tag, monotonic_ns() + wait_ns, &status);
    if (rc) {
        silent++;
        printk("blk-hostile: %s: no answer in %lu ms\n", name, (unsigned long)(wait_ns / NS_PER_MS));
        /* The tag stays claimed: the backend may still answer it or use the buffers. */
    } else {
        printk("blk-hostile: %s: response %d (%s)\n", name, status, blkif_status_name(status));
        if (status == BLKIF_RSP_OKAY)
            okays++;
        else
            errors++;
    }
    if (gone()) {
        printk("blk-hostile: the backend closed after %s (state %d)\n", name, blkfront_backend_state(bf));
        return 1;
    }
    if (probe(name) != BLKIF_RSP_OKAY) {
        if (gone())
            return 1;
        printk("blk-hostile: the backend no longer serves valid reads after %s\n", name);
        return 2;
    }
    return 0;
}

static blkif_request_t wr(uint64_t sector, uint8_t nseg)
{
    blkif_request_t r;
    memset(&r, 0, sizeof(r));
    r.operation = BLKIF_OP_WRITE;
    r.sector_number = sector;
    r.nr_segments = nseg;
    for (int i = 0; i < BF_SEGS; i++) {
        r.seg[i].gref = bf->gref[BF_SEGS + i];      /* slice 1: the 0xee pages */
        r.seg[i].first_sect = 0;
        r.seg[i].last_sect = 7;
    }
    return r;
}

static int flood(uint64_t n)
{
    uint64_t issued = 0, answered = 0, ok = 0, max_inflight = 0, inflight = 0;
    uint64_t span = bf->sectors512 > 8 ? (bf->sectors512 - 8) / 8 : 1;
    int tags[BF_TAGS];
    uint64_t deadline = monotonic_ns() + 60 * NS_PER_S;

    for (int i = 0; i < BF_TAGS; i++)
        tags[i] = -1;
    while (answered < n) {
        while (issued < n) {
            int tag = blkfront_start(bf, BLKIF_OP_READ, (issued % span) * 8, 8, (unsigned int)(issued % BF_SLICES));
            if (tag < 0)
                break;
            tags[tag] = 1;
            issued++;
            inflight++;
        }
        if (inflight > max_inflight)
            max_inflight = inflight;
        blkfront_reap(bf);
        int progress = 0;
        for (int t = 0; t < BF_TAGS; t++) {
            int16_t st;
            if (tags[t] == 1 && blkfront_tag_result(bf, t, &st)) {
                tags[t] = -1;
                answered++;
                inflight--;
                ok += st == BLKIF_RSP_OKAY;
                progress = 1;
            }
        }
        if (progress)
            continue;
        if (monotonic_ns() >= deadline || gone())
            break;
        blkfront_sleep(bf, monotonic_ns() + wait_ns);
    }
    printk("blk-hostile: flood: %lu reads issued, %lu answered, %lu OKAY, at most %lu in flight (ring %u)\n",
           (unsigned long)issued, (unsigned long)answered, (unsigned long)ok, (unsigned long)max_inflight,
           RING_SIZE(&bf->q[0].ring));
    return answered == n && ok == n;
}

static const char *run(const char *cmdline, char *why)
{
    if (!(bf = blk_up(cmdline, why)))
        return why;
    wait_ns = cmdline_u64(cmdline, "wait", 2000) * NS_PER_MS;
    if (bf->sectors512 < 256)
        return "the disk is smaller than 256 sectors";
    memset(blkfront_slice(bf, 1), 0xee, BF_SLICE_BYTES);
    uint64_t end = bf->sectors512;
    blkif_request_t r;
    int rc = 0;

    /* A grant ref nobody granted: the highest free entry of our table. */
    grant_ref_t unused = 0;
    for (grant_ref_t g = GNTTAB_ENTRIES - 1; g >= GNTTAB_FIRST_FREE && !unused; g--)
        if (!gnttab_flags(g))
            unused = g;
    int ro_ref = gnttab_grant_access(bf->backend_id, virt_to_pfn(ro_page), true);

#define STEP(name, req) do { if (!rc) rc = step(name, req); } while (0)
    STEP("write past the end", wr(end, 1));
    STEP("write straddling the end", wr(end - 4, 1));
    STEP("write at sector 2^63", wr(1ull << 63, 1));
    r = wr(TARGET, 1); r.seg[0].gref = unused;
    if (unused)
        STEP("gref never granted", r);
    r = wr(TARGET, 1); r.seg[0].gref = 0x7fffffff;
    STEP("gref beyond the table", r);
    r = wr(TARGET, 1); r.operation = BLKIF_OP_READ; r.seg[0].gref = (grant_ref_t)ro_ref;
    if (ro_ref > 0)
        STEP("read into a read-only grant", r);
    STEP("nr_segments 0", wr(TARGET, 0));
    STEP("nr_segments 200", wr(TARGET, 200));
    r = wr(TARGET, 1); r.seg[0].first_sect = 5; r.seg[0].last_sect = 2;
    STEP("first_sect > last_sect", r);
    r = wr(TARGET, 1); r.seg[0].last_sect = 8;
    STEP("last_sect 8", r);
    r = wr(TARGET, 1); r.seg[0].first_sect = 200; r.seg[0].last_sect = 255;
    STEP("first_sect 200 last_sect 255", r);
    r = wr(TARGET, 1); r.operation = 99;
    STEP("operation 99", r);
    blkif_request_discard_t d;
    memset(&d, 0, sizeof(d));
    d.operation = BLKIF_OP_DISCARD;
    d.sector_number = end;
    d.nr_sectors = 8;
    memcpy(&r, &d, sizeof(d));
    STEP("discard past the end", r);
    d.sector_number = TARGET;
    d.nr_sectors = ~0ull - 16;
    memset(&r, 0, sizeof(r));
    memcpy(&r, &d, sizeof(d));
    STEP("discard with a wrapping length", r);
#undef STEP
    if (rc == 2) {
        snprintf(why, WHY_SIZE, "the backend stopped serving valid requests (%d bad ones answered OKAY)", okays);
        return why;
    }
    if (!rc && !flood(cmdline_u64(cmdline, "flood", 1000))) {
        if (!gone())
            return "the flood of valid reads was not all answered OKAY";
        printk("blk-hostile: the backend closed during the flood\n");
        rc = 1;
    }
    if (!rc) {
        /* The index violation: req_prod 2^30 beyond what we ever queued. */
        RING_IDX before = bf->q[0].ring.sring->rsp_prod;
        bf->q[0].ring.sring->req_prod = bf->q[0].ring.req_prod_pvt + (1u << 30);
        xen_wmb();
        evtchn_send(bf->q[0].port);
        uint64_t deadline = monotonic_ns() + wait_ns;
        while (monotonic_ns() < deadline && !gone())
            evtchn_wait(&bf->q[0].port, 1, deadline);
        blkfront_reap(bf);
        printk("blk-hostile: req_prod 2^30 beyond the ring: %u responses after it, ring %s, backend state %d\n",
               bf->q[0].ring.sring->rsp_prod - before, bf->broken ? "broken by the backend" : "intact",
               blkfront_backend_state(bf));
    }
    printk("blk-hostile: %d bad requests answered OKAY, %d with an error, %d unanswered; %lu bad responses\n", okays,
           errors, silent, (unsigned long)bf->st.bad_responses);
    if (okays) {
        snprintf(why, WHY_SIZE, "%d bad request(s) answered OKAY", okays);
        return why;
    }
    return NULL;
}

const struct test test_blk_hostile = { "blk-hostile", run };
