/* Writes take/clean pairs with a known glitch log, for checking conform implementations
 * against each other (ghostrec-sync and reascripts/ghostrec/core.lua) and against the truth.
 *
 *   ghostrec-make-vectors DIR
 *       DIR/<name>/take.wav, DIR/<name>/clean.wav, DIR/<name>/truth.json
 *       truth.json: {"name", "expect": "ok"|"error", "take_frames", "rate",
 *                    "glitches": [{"take_frame","kind","frames"}...]}
 *   ghostrec-make-vectors --check NAME OUT.wav
 *       rebuilds NAME's truth and checks OUT (a --join cut render): exit 0 when every take
 *       frame with a clean counterpart is bit-identical to the pristine audio. */
#include <errno.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/audiofile.h"
#include "common/marker.h"
#include "glitchsim.h"

#define DROP (1u << GHOSTREC_GLITCH_DROPPED)
#define SILENCE (1u << GHOSTREC_GLITCH_REPLACED)
#define INSERT (1u << GHOSTREC_GLITCH_INSERTED)
#define WAV16 (SF_FORMAT_WAV | SF_FORMAT_PCM_16)
#define WAV24 (SF_FORMAT_WAV | SF_FORMAT_PCM_24)
#define WAVF (SF_FORMAT_WAV | SF_FORMAT_FLOAT)
#define RF64_24 (SF_FORMAT_RF64 | SF_FORMAT_PCM_24)

struct vector {
	const char *name;
	const char *expect;     /* "ok" or "error" */
	int rate;
	int clean_rate;         /* differs only for the rate-mismatch vector */
	int channels;
	int take_channel;
	int take_format;
	int clean_format;
	double clean_s, take_start_s, take_end_s, marker_s;
	int with_marker, clean_meta;
	unsigned kinds;
	size_t n_events;
	uint32_t clean_seed_xor; /* != 0: clean file from another signal (unrelated files) */
	int64_t marker_hit;      /* > 0: a 256-frame drop this many frames into the marker */
	const struct gs_event *fixed;  /* events at fixed clean frames, besides the random ones */
	size_t n_fixed;
	const struct ghostrec_gap *gaps; /* clean-file gaps (cue regions in clean.wav) */
	size_t n_gaps;
	int take_scale;          /* 16/24-bit take integers: 0 libsndfile, GS_SCALE_POW2(M1) */
};

#define K_DROP GHOSTREC_GLITCH_DROPPED
#define K_SILENCE GHOSTREC_GLITCH_REPLACED
#define K_INSERT GHOSTREC_GLITCH_INSERTED

/* Glitches back to back: insertion + drop (more, fewer, as many), silence + drop, silence +
 * insertion, drop + silence. Each has more than one description; the truth states them the
 * engine's way (gs_canonical_pairs). */
static const struct gs_event back_to_back_48[] = {
	{48000 * 2, K_INSERT, 256}, {48000 * 2, K_DROP, 512},
	{48000 * 5 / 2, K_INSERT, 512}, {48000 * 5 / 2, K_DROP, 256},
	{48000 * 3, K_INSERT, 256}, {48000 * 3, K_DROP, 256},
	{48000 * 7 / 2, K_SILENCE, 256}, {48000 * 7 / 2 + 256, K_DROP, 512},
	{48000 * 4, K_SILENCE, 128}, {48000 * 4 + 128, K_INSERT, 256},
	{48000 * 9 / 2, K_DROP, 256}, {48000 * 9 / 2 + 256, K_SILENCE, 256},
};

/* Clean-file gaps (docs/contracts.md "Gaps"): the take keeps its audio there, glitches
 * before and after are still found. Short gap between glitches; a 3 s gap (longer than
 * max_shift) with glitches after it; a gap at the take's head, and one the take also has a
 * drop inside (the offset changes across it). */
