/* The capture journal (see journal.h). */
#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include "fileio.h"
#include "journal_content.h"

#define SET_ERR(...) do { if (err && errsize) snprintf(err, errsize, __VA_ARGS__); } while (0)
#define SCRATCH_FRAMES GHOSTREC_JOURNAL_SCRATCH_FRAMES

static size_t frame_bytes(const struct ghostrec_journal_seg *s)
{
	return (size_t)s->channels * sizeof(float);
}

static void seg_path(char *buf, size_t size, const struct ghostrec_journal *j, uint32_t seq)
{
	snprintf(buf, size, "%s/seg-%08" PRIu32 ".raw", j->dir, seq);
}

int ghostrec_journal_dir(char *buf, size_t size, const char *spool_dir, const char *node)
{
	int n = snprintf(buf, size, "%s/journal/%s", spool_dir, node);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	void *p = realloc(*arr, nc * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = nc;
	return 0;
}

static int seg_line(char *buf, size_t size, const struct ghostrec_journal_seg *s)
{
	return snprintf(buf, size, "seg %" PRIu32 " %" PRIx64 " %" PRIu64 " %" PRIu32 " %" PRIu32 " %" PRIu64
			" %" PRId64 "\n", s->seq, s->instance, s->generation, s->rate, s->channels, s->frame0,
			s->wall_ns0);
}

static int gap_line(char *buf, size_t size, const struct ghostrec_journal_gap *g)
{
	return snprintf(buf, size, "gap %" PRIx64 " %" PRIu64 " %" PRIu64 " %s\n", g->instance, g->frame,
			g->frames, g->cause);
}

/* Appends one line to the index, before any data it describes is written. It is made durable
 * by the next ghostrec_journal_sync, ahead of that data: an fsync here would stall the capture
 * right when it has to catch up with the ring (a new segment after a restart). On failure the
 * index is cut back. */
static int index_append(struct ghostrec_journal *j, const char *line, size_t len)
{
	struct stat st;
	if (fstat(j->index_fd, &st) < 0)
		return -errno;
	int e = ghostrec_write_all(j->index_fd, line, len);
	if (e < 0)
		(void)!ftruncate(j->index_fd, st.st_size);
	else
		j->index_dirty = true;
	return e;
}

static void parse_line(struct ghostrec_journal *j, char *line)
{
	if (!strncmp(line, "seg ", 4)) {
		struct ghostrec_journal_seg s = { 0 };
		if (sscanf(line + 4, "%" SCNu32 " %" SCNx64 " %" SCNu64 " %" SCNu32 " %" SCNu32 " %" SCNu64 " %" SCNd64,
			   &s.seq, &s.instance, &s.generation, &s.rate, &s.channels, &s.frame0, &s.wall_ns0) != 7 ||
		    s.channels == 0 || s.channels > GHOSTREC_JOURNAL_MAX_CHANNELS || s.rate == 0)
			return;
		if (grow((void **)&j->segs, &j->cap_segs, j->n_segs, sizeof(s)) < 0)
			return;
		j->segs[j->n_segs++] = s;
	} else if (!strncmp(line, "gap ", 4)) {
		struct ghostrec_journal_gap g = { 0 };
		char cause[64] = "";
		if (sscanf(line + 4, "%" SCNx64 " %" SCNu64 " %" SCNu64 " %63s", &g.instance, &g.frame, &g.frames,
			   cause) != 4 || g.frames == 0)
			return;
		snprintf(g.cause, sizeof(g.cause), "%.23s", cause);
		if (grow((void **)&j->gaps, &j->cap_gaps, j->n_gaps, sizeof(g)) < 0)
			return;
		j->gaps[j->n_gaps++] = g;
	}
}

static int load(struct ghostrec_journal *j, char *err, size_t errsize)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/index", j->dir);
	j->n_segs = j->n_gaps = 0;
	j->bytes = j->fp_bytes = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		SET_ERR("%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		SET_ERR("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	ssize_t n = buf ? pread(fd, buf, (size_t)st.st_size, 0) : -1;
	close(fd);
	if (n < 0) {
		free(buf);
		SET_ERR("%s: cannot read", path);
		return -1;
	}
	buf[n] = '\0';
	for (char *p = buf, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		parse_line(j, p); /* a torn last line has no '\n' and is never looked at */
	}
	free(buf);
	/* sizes from the data files; lines of segments rotated out are dropped */
	size_t k = 0;
	for (size_t i = 0; i < j->n_segs; i++) {
		struct ghostrec_journal_seg *s = &j->segs[i];
		seg_path(path, sizeof(path), j, s->seq);
		if (stat(path, &st) < 0)
			continue;
		s->frames = (uint64_t)st.st_size / frame_bytes(s);
		if (j->writable && (uint64_t)st.st_size != s->frames * frame_bytes(s))
			(void)!truncate(path, (off_t)(s->frames * frame_bytes(s))); /* torn last frame */
		j->bytes += s->frames * frame_bytes(s);
		j->segs[k++] = *s;
	}
	j->n_segs = k;
	for (size_t i = 0; i < j->n_segs; i++) {
		if (j->writable) {
			ghostrec_jcontent_repair(j, &j->segs[i]); /* counts fp_bytes */
		} else {
			ghostrec_jcontent_path(path, sizeof(path), j->dir, j->segs[i].seq);
			if (stat(path, &st) == 0)
				j->fp_bytes += (uint64_t)st.st_size;
		}
	}
	return 0;
}

int ghostrec_journal_open(struct ghostrec_journal *j, const char *dir, bool writable,
			  const struct ghostrec_journal_limits *lim, char *err, size_t errsize)
{
	memset(j, 0, sizeof(*j));
	j->fd = j->index_fd = -1;
	j->rd_fd = j->fp_fd = j->fp_rd_fd = j->dir_fd = -1;
	j->writable = writable;
	if (lim)
		j->lim = *lim;
	if (!j->lim.seg_seconds)
		j->lim.seg_seconds = 300;
	if (strlen(dir) >= sizeof(j->dir)) {
		SET_ERR("journal dir %s: name too long", dir);
		return -1;
	}
	snprintf(j->dir, sizeof(j->dir), "%s", dir);
	if (writable) {
		int e = ghostrec_mkdir_p(dir, 0700);
		if (e < 0) {
			SET_ERR("journal dir %s: %s", dir, strerror(-e));
			return -1;
		}
	}
	if (load(j, err, errsize) < 0) {
		ghostrec_journal_close(j);
		return -1;
	}
	if (writable) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/index", dir);
		j->index_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (j->index_fd < 0) {
			SET_ERR("%s: %s", path, strerror(errno));
			ghostrec_journal_close(j);
			return -1;
		}
		/* a torn last line: cut it off so the next line starts clean */
		struct stat st;
		if (fstat(j->index_fd, &st) == 0 && st.st_size > 0) {
			char c;
			int rfd = open(path, O_RDONLY | O_CLOEXEC);
			off_t end = st.st_size;
			while (rfd >= 0 && end > 0 && pread(rfd, &c, 1, end - 1) == 1 && c != '\n')
				end--;
			if (rfd >= 0)
				close(rfd);
			if (end != st.st_size)
				(void)!ftruncate(j->index_fd, end);
		}
		j->scratch_frames = SCRATCH_FRAMES;
		j->scratch = malloc(SCRATCH_FRAMES * GHOSTREC_JOURNAL_MAX_CHANNELS * sizeof(float));
		if (!j->scratch) {
			SET_ERR("out of memory");
			ghostrec_journal_close(j);
			return -1;
		}
	}
	return 0;
}

