/* Domain procedures, part one: what every domain procedure shares (procs_domain.h) and the ones
 * that find and describe domains: lists, lookups, info, state, OS type, autostart.
 *
 * A client names a domain by the remote_nonnull_domain it was given (name, UUID, id).  libvirt's
 * drivers find it again by UUID; so do we, then by name when the UUID is unknown or is another
 * domain's (Domain-0 and domains xl started without a uuid= share the all-zero UUID).  Error texts are libvirt's own
 * ("Domain not found: no domain with matching name 'x'"), because scripts match on them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include "lib/uuid.h"
#include "libvirt/domxml.h"
#include "libvirt/procs_domain.h"
#include "libvirt/remote_types.h"
#include "libvirt/server.h"

#define PD_FROM VIR_FROM_LIBXL   /* the error domain of libvirt's driver for Xen */

/* libvirt's words before each message (virerror.c's virErrorMsg), by code. */
static const struct {
	int code;
	const char *prefix;
} pd_prefixes[] = {
	{ VIR_ERR_NO_DOMAIN, "Domain not found: " },
	{ VIR_ERR_DEVICE_MISSING, "device not found: " },
	{ VIR_ERR_OPERATION_INVALID, "Requested operation is not valid: " },
	{ VIR_ERR_OPERATION_UNSUPPORTED, "Operation not supported: " },
	{ VIR_ERR_NO_SUPPORT, "this function is not supported by the connection driver: " },
	{ VIR_ERR_XML_ERROR, "XML error: " },
	{ VIR_ERR_CONFIG_UNSUPPORTED, "unsupported configuration: " },
	{ VIR_ERR_INVALID_ARG, "invalid argument: " },
	{ VIR_ERR_OPERATION_FAILED, "operation failed: " },
	{ VIR_ERR_OPERATION_DENIED, "operation forbidden: " },
	{ VIR_ERR_INTERNAL_ERROR, "internal error: " },
	{ VIR_ERR_RPC, "" },
};

struct virt_host *pd_host(struct virt_call *call)
{
	return &call->daemon->host;
}