static const struct gs_event gap_short_ev[] = {
	{48000 * 2, K_DROP, 512}, {48000 * 9 / 2, K_SILENCE, 256}, {48000 * 11 / 2, K_INSERT, 128},
};
static const struct ghostrec_gap gap_short[] = {{48000 * 3, 4800, "exporter-down"}};
static const struct gs_event gap_long_ev[] = {
	{48000 * 2, K_SILENCE, 300}, {48000 * 7, K_DROP, 1024}, {48000 * 8, K_SILENCE, 512},
	{48000 * 9, K_INSERT, 256}, {48000 * 10, K_DROP, 64},
};
static const struct ghostrec_gap gap_long[] = {{48000 * 3, 48000 * 3, "ring-overrun"}};
static const struct gs_event gap_head_ev[] = {
	{44100 * 4 + 1000, K_DROP, 512}, {44100 * 6, K_INSERT, 512}, {44100 * 7, K_DROP, 128},
};
static const struct ghostrec_gap gap_head[] = {
	{44100 / 2, 44100 * 7 / 10, "node-gone"}, {44100 * 4, 8000, "disk-full"},
};

/* PWAR as it is: late duplicates repeat a block, v0.1's per-packet bufferSwitch swaps two
 * packets; chunk-sized (128) and block-sized (512) ones, and a drop after them. */
#define K_REPEAT GS_REPEAT
#define K_SWAP GS_SWAP
static const struct gs_event repeat_swap_ev[] = {
	{48000 * 2, K_REPEAT, 512}, {48000 * 3, K_SWAP, 128}, {48000 * 4, K_REPEAT, 128},
	{48000 * 5, K_SWAP, 512}, {48000 * 6, K_DROP, 256}, {48000 * 13 / 2, K_SWAP, 64},
};

/* Late duplicates from one block back (per-packet PWAR), one followed by a lost packet. */
static const struct gs_event late_dup_ev[] = {
	{44100 * 2, GS_REPEAT_LATE, 128}, {44100 * 3, GS_REPEAT_LATE, 512},
	{44100 * 4, GS_REPEAT_LATE, 128}, {44100 * 4, K_DROP, 128}, {44100 * 5, K_SWAP, 128},
};

/* Events next to each other (PWAR without spacing): a reordered packet followed by a lost one
 * and the other way round, a repeat next to a drop or a reorder, reorders in a row, a lost
 * packet on both sides of a reordered pair. */
static const struct gs_event adjacent_ev[] = {
	{48000 * 2, K_SWAP, 128}, {48000 * 2 + 256, K_DROP, 128},
	{48000 * 5 / 2, K_DROP, 128}, {48000 * 5 / 2 + 128, K_SWAP, 128},
	{48000 * 3, K_SWAP, 128}, {48000 * 3 + 256, K_SWAP, 128},
	{48000 * 7 / 2, K_REPEAT, 512}, {48000 * 7 / 2, K_DROP, 512},
	{48000 * 4, K_DROP, 128}, {48000 * 4 + 128, K_SWAP, 128}, {48000 * 4 + 384, K_DROP, 128},
	{48000 * 9 / 2, K_SWAP, 128}, {48000 * 9 / 2 + 256, K_REPEAT, 128},
	{48000 * 5, K_SWAP, 64}, {48000 * 5 + 128, K_SWAP, 64}, {48000 * 5 + 256, K_DROP, 64},
	{48000 * 11 / 2, K_SWAP, 512}, {48000 * 11 / 2 + 1024, K_DROP, 512},
};

/* The block right before the marker lost (the take goes on with the marker). */
static const struct gs_event before_marker_ev[] = {
	{44100 * 3 / 2 - 512, K_DROP, 512}, {44100 * 3, K_DROP, 512},
};

/* The sync marker damaged and audio lost right after it (PWAR, quantum 128: the marker starts
 * a packet; its first packet lost re-anchors the block grid, then the block after its last
 * packet is lost). The take keeps the marker's last 16 symbols, which fit marker positions
 * of the old offset by sign or by size: the drop must still start at the first of them. */