void ghostrec_journal_close(struct ghostrec_journal *j)
{
	if (j->writable && j->index_fd >= 0)
		ghostrec_journal_sync(j);
	if (j->fd >= 0) {
		if (j->unsynced)
			fdatasync(j->fd);
		close(j->fd);
	}
	if (j->index_fd >= 0)
		close(j->index_fd);
	if (j->rd_fd >= 0)
		close(j->rd_fd);
	ghostrec_jcontent_end(j);
	if (j->fp_rd_fd >= 0)
		close(j->fp_rd_fd);
	if (j->dir_fd >= 0)
		close(j->dir_fd);
	j->dir_fd = -1;
	free(j->segs);
	free(j->gaps);
	free(j->scratch);
	j->segs = NULL;
	j->gaps = NULL;
	j->scratch = NULL;
	j->n_segs = j->n_gaps = 0;
	j->fd = j->index_fd = j->rd_fd = j->fp_rd_fd = -1;
}

int ghostrec_journal_reload(struct ghostrec_journal *j, char *err, size_t errsize)
{
	if (j->rd_fd >= 0)
		close(j->rd_fd);
	if (j->fp_rd_fd >= 0)
		close(j->fp_rd_fd);
	j->rd_fd = j->fp_rd_fd = -1;
	return load(j, err, errsize);
}

