/*
 * `blk-pattern [vbd=N] [seed=S] [rounds=R] [timeout=T]`: writes the pattern (tests/blk_common.h)
 * with seed S (1) across the whole disk in 44 KiB requests, flushes, reads it all back and checks it:
 * `blk-pattern: wrote and verified N sectors (T ms)`.  rounds=R (1) repeats the read-back R times
 * (0: forever, `blk-pattern: round K verified` each time, for tests that need a disk kept busy).
 * `blk-read-check [vbd=N] [seed=S]`: only reads and checks a pattern the host wrote.
 */
#include "blkfront.h"
#include "cmdline.h"
#include "console.h"
#include "klib.h"
#include "tests/blk_common.h"
#include "tests/tests.h"
#include "time.h"
#include "xerrno.h"

static const char *pattern(const char *cmdline, char *why)
{
    struct blkfront *bf = blk_up(cmdline, why);
    if (!bf)
        return why;
    if (bf->ro)
        return "the disk is read-only (ro=1): blk-pattern needs a writable one";
    uint64_t seed = cmdline_u64(cmdline, "seed", 1), rounds = cmdline_u64(cmdline, "rounds", 1);
    uint64_t t0 = monotonic_ns();
    const char *fail = blk_pattern_pass(bf, 1, 0, bf->sectors512, seed, why);
    if (fail)
        return fail;
    int rc = blkfront_flush(bf, BLK_IO_TIMEOUT_NS);
    if (rc == -ENOSYS)
        printk("blk-pattern: the backend offers neither feature-flush-cache nor feature-barrier: no flush\n");
    else if (rc) {
        snprintf(why, WHY_SIZE, "%s: flush: %d (%s)", bf->name, rc, rc < -2 ? errno_name(rc) : blkif_status_name((int16_t)rc));
        return why;
    }
    uint64_t t1 = monotonic_ns();
    if ((fail = blk_pattern_pass(bf, 0, 0, bf->sectors512, seed, why)))
        return fail;
    uint64_t t2 = monotonic_ns();
    printk("blk-pattern: wrote and verified %lu sectors (write+flush %lu ms, read %lu ms)\n",
           (unsigned long)bf->sectors512, (unsigned long)((t1 - t0) / NS_PER_MS), (unsigned long)((t2 - t1) / NS_PER_MS));
    for (uint64_t k = 2; !rounds || k <= rounds; k++) {
        if ((fail = blk_pattern_pass(bf, 0, 0, bf->sectors512, seed, why)))
            return fail;
        printk("blk-pattern: round %lu verified\n", (unsigned long)k);
    }
    printk("blk-pattern: %lu requests, %lu errors, %lu bad responses\n", (unsigned long)bf->st.requests,
           (unsigned long)bf->st.errors, (unsigned long)bf->st.bad_responses);
    return NULL;
}

static const char *read_check(const char *cmdline, char *why)
{
    struct blkfront *bf = blk_up(cmdline, why);
    if (!bf)
        return why;
    uint64_t seed = cmdline_u64(cmdline, "seed", 1);
    const char *fail = blk_pattern_pass(bf, 0, 0, bf->sectors512, seed, why);
    if (fail)
        return fail;
    printk("blk-read-check: verified %lu sectors (seed %lu)\n", (unsigned long)bf->sectors512, (unsigned long)seed);
    return NULL;
}

const struct test test_blk_pattern = { "blk-pattern", pattern };
const struct test test_blk_read_check = { "blk-read-check", read_check };
