/* DOMAIN_OPEN_CONSOLE (virsh console, virDomainOpenConsole): the running domain's console pty,
 * opened as xl console opens it (the slave its VMM names in domains/<id>/console.tty, raw, no
 * controlling tty), joined to the call's stream.
 *
 * One session per console, as libvirt's virChrdev gives: the session holds an exclusive flock on
 * its pty fd, which goes with the fd whenever the stream ends, so no table can go stale.  A second
 * open is refused with libvirt's "Active console session exists"; with VIR_DOMAIN_CONSOLE_FORCE
 * the old session's stream is ended first (xl console, which takes no lock, is not affected). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include "libvirt/procs_domain.h"
#include "libvirt/procs_events.h"
#include "libvirt/server.h"

#define PROC_DOMAIN_OPEN_CONSOLE 201

/* The device names a client may ask for: libvirt's aliases of a domain's one console. */
static const char *const console_aliases[] = { "console0", "serial0" };

static bool known_device(const char *dev_name)
{
	if (!dev_name)
		return true;
	for (size_t i = 0; i < sizeof(console_aliases) / sizeof(console_aliases[0]); i++)
		if (!strcmp(dev_name, console_aliases[i]))
			return true;
	return false;
}


/* The pty at path, raw and locked for this session: an fd, or -1 with the call's error. */
static int open_session(struct virt_call *call, const char *path, bool force)
{
	struct termios tio;
	struct stat st;
	int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return pd_fail(call, VIR_ERR_OPERATION_FAILED, "cannot open the console %s: %s", path,
			       strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || !isatty(fd)) {
		close(fd);
		return pd_fail(call, VIR_ERR_INTERNAL_ERROR, "character device %s is not using a PTY", path);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK || !force) {
			close(fd);
			if (errno == EWOULDBLOCK)
				return pd_fail(call, VIR_ERR_OPERATION_FAILED,
					       "Active console session exists for this domain");
			return pd_fail(call, VIR_ERR_OPERATION_FAILED, "cannot lock the console %s: %s", path,
				       strerror(errno));
		}
		virt_daemon_abort_streams_on(call->daemon, st.st_rdev, VIR_ERR_OPERATION_ABORTED,
					     "the console was taken over by another session (--force)");
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			/* Held by another process (another daemon on the same run directory). */
			close(fd);
			return pd_fail(call, VIR_ERR_OPERATION_FAILED,
				       "Active console session exists for this domain");
		}
	}
	/* Bytes pass untouched, as xl console and xenconsole set the pty. */
	if (tcgetattr(fd, &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(fd, TCSANOW, &tio);
	}
	return fd;
}

static int serve_open_console(struct virt_call *call)
{
	struct virt_dom dom;
	char path[PATH_MAX], err[512] = "";
	bool present;
	char *dev_name;
	unsigned int flags;
	int fd, rc;

	if (pd_get_dom(call, &dom) < 0)
		return -1;
	dev_name = xdr_get_opt_string(call->args, PD_STRING_MAX, &present);
	flags = xdr_get_u32(call->args);
	if (pd_args_done(call) < 0 ||
	    pd_check_flags(call, flags, VIR_DOMAIN_CONSOLE_FORCE | VIR_DOMAIN_CONSOLE_SAFE,
			   "virDomainOpenConsole") < 0 ||
	    pd_need_active(call, &dom) < 0) {
		free(dev_name);
		return -1;
	}
	if (!known_device(dev_name)) {
		rc = pd_fail(call, VIR_ERR_INTERNAL_ERROR, "cannot find character device %s", dev_name);
		free(dev_name);
		return rc;
	}
	free(dev_name);
	rc = virt_domain_console_path(pd_host(call), &dom, path, sizeof(path), err, sizeof(err));
	if (rc < 0)
		return pd_model_fail(call, rc, err);
	fd = open_session(call, path, flags & VIR_DOMAIN_CONSOLE_FORCE);
	if (fd < 0)
		return -1;
	return virt_stream_attach_fd(call, fd);
}

const struct virt_proc virt_procs_console[] = {
	{ VIRT_REMOTE_PROGRAM, PROC_DOMAIN_OPEN_CONSOLE, "DOMAIN_OPEN_CONSOLE", serve_open_console, false },
	{ 0, 0, NULL, NULL, false },
};