bool ghostrec_journal_end(const struct ghostrec_journal *j, uint64_t instance, uint64_t *end)
{
	for (size_t i = j->n_segs; i-- > 0;)
		if (j->segs[i].instance == instance) {
			*end = j->segs[i].frame0 + j->segs[i].frames;
			return true;
		}
	*end = 0;
	return false;
}

static int new_segment(struct ghostrec_journal *j, uint64_t instance, uint64_t generation, uint32_t rate,
		       uint32_t channels, uint64_t frame, int64_t wall_ns)
{
	char path[4200], line[256];
	struct ghostrec_journal_seg s = {
		.seq = j->n_segs ? j->segs[j->n_segs - 1].seq + 1 : 1, .instance = instance,
		.generation = generation, .rate = rate, .channels = channels, .frame0 = frame,
		.wall_ns0 = wall_ns,
	};
	if (grow((void **)&j->segs, &j->cap_segs, j->n_segs, sizeof(s)) < 0)
		return -ENOMEM;
	if (j->fd >= 0) {
		if (j->unsynced)
			fdatasync(j->fd);
		close(j->fd);
		j->fd = -1;
		j->unsynced = 0;
	}
	ghostrec_jcontent_end(j);
	seg_path(path, sizeof(path), j, s.seq);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int n = seg_line(line, sizeof(line), &s);
	int e = index_append(j, line, (size_t)n);
	if (e < 0) {
		close(fd);
		unlink(path);
		return e;
	}
	j->fd = fd;
	j->segs[j->n_segs++] = s;
	ghostrec_jcontent_begin(j, &s); /* without it the segment is still found (keys from data) */
	j->dir_dirty = true;
	return 0;
}

