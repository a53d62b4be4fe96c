/* pv_backend_request (backends/pv_backends.c), the entry point control.c serves <type>-attach,
 * -detach and -list through: its reply texts byte for byte as docs/netif.md, docs/blkif.md and
 * xl read them, for every answer that needs no xenstore, TAP or KVM: usage errors, bad specs, a
 * target that cannot be opened, an empty list, unknown and busy devices, a taken devid and the
 * limit.  Devices the domain "has" are bare list entries here, never listed or attached. */
#include <stdlib.h>
#include "backends/pv_backend.h"
#include "vmm/domain.h"
#include "unit.h"

struct row { const char *name, *verb, *arg, *reply; bool deferred; };

static const struct row rows[] = {
	{ "vif-attach-no-spec", "vif-attach", NULL, "error EINVAL usage: vif-attach SPEC" },
	{ "vif-attach-blank-spec", "vif-attach", "   ", "error EINVAL usage: vif-attach SPEC" },
	{ "vif-attach-bad-spec", "vif-attach", "colour=blue",
	  "error EINVAL unknown vif option 'colour' (devid, mac, bridge, script, ip, vifname, rate)" },
	{ "vif-attach-taken", "vif-attach", "devid=3", "error EEXIST vif 3 already exists" },
	{ "vbd-attach-no-spec", "vbd-attach", "", "error EINVAL usage: vbd-attach SPEC" },
	{ "vbd-attach-bad-spec", "vbd-attach", "vdev=xvda", "error EINVAL disk spec 'vdev=xvda' needs vdev= and target= (target last)" },
	{ "vbd-attach-no-target", "vbd-attach", " vdev=xvdc,access=ro,target=/nonexistent/h1.img",
	  "error ENOENT disk xvdc: opening /nonexistent/h1.img: No such file or directory" },
	{ "vbd-list-empty", "vbd-list", NULL, "ok" },
	{ "vbd-list-stats-empty", "vbd-list", "stats", "ok" },
	{ "vif-detach-unknown", "vif-detach", "7", "error ENOENT no vif 7" },
	{ "vif-detach-busy", "vif-detach", "3", "error EBUSY vif 3 is already being detached" },
	{ "vif-detach-not-a-number", "vif-detach", "x", "error EINVAL usage: vif-detach DEVID" },
	{ "vif-detach-too-big", "vif-detach", "65536", "error EINVAL usage: vif-detach DEVID" },
	{ "vif-detach-none", "vif-detach", NULL, "error EINVAL usage: vif-detach DEVID" },
	{ "vbd-detach-unknown", "vbd-detach", "51712", "error ENOENT no vbd 51712" },
	{ "vbd-detach-negative", "vbd-detach", "-1", "error EINVAL usage: vbd-detach DEVID" },
	{ "vbd-detach-too-big", "vbd-detach", "2147483648", "error EINVAL usage: vbd-detach DEVID" },
	{ "unknown-verb", "vif-frobnicate", "1", "error ENOSYS unknown request 'vif-frobnicate'" },
};

/* A domain with one vif, devid 3, whose detach is under way. */
static struct domain *domain_with_busy_vif(void)
{
	struct domain *dom = calloc(1, sizeof(*dom));
	struct pv_device *dev = calloc(1, sizeof(*dev));

	dom->domid = 7;
	*dev = (struct pv_device){ .type = pv_backend_type_by_name("vif"), .dom = dom, .devid = 3 };
	dev->xb.closing = true;
	dom->pv_devices = dev;
	return dom;
}

static void never_done(void *ctx, int rc, const char *msg)
{
	*(bool *)ctx = true;
	(void)rc;
	(void)msg;
}

static void test_row(struct unit *u, const void *arg)
{
	const struct row *r = arg;
	struct domain *dom = domain_with_busy_vif();
	char reply[1024] = "unset";
	bool called = false;

	bool deferred = pv_backend_request(dom, r->verb, r->arg, reply, sizeof(reply), never_done, &called);
	CHECK(deferred == r->deferred, "deferred %d", deferred);
	CHECK(!called, "the done callback ran");
	CHECK_STR(reply, r->reply);
	free(dom->pv_devices);
	free(dom);
}

