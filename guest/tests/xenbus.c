/*
 * `xenbus`: the xenstore client against xenstored: our name and domid; write/read; directory; a
 * watch that fires on a write; a committed transaction; a conflicting one (EAGAIN); other domains'
 * nodes (EACCES); rm.
 */
#include <stddef.h>
#include "console.h"
#include "klib.h"
#include "pv.h"
#include "tests/tests.h"
#include "time.h"
#include "xenbus.h"
#include "xerrno.h"

static char *why_buf;

static const char *xs_fail(const char *what, const char *path, int rc)
{
    snprintf(why_buf, WHY_SIZE, "%s %s: %s (%d)", what, path, errno_name(rc), rc);
    return why_buf;
}

static bool has_child(const char *list, int len, const char *name)
{
    for (int i = 0; i < len; i += (int)strlen(list + i) + 1)
        if (!strcmp(list + i, name))
            return true;
    return false;
}

/* Waits for an event with token; the path must end in want (xenstored may report it relative). */
static const char *expect_watch(const char *token, const char *want)
{
    uint64_t deadline = monotonic_ns() + 5 * NS_PER_S;
    char path[128], tok[32];

    for (;;) {
        if (xs_read_watch(path, sizeof(path), tok, sizeof(tok), deadline))
            return xs_fail("no watch event for", want, -ETIMEDOUT);
        size_t pl = strlen(path), wl = strlen(want);
        if (!strcmp(tok, token) && pl >= wl && !strcmp(path + pl - wl, want))
            return NULL;
    }
}

static const char *basics(char *domid)
{
    char name[64], buf[256];
    int rc;

    if ((rc = xs_read(0, "name", name, sizeof(name))) < 0)
        return xs_fail("read", "name", rc);
    if ((rc = xs_read(0, "domid", domid, 16)) < 0)
        return xs_fail("read", "domid", rc);
    printk("xenbus: name %s, domid %s\n", name, domid);
    if ((rc = xs_write(0, "data/x", "hello-xenstore")))
        return xs_fail("write", "data/x", rc);
    if ((rc = xs_read(0, "data/x", buf, sizeof(buf))) < 0)
        return xs_fail("read", "data/x", rc);
    if (strcmp(buf, "hello-xenstore"))
        return "data/x read back differs";
    char abs[64];
    snprintf(abs, sizeof(abs), "/local/domain/%s/data/x", domid);
    if ((rc = xs_read(0, abs, buf, sizeof(buf))) < 0 || strcmp(buf, "hello-xenstore"))
        return xs_fail("read (absolute)", abs, rc);
    if ((rc = xs_mkdir(0, "data/dir")) || (rc = xs_write(0, "data/dir/a", "1")) || (rc = xs_write(0, "data/dir/b", "2")))
        return xs_fail("mkdir/write", "data/dir", rc);
    if ((rc = xs_directory(0, "data/dir", buf, sizeof(buf))) < 0)
        return xs_fail("directory", "data/dir", rc);
    if (!has_child(buf, rc, "a") || !has_child(buf, rc, "b"))
        return "directory data/dir does not list a and b";
    /* Our home by its absolute path: Xen's xenstored refuses "" (it would end in '/'). */
    char home[48];
    snprintf(home, sizeof(home), "/local/domain/%s", domid);
    if ((rc = xs_directory(0, home, buf, sizeof(buf))) < 0)
        return xs_fail("directory", home, rc);
    if (!has_child(buf, rc, "data") || !has_child(buf, rc, "name"))
        return "directory of our home lacks data or name";
    printk("xenbus: read/write/mkdir/directory ok\n");
    return NULL;
}

static const char *watches(void)
{
    const char *fail;
    int rc;

    if ((rc = xs_watch("data/w", "tok-w")))
        return xs_fail("watch", "data/w", rc);
    if ((fail = expect_watch("tok-w", "data/w")))     /* Xen fires each watch once when it is set */
        return "no initial event after setting the watch on data/w";
    if ((rc = xs_write(0, "data/w", "ping")))
        return xs_fail("write", "data/w", rc);
    if ((fail = expect_watch("tok-w", "data/w")))
        return fail;
    if ((rc = xs_unwatch("data/w", "tok-w")))
        return xs_fail("unwatch", "data/w", rc);
    printk("xenbus: watch fired on write\n");
    return NULL;
}

