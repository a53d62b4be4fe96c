/*
 * `blk-ro [vbd=N]`: on a read-only disk a write is answered BLKIF_RSP_ERROR (`blk-ro: write refused`)
 * and reads work.  `blk-flush-durable [vbd=N] [seed=S]`: writes sector 8 (`durable-<seed>`, the rest
 * zero), flushes, prints `blk-flush: acknowledged` once the flush is answered, then sleeps forever
 * (the harness kills the VMM and looks for the marker in the file).  `blk-ext4 [vbd=N]`: reads
 * sector 2 (bytes 1024..1535 of the disk: the start of an ext4 superblock) and checks s_magic 0xef53
 * at offset 0x38.
 */
#include "blkfront.h"
#include "cmdline.h"
#include "console.h"
#include "events.h"
#include "klib.h"
#include "tests/blk_common.h"
#include "tests/tests.h"
#include "time.h"
#include "xerrno.h"

static const char *rc_name(int rc)
{
    return rc < -2 ? errno_name(rc) : blkif_status_name((int16_t)rc);
}

static const char *ro(const char *cmdline, char *why)
{
    struct blkfront *bf = blk_up(cmdline, why);
    if (!bf)
        return why;
    if (!bf->ro)
        printk("blk-ro: warning: the backend does not say the disk is read-only (info %u)\n", bf->info);
    uint8_t *buf = blkfront_slice(bf, 0);
    int rc = blkfront_io(bf, BLKIF_OP_READ, 0, 8, BLK_IO_TIMEOUT_NS);
    if (rc) {
        snprintf(why, WHY_SIZE, "%s: reading sectors 0-7: %d (%s)", bf->name, rc, rc_name(rc));
        return why;
    }
    memset(buf, 0x5a, 4096);
    rc = blkfront_io(bf, BLKIF_OP_WRITE, 0, 8, BLK_IO_TIMEOUT_NS);
    if (rc == BLKIF_RSP_OKAY)
        return "a write to the read-only disk was answered OKAY";
    if (rc != BLKIF_RSP_ERROR && rc != BLKIF_RSP_EOPNOTSUPP) {
        snprintf(why, WHY_SIZE, "%s: the write got %d (%s), not an error response", bf->name, rc, rc_name(rc));
        return why;
    }
    printk("blk-ro: write refused (%d %s)\n", rc, rc_name(rc));
    uint64_t last = bf->sectors512 >= 8 ? bf->sectors512 - 8 : 0;
    if ((rc = blkfront_io(bf, BLKIF_OP_READ, last, 8, BLK_IO_TIMEOUT_NS))) {
        snprintf(why, WHY_SIZE, "%s: a read after the refused write: %d (%s)", bf->name, rc, rc_name(rc));
        return why;
    }
    printk("blk-ro: reads work\n");
    return NULL;
}

static const char *flush_durable(const char *cmdline, char *why)
{
    struct blkfront *bf = blk_up(cmdline, why);
    if (!bf)
        return why;
    uint8_t *buf = blkfront_slice(bf, 0);
    memset(buf, 0, 512);
    snprintf((char *)buf, 64, "durable-%lu", (unsigned long)cmdline_u64(cmdline, "seed", 1));
    int rc = blkfront_io(bf, BLKIF_OP_WRITE, 8, 1, BLK_IO_TIMEOUT_NS);
    if (rc) {
        snprintf(why, WHY_SIZE, "%s: writing sector 8: %d (%s)", bf->name, rc, rc_name(rc));
        return why;
    }
    if ((rc = blkfront_flush(bf, BLK_IO_TIMEOUT_NS))) {
        snprintf(why, WHY_SIZE, "%s: flush: %d (%s)", bf->name, rc, rc_name(rc));
        return why;
    }
    printk("blk-flush: acknowledged (%s)\n", bf->feat_flush ? "flush-diskcache" : "barrier");
    for (;;)
        evtchn_wait(NULL, 0, monotonic_ns() + 10 * NS_PER_S);
}

static const char *ext4(const char *cmdline, char *why)
{
    struct blkfront *bf = blk_up(cmdline, why);
    if (!bf)
        return why;
    int rc = blkfront_io(bf, BLKIF_OP_READ, 2, 2, BLK_IO_TIMEOUT_NS);
    if (rc) {
        snprintf(why, WHY_SIZE, "%s: reading sectors 2-3: %d (%s)", bf->name, rc, rc_name(rc));
        return why;
    }
    const uint8_t *sb = blkfront_slice(bf, 0);
    unsigned int magic = sb[0x38] | (unsigned int)sb[0x39] << 8;
    if (magic != 0xef53) {
        snprintf(why, WHY_SIZE, "%s: no ext4 superblock: s_magic at 1024 + 0x38 is %#x, not 0xef53", bf->name, magic);
        return why;
    }
    uint32_t blocks = sb[4] | (uint32_t)sb[5] << 8 | (uint32_t)sb[6] << 16 | (uint32_t)sb[7] << 24;
    uint32_t log_bs = sb[0x18] | (uint32_t)sb[0x19] << 8;
    char label[17];
    memcpy(label, sb + 0x78, 16);
    label[16] = '\0';
    printk("blk-ext4: magic 0xef53 found (%u blocks of %u bytes, volume '%s')\n", blocks, 1024u << (log_bs & 15),
           label);
    return NULL;
}

const struct test test_blk_ro = { "blk-ro", ro };
const struct test test_blk_flush_durable = { "blk-flush-durable", flush_durable };
const struct test test_blk_ext4 = { "blk-ext4", ext4 };
