/*
 * `migrate-workload [dirty_mib=N] [dirty_rate_mibs=R] [ping=IP] [disk=1] [seconds=S] [report_ms=MS]`:
 * the guest side of the save/restore and live-migration tests (tests/system, bench/migrate.sh).
 *
 * A tight ring-3 loop bumps a counter and reads the pvclock on every pass, keeping the longest gap
 * between two consecutive readings (the downtime as the guest sees it; the time spent printing
 * and checking memory is not counted, as bench/migrate_gap.c does not count its printing).  On the
 * side, every millisecond or so:
 *  - dirty_mib=N: N MiB of RAM nothing else uses (the start_info memory map's RAM above the image
 *    and the boot information, plus 1 MiB, below 4 GiB) rewritten one page per pass, round-robin
 *    (R MiB/s at most with dirty_rate_mibs=R; 0, the default, as fast as the loop goes).  Page p
 *    holds its gfn, its generation and data derived from both, and a checksum of those 511 words.
 *    Writes happen in a fixed order, so after W writes page p must hold generation
 *    (W - 1 - p) / pages + 1 (0 if W <= p): a page a migration forgot to copy again keeps an older
 *    generation with a valid checksum, and is caught.  Every page is checked at each report and
 *    right after each resume: `mig: memory verified pages=P` or
 *    `FAIL migrate-workload: page P corrupt (...)`.
 *  - ping=IP: an ICMP echo request every 100 ms through eth0 (vif=N, timeout=S as net-ping);
 *    S/R counts sent and answered.
 *  - disk=1: 4 KiB reads (8 sectors, one in flight, one every 10 ms) walking xvda (vbd=N), each
 *    checked against blk-pattern's seed-1 pattern (tests/blk_common.c): D counts verified reads;
 *    `FAIL migrate-workload: disk sector X does not verify`.
 *  - every 10 ms, control requests (control_poll): "suspend" runs guest_suspend (suspend.c):
 *    `mig: suspending`, then `mig: resumed in a new domain after T ms gap_max_us=G` (T: pvclock
 *    time frozen in the hypercall; G: the loop's gap across the whole suspend, quiesce and resume
 *    included) or `mig: suspend cancelled, running on`; a failed resume step is
 *    `FAIL migrate-workload: resume: STEP: why`.  poweroff/halt/reboot end the domain so.
 * Reports come from VIRQ_TIMER (set_timer_op, re-armed by pv_resume), so the timer and the event
 * channel are checked across every resume: every report_ms (1000) of guest time
 * `mig: count=C gap_max_us=G pings=S/R disk_reads=D`; a timer that stays silent 2 s past its
 * deadline fails the test.  seconds=S (0: forever): PASS after S s of guest time.
 */
#include <stddef.h>
#include <stdint.h>
#include "blkfront.h"
#include "cmdline.h"
#include "console.h"
#include "control.h"
#include "events.h"
#include "kernel.h"
#include "klib.h"
#include "net/net.h"
#include "netfront.h"
#include "pv.h"
#include "shared_info.h"
#include "suspend.h"
#include "tests/blk_common.h"
#include "tests/net_common.h"
#include "tests/tests.h"
#include "time.h"
#include "timer.h"
#include "xerrno.h"

#define NAME            "migrate-workload"
#define SIDE_NS         (1 * NS_PER_MS)         /* side work at most this often */
#define CONTROL_NS      (10 * NS_PER_MS)
#define PING_NS         (100 * NS_PER_MS)
#define DISK_NS         (10 * NS_PER_MS)
#define DISK_SECTORS    8
#define DISK_SEED       1
#define TIMER_GRACE_NS  (2 * NS_PER_S)
#define SLACK           (1ull << 20)            /* above the image and boot info, as balloon leaves */
#define FOUR_GIB        (1ull << 32)
#define MAX_RANGES      16
#define PING_ID         0x4d67                  /* "Mg" */
#define PING_DATA       56
#define PAGE_WORDS      512

struct range { uint64_t gfn, pages; };