static const struct gs_event marker_loss_ev[] = {
	{48000 * 3 / 2, K_DROP, 128}, {48000 * 3 / 2 + 256, K_DROP, 512},
	{48000 * 3, K_DROP, 512}, {48000 * 4, K_DROP, 128},
};

/* Quantum 64: the marker's middle packet lost (its first 64 and last 16 symbols kept). */
static const struct gs_event marker_middle_ev[] = {
	{48000 * 3 / 2 + 64, K_DROP, 64}, {48000 * 3, K_DROP, 512},
};

/* Null tests (the material of test-conform's null cases): 16- and 24-bit takes whose
 * integers were written with either common scaling, mono and stereo. */
static const struct gs_event null_ev[] = {
	{48000 * 3, K_DROP, 512}, {48000 * 4, K_REPEAT, 512}, {48000 * 5, K_SWAP, 128},
	{48000 * 6, K_SILENCE, 256}, {48000 * 7, K_INSERT, 128},
};
#define NULL_VECTOR(name, ch, fmt, scale) \
	{name, "ok", 48000, 48000, 2, ch, fmt, WAVF, 10, 1.0, 9.5, 1.5, 1, 1, 0, 0, 0, 0, null_ev, 5, NULL, 0, scale}

static const struct vector vectors[] = {
	{"drops-pcm24-mono", "ok", 44100, 44100, 2, 0, WAV24, WAVF, 8, 1.0, 7.5, 1.5, 1, 1, DROP, 8, 0, 0, NULL, 0, NULL, 0, 0},
	{"silence-pcm16-mono", "ok", 44100, 44100, 2, 1, WAV16, WAVF, 8, 1.0, 7.5, 1.5, 1, 1, SILENCE, 8, 0, 0, NULL, 0, NULL, 0, 0},
	{"inserts-float-stereo", "ok", 48000, 48000, 2, -1, WAVF, WAVF, 8, 1.0, 7.5, 1.5, 1, 1, INSERT, 8, 0, 0, NULL, 0, NULL, 0, 0},
	{"mixed-pcm24-96k", "ok", 96000, 96000, 1, -1, WAV24, WAVF, 6, 1.0, 5.5, 1.5, 1, 1, DROP | SILENCE | INSERT, 10, 0, 0, NULL, 0, NULL, 0, 0},
	{"mixed-rf64-clean24", "ok", 48000, 48000, 2, 0, RF64_24, RF64_24, 8, 1.0, 7.5, 1.5, 1, 0, DROP | SILENCE | INSERT, 8, 0, 0, NULL, 0, NULL, 0, 0},
	{"marker-destroyed", "ok", 44100, 44100, 2, 0, WAV24, WAVF, 8, 1.0, 7.5, 1.5, 1, 1, DROP, 6, 0, 50, NULL, 0, NULL, 0, 0},
	{"punch-in-no-marker", "ok", 48000, 48000, 2, 1, WAV24, WAVF, 40, 30.0, 38.0, 2.0, 0, 1, DROP | INSERT, 8, 0, 0, NULL, 0, NULL, 0, 0},
	{"no-meta-mono-by-content", "ok", 44100, 44100, 2, 1, WAV16, WAVF, 8, 2.5, 7.5, 1.5, 0, 0, DROP | SILENCE, 6, 0, 0, NULL, 0, NULL, 0, 0},
	{"bad-rate-mismatch", "error", 48000, 44100, 2, 0, WAV24, WAVF, 4, 1.0, 3.5, 1.5, 1, 1, DROP, 2, 0, 0, NULL, 0, NULL, 0, 0},
	{"bad-unrelated", "error", 44100, 44100, 2, 0, WAV24, WAVF, 4, 1.0, 3.5, 1.5, 0, 0, DROP, 2, 0x5a5a5a5a, 0, NULL, 0, NULL, 0, 0},
	{"back-to-back-pcm24-mono", "ok", 48000, 48000, 2, 0, WAV24, WAVF, 6, 1.0, 5.5, 1.5, 1, 1, 0, 0, 0, 0,
	 back_to_back_48, sizeof(back_to_back_48) / sizeof(back_to_back_48[0]), NULL, 0, 0},
	{"gap-short-pcm24-mono", "ok", 48000, 48000, 2, 0, WAV24, WAVF, 8, 1.0, 7.5, 1.5, 1, 1, 0, 0, 0, 0,
	 gap_short_ev, 3, gap_short, 1, 0},
	{"gap-long-float-stereo", "ok", 48000, 48000, 2, -1, WAVF, WAVF, 12, 1.0, 11.5, 1.5, 1, 1, 0, 0, 0, 0,
	 gap_long_ev, 5, gap_long, 1, 0},
	{"gap-head-pcm16-mono", "ok", 44100, 44100, 2, 1, WAV16, WAVF, 9, 1.0, 8.5, 1.5, 1, 1, 0, 0, 0, 0,
	 gap_head_ev, 3, gap_head, 2, 0},
	{"repeat-swap-pcm24-mono", "ok", 48000, 48000, 2, 0, WAV24, WAVF, 8, 1.0, 7.5, 1.5, 1, 1, 0, 0, 0, 0,
	 repeat_swap_ev, 6, NULL, 0, 0},
	{"late-duplicate-pcm16-mono", "ok", 44100, 44100, 2, 1, WAV16, WAVF, 7, 1.0, 6.5, 1.5, 1, 1, 0, 0, 0, 0,
	 late_dup_ev, 5, NULL, 0, 0},
	{"adjacent-pcm24-mono", "ok", 48000, 48000, 2, 0, WAV24, WAVF, 7, 1.0, 6.5, 1.5, 1, 1, 0, 0, 0, 0,
	 adjacent_ev, sizeof(adjacent_ev) / sizeof(adjacent_ev[0]), NULL, 0, 0},
	{"drop-before-marker-pcm16-mono", "ok", 44100, 44100, 2, 0, WAV16, WAVF, 5, 1.0, 4.5, 1.5, 1, 1, 0, 0, 0, 0,
	 before_marker_ev, 2, NULL, 0, 0},
	{"marker-loss-after-pcm16-mono", "ok", 48000, 48000, 2, 0, WAV16, WAVF, 6, 1.0, 5.5, 1.5, 1, 1, 0, 0, 0, 0,
	 marker_loss_ev, 4, NULL, 0, 0},
	{"marker-loss-after-pcm24-mono", "ok", 48000, 48000, 2, 1, WAV24, WAVF, 6, 1.0, 5.5, 1.5, 1, 1, 0, 0, 0, 0,
	 marker_loss_ev, 4, NULL, 0, 0},
	{"marker-middle-lost-pcm24-mono", "ok", 48000, 48000, 2, 0, WAV24, WAVF, 6, 1.0, 5.5, 1.5, 1, 1, 0, 0, 0, 0,
	 marker_middle_ev, 2, NULL, 0, 0},
	NULL_VECTOR("null-pcm16-mono-pow2", 0, WAV16, GS_SCALE_POW2),
	NULL_VECTOR("null-pcm16-mono-pow2m1", 0, WAV16, GS_SCALE_POW2M1),
	NULL_VECTOR("null-pcm16-stereo-pow2", -1, WAV16, GS_SCALE_POW2),
	NULL_VECTOR("null-pcm16-stereo-pow2m1", -1, WAV16, GS_SCALE_POW2M1),
	NULL_VECTOR("null-pcm24-mono-pow2", 0, WAV24, GS_SCALE_POW2),
	NULL_VECTOR("null-pcm24-mono-pow2m1", 0, WAV24, GS_SCALE_POW2M1),
	NULL_VECTOR("null-pcm24-stereo-pow2", -1, WAV24, GS_SCALE_POW2),
	NULL_VECTOR("null-pcm24-stereo-pow2m1", -1, WAV24, GS_SCALE_POW2M1),
};

