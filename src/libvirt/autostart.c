/* Autostart of defined domains once per host boot (autostart.h).  The marker is made before any
 * domain starts, with O_EXCL: of two daemons starting at once only one autostarts, and a daemon
 * that dies half-way is not followed by a second round.  libvirtd does the same with its
 * "autostarted" file in its run directory, and likewise starts nothing when it cannot make it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lib/error.h"
#include "lib/rundir.h"
#include "libvirt/autostart.h"
#include "libvirt/virt_domains.h"

#define AUTOSTART_MARKER "libvirt-autostarted"

/* True for the first daemon of this boot to ask, which has made the marker. */
static bool first_since_boot(struct virt_host *h)
{
	char path[PATH_MAX];
	int fd;

	if (!rundir_path(&h->xl.rd, path, sizeof(path), "%s", AUTOSTART_MARKER)) {
		LOG("autostart: the path of %s in %s is too long; no domain autostarted", AUTOSTART_MARKER,
		    h->xl.rd.path);
		return false;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0) {
		close(fd);
		return true;
	}
	if (errno == EEXIST)
		LOG("autostart: done already since the host booted (%s is there); no domain started", path);
	else
		LOG("autostart: cannot make %s: %s; no domain autostarted, so that no later daemon starts "
		    "again what a user stopped", path, strerror(errno));
	return false;
}

void virt_autostart(struct virt_host *h)
{
	struct virt_dom *doms = NULL, now;
	char err[512];
	size_t n = 0;

	if (!first_since_boot(h))
		return;
	if (virt_domains_list(h, &doms, &n, err, sizeof(err)) < 0) {
		LOG("autostart: cannot list the domains: %s", err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct virt_dom *d = &doms[i];

		if (!d->persistent || !d->autostart)
			continue;
		if (d->id >= 1) {
			LOG("autostart: domain '%s' runs already (id %d)", d->name, d->id);
			continue;
		}
		err[0] = '\0';
		if (virt_domain_start(h, d, NULL, false, &now, err, sizeof(err)) == 0)
			LOG("autostart: started domain '%s' (id %d)", d->name, now.id);
		else
			LOG("autostart: domain '%s' did not start: %s", d->name, *err ? err : "no reason given");
	}
	free(doms);
}
