/*
 * `gnttab [timeout=S]`: grant tables v1, with Dom0 (tests/system/pv.sh, through xenith-ctl) on the
 * other side.  We grant a page read-write to domain 0 ("xenith-grant-rw"), one read-only
 * ("xenith-grant-ro"), one to domain 7 ("foreign", which Dom0 must not get), and one granted then
 * revoked; publish the refs under data/gnttab/ and data/gnttab/ready = 1, then wait for
 * data/gnttab/done.  Then: the rw page starts with data/gnttab/expect, the ro page is unchanged,
 * GTF_reading/GTF_writing are clear again, every entry revokes; and a GNTTABOP_copy between two of
 * our own pages through a grant to ourselves.
 */
#include <stddef.h>
#include "cmdline.h"
#include "console.h"
#include "gnttab.h"
#include "klib.h"
#include "pv.h"
#include "shared_info.h"
#include "tests/tests.h"
#include "time.h"
#include "xenbus.h"
#include "xerrno.h"

static uint8_t pages[5][4096] __attribute__((aligned(4096)));
enum { RW, RO, FOREIGN, REVOKED, COPY_DST };

static const char *publish(const char *name, int ref, char *why)
{
    char path[64], val[16];

    snprintf(path, sizeof(path), "data/gnttab/%s", name);
    snprintf(val, sizeof(val), "%d", ref);
    int rc = xs_write(0, path, val);
    if (rc) {
        snprintf(why, WHY_SIZE, "writing %s: %s", path, errno_name(rc));
        return why;
    }
    return NULL;
}

static const char *self_copy(domid_t self, char *why)
{
    static const char msg[] = "xenith-grant-copy";
    int ref = gnttab_grant_access(self, virt_to_pfn(pages[REVOKED]), true);

    if (ref < 0)
        return "no free grant ref for the self-grant";
    memset(pages[COPY_DST], 0, 4096);
    memcpy(pages[REVOKED] + 100, msg, sizeof(msg));
    struct gnttab_copy op = {
        .source = { .u.ref = (grant_ref_t)ref, .domid = self, .offset = 100 },
        .dest = { .u.gmfn = virt_to_pfn(pages[COPY_DST]), .domid = DOMID_SELF, .offset = 8 },
        .len = sizeof(msg),
        .flags = GNTCOPY_source_gref,
    };
    int st = gnttab_copy_one(&op);
    int end = gnttab_end_access((grant_ref_t)ref);
    if (st) {
        snprintf(why, WHY_SIZE, "GNTTABOP_copy from self-grant %d (domid %u): %d", ref, self, st);
        return why;
    }
    if (memcmp(pages[COPY_DST] + 8, msg, sizeof(msg)))
        return "GNTTABOP_copy reported success but the destination does not hold the bytes";
    if (end)
        return "the self-grant used by GNTTABOP_copy stayed busy";
    printk("gnttab: GNTTABOP_copy through self-grant %d ok\n", ref);
    return NULL;
}

static const char *run(const char *cmdline, char *why)
{
    const char *fail;
    int rc;

    if ((fail = pv_need("grant table", pv_status.gnttab, why)) || (fail = pv_need("xenstore", pv_status.xenbus, why)))
        return fail;
    uint64_t domid;
    if ((rc = xs_read_u64(0, "domid", &domid))) {
        snprintf(why, WHY_SIZE, "reading domid: %s", errno_name(rc));
        return why;
    }
    uint32_t frames, max_frames;
    if (gnttab_query_size(&frames, &max_frames) == 0)
        printk("gnttab: %u of %u frames, table by %s\n", frames, max_frames, gnttab_method);

    memset(pages, 0, sizeof(pages));
    memcpy(pages[RW], "xenith-grant-rw", 16);
    memcpy(pages[RO], "xenith-grant-ro", 16);
    memcpy(pages[FOREIGN], "xenith-grant-foreign", 21);
    memcpy(pages[REVOKED], "xenith-grant-revoked", 21);
    int refs[4] = {
        gnttab_grant_access(0, virt_to_pfn(pages[RW]), false),
        gnttab_grant_access(0, virt_to_pfn(pages[RO]), true),
        gnttab_grant_access(7, virt_to_pfn(pages[FOREIGN]), false),
        gnttab_grant_access(0, virt_to_pfn(pages[REVOKED]), false),
    };
    for (int i = 0; i < 4; i++)
        if (refs[i] < 0)
            return "out of grant refs";
    if (gnttab_end_access((grant_ref_t)refs[REVOKED]))
        return "revoking an unused grant failed";
    if (gnttab_flags((grant_ref_t)refs[REVOKED]))
        return "a revoked entry still has flags";

    static const char *const names[4] = { "rw", "ro", "foreign", "revoked" };
    xs_rm(0, "data/gnttab/done");
    for (int i = 0; i < 4; i++)
        if ((fail = publish(names[i], refs[i], why)))
            return fail;
    if ((rc = xs_watch("data/gnttab/done", "gnttab-done"))) {
        snprintf(why, WHY_SIZE, "watch data/gnttab/done: %s", errno_name(rc));
        return why;
    }
    if ((rc = xs_write(0, "data/gnttab/ready", "1"))) {
        snprintf(why, WHY_SIZE, "writing data/gnttab/ready: %s", errno_name(rc));
        return why;
    }
    printk("gnttab: refs rw=%d ro=%d foreign=%d revoked=%d\n", refs[0], refs[1], refs[2], refs[3]);

    /* The watch fires once when set; wait until the node really exists. */
    uint64_t deadline = monotonic_ns() + cmdline_u64(cmdline, "timeout", 30) * NS_PER_S;
    for (;;) {
        char path[128], token[32], val[16];
        if (xs_read(0, "data/gnttab/done", val, sizeof(val)) >= 0)
            break;
        if (xs_read_watch(path, sizeof(path), token, sizeof(token), deadline))
            return "timed out waiting for data/gnttab/done";
    }
    xs_unwatch("data/gnttab/done", "gnttab-done");

    char expect[64];
    if ((rc = xs_read(0, "data/gnttab/expect", expect, sizeof(expect))) < 0) {
        snprintf(why, WHY_SIZE, "reading data/gnttab/expect: %s", errno_name(rc));
        return why;
    }
    if (memcmp(pages[RW], expect, strlen(expect))) {
        pages[RW][63] = 0;
        snprintf(why, WHY_SIZE, "rw page holds '%s', not what Dom0 wrote ('%s')", (char *)pages[RW], expect);
        return why;
    }
    if (memcmp(pages[RO], "xenith-grant-ro", 16))
        return "the read-only page changed";
    if (memcmp(pages[FOREIGN], "xenith-grant-foreign", 21))
        return "the page granted to domain 7 changed";
    for (int i = 0; i < 3; i++) {
        uint16_t f = gnttab_flags((grant_ref_t)refs[i]);
        if (f & (GTF_reading | GTF_writing)) {
            snprintf(why, WHY_SIZE, "ref %d (%s) still in use after Dom0 finished: flags %#x", refs[i], names[i], f);
            return why;
        }
        if ((rc = gnttab_end_access((grant_ref_t)refs[i]))) {
            snprintf(why, WHY_SIZE, "revoking ref %d (%s): %s", refs[i], names[i], errno_name(rc));
            return why;
        }
    }
    printk("gnttab: Dom0 wrote '%s'; ro and foreign pages unchanged; all revoked\n", expect);
    return self_copy((domid_t)domid, why);
}

const struct test test_gnttab = { "gnttab", run };