#define N_VECTORS (sizeof(vectors) / sizeof(vectors[0]))

static int cmp_event(const void *a, const void *b)
{
	const struct gs_event *x = a, *y = b;
	if (x->clean_frame != y->clean_frame)
		return x->clean_frame < y->clean_frame ? -1 : 1;
	return y->kind - x->kind;  /* at one frame: an insertion, then a drop */
}

/* Builds a vector's truth (and, when dir != NULL, writes its files). */
static int build(const struct vector *v, const char *dir, struct gs_params *p, struct gs_truth *t,
		 struct gs_event *ev)
{
	memset(p, 0, sizeof(*p));
	p->rate = v->rate;
	p->channels = v->channels;
	p->clean_frames = (int64_t)(v->clean_s * v->rate);
	p->seed = 77u + (uint32_t)strlen(v->name) * 131u + (uint32_t)v->rate;
	p->with_marker = v->with_marker;
	p->marker_frame = (int64_t)(v->marker_s * v->rate);
	p->take_id = 4242u + (uint32_t)strlen(v->name);
	p->take_start = (int64_t)(v->take_start_s * v->rate);
	p->take_end = (int64_t)(v->take_end_s * v->rate);
	p->take_channel = v->take_channel;
	p->take_format = v->take_format;
	p->clean_format = v->clean_format;
	p->take_scale = v->take_scale;
	int64_t from = p->marker_frame + 4 * GHOSTREC_MARKER_FRAMES + 8192;
	if (from < p->take_start + 8192)
		from = p->take_start + 8192;
	size_t n = v->n_events ? gs_random_events(ev, v->n_events, v->kinds, from, p->take_end - 8192,
						  8192, p->seed ^ 0x1234567u)
			       : 0;
	for (size_t i = 0; i < v->n_fixed; i++)
		ev[n++] = v->fixed[i];
	if (v->marker_hit > 0) {
		ev[n].clean_frame = p->marker_frame + v->marker_hit;
		ev[n].kind = GHOSTREC_GLITCH_DROPPED;
		ev[n].frames = 256;
		n++;
	}
	qsort(ev, n, sizeof(*ev), cmp_event);
	p->events = ev;
	p->n_events = n;
	p->gaps = v->gaps;
	p->n_gaps = v->n_gaps;
	if (gs_build(p, t) != 0)
		return -1;
	gs_canonical_pairs(t);
	if (!dir)
		return 0;

