/* The exporter's control socket path: single instance and safe removal (see ctl-socket.h). */
#include "ctl-socket.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/rundir.h"

#define SET_ERR(...) do { if (err && errsize) snprintf(err, errsize, __VA_ARGS__); } while (0)

static int take_lock(struct ctl_socket *s, char *err, size_t errsize)
{
	char lock[4200], pid[32] = "";
	snprintf(lock, sizeof(lock), "%s.lock", s->path);
	int fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		SET_ERR("control socket lock %s: %s", lock, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		SET_ERR("control socket lock %s is not a file of this user: refusing it", lock);
		close(fd);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		SET_ERR("control socket %s is served by another ghostrec-exporter (pid %s); not starting "
			"a second one (stop it first, or give this one its own --ctl-socket and "
			"--spool-dir)", s->path, pid[0] ? pid : "?");
		close(fd);
		return -1;
	}
	int len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
		/* the lock holds without the pid in it */
	}
	s->lock_fd = fd;
	return 0;
}

int ctl_socket_claim(struct ctl_socket *s, const char *path, char *err, size_t errsize)
{
	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	if (!path[0]) {
		char dir[4000], why[600];
		if (ghostrec_rundir_ensure(dir, sizeof(dir), why, sizeof(why)) < 0) {
			SET_ERR("%s", why);
			return -1;
		}
		snprintf(s->path, sizeof(s->path), "%s/exporter.ctl", dir);
	} else {
		snprintf(s->path, sizeof(s->path), "%s", path);
	}
	if (strlen(s->path) > 107) {
		SET_ERR("control socket path %s is longer than a unix socket path may be (107 bytes)", s->path);
		return -1;
	}
	/* a path that is not a socket is refused before anything (even the lock file) is made;
	 * a socket is only looked at closely under the lock (it may be a running exporter's) */
	struct stat st;
	if (lstat(s->path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		SET_ERR("--ctl-socket %s exists and is not a socket: refusing to replace it "
			"(choose another path)", s->path);
		return -1;
	}
	if (take_lock(s, err, errsize) < 0)
		return -1;
	if (lstat(s->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			SET_ERR("--ctl-socket %s exists and is not a socket: refusing to replace it "
				"(choose another path)", s->path);
			goto fail;
		}
		if (st.st_uid != geteuid()) {
			SET_ERR("--ctl-socket %s is a socket of uid %u, not of this user: refusing to "
				"replace it", s->path, (unsigned)st.st_uid);
			goto fail;
		}
		/* ours, and its exporter would hold the lock: left behind by a killed run */
		if (unlink(s->path) < 0 && errno != ENOENT) {
			SET_ERR("cannot remove the stale control socket %s: %s", s->path, strerror(errno));
			goto fail;
		}
	} else if (errno != ENOENT) {
		SET_ERR("control socket %s: %s", s->path, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	close(s->lock_fd);
	s->lock_fd = -1;
	return -1;
}

void ctl_socket_bound(struct ctl_socket *s)
{
	struct stat st;
	if (lstat(s->path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		s->dev = st.st_dev;
		s->ino = st.st_ino;
		s->bound = 1;
	}
}

void ctl_socket_release(struct ctl_socket *s)
{
	struct stat st;
	if (s->bound && lstat(s->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == s->dev &&
	    st.st_ino == s->ino)
		unlink(s->path);
	s->bound = 0;
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->lock_fd = -1;
}
