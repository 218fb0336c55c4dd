/* Test material for the conform engine: a deterministic pristine signal, the ghostrec
 * marker injected into the node's output, and a relay that damages that output with a
 * known log of glitches (dropped blocks, silence replacement, insertions), like PWAR and
 * its relatives do. Everything a test needs to know the right answer is kept: the clean
 * frame each take frame must map to, and the glitch list the engine must report. */
#ifndef GHOSTREC_GLITCHSIM_H
#define GHOSTREC_GLITCHSIM_H

#include <stddef.h>
#include <stdint.h>

#include "common/conform.h"

/* One glitch in the relay's output stream, at a clean (node output) frame. kind is a
 * GHOSTREC_GLITCH_*: REPLACED = silence over `frames` frames (timeline kept), DROPPED =
 * `frames` frames never reach the take, INSERTED = `frames` frames of silence added. */
/* Event kind besides the GHOSTREC_GLITCH_* ones: `frames` frames replaced by noise
 * (timeline kept; reported as replaced). */
#define GS_NOISE 16
/* PWAR's late duplicate: the `frames` frames before clean_frame reach the take once more
 * (reported as repeated). */
#define GS_REPEAT 17
/* PWAR v0.1's per-packet bufferSwitch after a reordered packet: the runs [clean_frame,
 * +frames) and [clean_frame + frames, +frames) reach the take in swapped order (reported
 * as reordered, 2 x frames; the fixed take has them in clean order). */
#define GS_SWAP 18
/* A duplicate that arrived one block late: the `frames` frames before the last `frames`
 * ones reach the take once more ([clean_frame - 2 x frames, clean_frame - frames)), then
 * the take goes on at clean_frame (reported as repeated, `frames`). */
#define GS_REPEAT_LATE 19

struct gs_event {
	int64_t clean_frame;
	int kind;
	int64_t frames;
};

struct gs_params {
	int rate;
	int channels;               /* clean file channels */
	int64_t clean_frames;
	uint32_t seed;
	int with_marker;            /* inject the marker into the node's output */
	int64_t marker_frame;       /* clean frame of the marker */
	uint32_t take_id;
	int64_t take_start;         /* clean frame where the take (REAPER recording) starts */
	int64_t take_end;           /* clean frame where it stops (exclusive) */
	int take_channel;           /* -1: take has all channels; else a mono take of this one */
	int take_format;            /* libsndfile SF_FORMAT_* for the take */
	int clean_format;           /* libsndfile SF_FORMAT_* for the clean file */
	const struct gs_event *events;  /* sorted by clean_frame */
	size_t n_events;
	/* Gaps in the clean file (the exporter could not capture there): the file holds zeros,
	 * its cue regions say so; the take has the audio. Sorted, clean frames. */
	const struct ghostrec_gap *gaps;
	size_t n_gaps;
	/* How a 16/24-bit take's integers are made from its float samples: 0 = libsndfile's
	 * float writer; GS_SCALE_POW2 = round(x * 2^(n-1)); GS_SCALE_POW2M1 = round(x *
	 * (2^(n-1) - 1)), the other common convention (REAPER's is one of the two). */
	int take_scale;
};

#define GS_SCALE_POW2 1
#define GS_SCALE_POW2M1 2
#define GS_SCALE_POW2_UP 3   /* floor(x * 2^(n-1) + 0.5): ties up */

/* The integer (k, not left-justified) a take written with p->take_scale holds for x. */
int32_t gs_take_int(const struct gs_params *p, int bits, float x);

#define GS_MAP_KEEP (-2)

struct gs_truth {
	int take_channels;
	int64_t take_frames;
	float *clean;               /* clean_frames x channels, pristine */
	float *take;                /* take_frames x take_channels, before quantization */
	int64_t *map;               /* per take frame: the clean frame it must map to, -1 inserted,
				     * GS_MAP_KEEP in a clean gap (OUT keeps the take's sample) */
	struct ghostrec_conform_glitch *glitches;  /* what the engine must report */
	size_t n_glitches;
};

/* Deterministic "music": a few partials plus noise, different per channel, never periodic. */
void gs_signal(float *out, int64_t frames, int channels, int rate, uint32_t seed);

/* Builds the pristine signal, the node output with the marker, and the damaged take. */
int gs_build(const struct gs_params *p, struct gs_truth *t);
void gs_truth_free(struct gs_truth *t);

/* Writes the clean file (with the ghostrec bext description when with_meta) and the take.
 * Return 0 or -1 (message on stderr). */
int gs_write_clean(const char *path, const struct gs_params *p, const struct gs_truth *t,
		   int with_meta);
int gs_write_take(const char *path, const struct gs_params *p, const struct gs_truth *t);

/* After the take has been written (quantized): a replaced run is reported from its first to
 * its last differing frame, so trim runs whose edges happen to match the clean audio. */
int gs_trim_replaced(const char *take_path, const char *clean_path, struct gs_truth *t);

/* Glitches back to back have more than one description (an insertion of n frames right
 * before a drop of m frames looks exactly like n replaced frames and a drop of m - n). This
 * rewrites such pairs in the truth into the one the conform engine reports: the frames
 * before the join stay on the old offset as replaced, the net shift is the drop/insertion.
 * Likewise a drop right where silence starts: the silence could have replaced audio before
 * or after the drop; the engine reads it on the old offset and puts the drop after it. */
void gs_canonical_pairs(struct gs_truth *t);

/* Random glitch log: `count` events of the kinds in kind_mask (bit per GHOSTREC_GLITCH_*),
 * sizes one of 64..1024 frames (ASIO block sizes), placed in [from, to) at least `gap`
 * frames apart. Returns how many were placed into ev (capacity count). */
size_t gs_random_events(struct gs_event *ev, size_t count, unsigned kind_mask, int64_t from,
			int64_t to, int64_t gap, uint32_t seed);

/* Compares the rendered OUT with the pristine audio mapped through the true log: every
 * mapped frame must be bit-identical after conversion to the take's format. Returns the
 * number of differing frames (0 = exact); -1 on I/O error. */
int64_t gs_check_output(const char *out_path, const char *take_path, const struct gs_params *p,
			const struct gs_truth *t, const char *tmpdir);

/* Frames a single-offset alignment (one offset for the whole take, taken where the take
 * starts: the prototype's approach) gets wrong, after conversion to the take's format. */
int64_t gs_single_offset_errors(const struct gs_params *p, const struct gs_truth *t,
				const char *tmpdir);

/* Writes the true glitch list as JSON lines (one object per glitch) for humans/tests. */
int gs_write_log(const char *path, const struct gs_truth *t);

#endif
