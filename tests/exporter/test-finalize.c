/* Spool file -> clean take: float32 samples bit-exact, pcm24 exact for 24-bit-representable
 * values and within half an LSB otherwise, per-channel mono files equal their channel, metadata
 * (bext, cue at the marker, sidecar) consistent, the RF64 branch, and a torn spool file. */
#include <fcntl.h>
#include <sys/stat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sndfile.h>

#include "common/takemeta.h"
#include "finalize.h"
#include "spool.h"
#include "../unit/check.h"

#define FRAMES 48013u
#define CH 3u

static float sample(uint32_t f, uint32_t c, int exact24)
{
	if (exact24)
		return (float)((int32_t)((f * 7919u + c * 104729u) % 16777216u) - 8388608) / 8388608.0f;
	return sinf((float)f * 0.01f * (float)(c + 1)) * 0.9f + (float)c * 1e-7f;
}

static void make_spool(const char *dir, struct take *t, int exact24)
{
	char raw[4200];
	struct spool_writer w;
	spool_raw_path(raw, sizeof(raw), dir, t->take_id);
	unlink(raw);
	CHECK(spool_writer_open(&w, raw, CH) == 0);
	static float chans[CH][1000];
	for (uint32_t f = 0; f < FRAMES; f += 1000) {
		uint32_t n = FRAMES - f < 1000 ? FRAMES - f : 1000;
		const float *src[CH];
		for (uint32_t c = 0; c < CH; c++) {
			for (uint32_t i = 0; i < n; i++)
				chans[c][i] = sample(f + i, c, exact24);
			src[c] = chans[c];
		}
		CHECK(spool_writer_append(&w, src, n) == 0);
	}
	CHECK_EQ_U64(w.frames, FRAMES);
	spool_writer_close(&w);
	/* reopening continues at the end */
	CHECK(spool_writer_open(&w, raw, CH) == 0);
	CHECK_EQ_U64(w.frames, FRAMES);
	spool_writer_close(&w);
}

static void check_file(const char *path, uint32_t channels, int first_channel, int pcm24, int exact24,
		       uint32_t take_id, uint64_t marker)
{
	SF_INFO info = { 0 };
	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	CHECK(sf != NULL);
	if (!sf)
		return;
	CHECK_EQ_U64(info.frames, FRAMES);
	CHECK_EQ_U64(info.channels, channels);
	CHECK_EQ_U64(info.samplerate, 48000);
	CHECK_EQ_U64(info.format & SF_FORMAT_SUBMASK, pcm24 ? SF_FORMAT_PCM_24 : SF_FORMAT_FLOAT);
	float *buf = malloc(sizeof(float) * FRAMES * channels);
	CHECK(sf_readf_float(sf, buf, FRAMES) == FRAMES);
	sf_close(sf);
	uint64_t mismatches = 0;
	double maxerr = 0;
	for (uint32_t f = 0; f < FRAMES; f++)
		for (uint32_t c = 0; c < channels; c++) {
			float want = sample(f, first_channel < 0 ? c : (uint32_t)first_channel, exact24);
			float got = buf[f * channels + c];
			if (memcmp(&want, &got, sizeof(float)) != 0)
				mismatches++;
			if (fabs((double)want - got) > maxerr)
				maxerr = fabs((double)want - got);
		}
	free(buf);
	if (!pcm24 || exact24)
		CHECK_EQ_U64(mismatches, 0);
	else
		CHECK(maxerr <= 1.0 / 8388608.0);

	struct ghostrec_takemeta m;
	uint64_t cue;
	char err[256];
	CHECK(ghostrec_takemeta_read_wav(path, &m, &cue, err, sizeof(err)) == 0);
	CHECK_EQ_U64(m.take_id, take_id);
	CHECK_EQ_U64(m.marker_frame, marker);
	CHECK_EQ_U64(cue, marker);
	CHECK_EQ_U64(m.channels, channels);
	CHECK_EQ_U64(m.rate, 48000);
	ghostrec_takemeta_clear(&m);
}

