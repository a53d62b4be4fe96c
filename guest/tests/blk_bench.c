/*
 * `blk-bench mode=seqread|seqwrite|randread|randwrite [bs=B] [count=N] [depth=D] [poll=1] [vbd=N]`:
 * N (1000) requests of B (4096, a multiple of 512 up to 45056) bytes, D (1) in flight at once (up to
 * 32, the tags and as many as the 88-page pool holds at B), sequential from sector 0 (wrapping at
 * the end) or at random B-aligned offsets, timed with the pvclock:
 * `blk-bench mode=M bs=B count=N depth=D queues=Q us=T iops=I mbps=X.YY` (MB = 10^6 bytes), then
 * `blk-bench: notifies N events E requests R per-request N/R E/R`: the notifications the guest sent
 * and the backend's events it saw during the run.  poll=1 busy-polls the rings (no SCHEDOP_poll, no
 * event index set); blk-features=none asks for one queue.  For bench/blk.sh.
 */
#include "blkfront.h"
#include "cmdline.h"
#include "console.h"
#include "klib.h"
#include "tests/blk_common.h"
#include "tests/tests.h"
#include "time.h"
#include "xerrno.h"

#define MAX_DEPTH 32

struct inflight {
    int tag;
    unsigned int buf;       /* its buffer set: pool pages buf * pages.. */
};

static void print_counts(const struct blkfront *bf, uint64_t n0, uint64_t e0, uint64_t requests)
{
    uint64_t n = bf->st.notifies - n0, e = bf->st.events - e0, per = requests ? requests : 1;

    printk("blk-bench: notifies %lu events %lu requests %lu per-request %lu.%03lu %lu.%03lu\n", (unsigned long)n,
           (unsigned long)e, (unsigned long)requests, (unsigned long)(n / per), (unsigned long)(n * 1000 / per % 1000),
           (unsigned long)(e / per), (unsigned long)(e * 1000 / per % 1000));
}

static const char *run(const char *cmdline, char *why)
{
    char mode[16] = "seqread";
    cmdline_get(cmdline, "mode", mode, sizeof(mode));
    int write = !strcmp(mode, "seqwrite") || !strcmp(mode, "randwrite");
    int rnd = !strcmp(mode, "randread") || !strcmp(mode, "randwrite");
    if (!write && !rnd && strcmp(mode, "seqread"))
        return "mode= must be seqread, seqwrite, randread or randwrite";
    uint64_t bs = cmdline_u64(cmdline, "bs", 4096), count = cmdline_u64(cmdline, "count", 1000);
    uint64_t depth = cmdline_u64(cmdline, "depth", 1);
    if (!bs || bs % 512 || bs > BF_SLICE_BYTES)
        return "bs= must be a multiple of 512 up to 45056";
    unsigned int nsect = (unsigned int)(bs / 512), pages = (nsect + 7) / 8;
    uint64_t max_depth = BF_BUFS / pages < MAX_DEPTH ? BF_BUFS / pages : MAX_DEPTH;
    if (!depth || depth > max_depth) {
        snprintf(why, WHY_SIZE, "depth=%lu: 1 to %lu at bs=%lu", (unsigned long)depth, (unsigned long)max_depth,
                 (unsigned long)bs);
        return why;
    }
    struct blkfront *bf = blk_up(cmdline, why);
    if (!bf)
        return why;
    if (write && bf->ro)
        return "the disk is read-only";
    uint64_t tags = (uint64_t)RING_SIZE(&bf->q[0].ring) * bf->nr_queues;
    if (depth > tags) {
        snprintf(why, WHY_SIZE, "depth=%lu: the rings take %lu", (unsigned long)depth, (unsigned long)tags);
        return why;
    }
    uint64_t blocks = bf->sectors512 / nsect;
    if (!blocks)
        return "the disk is smaller than one block";
    if (write)
        for (unsigned int b = 0; b < depth; b++)
            blk_fill(bf->bufs[b * pages], 0, nsect, 1);
    uint8_t op = write ? BLKIF_OP_WRITE : BLKIF_OP_READ;
    uint64_t x = 0x2545f4914f6cdd1dull, blk = 0;
    struct inflight fl[MAX_DEPTH];
    unsigned int nfl = 0, free_bufs[MAX_DEPTH], nfree = 0;
    for (unsigned int b = 0; b < depth; b++)
        free_bufs[nfree++] = b;
    uint64_t n0 = bf->st.notifies, e0 = bf->st.events, issued = 0, done = 0;
    uint64_t t0 = monotonic_ns(), deadline = t0 + BLK_IO_TIMEOUT_NS;

    while (done < count) {
        while (issued < count && nfree) {
            if (rnd) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                blk = x % blocks;
            }
            unsigned int b = free_bufs[nfree - 1];
            int tag = blkfront_start_at(bf, op, blk * nsect, nsect, b * pages);
            if (tag == -EAGAIN)
                break;
            if (tag < 0) {
                snprintf(why, WHY_SIZE, "%s: request %lu (sector %lu): %s", bf->name, (unsigned long)issued,
                         (unsigned long)(blk * nsect), errno_name(tag));
                return why;
            }
            nfree--;
            fl[nfl++] = (struct inflight){ tag, b };
            issued++;
            if (!rnd && ++blk == blocks)
                blk = 0;
        }
        blkfront_reap(bf);
        unsigned int answered = 0;
        for (unsigned int i = 0; i < nfl;) {
            int16_t status;
            if (!blkfront_tag_result(bf, fl[i].tag, &status)) {
                i++;
                continue;
            }
            if (status != BLKIF_RSP_OKAY) {
                snprintf(why, WHY_SIZE, "%s: a request answered %d (%s)", bf->name, status, blkif_status_name(status));
                return why;
            }
            free_bufs[nfree++] = fl[i].buf;
            fl[i] = fl[--nfl];
            answered++;
            done++;
        }
        if (answered) {
            deadline = monotonic_ns() + BLK_IO_TIMEOUT_NS;
            continue;
        }
        if (!bf->connected || bf->broken)
            return "the device went away during the run";
        if (monotonic_ns() >= deadline) {
            snprintf(why, WHY_SIZE, "%s: %u requests unanswered for %lu s", bf->name, nfl,
                     (unsigned long)(BLK_IO_TIMEOUT_NS / NS_PER_S));
            return why;
        }
        blkfront_sleep(bf, deadline);
    }
    uint64_t us = (monotonic_ns() - t0) / 1000;
    if (!us)
        us = 1;
    uint64_t iops = count * 1000000 / us, mbps100 = count * bs * 100 / us;
    printk("blk-bench mode=%s bs=%lu count=%lu depth=%lu queues=%u us=%lu iops=%lu mbps=%lu.%02lu\n", mode,
           (unsigned long)bs, (unsigned long)count, (unsigned long)depth, bf->nr_queues, (unsigned long)us,
           (unsigned long)iops, (unsigned long)(mbps100 / 100), (unsigned long)(mbps100 % 100));
    print_counts(bf, n0, e0, count);
    return NULL;
}

const struct test test_blk_bench = { "blk-bench", run };
