/* Storage procedures (docs/libvirt.md, "Storage"): the pool and volume calls virsh pool-* and
 * vol-*, python3-libvirt and virt-install's --disk make, on storage.h's dir pools.  Anything
 * else storage-related has no row and answers VIR_ERR_NO_SUPPORT.
 *
 * A client names a pool by remote_nonnull_storage_pool (name, UUID), found again by UUID then
 * name; a volume by remote_nonnull_storage_vol (pool, name, key), found by pool and name.
 * Errors carry libvirt's codes and words ("Storage pool not found: no storage pool with matching
 * name 'x'") in the storage error domain, as libvirt's storage driver gives them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "lib/uuid.h"
#include "libvirt/server.h"
#include "libvirt/storage.h"
#include "libvirt/storage_xml.h"
#include "libvirt/virt_proc.h"

#define PS_STRING_MAX 4194304u          /* REMOTE_STRING_MAX */

static const struct {
	int code;
	const char *prefix;
} ps_prefixes[] = {
	{ VIR_ERR_NO_STORAGE_POOL, "Storage pool not found: " },
	{ VIR_ERR_NO_STORAGE_VOL, "Storage volume not found: " },
	{ VIR_ERR_OPERATION_INVALID, "Requested operation is not valid: " },
	{ VIR_ERR_OPERATION_FAILED, "operation failed: " },
	{ VIR_ERR_OPERATION_UNSUPPORTED, "Operation not supported: " },
	{ VIR_ERR_XML_ERROR, "XML error: " },
	{ VIR_ERR_CONFIG_UNSUPPORTED, "unsupported configuration: " },
	{ VIR_ERR_INVALID_ARG, "invalid argument: " },
	{ VIR_ERR_INTERNAL_ERROR, "internal error: " },
	{ VIR_ERR_RPC, "" },
};

static int __attribute__((format(printf, 3, 4)))
ps_fail(struct virt_call *call, int code, const char *fmt, ...)
{
	char msg[sizeof(call->error.message)];
	const char *prefix = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < sizeof(ps_prefixes) / sizeof(ps_prefixes[0]); i++)
		if (ps_prefixes[i].code == code)
			prefix = ps_prefixes[i].prefix;
	return virt_call_error(call, code, VIR_FROM_STORAGE, "%s%s", prefix, msg);
}

/* The model's -errno as libvirt's code (-ENOENT is the caller's: which object was missing). */
static const struct {
	int rc, code;
} ps_errno_codes[] = {
	{ -EEXIST, VIR_ERR_OPERATION_INVALID }, { -ESRCH, VIR_ERR_OPERATION_INVALID },
	{ -EBUSY, VIR_ERR_OPERATION_INVALID },  { -EINVAL, VIR_ERR_INVALID_ARG },
	{ -ENOENT, VIR_ERR_OPERATION_INVALID },
};

static int ps_model_fail(struct virt_call *call, int rc, const char *err)
{
	int code = VIR_ERR_OPERATION_FAILED;
	for (size_t i = 0; i < sizeof(ps_errno_codes) / sizeof(ps_errno_codes[0]); i++)
		if (ps_errno_codes[i].rc == rc)
			code = ps_errno_codes[i].code;
	return ps_fail(call, code, "%s", err && *err ? err : strerror(-rc));
}

static int ps_args_done(struct virt_call *call)
{
	if (!xdr_reader_done(call->args))
		return 0;
	return ps_fail(call, VIR_ERR_RPC, "cannot decode the call's arguments: %s",
		       call->args->why[0] ? call->args->why : "malformed");
}

static int ps_check_flags(struct virt_call *call, unsigned int flags, unsigned int allowed, const char *api)
{
	if (flags & ~allowed)
		return ps_fail(call, VIR_ERR_INVALID_ARG, "unsupported flags (0x%x) in function %s",
			       flags & ~allowed, api);
	return 0;
}

/* The host, with the pools' once-per-boot autostart done before anything is looked at. */
static struct virt_host *ps_host(struct virt_call *call)
{
	virt_storage_autostart(&call->daemon->host);
	return &call->daemon->host;
}

