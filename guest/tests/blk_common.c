#include "blkfront.h"
#include "cmdline.h"
#include "console.h"
#include "events.h"
#include "klib.h"
#include "pv.h"
#include "tests/blk_common.h"
#include "tests/tests.h"
#include "time.h"
#include "xerrno.h"

/* What blkfront asks for: blk-features=none|all|mq (all) and poll=0|1 (0), set by blk_up. */
static struct blkfront_options bf_opts = { .features = BF_FEAT_ALL };

static uint64_t word(uint64_t s, uint64_t seed, unsigned int i)
{
    if (i == 0)
        return s;
    if (i == 1)
        return seed;
    return s * 0x9e3779b97f4a7c15ull + seed * 0xbf58476d1ce4e5b9ull + i;
}

void blk_fill(uint8_t *buf, uint64_t sector, unsigned int nsect, uint64_t seed)
{
    uint64_t *w = (uint64_t *)buf;

    for (unsigned int k = 0; k < nsect; k++)
        for (unsigned int i = 0; i < 64; i++)
            *w++ = word(sector + k, seed, i);
}

int64_t blk_check(const uint8_t *buf, uint64_t sector, unsigned int nsect, uint64_t seed)
{
    const uint64_t *w = (const uint64_t *)buf;

    for (unsigned int k = 0; k < nsect; k++)
        for (unsigned int i = 0; i < 64; i++)
            if (*w++ != word(sector + k, seed, i))
                return (int64_t)(sector + k);
    return -1;
}

struct blkfront *blk_connect(unsigned int devid, uint64_t timeout_s, char *why)
{
    struct blkfront *bf = blkfront_slot();

    if (!bf) {
        snprintf(why, WHY_SIZE, "vbd %u: all %d blkfront slots in use", devid, BF_MAX_DEVS);
        return NULL;
    }
    if (blkfront_init_opts(bf, devid, timeout_s, &bf_opts, why))
        return NULL;
    printk("blk: %s sectors %lu sector-size %u ro=%d\n", bf->name, (unsigned long)bf->sectors, bf->sector_size,
           bf->ro);
    printk("blk: %s devid %u backend %s (domain %u), evtchn %u, ring-page-order %u, ring-ref %d, info %u, "
           "flush %d barrier %d discard %d\n",
           bf->name, bf->devid, bf->backend, bf->backend_id, bf->q[0].port, bf->ring_order, bf->q[0].ring_ref[0],
           bf->info, bf->feat_flush, bf->feat_barrier, bf->feat_discard);
    printk("blk: %s queues %u poll=%d\n", bf->name, bf->nr_queues, bf->opt.poll);
    return bf;
}

struct blkfront *blk_up(const char *cmdline, char *why)
{
    if (pv_need("grant table", pv_status.gnttab, why) || pv_need("xenstore", pv_status.xenbus, why) ||
        pv_need("shared_info", pv_status.shared_info, why))
        return NULL;
    char feat[16];
    bf_opts = (struct blkfront_options){ .features = BF_FEAT_ALL, .poll = cmdline_u64(cmdline, "poll", 0) != 0 };
    if (cmdline_get(cmdline, "blk-features", feat, sizeof(feat))) {
        if (!strcmp(feat, "none"))
            bf_opts.features = 0;
        else if (strcmp(feat, "all") && strcmp(feat, "mq")) {
            snprintf(why, WHY_SIZE, "blk-features=%s: none, all or mq", feat);
            return NULL;
        }
    }
    uint64_t timeout = cmdline_u64(cmdline, "timeout", 20);
    char v[16];
    int devid;
    if (cmdline_get(cmdline, "vbd", v, sizeof(v))) {
        devid = (int)cmdline_u64(cmdline, "vbd", 0);
    } else {
        /* The toolstack writes device/vbd before we boot; wait a little in case it is late. */
        uint64_t deadline = monotonic_ns() + timeout * NS_PER_S;
        while ((devid = blkfront_first_devid()) < 0 && monotonic_ns() < deadline)
            evtchn_wait(NULL, 0, monotonic_ns() + 50 * NS_PER_MS);
        if (devid < 0) {
            snprintf(why, WHY_SIZE, "no disk: device/vbd has no entries (%s): is a disk configured?",
                     errno_name(devid));
            return NULL;
        }
    }
    return blk_connect((unsigned int)devid, timeout, why);
}

const char *blk_pattern_pass(struct blkfront *bf, int write, uint64_t start, uint64_t count, uint64_t seed,
                             char *why)
{
    struct { int tag; uint64_t sector; unsigned int nsect; } q[BF_SLICES];
    unsigned int head = 0, inflight = 0;    /* q[head] is the oldest; slice i is q[i]'s */
    uint64_t next = start, end = start + count;
    uint8_t op = write ? BLKIF_OP_WRITE : BLKIF_OP_READ;

    while (next < end || inflight) {
        if (next < end && inflight < BF_SLICES) {
            unsigned int slot = (head + inflight) % BF_SLICES;
            unsigned int n = end - next < BF_SLICE_SECTORS ? (unsigned int)(end - next) : BF_SLICE_SECTORS;
            if (write)
                blk_fill(blkfront_slice(bf, slot), next, n, seed);
            int tag = blkfront_start(bf, op, next, n, slot);
            if (tag >= 0) {
                q[slot].tag = tag;
                q[slot].sector = next;
                q[slot].nsect = n;
                next += n;
                inflight++;
                continue;
            }
            if (tag != -EAGAIN) {
                snprintf(why, WHY_SIZE, "%s: queueing a %s of sector %lu: %s", bf->name, write ? "write" : "read",
                         (unsigned long)next, errno_name(tag));
                return why;
            }
        }
        int16_t status;
        int rc = blkfront_wait(bf, q[head].tag, monotonic_ns() + BLK_IO_TIMEOUT_NS, &status);
        if (rc) {
            snprintf(why, WHY_SIZE, "%s: no answer to the %s of sectors %lu+%u: %s", bf->name,
                     write ? "write" : "read", (unsigned long)q[head].sector, q[head].nsect, errno_name(rc));
            return why;
        }
        if (status != BLKIF_RSP_OKAY) {
            snprintf(why, WHY_SIZE, "%s: the %s of sectors %lu+%u answered %d (%s)", bf->name,
                     write ? "write" : "read", (unsigned long)q[head].sector, q[head].nsect, status,
                     blkif_status_name(status));
            return why;
        }
        if (!write) {
            int64_t bad = blk_check(blkfront_slice(bf, head), q[head].sector, q[head].nsect, seed);
            if (bad >= 0) {
                const uint64_t *w = (const uint64_t *)(blkfront_slice(bf, head) + (bad - (int64_t)q[head].sector) * 512);
                snprintf(why, WHY_SIZE, "%s: sector %ld does not hold the pattern (seed %lu): words %#lx %#lx",
                         bf->name, (long)bad, (unsigned long)seed, (unsigned long)w[0], (unsigned long)w[1]);
                return why;
            }
        }
        head = (head + 1) % BF_SLICES;
        inflight--;
    }
    return NULL;
}