static const char *transactions(void)
{
    char buf[64];
    xs_tx_t t;
    int rc = -EAGAIN;

    /* A plain commit, retried on EAGAIN as callers must. */
    for (int attempt = 0; attempt < 5 && rc == -EAGAIN; attempt++) {
        if ((rc = xs_transaction_start(&t)))
            return xs_fail("transaction_start", "", rc);
        if ((rc = xs_write(t, "data/tc", "committed")))
            return xs_fail("write in transaction", "data/tc", rc);
        rc = xs_transaction_end(t, 0);
    }
    if (rc)
        return xs_fail("transaction_end (commit)", "data/tc", rc);
    if ((rc = xs_read(0, "data/tc", buf, sizeof(buf))) < 0 || strcmp(buf, "committed"))
        return xs_fail("read after commit", "data/tc", rc);

    /* A conflict: T reads data/t, someone else writes it, T writes it too: commit fails EAGAIN. */
    if ((rc = xs_write(0, "data/t", "0")) || (rc = xs_transaction_start(&t)))
        return xs_fail("setting up the conflict on", "data/t", rc);
    if ((rc = xs_read(t, "data/t", buf, sizeof(buf))) < 0)
        return xs_fail("read in transaction", "data/t", rc);
    if ((rc = xs_write(0, "data/t", "outside")))
        return xs_fail("write outside the transaction", "data/t", rc);
    if ((rc = xs_write(t, "data/t", "inside")))
        return xs_fail("write inside the transaction", "data/t", rc);
    rc = xs_transaction_end(t, 0);
    if (rc != -EAGAIN) {
        snprintf(why_buf, WHY_SIZE, "conflicting transaction ended with %s (%d), EAGAIN expected", errno_name(rc), rc);
        return why_buf;
    }
    if ((rc = xs_read(0, "data/t", buf, sizeof(buf))) < 0 || strcmp(buf, "outside"))
        return "after the failed commit data/t is not the outside write";
    printk("xenbus: transaction commit ok, conflict EAGAIN\n");
    return NULL;
}

static const char *others(const char *domid)
{
    char path[64], buf[64];
    int rc;
    const char *const paths[] = { "/local/domain/0", "/local/domain/0/name", path };

    snprintf(path, sizeof(path), "/local/domain/%lu/name", (unsigned long)(domid[0] == '1' && !domid[1] ? 2 : 1));
    for (unsigned int i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if ((rc = xs_read(0, paths[i], buf, sizeof(buf))) != -EACCES) {
            snprintf(why_buf, WHY_SIZE, "read %s answered %s (%d), EACCES expected", paths[i],
                     rc >= 0 ? "success" : errno_name(rc), rc);
            return why_buf;
        }
    }
    if ((rc = xs_write(0, "/local/domain/0/xenith-intruder", "x")) != -EACCES)
        return xs_fail("write into Dom0's directory answered (EACCES expected)", "/local/domain/0", rc);
    printk("xenbus: other domains' nodes: EACCES\n");
    return NULL;
}

static const char *removal(void)
{
    char buf[16];
    int rc;

    if ((rc = xs_rm(0, "data/x")) || (rc = xs_rm(0, "data/dir")))
        return xs_fail("rm", "data/x or data/dir", rc);
    if ((rc = xs_read(0, "data/x", buf, sizeof(buf))) != -ENOENT)
        return xs_fail("read after rm (ENOENT expected)", "data/x", rc);
    if ((rc = xs_read(0, "data/dir/a", buf, sizeof(buf))) != -ENOENT)
        return xs_fail("read of a removed child (ENOENT expected)", "data/dir/a", rc);
    printk("xenbus: rm ok\n");
    return NULL;
}

static const char *run(const char *cmdline, char *why)
{
    const char *fail;
    char domid[16];

    (void)cmdline;
    why_buf = why;
    if ((fail = pv_need("xenstore", pv_status.xenbus, why)))
        return fail;
    if ((fail = basics(domid)) || (fail = watches()) || (fail = transactions()) || (fail = others(domid)) ||
        (fail = removal()))
        return fail;
    return NULL;
}

const struct test test_xenbus = { "xenbus", run };
