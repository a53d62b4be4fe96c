/*
 * `blk-bench mode=seqread|seqwrite|randread|randwrite [bs=B] [count=N] [vbd=N]`: N (1000) requests of
 * B (4096, a multiple of 512 up to 45056) bytes, one at a time (iodepth 1), sequential from sector 0
 * (wrapping at the end) or at random B-aligned offsets, timed with the pvclock:
 * `blk-bench mode=M bs=B count=N us=T iops=I mbps=X.YY` (MB = 10^6 bytes).  For bench/blk.sh.
 */
#include "blkfront.h"
#include "cmdline.h"
#include "console.h"
#include "klib.h"
#include "tests/blk_common.h"
#include "tests/tests.h"
#include "time.h"
#include "xerrno.h"

static const char *run(const char *cmdline, char *why)
{
    char mode[16] = "seqread";
    cmdline_get(cmdline, "mode", mode, sizeof(mode));
    int write = !strcmp(mode, "seqwrite") || !strcmp(mode, "randwrite");
    int rnd = !strcmp(mode, "randread") || !strcmp(mode, "randwrite");
    if (!write && !rnd && strcmp(mode, "seqread"))
        return "mode= must be seqread, seqwrite, randread or randwrite";
    uint64_t bs = cmdline_u64(cmdline, "bs", 4096), count = cmdline_u64(cmdline, "count", 1000);
    if (!bs || bs % 512 || bs > BF_SLICE_BYTES)
        return "bs= must be a multiple of 512 up to 45056";
    struct blkfront *bf = blk_up(cmdline, why);
    if (!bf)
        return why;
    if (write && bf->ro)
        return "the disk is read-only";
    unsigned int nsect = (unsigned int)(bs / 512);
    uint64_t blocks = bf->sectors512 / nsect;
    if (!blocks)
        return "the disk is smaller than one block";
    if (write)
        blk_fill(blkfront_slice(bf, 0), 0, nsect, 1);
    uint8_t op = write ? BLKIF_OP_WRITE : BLKIF_OP_READ;
    uint64_t x = 0x2545f4914f6cdd1dull, blk = 0;
    uint64_t t0 = monotonic_ns();
    for (uint64_t i = 0; i < count; i++) {
        if (rnd) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            blk = x % blocks;
        }
        int rc = blkfront_io(bf, op, blk * nsect, nsect, BLK_IO_TIMEOUT_NS);
        if (rc) {
            snprintf(why, WHY_SIZE, "%s: request %lu (sector %lu): %d", bf->name, (unsigned long)i,
                     (unsigned long)(blk * nsect), rc);
            return why;
        }
        if (!rnd && ++blk == blocks)
            blk = 0;
    }
    uint64_t us = (monotonic_ns() - t0) / 1000;
    if (!us)
        us = 1;
    uint64_t iops = count * 1000000 / us, mbps100 = count * bs * 100 / us;
    printk("blk-bench mode=%s bs=%lu count=%lu us=%lu iops=%lu mbps=%lu.%02lu\n", mode, (unsigned long)bs,
           (unsigned long)count, (unsigned long)us, (unsigned long)iops, (unsigned long)(mbps100 / 100),
           (unsigned long)(mbps100 % 100));
    return NULL;
}

const struct test test_blk_bench = { "blk-bench", run };