	char path[4096], take_path[4200], clean_path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, v->name);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		return -1;
	}
	snprintf(take_path, sizeof(take_path), "%s/take.wav", path);
	snprintf(clean_path, sizeof(clean_path), "%s/clean.wav", path);
	if (v->clean_seed_xor) {
		/* Unrelated: the clean file holds another signal. */
		gs_signal(t->clean, p->clean_frames, p->channels, p->rate, p->seed ^ v->clean_seed_xor);
	}
	struct gs_params cp = *p;
	cp.rate = v->clean_rate;
	if (gs_write_clean(clean_path, &cp, t, v->clean_meta) != 0 || gs_write_take(take_path, p, t) != 0)
		return -1;
	if (strcmp(v->expect, "ok") == 0 && gs_trim_replaced(take_path, clean_path, t) != 0)
		return -1;

	snprintf(path, sizeof(path), "%s/%s/truth.json", dir, v->name);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return -1;
	}
	fprintf(f, "{\"name\": \"%s\", \"expect\": \"%s\", \"take_frames\": %lld, \"rate\": %d,\n"
		   " \"take_id\": %u, \"clean_channel\": %d,\n \"glitches\": [",
		v->name, v->expect, (long long)t->take_frames, v->rate, p->take_id,
		v->take_channel < 0 ? 0 : v->take_channel);
	for (size_t i = 0; i < t->n_glitches; i++)
		fprintf(f, "%s\n  {\"take_frame\": %lld, \"kind\": \"%s\", \"frames\": %lld}", i ? "," : "",
			(long long)t->glitches[i].take_frame, ghostrec_glitch_kind_name(t->glitches[i].kind),
			(long long)t->glitches[i].frames);
	/* Take frames REAPER did not record undamaged, [from, to): no clean counterpart (inserted,
	 * clean gap), the marker, replaced and reordered runs. Every other frame of a fixed take
	 * must equal the take (null test). */
	fprintf(f, "],\n \"damaged\": [");
	int64_t run = -1;
	int first = 1;
	for (int64_t i = 0; i <= t->take_frames; i++) {
		int damaged = 0;
		if (i < t->take_frames) {
			damaged = t->map[i] < 0 || (p->with_marker && t->map[i] >= p->marker_frame &&
						    t->map[i] < p->marker_frame + GHOSTREC_MARKER_FRAMES);
			for (size_t j = 0; j < t->n_glitches && t->glitches[j].take_frame <= i; j++)
				damaged |= (t->glitches[j].kind == GHOSTREC_GLITCH_REPLACED ||
					    t->glitches[j].kind == GHOSTREC_GLITCH_REORDERED) &&
					   i < t->glitches[j].take_frame + t->glitches[j].frames;
		}
		if (damaged && run < 0)
			run = i;
		if (!damaged && run >= 0) {
			fprintf(f, "%s[%lld, %lld]", first ? "" : ", ", (long long)run, (long long)i);
			first = 0;
			run = -1;
		}
	}
	fprintf(f, "]}\n");
	return fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--check") == 0) {
		for (size_t i = 0; i < N_VECTORS; i++) {
			if (strcmp(vectors[i].name, argv[2]) != 0)
				continue;
			struct gs_params p;
			struct gs_truth t;
			struct gs_event ev[64];
			if (build(&vectors[i], NULL, &p, &t, ev) != 0)
				return 2;
			/* The clean truth as its file holds it: re-quantize through a temp file. */
			char tmpdir[] = "/tmp/ghostrec-vcheck-XXXXXX";
			if (!mkdtemp(tmpdir))
				return 2;
			char cpath[64];
			snprintf(cpath, sizeof(cpath), "%s/clean.wav", tmpdir);
			int64_t bad = -1;
			if (gs_write_clean(cpath, &p, &t, 0) == 0)
				bad = gs_check_output(argv[3], NULL, &p, &t, tmpdir);
			unlink(cpath);
			char epath[64];
			snprintf(epath, sizeof(epath), "%s/expected.wav", tmpdir);
			unlink(epath);
			rmdir(tmpdir);
			gs_truth_free(&t);
			printf("%s: %lld frames differ from the pristine audio\n", argv[2], (long long)bad);
			return bad == 0 ? 0 : 1;
		}
		fprintf(stderr, "no vector named %s\n", argv[2]);
		return 2;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: ghostrec-make-vectors DIR | --check NAME OUT.wav\n");
		return 2;
	}
	if (mkdir(argv[1], 0755) != 0 && errno != EEXIST) {
		perror(argv[1]);
		return 1;
	}
	for (size_t i = 0; i < N_VECTORS; i++) {
		struct gs_params p;
		struct gs_truth t;
		struct gs_event ev[64];
		int rc = build(&vectors[i], argv[1], &p, &t, ev);
		gs_truth_free(&t);
		if (rc != 0) {
			fprintf(stderr, "%s: cannot write vector\n", vectors[i].name);
			return 1;
		}
		printf("%s\n", vectors[i].name);
	}
	return 0;
}