static void run(const char *dir, int pcm24, int exact24, int split, int rf64)
{
	struct take t;
	char out[4200], path[4400], raw[4200], err[512];
	static uint32_t next_id = 100;
	uint32_t id = next_id++;

	take_begin(&t, id, "ghostrec", pcm24 ? TAKE_FORMAT_PCM24 : TAKE_FORMAT_FLOAT32, split, 48000, CH, 1, 0.5, 0.1);
	snprintf(t.channel_map[0], 8, "FL");
	snprintf(t.channel_map[1], 8, "FR");
	snprintf(t.channel_map[2], 8, "LFE");
	take_marked(&t, 1000000, 0);
	make_spool(dir, &t, exact24);

	snprintf(out, sizeof(out), "%s/out-%u", dir, id);
	mkdir(out, 0700);
	uint64_t saved = finalize_wav_limit, frames = 0;
	if (rf64)
		finalize_wav_limit = 1000;
	spool_raw_path(raw, sizeof(raw), dir, id);
	int r = finalize_take(&t, raw, out, &frames, err, sizeof(err));
	finalize_wav_limit = saved;
	CHECK(r == 0);
	if (r < 0)
		printf("finalize: %s\n", err);
	CHECK_EQ_U64(frames, FRAMES);
	uint64_t marker = take_marker_offset(&t);
	CHECK_EQ_U64(marker, 24000);

	snprintf(path, sizeof(path), "%s/ghostrec-%u.wav", out, id);
	check_file(path, CH, -1, pcm24, exact24, id, marker);
	for (uint32_t c = 0; c < CH; c++) {
		snprintf(path, sizeof(path), "%s/ghostrec-%u-ch%u.wav", out, id, c);
		if (split)
			check_file(path, 1, (int)c, pcm24, exact24, id, marker);
		else
			CHECK(access(path, F_OK) != 0);
	}
	struct ghostrec_takemeta m;
	snprintf(path, sizeof(path), "%s/ghostrec-%u.json", out, id);
	CHECK(ghostrec_takemeta_read_sidecar(path, &m, err, sizeof(err)) == 0);
	CHECK(m.take_id == id && m.marker_frame == marker && m.frames == FRAMES && m.channels == CH);
	CHECK(!strcmp(m.channel_map[2], "LFE") && !strcmp(m.format, pcm24 ? "pcm24" : "float32"));
	CHECK(!strcmp(m.node, "ghostrec") && !strcmp(m.start_utc, t.start_utc));
	ghostrec_takemeta_clear(&m);
	spool_remove_dir(out);
	unlink(raw);
}

int main(void)
{
	char dir[] = "/tmp/ghostrec-finalize-XXXXXX", err[256], raw[4200];
	CHECK(mkdtemp(dir) != NULL);
	CHECK(spool_init(dir, err, sizeof(err)) == 0);

	run(dir, 0, 0, 0, 0); /* float32 */
	run(dir, 0, 0, 1, 0); /* float32 + mono files */
	run(dir, 1, 1, 1, 0); /* pcm24, values exact in 24 bits */
	run(dir, 1, 0, 0, 0); /* pcm24, arbitrary floats */
	run(dir, 0, 0, 0, 1); /* the RF64 branch (auto-downgraded at this size) */

	/* a spool file torn mid-frame by a crash: the partial frame is dropped on reopen */
	struct spool_writer w;
	spool_raw_path(raw, sizeof(raw), dir, 999);
	int fd = open(raw, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	float junk[7] = { 0 };
	CHECK(write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk));
	close(fd);
	CHECK(spool_writer_open(&w, raw, 2) == 0);
	CHECK_EQ_U64(w.frames, 3);
	spool_writer_close(&w);
	unlink(raw);

	/* finalize of a missing or empty spool file fails with a reason */
	struct take t;
	uint64_t frames;
	take_begin(&t, 5, "ghostrec", TAKE_FORMAT_FLOAT32, false, 48000, 2, 1, 0, 0);
	CHECK(finalize_take(&t, "/nonexistent/take-5.raw", dir, &frames, err, sizeof(err)) < 0);
	printf("missing spool: %s\n", err);

	char q[4300];
	snprintf(q, sizeof(q), "%s/queue", dir);
	rmdir(q);
	rmdir(dir);
	return check_report("test-finalize");
}