struct mig {
    /* Parameters. */
    uint64_t dirty_mib, dirty_rate_mibs, seconds, report_ns;
    uint32_t ping_ip;
    int disk;
    /* The dirty region: pages in the ranges, in order. */
    struct range ranges[MAX_RANGES];
    unsigned int nr_ranges;
    uint64_t pages, writes, next_page, start_ns;
    /* The loop. */
    uint64_t count, last_ns, gap_max_ns, next_side_ns, next_control_ns;
    uint64_t uncounted;         /* bumped by work that is not the loop's gap: printing, checking */
    /* Reports, from VIRQ_TIMER. */
    uint64_t next_report_ns, armed_ns, timer_fired, timer_seen;
    /* Ping. */
    struct net_if *nif;
    uint64_t pings_sent, pings_answered, next_ping_ns;
    uint16_t seq;
    uint8_t outstanding[65536 / 8];
    uint8_t ping_data[PING_DATA];
    /* Disk. */
    struct blkfront *bf;
    int tag;
    uint64_t disk_sector, disk_reads, next_disk_ns, disk_started_ns, disk_lost_before;
};

static struct mig m;

/* ---- the dirty region ---- */

static uint64_t page_gfn(uint64_t p)
{
    for (unsigned int i = 0; i < m.nr_ranges; i++) {
        if (p < m.ranges[i].pages)
            return m.ranges[i].gfn + p;
        p -= m.ranges[i].pages;
    }
    return 0;   /* not reached: p < m.pages */
}

static uint64_t checksum(const volatile uint64_t *w)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (unsigned int i = 0; i < PAGE_WORDS - 1; i++)
        h = (h ^ w[i]) * 0x100000001b3ull;
    return h;
}

static void write_page(uint64_t p, uint64_t gen)
{
    uint64_t gfn = page_gfn(p);
    volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)(gfn << 12);

    w[0] = gfn;
    w[1] = gen;
    for (unsigned int i = 2; i < PAGE_WORDS - 1; i++)
        w[i] = gfn * 0x9e3779b97f4a7c15ull + gen * 0xbf58476d1ce4e5b9ull + i;
    w[PAGE_WORDS - 1] = checksum(w);
}

/* The generation page p must hold after m.writes round-robin writes. */
static uint64_t expected_gen(uint64_t p)
{
    return m.writes > p ? (m.writes - 1 - p) / m.pages + 1 : 0;
}

static const char *verify_memory(char *why)
{
    for (uint64_t p = 0; p < m.pages; p++) {
        uint64_t gfn = page_gfn(p), want = expected_gen(p);
        const volatile uint64_t *w = (const volatile uint64_t *)(uintptr_t)(gfn << 12);
        uint64_t sum = checksum(w);
        if (w[0] != gfn || w[1] != want || w[PAGE_WORDS - 1] != sum) {
            snprintf(why, WHY_SIZE, "page %lu corrupt (gfn %#lx: holds gfn %#lx, generation %lu where %lu was "
                     "written, checksum %#lx where its words sum to %#lx)", (unsigned long)p,
                     (unsigned long)gfn, (unsigned long)w[0], (unsigned long)w[1], (unsigned long)want,
                     (unsigned long)w[PAGE_WORDS - 1], (unsigned long)sum);
            return why;
        }
    }
    if (m.pages)
        printk("mig: memory verified pages=%lu\n", (unsigned long)m.pages);
    return NULL;
}

static void write_next_page(uint64_t now)
{
    if (m.dirty_rate_mibs && (m.writes + 1) * NS_PER_S > (now - m.start_ns) * m.dirty_rate_mibs * 256)
        return;     /* ahead of the rate: 256 pages a MiB */
    write_page(m.next_page, m.writes / m.pages + 1);
    m.writes++;
    if (++m.next_page == m.pages)
        m.next_page = 0;
}