int pd_fail(struct virt_call *call, int code, const char *fmt, ...)
{
	char msg[sizeof(call->error.message)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	const char *prefix = "";
	for (size_t i = 0; i < sizeof(pd_prefixes) / sizeof(pd_prefixes[0]); i++)
		if (pd_prefixes[i].code == code)
			prefix = pd_prefixes[i].prefix;
	return virt_call_error(call, code, PD_FROM, "%s%s", prefix, msg);
}

/* The model's -errno as libvirt's code. */
static const struct {
	int rc;
	int code;
} pd_errno_codes[] = {
	{ -ENOENT, VIR_ERR_NO_DOMAIN },
	{ -EEXIST, VIR_ERR_OPERATION_INVALID },
	{ -ESRCH, VIR_ERR_OPERATION_INVALID },
	{ -EBUSY, VIR_ERR_OPERATION_INVALID },
	{ -ENOTSUP, VIR_ERR_OPERATION_UNSUPPORTED },
	{ -ENOSYS, VIR_ERR_NO_SUPPORT },
	{ -EINVAL, VIR_ERR_INVALID_ARG },
	{ -ERANGE, VIR_ERR_INVALID_ARG },
	{ -EPERM, VIR_ERR_OPERATION_DENIED },
	{ -EACCES, VIR_ERR_OPERATION_DENIED },
};

int pd_model_fail(struct virt_call *call, int rc, const char *err)
{
	int code = VIR_ERR_OPERATION_FAILED;
	for (size_t i = 0; i < sizeof(pd_errno_codes) / sizeof(pd_errno_codes[0]); i++)
		if (pd_errno_codes[i].rc == rc)
			code = pd_errno_codes[i].code;
	return pd_fail(call, code, "%s", err && *err ? err : strerror(rc < 0 ? -rc : rc));
}

int pd_domxml_fail(struct virt_call *call, int rc, const char *err)
{
	return pd_fail(call, rc == DOMXML_ERR_UNSUPPORTED ? VIR_ERR_CONFIG_UNSUPPORTED : VIR_ERR_XML_ERROR,
		       "%s", err);
}

int pd_args_fail(struct virt_call *call)
{
	return pd_fail(call, VIR_ERR_RPC, "cannot decode the call's arguments: %s",
		       call->args->why[0] ? call->args->why : "malformed");
}

int pd_args_done(struct virt_call *call)
{
	return xdr_reader_done(call->args) ? pd_args_fail(call) : 0;
}

int pd_check_flags(struct virt_call *call, unsigned int flags, unsigned int allowed, const char *api)
{
	if (flags & ~allowed)
		return pd_fail(call, VIR_ERR_INVALID_ARG, "unsupported flags (0x%x) in function %s",
			       flags & ~allowed, api);
	return 0;
}

void pd_put_dom(struct xdr_writer *w, const struct virt_dom *dom)
{
	remote_domain_put_dom(w, dom);
}

int pd_get_dom(struct virt_call *call, struct virt_dom *dom)
{
	struct remote_domain rd;
	if (remote_domain_get(call->args, &rd))
		return pd_args_fail(call);
	char err[512] = "";
	int rc = virt_domain_lookup(pd_host(call), NULL, rd.uuid, -1, dom, err, sizeof(err));
	/* Domain-0 and domains xl made without a uuid= share the all-zero UUID: the name decides. */
	if (rc == -ENOENT || (rc == 0 && strcmp(dom->name, rd.name)))
		rc = virt_domain_lookup(pd_host(call), rd.name, NULL, -1, dom, err, sizeof(err));
	if (rc == -ENOENT) {
		char text[UUID_TEXT_LEN];
		uuid_format(rd.uuid, text);
		pd_fail(call, VIR_ERR_NO_DOMAIN, "no domain with matching uuid '%s' (%s)", text, rd.name);
	} else if (rc < 0) {
		pd_model_fail(call, rc, err);
	}
	remote_domain_free(&rd);
	return rc < 0 ? -1 : 0;
}

int pd_get_dom_only(struct virt_call *call, struct virt_dom *dom)
{
	if (pd_get_dom(call, dom))
		return -1;
	return pd_args_done(call);
}

int pd_need_active(struct virt_call *call, const struct virt_dom *dom)
{
	if (dom->id < 0)
		return pd_fail(call, VIR_ERR_OPERATION_INVALID, "domain is not running");
	return 0;
}

int pd_affect(struct virt_call *call, const struct virt_dom *dom, unsigned int flags, bool *live,
	      bool *config)
{
	*live = flags & VIR_DOMAIN_AFFECT_LIVE;
	*config = flags & VIR_DOMAIN_AFFECT_CONFIG;
	if (!*live && !*config) {
		*live = dom->id >= 0;
		*config = !*live;
	}
	if (*live && pd_need_active(call, dom))
		return -1;
	if (*config && !dom->persistent)
		return pd_fail(call, VIR_ERR_OPERATION_INVALID,
			       "transient domains do not have any persistent config");
	return 0;
}

int pd_config(struct virt_call *call, const struct virt_dom *dom, struct domain_config *dc)
{
	char err[1024] = "";
	memset(dc, 0, sizeof(*dc));
	int rc = virt_domain_config(pd_host(call), dom, dc, err, sizeof(err));
	return rc < 0 ? pd_model_fail(call, rc, err) : 0;
}

int pd_live_config(struct virt_call *call, const struct virt_dom *dom, struct domain_config *dc)
{
	char err[1024] = "";
	memset(dc, 0, sizeof(*dc));
	int rc = virt_domain_live_config(pd_host(call), dom, dc, err, sizeof(err));
	return rc < 0 ? pd_model_fail(call, rc, err) : 0;
}

int pd_edit_definition(struct virt_call *call, const struct virt_dom *dom,
		       int (*edit)(struct virt_call *call, struct domain_config *dc, const void *arg),
		       const void *arg)
{
	struct domain_config dc;
	struct virt_dom stored;
	char err[512] = "";
	/* pd_affect let only a persistent domain here: pd_config is its definition. */
	if (pd_config(call, dom, &dc))
		return -1;
	int ret = edit(call, &dc, arg);
	if (ret == 0) {
		int rc = virt_domain_define(pd_host(call), &dc, &stored, err, sizeof(err));
		if (rc < 0)
			ret = pd_model_fail(call, rc, err);
	}
	domain_config_free(&dc);
	return ret;
}

/* ---- Lists ---- */

static int pd_list(struct virt_call *call, struct virt_dom **doms, size_t *n)
{
	char err[512] = "";
	int rc = virt_domains_list(pd_host(call), doms, n, err, sizeof(err));
	return rc < 0 ? pd_model_fail(call, rc, err) : 0;
}

/* One group of VIR_CONNECT_LIST_DOMAINS_* bits: with both or neither set it does not filter. */
static bool pd_group_passes(unsigned int flags, unsigned int yes, unsigned int no, bool is)
{
	bool want_yes = flags & yes, want_no = flags & no;
	if (want_yes == want_no)
		return true;
	return want_yes ? is : !is;
}

static bool pd_list_filter(const struct virt_dom *d, unsigned int flags)
{
	const unsigned int states = VIR_CONNECT_LIST_DOMAINS_RUNNING | VIR_CONNECT_LIST_DOMAINS_PAUSED |
				    VIR_CONNECT_LIST_DOMAINS_SHUTOFF | VIR_CONNECT_LIST_DOMAINS_OTHER;
	if (!pd_group_passes(flags, VIR_CONNECT_LIST_DOMAINS_ACTIVE, VIR_CONNECT_LIST_DOMAINS_INACTIVE,
			     d->id >= 0) ||
	    !pd_group_passes(flags, VIR_CONNECT_LIST_DOMAINS_PERSISTENT,
			     VIR_CONNECT_LIST_DOMAINS_TRANSIENT, d->persistent) ||
	    !pd_group_passes(flags, VIR_CONNECT_LIST_DOMAINS_AUTOSTART,
			     VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART, d->autostart) ||
	    /* No managed saves, snapshots or checkpoints exist here. */
	    !pd_group_passes(flags, VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE,
			     VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE, false) ||
	    !pd_group_passes(flags, VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT,
			     VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT, false) ||
	    !pd_group_passes(flags, VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT,
			     VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT, false))
		return false;
	if (!(flags & states))
		return true;
	switch (d->state) {
	case VIR_DOMAIN_RUNNING: return flags & VIR_CONNECT_LIST_DOMAINS_RUNNING;
	case VIR_DOMAIN_PAUSED: return flags & VIR_CONNECT_LIST_DOMAINS_PAUSED;
	case VIR_DOMAIN_SHUTOFF: return flags & VIR_CONNECT_LIST_DOMAINS_SHUTOFF;
	default: return flags & VIR_CONNECT_LIST_DOMAINS_OTHER;
	}
}

static int pd_serve_list_all(struct virt_call *call)
{
	int32_t need_results = xdr_get_i32(call->args);
	uint32_t flags = xdr_get_u32(call->args);
	if (pd_args_done(call) || pd_check_flags(call, flags, (1u << 16) - 1, "virConnectListAllDomains"))
		return -1;
	struct virt_dom *doms;
	size_t n, kept = 0;
	if (pd_list(call, &doms, &n))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (pd_list_filter(&doms[i], flags))
			doms[kept++] = doms[i];
	if (kept > PD_DOMAIN_LIST_MAX) {
		free(doms);
		return pd_fail(call, VIR_ERR_RPC, "too many domains (%zu) for one reply", kept);
	}
	xdr_put_u32(call->ret, need_results ? (uint32_t)kept : 0);
	for (size_t i = 0; need_results && i < kept; i++)
		pd_put_dom(call->ret, &doms[i]);
	xdr_put_u32(call->ret, (uint32_t)kept);
	free(doms);
	return 0;
}

/* The old lists: ids of running domains, names of defined ones that are not running. */
static int pd_count(struct virt_call *call, bool active)
{
	struct virt_dom *doms;
	size_t n, count = 0;
	if (pd_args_done(call) || pd_list(call, &doms, &n))
		return -1;
	for (size_t i = 0; i < n; i++)
		count += active ? doms[i].id >= 0 : (doms[i].id < 0 && doms[i].persistent);
	free(doms);
	xdr_put_i32(call->ret, (int32_t)count);
	return 0;
}

static int pd_serve_num_of_domains(struct virt_call *call) { return pd_count(call, true); }
static int pd_serve_num_of_defined(struct virt_call *call) { return pd_count(call, false); }

static int pd_list_old(struct virt_call *call, bool active)
{
	int32_t max = xdr_get_i32(call->args);
	if (pd_args_done(call))
		return -1;
	if (max < 0 || (uint32_t)max > PD_DOMAIN_LIST_MAX)
		return pd_fail(call, VIR_ERR_RPC, "the most %s asked for (%d) is out of range 0..%u",
			       active ? "ids" : "names", max, PD_DOMAIN_LIST_MAX);
	struct virt_dom *doms;
	size_t n, count = 0;
	if (pd_list(call, &doms, &n))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (active ? doms[i].id >= 0 : (doms[i].id < 0 && doms[i].persistent))
			doms[count++] = doms[i];
	if (count > (size_t)max)
		count = (size_t)max;
	xdr_put_u32(call->ret, (uint32_t)count);
	for (size_t i = 0; i < count; i++) {
		if (active)
			xdr_put_i32(call->ret, doms[i].id);
		else
			xdr_put_string(call->ret, doms[i].name);
	}
	free(doms);
	return 0;
}

static int pd_serve_list_domains(struct virt_call *call) { return pd_list_old(call, true); }
static int pd_serve_list_defined(struct virt_call *call) { return pd_list_old(call, false); }

/* ---- Lookups ---- */

static int pd_lookup_reply(struct virt_call *call, const char *name, const uint8_t *uuid, int id)
{
	struct virt_dom dom;
	char err[512] = "";
	int rc = virt_domain_lookup(pd_host(call), name, uuid, id, &dom, err, sizeof(err));
	if (rc == -ENOENT) {
		char text[UUID_TEXT_LEN];
		if (name)
			return pd_fail(call, VIR_ERR_NO_DOMAIN, "no domain with matching name '%s'", name);
		if (uuid) {
			uuid_format(uuid, text);
			return pd_fail(call, VIR_ERR_NO_DOMAIN, "no domain with matching uuid '%s'", text);
		}
		return pd_fail(call, VIR_ERR_NO_DOMAIN, "no domain with matching id %d", id);
	}
	if (rc < 0)
		return pd_model_fail(call, rc, err);
	pd_put_dom(call->ret, &dom);
	return 0;
}

static int pd_serve_lookup_by_name(struct virt_call *call)
{
	char *name = xdr_get_string(call->args, PD_STRING_MAX);
	int ret = pd_args_done(call) ? -1 : pd_lookup_reply(call, name, NULL, -1);
	free(name);
	return ret;
}

static int pd_serve_lookup_by_uuid(struct virt_call *call)
{
	uint8_t uuid[16];
	xdr_get_fixed(call->args, uuid, sizeof(uuid));
	return pd_args_done(call) ? -1 : pd_lookup_reply(call, NULL, uuid, -1);
}

static int pd_serve_lookup_by_id(struct virt_call *call)
{
	int32_t id = xdr_get_i32(call->args);
	if (pd_args_done(call))
		return -1;
	if (id < 0)
		return pd_fail(call, VIR_ERR_NO_DOMAIN, "no domain with matching id %d", id);
	return pd_lookup_reply(call, NULL, NULL, id);
}

/* ---- What a domain is ---- */

static int pd_serve_get_info(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom_only(call, &dom))
		return -1;
	xdr_put_u32(call->ret, (uint32_t)dom.state);          /* unsigned char: one XDR unit */
	xdr_put_u64(call->ret, dom.max_mem_kb);
	xdr_put_u64(call->ret, dom.mem_kb);
	xdr_put_u32(call->ret, dom.vcpus);                     /* unsigned short, likewise */
	xdr_put_u64(call->ret, dom.cpu_time_ns);
	return 0;
}

