/* Folder delivery and per-take delivery bookkeeping (see deliver.h). */
#include "deliver.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"

#define SET_ERR(...) do { if (err && errsize) snprintf(err, errsize, __VA_ARGS__); } while (0)

struct outbox {
	struct deliver_target base;
	char dir[4096];
	unsigned file_mode;
};

/* Copies in -> out in the kernel where it can (copy_file_range: reflink or in-kernel copy),
 * else through a buffer. */
static int copy_fd(int in, int out, off_t size)
{
	static char buf[1 << 16];
	off_t done = 0;
	while (done < size) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)(size - done), 0);
		if (n > 0) {
			done += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP && errno != EINVAL)
			return -errno;
		break; /* not supported here (or the source shrank): plain copy for the rest */
	}
	for (;;) {
		ssize_t n = pread(in, buf, sizeof(buf), done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		int e = ghostrec_write_all(out, buf, (size_t)n);
		if (e < 0)
			return e;
		done += n;
	}
}

int deliver_place_file(const char *src, const char *dst, char *err, size_t errsize)
{
	return deliver_place_file_mode(src, dst, 0640, err, errsize);
}

int deliver_place_file_mode(const char *src, const char *dst, unsigned mode, char *err, size_t errsize)
{
	char tmp[8900], dir[4400];
	struct stat st_src, st_dst;
	int in = -1, out = -1, r = 0;
	const char *slash = strrchr(dst, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - dst) : 1, slash ? dst : ".");
	snprintf(tmp, sizeof(tmp), "%s/.%s.part", dir, slash ? slash + 1 : dst);
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0 || fstat(in, &st_src) < 0) {
		SET_ERR("%s: %s", src, strerror(errno));
		if (in >= 0)
			close(in);
		return -1;
	}
	/* a leftover temp name of an interrupted delivery goes (a symlink there is removed, never
	 * followed) */
	if (unlink(tmp) < 0 && errno != ENOENT) {
		SET_ERR("cannot remove the old temp file %s: %s", tmp, strerror(errno));
		close(in);
		return -1;
	}
	/* same filesystem: a second name for the finished file, nothing copied; the file (one
	 * inode for both names) gets the delivered mode first */
	if (fchmod(in, mode) == 0 && link(src, tmp) == 0) {
		close(in);
		if (rename(tmp, dst) < 0) {
			SET_ERR("writing %s: %s", dst, strerror(errno));
			unlink(tmp);
			return -1;
		}
		goto sync_dir;
	}
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	    fchmod(out, mode) < 0) {
		SET_ERR("cannot create %s: %s", tmp, strerror(errno));
		if (out >= 0)
			close(out);
		close(in);
		return -1;
	}
	r = copy_fd(in, out, st_src.st_size);
	if (r == 0 && fsync(out) < 0)
		r = -errno;
	if (r == 0 && (fstat(out, &st_dst) < 0 || st_dst.st_size != st_src.st_size))
		r = -EIO;
	if (close(out) < 0 && r == 0)
		r = -errno;
	close(in);
	if (r == 0 && rename(tmp, dst) < 0)
		r = -errno;
	if (r < 0) {
		SET_ERR("writing %s: %s", dst, strerror(-r));
		unlink(tmp);
		return -1;
	}
sync_dir:;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd); /* the rename itself must survive a power cut */
		close(dfd);
	}
	return 0;
}

static int outbox_put(struct deliver_target *t, const char *src, const char *name, char *err, size_t errsize)
{
	struct outbox *o = (struct outbox *)t;
	char dst[4400];
	snprintf(dst, sizeof(dst), "%s/%s", o->dir, name);
	return deliver_place_file_mode(src, dst, o->file_mode, err, errsize);
}

static void outbox_destroy(struct deliver_target *t)
{
	free(t);
}

struct deliver_target *deliver_outbox_new(const char *dir, unsigned file_mode, char *err, size_t errsize)
{
	struct stat st;
	if (file_mode != 0600 && file_mode != 0640) {
		SET_ERR("outbox %s: file mode %04o is not 0600 or 0640", dir, file_mode);
		return NULL;
	}
	/* created with 0700 (0750 for group-readable files); an existing directory is the user's
	 * and is left as it is */
	unsigned dir_mode = file_mode == 0640 ? 0750 : 0700;
	if (mkdir(dir, dir_mode) == 0) {
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fchmod(fd, dir_mode) < 0) {
			SET_ERR("outbox %s: %s", dir, strerror(errno));
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		close(fd);
	} else if (errno != EEXIST) {
		SET_ERR("outbox %s: cannot create it: %s", dir, strerror(errno));
		return NULL;
	}
	if (stat(dir, &st) < 0) {
		SET_ERR("outbox %s: %s", dir, strerror(errno));
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		SET_ERR("outbox %s exists and is not a directory (it is a %s): choose a directory", dir,
			S_ISREG(st.st_mode) ? "regular file" : "special file");
		return NULL;
	}
	if (access(dir, W_OK | X_OK) < 0) {
		SET_ERR("outbox %s is not writable by this user: %s", dir, strerror(errno));
		return NULL;
	}
	struct outbox *o = calloc(1, sizeof(*o));
	if (!o) {
		SET_ERR("out of memory");
		return NULL;
	}
	snprintf(o->dir, sizeof(o->dir), "%s", dir);
	o->file_mode = file_mode;
	o->base.name = "outbox";
	snprintf(o->base.where, sizeof(o->base.where), "%s", dir);
	o->base.put = outbox_put;
	o->base.destroy = outbox_destroy;
	return &o->base;
}

