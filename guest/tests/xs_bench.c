/*
 * `xs-bench [count=N]`: xenstore round trips over the guest's own ring (N = 2000 by default, at most
 * MAX_COUNT), each timed with the pvclock: N reads of data/b (written once first), N writes of it
 * (the same 16-byte value bench/xs_load.c uses), and N watch firings: a watch on data/w (its initial
 * event drained), then N times a write of data/w and the wait for its event (the write and the event
 * share the ring).  Prints, per kind, `xs-bench KIND count=N mean_us=M p99_us=P` (one decimal; p99 as
 * xs_load: the sorted sample at N * 0.99) and passes.  bench/xenstore.sh reads these lines.
 */
#include <stddef.h>
#include "cmdline.h"
#include "console.h"
#include "klib.h"
#include "pv.h"
#include "tests/tests.h"
#include "time.h"
#include "xenbus.h"
#include "xerrno.h"

#define MAX_COUNT   50000
#define VALUE       "0123456789abcdef"
#define WATCH_TOKEN "xs-bench"

static uint64_t lat[MAX_COUNT];     /* ns per operation */

static void sift(uint64_t *a, size_t root, size_t n)
{
    for (size_t child; (child = 2 * root + 1) < n; root = child) {
        if (child + 1 < n && a[child + 1] > a[child])
            child++;
        if (a[root] >= a[child])
            return;
        uint64_t t = a[root];
        a[root] = a[child];
        a[child] = t;
    }
}

static void heapsort(uint64_t *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift(a, i, n);
    for (size_t end = n; end-- > 1;) {
        uint64_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift(a, 0, end);
    }
}

/* ns as microseconds with one decimal, rounded. */
static const char *us(uint64_t ns, char *buf, size_t size)
{
    uint64_t tenths = (ns + 50) / 100;

    snprintf(buf, size, "%lu.%lu", (unsigned long)(tenths / 10), (unsigned long)(tenths % 10));
    return buf;
}

static void report(const char *kind, size_t n)
{
    uint64_t sum = 0;
    char m[24], p[24];

    for (size_t i = 0; i < n; i++)
        sum += lat[i];
    heapsort(lat, n);
    size_t i99 = n * 99 / 100 < n ? n * 99 / 100 : n - 1;
    printk("xs-bench %s count=%lu mean_us=%s p99_us=%s\n", kind, (unsigned long)n, us(sum / n, m, sizeof(m)),
           us(lat[i99], p, sizeof(p)));
}

/* Waits for our watch's event: 0, or -errno. */
static int wait_event(uint64_t timeout_ns)
{
    uint64_t deadline = monotonic_ns() + timeout_ns;
    char path[64], token[32];

    for (;;) {
        int rc = xs_read_watch(path, sizeof(path), token, sizeof(token), deadline);
        if (rc)
            return rc;
        if (!strcmp(token, WATCH_TOKEN))
            return 0;
    }
}

static const char *run(const char *cmdline, char *why)
{
    const char *fail;
    char buf[64];
    int rc;

    if ((fail = pv_need("xenstore", pv_status.xenbus, why)))
        return fail;
    if (!time_available())
        return "no pvclock to time with";
    uint64_t count = cmdline_u64(cmdline, "count", 2000);
    if (!count || count > MAX_COUNT) {
        snprintf(why, WHY_SIZE, "count=%lu: 1 to %d", (unsigned long)count, MAX_COUNT);
        return why;
    }
    size_t n = (size_t)count;

    if ((rc = xs_write(0, "data/b", VALUE))) {
        snprintf(why, WHY_SIZE, "write data/b: %s (%d)", errno_name(rc), rc);
        return why;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = monotonic_ns();
        rc = xs_read(0, "data/b", buf, sizeof(buf));
        lat[i] = monotonic_ns() - t0;
        if (rc != (int)sizeof(VALUE) - 1) {
            snprintf(why, WHY_SIZE, "read data/b #%lu: %s (%d)", (unsigned long)i, rc < 0 ? errno_name(rc) : "short", rc);
            return why;
        }
    }
    report("read", n);

    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = monotonic_ns();
        rc = xs_write(0, "data/b", VALUE);
        lat[i] = monotonic_ns() - t0;
        if (rc) {
            snprintf(why, WHY_SIZE, "write data/b #%lu: %s (%d)", (unsigned long)i, errno_name(rc), rc);
            return why;
        }
    }
    report("write", n);

    if ((rc = xs_write(0, "data/w", "x")) || (rc = xs_watch("data/w", WATCH_TOKEN)) ||
        (rc = wait_event(5 * NS_PER_S))) {      /* a new watch fires once at once */
        snprintf(why, WHY_SIZE, "setting the watch on data/w: %s (%d)", errno_name(rc), rc);
        return why;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = monotonic_ns();
        rc = xs_write(0, "data/w", "x");
        if (!rc)
            rc = wait_event(5 * NS_PER_S);
        lat[i] = monotonic_ns() - t0;
        if (rc) {
            snprintf(why, WHY_SIZE, "watch #%lu (write data/w, then its event): %s (%d)", (unsigned long)i,
                     errno_name(rc), rc);
            return why;
        }
    }
    report("watch", n);
    xs_unwatch("data/w", WATCH_TOKEN);
    xs_rm(0, "data/w");
    xs_rm(0, "data/b");
    return NULL;
}

const struct test test_xs_bench = { "xs-bench", run };