static int pd_serve_get_state(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom(call, &dom))
		return -1;
	uint32_t flags = xdr_get_u32(call->args);
	if (pd_args_done(call) || pd_check_flags(call, flags, 0, "virDomainGetState"))
		return -1;
	xdr_put_i32(call->ret, dom.state);
	xdr_put_i32(call->ret, dom.reason);
	return 0;
}

/* <os><type> as libvirt's Xen driver names each kind of guest. */
static const char *const pd_os_types[] = {
	[DOMAIN_TYPE_PVH] = "xenpvh",
	[DOMAIN_TYPE_PV] = "linux",
	[DOMAIN_TYPE_HVM] = "hvm",
};

static int pd_serve_get_os_type(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom_only(call, &dom))
		return -1;
	size_t t = (size_t)dom.type;
	xdr_put_string(call->ret, t < sizeof(pd_os_types) / sizeof(pd_os_types[0]) && pd_os_types[t]
				  ? pd_os_types[t] : "linux");
	return 0;
}

static int pd_serve_get_max_memory(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom_only(call, &dom))
		return -1;
	xdr_put_u64(call->ret, dom.max_mem_kb);
	return 0;
}

static int pd_serve_get_max_vcpus(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom_only(call, &dom))
		return -1;
	xdr_put_i32(call->ret, (int32_t)dom.max_vcpus);
	return 0;
}