static void ps_put_pool(struct xdr_writer *w, const struct virt_pool *p)
{
	xdr_put_string(w, p->name);
	xdr_put_fixed(w, p->uuid, 16);
}

static void ps_put_vol(struct xdr_writer *w, const struct virt_vol *v)
{
	xdr_put_string(w, v->pool);
	xdr_put_string(w, v->name);
	xdr_put_string(w, v->path);
}

/* ---- finding what the client names -------------------------------------------------------- */

static int ps_pool_not_found(struct virt_call *call, const char *name, const uint8_t *uuid)
{
	char text[UUID_TEXT_LEN];

	if (name)
		return ps_fail(call, VIR_ERR_NO_STORAGE_POOL, "no storage pool with matching name '%s'",
			       name);
	uuid_format(uuid, text);
	return ps_fail(call, VIR_ERR_NO_STORAGE_POOL, "no storage pool with matching uuid '%s'", text);
}

static int ps_lookup_pool(struct virt_call *call, const char *name, const uint8_t *uuid,
			  struct virt_pool *p)
{
	char err[512] = "";
	int rc = virt_pool_lookup(ps_host(call), name, uuid, p, err, sizeof(err));

	if (rc == -ENOENT)
		return ps_pool_not_found(call, name, uuid);
	return rc ? ps_model_fail(call, rc, err) : 0;
}

/* remote_nonnull_storage_pool: by UUID, then by name (a UUID the client could not know). */
static int ps_get_pool(struct virt_call *call, struct virt_pool *p)
{
	char *name = xdr_get_string(call->args, PS_STRING_MAX);
	uint8_t uuid[16];
	char err[512] = "";
	int rc;

	xdr_get_fixed(call->args, uuid, sizeof(uuid));
	if (!name || call->args->failed) {
		free(name);
		return ps_args_done(call) ? -1 : ps_fail(call, VIR_ERR_RPC, "bad pool argument");
	}
	rc = virt_pool_lookup(ps_host(call), NULL, uuid, p, err, sizeof(err));
	if (rc == -ENOENT || (rc == 0 && strcmp(p->name, name)))
		rc = virt_pool_lookup(ps_host(call), name, NULL, p, err, sizeof(err));
	if (rc == -ENOENT)
		ps_pool_not_found(call, name, NULL);
	else if (rc)
		ps_model_fail(call, rc, err);
	free(name);
	return rc ? -1 : 0;
}

static int ps_get_pool_only(struct virt_call *call, struct virt_pool *p)
{
	return ps_get_pool(call, p) || ps_args_done(call) ? -1 : 0;
}

static int ps_need_active(struct virt_call *call, const struct virt_pool *p)
{
	if (!p->active)
		return ps_fail(call, VIR_ERR_OPERATION_INVALID, "storage pool '%s' is not active", p->name);
	return 0;
}

static int ps_vol_not_found(struct virt_call *call, int rc, const char *what, const char *value,
			    const char *err)
{
	if (rc == -ENOENT)
		return ps_fail(call, VIR_ERR_NO_STORAGE_VOL, "no storage vol with matching %s '%s'", what,
			       value);
	return ps_model_fail(call, rc, err);
}

/* A volume by name in pool p. */
static int ps_lookup_vol(struct virt_call *call, const struct virt_pool *p, const char *name,
			 struct virt_vol *v)
{
	char err[512] = "";
	int rc;

	if (ps_need_active(call, p))
		return -1;
	rc = virt_vol_lookup(ps_host(call), p, name, v, err, sizeof(err));
	return rc ? ps_vol_not_found(call, rc, "name", name, err) : 0;
}

/* remote_nonnull_storage_vol: its pool by name, then the volume by name. */
static int ps_get_vol(struct virt_call *call, struct virt_vol *v)
{
	char *pool = xdr_get_string(call->args, PS_STRING_MAX);
	char *name = xdr_get_string(call->args, PS_STRING_MAX);
	char *key = xdr_get_string(call->args, PS_STRING_MAX);
	struct virt_pool p;
	int r;

	if (!pool || !name || !key)
		r = ps_args_done(call) ? -1 : ps_fail(call, VIR_ERR_RPC, "bad volume argument");
	else
		r = ps_lookup_pool(call, pool, NULL, &p) || ps_lookup_vol(call, &p, name, v) ? -1 : 0;
	free(pool);
	free(name);
	free(key);
	return r;
}