int64_t ghostrec_journal_append(struct ghostrec_journal *j, uint64_t instance, uint64_t generation,
				uint32_t rate, uint32_t channels, uint64_t frame, int64_t wall_ns,
				const float *const *src, uint32_t n)
{
	if (!j->writable || channels == 0 || channels > GHOSTREC_JOURNAL_MAX_CHANNELS || rate == 0)
		return -EINVAL;
	if (n == 0)
		return 0;
	struct ghostrec_journal_seg *last = j->n_segs ? &j->segs[j->n_segs - 1] : NULL;
	if (j->fd < 0 || !last || last->instance != instance || last->generation != generation ||
	    last->rate != rate || last->channels != channels || last->frame0 + last->frames != frame ||
	    last->frames >= j->lim.seg_seconds * rate) {
		int e = new_segment(j, instance, generation, rate, channels, frame, wall_ns);
		if (e < 0)
			return e;
		last = &j->segs[j->n_segs - 1];
	}
	size_t fb = frame_bytes(last);
	uint32_t done = 0;
	while (done < n) {
		uint32_t chunk = n - done > j->scratch_frames ? (uint32_t)j->scratch_frames : n - done;
		for (uint32_t c = 0; c < channels; c++) {
			const float *s = src[c];
			float *d = j->scratch + c;
			for (uint32_t i = 0; i < chunk; i++)
				d[(size_t)i * channels] = s ? s[done + i] : 0.0f;
		}
		const char *p = (const char *)j->scratch;
		size_t len = chunk * fb, put = 0;
		int e = 0;
		while (put < len) {
			ssize_t w = write(j->fd, p + put, len - put);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				e = -errno;
				break;
			}
			put += (size_t)w;
		}
		/* start the write-back now, so the periodic fdatasync finds little left to do */
		if (put)
			sync_file_range(j->fd, (off_t)(last->frames * fb), (off_t)put, SYNC_FILE_RANGE_WRITE);
		uint32_t whole = (uint32_t)(put / fb);
		if (put != (size_t)whole * fb) {
			/* a torn frame: cut it off, the frame was not written */
			(void)!ftruncate(j->fd, (off_t)((last->frames + whole) * fb));
		}
		ghostrec_jcontent_feed(j, j->scratch, channels, last->frame0 + last->frames, whole);
		last->frames += whole;
		j->bytes += (uint64_t)whole * fb;
		j->unsynced += whole;
		done += whole;
		if (e < 0 || whole < chunk)
			return done ? (int64_t)done : (e < 0 ? e : -EIO);
	}
	return done;
}

int ghostrec_journal_add_gap(struct ghostrec_journal *j, uint64_t instance, uint64_t frame,
			     uint64_t frames, const char *cause)
{
	char line[256];
	struct ghostrec_journal_gap g = { .instance = instance, .frame = frame, .frames = frames };
	if (!j->writable || frames == 0)
		return -EINVAL;
	/* one word: the index is split on blanks */
	snprintf(g.cause, sizeof(g.cause), "%s", cause && *cause ? cause : "other");
	for (char *p = g.cause; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '\n')
			*p = '_';
	if (grow((void **)&j->gaps, &j->cap_gaps, j->n_gaps, sizeof(g)) < 0)
		return -ENOMEM;
	int n = gap_line(line, sizeof(line), &g);
	int e = index_append(j, line, (size_t)n);
	if (e < 0)
		return e;
	j->gaps[j->n_gaps++] = g;
	return 0;
}

unsigned ghostrec_journal_sync_fds(struct ghostrec_journal *j, int *fds, unsigned max)
{
	unsigned n = 0;
	if (max < 4)
		return 0;
	if (j->index_dirty && j->index_fd >= 0)
		fds[n++] = j->index_fd;
	if (j->dir_dirty) {
		if (j->dir_fd < 0)
			j->dir_fd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (j->dir_fd >= 0)
			fds[n++] = j->dir_fd;
	}
	if (j->fp_fd >= 0 && j->fp_unsynced)
		fds[n++] = j->fp_fd;
	if (j->fd >= 0 && j->unsynced)
		fds[n++] = j->fd;
	j->index_dirty = j->dir_dirty = j->fp_unsynced = false;
	j->unsynced = 0;
	return n;
}

int ghostrec_journal_sync(struct ghostrec_journal *j)
{
	/* the index first: a segment's line is durable no later than its data */
	if (j->index_dirty && j->index_fd >= 0) {
		if (fsync(j->index_fd) < 0)
			return -errno;
		j->index_dirty = false;
	}
	if (j->dir_dirty) {
		fsync_dir(j->dir);
		j->dir_dirty = false;
	}
	ghostrec_jcontent_sync(j); /* derived data: a failure here loses nothing */
	if (j->fd < 0 || j->unsynced == 0)
		return 0;
	if (fdatasync(j->fd) < 0)
		return -errno;
	j->unsynced = 0;
	return 0;
}

static double held_seconds(const struct ghostrec_journal *j)
{
	double s = 0;
	for (size_t i = 0; i < j->n_segs; i++)
		s += (double)j->segs[i].frames / j->segs[i].rate;
	return s;
}