/* Where the memory map's RAM lies, and everything the boot put above the image. */
static uint64_t boot_info_end(const struct hvm_start_info *si)
{
    extern char _end[];
    uint64_t end = (uint64_t)(uintptr_t)_end;

#define ABOVE(a, len) do { if ((a) && (a) + (len) > end) end = (a) + (len); } while (0)
    ABOVE((uint64_t)(uintptr_t)si, sizeof(*si));
    if (si->cmdline_paddr)
        ABOVE(si->cmdline_paddr, strlen((const char *)(uintptr_t)si->cmdline_paddr) + 1);
    if (si->version >= 1)
        ABOVE(si->memmap_paddr, (uint64_t)si->memmap_entries * sizeof(struct hvm_memmap_table_entry));
    if (si->modlist_paddr && si->nr_modules <= 16) {
        const struct hvm_modlist_entry *mods = (const void *)(uintptr_t)si->modlist_paddr;
        ABOVE(si->modlist_paddr, si->nr_modules * sizeof(*mods));
        for (uint32_t i = 0; i < si->nr_modules; i++)
            ABOVE(mods[i].paddr, mods[i].size);
    }
#undef ABOVE
    return end;
}

static const char *pick_region(char *why)
{
    const struct hvm_start_info *si = boot_start_info;
    uint64_t want = m.dirty_mib * 256;

    if (!want)
        return NULL;
    if (!si || si->version < 1 || !si->memmap_paddr || !si->memmap_entries) {
        snprintf(why, WHY_SIZE, "dirty_mib=%lu: hvm_start_info has no memory map (version %u, %u entries)",
                 (unsigned long)m.dirty_mib, si ? si->version : 0, si ? si->memmap_entries : 0);
        return why;
    }
    uint64_t low = (boot_info_end(si) + SLACK + 4095) & ~4095ull, have = 0;
    const struct hvm_memmap_table_entry *map = (const void *)(uintptr_t)si->memmap_paddr;
    for (uint32_t i = 0; i < si->memmap_entries && i < 64 && m.pages < want; i++) {
        if (map[i].type != XEN_HVM_MEMMAP_TYPE_RAM)
            continue;
        uint64_t a = map[i].addr > low ? map[i].addr : low, end = map[i].addr + map[i].size;
        a = (a + 4095) & ~4095ull;
        end = (end < FOUR_GIB ? end : FOUR_GIB) & ~4095ull;
        if (end <= a)
            continue;
        uint64_t n = (end - a) >> 12;
        have += n;
        if (m.nr_ranges == MAX_RANGES)
            continue;
        n = n < want - m.pages ? n : want - m.pages;
        m.ranges[m.nr_ranges++] = (struct range){ a >> 12, n };
        m.pages += n;
    }
    if (m.pages < want) {
        snprintf(why, WHY_SIZE, "dirty_mib=%lu: only %lu MiB of RAM free above %#lx below 4 GiB in the memory map",
                 (unsigned long)m.dirty_mib, (unsigned long)(have / 256), (unsigned long)low);
        return why;
    }
    for (uint64_t p = 0; p < m.pages; p++)
        write_page(p, 0);
    return NULL;
}

/* ---- ping ---- */

static void on_echo_reply(struct net_if *nif, uint32_t src, uint16_t id, uint16_t seq, const uint8_t *d, size_t len)
{
    (void)nif;
    if (src != m.ping_ip || id != PING_ID || len != PING_DATA || memcmp(d, m.ping_data, len))
        return;
    if (!(m.outstanding[seq / 8] & (1u << (seq % 8))))
        return;
    m.outstanding[seq / 8] &= (uint8_t)~(1u << (seq % 8));
    m.pings_answered++;
}

static void ping_tick(uint64_t now)
{
    if (now < m.next_ping_ns)
        return;
    m.next_ping_ns = now + PING_NS;
    uint16_t seq = m.seq++;
    m.outstanding[seq / 8] &= (uint8_t)~(1u << (seq % 8));
    int rc = icmp_echo_send(m.nif, m.ping_ip, PING_ID, seq, m.ping_data, PING_DATA);
    if (rc == 0 || rc == -EAGAIN) {     /* -EAGAIN: held until ARP answers, then sent */
        m.outstanding[seq / 8] |= (uint8_t)(1u << (seq % 8));
        m.pings_sent++;
    }
}