static int ps_get_vol_only(struct virt_call *call, struct virt_vol *v)
{
	return ps_get_vol(call, v) || ps_args_done(call) ? -1 : 0;
}

/* ---- pool lists and lookups --------------------------------------------------------------- */

static int ps_pools(struct virt_call *call, struct virt_pool **v, size_t *n)
{
	char err[512] = "";
	int rc = virt_pools_list(ps_host(call), v, n, err, sizeof(err));
	return rc ? ps_model_fail(call, rc, err) : 0;
}

static bool ps_group_passes(unsigned int flags, unsigned int yes, unsigned int no, bool is)
{
	bool want_yes = flags & yes, want_no = flags & no;
	if (want_yes == want_no)
		return true;
	return want_yes ? is : !is;
}

/* The type bits of virConnectListAllStoragePools: from DIR up to the newest. */
#define PS_LIST_TYPE_BITS (~0u & ~((unsigned int)VIR_CONNECT_LIST_STORAGE_POOLS_DIR - 1))

static bool ps_list_filter(const struct virt_pool *p, unsigned int flags)
{
	if ((flags & PS_LIST_TYPE_BITS) && !(flags & VIR_CONNECT_LIST_STORAGE_POOLS_DIR))
		return false;
	return ps_group_passes(flags, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE,
			       VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE, p->active) &&
	       ps_group_passes(flags, VIR_CONNECT_LIST_STORAGE_POOLS_PERSISTENT,
			       VIR_CONNECT_LIST_STORAGE_POOLS_TRANSIENT, p->persistent) &&
	       ps_group_passes(flags, VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART,
			       VIR_CONNECT_LIST_STORAGE_POOLS_NO_AUTOSTART, p->autostart);
}

static int ps_serve_list_all_pools(struct virt_call *call)
{
	int32_t need = xdr_get_i32(call->args);
	uint32_t flags = xdr_get_u32(call->args);
	struct virt_pool *v;
	size_t n, kept = 0;

	if (ps_args_done(call) || ps_pools(call, &v, &n))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (ps_list_filter(&v[i], flags))
			v[kept++] = v[i];
	xdr_put_u32(call->ret, need ? (uint32_t)kept : 0);
	for (size_t i = 0; need && i < kept; i++)
		ps_put_pool(call->ret, &v[i]);
	xdr_put_u32(call->ret, (uint32_t)kept);
	free(v);
	return 0;
}

/* The old lists: names of active (or of inactive) pools. */
static int ps_count(struct virt_call *call, bool active)
{
	struct virt_pool *v;
	size_t n, count = 0;

	if (ps_args_done(call) || ps_pools(call, &v, &n))
		return -1;
	for (size_t i = 0; i < n; i++)
		count += v[i].active == active;
	free(v);
	xdr_put_i32(call->ret, (int32_t)count);
	return 0;
}

static int ps_serve_num_active(struct virt_call *call) { return ps_count(call, true); }
static int ps_serve_num_defined(struct virt_call *call) { return ps_count(call, false); }

static int ps_list_names(struct virt_call *call, bool active)
{
	int32_t max = xdr_get_i32(call->args);
	struct virt_pool *v;
	size_t n, count = 0;

	if (ps_args_done(call))
		return -1;
	if (max < 0 || (uint32_t)max > VIRT_POOLS_MAX)
		return ps_fail(call, VIR_ERR_RPC, "the most names asked for (%d) is out of range 0..%u",
			       max, VIRT_POOLS_MAX);
	if (ps_pools(call, &v, &n))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (v[i].active == active)
			v[count++] = v[i];
	if (count > (size_t)max)
		count = (size_t)max;
	xdr_put_u32(call->ret, (uint32_t)count);
	for (size_t i = 0; i < count; i++)
		xdr_put_string(call->ret, v[i].name);
	free(v);
	return 0;
}