static int pd_serve_is_active(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom_only(call, &dom))
		return -1;
	xdr_put_i32(call->ret, dom.id >= 0);
	return 0;
}

static int pd_serve_is_persistent(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom_only(call, &dom))
		return -1;
	xdr_put_i32(call->ret, dom.persistent);
	return 0;
}

/* A running domain's live configuration is asked of its VMM each time (virt_domain_live_config),
 * not kept: no change is ever pending in it, so "updated" is always 0, as in libvirt's libxl. */
static int pd_serve_is_updated(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom_only(call, &dom))
		return -1;
	xdr_put_i32(call->ret, 0);
	return 0;
}

static int pd_serve_get_autostart(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom_only(call, &dom))
		return -1;
	xdr_put_i32(call->ret, dom.autostart);
	return 0;
}

static int pd_serve_set_autostart(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom(call, &dom))
		return -1;
	int32_t on = xdr_get_i32(call->args);
	if (pd_args_done(call))
		return -1;
	if (!dom.persistent)
		return pd_fail(call, VIR_ERR_OPERATION_INVALID, "cannot set autostart for transient domain");
	char err[512] = "";
	int rc = virt_domain_set_autostart(pd_host(call), &dom, on != 0, err, sizeof(err));
	return rc < 0 ? pd_model_fail(call, rc, err) : 0;
}

