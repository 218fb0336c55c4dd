/* Conform engine (contract: DESIGN 3.5; reascripts/ghostrec/core.lua translates conform.c).
 *
 * Given a damaged take T (what REAPER recorded) and the pristine clean file C (what the
 * ghostrec node saw), find the piecewise-constant offset d(t) with T[t] = C[t + d(t)]:
 *   - segments: take frames [take_start, take_end) map to clean frames from clean_start,
 *   - glitches: replaced (same d, wrong samples; take_frame = first differing frame,
 *     frames = first to last differing frame), dropped (clean frames missing from the take:
 *     take_frame = first take frame after the gap, frames = how many are missing),
 *     inserted (extra take frames with no clean counterpart: first extra frame, count),
 *     gap (take frames whose clean counterpart lies in one of the clean file's gaps, frame
 *     ranges it holds no audio for: they keep the take's own samples; first frame, count),
 *     repeated (the take plays clean audio it already had once more, PWAR's late
 *     duplicate: first repeated take frame, count; they map to that audio again),
 *     reordered (two runs of clean audio in swapped order, PWAR v0.1's per-packet
 *     bufferSwitch: first take frame, frames of both runs; the segment keeps the old
 *     offset there, so the fixed take has them in clean order).
 * Take channel k is compared with clean channel clean_channel + k.
 * Completeness: every take frame inside a segment matches its clean frame within
 * ghostrec_conform_tolerance, or lies inside a reported replaced or reordered glitch. */
#ifndef GHOSTREC_CONFORM_H
#define GHOSTREC_CONFORM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "audiofile.h"
#include "takemeta.h"

enum ghostrec_glitch_kind {
	GHOSTREC_GLITCH_REPLACED = 0,
	GHOSTREC_GLITCH_DROPPED = 1,
	GHOSTREC_GLITCH_INSERTED = 2,
	GHOSTREC_GLITCH_GAP = 3,
	GHOSTREC_GLITCH_REPEATED = 4,
	GHOSTREC_GLITCH_REORDERED = 5,
	GHOSTREC_GLITCH_KINDS = 6,   /* how many kinds there are */
};

enum ghostrec_alignment {
	GHOSTREC_ALIGN_MARKER = 0,
	GHOSTREC_ALIGN_CONTENT = 1,
};

struct ghostrec_conform_segment {
	int64_t take_start;
	int64_t take_end;   /* exclusive */
	int64_t clean_start;
};

struct ghostrec_conform_glitch {
	int64_t take_frame;
	int kind;           /* enum ghostrec_glitch_kind */
	int64_t frames;
};

/* What the clean file's metadata says (takemeta): valid = 0 when it has none. gaps (sorted,
 * non-overlapping, clean-file frames; docs/contracts.md "Gaps") apply whatever valid says. */
struct ghostrec_clean_meta {
	int valid;
	uint32_t take_id;
	int64_t marker_frame;
	const struct ghostrec_gap *gaps;
	size_t n_gaps;
};

struct ghostrec_conform_feed;

struct ghostrec_conform_options {
	int64_t check_step;      /* checkpoint spacing in frames; 0 = GHOSTREC_CONFORM_CHECK_STEP */
	int64_t max_shift;       /* largest drop/insert/replaced run searched locally; 0 = 2 s */
	int64_t marker_scan;     /* take frames searched for the marker; 0 = first 60 s */
	void (*progress)(void *data, int64_t done, int64_t total);
	void *progress_data;
	/* ghostrec_conform_run: where the walk hands each segment once it is settled, for
	 * ghostrec_conform_render_feed in another thread; NULL for none */
	struct ghostrec_conform_feed *feed;
};

#define GHOSTREC_CONFORM_CHECK_STEP 16

struct ghostrec_conform_result {
	int alignment;           /* enum ghostrec_alignment */
	int has_take_id;
	uint32_t take_id;
	int clean_channel;
	int64_t take_frames;
	int rate;
	struct ghostrec_conform_segment *segments;
	size_t n_segments;
	struct ghostrec_conform_glitch *glitches;
	size_t n_glitches;
	size_t cap_segments, cap_glitches;
};

/* Runs the engine. Returns 0 and fills res, or -1 with a one-line reason in err (rate
 * mismatch, channel layout that cannot match, no alignment found). opt may be NULL. */
int ghostrec_conform_run(struct ghostrec_audiofile *take, struct ghostrec_audiofile *clean,
			 const struct ghostrec_clean_meta *meta,
			 const struct ghostrec_conform_options *opt,
			 struct ghostrec_conform_result *res, char *err, size_t errsize);

/* The comparison the engine uses: take sample x equals clean sample y when
 * |x - y| <= ghostrec_conform_tolerance(take, clean). */
double ghostrec_conform_tolerance(const struct ghostrec_audioinfo *take,
				  const struct ghostrec_audioinfo *clean);

void ghostrec_conform_result_clear(struct ghostrec_conform_result *res);

const char *ghostrec_glitch_kind_name(int kind);

/* Writes the report JSON (contract: docs/contracts.md "Conform report"). Returns 0 or -1. */
int ghostrec_conform_report_write(const struct ghostrec_conform_result *res, FILE *f);

/* Rendering policy at dropped/inserted joins. */
enum ghostrec_join {
	GHOSTREC_JOIN_CUT = 0,
	GHOSTREC_JOIN_CROSSFADE = 1,
};

/* Writes the fixed take into out (a writer with the take's format and channel count):
 * every take frame inside a segment is the mapped clean sample; frames between two
 * segments (inserted) are an equal-power crossfade from the audio before to the audio
 * after, unless they are a reported gap; frames in a gap and frames outside every segment
 * (no clean counterpart at the head or tail) keep the take's own samples. With GHOSTREC_JOIN_CROSSFADE, joins where the offset
 * changes are smoothed over xfade_frames. Returns 0 or -1 with a reason in err. */
int ghostrec_conform_render(const struct ghostrec_conform_result *res,
			    struct ghostrec_audiofile *take, struct ghostrec_audiofile *clean,
			    struct ghostrec_audiofile *out, int join, int64_t xfade_frames,
			    const struct ghostrec_conform_options *opt, char *err, size_t errsize);

/* Rendering while the engine runs: the fixed take of an hour is written as the walk goes
 * instead of after it. ghostrec_conform_run (options.feed) hands over each segment as soon
 * as nothing can change it; ghostrec_conform_render_feed, in another thread with its own
 * take and clean readers, renders every block no later segment can touch and waits for the
 * rest. Its OUT is byte for byte ghostrec_conform_render's of the finished result. */
struct ghostrec_conform_feed *ghostrec_conform_feed_new(void);

/* After ghostrec_conform_run returned (ok = it returned 0): lets the renderer finish, or
 * fail when !ok. Must be called, or the renderer waits for ever. */
void ghostrec_conform_feed_end(struct ghostrec_conform_feed *feed, int ok);

void ghostrec_conform_feed_free(struct ghostrec_conform_feed *feed);

/* ghostrec_conform_render from a feed. Returns 0, or -1 with a reason in err (also when
 * the engine failed: the caller has the engine's reason). */
int ghostrec_conform_render_feed(struct ghostrec_conform_feed *feed,
				 struct ghostrec_audiofile *take, struct ghostrec_audiofile *clean,
				 struct ghostrec_audiofile *out, int join, int64_t xfade_frames,
				 const struct ghostrec_conform_options *opt, char *err, size_t errsize);

#endif
