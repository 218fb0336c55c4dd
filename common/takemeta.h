/* Clean-take metadata (contract: docs/contracts.md "Clean take files").
 *
 * The exporter writes it, conform and the ReaScripts read it. The same facts live in three
 * places so every reader finds them with the tools it has:
 *   - sidecar  ghostrec-<take_id>.json  (take_id, marker_frame, rate, channels, channel_map,
 *              frames, start_utc, node, format),
 *   - BWF bext description  "ghostrec take_id=<id> marker_frame=<n> rate=<r> channels=<c>",
 *   - a RIFF cue point at marker_frame labelled "ghostrec-marker" (cue + LIST/adtl/labl).
 * marker_frame is the frame index within the clean file where the node injected the marker
 * into its output; the clean file itself holds the pristine input (no marker). */
#ifndef GHOSTREC_TAKEMETA_H
#define GHOSTREC_TAKEMETA_H

#include <stddef.h>
#include <stdint.h>

#define GHOSTREC_TAKEMETA_MAX_CHANNELS 64u
#define GHOSTREC_TAKEMETA_CUE_LABEL "ghostrec-marker"

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
};

/* Contract file names. `channel` < 0 means the multichannel file. Return snprintf's value. */
int ghostrec_take_wav_name(char *buf, size_t size, uint32_t take_id, int channel);
int ghostrec_take_sidecar_name(char *buf, size_t size, uint32_t take_id);

/* Sidecar JSON. to_json returns the length written (without NUL) or -1 if buf is too small.
 * from_json returns 0, or -1 with a one-line reason in err. */
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

/* Reads the facts back from a WAV/RF64 file: the bext description (take_id, marker_frame,
 * rate, channels) and, if present, the ghostrec cue point (cue_frame, else UINT64_MAX).
 * Returns 0 if a ghostrec bext description was found, else -1 with a reason in err. */
int ghostrec_takemeta_read_wav(const char *path, struct ghostrec_takemeta *m, uint64_t *cue_frame,
			       char *err, size_t errsize);

/* Strict unsigned JSON integer token (no sign, fraction or exponent) up to max. 0 or -1.
 * Shared with the exporter's state files, which carry 64-bit frame numbers. */
int ghostrec_json_parse_u64(const char *val, int len, uint64_t max, uint64_t *out);

/* Current wall-clock time as ISO 8601 UTC with milliseconds. */
void ghostrec_takemeta_now_utc(char *buf, size_t size);

#endif