/* No managed save exists (save/restore has not landed: issue 12); removing none succeeds. */
static int pd_serve_has_managed_save(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom(call, &dom))
		return -1;
	uint32_t flags = xdr_get_u32(call->args);
	if (pd_args_done(call) || pd_check_flags(call, flags, 0, "virDomainHasManagedSaveImage"))
		return -1;
	xdr_put_i32(call->ret, 0);
	return 0;
}

static int pd_serve_managed_save_remove(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom(call, &dom))
		return -1;
	uint32_t flags = xdr_get_u32(call->args);
	if (pd_args_done(call) || pd_check_flags(call, flags, 0, "virDomainManagedSaveRemove"))
		return -1;
	return 0;
}

#define ROW(num, nm, fn) { VIRT_REMOTE_PROGRAM, num, nm, fn, false }
/* Every domain procedure, by number; the handlers live in the part of their concern. */
const struct virt_proc virt_procs_domain[] = {
	ROW(8, "DOMAIN_ATTACH_DEVICE", pd_serve_attach_device),
	ROW(9, "DOMAIN_CREATE", pd_serve_create),
	ROW(10, "DOMAIN_CREATE_XML", pd_serve_create_xml),
	ROW(11, "DOMAIN_DEFINE_XML", pd_serve_define_xml),
	ROW(12, "DOMAIN_DESTROY", pd_serve_action),
	ROW(13, "DOMAIN_DETACH_DEVICE", pd_serve_detach_device),
	ROW(14, "DOMAIN_GET_XML_DESC", pd_serve_get_xml_desc),
	ROW(15, "DOMAIN_GET_AUTOSTART", pd_serve_get_autostart),
	ROW(16, "DOMAIN_GET_INFO", pd_serve_get_info),
	ROW(17, "DOMAIN_GET_MAX_MEMORY", pd_serve_get_max_memory),
	ROW(18, "DOMAIN_GET_MAX_VCPUS", pd_serve_get_max_vcpus),
	ROW(19, "DOMAIN_GET_OS_TYPE", pd_serve_get_os_type),
	ROW(20, "DOMAIN_GET_VCPUS", pd_serve_get_vcpus),
	ROW(21, "CONNECT_LIST_DEFINED_DOMAINS", pd_serve_list_defined),
	ROW(22, "DOMAIN_LOOKUP_BY_ID", pd_serve_lookup_by_id),
	ROW(23, "DOMAIN_LOOKUP_BY_NAME", pd_serve_lookup_by_name),
	ROW(24, "DOMAIN_LOOKUP_BY_UUID", pd_serve_lookup_by_uuid),
	ROW(25, "CONNECT_NUM_OF_DEFINED_DOMAINS", pd_serve_num_of_defined),
	ROW(26, "DOMAIN_PIN_VCPU", pd_serve_pin_vcpu_any),
	ROW(27, "DOMAIN_REBOOT", pd_serve_action),
	ROW(28, "DOMAIN_RESUME", pd_serve_action),
	ROW(29, "DOMAIN_SET_AUTOSTART", pd_serve_set_autostart),
	ROW(30, "DOMAIN_SET_MAX_MEMORY", pd_serve_set_memory_any),
	ROW(31, "DOMAIN_SET_MEMORY", pd_serve_set_memory_any),
	ROW(32, "DOMAIN_SET_VCPUS", pd_serve_set_vcpus_any),
	ROW(33, "DOMAIN_SHUTDOWN", pd_serve_action),
	ROW(34, "DOMAIN_SUSPEND", pd_serve_action),
	ROW(35, "DOMAIN_UNDEFINE", pd_serve_undefine),
	ROW(37, "CONNECT_LIST_DOMAINS", pd_serve_list_domains),
	ROW(51, "CONNECT_NUM_OF_DOMAINS", pd_serve_num_of_domains),
	ROW(54, "DOMAIN_RESTORE", pd_serve_no_save),
	ROW(55, "DOMAIN_SAVE", pd_serve_no_save),
	ROW(56, "DOMAIN_GET_SCHEDULER_TYPE", pd_serve_get_scheduler_type),
	ROW(57, "DOMAIN_GET_SCHEDULER_PARAMETERS", pd_serve_get_scheduler_any),
	ROW(58, "DOMAIN_SET_SCHEDULER_PARAMETERS", pd_serve_set_scheduler_any),
	ROW(61, "DOMAIN_MIGRATE_PREPARE", pd_serve_no_migrate),
	ROW(62, "DOMAIN_MIGRATE_PERFORM", pd_serve_no_migrate),
	ROW(63, "DOMAIN_MIGRATE_FINISH", pd_serve_no_migrate),
	ROW(108, "DOMAIN_MIGRATE_PREPARE2", pd_serve_no_migrate),
	ROW(109, "DOMAIN_MIGRATE_FINISH2", pd_serve_no_migrate),
	ROW(135, "CONNECT_DOMAIN_XML_FROM_NATIVE", pd_serve_xml_from_native),
	ROW(136, "CONNECT_DOMAIN_XML_TO_NATIVE", pd_serve_xml_to_native),
	ROW(148, "DOMAIN_MIGRATE_PREPARE_TUNNEL", pd_serve_no_migrate),
	ROW(150, "DOMAIN_IS_ACTIVE", pd_serve_is_active),
	ROW(151, "DOMAIN_IS_PERSISTENT", pd_serve_is_persistent),
	ROW(160, "DOMAIN_ATTACH_DEVICE_FLAGS", pd_serve_attach_device_flags),
	ROW(161, "DOMAIN_DETACH_DEVICE_FLAGS", pd_serve_detach_device_flags),
	ROW(182, "DOMAIN_MANAGED_SAVE", pd_serve_no_save),
	ROW(183, "DOMAIN_HAS_MANAGED_SAVE_IMAGE", pd_serve_has_managed_save),
	ROW(184, "DOMAIN_MANAGED_SAVE_REMOVE", pd_serve_managed_save_remove),
	ROW(196, "DOMAIN_CREATE_WITH_FLAGS", pd_serve_create_with_flags),
	ROW(199, "DOMAIN_SET_VCPUS_FLAGS", pd_serve_set_vcpus_any),
	ROW(200, "DOMAIN_GET_VCPUS_FLAGS", pd_serve_get_vcpus_flags),
	ROW(202, "DOMAIN_IS_UPDATED", pd_serve_is_updated),
	ROW(204, "DOMAIN_SET_MEMORY_FLAGS", pd_serve_set_memory_any),
	ROW(212, "DOMAIN_GET_STATE", pd_serve_get_state),
	ROW(213, "DOMAIN_MIGRATE_BEGIN3", pd_serve_no_migrate),
	ROW(214, "DOMAIN_MIGRATE_PREPARE3", pd_serve_no_migrate),
	ROW(215, "DOMAIN_MIGRATE_PREPARE_TUNNEL3", pd_serve_no_migrate),
	ROW(216, "DOMAIN_MIGRATE_PERFORM3", pd_serve_no_migrate),
	ROW(217, "DOMAIN_MIGRATE_FINISH3", pd_serve_no_migrate),
	ROW(218, "DOMAIN_MIGRATE_CONFIRM3", pd_serve_no_migrate),
	ROW(219, "DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS", pd_serve_set_scheduler_any),
	ROW(223, "DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS", pd_serve_get_scheduler_any),
	ROW(225, "DOMAIN_PIN_VCPU_FLAGS", pd_serve_pin_vcpu_any),
	ROW(230, "DOMAIN_GET_VCPU_PIN_INFO", pd_serve_get_vcpu_pin_info),
	ROW(231, "DOMAIN_UNDEFINE_FLAGS", pd_serve_undefine_flags),
	ROW(232, "DOMAIN_SAVE_FLAGS", pd_serve_no_save),
	ROW(233, "DOMAIN_RESTORE_FLAGS", pd_serve_no_save),
	ROW(234, "DOMAIN_DESTROY_FLAGS", pd_serve_action),
	ROW(235, "DOMAIN_SAVE_IMAGE_GET_XML_DESC", pd_serve_no_save),
	ROW(236, "DOMAIN_SAVE_IMAGE_DEFINE_XML", pd_serve_no_save),
	ROW(258, "DOMAIN_SHUTDOWN_FLAGS", pd_serve_action),
	ROW(273, "CONNECT_LIST_ALL_DOMAINS", pd_serve_list_all),
	ROW(302, "DOMAIN_MIGRATE_BEGIN3_PARAMS", pd_serve_no_migrate),
	ROW(303, "DOMAIN_MIGRATE_PREPARE3_PARAMS", pd_serve_no_migrate),
	ROW(304, "DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS", pd_serve_no_migrate),
	ROW(305, "DOMAIN_MIGRATE_PERFORM3_PARAMS", pd_serve_no_migrate),
	ROW(306, "DOMAIN_MIGRATE_FINISH3_PARAMS", pd_serve_no_migrate),
	ROW(307, "DOMAIN_MIGRATE_CONFIRM3_PARAMS", pd_serve_no_migrate),
	ROW(350, "DOMAIN_DEFINE_XML_FLAGS", pd_serve_define_xml_flags),
	ROW(353, "DOMAIN_INTERFACE_ADDRESSES", pd_serve_interface_addresses),
	{ 0, 0, NULL, NULL, false },
};
