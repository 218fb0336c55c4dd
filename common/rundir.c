/* The per-user runtime directory and the files published in it (see rundir.h). */
#include "rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "fileio.h"

#define SET_ERR(...) do { if (err && err_size) snprintf(err, err_size, __VA_ARGS__); } while (0)

/* Opens dir without following a symlink and checks it is our directory. With fix, group/other
 * bits are removed; without, they are an error. */
static int open_checked(const char *dir, bool fix, char *err, size_t err_size)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		struct stat st;
		if (e == ELOOP || e == ENOTDIR || (lstat(dir, &st) == 0 && !S_ISDIR(st.st_mode)))
			SET_ERR("socket directory %s is a symlink or not a directory: refusing it "
				"(another user may have planted it; remove it or set XDG_RUNTIME_DIR)", dir);
		else
			SET_ERR("socket directory %s: %s", dir, strerror(e));
		return e == ENOENT ? -ENOENT : e == ELOOP || e == ENOTDIR ? -EPERM : -e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		SET_ERR("socket directory %s: %s", dir, strerror(e));
		close(fd);
		return -e;
	}
	if (st.st_uid != geteuid()) {
		SET_ERR("socket directory %s belongs to uid %u, not to this user (uid %u): refusing it "
			"(another user may have planted it; remove it or set XDG_RUNTIME_DIR)", dir,
			(unsigned)st.st_uid, (unsigned)geteuid());
		close(fd);
		return -EPERM;
	}
	if (st.st_mode & 077) {
		if (!fix || fchmod(fd, 0700) < 0) {
			int e = fix ? errno : EPERM;
			SET_ERR("socket directory %s has mode %04o (must be 0700)%s%s", dir,
				(unsigned)(st.st_mode & 07777), fix ? ": " : "", fix ? strerror(e) : "");
			close(fd);
			return -e;
		}
	}
	return fd;
}

int ghostrec_rundir_ensure(char *dir, size_t dir_size, char *err, size_t err_size)
{
	int res = ghostrec_ctl_dir(dir, dir_size);
	if (res < 0) {
		SET_ERR("socket directory path is too long");
		return res;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int e = errno;
		SET_ERR("cannot create the socket directory %s: %s", dir, strerror(e));
		return -e;
	}
	int fd = open_checked(dir, true, err, err_size);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int ghostrec_rundir_check(char *dir, size_t dir_size, char *err, size_t err_size)
{
	int res = ghostrec_ctl_dir(dir, dir_size);
	if (res < 0) {
		SET_ERR("socket directory path is too long");
		return res;
	}
	int fd = open_checked(dir, false, err, err_size);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static bool valid_name(const char *name)
{
	return name[0] && name[0] != '.' && !strchr(name, '/');
}

int ghostrec_rundir_write(const char *dir, const char *name, const char *text, char *err,
			  size_t err_size)
{
	char tmp[512], path[512];
	if (!valid_name(name))
		return -EINVAL;
	int n1 = snprintf(path, sizeof(path), "%s/%s", dir, name);
	int n2 = snprintf(tmp, sizeof(tmp), "%s/.%s.%d.tmp", dir, name, (int)getpid());
	if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof(path) || (size_t)n2 >= sizeof(tmp)) {
		SET_ERR("%s/%s: path too long", dir, name);
		return -ENAMETOOLONG;
	}
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		SET_ERR("cannot create %s: %s", tmp, strerror(e));
		return -e;
	}
	int e = -ghostrec_write_all(fd, text, strlen(text));
	if (close(fd) < 0 && e == 0)
		e = errno;
	if (e == 0 && rename(tmp, path) < 0)
		e = errno;
	if (e != 0) {
		SET_ERR("cannot write %s: %s", path, strerror(e));
		unlink(tmp);
		return -e;
	}
	return 0;
}

int ghostrec_rundir_read(const char *dir, const char *name, char *buf, size_t size, char *err,
			 size_t err_size)
{
	char path[512];
	if (!valid_name(name) || size == 0)
		return -EINVAL;
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		SET_ERR("%s/%s: path too long", dir, name);
		return -ENAMETOOLONG;
	}
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP)
			SET_ERR("%s is a symlink: refusing it", path);
		else
			SET_ERR("%s: %s", path, strerror(e));
		return e == ELOOP ? -EPERM : -e;
	}
	struct stat st;
	int res = 0;
	if (fstat(fd, &st) < 0) {
		res = -errno;
		SET_ERR("%s: %s", path, strerror(-res));
	} else if (!S_ISREG(st.st_mode)) {
		res = -EPERM;
		SET_ERR("%s is not a regular file: refusing it", path);
	} else if (st.st_uid != geteuid() || (st.st_mode & 022)) {
		res = -EPERM;
		SET_ERR("%s belongs to uid %u with mode %04o (must be ours, not writable by others): "
			"refusing it", path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	} else {
		ssize_t r = read(fd, buf, size - 1);
		if (r < 0) {
			res = -errno;
			SET_ERR("%s: %s", path, strerror(-res));
		} else {
			buf[r] = '\0';
			if (r > 0 && buf[r - 1] == '\n')
				buf[r - 1] = '\0';
		}
	}
	close(fd);
	return res;
}

void ghostrec_rundir_remove_if(const char *dir, const char *name, const char *expect)
{
	char cur[256], path[512];
	if (ghostrec_rundir_read(dir, name, cur, sizeof(cur), NULL, 0) < 0 || strcmp(cur, expect) != 0)
		return;
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n > 0 && (size_t)n < sizeof(path))
		unlink(path);
}
