/* Unix sockets at any path: one longer than sun_path allows is reached through an O_PATH descriptor
 * of its directory (/proc/self/fd/N/name), so deep run directories work. */
#ifndef XENITH_UNIX_SOCKET_H
#define XENITH_UNIX_SOCKET_H

/* 0 or -errno. */
int unix_socket_bind(int fd, const char *path);
int unix_socket_connect(int fd, const char *path);

#endif
