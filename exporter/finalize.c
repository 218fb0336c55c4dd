/* A take's output files (see finalize.h). */
#include "finalize.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/takemeta.h"

#define SET_ERR(...) do { if (err && errsize) snprintf(err, errsize, __VA_ARGS__); } while (0)
#define CHUNK_FRAMES 16384u

static void file_path(char *buf, size_t size, const struct take_output *o, const struct take *t, unsigned i)
{
	char name[128];
	ghostrec_take_wav_name(name, sizeof(name), t->take_id, i == 0 ? -1 : (int)i - 1);
	snprintf(buf, size, "%s/%s", o->dir, name);
}

int take_output_open(struct take_output *o, const struct take *t, const char *dir, bool resume,
		     char *err, size_t errsize)
{
	char path[4400];
	memset(o, 0, sizeof(*o));
	for (unsigned i = 0; i < 1 + TAKE_MAX_CHANNELS; i++)
		o->f[i].fd = -1;
	snprintf(o->dir, sizeof(o->dir), "%s", dir);
	unsigned want = 1 + (t->split_channels ? t->channels : 0);
	bool pcm24 = t->format == TAKE_FORMAT_PCM24;
	uint64_t common = UINT64_MAX;
	for (unsigned i = 0; i < want; i++) {
		file_path(path, sizeof(path), o, t, i);
		uint32_t ch = i == 0 ? t->channels : 1;
		int e = resume ? takefile_reopen(&o->f[i], path, t->rate, ch, pcm24) :
				 takefile_create(&o->f[i], path, t->rate, ch, pcm24);
		if (e < 0) {
			SET_ERR("%s: %s", path, e == -EPROTO ? "not a take file written by this exporter" : strerror(-e));
			take_output_close(o);
			return -1;
		}
		o->n++;
		if (o->f[i].frames < common)
			common = o->f[i].frames;
	}
	for (unsigned i = 0; i < o->n; i++)
		if (o->f[i].frames != common && takefile_truncate(&o->f[i], common) < 0) {
			SET_ERR("%s: cannot cut back to %" PRIu64 " frames: %s", o->dir, common, strerror(errno));
			take_output_close(o);
			return -1;
		}
	return 0;
}

int take_output_append(struct take_output *o, const float *in, uint32_t channels, uint32_t n)
{
	uint64_t before = take_output_frames(o);
	for (unsigned i = 0; i < o->n; i++) {
		int e = takefile_append(&o->f[i], in, channels, i == 0 ? -1 : (int)i - 1, n);
		if (e < 0) {
			for (unsigned k = 0; k < i; k++)
				takefile_truncate(&o->f[k], before);
			return e;
		}
	}
	return 0;
}

int take_output_sync(struct take_output *o)
{
	int r = 0;
	for (unsigned i = 0; i < o->n; i++) {
		int e = takefile_sync(&o->f[i]);
		if (e < 0)
			r = e;
	}
	return r;
}

uint64_t take_output_sync_post(struct take_output *o, struct syncer *s)
{
	int fds[SYNCER_MAX_FDS];
	unsigned n = 0;
	for (unsigned i = 0; i < o->n && n < SYNCER_MAX_FDS; i++)
		if (takefile_sync_begin(&o->f[i]) > 0)
			fds[n++] = o->f[i].fd;
	return n ? syncer_post(s, fds, n) : 0;
}

void take_output_close(struct take_output *o)
{
	for (unsigned i = 0; i < o->n; i++)
		takefile_close(&o->f[i]);
	o->n = 0;
}

static void fill_meta(struct ghostrec_takemeta *meta, const struct take *t)
{
	memset(meta, 0, sizeof(*meta));
	meta->take_id = t->take_id;
	meta->marker_frame = take_marker_offset(t);
	meta->rate = t->rate;
	meta->channels = t->channels;
	for (uint32_t c = 0; c < t->channels; c++)
		snprintf(meta->channel_map[c], sizeof(meta->channel_map[c]), "%s",
			 t->channel_map[c][0] ? t->channel_map[c] : "MONO");
	meta->frames = t->spooled;
	snprintf(meta->start_utc, sizeof(meta->start_utc), "%s", t->start_utc);
	snprintf(meta->node, sizeof(meta->node), "%s", t->node);
	snprintf(meta->format, sizeof(meta->format), "%s", t->format == TAKE_FORMAT_PCM24 ? "pcm24" : "float32");
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), e = 0;
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		e = -errno;
	close(fd);
	return e;
}

