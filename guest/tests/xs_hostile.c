/*
 * `xs-hostile`: xenstore's limits, from a domain that pushes them.  Nodes under data/hostile until
 * xenstored refuses with its quota error (EDQUOT, or ENOSPC as Xen's C xenstored answers; before
 * 2000 nodes); a value too big for a node (any error, within the 4096-byte payload so that the
 * message itself is legal); other domains' nodes (EACCES).  Every answer is an errno to us, never a
 * crash: the client bounds every reply and every wait.  Cleans up and passes.
 */
#include <stddef.h>
#include "console.h"
#include "klib.h"
#include "pv.h"
#include "tests/tests.h"
#include "xenbus.h"
#include "xerrno.h"

#define MAX_NODES 2000
#define BIG_VALUE 4000

static char big[BIG_VALUE];

static const char *run(const char *cmdline, char *why)
{
    const char *fail;
    int rc = 0, n;

    (void)cmdline;
    if ((fail = pv_need("xenstore", pv_status.xenbus, why)))
        return fail;
    xs_rm(0, "data/hostile");
    for (n = 0; n < MAX_NODES; n++) {
        char path[48];
        snprintf(path, sizeof(path), "data/hostile/n%d", n);
        if ((rc = xs_write(0, path, "x")))
            break;
    }
    int rm = xs_rm(0, "data/hostile");
    if (rc == 0) {
        snprintf(why, WHY_SIZE, "%d nodes created without hitting a quota", n);
        return why;
    }
    if (rc != -EDQUOT && rc != -ENOSPC) {
        snprintf(why, WHY_SIZE, "node %d refused with %s (%d), not a quota error", n, errno_name(rc), rc);
        return why;
    }
    printk("xs-hostile: node quota after %d nodes: %s\n", n, errno_name(rc));
    if (rm) {
        snprintf(why, WHY_SIZE, "rm data/hostile after the quota: %s", errno_name(rm));
        return why;
    }
    /* The quota is per domain: after the rm we can create nodes again. */
    if ((rc = xs_write(0, "data/hostile-after", "ok")) || (rc = xs_rm(0, "data/hostile-after"))) {
        snprintf(why, WHY_SIZE, "writing a node after freeing the quota: %s", errno_name(rc));
        return why;
    }

    memset(big, 'v', sizeof(big));
    rc = xs_write_len(0, "data/big", big, sizeof(big));
    if (rc == 0) {
        xs_rm(0, "data/big");
        return "a 4000-byte value was accepted";
    }
    printk("xs-hostile: %d-byte value refused: %s\n", BIG_VALUE, errno_name(rc));
    char buf[8];
    if ((rc = xs_read(0, "name", buf, sizeof(buf))) < 0) {     /* the connection is still good */
        snprintf(why, WHY_SIZE, "xenstore unusable after the big value: %s", errno_name(rc));
        return why;
    }

    static const char *const theirs[] = { "/local/domain/0/name", "/local/domain/0", "/local/domain/0/data",
                                          "/vm", "/tool" };
    for (unsigned int i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++) {
        if ((rc = xs_read(0, theirs[i], buf, sizeof(buf))) != -EACCES && i < 3) {
            snprintf(why, WHY_SIZE, "read %s: %s (%d), EACCES expected", theirs[i], rc >= 0 ? "success" : errno_name(rc), rc);
            return why;
        }
    }
    if ((rc = xs_rm(0, "/local/domain/0")) != -EACCES) {
        snprintf(why, WHY_SIZE, "rm /local/domain/0: %s (%d), EACCES expected", rc ? errno_name(rc) : "success", rc);
        return why;
    }
    printk("xs-hostile: other domains' nodes: EACCES\n");
    return NULL;
}

const struct test test_xs_hostile = { "xs-hostile", run };