static bool over_limits(const struct ghostrec_journal *j)
{
	if ((j->lim.max_bytes && j->bytes + j->fp_bytes > j->lim.max_bytes) ||
	    (j->lim.max_seconds > 0 && held_seconds(j) > j->lim.max_seconds))
		return true;
	/* the journal never takes the last of the disk from the takes being written */
	struct statvfs sv;
	return j->lim.min_free_bytes && statvfs(j->dir, &sv) == 0 &&
	       (uint64_t)sv.f_bavail * sv.f_frsize < j->lim.min_free_bytes;
}

bool ghostrec_journal_has_room(const struct ghostrec_journal *j, uint64_t bytes)
{
	struct statvfs sv;
	return statvfs(j->dir, &sv) == 0 && (uint64_t)sv.f_bavail * sv.f_frsize >= bytes;
}

static void rewrite_index(struct ghostrec_journal *j)
{
	char path[4200], tmp[4200], line[256];
	snprintf(path, sizeof(path), "%s/index", j->dir);
	snprintf(tmp, sizeof(tmp), "%s/index.tmp", j->dir);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	int e = 0;
	for (size_t i = 0; i < j->n_segs && e == 0; i++) {
		int n = seg_line(line, sizeof(line), &j->segs[i]);
		e = ghostrec_write_all(fd, line, (size_t)n);
	}
	size_t k = 0;
	for (size_t i = 0; i < j->n_gaps; i++) {
		/* keep a gap while a segment of its instance at or after its end is held */
		const struct ghostrec_journal_gap *g = &j->gaps[i];
		bool keep = false;
		for (size_t s = 0; s < j->n_segs && !keep; s++)
			keep = j->segs[s].instance == g->instance &&
			       j->segs[s].frame0 + j->segs[s].frames >= g->frame + g->frames;
		if (!keep)
			continue;
		j->gaps[k++] = *g;
		if (e == 0) {
			int n = gap_line(line, sizeof(line), g);
			e = ghostrec_write_all(fd, line, (size_t)n);
		}
	}
	j->n_gaps = k;
	if (e == 0 && fsync(fd) < 0)
		e = -errno;
	close(fd);
	if (e == 0 && rename(tmp, path) == 0) {
		fsync_dir(j->dir);
		close(j->index_fd);
		j->index_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	} else {
		unlink(tmp); /* the old index names removed segments: load() skips them */
	}
}

int ghostrec_journal_rotate(struct ghostrec_journal *j, uint64_t keep_instance, uint64_t keep_from)
{
	int removed = 0;
	while (j->n_segs > 1 && over_limits(j)) {
		struct ghostrec_journal_seg *s = &j->segs[0];
		if (s->instance == keep_instance && s->frame0 + s->frames > keep_from)
			break;
		char path[4200];
		seg_path(path, sizeof(path), j, s->seq);
		if (unlink(path) < 0 && errno != ENOENT)
			break;
		if (j->rd_fd >= 0 && j->rd_seq == s->seq) {
			close(j->rd_fd);
			j->rd_fd = -1;
		}
		if (j->fp_rd_fd >= 0 && j->fp_rd_seq == s->seq) {
			close(j->fp_rd_fd);
			j->fp_rd_fd = -1;
		}
		ghostrec_jcontent_path(path, sizeof(path), j->dir, s->seq);
		struct stat st;
		if (stat(path, &st) == 0 && unlink(path) == 0)
			j->fp_bytes -= (uint64_t)st.st_size < j->fp_bytes ? (uint64_t)st.st_size : j->fp_bytes;
		j->bytes -= s->frames * frame_bytes(s);
		memmove(j->segs, j->segs + 1, (j->n_segs - 1) * sizeof(*s));
		j->n_segs--;
		removed++;
	}
	if (removed)
		rewrite_index(j);
	return removed;
}

