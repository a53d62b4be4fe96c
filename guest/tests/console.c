/*
 * `console [lines=N] [timeout=S]`: the PV console ring.  N numbered lines (default 200) through the
 * ring, which the harness finds in the log in order, once each; then one line of input from the
 * ring's `in` side (typed through `xl console`), echoed as `console input: <line>`.
 */
#include <stddef.h>
#include "cmdline.h"
#include "console.h"
#include "events.h"
#include "klib.h"
#include "pv.h"
#include "tests/tests.h"
#include "time.h"
#include "xencons.h"

static const char *run(const char *cmdline, char *why)
{
    const char *fail;
    uint64_t lines = cmdline_u64(cmdline, "lines", 200);

    if ((fail = pv_need("console ring", pv_status.console, why)))
        return fail;
    for (uint64_t i = 1; i <= lines; i++)
        printk("console line %lu of %lu\n", i, lines);
    if (!xencons_connected())
        return "the console ring was given up while printing (backend stalled)";

    printk("console: waiting for a line of input\n");
    char line[128];
    size_t n = 0;
    evtchn_port_t port = (evtchn_port_t)xencons_evtchn;
    uint64_t deadline = monotonic_ns() + cmdline_u64(cmdline, "timeout", 30) * NS_PER_S;
    for (;;) {
        char c;
        evtchn_clear(port);
        if (xencons_read(&c, 1)) {
            if (c == '\r' || c == '\n') {
                if (n)
                    break;
                continue;
            }
            if (n < sizeof(line) - 1 && c >= ' ' && c < 0x7f)
                line[n++] = c;
            continue;
        }
        if (evtchn_wait(&port, 1, deadline))
            return "no line of input within the timeout";
    }
    line[n] = '\0';
    printk("console input: %s\n", line);
    return NULL;
}

const struct test test_console = { "console", run };