/* ---- disk ---- */

static const char *disk_tick(uint64_t now, char *why)
{
    if (m.tag >= 0) {
        int16_t status;
        blkfront_reap(m.bf);
        if (!blkfront_tag_result(m.bf, m.tag, &status)) {
            if (now - m.disk_started_ns > BLK_IO_TIMEOUT_NS) {
                snprintf(why, WHY_SIZE, "disk read of sectors %lu+%u: no answer in %lu s", (unsigned long)m.disk_sector,
                         DISK_SECTORS, (unsigned long)(BLK_IO_TIMEOUT_NS / NS_PER_S));
                return why;
            }
            return NULL;
        }
        m.tag = -1;
        if (status != BLKIF_RSP_OKAY && m.bf->st.lost_in_resume != m.disk_lost_before) {
            m.next_disk_ns = now;       /* lost with the old backend across a resume: read it again */
            return NULL;
        }
        if (status != BLKIF_RSP_OKAY) {
            snprintf(why, WHY_SIZE, "disk read of sectors %lu+%u answered %d (%s)", (unsigned long)m.disk_sector,
                     DISK_SECTORS, status, blkif_status_name(status));
            return why;
        }
        unsigned int n = m.bf->sectors512 - m.disk_sector < DISK_SECTORS ?
                         (unsigned int)(m.bf->sectors512 - m.disk_sector) : DISK_SECTORS;
        int64_t bad = blk_check(blkfront_slice(m.bf, 0), m.disk_sector, n, DISK_SEED);
        if (bad >= 0) {
            snprintf(why, WHY_SIZE, "disk sector %ld does not verify", (long)bad);
            return why;
        }
        m.disk_reads++;
        m.disk_sector += n;
        if (m.disk_sector >= m.bf->sectors512)
            m.disk_sector = 0;
        m.next_disk_ns = now + DISK_NS;
    }
    if (now < m.next_disk_ns)
        return NULL;
    unsigned int n = m.bf->sectors512 - m.disk_sector < DISK_SECTORS ?
                     (unsigned int)(m.bf->sectors512 - m.disk_sector) : DISK_SECTORS;
    m.disk_lost_before = m.bf->st.lost_in_resume;
    int tag = blkfront_start(m.bf, BLKIF_OP_READ, m.disk_sector, n, 0);
    if (tag == -EAGAIN)
        return NULL;
    if (tag < 0) {
        snprintf(why, WHY_SIZE, "disk read of sectors %lu+%u: %s", (unsigned long)m.disk_sector, n, errno_name(tag));
        return why;
    }
    m.tag = tag;
    m.disk_started_ns = now;
    return NULL;
}

/* ---- reports and requests ---- */

static void on_timer(evtchn_port_t port, void *data)
{
    (void)port, (void)data;
    m.timer_fired++;
}

static const char *arm_report(uint64_t now, char *why)
{
    m.next_report_ns += m.report_ns;
    if (m.next_report_ns <= now)
        m.next_report_ns = now + m.report_ns;
    int rc = timer_set(m.next_report_ns);
    if (rc) {
        snprintf(why, WHY_SIZE, "set_timer_op: %s (%d)", errno_name(rc), rc);
        return why;
    }
    m.armed_ns = now;
    return NULL;
}

static const char *report(uint64_t now, char *why)
{
    const char *fail;

    printk("mig: count=%lu gap_max_us=%lu pings=%lu/%lu disk_reads=%lu\n", (unsigned long)m.count,
           (unsigned long)(m.gap_max_ns / 1000), (unsigned long)m.pings_sent, (unsigned long)m.pings_answered,
           (unsigned long)m.disk_reads);
    m.gap_max_ns = 0;
    m.uncounted++;
    if ((fail = verify_memory(why)) || (fail = arm_report(now, why)))
        return fail;
    return NULL;
}