/* The limit: a domain with 16 vifs (devids 0-15) refuses a 17th, whatever its devid. */
static void test_limit(struct unit *u, const void *arg)
{
	const struct pv_backend_type *vif = pv_backend_type_by_name("vif");
	struct domain *dom = calloc(1, sizeof(*dom));
	struct pv_device devs[DOMAIN_MAX_VIFS];
	char reply[512];

	(void)arg;
	for (int i = 0; i < DOMAIN_MAX_VIFS; i++) {
		devs[i] = (struct pv_device){ .type = vif, .dom = dom, .devid = i, .next = dom->pv_devices };
		dom->pv_devices = &devs[i];
	}
	pv_backend_request(dom, "vif-attach", "bridge=xenbr0", reply, sizeof(reply), NULL, NULL);
	CHECK_STR(reply, "error ENOSPC a domain has at most 16 vifs");
	pv_backend_request(dom, "vif-attach", "devid=40", reply, sizeof(reply), NULL, NULL);
	CHECK_STR(reply, "error ENOSPC a domain has at most 16 vifs");
	/* A small reply buffer is cut, never overrun. */
	char tiny[8];
	pv_backend_request(dom, "vif-attach", "devid=40", tiny, sizeof(tiny), NULL, NULL);
	CHECK_STR(tiny, "error E");
	free(dom);
}

/* Saving a domain with no devices gives nothing; restoring refuses a bad record by its offset and
 * a device whose attach fails with the attach's reason, and leaves no device behind. */
static void test_save_restore_all(struct unit *u, const void *arg)
{
	const struct pv_backend_type *vbd = pv_backend_type_by_name("vbd");
	struct domain *dom = calloc(1, sizeof(*dom));
	uint8_t *buf = (uint8_t *)"x", rec[PV_RECORD_MAX * 2];
	size_t len = 1;
	char err[1024] = "";

	(void)arg;
	dom->domid = 4;
	CHECK(!pv_backends_save_all(dom, &buf, &len, err, sizeof(err)) && !buf && !len, "empty save: %s", err);
	CHECK(!pv_backends_restore_all(dom, rec, 0, err, sizeof(err)) && !dom->pv_devices, "empty restore: %s", err);
	memset(rec, 0, 64);
	CHECK(pv_backends_restore_all(dom, rec, 64, err, sizeof(err)) == -1, "zeros restored");
	CHECK(strstr(err, "restoring the device at byte 0: not a PV device record") != NULL, "'%s'", err);
	void *config = calloc(1, vbd->config_size);
	struct pv_runtime rt = { .state = 4 };
	CHECK(!vbd->parse("vdev=xvdc,access=ro,target=/nonexistent/h1.img", config, err, sizeof(err)), "%s", err);
	long n = pv_record_encode(vbd, config, &rt, rec, sizeof(rec), err, sizeof(err));
	CHECK(n > 0, "encode: %s", err);
	/* Two such records: the first one's attach fails, and its reason is the error. */
	memcpy(rec + n, rec, (size_t)n);
	CHECK(pv_backends_restore_all(dom, rec, 2 * (size_t)n, err, sizeof(err)) == -1, "restored");
	CHECK(strstr(err, "disk xvdc: opening /nonexistent/h1.img: No such file") != NULL, "'%s'", err);
	CHECK(dom->pv_devices == NULL, "a device was left behind");
	/* A record cut short: refused, by its offset. */
	CHECK(pv_backends_restore_all(dom, rec, (size_t)n - 1, err, sizeof(err)) == -1 &&
	      strstr(err, "at byte 0") && strstr(err, "truncated"), "'%s'", err);
	free(config);
	free(dom);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		unit_case(&u, rows[i].name, test_row, &rows[i]);
	unit_case(&u, "vif-attach-limit", test_limit, NULL);
	unit_case(&u, "save-restore-all", test_save_restore_all, NULL);
	return unit_finish(&u);
}