static void hole_cause(const struct ghostrec_journal *j, uint64_t instance, uint64_t frame,
		       char cause[GHOSTREC_JOURNAL_CAUSE_MAX])
{
	snprintf(cause, GHOSTREC_JOURNAL_CAUSE_MAX, "other");
	for (size_t i = 0; i < j->n_gaps; i++) {
		const struct ghostrec_journal_gap *g = &j->gaps[i];
		if (g->instance == instance && frame >= g->frame && frame < g->frame + g->frames) {
			snprintf(cause, GHOSTREC_JOURNAL_CAUSE_MAX, "%s", g->cause);
			return;
		}
	}
}

enum ghostrec_journal_where ghostrec_journal_locate(const struct ghostrec_journal *j, uint64_t instance,
						    uint64_t frame, uint64_t *n, const struct ghostrec_journal_seg **seg,
						    char cause[GHOSTREC_JOURNAL_CAUSE_MAX])
{
	bool seen = false, any = false;
	*n = 0;
	if (seg)
		*seg = NULL;
	for (size_t i = 0; i < j->n_segs; i++) {
		const struct ghostrec_journal_seg *s = &j->segs[i];
		if (s->instance != instance)
			continue;
		any = true;
		if (s->frames == 0)
			continue;
		if (frame < s->frame0) {
			*n = s->frame0 - frame;
			if (!seen)
				return GHOSTREC_JOURNAL_GONE;
			if (cause)
				hole_cause(j, instance, frame, cause);
			return GHOSTREC_JOURNAL_HOLE;
		}
		seen = true;
		if (frame < s->frame0 + s->frames) {
			*n = s->frame0 + s->frames - frame;
			if (seg)
				*seg = s;
			return GHOSTREC_JOURNAL_DATA;
		}
	}
	return any ? GHOSTREC_JOURNAL_NOT_YET : GHOSTREC_JOURNAL_UNKNOWN;
}

int ghostrec_journal_read(struct ghostrec_journal *j, const struct ghostrec_journal_seg *seg,
			  uint64_t frame, uint32_t n, float *out)
{
	if (frame < seg->frame0 || frame + n > seg->frame0 + seg->frames)
		return -EINVAL;
	if (j->rd_fd < 0 || j->rd_seq != seg->seq) {
		char path[4200];
		if (j->rd_fd >= 0)
			close(j->rd_fd);
		seg_path(path, sizeof(path), j, seg->seq);
		j->rd_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (j->rd_fd < 0)
			return -errno;
		j->rd_seq = seg->seq;
	}
	size_t fb = frame_bytes(seg), len = (size_t)n * fb, got = 0;
	off_t off = (off_t)((frame - seg->frame0) * fb);
	while (got < len) {
		ssize_t r = pread(j->rd_fd, (char *)out + got, len - got, off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		got += (size_t)r;
	}
	return 0;
}

bool ghostrec_journal_frame_at(const struct ghostrec_journal *j, int64_t wall_ns, uint64_t *instance,
			       uint64_t *frame)
{
	const struct ghostrec_journal_seg *after = NULL;
	for (size_t i = 0; i < j->n_segs; i++) {
		const struct ghostrec_journal_seg *s = &j->segs[i];
		if (!s->frames)
			continue;
		double span_ns = (double)s->frames * 1e9 / s->rate;
		if (wall_ns >= s->wall_ns0 && (double)(wall_ns - s->wall_ns0) < span_ns) {
			*instance = s->instance;
			*frame = s->frame0 + (uint64_t)((double)(wall_ns - s->wall_ns0) * s->rate / 1e9);
			return true;
		}
		if (wall_ns < s->wall_ns0 && (!after || s->wall_ns0 < after->wall_ns0))
			after = s;
	}
	if (!after)
		return false;
	*instance = after->instance;
	*frame = after->frame0;
	return true;
}

uint64_t ghostrec_journal_bytes(const struct ghostrec_journal *j)
{
	return j->bytes + j->fp_bytes;
}
