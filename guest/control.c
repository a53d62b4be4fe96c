#include "control.h"
#include "klib.h"
#include "xenbus.h"

#define TOKEN_SHUTDOWN "control-shutdown"
#define TOKEN_SYSRQ    "control-sysrq"

/* The nodes we take requests from, one row each. */
static const struct {
    const char *token, *path;
    enum control_kind kind;
} nodes[] = {
    { TOKEN_SHUTDOWN, "control/shutdown", CONTROL_SHUTDOWN },
    { TOKEN_SYSRQ, "control/sysrq", CONTROL_SYSRQ },
};
#define NR_NODES (sizeof(nodes) / sizeof(nodes[0]))

/* Events counted for each node when control_poll last looked. */
static uint64_t seen[NR_NODES];

int control_init(void)
{
    int rc;

    if ((rc = xs_write(0, "control/feature-poweroff", "1")) ||
        (rc = xs_write(0, "control/feature-reboot", "1")) ||
        (rc = xs_write(0, "control/feature-suspend", "1")) ||
        (rc = xs_watch("control/shutdown", TOKEN_SHUTDOWN)) ||
        (rc = xs_watch("control/sysrq", TOKEN_SYSRQ)))
        return rc;
    return 0;
}

/* Reads and clears one node inside a transaction, so a request is neither lost nor taken twice. */
static int take(const char *path, char *val, size_t size)
{
    for (int attempt = 0; attempt < 10; attempt++) {
        xs_tx_t tx;
        int rc = xs_transaction_start(&tx);
        if (rc)
            return rc;
        rc = xs_read(tx, path, val, size);
        if (rc > 0)
            rc = xs_write(tx, path, "");
        else if (rc == 0 || rc == -ENOENT)
            val[0] = '\0', rc = 0;
        int end = xs_transaction_end(tx, rc < 0);
        if (rc < 0)
            return rc;
        if (end == -EAGAIN)
            continue;
        return end;
    }
    return -EAGAIN;
}

static void classify(struct control_request *req)
{
    if (req->kind == CONTROL_SHUTDOWN && !strcmp(req->what, "suspend"))
        req->kind = CONTROL_SUSPEND;
}

int control_wait(struct control_request *req, uint64_t deadline_ns)
{
    for (;;) {
        char path[128], token[64];
        int rc = xs_read_watch(path, sizeof(path), token, sizeof(token), deadline_ns);
        if (rc)
            return rc;
        if (!strcmp(token, TOKEN_SHUTDOWN))
            req->kind = CONTROL_SHUTDOWN;
        else if (!strcmp(token, TOKEN_SYSRQ))
            req->kind = CONTROL_SYSRQ;
        else
            continue;
        rc = take(req->kind == CONTROL_SHUTDOWN ? "control/shutdown" : "control/sysrq", req->what,
                  sizeof(req->what));
        if (rc)
            return rc;
        if (req->what[0]) {
            classify(req);
            return 0;
        }
    }
}

int control_poll(struct control_request *req)
{
    char path[128], token[64];

    /* Deadline 1 (long past): only what has arrived; each event bumps its watch's count. */
    while (xs_read_watch(path, sizeof(path), token, sizeof(token), 1) == 0)
        ;
    for (unsigned int i = 0; i < NR_NODES; i++) {
        uint64_t n = xs_watch_events(nodes[i].token);
        if (n == seen[i])
            continue;
        seen[i] = n;
        int rc = take(nodes[i].path, req->what, sizeof(req->what));
        if (rc)
            return rc;
        if (req->what[0]) {
            req->kind = nodes[i].kind;
            classify(req);
            return 0;
        }
    }
    return -XEN_EAGAIN;
}
