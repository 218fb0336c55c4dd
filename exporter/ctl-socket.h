/* The exporter's control socket path: one exporter per socket, and nothing but our own stale
 * socket is ever removed.
 *
 * ctl_socket_claim() (before anything touches the path):
 *   - fills an empty path with "<ghostrec_ctl_dir()>/exporter.ctl" (creating/securing the 0700
 *     directory; an error names it);
 *   - takes "<path>.lock" (flock, O_NOFOLLOW, 0600, holds our pid): if another exporter holds
 *     it, fails with "... is served by another ghostrec-exporter (pid N)" and the running one's
 *     socket is left alone;
 *   - refuses a path that exists and is not a socket (a regular file, a directory, a symlink)
 *     or is a socket of another user; a socket of ours at the path is stale (its owner would
 *     hold the lock) and is removed.
 * ctl_socket_bound(): after bind, remembers which inode is ours (and makes it 0600 through the
 * umask the bind ran under, see ctl_socket_bind_umask).
 * ctl_socket_release(): removes the path only if it is still that socket. */
#ifndef GHOSTREC_EXPORTER_CTL_SOCKET_H
#define GHOSTREC_EXPORTER_CTL_SOCKET_H

#include <stddef.h>
#include <sys/types.h>

struct ctl_socket {
	char path[4096];
	int lock_fd;
	dev_t dev;
	ino_t ino;
	int bound;
};

/* Returns 0, or -1 with a one-line reason in err. */
int ctl_socket_claim(struct ctl_socket *s, const char *path, char *err, size_t errsize);
void ctl_socket_bound(struct ctl_socket *s);
void ctl_socket_release(struct ctl_socket *s);

#endif