static int ps_serve_list_active(struct virt_call *call) { return ps_list_names(call, true); }
static int ps_serve_list_defined(struct virt_call *call) { return ps_list_names(call, false); }

static int ps_serve_pool_lookup_by_name(struct virt_call *call)
{
	char *name = xdr_get_string(call->args, PS_STRING_MAX);
	struct virt_pool p;
	int r = ps_args_done(call) || ps_lookup_pool(call, name, NULL, &p) ? -1 : 0;

	if (!r)
		ps_put_pool(call->ret, &p);
	free(name);
	return r;
}

static int ps_serve_pool_lookup_by_uuid(struct virt_call *call)
{
	uint8_t uuid[16];
	struct virt_pool p;

	xdr_get_fixed(call->args, uuid, sizeof(uuid));
	if (ps_args_done(call) || ps_lookup_pool(call, NULL, uuid, &p))
		return -1;
	ps_put_pool(call->ret, &p);
	return 0;
}

static int ps_serve_pool_lookup_by_volume(struct virt_call *call)
{
	struct virt_vol v;
	struct virt_pool p;

	if (ps_get_vol_only(call, &v) || ps_lookup_pool(call, v.pool, NULL, &p))
		return -1;
	ps_put_pool(call->ret, &p);
	return 0;
}

/* ---- pool life ---------------------------------------------------------------------------- */

static int ps_parse_pool(struct virt_call *call, const char *xml, struct virt_pool *def)
{
	char err[768] = "";
	int rc = pool_xml_parse(xml, strlen(xml), def, err, sizeof(err));

	if (rc)
		return ps_fail(call, rc == STORAGE_XML_ERR_UNSUPPORTED ? VIR_ERR_CONFIG_UNSUPPORTED
								       : VIR_ERR_XML_ERROR, "%s", err);
	return 0;
}

static int ps_pool_from_xml(struct virt_call *call, bool define)
{
	char *xml = xdr_get_string(call->args, PS_STRING_MAX);
	uint32_t flags = xdr_get_u32(call->args);
	struct virt_pool def, p;
	char err[512] = "";
	int r = -1;

	/* Validation flags (VIR_STORAGE_POOL_DEFINE_VALIDATE, ...CREATE_WITH_BUILD*) ask nothing
	 * more of a parser that always validates; building for pool-create is done below. */
	if (ps_args_done(call) ||
	    ps_check_flags(call, flags, define ? VIR_STORAGE_POOL_DEFINE_VALIDATE
					       : VIR_STORAGE_POOL_CREATE_WITH_BUILD,
			   define ? "virStoragePoolDefineXML" : "virStoragePoolCreateXML") ||
	    ps_parse_pool(call, xml, &def))
		goto out;
	int rc;
	if (define) {
		rc = virt_pool_define(ps_host(call), &def, &p, err, sizeof(err));
	} else {
		rc = (flags & VIR_STORAGE_POOL_CREATE_WITH_BUILD)
			     ? virt_pool_build(ps_host(call), &def, false, err, sizeof(err)) : 0;
		if (!rc)
			rc = virt_pool_create_transient(ps_host(call), &def, &p, err, sizeof(err));
	}
	if (rc)
		ps_model_fail(call, rc, err);
	else {
		ps_put_pool(call->ret, &p);
		r = 0;
	}
out:
	free(xml);
	return r;
}

static int ps_serve_pool_define_xml(struct virt_call *call) { return ps_pool_from_xml(call, true); }
static int ps_serve_pool_create_xml(struct virt_call *call) { return ps_pool_from_xml(call, false); }

