/*
 * `blk-hotplug [wait=S] [span=N]`: connects the first disk (xvda) and writes and checks the pattern
 * on its first span= (2048) sectors; then watches device/vbd until a second disk appears (up to
 * wait= s, 120), connects it, writes, flushes and checks the pattern across all of it: `blk-hotplug:
 * xvdb verified`.  Then it keeps reading and checking xvda's pattern while it waits for the second
 * disk's backend to close (block-detach); it closes our side and checks xvda once more:
 * `blk-hotplug: xvdb detached; xvda still works`.
 */
#include "blkfront.h"
#include "cmdline.h"
#include "console.h"
#include "events.h"
#include "klib.h"
#include "tests/blk_common.h"
#include "tests/tests.h"
#include "time.h"
#include "xenbus.h"
#include "xerrno.h"

#define SEED0 7
#define SEED1 9

/* A devid in device/vbd other than skip, with its state Initialising; -1 if none. */
static int new_vbd(unsigned int skip)
{
    char list[256], path[64];
    int len = xs_directory(0, "device/vbd", list, sizeof(list));

    for (int i = 0; len > 0 && i < len; i += (int)strlen(list + i) + 1) {
        const char *p = list + i;
        uint64_t d = 0, st;
        if (!*p)
            continue;
        for (; *p >= '0' && *p <= '9' && d < (1u << 31); p++)
            d = d * 10 + (uint64_t)(*p - '0');
        if (*p || d >= (1u << 31) || d == skip)
            continue;
        snprintf(path, sizeof(path), "device/vbd/%lu/state", (unsigned long)d);
        if (!xs_read_u64(0, path, &st) && st == XenbusStateInitialising)
            return (int)d;
    }
    return -1;
}

static void drain_watches(void)
{
    char path[128], tok[32];
    while (xs_read_watch(path, sizeof(path), tok, sizeof(tok), 1) == 0)
        ;
}

static const char *run(const char *cmdline, char *why)
{
    struct blkfront *a = blk_up(cmdline, why), *b;
    const char *fail;

    if (!a)
        return why;
    uint64_t span = cmdline_u64(cmdline, "span", 2048);
    if (span > a->sectors512)
        span = a->sectors512;
    if ((fail = blk_pattern_pass(a, 1, 0, span, SEED0, why)) || (fail = blk_pattern_pass(a, 0, 0, span, SEED0, why)))
        return fail;
    printk("blk-hotplug: %s ready (%lu sectors checked); waiting for a second disk\n", a->name, (unsigned long)span);

    uint64_t deadline = monotonic_ns() + cmdline_u64(cmdline, "wait", 120) * NS_PER_S;
    xs_watch("device/vbd", "blk-vbds");
    int devid;
    while ((devid = new_vbd(a->devid)) < 0) {
        char path[128], tok[32];
        if (xs_read_watch(path, sizeof(path), tok, sizeof(tok), deadline)) {
            xs_unwatch("device/vbd", "blk-vbds");
            return "no second disk appeared in device/vbd (xl block-attach)";
        }
    }
    xs_unwatch("device/vbd", "blk-vbds");
    drain_watches();
    if (!(b = blk_connect((unsigned int)devid, 20, why)))
        return why;
    if (b->ro)
        return "the hot-plugged disk is read-only";
    if ((fail = blk_pattern_pass(b, 1, 0, b->sectors512, SEED1, why)))
        return fail;
    int rc = blkfront_flush(b, BLK_IO_TIMEOUT_NS);
    if (rc && rc != -ENOSYS) {
        snprintf(why, WHY_SIZE, "%s: flush: %d", b->name, rc);
        return why;
    }
    if ((fail = blk_pattern_pass(b, 0, 0, b->sectors512, SEED1, why)))
        return fail;
    printk("blk-hotplug: %s verified (%lu sectors)\n", b->name, (unsigned long)b->sectors512);

    char bpath[128];
    snprintf(bpath, sizeof(bpath), "%s/state", b->backend);
    xs_watch(bpath, "blk-b-state");
    uint64_t rounds = 0;
    for (;;) {
        int st = blkfront_backend_state(b);
        if (st < 0 || st >= XenbusStateClosing) {
            printk("blk-hotplug: %s backend in state %d: closing our side\n", b->name, st);
            break;
        }
        if (monotonic_ns() >= deadline) {
            xs_unwatch(bpath, "blk-b-state");
            snprintf(why, WHY_SIZE, "%s was never detached (backend state %d; %lu rounds on %s)", b->name, st,
                     (unsigned long)rounds, a->name);
            return why;
        }
        if ((fail = blk_pattern_pass(a, 0, 0, span, SEED0, why)))
            return fail;
        rounds++;
        char path[128], tok[32];
        xs_read_watch(path, sizeof(path), tok, sizeof(tok), monotonic_ns() + 100 * NS_PER_MS);
    }
    xs_unwatch(bpath, "blk-b-state");
    char bname[16];
    memcpy(bname, b->name, sizeof(bname));
    blkfront_close(b);
    if ((fail = blk_pattern_pass(a, 1, 0, span, SEED0 + 1, why)) || (fail = blk_pattern_pass(a, 0, 0, span, SEED0 + 1, why)))
        return fail;
    printk("blk-hotplug: %s detached; %s still works (%lu reads of it meanwhile)\n", bname, a->name,
           (unsigned long)rounds);
    return NULL;
}

const struct test test_blk_hotplug = { "blk-hotplug", run };