/* Takes a control request: NULL to carry on, or why the test fails. */
static const char *suspend_now(char *why)
{
    struct suspend_outcome out;
    uint64_t stopped = m.last_ns;       /* the loop's last reading before it stopped for this */

    m.uncounted++;
    printk("mig: suspending\n");
    switch (guest_suspend(&out, why)) {
    case SUSPEND_RESUMED: {
        if (m.nif) {                    /* the peers may sit behind another bridge now */
            arp_flush(m.nif);
            arp_announce(m.nif);
        }
        uint64_t gap = monotonic_ns() - stopped;
        m.gap_max_ns = gap > m.gap_max_ns ? gap : m.gap_max_ns;
        m.armed_ns = monotonic_ns();    /* pv_resume armed the timer again just now */
        printk("mig: resumed in a new domain after %lu ms gap_max_us=%lu\n",
               (unsigned long)(out.frozen_ns / NS_PER_MS), (unsigned long)(gap / 1000));
        break;
    }
    case SUSPEND_CANCELLED: {
        uint64_t gap = monotonic_ns() - stopped;
        m.gap_max_ns = gap > m.gap_max_ns ? gap : m.gap_max_ns;
        m.armed_ns = monotonic_ns();    /* the timer may have fired while we were paused */
        printk("mig: suspend cancelled, running on\n");
        break;
    }
    case SUSPEND_FAILED:
    default:
        if (out.resume_failed) {
            char step[WHY_SIZE];
            snprintf(step, sizeof(step), "%s", why);
            snprintf(why, WHY_SIZE, "resume: %s", step);
        }
        return why;
    }
    return verify_memory(why);
}

static const char *control_tick(char *why)
{
    struct control_request req;
    int rc = control_poll(&req);

    if (rc == -EAGAIN)
        return NULL;
    if (rc) {
        snprintf(why, WHY_SIZE, "reading control requests: %s (%d)", errno_name(rc), rc);
        return why;
    }
    if (req.kind == CONTROL_SUSPEND)
        return suspend_now(why);
    if (req.kind == CONTROL_SYSRQ) {
        printk("mig: sysrq %s ignored\n", req.what);
        return NULL;
    }
    printk("mig: shutdown request %s\n", req.what);
    if (!strcmp(req.what, "poweroff") || !strcmp(req.what, "halt"))
        xen_shutdown(SHUTDOWN_poweroff);
    if (!strcmp(req.what, "reboot"))
        xen_shutdown(SHUTDOWN_reboot);
    printk("mig: unknown shutdown request ignored\n");
    return NULL;
}

/* Everything but the counting, at most every SIDE_NS: NULL, or why the test fails. */
static const char *side_work(uint64_t now, char *why)
{
    const char *fail;
    int rc;

    if (m.nif) {
        net_service();
        ping_tick(now);
    }
    if (m.bf && (fail = disk_tick(now, why)))
        return fail;
    if (now >= m.next_control_ns) {
        m.next_control_ns = now + CONTROL_NS;
        if ((fail = control_tick(why)))
            return fail;
    }
    if (m.timer_fired != m.timer_seen) {
        m.timer_seen = m.timer_fired;
        if (now + SIDE_NS >= m.next_report_ns) {
            if ((fail = report(now, why)))
                return fail;
        } else if ((rc = timer_set(m.next_report_ns))) {    /* early (a resume re-arms a spent one) */
            snprintf(why, WHY_SIZE, "set_timer_op: %s (%d)", errno_name(rc), rc);
            return why;
        }
    } else {
        uint64_t from = m.next_report_ns > m.armed_ns ? m.next_report_ns : m.armed_ns;
        if (now > from + TIMER_GRACE_NS) {
            snprintf(why, WHY_SIZE, "timer: VIRQ_TIMER (port %u) has not fired %lu s after its deadline",
                     evtchn_virq_port(VIRQ_TIMER), (unsigned long)(TIMER_GRACE_NS / NS_PER_S));
            return why;
        }
    }
    return NULL;
}

/* ---- setup and the loop ---- */