static int ps_serve_pool_create(struct virt_call *call)
{
	struct virt_pool p;
	char err[512] = "";
	int rc = 0;

	if (ps_get_pool(call, &p))
		return -1;
	uint32_t flags = xdr_get_u32(call->args);
	if (ps_args_done(call) ||
	    ps_check_flags(call, flags, VIR_STORAGE_POOL_CREATE_WITH_BUILD, "virStoragePoolCreate"))
		return -1;
	if (p.active)
		return ps_fail(call, VIR_ERR_OPERATION_INVALID, "storage pool '%s' is already active",
			       p.name);
	if (flags & VIR_STORAGE_POOL_CREATE_WITH_BUILD)
		rc = virt_pool_build(ps_host(call), &p, false, err, sizeof(err));
	if (!rc)
		rc = virt_pool_start(ps_host(call), &p, err, sizeof(err));
	return rc ? ps_model_fail(call, rc, err) : 0;
}

static int ps_serve_pool_build(struct virt_call *call)
{
	struct virt_pool p;
	char err[512] = "";

	if (ps_get_pool(call, &p))
		return -1;
	uint32_t flags = xdr_get_u32(call->args);
	if (ps_args_done(call) ||
	    ps_check_flags(call, flags, VIR_STORAGE_POOL_BUILD_NO_OVERWRITE | VIR_STORAGE_POOL_BUILD_OVERWRITE,
			   "virStoragePoolBuild"))
		return -1;
	int rc = virt_pool_build(ps_host(call), &p, flags & VIR_STORAGE_POOL_BUILD_NO_OVERWRITE, err,
				 sizeof(err));
	return rc ? ps_model_fail(call, rc, err) : 0;
}

static int ps_serve_pool_destroy(struct virt_call *call)
{
	struct virt_pool p;
	char err[512] = "";

	if (ps_get_pool_only(call, &p) || ps_need_active(call, &p))
		return -1;
	int rc = virt_pool_destroy(ps_host(call), &p, err, sizeof(err));
	return rc ? ps_model_fail(call, rc, err) : 0;
}

static int ps_serve_pool_undefine(struct virt_call *call)
{
	struct virt_pool p;
	char err[512] = "";

	if (ps_get_pool_only(call, &p))
		return -1;
	if (!p.persistent)
		return ps_fail(call, VIR_ERR_OPERATION_INVALID, "storage pool '%s' is transient", p.name);
	int rc = virt_pool_undefine(ps_host(call), &p, err, sizeof(err));
	return rc ? ps_model_fail(call, rc, err) : 0;
}

/* Nothing is cached (storage.c reads the directory each time): a refresh only checks. */
static int ps_serve_pool_refresh(struct virt_call *call)
{
	struct virt_pool p;

	if (ps_get_pool(call, &p))
		return -1;
	uint32_t flags = xdr_get_u32(call->args);
	if (ps_args_done(call) || ps_check_flags(call, flags, 0, "virStoragePoolRefresh"))
		return -1;
	return ps_need_active(call, &p);
}

static int ps_serve_pool_get_info(struct virt_call *call)
{
	struct virt_pool p;
	struct virt_pool_info info;
	char err[512] = "";

	if (ps_get_pool_only(call, &p))
		return -1;
	int rc = virt_pool_info(ps_host(call), &p, &info, err, sizeof(err));
	if (rc)
		return ps_model_fail(call, rc, err);
	xdr_put_u32(call->ret, (uint32_t)info.state);     /* unsigned char: one XDR unit */
	xdr_put_u64(call->ret, info.capacity);
	xdr_put_u64(call->ret, info.allocation);
	xdr_put_u64(call->ret, info.available);
	return 0;
}

static int ps_serve_pool_get_xml_desc(struct virt_call *call)
{
	struct virt_pool p;
	struct virt_pool_info info;
	char err[512] = "";

	if (ps_get_pool(call, &p))
		return -1;
	uint32_t flags = xdr_get_u32(call->args);
	if (ps_args_done(call) ||
	    ps_check_flags(call, flags, VIR_STORAGE_XML_INACTIVE, "virStoragePoolGetXMLDesc"))
		return -1;
	int rc = virt_pool_info(ps_host(call), &p, &info, err, sizeof(err));
	if (rc)
		return ps_model_fail(call, rc, err);
	char *xml = pool_xml_format(&p, &info);
	if (!xml)
		return ps_fail(call, VIR_ERR_INTERNAL_ERROR, "pool '%s' cannot be shown as XML", p.name);
	xdr_put_string(call->ret, xml);
	free(xml);
	return 0;
}

