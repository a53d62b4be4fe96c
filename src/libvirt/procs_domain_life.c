/* Domain procedures, part two: the lifecycle.  Starting a defined domain (CREATE, CREATE_WITH_FLAGS)
 * or a transient one from XML (CREATE_XML) goes through the model's virt_domain_start, which is
 * `xl create`; the actions on a running domain (destroy, shutdown, reboot, suspend, resume) are
 * one table of rows, each the model's call (xl's own) with the flags libvirt lets it take.
 * Save, restore, managed save and migration answer "not supported" until Xenith's own land
 * (issue 12), never a hang. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include "libvirt/domxml.h"
#include "libvirt/procs_domain.h"
#include "libvirt/procs_events.h"

/* ---- Starting ---- */

static int pd_start(struct virt_call *call, struct virt_dom *dom, unsigned int flags)
{
	if (dom->id >= 0)
		return pd_fail(call, VIR_ERR_OPERATION_INVALID, "domain is already running");
	char err[1024] = "";
	struct virt_dom started;
	int rc = virt_domain_start(pd_host(call), dom, NULL, flags & VIR_DOMAIN_START_PAUSED, &started,
				   err, sizeof(err));
	if (rc == -EEXIST)
		return pd_fail(call, VIR_ERR_OPERATION_INVALID, "domain is already running");
	if (rc < 0)
		return pd_model_fail(call, rc, err);
	*dom = started;
	virt_events_note(call->daemon, dom, VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED);
	return 0;
}

/* Flags a start may take: paused, and those that change nothing here (no managed save to
 * bypass, no caches, no NVRAM). */
#define PD_START_FLAGS (VIR_DOMAIN_START_PAUSED | VIR_DOMAIN_START_BYPASS_CACHE | \
			VIR_DOMAIN_START_FORCE_BOOT | VIR_DOMAIN_START_VALIDATE | \
			VIR_DOMAIN_START_RESET_NVRAM)

int pd_serve_create(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom_only(call, &dom))
		return -1;
	return pd_start(call, &dom, 0);
}

int pd_serve_create_with_flags(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom(call, &dom))
		return -1;
	uint32_t flags = xdr_get_u32(call->args);
	if (pd_args_done(call) || pd_check_flags(call, flags, PD_START_FLAGS, "virDomainCreateWithFlags") ||
	    pd_start(call, &dom, flags))
		return -1;
	pd_put_dom(call->ret, &dom);
	return 0;
}

/* A transient domain: the XML is parsed (domxml) and started as it is, with no definition. */
int pd_serve_create_xml(struct virt_call *call)
{
	char *xml = xdr_get_string(call->args, PD_STRING_MAX);
	uint32_t flags = xdr_get_u32(call->args);
	int ret = -1;
	struct domain_config dc;
	memset(&dc, 0, sizeof(dc));
	if (pd_args_done(call) ||
	    pd_check_flags(call, flags, VIR_DOMAIN_START_PAUSED | VIR_DOMAIN_START_VALIDATE,
			   "virDomainCreateXML"))
		goto out;
	char err[1024] = "";
	struct virt_dom dom;
	int rc = domxml_parse(xml, strlen(xml), &dc, err, sizeof(err));
	if (rc) {
		pd_domxml_fail(call, rc, err);
		goto out;
	}
	rc = virt_domain_lookup(pd_host(call), dc.name, NULL, -1, &dom, err, sizeof(err));
	if (rc == 0) {
		pd_fail(call, VIR_ERR_OPERATION_INVALID, "domain '%s' already exists", dc.name);
		goto out;
	}
	if (rc != -ENOENT) {
		pd_model_fail(call, rc, err);
		goto out;
	}
	rc = virt_domain_start(pd_host(call), NULL, &dc, flags & VIR_DOMAIN_START_PAUSED, &dom, err,
			       sizeof(err));
	if (rc < 0) {
		pd_model_fail(call, rc, err);
		goto out;
	}
	virt_events_note(call->daemon, &dom, VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED);
	pd_put_dom(call->ret, &dom);
	ret = 0;
out:
	domain_config_free(&dc);
	free(xml);
	return ret;
}

/* ---- Actions on a running domain ---- */

typedef int (*pd_action_fn)(struct virt_host *h, const struct virt_dom *dom, char *err, size_t errlen);

struct pd_action {
	int32_t proc;
	const char *api;         /* for the flags message */
	bool has_flags;          /* the args carry flags after the domain */
	unsigned int allowed;
	const char *dom0_verb;   /* "destroyed": Domain-0 refuses it */
	pd_action_fn act;
	int event, detail;       /* what listeners are told it was (virt_events_note) */
};

/* Shutdown and reboot go to the guest through its PV control node, the only way here. */
#define PD_SHUTDOWN_FLAGS (VIR_DOMAIN_SHUTDOWN_PARAVIRT)
static const struct pd_action pd_actions[] = {
	{ 12, "virDomainDestroy", false, 0, "destroyed", virt_domain_destroy,
	  VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED },
	{ 234, "virDomainDestroyFlags", true, VIR_DOMAIN_DESTROY_GRACEFUL, "destroyed", virt_domain_destroy,
	  VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED },
	{ 33, "virDomainShutdown", false, 0, "shut down", virt_domain_shutdown,
	  VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN },
	{ 258, "virDomainShutdownFlags", true, PD_SHUTDOWN_FLAGS, "shut down", virt_domain_shutdown,
	  VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN },
	{ 27, "virDomainReboot", true, VIR_DOMAIN_REBOOT_PARAVIRT, "rebooted", virt_domain_reboot,
	  VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN },
	{ 34, "virDomainSuspend", false, 0, "suspended", virt_domain_suspend,
	  VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED },
	{ 28, "virDomainResume", false, 0, "resumed", virt_domain_resume,
	  VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_UNPAUSED },
};

int pd_serve_action(struct virt_call *call)
{
	const struct pd_action *a = NULL;
	for (size_t i = 0; i < sizeof(pd_actions) / sizeof(pd_actions[0]); i++)
		if (pd_actions[i].proc == call->proc)
			a = &pd_actions[i];
	if (!a)
		return pd_fail(call, VIR_ERR_INTERNAL_ERROR, "procedure %d has no action", call->proc);
	struct virt_dom dom;
	if (pd_get_dom(call, &dom))
		return -1;
	uint32_t flags = a->has_flags ? xdr_get_u32(call->args) : 0;
	if (pd_args_done(call) || pd_check_flags(call, flags, a->allowed, a->api) ||
	    pd_need_active(call, &dom))
		return -1;
	if (dom.id == 0)
		return pd_fail(call, VIR_ERR_OPERATION_INVALID, "Domain-0 cannot be %s", a->dom0_verb);
	char err[1024] = "";
	int rc = a->act(pd_host(call), &dom, err, sizeof(err));
	if (rc < 0)
		return pd_model_fail(call, rc, err);
	virt_events_note(call->daemon, &dom, a->event, a->detail);
	return 0;
}

/* ---- What has not landed ---- */

int pd_serve_no_save(struct virt_call *call)
{
	return pd_fail(call, VIR_ERR_OPERATION_UNSUPPORTED,
		       "Xenith's save and restore have not landed yet (issue 12)");
}

int pd_serve_no_migrate(struct virt_call *call)
{
	return pd_fail(call, VIR_ERR_OPERATION_UNSUPPORTED,
		       "Xenith's live migration has not landed yet (issue 12)");
}
