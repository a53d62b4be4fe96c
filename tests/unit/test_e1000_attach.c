/* The e1000's TAP and hotplug script (hw/e1000_pci.c's attach): devices are built before the
 * domain has its domid, so the TAP vif<domid>.<devid>-emu is made only at devices_attach, with the
 * domid the domain has then, and the PV vif's hotplug script puts it on the network as Xen's
 * scripts expect (`SCRIPT online` with vif=, bridge=, mac= in the environment); teardown runs
 * `offline` and the TAP goes.  Runs as root in a network namespace of its own (a real TAP, a
 * real script); says skip where it cannot. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fake_domain.h"
#include "hw/device.h"
#include "hw/hvm_config.h"
#include "unit.h"

extern const struct device_ops pci_bus_device, e1000_device;

static void test_attach_names_tap_by_domid_and_runs_script(struct unit *u, const void *arg)
{
	static const struct device_ops *const table[] = { &pci_bus_device, &e1000_device, NULL };
	char dir[] = "/tmp/xenith-e1000-attach.XXXXXX", script[128], record[128], err[512] = "";
	struct hvm_config hvm;

	(void)arg;
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(script, sizeof(script), "%s/vif-record", dir);
	snprintf(record, sizeof(record), "%s/calls", dir);
	FILE *f = fopen(script, "w");
	fprintf(f, "#!/bin/sh\necho \"$1 vif=$vif bridge=$bridge mac=$mac\" >> %s\n", record);
	fclose(f);
	chmod(script, 0755);

	hvm_config_init(&hvm);
	char spec[300];
	snprintf(spec, sizeof(spec), "model=e1000,mac=00:16:3e:01:02:03,devid=2,bridge=xbr9,script=%s", script);
	CHECK(hvm_config_option(&hvm, "nic", spec, err, sizeof(err)) == 0, "--nic: %s", err);
	struct domain *d = fake_domain_new(0);
	d->hvm = &hvm;
	d->domid = 0;                           /* as at build: not claimed yet */
	CHECK(devices_init(d, table, err, sizeof(err)) == 0, "devices_init: %s", err);
	CHECK(if_nametoindex("vif0.2-emu") == 0, "a TAP was made before the domid was known");
	d->domid = 7;
	CHECK(devices_attach(d, err, sizeof(err)) == 0, "devices_attach: %s", err);
	CHECK(if_nametoindex("vif7.2-emu") != 0, "no TAP vif7.2-emu after attach");
	char line[256] = "";
	f = fopen(record, "r");
	if (f && fgets(line, sizeof(line), f))
		line[strcspn(line, "\n")] = '\0';
	if (f)
		fclose(f);
	CHECK(!strcmp(line, "online vif=vif7.2-emu bridge=xbr9 mac=00:16:3e:01:02:03"), "the script saw '%s'", line);
	devices_teardown(d);
	CHECK(if_nametoindex("vif7.2-emu") == 0, "the TAP outlived the domain");
	f = fopen(record, "r");
	int offline = 0;
	while (f && fgets(line, sizeof(line), f))
		offline += !strncmp(line, "offline vif=vif7.2-emu", 22);
	if (f)
		fclose(f);
	CHECK(offline == 1, "offline ran %d times", offline);
	fake_domain_free(d);
	unlink(record);
	unlink(script);
	rmdir(dir);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0 || unshare(CLONE_NEWNET) != 0) {
		printf("skip - e1000-attach-tap-and-script: needs root, /dev/net/tun and a network namespace\n");
		return unit_finish(&u);
	}
	unit_case(&u, "e1000-attach-tap-and-script", test_attach_names_tap_by_domid_and_runs_script, NULL);
	return unit_finish(&u);
}
