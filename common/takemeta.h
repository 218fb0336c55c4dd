/* Clean-take metadata (contract: docs/contracts.md "Clean take files").
 *
 * The exporter writes it, conform and the ReaScripts read it. The same facts live in three
 * places so every reader finds them with the tools it has:
 *   - sidecar  ghostrec-<take_id>.json  (take_id, marker_frame, rate, channels, channel_map,
 *              frames, start_utc, node, format),
 *   - BWF bext description  "ghostrec take_id=<id> marker_frame=<n> rate=<r> channels=<c>",
 *   - a RIFF cue point at marker_frame labelled "ghostrec-marker" (cue + LIST/adtl/labl).
 * marker_frame is the frame index within the clean file where the node injected the marker
 * into its output; the clean file itself holds the pristine input (no marker).
 *
 * Gaps (docs/contracts.md "Gaps"): frame ranges of the clean file that hold no captured
 * audio (the file has zeros there, but zeros there are not audio). Sidecar
 * "gaps": [{"frame": F, "frames": N, "cause": "CAUSE"}, ...] (sorted, non-overlapping,
 * absent or [] = none) and, in the WAV, one cue point per gap at F with a LIST/adtl ltxt
 * region of N frames labelled "ghostrec-gap:CAUSE". */
#ifndef GHOSTREC_TAKEMETA_H
#define GHOSTREC_TAKEMETA_H

#include <stddef.h>
#include <stdint.h>

#define GHOSTREC_TAKEMETA_MAX_CHANNELS 64u
#define GHOSTREC_TAKEMETA_CUE_LABEL "ghostrec-marker"
#define GHOSTREC_TAKEMETA_GAP_LABEL "ghostrec-gap:"   /* + cause */

/* Known causes; readers accept any other text (newer writers may add causes). */
#define GHOSTREC_GAP_EXPORTER_DOWN "exporter-down"
#define GHOSTREC_GAP_RING_OVERRUN "ring-overrun"
#define GHOSTREC_GAP_DISK_FULL "disk-full"
#define GHOSTREC_GAP_NODE_GONE "node-gone"
#define GHOSTREC_GAP_FORMAT_CHANGE "format-change"
#define GHOSTREC_GAP_OTHER "other"

struct ghostrec_gap {
	uint64_t frame;       /* first frame of the clean file without audio */
	uint64_t frames;      /* how many (> 0) */
	char cause[24];       /* one of the causes above, or a newer one (cut to fit) */
};

struct ghostrec_takemeta {
	uint32_t take_id;
	uint64_t marker_frame;
	uint32_t rate;
	uint32_t channels;
	char channel_map[GHOSTREC_TAKEMETA_MAX_CHANNELS][8]; /* "FL", "FR", "AUX0", ... */
	uint64_t frames;
	char start_utc[40];   /* ISO 8601, e.g. 2026-11-21T10:08:37.123Z */
	char node[128];       /* node.name of the ghostrec node */
	char format[16];      /* "float32" | "pcm24" */
	/* Gaps, sorted by frame, non-overlapping; NULL/0 = none. Owned by the struct: readers
	 * below allocate it, ghostrec_takemeta_clear frees it (a struct copy shares it). */
	struct ghostrec_gap *gaps;
	size_t n_gaps;
};

/* Frees the gap list and zeroes the struct. */
void ghostrec_takemeta_clear(struct ghostrec_takemeta *m);

/* Adds a gap [frame, frame + frames) with its cause (NULL = "other"), keeping the list
 * sorted; a gap overlapping or touching an existing one is merged into it (the earlier
 * cause stays). Returns 0, or -ENOMEM / -EINVAL (frames == 0 or frame + frames overflows). */
int ghostrec_takemeta_add_gap(struct ghostrec_takemeta *m, uint64_t frame, uint64_t frames,
			      const char *cause);

/* Contract file names. `channel` < 0 means the multichannel file. Return snprintf's value. */
int ghostrec_take_wav_name(char *buf, size_t size, uint32_t take_id, int channel);
int ghostrec_take_sidecar_name(char *buf, size_t size, uint32_t take_id);

/* Sidecar JSON. to_json returns the length written (without NUL) or -1 if buf is too small
 * (ghostrec_takemeta_json_size says how much is enough). from_json overwrites m (clear it
 * first if it held gaps) and returns 0, or -1 with a one-line reason in err (then m holds
 * no gaps). Gaps must be sorted, non-overlapping, frames > 0. */
size_t ghostrec_takemeta_json_size(const struct ghostrec_takemeta *m);
int ghostrec_takemeta_to_json(const struct ghostrec_takemeta *m, char *buf, size_t size);
int ghostrec_takemeta_from_json(const char *json, size_t len, struct ghostrec_takemeta *m,
				char *err, size_t errsize);
int ghostrec_takemeta_write_sidecar(const char *path, const struct ghostrec_takemeta *m);
int ghostrec_takemeta_read_sidecar(const char *path, struct ghostrec_takemeta *m,
				   char *err, size_t errsize);

/* bext description line and its parser (fills take_id, marker_frame, rate, channels). */
int ghostrec_takemeta_bext_description(const struct ghostrec_takemeta *m, char *buf, size_t size);
int ghostrec_takemeta_parse_bext_description(const char *desc, struct ghostrec_takemeta *m);

/* Adds the cue point + its label to a finished, closed RIFF/WAVE or RF64 file (appends the
 * chunks and fixes the container size). Returns 0 or -errno. */
int ghostrec_takemeta_append_cue(const char *path, uint64_t frame);

/* The same with m's gaps: one cue + labl "ghostrec-marker" at m->marker_frame, and per gap
 * a cue at its frame with an ltxt region of its length labelled "ghostrec-gap:CAUSE".
 * Cue positions are 32-bit: a marker or gap past frame 2^32-1 is left out of the WAV
 * (the sidecar and bext still carry it). Returns 0 or -errno. */
int ghostrec_takemeta_append_cues(const char *path, const struct ghostrec_takemeta *m);

/* Reads the facts back from a WAV/RF64 file: the bext description (take_id, marker_frame,
 * rate, channels), if present the ghostrec cue point (cue_frame, else UINT64_MAX), and the
 * gap regions (m->gaps, also when there is no bext: clear m afterwards either way).
 * Returns 0 if a ghostrec bext description was found, else -1 with a reason in err. */
int ghostrec_takemeta_read_wav(const char *path, struct ghostrec_takemeta *m, uint64_t *cue_frame,
			       char *err, size_t errsize);

/* Strict unsigned JSON integer token (no sign, fraction or exponent) up to max. 0 or -1.
 * Shared with the exporter's state files, which carry 64-bit frame numbers. */
int ghostrec_json_parse_u64(const char *val, int len, uint64_t max, uint64_t *out);

/* Current wall-clock time as ISO 8601 UTC with milliseconds. */
void ghostrec_takemeta_now_utc(char *buf, size_t size);

#endif
