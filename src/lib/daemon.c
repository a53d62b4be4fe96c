/* Running in the background (daemon.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "lib/daemon.h"

int daemon_detach(const char *log_path)
{
	int logfd = -1;
	pid_t pid;

	if (log_path) {
		logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (logfd < 0)
			return -errno;
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;
		if (logfd >= 0)
			close(logfd);
		return -e;
	}
	if (pid > 0)
		_exit(0);
	setsid();
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	if (logfd >= 0) {
		dup2(logfd, STDERR_FILENO);
		close(logfd);
	}
	return chdir("/") < 0 ? -errno : 0;
}

int daemon_write_pid_file(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	return fclose(f) ? -errno : 0;
}
