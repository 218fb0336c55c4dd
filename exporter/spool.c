/* Spool directory and spool files (see spool.h). */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "common/fileio.h"

#define SET_ERR(...) do { if (err && errsize) snprintf(err, errsize, __VA_ARGS__); } while (0)
#define TAKE_ID_EPOCH 1700000000LL

int spool_init(const char *root, char *err, size_t errsize)
{
	char q[4096];
	int r;
	if ((r = ghostrec_mkdir_p(root, 0700)) < 0) {
		SET_ERR("spool dir %s: %s", root, strerror(-r));
		return -1;
	}
	snprintf(q, sizeof(q), "%s/queue", root);
	if ((r = ghostrec_mkdir_p(q, 0700)) < 0) {
		SET_ERR("spool queue %s: %s", q, strerror(-r));
		return -1;
	}
	if (access(root, W_OK) < 0) {
		SET_ERR("spool dir %s is not writable: %s", root, strerror(errno));
		return -1;
	}
	return 0;
}

int spool_lock(const char *root, char *err, size_t errsize)
{
	char path[4200], pid[32] = "";
	snprintf(path, sizeof(path), "%s/lock", root);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		SET_ERR("%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		SET_ERR("spool dir %s is in use by another ghostrec-exporter (pid %s)", root, pid[0] ? pid : "?");
		close(fd);
		return -1;
	}
	int len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
		/* the lock holds without the pid in it */
	}
	return fd;
}

int spool_next_take_id(const char *root, uint32_t *id)
{
	static uint64_t last_given; /* ids stay unique in this process when the file cannot be written */
	char path[4200], buf[32];
	snprintf(path, sizeof(path), "%s/next-take-id", root);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	flock(fd, LOCK_EX); /* two exporters on one spool dir must not share ids */
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	uint64_t next = 0;
	if (n > 0) {
		buf[n] = '\0';
		next = strtoull(buf, NULL, 10);
	}
	int64_t t = (int64_t)time(NULL) - TAKE_ID_EPOCH;
	if (t > 0 && (uint64_t)t > next)
		next = (uint64_t)t;
	if (next <= last_given)
		next = last_given + 1;
	if (next >= UINT32_MAX)
		next = 1; /* after ~130 years of seconds: wrap rather than stop working */
	*id = (uint32_t)next;
	last_given = next;
	/* always the same width, written over itself: on a full disk the file needs no new block */
	int len = snprintf(buf, sizeof(buf), "%20" PRIu64 "\n", next + 1);
	int e = ghostrec_pwrite_all(fd, buf, (size_t)len, 0);
	if (e == 0 && fsync(fd) < 0)
		e = -errno;
	close(fd);
	return e < 0 ? 1 : 0;
}

void spool_state_path(char *buf, size_t size, const char *root, uint32_t take_id)
{
	snprintf(buf, size, "%s/take-%" PRIu32 ".state", root, take_id);
}

void spool_raw_path(char *buf, size_t size, const char *root, uint32_t take_id)
{
	snprintf(buf, size, "%s/take-%" PRIu32 ".raw", root, take_id);
}

void spool_queue_path(char *buf, size_t size, const char *root, uint32_t take_id)
{
	snprintf(buf, size, "%s/queue/%" PRIu32, root, take_id);
}

int spool_writer_open(struct spool_writer *w, const char *path, uint32_t channels)
{
	struct stat st;
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	if (channels == 0)
		return -EINVAL;
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	uint64_t frame_bytes = (uint64_t)channels * sizeof(float);
	w->frames = (uint64_t)st.st_size / frame_bytes;
	if ((uint64_t)st.st_size != w->frames * frame_bytes &&
	    ftruncate(fd, (off_t)(w->frames * frame_bytes)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (lseek(fd, (off_t)(w->frames * frame_bytes), SEEK_SET) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	w->scratch_frames = 4096;
	w->interleaved = malloc(w->scratch_frames * frame_bytes);
	if (!w->interleaved) {
		close(fd);
		return -ENOMEM;
	}
	w->fd = fd;
	w->channels = channels;
	return 0;
}

int spool_writer_append(struct spool_writer *w, const float *const *src, uint32_t n)
{
	uint32_t done = 0;
	while (done < n) {
		uint32_t chunk = n - done;
		if (chunk > w->scratch_frames)
			chunk = (uint32_t)w->scratch_frames;
		for (uint32_t c = 0; c < w->channels; c++) {
			const float *s = src[c];
			float *d = w->interleaved + c;
			for (uint32_t i = 0; i < chunk; i++)
				d[(size_t)i * w->channels] = s ? s[done + i] : 0.0f;
		}
		int r = ghostrec_write_all(w->fd, w->interleaved, (size_t)chunk * w->channels * sizeof(float));
		if (r < 0) {
			/* keep the file whole-frame: cut a partial write off again */
			(void)!ftruncate(w->fd, (off_t)(w->frames * w->channels * sizeof(float)));
			lseek(w->fd, (off_t)(w->frames * w->channels * sizeof(float)), SEEK_SET);
			return r;
		}
		w->frames += chunk;
		w->unsynced += chunk;
		done += chunk;
	}
	return 0;
}

int spool_writer_sync(struct spool_writer *w)
{
	if (w->fd < 0 || w->unsynced == 0)
		return 0;
	w->unsynced = 0;
	return fdatasync(w->fd) < 0 ? -errno : 0;
}

void spool_writer_close(struct spool_writer *w)
{
	if (w->fd >= 0) {
		spool_writer_sync(w);
		close(w->fd);
	}
	free(w->interleaved);
	w->interleaved = NULL;
	w->fd = -1;
}

int spool_remove_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *e;
	int r = 0;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT)
			r = -errno;
	}
	closedir(d);
	if (rmdir(path) < 0 && errno != ENOENT)
		r = -errno;
	return r;
}
