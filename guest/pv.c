#include "blkfront.h"
#include "cmdline.h"
#include "console.h"
#include "events.h"
#include "gnttab.h"
#include "klib.h"
#include "netfront.h"
#include "pv.h"
#include "shared_info.h"
#include "tests/tests.h"
#include "time.h"
#include "timer.h"
#include "xenbus.h"
#include "xencons.h"
#include "xerrno.h"

#define FRONTEND_RESUME_TIMEOUT_S 20

struct pv_status pv_status = { 1, 1, 1, 1, 1 };

void pv_init(const char *cmdline)
{
    struct pv_status *s = &pv_status;

    s->shared_info = shared_info_init();
    if (!s->shared_info) {
        events_init();
        char how[16] = "";
        cmdline_get(cmdline, "upcall", how, sizeof(how));
        s->upcall = upcall_init(!strcmp(how, "callback"));
        s->console = xencons_init();
    }
    s->gnttab = gnttab_init();
    s->xenbus = s->shared_info ? s->shared_info : xenbus_init();
    printk("pv: shared_info %s%s, upcall %s, console ring %s, grant table %s, xenstore %s\n",
           errno_name_or_ok(s->shared_info), vcpu_info_registered ? " (vcpu_info registered)" : "",
           s->upcall ? errno_name_or_ok(s->upcall) : upcall_method, errno_name_or_ok(s->console),
           s->gnttab ? errno_name_or_ok(s->gnttab) : gnttab_method, errno_name_or_ok(s->xenbus));
}

const char *pv_need(const char *name, int rc, char *why)
{
    if (!rc)
        return NULL;
    snprintf(why, WHY_SIZE, "%s unavailable: %s (%d)", name, rc == 1 ? "not set up" : errno_name(rc), rc);
    return why;
}

unsigned int pv_quiesce(uint64_t deadline_ns)
{
    unsigned int busy = 0;

    for (int i = 0; i < NF_MAX_DEVS; i++)
        busy += netfront_quiesce(&netfronts[i], deadline_ns);
    for (int i = 0; i < BF_MAX_DEVS; i++)
        if (blkfronts[i].connected)
            busy += blkfront_quiesce(&blkfronts[i], deadline_ns);
    xencons_flush();
    return busy;
}

/* ---- resume, one step per module ---- */

struct resume_ctx {
    uint64_t clock_ns;
    char *why;
    char done[160];             /* for the summary line */
};

#define STEP_FAIL(...) do { snprintf(c->why, WHY_SIZE, __VA_ARGS__); return c->why; } while (0)

static void note(struct resume_ctx *c, const char *what)
{
    size_t n = strlen(c->done);

    snprintf(c->done + n, sizeof(c->done) - n, "%s%s", n ? ", " : "", what);
}

static const char *resume_shared_info(struct resume_ctx *c)
{
    int rc = shared_info_resume();

    if (rc == 1)
        STEP_FAIL("shared_info: it was never placed (pv=0, or the boot's step failed)");
    if (rc) {
        xencons_disconnect();       /* its waits would read a clock we no longer have */
        STEP_FAIL("shared_info: XENMEM_add_to_physmap(XENMAPSPACE_shared_info): %s (%d)", errno_name(rc), rc);
    }
    c->clock_ns = monotonic_ns();
    note(c, vcpu_info_registered ? "shared_info (vcpu_info registered)" : "shared_info");
    return NULL;
}

static const char *resume_events(struct resume_ctx *c)
{
    uint32_t virq = 0;
    int rc = events_resume(&virq);

    if (rc)
        STEP_FAIL("events: EVTCHNOP_bind_virq(%u): %s (%d)", virq, errno_name(rc), rc);
    if ((rc = upcall_resume()) < 0)
        STEP_FAIL("events: upcall vector (%s): %s (%d)", upcall_method, errno_name(rc), rc);
    note(c, "events");
    return NULL;
}

static const char *resume_timer(struct resume_ctx *c)
{
    int rc = timer_resume();

    if (rc < 0)
        STEP_FAIL("timer: set_timer_op: %s (%d)", errno_name(rc), rc);
    if (!rc)
        note(c, "timer");
    return NULL;
}

static const char *resume_console(struct resume_ctx *c)
{
    int rc = xencons_resume();

    if (rc < 0)
        STEP_FAIL("console: HVM_PARAM_CONSOLE_PFN/EVTCHN: %s (%d)", errno_name(rc), rc);
    if (!rc)
        note(c, "console ring");
    return NULL;
}

static const char *resume_gnttab(struct resume_ctx *c)
{
    int rc = gnttab_resume();

    if (rc < 0)
        STEP_FAIL("grant table: placing frame 0: %s (%d)", errno_name(rc), rc);
    if (!rc)
        note(c, "grant table");
    return NULL;
}

static const char *resume_xenbus(struct resume_ctx *c)
{
    const char *failed = NULL;
    int rc = xenbus_resume(&failed);

    if (rc < 0)
        STEP_FAIL("xenstore: %s: %s (%d)", failed ? failed : "?", errno_name(rc), rc);
    if (!rc)
        note(c, "xenstore");
    return NULL;
}

static const char *resume_frontends(struct resume_ctx *c)
{
    char name[24];

    for (int i = 0; i < NF_MAX_DEVS; i++) {
        if (!netfronts[i].connected)
            continue;
        if (netfront_resume(&netfronts[i], FRONTEND_RESUME_TIMEOUT_S, c->why))
            return c->why;      /* "netfront: ..." names itself */
        snprintf(name, sizeof(name), "vif%u", netfronts[i].devid);
        note(c, name);
    }
    for (int i = 0; i < BF_MAX_DEVS; i++) {
        if (!blkfronts[i].connected)
            continue;
        if (blkfront_resume(&blkfronts[i], FRONTEND_RESUME_TIMEOUT_S, c->why))
            return c->why;
        note(c, blkfronts[i].name);
    }
    return NULL;
}

/* Linux's order: the hypervisor's pages and vector, grants, event channels, timers, the store,
 * then the devices.  Our console comes before the grant table so that a later step's failure is
 * printed on the domain's console. */
static const char *(*const resume_steps[])(struct resume_ctx *) = {
    resume_shared_info,
    resume_events,
    resume_timer,
    resume_console,
    resume_gnttab,
    resume_xenbus,
    resume_frontends,
};

const char *pv_resume(uint64_t *clock_ns, char *why)
{
    struct resume_ctx c = { .why = why };

    for (size_t i = 0; i < sizeof(resume_steps) / sizeof(resume_steps[0]); i++) {
        const char *fail = resume_steps[i](&c);
        *clock_ns = c.clock_ns;
        if (fail)
            return fail;
    }
    printk("pv: resumed: %s\n", c.done);
    return NULL;
}
