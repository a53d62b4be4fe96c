#include "cmdline.h"
#include "console.h"
#include "events.h"
#include "gnttab.h"
#include "klib.h"
#include "pv.h"
#include "shared_info.h"
#include "tests/tests.h"
#include "xenbus.h"
#include "xencons.h"
#include "xerrno.h"

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
