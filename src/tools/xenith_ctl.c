/* xenith-ctl DOMID REQUEST [ARG...]: sends one request to a domain's control socket and prints the
 * reply, for Dom0 diagnostics and tests (docs/vmm-control.md lists the requests).  Exit 0 on "ok". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "lib/rundir.h"
#include "vmm/control.h"

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX, .sun_path = "control.sock" };
	char dir[PATH_MAX], req[CONTROL_REQUEST_MAX + 1] = "", reply[CONTROL_REPLY_MAX + 1];
	struct rundir rd;
	int fd, r;

	if (argc < 3) {
		fprintf(stderr, "usage: xenith-ctl DOMID REQUEST [ARG...]\n");
		return 2;
	}
	r = rundir_open(&rd);
	if (r || !rundir_path(&rd, dir, sizeof(dir), "domains/%s", argv[1])) {
		fprintf(stderr, "xenith-ctl: run directory: %s\n", strerror(r ? -r : ENAMETOOLONG));
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		if (strlen(req) + strlen(argv[i]) + 2 > sizeof(req)) {
			fprintf(stderr, "xenith-ctl: request longer than %zu bytes\n", sizeof(req) - 1);
			return 2;
		}
		if (i > 2)
			strcat(req, " ");
		strcat(req, argv[i]);
	}
	/* Connecting from inside the directory keeps the socket path short whatever the run dir. */
	if (chdir(dir) < 0) {
		fprintf(stderr, "xenith-ctl: domain %s does not exist (%s: %s)\n", argv[1], dir, strerror(errno));
		return 1;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    send(fd, req, strlen(req), 0) < 0) {
		fprintf(stderr, "xenith-ctl: domain %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	ssize_t n = recv(fd, reply, sizeof(reply) - 1, 0);
	close(fd);
	if (n <= 0) {
		fprintf(stderr, "xenith-ctl: domain %s sent no reply\n", argv[1]);
		return 1;
	}
	reply[n] = '\0';
	if (!strncmp(reply, "ok", 2)) {
		if (reply[2])
			printf("%s\n", reply + 3);
		return 0;
	}
	fprintf(stderr, "xenith-ctl: %s\n", reply);
	return 1;
}