static const char *setup(const char *cmdline, char *why)
{
    char ping_s[32] = "";
    const char *fail;
    int rc;

    m.tag = -1;
    m.dirty_mib = cmdline_u64(cmdline, "dirty_mib", 0);
    m.dirty_rate_mibs = cmdline_u64(cmdline, "dirty_rate_mibs", 0);
    m.seconds = cmdline_u64(cmdline, "seconds", 0);
    m.report_ns = cmdline_u64(cmdline, "report_ms", 1000) * NS_PER_MS;
    m.disk = cmdline_u64(cmdline, "disk", 0) != 0;
    if (cmdline_get(cmdline, "ping", ping_s, sizeof(ping_s)) && ip_parse(ping_s, &m.ping_ip))
        return "ping=a.b.c.d expected";
    if (!m.report_ns || m.report_ns > 3600 * NS_PER_S)
        return "report_ms= must be 1 to 3600000";
    if (m.dirty_mib > 4096)
        return "dirty_mib= must be at most 4096 (only the first 4 GiB are mapped)";
    printk("mig: start dirty_mib=%lu ping=%s disk=%d\n", (unsigned long)m.dirty_mib, ping_s[0] ? ping_s : "none",
           m.disk);

    if ((fail = pv_need("shared_info", pv_status.shared_info, why)) || (fail = pv_need("xenstore", pv_status.xenbus, why)))
        return fail;
    if (!time_available())
        return "no pvclock in vcpu_info: the loop could not measure gaps";
    if ((fail = pick_region(why)))
        return fail;
    if ((rc = control_init())) {
        snprintf(why, WHY_SIZE, "control_init: %s (%d)", errno_name(rc), rc);
        return why;
    }
    if (m.ping_ip) {
        if (!(m.nif = net_up(cmdline, 1, why)))
            return why;
        for (unsigned int i = 0; i < PING_DATA; i++)
            m.ping_data[i] = (uint8_t)(i + 0x20);
        icmp_echo_reply_fn = on_echo_reply;
    }
    if (m.disk && !(m.bf = blk_up(cmdline, why)))
        return why;

    evtchn_port_t port;
    if ((rc = evtchn_bind_virq(VIRQ_TIMER, &port))) {
        snprintf(why, WHY_SIZE, "timer: EVTCHNOP_bind_virq(VIRQ_TIMER): %s (%d)", errno_name(rc), rc);
        return why;
    }
    evtchn_set_handler(port, on_timer, NULL);
    if ((rc = evtchn_unmask(port))) {
        snprintf(why, WHY_SIZE, "timer: EVTCHNOP_unmask(%u): %s (%d)", port, errno_name(rc), rc);
        return why;
    }
    uint64_t now = monotonic_ns();
    m.start_ns = m.last_ns = now;
    m.next_report_ns = now;
    return arm_report(now, why);
}

static const char *run(const char *cmdline, char *why)
{
    const char *fail = setup(cmdline, why);

    if (fail)
        return fail;
    for (;;) {
        uint64_t now = monotonic_ns();
        m.count++;
        if (now > m.last_ns && now - m.last_ns > m.gap_max_ns)
            m.gap_max_ns = now - m.last_ns;
        m.last_ns = now;
        if (m.pages)
            write_next_page(now);
        /* The timer's port is unmasked; with the callback vector ring 0 clears upcall_pending
         * itself, so the selector word tells too. */
        if (__atomic_load_n(&vcpu_info->evtchn_upcall_pending, __ATOMIC_RELAXED) ||
            __atomic_load_n(&vcpu_info->evtchn_pending_sel, __ATOMIC_RELAXED))
            evtchn_poll();
        if (now < m.next_side_ns)
            continue;
        m.next_side_ns = now + SIDE_NS;
        uint64_t uncounted = m.uncounted;
        if ((fail = side_work(now, why)))
            return fail;
        /* Printing and checking memory (a report, a resume) are not the loop's gaps; the suspend
         * itself was counted by suspend_now. */
        if (m.uncounted != uncounted)
            m.last_ns = monotonic_ns();
        if (m.seconds && now - m.start_ns >= m.seconds * NS_PER_S)
            return NULL;
    }
}

const struct test test_migrate_workload = { NAME, run };
