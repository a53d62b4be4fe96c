/* The domain's xenstore layout, row for row what libxl 4.17 writes for a PVH domain:
 * libxl__domain_make (libxl_create.c) makes the directories and their permissions,
 * libxl__build_post (libxl_dom.c) the memory, store and vCPU nodes, libxl__device_console_add
 * (libxl_console.c, through libxl__device_generic_add) the primary console.
 *
 * Permissions, with N the domain:  ro = "n0 rN" (Dom0's, the guest reads), rw = "nN" (the guest's
 * own: it writes there, e.g. Linux's xenbus_dev_error writes error/<device>/error), front =
 * "nN r0" (a frontend node), priv = "n0" (toolstack only).  A node created implicitly (store,
 * cpu/<n>, device/suspend) inherits its parent's, as in xenstored.
 *
 * Left out, and why:
 *  - /local/domain/N/platform/ and xsdata (xl.cfg's acpi/viridian-style extras): empty for PVH
 *    unless configured; we have no such settings.
 *  - libxl/ and device-model/ under the domain: only for a driver domain.
 *  - /libxl/N/device/{vif,vbd}/I/{frontend,backend}: libxl's record of each device; our vifs and
 *    vbds are recorded by their VMM (xenbus_backend.c would have to write these).
 *  - /libxl/N/dm-version and the like: no device model for PVH. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include "backends/xenstore_layout.h"

enum base { DOM, VM, LIBXL, CONSOLE_BACK, BASE_COUNT };
enum perm { RO, RW, FRONT, PRIV, PERM_COUNT };
enum val {
	LIT, NAME, UUID, DOMID, VM_PATH, MEM_TARGET, MEM_MAX, STORE_PORT, STORE_REF, CONS_PORT,
	CONS_REF, CONS_TTY, CONS_FRONT, CONS_BACK, START_TIME, VCPU_STATE, VAL_COUNT,
};

struct row {
	enum base base;
	const char *rel;                 /* below the base; "" is the base; "%u": one row per vCPU */
	enum perm perm;
	enum val val;
	const char *lit;                 /* the value when val is LIT */
};

static const struct row rows[] = {
	/* libxl__domain_make */
	{ DOM, "", RO, LIT, "" },
	{ VM, "", RO, LIT, "" },
	{ LIBXL, "", PRIV, LIT, "" },
	{ LIBXL, "device", PRIV, LIT, "" },
	{ DOM, "vm", RO, VM_PATH, NULL },
	{ DOM, "name", RO, NAME, NULL },
	{ DOM, "cpu", RO, LIT, "" },
	{ DOM, "memory", RO, LIT, "" },
	{ DOM, "device", RO, LIT, "" },
	{ DOM, "device/suspend/event-channel", RW, LIT, "" },
	{ DOM, "control", RO, LIT, "" },
	{ DOM, "control/shutdown", RW, LIT, "" },
	{ DOM, "control/feature-poweroff", RW, LIT, "" },
	{ DOM, "control/feature-reboot", RW, LIT, "" },
	{ DOM, "control/feature-suspend", RW, LIT, "" },
	{ DOM, "control/sysrq", RW, LIT, "" },
	{ DOM, "data", RW, LIT, "" },
	{ DOM, "drivers", RW, LIT, "" },
	{ DOM, "feature", RW, LIT, "" },
	{ DOM, "attr", RW, LIT, "" },
	{ DOM, "error", RW, LIT, "" },
	{ VM, "uuid", RO, UUID, NULL },
	{ VM, "name", RO, NAME, NULL },
	{ DOM, "control/platform-feature-multiprocessor-suspend", RO, LIT, "1" },
	{ DOM, "control/platform-feature-xs_reset_watches", RO, LIT, "1" },
	{ LIBXL, "type", PRIV, LIT, "pvh" },
	/* libxl__build_post */
	{ DOM, "memory/static-max", RO, MEM_MAX, NULL },
	{ DOM, "memory/target", RO, MEM_TARGET, NULL },
	{ DOM, "memory/videoram", RO, LIT, "0" },
	{ DOM, "domid", RO, DOMID, NULL },
	{ DOM, "store/port", RO, STORE_PORT, NULL },
	{ DOM, "store/ring-ref", RO, STORE_REF, NULL },
	{ DOM, "cpu/%u/availability", RO, VCPU_STATE, NULL },
	{ VM, "start_time", RO, START_TIME, NULL },
	/* libxl__device_console_add, console 0: its frontend directory is Dom0's, unlike others */
	{ LIBXL, "device/console/0/frontend", PRIV, CONS_FRONT, NULL },
	{ LIBXL, "device/console/0/backend", PRIV, CONS_BACK, NULL },
	{ DOM, "console", RO, LIT, "" },
	{ DOM, "console/backend", RO, CONS_BACK, NULL },
	{ DOM, "console/backend-id", FRONT, LIT, "0" },
	{ DOM, "console/limit", RO, LIT, "1048576" },
	{ DOM, "console/type", RO, LIT, "xenconsoled" },
	{ DOM, "console/output", RO, LIT, "pty" },
	{ DOM, "console/tty", RO, CONS_TTY, NULL },
	{ DOM, "console/port", RO, CONS_PORT, NULL },
	{ DOM, "console/ring-ref", RO, CONS_REF, NULL },
	{ CONSOLE_BACK, "", RO, LIT, "" },
	{ CONSOLE_BACK, "frontend", RO, CONS_FRONT, NULL },
	{ CONSOLE_BACK, "frontend-id", RO, DOMID, NULL },
	{ CONSOLE_BACK, "online", RO, LIT, "1" },
	{ CONSOLE_BACK, "state", RO, LIT, "1" },
	{ CONSOLE_BACK, "protocol", RO, LIT, "vt100" },
};