static int done_path(char *buf, size_t size, const struct deliver_target *t, const char *dir)
{
	return snprintf(buf, size, "%s/.done-%s", dir, t->name);
}

int deliver_take_done(const struct deliver_target *t, const char *dir)
{
	char p[4400];
	done_path(p, sizeof(p), t, dir);
	return access(p, F_OK) == 0;
}

static int cmp_names(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t lx = strlen(x), ly = strlen(y);
	int jx = lx > 5 && !strcmp(x + lx - 5, ".json"), jy = ly > 5 && !strcmp(y + ly - 5, ".json");
	if (jx != jy)
		return jx - jy; /* sidecar last */
	return strcmp(x, y);
}

/* The file's part sent ahead, if the target holds one of this very file (same inode, not
 * shorter than what was sent). */
static const struct deliver_sent_file *sent_part(const struct deliver_target *t, const struct deliver_sent *sent,
						 const char *name, const struct stat *st)
{
	if (!sent || !t->put_part || !t->land)
		return NULL;
	for (unsigned i = 0; i < sent->n && i < DELIVER_SENT_MAX; i++) {
		const struct deliver_sent_file *f = &sent->f[i];
		if (strcmp(f->name, name) == 0)
			return f->dev == st->st_dev && f->ino == st->st_ino && f->bytes > sent->head &&
				       (uint64_t)st->st_size >= f->bytes ? f : NULL;
	}
	return NULL;
}

/* Completes a copy sent ahead: the bytes after the part, then the head, then its name. */
static int put_rest(struct deliver_target *t, int fd, const char *name, const struct deliver_sent_file *f,
		    uint64_t head, uint64_t size, char *err, size_t errsize)
{
	if (t->put_part(t, fd, name, f->bytes, size, false, err, errsize) < 0)
		return -1;
	if (t->put_part(t, fd, name, 0, head < size ? head : size, false, err, errsize) < 0)
		return -1;
	return t->land(t, name, size, err, errsize);
}

static int put_file(struct deliver_target *t, const char *src, const char *name, const struct deliver_sent *sent,
		    char *err, size_t errsize)
{
	struct stat st;
	int fd = sent ? open(src, O_RDONLY | O_CLOEXEC) : -1;
	if (fd >= 0) {
		const struct deliver_sent_file *f = fstat(fd, &st) == 0 ? sent_part(t, sent, name, &st) : NULL;
		int r = f ? put_rest(t, fd, name, f, sent->head, (uint64_t)st.st_size, err, errsize) : -1;
		close(fd);
		if (r == 0)
			return 0;
	}
	/* nothing sent ahead, or what was is not there: the whole file */
	return t->put(t, src, name, err, errsize);
}

int deliver_take_dir(struct deliver_target *t, const char *dir, char *err, size_t errsize)
{
	return deliver_take_dir_sent(t, dir, NULL, err, errsize);
}

int deliver_take_dir_sent(struct deliver_target *t, const char *dir, const struct deliver_sent *sent,
			  char *err, size_t errsize)
{
	char *names[64];
	size_t n = 0;
	int rc = 0;

	if (deliver_take_done(t, dir))
		return 0;
	DIR *d = opendir(dir);
	if (!d) {
		SET_ERR("%s: %s", dir, strerror(errno));
		return -1;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < 64) {
		if (e->d_name[0] == '.')
			continue;
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	if (n == 0) {
		SET_ERR("%s: no files to deliver", dir);
		rc = -1;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		char src[4400];
		snprintf(src, sizeof(src), "%s/%s", dir, names[i]);
		rc = put_file(t, src, names[i], sent, err, errsize);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	if (rc == 0) {
		char p[4400];
		done_path(p, sizeof(p), t, dir);
		int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0) {
			SET_ERR("%s: %s", p, strerror(errno));
			return -1;
		}
		fsync(fd);
		close(fd);
	}
	return rc;
}