static int ps_serve_pool_get_autostart(struct virt_call *call)
{
	struct virt_pool p;

	if (ps_get_pool_only(call, &p))
		return -1;
	xdr_put_i32(call->ret, p.autostart);
	return 0;
}

static int ps_serve_pool_set_autostart(struct virt_call *call)
{
	struct virt_pool p;
	char err[512] = "";

	if (ps_get_pool(call, &p))
		return -1;
	int32_t on = xdr_get_i32(call->args);
	if (ps_args_done(call))
		return -1;
	if (!p.persistent)
		return ps_fail(call, VIR_ERR_INVALID_ARG, "cannot set autostart for transient pool");
	int rc = virt_pool_set_autostart(ps_host(call), &p, on != 0, err, sizeof(err));
	return rc ? ps_model_fail(call, rc, err) : 0;
}

static int ps_serve_pool_is_active(struct virt_call *call)
{
	struct virt_pool p;

	if (ps_get_pool_only(call, &p))
		return -1;
	xdr_put_i32(call->ret, p.active);
	return 0;
}

static int ps_serve_pool_is_persistent(struct virt_call *call)
{
	struct virt_pool p;

	if (ps_get_pool_only(call, &p))
		return -1;
	xdr_put_i32(call->ret, p.persistent);
	return 0;
}

/* ---- volumes ------------------------------------------------------------------------------ */

static int ps_vols(struct virt_call *call, const struct virt_pool *p, struct virt_vol **v, size_t *n)
{
	char err[512] = "";

	if (ps_need_active(call, p))
		return -1;
	int rc = virt_vols_list(ps_host(call), p, v, n, err, sizeof(err));
	return rc ? ps_model_fail(call, rc, err) : 0;
}

static int ps_serve_list_all_volumes(struct virt_call *call)
{
	struct virt_pool p;
	struct virt_vol *v;
	size_t n;

	if (ps_get_pool(call, &p))
		return -1;
	int32_t need = xdr_get_i32(call->args);
	uint32_t flags = xdr_get_u32(call->args);
	if (ps_args_done(call) || ps_check_flags(call, flags, 0, "virStoragePoolListAllVolumes") ||
	    ps_vols(call, &p, &v, &n))
		return -1;
	xdr_put_u32(call->ret, need ? (uint32_t)n : 0);
	for (size_t i = 0; need && i < n; i++)
		ps_put_vol(call->ret, &v[i]);
	xdr_put_u32(call->ret, (uint32_t)n);
	free(v);
	return 0;
}

static int ps_serve_num_of_volumes(struct virt_call *call)
{
	struct virt_pool p;
	struct virt_vol *v;
	size_t n;

	if (ps_get_pool_only(call, &p) || ps_vols(call, &p, &v, &n))
		return -1;
	free(v);
	xdr_put_i32(call->ret, (int32_t)n);
	return 0;
}