int take_output_finish(struct take_output *o, const struct take *t, char *err, size_t errsize)
{
	struct ghostrec_takemeta meta;
	char path[4400], desc[256];
	fill_meta(&meta, t);
	for (unsigned g = 0; g < t->n_gaps; g++)
		if (ghostrec_takemeta_add_gap(&meta, t->gaps[g].frame, t->gaps[g].frames, t->gaps[g].cause) < 0) {
			SET_ERR("%s: out of memory for the gap list", o->dir);
			ghostrec_takemeta_clear(&meta);
			return -1;
		}
	int rc = -1;
	for (unsigned i = 0; i < o->n; i++) {
		file_path(path, sizeof(path), o, t, i);
		if (o->f[i].frames != t->spooled) {
			SET_ERR("%s: holds %" PRIu64 " frames, the take %" PRIu64, path, o->f[i].frames, t->spooled);
			return -1;
		}
		struct ghostrec_takemeta m = meta; /* shares the gap list */
		m.channels = i == 0 ? t->channels : 1;
		ghostrec_takemeta_bext_description(&m, desc, sizeof(desc));
		int e = takefile_finish(&o->f[i], desc, t->start_utc, t->take_id);
		if (e < 0) {
			SET_ERR("%s: %s", path, strerror(-e));
			goto out;
		}
		/* the marker's cue point, and one labelled region per gap; its fsync makes the whole
		 * file durable (when no cue fits, nothing is appended: sync it here) */
		e = ghostrec_takemeta_append_cues(path, &m);
		if (e == -ERANGE)
			e = fsync_path(path);
		if (e < 0) {
			SET_ERR("%s: cannot add cue points: %s", path, strerror(-e));
			goto out;
		}
	}
	o->n = 0;
	char name[128], side[4400];
	ghostrec_take_sidecar_name(name, sizeof(name), t->take_id);
	snprintf(side, sizeof(side), "%s/%s", o->dir, name);
	int e = ghostrec_takemeta_write_sidecar(side, &meta);
	if (e < 0) {
		SET_ERR("%s: %s", side, strerror(-e));
		goto out;
	}
	rc = 0;
out:
	ghostrec_takemeta_clear(&meta);
	return rc;
}

int finalize_take(const struct take *t, const char *raw_path, const char *out_dir,
		  uint64_t *frames_out, char *err, size_t errsize)
{
	struct take_output o;
	struct stat st;
	int rc = -1;
	float *in = NULL;
	int fd = open(raw_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		SET_ERR("spool file %s: %s", raw_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	uint32_t ch = t->channels;
	uint64_t frames = (uint64_t)st.st_size / (ch * sizeof(float));
	if (frames == 0) {
		SET_ERR("spool file %s is empty", raw_path);
		close(fd);
		return -1;
	}
	if (take_output_open(&o, t, out_dir, false, err, errsize) < 0) {
		close(fd);
		return -1;
	}
	in = malloc((size_t)CHUNK_FRAMES * ch * sizeof(float));
	if (!in) {
		SET_ERR("out of memory");
		goto out;
	}
	for (uint64_t done = 0; done < frames;) {
		uint32_t n = frames - done > CHUNK_FRAMES ? CHUNK_FRAMES : (uint32_t)(frames - done);
		size_t bytes = (size_t)n * ch * sizeof(float);
		if (pread(fd, in, bytes, (off_t)(done * ch * sizeof(float))) != (ssize_t)bytes) {
			SET_ERR("spool file %s: short read at frame %" PRIu64, raw_path, done);
			goto out;
		}
		int e = take_output_append(&o, in, ch, n);
		if (e < 0) {
			SET_ERR("%s: write failed: %s", out_dir, strerror(-e));
			goto out;
		}
		done += n;
	}
	struct take done_take = *t;
	done_take.spooled = frames;
	if (take_output_finish(&o, &done_take, err, errsize) < 0)
		goto out;
	if (frames_out)
		*frames_out = frames;
	rc = 0;
out:
	take_output_close(&o);
	free(in);
	close(fd);
	return rc;
}
