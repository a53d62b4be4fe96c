/* The daemons' own logs: their names and bounds (daemon_log.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include "lib/daemon_log.h"
#include "lib/error.h"

const struct logfile_family vmm_log_family = { .prefix = "vmm-", .lock = VMM_LOG_LOCK };
const struct logfile_family xenstored_log_family = { .prefix = NULL, .lock = XENSTORED_LOG_LOCK };
const struct logfile_family libvirtd_log_family = { .prefix = NULL, .lock = LIBVIRTD_LOG_LOCK };

int vmm_log_open(const char *path)
{
	return logfile_open_live(path, &vmm_log_family);
}

void vmm_log_bound(const char *rundir, const char *name)
{
	struct logfile_policy policy;
	char path[PATH_MAX], why[256];

	/* A bad knob is the console's to refuse (console_open), with the same words: here the default. */
	if (logfile_policy_parse(&policy, LOGFILE_KEPT_ENV, getenv(LOGFILE_KEPT_ENV), why, sizeof(why)))
		logfile_policy_parse(&policy, LOGFILE_KEPT_ENV, NULL, why, sizeof(why));
	if ((size_t)snprintf(path, sizeof(path), "%s/log/vmm-%s.log", rundir, name) >= sizeof(path))
		return;
	if (log_bound_stderr(path, &vmm_log_family, &policy) == 1)
		atexit(log_end_bound);
}

/* A daemon's single log, <rundir>/log/<file>: capped, never pruned. */
static void single_log_bound(const char *rundir, const char *file, const struct logfile_family *family)
{
	struct logfile_policy policy = { .cap = LOGFILE_CAP, .kept = 0 };
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/log/%s", rundir, file) < sizeof(path))
		log_bound_stderr(path, family, &policy);
}

void xenstored_log_bound(const char *rundir)
{
	single_log_bound(rundir, "xenstored.log", &xenstored_log_family);
}

void libvirtd_log_bound(const char *rundir)
{
	single_log_bound(rundir, "libvirtd.log", &libvirtd_log_family);
}