static int ps_serve_list_volumes(struct virt_call *call)
{
	struct virt_pool p;
	struct virt_vol *v;
	size_t n;

	if (ps_get_pool(call, &p))
		return -1;
	int32_t max = xdr_get_i32(call->args);
	if (ps_args_done(call))
		return -1;
	if (max < 0 || (uint32_t)max > VIRT_VOLS_MAX)
		return ps_fail(call, VIR_ERR_RPC, "the most names asked for (%d) is out of range 0..%u",
			       max, VIRT_VOLS_MAX);
	if (ps_vols(call, &p, &v, &n))
		return -1;
	if (n > (size_t)max)
		n = (size_t)max;
	xdr_put_u32(call->ret, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		xdr_put_string(call->ret, v[i].name);
	free(v);
	return 0;
}

static int ps_serve_vol_lookup_by_name(struct virt_call *call)
{
	struct virt_pool p;
	struct virt_vol v;

	if (ps_get_pool(call, &p))
		return -1;
	char *name = xdr_get_string(call->args, PS_STRING_MAX);
	int r = ps_args_done(call) || ps_lookup_vol(call, &p, name, &v) ? -1 : 0;
	if (!r)
		ps_put_vol(call->ret, &v);
	free(name);
	return r;
}

/* By key or by path: a dir pool's key is the path. */
static int ps_vol_by_path(struct virt_call *call, const char *what)
{
	char *path = xdr_get_string(call->args, PS_STRING_MAX);
	char err[512] = "";
	struct virt_vol v;
	int r = -1;

	if (!ps_args_done(call)) {
		int rc = virt_vol_lookup_by_path(ps_host(call), path, &v, err, sizeof(err));
		if (rc)
			ps_vol_not_found(call, rc, what, path, err);
		else {
			ps_put_vol(call->ret, &v);
			r = 0;
		}
	}
	free(path);
	return r;
}

static int ps_serve_vol_lookup_by_key(struct virt_call *call) { return ps_vol_by_path(call, "key"); }
static int ps_serve_vol_lookup_by_path(struct virt_call *call) { return ps_vol_by_path(call, "path"); }

static int ps_serve_vol_create_xml(struct virt_call *call)
{
	struct virt_pool p;
	struct virt_vol v;
	struct vol_def def;
	char err[768] = "";

	if (ps_get_pool(call, &p))
		return -1;
	char *xml = xdr_get_string(call->args, PS_STRING_MAX);
	uint32_t flags = xdr_get_u32(call->args);
	int r = -1, rc;
	/* Metadata preallocation means nothing for a raw file. */
	if (ps_args_done(call) ||
	    ps_check_flags(call, flags, VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA,
			   "virStorageVolCreateXML") ||
	    ps_need_active(call, &p))
		goto out;
	rc = vol_xml_parse(xml, strlen(xml), &def, err, sizeof(err));
	if (rc) {
		ps_fail(call, rc == STORAGE_XML_ERR_UNSUPPORTED ? VIR_ERR_CONFIG_UNSUPPORTED
								 : VIR_ERR_XML_ERROR, "%s", err);
		goto out;
	}
	rc = virt_vol_create(ps_host(call), &p, def.name, def.capacity, def.allocation, &v, err,
			     sizeof(err));
	if (rc) {
		ps_model_fail(call, rc, err);
		goto out;
	}
	ps_put_vol(call->ret, &v);
	r = 0;
out:
	free(xml);
	return r;
}

static int ps_serve_vol_delete(struct virt_call *call)
{
	struct virt_vol v;
	char err[512] = "";

	if (ps_get_vol(call, &v))
		return -1;
	uint32_t flags = xdr_get_u32(call->args);
	/* A raw file has no snapshots: WITH_SNAPSHOTS deletes just the file. */
	if (ps_args_done(call) ||
	    ps_check_flags(call, flags, VIR_STORAGE_VOL_DELETE_WITH_SNAPSHOTS, "virStorageVolDelete"))
		return -1;
	int rc = virt_vol_delete(ps_host(call), &v, err, sizeof(err));
	return rc ? ps_vol_not_found(call, rc, "name", v.name, err) : 0;
}

static int ps_serve_vol_get_info(struct virt_call *call)
{
	struct virt_vol v;

	if (ps_get_vol_only(call, &v))
		return -1;
	xdr_put_i32(call->ret, VIR_STORAGE_VOL_FILE);     /* char: one XDR unit */
	xdr_put_u64(call->ret, v.capacity);
	xdr_put_u64(call->ret, v.allocation);
	return 0;
}

static int ps_serve_vol_get_xml_desc(struct virt_call *call)
{
	struct virt_vol v;

	if (ps_get_vol(call, &v))
		return -1;
	uint32_t flags = xdr_get_u32(call->args);
	if (ps_args_done(call) || ps_check_flags(call, flags, 0, "virStorageVolGetXMLDesc"))
		return -1;
	char *xml = vol_xml_format(&v);
	if (!xml)
		return ps_fail(call, VIR_ERR_INTERNAL_ERROR, "volume '%s' cannot be shown as XML", v.name);
	xdr_put_string(call->ret, xml);
	free(xml);
	return 0;
}

static int ps_serve_vol_get_path(struct virt_call *call)
{
	struct virt_vol v;

	if (ps_get_vol_only(call, &v))
		return -1;
	xdr_put_string(call->ret, v.path);
	return 0;
}

#define ROW(num, nm, fn) { VIRT_REMOTE_PROGRAM, num, nm, fn, false }
const struct virt_proc virt_procs_storage[] = {
	ROW(71, "CONNECT_NUM_OF_STORAGE_POOLS", ps_serve_num_active),
	ROW(72, "CONNECT_LIST_STORAGE_POOLS", ps_serve_list_active),
	ROW(73, "CONNECT_NUM_OF_DEFINED_STORAGE_POOLS", ps_serve_num_defined),
	ROW(74, "CONNECT_LIST_DEFINED_STORAGE_POOLS", ps_serve_list_defined),
	ROW(76, "STORAGE_POOL_CREATE_XML", ps_serve_pool_create_xml),
	ROW(77, "STORAGE_POOL_DEFINE_XML", ps_serve_pool_define_xml),
	ROW(78, "STORAGE_POOL_CREATE", ps_serve_pool_create),
	ROW(79, "STORAGE_POOL_BUILD", ps_serve_pool_build),
	ROW(80, "STORAGE_POOL_DESTROY", ps_serve_pool_destroy),
	ROW(82, "STORAGE_POOL_UNDEFINE", ps_serve_pool_undefine),
	ROW(83, "STORAGE_POOL_REFRESH", ps_serve_pool_refresh),
	ROW(84, "STORAGE_POOL_LOOKUP_BY_NAME", ps_serve_pool_lookup_by_name),
	ROW(85, "STORAGE_POOL_LOOKUP_BY_UUID", ps_serve_pool_lookup_by_uuid),
	ROW(86, "STORAGE_POOL_LOOKUP_BY_VOLUME", ps_serve_pool_lookup_by_volume),
	ROW(87, "STORAGE_POOL_GET_INFO", ps_serve_pool_get_info),
	ROW(88, "STORAGE_POOL_GET_XML_DESC", ps_serve_pool_get_xml_desc),
	ROW(89, "STORAGE_POOL_GET_AUTOSTART", ps_serve_pool_get_autostart),
	ROW(90, "STORAGE_POOL_SET_AUTOSTART", ps_serve_pool_set_autostart),
	ROW(91, "STORAGE_POOL_NUM_OF_VOLUMES", ps_serve_num_of_volumes),
	ROW(92, "STORAGE_POOL_LIST_VOLUMES", ps_serve_list_volumes),
	ROW(93, "STORAGE_VOL_CREATE_XML", ps_serve_vol_create_xml),
	ROW(94, "STORAGE_VOL_DELETE", ps_serve_vol_delete),
	ROW(95, "STORAGE_VOL_LOOKUP_BY_NAME", ps_serve_vol_lookup_by_name),
	ROW(96, "STORAGE_VOL_LOOKUP_BY_KEY", ps_serve_vol_lookup_by_key),
	ROW(97, "STORAGE_VOL_LOOKUP_BY_PATH", ps_serve_vol_lookup_by_path),
	ROW(98, "STORAGE_VOL_GET_INFO", ps_serve_vol_get_info),
	ROW(99, "STORAGE_VOL_GET_XML_DESC", ps_serve_vol_get_xml_desc),
	ROW(100, "STORAGE_VOL_GET_PATH", ps_serve_vol_get_path),
	ROW(154, "STORAGE_POOL_IS_ACTIVE", ps_serve_pool_is_active),
	ROW(155, "STORAGE_POOL_IS_PERSISTENT", ps_serve_pool_is_persistent),
	ROW(281, "CONNECT_LIST_ALL_STORAGE_POOLS", ps_serve_list_all_pools),
	ROW(282, "STORAGE_POOL_LIST_ALL_VOLUMES", ps_serve_list_all_volumes),
	{ 0, 0, NULL, NULL, false },
};
