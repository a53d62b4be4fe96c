/* What every Dom0 daemon (xenstored, xenith-libvirtd) does to run in the background: detach once
 * its socket listens, and say its pid. */
#ifndef XENITH_DAEMON_H
#define XENITH_DAEMON_H

/* Forks; the parent exits at once (so whoever started us may connect: call it after listen), the
 * child starts a session, takes /dev/null as stdin and stdout and, when log_path is given, appends
 * stderr to that file (mode 0640; otherwise stderr stays as it was).  0 in the child, or -errno. */
int daemon_detach(const char *log_path);

/* Writes "<pid>\n" to path.  0, or -errno. */
int daemon_write_pid_file(const char *path);

#endif
