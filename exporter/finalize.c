/* Spool file -> clean take files (see finalize.h). */
#include "finalize.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "common/takemeta.h"

#define SET_ERR(...) do { if (err && errsize) snprintf(err, errsize, __VA_ARGS__); } while (0)
#define CHUNK_FRAMES 16384u

/* RIFF sizes are 32-bit: keep room for the header and metadata chunks. */
uint64_t finalize_wav_limit = 0xFFFFFFFFull - (1u << 20);

static SNDFILE *open_out(const char *path, const struct take *t, uint32_t channels, uint64_t frames,
			 const struct ghostrec_takemeta *meta, char *err, size_t errsize)
{
	SF_INFO info = { 0 };
	int bytes = t->format == TAKE_FORMAT_PCM24 ? 3 : 4;
	bool rf64 = frames * channels * (uint64_t)bytes > finalize_wav_limit;

	info.samplerate = (int)t->rate;
	info.channels = (int)channels;
	info.format = (rf64 ? SF_FORMAT_RF64 : SF_FORMAT_WAV) |
		      (t->format == TAKE_FORMAT_PCM24 ? SF_FORMAT_PCM_24 : SF_FORMAT_FLOAT);
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
	if (!sf) {
		SET_ERR("%s: %s", path, sf_strerror(NULL));
		return NULL;
	}
	if (rf64)
		sf_command(sf, SFC_RF64_AUTO_DOWNGRADE, NULL, SF_TRUE);
	sf_command(sf, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
	sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE); /* overs clip in pcm24 instead of wrapping */

	SF_BROADCAST_INFO bi;
	memset(&bi, 0, sizeof(bi));
	struct ghostrec_takemeta m = *meta;
	m.channels = channels;
	ghostrec_takemeta_bext_description(&m, bi.description, sizeof(bi.description));
	snprintf(bi.originator, sizeof(bi.originator), "pw-ghost-rec");
	snprintf(bi.originator_reference, sizeof(bi.originator_reference), "ghostrec-%" PRIu32, t->take_id);
	/* start_utc is "YYYY-MM-DDTHH:MM:SS.mmmZ" */
	memcpy(bi.origination_date, t->start_utc, 10);
	memcpy(bi.origination_time, t->start_utc + 11, 8);
	bi.version = 1;
	if (sf_command(sf, SFC_SET_BROADCAST_INFO, &bi, sizeof(bi)) != SF_TRUE) {
		SET_ERR("%s: cannot set bext chunk: %s", path, sf_strerror(sf));
		sf_close(sf);
		unlink(path);
		return NULL;
	}
	return sf;
}

int finalize_take(const struct take *t, const char *raw_path, const char *out_dir,
		  uint64_t *frames_out, char *err, size_t errsize)
{
	struct ghostrec_takemeta meta;
	char paths[1 + TAKE_MAX_CHANNELS][4200], name[128];
	SNDFILE *files[1 + TAKE_MAX_CHANNELS] = { 0 };
	unsigned n_files = 0;
	float *in = NULL, *mono = NULL;
	int rc = -1;
	struct stat st;

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

	memset(&meta, 0, sizeof(meta));
	meta.take_id = t->take_id;
	meta.marker_frame = take_marker_offset(t);
	meta.rate = t->rate;
	meta.channels = ch;
	for (uint32_t c = 0; c < ch; c++)
		snprintf(meta.channel_map[c], sizeof(meta.channel_map[c]), "%s",
			 t->channel_map[c][0] ? t->channel_map[c] : "MONO");
	meta.frames = frames;
	snprintf(meta.start_utc, sizeof(meta.start_utc), "%s", t->start_utc);
	snprintf(meta.node, sizeof(meta.node), "%s", t->node);
	snprintf(meta.format, sizeof(meta.format), "%s", t->format == TAKE_FORMAT_PCM24 ? "pcm24" : "float32");

	ghostrec_take_wav_name(name, sizeof(name), t->take_id, -1);
	snprintf(paths[0], sizeof(paths[0]), "%s/%s", out_dir, name);
	if (!(files[n_files++] = open_out(paths[0], t, ch, frames, &meta, err, errsize)))
		goto out;
	if (t->split_channels) {
		for (uint32_t c = 0; c < ch; c++) {
			ghostrec_take_wav_name(name, sizeof(name), t->take_id, (int)c);
			snprintf(paths[n_files], sizeof(paths[0]), "%s/%s", out_dir, name);
			if (!(files[n_files] = open_out(paths[n_files], t, 1, frames, &meta, err, errsize)))
				goto out;
			n_files++;
		}
	}

	in = malloc((size_t)CHUNK_FRAMES * ch * sizeof(float));
	mono = malloc((size_t)CHUNK_FRAMES * sizeof(float));
	if (!in || !mono) {
		SET_ERR("out of memory");
		goto out;
	}
	for (uint64_t done = 0; done < frames;) {
		uint32_t n = frames - done > CHUNK_FRAMES ? CHUNK_FRAMES : (uint32_t)(frames - done);
		size_t bytes = (size_t)n * ch * sizeof(float);
		ssize_t r = pread(fd, in, bytes, (off_t)(done * ch * sizeof(float)));
		if (r != (ssize_t)bytes) {
			SET_ERR("spool file %s: short read at frame %" PRIu64, raw_path, done);
			goto out;
		}
		if (sf_writef_float(files[0], in, n) != n) {
			SET_ERR("%s: write failed: %s", paths[0], sf_strerror(files[0]));
			goto out;
		}
		for (unsigned f = 1; f < n_files; f++) {
			for (uint32_t i = 0; i < n; i++)
				mono[i] = in[(size_t)i * ch + (f - 1)];
			if (sf_writef_float(files[f], mono, n) != n) {
				SET_ERR("%s: write failed: %s", paths[f], sf_strerror(files[f]));
				goto out;
			}
		}
		done += n;
	}
	for (unsigned f = 0; f < n_files; f++) {
		sf_write_sync(files[f]);
		int e = sf_close(files[f]);
		files[f] = NULL;
		if (e != 0) {
			SET_ERR("%s: close failed: %s", paths[f], sf_error_number(e));
			goto out;
		}
		e = ghostrec_takemeta_append_cue(paths[f], meta.marker_frame);
		if (e < 0 && e != -ERANGE) {
			SET_ERR("%s: cannot add cue point: %s", paths[f], strerror(-e));
			goto out;
		}
	}
	ghostrec_take_sidecar_name(name, sizeof(name), t->take_id);
	char side[4200];
	snprintf(side, sizeof(side), "%s/%s", out_dir, name);
	int e = ghostrec_takemeta_write_sidecar(side, &meta);
	if (e < 0) {
		SET_ERR("%s: %s", side, strerror(-e));
		goto out;
	}
	if (frames_out)
		*frames_out = frames;
	rc = 0;
out:
	for (unsigned f = 0; f < n_files; f++)
		if (files[f])
			sf_close(files[f]);
	free(in);
	free(mono);
	close(fd);
	return rc;
}
