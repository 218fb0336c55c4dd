/* Checks one relay-emulator run end to end: OUT (ghostrec-sync --join cut) against the
 * pristine audio in the exporter's clean file mapped through the emulator's true log.
 *
 * The true log is in stream frames (what the relay carried); the clean file is the node's
 * ring. They are tied together by the marker: found in the stream by the marker decoder,
 * and at marker_frame in the clean file (its metadata). Then every take frame's clean frame
 * is known without asking the conform engine.
 *
 * usage: relay-check EMU_DIR CLEAN.wav OUT.wav EXPECTED.json
 *   prints what it found; writes the true glitch list (take frames, replaced runs trimmed to
 *   their first/last differing frame) to EXPECTED.json; exit 0 when OUT is exact. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/audiofile.h"
#include "common/marker.h"
#include "common/takemeta.h"
#include "glitchsim.h"

static float *read_all(const char *path, struct ghostrec_audioinfo *info)
{
	char err[512];
	struct ghostrec_audiofile *af = ghostrec_audiofile_open(path, err, sizeof(err));
	if (!af) {
		fprintf(stderr, "relay-check: %s\n", err);
		return NULL;
	}
	*info = *ghostrec_audiofile_info(af);
	float *buf = malloc(sizeof(float) * (size_t)(info->frames + 1) * (size_t)info->channels);
	if (buf && ghostrec_audiofile_read(af, 0, info->frames, buf) != 0) {
		free(buf);
		buf = NULL;
	}
	ghostrec_audiofile_close(af);
	return buf;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: relay-check EMU_DIR CLEAN.wav OUT.wav EXPECTED.json\n");
		return 2;
	}
	const char *dir = argv[1], *clean_path = argv[2], *out_path = argv[3];
	char path[4096], take_path[4096];
	snprintf(take_path, sizeof(take_path), "%s/take.wav", dir);

	struct ghostrec_audioinfo si, ci, ti;
	snprintf(path, sizeof(path), "%s/stream.wav", dir);
	float *stream = read_all(path, &si);
	float *clean = read_all(clean_path, &ci);
	float *take = read_all(take_path, &ti);
	if (!stream || !clean || !take)
		return 1;
	free(take);

	/* Marker: in the stream (node output as carried), and in the clean file's metadata. */
	struct ghostrec_marker_match m;
	if (!ghostrec_marker_find(stream, (size_t)si.frames, (size_t)si.channels, ghostrec_marker_tolerance(32), &m)) {
		fprintf(stderr, "relay-check: no marker in the relayed stream\n");
		return 1;
	}
	struct ghostrec_takemeta tm;
	uint64_t cue;
	char err[512];
	if (ghostrec_takemeta_read_wav(clean_path, &tm, &cue, err, sizeof(err)) != 0) {
		fprintf(stderr, "relay-check: %s\n", err);
		return 1;
	}
	int64_t k = (int64_t)tm.marker_frame - (int64_t)m.frame;
	int take_channel = si.channels == 1 ? m.marker.channel : -1;
	printf("marker: take_id %u channel %u at stream frame %llu, clean frame %llu (cue %llu)\n",
	       m.marker.take_id, m.marker.channel, (unsigned long long)m.frame,
	       (unsigned long long)tm.marker_frame, (unsigned long long)cue);

	/* The truth in clean frames. */
	struct gs_params p;
	memset(&p, 0, sizeof(p));
	p.rate = ci.rate;
	p.channels = ci.channels;
	p.clean_frames = ci.frames;
	p.take_channel = take_channel;
	p.take_format = ti.format;
	struct gs_truth t;
	memset(&t, 0, sizeof(t));
	t.take_channels = ti.channels;
	t.take_frames = ti.frames;
	t.clean = clean;
	t.map = malloc(sizeof(int64_t) * (size_t)(ti.frames + 1));
	snprintf(path, sizeof(path), "%s/take-map.bin", dir);
	FILE *f = fopen(path, "rb");
	if (!t.map || !f || fread(t.map, sizeof(int64_t), (size_t)ti.frames, f) != (size_t)ti.frames) {
		fprintf(stderr, "relay-check: cannot read %s\n", path);
		return 1;
	}
	fclose(f);
	int64_t outside = 0;
	for (int64_t i = 0; i < ti.frames; i++) {
		if (t.map[i] < 0)
			continue;
		t.map[i] += k;
		if (t.map[i] < 0 || t.map[i] >= ci.frames) {
			outside++;
			t.map[i] = -1;
		}
	}
	snprintf(path, sizeof(path), "%s/events.txt", dir);
	f = fopen(path, "r");
	size_t cap = 0;
	char kind[32];
	long long at, frames;
	while (f && fscanf(f, "%31s %lld %lld", kind, &at, &frames) == 3) {
		if (t.n_glitches == cap) {
			cap = cap ? cap * 2 : 64;
			t.glitches = realloc(t.glitches, cap * sizeof(*t.glitches));
		}
		struct ghostrec_conform_glitch *g = &t.glitches[t.n_glitches++];
		g->take_frame = at;
		g->frames = frames;
		g->kind = strcmp(kind, "replaced") == 0 ? GHOSTREC_GLITCH_REPLACED :
			  strcmp(kind, "dropped") == 0 ? GHOSTREC_GLITCH_DROPPED : GHOSTREC_GLITCH_INSERTED;
	}
	if (f)
		fclose(f);
	if (gs_trim_replaced(take_path, clean_path, &t) != 0)
		return 1;

	char tmpdir[] = "/tmp/relay-check-XXXXXX";
	if (!mkdtemp(tmpdir))
		return 1;
	int64_t bad = gs_check_output(out_path, take_path, &p, &t, tmpdir);
	snprintf(path, sizeof(path), "%s/expected.wav", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	int64_t single = gs_single_offset_errors(&p, &t, NULL);
	int64_t mapped = 0;
	for (int64_t i = 0; i < ti.frames; i++)
		mapped += t.map[i] >= 0;
	printf("true glitches: %zu; take %lld frames, %lld with a clean counterpart, %lld outside the clean file\n",
	       t.n_glitches, (long long)ti.frames, (long long)mapped, (long long)outside);
	printf("fixed take vs pristine audio through the true log: %lld frames differ\n", (long long)bad);
	printf("single-offset alignment (the prototype): wrong at %lld of %lld frames\n", (long long)single,
	       (long long)ti.frames);
	if (gs_write_log(argv[4], &t) != 0)
		return 1;
	t.clean = NULL;
	gs_truth_free(&t);
	free(clean);
	free(stream);
	return bad == 0 && outside == 0 ? 0 : 1;
}