#define FIELD 128

struct texts {
	char base[BASE_COUNT][XENSTORE_LAYOUT_ROOT_MAX];
	char perm[PERM_COUNT][32];
	char val[VAL_COUNT][FIELD];
	const char *valp[VAL_COUNT];
};

static void prepare(const struct xenstore_layout *l, struct texts *t)
{
	int d = l->domid;

	snprintf(t->base[DOM], sizeof(t->base[DOM]), "/local/domain/%d", d);
	snprintf(t->base[VM], sizeof(t->base[VM]), "/vm/%s", l->uuid);
	snprintf(t->base[LIBXL], sizeof(t->base[LIBXL]), "/libxl/%d", d);
	snprintf(t->base[CONSOLE_BACK], sizeof(t->base[CONSOLE_BACK]), "/local/domain/0/backend/console/%d/0", d);
	snprintf(t->perm[RO], sizeof(t->perm[RO]), "n0 r%d", d);
	snprintf(t->perm[RW], sizeof(t->perm[RW]), "n%d", d);
	snprintf(t->perm[FRONT], sizeof(t->perm[FRONT]), "n%d r0", d);
	snprintf(t->perm[PRIV], sizeof(t->perm[PRIV]), "n0");
	snprintf(t->val[DOMID], FIELD, "%d", d);
	snprintf(t->val[VM_PATH], FIELD, "%s", t->base[VM]);
	snprintf(t->val[MEM_TARGET], FIELD, "%" PRIu64, l->memory_kb);
	snprintf(t->val[MEM_MAX], FIELD, "%" PRIu64, l->max_memory_kb);
	snprintf(t->val[STORE_PORT], FIELD, "%u", l->store_port);
	snprintf(t->val[STORE_REF], FIELD, "%" PRIu64, l->store_gfn);
	snprintf(t->val[CONS_PORT], FIELD, "%u", l->console_port);
	snprintf(t->val[CONS_REF], FIELD, "%" PRIu64, l->console_gfn);
	snprintf(t->val[CONS_FRONT], FIELD, "%s/console", t->base[DOM]);
	snprintf(t->val[CONS_BACK], FIELD, "%s", t->base[CONSOLE_BACK]);
	for (int v = 0; v < VAL_COUNT; v++)
		t->valp[v] = t->val[v];
	t->valp[NAME] = l->name;                 /* these may be long: not copied */
	t->valp[UUID] = l->uuid;
	t->valp[CONS_TTY] = l->console_tty ? l->console_tty : "";
	t->valp[START_TIME] = l->start_time;
}

static int put_row(const struct row *r, const struct texts *t, unsigned int vcpu, const char *value,
		   xenstore_layout_put_fn put, void *ctx)
{
	char rel[96], path[256];
	int n;

	snprintf(rel, sizeof(rel), r->rel, vcpu);
	n = snprintf(path, sizeof(path), "%s%s%s", t->base[r->base], *rel ? "/" : "", rel);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	return put(ctx, path, value, t->perm[r->perm]);
}

int xenstore_layout_write(const struct xenstore_layout *l, xenstore_layout_put_fn put, void *ctx)
{
	struct texts t;
	int r = 0;

	prepare(l, &t);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]) && !r; i++) {
		const struct row *row = &rows[i];
		if (row->val == VCPU_STATE) {
			/* Every possible vCPU, as libxl's avail_vcpus bitmap says: Linux reads these
			 * for each possible CPU and offlines those marked "offline". */
			for (unsigned int v = 0; v < l->max_vcpus && !r; v++)
				r = put_row(row, &t, v, v < l->vcpus ? "online" : "offline", put, ctx);
			continue;
		}
		r = put_row(row, &t, 0, row->val == LIT ? row->lit : t.valp[row->val], put, ctx);
	}
	return r;
}

void xenstore_layout_roots(const struct xenstore_layout *l, char roots[XENSTORE_LAYOUT_ROOTS][XENSTORE_LAYOUT_ROOT_MAX])
{
	snprintf(roots[0], XENSTORE_LAYOUT_ROOT_MAX, "/local/domain/%d", l->domid);
	snprintf(roots[1], XENSTORE_LAYOUT_ROOT_MAX, "/vm/%s", l->uuid);
	snprintf(roots[2], XENSTORE_LAYOUT_ROOT_MAX, "/libxl/%d", l->domid);
	snprintf(roots[3], XENSTORE_LAYOUT_ROOT_MAX, "/local/domain/0/backend/console/%d", l->domid);
}
