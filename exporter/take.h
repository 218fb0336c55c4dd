/* One take on one node: the state machine that turns /record 1 ... /record 0 into a frame range
 * of the node's ring, and its persisted form (so a restarted exporter can finish it).
 *
 *   ARMED      mark sent to the node, waiting for the marker's frame
 *   RECORDING  spooling [marker - preroll, now) from the ring
 *   POSTROLL   stopped at stop_frame; spooling up to end_frame = stop_frame + postroll
 *   SPOOLED    all frames are in the spool file; waiting to be finalized into WAV(s)
 *   FAILED     nothing usable (the node never marked); kept for the log, then dropped
 *
 * All frame numbers are absolute ring frames (ring.h) of the node instance `instance`: a take is
 * a range of that node's capture journal (common/journal.h). Its WAV file(s) hold frames
 * [start_frame, start_frame + spooled), written from the journal as the take runs; `gaps` are
 * the ranges of the file (file frame numbers) that hold no captured audio (zeros in the file). */
#ifndef GHOSTREC_EXPORTER_TAKE_H
#define GHOSTREC_EXPORTER_TAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define TAKE_MAX_CHANNELS 8u
#define TAKE_MAX_GAPS 64u

struct take_gap {
	uint64_t frame, frames; /* in file frames */
	char cause[24];
};

enum take_state { TAKE_ARMED = 0, TAKE_RECORDING, TAKE_POSTROLL, TAKE_SPOOLED, TAKE_FAILED };

struct take {
	uint32_t take_id;
	char node[64];
	enum take_state state;
	enum take_format format;
	bool split_channels;
	char start_utc[40];

	uint32_t rate;
	uint32_t channels;
	char channel_map[TAKE_MAX_CHANNELS][8];
	uint64_t generation;

	uint64_t request_frame;    /* ring write position when the start arrived */
	bool marker_missing;       /* the node never marked: reference is request_frame */
	uint64_t preroll_frames;
	uint64_t postroll_frames;
	uint64_t marker_frame;
	uint64_t start_frame;
	uint64_t stop_frame;
	uint64_t end_frame;
	bool stop_pending;         /* stop arrived while ARMED */
	uint64_t stop_pending_frame;

	uint64_t instance;         /* the node instance whose ring frames these are */
	uint64_t spooled;          /* frames in the take's file(s) */
	uint64_t lost_frames;      /* preroll the journal did not have + frames in gaps */
	struct take_gap gaps[TAKE_MAX_GAPS];
	unsigned n_gaps;
	bool stop_unknown;         /* resumed after a restart while recording: REAPER may have
				    * stopped it meanwhile, so the next start ends it */
	bool is_export;            /* a range asked for by ghostrec-ctl export (no marker) */
	char export_path[1024];    /* where the export's WAV goes as well ("" = queue only) */
};

/* Adds a gap [frame, frame + frames) of the take's file; a gap right after the last one extends
 * it; past TAKE_MAX_GAPS the last gap is extended over the new one (audio between them is then
 * reported as a gap too: never the other way round). */
void take_add_gap(struct take *t, uint64_t frame, uint64_t frames, const char *cause);

const char *take_state_name(enum take_state s);

/* ARMED. */
void take_begin(struct take *t, uint32_t take_id, const char *node, enum take_format format,
		bool split_channels, uint32_t rate, uint32_t channels, uint64_t generation,
		double preroll_s, double postroll_s);

/* The node reports the marker at marker_frame; oldest_frame is the first frame the ring still
 * has. ARMED -> RECORDING (or straight to POSTROLL if the stop came first). Returns the number
 * of preroll frames that could not be had (0 normally). */
uint64_t take_marked(struct take *t, uint64_t marker_frame, uint64_t oldest_frame);

/* The take stops now; write_frame is the ring's write position at this instant.
 * RECORDING -> POSTROLL; ARMED: remembered until the marker arrives; else no-op.
 * Returns true if the state changed. */
bool take_stop(struct take *t, uint64_t write_frame);

/* Spool up to this frame (exclusive) given the ring's write position. */
uint64_t take_spool_limit(const struct take *t, uint64_t write_frame);

/* n more frames are in the spool file; POSTROLL -> SPOOLED at end_frame. Returns true on that
 * transition. */
bool take_add_spooled(struct take *t, uint64_t n);

/* Frame range of the finished take and the marker's offset in it. */
static inline uint64_t take_frames(const struct take *t) { return t->spooled; }
static inline uint64_t take_marker_offset(const struct take *t) { return t->marker_frame - t->start_frame; }

/* Persisted state as JSON (written atomically by take_save). */
int take_to_json(const struct take *t, char *buf, size_t size);
int take_from_json(struct take *t, const char *json, size_t len, char *err, size_t errsize);
int take_save(const struct take *t, const char *path);
int take_load(struct take *t, const char *path, char *err, size_t errsize);

#endif
